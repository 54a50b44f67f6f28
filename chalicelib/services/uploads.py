"""Uploads go straight from the browser to S3 through a presigned POST."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain.uploads import Upload, parse_upload_request, upload_key
from chalicelib.services.deps import get_storage, get_store, now

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
