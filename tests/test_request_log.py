"""One JSON line per request, with the request id; never the image, the Base64 or the url."""

import base64
import json
import logging
import re
import threading
import time

import pytest

from tests.hostile_inputs import OCR, WORD, encode, text_image, upload


@pytest.fixture
def log_lines():
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    logger = logging.getLogger("app.web.request_log")
    handler = Collect()
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)


def test_request_id_is_returned_from_the_header_or_made(fake_client):
    assert fake_client.get("/healthz", headers={"X-Request-ID": "abc-123.x"}).headers["X-Request-ID"] == "abc-123.x"
    made, other = (fake_client.get("/healthz").headers["X-Request-ID"] for _ in range(2))
    assert re.fullmatch("[0-9a-f]{32}", made) and made != other  # a fresh random id each time
    # An id that could forge log lines is replaced, not echoed.
    forged = fake_client.get("/healthz", headers={"X-Request-ID": 'x" "status": 200'}).headers["X-Request-ID"]
    assert len(forged) == 32 and '"' not in forged


def test_one_structured_line_per_request(client, log_lines):
    body, content_type = upload(encode(text_image(), "PNG"), "page.png")
    answer = client.post(OCR, data=body, content_type=content_type, headers={"X-Request-ID": "req-1"})
    assert answer.status_code == 200 and WORD in answer.get_json()["text"]
    (line,) = log_lines
    entry = json.loads(line)
    assert entry["request_id"] == "req-1" and entry["event"] == "request"
    assert (entry["method"], entry["path"], entry["status"], entry["code"]) == ("POST", OCR, 200, None)
    assert entry["source"] == "file"
    assert entry["image_bytes"] == len(encode(text_image(), "PNG"))
    assert entry["image_pixels"] == 420 * 110
    assert entry["ms"] > 0


def test_queue_ms_is_the_wait_for_the_engine(app, log_lines):
    """A request sent while the engine is held logs how long it waited; one sent to an idle engine, almost none."""
    admission, hold = app.extensions["admission"], 0.8
    release = threading.Event()
    holder = threading.Thread(target=admission.run, args=(time.monotonic() + 60, release.wait))
    holder.start()
    while admission.busy_since is None:
        time.sleep(0.01)
    threading.Timer(hold, release.set).start()
    body, content_type = upload(encode(text_image(), "PNG"), "page.png")
    waited = app.test_client().post(OCR, data=body, content_type=content_type, headers={"X-Request-ID": "waited"})
    holder.join()
    idle = app.test_client().post(OCR, data=body, content_type=content_type, headers={"X-Request-ID": "idle"})

    assert waited.status_code == idle.status_code == 200
    entries = {entry["request_id"]: entry for entry in map(json.loads, log_lines)}
    # It queued from after its upload was decoded until the hold ended: most of the hold.
    assert hold * 1000 / 2 <= entries["waited"]["queue_ms"] <= entries["waited"]["ms"]
    assert entries["idle"]["queue_ms"] < hold * 1000 / 4


def test_errors_are_logged_with_their_code_and_no_secrets(fake_client, log_lines):
    secret_base64 = base64.b64encode(b"not an image at all, secret payload").decode()
    fake_client.post(OCR, data={"image_base64": secret_base64})
    fake_client.post(OCR, data={"url": "http://10.0.0.7/scan.png?token=SECRET-TOKEN"})
    fake_client.get("/no/such/page")
    first, second, third = (json.loads(line) for line in log_lines)
    assert (first["status"], first["code"], first["source"]) == (415, "UNSUPPORTED_IMAGE", "image_base64")
    assert (second["status"], second["code"], second["source"]) == (400, "URL_NOT_ALLOWED", "url")
    assert (third["status"], third["code"]) == (404, "NOT_FOUND")
    text = "\n".join(log_lines)
    assert secret_base64 not in text and "SECRET-TOKEN" not in text and "10.0.0.7" not in text
