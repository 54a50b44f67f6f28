"""Uploads go straight from the browser (or an agency's system) to S3 through a presigned POST."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain.dossiers import is_dossier_code
from chalicelib.domain.errors import NotFound, ServiceUnavailable
from chalicelib.domain.uploads import (
    ATTACHED_TAGS,
    UNATTACHED_TAGS,
    Upload,
    agency_owner,
    parse_upload_request,
    result_key,
    result_prefix,
    upload_key,
)
from chalicelib.integrations.s3 import StorageError
from chalicelib.services.deps import get_storage, get_store, get_task_store, now

logger = logging.getLogger(__name__)

# An upload never attached to a dossier is forgotten after this (DynamoDB TTL). The bytes
# are stored tagged motcua-attached=false, which the uploads bucket's lifecycle rule expires
# after its UnattachedUploadDays (infra/template.json; keep the two equal).
UNATTACHED_UPLOAD_DAYS = 7


def is_expired(upload: Upload, at: datetime) -> bool:
    """Too old to attach: its record's TTL has passed (DynamoDB deletes lazily, so it may still be
    read), and the lifecycle rule may already have queued the object for deletion, which tagging
    it now might not stop. With UnattachedUploadDays at least UNATTACHED_UPLOAD_DAYS, an upload
    attached before this is tagged before S3 can expire it."""
    return at >= upload.created_at + timedelta(days=UNATTACHED_UPLOAD_DAYS)


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
        expires_in=settings.upload_url_seconds, tags=UNATTACHED_TAGS,
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
        expires_in=settings.upload_url_seconds, key_prefix=result_prefix(code), tags=UNATTACHED_TAGS,
    )
    expires = created + timedelta(days=UNATTACHED_UPLOAD_DAYS)
    get_store(settings).put_upload(upload, expires_at=int(expires.timestamp()))
    return UploadTicket(upload, post.url, post.fields, created + timedelta(seconds=settings.upload_url_seconds))


def mark_attached(s3_keys: Iterable[str]) -> None:
    """Re-tags uploaded objects ``motcua-attached=true`` so that the bucket's lifecycle rule no
    longer expires them.

    Call it after every check and BEFORE the DynamoDB transaction that attaches the uploads
    commits: a failure in between (the transaction refused, the process gone) then leaves an
    object tagged true that no dossier holds, a storage leak, and never a dossier whose
    document S3 deletes. For the same reason a failed transaction never tags them back to
    false: a concurrent request may have attached the same upload meanwhile. If S3 does not
    tag, the request fails (503 ``storage_unavailable``) before anything is written; a retry
    tags again (the same tag set: idempotent)."""
    settings = get_settings()
    storage = get_storage(settings)
    for key in s3_keys:
        try:
            storage.set_tags(settings.uploads_bucket, key, ATTACHED_TAGS)
        except StorageError as error:
            # The key names the owner and the file: not logged.
            logger.warning("could not tag an upload as attached: %s", error)
            raise ServiceUnavailable(
                "Kho tệp tạm thời không trả lời, vui lòng thử lại / File storage is not answering, please retry",
                code="storage_unavailable") from error
