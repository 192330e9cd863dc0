"""The enlarged second detection pass covers the small lines and their surroundings, not the whole page."""

import numpy as np

from app.recognition.engine import DetectionSettings, _regions_around


def box(left, top, right, bottom):
    return np.array([[left, top], [right, top], [right, bottom], [left, bottom]], dtype=np.float64)


def contains(region, polygon):
    left, top, right, bottom = region
    (low_x, low_y), (high_x, high_y) = polygon.min(axis=0), polygon.max(axis=0)
    return left <= low_x and top <= low_y and high_x <= right and high_y <= bottom


def overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_two_groups_of_small_lines_far_apart_get_two_regions_leaving_the_blank_out():
    top_left = [box(20, 20, 220, 32), box(20, 40, 180, 52)]
    bottom_right = [box(600, 800, 760, 812)]
    regions = _regions_around([(p, 24) for p in top_left + bottom_right], (1000, 800))

    assert len(regions) == 2
    area = sum((right - left) * (bottom - top) for left, top, right, bottom in regions)
    assert area < 0.15 * 1000 * 800
    for polygon in top_left + bottom_right:
        grown = np.array([polygon.min(axis=0) - 24, polygon.max(axis=0) + 24]).clip(0, (800, 1000))
        assert any(contains(region, grown) for region in regions)


def test_regions_never_overlap_so_no_line_is_read_twice():
    rng = np.random.default_rng(7)
    lines = []
    for _ in range(40):
        left, top = rng.integers(0, 700), rng.integers(0, 950)
        lines.append(box(left, top, left + rng.integers(20, 100), top + 12))
    regions = _regions_around([(p, 24) for p in lines], (1000, 800))

    assert all(not overlap(a, b) for i, a in enumerate(regions) for b in regions[i + 1:])
    for polygon in lines:
        assert sum(contains(region, polygon) for region in regions) == 1


def test_regions_stay_inside_the_image():
    regions = _regions_around([(box(0, 0, 50, 10), 40), (box(750, 990, 800, 1000), 40)], (1000, 800))
    assert all(0 <= left < right <= 800 and 0 <= top < bottom <= 1000 for left, top, right, bottom in regions)


def test_a_large_page_is_looked_at_again_no_larger_than_its_own_size_when_its_text_is_big_enough_there():
    settings = DetectionSettings()
    # A 17-megapixel page read at 0.41: 24 px characters came out 10 px tall.
    assert settings.second_scale(0.41, 10.0) == 1.0
    # 12 px print on the same page still gets enlarged to be read.
    assert settings.second_scale(0.41, 5.0) == 0.41 * settings.target_text_height / 5.0
    # A small page's small print is enlarged as before.
    assert settings.second_scale(1.0, 10.0) == settings.target_text_height / 10.0
