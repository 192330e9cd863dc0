"""Overload benchmark: answer times with 1 client and with 32, on real gunicorn (2 workers).

    python -m tests.bench.bench_overload [--seconds 30] [--clients 32] [--receipts 20] [--data-root DIR]

Prints one table: for receipts answered 200, refusals (503 SERVICE_BUSY) and
/readyz probes, the median, 95th percentile and maximum seconds, unloaded
(one client, the peer measured in the same run) and overloaded, with the ratio.
Both phases send the same receipts: the first ``--receipts`` of DIR/sroie-dev
(default ../shared/datasets), each once by the one client, then shuffled and
cycled by the loaded clients. Every request goes to a loopback address; every
phase is bounded in time.
"""

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests

from tests.bench import SROIE
from tests.bench.conditions import conditions
from tests.load import receipt_probes, run_clients, send, summary, wait_for_log
from tests.servers import running_gunicorn


def spread(seconds):
    """Median, 95th percentile and maximum of ``seconds``."""
    if not seconds:
        return None
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, ordered[-1]


def probe_readiness(base_url, seconds, pause=0.5):
    """Time /readyz every ``pause`` seconds for ``seconds``."""
    timings, stop_at = [], time.monotonic() + seconds
    while time.monotonic() < stop_at:
        started = time.monotonic()
        requests.get(f"{base_url}/readyz", timeout=30)
        timings.append(time.monotonic() - started)
        time.sleep(pause)
    return timings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--receipts", type=int, default=20, help="the first N receipts, in both phases")
    parser.add_argument("--data-root", type=Path, default=SROIE.parent, help="folder holding sroie-dev/")
    args = parser.parse_args(argv)

    probes = receipt_probes(args.data_root / SROIE.name, args.receipts)
    log_path = Path(tempfile.mkdtemp(prefix="bench-overload-")) / "gunicorn.log"
    with running_gunicorn(workers=2, log_path=log_path) as (_process, base_url):
        wait_for_log(log_path, "OCR engine ready", 2, timeout=120)
        unloaded = [send(base_url, probe) for probe in probes]
        unloaded_ready = probe_readiness(base_url, 5)

        ready_timings = []
        prober = threading.Thread(target=lambda: ready_timings.extend(probe_readiness(base_url, args.seconds)))
        prober.start()
        loaded = run_clients(base_url, probes, clients=args.clients, seconds=args.seconds)
        prober.join()

    rows = [
        ("200, receipt", [o.seconds for o in unloaded if o.status == 200], [o.seconds for o in loaded if o.status == 200]),
        ("503 SERVICE_BUSY", [], [o.seconds for o in loaded if o.status == 503]),
        ("/readyz", unloaded_ready, ready_timings),
    ]
    print(f"gunicorn, 2 workers, default settings; the same {len(probes)} receipts of {args.data_root / SROIE.name} "
          f"for 1 client (each once) and for {args.clients} clients ({args.seconds:g} s)")
    print(conditions())
    print(f"answers under {args.clients} clients: {summary(loaded)}; "
          f"receipts read with their text: 1 client {sum(o.read for o in unloaded)}/{len(unloaded)}, "
          f"{args.clients} clients {sum(o.read for o in loaded)}/{sum(o.status == 200 for o in loaded)}")
    print(f"receipts served per second: 1 client {len(unloaded) / sum(o.seconds for o in unloaded):.2f}, "
          f"{args.clients} clients {sum(o.status == 200 for o in loaded) / args.seconds:.2f}\n")
    print("| answer | n (1 / loaded) | 1 client: median / p95 / max s | "
          f"{args.clients} clients: median / p95 / max s | median ratio |")
    print("| --- | --- | --- | --- | --- |")
    for name, alone, crowded in rows:
        alone_spread, crowded_spread = spread(alone), spread(crowded)
        ratio = f"{crowded_spread[0] / alone_spread[0]:.1f}x" if alone_spread and crowded_spread else "-"
        print(f"| {name} | {len(alone)} / {len(crowded)} | {_cells(alone_spread)} | {_cells(crowded_spread)} | {ratio} |")


def _cells(values):
    return " / ".join(f"{value:.3f}" for value in values) if values else "-"


if __name__ == "__main__":
    main()
