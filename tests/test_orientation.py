"""enable_cls over HTTP: receipts turned 90/180/270 read as well as upright, boxes land on the image sent.

Real engine, real SROIE receipts turned by the test; the ground-truth boxes are
turned with them, so the boxes the service returns are checked on the turned image.
"""

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from app import create_app
from app.config import TestConfig
from app.recognition.orientation import turn_image, turn_points
from tests.sroie import TEST_RECEIPTS, Scores, bounding_box, ground_truth, receipt_path
from tests.test_image_kinds import folded
from tests.vertical_page import COLUMNS, HEADLINE, vertical_page_with_headline

OCR = "/api/v1/image/ocr"
# Receipts of different widths and print sizes (463 px, 1080 px with small print, 932 px).
TURNED = [("000", 90), ("000", 180), ("000", 270), ("035", 270), ("084", 90)]
UPRIGHT = ["000", "035", "084"]
# Where the text's own top-left corner (the first vertex) lies in a box on a page turned by the key.
FIRST_CORNER = {0: (-1, -1), 90: (-1, 1), 180: (1, 1), 270: (1, -1)}
# A rendered Chinese page (tests/data/kinds/README.md) and its title.
ZH_PAGE = Path(__file__).resolve().parent / "data" / "kinds" / "zh-page.png"
ZH_TITLE = "西塞山前白鹭飞，桃花流水鳜鱼肥。"


@pytest.fixture(scope="module")
def api(engine):
    return create_app(TestConfig(), engine=engine).test_client()


def ocr(api, pixels, **fields):
    _, png = cv2.imencode(".png", pixels)
    response = api.post(OCR, data={"file": (io.BytesIO(png.tobytes()), "receipt.png"), **fields})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def text_of(result):
    return " ".join(item["words"] for item in result["words_result"])


def boxes_of(result):
    boxes = []
    for item in result["words_result"]:
        location = item["location"]
        boxes.append((location["left"], location["top"], location["left"] + location["width"],
                      location["top"] + location["height"]))
    return boxes


def scores(result, receipt_id, angle, width, height):
    """Scores of a result against the receipt's ground truth turned by ``angle``."""
    truth = ground_truth(receipt_id, TEST_RECEIPTS)
    truth_boxes = [bounding_box(turn_points(line.polygon, angle, width, height)) for line in truth]
    page = Scores()
    page.add([item["words"] for item in result["words_result"]], boxes_of(result), truth, truth_boxes)
    return page


@pytest.fixture(scope="module")
def upright_results(api):
    return {rid: ocr(api, cv2.imread(str(receipt_path(rid, TEST_RECEIPTS)))) for rid in UPRIGHT}


@pytest.mark.parametrize("receipt_id,angle", TURNED)
def test_turned_receipt_reads_as_well_as_upright(api, upright_results, receipt_id, angle):
    pixels = cv2.imread(str(receipt_path(receipt_id, TEST_RECEIPTS)))
    height, width = pixels.shape[:2]
    turned = turn_image(pixels, angle)
    result = ocr(api, turned, enable_cls="true")

    assert result["image"]["orientation"] == angle
    assert (result["image"]["width"], result["image"]["height"]) == turned.shape[1::-1]
    upright = scores(upright_results[receipt_id], receipt_id, 0, width, height)
    turned_scores = scores(result, receipt_id, angle, width, height)
    assert turned_scores.cer <= upright.cer + 0.02
    # The boxes were found on the upright page and mapped back onto the turned image.
    assert turned_scores.line_f1 >= upright.line_f1 - 0.05
    for item in result["words_result"]:
        points = np.array([(p["x"], p["y"]) for p in item["vertexes_location"]])
        assert (points >= 0).all() and (points < turned.shape[1::-1]).all()
        assert tuple(np.sign(points[0] - points.mean(axis=0)).astype(int)) == FIRST_CORNER[angle]


@pytest.mark.parametrize("receipt_id", UPRIGHT)
def test_upright_receipt_reads_the_same_with_enable_cls(api, upright_results, receipt_id):
    result = ocr(api, cv2.imread(str(receipt_path(receipt_id, TEST_RECEIPTS))), enable_cls="true")

    assert result["image"]["orientation"] == 0
    assert text_of(result) == text_of(upright_results[receipt_id])
    assert boxes_of(result) == boxes_of(upright_results[receipt_id])


@pytest.mark.parametrize("tilt,angle", [(-6, 90), (-3, 270), (6, 270)])
def test_page_photographed_askew_on_its_side_is_turned_upright(api, tilt, angle):
    """A page on its side, a few degrees askew as in a photo, is turned upright and read.

    Its standing lines once passed for one wide line (the page read as one box),
    and tall crops came out turned one way or the other by their tilt.
    """
    page = cv2.imread(str(ZH_PAGE))
    height, width = page.shape[:2]
    askew = cv2.warpAffine(page, cv2.getRotationMatrix2D((width / 2, height / 2), tilt, 1.0), (width, height),
                           borderValue=(255, 255, 255))
    result = ocr(api, turn_image(askew, angle), enable_cls="true")

    assert result["image"]["orientation"] == angle
    lines = [item["words"] for item in result["words_result"]]
    assert any(folded(line) == folded(ZH_TITLE) for line in lines), lines[:3]


def test_vertical_chinese_is_not_taken_for_a_page_on_its_side(api):
    """Columns of upright characters stay as sent, read right to left under their headline.

    The recogniser reads a column as well turned as not, so such a page was
    turned a quarter (orientation 270) and its headline read among the columns.
    """
    result = ocr(api, vertical_page_with_headline(), enable_cls="true")

    assert result["image"]["orientation"] == 0
    lines = result["text"].split("\n")
    assert [folded(line) for line in lines] == [folded(line) for line in (HEADLINE, *COLUMNS)], lines


def test_without_enable_cls_a_turned_page_is_read_as_sent(api, upright_results):
    """enable_cls off (the default) means no page turn is decided: an upside-down page stays upside down.

    Its lines are still found where they lie, but read upside down they are noise,
    mostly dropped as unsure; the same bytes with enable_cls on read as upright.
    """
    pixels = cv2.imread(str(receipt_path("000", TEST_RECEIPTS)))
    height, width = pixels.shape[:2]
    turned = turn_image(pixels, 180)
    as_sent = ocr(api, turned)
    turned_upright = ocr(api, turned, enable_cls="true")

    upright = scores(upright_results["000"], "000", 0, width, height)
    as_sent_scores = scores(as_sent, "000", 180, width, height)
    assert as_sent["image"]["orientation"] == 0 and turned_upright["image"]["orientation"] == 180
    assert as_sent_scores.cer > 0.5 > upright.cer + 0.3
    assert scores(turned_upright, "000", 180, width, height).cer <= upright.cer + 0.02
    # What was read, was read where the turned text lies.
    matched, predicted, _ = as_sent_scores.lines
    assert predicted and matched / predicted > 0.5


def test_upside_down_line_on_upright_page_is_read_the_right_way(engine):
    pixels = cv2.imread(str(receipt_path("000", TEST_RECEIPTS)))
    truth = ground_truth("000", TEST_RECEIPTS)
    # Turn one line (the shop name) upside down in place, as a misprinted label would be.
    left, top, right, bottom = (int(v) for v in truth[1].box)
    pixels[top:bottom, left:right] = np.rot90(pixels[top:bottom, left:right], 2)

    plain = " ".join(s.text for s in engine.recognize(pixels).segments)
    corrected = " ".join(s.text for s in engine.recognize(pixels, enable_cls=True).segments)

    assert "BOOK TA" in corrected.upper()
    assert "BOOK TA" not in plain.upper()


def letter_spaced_word(word, size=40, spacing=8):
    """A word in Pillow's own font with room between its letters, as on a sign."""
    font = ImageFont.load_default(size=size)
    image = Image.new("RGB", (int(sum(font.getlength(c) + spacing for c in word)) + 20, int(size * 1.4)), "white")
    draw, left = ImageDraw.Draw(image), 10
    for letter in word:
        draw.text((left, size * 0.15), letter, font=font, fill="black")
        left += font.getlength(letter) + spacing
    return cv2.cvtColor(np.array(image), cv2.COLOR_RGB2BGR)


@pytest.mark.parametrize("word,angle", [("WHEELER", 90), ("WHEELER", 270), ("HOTEL", 90)])
def test_a_word_turned_a_quarter_is_read_as_one_word(engine, word, angle):
    """Turned a quarter, a letter-spaced word comes out of the detector as a column of
    letters, each boxed alone: together they are the line that shows the angle."""
    result = engine.recognize(turn_image(letter_spaced_word(word), angle), enable_cls=True)

    assert result.orientation == angle
    # Letter-spaced, it may read with spaces ("WHEE LE R"), but as one segment, in order.
    assert ["".join(segment.text.split()) for segment in result.segments] == [word]


@pytest.mark.parametrize("angle,votes", [(180, 0.0), (0, 1.0)])
def test_page_angle_follows_a_sure_reading_over_the_line_classifier(engine, monkeypatch, angle, votes):
    """The line classifier can be wrong about a whole page (39% upside-down votes on an
    upside-down deposition page): a page read surely turned is turned whatever it
    votes, and an upright page stays upright even when it votes every line upside down."""
    pixels = turn_image(cv2.imread(str(receipt_path("035", TEST_RECEIPTS))), angle)
    monkeypatch.setattr(engine._line_orientation, "upside_down", lambda crops: [votes] * len(crops))

    assert engine.recognize(pixels, enable_cls=True).orientation == angle


@pytest.mark.parametrize("angle", [0, 90, 180, 270])
def test_turned_points_land_where_the_image_turned_them(angle):
    pixels = np.zeros((30, 50, 3), dtype=np.uint8)
    pixels[7, 41] = 255  # the pixel whose centre is (41.5, 7.5)
    turned = turn_image(pixels, angle)
    (x, y), = turn_points([(41.5, 7.5)], angle, 50, 30)

    assert turned[int(y), int(x)].tolist() == [255, 255, 255]
