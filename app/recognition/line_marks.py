"""Marks of ink just beside a line's box that the detector left out of it.

A Chinese heading numbered "一、" came back as its words alone: the detector
scores the lone stroke and the enumeration comma under its threshold at some
scales (0.09 on the map where the words score 1.0), even at thresholds of
0.1, so no box covers them. A field name's colon or a line's last digit is
lost the same way. Each box lying flat is looked past on both ends, along its
own height band, for ink that no box covers; the engine reads the widened box
again and keeps it only when that reading holds the old one and a mark more.
"""

import unicodedata

import cv2
import numpy as np

from app.recognition.orientation import box_sides

# The share of a band's rows a column must ink to be a fill, not part of a mark.
FILLED_COLUMN = 0.95


def covered_mask(shape, polygons):
    """A boolean mask of ``shape`` that is True inside every one of ``polygons``."""
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(p).astype(np.int32) for p in polygons], 1)
    return mask.astype(bool)


def reach_marks(grey, polygon, covered, gap, reach, seen):
    """``polygon`` widened over the marks beside its two ends, or None when there is none.

    A mark is the nearest run of inked columns that starts within ``gap`` line
    heights of the box and ends at a blank run half a line height wide, within
    ``reach`` line heights: ink running on past that is a rule or an underline,
    not a mark. A thin mark as tall as the line is a table's ruling, and one
    ending within ``seen`` line heights of the box is already in the crop the
    recogniser reads (the tail of a glyph the box cut). Ink is what
    differs from the box's background by half its print's contrast, so light
    print on a dark band counts too.
    """
    along, across = box_sides(polygon)
    (left, top), (right, bottom) = polygon.min(axis=0), polygon.max(axis=0)
    height = bottom - top
    if along < 2 * across or height > 1.2 * across or height < 6:
        return None
    rows = slice(int(round(top)), int(round(bottom)))
    box = grey[rows, int(left) : int(right)]
    if not box.size:
        return None
    background = float(np.median(box))
    print_level = float(np.percentile(box, 2 if background > 128 else 98))
    contrast = abs(print_level - background)
    if contrast < 40:
        return None
    ends = [left, right]
    for end, side in ((0, -1), (1, 1)):
        edge = ends[end]
        low = int(max(0, min(edge, edge + side * reach * height)))
        high = int(min(grey.shape[1], max(edge, edge + side * reach * height)))
        if high - low < height:
            continue
        ink = np.abs(grey[rows, low:high].astype(np.float32) - background) > contrast / 2
        # A column inked from top to bottom is no glyph but a fill: the white page
        # past the end of a coloured banner, seen from the banner's white print.
        filled = ink.mean(axis=0) >= FILLED_COLUMN
        ink &= ~covered[rows, low:high]
        columns = ink.any(axis=0) & ~filled
        if side < 0:
            columns, ink = columns[::-1], ink[:, ::-1]
        mark = _first_mark(columns, height)
        if mark is None or mark[0] > gap * height or mark[1] <= seen * height:
            continue
        start, stop = mark
        inked_rows = np.flatnonzero(ink[:, start:stop].any(axis=1))
        if stop - start < 0.25 * height and np.ptp(inked_rows) > 0.7 * height:
            continue
        ends[end] = edge + side * (stop + 2)
    if ends == [left, right]:
        return None
    return np.array([[ends[0], top], [ends[1], top], [ends[1], bottom], [ends[0], bottom]], dtype=np.float64)


def _first_mark(columns, height):
    """(start, stop) of the first run of inked ``columns`` ended by a blank run of half ``height``; None if none ends."""
    inked = np.flatnonzero(columns)
    if not len(inked):
        return None
    blank = 0
    for index in range(inked[0], len(columns)):
        blank = 0 if columns[index] else blank + 1
        if blank >= height / 2:
            return inked[0], index - blank + 1
    return None


def holds_one_more_mark(old, new, most_added):
    """Whether reading ``new`` is ``old`` with at most ``most_added`` mark characters more (spaces ignored).

    A mark is punctuation, a symbol or a wide (CJK) character: a stroke or a dot
    the detector scores low. Letters and digits beside a box are most often a
    field of their own that the detector kept apart ("1" of a quantity column,
    "CS" of a label): joined, they cost the receipts (100 dev receipts CER
    0.0834 -> 0.0837 with them, README, Accuracy).
    """
    old, new = "".join(old.split()), "".join(new.split())
    start = new.find(old)
    if not old or start < 0:
        return False
    added = new[:start] + new[start + len(old):]
    return 0 < len(added) <= most_added and all(_is_mark(character) for character in added)


def _is_mark(character):
    return unicodedata.category(character)[0] in "PS" or unicodedata.east_asian_width(character) == "W"
