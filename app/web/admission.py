"""Admit OCR requests to the worker's one engine, or turn them away at once.

A worker has one engine and several request threads (gunicorn's gthread worker).
At most ``1 + QUEUE_LENGTH`` OCR requests are inside a worker at a time: one on
the engine, the others reading, decoding or waiting their turn. The next one is
answered 503 SERVICE_BUSY straight away, and so is a request that waited
``QUEUE_TIMEOUT`` for the engine without getting it: the line is bounded in
length and in time, and spare threads keep answering (503s, health probes).

Engine calls run in turn on one dedicated thread, so a request can stop waiting
at its deadline (504) even though the call itself cannot be interrupted;
``busy_since`` tells the worker's heartbeat (``app.gunicorn_worker``) how long the
call in progress has run, so gunicorn replaces a worker whose engine hangs.
"""

import functools
import queue
import threading
import time
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout

from flask import current_app, g

from app.web.errors import (
    ApiError,
    DeadlineExceededError,
    RecognitionFailedError,
    ServiceBusyError,
)


class Admission:
    """Count the requests inside this worker and run engine calls one at a time."""

    def __init__(self, queue_length, queue_timeout, deadline):
        self.capacity = 1 + queue_length
        self.queue_timeout = queue_timeout
        self.deadline = deadline
        self.busy_since = None  # time.monotonic() when the engine call in progress began
        self.inside = 0  # OCR requests in this worker now, on the engine or waiting for it
        self._lock = threading.Lock()
        self._jobs = queue.SimpleQueue()
        self._thread = None

    def enter(self):
        """Take a place in the worker, or raise 503 if the line is full."""
        with self._lock:
            if self.inside >= self.capacity:
                raise ServiceBusyError(
                    "Every place in this worker's line is taken; retry after the Retry-After seconds."
                )
            self.inside += 1

    def leave(self):
        with self._lock:
            self.inside -= 1

    def run(self, admitted_at, call):
        """Run ``call()`` on the engine thread; return its result and the seconds it waited.

        503 if it has not started within the queue timeout (it then never runs),
        504 if it has not finished by the request's deadline (it finishes unheard).
        """
        future = Future()
        queued_at = time.monotonic()
        self._start_thread()
        self._jobs.put((future, call))
        deadline = admitted_at + self.deadline
        try:
            result = future.result(timeout=max(0.0, min(queued_at + self.queue_timeout, deadline) - queued_at))
        except FutureTimeout:
            # Cancelling only succeeds while the call is still waiting its turn.
            if future.cancel() and time.monotonic() < deadline:
                raise ServiceBusyError(
                    f"The OCR engine stayed busy for {self.queue_timeout:g} s; retry after the "
                    "Retry-After seconds."
                ) from None
            try:
                result = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except (FutureTimeout, CancelledError):
                raise DeadlineExceededError(
                    f"The image was not recognised within {self.deadline:g} s; send a smaller image "
                    "or retry later."
                ) from None
        return result, future.started_at - queued_at

    def _start_thread(self):
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="ocr-engine", daemon=True)
                self._thread.start()

    def _work(self):
        # A daemon thread: a hung call must not keep the process from exiting when
        # gunicorn stops or replaces the worker.
        while True:
            future, call = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue  # its request already gave up with a 503
            future.started_at = self.busy_since = time.monotonic()
            try:
                future.set_result(call())
            except Exception as error:  # handed to the waiting request, which reports it
                future.set_exception(error)
            finally:
                self.busy_since = None


def init_app(app):
    """Give the app its admission, sized from the config."""
    config = app.config
    app.extensions["admission"] = Admission(
        config["QUEUE_LENGTH"], config["QUEUE_TIMEOUT"], config["REQUEST_DEADLINE"]
    )


def admitted(view):
    """Run ``view`` only if this worker has room for one more OCR request."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        admission = current_app.extensions["admission"]
        admission.enter()
        g.admitted_at = time.monotonic()
        try:
            return view(*args, **kwargs)
        finally:
            admission.leave()

    return wrapper


def on_engine(function, *args, **kwargs):
    """Run an engine call for the current request, within its line and deadline.

    The engine failing on the image is a 502 RECOGNITION_FAILED; the traceback is logged.
    """
    try:
        result, waited = current_app.extensions["admission"].run(
            # A call from outside an admitted view counts its deadline from now.
            g.get("admitted_at", time.monotonic()), functools.partial(function, *args, **kwargs)
        )
    except ApiError:
        raise
    except Exception as error:
        current_app.logger.exception("recognition failed")
        raise RecognitionFailedError(f"The OCR engine failed on this image ({type(error).__name__}).") from None
    g.queue_ms = round(waited * 1000, 1)
    return result
