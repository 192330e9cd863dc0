"""Text-line crops as recogniser batches, padded only as wide as their lines need.

PaddleX pads every line to the recogniser's training width (320 pixels at
height 48), so "4.50" costs as much as a full line; 73% of the recogniser's
time is convolutions, linear in width. Lines are sorted by aspect ratio, so
each batch holds lines of similar width, and a batch is padded to its widest
line, at least ``min_width``. The normalisation and the zero (mid-grey)
padding are PaddleX's, on BGR crops as the model's inference.yml says.

A batch's memory grows with its lines times their width: six lines 3200 pixels
wide took 1.1 GB, one took 0.19 GB. So a batch also stops at ``max_total_width``
pixels of padded width in all.

Each line keeps its aspect ratio and is resized bilinearly, as in PaddleX. On
bench_kinds' ten-image sets (edits, the service alone) the alternatives each
helped some kinds and cost others: lines widened 1.25x read receipts better
(243 -> 233, phone photos 213 -> 196) but forms worse (249 -> 277, phone photos
374 -> 407), and the 100 dev receipts' CER went 0.0834 -> 0.0861; bicubic
enlarging helped Chinese photos (142 -> 134) but cost forms (249 -> 273) and
documents (383 -> 390); area-averaged shrinking moved nothing beyond noise.
"""

import math

import cv2
import numpy as np

# Wider lines are squeezed to this width (PaddleX's own limit).
MAX_WIDTH = 3200


def line_batches(crops, height, min_width, batch_size, max_total_width, width_step=32):
    """Yield ``(indices, batch)``: positions in ``crops`` and a float32 N x 3 x height x W array."""
    widths = [min(MAX_WIDTH, max(1, math.ceil(height * c.shape[1] / c.shape[0]))) for c in crops]
    order = sorted(range(len(crops)), key=lambda i: widths[i])
    for indices, padded in _group(order, widths, min_width, batch_size, max_total_width, width_step):
        batch = np.zeros((len(indices), 3, height, padded), dtype=np.float32)
        for row, index in enumerate(indices):
            width = min(widths[index], padded)
            resized = cv2.resize(crops[index], (width, height)).astype(np.float32)
            batch[row, :, :, :width] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
        yield indices, batch


def _group(order, widths, min_width, batch_size, max_total_width, width_step):
    """Consecutive runs of ``order`` (narrowest first) and the width each is padded to."""
    def padded_width(index):
        return min(MAX_WIDTH, math.ceil(max(min_width, widths[index]) / width_step) * width_step)

    indices = []
    for index in order:
        # Sorted narrowest first, so the newest line sets the batch's padded width.
        if indices and (len(indices) == batch_size or (len(indices) + 1) * padded_width(index) > max_total_width):
            yield indices, padded_width(indices[-1])
            indices = []
        indices.append(index)
    if indices:
        yield indices, padded_width(indices[-1])
