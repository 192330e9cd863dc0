"""GET /: the try-it page is served with local assets, and its form works without JavaScript."""

import io
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from tests.sroie import TEST_RECEIPTS, receipt_path

# What a browser needs to hear to use each asset (module scripts refuse other types).
ASSET_TYPES = {
    "css": {"text/css"},
    "js": {"text/javascript", "application/javascript"},
    "svg": {"image/svg+xml"},
}


class PageParser(HTMLParser):
    """Collect what a browser without JavaScript would use: the form, its fields, the assets."""

    def __init__(self):
        super().__init__()
        self.form = None
        self.fields = []
        self.assets = []
        self._template_depth = 0  # a <template>'s content is inert: not part of the form
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "template":
            self._template_depth += 1
        elif tag == "script" and attrs.get("src"):
            self.assets.append(attrs["src"])
        elif tag == "link" and attrs.get("rel") in ("stylesheet", "icon"):
            self.assets.append(attrs["href"])
        elif self._template_depth:
            return
        elif tag == "form":
            self.form = attrs
        elif tag == "input":
            self.fields.append(attrs)
        elif tag == "textarea":
            self._textarea = {"type": "textarea", "name": attrs.get("name"), "value": ""}
            self.fields.append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "template":
            self._template_depth -= 1
        elif tag == "textarea":
            self._textarea = None


@pytest.fixture
def page(client):
    response = client.get("/")
    assert response.status_code == 200
    parser = PageParser()
    parser.feed(response.get_data(as_text=True))
    return parser


def submission(fields, upload=None, choose=None):
    """The form data a browser without JavaScript sends: checked boxes and radios, every other field.

    ``choose`` maps a radio's name to the value the user clicked.
    """
    choose = choose or {}
    data = {}
    for field in fields:
        name, kind = field.get("name"), field.get("type", "text")
        if kind == "radio":
            picked = choose[name] == field["value"] if name in choose else "checked" in field
            if picked:
                data[name] = field["value"]
        elif kind == "checkbox":
            if "checked" in field:
                data[name] = field.get("value", "on")
        elif kind == "file":
            # An empty file input still sends a part, with an empty filename.
            data[name] = upload or (io.BytesIO(b""), "")
        elif name:
            data[name] = field.get("value", "")
    return data


def test_page_is_html_that_loads_nothing_from_elsewhere(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src" not in policy  # scripts fall back to 'self': no CDN can run here


def test_form_posts_the_api_fields_as_multipart(page, app):
    with app.test_request_context():
        from flask import url_for

        endpoint = url_for("ocr.recognize")
    assert page.form["action"] == endpoint
    assert page.form["method"] == "post"
    assert page.form["enctype"] == "multipart/form-data"
    kinds = {(field["name"], field.get("type", "text")) for field in page.fields}
    assert kinds == {
        ("file", "file"),
        ("url", "url"),
        ("image_base64", "textarea"),
        ("need_location", "radio"),
        ("return_markdown", "checkbox"),
        ("enable_cls", "checkbox"),
        ("force_ocr", "checkbox"),
    }
    need_location = [field for field in page.fields if field["name"] == "need_location"]
    assert {field["value"] for field in need_location} == {"true", "false"}
    assert [field["value"] for field in need_location if "checked" in field] == ["true"]
    # Unticked boxes send nothing, which is the API's default (false) for these three.
    for name in ("return_markdown", "enable_cls", "force_ocr"):
        (box,) = [field for field in page.fields if field["name"] == name]
        assert "checked" not in box and box["value"] == "true"


def test_every_asset_is_served_from_the_package(page, client):
    scripts = [asset for asset in page.assets if asset.endswith(".js")]
    assert scripts and any(asset.endswith(".css") for asset in page.assets)
    assets = list(page.assets)
    # Modules import their siblings; those must be served too.
    for script in scripts:
        source = client.get(script).get_data(as_text=True)
        for module in re.findall(r'^import .* from "\./([\w-]+\.js)";$', source, re.MULTILINE):
            assets.append(script.rsplit("/", 1)[0] + "/" + module)
    for asset in assets:
        assert not urlsplit(asset).netloc, f"{asset} would be fetched from another host"
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert response.mimetype in ASSET_TYPES[asset.rsplit(".", 1)[1]], asset


@pytest.mark.parametrize("need_location", ["true", "false"])
def test_form_without_javascript_gets_the_json_result(page, client, need_location):
    upload = (receipt_path("000", TEST_RECEIPTS).open("rb"), "000.jpg")
    data = submission(page.fields, upload, choose={"need_location": need_location})
    response = client.post(page.form["action"], data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["words_result_num"] > 10
    assert result["image"]["name"] == "000.jpg"
    assert "markdown" not in result
    has_boxes = all("vertexes_location" in item for item in result["words_result"])
    assert has_boxes is (need_location == "true")


def test_form_without_javascript_and_without_an_image_says_what_to_send(page, client):
    response = client.post(page.form["action"], data=submission(page.fields), content_type="multipart/form-data")
    assert response.status_code == 400
    assert response.get_json()["code"] == "MISSING_IMAGE"
