"""The CJK font that tests draw text with, or a skip where it is not installed."""

import pytest
from PIL import ImageFont

# Makefile's SYSTEM_PACKAGES: fonts-wqy-microhei.
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def cjk_font(size):
    """WenQuanYi Micro Hei at ``size`` pixels; skips the test when the font is missing."""
    try:
        return ImageFont.truetype(CJK_FONT, size)
    except OSError:
        pytest.skip(f"{CJK_FONT} is not installed (Debian package fonts-wqy-microhei)")
