"""Uploaded files: a citizen's attachments to a dossier, an agency's result document."""

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

# An agency uploads a result for one dossier it has an open task on (issue 4).
AGENCY_UPLOAD_REQUEST_SCHEMA: dict[str, Any] = {
    **UPLOAD_REQUEST_SCHEMA,
    "required": [*UPLOAD_REQUEST_SCHEMA["required"], "dossier_code"],
    "properties": {
        **UPLOAD_REQUEST_SCHEMA["properties"],
        "dossier_code": {"type": "string", "title": "Mã hồ sơ", "minLength": 1, "maxLength": 64},
    },
}

AGENCY_OWNER_PREFIX = "agency:"

# The uploads bucket's lifecycle rule (infra/template.json, UploadsBucket) expires objects
# tagged motcua-attached=false after UnattachedUploadDays. An upload is stored with that tag
# (the presigned POST's policy pins it) and re-tagged true before it is attached to a dossier.
ATTACHED_TAG_KEY = "motcua-attached"
UNATTACHED_TAGS: dict[str, str] = {ATTACHED_TAG_KEY: "false"}
ATTACHED_TAGS: dict[str, str] = {ATTACHED_TAG_KEY: "true"}

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class UploadRequest:
    filename: str
    content_type: str
    size: int
    dossier_code: str | None = None  # an agency's result upload: the dossier it is for


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
    stored_size: int | None = None  # what S3 reported once the object arrived (None: not known yet)
    # The object's ETag as S3 reported it then: a document served later is checked to be that object
    # (its presigned POST stays valid for a while after the submission).
    stored_etag: str | None = None


def parse_upload_request(body: Mapping[str, Any], *, max_bytes: int, for_agency: bool = False) -> UploadRequest:
    """A citizen's request (``dossier_code`` is an unknown field for them) or, with
    ``for_agency``, an agency's, which names the dossier the result is for."""
    validate_against(AGENCY_UPLOAD_REQUEST_SCHEMA if for_agency else UPLOAD_REQUEST_SCHEMA, body, prefix="")
    size = int(body["size"])
    if size > max_bytes:
        raise InvalidInput(
            f"Tệp vượt quá dung lượng tối đa {max_bytes // (1024 * 1024)} MB / "
            f"File larger than the {max_bytes} byte limit",
            code="file_too_large",
            field="size",
        )
    dossier_code = str(body["dossier_code"]) if for_agency else None
    return UploadRequest(filename=str(body["filename"]), content_type=str(body["content_type"]), size=size,
                         dossier_code=dossier_code)


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


UPLOADS_PREFIX = "uploads/"


def upload_key(owner: str, upload_id: str, filename: str) -> str:
    return f"{UPLOADS_PREFIX}{owner}/{upload_id}/{safe_filename(filename)}"


def upload_id_of_key(key: str) -> str | None:
    """The upload a citizen's object key names (``upload_key``'s layout), or None for any other key."""
    parts = key.split("/")
    if len(parts) != 4 or f"{parts[0]}/" != UPLOADS_PREFIX or not parts[1] or not parts[2] or not parts[3]:
        return None
    return parts[2]


def agency_owner(agency_code: str) -> str:
    """The owner recorded on an agency's upload (citizens' owners are Cognito subs)."""
    return f"{AGENCY_OWNER_PREFIX}{agency_code}"


def result_prefix(dossier_code: str) -> str:
    """Where a dossier's result documents live in the uploads bucket."""
    return f"results/{dossier_code}/"


def result_key(dossier_code: str, upload_id: str, filename: str) -> str:
    return f"{result_prefix(dossier_code)}{upload_id}/{safe_filename(filename)}"
