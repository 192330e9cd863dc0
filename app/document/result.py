"""Assemble the result object from the laid-out pages; the schema serialises it.

Indexes are global across pages: a line's segment indexes point into
``words_result`` and a block's line indexes into ``lines``, whatever its page.
"""

import statistics

import numpy as np

from app.document.layout import to_markdown


def clipped_vertices(polygon, width, height):
    """Four integer corners inside the image, clockwise from the top-left."""
    points = np.rint(np.clip(np.asarray(polygon, dtype=np.float64), 0, [width - 1, height - 1]))
    return [{"x": x, "y": y} for x, y in points.astype(int).tolist()]


def bounding_rectangle(vertices):
    xs = [p["x"] for p in vertices]
    ys = [p["y"] for p in vertices]
    return {"left": min(xs), "top": min(ys), "width": max(xs) - min(xs) + 1, "height": max(ys) - min(ys) + 1}


def enclosing_rectangle(segments, page):
    """Axis-aligned box around the segments, clipped to the page; None when there are none."""
    if not segments:
        return None
    points = np.concatenate([np.asarray(s.polygon, dtype=np.float64) for s in segments])
    return bounding_rectangle(clipped_vertices(points, page.width, page.height))


def words_result_item(segment, page_number, page):
    vertices = clipped_vertices(segment.polygon, page.width, page.height)
    return {
        "words": segment.text,
        "score": round(segment.score, 4),
        "page": page_number,
        "location": bounding_rectangle(vertices),
        "vertexes_location": vertices,
    }


def line_item(layout, line, page_number, page, first_segment):
    vertices = clipped_vertices(line.polygon, page.width, page.height)
    return {
        "words": layout.line_text(line),
        "score": round(statistics.fmean(layout.segments[i].score for i in line.segments), 4),
        "segment_indexes": [first_segment + i for i in line.segments],
        "page": page_number,
        "location": bounding_rectangle(vertices),
        "vertexes_location": vertices,
    }


def block_item(layout, block, page_number, page, first_line):
    lines = [layout.lines[k] for k in block.lines]
    item = {
        "type": block.type,
        "words": "\n".join(layout.line_text(line) for line in lines),
        "line_indexes": [first_line + k for k in block.lines],
        "page": page_number,
        "location": enclosing_rectangle([layout.segments[i] for line in lines for i in line.segments], page),
    }
    if block.type == "table":
        item["cells"] = [[layout.cell_text(cell) for cell in row] for row in block.rows]
    return item


def page_item(layout, recognition, page_number, page, first_segment):
    return {
        "page": page_number,
        "width": page.width,
        "height": page.height,
        "orientation": recognition.orientation,
        "source": page.source,
        "dpi": page.dpi,
        "words_result_start": first_segment,
        "words_result_num": len(layout.segments),
        "location": enclosing_rectangle(layout.segments, page),
    }


def summarise(pages, blocks, lines, segments, low_score_threshold):
    """Counts and confidence of the whole result, for a quick look before reading it."""
    scores = [s.score for s in segments]
    return {
        "pages": len(pages),
        "blocks": len(blocks),
        "lines": len(lines),
        "segments": len(segments),
        "characters": sum(len(s.text) for s in segments),
        "mean_score": round(statistics.fmean(scores), 4) if scores else None,
        "min_score": round(min(scores), 4) if scores else None,
        "low_score_threshold": low_score_threshold,
        "low_score_segments": sum(score < low_score_threshold for score in scores),
    }


def build_result(ocr_request, loaded_image, recognitions, layouts, timing, low_score_threshold):
    """Return the result as plain data; coordinates are dropped later by the schema."""
    words_result, lines, blocks, pages, segments = [], [], [], [], []
    for number, (page, recognition, layout) in enumerate(zip(loaded_image.pages, recognitions, layouts)):
        first_segment, first_line = len(words_result), len(lines)
        words_result += [words_result_item(s, number, page) for s in layout.segments]
        lines += [line_item(layout, line, number, page, first_segment) for line in layout.lines]
        blocks += [block_item(layout, block, number, page, first_line) for block in layout.blocks]
        pages.append(page_item(layout, recognition, number, page, first_segment))
        segments += layout.segments
    first = loaded_image.pages[0]
    result = {
        "words_result_num": len(words_result),
        "words_result": words_result,
        "lines": lines,
        "blocks": blocks,
        "pages": pages,
        "text": "\n".join(item["words"] for item in words_result),
        "plain_text": "\n\n".join(block["words"] for block in blocks),
        "summary": summarise(pages, blocks, lines, segments, low_score_threshold),
        "image": {
            "width": first.width,
            "height": first.height,
            "format": loaded_image.format,
            "name": ocr_request.image_name,
            "orientation": recognitions[0].orientation,
            "page_count": loaded_image.frame_count,
        },
        "need_location": ocr_request.need_location,
        "timing": timing,
    }
    if ocr_request.return_markdown:
        result["markdown"] = to_markdown(layouts)
    return result
