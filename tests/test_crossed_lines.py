"""A line that a diagonal watermark runs through is still found and read."""

import cv2
import numpy as np
from PIL import Image, ImageDraw

from app.recognition.crossed_lines import lines_under_crossings
from tests.fonts import cjk_font

LINES = [
    "销售方名称：上海明远科技有限公司",
    "开户行及账号：中国银行上海分行 4378 2290 1156",
    "合计金额：¥12,680.00  税额：¥1,648.40",
    "收款人：王芳  复核：李强  开票人：张伟",
]
WATERMARK = "内部资料 严禁外传"


def watermarked_invoice():
    """Invoice lines (24 px) under a grey watermark repeated at 30 degrees, as report pages carry."""
    page = Image.new("RGBA", (1100, 560), "white")
    draw = ImageDraw.Draw(page)
    for index, line in enumerate(LINES):
        draw.text((60, 60 + 70 * index), line, font=cjk_font(24), fill=(25, 25, 25, 255))
    layer = Image.new("RGBA", (1400, 1400), (0, 0, 0, 0))
    tiles = ImageDraw.Draw(layer)
    for y in range(0, 1400, 220):
        for x in range(0, 1400, 420):
            tiles.text((x, y), WATERMARK, font=cjk_font(40), fill=(150, 150, 150, 90))
    page.alpha_composite(layer.rotate(30, center=(700, 700)).crop((150, 420, 1250, 980)))
    return cv2.cvtColor(np.asarray(page.convert("RGB")), cv2.COLOR_RGB2BGR)


def test_a_line_crossed_by_a_watermark_is_read(engine):
    # The detector's map joins the line and the watermark's strokes; DB's box around
    # both is mostly empty, scores under the threshold, and the line was dropped.
    text = "".join(segment.text for segment in engine.recognize(watermarked_invoice()).segments)

    assert "合计金额" in text and "12,680.00" in text, text
    for line in LINES:
        assert line.replace(" ", "")[:8] in text.replace(" ", ""), line


def crossed_map():
    """A detector map: a flat line 12 px tall, 300 long, crossed by a slanted stroke 8 px wide."""
    probability = np.zeros((200, 400), dtype=np.float32)
    probability[100:112, 50:350] = 0.9
    for y in range(20, 190):
        x = 120 + (y - 20) // 2
        probability[y, x : x + 8] = 0.9
    return probability


def test_the_full_rows_of_a_crossed_region_are_its_line():
    (box,) = lines_under_crossings(crossed_map(), [], thresh=0.3, box_thresh=0.5, unclip_ratio=1.4)

    (left, top), (right, bottom) = box.min(axis=0), box.max(axis=0)
    assert 80 <= top < 100 and 112 < bottom <= 130  # the line's rows, grown, not the stroke's 20-190
    assert left < 50 and right > 350


def test_regions_already_boxed_or_lying_alone_are_left_to_the_detector():
    probability = crossed_map()
    boxed = np.array([[40, 10], [360, 10], [360, 195], [40, 195]], dtype=np.float64)
    assert lines_under_crossings(probability, [boxed], thresh=0.3, box_thresh=0.5, unclip_ratio=1.4) == []

    alone = np.zeros((60, 400), dtype=np.float32)
    alone[20:32, 50:350] = 0.4  # a faint line on its own: under box_thresh, no crossing
    assert lines_under_crossings(alone, [], thresh=0.3, box_thresh=0.5, unclip_ratio=1.4) == []
