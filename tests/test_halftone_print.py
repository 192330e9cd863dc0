"""Grey print made of halftone dots, on a page large enough to be reduced for detection, is read."""

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.fonts import cjk_font

HEADING = "US Pharmaceuticals & Biotechnology"


def report_page(width=2000, height=2600):
    """A 5.2-megapixel report page: a grey heading printed as dots on a 4-pixel screen, black body lines."""
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).text((130, 280), HEADING, font=cjk_font(48), fill=255)
    rows, columns = np.mgrid[0:height, 0:width]
    dots = (rows % 4 < 2) & (columns % 4 < 2)
    pixels = np.full((height, width, 3), 255, np.uint8)
    pixels[(np.asarray(mask) > 128) & dots] = 90
    page = Image.fromarray(pixels)
    draw, body = ImageDraw.Draw(page), cjk_font(30)
    for line in range(20):
        draw.text((130, 600 + 60 * line), f"Body line {line} of the report, set in plain black type.",
                  font=body, fill="black")
    return np.asarray(page)[:, :, ::-1].copy()


@pytest.fixture(scope="module")
def page():
    return report_page()


def heading_texts(engine, page):
    return [s.text for s in engine.recognize(page).segments if s.polygon[:, 1].max() < 500]


def test_a_halftone_heading_is_read_on_a_reduced_page(engine, page, monkeypatch):
    assert heading_texts(engine, page) == [HEADING]

    # Without smoothing, the dots alias in the reduced input and the heading is lost
    # (the faint-print pass finds only pieces of it).
    monkeypatch.setattr(engine, "detection", replace(engine.detection, reduced_blur=0.0))
    assert HEADING not in heading_texts(engine, page)
