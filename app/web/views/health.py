"""Liveness and readiness probes."""

from flask import Blueprint, current_app, jsonify

from app.web.errors import ServiceUnavailableError

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The engine is loaded and warmed, so requests will be served."""
    engine = current_app.extensions.get("ocr_engine")
    if engine is None or not engine.ready:
        raise ServiceUnavailableError("The OCR engine is not loaded yet.")
    return jsonify(status="ready", model_load_seconds=round(engine.load_seconds, 3))
