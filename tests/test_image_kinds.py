"""Kinds of image beyond scanned receipts, as a user sends them: the endpoint must read what matters.

The images are in tests/data/kinds (sources and licences in its README); each is
sent as a file to the endpoint with its default flags, through the real engine.
"""

import io
import re
import unicodedata
from pathlib import Path

import pytest

KINDS = Path(__file__).resolve().parent / "data" / "kinds"
OCR = "/api/v1/image/ocr"


def folded(text):
    """What a reader compares: full-width forms folded (NFKC), case ignored, only letters and digits."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def read(client, name):
    """The endpoint's answer to one image of tests/data/kinds, sent with the default flags."""
    with open(KINDS / name, "rb") as handle:
        response = client.post(OCR, data={"file": (io.BytesIO(handle.read()), name)})
    assert response.status_code == 200, response.get_json()
    return [item["words"] for item in response.get_json()["words_result"]]


def lines_holding(segments, words):
    """The segments whose folded text holds ``words`` (folded), in the endpoint's order."""
    return [segment for segment in segments if folded(words) in folded(segment)]


@pytest.mark.parametrize(
    "name, sign",
    [
        # A parking sign on a pole beside a street, 800x600.
        ("street-sign.jpg", ["NOTICE", "DOUBLE", "PARKING", "PROHIBITED"]),
        # A shop front photographed from across the street, 640x480: the name is on a
        # hanging board (three stacked lines) and on the fascia.
        ("shop-front.jpg", ["priory", "galleries", "ship"]),
    ],
)
def test_street_photo_reads_its_sign(client, name, sign):
    segments = read(client, name)

    missing = [words for words in sign if not lines_holding(segments, words)]
    assert not missing, f"{name}: the sign's {missing} not read; read {segments}"


def test_phone_photo_of_a_receipt_reads_its_total(client):
    # A dev receipt laid on a table and photographed (turned, tilted, unevenly lit, JPEG):
    # its TOTAL AMOUNT line says 31.00.
    segments = read(client, "phone-receipt-005.jpg")

    text = " ".join(segments)
    assert lines_holding(segments, "TOTAL AMOUNT"), f"no TOTAL AMOUNT line in {segments}"
    assert "31.00" in text, f"the total 31.00 not read in {segments}"


def test_phone_photo_of_a_receipt_reads_its_faint_print(client):
    # Another dev receipt so photographed: its thermal print has faded to pale grey
    # in the tax summary, whose column heading "Tax" and amount ending "50" the
    # detector scores under its threshold (DetectionSettings.faint_prob).
    segments = read(client, "phone-receipt-040.jpg")

    assert [s for s in segments if folded(s) == "tax"], f"the faint Tax heading not read in {segments}"
    assert [s for s in segments if folded(s) == "50"], f"the faint 50 not read in {segments}"


def test_chinese_page_reads_its_title(client):
    # A rendered page of Chinese prose (simplified, Noto CJK) whose title is a line of poetry.
    segments = read(client, "zh-page.png")

    title = "西塞山前白鹭飞，桃花流水鳜鱼肥。"
    assert segments and folded(segments[0]) == folded(title), f"first line read: {segments[:1]}"


def test_single_cropped_word_reads_as_that_word(client):
    # One word cropped from a street photo and sent as the whole image.
    segments = read(client, "word-riser.jpg")

    assert [folded(segment) for segment in segments] == ["riser"]


def test_form_reads_its_field_names(client):
    # A scanned FUNSD form (a typed request form, 762x1000, with handwriting and stamps).
    segments = read(client, "form-0000990274.png")

    field_names = ["REQUEST NO.:", "DATE:", "INITIATED BY:", "COMPLETION", "TARGET DATE:", "COUNTRY:",
                   "PRODUCT:", "NATURE OF WORK:", "R&D COMMENTS:", "NOTES:"]
    missing = [field for field in field_names if not lines_holding(segments, field)]
    assert not missing, f"field names not read: {missing}; read {segments}"
