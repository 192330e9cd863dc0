"""Recognition batches: every line once, similar widths together, padded no wider than needed."""

import numpy as np

from app.recognition.line_batches import MAX_WIDTH, line_batches


def crop(height, width, value=255):
    return np.full((height, width, 3), value, dtype=np.uint8)


def test_every_line_is_in_one_batch_with_lines_of_similar_width():
    crops = [crop(20, 400), crop(20, 30), crop(20, 200), crop(20, 35), crop(20, 410)]
    batches = list(line_batches(crops, height=48, min_width=128, batch_size=2, max_total_width=4000))
    assert [indices for indices, _ in batches] == [[1, 3], [2, 0], [4]]
    assert sorted(i for indices, _ in batches for i in indices) == list(range(len(crops)))


def test_a_batch_is_as_wide_as_its_widest_line_but_at_least_the_minimum():
    crops = [crop(20, 30), crop(20, 35), crop(10, 400)]  # 72, 84 and 1920 pixels at height 48
    (short, _), (long, batch) = [(b.shape, b) for _, b in line_batches(crops, 48, 128, batch_size=2, max_total_width=4000)]
    assert short == (2, 3, 48, 128)
    assert long == (1, 3, 48, 1920)
    assert batch.dtype == np.float32


def test_pixels_are_scaled_to_minus_one_one_and_padding_is_mid_grey():
    (_, batch), = line_batches([crop(24, 24, value=255)], height=48, min_width=96, batch_size=4, max_total_width=1920)
    assert np.allclose(batch[0, :, :, :48], 1.0)  # white, resized to 48 x 48
    assert np.allclose(batch[0, :, :, 48:], 0.0)  # padding


def test_very_long_lines_are_squeezed_to_the_width_limit():
    (_, batch), = line_batches([crop(10, 5000)], height=48, min_width=320, batch_size=6, max_total_width=1920)
    assert batch.shape[-1] == MAX_WIDTH


def test_wide_lines_go_in_smaller_batches_so_memory_stays_bounded():
    # At height 48: six lines of 320 (the count limit), then at most three padded to 640, then 2400 alone.
    crops = [crop(48, 320)] * 7 + [crop(48, 640)] * 4 + [crop(48, 2400)]
    shapes = [batch.shape[:1] + batch.shape[3:] for _, batch in line_batches(crops, 48, 128, 6, 1920)]
    assert shapes == [(6, 320), (3, 640), (2, 640), (1, 2400)]
