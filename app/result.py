"""Assemble the result object from recognised segments; the schema serialises it."""

import numpy as np

from .layout import to_markdown


def clipped_vertices(polygon, width, height):
    """Four integer corners inside the image, clockwise from the top-left."""
    points = np.asarray(polygon, dtype=np.float64)
    points[:, 0] = points[:, 0].clip(0, width - 1)
    points[:, 1] = points[:, 1].clip(0, height - 1)
    return [{"x": int(round(x)), "y": int(round(y))} for x, y in points]


def bounding_rectangle(vertices):
    xs = [p["x"] for p in vertices]
    ys = [p["y"] for p in vertices]
    return {"left": min(xs), "top": min(ys), "width": max(xs) - min(xs) + 1, "height": max(ys) - min(ys) + 1}


def words_result_item(segment, width, height):
    vertices = clipped_vertices(segment.polygon, width, height)
    return {
        "words": segment.text,
        "score": round(segment.score, 4),
        "location": bounding_rectangle(vertices),
        "vertexes_location": vertices,
    }


def build_result(ocr_request, loaded_image, segments, recognition, timing):
    """Return the result as plain data; coordinates are dropped later by the schema."""
    page = loaded_image.pages[0]
    items = [words_result_item(s, page.width, page.height) for s in segments]
    result = {
        "words_result_num": len(items),
        "words_result": items,
        "text": "\n".join(s.text for s in segments),
        "image": {
            "width": page.width,
            "height": page.height,
            "format": loaded_image.format,
            "name": ocr_request.image_name,
            "orientation": recognition.orientation,
        },
        "need_location": ocr_request.need_location,
        "timing": timing,
    }
    if ocr_request.return_markdown:
        result["markdown"] = to_markdown(segments)
    return result
