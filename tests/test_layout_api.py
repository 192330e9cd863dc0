"""The structured result over HTTP: lines, blocks, pages, plain_text, summary and Markdown.

Real engine, real images: SROIE receipts against their ground-truth boxes,
every image in tests/data/images, and a multi-page TIFF built from two receipts.
Markdown is read back with markdown-it-py and compared with the blocks.
"""

import io
import re
import statistics

import pytest
from PIL import Image

from app import create_app
from app.config import TestConfig
from tests.layout_truth import (
    line_agreement,
    match_truth,
    printed_rows_in_tables,
    row_pairs,
)
from tests.markdown_blocks import parse_blocks
from tests.sroie import (
    IMAGES,
    TEST_RECEIPTS,
    character_error_rate,
    ground_truth,
    receipt_path,
)

OCR = "/api/v1/image/ocr"
RECEIPTS = ("000", "001", "002", "003")
COORDINATES = {"location", "vertexes_location"}
_BULLET = re.compile(r"^(?:[•·●○◦▪■□‣⁃]\s*|[-–—*+]\s+)")


def post(client, data, name, **fields):
    return client.post(OCR, data={"file": (io.BytesIO(data), name), **fields})


def tiff_of(*paths):
    pages = [Image.open(path).convert("RGB") for path in paths]
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:])
    return buffer.getvalue()


def collapse(text):
    return " ".join(text.split())


def box(item):
    location = item["location"]
    return location["left"], location["top"], location["left"] + location["width"], location["top"] + location["height"]


def line_of_segment(result):
    return {i: k for k, line in enumerate(result["lines"]) for i in line["segment_indexes"]}


@pytest.fixture(scope="module")
def api(engine):
    return create_app(TestConfig(), engine=engine).test_client()


@pytest.fixture(scope="module")
def receipt_results(api):
    results = {}
    for receipt_id in RECEIPTS:
        data = receipt_path(receipt_id, TEST_RECEIPTS).read_bytes()
        answer = post(api, data, f"{receipt_id}.jpg", return_markdown="true")
        assert answer.status_code == 200, answer.get_json()
        results[receipt_id] = answer.get_json()
    return results


def assert_consistent(result, low_score_threshold=TestConfig.LOW_SCORE_THRESHOLD):
    """Every field agrees with the others, as the README documents them."""
    words, lines, blocks, pages = result["words_result"], result["lines"], result["blocks"], result["pages"]
    assert result["words_result_num"] == len(words)
    # Lines take every segment once, in words_result order; blocks every line once.
    assert [i for line in lines for i in line["segment_indexes"]] == list(range(len(words)))
    assert [k for block in blocks for k in block["line_indexes"]] == list(range(len(lines)))
    for line in lines:
        members = [words[i] for i in line["segment_indexes"]]
        assert line["words"] == " ".join(item["words"] for item in members)
        assert line["score"] == pytest.approx(statistics.fmean(item["score"] for item in members), abs=1e-3)
        assert {item["page"] for item in members} == {line["page"]}
    for block in blocks:
        assert block["type"] in ("title", "paragraph", "table", "list")
        assert block["words"] == "\n".join(lines[k]["words"] for k in block["line_indexes"])
        assert {lines[k]["page"] for k in block["line_indexes"]} == {block["page"]}
        assert ("cells" in block) == (block["type"] == "table")
    start = 0
    for number, page in enumerate(pages):
        assert (page["page"], page["words_result_start"]) == (number, start)
        start += page["words_result_num"]
        assert {item["page"] for item in words[page["words_result_start"]:start]} <= {number}
    assert start == len(words)
    assert result["text"] == "\n".join(item["words"] for item in words)
    assert result["plain_text"] == "\n\n".join(block["words"] for block in blocks)
    scores = [item["score"] for item in words]
    assert result["summary"] == {
        "pages": len(pages),
        "blocks": len(blocks),
        "lines": len(lines),
        "segments": len(words),
        "characters": sum(len(item["words"]) for item in words),
        "mean_score": pytest.approx(statistics.fmean(scores), abs=1e-4) if scores else None,
        "min_score": min(scores) if scores else None,
        "low_score_threshold": low_score_threshold,
        "low_score_segments": sum(score < low_score_threshold for score in scores),
    }
    if "markdown" in result:
        assert_markdown_shows_the_blocks(result)


def assert_markdown_shows_the_blocks(result):
    """A Markdown reader sees the same blocks, text and table cells: nothing recognised turned into syntax."""
    parsed = [block for block in parse_blocks(result["markdown"]) if block.kind != "rule"]
    assert len(parsed) == len(result["blocks"])
    for shown, block in zip(parsed, result["blocks"]):
        lines = [collapse(line) for line in block["words"].split("\n")]
        assert shown.kind == block["type"]
        if block["type"] == "title":
            assert shown.text == " ".join(lines)
        elif block["type"] == "paragraph":
            assert shown.text == "\n".join(lines)
        elif block["type"] == "list":
            assert " ".join(shown.items) == " ".join(_BULLET.sub("", line) for line in lines)
        else:
            assert shown.items == [[collapse(cell) for cell in row] for row in block["cells"]]
            assert len(shown.items) == len(block["line_indexes"]) >= 2


@pytest.mark.parametrize("receipt_id", RECEIPTS)
def test_receipt_lines_group_the_segments_of_each_printed_row(receipt_results, receipt_id):
    result, truth = receipt_results[receipt_id], ground_truth(receipt_id, TEST_RECEIPTS)
    boxes = [box(item) for item in result["words_result"]]
    agreement = line_agreement(truth, boxes, line_of_segment(result))
    assert agreement.same_row >= 9 and agreement.other_row >= 300
    # Item names and their prices (printed a little higher or lower) share a line...
    assert agreement.same_row_share >= 0.95
    # ...and rows never merge with the row above or below.
    assert agreement.other_row_share >= 0.995


@pytest.mark.parametrize("receipt_id", RECEIPTS)
def test_receipt_segments_come_in_reading_order(receipt_results, receipt_id):
    result, truth = receipt_results[receipt_id], ground_truth(receipt_id, TEST_RECEIPTS)
    matches = match_truth(truth, [box(item) for item in result["words_result"]])
    above_first = []
    for i, j, same_row in row_pairs(truth):
        if not same_row and matches[i] is not None and matches[j] is not None and matches[i] != matches[j]:
            upper, lower = sorted((i, j), key=lambda k: truth[k].box[1])
            above_first.append(matches[upper] < matches[lower])
    assert len(above_first) > 300
    assert statistics.fmean(above_first) >= 0.99


@pytest.mark.parametrize("receipt_id", RECEIPTS)
def test_receipt_item_rows_are_markdown_table_rows(receipt_results, receipt_id):
    result, truth = receipt_results[receipt_id], ground_truth(receipt_id, TEST_RECEIPTS)
    tables = [block for block in parse_blocks(result["markdown"]) if block.kind == "table"]
    # Rows of three or more printed columns (code, quantity, price, amount...) are table rows.
    found, printed = printed_rows_in_tables(truth, [row for table in tables for row in table.items])
    assert printed and found / printed >= 0.75, (found, printed)


@pytest.mark.parametrize("receipt_id", RECEIPTS)
def test_receipt_result_fields_agree(receipt_results, receipt_id):
    result = receipt_results[receipt_id]
    assert_consistent(result)
    assert any(block["type"] == "table" for block in result["blocks"])
    assert result["pages"] == [
        {
            "page": 0,
            "width": result["image"]["width"],
            "height": result["image"]["height"],
            "orientation": 0,
            "source": "ocr",
            "dpi": None,
            "words_result_start": 0,
            "words_result_num": len(result["words_result"]),
            "location": result["pages"][0]["location"],
        }
    ]
    for line in result["lines"]:
        # The line's box holds its segments' boxes (a pixel of rounding aside).
        left, top, right, bottom = box(line)
        for i in line["segment_indexes"]:
            s_left, s_top, s_right, s_bottom = box(result["words_result"][i])
            assert left - 2 <= s_left and top - 2 <= s_top and s_right <= right + 2 and s_bottom <= bottom + 2


TEST_IMAGES = sorted(p for p in IMAGES.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


@pytest.mark.parametrize("path", TEST_IMAGES, ids=lambda p: p.name)
def test_every_test_image_gets_a_consistent_structure(api, path):
    answer = post(api, path.read_bytes(), path.name, return_markdown="true")
    assert answer.status_code == 200, answer.get_json()
    result = answer.get_json()
    assert_consistent(result)
    (page,) = result["pages"]
    assert (page["width"], page["height"]) == (result["image"]["width"], result["image"]["height"])
    if not result["words_result"]:
        assert result["blocks"] == result["lines"] == [] and result["plain_text"] == result["markdown"] == ""
        assert page["location"] is None


def test_every_page_of_a_tiff_is_recognised_in_order(api, receipt_results):
    tiff = tiff_of(receipt_path("000", TEST_RECEIPTS), receipt_path("001", TEST_RECEIPTS))
    answer = post(api, tiff, "two.tiff", return_markdown="true")
    assert answer.status_code == 200, answer.get_json()
    result = answer.get_json()
    assert_consistent(result)
    assert result["image"]["page_count"] == result["summary"]["pages"] == 2
    first, second = result["pages"]
    for page, receipt_id in ((first, "000"), (second, "001")):
        alone = receipt_results[receipt_id]
        assert (page["width"], page["height"]) == (alone["image"]["width"], alone["image"]["height"])
        start, end = page["words_result_start"], page["words_result_start"] + page["words_result_num"]
        assert [item["words"] for item in result["words_result"][start:end]] == [
            item["words"] for item in alone["words_result"]
        ]
        page_lines = [line for line in result["lines"] if line["page"] == page["page"]]
        assert [line["words"] for line in page_lines] == [line["words"] for line in alone["lines"]]
        assert [[i - start for i in line["segment_indexes"]] for line in page_lines] == [
            line["segment_indexes"] for line in alone["lines"]
        ]
    # The pages' text is each receipt's, not swapped.
    texts = ["\n".join(item["words"] for item in result["words_result"] if item["page"] == n) for n in (0, 1)]
    truths = [" ".join(line.text for line in ground_truth(rid, TEST_RECEIPTS)) for rid in ("000", "001")]
    assert character_error_rate(texts[0].upper(), truths[0]) < character_error_rate(texts[0].upper(), truths[1])
    assert character_error_rate(texts[1].upper(), truths[1]) < character_error_rate(texts[1].upper(), truths[0])
    # Markdown separates the pages with a rule.
    assert [block.kind for block in parse_blocks(result["markdown"])].count("rule") == 1


class TwoPagesConfig(TestConfig):
    MAX_PAGES = 2
    LOW_SCORE_THRESHOLD = 0.99


def test_pages_beyond_the_limit_are_not_read_and_the_threshold_is_configurable(engine):
    client = create_app(TwoPagesConfig(), engine=engine).test_client()
    paths = [IMAGES / "en.jpg", IMAGES / "test_letterbox_like.jpg", IMAGES / "latin.jpg"]
    answer = post(client, tiff_of(*paths), "three.tiff")
    assert answer.status_code == 200, answer.get_json()
    result = answer.get_json()
    assert_consistent(result, low_score_threshold=0.99)
    assert result["image"]["page_count"] == 3
    assert [(page["width"], page["height"]) for page in result["pages"]] == [Image.open(p).size for p in paths[:2]]


def test_need_location_false_drops_coordinates_of_lines_blocks_and_pages(api, receipt_results):
    data = receipt_path("001", TEST_RECEIPTS).read_bytes()
    answer = post(api, data, "001.jpg", need_location="false", return_markdown="true")
    assert answer.status_code == 200, answer.get_json()
    result = answer.get_json()
    for field in ("words_result", "lines", "blocks", "pages"):
        assert result[field] and all(not COORDINATES & set(item) for item in result[field])

    def without_coordinates(value):
        if isinstance(value, dict):
            return {k: without_coordinates(v) for k, v in value.items() if k not in COORDINATES}
        if isinstance(value, list):
            return [without_coordinates(v) for v in value]
        return value

    # Everything else is what the same image gets with its coordinates.
    located = receipt_results["001"]
    for field in ("words_result", "lines", "blocks", "pages", "text", "plain_text", "markdown", "summary"):
        assert result[field] == without_coordinates(located[field])
