"""Error types of the API and the one handler that turns any error into JSON.

Views and helpers only raise; the body is always ``{"code", "message"}``.
"""

import logging

from flask import g, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Base of every error the API answers with; subclasses fix code and status."""

    status = 500
    code = "INTERNAL_ERROR"
    headers = None

    def __init__(self, message, *, code=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class BadRequestError(ApiError):
    status = 400
    code = "BAD_REQUEST"


class MissingSourceError(BadRequestError):
    code = "MISSING_IMAGE"


class MultipleSourcesError(BadRequestError):
    code = "MULTIPLE_IMAGES"


class InvalidBase64Error(BadRequestError):
    code = "INVALID_BASE64"


class InvalidBooleanError(BadRequestError):
    code = "INVALID_BOOLEAN"


class InvalidUrlError(BadRequestError):
    code = "INVALID_URL"


class UrlNotAllowedError(BadRequestError):
    code = "URL_NOT_ALLOWED"


class DuplicateFieldError(BadRequestError):
    code = "DUPLICATE_FIELD"


class NotMultipartError(BadRequestError):
    code = "NOT_MULTIPART"


class MalformedFormError(BadRequestError):
    code = "MALFORMED_FORM"


class FieldTooLongError(BadRequestError):
    code = "FIELD_TOO_LONG"


class PayloadTooLargeError(ApiError):
    status = 413
    code = "IMAGE_TOO_LARGE"


class UnsupportedImageError(ApiError):
    status = 415
    code = "UNSUPPORTED_IMAGE"


class EncryptedPdfError(ApiError):
    """A PDF that needs a password: the format is served, this file cannot be opened.

    400 like the other inputs the client must change, so the documented set of
    statuses stays 400, 413, 415, 502, 503, 504.
    """

    status = 400
    code = "PDF_ENCRYPTED"


class UpstreamError(ApiError):
    """A dependency (the engine or a remote server) failed on this request."""

    status = 502


class RecognitionFailedError(UpstreamError):
    code = "RECOGNITION_FAILED"


class UrlFetchError(UpstreamError):
    code = "URL_FETCH_FAILED"


class ServiceUnavailableError(ApiError):
    status = 503
    code = "ENGINE_NOT_READY"
    retry_after = 5

    @property
    def headers(self):
        return {"Retry-After": str(self.retry_after)}


class ServiceBusyError(ServiceUnavailableError):
    code = "SERVICE_BUSY"
    retry_after = 1


class DeadlineExceededError(ApiError):
    """The request ran past its deadline; the answer is given up, not the worker."""

    status = 504
    code = "DEADLINE_EXCEEDED"


# Codes for the errors werkzeug raises itself (routing, body limits).
HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def error_response(status, code, message, headers=None):
    """Build the JSON error response every error path uses."""
    # Read after the response is built, by the metrics hook (app/web/metrics.py).
    g.error_code = code
    response = jsonify(code=code, message=message)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _handle_api_error(error):
    return error_response(error.status, error.code, error.message, error.headers)


def _handle_http_exception(error):
    if error.code == 413:
        message = "The request body is larger than this service accepts; send a smaller image."
    else:
        message = error.description
    code = HTTP_ERROR_CODES.get(error.code, f"HTTP_{error.code}")
    headers = {}
    if error.code == 405 and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return error_response(error.code, code, message, headers)


def _handle_unexpected(error):
    log.exception("unexpected error while handling a request")
    return error_response(500, "INTERNAL_ERROR", "The service failed unexpectedly; the error was logged.")


def register_error_handlers(app):
    """Register on the app (not a blueprint) so routing errors are JSON too."""
    app.register_error_handler(ApiError, _handle_api_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)
