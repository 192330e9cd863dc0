"""Service settings, read once from the environment.

Every knob an operator may turn is an ``OCR_*`` environment variable read here,
so the limits and defaults of the service are visible in one file.
"""

import math
import os
from pathlib import Path

MIB = 1024 * 1024


def _env_int(name, default):
    return int(os.environ.get(name, default))


def _env_float(name, default):
    return float(os.environ.get(name, default))


def _env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Host sizing --------------------------------------------------------------------
# What the container or host grants this process, not the host's totals: a
# container started with --cpus=2 --memory=4g on a 16-core, 64 GB host must
# size itself as 2 cores and 4 GB. cgroup v2 first, then v1, then the host.
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_ROOT = Path("/proc")
# A worker's peak on the largest image accepted (README, Performance, PDF input:
# 1505 MB for 40 megapixels), and what the master process and the system around it keep.
WORKER_PEAK_MB = 1536
RESERVED_MB = 256


def _read(path):
    try:
        return Path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _own_cgroup_dirs(cgroup_root, proc_root):
    """This process's own cgroup v2 directory first (a systemd slice), then the mount's root (a container)."""
    own = _read(Path(proc_root) / "self" / "cgroup") or ""
    dirs = [Path(cgroup_root) / line.split("::", 1)[1].lstrip("/") for line in own.splitlines() if line.startswith("0::")]
    return [*dirs, Path(cgroup_root)]


def granted_cores(cgroup_root=CGROUP_ROOT, proc_root=PROC_ROOT):
    """Whole cores this process may use: its CPU affinity, capped by a cgroup quota (rounded up)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    quota = None
    for directory in _own_cgroup_dirs(cgroup_root, proc_root):
        fields = (_read(directory / "cpu.max") or "").split()  # "max 100000" or "200000 100000"
        if len(fields) == 2 and fields[0] != "max":
            quota = int(fields[0]) / int(fields[1])
            break
    else:
        v1_quota = _read(Path(cgroup_root) / "cpu" / "cpu.cfs_quota_us")
        v1_period = _read(Path(cgroup_root) / "cpu" / "cpu.cfs_period_us")
        if v1_quota and v1_period and int(v1_quota) > 0:
            quota = int(v1_quota) / int(v1_period)
    if quota is not None:
        cores = min(cores, max(1, math.ceil(quota - 0.01)))
    return max(1, cores)


def granted_memory_mb(cgroup_root=CGROUP_ROOT, proc_root=PROC_ROOT):
    """Memory this process may use: the host's MemTotal, capped by a cgroup limit."""
    meminfo = _read(Path(proc_root) / "meminfo") or ""
    total = next((int(line.split()[1]) // 1024 for line in meminfo.splitlines() if line.startswith("MemTotal:")), None)
    limits = [_read(directory / "memory.max") for directory in _own_cgroup_dirs(cgroup_root, proc_root)]
    limits.append(_read(Path(cgroup_root) / "memory" / "memory.limit_in_bytes"))
    # "max" (v2) means no limit; v1's no-limit value (near 2**63) loses to MemTotal.
    granted = [int(limit) // MIB for limit in limits if limit and limit.isdigit()]
    candidates = [value for value in (total, *granted) if value]
    return min(candidates) if candidates else None


def default_workers(cores, memory_mb):
    """The worker count when OCR_WORKERS is unset: one per granted core, as many as memory holds.

        workers = max(1, min(cores, (memory_mb - RESERVED_MB) // WORKER_PEAK_MB))
        threads per worker (OCR_INFERENCE_THREADS) = cores, each model run taking
            only the cores idle at that moment (app/recognition/inference_sessions.py)

    So a lone client gets every core and as many clients as workers get one core
    each. One process per core because ONNX Runtime's threads within one run
    scale worse than separate processes (reported on a 16-core host: four 4-thread
    processes read 1.7 times as many receipts as one 16-thread process). Measured
    here on 1 and 2 cores only (tests/bench/bench_service.py --scaling); that one
    worker per core stays best beyond 2 cores is not measured.
    """
    if memory_mb is None:
        return max(1, cores)
    return max(1, min(cores, (memory_mb - RESERVED_MB) // WORKER_PEAK_MB))


def _default_cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return str(Path(base) / "ocr-service")


class Config:
    """Production settings; each attribute can be overridden by its environment variable."""

    # Largest image accepted from any source (upload, Base64 or url download).
    MAX_IMAGE_BYTES = _env_int("OCR_MAX_IMAGE_BYTES", 10 * MIB)
    # Pixel limit checked from the image header, before any pixel is decoded.
    MAX_IMAGE_PIXELS = _env_int("OCR_MAX_IMAGE_PIXELS", 40_000_000)
    # Pages read from a multi-page TIFF or a PDF (the first ones; page_count reports them all).
    MAX_PAGES = _env_int("OCR_MAX_PAGES", 10)
    # A PDF page is read from its text layer when the layer's characters cover at
    # least this share of the ink printed on the page; below it (a scan with no
    # or a partial text layer) the page is rendered and read by the engine.
    PDF_TEXT_COVERAGE = _env_float("OCR_PDF_TEXT_COVERAGE", 0.8)
    # Segments scoring below this count as low confidence in the summary.
    LOW_SCORE_THRESHOLD = _env_float("OCR_LOW_SCORE_THRESHOLD", 0.8)

    # Where the generated model directories (ONNX + inference.yml) are kept.
    MODEL_CACHE_DIR = os.environ.get("OCR_MODEL_CACHE_DIR", _default_cache_dir())
    # Optional official PaddleOCR model directories (Paddle format) replacing the embedded models.
    DET_MODEL_DIR = os.environ.get("OCR_DET_MODEL_DIR") or None
    DET_MODEL_NAME = os.environ.get("OCR_DET_MODEL_NAME") or None
    REC_MODEL_DIR = os.environ.get("OCR_REC_MODEL_DIR") or None
    REC_MODEL_NAME = os.environ.get("OCR_REC_MODEL_NAME") or None
    # The most inference threads one worker uses; each model run takes as many of
    # them as there are idle cores (app/recognition/inference_sessions.py), so the default,
    # every granted core, serves one client fast and as many clients as workers without
    # contention.
    INFERENCE_THREADS = _env_int("OCR_INFERENCE_THREADS", 0) or granted_cores()
    # What runs the ONNX models: "onnxruntime" or "openvino" (faster, a larger
    # peak per worker: README, Performance), and the precision OpenVINO computes
    # in: "bf16" where the CPU has it natively (else float32), or "f32".
    INFERENCE_RUNTIME = os.environ.get("OCR_INFERENCE_RUNTIME", "onnxruntime")
    INFERENCE_PRECISION = os.environ.get("OCR_INFERENCE_PRECISION", "bf16")
    # Freed memory a worker keeps for the next image (app/recognition/allocator.py): above this
    # resident size it is given back after each image. Reading a receipt needs
    # 0.6-0.9 GB; trimming below that made every receipt 12-19% slower.
    RETAINED_MEMORY_MB = _env_int("OCR_RETAINED_MEMORY_MB", 896)

    # url downloads.
    URL_CONNECT_TIMEOUT = _env_float("OCR_URL_CONNECT_TIMEOUT", 3.0)
    URL_READ_TIMEOUT = _env_float("OCR_URL_READ_TIMEOUT", 10.0)
    URL_DEADLINE = _env_float("OCR_URL_DEADLINE", 20.0)
    URL_MAX_REDIRECTS = _env_int("OCR_URL_MAX_REDIRECTS", 3)
    URL_ALLOWED_PORTS = [int(p) for p in _env_list("OCR_URL_ALLOWED_PORTS", "80,443")]
    # CIDRs or host names that may be fetched even though they are not public
    # addresses; a name with a leading dot (".store.internal") covers its subdomains.
    URL_ALLOWLIST = _env_list("OCR_URL_ALLOWLIST")
    # PEM file of the CAs trusted for https downloads (an internal store's own CA);
    # unset, the certifi bundle that requests ships.
    URL_CA_BUNDLE = os.environ.get("OCR_URL_CA_BUNDLE") or None

    # Overload, per worker (README, "Robustness"): one request runs on the engine and
    # at most this many more are inside the worker; the next is answered 503 at once.
    QUEUE_LENGTH = _env_int("OCR_QUEUE_LENGTH", 5)
    # Longest wait for the engine before a 503 SERVICE_BUSY.
    QUEUE_TIMEOUT = _env_float("OCR_QUEUE_TIMEOUT", 20.0)
    # A request unanswered this long after it was admitted ends with 504; below
    # gunicorn's timeout, which then replaces a worker whose engine call hangs.
    REQUEST_DEADLINE = _env_float("OCR_REQUEST_DEADLINE", 60.0)

    # Whether to build and warm the engine when the app is created.
    LOAD_ENGINE = os.environ.get("OCR_LOAD_ENGINE", "1") not in ("0", "false", "no")

    # werkzeug refuses larger bodies before reading them; Base64 inflates the
    # image by 4/3, and the form's other fields need a little room.
    @property
    def MAX_CONTENT_LENGTH(self):
        return self.MAX_IMAGE_BYTES * 4 // 3 + 1 * MIB

    # Flask 3.1 limits non-file form fields separately; Base64 images are such fields.
    @property
    def MAX_FORM_MEMORY_SIZE(self):
        return self.MAX_IMAGE_BYTES * 4 // 3 + 64 * 1024

    MAX_FORM_PARTS = 100


class TestConfig(Config):
    """Settings for tests: the engine is handed in by the fixture."""

    __test__ = False  # not a pytest test class

    TESTING = True
    LOAD_ENGINE = False
