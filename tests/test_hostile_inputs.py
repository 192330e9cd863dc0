"""Hostile and broken requests get the answer they should, with the real engine; never a 500."""

import pytest
from PIL import Image

from app import create_app
from app.config import TestConfig
from tests.hostile_inputs import OCR, WORD, corpus, encode, text_image, upload

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
        assert WORD in body["text"] if case.reads else isinstance(body["words_result"], list)
    else:
        assert set(body) == {"code", "message"}
        assert body["code"] == case.code
        # The message says what was wrong, never how the service failed inside.
        assert case.says in body["message"].lower()
        assert len(body["message"]) > 20 and "Traceback" not in body["message"]


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
