"""Text-line crops as recogniser batches, padded only as wide as their lines need.

PaddleX pads every line to the recogniser's training width (320 pixels at
height 48), so "4.50" costs as much as a full line; 73% of the recogniser's
time is convolutions, linear in width. Lines are sorted by aspect ratio, so
each batch holds lines of similar width, and a batch is padded to its widest
line, at least ``min_width``. The normalisation and the zero (mid-grey)
padding are PaddleX's, on BGR crops as the model's inference.yml says.
"""

import math

import cv2
import numpy as np

# Wider lines are squeezed to this width (PaddleX's own limit).
MAX_WIDTH = 3200


def line_batches(crops, height, min_width, batch_size, width_step=32):
    """Yield ``(indices, batch)``: positions in ``crops`` and a float32 N x 3 x height x W array."""
    widths = [min(MAX_WIDTH, max(1, math.ceil(height * c.shape[1] / c.shape[0]))) for c in crops]
    order = sorted(range(len(crops)), key=lambda i: widths[i])
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        padded = max(min_width, max(widths[i] for i in indices))
        padded = min(MAX_WIDTH, math.ceil(padded / width_step) * width_step)
        batch = np.zeros((len(indices), 3, height, padded), dtype=np.float32)
        for row, index in enumerate(indices):
            width = min(widths[index], padded)
            resized = cv2.resize(crops[index], (width, height)).astype(np.float32)
            batch[row, :, :, :width] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
        yield indices, batch
