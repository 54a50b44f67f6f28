"""Diacritics-insensitive folding for Vietnamese search."""

from __future__ import annotations

import unicodedata

import pytest

from chalicelib.domain.text import fold


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đăng ký khai sinh", "dang ky khai sinh"),
        ("dang ky khai sinh", "dang ky khai sinh"),
        ("ĐẤT ĐAI", "dat dai"),
        ("Cấp Phiếu lý lịch tư pháp", "cap phieu ly lich tu phap"),
        ("Chứng thực bản sao từ bản chính", "chung thuc ban sao tu ban chinh"),
        ("Hộ tịch", "ho tich"),
        ("UBND phường Xuân Hương - Đà Lạt", "ubnd phuong xuan huong - da lat"),
        ("Thủ tục 1.001193", "thu tuc 1.001193"),
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_with_or_without_diacritics_the_same_search_text() -> None:
    assert fold("Đăng ký khai sinh") == fold("dang ky khai sinh") == fold("ĐĂNG KÝ KHAI SINH")


def test_every_vietnamese_vowel_and_d() -> None:
    lower = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ"
    expected = "a" * 18 + "e" * 12 + "i" * 6 + "o" * 18 + "u" * 12 + "y" * 6 + "d"
    assert fold(lower) == expected
    assert fold(lower.upper()) == expected


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("  Cấp   phiếu  ", "cap phieu"),
        ("Cấp\tphiếu\nlý\r\nlịch", "cap phieu ly lich"),
        ("Cấp\u00a0phiếu", "cap phieu"),  # no-break space, as pasted from Word
        ("   ", ""),
    ],
)
def test_spaces_are_collapsed(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_composed_and_decomposed_input_fold_alike() -> None:
    composed = unicodedata.normalize("NFC", "Nguyễn Thị Ánh Tuyết")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert fold(composed) == fold(decomposed) == "nguyen thi anh tuyet"


def test_fold_is_idempotent() -> None:
    for text in ("Đăng ký khai sinh", "ĐẤT ĐAI", "  Hộ   tịch "):
        assert fold(fold(text)) == fold(text)
