"""Real gunicorn under load, overload, a killed worker and a hung engine call; loopback only.

Each scenario prints its figures, after the machine's conditions (run with ``-s``
to see them: README, Robustness quotes them). The load test runs for 3 minutes;
the others for under a minute each.
"""

import json
import os
import signal
import threading
import time

import pytest
from PIL import Image, ImageDraw, ImageFont

from app.config import WORKER_PEAK_MB, Config
from tests.bench.conditions import conditions
from tests.hostile_inputs import encode, text_image, upload
from tests.load import (
    Probe,
    corpus_probes,
    receipt_probes,
    rss_mb,
    run_clients,
    send,
    summary,
    wait_for_log,
    worker_pids,
)
from tests.servers import running_gunicorn
from tests.sroie import TEST_RECEIPTS, receipt_ids

pytestmark = pytest.mark.slow

LOAD_SECONDS = 180
# Warm-up lasts from the first to the second figure, until memory settles.
WARM_UP_SECONDS = (45, 100)
READY_LINE = "OCR engine ready"
TEST_RECEIPT_IDS = receipt_ids(TEST_RECEIPTS)
# Room for all 8 clients in one worker's line, and waits long enough for 8 large
# receipts on a shared, busy machine: under this load no request may be refused.
# No recycling, so the RSS figures follow the same two processes throughout.
LOAD_ENV = {
    "OCR_QUEUE_LENGTH": "7",
    "OCR_QUEUE_TIMEOUT": "150",
    "OCR_REQUEST_DEADLINE": "180",
    "OCR_MAX_REQUESTS": "0",
}


def mixed_probes():
    """The test receipts (every size, up to an A4 scan) and the hostile corpus."""
    return receipt_probes(TEST_RECEIPTS) + corpus_probes()


def peak_rss_mb(pid):
    return rss_mb(pid, "VmHWM")


def warm_up(base_url, probes, pids):
    """Load in rounds until no worker's peak RSS grows 2% in a round (45 to 100 s).

    A worker's peak is set by the largest input it has read, then mostly stays flat;
    the run prints how much it still grows. (Its current RSS swings by design: freed
    memory is kept up to OCR_RETAINED_MEMORY_MB, app/recognition/allocator.py.)
    """
    outcomes, rss, started = [], {pid: peak_rss_mb(pid) for pid in pids}, time.monotonic()
    while True:
        outcomes += run_clients(base_url, probes, clients=8, seconds=15, seed=len(outcomes))
        now = {pid: peak_rss_mb(pid) for pid in pids}
        settled = all(now[pid] < rss[pid] * 1.02 for pid in pids)
        rss, elapsed = now, time.monotonic() - started
        if (settled and elapsed >= WARM_UP_SECONDS[0]) or elapsed >= WARM_UP_SECONDS[1]:
            return outcomes, rss, elapsed


@pytest.fixture(scope="module", autouse=True)
def print_conditions():
    print("\n" + conditions("gunicorn"))


@pytest.fixture(scope="module")
def load_server(tmp_path_factory):
    """Two workers, both with their engines loaded, and the path of the server's log."""
    log_path = tmp_path_factory.mktemp("load") / "gunicorn.log"
    with running_gunicorn(workers=2, env=LOAD_ENV, log_path=log_path) as (process, base_url):
        wait_for_log(log_path, READY_LINE, 2, timeout=120)
        yield process, base_url, log_path


def test_two_workers_serve_eight_clients_for_three_minutes(load_server):
    process, base_url, _log_path = load_server
    pids = worker_pids(process.pid)
    assert len(pids) == 2
    probes = mixed_probes()

    warming, rss_after_warm_up, warm_up_seconds = warm_up(base_url, probes, pids)
    loaded = run_clients(base_url, probes, clients=8, seconds=LOAD_SECONDS - warm_up_seconds)
    rss_at_end = {pid: peak_rss_mb(pid) for pid in pids}
    idle_rss = {pid: rss_mb(pid) for pid in pids}

    outcomes = warming + loaded
    unexpected = [o for o in outcomes if not o.expected]
    print(f"\nload: {len(outcomes)} requests in {LOAD_SECONDS} s ({warm_up_seconds:.0f} s warm-up), "
          f"answers {summary(outcomes)}; receipts read with their text: {sum(o.read for o in outcomes)} "
          f"({len({o.probe.name for o in outcomes if o.read})} different)")
    for pid in pids:
        growth = rss_at_end[pid] / rss_after_warm_up[pid] - 1
        print(f"worker {pid}: peak RSS {rss_after_warm_up[pid]:.0f} MB after warm-up, {rss_at_end[pid]:.0f} MB at the end"
              f" ({growth:+.1%}); {idle_rss[pid]:.0f} MB resident when idle")
    assert not unexpected, [(o.probe.name, o.status, o.code, o.read) for o in unexpected[:10]]
    assert all(o.status is not None for o in outcomes)  # no connection errors
    # Receipts really were read, each with its own text (the hostile 200s do not count).
    read = [o for o in outcomes if o.read]
    assert len(read) >= len(TEST_RECEIPT_IDS) and len({o.probe.name for o in read}) >= 8
    assert worker_pids(process.pid) == pids  # no worker died on the hostile inputs
    for pid in pids:
        # A leak shows as memory kept between images, which OCR_RETAINED_MEMORY_MB bounds.
        # The peak is set by the largest detection input a worker has met, so it may still
        # rise after warm-up when a worker first meets a larger one (+16% seen); it must
        # stay inside what a worker is sized at (OCR_WORKERS, the Kubernetes limit).
        assert idle_rss[pid] < Config.RETAINED_MEMORY_MB * 1.10
        assert rss_at_end[pid] < WORKER_PEAK_MB


def test_a_killed_worker_fails_only_its_requests_and_is_replaced(load_server):
    process, base_url, log_path = load_server
    victim = worker_pids(process.pid)[0]
    ready_before = log_path.read_text(errors="replace").count(READY_LINE)
    receipts = receipt_probes(TEST_RECEIPTS)
    marks = {}

    def kill_then_wait_for_the_replacement():
        time.sleep(8)
        marks["killed"] = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        marks["recovery"] = wait_for_log(log_path, READY_LINE, ready_before + 1, timeout=120)

    killer = threading.Thread(target=kill_then_wait_for_the_replacement)
    killer.start()
    outcomes = run_clients(base_url, receipts, clients=8, seconds=8 + 15 + 20)
    killer.join()
    killed = marks["killed"]

    failed = [o for o in outcomes if not o.expected]
    in_flight = [o for o in outcomes if o.started <= killed <= o.ended]
    after_recovery = [o for o in outcomes if o.started >= killed + 15]
    print(f"\nfault: {len(outcomes)} requests, {len(in_flight)} in flight at the SIGKILL; failed: "
          f"{summary(failed)} ({sum(o in in_flight for o in failed)} of them in flight then); "
          f"new worker ready {marks['recovery']:.1f} s after SIGKILL; "
          f"{len(after_recovery)} requests from 15 s after the kill: {summary(after_recovery)}")
    assert victim not in worker_pids(process.pid) and len(worker_pids(process.pid)) == 2
    assert all(o.started <= killed <= o.ended for o in failed)  # only requests in flight then
    assert len(failed) <= 8
    assert after_recovery and all(o.expected for o in after_recovery)


def test_thirty_two_clients_get_200_or_a_fast_503(tmp_path):
    """Default line settings (5 per worker, 20 s): every answer is a 200 or SERVICE_BUSY, within the bound."""
    log_path = tmp_path / "gunicorn.log"
    queue_timeout, deadline = 20.0, 60.0
    with running_gunicorn(workers=2, log_path=log_path) as (process, base_url):
        wait_for_log(log_path, READY_LINE, 2, timeout=120)
        outcomes = run_clients(base_url, receipt_probes(TEST_RECEIPTS), clients=32, seconds=30)
        log_lines = [json.loads(line) for line in log_path.read_text(errors="replace").splitlines()
                     if line.startswith("{") and '"event": "request"' in line]

    busy = [o for o in outcomes if o.status == 503]
    served = [o for o in outcomes if o.status == 200]
    waits = [entry["queue_ms"] / 1000 for entry in log_lines if entry.get("queue_ms") is not None]
    print(f"\noverload: {len(outcomes)} requests, answers {summary(outcomes)}; "
          f"503 in {_spread(busy)}; 200 in {_spread(served)}; "
          f"longest wait for the engine {max(waits, default=0):.2f} s")
    assert busy and served
    assert all(o.status in (200, 503) for o in outcomes), summary(outcomes)
    assert all(o.code == "SERVICE_BUSY" and o.retry_after == "1" for o in busy)
    # Nobody waited in line past the bound (a call may start the instant the bound expires).
    assert max(waits) <= queue_timeout + 0.1
    assert all(o.seconds <= queue_timeout + 2 for o in busy)  # refusals come at once or at the bound
    assert all(o.seconds <= deadline for o in served)


def test_a_hung_engine_call_ends_in_504_and_its_worker_is_replaced(tmp_path):
    """A page that takes the engine over 10 s stands in for a hung call: deadline 2 s, gunicorn timeout 4 s."""
    log_path = tmp_path / "gunicorn.log"
    env = {"OCR_REQUEST_DEADLINE": "2", "OCR_WORKER_TIMEOUT": "4"}
    slow = Probe("dense page", *upload(encode(_dense_page(lines=40), "PNG"), "dense.png"), 504, "DEADLINE_EXCEEDED")
    small = Probe("small page", *upload(encode(text_image(), "PNG"), "page.png"), 200, None)
    with running_gunicorn(workers=1, env=env, log_path=log_path) as (process, base_url):
        wait_for_log(log_path, READY_LINE, 1, timeout=120)
        (first_worker,) = worker_pids(process.pid)
        outcome = send(base_url, slow)
        replaced_after = wait_for_log(log_path, READY_LINE, 2, timeout=60) + outcome.seconds
        after = send(base_url, small)
        workers_after = worker_pids(process.pid)
    print(f"\nhung call: {outcome.status} {outcome.code} after {outcome.seconds:.1f} s; the worker was killed and "
          f"its replacement ready {replaced_after:.1f} s after the request began")
    assert (outcome.status, outcome.code) == (504, "DEADLINE_EXCEEDED")
    assert "WORKER TIMEOUT" in log_path.read_text(errors="replace")
    assert first_worker not in workers_after and len(workers_after) == 1
    assert after.expected


def _dense_page(lines):
    """Lines of prices across a wide page: some 300 segments, over 10 s of engine time."""
    canvas = Image.new("RGB", (2400, 50 * lines), "white")
    draw, font = ImageDraw.Draw(canvas), ImageFont.load_default(size=28)
    for line in range(lines):
        text = "   ".join(f"ITEM {line:03d}-{column} 12.50" for column in range(8))
        draw.text((20, 50 * line + 10), text, fill="black", font=font)
    return canvas


def _spread(outcomes):
    if not outcomes:
        return "-"
    seconds = sorted(o.seconds for o in outcomes)
    return f"median {seconds[len(seconds) // 2]:.2f} s, max {seconds[-1]:.2f} s"
