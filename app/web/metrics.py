"""Prometheus metrics of the service, summed across gunicorn workers.

Under gunicorn, deploy/gunicorn.conf.py sets ``PROMETHEUS_MULTIPROC_DIR``
before the workers start: each worker writes its samples to files there and a
scrape answered by any worker reads them all. Without it (tests, ``flask run``)
the process's own registry is served.
"""

import os

from flask import g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

# The *_created series double the output and multiprocess mode cannot serve them.
disable_created_metrics()

STAGES = ("decode", "detection", "recognition", "total")

REQUESTS = Counter(
    "ocr_http_requests",
    "Requests answered, by route, HTTP status and error code (empty on success).",
    ["route", "status", "code"],
)
# From 10 ms (a small crop) to the 120 s worker timeout (a 40-megapixel scan).
STAGE_SECONDS = Histogram(
    "ocr_stage_seconds",
    "Seconds per step of a recognised image: decode, detection, recognition and total.",
    ["stage"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
# Up to the 10 MB default image limit.
IMAGE_BYTES = Histogram(
    "ocr_image_bytes",
    "Bytes of each image received, from any source.",
    buckets=(1e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6, 5e6, 1e7),
)
# Up to the 40-megapixel default limit.
IMAGE_PIXELS = Histogram(
    "ocr_image_pixels",
    "Pixels of each decoded image (width x height of the page recognised).",
    buckets=(1e5, 5e5, 1e6, 2e6, 4e6, 8e6, 1.6e7, 4e7),
)
PAGES = Counter(
    "ocr_pages",
    "Pages read, by source: ocr (recognised by the engine) or text_layer (a PDF page's own text).",
    ["source"],
)
ENGINE_FAILURES = Counter("ocr_engine_failures", "Requests the engine failed on (502 RECOGNITION_FAILED).")
BUSY_REJECTIONS = Counter(
    "ocr_busy_rejections", "Requests refused at once because every worker was busy (503 SERVICE_BUSY)."
)

# Error codes worth a counter of their own, for alerts that need no label filter.
_CODE_COUNTERS = {"RECOGNITION_FAILED": ENGINE_FAILURES, "SERVICE_BUSY": BUSY_REJECTIONS}

# Export every stage from the start, so a dashboard shows zeros rather than gaps.
for _stage in STAGES:
    STAGE_SECONDS.labels(_stage)
for _source in ("ocr", "text_layer"):
    PAGES.labels(_source)


def init_app(app):
    """Record every response the app sends."""
    app.after_request(observe_response)


def observe_response(response):
    """Count the response; record the image and step timings the OCR view left in ``g``."""
    code = g.get("error_code", "")
    route = request.url_rule.rule if request.url_rule else "unmatched"
    REQUESTS.labels(route, str(response.status_code), code).inc()
    if code in _CODE_COUNTERS:
        _CODE_COUNTERS[code].inc()
    if "image_bytes" in g:
        IMAGE_BYTES.observe(g.image_bytes)
    if "image_pixels" in g:
        IMAGE_PIXELS.observe(g.image_pixels)
    for source in g.get("page_sources", ()):
        PAGES.labels(source).inc()
    timing = g.get("ocr_timing")
    if timing:
        for stage in STAGES:
            STAGE_SECONDS.labels(stage).observe(timing[f"{stage}_ms"] / 1000)
    return response


def exposition():
    """Return the text format of every metric and its content type."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
