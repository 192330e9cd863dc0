"""/openapi.json: a valid OpenAPI 3 document that real answers conform to, checked live by schemathesis."""

import base64
import functools
import http.server
import io
import threading
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from app.web.openapi import error_codes_by_status
from app.web.request_form import FLAG_DEFAULTS, SOURCE_FIELDS
from tests.servers import free_port, running_gunicorn
from tests.sroie import IMAGES, TEST_RECEIPTS, receipt_path

OCR = "/api/v1/image/ocr"


@pytest.fixture
def document(client):
    answer = client.get("/openapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    return answer.get_json()


@pytest.fixture
def operations(document):
    return schemathesis.openapi.from_dict(document)


def test_document_is_valid_openapi_3(document, operations):
    assert document["openapi"].startswith("3.")
    operations.validate()  # against the OpenAPI meta-schema
    assert set(document["paths"]) >= {OCR, "/healthz", "/readyz", "/metrics", "/openapi.json"}


def test_form_fields_are_the_ones_the_parser_reads(document):
    form = document["components"]["schemas"]["OcrForm"]["properties"]
    assert set(form) == {*SOURCE_FIELDS, "image_name", *FLAG_DEFAULTS}
    assert all(form[name]["description"] for name in form)


def ocr_post(client, **fields):
    return client.post(OCR, data=fields, content_type="multipart/form-data")


def receipt_upload():
    return (io.BytesIO(receipt_path("000", TEST_RECEIPTS).read_bytes()), "000.jpg")


@pytest.mark.parametrize(
    "fields",
    [
        {"need_location": "true", "return_markdown": "true"},
        {"need_location": "false"},
    ],
    ids=["with-location-and-markdown", "without-location"],
)
def test_a_real_result_conforms(client, operations, fields):
    answer = ocr_post(client, file=receipt_upload(), **fields)
    assert answer.status_code == 200 and answer.get_json()["words_result_num"] > 0
    operations[OCR]["POST"].validate_response(answer)


@pytest.mark.parametrize(
    "fields, status",
    [
        ({}, 400),
        ({"url": "ftp://example.com/a.png"}, 400),
        ({"url": "http://127.0.0.1/receipt.jpg"}, 400),
        ({"image_base64": "not base64 at all!"}, 400),
        ({"file": (io.BytesIO(b"%PDF-1.4 not an image"), "a.pdf")}, 415),
        ({"image_base64": base64.b64encode(b"\0" * (11 * 1024 * 1024)).decode()}, 413),
        ({"file": (io.BytesIO((IMAGES / "short.png").read_bytes()), "s.png"), "enable_cls": "maybe"}, 400),
    ],
    ids=["no-image", "ftp-url", "loopback-url", "bad-base64", "pdf", "too-large", "bad-flag"],
)
def test_every_error_answer_conforms(client, operations, fields, status):
    answer = ocr_post(client, **fields)
    assert answer.status_code == status
    operations[OCR]["POST"].validate_response(answer)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json"])
def test_the_other_endpoints_conform(client, operations, path):
    answer = client.get(path)
    assert answer.status_code == 200
    operations[path]["GET"].validate_response(answer)


# --- schemathesis against the live service ----------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def image_server():
    """Serve the shared test images on loopback: where every generated url is sent."""
    handler = functools.partial(_QuietHandler, directory=str(IMAGES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def live_schema(image_server, tmp_path_factory):
    env = {
        "OCR_MODEL_CACHE_DIR": str(tmp_path_factory.mktemp("models")),
        # The image server is the one place urls may lead; other ports are refused
        # before any name is looked up.
        "OCR_URL_ALLOWLIST": "127.0.0.1",
        "OCR_URL_ALLOWED_PORTS": str(urlsplit(image_server).port),
    }
    # The documented 5xx answers (502 for a url that answers 404, 503 when busy, 504
    # past the deadline) are answers, not server errors: only a 500 is.
    answers = ["2xx", "3xx", "4xx", *(str(status) for status in error_codes_by_status() if status > 500)]
    config = schemathesis.Config.from_dict({"checks": {"not_a_server_error": {"expected-statuses": answers}}})
    with running_gunicorn(workers=1, env=env) as (_, base_url):
        yield schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=config)


# What the live run checks: no 500 (not_a_server_error, configured above), and every
# status, content type, header and body is one the document describes.
LIVE_CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.mark.slow
def test_live_service_conforms(live_schema, image_server):
    """Generated requests, valid and invalid, to every operation of the running service."""
    for result in live_schema.get_all_operations():
        operation = result.ok()
        modes = [GenerationMode.POSITIVE]
        if operation.body:
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            _exchange_examples(operation, mode, image_server)


def _exchange_examples(operation, mode, image_server):
    @settings(
        max_examples=100 if operation.body else 3,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def exchange(case):
        if isinstance(case.body, dict) and isinstance(case.body.get("url"), str):
            # Generated urls would leave the machine: keep the path, send them to loopback.
            path = urlsplit(case.body["url"]).path.lstrip("/")
            case.body["url"] = f"{image_server}/{path or 'short.png'}"
        case.call_and_validate(checks=LIVE_CHECKS, timeout=120)

    exchange()
