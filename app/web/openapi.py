"""The OpenAPI 3 document of the service, generated from the marshmallow schemas.

Form fields, the result object and error bodies come from ``app/document/schemas.py``;
the error codes each status may carry come from the classes in ``app/web/errors.py``,
so a new error class is documented without touching this module.
"""

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import url_for

from app.document.schemas import (
    ErrorSchema,
    HealthSchema,
    OcrFormSchema,
    OcrResultSchema,
)
from app.web import errors, request_log

OPENAPI_VERSION = "3.0.3"
# The version of the API's contract, which its paths carry as /api/v1.
API_VERSION = "1.0"
# werkzeug's routing errors cannot happen on a documented path and method.
_ROUTING_STATUSES = (404, 405)

# Every answer carries the request's id (app/web/request_log.py), errors included.
_REQUEST_ID = {
    request_log.HEADER: {
        "description": "The request's id: the client's X-Request-ID when it is a plain token, else a new one.",
        "required": True,
        "schema": {"type": "string"},
    }
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    }
}


def error_codes_by_status():
    """Map each HTTP status to the error codes the service may answer it with."""
    codes = {}
    for error_class in _subclasses(errors.ApiError):
        # Abstract bases such as UpstreamError inherit a code they never send.
        if "code" in vars(error_class):
            codes.setdefault(error_class.status, set()).add(error_class.code)
    for status, code in errors.HTTP_ERROR_CODES.items():
        if status not in _ROUTING_STATUSES:
            codes.setdefault(status, set()).add(code)
    return {status: sorted(codes[status]) for status in sorted(codes)}


def _subclasses(cls):
    yield cls
    for subclass in cls.__subclasses__():
        yield from _subclasses(subclass)


def _error_response(spec, status, codes):
    """One response per status: the error schema with its code limited to these codes."""
    response = {
        "description": "Error codes: " + ", ".join(codes) + ".",
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [
                        spec.components.get_ref("schema", "Error"),
                        {"type": "object", "properties": {"code": {"type": "string", "enum": codes}}},
                    ]
                }
            }
        },
    }
    if status == 503:
        response["headers"] = _RETRY_AFTER
    return response


def build_openapi(title):
    """Return the document as a dict; call inside an app context (paths come from the routes)."""
    spec = APISpec(
        title=title,
        version=API_VERSION,
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={
            "description": "One synchronous OCR endpoint on PaddleOCR with embedded PP-OCRv6 models. "
            "Every error is JSON {code, message}; the message says what to fix."
        },
    )
    for name, schema in (
        ("Error", ErrorSchema),
        ("OcrForm", OcrFormSchema),
        ("OcrResult", OcrResultSchema),
        ("Health", HealthSchema),
    ):
        spec.components.schema(name, schema=schema)

    error_responses = {
        str(status): _error_response(spec, status, codes)
        for status, codes in error_codes_by_status().items()
    }
    spec.path(
        path=url_for("ocr.recognize"),
        operations={
            "post": {
                "summary": "Recognise the text of one image or PDF",
                "description": "Send exactly one of file, url or image_base64: an image or a PDF, known by its "
                "content. PDF pages whose text layer covers what is printed are read from it (pages[].source "
                "text_layer), the others by the engine; force_ocr=true sends every page to the engine. "
                "Segments come in reading order; with need_location=false no coordinate field appears.",
                "operationId": "recognize",
                "requestBody": {
                    "required": True,
                    "content": {"multipart/form-data": {"schema": "OcrForm"}},
                },
                "responses": {
                    "200": {
                        "description": "The text found, with boxes unless need_location=false.",
                        "content": _json("OcrResult"),
                    },
                    **error_responses,
                },
            }
        },
    )
    _get_operation(spec, url_for("health.healthz"), "healthz", "The process answers.", _json("Health"))
    _get_operation(
        spec,
        url_for("health.readyz"),
        "readyz",
        "The worker's engine is loaded and warmed.",
        _json("Health"),
        {"503": _error_response(spec, 503, [errors.ServiceUnavailableError.code])},
    )
    _get_operation(
        spec,
        url_for("meta.metrics"),
        "metrics",
        "Prometheus metrics in the text format, summed across workers.",
        {"text/plain": {"schema": {"type": "string"}}},
    )
    _get_operation(spec, url_for("meta.openapi"), "openapi", "This document.", _json({"type": "object"}))
    document = spec.to_dict()
    for operations in document["paths"].values():
        for operation in operations.values():
            for response in operation["responses"].values():
                response.setdefault("headers", {}).update(_REQUEST_ID)
    return document


def _json(schema):
    return {"application/json": {"schema": schema}}


def _get_operation(spec, path, operation_id, summary, content, more_responses=None):
    responses = {"200": {"description": summary, "content": content}, **(more_responses or {})}
    spec.path(
        path=path,
        operations={"get": {"summary": summary, "operationId": operation_id, "responses": responses}},
    )
