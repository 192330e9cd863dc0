"""Marks the detector leaves out of a line's box (a heading's "一、", a colon) are read with the line."""

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.recognition.line_marks import covered_mask, holds_one_more_mark, reach_marks
from tests.fonts import cjk_font

BODY = [
    "要有礼貌在这种规模的项目中，很难避免遇到与你意见不和，或者难以合作的人。请接受这一事实，并保持礼貌。",
    "意见不一致并不是糟糕举止或者人身攻击的借口，而且让人感觉受到威胁显然不是健康的社区氛围。",
]
HEADINGS = [("一", "投资要点"), ("二", "行业回顾"), ("三", "风险提示")]


def report_page():
    """A report's page: numbered red headings (22 px) over paragraphs of body text (15 px)."""
    page = Image.new("RGB", (1240, 520), (250, 250, 250))
    draw = ImageDraw.Draw(page)
    y = 40
    for numeral, words in HEADINGS:
        draw.text((90, y), f"{numeral}、{words}", font=cjk_font(22), fill=(150, 20, 20))
        y += 40
        for line in BODY:
            draw.text((90, y), line, font=cjk_font(15), fill=(20, 20, 20))
            y += 25
        y += 20
    return cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR)


def banner_page():
    """A report's page whose numbered headings (26 px) are white on a red band that ends 8 px past them."""
    page = Image.new("RGB", (1240, 420), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    y = 40
    for numeral, words in HEADINGS:
        heading, font = f"{numeral}、{words}", cjk_font(26)
        left, top, right, bottom = draw.textbbox((90, y), heading, font=font)
        draw.rectangle([left - 8, top - 8, right + 8, bottom + 8], fill=(180, 30, 30))
        draw.text((90, y), heading, font=font, fill=(255, 255, 255))
        y += 60
        draw.text((90, y), BODY[0], font=cjk_font(15), fill=(20, 20, 20))
        y += 60
    return cv2.cvtColor(np.asarray(page), cv2.COLOR_RGB2BGR)


@pytest.mark.parametrize("page", [report_page, banner_page])
def test_numbered_chinese_headings_keep_their_numerals(engine, page):
    # report_page: the detector gives the lone stroke of "一、" no box at this size,
    # and the heading came back as "投资要点" alone. banner_page: seen from the
    # heading's white print, the white page past the band's end is ink too, so "一、"
    # ran on into it and was taken for a rule.
    texts = [segment.text for segment in engine.recognize(page()).segments]

    for numeral, words in HEADINGS:
        heading = [text for text in texts if words in text]
        assert heading and heading[0].startswith(numeral), f"{numeral}、{words} read as {heading} in {texts}"


def line_page():
    """A white strip with one "line" of black strokes 20 px tall from x 100 to 300."""
    grey = np.full((60, 600), 255, dtype=np.uint8)
    for left in range(100, 300, 10):
        grey[20:40, left : left + 4] = 0
    return grey


LINE = np.array([[98, 18], [302, 18], [302, 42], [98, 42]], dtype=np.float64)


def test_a_mark_just_before_a_line_widens_its_box():
    grey = line_page()
    grey[28:32, 80:94] = 0  # a short stroke, like 一

    widened = reach_marks(grey, LINE, covered_mask(grey.shape, [LINE]), gap=0.6, reach=3.0, seen=0.15)

    assert widened is not None and widened[:, 0].min() <= 80
    assert widened[:, 0].max() == LINE[:, 0].max()


def test_a_table_ruling_or_an_underline_beside_a_line_is_no_mark():
    ruled = line_page()
    ruled[10:50, 88:90] = 0  # a cell's vertical ruling
    underlined = line_page()
    underlined[38:40, 300:600] = 0  # an underline running on to the page's edge

    for grey in (ruled, underlined):
        assert reach_marks(grey, LINE, covered_mask(grey.shape, [LINE]), gap=0.6, reach=3.0, seen=0.15) is None


def test_ink_inside_another_box_is_no_mark():
    grey = line_page()
    grey[20:40, 310:360:6] = 0  # the next field, found by the detector
    field = np.array([[306, 18], [364, 18], [364, 42], [306, 42]], dtype=np.float64)

    assert reach_marks(grey, LINE, covered_mask(grey.shape, [LINE, field]), gap=0.6, reach=3.0, seen=0.15) is None


def test_a_widened_reading_is_kept_only_when_it_adds_a_mark():
    assert holds_one_more_mark("投资要点", "一、投资要点", 2)
    assert holds_one_more_mark("Rounding", "Rounding :", 2)
    assert not holds_one_more_mark("Amount", "Amount Tax", 2)  # another field, not a mark
    assert not holds_one_more_mark("Ribs Platter", "1 Ribs Platter", 2)  # a quantity column
    assert not holds_one_more_mark("Ploase", "Please!", 2)  # the old reading changed
    assert not holds_one_more_mark("TOTAL", "TOTAL", 2)
