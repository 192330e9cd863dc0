"""Marshmallow schemas of the request form and the response bodies: the contract of the API.

Field names follow the public OCR API this service mirrors. Descriptions live
in each field's metadata so README and the OpenAPI document share one source.
``required=True`` marks a field that is always in the body (OpenAPI's
"required"); the response schemas only dump, so it never rejects anything.
"""

from marshmallow import Schema, fields

from .request_form import FLAG_DEFAULTS


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
    location = fields.Nested(RectangleSchema, **_doc("Axis-aligned box clipped to the image."))
    vertexes_location = fields.List(
        fields.Nested(PointSchema), **_doc("Four corners, clockwise from the text's top-left.")
    )


class ImageInfoSchema(Schema):
    width = fields.Integer(required=True, **_doc("Width of the image as recognised (after EXIF orientation)."))
    height = fields.Integer(required=True, **_doc("Height of the image as recognised."))
    format = fields.String(required=True, **_doc("Format detected from the content: JPEG, PNG, BMP, GIF, WEBP or TIFF."))
    name = fields.String(required=True, allow_none=True, **_doc("image_name, or the uploaded file's name."))
    orientation = fields.Integer(required=True, **_doc("Page rotation applied before recognition: 0, 90, 180 or 270."))


class TimingSchema(Schema):
    decode_ms = fields.Float(required=True, **_doc("Fetching and decoding the image."))
    detection_ms = fields.Float(required=True, **_doc("Text detection."))
    recognition_ms = fields.Float(required=True, **_doc("Text recognition."))
    total_ms = fields.Float(required=True, **_doc("Whole request, from form parsing to the result."))


class OcrResultSchema(Schema):
    words_result_num = fields.Integer(required=True, **_doc("Number of items in words_result."))
    words_result = fields.List(fields.Nested(WordsResultSchema), required=True, **_doc("Text segments in reading order."))
    text = fields.String(required=True, **_doc("The segments' words joined by newlines, in reading order."))
    image = fields.Nested(ImageInfoSchema, required=True)
    need_location = fields.Boolean(required=True, **_doc("Echo of the need_location flag."))
    timing = fields.Nested(TimingSchema, required=True, **_doc("Milliseconds spent in each step."))
    markdown = fields.String(**_doc("Markdown rendering; present only when return_markdown=true."))


class OcrFormSchema(Schema):
    """The form of POST /api/v1/image/ocr, for the OpenAPI document; request_form.py parses it."""

    file = fields.Raw(metadata={"type": "string", "format": "binary", "description": "An uploaded image."})
    url = fields.String(
        metadata={"format": "uri", "description": "An http:// or https:// address the service downloads."}
    )
    image_base64 = fields.String(
        **_doc("Plain Base64 or a data:image/...;base64, URI; whitespace and line breaks are ignored.")
    )
    image_name = fields.String(**_doc("Name echoed in image.name; its extension is only a hint."))
    need_location = fields.String(**_flag("Add boxes to every segment.", "need_location"))
    return_markdown = fields.String(**_flag("Add a Markdown rendering.", "return_markdown"))
    enable_cls = fields.String(**_flag("Correct rotated or upside-down photos first.", "enable_cls"))


class HealthSchema(Schema):
    status = fields.String(required=True, **_doc("ok while the process runs; ready once the engine is warmed."))
    model_load_seconds = fields.Float(**_doc("Seconds the worker took to load its models (/readyz only)."))


# Coordinates are removed from the body, not nulled, when need_location=false.
LOCATION_FIELDS = ("words_result.location", "words_result.vertexes_location")

ocr_result_schema = OcrResultSchema()
ocr_result_schema_without_location = OcrResultSchema(exclude=LOCATION_FIELDS)
error_schema = ErrorSchema()
