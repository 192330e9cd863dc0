"""True lines from SROIE ground-truth boxes, and how well predicted lines agree with them.

Shared by the layout tests and tests/bench/bench_layout.py. SROIE boxes give one
box per text run, not lines, so only pairs of boxes whose relation is clear are
judged: they clearly share a row (vertical overlap of at least 60% of the
smaller height) or clearly do not (no vertical overlap at all).
"""

from dataclasses import dataclass

from rapidfuzz import fuzz

SAME_ROW_OVERLAP = 0.6
# A truth box is read by the predicted segment covering the largest part of it, if that is this much.
MATCH_COVER = 0.3


def vertical_overlap(a, b):
    """Shared height of two (left, top, right, bottom) boxes over the smaller height."""
    shared = min(a[3], b[3]) - max(a[1], b[1])
    return shared / max(1, min(a[3] - a[1], b[3] - b[1]))


def row_pairs(truth):
    """(i, j, same_row) for the pairs of truth lines whose relation is clear."""
    boxes = [line.box for line in truth]
    pairs = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            overlap = vertical_overlap(boxes[i], boxes[j])
            if overlap >= SAME_ROW_OVERLAP:
                pairs.append((i, j, True))
            elif overlap <= 0:
                pairs.append((i, j, False))
    return pairs


def truth_rows(truth):
    """Truth lines grouped into rows (connected by clear same-row pairs), each left to right."""
    parent = list(range(len(truth)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, same_row in row_pairs(truth):
        if same_row:
            parent[root(i)] = root(j)
    rows = {}
    for i in range(len(truth)):
        rows.setdefault(root(i), []).append(i)
    return [sorted(row, key=lambda i: truth[i].box[0]) for row in rows.values()]


def match_truth(truth, boxes):
    """For each truth line, the index of the predicted box covering most of it, or None."""
    matches = []
    for line in truth:
        t = line.box
        area = max(1, (t[2] - t[0]) * (t[3] - t[1]))
        best, best_index = 0, None
        for index, b in enumerate(boxes):
            width = min(t[2], b[2]) - max(t[0], b[0])
            height = min(t[3], b[3]) - max(t[1], b[1])
            if width > 0 and height > 0 and width * height > best:
                best, best_index = width * height, index
        matches.append(best_index if best >= MATCH_COVER * area else None)
    return matches


@dataclass
class LineAgreement:
    """Clear truth pairs, and how many of them the predicted lines group the same way."""

    same_row: int = 0
    same_row_together: int = 0
    other_row: int = 0
    other_row_apart: int = 0

    def add(self, other):
        return LineAgreement(*(a + b for a, b in zip(vars(self).values(), vars(other).values())))

    @property
    def accuracy(self):
        return (self.same_row_together + self.other_row_apart) / max(1, self.same_row + self.other_row)

    @property
    def same_row_share(self):
        return self.same_row_together / max(1, self.same_row)

    @property
    def other_row_share(self):
        return self.other_row_apart / max(1, self.other_row)


def line_agreement(truth, boxes, line_of_segment):
    """Compare predicted lines with the truth; ``boxes`` are the segments' (left, top, right, bottom)."""
    matches = match_truth(truth, boxes)
    agreement = LineAgreement()
    for i, j, same_row in row_pairs(truth):
        if matches[i] is None or matches[j] is None:
            continue
        together = line_of_segment[matches[i]] == line_of_segment[matches[j]]
        if same_row:
            agreement.same_row += 1
            agreement.same_row_together += together
        else:
            agreement.other_row += 1
            agreement.other_row_apart += not together
    return agreement


def printed_rows_in_tables(truth, table_rows, min_columns=3, min_ratio=80):
    """(found, total): truth rows of ``min_columns`` or more boxes that some table row shows.

    A table row shows a printed row when its cells, read left to right, match
    the row's texts (fuzzy, case ignored: SROIE transcribes in capitals) and at
    least two of them are filled: the detector sometimes reads two printed
    columns as one segment, which no layout can split.
    """
    printed = [" ".join(truth[i].text for i in row).upper() for row in truth_rows(truth)
               if len(row) >= min_columns]
    filled_rows = ([cell for cell in row if cell] for row in table_rows)
    shown = [" ".join(filled).upper() for filled in filled_rows if len(filled) >= 2]
    found = sum(any(fuzz.ratio(cells, text) >= min_ratio for cells in shown) for text in printed)
    return found, len(printed)
