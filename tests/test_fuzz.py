"""Fuzz the form parser and the image and PDF loaders (hypothesis, fixed budget): a clear 4xx, never a 500.

Runs derandomized, so CI explores the same examples every time; for a longer
hunt set ``FUZZ_EXAMPLES`` (say 20000) and ``FUZZ_RANDOM=1`` for fresh examples.
"""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.inputs.image_loader import LoadedImage, load_image
from app.inputs.pdf_loader import PdfSettings, load_pdf
from app.web.errors import ApiError
from tests import pdf_documents as pdf
from tests.hostile_inputs import BOUNDARY, OCR, encode, multipart, part, text_image

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 150))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("FUZZ_RANDOM") is None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
# Small seeds, so a mutant that still decodes costs the engine little.
SEED = text_image(size=(96, 40))
SEEDS = [
    encode(SEED, "PNG"),
    encode(SEED, "JPEG"),
    encode(SEED.convert("P"), "GIF"),
    encode(SEED, "WEBP"),
    encode(SEED, "TIFF"),
    encode(SEED, "BMP"),
]
# Small PDFs of each structure the loader meets: text, a scan, forms, many pages.
PDF_SEEDS = [
    pdf.one_page_pdf(pdf.text_content("INVOICE")),
    pdf.scanned_page(pdf.PdfWriter(), encode(SEED, "JPEG"), SEED.size, 100).bytes(),
    pdf.nested_forms_pdf(3),
    pdf.many_pages_pdf(3),
]
FIELD_NAMES = [
    "file", "url", "image_base64", "image_name", "need_location", "return_markdown", "enable_cls", "force_ocr", "x",
]
CLIENT_ERRORS = {400, 413, 415}


def mutated(seeds):
    return st.builds(bytes, _mutations(seeds))


@st.composite
def _mutations(draw, seeds):
    """A valid small file with some bytes overwritten, some cut off, or some inserted."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        position = draw(st.integers(0, len(data)))
        data[position:position] = draw(st.binary(max_size=64))
    return data


image_bytes = st.one_of(st.binary(max_size=512), mutated(SEEDS), mutated(PDF_SEEDS))


@FUZZ
@given(data=image_bytes)
def test_image_loader_only_ever_refuses_with_a_client_error(data):
    try:
        loaded = load_image(data, max_pixels=1_000_000)
    except ApiError as error:
        assert error.status in {413, 415}, error.message
    else:
        assert isinstance(loaded, LoadedImage) and loaded.pages[0].pixels.ndim == 3


@FUZZ
@given(data=mutated(PDF_SEEDS))
def test_pdf_loader_only_ever_refuses_with_a_client_error(data):
    try:
        with load_pdf(data, PdfSettings(max_pixels=1_000_000, max_pages=3, min_text_coverage=0.8)) as document:
            for page in document.pages:
                if page.source == "ocr":
                    assert page.pixels.shape == (page.height, page.width, 3)
                else:
                    assert all(segment.text for segment in page.text_segments)
    except ApiError as error:
        assert error.status in {400, 413, 415}, error.message


# Text that can never be a fetchable url, so the fuzz stays off the network.
no_slash_text = st.text(alphabet=st.characters(blacklist_characters="/\\", blacklist_categories=["Cs"]), max_size=60)
# Anything a client can encode as UTF-8 (lone surrogates cannot be).
any_text = st.characters(blacklist_categories=["Cs"])
field_values = st.one_of(
    no_slash_text,
    st.binary(max_size=200),
    st.sampled_from(["", "true", "0", "data:image/png;base64,", "data:text/plain,hi", "===", "iVBORw0KGgo="]),
)


@st.composite
def form_bodies(draw):
    """Multipart bodies with any mix of parts, file or text, well-formed or not."""
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        name = draw(st.sampled_from(FIELD_NAMES))
        is_file = draw(st.booleans())
        value = draw(image_bytes) if is_file else draw(field_values)
        if name == "url" and not is_file:
            value = draw(no_slash_text)
        filename = draw(st.sampled_from([None, "", "a.png", "..\\..\\x", "n" * 300])) if is_file else None
        parts.append(part(name, value, filename if filename is not None else ("" if is_file else None)))
    body, content_type = multipart(*parts)
    if draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body)))]
    content_type = draw(
        st.sampled_from(
            [
                content_type,
                "multipart/form-data",
                f"multipart/form-data; boundary=other-{BOUNDARY}",
                "application/x-www-form-urlencoded",
                "application/json",
                "text/plain; charset=latin-1",
                "",
            ]
        )
    )
    return body, content_type


@FUZZ
@given(request=form_bodies())
def test_form_parser_answers_every_body_with_json_and_no_500(client, request):
    body, content_type = request
    answer = client.post(OCR, data=body, content_type=content_type)
    assert answer.status_code == 200 or answer.status_code in CLIENT_ERRORS, answer.get_data(as_text=True)[:300]
    assert answer.is_json
    if answer.status_code != 200:
        assert answer.get_json()["code"] and answer.get_json()["message"]


@FUZZ
@given(text=st.one_of(st.text(any_text, max_size=300), st.builds(lambda prefix, rest: prefix + rest,
       st.sampled_from(["data:", "data:image/png;base64,", "data:;base64,", "data:image/png;charset=x;base64,"]),
       st.text(any_text, max_size=200))))
def test_base64_field_never_fails_inside(client, text):
    answer = client.post(OCR, data=multipart(part("image_base64", text))[0], content_type=multipart()[1])
    assert answer.status_code == 200 or answer.status_code in CLIENT_ERRORS, answer.get_data(as_text=True)[:300]
    assert answer.is_json
