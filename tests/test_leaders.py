"""Leader dots between a receipt's label and its value are read as a run, not as one dot."""

import cv2
import numpy as np
from PIL import Image, ImageDraw

from app.recognition.leaders import holds_longer_leaders, may_hold_leaders
from tests.fonts import cjk_font


def receipt_line(label, dots, pitch, value):
    """One receipt line at 20 px: ``label``, ``dots`` dots every ``pitch`` px, ``value`` at the right."""
    font = cjk_font(20)
    strip = Image.new("RGB", (640, 80), "white")
    draw = ImageDraw.Draw(strip)
    draw.text((40, 30), label, font=font, fill="black")
    start = 40 + draw.textlength(label, font=font)
    for index in range(dots):
        draw.text((start + index * pitch, 30), ".", font=font, fill="black")
    draw.text((500, 30), value, font=font, fill="black")
    return cv2.cvtColor(np.asarray(strip), cv2.COLOR_RGB2BGR)


def test_a_leader_of_close_dots_is_read_as_a_run(engine):
    # Twelve dots 8 px apart merged in the recogniser: the line came back "TOTAL AMT.".
    texts = [segment.text for segment in engine.recognize(receipt_line("TOTAL AMT", 12, 8, "RM 26.50")).segments]

    label = [text for text in texts if text.startswith("TOTAL AMT")]
    assert label and label[0].count(".") >= 8, texts
    assert "RM 26.50" in " ".join(texts)


def test_only_lines_with_room_to_spare_may_hold_leaders():
    assert may_hold_leaders("TOTAL AMT.", width=200, height=20, room=1.6)  # 10 characters need 100 px
    assert not may_hold_leaders("That was the basement.", width=230, height=20, room=1.6)
    assert not may_hold_leaders("TOTAL AMOUNT", width=400, height=20, room=1.6)  # no mark to have lost
    assert not may_hold_leaders("合计金额.", width=100, height=20, room=1.6)  # wide characters fill 90 px


def test_a_stretched_reading_is_kept_only_when_just_its_leaders_grew():
    assert holds_longer_leaders("TOTAL AMT.", "TOTAL AMT..........", 3)
    assert holds_longer_leaders("CASH -- RM", "CASH ------ RM", 3)
    assert not holds_longer_leaders("TOTAL AMT.", "TOTAL AMT..", 3)  # too short a run to be a leader
    assert not holds_longer_leaders("TOTAL AMT.", "T0TAL AMT.......", 3)  # a letter changed
    assert not holds_longer_leaders("TOTAL AMT.....", "TOTAL AMT....", 3)  # shorter, not longer
