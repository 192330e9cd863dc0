"""PDFs through HTTP with the real engine: born-digital, scanned and mixed documents the tests build.

A born-digital page is read from its text layer (exact text, boxes in the
pixels of the page as rendered); a scan is rendered at its own resolution and
recognised; a mixed document is read page by page, each its own way.
"""

import base64
import functools
import io
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from app import create_app
from app.config import TestConfig
from tests import pdf_documents as pdf
from tests.servers import running_gunicorn
from tests.sroie import character_error_rate, iou

OCR = "/api/v1/image/ocr"
# The born-digital page, line by line, as a reader sees it.
BORN_DIGITAL_LINES = [
    pdf.INVOICE_TITLE,
    *pdf.INVOICE_LINES,
    *(" ".join(row) for row in pdf.INVOICE_TABLE),
    pdf.CHINESE_LINE,
]


def post(client, data, name="document.pdf", **fields):
    answer = client.post(OCR, data={"file": (io.BytesIO(data), name), **fields}, content_type="multipart/form-data")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return answer.get_json()


def box(location):
    left, top = location["left"], location["top"]
    return left, top, left + location["width"], top + location["height"]


@pytest.fixture(scope="module")
def born_digital(engine):
    client = create_app(TestConfig(), engine=engine).test_client()
    return post(client, pdf.born_digital_pdf(), return_markdown="true")


@pytest.fixture(scope="module")
def born_digital_by_ocr(engine):
    client = create_app(TestConfig(), engine=engine).test_client()
    return post(client, pdf.born_digital_pdf(), force_ocr="true")


def test_born_digital_page_is_read_exactly_from_its_text_layer(born_digital):
    page = born_digital["pages"][0]
    assert page["source"] == "text_layer"
    assert [line["words"] for line in born_digital["lines"]] == BORN_DIGITAL_LINES
    assert born_digital["image"]["format"] == "PDF" and born_digital["image"]["page_count"] == 1
    # Nothing went through the engine, and the text is the document's, not a guess.
    assert born_digital["timing"]["detection_ms"] == 0 and born_digital["summary"]["min_score"] == 1.0
    # The size policy: 12-point body text at 168 dpi is 28 pixels tall, the detector's target height.
    assert page["dpi"] == 168.0 and (page["width"], page["height"]) == (1428, 1848)


def test_text_layer_gives_the_same_blocks_and_markdown_as_ocr_would(born_digital):
    types = [block["type"] for block in born_digital["blocks"]]
    assert types == ["title", "paragraph", "table", "paragraph"]
    table = born_digital["blocks"][2]
    assert table["cells"] == [list(row) for row in pdf.INVOICE_TABLE]
    markdown = born_digital["markdown"]
    assert markdown.startswith(f"# {pdf.INVOICE_TITLE}")
    assert "| Paper A4 | 10 | 42.50 |" in markdown and pdf.CHINESE_LINE in markdown


def test_text_layer_boxes_are_where_the_engine_finds_the_same_words(born_digital, born_digital_by_ocr):
    page = born_digital_by_ocr["pages"][0]
    assert page["source"] == "ocr"
    # The same page, in the same pixel grid, whichever way it is read.
    for key in ("width", "height", "dpi"):
        assert page[key] == born_digital["pages"][0][key]
    recognised = {item["words"]: box(item["location"]) for item in born_digital_by_ocr["words_result"]}
    matched = [
        iou(box(item["location"]), recognised[item["words"]])
        for item in born_digital["words_result"]
        if item["words"] in recognised
    ]
    assert len(matched) >= 10, recognised.keys()
    # Short words differ most (the detector pads its boxes); none is elsewhere.
    assert min(matched) >= 0.5 and sum(matched) / len(matched) >= 0.75


def test_need_location_false_drops_coordinates_of_text_layer_pages(client):
    result = post(client, pdf.born_digital_pdf(), need_location="false")
    assert result["pages"][0]["source"] == "text_layer"
    for key in ("words_result", "lines", "blocks", "pages"):
        assert all("location" not in item and "vertexes_location" not in item for item in result[key])
    assert result["text"].splitlines()[0] == pdf.INVOICE_TITLE


def test_scanned_page_is_rendered_at_the_scan_resolution_and_reads_like_the_jpeg(client):
    result = post(client, pdf.scanned_pdf())
    page = result["pages"][0]
    assert page["source"] == "ocr" and page["dpi"] == 200.0
    # The scan's own pixels: no upscaling, no blur.
    assert (page["width"], page["height"]) == pdf.receipt_size()
    for word in pdf.RECEIPT_WORDS:
        assert word in result["text"].upper()
    jpeg = post(client, pdf.RECEIPT_JPEG.read_bytes(), "receipt.jpg")
    assert character_error_rate(result["text"], jpeg["text"]) < 0.02


def test_mixed_document_is_read_page_by_page(client):
    result = post(client, pdf.mixed_pdf())
    assert [page["source"] for page in result["pages"]] == ["text_layer", "ocr"]
    assert result["image"]["page_count"] == 2
    first, second = result["pages"]
    assert [line["words"] for line in result["lines"] if line["page"] == 0] == [pdf.INVOICE_TITLE, *pdf.INVOICE_LINES]
    # The scan's text layer holds one invisible word: far too little, so the page was recognised.
    scan_text = " ".join(item["words"] for item in result["words_result"] if item["page"] == 1).upper()
    assert all(word in scan_text for word in pdf.RECEIPT_WORDS)
    assert second["words_result_start"] == first["words_result_num"] and second["words_result_num"] > 20


@pytest.mark.parametrize("prefix", ["", "data:application/pdf;base64,"])
def test_pdf_is_accepted_as_base64_and_as_a_data_uri(client, prefix):
    encoded = prefix + base64.b64encode(pdf.born_digital_pdf()).decode()
    answer = client.post(OCR, data={"image_base64": encoded}, content_type="multipart/form-data")
    assert answer.status_code == 200
    assert [line["words"] for line in answer.get_json()["lines"]] == BORN_DIGITAL_LINES


def test_a_pdf_is_known_by_its_content_not_its_name(client):
    result = post(client, pdf.born_digital_pdf(), name="scan.jpg")
    assert result["image"]["format"] == "PDF"


def test_only_the_first_max_pages_are_read_and_all_are_counted(engine):
    config = TestConfig()
    config.MAX_PAGES = 3
    client = create_app(config, engine=engine).test_client()
    result = post(client, pdf.many_pages_pdf(12, "PAGE"))
    assert result["image"]["page_count"] == 12
    assert len(result["pages"]) == 3 and result["text"].split() == ["PAGE"] * 3


def test_pages_are_counted_by_source_in_the_metrics(client):
    def pages_read():
        text = client.get("/metrics").get_data(as_text=True)
        return {
            sample.labels["source"]: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "ocr_pages_total"
        }

    before = pages_read()
    post(client, pdf.mixed_pdf())
    after = pages_read()
    assert after["text_layer"] - before["text_layer"] == 1 and after["ocr"] - before["ocr"] == 1


def test_images_say_they_were_read_by_the_engine(client):
    buffer = io.BytesIO()
    Image.open(pdf.RECEIPT_JPEG).save(buffer, "PNG")
    page = post(client, buffer.getvalue(), "receipt.png")["pages"][0]
    assert page["source"] == "ocr" and page["dpi"] is None


@pytest.mark.slow
def test_gunicorn_reads_a_mixed_pdf_and_survives_hostile_ones(tmp_path):
    env = {"OCR_MODEL_CACHE_DIR": str(tmp_path / "models")}
    log = tmp_path / "gunicorn.log"
    with running_gunicorn(workers=1, env=env, log_path=log) as (process, base_url):
        def send(data):
            return requests.post(f"{base_url}{OCR}", files={"file": ("d.pdf", data, "application/pdf")}, timeout=120)

        answer = send(pdf.mixed_pdf())
        assert answer.status_code == 200
        assert [page["source"] for page in answer.json()["pages"]] == ["text_layer", "ocr"]
        for data, status in [(pdf.deflate_bomb_pdf(200), 413), (pdf.encrypted_pdf(), 400),
                             (pdf.many_pages_pdf(5000), 200), (pdf.self_drawing_form_pdf(), 200)]:
            assert send(data).status_code == status
        answer = send(pdf.born_digital_pdf())
        assert answer.status_code == 200 and answer.json()["lines"][0]["words"] == pdf.INVOICE_TITLE
        assert process.poll() is None
    # The one worker answered them all: none was replaced.
    assert log.read_text().count("Booting worker") == 1


def test_a_pdf_is_read_from_a_url(engine, tmp_path):
    """Served by a loopback server the config allows."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    (tmp_path / "invoice.pdf").write_bytes(pdf.born_digital_pdf())
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = TestConfig()
        config.URL_ALLOWLIST = ["127.0.0.1/32"]
        config.URL_ALLOWED_PORTS = [server.server_port]
        client = create_app(config, engine=engine).test_client()
        answer = client.post(OCR, data={"url": f"http://127.0.0.1:{server.server_port}/invoice.pdf"})
    finally:
        server.shutdown()
    assert answer.status_code == 200
    assert [line["words"] for line in answer.get_json()["lines"]] == BORN_DIGITAL_LINES
