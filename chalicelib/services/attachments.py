"""The files a citizen attached to a dossier (its documents), downloaded by the owner and by the
officers of the agencies on its route through short-lived presigned links; each staff download
is audited on the dossier's trail (Decree 13/2023), like a staff read of the dossier.

A file is served only as the dossier took it: its upload's ticket (a presigned POST) stays valid
for a while after the submission, and a second POST with it would replace the object. The ETag S3
reported when the file arrived is kept on the upload; a file whose object no longer has it is
refused (409), not served in place of what was submitted."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.config import get_settings
from chalicelib.domain.dossiers import Dossier, is_dossier_code
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.uploads import Upload
from chalicelib.services import routing
from chalicelib.services.deps import get_storage, get_store, now

logger = logging.getLogger(__name__)

# A document link lives at most 15 minutes, like a result's.
ATTACHMENT_URL_SECONDS = 900
DOWNLOAD_ACTION = "document_download"


@dataclass(frozen=True)
class AttachmentLink:
    document_id: str
    upload: Upload
    url: str
    expires_at: datetime


def _not_found(code: str, upload_id: str) -> NotFound:
    # The same answer for a dossier the caller may not read, one that does not exist, and a file
    # that is not among the dossier's documents.
    return NotFound(f"Không tìm thấy tài liệu {upload_id} của hồ sơ {code} / "
                    f"No document {upload_id} in dossier {code}", code="document_not_found")


def attachment_link(code: str, upload_id: str, *, owner: str | None = None, agency_code: str | None = None,
                    key_id: str | None = None) -> AttachmentLink:
    """A link to one of the dossier's documents, for its ``owner`` (a citizen's sub) or for the
    holder of ``key_id``, an officer of ``agency_code`` (audited)."""
    store = get_store()
    dossier = store.get_dossier(code) if is_dossier_code(code) and len(upload_id) <= 64 else None
    if dossier is None or not _may_read(dossier, owner, agency_code):
        raise _not_found(code, upload_id)
    ref = next((d for d in dossier.documents if d.upload_id == upload_id), None)
    upload = store.get_upload(upload_id) if ref is not None else None
    if ref is None or upload is None or not upload.attached or upload.dossier_code != code:
        raise _not_found(code, upload_id)
    settings = get_settings()
    storage = get_storage(settings)
    stored = storage.head(settings.uploads_bucket, upload.s3_key)
    if stored is None or (upload.stored_etag and stored.etag != upload.stored_etag):
        # The key names the owner and the file: not logged.
        logger.warning("a document of dossier %s is %s", code, "missing" if stored is None else "changed")
        raise Conflict("Tệp đã bị thay đổi hoặc không còn sau khi nộp, đề nghị công dân bổ sung / The file "
                       "changed or is gone since the dossier was submitted: ask for a supplement",
                       code="document_changed")
    at = now()
    if agency_code is not None and key_id is not None:
        store.audit_read(code, agency_code=agency_code, key_id=key_id, at=at, action=DOWNLOAD_ACTION)
    url = storage.presigned_get(settings.uploads_bucket, upload.s3_key, expires_in=ATTACHMENT_URL_SECONDS,
                                filename=upload.filename)
    return AttachmentLink(ref.document_id, upload, url, at + timedelta(seconds=ATTACHMENT_URL_SECONDS))


def _may_read(dossier: Dossier, owner: str | None, agency_code: str | None) -> bool:
    if owner is not None:
        return dossier.owner == owner
    return agency_code is not None and routing.on_route(agency_code, dossier)
