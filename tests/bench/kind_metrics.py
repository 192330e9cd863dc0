"""One measure for every engine and every kind of image, blind to reading order and segmentation.

Each predicted segment is cut into words (whitespace tokens; each word gets the
slice of the segment's box its characters take up) and each word is given to the
truth box it lies on: the one that covers the largest share of the word's area,
or, when none overlaps it, none. Per truth box the words given to it are joined
in reading order (rows top to bottom, left to right within a row, along the truth
box's own top edge so a turned page's lines keep their order) and compared
with the truth text by edit distance, after NFKC folding (full-width forms become
ASCII), case folding and removing all whitespace. A truth that covers the whole
image (screenshots, whose truth has no boxes) gives no geometry to order by:
there the predicted segments, whole, are joined in the order their text best
aligns with the truth (a word alone is ambiguous: every "the" of a paragraph
aligned with its first one).
Words lying on no truth box are not counted: the sets do not label all text.

Per set: CER = sum of edits / sum of truth characters; the share of truth boxes
read at all (some word given to the box and its CER below 1); images where an
engine read nothing; and, for this service, images where it read nothing but a
peer read at least three words.
"""

import re
import statistics
import unicodedata
from dataclasses import dataclass, field

import cv2
import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

# A prediction counts as "reading" an image when it has at least this many words
# (CJK characters count one word each, as a word of English does).
PEER_READS_WORDS = 3


def normalise(text):
    """NFKC (full-width forms to ASCII), case-folded, every whitespace removed."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def word_count(text):
    """Whitespace tokens, with each CJK character counted as one word."""
    count = 0
    for token in text.split():
        wide = sum(1 for c in token if unicodedata.east_asian_width(c) in "WF")
        count += wide + (1 if wide < len(token) else 0)
    return count


def _width(character):
    """Relative printed width: CJK and full-width forms are about twice a Latin letter."""
    return 2.0 if unicodedata.east_asian_width(character) in "WF" else 1.0


def split_words(text, polygon):
    """[(word, quad)]: each whitespace token with the slice of the segment's quad it takes.

    The quad is (top-left, top-right, bottom-right, bottom-left); a token's slice
    runs along the top and bottom edges in proportion to printed character widths.
    """
    quad = np.asarray(polygon, dtype=np.float64).reshape(4, 2)
    # offsets[i]: printed width of text[:i]
    offsets = np.concatenate([[0.0], np.cumsum([_width(c) for c in text])])
    total = offsets[-1] or 1.0
    words = [(m.group(), offsets[m.start()] / total, offsets[m.end()] / total) for m in re.finditer(r"\S+", text)]
    top_left, top_right, bottom_right, bottom_left = quad
    pieces = []
    for word, a, b in words:
        pieces.append(
            (
                word,
                np.array(
                    [
                        top_left + (top_right - top_left) * a,
                        top_left + (top_right - top_left) * b,
                        bottom_left + (bottom_right - bottom_left) * b,
                        bottom_left + (bottom_right - bottom_left) * a,
                    ]
                ),
            )
        )
    return pieces


def _area(quad):
    return abs(cv2.contourArea(np.asarray(quad, dtype=np.float32)))


def _overlap(a, b):
    """Intersection area of two quads (convex hulls, so crossing quads cannot break it)."""
    a = cv2.convexHull(np.asarray(a, dtype=np.float32))
    b = cv2.convexHull(np.asarray(b, dtype=np.float32))
    area, _ = cv2.intersectConvexConvex(a, b)
    return area


def _bounds(quad):
    quad = np.asarray(quad)
    return quad[:, 0].min(), quad[:, 1].min(), quad[:, 0].max(), quad[:, 1].max()


def assign_words(predictions, truth):
    """For each truth box, the (word, quad) pieces of the predictions given to it."""
    truth_bounds = [_bounds(polygon) for _, polygon in truth]
    given = [[] for _ in truth]
    for text, polygon, _score in predictions:
        for word, quad in split_words(text, polygon):
            left, top, right, bottom = _bounds(quad)
            centre = ((left + right) / 2, (top + bottom) / 2)
            best, best_share = None, 0.0
            word_area = max(_area(quad), 1e-6)
            for index, (t_left, t_top, t_right, t_bottom) in enumerate(truth_bounds):
                if right < t_left or left > t_right or bottom < t_top or top > t_bottom:
                    continue
                share = _overlap(quad, truth[index][1]) / word_area
                if share <= 0 and cv2.pointPolygonTest(
                    np.asarray(truth[index][1], dtype=np.float32), centre, False
                ) >= 0:
                    share = 1e-6  # degenerate (zero-area) word box lying inside a truth box
                if share > best_share:
                    best, best_share = index, share
            if best is not None:
                given[best].append((word, quad))
    return given


def reading_order(pieces, truth_polygon):
    """Join pieces line by line, top to bottom, each line left to right.

    Taken from left to right, a piece joins the line whose last piece it overlaps
    most across the line (by half the smaller height at least): the lines of a
    tilted paragraph overlap each other's extent, so rows compared as a whole
    mixed them and a perfect reading of a scanned form's paragraph cost 56 edits.
    Lines run along the truth box's own top edge, so the words of one line on a
    turned page stay in order.
    """
    corners = np.asarray(truth_polygon, dtype=np.float64).reshape(-1, 2)
    along = corners[1] - corners[0]
    along = along / (np.linalg.norm(along) or 1.0)
    across = np.array([-along[1], along[0]])
    placed = []
    for word, quad in pieces:
        points = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
        u, v = points @ along, points @ across
        placed.append((u.min(), v.min(), v.max(), word))
    rows = []
    for _, top, bottom, word in sorted(placed, key=lambda p: p[0]):
        best, best_overlap = None, 0.0
        for row in rows:
            last_top, last_bottom = row["last"]
            overlap = min(bottom, last_bottom) - max(top, last_top)
            if overlap > 0.5 * min(bottom - top, last_bottom - last_top) and overlap > best_overlap:
                best, best_overlap = row, overlap
        if best is None:
            rows.append({"first": (top + bottom) / 2, "last": (top, bottom), "words": [word]})
        else:
            best["words"].append(word)
            best["last"] = (top, bottom)
    return " ".join(word for row in sorted(rows, key=lambda r: r["first"]) for word in row["words"])


def truth_order(pieces, truth_text):
    """Join (text, quad) pieces in the order their text best aligns within ``truth_text`` (no geometry to use)."""
    target = normalise(truth_text)

    def position(piece):
        word = normalise(piece[0])
        if not word or not target:
            return 0
        return fuzz.partial_ratio_alignment(word, target).dest_start

    return " ".join(word for word, _ in sorted(pieces, key=position))


@dataclass
class ImageScore:
    edits: int
    characters: int
    boxes: int
    boxes_read: int
    words: int  # words the engine read anywhere in the image


def score_image(predictions, truth, whole_image=False):
    """Score one image's predictions [(text, polygon, score)] against truth [(text, polygon)]."""
    edits = characters = boxes_read = 0
    given = assign_words(predictions, truth)
    for (truth_text, truth_polygon), pieces in zip(truth, given):
        if whole_image:
            # The one truth box is the whole image: every segment lies on it.
            read = truth_order([(text, polygon) for text, polygon, _ in predictions], truth_text)
        else:
            read = reading_order(pieces, truth_polygon)
        expected = normalise(truth_text)
        box_edits = Levenshtein.distance(normalise(read), expected)
        edits += box_edits
        characters += len(expected)
        if pieces and box_edits < len(expected):
            boxes_read += 1
    words = sum(word_count(text) for text, _, _ in predictions)
    return ImageScore(edits, characters, len(truth), boxes_read, words)


@dataclass
class SetTally:
    """One engine's totals over one set."""

    edits: int = 0
    characters: int = 0
    boxes: int = 0
    boxes_read: int = 0
    empty: int = 0
    seconds: list = field(default_factory=list)
    words: list = field(default_factory=list)  # words read, per image, in set order
    names: list = field(default_factory=list)  # the images, in set order

    def add(self, image_score, seconds, name=""):
        self.edits += image_score.edits
        self.characters += image_score.characters
        self.boxes += image_score.boxes
        self.boxes_read += image_score.boxes_read
        self.empty += image_score.words == 0
        self.seconds.append(seconds)
        self.words.append(image_score.words)
        self.names.append(name)

    @property
    def cer(self):
        return self.edits / max(1, self.characters)

    @property
    def read_share(self):
        return self.boxes_read / max(1, self.boxes)

    @property
    def median_seconds(self):
        return statistics.median(self.seconds) if self.seconds else float("nan")


def empty_where_peer_reads(service, peers):
    """Names of the images the service read nothing on while some peer read at least PEER_READS_WORDS words."""
    return [
        service.names[index]
        for index, words in enumerate(service.words)
        if words == 0 and any(peer.words[index] >= PEER_READS_WORDS for peer in peers)
    ]
