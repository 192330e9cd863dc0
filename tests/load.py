"""Drive a running service with concurrent clients and watch its workers; for slow tests and benchmarks.

Every loop is bounded in time; targets are loopback addresses only.
"""

import itertools
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.hostile_inputs import OCR, corpus, upload
from tests.sroie import (
    character_error_rate,
    ground_truth,
    page_text,
    receipt_ids,
    receipt_path,
)

# A receipt counts as read when its text comes back within this CER of its ground truth:
# above the worst of the 13 test receipts read alone (0.18), far below an empty or wrong answer (about 1).
READ_CER = 0.25


@dataclass(frozen=True)
class Probe:
    """One request to send, with the answer it must get."""

    name: str
    body: bytes
    content_type: str
    status: int
    code: str | None
    truth: str | None = None  # a receipt's ground-truth text (capitals), which the answer must read


@dataclass
class Outcome:
    probe: Probe
    started: float  # time.monotonic()
    ended: float
    status: int | None  # None: no HTTP answer (connection refused, reset, timed out)
    code: str | None
    retry_after: str | None
    text: str | None = None  # the recognised text of a 200

    @property
    def seconds(self):
        return self.ended - self.started

    @property
    def read(self):
        """A receipt answered with its own text (CER under READ_CER)."""
        return (self.probe.truth is not None and self.text is not None
                and character_error_rate(self.text.upper(), self.probe.truth) < READ_CER)

    @property
    def expected(self):
        answered = self.status == self.probe.status and self.code == self.probe.code
        return answered and (self.probe.truth is None or self.read)


def receipt_probes(root, limit=None):
    """The first ``limit`` receipts in ``root`` (all by default) as uploads; each must be read (200, its text)."""
    return [Probe(f"receipt {rid}", *upload(receipt_path(rid, root).read_bytes(), f"{rid}.jpg"), 200, None,
                  page_text(ground_truth(rid, root)).upper())
            for rid in receipt_ids(root)[:limit]]


def corpus_probes():
    return [Probe(case.name, case.body, case.content_type, case.status, case.code) for case in corpus()]


def send(base_url, probe, timeout=120):
    started = time.monotonic()
    try:
        answer = requests.post(base_url + OCR, data=probe.body, headers={"Content-Type": probe.content_type},
                               timeout=timeout)
    except requests.RequestException:
        return Outcome(probe, started, time.monotonic(), None, None, None)
    ended = time.monotonic()
    body = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else {}
    return Outcome(probe, started, ended, answer.status_code, body.get("code"), answer.headers.get("Retry-After"),
                   body.get("text"))


def run_clients(base_url, probes, clients, seconds, honour_retry_after=True, seed=5):
    """``clients`` threads send probes (shuffled, cycled) until ``seconds`` have passed; return every outcome."""
    outcomes, lock = [], threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(index):
        order = list(probes)
        random.Random(seed + index).shuffle(order)
        for probe in itertools.cycle(order):
            if time.monotonic() >= stop_at:
                return
            outcome = send(base_url, probe)
            with lock:
                outcomes.append(outcome)
            if honour_retry_after and outcome.status == 503:
                time.sleep(float(outcome.retry_after or 1))

    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 180)
    return outcomes


def worker_pids(master_pid):
    """The gunicorn master's live child processes (Linux /proc)."""
    path = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return sorted(int(pid) for pid in path.read_text().split()) if path.exists() else []


def rss_mb(pid, field="VmRSS"):
    """Resident size now, or with ``field="VmHWM"`` the highest it has been."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no {field} for {pid}")


def wait_for_log(log_path, text, count, timeout):
    """Wait until ``text`` appears ``count`` times in the server log; return the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if Path(log_path).read_text(errors="replace").count(text) >= count:
            return time.monotonic() - started
        time.sleep(0.1)
    raise TimeoutError(f"{text!r} not seen {count} times in {timeout} s")


def summary(outcomes):
    """Counts per (status, code), for messages and reports."""
    counts = {}
    for outcome in outcomes:
        key = f"{outcome.status} {outcome.code or ''}".strip() if outcome.status else "connection error"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
