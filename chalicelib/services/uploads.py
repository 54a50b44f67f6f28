"""Uploads go straight from the browser (or an agency's system) to S3 through a presigned POST."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain.dossiers import is_dossier_code
from chalicelib.domain.errors import NotFound
from chalicelib.domain.uploads import (
    Upload,
    agency_owner,
    parse_upload_request,
    result_key,
    result_prefix,
    upload_key,
)
from chalicelib.services.deps import get_storage, get_store, get_task_store, now

# An upload never attached to a dossier is forgotten after this (DynamoDB TTL; an S3
# lifecycle rule on the uploads/ prefix does the same for the bytes).
UNATTACHED_UPLOAD_DAYS = 7


@dataclass(frozen=True)
class UploadTicket:
    upload: Upload
    url: str
    fields: dict[str, str]
    expires_at: datetime


def create_upload(owner: str, body: Mapping[str, Any]) -> UploadTicket:
    settings = get_settings()
    request = parse_upload_request(body, max_bytes=settings.max_upload_bytes)
    upload_id = uuid.uuid4().hex
    created = now()
    upload = Upload(
        upload_id=upload_id,
        owner=owner,
        filename=request.filename,
        content_type=request.content_type,
        size=request.size,
        s3_key=upload_key(owner, upload_id, request.filename),
        created_at=created,
    )
    post = get_storage(settings).presigned_post(
        settings.uploads_bucket, upload.s3_key, content_type=upload.content_type, size=upload.size,
        expires_in=settings.upload_url_seconds,
    )
    expires = created + timedelta(days=UNATTACHED_UPLOAD_DAYS)
    get_store(settings).put_upload(upload, expires_at=int(expires.timestamp()))
    return UploadTicket(upload, post.url, post.fields, created + timedelta(seconds=settings.upload_url_seconds))


def create_agency_upload(agency_code: str, body: Mapping[str, Any]) -> UploadTicket:
    """An agency's result document for a dossier it has an open task on. The POST policy
    binds size, type and the key, which lies under ``results/<dossier code>/``."""
    settings = get_settings()
    request = parse_upload_request(body, max_bytes=settings.max_upload_bytes, for_agency=True)
    code = request.dossier_code or ""
    open_here = is_dossier_code(code) and any(
        task.agency_code == agency_code and task.status == "open" for task in get_task_store().tasks_of(code))
    if not open_here:
        # A dossier that does not exist, is not on this agency's route or has nothing open for it.
        raise NotFound(f"Không tìm thấy hồ sơ {code} / Dossier {code} not found", code="dossier_not_found")
    upload_id = uuid.uuid4().hex
    created = now()
    upload = Upload(
        upload_id=upload_id,
        owner=agency_owner(agency_code),
        filename=request.filename,
        content_type=request.content_type,
        size=request.size,
        s3_key=result_key(code, upload_id, request.filename),
        created_at=created,
        dossier_code=code,
    )
    post = get_storage(settings).presigned_post(
        settings.uploads_bucket, upload.s3_key, content_type=upload.content_type, size=upload.size,
        expires_in=settings.upload_url_seconds, key_prefix=result_prefix(code),
    )
    expires = created + timedelta(days=UNATTACHED_UPLOAD_DAYS)
    get_store(settings).put_upload(upload, expires_at=int(expires.timestamp()))
    return UploadTicket(upload, post.url, post.fields, created + timedelta(seconds=settings.upload_url_seconds))
