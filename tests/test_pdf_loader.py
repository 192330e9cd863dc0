"""How each PDF page is read (text layer or engine), at what resolution, and where its boxes lie.

No engine here: these are the loader's decisions, checked on PDFs the tests write
and on the pixels PDFium renders for them.
"""

import io
import threading
import time

import numpy as np
import pytest
from PIL import Image

from app.inputs.pdf_loader import PdfSettings, load_pdf
from app.recognition.engine import DetectionSettings
from app.web.errors import DeadlineExceededError
from tests import pdf_documents as pdf


def settings(**overrides):
    return PdfSettings(**{"max_pixels": 40_000_000, "max_pages": 10, "min_text_coverage": 0.8, **overrides})


def read(data, **overrides):
    with load_pdf(data, settings(**overrides)) as document:
        return [(page, page.pixels if page.source == "ocr" else None) for page in document.pages]


def jpeg_of(image):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize("dpi", [150, 200, 300])
def test_a_scan_is_rendered_at_its_own_resolution(dpi):
    size = pdf.receipt_size()
    writer = pdf.scanned_page(pdf.PdfWriter(), pdf.RECEIPT_JPEG.read_bytes(), size, dpi)
    [(page, pixels)] = read(writer.bytes())
    assert page.source == "ocr" and page.dpi == dpi
    assert (page.width, page.height) == size and pixels.shape == (size[1], size[0], 3)
    # The scan's own pixels, as decoding the JPEG gives them.
    assert np.array_equal(pixels, np.asarray(Image.open(pdf.RECEIPT_JPEG).convert("RGB"))[:, :, ::-1])


@pytest.mark.parametrize("font_size", [8, 12, 20])
def test_a_text_page_is_sized_so_its_body_text_is_the_detectors_target_height(font_size):
    writer = pdf.PdfWriter().page().lines(72, 720, ["Body text of the page, line %d" % n for n in range(8)], font_size)
    [(page, _)] = read(writer.bytes())
    target = DetectionSettings().target_text_height
    assert page.dpi == pytest.approx(target / font_size * 72, abs=0.1)
    heights = [np.ptp(segment.polygon[:, 1]) for segment in page.text_segments]
    # The segment boxes span the font's ascent and descent: about one font size.
    assert target * 0.9 <= np.median(heights) <= target * 1.3


def test_a_huge_page_is_rendered_under_the_pixel_limit():
    writer = pdf.PdfWriter().page(14400, 14400).text(72, 7000, "TINY PRINT ON A HUGE PAGE", 10)
    [(page, pixels)] = read(writer.bytes(), max_pixels=4_000_000, force_ocr=True)
    assert page.width * page.height <= 4_000_000 and pixels.shape[:2] == (page.height, page.width)


def test_a_scan_with_an_invisible_text_layer_is_recognised_again():
    """Someone else's OCR under a scan is a guess, not the document's text."""
    size = pdf.receipt_size()
    writer = pdf.scanned_page(pdf.PdfWriter(), pdf.RECEIPT_JPEG.read_bytes(), size, 200)
    for row in range(40):
        writer.text(10, 10 + 10 * row, "INVISIBLE OCR LAYER TEXT", 8, invisible=True)
    [(page, _)] = read(writer.bytes())
    assert page.source == "ocr"


def test_a_text_layer_covering_part_of_what_is_printed_is_not_used():
    """A scan whose visible text layer holds only its heading: the rest would be lost."""
    writer = pdf.PdfWriter().page()
    writer.jpeg(pdf.RECEIPT_JPEG.read_bytes(), 100, 50, 300, 614)
    writer.text(100, 700, "Scanned receipt", 14)
    [(page, _)] = read(writer.bytes())
    assert page.source == "ocr"
    # The same page without the scan is all text layer.
    [(text_only, _)] = read(pdf.PdfWriter().page().text(100, 700, "Scanned receipt", 14).bytes())
    assert text_only.source == "text_layer"


def test_the_coverage_threshold_is_the_config_setting():
    writer = pdf.PdfWriter().page()
    writer.jpeg(pdf.RECEIPT_JPEG.read_bytes(), 100, 50, 300, 614)
    writer.text(100, 700, "Scanned receipt", 14)
    [(page, _)] = read(writer.bytes(), min_text_coverage=0.0)
    assert page.source == "text_layer"


def test_force_ocr_renders_pages_that_have_a_text_layer():
    [(page, pixels)] = read(pdf.born_digital_pdf(), force_ocr=True)
    assert page.source == "ocr" and page.text_segments is None and pixels.shape[:2] == (page.height, page.width)


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_text_layer_boxes_lie_on_the_printed_text(rotate):
    """Every box holds ink of the rendered page and almost all ink is in a box, on turned pages too."""
    writer = pdf.PdfWriter().page(rotation=rotate)
    data = writer.lines(72, 720, pdf.INVOICE_LINES, 12).text(350, 300, "42.50", 12).bytes()
    [(page, _)] = read(data)
    [(_, pixels)] = read(data, force_ocr=True)
    ink = pixels.min(axis=2) < 128
    inside = np.zeros_like(ink)
    for segment in page.text_segments:
        left, top = np.floor(segment.polygon.min(axis=0)).astype(int)
        right, bottom = np.ceil(segment.polygon.max(axis=0)).astype(int)
        assert ink[top:bottom, left:right].mean() > 0.05, segment.text
        inside[top:bottom, left:right] = True
    assert (ink & inside).sum() / ink.sum() > 0.98
    assert {segment.text for segment in page.text_segments} == {*pdf.INVOICE_LINES, "42.50"}


def test_rendering_stops_at_the_deadline():
    with pytest.raises(DeadlineExceededError):
        read(pdf.born_digital_pdf(), deadline=time.monotonic() - 1)


def test_pages_beyond_the_limit_are_counted_not_read():
    with load_pdf(pdf.many_pages_pdf(3000), settings(max_pages=4)) as document:
        assert document.frame_count == 3000 and len(document.pages) == 4


def test_a_request_waiting_for_pdfium_past_its_deadline_gives_up():
    """PDFium runs one call at a time per worker; a request does not wait for it forever."""
    from app.inputs import pdf_loader

    held, release = threading.Event(), threading.Event()

    def hold_pdfium():
        with pdf_loader._PDFIUM:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_pdfium)
    holder.start()
    held.wait(10)
    try:
        with pytest.raises(DeadlineExceededError):
            read(pdf.born_digital_pdf(), deadline=time.monotonic() + 0.3)
    finally:
        release.set()
        holder.join()
