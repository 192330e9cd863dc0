"""Hostile and broken requests get the answer they should, with the real engine; never a 500."""

import pytest
from PIL import Image

from app import create_app
from app.config import TestConfig
from tests.hostile_inputs import (
    OCR,
    WORD,
    corpus,
    encode,
    many_frame_gif,
    many_page_tiff,
    page_label,
    text_image,
    upload,
)

CASES = corpus()


def post_image(client, data):
    body, content_type = upload(data, "page.png")
    return client.post(OCR, data=body, content_type=content_type)


def test_the_corpus_is_large_and_varied():
    assert len(CASES) >= 40
    assert len({case.code for case in CASES}) >= 9


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_input_gets_its_answer(client, case):
    answer = client.post(OCR, data=case.body, content_type=case.content_type)
    assert answer.status_code == case.status, answer.get_data(as_text=True)[:300]
    assert answer.is_json
    body = answer.get_json()
    if case.status == 200:
        assert case.reads in body["text"] if case.reads else isinstance(body["words_result"], list)
    else:
        assert set(body) == {"code", "message"}
        assert body["code"] == case.code
        # The message says what was wrong, never how the service failed inside.
        assert case.says in body["message"].lower()
        assert len(body["message"]) > 20 and "Traceback" not in body["message"]


def page_texts(result):
    """The text of each page read, in page order."""
    return [" ".join(item["words"] for item in
                     result["words_result"][page["words_result_start"]:][: page["words_result_num"]])
            for page in result["pages"]]


def test_a_gif_with_3000_frames_is_read_from_its_first_frame_only(client):
    answer = post_image(client, many_frame_gif(3000))
    result = answer.get_json()
    assert answer.status_code == 200
    assert (result["image"]["format"], result["image"]["page_count"]) == ("GIF", 1)
    assert len(result["pages"]) == 1 and WORD in page_texts(result)[0]


@pytest.mark.parametrize("max_pages", [10, 3])
def test_a_tiff_with_300_pages_counts_them_all_and_reads_the_first_max_pages(engine, max_pages):
    config = TestConfig()
    config.MAX_PAGES = max_pages
    client = create_app(config, engine=engine).test_client()
    answer = post_image(client, many_page_tiff(300, numbered=12))
    result = answer.get_json()
    assert answer.status_code == 200
    assert result["image"]["page_count"] == 300
    assert [page["page"] for page in result["pages"]] == list(range(max_pages))
    # Each page read is its own, in order; the numbered pages past the limit are not read.
    assert [page_label(number) in text for number, text in enumerate(page_texts(result), 1)] == [True] * max_pages
    assert page_label(max_pages + 1) not in result["text"]


def test_pixel_limit_is_configurable(engine, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after the test
    config = TestConfig()
    config.MAX_IMAGE_PIXELS = 30_000
    client = create_app(config, engine=engine).test_client()
    assert Image.MAX_IMAGE_PIXELS == 30_000  # the factory arms Pillow's bomb guard at the limit

    small = post_image(client, encode(text_image(size=(200, 100)), "PNG"))
    large = post_image(client, encode(text_image(size=(300, 101)), "PNG"))
    assert small.status_code == 200
    assert large.status_code == 413 and large.get_json()["code"] == "IMAGE_TOO_LARGE"
    assert "30000 pixels" in large.get_json()["message"]
