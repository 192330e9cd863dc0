"""POST /api/v1/image/ocr: parse, load image, recognise, lay out, serialise."""

import time

from flask import Blueprint, current_app, g, jsonify, request

from ..admission import admitted, on_engine
from ..errors import ServiceUnavailableError
from ..image_loader import load_image
from ..layout import reading_order
from ..request_form import parse_ocr_form
from ..result import build_result
from ..schemas import ocr_result_schema, ocr_result_schema_without_location
from ..url_fetcher import fetch_image

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
    # What the request carried and cost, left in g for the metrics hook (app/metrics.py).
    g.image_bytes = len(data)
    loaded = load_image(data, config["MAX_IMAGE_PIXELS"])
    g.image_pixels = loaded.pages[0].width * loaded.pages[0].height
    decoded = time.perf_counter()

    # In this worker's line for the engine (app/admission.py): 503 when busy, 504 past the deadline.
    recognition = on_engine(engine.recognize, loaded.pages[0].pixels, enable_cls=ocr_request.enable_cls)

    segments = reading_order(recognition.segments)
    timing = {
        "decode_ms": round((decoded - started) * 1000, 1),
        "detection_ms": round(recognition.detection_ms, 1),
        "recognition_ms": round(recognition.recognition_ms, 1),
    }
    result = build_result(ocr_request, loaded, segments, recognition, timing)
    timing["total_ms"] = round((time.perf_counter() - started) * 1000, 1)
    g.ocr_timing = timing
    schema = ocr_result_schema if ocr_request.need_location else ocr_result_schema_without_location
    return jsonify(schema.dump(result))
