"""Parse the OCR form into an ``OcrRequest``: one image or PDF source and four flags.

Empty fields count as absent, so a plain HTML form that sends every input
(an empty file input, an empty url box) still names exactly one source.
"""

import base64
import binascii
import re
from dataclasses import dataclass

from app.web.errors import (
    DuplicateFieldError,
    FieldTooLongError,
    InvalidBase64Error,
    InvalidBooleanError,
    MalformedFormError,
    MissingSourceError,
    MultipleSourcesError,
    NotMultipartError,
    PayloadTooLargeError,
    UnsupportedImageError,
)

SOURCE_FIELDS = ("file", "url", "image_base64")
# force_ocr: read every PDF page with the engine, even where its text layer could be used.
FLAG_DEFAULTS = {"need_location": True, "return_markdown": False, "enable_cls": False, "force_ocr": False}
FORM_MIMETYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# The name is echoed in the result; file systems stop at 255 characters too.
MAX_NAME_CHARS = 255

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_DATA_URI = re.compile(r"^data:(?P<type>[^;,]*)(?P<params>(;[^;,]*)*),", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class OcrRequest:
    """What the client asked for, before the image is fetched or decoded."""

    source: str  # "file", "url" or "image_base64"
    image_bytes: bytes | None
    url: str | None
    image_name: str | None
    need_location: bool
    return_markdown: bool
    enable_cls: bool
    force_ocr: bool = False


def parse_ocr_form(request, max_image_bytes):
    """Read the source and flags from a Flask request, raising ApiError on bad input."""
    if not request.content_length and request.mimetype not in FORM_MIMETYPES:
        raise MissingSourceError("The request is empty: send a multipart/form-data body with an image.")
    if request.mimetype not in FORM_MIMETYPES:
        raise NotMultipartError(
            "Send the request as multipart/form-data with one of the fields "
            "'file', 'url' or 'image_base64'."
        )
    form, files = request.form, request.files
    # werkzeug answers a body it cannot parse (no boundary, cut off) with an empty form.
    if request.mimetype == "multipart/form-data" and request.content_length and not form and not files:
        raise MalformedFormError(
            "No field could be read from the multipart body: check the boundary in the "
            "Content-Type header and that the body was sent completely."
        )
    for name in (*SOURCE_FIELDS, "image_name", *FLAG_DEFAULTS):
        if len(form.getlist(name)) + len(files.getlist(name)) > 1:
            raise DuplicateFieldError(f"The field '{name}' was sent more than once; send it once.")

    sources = {}
    upload = files.get("file")
    if upload is not None:
        upload_bytes = _read_upload(upload, max_image_bytes)
        # A browser sends an empty, nameless part for a file input left empty.
        if upload.filename or upload_bytes:
            sources["file"] = upload_bytes
    if form.get("file"):
        raise UnsupportedImageError(
            "The field 'file' must be a file part (Content-Disposition with a filename), not text."
        )
    for name in ("url", "image_base64"):
        if form.get(name, "").strip():
            sources[name] = form[name].strip()

    if not sources:
        raise MissingSourceError("No image was sent: provide one of 'file', 'url' or 'image_base64'.")
    if len(sources) > 1:
        raise MultipleSourcesError(
            f"Send exactly one image source; got {', '.join(sorted(sources))}."
        )
    (source, value), = sources.items()

    image_bytes = url = None
    if source == "file":
        image_bytes = value
    elif source == "image_base64":
        image_bytes = decode_base64_image(value, max_image_bytes)
    else:
        url = value

    name = form.get("image_name", "").strip() or (upload.filename if source == "file" else None) or None
    if name and len(name) > MAX_NAME_CHARS:
        raise FieldTooLongError(
            f"The image name ('image_name' or the file name) is longer than {MAX_NAME_CHARS} "
            "characters; send a shorter one."
        )
    return OcrRequest(
        source=source,
        image_bytes=image_bytes,
        url=url,
        image_name=name,
        **{flag: parse_bool(form, flag, default) for flag, default in FLAG_DEFAULTS.items()},
    )


def parse_bool(form, name, default):
    """Accept true/false/1/0/yes/no/on/off in any case; empty means the default."""
    raw = form.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise InvalidBooleanError(
        f"The field '{name}' must be true or false (also 1/0, yes/no, on/off); got '{raw[:20]}'."
    )


def decode_base64_image(text, max_image_bytes):
    """Decode plain Base64 or a data URI, tolerating whitespace and missing padding."""
    match = _DATA_URI.match(text)
    if match:
        media_type = match["type"].strip().lower()
        if media_type and not media_type.startswith("image/") and media_type != "application/pdf":
            raise UnsupportedImageError(
                f"The data URI says '{media_type[:50]}'; only image or application/pdf data can be recognised."
            )
        if ";base64" not in match["params"].lower():
            raise InvalidBase64Error("The data URI must be Base64-encoded (data:image/...;base64,...).")
        text = text[match.end():]
    compact = _WHITESPACE.sub("", text).replace("-", "+").replace("_", "/")
    if len(compact) * 3 // 4 > max_image_bytes + 3:
        raise PayloadTooLargeError(
            f"The decoded image is larger than {max_image_bytes} bytes; send a smaller image."
        )
    if "=" not in compact:
        compact += "=" * (-len(compact) % 4)
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidBase64Error(
            "The field 'image_base64' is not valid Base64: use A-Z, a-z, 0-9, +, / "
            "with '=' padding only at the end, or a data:image/...;base64, URI."
        ) from None
    if not data:
        raise InvalidBase64Error("The field 'image_base64' decodes to zero bytes.")
    return data


def _read_upload(upload, max_image_bytes):
    data = upload.stream.read(max_image_bytes + 1)
    if len(data) > max_image_bytes:
        raise PayloadTooLargeError(
            f"The uploaded file is larger than {max_image_bytes} bytes; send a smaller image."
        )
    return data
