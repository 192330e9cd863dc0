"""A page of vertical Chinese under a horizontal headline, drawn for layout and orientation tests."""

import numpy as np
from PIL import Image, ImageDraw

from tests.fonts import cjk_font

HEADLINE = "唐诗选读 2024年第3期"
COLUMNS = ["床前明月光疑是地上霜", "举头望明月低头思故乡", "白日依山尽黄河入海流", "欲穷千里目更上一层楼",
           "春眠不觉晓处处闻啼鸟", "夜来风雨声花落知多少"]


def vertical_page_with_headline():
    """Columns set top to bottom, right to left, under a headline across them (BGR)."""
    font, headline_font = cjk_font(28), cjk_font(44)
    image = Image.new("RGB", (520, 560), "white")
    draw = ImageDraw.Draw(image)
    draw.text((40, 20), HEADLINE, font=headline_font, fill="black")
    for k, column in enumerate(COLUMNS):
        for row, character in enumerate(column):
            draw.text((410 - 50 * k, 110 + 31 * row), character, font=font, fill="black")
    return np.asarray(image)[:, :, ::-1].copy()
