"""Every error of the API answers JSON {code, message} with its status (engine faked)."""

import base64
import io

import pytest

from app import create_app
from app.config import TestConfig
from tests.conftest import FakeEngine
from tests.sroie import IMAGES

OCR = "/api/v1/image/ocr"
PNG = (IMAGES / "short.png").read_bytes()


def upload(data, name="image.png"):
    return (io.BytesIO(data), name)


BAD_REQUESTS = [
    ("no source", {"data": {}}, 400, "MISSING_IMAGE"),
    ("empty fields only", {"data": {"url": "", "image_base64": "  ", "file": upload(b"", "")}}, 400, "MISSING_IMAGE"),
    ("two sources", {"data": {"file": upload(PNG), "url": "http://example.com/a.png"}}, 400, "MULTIPLE_IMAGES"),
    ("three sources", {"data": {"file": upload(PNG), "url": "http://x.org/a", "image_base64": "aGVsbG8="}}, 400, "MULTIPLE_IMAGES"),
    ("bad base64 characters", {"data": {"image_base64": "iVBOR$$w0KGgo"}}, 400, "INVALID_BASE64"),
    ("bad base64 padding", {"data": {"image_base64": "iVBO=RK"}}, 400, "INVALID_BASE64"),
    ("bad boolean", {"data": {"file": upload(PNG), "need_location": "maybe"}}, 400, "INVALID_BOOLEAN"),
    ("ftp url", {"data": {"url": "ftp://example.com/a.png"}}, 400, "INVALID_URL"),
    ("url without host", {"data": {"url": "http:///a.png"}}, 400, "INVALID_URL"),
    ("json body", {"json": {"url": "http://example.com/a.png"}}, 400, "NOT_MULTIPART"),
    ("zero bytes", {"data": {"file": upload(b"")}}, 415, "UNSUPPORTED_IMAGE"),
    ("text file", {"data": {"file": upload(b"hello, this is text\n", "a.png")}}, 415, "UNSUPPORTED_IMAGE"),
    ("pdf", {"data": {"file": upload(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "a.pdf")}}, 415, "UNSUPPORTED_IMAGE"),
    ("html", {"data": {"file": upload(b"<!doctype html><html><body>hi</body></html>")}}, 415, "UNSUPPORTED_IMAGE"),
    ("truncated png", {"data": {"file": upload(PNG[: len(PNG) // 2])}}, 415, "UNSUPPORTED_IMAGE"),
    ("data uri of text", {"data": {"image_base64": "data:text/plain;base64,aGVsbG8="}}, 415, "UNSUPPORTED_IMAGE"),
]


@pytest.mark.parametrize("case, request_kwargs, status, code", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_bad_requests_get_a_json_error(fake_client, case, request_kwargs, status, code):
    answer = fake_client.post(OCR, **request_kwargs)
    assert answer.status_code == status
    assert answer.is_json
    body = answer.get_json()
    assert body["code"] == code
    assert set(body) == {"code", "message"} and len(body["message"]) > 15


def test_invalid_boolean_names_the_field(fake_client):
    body = fake_client.post(OCR, data={"file": upload(PNG), "enable_cls": "sure"}).get_json()
    assert "enable_cls" in body["message"]


@pytest.fixture
def small_limit_client():
    config = TestConfig()
    config.MAX_IMAGE_BYTES = 2000
    return create_app(config, engine=FakeEngine()).test_client()


def test_oversized_upload_is_413(small_limit_client):
    answer = small_limit_client.post(OCR, data={"file": upload(b"\x89PNG" + b"0" * 2100)})
    assert answer.status_code == 413
    assert answer.get_json()["code"] in ("IMAGE_TOO_LARGE", "REQUEST_TOO_LARGE")


def test_oversized_base64_is_413(small_limit_client):
    encoded = base64.b64encode(b"x" * 2600).decode()
    answer = small_limit_client.post(OCR, data={"image_base64": encoded})
    assert answer.status_code == 413
    assert answer.get_json()["code"] in ("IMAGE_TOO_LARGE", "REQUEST_TOO_LARGE")


def test_body_far_over_the_limit_is_refused_before_reading(small_limit_client):
    answer = small_limit_client.post(OCR, data={"file": upload(b"0" * 2_000_000)})
    assert answer.status_code == 413
    assert answer.get_json()["code"] == "REQUEST_TOO_LARGE"


def test_engine_failure_is_502():
    client = create_app(TestConfig(), engine=FakeEngine(error=RuntimeError("boom"))).test_client()
    answer = client.post(OCR, data={"file": upload(PNG)})
    assert answer.status_code == 502
    assert answer.get_json()["code"] == "RECOGNITION_FAILED"
    assert "boom" not in answer.get_json()["message"]


def test_engine_not_loaded_is_503_with_retry_after():
    client = create_app(TestConfig(), engine=None).test_client()
    answer = client.post(OCR, data={"file": upload(PNG)})
    assert answer.status_code == 503
    assert answer.get_json()["code"] == "ENGINE_NOT_READY"
    assert int(answer.headers["Retry-After"]) > 0
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "method, path, status, code",
    [("get", "/nowhere", 404, "NOT_FOUND"), ("get", OCR, 405, "METHOD_NOT_ALLOWED"), ("delete", "/healthz", 405, "METHOD_NOT_ALLOWED")],
)
def test_routing_errors_are_json(fake_client, method, path, status, code):
    answer = getattr(fake_client, method)(path)
    assert answer.status_code == status
    assert answer.get_json()["code"] == code


def test_unexpected_exception_is_a_generic_500_without_traceback():
    client = create_app(TestConfig(), engine=FakeEngine()).test_client()
    client.application.config["MAX_IMAGE_PIXELS"] = None  # breaks the loader's comparison
    answer = client.post(OCR, data={"file": upload(PNG)})
    assert answer.status_code == 500
    assert answer.get_json() == {"code": "INTERNAL_ERROR", "message": "The service failed unexpectedly; the error was logged."}
