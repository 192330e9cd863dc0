"""Read PDF pages: from the text layer where it covers what is printed, else rendered for the engine.

PDFium (pypdfium2) does the parsing and rendering. It is not thread-safe, so
every call into it holds one process-wide lock. Forms are never initialised
and the wheel is built without V8, so a document's JavaScript never runs.

Every page is mapped to pixels at a resolution chosen for it (``_scale``):
a scan at its embedded image's own resolution, other pages so that their
median font lands in the detector's best text height. Text-layer segments use
the same pixel coordinates a rendering would, so both kinds of page give the
same result fields. Pages read by the engine are rendered only when read, so a
document holds one rendered page at a time.
"""

import ctypes
import math
import re
import statistics
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from app.recognition.engine import DetectionSettings, Segment
from app.web.errors import (
    DeadlineExceededError,
    EncryptedPdfError,
    PayloadTooLargeError,
    UnsupportedImageError,
)

# PDF readers look for the header anywhere in the first kilobyte; so do we.
PDF_SIGNATURE = b"%PDF-"
SIGNATURE_WINDOW = 1024
POINTS_PER_INCH = 72.0
# Pages without text or a scan to size them by are rendered at this resolution;
# the engine's own size policy then looks closer at small print.
DEFAULT_DPI = 200.0
# No page is rendered finer than this (a 2-point footnote would ask for more).
MAX_DPI = 600.0
# A page is a scan when one image covers at least this share of it.
SCAN_COVER = 0.6
# The ink measured against the text layer is found on a rendering of about this many pixels.
COVERAGE_PIXELS = 1_000_000
# Grey-level step (morphological gradient) that counts as printed ink.
INK_CONTRAST = 48
# Text-layer characters are grown by this share of their height when matched with ink
# (anti-aliasing, and glyphs that reach outside their font box).
INK_MARGIN = 0.3
# A text layer whose characters are mostly unmapped (no ToUnicode) is unreadable.
MAX_UNMAPPED_SHARE = 0.1
# Text-layer characters of one line further apart than this many text heights
# start a new segment (a table cell, a column), as the detector's boxes do.
SEGMENT_GAP = 1.0
# Nested form objects deeper than this are not searched for images.
MAX_FORM_DEPTH = 12
# Compressed streams other than images (page content, forms, fonts) may inflate to
# this much in all. PDFium inflates a stream up to 1 GiB and parses a page's
# content before it can be interrupted, at about 12 MB a second: a 10 MB upload of
# deflated no-ops would hold a worker for minutes and a gigabyte. Images are
# bounded by their pixel count instead (decoded only to their declared size).
MAX_INFLATED_CONTENT = 64 * 1024 * 1024
# How far before "stream" its dictionary is looked for.
STREAM_DICTIONARY_WINDOW = 4096

_PDFIUM = threading.RLock()
# No \b: a word boundary makes the scan of a 2.5 MB file 150 ms instead of 1 ("endstream" is skipped below).
_STREAM_START = re.compile(rb"stream\r?\n")
_OBJECT_START = re.compile(rb"\bobj\b")
_IMAGE = re.compile(rb"/Subtype\s*/Image\b")
_FLATE = re.compile(rb"/(FlateDecode|Fl)\b")
_VISIBLE_MODES = {
    pdfium_c.FPDF_TEXTRENDERMODE_FILL,
    pdfium_c.FPDF_TEXTRENDERMODE_STROKE,
    pdfium_c.FPDF_TEXTRENDERMODE_FILL_STROKE,
    pdfium_c.FPDF_TEXTRENDERMODE_FILL_CLIP,
    pdfium_c.FPDF_TEXTRENDERMODE_STROKE_CLIP,
    pdfium_c.FPDF_TEXTRENDERMODE_FILL_STROKE_CLIP,
}


def is_pdf(data):
    return PDF_SIGNATURE in data[:SIGNATURE_WINDOW]


@dataclass
class PdfSettings:
    """What a request and the config decide about reading a PDF."""

    max_pixels: int
    max_pages: int
    min_text_coverage: float  # OCR_PDF_TEXT_COVERAGE
    force_ocr: bool = False
    deadline: float = math.inf  # time.monotonic() by which rendering must stop


@dataclass
class Character:
    text: str
    # left, top, right, bottom in PDF points with y pointing down: the text's own
    # frame, where its lines run left to right whatever the page's /Rotate.
    box: tuple | None
    font_size: float  # points


class PdfPage:
    """One page as read: its text-layer segments, or its pixels rendered on demand."""

    def __init__(self, document, index, width, height, dpi, text_segments, deadline, scan_object=None):
        self._document = document
        self._index = index
        self._deadline = deadline
        # Index of the page's one image when the page is nothing but that scan, at its own size.
        self._scan_object = scan_object
        self.width = width
        self.height = height
        self.dpi = dpi
        # Engine segments from the text layer; None when the page is read by the engine.
        self.text_segments = text_segments

    @property
    def source(self):
        return "ocr" if self.text_segments is None else "text_layer"

    @property
    def pixels(self):
        """The page rendered at ``dpi`` as BGR; rendered on each access, so read it once.

        A page that is only a scan gives the scan's own decoded pixels: PDFium
        resamples an image even when drawing it at its own size (at 200 dpi, not
        at 150 or 300), and that alone moved the engine's reading of a receipt by
        2.7% CER.
        """
        with _pdfium_until(self._deadline):
            page = _load_page(self._document, self._index)
            try:
                if self._scan_object is not None:
                    pixels = _image_pixels(pdfium_c.FPDFPage_GetObject(page, self._scan_object))
                    if pixels is not None and pixels.shape[:2] == (self.height, self.width):
                        return pixels
                return _render(page, self.width, self.height, self._deadline)
            finally:
                page.close()


class LoadedPdf:
    """The pages of a PDF to read, and the document they render from; close it when done."""

    format = "PDF"

    def __init__(self, document, pages, frame_count):
        self._document = document
        self.pages = pages
        self.frame_count = frame_count  # pages in the file, before the page limit

    def __enter__(self):
        return self

    def __exit__(self, *_):
        with _PDFIUM:
            self._document.close()


def load_pdf(data, settings):
    """Open ``data`` and decide how each of its first ``max_pages`` pages is read."""
    _check_inflated_content(data)
    with _pdfium_until(settings.deadline):
        document = _open(data)
        try:
            frame_count = len(document)
            pages = [_read_page(document, index, settings) for index in range(min(frame_count, settings.max_pages))]
        except pdfium.PdfiumError:
            document.close()
            raise UnsupportedImageError(
                "The PDF's pages could not be read (their structure is damaged); send the complete file."
            ) from None
        except BaseException:
            document.close()
            raise
    return LoadedPdf(document, pages, frame_count)


@contextmanager
def _pdfium_until(deadline):
    """Hold the PDFium lock; a request still waiting for it at its deadline gives up (504)."""
    wait = deadline - time.monotonic()
    if not _PDFIUM.acquire(timeout=-1 if math.isinf(wait) else max(0.0, wait)):
        raise _past_deadline()
    try:
        yield
    finally:
        _PDFIUM.release()


def _open(data):
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if error.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise EncryptedPdfError(
                "The PDF is encrypted and needs a password to open; send it without the password protection."
            ) from None
        if error.err_code == pdfium_c.FPDF_ERR_SUCCESS:
            raise UnsupportedImageError("The PDF has no pages.") from None
        raise UnsupportedImageError(
            "The PDF could not be read (its structure is damaged or it is cut off); send the complete file."
        ) from None


def _check_inflated_content(data):
    """Refuse a document whose deflated streams, images aside, inflate past MAX_INFLATED_CONTENT.

    Streams are found in the file as written (a stream is never inside another
    object), each with the dictionary that precedes it.
    """
    budget = MAX_INFLATED_CONTENT
    for match in _STREAM_START.finditer(data):
        if data[match.start() - 1:match.start()].isalpha():
            continue  # the end of "endstream", or part of a longer word
        window = data[max(0, match.start() - STREAM_DICTIONARY_WINDOW):match.start()]
        objects = list(_OBJECT_START.finditer(window))
        dictionary = window[objects[-1].end():] if objects else window
        if _IMAGE.search(dictionary) or not _FLATE.search(dictionary):
            continue
        budget -= _inflated_size(data, match.end(), budget + 1)
        if budget < 0:
            raise PayloadTooLargeError(
                f"The PDF's compressed page content inflates to more than {MAX_INFLATED_CONTENT // (1024 * 1024)} "
                "MB; send a simpler document."
            )


def _inflated_size(data, start, limit):
    """Bytes the zlib stream at ``start`` inflates to, counted up to ``limit``; 0 if it is not zlib."""
    inflater = zlib.decompressobj()
    size, position = 0, start
    try:
        while size < limit and not inflater.eof and position < len(data):
            chunk = data[position:position + 65536]
            position += len(chunk)
            size += len(inflater.decompress(chunk, limit - size))
            while inflater.unconsumed_tail and size < limit:
                size += len(inflater.decompress(inflater.unconsumed_tail, limit - size))
    except zlib.error:
        pass  # PDFium reads what it can of a damaged stream; what inflated so far counts
    return size


def _load_page(document, index):
    try:
        return document[index]
    except pdfium.PdfiumError:
        raise UnsupportedImageError(
            f"Page {index + 1} of the PDF could not be read (its page object is damaged); send the complete file."
        ) from None


def _read_page(document, index, settings):
    page = _load_page(document, index)
    try:
        images = _images(page, settings, index)
        textpage = page.get_textpage()
        try:
            width_pt, height_pt = page.get_size()
            if width_pt <= 0 or height_pt <= 0:
                raise UnsupportedImageError(f"Page {index + 1} of the PDF has no area.")
            to_upright = _PageMapping(page, width_pt, height_pt)
            characters, unmapped = _characters(textpage)
            scale = _scale(width_pt, height_pt, images, characters, settings.max_pixels)
            width, height = max(1, round(width_pt * scale)), max(1, round(height_pt * scale))
            text_segments = None
            # A page with nothing printed on it is read as its (empty) text layer: the
            # engine would search a blank rendering at ever finer scales for nothing.
            if (
                not settings.force_ocr
                and unmapped <= MAX_UNMAPPED_SHARE * len(characters)
                and _text_coverage(page, width_pt, height_pt, characters, to_upright, settings.deadline)
                >= settings.min_text_coverage
            ):
                text_segments = _segments(characters, to_upright, scale)
        finally:
            textpage.close()
    finally:
        page.close()
    return PdfPage(
        document, index, width, height, round(scale * POINTS_PER_INCH, 1), text_segments, settings.deadline,
        _sole_scan(images, width_pt, height_pt),
    )


# Resolution -----------------------------------------------------------------


@dataclass
class _Image:
    pixels: int  # width x height of the image's own data
    area: float  # square points it covers on the page
    dpi: float
    bounds: tuple = (0.0, 0.0, 0.0, 0.0)  # left, bottom, right, top in points
    position: int | None = None  # index among the page's objects; None inside a form
    upright: bool = False  # drawn unturned and unflipped (a plain scale and shift)
    alone: bool = False  # nothing else visible on the page


def _sole_scan(images, width_pt, height_pt):
    """The object index of the page's one image if the page is just that scan, upright and edge to edge."""
    if len(images) != 1:
        return None
    image = images[0]
    left, bottom, right, top = image.bounds
    fills_page = max(abs(left), abs(bottom), abs(right - width_pt), abs(top - height_pt)) <= 1.0
    return image.position if image.alone and image.upright and fills_page else None


def _images(page, settings, index):
    """Images on the page, looked into nested forms; refuses one larger than the pixel limit."""
    found, visible = [], 0

    def visit(count, get, depth):
        nonlocal visible
        for position in range(count):
            obj = get(position)
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < MAX_FORM_DEPTH:
                visit(pdfium_c.FPDFFormObj_CountObjects(obj),
                      lambda k, form=obj: pdfium_c.FPDFFormObj_GetObject(form, k), depth + 1)
            elif kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
                found.append(_image(obj, settings.max_pixels, index, position if depth == 0 else None))
            if kind != pdfium_c.FPDF_PAGEOBJ_TEXT or pdfium_c.FPDFTextObj_GetTextRenderMode(obj) in _VISIBLE_MODES:
                visible += 1
            if time.monotonic() > settings.deadline:
                raise _past_deadline()

    visit(pdfium_c.FPDFPage_CountObjects(page), lambda k: pdfium_c.FPDFPage_GetObject(page, k), 0)
    if visible == 1 and len(found) == 1 and pdfium_c.FPDFPage_GetRotation(page) == 0:
        found[0].alone = True
    return found


def _image(obj, max_pixels, index, position):
    width, height = ctypes.c_uint(), ctypes.c_uint()
    if not pdfium_c.FPDFImageObj_GetImagePixelSize(obj, width, height):
        return _Image(0, 0.0, 0.0)
    pixels = width.value * height.value
    if pixels > max_pixels:
        raise PayloadTooLargeError(
            f"Page {index + 1} of the PDF holds an image of {width.value}x{height.value} pixels, over the "
            f"limit of {max_pixels} pixels; send a smaller document."
        )
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top)
    area = max(0.0, right.value - left.value) * max(0.0, top.value - bottom.value)
    dpi = POINTS_PER_INCH * math.sqrt(pixels / area) if area > 0 and pixels else 0.0
    matrix = pdfium_c.FS_MATRIX()
    has_matrix = bool(pdfium_c.FPDFPageObj_GetMatrix(obj, matrix))
    upright = has_matrix and matrix.b == matrix.c == 0 and matrix.a > 0 and matrix.d > 0
    bounds = (left.value, bottom.value, right.value, top.value)
    return _Image(pixels, area, dpi, bounds, position, upright)


def _scale(width_pt, height_pt, images, characters, max_pixels):
    """Pixels per point: a scan at its own resolution, other pages sized by their text, under the limit."""
    page_area = width_pt * height_pt
    scans = [image for image in images if image.dpi and image.area >= SCAN_COVER * page_area]
    if scans:
        dpi = max(scans, key=lambda image: image.area).dpi
    elif characters:
        # The detector measures a line by its box, about one font size tall.
        font_size = statistics.median(c.font_size for c in characters)
        dpi = min(MAX_DPI, DetectionSettings().target_text_height / font_size * POINTS_PER_INCH)
    else:
        dpi = DEFAULT_DPI
    scale = dpi / POINTS_PER_INCH
    return min(scale, math.sqrt(max_pixels / page_area))


# Text layer -----------------------------------------------------------------


class _PageMapping:
    """From the text frame (PDF points, y down) to the page as shown, at one pixel per point.

    PDFium maps the crop box and the page's rotation; three mapped points give the affine map.
    """

    # Mapped on a large virtual canvas, so PDFium's integer results are precise.
    _CANVAS = 64

    def __init__(self, page, width_pt, height_pt):
        size_x, size_y = round(width_pt * self._CANVAS), round(height_pt * self._CANVAS)
        corners = []
        for x, y in ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0)):
            device_x, device_y = ctypes.c_int(), ctypes.c_int()
            pdfium_c.FPDF_PageToDevice(page, 0, 0, size_x, size_y, 0, x * 1000, y * 1000, device_x, device_y)
            corners.append((device_x.value / self._CANVAS, device_y.value / self._CANVAS))
        origin = np.array(corners[0])
        self._matrix = np.array([np.subtract(corners[1], origin), np.subtract(corners[2], origin)]) / 1000
        self._origin = origin

    def points(self, points):
        """Points of the text frame as points of the page as shown, an N x 2 array."""
        pdf_points = np.asarray(points, dtype=np.float64) * (1.0, -1.0)
        return pdf_points @ self._matrix + self._origin

    def corners(self, box):
        """The four corners of a text-frame box on the page as shown, clockwise from the text's top-left."""
        left, top, right, bottom = box
        return self.points([(left, top), (right, top), (right, bottom), (left, bottom)])


def _characters(textpage):
    """The page's visible characters in text order, boxes in the text frame; and how many lack Unicode.

    Line breaks PDFium generates come through as "\\n" with an empty box.
    """
    characters, unmapped, modes = [], 0, {}
    count = pdfium_c.FPDFText_CountChars(textpage)
    rect = pdfium_c.FS_RECTF()
    pending_high = None
    for index in range(max(0, count)):
        code = pdfium_c.FPDFText_GetUnicode(textpage, index)
        if code in (0x0A, 0x0D):
            characters.append(Character("\n", None, 0.0))
            continue
        if 0xD800 <= code < 0xDC00:
            pending_high = code
            continue
        if 0xDC00 <= code < 0xE000 and pending_high is not None:
            code = 0x10000 + ((pending_high - 0xD800) << 10) + (code - 0xDC00)
        pending_high = None
        obj = pdfium_c.FPDFText_GetTextObject(textpage, index)
        address = ctypes.cast(obj, ctypes.c_void_p).value
        if address not in modes:
            modes[address] = bool(obj) and pdfium_c.FPDFTextObj_GetTextRenderMode(obj) in _VISIBLE_MODES
        if not modes[address] and not pdfium_c.FPDFText_IsGenerated(textpage, index):
            continue
        if not pdfium_c.FPDFText_GetLooseCharBox(textpage, index, rect):
            continue
        text = chr(code) if code < 0x110000 else "\ufffd"
        if pdfium_c.FPDFText_HasUnicodeMapError(textpage, index) == 1 or not text.isprintable():
            unmapped += 1
            continue
        box = (rect.left, -rect.top, rect.right, -rect.bottom)
        characters.append(Character(text, box, pdfium_c.FPDFText_GetFontSize(textpage, index)))
    # Generated spaces and line breaks only separate words: a page of only those has no text.
    printed = [c for c in characters if c.box and not c.text.isspace()]
    return (characters if printed else []), unmapped


def _segments(characters, to_upright, scale):
    """Engine segments from the characters: runs on one line, split where the gap is wide."""
    segments, run = [], []

    def close_run():
        text = "".join(c.text for c in run).strip()
        if text:
            boxes = np.array([c.box for c in run if not c.text.isspace()])
            extent = (*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0))
            segments.append(Segment(" ".join(text.split()), 1.0, to_upright.corners(extent) * scale))
        run.clear()

    for character in characters:
        if character.box is None:
            close_run()
            continue
        if character.text.isspace():
            if run:
                run.append(character)
            continue
        if run and not _continues(run, character):
            close_run()
        run.append(character)
    close_run()
    return segments


def _continues(run, character):
    """Whether ``character`` follows the run on its line, without a gap wide enough to split it."""
    printed = [c for c in run if not c.text.isspace()]
    last = printed[-1]
    height = max(last.box[3] - last.box[1], character.box[3] - character.box[1], 1e-6)
    middle = (last.box[1] + last.box[3]) / 2
    if abs((character.box[1] + character.box[3]) / 2 - middle) > height / 2:
        return False
    gap = character.box[0] - last.box[2]
    return -height / 2 <= gap <= SEGMENT_GAP * height


def _text_coverage(page, width_pt, height_pt, characters, to_upright, deadline):
    """The share of the page's printed ink that lies in its text layer's characters.

    Ink is where the grey level steps (a morphological gradient), so a filled
    area counts by its outline and a photo by its detail; a scan with an empty
    or partial text layer covers little of it.
    """
    scale = min(1.0, math.sqrt(COVERAGE_PIXELS / (width_pt * height_pt)))
    width, height = max(1, round(width_pt * scale)), max(1, round(height_pt * scale))
    grey = cv2.cvtColor(_render(page, width, height, deadline), cv2.COLOR_BGR2GRAY)
    ink = cv2.morphologyEx(grey, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) >= INK_CONTRAST
    total = int(np.count_nonzero(ink))
    if not total:
        return 1.0  # nothing printed, so nothing the text layer misses
    text = np.zeros_like(ink)
    for character in characters:
        if character.box is None or character.text.isspace():
            continue
        corners = to_upright.corners(character.box) * scale
        (left, top), (right, bottom) = corners.min(axis=0), corners.max(axis=0)
        grow = INK_MARGIN * (character.box[3] - character.box[1]) * scale + 1
        text[max(0, int(top - grow)):int(bottom + grow) + 1, max(0, int(left - grow)):int(right + grow) + 1] = True
    return np.count_nonzero(ink & text) / total


# Rendering ------------------------------------------------------------------


def _render(page, width, height, deadline):
    """The page as width x height BGR pixels on white; stops at ``deadline`` between drawing steps."""
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    buffer = (ctypes.c_ubyte * pixels.nbytes).from_buffer(pixels)
    bitmap = pdfium_c.FPDFBitmap_CreateEx(width, height, pdfium_c.FPDFBitmap_BGR, buffer, width * 3)
    if not bitmap:
        raise PayloadTooLargeError(f"A page of {width}x{height} pixels could not be rendered; send a smaller document.")
    try:
        pdfium_c.FPDFBitmap_FillRect(bitmap, 0, 0, width, height, 0xFFFFFFFF)
        pause = pdfium_c.IFSDK_PAUSE(version=1)
        # Pausing after every step lets the loop below check the deadline.
        pause.NeedToPauseNow = type(pause.NeedToPauseNow)(lambda _: True)
        status = pdfium_c.FPDF_RenderPageBitmap_Start(bitmap, page, 0, 0, width, height, 0, pdfium_c.FPDF_ANNOT, pause)
        while status == pdfium_c.FPDF_RENDER_TOBECONTINUED:
            if time.monotonic() > deadline:
                raise _past_deadline()
            status = pdfium_c.FPDF_RenderPage_Continue(page, pause)
    finally:
        pdfium_c.FPDF_RenderPage_Close(page)
        pdfium_c.FPDFBitmap_Destroy(bitmap)
    return pixels


def _image_pixels(obj):
    """An image object's own decoded pixels as BGR, or None when PDFium cannot give them."""
    bitmap = pdfium_c.FPDFImageObj_GetBitmap(obj)
    if not bitmap:
        return None
    try:
        channels = {pdfium_c.FPDFBitmap_Gray: 1, pdfium_c.FPDFBitmap_BGR: 3,
                    pdfium_c.FPDFBitmap_BGRx: 4, pdfium_c.FPDFBitmap_BGRA: 4}.get(pdfium_c.FPDFBitmap_GetFormat(bitmap))
        if channels is None:
            return None
        width, height = pdfium_c.FPDFBitmap_GetWidth(bitmap), pdfium_c.FPDFBitmap_GetHeight(bitmap)
        stride = pdfium_c.FPDFBitmap_GetStride(bitmap)
        address = ctypes.cast(pdfium_c.FPDFBitmap_GetBuffer(bitmap), ctypes.c_void_p).value
        rows = np.ctypeslib.as_array((ctypes.c_ubyte * (stride * height)).from_address(address)).reshape(height, stride)
        pixels = rows[:, :width * channels].reshape(height, width, channels)
        conversion = {1: cv2.COLOR_GRAY2BGR, 4: cv2.COLOR_BGRA2BGR}.get(channels)
        # A copy either way: the bitmap's memory is PDFium's and is freed below.
        return cv2.cvtColor(pixels, conversion) if conversion else pixels.copy()
    finally:
        pdfium_c.FPDFBitmap_Destroy(bitmap)


def _past_deadline():
    return DeadlineExceededError(
        "The PDF was not rendered within the request's time limit; send fewer or simpler pages."
    )
