"""The citizen's printable documents (issue 4): receipt slip 01 and the result notice as
PDF, stored in the documents bucket on first request and handed out through a short-lived
presigned GET (binary bodies are awkward behind API Gateway).

Keys: ``slips/<code>/01.pdf`` — slip 01 never changes once issued — and
``slips/<code>/result-notice-<status>.pdf``: the notice states the dossier's status, which
moves from done (9) to returned (10) on the first download of the result, so each status
has its own (unchanging) notice rather than one file that would go stale.

Two first requests at once both render and put the same bytes (rendering is
deterministic), so no lock is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.config import get_settings
from chalicelib.domain import documents
from chalicelib.domain.dossiers import Dossier
from chalicelib.domain.errors import NotFound
from chalicelib.domain.slips import SlipNumber
from chalicelib.services import deps
from chalicelib.services.deps import get_storage, get_store
from chalicelib.services.dossiers import get_own_dossier

# A document link lives at most 15 minutes, like the result's (issue 4).
DOCUMENT_URL_SECONDS = 900
PDF = "application/pdf"
KEY_PREFIX = "slips"


@dataclass(frozen=True)
class DocumentLink:
    url: str
    expires_at: datetime


def receipt_key(code: str) -> str:
    return f"{KEY_PREFIX}/{code}/01.pdf"


def result_notice_key(code: str, status: int) -> str:
    return f"{KEY_PREFIX}/{code}/result-notice-{status:02d}.pdf"


def not_found_receipt(code: str) -> NotFound:
    # The same answer for a dossier that is not the caller's and one not yet received.
    return NotFound(f"Chưa có giấy tiếp nhận cho hồ sơ {code} / No receipt for dossier {code}",
                    code="receipt_not_found")


def not_found_result_notice(code: str) -> NotFound:
    return NotFound(f"Chưa có thông báo kết quả cho hồ sơ {code} / No result notice for dossier {code}",
                    code="result_notice_not_found")


def _own(owner: str, code: str, missing: Callable[[str], NotFound]) -> Dossier:
    try:
        return get_own_dossier(owner, code)
    except NotFound:
        raise missing(code) from None


def _link(key: str, filename: str, render: Callable[[], bytes]) -> DocumentLink:
    settings = get_settings()
    storage = get_storage(settings)
    if storage.head(settings.documents_bucket, key) is None:
        storage.put(settings.documents_bucket, key, render(), content_type=PDF)
    url = storage.presigned_get(settings.documents_bucket, key, expires_in=DOCUMENT_URL_SECONDS, filename=filename)
    return DocumentLink(url=url, expires_at=deps.now() + timedelta(seconds=DOCUMENT_URL_SECONDS))


def receipt_link(owner: str, code: str) -> DocumentLink:
    """Slip 01 for the owner, once the desk has received the dossier (404 otherwise)."""
    dossier = _own(owner, code, not_found_receipt)
    slip = next((s for s in dossier.slips if s.number is SlipNumber.RECEIPT), None)
    if slip is None:
        raise not_found_receipt(code)

    def render() -> bytes:
        store = get_store()
        content = documents.receipt_content(
            dossier, store.get_procedure(dossier.procedure_code),
            store.get_agency(slip.issued_by or dossier.agency_code),
            public_track_url=get_settings().public_track_url)
        assert content is not None  # slip 01 exists
        return documents.render_receipt(content)

    return _link(receipt_key(dossier.code), f"giay-tiep-nhan-{dossier.code}.pdf", render)


def result_notice_link(owner: str, code: str) -> DocumentLink:
    """The result notice for the owner, once the dossier is done (9) or returned (10)."""
    dossier = _own(owner, code, not_found_result_notice)
    content = documents.result_notice_content(dossier, None, public_track_url=get_settings().public_track_url)
    if content is None:
        raise not_found_result_notice(code)

    def render() -> bytes:
        agency = get_store().get_agency(dossier.agency_code)
        named = documents.result_notice_content(dossier, agency, public_track_url=get_settings().public_track_url)
        assert named is not None
        return documents.render_result_notice(named)

    return _link(result_notice_key(dossier.code, int(dossier.status)),
                 f"thong-bao-ket-qua-{dossier.code}.pdf", render)
