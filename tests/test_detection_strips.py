"""A large input is detected in overlapping strips: a line where two strips meet comes out once."""

import dataclasses

import numpy as np
import pytest

# A 1000 x 1400 page: its canvas (16 px margin, padded to the 32 px stride) is 1056
# wide, so strips of 640 rows start at 0, 480 and 960 and meet at rows 560 and 1040.
PAGE = np.full((1400, 1000, 3), 255, dtype=np.uint8)
MIDLINE = 560


def line_at(centre):
    """A 24 px tall box of a line across the canvas, centred on row ``centre``."""
    return np.array([[40, centre - 12], [900, centre - 12], [900, centre + 12], [40, centre + 12]], dtype=np.float64)


@pytest.mark.parametrize(
    "first_strip_sees, second_strip_sees",
    [
        (MIDLINE - 0.5, MIDLINE + 0.5),  # each strip held it as its own: it came out twice
        (MIDLINE + 0.5, MIDLINE - 0.5),  # each strip left it to the other: it was lost
        (MIDLINE - 20, MIDLINE - 20),
        (MIDLINE + 20, MIDLINE + 20),
    ],
)
def test_a_line_where_two_strips_meet_comes_out_once(engine, monkeypatch, first_strip_sees, second_strip_sees):
    # Two strips see the same line with centres a pixel apart: the strip's edge
    # changes the detector's map a little (a docs page read a line twice so).
    # The detector's answer per strip is given here; the strips are the engine's.
    monkeypatch.setattr(engine, "detection", dataclasses.replace(engine.detection, strip_pixels=640 * 1056))
    tops = []

    def detect_canvas(canvas):
        top = 480 * len(tops)
        tops.append(top)
        seen = {0: first_strip_sees, 480: second_strip_sees}.get(top)
        return ([line_at(seen - top)] if seen is not None else []), []

    monkeypatch.setattr(engine, "_detect_canvas", detect_canvas)
    boxes = engine._detect_at(PAGE, 1.0)

    assert tops == [0, 480, 960]
    assert len(boxes) == 1
    assert abs(boxes[0][:, 1].mean() - (MIDLINE - 16)) <= 21
