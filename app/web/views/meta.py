"""What operators and client authors read about the service: metrics and the API document."""

from flask import Blueprint, Response, current_app, jsonify

from app.web.metrics import exposition
from app.web.openapi import build_openapi

bp = Blueprint("meta", __name__)


@bp.get("/metrics")
def metrics():
    """Prometheus text format, summed across gunicorn workers."""
    body, content_type = exposition()
    return Response(body, content_type=content_type)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 document, built once per worker from the schemas."""
    document = current_app.extensions.get("openapi_document")
    if document is None:
        document = current_app.extensions["openapi_document"] = build_openapi("OCR service")
    return jsonify(document)
