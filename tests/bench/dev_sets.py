"""The dev sets of every kind of image the service is asked to read, one loader per kind.

Each loader yields ``Sample``s: a BGR image and its truth as a list of (text,
4-point polygon) at line or word level. Most sets are read from the shared data
folder (``../shared/datasets`` beside the checkout; see its README). Two are made
here, deterministically and cached under ``var/bench-sets`` (no image is tuned by
hand): phone photos of the dev receipts and forms, and Chinese pages rendered
from real Chinese text that Debian's ``fortunes-zh`` ships, clean, photographed
and scanned at low resolution.

    .venv/bin/python -m tests.bench.dev_sets [--data-root DIR] [--sets a,b] [--limit N]

prints each set's size, so a new set can be checked (and its cache built) alone.
"""

import argparse
import ast
import html
import json
import random
import re
import subprocess
import unicodedata
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

from app.recognition.orientation import turn_image, turn_points
from tests.bench import DATA_ROOT

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "bench-sets"
# Bump when a generator changes, so cached images are made again.
GENERATOR_VERSION = 3


@dataclass
class Sample:
    name: str
    image: np.ndarray  # BGR
    truth: list  # [(text, [[x, y] * 4])]
    language: str = "en"  # "en" or "zh": which Tesseract language pack reads it
    whole_image: bool = False  # one truth text for the whole image, no boxes


def turned(sample, angle):
    """``sample`` turned ``angle`` degrees counter-clockwise, its truth boxes with it."""
    height, width = sample.image.shape[:2]
    truth = [(text, turn_points(polygon, angle, width, height).tolist()) for text, polygon in sample.truth]
    return replace(sample, image=turn_image(sample.image, angle), truth=truth)


def _quad(left, top, right, bottom):
    return [[left, top], [right, top], [right, bottom], [left, bottom]]


def _image(path):
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return image


def _whole_image(name, image, text, language="en"):
    height, width = image.shape[:2]
    return Sample(name, image, [(text, _quad(0, 0, width, height))], language, whole_image=True)


def has_cjk(text):
    return any(unicodedata.east_asian_width(c) in "WF" for c in text)


# Sets read from the shared data folder --------------------------------------


def sroie_truth(path):
    """Lines of a SROIE ``box/NNN.csv``: 8 coordinates, then a transcript that may hold commas."""
    truth = []
    for row in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = row.split(",", 8)
        if len(parts) == 9 and parts[8].strip():
            values = [float(v) for v in parts[:8]]
            truth.append((parts[8].strip(), [values[i : i + 2] for i in range(0, 8, 2)]))
    return truth


def sroie_receipts(root):
    folder = root / "sroie-dev"
    for path in sorted((folder / "img").glob("*.jpg")):
        yield Sample(path.stem, _image(path), sroie_truth(folder / "box" / f"{path.stem}.csv"))


def funsd_truth(path):
    """FUNSD entities (a field name, an answer, a header...) with text; empty ones are marks."""
    form = json.loads(path.read_text(encoding="utf-8"))["form"]
    return [(entity["text"].strip(), _quad(*entity["box"])) for entity in form if entity["text"].strip()]


def funsd_forms(root):
    folder = root / "funsd-train"
    for path in sorted((folder / "images").glob("*.png")):
        yield Sample(path.stem, _image(path), funsd_truth(folder / "annotations" / f"{path.stem}.json"))


_HOCR_SPAN = re.compile(
    r"<span class=['\"](ocr_line|ocr_caption|ocr_header|ocr_textfloat|ocrx_word)['\"][^>]*?"
    r"title=['\"]bbox (\d+) (\d+) (\d+) (\d+)[^>]*>(.*?)(?=<span class=|</span>)",
    re.DOTALL,
)


def hocr_lines(text):
    """hOCR lines: the words of each ``ocr_line`` joined by spaces, in the line's box."""
    lines = []
    for kind, left, top, right, bottom, content in _HOCR_SPAN.findall(text):
        box = _quad(int(left), int(top), int(right), int(bottom))
        if kind != "ocrx_word":
            lines.append(["", box])
        elif lines:
            word = html.unescape(re.sub(r"<[^>]+>", "", content)).strip()
            lines[-1][0] = f"{lines[-1][0]} {word}".strip()
    return [(words, box) for words, box in lines if words]


def docs_pages(root):
    folder = root / "docs-dev"
    for path in sorted((folder / "ground_truth").glob("*.hocr")):
        name = path.name.split(".")[0]
        image_path = next((folder / "img").glob(f"{name}.*"))
        yield Sample(name, _image(image_path), hocr_lines(path.read_text(encoding="utf-8")))


# normcap's cases whose expected text is what its parser picked out of the
# screenshot (the addresses alone), not all the text in it.
PARSED_TEXT_TYPES = {"URL", "MAIL"}


def normcap_cases(data_file):
    """{image name: expected text} from normcap's test ``data.py``, read without importing it (it needs Qt).

    Cases expecting only the URLs or e-mail addresses normcap's parser extracts
    are left out: their truth drops the names and words around the addresses, so
    an engine that reads all of the screenshot would be charged for it.
    """
    tree = ast.parse(data_file.read_text(encoding="utf-8"))
    names = {"os": SimpleNamespace(linesep="\n"), "image_dir": data_file.parent, "__builtins__": {}}
    cases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("TestCase", "OcrTestCase"):
            fields = {k.arg: k.value for k in node.keywords}
            text_types = fields.get("expected_text_type")
            if text_types is not None and {t.attr for t in text_types.elts} <= PARSED_TEXT_TYPES:
                continue
            path = eval(compile(ast.Expression(fields["image_path"]), str(data_file), "eval"), names)
            key = "expected_text" if "expected_text" in fields else "transformed"
            cases[Path(path).name] = eval(compile(ast.Expression(fields[key]), str(data_file), "eval"), names)
    return cases


def screenshots(root):
    """normcap's desktop screenshots and its language screenshots, and IDE/web crops: one text per image."""
    folder = root / "screenshots-dev"
    for subset in ("normcap", "normcap-lang"):
        for image_name, text in sorted(normcap_cases(folder / subset / "data.py").items()):
            path = folder / subset / image_name
            if path.is_file():
                yield _whole_image(f"{subset}/{path.stem}", _image(path), text, "zh" if has_cjk(text) else "en")
    crops = json.loads((folder / "crops" / "info.json").read_text(encoding="utf-8"))
    for case in sorted(crops, key=lambda c: int(Path(c["path"]).stem)):
        text = case["text"].replace("\\n", "\n")
        yield _whole_image(f"crops/{Path(case['path']).stem}", _image(folder / "crops" / case["path"]), text,
                           "zh" if has_cjk(text) else "en")


# Each cropped-word image is tiny, but there are 935: a fixed share of each source keeps it quick.
SCENE_WORDS = 100


def scene_words(root):
    """Single words cropped from street photos (SVT) and curved text (CUTE80); the crop is the whole image."""
    folder = root / "scene-words-dev"
    sources = {name: sorted((folder / name / "IMG").glob("*.jpg"), key=lambda p: int(p.stem))
               for name in ("svt_test", "cute80_test")}
    total = sum(len(paths) for paths in sources.values())
    for name, paths in sources.items():
        chosen = random.Random(f"scene-words/{name}").sample(paths, round(SCENE_WORDS * len(paths) / total))
        for path in sorted(chosen, key=lambda p: int(p.stem)):
            word = (folder / name / "label" / f"{path.stem}.txt").read_text(encoding="utf-8").strip()
            yield _whole_image(f"{name}/{path.stem}", _image(path), word)


# Phone photos made from the dev receipts and forms ----------------------------


def _seeded(*parts):
    return np.random.default_rng(zlib.crc32("/".join(map(str, parts)).encode()))


def _table_texture(rng, height, width):
    """A coloured table top: wood-like grain or cloth, with low-frequency blotches."""
    palette = [(70, 110, 160), (40, 70, 110), (150, 150, 145), (60, 60, 62), (95, 125, 90), (170, 180, 190),
               (120, 80, 150)]
    base = np.array(palette[rng.integers(len(palette))], dtype=np.float32)
    small = rng.normal(0, 1, (max(2, height // 64), max(2, width // 64))).astype(np.float32)
    blotches = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    if rng.random() < 0.5:  # wood grain along a random direction
        angle = rng.uniform(0, np.pi)
        along = x * np.cos(angle) + y * np.sin(angle)
        grain = np.sin(along / rng.uniform(6, 14) + 3 * blotches) * 10
    else:  # woven cloth
        period = rng.uniform(3, 6)
        grain = (np.sin(x / period) * np.sin(y / period)) * 8
    fine = rng.normal(0, 6, (height, width)).astype(np.float32)
    texture = base[None, None, :] + (grain + 14 * blotches + fine)[..., None]
    return np.clip(texture, 0, 255)


def _uneven_light(rng, height, width):
    """A light gradient from one side, a dimmer corner and a soft shadow blob."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = ((x / width - 0.5) * np.cos(angle) + (y / height - 0.5) * np.sin(angle))
    light = 1.0 + ramp * rng.uniform(0.25, 0.5)
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    radius = rng.uniform(0.2, 0.45) * max(height, width)
    shadow = np.exp(-(((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2)))
    light *= 1.0 - rng.uniform(0.15, 0.3) * shadow
    return light * rng.uniform(0.85, 1.0)


def phone_photo(image, truth, seed, long_side=1600):
    """The page laid on a table and photographed: turned, tilted, unevenly lit, slightly blurred, JPEG.

    Returns the photo and the truth with each polygon moved by the same homography.
    """
    rng = _seeded("phone", seed)
    height, width = image.shape[:2]
    portrait = height >= width
    frame_h, frame_w = (long_side, long_side * 3 // 4) if portrait else (long_side * 3 // 4, long_side)
    scale = rng.uniform(0.72, 0.86) * min(frame_w / width, frame_h / height)
    page_w, page_h = width * scale, height * scale
    centre = np.array([frame_w / 2, frame_h / 2]) + rng.uniform(-0.04, 0.04, 2) * [frame_w, frame_h]
    turn = np.deg2rad(rng.uniform(3, 7) * rng.choice([-1, 1]))
    rotation = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    corners = np.array([[-page_w / 2, -page_h / 2], [page_w / 2, -page_h / 2],
                        [page_w / 2, page_h / 2], [-page_w / 2, page_h / 2]])
    # Tilt: the edge farther from the camera looks shorter (top or bottom, left or right).
    tilt = rng.uniform(0.04, 0.1)
    if rng.random() < 0.7:
        far = 0 if rng.random() < 0.5 else 2
        corners[far : far + 2, 0] *= 1 - tilt
    else:
        far = [0, 3] if rng.random() < 0.5 else [1, 2]
        corners[far, 1] *= 1 - tilt
    corners += rng.normal(0, 0.006 * max(page_w, page_h), corners.shape)
    target = (corners @ rotation.T + centre).astype(np.float32)
    source = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    homography = cv2.getPerspectiveTransform(source, target)

    paper = image.astype(np.float32) * np.array(rng.uniform(0.9, 1.0, 3), dtype=np.float32)
    page = cv2.warpPerspective(paper, homography, (frame_w, frame_h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((height, width), np.float32), homography, (frame_w, frame_h))
    shadow_mask = cv2.GaussianBlur(np.roll(mask, (6, 4), axis=(0, 1)), (0, 0), 8)
    background = _table_texture(rng, frame_h, frame_w) * (1 - 0.45 * shadow_mask)[..., None]
    photo = background * (1 - mask[..., None]) + page * mask[..., None]
    photo *= _uneven_light(rng, frame_h, frame_w)[..., None]
    photo = cv2.GaussianBlur(photo, (0, 0), rng.uniform(0.6, 1.1))
    photo += rng.normal(0, 2.5, photo.shape)
    _, encoded = cv2.imencode(".jpg", np.clip(photo, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 85])
    photo = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    moved = []
    for text, polygon in truth:
        points = np.asarray(polygon, dtype=np.float32).reshape(-1, 1, 2)
        moved.append((text, cv2.perspectiveTransform(points, homography).reshape(-1, 2).round(1).tolist()))
    return photo, moved


def _cached(set_name, name, make):
    """``make()`` -> (image, truth, language), kept as PNG (the exact pixels) + JSON under CACHE."""
    folder = CACHE / f"{set_name}-v{GENERATOR_VERSION}"
    truth_path = folder / f"{name}.json"
    if truth_path.is_file():
        record = json.loads(truth_path.read_text(encoding="utf-8"))
        image = _image(folder / record["image"])
        return Sample(name, image, [(t, p) for t, p in record["truth"]], record["language"])
    image, truth, language = make()
    folder.mkdir(parents=True, exist_ok=True)
    image_name = f"{name}.png"
    cv2.imwrite(str(folder / image_name), image)
    record = {"image": image_name, "language": language, "truth": [[t, p] for t, p in truth]}
    truth_path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    return Sample(name, image, truth, language)


# Every fifth receipt and every fifteenth form: spread over the dev sets, no image picked by hand.
PHONE_RECEIPT_STEP = 5
PHONE_FORM_STEP = 15


def phone_receipts(root):
    for index, sample in enumerate(sroie_receipts(root)):
        if index % PHONE_RECEIPT_STEP == 0:
            yield _cached("phone-receipts", sample.name,
                          lambda s=sample: (*phone_photo(s.image, s.truth, f"receipt/{s.name}"), "en"))


def phone_forms(root):
    for index, sample in enumerate(funsd_forms(root)):
        if index % PHONE_FORM_STEP == 0:
            yield _cached("phone-forms", sample.name,
                          lambda s=sample: (*phone_photo(s.image, s.truth, f"form/{s.name}"), "en"))


# Chinese pages rendered from real text ---------------------------------------

FORTUNES = Path("/usr/share/games/fortunes")
FONT_FILES = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _printable(text):
    """Keep what every CJK font here draws: CJK ideographs and punctuation, ASCII, full-width forms."""
    kept = []
    for c in text:
        code = ord(c)
        if (0x20 <= code < 0x7F or 0x4E00 <= code <= 0x9FFF or 0x3000 <= code <= 0x303F
                or 0xFF01 <= code <= 0xFF5E or c in "·—…“”‘’、《》"):
            kept.append(c)
    return "".join(kept)


def fortunes(name):
    """Entries of a fortunes-zh file (UTF-8 flavour), colour codes removed, as lists of lines."""
    text = _ANSI.sub("", (FORTUNES / f"{name}.u8").read_text(encoding="utf-8"))
    entries = []
    for entry in text.split("\n%\n"):
        lines = [" ".join(_printable(line).split()) for line in entry.splitlines()]
        lines = [line for line in lines if line]
        if lines:
            entries.append(lines)
    return entries


def to_traditional(lines):
    """Simplified to traditional characters with OpenCC (Debian's ``opencc``), line for line."""
    output = subprocess.run(["opencc", "-c", "s2t.json"], input="\n".join(lines), capture_output=True,
                            text=True, check=True).stdout
    converted = output.rstrip("\n").split("\n")
    if len(converted) != len(lines):
        raise RuntimeError("opencc changed the number of lines")
    return converted


def fonts(script):
    """(path, face index) of the installed CJK faces for ``script`` ("SC" or "TC")."""
    from PIL import ImageFont

    faces = []
    for path in FONT_FILES:
        for index in range(8):
            try:
                family = ImageFont.truetype(path, 20, index=index).getname()[0]
            except OSError:
                break
            if family.endswith(f"CJK {script}") or ("WenQuanYi" in family and "Sharp" not in family):
                faces.append((path, index))
    if not faces:
        raise RuntimeError(f"no CJK font for {script}: run 'make bench-deps'")
    return faces


class PageWriter:
    """Draws lines of text onto a page and records each line's text and exact box."""

    def __init__(self, width, height, rng):
        from PIL import Image, ImageDraw

        tint = tuple(int(v) for v in rng.integers(244, 256, 3))
        self.image = Image.new("RGB", (width, height), tint)
        self.draw = ImageDraw.Draw(self.image)
        self.truth = []

    def font(self, face, size):
        from PIL import ImageFont

        return ImageFont.truetype(face[0], size, index=face[1])

    def width(self, text, font):
        return self.draw.textlength(text, font=font)

    def line(self, x, y, text, font, colour=(20, 20, 20)):
        self.draw.text((x, y), text, font=font, fill=colour)
        left, top, right, bottom = self.draw.textbbox((x, y), text, font=font)
        self.truth.append((text, _quad(left, top, right, bottom)))

    def wrap(self, text, font, width):
        """Greedy wrap by printed width (CJK breaks anywhere; a Latin run is kept whole when it fits)."""
        lines, current = [], ""
        for token in re.findall(r"[A-Za-z0-9.,:/\-_@%¥$]+ ?|.", text):
            if current and self.width(current + token, font) > width:
                lines.append(current.rstrip())
                current = token.lstrip()
            else:
                current += token
        if current.strip():
            lines.append(current.rstrip())
        return lines

    def pixels(self):
        return cv2.cvtColor(np.asarray(self.image), cv2.COLOR_RGB2BGR)


def _invoice_rows(rng, phrases):
    """Rows of an invoice table: goods named with real phrases, codes, quantities and prices."""
    rows = []
    for _ in range(int(rng.integers(5, 9))):
        name = phrases[int(rng.integers(len(phrases)))]
        spec = f"{rng.choice(list('ABCDKMX'))}{int(rng.integers(1, 99))}-{int(rng.integers(100, 999))}"
        quantity = int(rng.integers(1, 60))
        price = round(float(rng.uniform(0.5, 900)), 2)
        rows.append([name, spec, rng.choice(["个", "件", "箱", "kg", "套", "pcs"]), str(quantity), f"{price:.2f}",
                     f"{quantity * price:,.2f}"])
    return rows


def chinese_page(index):
    """One rendered page: layout, script, font and size all follow from ``index`` and a seed."""
    rng = _seeded("zh-page", index)
    script = "SC" if index % 2 == 0 else "TC"
    layout = ("article", "two-columns", "poems", "invoice")[(index // 2) % 4]
    face = fonts(script)[int(rng.integers(len(fonts(script))))]
    prose = fortunes("chinese")
    poems = fortunes("tang300") + fortunes("song100")
    width = int(rng.integers(1000, 1300))
    page = PageWriter(width, int(width * 1.414), rng)
    # From small print (13 px, a dense newspaper or a low-resolution scan) to large type.
    body = page.font(face, int(rng.integers(13, 34)))
    title_font = page.font(face, int(rng.integers(36, 54)))
    convert = to_traditional if script == "TC" else (lambda lines: lines)
    margin, y = int(width * 0.08), int(width * 0.07)
    bottom = page.image.height - margin

    if layout == "invoice":
        phrases = [p for i in rng.choice(len(poems), 12) for line in poems[i][2:]
                   for p in re.split(r"[，。？！、；：]", line) if 2 <= len(p) <= 7]
        number = int(rng.integers(10**7, 10**8))
        heading = convert(["增值税普通发票"])[0]
        fields = convert([
            f"发票代码: 0{int(rng.integers(10**10, 10**11))}  发票号码: No.{number}",
            (f"开票日期: {int(rng.integers(2015, 2026))}年{int(rng.integers(1, 13)):02d}月"
             f"{int(rng.integers(1, 29)):02d}日  校验码: {int(rng.integers(10**4, 10**5))} {int(rng.integers(10**4, 10**5))}"),
            f"购买方: {phrases[0]}有限公司  税号: 91{int(rng.integers(10**9, 10**10))}MA{int(rng.integers(10, 99))}X",
        ])
        page.line((width - page.width(heading, title_font)) / 2, y, heading, title_font, (30, 30, 150))
        y += title_font.size * 2
        for field in fields:
            page.line(margin, y, field, body)
            y += body.size * 1.8
        header = convert(["货物或应税劳务名称", "规格型号", "单位", "数量", "单价", "金额"])
        rows = [header] + [convert(row[:1]) + row[1:] for row in _invoice_rows(rng, phrases[1:])]
        columns = [0.34, 0.16, 0.1, 0.1, 0.14, 0.16]
        edges = np.cumsum([margin] + [c * (width - 2 * margin) for c in columns])
        row_height = int(body.size * 2.2)
        page.draw.rectangle([edges[0], y, edges[-1], y + row_height * len(rows)], outline=(60, 60, 60), width=2)
        for r, cells in enumerate(rows):
            top = y + r * row_height
            if r:
                page.draw.line([edges[0], top, edges[-1], top], fill=(90, 90, 90), width=1)
            for c, cell in enumerate(cells):
                cell_font = body
                while page.width(cell, cell_font) > edges[c + 1] - edges[c] - 10 and cell_font.size > 12:
                    cell_font = page.font(face, cell_font.size - 2)
                page.line(edges[c] + 6, top + (row_height - cell_font.size) / 2 - 2, cell, cell_font)
        for edge in edges[1:-1]:
            page.draw.line([edge, y, edge, y + row_height * len(rows)], fill=(90, 90, 90), width=1)
        y += row_height * len(rows) + body.size
        total = sum(float(row[5].replace(",", "")) for row in rows[1:])
        for line in convert([f"合计 ¥{total:,.2f}", f"价税合计(小写) ¥{total * 1.13:,.2f}  税率 13%"]):
            page.line(edges[3], y, line, body)
            y += body.size * 1.8
    else:
        columns = 2 if layout == "two-columns" else 1
        gap = int(width * 0.05)
        column_width = (width - 2 * margin - gap * (columns - 1)) / columns
        if layout == "poems":
            entries = [poems[i] for i in rng.permutation(len(poems))[:8]]
            title = convert([entries[0][0].strip("《》")])[0]
            paragraphs = [convert(entry) for entry in entries[1:]]
        else:
            chosen = [prose[i] for i in rng.permutation(len(prose))[:40]]
            chosen = [entry for entry in chosen if sum(map(len, entry)) > 30 and has_cjk("".join(entry))][:12]
            title = convert([chosen[0][0][:24]])[0]
            paragraphs = [convert(["".join(entry)]) for entry in chosen[1:]]
        page.line((width - page.width(title, title_font)) / 2, y, title, title_font)
        y += title_font.size * 2
        column, top = 0, y
        for paragraph in paragraphs:
            lines = [line for text in paragraph for line in page.wrap(text, body, column_width)]
            for line in lines:
                if y + body.size > bottom:
                    column, y = column + 1, top
                if column >= columns:
                    break
                page.line(margin + column * (column_width + gap), y, line, body)
                y += body.size * 1.6
            y += body.size * 0.8
            if column >= columns:
                break
    image = page.pixels()
    return image, page.truth


# Pages per run: two scripts x four layouts, twice over in other fonts and sizes, and
# photo-like and low-resolution scanned copies of the first four.
CHINESE_PAGES = 16
CHINESE_PHOTOS = 4


def chinese_pages(root):
    for index in range(CHINESE_PAGES):
        yield _cached("zh-pages", f"page-{index:02d}", lambda i=index: (*chinese_page(i), "zh"))


def _chinese_variants(set_name, transform):
    """The first CHINESE_PHOTOS pages, each passed through ``transform(image, truth, seed)``."""
    for index in range(CHINESE_PHOTOS):
        def make(i=index):
            image, truth = chinese_page(i)
            return (*transform(image, truth, f"zh-page/{i}"), "zh")

        yield _cached(set_name, f"page-{index:02d}", make)


def chinese_photos(root):
    return _chinese_variants("zh-photos", phone_photo)


def low_resolution_scan(image, truth, seed):
    """A grey, low-resolution, noisy scan of a page (a fax or a cheap copier), truth scaled with it."""
    rng = _seeded("scan", seed)
    scale = rng.uniform(0.5, 0.65)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), rng.uniform(0.5, 0.8))
    faded = 255 - (255 - small) * rng.uniform(0.65, 0.85)  # toner too light
    noisy = faded + rng.normal(0, rng.uniform(5, 9), faded.shape)
    _, encoded = cv2.imencode(".jpg", np.clip(noisy, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 60])
    scan = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2BGR)
    scaled = [(text, (np.asarray(polygon) * scale).round(1).tolist()) for text, polygon in truth]
    return scan, scaled


def chinese_scans(root):
    return _chinese_variants("zh-scans", low_resolution_scan)


SETS = {
    "sroie-dev": sroie_receipts,
    "phone-receipts": phone_receipts,
    "funsd-train": funsd_forms,
    "phone-forms": phone_forms,
    "docs-dev": docs_pages,
    "screenshots-dev": screenshots,
    "scene-words-dev": scene_words,
    "zh-pages": chinese_pages,
    "zh-photos": chinese_photos,
    "zh-scans": chinese_scans,
}


def load(set_name, data_root=DATA_ROOT, limit=None):
    """The first ``limit`` samples of a set (all when None)."""
    for index, sample in enumerate(SETS[set_name](Path(data_root))):
        if limit is not None and index >= limit:
            return
        yield sample


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", default=str(DATA_ROOT), help="folder holding the shared data sets")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated: " + ",".join(SETS))
    parser.add_argument("--limit", type=int, help="at most N images per set")
    args = parser.parse_args(argv)
    for set_name in args.sets.split(","):
        samples = list(load(set_name, args.data_root, args.limit))
        lines = sum(len(s.truth) for s in samples)
        characters = sum(len(t) for s in samples for t, _ in s.truth)
        print(f"{set_name}: {len(samples)} images, {lines} truth boxes, {characters} characters")


if __name__ == "__main__":
    main()


def parse_set_names(text):
    """The set names of a comma-separated option; ValueError naming the unknown ones."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SETS]
    if unknown:
        raise ValueError(f"unknown sets {unknown}; choose from {list(SETS)}")
    return names
