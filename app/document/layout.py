"""Reading order, lines, blocks and Markdown from recognised segments and their geometry.

No layout model is available offline, so the structure is inferred from the
boxes alone. Every rule is measured in text heights, never in pixels, so it
holds for a phone photo and a 600 dpi scan alike, and boxes are first rotated
by the page's text angle, so the lines of a tilted photo stay lines.
"""

import math
import re
import statistics
from dataclasses import dataclass, field

import numpy as np

# Two segments share a line when they overlap vertically by at least this share
# of the smaller one's height: a price printed a little higher or lower than
# its item name still does, the line above or below does not.
LINE_OVERLAP = 0.5
# Segments of one line may overlap horizontally by this many text heights
# (detector boxes are padded); a larger overlap means they are stacked.
LINE_X_OVERLAP = 0.6
# Lines compared with a new segment: the text is sorted top to bottom, so a
# segment can only belong to one of the last few lines.
LINE_LOOKBACK = 8
# A vertical gutter at least this many text heights wide, free over at least
# COLUMN_MIN_LINES lines, with prose on both sides, separates two text columns
# that are read one after the other.
COLUMN_GUTTER = 1.0
COLUMN_MIN_LINES = 3
# Columns end where a gap this many text heights tall crosses the page.
COLUMN_BREAK = 2.0
# Prose: segments this many text heights wide (a price or a quantity is not,
# so a receipt's price column stays on its item's line).
PROSE_ASPECT = 8.0
# A new block starts after a vertical gap of more than this many text heights...
BLOCK_GAP = 0.8
# ...or where the text height changes by more than this factor (title / body).
SIZE_CHANGE = 1.3
# A title: at most TITLE_MAX_LINES lines of text this much taller than the body;
# twice the body height or more makes a first-level heading.
TITLE_SIZE = 1.3
TITLE_MAX_LINES = 3
TOP_TITLE_SIZE = 2.0
# Segments of one line closer than this many text heights form one table cell.
CELL_GAP = 0.3
# Rows of a table may be further apart than the lines of a paragraph (a dashed
# rule under the header, a blank line between items), up to this many text
# heights, and vary more in height, as long as their cells line up.
TABLE_GAP = 2.5
TABLE_SIZE_CHANGE = 1.5
# Cells line up when their left edges, right edges or centres are this many
# text heights apart or less; a row continues a table when two of its cells do.
CELL_ALIGN = 1.0
# Previous rows a new row is compared with.
TABLE_LOOKBACK = 6
# Single-cell lines (an item name above its quantities) a table may contain in a row.
TABLE_MAX_SINGLE_LINES = 2
# Text is taken to run in columns when standing segments are more than this share of
# all the text by length (a page lying on its side without enable_cls reads as columns too).
VERTICAL_TEXT_SHARE = 0.6
# On a page set in columns, a horizontal line across at least this many columns (a
# headline over vertical Chinese text) divides the page: the columns that start above
# it are read before it, those below it after it.
HEADLINE_COLUMNS = 3

# A list item starts with a bullet or an enumeration ("1.", "2)", "(3)", "a)", "4、").
_BULLET = re.compile(r"^(?:[•·●○◦▪■□‣⁃]\s*|[-–—*+]\s+)")
_ENUMERATION = re.compile(r"^(?:\d{1,3}[.)、](?!\d)|\(\d{1,3}\)|[A-Za-z][.)]\s)")


@dataclass
class Line:
    segments: list  # indexes into PageLayout.segments, left to right
    polygon: np.ndarray  # 4 corners in the image, clockwise from the text's top-left


@dataclass
class Block:
    type: str  # title, paragraph, table or list
    lines: list  # indexes into PageLayout.lines
    level: int = 0  # heading level of a title
    rows: list = field(default_factory=list)  # table: per line, per column, segment indexes


@dataclass
class PageLayout:
    """One page's segments in reading order, grouped into lines and blocks."""

    segments: list
    lines: list
    blocks: list

    def line_text(self, line):
        return " ".join(self.segments[i].text for i in line.segments)

    def cell_text(self, cell):
        return " ".join(self.segments[i].text for i in cell)


def lay_out(segments):
    """Order one page's ``segments`` for reading and group them into lines and blocks."""
    if not segments:
        return PageLayout([], [], [])
    frame = _Frame([s.upright_polygon for s in segments])
    texts = [s.text for s in segments]
    position = {}  # original index -> index in reading order
    lines, blocks = [], []
    for region in (region for band in _bands(frame) for region in _regions(frame, band)):
        for kind, level, block_lines, rows in _blocks(frame, texts, region):
            first_line = len(lines)
            for members in block_lines:
                start = len(position)
                position.update((index, start + k) for k, index in enumerate(members))
                lines.append(Line(list(range(start, len(position))), _line_polygon(segments, members)))
            rows = [[[position[i] for i in cell] for cell in row] for row in rows]
            blocks.append(Block(kind, list(range(first_line, len(lines))), level, rows))
    return PageLayout([segments[i] for i in sorted(position, key=position.get)], lines, blocks)


def reading_order(segments):
    """Return ``segments`` reordered as a person reads them."""
    return lay_out(segments).segments


class _Frame:
    """Segment boxes in a frame rotated so the page's text runs horizontally."""

    def __init__(self, polygons):
        points = np.asarray(polygons, dtype=np.float64).reshape(-1, 4, 2)
        angle = _text_angle(points)
        cos, sin = math.cos(angle), math.sin(angle)
        center = points.mean(axis=1)
        u = center[:, 0] * cos + center[:, 1] * sin
        v = center[:, 1] * cos - center[:, 0] * sin
        # Each box's own width and height (not its rotated bounding box, which a
        # segment tilted against the page would inflate).
        half_width = np.hypot(*(points[:, 1] - points[:, 0] + points[:, 2] - points[:, 3]).T) / 4
        half_height = np.maximum(np.hypot(*(points[:, 3] - points[:, 0] + points[:, 2] - points[:, 1]).T) / 4, 0.5)
        self.in_columns = angle == math.pi / 2
        if self.in_columns:  # a standing box's height runs along the text
            half_width, half_height = half_height, np.maximum(half_width, 0.5)
        self.left = (u - half_width).tolist()
        self.right = (u + half_width).tolist()
        self.top = (v - half_height).tolist()
        self.bottom = (v + half_height).tolist()
        self.height = (2 * half_height).tolist()
        self.middle = [(t + b) / 2 for t, b in zip(self.top, self.bottom)]
        # The body text height: the unit every threshold is measured in.
        self.text_height = statistics.median(self.height)

    def vertical_overlap(self, a, b):
        shared = min(self.bottom[a], self.bottom[b]) - max(self.top[a], self.top[b])
        return max(0.0, shared) / min(self.height[a], self.height[b])

    def horizontal_overlap(self, a, b):
        return min(self.right[a], self.right[b]) - max(self.left[a], self.left[b])

    def line_height(self, line):
        return statistics.median(self.height[i] for i in line)

    def line_top(self, line):
        return min(self.top[i] for i in line)

    def line_bottom(self, line):
        return max(self.bottom[i] for i in line)


def _text_angle(points):
    """Median direction of the page's wide segments, weighted by width, within ±45°.

    Where standing segments are most of the text by length, the text runs in
    columns (vertical Chinese): 90°, so columns read as lines, right to left.
    """
    direction = (points[:, 1] - points[:, 0]) + (points[:, 2] - points[:, 3])
    across = (points[:, 3] - points[:, 0]) + (points[:, 2] - points[:, 1])
    width = np.hypot(direction[:, 0], direction[:, 1])
    height = np.hypot(across[:, 0], across[:, 1])
    wide = width >= 2 * height
    standing = height >= 2 * width
    if height[standing].sum() > VERTICAL_TEXT_SHARE * (height[standing].sum() + width[wide].sum()):
        return math.pi / 2
    if not wide.any():
        return 0.0
    angle = _weighted_median(np.arctan2(direction[wide, 1], direction[wide, 0]), width[wide])
    return float(np.clip(angle, -math.pi / 4, math.pi / 4))


def _weighted_median(values, weights):
    values, weights = np.asarray(values, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _line_polygon(segments, members):
    """The line's box along its own text direction, so a tilted line gets a tilted box."""
    points = np.concatenate([np.asarray(segments[i].polygon, dtype=np.float64) for i in members])
    angle = _text_angle(points.reshape(-1, 4, 2))
    cos, sin = math.cos(angle), math.sin(angle)
    u = points[:, 0] * cos + points[:, 1] * sin
    v = points[:, 1] * cos - points[:, 0] * sin
    corners = [(u.min(), v.min()), (u.max(), v.min()), (u.max(), v.max()), (u.min(), v.max())]
    return np.array([(a * cos - b * sin, a * sin + b * cos) for a, b in corners])


def _group_lines(frame, indexes):
    """Group segments into lines, top to bottom, each left to right."""
    lines = []
    for index in sorted(indexes, key=frame.middle.__getitem__):
        best, best_overlap = None, LINE_OVERLAP
        for line in lines[-LINE_LOOKBACK:]:
            overlap = _fit(frame, index, line)
            if overlap >= best_overlap:
                best, best_overlap = line, overlap
        if best is None:
            lines.append([index])
        else:
            best.append(index)
    for line in lines:
        line.sort(key=frame.left.__getitem__)
    lines.sort(key=lambda line: statistics.median(frame.middle[i] for i in line))
    return lines


def _fit(frame, index, line):
    """How well ``index`` continues ``line``: its vertical overlap with the nearest member.

    Comparing with the nearest member rather than the whole line follows a
    receipt that curls or a photo that is not quite straight.
    """
    nearest, distance = None, math.inf
    for member in line:
        overlap = frame.horizontal_overlap(index, member)
        if overlap > LINE_X_OVERLAP * min(frame.height[index], frame.height[member]):
            return 0.0
        if -overlap < distance:
            nearest, distance = member, -overlap
    return frame.vertical_overlap(index, nearest)


def _bands(frame):
    """The page's segments as bands read one after another, each a list of indexes.

    On a page set in columns each headline across them is a band of its own,
    between the columns that start above it and those below it. In the frame a
    column is a line, so a headline stands across the lines, in front of them.
    """
    indexes = range(len(frame.left))
    headlines = sorted(
        (i for i in indexes if frame.in_columns and frame.height[i] >= HEADLINE_COLUMNS * frame.text_height
         and frame.height[i] >= 2 * (frame.right[i] - frame.left[i])),
        key=frame.left.__getitem__,
    )
    bands = [[] for _ in range(len(headlines) + 1)]
    for i in indexes:
        if i not in headlines:
            bands[sum(frame.right[h] <= frame.left[i] for h in headlines)].append(i)
    ordered = []
    for band, headline in zip(bands, headlines + [None]):
        ordered += [band] if band else []
        ordered += [[headline]] if headline is not None else []
    return ordered


def _regions(frame, indexes):
    """Split segments into regions read one after another; text columns are separate regions."""
    lines = _group_lines(frame, indexes)
    columns = _find_columns(frame, lines)
    if columns is None:
        return [lines] if lines else []
    start, end, gutter = columns
    inside = [i for line in lines[start:end] for i in line]
    left = [i for i in inside if frame.right[i] <= gutter]
    right = [i for i in inside if frame.right[i] > gutter]
    after = [i for line in lines[end:] for i in line]
    before = [lines[:start]] if start else []
    return before + _regions(frame, left) + _regions(frame, right) + _regions(frame, after)


def _find_columns(frame, lines):
    """The first run of lines split by a gutter with prose on both sides: (start, end, gutter x).

    Runs are scanned one after another, each as long as its gutter lasts, so the
    search stays linear in the number of lines.
    """
    min_gutter = COLUMN_GUTTER * frame.text_height
    start = 0
    while start <= len(lines) - COLUMN_MIN_LINES:
        free = [(-math.inf, math.inf)]
        end = start
        while end < len(lines):
            if end > start and _gap(frame, lines[end - 1], lines[end]) > COLUMN_BREAK * frame.text_height:
                break
            narrowed = free
            for i in lines[end]:
                narrowed = _subtract(narrowed, frame.left[i], frame.right[i], min_gutter)
            if not _inner(narrowed):
                break
            free, end = narrowed, end + 1
        if end - start >= COLUMN_MIN_LINES:
            for low, high in sorted(_inner(free), key=lambda gap: gap[0] - gap[1]):
                if _prose_on_both_sides(frame, lines[start:end], low, high):
                    return start, end, (low + high) / 2
        start = max(end, start + 1)
    return None


def _subtract(free, left, right, min_width):
    """Remove [left, right] from the free intervals, dropping gaps narrower than min_width."""
    pieces = ((a, b) for low, high in free for a, b in ((low, min(high, left)), (max(low, right), high)))
    return [(a, b) for a, b in pieces if b - a >= min_width]


def _inner(free):
    return [(a, b) for a, b in free if not math.isinf(a) and not math.isinf(b)]


def _prose_on_both_sides(frame, lines, low, high):
    members = [i for line in lines for i in line]
    for side in ([i for i in members if frame.right[i] <= low], [i for i in members if frame.left[i] >= high]):
        if len(side) < 2:
            return False
        if statistics.median((frame.right[i] - frame.left[i]) / frame.height[i] for i in side) < PROSE_ASPECT:
            return False
    return True


def _blocks(frame, texts, lines):
    """Cut a region's lines into blocks: (type, heading level, lines, table rows)."""
    blocks = []
    for part, rows in _split_tables(frame, lines):
        if rows:
            blocks.append(("table", 0, part, rows))
        else:
            blocks += [(*_text_block_type(frame, texts, run), run, []) for run in _runs(frame, part)]
    return blocks


def _runs(frame, lines):
    """Split lines where a gap or a change of text size separates them."""
    runs = []
    for line in lines:
        if runs:
            previous = runs[-1][-1]
            smaller, larger = sorted((frame.line_height(previous), frame.line_height(line)))
            if _gap(frame, previous, line) <= BLOCK_GAP * smaller and larger <= SIZE_CHANGE * smaller:
                runs[-1].append(line)
                continue
        runs.append([line])
    return runs


def _gap(frame, upper, lower):
    return frame.line_top(lower) - frame.line_bottom(upper)


def _split_tables(frame, lines):
    """Split lines into (lines, table rows or None) parts, tables where cells line up in columns."""
    cells = [_cells(frame, line) for line in lines]
    parts, done, start = [], 0, 0
    while start < len(lines):
        end = _table_end(frame, lines, cells, start)
        rows = _table_rows(frame, cells[start:end]) if end - start >= 2 else None
        if rows is None:
            start += 1
            continue
        if start > done:
            parts.append((lines[done:start], None))
        parts.append((lines[start:end], rows))
        done = start = end
    if done < len(lines):
        parts.append((lines[done:], None))
    return parts


def _table_end(frame, lines, cells, start):
    """Where a table starting at ``start`` ends: after the last row whose cells line up with the rows above."""
    if len(cells[start]) < 2:
        return start
    recent = [cells[start]]
    end, singles = start + 1, 0
    for k in range(start + 1, len(lines)):
        smaller, larger = sorted((frame.line_height(lines[k - 1]), frame.line_height(lines[k])))
        if _gap(frame, lines[k - 1], lines[k]) > TABLE_GAP * smaller or larger > TABLE_SIZE_CHANGE * smaller:
            break
        if len(cells[k]) < 2:
            singles += 1
            if singles > TABLE_MAX_SINGLE_LINES:
                break
            continue
        above = [cell for row in recent[-TABLE_LOOKBACK:] for cell in row]
        if sum(any(_aligned(frame, cell, other) for other in above) for cell in cells[k]) < 2:
            break
        recent.append(cells[k])
        end, singles = k + 1, 0
    return end


def _aligned(frame, a, b):
    (a_left, a_right), (b_left, b_right) = _cell_span(frame, a), _cell_span(frame, b)
    tolerance = CELL_ALIGN * frame.text_height
    return (
        abs(a_left - b_left) <= tolerance
        or abs(a_right - b_right) <= tolerance
        or abs(a_left + a_right - b_left - b_right) <= 2 * tolerance
    )


def _cells(frame, line):
    """Merge a line's segments that are closer than a cell gap."""
    cells = [[line[0]]]
    for index in line[1:]:
        previous = cells[-1][-1]
        gap = frame.left[index] - frame.right[previous]
        if gap < CELL_GAP * min(frame.height[index], frame.height[previous]):
            cells[-1].append(index)
        else:
            cells.append([index])
    return cells


def _table_rows(frame, lines_cells):
    """Assign cells to columns; None unless two columns line up over two rows.

    Columns are x-ranges seeded by the lines with the most cells; a cell joins
    the column it overlaps, so right-aligned prices of different lengths and
    left-aligned names both line up. A cell spanning several columns (an item
    name above its quantities) goes to the one it overlaps most.
    """
    columns = []
    by_cell_count = sorted(range(len(lines_cells)), key=lambda k: -len(lines_cells[k]))
    for k in by_cell_count:
        for cell in lines_cells[k]:
            left, right = _cell_span(frame, cell)
            hits = [column for column in columns if min(right, column[1]) > max(left, column[0])]
            if not hits:
                columns.append([left, right])
            elif len(hits) == 1:
                hits[0][0], hits[0][1] = min(left, hits[0][0]), max(right, hits[0][1])
    columns.sort()
    rows = [[[] for _ in columns] for _ in lines_cells]
    for row, line_cells in zip(rows, lines_cells):
        for cell in line_cells:
            left, right = _cell_span(frame, cell)
            best = max(
                range(len(columns)),
                key=lambda c: (min(right, columns[c][1]) - max(left, columns[c][0]), -c),
            )
            row[best].extend(cell)
    rows_with_cells = [sum(1 for cell in row if cell) for row in rows]
    filled_columns = [sum(1 for row in rows if row[c]) for c in range(len(columns))]
    if sum(count >= 2 for count in rows_with_cells) < 2 or sum(count >= 2 for count in filled_columns) < 2:
        return None
    return rows


def _cell_span(frame, cell):
    return frame.left[cell[0]], frame.right[cell[-1]]


def _text_block_type(frame, texts, lines):
    """(type, heading level) of a block that is not a table."""
    starts = [texts[line[0]] for line in lines]
    if len(lines) >= 2 and _is_list_item(starts[0]) and sum(map(_is_list_item, starts)) >= 2:
        return "list", 0
    # The height most of its characters have: a large logo beside small print is no title.
    members = [i for line in lines for i in line]
    height = _weighted_median([frame.height[i] for i in members], [max(1, len(texts[i])) for i in members])
    # A title is one run of text per line; a large "TOTAL   9.00" is a table row.
    single_cells = all(len(_cells(frame, line)) == 1 for line in lines)
    if single_cells and len(lines) <= TITLE_MAX_LINES and height >= TITLE_SIZE * frame.text_height:
        return "title", 1 if height >= TOP_TITLE_SIZE * frame.text_height else 2
    return "paragraph", 0


def _is_list_item(text):
    return bool(_BULLET.match(text) or _ENUMERATION.match(text))


# Characters that start formatting anywhere in a line, and an "&" that would start an entity.
_INLINE_SPECIAL = re.compile(r"[\\`*_\[\]<>|~#]|&(?=#?\w+;)")
# Markers that are special only at the start of a line: "1." and "-"/"+" start
# lists, "-" and "=" also rules and heading underlines.
_ORDERED_MARKER = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
_LEADING_SYMBOL = re.compile(r"^([-+=])")


def escape_markdown(text):
    """Escape what Markdown would read as formatting, so recognised text stays text, in a table too."""
    text = _INLINE_SPECIAL.sub(lambda match: "\\" + match.group(), " ".join(text.split()))
    text = _ORDERED_MARKER.sub(r"\1\\\2", text)
    return _LEADING_SYMBOL.sub(r"\\\1", text)


def to_markdown(pages):
    """Render laid-out pages as GitHub-flavoured Markdown; a rule separates pages."""
    rendered = ["\n\n".join(_page_blocks_markdown(page)) for page in pages]
    text = "\n\n---\n\n".join(page for page in rendered if page)
    return text + "\n" if text else ""


def _page_blocks_markdown(page):
    """Each block's Markdown. Two lists in a row take turns with "-" and "*": with one
    bullet, a reader joins them into one list, as CommonMark says."""
    bullet = None
    for block in page.blocks:
        bullet = ("*" if bullet == "-" else "-") if block.type == "list" else None
        yield _block_markdown(page, block, bullet)


def _block_markdown(page, block, bullet):
    lines = [page.line_text(page.lines[k]) for k in block.lines]
    if block.type == "title":
        return "#" * block.level + " " + escape_markdown(" ".join(lines))
    if block.type == "list":
        return "\n".join(f"{bullet} {escape_markdown(item)}" for item in _list_items(lines))
    if block.type == "table":
        return _table_markdown(page, block.rows)
    return "\n".join(escape_markdown(text) for text in lines)


def _list_items(lines):
    """One item per marked line; unmarked lines continue the item above. Bullets are dropped,
    enumerations kept as written (Markdown would renumber them)."""
    items = []
    for text in lines:
        if items and not _is_list_item(text):
            items[-1] += " " + text
        else:
            items.append(_BULLET.sub("", text))
    return items


def _table_markdown(page, rows):
    def row_markdown(row):
        return "| " + " | ".join(escape_markdown(page.cell_text(cell)) for cell in row) + " |"

    header, *body = rows
    separator = "| " + " | ".join("---" for _ in header) + " |"
    return "\n".join([row_markdown(header), separator, *map(row_markdown, body)])
