"""Which way up a page and its text lines are, and how to map boxes between the two.

No page-orientation model can be shipped offline, so the page angle is decided
from what the engine already has: the shape of the detected text boxes (mostly
tall boxes mean a quarter turn, unless they are columns of upright Chinese
characters) and how confidently the recogniser reads a few of the longest lines
one way up or the other. Text lines that are upside down on an upright page are
caught by the small ``ch_ppocr_mobile_v2.0_cls`` classifier.

Angles are counter-clockwise turns in degrees (0, 90, 180, 270): a page
reported at 90 was turned 90 degrees counter-clockwise from upright, and is
read after turning it back.
"""

import math

import cv2
import numpy as np

from app.recognition.inference_sessions import AdaptiveSession

# A box counts as a line of text (and so as a witness of the text direction)
# when its long side is at least this many times its short side.
LINE_ASPECT = 2.0
# The page is taken to lie on its side when at least this share of the line
# boxes (weighted by length) stand upright.
QUARTER_TURN_SHARE = 0.6
# Lines read in both directions to decide between a page and its 180-degree turn.
SAMPLE_LINES = 8
# Standing lines are columns of upright characters (vertical Chinese), not a page on
# its side, when at least this share of the squares cut from the top of each
# (COLUMN_SQUARES a column) read as one sure character of the column's reading.
COLUMN_SQUARES = 2
UPRIGHT_SQUARES = 0.5
# The turned reading must beat the plain one by this much mean confidence:
# an upright page is never turned on a close call.
TURN_MARGIN = 0.15
# An upright page is turned 180 degrees when the turned reading is clearly better and
# the line classifier agrees, or, whatever the classifier says, when the turned lines
# read this surely on average: an upside-down deposition page read 0.99 turned and
# 0.73 as garbage plain, while the classifier called only 39% of its lines upside down.
# 31 test images turned 180 read 0.80-1.00 turned (27 of them 0.95 or more).
SURE_TURNED_READING = 0.9
# A line is turned only when its turned reading is also sure: of 1036 lines read on
# 13 receipts and 4 pages, 99% read at 0.8 or more, while a 22x31 symbol the line
# classifier called upside down read 0.50 plain and 0.71 turned, as noise.
TURN_MIN_SCORE = 0.8

# cv2 turns images clockwise or counter-clockwise; these turn by the key's degrees counter-clockwise.
_CV2_TURN = {
    90: cv2.ROTATE_90_COUNTERCLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_CLOCKWISE,
}


def turn_image(pixels, angle):
    """Return ``pixels`` turned counter-clockwise by ``angle`` degrees."""
    angle %= 360
    return pixels if angle == 0 else cv2.rotate(pixels, _CV2_TURN[angle])


def turn_points(points, angle, width, height):
    """Map points of a ``width`` x ``height`` image onto that image turned by ``angle``.

    Turning keeps a clockwise polygon clockwise, so point order is kept.
    """
    points = np.asarray(points, dtype=np.float64)
    x, y = points[..., 0], points[..., 1]
    angle %= 360
    if angle == 90:
        return np.stack([y, width - x], axis=-1)
    if angle == 180:
        return np.stack([width - x, height - y], axis=-1)
    if angle == 270:
        return np.stack([height - y, x], axis=-1)
    return points.copy()


def box_sides(polygon):
    """(along, across) lengths of a quadrilateral: mean of its horizontal and vertical edge pairs."""
    p = np.asarray(polygon, dtype=np.float64)
    horizontal = (np.linalg.norm(p[1] - p[0]) + np.linalg.norm(p[2] - p[3])) / 2
    vertical = (np.linalg.norm(p[3] - p[0]) + np.linalg.norm(p[2] - p[1])) / 2
    return horizontal, vertical


def _extent(polygon):
    points = np.asarray(polygon, dtype=np.float64)
    return float(np.ptp(points[:, 0])), float(np.ptp(points[:, 1]))


def line_boxes(polygons, vertical=False):
    """Indexes of boxes elongated enough to show a text direction, longest first.

    Only boxes running the given way: vertical ones on a page lying on its side.
    """
    lines = []
    for index, polygon in enumerate(polygons):
        width, height = _extent(polygon)
        if (height > width) == vertical and max(width, height) >= LINE_ASPECT * max(1.0, min(width, height)):
            lines.append((max(width, height), index))
    return [index for _, index in sorted(lines, reverse=True)]


def lies_on_its_side(polygons):
    """True when most text lines, by length, run vertically: the page was turned a quarter."""
    lengths = {vertical: sum(max(_extent(polygons[i])) for i in line_boxes(polygons, vertical))
               for vertical in (False, True)}
    total = lengths[False] + lengths[True]
    return total > 0 and lengths[True] / total >= QUARTER_TURN_SHARE


class TextlineOrientationClassifier:
    """The ``ch_ppocr_mobile_v2.0_cls`` ONNX model: is a text-line crop upside down?"""

    # The model's input: 3 x 48 x 192, pixels scaled to [-1, 1]; labels ["0", "180"].
    HEIGHT, WIDTH = 48, 192
    BATCH = 8

    def __init__(self, model_path, threads, runtime="onnxruntime", precision="f32"):
        self._session = AdaptiveSession(model_path, threads, runtime=runtime, precision=precision)
        self._input = self._session.get_inputs()[0].name

    def upside_down(self, crops):
        """Probability that each crop (BGR, text running left to right) is upside down."""
        probabilities = []
        for start in range(0, len(crops), self.BATCH):
            batch = np.stack([self._normalise(crop) for crop in crops[start : start + self.BATCH]])
            (scores,) = self._session.run(None, {self._input: batch})
            probabilities.extend(float(p) for p in scores[:, 1])
        return probabilities

    def _normalise(self, crop):
        height, width = crop.shape[:2]
        resized_width = min(self.WIDTH, max(1, math.ceil(self.HEIGHT * width / max(1, height))))
        resized = cv2.resize(crop, (resized_width, self.HEIGHT)).astype(np.float32)
        canvas = np.zeros((3, self.HEIGHT, self.WIDTH), dtype=np.float32)
        canvas[:, :, :resized_width] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
        return canvas
