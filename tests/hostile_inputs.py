"""A corpus of hostile and broken OCR requests, made by code, each with the answer it must get.

Every case is a raw request body and its Content-Type, so the Flask test client and
a real HTTP client send exactly the same bytes (duplicated parts, missing
boundaries and all). Shared by the corpus test, the load test and the fuzz test.
"""

import base64
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tests import pdf_documents as pdf

OCR = "/api/v1/image/ocr"
BOUNDARY = "hostile-corpus-boundary"
# Text drawn on the images that must be read despite an unusual mode.
WORD = "INVOICE"


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    content_type: str
    status: int
    code: str | None  # None for a 200
    says: str = ""  # a word the error message must contain (lower case)
    reads: str = ""  # for a 200: a word the recognised text must contain


def part(name, value, filename=None, content_type=None):
    """One multipart part; ``filename`` makes it a file part."""
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = f"Content-Disposition: {disposition}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    value = value.encode() if isinstance(value, str) else value
    return f"--{BOUNDARY}\r\n{head}\r\n".encode() + value + b"\r\n"


def multipart(*parts):
    """A multipart/form-data body of ``parts``, and its Content-Type."""
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode(), f"multipart/form-data; boundary={BOUNDARY}"


def upload(data, filename="image.bin"):
    return multipart(part("file", data, filename, "application/octet-stream"))


def text_image(mode="RGB", size=(420, 110)):
    """White page with WORD in black, converted to ``mode``."""
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).text((20, 25), WORD, fill="black", font=ImageFont.load_default(size=52))
    return image if mode == "RGB" else image.convert(mode)


def encode(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_header_only(width, height):
    """A PNG whose header claims ``width`` x ``height`` and that has no pixel data at all."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def jpeg_header_only(width, height):
    """A JPEG start-of-frame claiming ``width`` x ``height``, then nothing."""
    frame = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(frame) + 2) + frame + b"\xff\xd9"


def gif_header_only(width, height):
    """A GIF whose logical screen is ``width`` x ``height``, with one tiny frame."""
    return (
        b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
        + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00\x3b"
    )


def many_frame_gif(frames):
    """An animated GIF: WORD on the first frame, then small alternating patches (so Pillow keeps every frame)."""
    first = text_image().convert("P", palette=Image.Palette.ADAPTIVE, colors=2)
    images = [Image.new("P", (16, 16), index % 2) for index in range(1, frames)]
    for image in images:
        image.putpalette(first.getpalette())
    return encode(first, "GIF", save_all=True, append_images=images, duration=10)


def page_label(number):
    return f"PAGE {number}"


def many_page_tiff(pages, numbered=0):
    """A TIFF of ``pages`` small pages; the first ``numbered`` of them show page_label(n), the rest are blank."""
    font = ImageFont.load_default(size=40)
    images = []
    for index in range(pages):
        if index < numbered:
            image = Image.new("L", (260, 70), 255)
            ImageDraw.Draw(image).text((15, 12), page_label(index + 1), fill=0, font=font)
        else:
            image = Image.new("L", (32, 32), 255 - index % 200)
        images.append(image)
    return encode(images[0], "TIFF", save_all=True, append_images=images[1:])


def tiff_with_a_page_without_size():
    """Two pages; the second page's width and length tags are renamed, so it has no size."""
    data = bytearray(many_page_tiff(2))
    first = struct.unpack_from("<I", data, 4)[0]
    second = struct.unpack_from("<I", data, first + 2 + 12 * struct.unpack_from("<H", data, first)[0])[0]
    for index in range(struct.unpack_from("<H", data, second)[0]):
        entry = second + 2 + 12 * index
        if struct.unpack_from("<H", data, entry)[0] in (256, 257):
            struct.pack_into("<H", data, entry, 65000 + data[entry] % 2)
    return bytes(data)


def tiff_header_only(width, height):
    """A little-endian TIFF whose one IFD claims ``width`` x ``height`` and points at no strips."""
    entries = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
        (262, 3, 1, 1), (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 0),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *entry) for entry in entries)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00\x00\x00\x00"


def zip_of(name, data):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


@cache
def corpus():
    """Every case; built once (some take a moment to encode)."""
    page = text_image()
    jpeg, png = encode(page, "JPEG", quality=90), encode(page, "PNG")
    gif, webp = encode(page.convert("P"), "GIF"), encode(page, "WEBP", quality=90)
    png_base64 = base64.b64encode(png).decode()
    one_pixel = Image.new("RGB", (1, 1), "white")
    transparent = Image.new("RGBA", (420, 110), (0, 0, 0, 0))
    ImageDraw.Draw(transparent).text((20, 25), WORD, fill=(0, 0, 0, 255), font=ImageFont.load_default(size=52))
    sixteen_bit = Image.fromarray(np.asarray(page.convert("L"), dtype=np.uint16) * 257)
    cases = [
        # Empty and truncated images.
        Case("zero bytes", *upload(b"", "empty.png"), 415, "UNSUPPORTED_IMAGE", "empty"),
        Case("file part with no name and no content", *upload(b"", ""), 400, "MISSING_IMAGE", "no image"),
        Case("truncated jpeg", *upload(jpeg[: len(jpeg) // 2]), 415, "UNSUPPORTED_IMAGE", "truncated"),
        Case("jpeg header only", *upload(jpeg[:120]), 415, "UNSUPPORTED_IMAGE", ""),
        Case("truncated png", *upload(png[: len(png) // 2]), 415, "UNSUPPORTED_IMAGE", "truncated"),
        Case("png signature only", *upload(png[:8]), 415, "UNSUPPORTED_IMAGE", "not a recognisable image"),
        Case("truncated gif", *upload(gif[: len(gif) // 2]), 415, "UNSUPPORTED_IMAGE", "truncated"),
        Case("truncated webp", *upload(webp[: len(webp) // 2]), 415, "UNSUPPORTED_IMAGE", ""),
        # Sizes claimed by the header, refused before any pixel is decoded.
        Case("png claiming 100000x100000", *upload(png_header_only(100_000, 100_000)), 413, "IMAGE_TOO_LARGE", "pixels"),
        Case("png claiming 7000x7000", *upload(png_header_only(7000, 7000)), 413, "IMAGE_TOO_LARGE", "pixels"),
        Case("jpeg claiming 65000x65000", *upload(jpeg_header_only(65000, 65000)), 413, "IMAGE_TOO_LARGE", "pixels"),
        Case("gif claiming 65535x65535", *upload(gif_header_only(65535, 65535)), 413, "IMAGE_TOO_LARGE", "pixels"),
        Case("tiff claiming 100000x100000", *upload(tiff_header_only(100_000, 100_000)), 413, "IMAGE_TOO_LARGE", "pixels"),
        Case("png claiming 0x0", *upload(png_header_only(0, 0)), 415, "UNSUPPORTED_IMAGE", ""),
        # Many frames or pages: the first is read, the rest never decoded.
        Case("gif with 3000 frames", *upload(many_frame_gif(3000)), 200, None, reads=WORD),
        Case("tiff with 300 pages", *upload(many_page_tiff(300, numbered=12)), 200, None, reads=page_label(1)),
        # Found by the fuzz test: Pillow raised TypeError counting the pages.
        Case("tiff with a page without size", *upload(tiff_with_a_page_without_size()), 415, "UNSUPPORTED_IMAGE",
             "frames could not be read"),
        # Not images at all.
        Case("svg", *upload(b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><text>hi</text></svg>', "a.svg"),
             415, "UNSUPPORTED_IMAGE", "not a recognisable image"),
        Case("html", *upload(b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>", "a.html"),
             415, "UNSUPPORTED_IMAGE", "not a recognisable image"),
        Case("zip", *upload(zip_of("receipt.png", png), "a.zip"), 415, "UNSUPPORTED_IMAGE", "zip archive"),
        Case("ppm, an image format not served", *upload(b"P6 4 4 255\n" + b"\x00" * 48), 415, "UNSUPPORTED_IMAGE", "not supported"),
        Case("plain text named .jpg", *upload(b"total: 12.50\n" * 20, "receipt.jpg"), 415, "UNSUPPORTED_IMAGE", ""),
        # Polyglots: what the content is decides, not what else is appended or embedded.
        Case("jpeg with a zip appended", *upload(jpeg + zip_of("x.txt", b"payload")), 200, None, reads=WORD),
        Case("html wrapping png bytes", *upload(b"<html><!--" + png + b"--></html>"), 415, "UNSUPPORTED_IMAGE", ""),
        Case("png with a script in a text chunk", *upload(encode(page, "PNG", pnginfo=_script_text())), 200, None, reads=WORD),
        # Tiny and unusual images that must work.
        Case("1x1 png", *upload(encode(one_pixel, "PNG")), 200, None),
        Case("1x1 jpeg", *upload(encode(one_pixel, "JPEG")), 200, None),
        Case("1x1 gif", *upload(encode(one_pixel.convert("P"), "GIF")), 200, None),
        Case("1x1 webp", *upload(encode(one_pixel, "WEBP")), 200, None),
        Case("1x3000 strip", *upload(encode(Image.new("L", (1, 3000), 255), "PNG")), 200, None),
        Case("cmyk jpeg", *upload(encode(page.convert("CMYK"), "JPEG")), 200, None, reads=WORD),
        Case("16-bit grey png", *upload(encode(sixteen_bit, "PNG")), 200, None, reads=WORD),
        Case("palette png", *upload(encode(page.convert("P", palette=Image.Palette.ADAPTIVE), "PNG")), 200, None, reads=WORD),
        Case("1-bit png", *upload(encode(page.convert("1"), "PNG")), 200, None, reads=WORD),
        Case("transparent png", *upload(encode(transparent, "PNG")), 200, None, reads=WORD),
        Case("webp", *upload(webp), 200, None, reads=WORD),
        # Base64 and data URIs.
        Case("base64 with bad characters", *multipart(part("image_base64", png_base64[:40] + "$%&*" + png_base64[40:])),
             400, "INVALID_BASE64", "base64"),
        Case("base64 with padding in the middle", *multipart(part("image_base64", "iVBO=RK5CYII")),
             400, "INVALID_BASE64", "base64"),
        Case("base64 of one character", *multipart(part("image_base64", "A")), 400, "INVALID_BASE64", "base64"),
        Case("base64 of text", *multipart(part("image_base64", base64.b64encode(b"just some words").decode())),
             415, "UNSUPPORTED_IMAGE", ""),
        Case("data uri of html", *multipart(part("image_base64", "data:text/html;base64,PGgxPmhpPC9oMT4=")),
             415, "UNSUPPORTED_IMAGE", "text/html"),
        Case("data uri of a pdf header alone", *multipart(part("image_base64", "data:application/pdf;base64,JVBERi0xLjQ=")),
             415, "UNSUPPORTED_IMAGE", "pdf could not be read"),
        Case("data uri not base64", *multipart(part("image_base64", "data:image/png,rawbytes")),
             400, "INVALID_BASE64", "base64"),
        Case("data uri with nothing after the comma", *multipart(part("image_base64", "data:image/png;base64,")),
             400, "INVALID_BASE64", "zero bytes"),
        Case("data uri of a png", *multipart(part("image_base64", "data:image/png;base64," + png_base64)), 200, None, reads=WORD),
        *pdf_cases(),
        # Form fields: huge, duplicated, misplaced, or not a form at all.
        Case("huge image_name", *multipart(part("file", png, "a.png"), part("image_name", "n" * 300_000)),
             400, "FIELD_TOO_LONG", "image_name"),
        Case("huge flag value", *multipart(part("file", png, "a.png"), part("need_location", "y" * 300_000)),
             400, "INVALID_BOOLEAN", "need_location"),
        Case("huge url", *multipart(part("url", "http://example.com/" + "a" * 300_000)), 400, "INVALID_URL", "long"),
        Case("huge unknown field", *multipart(part("file", png, "a.png"), part("comment", "c" * 300_000)), 200, None, reads=WORD),
        Case("two file parts", *multipart(part("file", png, "a.png"), part("file", png, "b.png")),
             400, "DUPLICATE_FIELD", "file"),
        Case("two need_location fields", *multipart(part("file", png, "a.png"), part("need_location", "true"),
                                                    part("need_location", "false")), 400, "DUPLICATE_FIELD", "need_location"),
        Case("file and url", *multipart(part("file", png, "a.png"), part("url", "http://example.com/a.png")),
             400, "MULTIPLE_IMAGES", "one image source"),
        Case("file sent as a text field", *multipart(part("file", "not a file")), 415, "UNSUPPORTED_IMAGE", "file part"),
        Case("bad boolean", *multipart(part("file", png, "a.png"), part("return_markdown", "perhaps")),
             400, "INVALID_BOOLEAN", "return_markdown"),
        Case("latin-1 bytes in a flag", *multipart(part("file", png, "a.png"), part("enable_cls", b"\xe9t\xe9")),
             400, "INVALID_BOOLEAN", "enable_cls"),
        Case("json body", b'{"url": "http://example.com/a.png"}', "application/json", 400, "NOT_MULTIPART", "multipart"),
        Case("plain text body", b"image=receipt.jpg", "text/plain", 400, "NOT_MULTIPART", "multipart"),
        Case("urlencoded body without a source", b"need_location=true", "application/x-www-form-urlencoded",
             400, "MISSING_IMAGE", "no image"),
        Case("urlencoded body with base64", ("image_base64=" + png_base64.replace("+", "%2B").replace("/", "%2F")
                                             .replace("=", "%3D")).encode(),
             "application/x-www-form-urlencoded", 200, None, reads=WORD),
        Case("multipart without a boundary", part("file", png, "a.png"), "multipart/form-data",
             400, "MALFORMED_FORM", "boundary"),
        Case("multipart cut off mid-part", multipart(part("file", png, "a.png"))[0][:300],
             f"multipart/form-data; boundary={BOUNDARY}", 400, "MALFORMED_FORM", "completely"),
    ]
    return cases


def pdf_cases():
    """Hostile and broken PDFs: each read safely within the limits, or refused with a clear 4xx."""
    invoice = pdf.one_page_pdf(pdf.text_content(WORD))
    return [
        Case("pdf without pages", *upload(b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF", "a.pdf"),
             415, "UNSUPPORTED_IMAGE", "pdf could not be read"),
        Case("pdf cut in half", *upload(invoice[: len(invoice) // 2], "a.pdf"), 415, "UNSUPPORTED_IMAGE", "complete file"),
        Case("pdf with a password", *upload(pdf.encrypted_pdf(), "a.pdf"), 400, "PDF_ENCRYPTED", "password"),
        Case("pdf inside a zip", *upload(zip_of("invoice.pdf", invoice), "invoice.zip"), 415, "UNSUPPORTED_IMAGE",
             "zip archive"),
        Case("pdf with a broken xref", *upload(pdf.broken_xref_pdf()), 200, None, reads=WORD),
        Case("pdf after 100 bytes of junk", *upload(b"\x00" * 100 + invoice), 200, None, reads=WORD),
        Case("pdf of 5000 pages", *upload(pdf.many_pages_pdf(5000, WORD)), 200, None, reads=WORD),
        Case("pdf page of 200x200 inches", *upload(pdf.one_page_pdf(pdf.text_content(WORD, size=400, y=7000),
                                                                    media_box=b"[0 0 14400 14400]")), 200, None, reads=WORD),
        Case("pdf with forms nested 30 deep", *upload(pdf.nested_forms_pdf(30)), 200, None),
        Case("pdf with forms nested 300 deep", *upload(pdf.nested_forms_pdf(300)), 200, None),
        Case("pdf form drawing itself", *upload(pdf.self_drawing_form_pdf()), 200, None),
        Case("pdf content inflating to 200 MB", *upload(pdf.deflate_bomb_pdf(200)), 413, "IMAGE_TOO_LARGE", "inflates"),
        Case("pdf image of 60000x60000 pixels", *upload(pdf.huge_image_pdf(60000, 60000)), 413, "IMAGE_TOO_LARGE", "pixels"),
        Case("pdf with javascript", *upload(pdf.javascript_pdf()), 200, None, reads=WORD),
        Case("pdf page without any content", *upload(pdf.one_page_pdf(b"")), 200, None),
        Case("data uri of a pdf", *multipart(part("image_base64", "data:application/pdf;base64,"
                                                  + base64.b64encode(invoice).decode())), 200, None, reads=WORD),
    ]


def _script_text():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "<script>fetch('http://169.254.169.254/')</script>")
    return info
