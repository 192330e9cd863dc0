"""Deployment benchmark: what nginx (deploy/nginx.conf) or the container image cost against plain gunicorn.

Run: ``.venv/bin/python -m tests.bench.bench_deploy [--receipts 20] [--probes 200] [--container] [--data-root DIR]``.
One gunicorn (deploy/gunicorn.conf.py, one worker) and, in the same run, either nginx in
front of it or (``--container``) the image of `make image` run read-only with one worker;
each request is sent to both, alternating which goes first, and the table gives medians,
p90 and the ratio. The receipts are the first ``--receipts`` of DIR/sroie-dev (default
../shared/datasets).
"""

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from tests.bench import SROIE
from tests.bench.conditions import conditions
from tests.containers import (
    build_image,
    container_processes,
    memory_mb,
    running_container,
    wait_until_healthy,
)
from tests.servers import running_gunicorn
from tests.sroie import receipt_ids, receipt_path
from tests.test_nginx import NGINX, running_nginx

OCR = "/api/v1/image/ocr"


def timed(call):
    started = time.perf_counter()
    answer = call()
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    return elapsed


def post_receipt(base_url, path):
    def call():
        with open(path, "rb") as handle:
            return requests.post(base_url + OCR, files={"file": (path.name, handle)}, timeout=180)

    return call


def get(base_url, path):
    return lambda: requests.get(base_url + path, timeout=10)


def compare(requests_by_target, rounds):
    """Time each request against both targets, alternating the order; seconds per target."""
    seconds = {name: [] for name in requests_by_target}
    names = list(requests_by_target)
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            seconds[name].append(timed(requests_by_target[name](index)))
    return seconds


def p90(values):
    return statistics.quantiles(values, n=10)[-1]


def row(label, direct, proxied, scale, unit):
    cells = []
    for reduce in (statistics.median, p90):
        a, b = reduce(direct) * scale, reduce(proxied) * scale
        cells.append(f"{a:.1f} {unit} | {b:.1f} {unit} | {b / a:.3f}")
    return f"| {label} | " + " | ".join(cells) + " |"


def podman_version():
    return subprocess.run(["podman", "--version"], capture_output=True, text=True, check=False).stdout.strip() or "no podman"


def container_against_host(receipts):
    """The image (read-only, one worker) against gunicorn on the host, in the same run."""
    build_seconds, size = build_image()
    with tempfile.TemporaryDirectory() as directory:
        env = {"OCR_MODEL_CACHE_DIR": str(Path(directory) / "models")}
        with (
            running_gunicorn(workers=1, env=env) as (host, host_url),
            running_container("ocr-bench", env={"OCR_WORKERS": "1"}) as (name, container_url),
        ):
            healthy = wait_until_healthy(name, container_url)
            targets = {"host": host_url, "container": container_url}
            for base_url in targets.values():
                timed(post_receipt(base_url, receipts[0]))
            ocr = compare(
                {name: lambda i, u=url: post_receipt(u, receipts[i]) for name, url in targets.items()},
                len(receipts),
            )
            workers = subprocess.run(["pgrep", "-P", str(host.pid)], capture_output=True, text=True, check=True)
            host_worker = int(workers.stdout.split()[0])
            _, container_worker = container_processes(name)
            peaks = [memory_mb(host_worker, "VmHWM"), memory_mb(container_worker, "VmHWM")]

    print(f"the image of `make image` against gunicorn on the host (1 worker each), {len(receipts)} receipts")
    print(conditions() + f", {podman_version()}")
    print("| measure | host | container | ratio | p90 host | p90 container | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(row("OCR of a receipt", ocr["host"], ocr["container"], 1000, "ms"))
    print(f"| peak RSS of the worker (MB) | {peaks[0]:.0f} | {peaks[1]:.0f} | {peaks[1] / peaks[0]:.3f} | | | |")
    print(f"image {size / 1e6:.0f} MB; make image {build_seconds:.1f} s (layer cache as found); healthy after {healthy:.1f} s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=20)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--container", action="store_true", help="compare the container image with the host instead")
    parser.add_argument("--data-root", type=Path, default=SROIE.parent, help="folder holding sroie-dev/")
    args = parser.parse_args(argv)
    root = args.data_root / SROIE.name
    receipts = [receipt_path(rid, root) for rid in receipt_ids(root)[: args.receipts]]
    if args.container:
        container_against_host(receipts)
        return

    with tempfile.TemporaryDirectory() as directory:
        env = {"OCR_MODEL_CACHE_DIR": str(Path(directory) / "models")}
        with running_gunicorn(workers=1, env=env) as (_, gunicorn_url):
            with running_nginx(gunicorn_url.removeprefix("http://"), Path(directory) / "nginx") as nginx_url:
                targets = {"direct": gunicorn_url, "nginx": nginx_url}
                for base_url in targets.values():  # warm both paths
                    timed(post_receipt(base_url, receipts[0]))
                ocr = compare(
                    {name: lambda i, u=url: post_receipt(u, receipts[i]) for name, url in targets.items()},
                    len(receipts),
                )
                health = compare({name: lambda i, u=url: get(u, "/healthz") for name, url in targets.items()}, args.probes)
                scrape = compare({name: lambda i, u=url: get(u, "/metrics") for name, url in targets.items()}, args.probes)

    print(f"deploy/nginx.conf in front of gunicorn (1 worker), {len(receipts)} receipts of {root}, "
          f"{args.probes} probes")
    nginx_version = subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr.strip()
    print(conditions() + f", {nginx_version}")
    print("| request | median direct | median via nginx | ratio | p90 direct | p90 via nginx | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(row("OCR of a receipt (multipart upload)", ocr["direct"], ocr["nginx"], 1000, "ms"))
    print(row("GET /healthz", health["direct"], health["nginx"], 1000, "ms"))
    print(row("GET /metrics (scrape)", scrape["direct"], scrape["nginx"], 1000, "ms"))
    added = statistics.median(b - a for a, b in zip(ocr["direct"], ocr["nginx"]))
    print(f"median added by nginx per OCR request: {added * 1000:.1f} ms")


if __name__ == "__main__":
    main()
