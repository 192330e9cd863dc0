"""Accuracy benchmark: this service against RapidOCR and Tesseract on the SROIE dev receipts.

Every receipt is read upright by each engine with every classifier off, and once
more turned by 90, 180 or 270 degrees (in turn) with every engine's own orientation
handling switched on: ``enable_cls`` here, RapidOCR's text-line classifier,
Tesseract's ``--psm 1``. Engines are tests/bench/peers.py's adapters.

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
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from app.recognition.orientation import turn_image, turn_points
from tests.bench import SROIE
from tests.bench.peers import PEERS, conditions, open_peer
from tests.sroie import (
    Scores,
    bounding_box,
    ground_truth,
    receipt_ids,
    receipt_path,
)

ROTATIONS = (90, 180, 270)
ENGINES = ("service", "rapidocr", "tesseract")


@dataclass
class Reading:
    """What an engine read from one image: texts in its reading order, and their boxes."""

    texts: list
    boxes: list  # (left, top, right, bottom) in the image that was read
    seconds: float


def read(peer, pixels):
    """One image through a tests/bench/peers.py adapter, as texts, boxes and the engine's own time."""
    segments = peer.read(pixels)
    return Reading([text for text, _, _ in segments], [bounding_box(p) for _, p, _ in segments], peer.seconds)


@dataclass
class Tally(Scores):
    """One engine's scores on one kind of input (upright or turned), and its times."""

    seconds: list = field(default_factory=list)

    def add_reading(self, reading, truth_lines, truth_boxes):
        self.add(reading.texts, reading.boxes, truth_lines, truth_boxes)
        self.seconds.append(reading.seconds)


def run(engines, ids, rotated=True, progress=None, root=SROIE):
    """Read every receipt with every engine; return ({engine name: (upright Tally, turned Tally)}, peers).

    Upright receipts are read with every classifier off, turned ones with every
    classifier on, so both sides of each comparison do the same work.
    """
    tallies, opened = {}, []
    for turned_pass in (False, True) if rotated else (False,):
        peers = [open_peer(key, cls=turned_pass) for key in engines]
        opened += peers
        try:
            for index, receipt_id in enumerate(ids):
                pixels = cv2.imread(str(receipt_path(receipt_id, root)), cv2.IMREAD_COLOR)
                height, width = pixels.shape[:2]
                truth = ground_truth(receipt_id, root)
                boxes = [line.box for line in truth]
                if turned_pass:
                    angle = ROTATIONS[index % len(ROTATIONS)]
                    pixels = turn_image(pixels, angle)
                    boxes = [bounding_box(turn_points(line.polygon, angle, width, height)) for line in truth]
                for peer in peers:
                    tally = tallies.setdefault(peer.name, (Tally(), Tally()))[1 if turned_pass else 0]
                    tally.add_reading(read(peer, pixels), truth, boxes)
                if progress:
                    progress(f"{'turned' if turned_pass else 'upright'} {index + 1}/{len(ids)} {receipt_id}")
        finally:
            for peer in peers:
                peer.close()
    return tallies, opened


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
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: " + ",".join(PEERS))
    parser.add_argument("--no-turned", action="store_true", help="skip the turned-receipt columns")
    parser.add_argument("--data-root", type=Path, default=SROIE.parent, help="folder holding sroie-dev/")
    args = parser.parse_args(argv)
    root = args.data_root / SROIE.name
    ids = receipt_ids(root)[: args.limit]
    engines = [name.strip() for name in args.engines.split(",") if name.strip()]
    tallies, peers = run(engines, ids, rotated=not args.no_turned, root=root,
                         progress=lambda line: print(line, file=sys.stderr))
    print(f"{len(ids)} receipts of {SROIE.name}; medians over receipts; upright: every engine's classifiers off, "
          "turned: every engine's classifiers on")
    print(conditions(peers))
    print(format_table(tallies))


if __name__ == "__main__":
    main()
