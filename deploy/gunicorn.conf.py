"""gunicorn settings for the OCR service.

Every value can be overridden from the environment (the variable is named
beside it). Start with ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.
"""

import os


def _env_int(name, default):
    return int(os.environ.get(name, default))


# --- Socket ----------------------------------------------------------------
# Loopback by default: the service is meant to sit behind nginx.
bind = os.environ.get("OCR_BIND", "127.0.0.1:8000")
# Connections waiting for a worker; kept short so overload is visible early.
backlog = _env_int("OCR_BACKLOG", 64)

# --- Workers ---------------------------------------------------------------
# One model per worker; each worker holds about 0.5-1 GB, so workers are sized
# by memory and cores, not by the 2 x CPU + 1 rule. Two workers with one
# inference thread each keep a 2-core machine busy without oversubscribing it.
workers = _env_int("OCR_WORKERS", 2)
# Sync workers: the inference runtimes are not thread-safe, one request at a time.
worker_class = "sync"
# Inference threads per worker, read by the app (OCR_INFERENCE_THREADS).
os.environ.setdefault("OCR_INFERENCE_THREADS", os.environ.get("OCR_THREADS_PER_WORKER", "1"))
# Never load the app in the master: ONNX Runtime and Paddle sessions are not
# fork-safe, so each worker builds and warms its own engine after the fork.
preload_app = False

# --- Time limits -----------------------------------------------------------
# Above model load (about 2 s) plus the slowest legitimate image (a 40-megapixel
# scan takes about 20 s on one core): a worker silent for longer is stuck.
timeout = _env_int("OCR_WORKER_TIMEOUT", 120)
# In-flight requests may finish on shutdown or reload.
graceful_timeout = _env_int("OCR_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("OCR_KEEPALIVE", 5)

# --- Recycling -------------------------------------------------------------
# The inference runtimes grow memory over time; recycle workers, staggered by
# jitter so they do not all reload at once.
max_requests = _env_int("OCR_MAX_REQUESTS", 1000)
max_requests_jitter = _env_int("OCR_MAX_REQUESTS_JITTER", 100)

# --- Logging ---------------------------------------------------------------
accesslog = os.environ.get("OCR_ACCESS_LOG", "-")
errorlog = os.environ.get("OCR_ERROR_LOG", "-")
loglevel = os.environ.get("OCR_LOG_LEVEL", "info")
