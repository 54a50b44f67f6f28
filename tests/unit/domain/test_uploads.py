"""Upload requests and S3-safe file names."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.forms import ValidationFailed
from chalicelib.domain.uploads import (
    ALLOWED_CONTENT_TYPES,
    UploadRequest,
    parse_upload_request,
    result_key,
    safe_filename,
    upload_id_of_key,
    upload_key,
)
from tests.factories import create_upload_request

MAX_BYTES = 10 * 1024 * 1024
SAFE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


@pytest.mark.parametrize(
    ("filename", "safe"),
    [
        ("Tờ khai.pdf", "To-khai.pdf"),
        ("Đơn đề nghị cấp Phiếu LLTP.docx", "Don-de-nghi-cap-Phieu-LLTP.docx"),
        ("ảnh CCCD mặt trước.JPG", "anh-CCCD-mat-truoc.JPG"),
        ("Giấy khai sinh (bản sao).pdf", "Giay-khai-sinh-ban-sao-.pdf"),
        ("scan_001-a.png", "scan_001-a.png"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\System32\\evil.dll", "evil.dll"),
        ("C:\\Users\\An\\Giấy tờ.pdf", "Giay-to.pdf"),
        ("/tmp/../../x.pdf", "x.pdf"),
        ("uploads/other-owner/id/x.pdf", "x.pdf"),
        ("..", "file"),
        ("../", "file"),
        ("...", "file"),
        ("", "file"),
        ("ảnh", "anh"),
        ("中文.pdf", "pdf"),
        ("a\x00b.pdf", "a-b.pdf"),
        (".htaccess", "htaccess"),
    ],
)
def test_safe_filename(filename: str, safe: str) -> None:
    assert safe_filename(filename) == safe


@pytest.mark.parametrize(
    "filename",
    ["../" * 50 + "x", "a" * 500 + ".pdf", "Ω≈ç√∫˜µ≤≥÷", "😀😀.pdf", "\u202egnp.exe", "%2e%2e%2fx",
     "x\r\nSet-Cookie: a", "con.txt", "  .  ", "~/.ssh/id_rsa", "Tờ khai\u0301\u0301.pdf"],
)
def test_safe_filenames_are_plain_ascii_names(filename: str) -> None:
    safe = safe_filename(filename)
    assert SAFE.match(safe), safe
    assert safe not in (".", "..")
    assert not safe.startswith((".", "-"))


def test_upload_keys_stay_under_the_owner_and_upload() -> None:
    assert upload_key("sub-1", "abc", "../../Tờ khai.pdf") == "uploads/sub-1/abc/To-khai.pdf"


def test_a_valid_request() -> None:
    assert parse_upload_request(create_upload_request(), max_bytes=MAX_BYTES) == UploadRequest(
        filename="Tờ khai.pdf", content_type="application/pdf", size=1024)


def test_the_content_types_a_one_stop_shop_accepts() -> None:
    assert set(ALLOWED_CONTENT_TYPES) == {
        "application/pdf",
        "image/jpeg",
        "image/png",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }


@pytest.mark.parametrize("content_type", sorted(ALLOWED_CONTENT_TYPES))
def test_allowed_content_types(content_type: str) -> None:
    request = parse_upload_request(create_upload_request(content_type=content_type), max_bytes=MAX_BYTES)
    assert request.content_type == content_type


@pytest.mark.parametrize(
    "content_type",
    ["text/html", "image/svg+xml", "application/x-msdownload", "application/zip", "application/octet-stream",
     "APPLICATION/PDF", "application/pdf; charset=binary", "", "image/*"],
)
def test_other_content_types_are_refused(content_type: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        parse_upload_request(create_upload_request(content_type=content_type), max_bytes=MAX_BYTES)
    assert [e.field for e in failed.value.errors] == ["content_type"]
    assert "application/pdf" in failed.value.errors[0].message


@pytest.mark.parametrize("size", [1, MAX_BYTES])
def test_sizes_up_to_the_limit(size: int) -> None:
    assert parse_upload_request(create_upload_request(size=size), max_bytes=MAX_BYTES).size == size


@pytest.mark.parametrize("size", [MAX_BYTES + 1, 10**12])
def test_sizes_over_the_limit_are_refused(size: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_upload_request(create_upload_request(size=size), max_bytes=MAX_BYTES)
    assert not isinstance(refused.value, ValidationFailed)
    assert refused.value.code == "file_too_large"
    assert refused.value.field == "size"
    assert "10 MB" in refused.value.message and str(MAX_BYTES) in refused.value.message


def test_the_limit_is_the_one_given() -> None:
    with pytest.raises(InvalidInput):
        parse_upload_request(create_upload_request(size=2049), max_bytes=2048)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"size": 0}, "size"),
        ({"size": -1}, "size"),
        ({"size": "1024"}, "size"),
        ({"size": 1.5}, "size"),
        ({"size": True}, "size"),
        ({"size": None}, "size"),
        ({"filename": ""}, "filename"),
        ({"filename": "a" * 201}, "filename"),
        ({"filename": 5}, "filename"),
        ({"content_type": None}, "content_type"),
        ({"extra": "x"}, "extra"),
    ],
)
def test_bad_requests_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as failed:
        parse_upload_request(create_upload_request(**overrides), max_bytes=MAX_BYTES)
    assert [e.field for e in failed.value.errors] == [field]


@pytest.mark.parametrize("missing", ["filename", "content_type", "size"])
def test_missing_fields_are_named(missing: str) -> None:
    body = create_upload_request()
    del body[missing]
    with pytest.raises(ValidationFailed) as failed:
        parse_upload_request(body, max_bytes=MAX_BYTES)
    assert [(e.field, e.message) for e in failed.value.errors] == [(missing, "bắt buộc phải có / required")]


def test_a_citizens_object_key_names_its_upload_and_no_other_key_does() -> None:
    key = upload_key("3f2c-sub", "abc123", "Tờ khai.pdf")
    assert upload_id_of_key(key) == "abc123"
    for other in (result_key("X-261126-0001", "abc123", "a.pdf"), "uploads/3f2c-sub/abc123", "uploads//abc123/a.pdf",
                  "uploads/3f2c-sub/abc123/a.pdf/more", "slips/abc123/a.pdf", ""):
        assert upload_id_of_key(other) is None, other
