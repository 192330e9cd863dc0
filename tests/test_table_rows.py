"""A table's column of short numbers on tight rows is read row by row."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.fonts import cjk_font

ROW_NUMBERS = ["64", "68", "69", "70", "71", "74", "75", "78", "79", "80"]


def table_page(size=30, row_gap=1.1):
    """A caption over two columns of a table: row numbers and sections, rows 1.1 font sizes apart."""
    page = Image.new("RGB", (900, 1000), "white")
    draw = ImageDraw.Draw(page)
    font = cjk_font(size)
    draw.text((60, 40), "Table 3. Row numbers and sections", font=font, fill="black")
    for row, number in enumerate(ROW_NUMBERS):
        top = 150 + row * size * row_gap
        draw.text((120, top), number, font=font, fill="black")
        draw.text((400, top), f"{13 + row // 3} A", font=font, fill="black")
    return np.asarray(page)[:, :, ::-1].copy()


@pytest.fixture(scope="module")
def page():
    return table_page()


def test_a_column_of_numbers_on_tight_rows_reads_each_number(engine, page):
    # At the page's own size the detector runs the column of numbers together
    # into one tall narrow box, read as nothing; detected again smaller, it parts.
    merged = [p for p in engine._detect_at(page, 1.0) if np.ptp(p[:, 1]) > 75]
    assert merged, "the detector no longer runs these rows together: the test shows nothing"

    texts = [segment.text for segment in engine.recognize(page).segments]

    assert [text for text in texts if text in ROW_NUMBERS] == ROW_NUMBERS
    assert "Table 3. Row numbers and sections" in texts
