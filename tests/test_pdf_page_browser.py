"""The try-it page in real headless Chromium with a PDF: each page drawn with its boxes and words.

Uses the browser, server and page fixtures of tests/test_page_browser.py.
"""

import pytest
from selenium.webdriver.common.by import By

from tests import pdf_documents as pdf
from tests.test_page_browser import (  # noqa: F401
    answer_shown,
    browser,
    live_server,
    page,
    save_screenshot,
    upload,
)

pytestmark = pytest.mark.slow


def test_a_mixed_pdf_shows_each_page_with_its_boxes(page, tmp_path):  # noqa: F811 (the imported fixture)
    path = tmp_path / "mixed.pdf"
    path.write_bytes(pdf.mixed_pdf())
    result = upload(page, path)
    assert result.get_attribute("data-state") == "done"
    answer = answer_shown(page)
    save_screenshot(page, "pdf-mixed.png")

    captions = [element.text for element in page.find_elements(By.CSS_SELECTOR, "#pages .page-caption")]
    assert captions == [
        "Page 1 of 2: 1428 × 1848 at 168 dpi, read from its text layer",
        "Page 2 of 2: 447 × 915 at 200 dpi, recognised",
    ]
    # Every segment has its box, on the page it belongs to.
    assert int(result.get_attribute("data-boxes-drawn")) == answer["words_result_num"]
    canvases = page.find_elements(By.CSS_SELECTOR, "#pages canvas")
    assert len(canvases) == 2
    # The pages are drawn in their own proportions, one under the other.
    for canvas, shown in zip(canvases, answer["pages"]):
        assert canvas.rect["width"] / canvas.rect["height"] == pytest.approx(shown["width"] / shown["height"], rel=0.02)
    assert canvases[1].rect["y"] > canvases[0].rect["y"] + canvases[0].rect["height"]
    # A PDF is not an <img> the browser can show: the first page is paper, not a broken picture.
    assert not page.find_element(By.ID, "image").is_displayed()
