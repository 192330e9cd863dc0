"""Start real servers for tests and benchmarks: gunicorn with deploy/gunicorn.conf.py."""

import io
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
# A scanned receipt (tests/data/deploy/README.md), for tests that need one real OCR request.
RECEIPT = ROOT / "tests" / "data" / "deploy" / "receipt.jpg"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_ready(base_url, process=None, timeout=120, path="/readyz"):
    """Poll ``path`` (/readyz: the engine is warm) until it answers 200; return the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before it was ready")
        try:
            if requests.get(f"{base_url}{path}", timeout=2).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{base_url} not ready after {timeout} s")


@contextmanager
def running_gunicorn(workers=1, env=None, log_path=None, ready_timeout=120, ready_path="/readyz"):
    """Run gunicorn as `make run` does, on a free loopback port; yield (process, base_url).

    ``workers=None`` keeps the configured default; ``ready_path="/healthz"`` waits
    only for the process (a service started without its engine).
    """
    port = free_port()
    environment = {**os.environ, "OCR_BIND": f"127.0.0.1:{port}", **(env or {})}
    if workers is not None:
        environment["OCR_WORKERS"] = str(workers)
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url, process, ready_timeout, ready_path)
        yield process, base_url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if log_path:
            log.close()


def post_receipt(base_url, receipt=RECEIPT, timeout=120):
    """POST a receipt to the OCR endpoint as a multipart upload."""
    with open(receipt, "rb") as image:
        return requests.post(f"{base_url}/api/v1/image/ocr", files={"file": image}, timeout=timeout)


def four_receipts_page():
    """JPEG bytes of four receipts on one page: seconds on the engine even on an idle
    machine, where one receipt can be answered before a test's stop begins."""
    with Image.open(RECEIPT) as receipt:
        page = Image.new("RGB", (receipt.width * 2, receipt.height * 2), "white")
        for x in (0, receipt.width):
            for y in (0, receipt.height):
                page.paste(receipt, (x, y))
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def post_long_request(base_url, timeout=120):
    """POST four_receipts_page(); return (response, time.monotonic() when it was answered)."""
    response = requests.post(f"{base_url}/api/v1/image/ocr", files={"file": ("page.jpg", four_receipts_page())},
                             timeout=timeout)
    return response, time.monotonic()
