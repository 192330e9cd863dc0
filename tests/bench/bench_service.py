"""Service benchmark: the real service (gunicorn, default settings) against RapidOCR in-process.

Run: ``.venv/bin/python -m tests.bench.bench_service [--receipts 100] [--soak 500]``.
Prints one table; each figure has RapidOCR's beside it and the ratio. Numbers
are medians over the receipts of ../shared/datasets/sroie-dev, measured in one run.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

from tests.servers import running_gunicorn
from tests.sroie import receipt_ids, receipt_path

OCR = "/api/v1/image/ocr"

# RapidOCR runs in its own process so its peak RSS is its own.
RAPIDOCR_SCRIPT = """
import json, sys, time, resource
from rapidocr import RapidOCR
engine = RapidOCR()
engine(sys.argv[1])  # warm-up, as the service warms up
seconds = []
for path in sys.argv[1:]:
    started = time.perf_counter()
    engine(path)
    seconds.append(time.perf_counter() - started)
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_kb / 1024}))
"""


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def post(base_url, path, **fields):
    with open(path, "rb") as handle:
        started = time.perf_counter()
        answer = requests.post(f"{base_url}{OCR}", files={"file": (path.name, handle)}, data=fields, timeout=300)
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    return elapsed, answer


def run_rapidocr(paths):
    output = subprocess.run(
        [sys.executable, "-c", RAPIDOCR_SCRIPT, *map(str, paths)], capture_output=True, text=True, check=True
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def worker_processes(master_pid):
    return psutil.Process(master_pid).children()


def peak_rss_mb(process):
    """VmHWM: the highest resident size the process ever had."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def service_rss_mb(master_pid):
    master = psutil.Process(master_pid)
    return sum(p.memory_info().rss for p in [master, *master.children()]) / 2**20


def throughput(base_url, paths, clients):
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda p: post(base_url, p), paths))
    return len(paths) / (time.perf_counter() - started)


def model_floor(paths):
    """Seconds per receipt spent inside the ONNX sessions alone, same engine, same inputs."""
    from app.config import Config
    from app.recognition.engine import OcrEngine

    config = Config()
    settings = {name: getattr(config, name) for name in dir(config) if name.isupper()}
    engine = OcrEngine(settings)
    engine.warm_up()
    spent = []
    runners = [engine._det_model.runner, engine._rec_model.runner]
    originals = [runner.session.run for runner in runners]

    def timed(run):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return run(*args, **kwargs)
            finally:
                spent[-1] += time.perf_counter() - started

        return wrapper

    for runner, run in zip(runners, originals):
        runner.session.run = timed(run)
    from app.inputs.image_loader import load_image

    for path in paths:
        spent.append(0.0)
        page = load_image(path.read_bytes(), config.MAX_IMAGE_PIXELS).pages[0]
        engine.recognize(page.pixels)
    return spent


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receipts", type=int, default=100, help="receipts for latency (default all 100)")
    parser.add_argument("--soak", type=int, default=500, help="requests before the second memory reading")
    parser.add_argument("--throughput-requests", type=int, default=40)
    args = parser.parse_args()
    paths = [receipt_path(rid) for rid in receipt_ids()][: args.receipts]
    rows = []

    print(f"RapidOCR in-process on {len(paths)} receipts...", file=sys.stderr)
    rapid = run_rapidocr(paths)
    rapid_median = statistics.median(rapid["seconds"])
    rapid_p90 = percentile(rapid["seconds"], 0.9)
    rapid_throughput = len(rapid["seconds"]) / sum(rapid["seconds"])

    print("model floor in-process...", file=sys.stderr)
    floor = model_floor(paths)

    with tempfile.TemporaryDirectory() as tmp:
        launched = time.perf_counter()
        with running_gunicorn(workers=None, log_path=Path(tmp) / "gunicorn.log") as (process, base_url):
            startup = time.perf_counter() - launched
            workers = worker_processes(process.pid)
            print(f"service up in {startup:.1f} s with {len(workers)} workers; latency...", file=sys.stderr)
            latencies, engine_times, sizes = [], [], {"true": [], "false": []}
            for path in paths:
                elapsed, answer = post(base_url, path)
                timing = answer.json()["timing"]
                latencies.append(elapsed)
                engine_times.append((timing["detection_ms"] + timing["recognition_ms"]) / 1000)
                sizes["true"].append(len(answer.content))
            for path in paths[:20]:
                sizes["false"].append(len(post(base_url, path, need_location="false")[1].content))
            sizes["true"] = sizes["true"][:20]

            print("throughput...", file=sys.stderr)
            batch = (paths * 10)[: args.throughput_requests]
            tput_1x = throughput(base_url, batch, len(workers))
            tput_2x = throughput(base_url, batch, 2 * len(workers))

            served = len(paths) + 20 + 2 * len(batch)
            rss_100 = {w.pid: peak_rss_mb(w) for w in workers}
            total_100 = service_rss_mb(process.pid)
            print(f"soak to {args.soak} requests...", file=sys.stderr)
            remaining = max(0, args.soak - served)
            throughput(base_url, (paths * (remaining // len(paths) + 1))[:remaining], len(workers))
            alive = [w for w in workers if w.is_running()]
            rss_500 = {w.pid: peak_rss_mb(w) for w in alive}
            total_500 = service_rss_mb(process.pid)

    median = statistics.median(latencies)
    p90 = percentile(latencies, 0.9)
    overhead = statistics.median((e2e - eng) / e2e for e2e, eng in zip(latencies, engine_times))
    floor_median = statistics.median(floor)
    worst_100 = max(rss_100.values())
    worst_500 = max(rss_500.values()) if rss_500 else float("nan")
    size_true, size_false = statistics.mean(sizes["true"]), statistics.mean(sizes["false"])

    rows = [
        ("latency median (s)", median, rapid_median, "<= 0.8"),
        ("latency p90 (s)", p90, rapid_p90, ""),
        (f"throughput, {len(workers)} clients (receipts/s)", tput_1x, rapid_throughput, ">= 1.5"),
        (f"throughput, {2 * len(workers)} clients (receipts/s)", tput_2x, rapid_throughput, ">= 1.5"),
        (f"peak RSS per worker after {served} (MB)", worst_100, rapid["peak_rss_mb"], "<= 1.0"),
        (f"peak RSS per worker after {args.soak} (MB)", worst_500, worst_100, "<= 1.05 (vs after 100)"),
        ("service RSS after 100 / after soak (MB)", total_100, total_500, ""),
        ("overhead share of end-to-end", overhead, None, "< 0.03"),
        ("end-to-end median vs bare model floor (s)", median, floor_median, "<= 1.25"),
        ("start-up to /readyz (s)", startup, None, "< 15 s"),
        ("response bytes need_location=false vs true", size_false, size_true, "<= 0.4"),
    ]
    print(f"\n{len(paths)} receipts, {len(workers)} workers; peer: RapidOCR in-process unless noted\n")
    print(f"| {'measure':<46} | {'service':>10} | {'peer':>10} | {'ratio':>6} | target |")
    print(f"|{'-' * 48}|{'-' * 12}|{'-' * 12}|{'-' * 8}|--------|")
    for name, ours, theirs, target in rows:
        ratio = f"{ours / theirs:6.2f}" if theirs else "     -"
        peer = f"{theirs:10.3f}" if theirs is not None else f"{'-':>10}"
        print(f"| {name:<46} | {ours:10.3f} | {peer} | {ratio} | {target} |")
    print(f"\nper-worker peak RSS after 100: {rss_100}; after soak: {rss_500}")


if __name__ == "__main__":
    main()
