"""Large and unusual images over HTTP: long receipts, 12-megapixel photos, tiny crops, thin lines,
transparent PNGs, an empty image. Real engine, real images."""

import io

import cv2
import numpy as np
import pytest
from rapidfuzz import fuzz

from app import create_app
from app.config import TestConfig
from tests.sroie import (
    IMAGES,
    TEST_RECEIPTS,
    character_error_rate,
    ground_truth,
    page_text,
    receipt_path,
)

OCR = "/api/v1/image/ocr"


@pytest.fixture(scope="module")
def api(engine):
    return create_app(TestConfig(), engine=engine).test_client()


def ocr_bytes(api, data, name):
    response = api.post(OCR, data={"file": (io.BytesIO(data), name)})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ocr_pixels(api, pixels):
    _, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return ocr_bytes(api, encoded.tobytes(), "photo.jpg")


def texts(result):
    return [item["words"] for item in result["words_result"]]


def cer(result, receipt_ids):
    truth = " ".join(page_text(ground_truth(r, TEST_RECEIPTS)) for r in receipt_ids)
    return character_error_rate(" ".join(texts(result)).upper(), truth.upper())


@pytest.fixture(scope="module")
def receipt_000_cer(api):
    return cer(ocr_bytes(api, receipt_path("000", TEST_RECEIPTS).read_bytes(), "000.jpg"), ["000"])


def test_long_receipt_over_4000_px_is_read_to_the_end(api):
    receipt_ids = ["000", "001", "002", "003", "004"]
    parts = [cv2.imread(str(receipt_path(r, TEST_RECEIPTS))) for r in receipt_ids]
    width = max(p.shape[1] for p in parts)
    long_receipt = np.vstack(
        [cv2.copyMakeBorder(p, 0, 0, 0, width - p.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255)) for p in parts]
    )
    assert long_receipt.shape[0] > 4000

    result = ocr_pixels(api, long_receipt)

    assert result["image"]["height"] == long_receipt.shape[0]
    assert cer(result, receipt_ids) < 0.12
    # The last receipt is read from the bottom of the image, where its boxes lie.
    last_top = long_receipt.shape[0] - parts[-1].shape[0]
    bottom = " ".join(i["words"] for i in result["words_result"] if i["location"]["top"] >= last_top)
    assert character_error_rate(bottom.upper(), page_text(ground_truth(receipt_ids[-1], TEST_RECEIPTS)).upper()) < 0.12


def test_receipt_in_a_12_megapixel_photo_keeps_its_small_print(api, receipt_000_cer):
    # A 463-px-wide receipt lying on a grey table photographed at 4000x3000:
    # shrinking the photo to a usual detection size would make its text 6 px tall.
    photo = np.full((3000, 4000, 3), (118, 124, 128), dtype=np.uint8)
    photo += np.random.default_rng(0).integers(0, 12, photo.shape, dtype=np.uint8)
    receipt = cv2.imread(str(receipt_path("000", TEST_RECEIPTS)))
    photo[1200 : 1200 + receipt.shape[0], 2100 : 2100 + receipt.shape[1]] = receipt

    result = ocr_pixels(api, photo)

    assert cer(result, ["000"]) <= receipt_000_cer + 0.03
    for item in result["words_result"]:
        assert item["location"]["left"] >= 2100 - 20 and item["location"]["top"] >= 1200 - 20


@pytest.mark.parametrize(
    "name,expected",
    [
        ("short.png", ["中国网络空间安全"]),  # 65x11 pixels
        ("black_font_color_transparent.png", ["我是中国人"]),
        ("white_font_color_transparent.png", ["我是中国人"]),
    ],
)
def test_unusual_image_is_read(api, name, expected):
    result = ocr_bytes(api, (IMAGES / name).read_bytes(), name)

    assert len(texts(result)) == len(expected)
    for text, want in zip(texts(result), expected):
        assert fuzz.ratio(text, want) >= 85


def test_one_long_thin_line_image_is_read_whole(api):
    result = ocr_bytes(api, (IMAGES / "test_letterbox_like.jpg").read_bytes(), "test_letterbox_like.jpg")

    assert len(result["words_result"]) == 2
    joined = "".join(texts(result)).replace(" ", "")
    assert "CUDAexecution" in joined and "verbose日志并查看控制台的输出" in joined
    assert all(item["location"]["width"] > 900 for item in result["words_result"])


def test_empty_image_gives_no_segments(api):
    result = ocr_bytes(api, (IMAGES / "empty_black.jpg").read_bytes(), "empty_black.jpg")

    assert result["words_result_num"] == 0
    assert result["words_result"] == []
