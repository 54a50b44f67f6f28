"""Uploaded files (attachments to a dossier, later results)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.forms import validate_against

# What a one-stop shop accepts: scans and photos of papers, and office documents.
ALLOWED_CONTENT_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "application/msword": (".doc",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
}

UPLOAD_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["filename", "content_type", "size"],
    "properties": {
        "filename": {"type": "string", "title": "Tên tệp", "minLength": 1, "maxLength": 200},
        "content_type": {"type": "string", "title": "Loại tệp", "enum": sorted(ALLOWED_CONTENT_TYPES)},
        "size": {"type": "integer", "title": "Dung lượng", "minimum": 1},
    },
}

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class UploadRequest:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Upload:
    upload_id: str
    owner: str
    filename: str
    content_type: str
    size: int
    s3_key: str
    created_at: datetime
    attached: bool = False
    dossier_code: str | None = None


def parse_upload_request(body: Mapping[str, Any], *, max_bytes: int) -> UploadRequest:
    validate_against(UPLOAD_REQUEST_SCHEMA, body, prefix="")
    size = int(body["size"])
    if size > max_bytes:
        raise InvalidInput(
            f"Tệp vượt quá dung lượng tối đa {max_bytes // (1024 * 1024)} MB / "
            f"File larger than the {max_bytes} byte limit",
            code="file_too_large",
            field="size",
        )
    return UploadRequest(filename=str(body["filename"]), content_type=str(body["content_type"]), size=size)


def safe_filename(filename: str) -> str:
    """An S3-key-safe ASCII version of a citizen's file name ("Tờ khai.pdf" → "To-khai.pdf")."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    base = base.replace("đ", "d").replace("Đ", "D")
    ascii_only = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE.sub("-", ascii_only).strip(".-") or "file"
    stem, dot, extension = cleaned.rpartition(".")
    if not dot or len(extension) > 10:
        return cleaned[:100]
    return f"{stem[:100 - len(extension) - 1]}.{extension}"


def upload_key(owner: str, upload_id: str, filename: str) -> str:
    return f"uploads/{owner}/{upload_id}/{safe_filename(filename)}"
