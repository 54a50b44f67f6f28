"""Citizen-side dossier use cases: submit, list, read, track, withdraw."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain.calendar import VN_TZ
from chalicelib.domain.documents import qr_svg, tracker_target
from chalicelib.domain.dossiers import (
    DocumentRef,
    Dossier,
    LogEntry,
    format_dossier_code,
    is_dossier_code,
    parse_rating,
    parse_submission_envelope,
    validate_submission,
    validate_supplement,
)
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.forms import FieldError, ValidationFailed
from chalicelib.domain.tasks import Task
from chalicelib.domain.workflow import DossierStatus, Role, transition
from chalicelib.services import changes, limits, routing, uploads
from chalicelib.services.catalogue import get_procedure, require_online_procedure
from chalicelib.services.deps import get_calendar, get_storage, get_store, get_task_store, now
from chalicelib.store.repository import Page

CITIZEN_ACTOR = "citizen"


def _not_found(code: str) -> NotFound:
    # The same answer whether the dossier does not exist or belongs to someone else.
    return NotFound(f"Không tìm thấy hồ sơ {code} / Dossier {code} not found", code="dossier_not_found")


def _check_uploads(owner: str, refs: Sequence[DocumentRef]) -> list[str]:
    """The S3 keys of the uploads, once each is found to be the owner's, free and in S3 as declared."""
    settings = get_settings()
    store = get_store(settings)
    storage = get_storage(settings)
    errors: list[FieldError] = []
    keys: list[str] = []
    for index, ref in enumerate(refs):
        field = f"documents[{index}].upload_id"
        upload = store.get_upload(ref.upload_id)
        if upload is None or upload.owner != owner:
            errors.append(FieldError(field, "không tìm thấy tệp đã tải lên / upload not found"))
            continue
        if upload.attached:
            errors.append(FieldError(field, "tệp đã thuộc hồ sơ khác / upload already attached to a dossier"))
            continue
        if uploads.is_expired(upload, now()):
            errors.append(FieldError(field, "tệp đã hết hạn, vui lòng tải lên lại / upload expired, upload it again"))
            continue
        stored = storage.head(settings.uploads_bucket, upload.s3_key)
        if stored is None:
            errors.append(FieldError(field, "tệp chưa được tải lên xong / file not uploaded yet"))
        elif stored.size != upload.size:
            errors.append(FieldError(field, "dung lượng tệp không khớp / file size differs from declared"))
        else:
            keys.append(upload.s3_key)
    if errors:
        raise ValidationFailed(errors)
    return keys


def _fee_status(fee_vnd: int, *, exempt: bool) -> str:
    if fee_vnd <= 0:
        return "not_required"
    return "exempt" if exempt else "unpaid"


def submit_dossier(owner: str, body: Mapping[str, Any]) -> Dossier:
    procedure_code, envelope = parse_submission_envelope(body)
    procedure = require_online_procedure(procedure_code)
    submission = validate_submission(procedure, envelope)
    keys = _check_uploads(owner, submission.documents)
    # Counted once the submission is valid: fixing a form's errors costs the citizen nothing;
    # what the limit guards is a dossier, its route and the agencies' time.
    limits.consume("submit", owner)
    submitted = now()
    status = transition(None, "submit", Role.CITIZEN)
    day = submitted.astimezone(VN_TZ).date()
    agency = procedure.agency_code
    draft = Dossier(
        code="",
        procedure_code=procedure.code,
        procedure_name=procedure.name,
        agency_code=agency,
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
    )
    entry = LogEntry(at=submitted, actor=CITIZEN_ACTOR, action="submit", from_status=None, to_status=status,
                     note="Nộp hồ sơ trực tuyến / Submitted online")
    # Tagged before the transaction that attaches them commits: a failure after this leaves
    # objects that no longer expire (a storage leak), never a dossier whose documents S3 deletes.
    uploads.mark_attached(keys)
    dossier = get_store().create_dossier(
        draft, entry,
        make_code=lambda sequence: format_dossier_code(agency, day, sequence),
        counter_key=(agency, f"{day:%y%m%d}"),
    )
    changes.announce(dossier, entry)
    # TODO(issue 7): a failure between the write above and this start leaves a dossier
    # without a route; an outbox (DynamoDB stream) would make the pair atomic.
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


def track_dossier(code: str) -> tuple[Dossier, list[Task]]:
    """The dossier and the tasks open on it (where it is now)."""
    dossier = get_store().get_dossier(code) if is_dossier_code(code) else None
    if dossier is None:
        raise _not_found(code)
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
    note = "Công dân rút hồ sơ / Withdrawn by the applicant"
    if reason:
        note += f": {reason}"
    entry = LogEntry(at=now(), actor=CITIZEN_ACTOR, action="withdraw", from_status=dossier.status,
                     to_status=status, note=note)
    withdrawn = changes.apply(dossier, entry)
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
    keys = _check_uploads(owner, supplement.new_documents)
    at = now()
    asked_at_reception = routing.supplement_requested_at_reception(dossier.code)
    action = "supplement_reception" if asked_at_reception else "supplement_processing"
    status = transition(dossier.status, action, Role.CITIZEN)
    note = "Công dân đã bổ sung hồ sơ / Supplement provided" + (f": {supplement.note}" if supplement.note else "")
    updates: dict[str, Any] = {"form": supplement.form,
                               "documents": (*dossier.documents, *supplement.new_documents)}
    if not asked_at_reception:
        updates["due_at"] = get_calendar().due_at(at, procedure.processing_days)
    # Tagged before the transaction that attaches them commits (see submit_dossier).
    uploads.mark_attached(keys)
    updated = changes.apply(
        dossier, LogEntry(at=at, actor=CITIZEN_ACTOR, action=action, from_status=dossier.status, to_status=status,
                          note=note),
        attach=supplement.new_documents, **updates)
    routing.resume_after_supplement(updated)
    return updated
