"""Two replicas of the container behind nginx, one killed while 8 clients send receipts.

The compose file runs N replicas behind nginx (deploy/docker-compose.yml); podman-compose
is not used here, so the same topology is started with plain podman commands: two
containers of the image on loopback ports, and nginx 1.22 from Debian on the host with
deploy/nginx.conf, one upstream server line per replica (as its header says for hosts).
Figures go to test-artifacts/replicas.json.
"""

import json
import re
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

import pytest
import requests
import yaml

from tests.containers import (
    build_image,
    podman,
    running_container,
    skip_unless_podman_runs,
    wait_until_healthy,
)
from tests.servers import RECEIPT, ROOT, free_port
from tests.test_nginx import _wait_for_port, server_block, write_nginx_prefix

CLIENTS = 8
# Each client stops after this many requests or when the run ends, whichever is first.
MAX_REQUESTS_PER_CLIENT = 40
KILL_AFTER = 12.0
RUN_SECONDS = 45.0
# README, deploy: what a client may see while a replica dies.
DOCUMENTED = {(200, None), (503, "SERVICE_UNAVAILABLE"), (503, "SERVICE_BUSY"), (504, "UPSTREAM_TIMEOUT")}
FIGURES = ROOT / "test-artifacts" / "replicas.json"
# One line per request: when nginx logged it, which replicas it tried, their answers.
LOG_FORMAT = "log_format replicas '$msec $status \"$upstream_addr\" \"$upstream_status\"';"


def test_compose_runs_replicas_behind_nginx():
    services = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())["services"]
    assert services["ocr"]["deploy"]["replicas"] >= 2
    assert services["ocr"]["read_only"] is True
    upstream = services["nginx"]["environment"]["OCR_UPSTREAM"]
    assert upstream.split(":")[0] == "ocr"  # the service name, which resolves to every replica


def test_nginx_leaves_out_a_failed_replica_and_retries_only_unsent_requests():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"server \$\{OCR_UPSTREAM\} max_fails=1 fail_timeout=\d+s;", conf)
    assert "proxy_next_upstream error timeout;" in conf
    assert "non_idempotent" not in conf  # a POST that reached a replica is never sent twice


def replicas_block(listen, upstreams):
    """deploy/nginx.conf filled for hosts: its server line repeated once per replica."""
    block = server_block(listen, upstreams[0])
    (line,) = [line for line in block.splitlines() if line.strip().startswith(f"server {upstreams[0]} ")]
    lines = "\n".join(line.replace(upstreams[0], upstream) for upstream in upstreams)
    return block.replace(line, lines)


@contextmanager
def running_nginx_over(upstreams, prefix):
    """Host nginx in front of every replica, logging which replicas each request tried."""
    port = free_port()
    command = write_nginx_prefix(prefix, f"127.0.0.1:{port}", upstreams[0])
    (prefix / "ocr.conf").write_text(replicas_block(f"127.0.0.1:{port}", upstreams))
    conf = prefix / "nginx.conf"
    default_log = f"access_log {prefix}/access.log;"
    conf.write_text(conf.read_text().replace(default_log, f"{LOG_FORMAT} access_log {prefix}/access.log replicas;"))
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_port(port, process, prefix / "error.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def send_receipts(base_url, until, outcomes, lock):
    """One client: receipts back to back, waiting out Retry-After on a 503 as a client should."""
    body = RECEIPT.read_bytes()
    for _ in range(MAX_REQUESTS_PER_CLIENT):
        if time.monotonic() >= until:
            return
        started = time.monotonic()
        try:
            answer = requests.post(f"{base_url}/api/v1/image/ocr", files={"file": body}, timeout=150)
            outcome = (answer.status_code, answer.json().get("code"))
        except requests.RequestException as error:
            answer, outcome = None, ("no answer", type(error).__name__)
        with lock:
            outcomes.append((started, time.monotonic(), *outcome))
        if answer is not None and answer.status_code == 503:
            time.sleep(min(float(answer.headers.get("Retry-After", 1)), max(0.0, until - time.monotonic())))


def nginx_entries(access_log):
    entries = []
    for line in access_log.read_text().splitlines():
        msec, status, tried, answers = re.match(r'(\S+) (\d+) "(.*)" "(.*)"', line).groups()
        entries.append((float(msec), int(status), tried.replace(" : ", ", ").split(", "), answers))
    return entries


@pytest.mark.slow
@pytest.mark.timeout(2400)  # builds the image if no earlier test did: minutes on a clean machine
def test_killing_a_replica_mid_run_costs_only_its_requests_in_flight(tmp_path):
    skip_unless_podman_runs()
    build_image()
    ports = [free_port(), free_port()]
    upstreams = [f"127.0.0.1:{port}" for port in ports]
    prefix = tmp_path / "nginx"
    with ExitStack() as stack:
        # One worker each: two replicas share this machine's 2 cores.
        replicas = [
            stack.enter_context(running_container(f"ocr-test-replica-{i}", env={"OCR_WORKERS": "1"}, port=port))
            for i, port in enumerate(ports)
        ]
        for name, base_url in replicas:
            wait_until_healthy(name, base_url)
        nginx_url = stack.enter_context(running_nginx_over(upstreams, prefix))
        outcomes, lock = [], threading.Lock()
        started = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            for _ in range(CLIENTS):
                pool.submit(send_receipts, nginx_url, started + RUN_SECONDS, outcomes, lock)
            time.sleep(KILL_AFTER)
            killed_at_wall = time.time()
            podman("kill", "--signal", "KILL", replicas[1][0])
            # A request sent while podman was still killing may be in the replica when it dies.
            killed_at = time.monotonic()
        entries = nginx_entries(prefix / "access.log")

    statuses = Counter(f"{status} {code or ''}".strip() for _, _, status, code in outcomes)
    # Nothing but 200 and the documented JSON errors reached a client.
    for _, _, status, code in outcomes:
        assert (status, code) in DOCUMENTED, (status, code)
    # Both replicas served before the kill.
    before = [entry for entry in entries if entry[0] < killed_at_wall]
    assert {entry[2][0] for entry in before if entry[1] == 200} == set(upstreams)
    # The requests inside the killed replica got 503 SERVICE_UNAVAILABLE; nginx left it out at its first failure.
    dead = upstreams[1]
    after = [entry for entry in entries if entry[0] >= killed_at_wall]
    tried_dead = [entry for entry in after if dead in entry[2]]
    assert tried_dead, "nginx never noticed the dead replica"
    first_failure = tried_dead[0][0]
    # From then on no request ended on the dead replica: nginx either did not
    # choose it or, trying it again after fail_timeout, failed to connect and
    # passed the request on to the live one.
    assert all(entry[2][-1] != dead for entry in after if entry[0] > first_failure + 1)
    # Once left out, the dead replica is tried again only once per fail_timeout.
    fail_timeout = int(re.search(r"fail_timeout=(\d+)s", (ROOT / "deploy" / "nginx.conf").read_text()).group(1))
    passed_on = [entry for entry in tried_dead if len(entry[2]) > 1]
    assert len(passed_on) <= (entries[-1][0] - first_failure) / fail_timeout + 1
    # Only requests already in flight at the kill lost their answer (503 SERVICE_UNAVAILABLE);
    # later ones were answered, or refused as busy by the one replica left.
    lost = [outcome for outcome in outcomes if outcome[3] == "SERVICE_UNAVAILABLE"]
    assert all(outcome[0] < killed_at for outcome in lost), [(o[0] - killed_at, o[1] - killed_at) for o in lost]
    later = [outcome for outcome in outcomes if outcome[0] > killed_at + (first_failure - killed_at_wall) + 1]
    assert later and {outcome[2] for outcome in later} <= {200, 503}

    figures = {
        "requests": len(outcomes),
        "statuses": dict(statuses),
        "in_flight_on_the_killed_replica_lost": len(lost),
        "seconds_until_nginx_left_out_the_dead_replica": round(first_failure - killed_at_wall, 2),
        "later_attempts_on_the_dead_replica_passed_on": len(passed_on),
    }
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nreplica-kill figures: {json.dumps(figures)}")
