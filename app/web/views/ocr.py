"""POST /api/v1/image/ocr: parse, load the image or PDF, read each page, lay out, serialise."""

import time

from flask import Blueprint, current_app, g, jsonify, request

from app.document.layout import lay_out
from app.document.result import build_result
from app.document.schemas import ocr_result_schema, ocr_result_schema_without_location
from app.inputs.documents import opened_pages
from app.inputs.url_fetcher import fetch_image
from app.recognition.engine import Recognition
from app.web.admission import admitted, on_engine
from app.web.errors import ServiceUnavailableError
from app.web.request_form import parse_ocr_form

bp = Blueprint("ocr", __name__, url_prefix="/api/v1/image")


def get_engine():
    """The worker's engine; 503 until it is loaded and warmed."""
    engine = current_app.extensions.get("ocr_engine")
    if engine is None or not engine.ready:
        raise ServiceUnavailableError("The OCR engine is still loading; retry in a few seconds.")
    return engine


@bp.post("/ocr")
@admitted
def recognize():
    started = time.perf_counter()
    config = current_app.config
    engine = get_engine()
    ocr_request = parse_ocr_form(request, config["MAX_IMAGE_BYTES"])
    g.image_source = ocr_request.source
    data = ocr_request.image_bytes
    if ocr_request.url is not None:
        data = fetch_image(ocr_request.url, config)
    # What the request carried and cost, left in g for the metrics hook (app/web/metrics.py).
    g.image_bytes = len(data)
    deadline = g.admitted_at + config["REQUEST_DEADLINE"]
    with opened_pages(data, config, force_ocr=ocr_request.force_ocr, deadline=deadline) as loaded:
        # Pixels the engine reads: a page read from its text layer is never rendered.
        g.image_pixels = sum(page.width * page.height for page in loaded.pages if page.source == "ocr")
        decoded = time.perf_counter()
        recognitions, render_seconds = [], 0.0
        for page in loaded.pages:
            if page.text_segments is not None:
                recognitions.append(Recognition(segments=page.text_segments))
                continue
            # A PDF page is rendered here, when it is read, so one rendering is held at a time.
            rendering = time.perf_counter()
            pixels = page.pixels
            render_seconds += time.perf_counter() - rendering
            # In this worker's line for the engine (app/web/admission.py): 503 when busy, 504 past the deadline.
            recognitions.append(on_engine(engine.recognize, pixels, enable_cls=ocr_request.enable_cls))
            del pixels
    g.page_sources = [page.source for page in loaded.pages]
    recognised = time.perf_counter()

    layouts = [lay_out(recognition.segments) for recognition in recognitions]
    timing = {
        "decode_ms": round((decoded - started + render_seconds) * 1000, 1),
        "detection_ms": round(sum(r.detection_ms for r in recognitions), 1),
        "recognition_ms": round(sum(r.recognition_ms for r in recognitions), 1),
    }
    result = build_result(ocr_request, loaded, recognitions, layouts, timing, config["LOW_SCORE_THRESHOLD"])
    timing["layout_ms"] = round((time.perf_counter() - recognised) * 1000, 1)
    timing["total_ms"] = round((time.perf_counter() - started) * 1000, 1)
    g.ocr_timing = timing
    schema = ocr_result_schema if ocr_request.need_location else ocr_result_schema_without_location
    return jsonify(schema.dump(result))
