"""gunicorn's threaded worker, with a heartbeat that stops while an engine call hangs.

Set as ``worker_class`` in deploy/gunicorn.conf.py.
"""

import os

from gunicorn.workers.gthread import ThreadWorker


class OcrWorker(ThreadWorker):
    """Date each heartbeat to the start of the engine call in progress.

    A threaded worker's main loop keeps beating while a request thread hangs, so
    gunicorn's ``timeout`` would never fire. Backdating the beat to when the
    running engine call began (``Admission.busy_since``) gives ``timeout`` the
    sync worker's meaning again: an engine call longer than it gets the worker
    killed and replaced, while short calls back to back keep it alive.
    """

    def notify(self):
        admission = getattr(getattr(self, "wsgi", None), "extensions", {}).get("admission")
        busy_since = admission.busy_since if admission is not None else None
        if busy_since is None:
            super().notify()
        else:
            # WorkerTmp keeps the beat as the file's times, in time.monotonic() units.
            os.utime(self.tmp.fileno(), (busy_since, busy_since))
