"""Citizen-side dossier use cases: submit, list, read, track, withdraw."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.config import get_settings
from chalicelib.domain.calendar import VN_TZ
from chalicelib.domain.documents import qr_svg, tracker_target
from chalicelib.domain.dossiers import (
    DocumentRef,
    Dossier,
    LogEntry,
    OpenStepTask,
    format_dossier_code,
    is_dossier_code,
    log_note,
    parse_rating,
    parse_submission_envelope,
    validate_submission,
    validate_supplement,
)
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.forms import FieldError, ValidationFailed
from chalicelib.domain.tasks import Task
from chalicelib.domain.uploads import Upload
from chalicelib.domain.workflow import DossierStatus, Role, transition
from chalicelib.services import limits, routing, uploads
from chalicelib.services.catalogue import get_procedure, require_online_procedure
from chalicelib.services.deps import get_calendar, get_storage, get_store, get_task_store, now
from chalicelib.store.repository import Page, RateCharge, SubmissionRefused

if TYPE_CHECKING:
    from chalicelib.integrations.s3 import StoredObject

CITIZEN_ACTOR = "citizen"


def _not_found(code: str) -> NotFound:
    # The same answer whether the dossier does not exist or belongs to someone else.
    return NotFound(f"Không tìm thấy hồ sơ {code} / Dossier {code} not found", code="dossier_not_found")


_UPLOAD_NOT_FOUND = "không tìm thấy tệp đã tải lên / upload not found"
_UPLOAD_ATTACHED = "tệp đã thuộc hồ sơ khác / upload already attached to a dossier"
_UPLOAD_EXPIRED = "tệp đã hết hạn, vui lòng tải lên lại / upload expired, upload it again"
_FILE_MISSING = "tệp chưa được tải lên xong / file not uploaded yet"
_FILE_SIZE_DIFFERS = "dung lượng tệp không khớp / file size differs from declared"


def _record_problem(owner: str, upload: Upload | None, at: datetime) -> str | None:
    """What the upload's record alone shows to keep it from being attached at ``at``."""
    if upload is None or upload.owner != owner:
        return _UPLOAD_NOT_FOUND
    if upload.attached:
        return _UPLOAD_ATTACHED
    if uploads.is_expired(upload, at):
        return _UPLOAD_EXPIRED
    if upload.stored_size is not None and upload.stored_size != upload.size:
        return _FILE_SIZE_DIFFERS
    return None


def _storage_problem(upload: Upload) -> tuple[str | None, StoredObject | None]:
    """What S3 shows (one HeadObject), for an upload whose stored size is not recorded yet: the
    problem, if any, and the object."""
    settings = get_settings()
    stored = get_storage(settings).head(settings.uploads_bucket, upload.s3_key)
    if stored is None:
        return _FILE_MISSING, None
    if stored.size != upload.size:
        return _FILE_SIZE_DIFFERS, stored
    return None, stored


def _check_uploads(owner: str, refs: Sequence[DocumentRef]) -> None:
    """Reads each upload first and refuses (422) any that is not the owner's, free and in S3 as
    declared. For writes that do not check uploads in their transaction (a supplement)."""
    store = get_store()
    at = now()
    errors: list[FieldError] = []
    for index, ref in enumerate(refs):
        upload = store.get_upload(ref.upload_id)
        problem = _record_problem(owner, upload, at)
        if problem is None and upload is not None and upload.stored_size is None:
            problem, _ = _storage_problem(upload)
        if problem is not None:
            errors.append(FieldError(f"documents[{index}].upload_id", problem))
    if errors:
        raise ValidationFailed(errors)


def _explain_refused_uploads(owner: str, refs: Sequence[DocumentRef], found: Mapping[str, Upload | None],
                             at: datetime) -> bool:
    """Why a submission's transaction refused uploads: raises the 422 the old pre-checks gave,
    from the uploads as the transaction found them (no read), asking S3 only about files whose
    arrival is not recorded yet. A file found in S3 as declared (its event not handled yet) gets
    its size recorded: True, the transaction may be tried again."""
    store = get_store()
    errors: list[FieldError] = []
    recorded = False
    for index, ref in enumerate(refs):
        if ref.upload_id not in found:
            continue
        # No item back: none exists, or a backend that does not return it (then read it).
        upload = found[ref.upload_id] or store.get_upload(ref.upload_id)
        problem = _record_problem(owner, upload, at)
        if problem is None and upload is not None and upload.stored_size is None:
            problem, stored = _storage_problem(upload)
            if problem is None and stored is not None:
                recorded = store.record_stored_size(upload.upload_id, upload.s3_key, upload.size,
                                                    stored.etag or None) or recorded
        if problem is not None:
            errors.append(FieldError(f"documents[{index}].upload_id", problem))
    if errors:
        raise ValidationFailed(errors)
    return recorded


def _store_new_dossier(draft: Dossier, entry: LogEntry, rate: RateCharge) -> Dossier:
    """One transaction on the happy path. A refusal on an upload is explained (422), or, when only
    S3's event about a file was missing, the transaction is tried once more; a full rate row is
    the 429. The uploads' errors come first, as when they were checked before counting."""
    agency = draft.agency_code
    day = draft.submitted_at.astimezone(VN_TZ).date()
    for last_try in (False, True):
        try:
            return get_store().create_dossier(
                draft, entry,
                make_code=lambda sequence: format_dossier_code(agency, day, sequence),
                counter_key=(agency, f"{day:%y%m%d}"),
                rate=rate,
            )
        except SubmissionRefused as refused:
            retry = _explain_refused_uploads(draft.owner, draft.documents, refused.uploads, draft.submitted_at)
            if refused.rate_limited:
                raise limits.too_many(rate) from None
            if not retry or last_try:
                # Nothing wrong with the uploads as read: another request attached one meanwhile.
                raise Conflict(
                    "Tệp đính kèm đã được dùng cho hồ sơ khác / An upload is already attached to a dossier",
                    code="upload_already_used",
                ) from None
    raise AssertionError("unreachable")


def _fee_status(fee_vnd: int, *, exempt: bool) -> str:
    if fee_vnd <= 0:
        return "not_required"
    return "exempt" if exempt else "unpaid"


def submit_dossier(owner: str, body: Mapping[str, Any]) -> Dossier:
    procedure_code, envelope = parse_submission_envelope(body)
    procedure = require_online_procedure(procedure_code)
    submission = validate_submission(procedure, envelope)
    # Counted in the dossier's own transaction, so only once the submission is valid and its
    # uploads pass: fixing a form's errors costs the citizen nothing; what the limit guards is
    # a dossier, its route and the agencies' time.
    rate = limits.charge("submit", owner)
    submitted = now()
    status = transition(None, "submit", Role.CITIZEN)
    draft = Dossier(
        code="",
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        agency_code=procedure.agency_code,
        owner=owner,
        applicant=submission.applicant,
        form=submission.form,
        documents=submission.documents,
        status=status,
        submitted_at=submitted,
        due_at=get_calendar().due_at(submitted, procedure.processing_days),
        updated_at=submitted,
        fee_vnd=procedure.fee_vnd,
        fee_status=_fee_status(procedure.fee_vnd, exempt=submission.fee_exemption is not None),
        fee_exemption=submission.fee_exemption,
        route=procedure.route,
        processing_days=procedure.processing_days,
    )
    entry = LogEntry(at=submitted, actor=CITIZEN_ACTOR, action="submit", from_status=None, to_status=status,
                     note="Nộp hồ sơ trực tuyến / Submitted online")
    # The uploads are tagged attached, and the citizen told, off the request path from the
    # table's stream (services/table_events.py).
    dossier = _store_new_dossier(draft, entry, rate)
    # A start Step Functions does not take now is left to the task worker (routing.start_route).
    # Left: if the task queue does not take that either, the dossier stays without a route and
    # the citizen gets an error; an outbox on the table's stream would make the pair atomic.
    routing.start_route(dossier)
    return dossier


def list_own_dossiers(owner: str, *, cursor: str | None, limit: int) -> Page[Dossier]:
    return get_store().list_dossiers_of(owner, cursor=cursor, limit=limit)


def get_own_dossier(owner: str, code: str) -> Dossier:
    dossier = get_store().get_dossier(code) if is_dossier_code(code) else None
    if dossier is None or dossier.owner != owner:
        raise _not_found(code)
    return dossier


def get_dossier_for_staff(agency_code: str, key_id: str, code: str) -> Dossier:
    """Officers of an agency on the dossier's route may read it; each read is audited.
    Anyone else gets the same 404 as for a dossier that does not exist."""
    dossier = get_store().get_dossier(code) if is_dossier_code(code) else None
    if dossier is None or agency_code not in routing.route_agencies(dossier):
        raise _not_found(code)
    get_store().audit_read(code, agency_code=agency_code, key_id=key_id, at=now(), action="read")
    return dossier


def track_dossier(code: str) -> tuple[Dossier, Sequence[OpenStepTask | Task]]:
    """The dossier and the tasks open on it (where it is now): its record only, one read; the
    tasks are read apart only for a dossier stored before its record kept them."""
    dossier = get_store().get_dossier_record(code) if is_dossier_code(code) else None
    if dossier is None:
        raise _not_found(code)
    if dossier.status.is_final:
        return dossier, ()  # a closed dossier is nowhere, whatever was open when it closed
    if dossier.open_tasks is not None:
        return dossier, dossier.open_tasks
    return dossier, [task for task in get_task_store().tasks_of(code) if task.status == "open"]


def tracker_qr(code: str) -> str:
    """An SVG QR code of the dossier's public tracker link (the code itself without a tracker)."""
    dossier = get_store().get_dossier(code) if is_dossier_code(code) else None
    if dossier is None:
        raise _not_found(code)
    target = tracker_target(get_settings().public_track_url, dossier.code)
    return qr_svg(target, title=f"Mã QR tra cứu hồ sơ {dossier.code} / QR code to track dossier {dossier.code}")


def withdraw_dossier(owner: str, code: str, reason: str | None) -> Dossier:
    dossier = get_own_dossier(owner, code)
    status = transition(dossier.status, "withdraw", Role.CITIZEN)
    note = log_note("Công dân rút hồ sơ / Withdrawn by the applicant", reason)
    entry = LogEntry(at=now(), actor=CITIZEN_ACTOR, action="withdraw", from_status=dossier.status,
                     to_status=status, note=note)
    withdrawn = get_store().apply_change(dossier, entry)
    routing.stop_route(withdrawn, "withdrawn by the applicant")
    return withdrawn



def rate_dossier(owner: str, code: str, body: Mapping[str, Any]) -> Dossier:
    """The applicant rates a decided dossier, once; the rating counts in the statistics."""
    dossier = get_own_dossier(owner, code)
    return get_store().rate(dossier, parse_rating(dossier, body, now()))


def supplement_dossier(owner: str, code: str, body: Mapping[str, Any]) -> Dossier:
    """The citizen answers a supplement request; the step that asked for it starts again
    (Decree 61/2018: a dossier found incomplete in processing restarts its deadline)."""
    dossier = get_own_dossier(owner, code)
    if dossier.status is not DossierStatus.SUPPLEMENT_REQUESTED:
        raise Conflict("Hồ sơ không ở trạng thái chờ bổ sung / The dossier is not waiting for a supplement",
                       code="invalid_status")
    procedure = get_procedure(dossier.procedure_code)
    supplement = validate_supplement(procedure, dossier, body)
    _check_uploads(owner, supplement.new_documents)
    at = now()
    asked_at_reception = routing.supplement_requested_at_reception(dossier.code)
    action = "supplement_reception" if asked_at_reception else "supplement_processing"
    status = transition(dossier.status, action, Role.CITIZEN)
    note = log_note("Công dân đã bổ sung hồ sơ / Supplement provided", supplement.note)
    updates: dict[str, Any] = {"form": supplement.form,
                               "documents": (*dossier.documents, *supplement.new_documents)}
    if not asked_at_reception:
        updates["due_at"] = get_calendar().due_at(at, dossier.days_to_process(procedure))
    # The new uploads are tagged attached from the table's stream (services/table_events.py).
    updated = get_store().apply_change(
        dossier, LogEntry(at=at, actor=CITIZEN_ACTOR, action=action, from_status=dossier.status, to_status=status,
                          note=note),
        attach=supplement.new_documents, **updates)
    routing.resume_after_supplement(updated)
    return updated
