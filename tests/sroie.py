"""Read the SROIE dev receipts and their ground truth; shared by tests and benchmarks.

Two folders hold receipts laid out alike (``img/NNN.jpg``, ``box/NNN.csv``):
``TEST_RECEIPTS``, the 13 the repository holds, which are all that tests may read
(a fresh clone has nothing beside it), and the 100-receipt dev set beside the
checkout that benchmarks read (``tests.bench.SROIE``). Each function takes the
folder as ``root``, with no default, so nothing reads beside the checkout unasked.
"""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import Levenshtein

# Only files inside the repository (tests/data/README.md names their sources).
TEST_DATA = Path(__file__).resolve().parent / "data"
TEST_RECEIPTS = TEST_DATA / "sroie-dev"
IMAGES = TEST_DATA / "images"


@dataclass
class TruthLine:
    polygon: list  # 4 (x, y) points
    text: str

    @property
    def box(self):
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return min(xs), min(ys), max(xs), max(ys)


def receipt_ids(root):
    """Ids of the receipts in ``root``; a missing folder is an error, never an empty set."""
    ids = sorted(p.stem for p in (Path(root) / "img").glob("*.jpg"))
    if not ids:
        raise FileNotFoundError(f"no receipts in {Path(root) / 'img'}")
    return ids


def receipt_path(receipt_id, root):
    return Path(root) / "img" / f"{receipt_id}.jpg"


def ground_truth(receipt_id, root):
    """Lines of ``box/NNN.csv``: 8 coordinates, then a transcript that may hold commas."""
    lines = []
    text = (Path(root) / "box" / f"{receipt_id}.csv").read_text(encoding="utf-8", errors="replace")
    for row in text.splitlines():
        parts = row.split(",", 8)
        if len(parts) < 9:
            continue
        coords = [int(float(v)) for v in parts[:8]]
        lines.append(TruthLine([(coords[i], coords[i + 1]) for i in range(0, 8, 2)], parts[8].strip()))
    return lines


def collapse(text):
    return " ".join(text.split())


def character_error_rate(predicted, truth):
    """Edit distance over the truth's length, whitespace collapsed."""
    predicted, truth = collapse(predicted), collapse(truth)
    return Levenshtein.distance(predicted, truth) / max(1, len(truth))


def iou(a, b):
    """Intersection over union of two (left, top, right, bottom) boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])
    return inter / (area(a) + area(b) - inter)


def page_text(truth_lines):
    """The receipt's text in the order of its ground-truth file (top to bottom)."""
    return " ".join(line.text for line in truth_lines)


def word_matches(predicted, truth):
    """(matched, predicted, truth) counts of whitespace tokens, matched as multisets."""
    predicted, truth = Counter(predicted.split()), Counter(truth.split())
    return sum((predicted & truth).values()), sum(predicted.values()), sum(truth.values())


def box_matches(predicted, truth, threshold=0.5):
    """Boxes matched one to one at IoU >= ``threshold``, best pairs first."""
    pairs = sorted(
        ((iou(p, t), i, j) for i, p in enumerate(predicted) for j, t in enumerate(truth)),
        reverse=True,
    )
    used_predicted, used_truth = set(), set()
    for score, i, j in pairs:
        if score < threshold:
            break
        if i not in used_predicted and j not in used_truth:
            used_predicted.add(i)
            used_truth.add(j)
    return len(used_predicted)


def f1(matched, predicted, truth):
    return 2 * matched / (predicted + truth) if predicted + truth else 1.0


def bounding_box(points):
    """(left, top, right, bottom) of a polygon's points."""
    xs, ys = [float(p[0]) for p in points], [float(p[1]) for p in points]
    return min(xs), min(ys), max(xs), max(ys)


@dataclass
class Scores:
    """Totals over receipts of what the accuracy benchmark reports.

    CER is total edits over total truth characters; text is compared in capitals
    because SROIE transcribes everything in capitals.
    """

    edits: float = 0.0
    characters: int = 0
    words: tuple = (0, 0, 0)
    lines: tuple = (0, 0, 0)

    def add(self, texts, boxes, truth_lines, truth_boxes=None):
        """Score one page read as ``texts`` in reading order with their ``boxes``."""
        predicted, truth = collapse(" ".join(texts)).upper(), collapse(page_text(truth_lines)).upper()
        self.edits += character_error_rate(predicted, truth) * max(1, len(truth))
        self.characters += max(1, len(truth))
        self.words = tuple(a + b for a, b in zip(self.words, word_matches(predicted, truth)))
        if truth_boxes is None:
            truth_boxes = [line.box for line in truth_lines]
        counts = (box_matches(boxes, truth_boxes), len(boxes), len(truth_boxes))
        self.lines = tuple(a + b for a, b in zip(self.lines, counts))

    @property
    def cer(self):
        return self.edits / max(1, self.characters)

    @property
    def word_f1(self):
        return f1(*self.words)

    @property
    def line_f1(self):
        return f1(*self.lines)
