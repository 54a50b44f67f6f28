"""Results returned online (service level 4): the owner downloads the result document
through a short-lived presigned GET; the first download records the result as returned
(status 10). Every download link issued is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.config import get_settings
from chalicelib.domain.dossiers import Dossier, LogEntry
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.workflow import DossierStatus, Role, transition
from chalicelib.services import deps
from chalicelib.services.deps import get_storage, get_store
from chalicelib.services.dossiers import get_own_dossier

# A result link lives at most 15 minutes (issue 4).
RESULT_URL_SECONDS = 900
CITIZEN_ACTOR = "citizen"
# Audit lines are keyed by (agency_code, key_id): a citizen's download is ("citizen", <sub>).
CITIZEN_AUDIT_CODE = "citizen"
DOWNLOAD_ACTION = "result_download"


@dataclass(frozen=True)
class ResultLink:
    url: str
    expires_at: datetime


def _no_result(code: str) -> NotFound:
    # The same answer for a dossier that is not the caller's and one without a result.
    return NotFound(f"Không có kết quả cho hồ sơ {code} / No result for dossier {code}", code="result_not_found")


def _mark_returned(dossier: Dossier, at: datetime) -> Dossier:
    """The first download returns the result (DONE → RESULT_RETURNED); later ones change nothing."""
    for _ in range(3):
        if dossier.status is not DossierStatus.DONE:
            return dossier
        status = transition(dossier.status, "return_result", Role.CITIZEN)
        entry = LogEntry(at=at, actor=CITIZEN_ACTOR, action="return_result", from_status=dossier.status,
                         to_status=status, note="Công dân đã nhận kết quả trực tuyến / Result downloaded online")
        try:
            return deps.get_store().apply_change(dossier, entry)
        except Conflict:
            # Changed meanwhile (a concurrent first download): read again and decide again.
            again = get_store().get_dossier(dossier.code)
            if again is None:
                raise _no_result(dossier.code) from None
            dossier = again
    return dossier


def result_link(owner: str, code: str) -> ResultLink:
    try:
        dossier = get_own_dossier(owner, code)
    except NotFound:
        raise _no_result(code) from None
    if not dossier.result_available or dossier.result is None:
        raise _no_result(code)
    settings = get_settings()
    at = deps.now()
    _mark_returned(dossier, at)
    get_store(settings).audit_read(code, agency_code=CITIZEN_AUDIT_CODE, key_id=owner, at=at,
                                   action=DOWNLOAD_ACTION)
    url = get_storage(settings).presigned_get(settings.uploads_bucket, dossier.result.s3_key,
                                              expires_in=RESULT_URL_SECONDS, filename=dossier.result.filename)
    return ResultLink(url=url, expires_at=at + timedelta(seconds=RESULT_URL_SECONDS))
