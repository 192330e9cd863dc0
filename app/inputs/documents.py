"""Open what a request carried, a PDF or an image, as pages to read.

Which it is is decided by content, never by name or declared type. A PDF
keeps its document open while its pages are read (they render one at a time),
so the pages are handed out in a context.
"""

from contextlib import contextmanager

from app.inputs.image_loader import load_image
from app.inputs.pdf_loader import PdfSettings, is_pdf, load_pdf
from app.web.errors import UnsupportedImageError

ZIP_SIGNATURE = b"PK\x03\x04"


@contextmanager
def opened_pages(data, config, *, force_ocr=False, deadline=float("inf")):
    """Yield the loaded document: ``pages``, ``format`` and ``frame_count``."""
    if data.startswith(ZIP_SIGNATURE):
        raise UnsupportedImageError(
            "The data is a ZIP archive; archives are not unpacked: send the PDF or image itself."
        )
    if not is_pdf(data):
        yield load_image(data, config["MAX_IMAGE_PIXELS"], config["MAX_PAGES"])
        return
    settings = PdfSettings(
        max_pixels=config["MAX_IMAGE_PIXELS"],
        max_pages=config["MAX_PAGES"],
        min_text_coverage=config["PDF_TEXT_COVERAGE"],
        force_ocr=force_ocr,
        deadline=deadline,
    )
    with load_pdf(data, settings) as document:
        yield document
