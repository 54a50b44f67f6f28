"""Uploads go straight from the browser (or an agency's system) to S3 through a presigned POST."""

from __future__ import annotations

import logging
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain.dossiers import is_dossier_code
from chalicelib.domain.errors import NotFound
from chalicelib.domain.uploads import (
    ATTACHED_TAGS,
    UNATTACHED_TAGS,
    Upload,
    agency_owner,
    parse_upload_request,
    result_key,
    result_prefix,
    upload_id_of_key,
    upload_key,
)
from chalicelib.integrations.s3 import StorageError
from chalicelib.services.deps import get_storage, get_store, get_task_store, now

logger = logging.getLogger(__name__)

# An upload never attached to a dossier is forgotten after this (DynamoDB TTL), and refused
# from then on. The bytes are stored tagged motcua-attached=false, which the uploads bucket's
# lifecycle rule expires after its UnattachedUploadDays (infra/template.json): keep that at
# least one day more, the time the table's stream has to tag an attached upload (mark_attached).
UNATTACHED_UPLOAD_DAYS = 7


def is_expired(upload: Upload, at: datetime) -> bool:
    """Too old to attach: its record's TTL has passed (DynamoDB deletes lazily, so it may still be
    read), and the lifecycle rule may already have queued the object for deletion, which tagging
    it now might not stop. With UnattachedUploadDays at least UNATTACHED_UPLOAD_DAYS + 1, an upload
    attached before this is tagged (from the stream, within a day) before S3 can expire it."""
    # In whole seconds, as the record's expires_at (the TTL a submission's transaction checks).
    return int(at.timestamp()) >= int((upload.created_at + timedelta(days=UNATTACHED_UPLOAD_DAYS)).timestamp())


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


def record_stored_object(bucket: str, key: str, size: int, etag: str | None = None) -> bool:
    """S3 says an object arrived: if it is a citizen's upload, its size is recorded on the upload,
    which lets a submission check the file in its transaction instead of asking S3. Any other
    object (another bucket, a result document, a key no upload has) is ignored: False.

    An upload a dossier holds already is not recorded again, but its object is tagged attached
    again: the upload's ticket (a presigned POST) stays valid for its whole lifetime, and a second
    POST with it after the submission writes the object with the ticket's "attached=false" tag,
    which the bucket's lifecycle rule would expire with the dossier's document."""
    settings = get_settings()
    upload_id = upload_id_of_key(key)
    if bucket != settings.uploads_bucket or upload_id is None or len(upload_id) > 64:
        return False
    store = get_store()
    if store.record_stored_size(upload_id, key, size, etag):
        return True
    upload = store.get_upload(upload_id)
    if upload is not None and upload.attached and upload.s3_key == key:
        # A late event, or the object written again with its ticket (the key names its owner: not logged).
        logger.warning("an attached upload's object was stored (again): tagged attached again")
        mark_attached([key])
    return False


def handle_storage_event(body: Mapping[str, Any]) -> int:
    """One message of the uploads queue: an S3 event notification (``Records`` of ObjectCreated
    events; S3's test event has none). Returns how many uploads it recorded. Recording twice is
    harmless, so a redelivered message needs no idempotency record."""
    recorded = 0
    records = body.get("Records")
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict) or not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        s3 = record.get("s3") or {}
        bucket = (s3.get("bucket") or {}).get("name")
        stored = s3.get("object") or {}
        key, size, etag = stored.get("key"), stored.get("size"), stored.get("eTag")
        if not isinstance(bucket, str) or not isinstance(key, str) or not isinstance(size, int):
            continue
        # Event keys are URL-encoded, spaces as "+" (S3's notification format).
        if record_stored_object(bucket, urllib.parse.unquote_plus(key), size,
                                etag if isinstance(etag, str) else None):
            recorded += 1
    return recorded


def mark_attached(s3_keys: Iterable[str]) -> None:
    """Re-tags uploaded objects ``motcua-attached=true`` so that the bucket's lifecycle rule no
    longer expires them.

    Called off the request path, from the table's stream (services/table_events.py), once the
    transaction that attached the uploads has committed: a refused transaction tags nothing.
    The tag comes a moment after the commit, or after retries for as long as the stream keeps
    the record (24 h); the bucket's rule (UnattachedUploadDays) gives an upload at least one day
    more than the app accepts it for (:data:`UNATTACHED_UPLOAD_DAYS`), so it is tagged before S3
    may expire it. Tagging again is harmless (the same tag set). Raises ``StorageError`` if S3
    does not tag, so that the stream's Lambda retries."""
    settings = get_settings()
    storage = get_storage(settings)
    for key in s3_keys:
        try:
            storage.set_tags(settings.uploads_bucket, key, ATTACHED_TAGS)
        except StorageError as error:
            # The key names the owner and the file: not logged.
            logger.warning("could not tag an upload as attached: %s", error)
            raise
