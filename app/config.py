"""Service settings, read once from the environment.

Every knob an operator may turn is an ``OCR_*`` environment variable read here,
so the limits and defaults of the service are visible in one file.
"""

import os
from pathlib import Path

from app.recognition.inference_sessions import available_cores

MIB = 1024 * 1024


def _env_int(name, default):
    return int(os.environ.get(name, default))


def _env_float(name, default):
    return float(os.environ.get(name, default))


def _env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _default_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return str(Path(base) / "ocr-service")


class Config:
    """Production settings; each attribute can be overridden by its environment variable."""

    # Largest image accepted from any source (upload, Base64 or url download).
    MAX_IMAGE_BYTES = _env_int("OCR_MAX_IMAGE_BYTES", 10 * MIB)
    # Pixel limit checked from the image header, before any pixel is decoded.
    MAX_IMAGE_PIXELS = _env_int("OCR_MAX_IMAGE_PIXELS", 40_000_000)
    # Pages read from a multi-page TIFF or a PDF (the first ones; page_count reports them all).
    MAX_PAGES = _env_int("OCR_MAX_PAGES", 10)
    # A PDF page is read from its text layer when the layer's characters cover at
    # least this share of the ink printed on the page; below it (a scan with no
    # or a partial text layer) the page is rendered and read by the engine.
    PDF_TEXT_COVERAGE = _env_float("OCR_PDF_TEXT_COVERAGE", 0.8)
    # Segments scoring below this count as low confidence in the summary.
    LOW_SCORE_THRESHOLD = _env_float("OCR_LOW_SCORE_THRESHOLD", 0.8)

    # Where the generated model directories (ONNX + inference.yml) are kept.
    MODEL_CACHE_DIR = os.environ.get("OCR_MODEL_CACHE_DIR", _default_cache_dir())
    # Optional official PaddleOCR model directories (Paddle format) replacing the embedded models.
    DET_MODEL_DIR = os.environ.get("OCR_DET_MODEL_DIR") or None
    DET_MODEL_NAME = os.environ.get("OCR_DET_MODEL_NAME") or None
    REC_MODEL_DIR = os.environ.get("OCR_REC_MODEL_DIR") or None
    REC_MODEL_NAME = os.environ.get("OCR_REC_MODEL_NAME") or None
    # The most inference threads one worker uses; each model run takes as many of
    # them as there are idle cores (app/recognition/inference_sessions.py), so the default,
    # every core, serves one client fast and as many clients as workers without
    # contention.
    INFERENCE_THREADS = _env_int("OCR_INFERENCE_THREADS", 0) or available_cores()
    # Freed memory a worker keeps for the next image (app/recognition/allocator.py): above this
    # resident size it is given back after each image. Reading a receipt needs
    # 0.6-0.9 GB; trimming below that made every receipt 12-19% slower.
    RETAINED_MEMORY_MB = _env_int("OCR_RETAINED_MEMORY_MB", 896)

    # url downloads.
    URL_CONNECT_TIMEOUT = _env_float("OCR_URL_CONNECT_TIMEOUT", 3.0)
    URL_READ_TIMEOUT = _env_float("OCR_URL_READ_TIMEOUT", 10.0)
    URL_DEADLINE = _env_float("OCR_URL_DEADLINE", 20.0)
    URL_MAX_REDIRECTS = _env_int("OCR_URL_MAX_REDIRECTS", 3)
    URL_ALLOWED_PORTS = [int(p) for p in _env_list("OCR_URL_ALLOWED_PORTS", "80,443")]
    # CIDRs or host names that may be fetched even though they are not public
    # addresses; a name with a leading dot (".store.internal") covers its subdomains.
    URL_ALLOWLIST = _env_list("OCR_URL_ALLOWLIST")
    # PEM file of the CAs trusted for https downloads (an internal store's own CA);
    # unset, the certifi bundle that requests ships.
    URL_CA_BUNDLE = os.environ.get("OCR_URL_CA_BUNDLE") or None

    # Overload, per worker (README, "Robustness"): one request runs on the engine and
    # at most this many more are inside the worker; the next is answered 503 at once.
    QUEUE_LENGTH = _env_int("OCR_QUEUE_LENGTH", 5)
    # Longest wait for the engine before a 503 SERVICE_BUSY.
    QUEUE_TIMEOUT = _env_float("OCR_QUEUE_TIMEOUT", 20.0)
    # A request unanswered this long after it was admitted ends with 504; below
    # gunicorn's timeout, which then replaces a worker whose engine call hangs.
    REQUEST_DEADLINE = _env_float("OCR_REQUEST_DEADLINE", 60.0)

    # Whether to build and warm the engine when the app is created.
    LOAD_ENGINE = os.environ.get("OCR_LOAD_ENGINE", "1") not in ("0", "false", "no")

    # werkzeug refuses larger bodies before reading them; Base64 inflates the
    # image by 4/3, and the form's other fields need a little room.
    @property
    def MAX_CONTENT_LENGTH(self):
        return self.MAX_IMAGE_BYTES * 4 // 3 + 1 * MIB

    # Flask 3.1 limits non-file form fields separately; Base64 images are such fields.
    @property
    def MAX_FORM_MEMORY_SIZE(self):
        return self.MAX_IMAGE_BYTES * 4 // 3 + 64 * 1024

    MAX_FORM_PARTS = 100


class TestConfig(Config):
    """Settings for tests: the engine is handed in by the fixture."""

    __test__ = False  # not a pytest test class

    TESTING = True
    LOAD_ENGINE = False
