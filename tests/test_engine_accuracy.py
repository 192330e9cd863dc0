"""The engine reads SROIE dev receipts close to their ground truth (the benchmark's metrics, on a few).

Guards the tuned defaults in app/engine.py: a change that costs accuracy fails
here before it shows in tests/bench/bench_accuracy.py.
"""

import cv2
import pytest

from app.layout import reading_order
from tests.sroie import (
    box_matches,
    character_error_rate,
    collapse,
    f1,
    ground_truth,
    page_text,
    receipt_path,
    word_matches,
)

# Narrow (463 px) and wide (1080 px, small print) scans, a tall one (2481 px), a photo-like one.
RECEIPTS = ["000", "021", "035", "063", "084"]


def box(polygon):
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    return min(xs), min(ys), max(xs), max(ys)


@pytest.fixture(scope="module")
def readings(engine):
    results = {}
    for receipt_id in RECEIPTS:
        recognition = engine.recognize(cv2.imread(str(receipt_path(receipt_id))))
        results[receipt_id] = reading_order(recognition.segments)
    return results


def test_page_text_is_close_to_the_transcript(readings):
    edits = characters = 0
    words = [0, 0, 0]
    for receipt_id, segments in readings.items():
        predicted = collapse(" ".join(s.text for s in segments)).upper()
        truth = collapse(page_text(ground_truth(receipt_id))).upper()
        edits += character_error_rate(predicted, truth) * len(truth)
        characters += len(truth)
        words = [a + b for a, b in zip(words, word_matches(predicted, truth))]

    assert edits / characters < 0.08
    assert f1(*words) > 0.86


def test_boxes_match_the_ground_truth_lines(readings):
    matched = predicted = truth = 0
    for receipt_id, segments in readings.items():
        truth_boxes = [line.box for line in ground_truth(receipt_id)]
        boxes = [box(s.polygon) for s in segments]
        matched += box_matches(boxes, truth_boxes)
        predicted += len(boxes)
        truth += len(truth_boxes)

    assert f1(matched, predicted, truth) > 0.88


def test_every_segment_is_confident(readings):
    # Readings under the engine's minimum score are dropped as noise.
    assert all(s.score >= 0.5 for segments in readings.values() for s in segments)
