"""Accuracy guards on the defaults of app/recognition/engine.py (DetectionSettings), each close to its measured figure.

A change that costs accuracy fails here before it shows in the benchmarks
(tests/bench/bench_accuracy.py, tests/bench/bench_kinds.py).
"""

from pathlib import Path

import cv2
import numpy as np
import pytest

from app.document.layout import reading_order
from tests.sroie import TEST_RECEIPTS, Scores, bounding_box, ground_truth, receipt_path

WORDS = Path(__file__).resolve().parent / "data" / "words"

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


def test_cropped_street_words_read_as_their_word(engine):
    # Real crops whose letters touch the image's edges: the detector cut a letter
    # off or found nothing in each of the first six before whole-image reading.
    # The starbucks, allahabad and ballys crops read wrong ("SYARBUCKS",
    # "ALLABADD", "BALLES") until the whole image was padded to the
    # recogniser's training width (whole_line_min_width).
    words = {path: path.stem.rsplit("-", 1)[1] for path in sorted(WORDS.glob("*.jpg"))}
    read = {path: " ".join(s.text for s in engine.recognize(cv2.imread(str(path))).segments) for path in words}

    wrong = {path.name: read[path] for path, word in words.items() if read[path].casefold() != word}
    assert len(wrong) <= 1, f"read wrong: {wrong}"


def test_small_print_under_large_letters_is_read(engine):
    # A fascia: two words 130 px tall, one line of 15 px print under them. The large
    # letters make the detector look again at a smaller scale, where the print is
    # 5 px tall; the print must keep the box the first look gave it.
    pixels = np.full((720, 1280, 3), (60, 90, 140), np.uint8)
    for index, word in enumerate(["BAR", "CAFE"]):
        cv2.putText(pixels, word, (60 + index * 600, 300), cv2.FONT_HERSHEY_DUPLEX, 6.0, (250, 250, 250), 18)
    cv2.putText(pixels, "Breakfast served daily from seven", (60, 470), cv2.FONT_HERSHEY_DUPLEX, 0.8,
                (250, 250, 250), 2)

    texts = [s.text for s in engine.recognize(pixels).segments]

    assert "BAR" in texts and "CAFE" in texts, texts
    assert "Breakfast served daily from seven" in texts, texts
