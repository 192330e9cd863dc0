"""The engine reads SROIE dev receipts close to their ground truth (the benchmark's metrics, on a few).

Guards the tuned defaults in app/recognition/engine.py: a change that costs accuracy fails
here before it shows in tests/bench/bench_accuracy.py.
"""

import cv2
import pytest

from app.document.layout import reading_order
from tests.sroie import TEST_RECEIPTS, Scores, bounding_box, ground_truth, receipt_path

# Narrow (463 px) and wide (1080 px, small print) scans, a tall one (2481 px), a photo-like one.
RECEIPTS = ["000", "021", "035", "063", "084"]


@pytest.fixture(scope="module")
def scores(engine):
    totals = Scores()
    for receipt_id in RECEIPTS:
        pixels = cv2.imread(str(receipt_path(receipt_id, TEST_RECEIPTS)))
        segments = reading_order(engine.recognize(pixels).segments)
        truth = ground_truth(receipt_id, TEST_RECEIPTS)
        totals.add([s.text for s in segments], [bounding_box(s.polygon) for s in segments], truth)
    return totals


def test_page_text_is_close_to_the_transcript(scores):
    assert scores.cer < 0.08
    assert scores.word_f1 > 0.86


def test_boxes_match_the_ground_truth_lines(scores):
    assert scores.line_f1 > 0.88
