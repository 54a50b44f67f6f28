"""Vietnamese text folding for diacritics-insensitive search."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, strip diacritics (đ → d included) and collapse spaces.

    ``fold("Đăng ký khai sinh") == fold("dang ky khai sinh") == "dang ky khai sinh"``.
    """
    # đ/Đ is a separate letter, not d plus a combining mark, so NFD leaves it.
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.lower()).strip()
