"""The container image, built and run for real with Podman (`make image`, then `podman run`).

Built as a user builds it: no registry (base image from Debian packages) and no
package index inside the build (wheelhouse). Run as a user runs it: read-only
root, tmpfs /tmp, port published on loopback. Its answers are compared with the
same service run outside a container, `make run`'s way. Figures (build time,
size, time to healthy, RSS) go to test-artifacts/container.json.
"""

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from app.recognition.models import DETECTION, RECOGNITION, TEXTLINE_ORIENTATION
from tests.containers import (
    build_image,
    container_processes,
    memory_mb,
    podman,
    running_container,
    skip_unless_podman_runs,
    state,
    status_field,
    stop_container,
    wait_until_healthy,
)
from tests.servers import ROOT, post_long_request, post_receipt, running_gunicorn

# The first test builds the image: about 8 minutes on a clean 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

FIGURES = ROOT / "test-artifacts" / "container.json"
# Above OCR_GRACEFUL_TIMEOUT (30 s), as docker-compose.yml's stop_grace_period.
GRACE = 40
USER_ID = "10001"

# Requests a user gets wrong; each must get the same JSON error inside and outside.
BAD_REQUESTS = {
    "not an image": {"files": {"file": ("receipt.jpg", b"this is not an image")}},
    "16 MB body": {"files": {"file": ("big.png", b"\x89PNG" + b"\0" * (16 * 1024 * 1024))}},
    "internal url": {"data": {"url": "http://127.0.0.1/healthz"}},
    "Base64 that is not": {"data": {"image_base64": base64.b64encode(b"plain text").decode() + "!"}},
}


def answer(base_url, request):
    return requests.post(f"{base_url}/api/v1/image/ocr", timeout=120, **request)


def words(response):
    return [item["words"] for item in response.json()["words_result"]]


@pytest.fixture(scope="module")
def figures():
    collected = {}
    yield collected
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(collected, indent=2) + "\n")
    print(f"\ncontainer figures: {json.dumps(collected)}")


@pytest.fixture(scope="module")
def image(figures):
    skip_unless_podman_runs()
    seconds, size = build_image()
    figures["build_seconds"] = round(seconds, 1)
    figures["image_mb"] = round(size / 1e6)


@pytest.fixture(scope="module")
def outside():
    """The service run outside a container (`make run`'s way): the receipt and each bad request."""
    with running_gunicorn(workers=1) as (_, base_url):
        answers = {name: answer(base_url, request) for name, request in BAD_REQUESTS.items()}
        answers["receipt"] = post_receipt(base_url)
    return answers


@pytest.fixture(scope="module")
def service(image, figures):
    with running_container("ocr-test-service") as (name, base_url):
        figures["seconds_to_healthy"] = round(wait_until_healthy(name, base_url), 1)
        yield name, base_url


def test_the_models_are_baked_in_and_match_their_checksums(service):
    name, _ = service
    listed = podman("exec", name, "sh", "-c", "sha256sum /srv/ocr/models/*/inference.onnx").stdout.split()
    assert sorted(listed[0::2]) == sorted(model.sha256 for model in (DETECTION, RECOGNITION, TEXTLINE_ORIENTATION))
    logs = podman("logs", name)
    assert "embedded models ready in /srv/ocr/models" in logs.stdout + logs.stderr


def test_every_process_runs_as_the_services_user(service):
    name, _ = service
    processes = container_processes(name)
    assert len(processes) == 3  # the master and the default two workers
    for pid in processes:
        assert status_field(pid, "Uid")[:2] == [USER_ID, USER_ID]


def test_the_root_filesystem_is_read_only_except_tmp(service):
    name, _ = service
    assert state(name, "Status") == "running"
    assert podman("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", name).stdout.strip() == "true"
    refused = podman("exec", name, "touch", "/srv/ocr/models/new", check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    assert podman("exec", name, "touch", "/tmp/new", check=False).returncode == 0


def test_the_healthcheck_reports_healthy(service):
    name, _ = service
    assert state(name, "Health.Status") == "healthy"


def test_a_receipt_reads_the_same_as_outside(service, outside, figures):
    name, base_url = service
    inside = post_receipt(base_url)
    assert inside.status_code == 200 == outside["receipt"].status_code
    assert words(inside) == words(outside["receipt"]) and len(words(inside)) > 20
    # Both workers after real work: what one container holds.
    with ThreadPoolExecutor(2) as pool:
        assert {response.status_code for response in pool.map(post_receipt, [base_url] * 4)} == {200}
    master, *workers = container_processes(name)
    figures["rss_mb_container"] = round(sum(memory_mb(pid) for pid in (master, *workers)))
    figures["peak_rss_mb_per_worker"] = [round(memory_mb(pid, "VmHWM")) for pid in workers]


@pytest.mark.parametrize("mistake", BAD_REQUESTS)
def test_a_bad_request_gets_the_same_json_error_as_outside(service, outside, mistake):
    _, base_url = service
    inside = answer(base_url, BAD_REQUESTS[mistake])
    expected = outside[mistake]
    assert 400 <= inside.status_code < 500
    assert inside.status_code == expected.status_code
    assert inside.headers["Content-Type"] == "application/json"
    assert inside.json() == expected.json()


def test_stop_lets_the_request_in_flight_finish_and_exits_0(service, figures):
    """Last in this module: it stops the module's container."""
    name, base_url = service

    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(post_long_request, base_url)
        time.sleep(0.5)
        stopped_at = time.monotonic()
        seconds, exit_code = stop_container(name, GRACE)
        response, answered_at = in_flight.result()
    assert answered_at > stopped_at, "the request was not in flight when the stop began"
    assert response.status_code == 200 and words(response)
    assert exit_code == 0 and seconds < GRACE
    figures["stop_seconds_with_request_in_flight"] = round(seconds, 1)


def test_an_idle_container_stops_at_once(image, figures):
    with running_container("ocr-test-idle") as (name, base_url):
        wait_until_healthy(name, base_url)
        assert post_receipt(base_url).status_code == 200  # live inference sessions in a worker
        seconds, exit_code = stop_container(name, GRACE)
        assert exit_code == 0
        assert seconds < GRACE / 4, f"idle stop took {seconds:.1f} s"
        figures["idle_stop_seconds"] = round(seconds, 1)
