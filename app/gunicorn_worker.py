"""gunicorn's threaded worker, made fit for one engine per worker.

Set as ``worker_class`` in deploy/gunicorn.conf.py.
"""

import atexit
import logging
import os
import sys
import time

from gunicorn.workers.gthread import ThreadWorker

# Pause before accepting, per OCR request already inside this worker.
ACCEPT_PAUSE_PER_REQUEST = 0.01


class OcrWorker(ThreadWorker):
    """Let the least busy worker take each connection; stop the heartbeat while the engine hangs; exit at once."""

    def run(self):
        """Serve until stopped, then leave the process without ONNX Runtime's C++ teardown.

        After "Worker exiting", a worker's exit ran ONNX Runtime's static
        destructors while its inference sessions were still alive: one joins
        an intra-op pool thread that nobody wakes, so the worker hung until the
        master killed it at ``graceful_timeout`` (30 s for every idle stop),
        or aborted ("terminate called ... No such process"). Once the
        graceful stop is done nothing is left to release, so the exit skips
        those destructors; gunicorn's own exit steps still run before it.
        """
        super().run()
        # atexit runs its handlers last in, first out: this one runs first,
        # after the arbiter's exit bookkeeping, before the C++ destructors.
        atexit.register(_exit_now)

    def accept(self, listener):
        """Accept a connection, after a pause that grows with this worker's line.

        A new connection wakes every worker; whoever calls accept first gets it.
        Pausing in proportion to the requests already inside lets a worker with
        a shorter line win, which keeps the two lines about even.
        """
        admission = self._admission()
        if admission is not None and admission.inside:
            time.sleep(ACCEPT_PAUSE_PER_REQUEST * admission.inside)
        super().accept(listener)

    def notify(self):
        """Date the heartbeat to the start of the engine call in progress.

        A threaded worker's main loop keeps beating while a request thread hangs,
        so gunicorn's ``timeout`` would never fire. Backdating the beat to when
        the running engine call began (``Admission.busy_since``) gives ``timeout``
        the sync worker's meaning again: an engine call longer than it gets the
        worker killed and replaced, while short calls back to back keep it alive.
        """
        admission = self._admission()
        busy_since = admission.busy_since if admission is not None else None
        if busy_since is None:
            super().notify()
        else:
            # WorkerTmp keeps the beat as the file's times, in time.monotonic() units.
            os.utime(self.tmp.fileno(), (busy_since, busy_since))

    def _admission(self):
        # None until the app is loaded in this worker.
        return getattr(getattr(self, "wsgi", None), "extensions", {}).get("admission")


def _exit_now():
    """Flush what the worker wrote, then end the process with status 0, as a graceful stop does."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
