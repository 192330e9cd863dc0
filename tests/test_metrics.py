"""/metrics: scraped after real requests, in one process and summed across gunicorn workers."""

import io
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.config import TestConfig
from app.web.metrics import STAGES
from tests.conftest import FakeEngine
from tests.servers import running_gunicorn
from tests.sroie import IMAGES, TEST_RECEIPTS, receipt_path

OCR = "/api/v1/image/ocr"


def parse(text):
    """Map (sample name, labels) to value for every sample of a scrape."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


class Scrapes:
    """Two scrapes around some requests; ``delta`` is what those requests added."""

    def __init__(self, get_text):
        self.get_text = get_text
        self.before = parse(get_text())

    def delta(self, name, **labels):
        return value(parse(self.get_text()), name, **labels) - value(self.before, name, **labels)


def client_scrape(client):
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    return answer.get_data(as_text=True)


def test_a_recognised_receipt_is_counted_with_its_steps_bytes_and_pixels(client):
    scrapes = Scrapes(lambda: client_scrape(client))
    data = receipt_path("000", TEST_RECEIPTS).read_bytes()
    answer = client.post(OCR, data={"file": (io.BytesIO(data), "000.jpg")}, content_type="multipart/form-data")
    assert answer.status_code == 200
    result = answer.get_json()

    assert scrapes.delta("ocr_http_requests_total", route=OCR, status="200", code="") == 1
    for stage in STAGES:
        assert scrapes.delta("ocr_stage_seconds_count", stage=stage) == 1
        seconds = result["timing"][f"{stage}_ms"] / 1000
        assert scrapes.delta("ocr_stage_seconds_sum", stage=stage) == pytest.approx(seconds, abs=1e-6)
    assert scrapes.delta("ocr_image_bytes_sum") == len(data)
    assert scrapes.delta("ocr_image_pixels_sum") == result["image"]["width"] * result["image"]["height"]


@pytest.mark.parametrize(
    "form, status, code",
    [
        ({"file": (io.BytesIO(b"plain text, not an image"), "notes.txt")}, 415, "UNSUPPORTED_IMAGE"),
        ({"need_location": "true"}, 400, "MISSING_IMAGE"),
        ({"url": "ftp://example.com/a.png"}, 400, "INVALID_URL"),
    ],
)
def test_a_refused_request_is_counted_by_status_and_code_without_timings(client, form, status, code):
    scrapes = Scrapes(lambda: client_scrape(client))
    answer = client.post(OCR, data=form, content_type="multipart/form-data")
    assert (answer.status_code, answer.get_json()["code"]) == (status, code)
    assert scrapes.delta("ocr_http_requests_total", route=OCR, status=str(status), code=code) == 1
    assert scrapes.delta("ocr_stage_seconds_count", stage="total") == 0


def test_unknown_routes_share_one_label(client):
    scrapes = Scrapes(lambda: client_scrape(client))
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/another-one").status_code == 404
    assert scrapes.delta("ocr_http_requests_total", route="unmatched", status="404", code="NOT_FOUND") == 2


def test_engine_failures_are_counted():
    # The fake engine stands in only to make the engine raise.
    client = create_app(TestConfig(), engine=FakeEngine(error=RuntimeError("session died"))).test_client()
    scrapes = Scrapes(lambda: client_scrape(client))
    answer = client.post(
        OCR,
        data={"file": (io.BytesIO((IMAGES / "short.png").read_bytes()), "short.png")},
        content_type="multipart/form-data",
    )
    assert (answer.status_code, answer.get_json()["code"]) == (502, "RECOGNITION_FAILED")
    assert scrapes.delta("ocr_engine_failures_total") == 1
    assert scrapes.delta("ocr_http_requests_total", route=OCR, status="502", code="RECOGNITION_FAILED") == 1


# --- Under gunicorn: two workers, one metrics directory -------------------------


def post_image(base_url, path):
    with open(path, "rb") as handle:
        answer = requests.post(base_url + OCR, files={"file": (path.name, handle)}, timeout=180)
    return answer.status_code, answer.json().get("code", "")


def access_entries(log_path):
    lines = log_path.read_text(errors="replace").splitlines()
    entries = (json.loads(line) for line in lines if line.startswith("{"))
    return [entry for entry in entries if entry.get("event") == "access"]


def ocr_pids(log_path):
    return {entry["pid"] for entry in access_entries(log_path) if entry["path"] == OCR}


@pytest.mark.slow
def test_metrics_add_up_across_gunicorn_workers(tmp_path):
    log_path = tmp_path / "gunicorn.log"
    env = {
        "OCR_MODEL_CACHE_DIR": str(tmp_path / "models"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        # One place per worker, so a burst is turned away with SERVICE_BUSY.
        "OCR_QUEUE_LENGTH": "0",
    }
    with running_gunicorn(workers=2, env=env, log_path=log_path) as (process, base_url):
        scrape = lambda: requests.get(base_url + "/metrics", timeout=10).text
        scrapes = Scrapes(scrape)

        # Bursts larger than the two places until both workers have answered:
        # some requests are refused at once. One request after another is no
        # good here, as one worker may win every accept.
        receipt = receipt_path("000", TEST_RECEIPTS)
        statuses = []
        while len(ocr_pids(log_path)) < 2 and len(statuses) < 36:
            with ThreadPoolExecutor(6) as pool:
                statuses += pool.map(lambda _: post_image(base_url, receipt), range(6))
        assert len(ocr_pids(log_path)) == 2, "one worker took every request"
        served = statuses.count((200, ""))
        busy = statuses.count((503, "SERVICE_BUSY"))
        assert served >= 2 and busy >= 1 and served + busy == len(statuses)

        # Whichever worker answers the scrape, it reports every worker's requests.
        for _ in range(6):
            current = parse(scrape())
            assert value(current, "ocr_http_requests_total", route=OCR, status="200", code="") == served
            assert value(current, "ocr_stage_seconds_count", stage="total") == served
            assert value(current, "ocr_busy_rejections_total") == busy
            assert value(current, "ocr_http_requests_total", route=OCR, status="503", code="SERVICE_BUSY") == busy
        # A busy worker refuses before it reads the image.
        assert scrapes.delta("ocr_image_bytes_count") == served

        # A worker that dies takes none of its counts with it.
        victim = next(iter(ocr_pids(log_path)))
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while victim in _worker_pids(process.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert value(parse(scrape()), "ocr_http_requests_total", route=OCR, status="200", code="") == served


def _worker_pids(master_pid):
    children = f"/proc/{master_pid}/task/{master_pid}/children"
    with open(children) as handle:
        return {int(pid) for pid in handle.read().split()}
