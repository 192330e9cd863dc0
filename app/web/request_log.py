"""One structured log line per request, under a request id the client can quote.

The id is taken from ``X-Request-ID`` (nginx or the client sets it) when it is a
short plain token, else a new one is made; the response carries it back in the
same header. The line is JSON: what was asked, what was answered and how large
the image was, from the facts the view, the admission and the error handler
leave in ``flask.g``. It names the image source's kind, never the image, the
Base64 text or the url.
"""

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import g, request

HEADER = "X-Request-ID"
# Anything else (too long, spaces, control characters) could forge log lines.
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

log = logging.getLogger(__name__)


def init_app(app):
    """Log every request of ``app``, errors and unknown routes included."""
    if not log.handlers:
        # Bare JSON lines on stdout, beside gunicorn's access log, for log shippers.
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    app.before_request(_start)
    app.after_request(_finish)


def request_id():
    """The current request's id, made on first use if the request has none yet."""
    if "request_id" not in g:
        supplied = request.headers.get(HEADER, "")
        g.request_id = supplied if _CLIENT_ID.fullmatch(supplied) else uuid.uuid4().hex
    return g.request_id


def _start():
    g.request_started = time.perf_counter()
    request_id()


def _finish(response):
    response.headers[HEADER] = request_id()
    started = g.get("request_started")
    entry = {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "event": "request",
        "request_id": request_id(),
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "code": g.get("error_code"),
        "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        "source": g.get("image_source"),
        "image_bytes": g.get("image_bytes"),
        "image_pixels": g.get("image_pixels"),
        "queue_ms": g.get("queue_ms"),
    }
    log.info(json.dumps(entry, ensure_ascii=False))
    return response

