"""gunicorn settings for the OCR service.

Every value can be overridden from the environment (the variable is named
beside it). Start with ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.
"""

import datetime
import glob
import json
import os
import tempfile

from gunicorn import glogging


def _env_int(name, default):
    return int(os.environ.get(name, default))


# --- Socket ----------------------------------------------------------------
# Loopback by default: the service is meant to sit behind nginx. The container
# image binds 0.0.0.0:8000 instead (deploy/Dockerfile).
bind = os.environ.get("OCR_BIND", "127.0.0.1:8000")
# Connections waiting for a worker; kept short so overload is visible early.
backlog = _env_int("OCR_BACKLOG", 64)
# nginx on the same host sets X-Forwarded-For/-Proto; trust them only from it.
forwarded_allow_ips = os.environ.get("OCR_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn), which
# two services on one host would fight over; off unless a path is given.
control_socket = os.environ.get("OCR_CONTROL_SOCKET", "")
control_socket_disable = not control_socket

# --- Workers ---------------------------------------------------------------
# One model per worker, sized by the cores and memory the container or host grants,
# not by the 2 x CPU + 1 rule: the formula is app.config.default_workers
# (OCR_WORKERS overrides it). Each model run takes the cores idle at that moment
# (app/recognition/inference_sessions.py): one client gets every core, as many
# clients as workers one core each (README, Performance). 0: sized at the end of
# this file, once the metrics directory is set (importing app needs it).
workers = _env_int("OCR_WORKERS", 0)
# Threaded workers (app/gunicorn_worker.py), for overload (README, "Robustness"):
# the engine still runs one call at a time, on a thread of its own, while spare
# request threads answer 503 SERVICE_BUSY at once when the worker's line is full
# (app/web/admission.py) and keep /healthz and /readyz answering under load. The
# worker's heartbeat dates from the start of the engine call in progress, so
# `timeout` below still replaces a worker whose engine hangs.
worker_class = "app.gunicorn_worker.OcrWorker"
# More threads than the line holds (1 + OCR_QUEUE_LENGTH = 6 by default), so some
# are always free to refuse quickly.
threads = _env_int("OCR_WORKER_THREADS", 10)
# No more connections than threads: one accepted beyond them would wait unseen in
# gunicorn's own queue, where the app can neither count nor refuse it.
worker_connections = threads
# Never load the app in the master: ONNX Runtime and Paddle sessions are not
# fork-safe, so each worker builds and warms its own engine after the fork.
preload_app = False
# Workers touch a heartbeat file every few seconds; on a container's overlay
# disk that write can stall, so it goes to memory when /dev/shm exists.
worker_tmp_dir = os.environ.get("OCR_WORKER_TMP_DIR") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)

# --- Time limits -----------------------------------------------------------
# Above model load (about 2 s) plus the slowest legitimate image (a 40-megapixel
# scan takes about 20 s on one core): a worker silent for longer is stuck.
# deploy/nginx.conf waits longer than this, so the client sees gunicorn's answer.
timeout = _env_int("OCR_WORKER_TIMEOUT", 120)
# In-flight requests may finish on shutdown or reload.
graceful_timeout = _env_int("OCR_GRACEFUL_TIMEOUT", 30)
# Off: with worker_connections = threads there is no room to hold idle
# connections (nginx opens one per request to gunicorn anyway).
keepalive = _env_int("OCR_KEEPALIVE", 0)

# --- Recycling -------------------------------------------------------------
# The inference runtimes grow memory over time; recycle workers, staggered by
# jitter so they do not all reload at once.
max_requests = _env_int("OCR_MAX_REQUESTS", 1000)
max_requests_jitter = _env_int("OCR_MAX_REQUESTS_JITTER", 100)

# --- Metrics ---------------------------------------------------------------
# prometheus_client's multiprocess mode: each worker writes its samples to files
# in this directory and /metrics sums them all, whichever worker answers the
# scrape. It must be set before anything imports prometheus_client, hence here;
# it must exist already, since the master imports the app package (the worker
# class lives there).
metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="ocr-metrics-")
os.makedirs(metrics_dir, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir

if not workers:
    from app.config import default_workers, granted_cores, granted_memory_mb

    workers = default_workers(granted_cores(), granted_memory_mb())


def on_starting(server):
    """Delete the samples of an earlier run, so they are not summed in."""
    for path in glob.glob(os.path.join(metrics_dir, "*.db")):
        os.remove(path)


def child_exit(server, worker):
    """Forget a dead worker's live gauges; its counters and histograms keep counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# --- Logging ---------------------------------------------------------------
class JsonAccessLogger(glogging.Logger):
    """Write the access log as one JSON object per line, escaped, for log shippers."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        entry = {
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
            "event": "access",
            # The app returns the id it used (taken from nginx's header or generated).
            "request_id": atoms.get("{x-request-id}o") or atoms.get("{x-request-id}i"),
            "method": atoms["m"],
            # The path only: query strings may carry what must not be logged.
            "path": atoms["U"],
            "status": int(atoms["s"]),
            "bytes": atoms["B"],
            "ms": atoms["M"],
            "remote": atoms["h"],
            "pid": os.getpid(),
        }
        self.access_log.info(json.dumps(entry, ensure_ascii=False))


logger_class = JsonAccessLogger
# "-" is stdout for the access log and stderr for the error log: the container
# runtime or systemd collects both, no log files to rotate.
accesslog = os.environ.get("OCR_ACCESS_LOG", "-")
errorlog = os.environ.get("OCR_ERROR_LOG", "-")
loglevel = os.environ.get("OCR_LOG_LEVEL", "info")
