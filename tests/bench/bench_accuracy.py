"""Accuracy benchmark: this service against RapidOCR and Tesseract on the SROIE dev receipts.

Every receipt is read upright by each engine, and once more turned by 90, 180 or
270 degrees (in turn) with the engine's own orientation handling switched on:
``enable_cls`` here, RapidOCR's text-line classifier, Tesseract's ``--psm 1``.

    .venv/bin/python -m tests.bench.bench_accuracy [--limit N] [--engines service,rapidocr]

Columns: CER of the page text (segments in reading order, whitespace collapsed,
case ignored because SROIE transcribes everything in capitals;
total edits over total truth characters), bag-of-words F1 (whitespace tokens
matched as multisets), line detection F1 (boxes matched one to one at IoU >= 0.5
against the ground-truth boxes), median seconds per upright image and its ratio
to RapidOCR's, then CER, word F1 and line F1 on the turned receipts (truth boxes
turned with the image).
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from app.recognition.orientation import turn_image, turn_points
from tests.sroie import (
    SROIE,
    Scores,
    bounding_box,
    ground_truth,
    receipt_ids,
    receipt_path,
)

ROTATIONS = (90, 180, 270)


@dataclass
class Reading:
    """What an engine read from one image: texts in its reading order, and their boxes."""

    texts: list
    boxes: list  # (left, top, right, bottom) in the image that was read
    seconds: float


class ServiceReader:
    """This service's recognition path, in-process: the endpoint's engine and reading order."""

    name = "this service"

    def __init__(self, engine=None):
        if engine is None:
            from app.config import Config
            from app.recognition.engine import OcrEngine

            config = Config()
            engine = OcrEngine({name: getattr(config, name) for name in dir(config) if name.isupper()})
            engine.warm_up()
        self.engine = engine

    def read(self, pixels, path, rotated):
        from app.document.layout import reading_order

        started = time.perf_counter()
        segments = reading_order(self.engine.recognize(pixels, enable_cls=rotated).segments)
        seconds = time.perf_counter() - started
        return Reading([s.text for s in segments], [bounding_box(s.polygon) for s in segments], seconds)


class RapidOcrReader:
    """RapidOCR's default pipeline (its text-line classifier is on by default)."""

    name = "RapidOCR"

    def __init__(self):
        from rapidocr import RapidOCR

        self.ocr = RapidOCR(params={"Global.log_level": "error"})
        self.ocr(np.full((64, 256, 3), 255, dtype=np.uint8))

    def read(self, pixels, path, rotated):
        started = time.perf_counter()
        output = self.ocr(pixels)
        seconds = time.perf_counter() - started
        if output.boxes is None or output.txts is None:
            return Reading([], [], seconds)
        return Reading(list(output.txts), [bounding_box(b) for b in output.boxes], seconds)


class TesseractReader:
    """Tesseract 5 (English) through its command line and TSV output, as a user runs it."""

    name = "Tesseract"

    def __init__(self):
        version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=True)
        self.version = version.stdout.split()[1]

    def read(self, pixels, path, rotated):
        with tempfile.TemporaryDirectory() as folder:
            if rotated:
                path = str(Path(folder) / "rotated.png")
                cv2.imwrite(path, pixels)
            command = ["tesseract", str(path), "-", "-l", "eng", "--psm", "1" if rotated else "3", "tsv"]
            started = time.perf_counter()
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            seconds = time.perf_counter() - started
        lines = {}
        for row in output.splitlines()[1:]:
            cells = row.split("\t")
            if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
                continue
            left, top, width, height = (int(v) for v in cells[6:10])
            line = lines.setdefault(tuple(cells[1:5]), [[], [left, top, left + width, top + height]])
            line[0].append(cells[11].strip())
            box = line[1]
            box[:] = [min(box[0], left), min(box[1], top), max(box[2], left + width), max(box[3], top + height)]
        return Reading([" ".join(words) for words, _ in lines.values()], [tuple(b) for _, b in lines.values()], seconds)


READERS = {"service": ServiceReader, "rapidocr": RapidOcrReader, "tesseract": TesseractReader}


@dataclass
class Tally(Scores):
    """One engine's scores on one kind of input (upright or turned), and its times."""

    seconds: list = field(default_factory=list)

    def add_reading(self, reading, truth_lines, truth_boxes):
        self.add(reading.texts, reading.boxes, truth_lines, truth_boxes)
        self.seconds.append(reading.seconds)


def run(readers, ids, rotated=True, progress=None, root=SROIE):
    """Read every receipt with every reader; return {reader name: (upright Tally, turned Tally)}."""
    tallies = {reader.name: (Tally(), Tally()) for reader in readers}
    for index, receipt_id in enumerate(ids):
        path = receipt_path(receipt_id, root)
        pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
        height, width = pixels.shape[:2]
        truth = ground_truth(receipt_id, root)
        boxes = [line.box for line in truth]
        angle = ROTATIONS[index % len(ROTATIONS)]
        turned = turn_image(pixels, angle)
        turned_boxes = [bounding_box(turn_points(line.polygon, angle, width, height)) for line in truth]
        for reader in readers:
            upright, turned_tally = tallies[reader.name]
            upright.add_reading(reader.read(pixels, path, rotated=False), truth, boxes)
            if rotated:
                turned_tally.add_reading(reader.read(turned, path, rotated=True), truth, turned_boxes)
        if progress:
            progress(f"{index + 1}/{len(ids)} {receipt_id}")
    return tallies


def format_table(tallies, peer="RapidOCR"):
    """One Markdown table, one row per engine."""
    peer_seconds = statistics.median(tallies[peer][0].seconds) if peer in tallies else None
    header = (
        "| engine | CER | word F1 | line F1 | s/image (median) | time vs RapidOCR "
        "| CER turned | word F1 turned | line F1 turned |"
    )
    rows = [header, "|" + " --- |" * 9]
    for name, (upright, turned) in tallies.items():
        median = statistics.median(upright.seconds)
        ratio = f"{median / peer_seconds:.2f}x" if peer_seconds else "-"
        turned_cells = (
            [f"{turned.cer:.4f}", f"{turned.word_f1:.4f}", f"{turned.line_f1:.4f}"]
            if turned.seconds
            else ["-", "-", "-"]
        )
        cells = [name, f"{upright.cer:.4f}", f"{upright.word_f1:.4f}", f"{upright.line_f1:.4f}",
                 f"{median:.2f}", ratio, *turned_cells]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, help="read only the first N receipts")
    parser.add_argument("--engines", default="service,rapidocr,tesseract", help="comma-separated: " + ",".join(READERS))
    parser.add_argument("--no-turned", action="store_true", help="skip the turned-receipt columns")
    parser.add_argument("--data-root", type=Path, default=SROIE.parent, help="folder holding sroie-dev/")
    args = parser.parse_args(argv)
    root = args.data_root / SROIE.name
    ids = receipt_ids(root)[: args.limit]
    readers = [READERS[name.strip()]() for name in args.engines.split(",") if name.strip()]
    tallies = run(readers, ids, rotated=not args.no_turned, root=root,
                  progress=lambda line: print(line, file=sys.stderr))
    print(f"{len(ids)} receipts of {SROIE.name}; 2 shared cores, medians over receipts")
    print(format_table(tallies))


if __name__ == "__main__":
    main()
