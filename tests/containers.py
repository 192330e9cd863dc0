"""Build and run the service's container image for tests and benchmarks, with Podman.

The image is built by `make image` (wheelhouse, base image from Debian packages,
deploy/Dockerfile), so the tests build it the way a user does; the engine's layer
cache makes a second build take seconds. Podman runs as the Makefile's CONTAINER
runs it: runc and deploy/containers.conf.
"""

import os
import shutil
import subprocess
import time
from contextlib import contextmanager

import pytest

from tests.servers import ROOT, free_port, wait_until_ready

IMAGE = "localhost/ocr-service:latest"
PODMAN = ["podman", "--runtime", "runc"]
PODMAN_ENV = {**os.environ, "CONTAINERS_CONF": str(ROOT / "deploy" / "containers.conf")}
# The one writable path of the read-only root (deploy/kubernetes/deployment.yaml mounts the same).
TMPFS = "/tmp:rw,size=64m"


def podman(*args, check=True, timeout=120):
    return subprocess.run([*PODMAN, *args], env=PODMAN_ENV, capture_output=True, text=True, check=check, timeout=timeout)


def skip_unless_podman_runs():
    """Skip, saying why, where no container can be built or run here."""
    missing = [tool for tool in ("podman", "runc", "mmdebstrap") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"no container engine here: {', '.join(missing)} not installed (make system-deps)")
    probe = podman("info", check=False)
    if probe.returncode != 0:
        pytest.skip(f"podman cannot run here: {probe.stderr.strip()[-300:]}")


def build_image():
    """`make image`; returns (seconds, image size in bytes)."""
    started = time.monotonic()
    built = subprocess.run(["make", "image"], cwd=ROOT, capture_output=True, text=True, timeout=40 * 60, check=False)
    seconds = time.monotonic() - started
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    size = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    return seconds, size


@contextmanager
def running_container(name, env=None, port=None):
    """The image as a user runs it: read-only root, a tmpfs /tmp, port 8000 published on loopback.

    Yields (name, base_url) once the service answers; the container is removed afterwards.
    """
    port = port or free_port()
    settings = [f"--env={key}={value}" for key, value in (env or {}).items()]
    podman("rm", "--force", "--time", "0", name, check=False)
    podman(
        "run", "--detach", "--name", name, "--read-only", "--read-only-tmpfs=false", "--tmpfs", TMPFS,
        "--publish", f"127.0.0.1:{port}:8000", *settings, IMAGE,
    )
    try:
        yield name, f"http://127.0.0.1:{port}"
    finally:
        podman("rm", "--force", "--time", "0", name, check=False)


def wait_until_healthy(name, base_url, timeout=180):
    """Seconds until the image's HEALTHCHECK passes (run by hand: no systemd timers here)."""
    started = time.monotonic()
    wait_until_ready(base_url, timeout=timeout)
    while podman("healthcheck", "run", name, check=False).returncode != 0:
        assert time.monotonic() - started < timeout, podman("logs", name, check=False).stderr[-3000:]
        time.sleep(1)
    return time.monotonic() - started


def state(name, field):
    return podman("inspect", "--format", f"{{{{.State.{field}}}}}", name).stdout.strip()


def container_processes(name):
    """Host pids of every process in the container: gunicorn's master first, then its workers."""
    master = int(state(name, "Pid"))
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True, check=False).stdout.split()
    return [master, *map(int, children)]


def status_field(pid, field):
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return line.split()[1:]
    raise KeyError(field)


def memory_mb(pid, field="VmRSS"):
    return int(status_field(pid, field)[0]) / 1024


def stop_container(name, grace=40):
    """`podman stop` (SIGTERM, SIGKILL after ``grace``); the seconds it took and the exit code."""
    started = time.monotonic()
    podman("stop", "--time", str(grace), name, timeout=grace + 60)
    return time.monotonic() - started, int(state(name, "ExitCode"))
