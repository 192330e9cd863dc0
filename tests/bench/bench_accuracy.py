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

from tests.sroie import (
    SROIE,
    box_matches,
    character_error_rate,
    collapse,
    f1,
    ground_truth,
    page_text,
    receipt_ids,
    receipt_path,
    word_matches,
)

ROTATIONS = (90, 180, 270)
# cv2's rotation codes turn the image counter-clockwise by the key's degrees.
_CV2_ROTATION = {
    90: cv2.ROTATE_90_COUNTERCLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_CLOCKWISE,
}


def rotate_image(pixels, angle):
    """Turn ``pixels`` counter-clockwise by ``angle`` (0, 90, 180, 270) degrees."""
    return pixels if angle == 0 else cv2.rotate(pixels, _CV2_ROTATION[angle])


def rotate_points(points, angle, width, height):
    """Map (x, y) points of a ``width`` x ``height`` image onto the image turned by ``angle``."""
    points = np.asarray(points, dtype=np.float64)
    x, y = points[:, 0], points[:, 1]
    if angle == 90:
        return np.stack([y, width - x], axis=1)
    if angle == 180:
        return np.stack([width - x, height - y], axis=1)
    if angle == 270:
        return np.stack([height - y, x], axis=1)
    return points


def bounding_box(points):
    points = np.asarray(points, dtype=np.float64)
    return (*points.min(axis=0), *points.max(axis=0))


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
            from app.engine import OcrEngine

            config = Config()
            engine = OcrEngine({name: getattr(config, name) for name in dir(config) if name.isupper()})
            engine.warm_up()
        self.engine = engine

    def read(self, pixels, path, rotated):
        from app.layout import reading_order

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
class Tally:
    """Running totals of one engine on one kind of input (upright or turned)."""

    edits: float = 0.0
    characters: int = 0
    words: list = field(default_factory=lambda: [0, 0, 0])
    lines: list = field(default_factory=lambda: [0, 0, 0])
    seconds: list = field(default_factory=list)

    def add(self, reading, truth_text, truth_boxes):
        # SROIE transcripts are upper case whatever the print, so case is not scored.
        predicted, truth = collapse(" ".join(reading.texts)).upper(), collapse(truth_text).upper()
        self.edits += character_error_rate(predicted, truth) * max(1, len(truth))
        self.characters += max(1, len(truth))
        self.words = [a + b for a, b in zip(self.words, word_matches(predicted, truth))]
        matched = box_matches(reading.boxes, truth_boxes)
        self.lines = [a + b for a, b in zip(self.lines, (matched, len(reading.boxes), len(truth_boxes)))]
        self.seconds.append(reading.seconds)

    @property
    def cer(self):
        return self.edits / max(1, self.characters)


def run(readers, ids, rotated=True, progress=None):
    """Read every receipt with every reader; return {reader name: (upright Tally, turned Tally)}."""
    tallies = {reader.name: (Tally(), Tally()) for reader in readers}
    for index, receipt_id in enumerate(ids):
        path = receipt_path(receipt_id)
        pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
        height, width = pixels.shape[:2]
        truth = ground_truth(receipt_id)
        text = page_text(truth)
        boxes = [bounding_box(line.polygon) for line in truth]
        angle = ROTATIONS[index % len(ROTATIONS)]
        turned = rotate_image(pixels, angle)
        turned_boxes = [bounding_box(rotate_points(line.polygon, angle, width, height)) for line in truth]
        for reader in readers:
            upright, turned_tally = tallies[reader.name]
            upright.add(reader.read(pixels, path, rotated=False), text, boxes)
            if rotated:
                turned_tally.add(reader.read(turned, path, rotated=True), text, turned_boxes)
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
            [f"{turned.cer:.4f}", f"{f1(*turned.words):.4f}", f"{f1(*turned.lines):.4f}"]
            if turned.seconds
            else ["-", "-", "-"]
        )
        cells = [name, f"{upright.cer:.4f}", f"{f1(*upright.words):.4f}", f"{f1(*upright.lines):.4f}",
                 f"{median:.2f}", ratio, *turned_cells]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, help="read only the first N receipts")
    parser.add_argument("--engines", default="service,rapidocr,tesseract", help="comma-separated: " + ",".join(READERS))
    parser.add_argument("--no-turned", action="store_true", help="skip the turned-receipt columns")
    args = parser.parse_args(argv)
    ids = receipt_ids()[: args.limit]
    readers = [READERS[name.strip()]() for name in args.engines.split(",") if name.strip()]
    tallies = run(readers, ids, rotated=not args.no_turned, progress=lambda line: print(line, file=sys.stderr))
    print(f"{len(ids)} receipts of {SROIE.name}; 2 shared cores, medians over receipts")
    print(format_table(tallies))


if __name__ == "__main__":
    main()
