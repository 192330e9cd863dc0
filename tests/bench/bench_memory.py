"""Memory benchmark: one engine's peak resident memory by detection strip size, and over repeated passes.

    .venv/bin/python -m tests.bench.bench_memory [--limit N] [--passes P] [--strips 2.2,1.5,none] [--data-root DIR]

Each strip setting runs in a process of its own, since a process's peak (VmHWM)
never goes down: the engine is built and warmed with the default settings, as in
a gunicorn worker, then reads the first N receipts of DIR/sroie-dev (default
../shared/datasets) P times over. Printed per setting: resident memory after
warm-up, the peak after the first pass and after the last, and the CER of the
first pass on those receipts (tests/sroie.py, reading order as the endpoint
gives it), so a memory saving shows beside what it costs in accuracy. "none"
runs detection on the whole input at once. The peak is set by the largest
inputs: the first 28 receipts include the five 2481 x 3508 scans (023-027).
"""

import argparse
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2

from app.config import Config
from app.document.layout import reading_order
from app.recognition.engine import DetectionSettings, OcrEngine
from tests.bench import SROIE
from tests.bench.conditions import conditions
from tests.load import rss_mb
from tests.sroie import (
    Scores,
    bounding_box,
    ground_truth,
    receipt_ids,
    receipt_path,
)

# Strips larger than any detection input: the whole input in one run.
WHOLE_INPUT = 10**12


def measure(root, limit, passes, strip_megapixels):
    """In this process: RSS after warm-up, VmHWM after each pass, CER of the first pass."""
    config = Config()
    engine = OcrEngine({name: getattr(config, name) for name in dir(config) if name.isupper()})
    strip_pixels = WHOLE_INPUT if strip_megapixels is None else int(strip_megapixels * 1e6)
    engine.detection = replace(engine.detection, strip_pixels=strip_pixels)
    engine.warm_up()
    pid = os.getpid()
    figures = {"warm_mb": rss_mb(pid), "peaks_mb": []}
    scores = Scores()
    for index in range(passes):
        for receipt_id in receipt_ids(root)[:limit]:
            segments = reading_order(engine.recognize(cv2.imread(str(receipt_path(receipt_id, root)))).segments)
            if index == 0:
                scores.add([s.text for s in segments], [bounding_box(s.polygon) for s in segments],
                           ground_truth(receipt_id, root))
        figures["peaks_mb"].append(rss_mb(pid, "VmHWM"))
    figures["cer"] = scores.cer
    return figures


def measure_in_child(args, strip):
    command = [sys.executable, "-m", "tests.bench.bench_memory", "--child", "--strips", strip,
               "--limit", str(args.limit), "--passes", str(args.passes), "--data-root", str(args.data_root)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def strip_setting(text):
    return None if text == "none" else float(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=28, help="the first N receipts")
    parser.add_argument("--passes", type=int, default=2, help="times each process reads them")
    parser.add_argument("--strips", default="2.2,1.5,none", help="detection strip sizes in megapixels, or none")
    parser.add_argument("--data-root", type=Path, default=SROIE.parent, help="folder holding sroie-dev/")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    root = args.data_root / SROIE.name
    strips = args.strips.split(",")
    if args.child:
        print(json.dumps(measure(root, args.limit, args.passes, strip_setting(strips[0]))))
        return

    rows = [(strip, measure_in_child(args, strip)) for strip in strips]
    print(f"one engine per process, default settings but the strip size; the first {args.limit} receipts of {root}, "
          f"{args.passes} passes")
    print(conditions())
    print("| detection strips (MP) | RSS after warm-up (MB) | peak after pass 1 (MB) "
          f"| peak after pass {args.passes} (MB) | CER, pass 1 |")
    print("| --- | --- | --- | --- | --- |")
    for strip, figures in rows:
        default = strip_setting(strip) is not None and strip_setting(strip) * 1e6 == DetectionSettings.strip_pixels
        label = f"{strip} (default)" if default else strip
        print(f"| {label} | {figures['warm_mb']:.0f} | {figures['peaks_mb'][0]:.0f} | {figures['peaks_mb'][-1]:.0f} "
              f"| {figures['cer']:.4f} |")


if __name__ == "__main__":
    main()
