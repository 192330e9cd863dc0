"""Marshmallow schemas of the request form and the response bodies: the contract of the API.

Field names follow the public OCR API this service mirrors. Descriptions live
in each field's metadata so README and the OpenAPI document share one source.
``required=True`` marks a field that is always in the body (OpenAPI's
"required"); the response schemas only dump, so it never rejects anything.
"""

from marshmallow import Schema, fields

from app.web.request_form import FLAG_DEFAULTS


def _doc(text):
    return {"metadata": {"description": text}}


def _flag(text, name):
    default = "true" if FLAG_DEFAULTS[name] else "false"
    return {
        "metadata": {
            "description": f"{text} Also 1/0, yes/no, on/off, in any case; empty means {default}.",
            "enum": ["true", "false", "1", "0", "yes", "no", "on", "off", ""],
            "default": default,
        }
    }


def _page_index():
    """Every segment, line and block says which page it is on."""
    return fields.Integer(required=True, **_doc("Index of the page in pages, from 0."))


class ErrorSchema(Schema):
    code = fields.String(required=True, **_doc("Stable upper-case error code, e.g. UNSUPPORTED_IMAGE."))
    message = fields.String(required=True, **_doc("What went wrong and what to change."))


class RectangleSchema(Schema):
    left = fields.Integer(required=True, **_doc("x of the left edge, pixels."))
    top = fields.Integer(required=True, **_doc("y of the top edge, pixels."))
    width = fields.Integer(required=True, **_doc("Width in pixels."))
    height = fields.Integer(required=True, **_doc("Height in pixels."))


class PointSchema(Schema):
    x = fields.Integer(required=True)
    y = fields.Integer(required=True)


class WordsResultSchema(Schema):
    words = fields.String(required=True, **_doc("Recognised text of the segment."))
    score = fields.Float(required=True, **_doc("Recognition confidence, 0..1, 4 decimals."))
    page = _page_index()
    location = fields.Nested(RectangleSchema, **_doc("Axis-aligned box clipped to the image."))
    vertexes_location = fields.List(
        fields.Nested(PointSchema), **_doc("Four corners, clockwise from the text's top-left.")
    )


class LineSchema(Schema):
    words = fields.String(required=True, **_doc("The line's segments, left to right, joined by one space."))
    score = fields.Float(required=True, **_doc("Mean confidence of its segments, 4 decimals."))
    segment_indexes = fields.List(
        fields.Integer(), required=True, **_doc("Indexes of its segments in words_result, left to right.")
    )
    page = _page_index()
    location = fields.Nested(RectangleSchema, **_doc("Axis-aligned box of the line, clipped to the image."))
    vertexes_location = fields.List(
        fields.Nested(PointSchema), **_doc("Four corners along the line's text direction, clockwise from its top-left.")
    )


class BlockSchema(Schema):
    type = fields.String(
        required=True,
        metadata={
            "description": "title (text clearly larger than the body), paragraph, table (cells in two or "
            "more columns over two or more rows) or list (bulleted or numbered lines).",
            "enum": ["title", "paragraph", "table", "list"],
        },
    )
    words = fields.String(required=True, **_doc("The block's lines joined by newlines."))
    line_indexes = fields.List(
        fields.Integer(), required=True, **_doc("Indexes of its lines in lines, in reading order.")
    )
    page = _page_index()
    location = fields.Nested(RectangleSchema, **_doc("Axis-aligned box of the block, clipped to the image."))
    cells = fields.List(
        fields.List(fields.String()),
        **_doc("Tables only: one list of cell texts per line, one cell per column (empty when the line has none)."),
    )


class PageSchema(Schema):
    page = fields.Integer(required=True, **_doc("Index of the page, from 0."))
    width = fields.Integer(required=True, **_doc("Width of the page as recognised (a PDF page: as rendered at dpi), pixels."))
    height = fields.Integer(required=True, **_doc("Height of the page as recognised (a PDF page: as rendered at dpi), pixels."))
    orientation = fields.Integer(required=True, **_doc("Page rotation applied before recognition: 0, 90, 180 or 270."))
    source = fields.String(
        required=True,
        metadata={
            "description": "How the page was read: text_layer (a PDF page's own text, exact, score 1) or ocr "
            "(recognised by the engine: every image, and PDF pages whose text layer does not cover what is printed).",
            "enum": ["text_layer", "ocr"],
        },
    )
    dpi = fields.Float(
        required=True,
        allow_none=True,
        **_doc(
            "PDF pages: the resolution, in dots per inch, of the pixel grid the page's coordinates refer to "
            "(a scan's own resolution, or one that puts the text in the detector's best size range); "
            "null for images."
        ),
    )
    words_result_start = fields.Integer(required=True, **_doc("Index in words_result of the page's first segment."))
    words_result_num = fields.Integer(
        required=True, **_doc("Number of the page's segments: words_result_start up to, not including, start + num.")
    )
    location = fields.Nested(
        RectangleSchema, allow_none=True, **_doc("Box around all text of the page; null when it has none.")
    )


class SummarySchema(Schema):
    pages = fields.Integer(required=True, **_doc("Pages recognised."))
    blocks = fields.Integer(required=True, **_doc("Number of blocks."))
    lines = fields.Integer(required=True, **_doc("Number of lines."))
    segments = fields.Integer(required=True, **_doc("Number of segments (words_result_num)."))
    characters = fields.Integer(required=True, **_doc("Characters in all segments."))
    mean_score = fields.Float(required=True, allow_none=True, **_doc("Mean segment confidence; null without text."))
    min_score = fields.Float(required=True, allow_none=True, **_doc("Lowest segment confidence; null without text."))
    low_score_threshold = fields.Float(
        required=True, **_doc("OCR_LOW_SCORE_THRESHOLD: a segment scoring below it is low-confidence.")
    )
    low_score_segments = fields.Integer(required=True, **_doc("Segments scoring below low_score_threshold."))


class ImageInfoSchema(Schema):
    width = fields.Integer(required=True, **_doc("Width of the (first) page as recognised (after EXIF orientation)."))
    height = fields.Integer(required=True, **_doc("Height of the (first) page as recognised."))
    format = fields.String(
        required=True, **_doc("Format detected from the content: JPEG, PNG, BMP, GIF, WEBP, TIFF or PDF.")
    )
    name = fields.String(required=True, allow_none=True, **_doc("image_name, or the uploaded file's name."))
    orientation = fields.Integer(required=True, **_doc("Page rotation applied before recognition: 0, 90, 180 or 270."))
    page_count = fields.Integer(
        required=True,
        **_doc("Pages (TIFF, PDF) or frames in the file; only the first OCR_MAX_PAGES TIFF or PDF pages are read."),
    )


class TimingSchema(Schema):
    decode_ms = fields.Float(
        required=True, **_doc("Fetching and decoding the image; for a PDF, reading its text layers and rendering pages.")
    )
    detection_ms = fields.Float(required=True, **_doc("Text detection."))
    recognition_ms = fields.Float(required=True, **_doc("Text recognition."))
    layout_ms = fields.Float(required=True, **_doc("Lines, blocks, Markdown and the rest of the result."))
    total_ms = fields.Float(required=True, **_doc("Whole request, from form parsing to the result."))


class OcrResultSchema(Schema):
    words_result_num = fields.Integer(required=True, **_doc("Number of items in words_result."))
    words_result = fields.List(fields.Nested(WordsResultSchema), required=True, **_doc("Text segments in reading order."))
    lines = fields.List(
        fields.Nested(LineSchema), required=True, **_doc("Segments grouped into visual lines, in reading order.")
    )
    blocks = fields.List(
        fields.Nested(BlockSchema), required=True, **_doc("Lines grouped into titles, paragraphs, tables and lists.")
    )
    pages = fields.List(fields.Nested(PageSchema), required=True, **_doc("One entry per page recognised."))
    text = fields.String(required=True, **_doc("The segments' words joined by newlines, in reading order."))
    plain_text = fields.String(required=True, **_doc("Lines joined by newlines, blocks separated by a blank line."))
    markdown = fields.String(
        **_doc("GitHub-flavoured Markdown (headings, paragraphs, lists, tables); only with return_markdown=true.")
    )
    summary = fields.Nested(SummarySchema, required=True, **_doc("Counts and confidence of the whole result."))
    image = fields.Nested(ImageInfoSchema, required=True)
    need_location = fields.Boolean(required=True, **_doc("Echo of the need_location flag."))
    timing = fields.Nested(TimingSchema, required=True, **_doc("Milliseconds spent in each step."))


class OcrFormSchema(Schema):
    """The form of POST /api/v1/image/ocr, for the OpenAPI document; request_form.py parses it."""

    file = fields.Raw(
        metadata={"type": "string", "format": "binary", "description": "An uploaded image or PDF (known by its content)."}
    )
    url = fields.String(
        metadata={"format": "uri", "description": "An http:// or https:// address the service downloads."}
    )
    image_base64 = fields.String(
        **_doc(
            "Plain Base64, or a data:image/...;base64, or data:application/pdf;base64, URI; "
            "whitespace and line breaks are ignored."
        )
    )
    image_name = fields.String(**_doc("Name echoed in image.name; its extension is only a hint."))
    need_location = fields.String(**_flag("Add boxes to every segment.", "need_location"))
    return_markdown = fields.String(**_flag("Add a Markdown rendering.", "return_markdown"))
    enable_cls = fields.String(**_flag("Correct rotated or upside-down photos first.", "enable_cls"))
    force_ocr = fields.String(
        **_flag(
            "Read every PDF page with the OCR engine, even where its text layer covers the page "
            "(by default such pages are read from the text layer).",
            "force_ocr",
        )
    )


class HealthSchema(Schema):
    status = fields.String(required=True, **_doc("ok while the process runs; ready once the engine is warmed."))
    model_load_seconds = fields.Float(**_doc("Seconds the worker took to load its models (/readyz only)."))


# Coordinates are removed from the body, not nulled, when need_location=false.
LOCATION_FIELDS = (
    "words_result.location",
    "words_result.vertexes_location",
    "lines.location",
    "lines.vertexes_location",
    "blocks.location",
    "pages.location",
)

ocr_result_schema = OcrResultSchema()
ocr_result_schema_without_location = OcrResultSchema(exclude=LOCATION_FIELDS)
error_schema = ErrorSchema()
