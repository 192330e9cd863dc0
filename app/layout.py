"""Reading order and Markdown from recognised segments and their geometry."""

import re

import numpy as np

# Two segments share a visual line when they overlap vertically by at least
# this share of the smaller one's height (relative, so it holds at any scale).
LINE_OVERLAP = 0.5

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def vertical_span(polygon):
    ys = np.asarray(polygon)[:, 1]
    return float(ys.min()), float(ys.max())


def _overlap_ratio(a, b):
    top, bottom = max(a[0], b[0]), min(a[1], b[1])
    smaller = min(a[1] - a[0], b[1] - b[0]) or 1.0
    return max(0.0, bottom - top) / smaller


def group_lines(segments):
    """Group segments into visual lines, top to bottom, each left to right.

    Returns lists of indexes into ``segments``.
    """
    spans = [vertical_span(s.polygon) for s in segments]
    order = sorted(range(len(segments)), key=lambda i: (spans[i][0] + spans[i][1]) / 2)
    lines = []  # each: [indexes, (top, bottom) of its first member]
    for index in order:
        for line in reversed(lines[-3:]):
            if _overlap_ratio(spans[index], line[1]) >= LINE_OVERLAP:
                line[0].append(index)
                break
        else:
            lines.append([[index], spans[index]])
    return [
        sorted(members, key=lambda i: float(np.asarray(segments[i].polygon)[:, 0].min()))
        for members, _ in lines
    ]


def reading_order(segments):
    """Return ``segments`` reordered top to bottom, left to right."""
    return [segments[i] for line in group_lines(segments) for i in line]


def escape_markdown(text):
    """Escape characters that Markdown would read as formatting."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def to_markdown(segments):
    """One paragraph per segment, in the order given."""
    return "\n\n".join(escape_markdown(s.text) for s in segments) + ("\n" if segments else "")
