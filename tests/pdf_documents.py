"""Build PDFs in code for tests and benchmarks: born-digital text, scanned pages, both mixed.

PDFium writes them (pypdfium2's page-object API), so what a test posts is a
real PDF with real fonts: the standard fonts PDFium carries, and a CJK font
from the Debian package fonts-wqy-microhei (Makefile SYSTEM_PACKAGES) for Chinese.
"""

import ctypes
import io
from functools import cache
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

DATA = Path(__file__).resolve().parent / "data" / "pdf"
# A real scanned receipt (SROIE dev 019; tests/data/pdf/README.md).
RECEIPT_JPEG = DATA / "receipt-019.jpg"
RECEIPT_WORDS = ("SHELL", "TRADING", "GENTING")
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# US Letter, in points.
LETTER = (612.0, 792.0)


def _wide(text):
    """A NUL-terminated UTF-16 string for PDFium."""
    data = (text + "\x00").encode("utf-16-le")
    return ctypes.cast(ctypes.create_string_buffer(data, len(data)), ctypes.POINTER(ctypes.c_ushort))


class PdfWriter:
    """A new PDF, page by page; ``bytes()`` saves it."""

    def __init__(self):
        self.document = pdfium.PdfDocument.new()
        self._cjk_font = None
        self._page = None

    def page(self, width=LETTER[0], height=LETTER[1], rotation=0):
        """Start a page; ``rotation`` (the page's /Rotate) turns it clockwise when shown."""
        self._finish_page()
        self._page = self.document.new_page(width, height)
        self._page.set_rotation(rotation)
        return self

    def text(self, x, y, text, size=12.0, font="Helvetica", invisible=False):
        """Draw ``text`` with its baseline starting at (x, y) points from the bottom-left."""
        if font == "cjk":
            obj = pdfium_c.FPDFPageObj_CreateTextObj(self.document, self._cjk(), size)
        else:
            obj = pdfium_c.FPDFPageObj_NewTextObj(self.document, font.encode(), size)
        pdfium_c.FPDFText_SetText(obj, _wide(text))
        if invisible:
            pdfium_c.FPDFTextObj_SetTextRenderMode(obj, pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE)
        pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, y)
        pdfium_c.FPDFPage_InsertObject(self._page, obj)
        return self

    def lines(self, x, top, lines, size=12.0, font="Helvetica", leading=1.5):
        """Draw ``lines`` one under the other from ``top`` (points from the bottom)."""
        for number, line in enumerate(lines):
            self.text(x, top - size * (1 + leading * number), line, size, font)
        return self

    def jpeg(self, data, left, bottom, width, height):
        """Place JPEG ``data`` (kept as it is: DCT-encoded) in the box given in points."""
        image = pdfium.PdfImage.new(self.document)
        image.load_jpeg(io.BytesIO(data), inline=True)
        image.set_matrix(pdfium.PdfMatrix().scale(width, height).translate(left, bottom))
        self._page.insert_obj(image)
        return self

    def rectangle(self, left, bottom, width, height, grey=0):
        """A filled rectangle: a rule of a table, a logo."""
        path = pdfium_c.FPDFPageObj_CreateNewRect(left, bottom, width, height)
        pdfium_c.FPDFPageObj_SetFillColor(path, grey, grey, grey, 255)
        pdfium_c.FPDFPath_SetDrawMode(path, pdfium_c.FPDF_FILLMODE_ALTERNATE, False)
        pdfium_c.FPDFPage_InsertObject(self._page, path)
        return self

    def bytes(self):
        self._finish_page()
        buffer = io.BytesIO()
        self.document.save(buffer)
        self.document.close()
        return buffer.getvalue()

    def _finish_page(self):
        if self._page is not None:
            self._page.gen_content()
            self._page.close()
            self._page = None

    def _cjk(self):
        if self._cjk_font is None:
            data = CJK_FONT.read_bytes()
            buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
            self._cjk_font = pdfium_c.FPDFText_LoadFont(
                self.document, buffer, len(data), pdfium_c.FPDF_FONT_TRUETYPE, True
            )
            if not self._cjk_font:
                raise RuntimeError(f"PDFium could not load {CJK_FONT}")
        return self._cjk_font


def scanned_page(writer, jpeg_data, pixel_size, dpi):
    """A page exactly the size of the scan at ``dpi``, the scan filling it."""
    width, height = (value * 72.0 / dpi for value in pixel_size)
    return writer.page(width, height).jpeg(jpeg_data, 0, 0, width, height)


# Text of the born-digital test page: what its text layer must give back exactly.
INVOICE_TITLE = "INVOICE 2026-0042"
INVOICE_LINES = [
    "Bill to: Harbour Street Stores Ltd",
    "Delivery within 14 days of the order date.",
    "Payment by bank transfer, reference 55-0192.",
]
INVOICE_TABLE = [("Item", "Qty", "Amount"), ("Paper A4", "10", "42.50"), ("Toner", "2", "118.00")]
CHINESE_LINE = "发票金额合计人民币"


@cache
def born_digital_pdf():
    """One Letter page: a title, a paragraph, a three-column table and a Chinese line."""
    writer = PdfWriter().page()
    writer.text(72, 700, INVOICE_TITLE, size=24, font="Helvetica-Bold")
    writer.lines(72, 670, INVOICE_LINES, size=12)
    for row, cells in enumerate(INVOICE_TABLE):
        for x, cell in zip((72, 300, 420), cells):
            writer.text(x, 580 - 22 * row, cell, size=12)
    writer.rectangle(72, 573, 420, 0.8)
    writer.text(72, 480, CHINESE_LINE, size=14, font="cjk")
    return writer.bytes()


def receipt_size():
    from PIL import Image

    with Image.open(RECEIPT_JPEG) as image:
        return image.size


@cache
def scanned_pdf():
    """The receipt scan as a page at 200 dpi, with no text layer."""
    return scanned_page(PdfWriter(), RECEIPT_JPEG.read_bytes(), receipt_size(), 200).bytes()


@cache
def mixed_pdf():
    """Page 1 born-digital, page 2 the receipt scan with an invisible partial text layer (one word)."""
    writer = PdfWriter().page()
    writer.text(72, 700, INVOICE_TITLE, size=24, font="Helvetica-Bold")
    writer.lines(72, 670, INVOICE_LINES, size=12)
    width, height = (value * 72.0 / 200 for value in receipt_size())
    scanned_page(writer, RECEIPT_JPEG.read_bytes(), receipt_size(), 200)
    writer.text(10, height - 40, "SHELL", size=9, invisible=True)
    return writer.bytes()


# Hand-written PDFs: structures no writer library makes on purpose -------------


def hand_written_pdf(objects, trailer=b"", xref=True):
    """A PDF of ``objects`` (the bodies of objects 1..n; object 1 is the catalog) with a correct xref."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    start = len(out)
    if xref:
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, start)
    return bytes(out)


def stream(data, dictionary=b""):
    return b"<< /Length %d %s >>\nstream\n" % (len(data), dictionary) + data + b"\nendstream"


def text_content(text, size=24, x=72, y=700):
    return b"BT /F1 %d Tf %d %d Td (%s) Tj ET" % (size, x, y, text.encode("latin-1"))


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def one_page_pdf(content, media_box=b"[0 0 612 792]", catalog_extra=b"", resources=b""):
    """Catalog, pages, one page with ``content`` and Helvetica as /F1."""
    return hand_written_pdf([
        b"<< /Type /Catalog /Pages 2 0 R %s >>" % catalog_extra,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> %s >> >>"
        % (media_box, resources),
        stream(content),
        FONT,
    ])


def many_pages_pdf(count, text="PAGE"):
    """``count`` pages sharing one content stream."""
    kids = b" ".join(b"%d 0 R" % (5 + k) for k in range(count))
    pages = [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 3 0 R "
             b"/Resources << /Font << /F1 4 0 R >> >> >>"] * count
    return hand_written_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
        stream(text_content(text, size=20, x=20, y=100)),
        FONT,
        *pages,
    ])


def encrypted_pdf():
    """A PDF under the standard security handler whose user password is not empty."""
    encrypt = (b"<< /Filter /Standard /V 2 /R 3 /Length 128 /P -3904 "
               b"/O <" + b"6b" * 32 + b"> /U <" + b"3c" * 32 + b"> >>")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
               stream(b"\x8f\x12\x99\x03" * 8),
               encrypt]
    return hand_written_pdf(objects, trailer=b"/Encrypt 5 0 R /ID [<" + b"a1" * 16 + b"> <" + b"a1" * 16 + b">]")


def nested_forms_pdf(depth):
    """A page whose content draws a form that draws a form ... ``depth`` deep, the last one text."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /XObject << /X 6 0 R >> >> >>",
        stream(b"/X Do"),
        FONT,
    ]
    for level in range(depth):
        number = 6 + level
        inner = b"/X Do" if level < depth - 1 else text_content("NESTED")
        resources = b"/Resources << /XObject << /X %d 0 R >> /Font << /F1 5 0 R >> >>" % (number + 1)
        objects.append(stream(inner, b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] " + resources))
    return hand_written_pdf(objects)


def self_drawing_form_pdf():
    """A form XObject that draws itself: endless recursion unless the reader stops it."""
    return hand_written_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /XObject << /X 5 0 R >> >> >>",
        stream(b"/X Do"),
        stream(b"0.5 0 0 0.5 10 10 cm /X Do", b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] "
               b"/Resources << /XObject << /X 5 0 R >> >>"),
    ])


def deflate_bomb_pdf(megabytes):
    """A page whose content stream inflates to ``megabytes`` MB of no-op operators."""
    import zlib

    unpacked = b"q Q " * (megabytes * 1024 * 1024 // 4)
    packed = zlib.compress(unpacked, 9)
    return hand_written_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        stream(packed, b"/Filter /FlateDecode"),
        FONT,
    ])


def huge_image_pdf(width, height):
    """A page with an image claiming ``width`` x ``height`` pixels (its data is tiny)."""
    import zlib

    return hand_written_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /XObject << /I 5 0 R >> >> >>",
        stream(b"612 0 0 792 0 0 cm /I Do"),
        stream(zlib.compress(b"\x00" * 100000), b"/Type /XObject /Subtype /Image /Width %d /Height %d "
               b"/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode" % (width, height)),
    ])


def javascript_pdf():
    """Opens with a JavaScript action (and has a form field calculated by script); the text must still read."""
    return one_page_pdf(
        text_content("INVOICE"),
        catalog_extra=b"/OpenAction << /S /JavaScript "
        b"/JS (app.alert\\('hi'\\); this.submitForm\\('http://169.254.169.254/'\\);) >> "
        b"/Names << /JavaScript << /Names [(x) << /S /JavaScript /JS (while\\(true\\){}) >>] >> >>",
    )


def broken_xref_pdf():
    """A one-page PDF whose xref offsets all point to the wrong place (readers rebuild it by scanning)."""
    data = one_page_pdf(text_content("INVOICE"))
    head, _, tail = data.partition(b"xref\n")
    entries, _, rest = tail.partition(b"trailer")
    broken = entries.replace(b" 00000 n", b" 00000 n").replace(b"00000000", b"00000099")
    return head + b"xref\n" + broken + b"trailer" + rest
