"""The try-it page in a real headless Chromium (Debian's, driven by its chromedriver).

The app with the real engine is served by werkzeug on a free loopback port; the
browser uploads real receipts and the tests read what a person would see.
"""

import base64
import json
import threading
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from tests.sroie import IMAGES, TEST_RECEIPTS, receipt_path

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DESKTOP = (1280, 1000)
PHONE = (390, 844)
RECEIPT = receipt_path("000", TEST_RECEIPTS)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    with pytest.MonkeyPatch.context() as patch:
        # The driver path is given, so Selenium Manager has nothing to fetch; offline makes sure.
        patch.setenv("SE_OFFLINE", "true")
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


@pytest.fixture
def live_server(app):
    """Serve the app (real engine) on a free loopback port, one request at a time."""
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def page(browser, live_server):
    browser.set_window_size(*DESKTOP)
    browser.get(f"{live_server}/")
    return browser


def set_flags(browser, **flags):
    for name, wanted in flags.items():
        box = browser.find_element(By.CSS_SELECTOR, f"input[type=checkbox][name={name}]")
        if box.is_selected() != wanted:
            box.click()


def submit_and_wait(browser, **flags):
    """Set the flags, submit the form and wait for the answer; return the result section."""
    set_flags(browser, **flags)
    browser.find_element(By.ID, "submit-button").click()
    result = browser.find_element(By.ID, "result")
    WebDriverWait(browser, 180).until(lambda _: result.get_attribute("data-state") in ("done", "error"))
    return result


def upload(browser, path, **flags):
    browser.find_element(By.ID, "file-input").send_keys(str(path))
    return submit_and_wait(browser, **flags)


def answer_shown(browser):
    """The API's JSON exactly as the page received it (its JSON tab)."""
    return json.loads(browser.find_element(By.ID, "panel-json").get_attribute("textContent"))


def save_screenshot(browser, name):
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / name))


def box_center(answer, index):
    points = answer["words_result"][index]["vertexes_location"]
    return sum(p["x"] for p in points) / len(points), sum(p["y"] for p in points) / len(points)


def point_at(browser, canvas, answer, x, y):
    """Move the mouse to image pixel (x, y) on the canvas, scaled as the page displays it."""
    # WebDriver offsets count from the centre of the element's visible part: show all of it.
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    rect = canvas.rect
    offset_x = x * rect["width"] / answer["image"]["width"] - rect["width"] / 2
    offset_y = y * rect["height"] / answer["image"]["height"] - rect["height"] / 2
    ActionChains(browser).move_to_element_with_offset(canvas, round(offset_x), round(offset_y)).perform()


def canvas_pixel(browser, canvas, answer, x, y):
    """RGBA of the overlay canvas (the boxes only, not the photo) at image pixel (x, y)."""
    return browser.execute_script(
        "const [canvas, x, y] = arguments;"
        "return [...canvas.getContext('2d').getImageData(x, y, 1, 1).data];",
        canvas,
        round(x * int(canvas.get_attribute("width")) / answer["image"]["width"]),
        round(y * int(canvas.get_attribute("height")) / answer["image"]["height"]),
    )


def is_highlight(rgba):
    red, green, blue, alpha = rgba
    return alpha > 0 and red > 200 and blue < 80


def collapse(text):
    return " ".join(text.split())


def test_receipt_shows_a_box_and_a_list_entry_for_every_segment(page):
    result = upload(page, RECEIPT, return_markdown=True)
    assert result.get_attribute("data-state") == "done", page.find_element(By.ID, "error").text
    answer = answer_shown(page)
    count = int(result.get_attribute("data-words-result-num"))
    assert count == answer["words_result_num"] > 10
    assert int(result.get_attribute("data-boxes-drawn")) == count
    items = page.find_elements(By.CSS_SELECTOR, "#segments li")
    assert [item.find_element(By.CLASS_NAME, "words").text for item in items] == [
        segment["words"] for segment in answer["words_result"]
    ]
    assert [item.find_element(By.CLASS_NAME, "score").text.split()[0] for item in items] == [
        f"{segment['score']:.4f}" for segment in answer["words_result"]
    ]
    threshold = float(result.get_attribute("data-low-score-threshold"))
    marked_low = [item.get_attribute("data-index") for item in items if "low" in item.get_attribute("class")]
    assert marked_low == [str(i) for i, s in enumerate(answer["words_result"]) if s["score"] < threshold]
    timing = page.find_element(By.ID, "timing").text
    assert "total_ms" in timing and "round trip" in timing
    assert page.find_element(By.ID, "panel-text").text == answer["text"]

    # A click pins a segment: it stays lit after the pointer leaves (README's screenshot).
    page.find_element(By.CSS_SELECTOR, '#segments li[data-index="3"]').click()
    page.find_element(By.TAG_NAME, "h1").click()
    assert result.get_attribute("data-active-index") == "3"
    assert "active" in page.find_element(By.CSS_SELECTOR, '#segments li[data-index="3"]').get_attribute("class")
    page.execute_script("window.scrollTo(0, 0)")
    save_screenshot(page, "page-receipt.png")

    page.find_element(By.ID, "tab-markdown").click()
    rendered = collapse(page.find_element(By.ID, "panel-markdown").text)
    assert "\\" not in rendered, "escapes must be rendered, not shown"
    for segment in answer["words_result"]:
        assert collapse(segment["words"]) in rendered


def test_hovering_a_box_highlights_its_text_and_the_other_way_round(page):
    result = upload(page, RECEIPT)
    answer = answer_shown(page)
    canvas = page.find_element(By.ID, "overlay")
    areas = [s["location"]["width"] * s["location"]["height"] for s in answer["words_result"]]
    biggest = areas.index(max(areas))

    point_at(page, canvas, answer, *box_center(answer, biggest))
    active = page.find_elements(By.CSS_SELECTOR, "#segments li.active")
    assert [item.get_attribute("data-index") for item in active] == [str(biggest)]
    assert active[0].find_element(By.CLASS_NAME, "words").text == answer["words_result"][biggest]["words"]
    assert is_highlight(canvas_pixel(page, canvas, answer, *box_center(answer, biggest)))

    other = (biggest + 1) % answer["words_result_num"]
    item = page.find_element(By.CSS_SELECTOR, f'#segments li[data-index="{other}"]')
    ActionChains(page).move_to_element(item).perform()
    assert result.get_attribute("data-active-index") == str(other)
    assert is_highlight(canvas_pixel(page, canvas, answer, *box_center(answer, other)))
    assert not is_highlight(canvas_pixel(page, canvas, answer, *box_center(answer, biggest)))

    page.find_element(By.TAG_NAME, "h1").click()  # the pointer leaves: nothing stays lit
    assert result.get_attribute("data-active-index") == ""
    assert page.find_elements(By.CSS_SELECTOR, "#segments li.active") == []


def test_non_image_upload_shows_the_415_code_and_message(page, client, tmp_path):
    text_file = tmp_path / "notes.txt"
    text_file.write_text("These are notes, not a picture.\n")
    expected = client.post(
        "/api/v1/image/ocr", data={"file": (text_file.open("rb"), "notes.txt")}, content_type="multipart/form-data"
    ).get_json()

    result = upload(page, text_file)
    assert result.get_attribute("data-state") == "error"
    assert page.find_element(By.ID, "error-code").text == "UNSUPPORTED_IMAGE" == expected["code"]
    assert page.find_element(By.ID, "error-message").text == expected["message"]
    assert "415" in page.find_element(By.ID, "status").text
    assert not page.find_element(By.ID, "viewer").is_displayed()


def test_pasted_image_without_locations_lists_text_and_draws_no_box(page):
    pasted = base64.b64encode((IMAGES / "en.jpg").read_bytes()).decode()
    page.execute_script(
        "const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));"
        "const transfer = new DataTransfer();"
        "transfer.items.add(new File([bytes], 'image.jpg', {type: 'image/jpeg'}));"
        "document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: transfer}));",
        pasted,
    )
    result = submit_and_wait(page, need_location=False)
    assert result.get_attribute("data-state") == "done", page.find_element(By.ID, "error").text
    answer = answer_shown(page)
    assert answer["image"]["name"] == "image.jpg"
    assert answer["need_location"] is False
    assert int(result.get_attribute("data-words-result-num")) == answer["words_result_num"] > 0
    assert int(result.get_attribute("data-boxes-drawn")) == 0
    assert len(page.find_elements(By.CSS_SELECTOR, "#segments li")) == answer["words_result_num"]


def test_phone_width_fits_and_boxes_follow_the_displayed_size(page):
    page.set_window_size(*PHONE)
    result = upload(page, RECEIPT)
    save_screenshot(page, "page-phone.png")
    assert result.get_attribute("data-state") == "done"
    overflow = page.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a phone"
    image = page.find_element(By.ID, "image").rect
    canvas = page.find_element(By.ID, "overlay").rect
    assert image["width"] <= PHONE[0]
    assert (canvas["width"], canvas["height"]) == (image["width"], image["height"])
    assert int(result.get_attribute("data-boxes-drawn")) == int(result.get_attribute("data-words-result-num"))


def test_markdown_renderer_builds_elements_and_never_markup(page):
    source = "\n".join(
        [
            "# Receipt <b>42</b>",
            "",
            "| Item | Price |",
            "| --- | ---: |",
            "| Tea \\| milk | 3\\.50 |",
            "| <img src=x onerror=alert(1)> | **1** |",
            "",
            "Thank \\*you\\* and _come again_",
        ]
    )
    rendered = page.execute_async_script(
        "const [source, done] = arguments;"
        "import('/static/markdown.js').then(({ renderMarkdown }) => {"
        "  const holder = document.createElement('div');"
        "  holder.append(renderMarkdown(source));"
        "  done({"
        "    heading: holder.querySelector('h1').textContent,"
        "    header: [...holder.querySelectorAll('th')].map((cell) => cell.textContent),"
        "    cells: [...holder.querySelectorAll('td')].map((cell) => cell.textContent),"
        "    priceAlign: holder.querySelector('td:nth-child(2)').style.textAlign,"
        "    strong: [...holder.querySelectorAll('strong')].map((node) => node.textContent),"
        "    emphasis: [...holder.querySelectorAll('em')].map((node) => node.textContent),"
        "    paragraph: holder.querySelector('p').textContent,"
        "    elements: [...holder.querySelectorAll('*')].map((node) => node.tagName.toLowerCase()),"
        "  });"
        "});",
        source,
    )
    assert rendered["heading"] == "Receipt <b>42</b>"
    assert rendered["header"] == ["Item", "Price"]
    assert rendered["cells"] == ["Tea | milk", "3.50", "<img src=x onerror=alert(1)>", "1"]
    assert rendered["priceAlign"] == "right"
    assert rendered["strong"] == ["1"]
    assert rendered["emphasis"] == ["come again"]
    assert rendered["paragraph"] == "Thank *you* and come again"
    assert set(rendered["elements"]) <= {"h1", "table", "thead", "tbody", "tr", "th", "td", "strong", "em", "p"}
