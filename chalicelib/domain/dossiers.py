"""Dossiers (hồ sơ): codes, the submission request, and the progress log."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from chalicelib.domain.catalogue import FeeExemption, Procedure, RouteStep
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.forms import FieldError, ValidationFailed, validate_against
from chalicelib.domain.slips import Slip, SlipNumber
from chalicelib.domain.workflow import DossierStatus

# Circular 01/2018/TT-VPCP art. 19: <receiving agency id>-<YYMMDD>-<sequence of the day>.
# ASCII digits only, and the whole string (re's \d and $ would let "２６" or a trailing newline in).
DOSSIER_CODE_PATTERN = re.compile(r"[0-9A-Z.]{1,40}-[0-9]{6}-[0-9]{4,7}")
MAX_SEQUENCE = 9_999_999


def format_dossier_code(agency_code: str, day: date, sequence: int) -> str:
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence numbers run from 1 to {MAX_SEQUENCE}")
    return f"{agency_code}-{day:%y%m%d}-{sequence:04d}"


def is_dossier_code(text: str) -> bool:
    return DOSSIER_CODE_PATTERN.fullmatch(text) is not None


# Who may not set what: everything the server decides about a dossier.
SERVER_OWNED_FIELDS = frozenset(
    {
        "code",
        "status",
        "status_code",
        "owner",
        "fee",
        "fee_vnd",
        "submitted_at",
        "received_at",
        "due_at",
        "updated_at",
        "history",
        "result",
        "agency_code",
        "rated_at",
    }
)

APPLICANT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["full_name", "id_number", "phone", "address"],
    "properties": {
        "full_name": {"type": "string", "title": "Họ và tên", "minLength": 2, "maxLength": 100,
                      "pattern": r"^[^\d<>{}\[\]\\/@#$%^&*=+|~`]+$"},
        # Citizen identity card (CCCD) numbers have 12 digits since 2016; the old
        # 9-digit ID cards expired at the end of 2024.
        "id_number": {"type": "string", "title": "Số định danh cá nhân / CCCD", "pattern": "^[0-9]{12}$",
                      "format": "vn-id-number"},
        # The pattern documents the shape; the format checks it whole (see domain/forms.py).
        "phone": {"type": "string", "title": "Số điện thoại", "pattern": "^(0|\\+84)[35789][0-9]{8}$",
                  "format": "vn-phone"},
        "email": {"type": "string", "title": "Thư điện tử", "format": "email", "maxLength": 254},
        "address": {"type": "string", "title": "Địa chỉ", "minLength": 5, "maxLength": 300},
    },
}

SUBMISSION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["procedure_code", "applicant", "form", "documents"],
    "properties": {
        "procedure_code": {"type": "string", "title": "Mã thủ tục", "minLength": 1, "maxLength": 40},
        "applicant": {"type": "object", "title": "Người nộp hồ sơ"},
        "form": {"type": "object", "title": "Tờ khai"},
        "documents": {
            "type": "array",
            "title": "Thành phần hồ sơ",
            "maxItems": 50,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["document_id", "upload_id"],
                "properties": {
                    "document_id": {"type": "string", "minLength": 1, "maxLength": 64},
                    "upload_id": {"type": "string", "minLength": 1, "maxLength": 64},
                },
            },
        },
        # One of the procedure's fee_exemptions (GET /procedures/{code}); the desk checks the
        # claim against the documents at reception.
        "fee_exemption": {
            "type": "string",
            "title": "Đối tượng miễn phí, lệ phí",
            "minLength": 1,
            "maxLength": 64,
            "pattern": "^[a-z][a-z0-9_]*$",
        },
    },
}


WITHDRAWAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"reason": {"type": "string", "title": "Lý do", "maxLength": 500}},
}


def parse_withdrawal(body: Mapping[str, Any]) -> str | None:
    """The citizen's optional reason for withdrawing."""
    validate_against(WITHDRAWAL_SCHEMA, body, prefix="")
    reason = body.get("reason")
    return str(reason).strip() or None if reason is not None else None


@dataclass(frozen=True)
class DocumentRef:
    document_id: str
    upload_id: str


@dataclass(frozen=True)
class Submission:
    """A citizen's submission, validated against its procedure."""

    procedure_code: str
    applicant: dict[str, str]
    form: dict[str, Any]
    documents: tuple[DocumentRef, ...]
    fee_exemption: FeeExemption | None = None


def refuse_server_owned(body: Mapping[str, Any]) -> None:
    owned = sorted(SERVER_OWNED_FIELDS.intersection(body))
    if owned:
        raise InvalidInput(
            f"Không được gửi trường do hệ thống quản lý / Server-owned field(s) may not be set: {', '.join(owned)}",
            code="server_owned_field",
            field=owned[0],
        )


def parse_submission_envelope(body: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """Checks the request's shape; returns the procedure code so the procedure can be fetched."""
    refuse_server_owned(body)
    validate_against(SUBMISSION_SCHEMA, body, prefix="")
    return str(body["procedure_code"]), body


def validate_submission(procedure: Procedure, body: Mapping[str, Any]) -> Submission:
    if not procedure.accepts_online_submission:
        raise InvalidInput(
            f"Thủ tục {procedure.code} ở mức độ {procedure.level}, không nhận hồ sơ trực tuyến / "
            f"Procedure {procedure.code} is at service level {procedure.level} and does not accept "
            "online submission (level 3 or 4 required)",
            code="online_submission_not_available",
            field="procedure_code",
        )
    errors: list[FieldError] = []
    for schema, value, prefix in (
        (APPLICANT_SCHEMA, body["applicant"], "applicant"),
        (procedure.form_schema, body["form"], "form"),
    ):
        try:
            validate_against(schema, value, prefix=prefix)
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    documents = tuple(DocumentRef(d["document_id"], d["upload_id"]) for d in body["documents"])
    errors.extend(_document_errors(procedure, documents))
    exemption, exemption_errors = _fee_exemption(procedure, body.get("fee_exemption"))
    errors.extend(exemption_errors)
    if errors:
        raise ValidationFailed(errors)
    return Submission(
        procedure_code=procedure.code,
        applicant={key: str(value) for key, value in body["applicant"].items()},
        form=dict(body["form"]),
        documents=documents,
        fee_exemption=exemption,
    )


def _fee_exemption(procedure: Procedure, claimed: Any) -> tuple[FeeExemption | None, list[FieldError]]:
    """The exemption the applicant claims, which must be one the procedure lists."""
    if claimed is None:
        return None, []
    if not procedure.fee_exemptions:
        return None, [FieldError(
            "fee_exemption",
            f"thủ tục {procedure.code} không có đối tượng miễn phí, lệ phí / "
            f"procedure {procedure.code} has no fee exemptions",
        )]
    exemption = procedure.fee_exemption(str(claimed))
    if exemption is None:
        known = ", ".join(e.category for e in procedure.fee_exemptions)
        return None, [FieldError(
            "fee_exemption",
            f"đối tượng miễn phí không hợp lệ '{claimed}' / unknown fee exemption; expected one of: {known}",
        )]
    return exemption, []


def _document_errors(procedure: Procedure, documents: Sequence[DocumentRef]) -> list[FieldError]:
    errors: list[FieldError] = []
    known = {doc.id: doc for doc in procedure.required_documents}
    seen_uploads: set[str] = set()
    for index, ref in enumerate(documents):
        if ref.document_id not in known:
            errors.append(FieldError(
                f"documents[{index}].document_id",
                f"thủ tục không có thành phần '{ref.document_id}' / unknown document",
            ))
        if ref.upload_id in seen_uploads:
            errors.append(FieldError(
                f"documents[{index}].upload_id",
                "tệp đã được dùng cho thành phần khác / upload used twice",
            ))
        seen_uploads.add(ref.upload_id)
    given = {ref.document_id for ref in documents}
    for doc in procedure.required_documents:
        if doc.required and doc.id not in given:
            errors.append(FieldError(
                f"documents.{doc.id}", f"thiếu thành phần bắt buộc: {doc.name} / required document missing",
            ))
    return errors


def log_note(label: str, detail: str | None = None) -> str:
    """A progress-log note: its bilingual ``label`` ("Vietnamese / English") with what a person
    wrote (a reason, a note) after each half, so that either language shown alone keeps it:
    "Từ chối tiếp nhận: <reason> / Refused at reception: <reason>"."""
    if not detail:
        return label
    vietnamese, separator, english = label.partition(" / ")
    if not separator:
        return f"{label}: {detail}"
    return f"{vietnamese}: {detail} / {english}: {detail}"


@dataclass(frozen=True)
class LogEntry:
    """One line of the progress log (slip 05): who, when, from/to status, note."""

    at: datetime
    actor: str
    action: str
    from_status: DossierStatus | None
    to_status: DossierStatus
    note: str = ""


@dataclass(frozen=True)
class Rating:
    """The applicant's rating of how their dossier was handled (one per dossier)."""

    score: int  # 1 very dissatisfied .. 5 very satisfied
    comment: str
    rated_at: datetime


@dataclass(frozen=True)
class ResultDocument:
    """The result document an agency uploaded (to the uploads bucket, under results/<code>/)."""

    upload_id: str
    s3_key: str
    filename: str
    content_type: str


@dataclass(frozen=True)
class OpenStepTask:
    """A task open on the dossier now: where the dossier is, as public tracking shows it. Kept on
    the dossier's own record (written with the tasks it follows) so that tracking is one read."""

    task_id: str
    step_index: int
    kind: str
    agency_code: str
    due_at: datetime


@dataclass(frozen=True)
class Dossier:
    code: str
    procedure_code: str
    procedure_name: str
    agency_code: str
    owner: str
    applicant: dict[str, str]
    form: dict[str, Any]
    documents: tuple[DocumentRef, ...]
    status: DossierStatus
    submitted_at: datetime
    due_at: datetime
    updated_at: datetime
    fee_vnd: int
    fee_status: str  # "not_required" | "unpaid" | "paid" | "exempt"
    received_at: datetime | None = None
    overdue: bool = False  # a step missed its deadline (Decree 61/2018 art. 19: apology, new date)
    version: int = 1
    history: tuple[LogEntry, ...] = field(default=())
    slips: tuple[Slip, ...] = field(default=())
    result: ResultDocument | None = None  # the last step's result document, recorded with its approval
    # The exemption the applicant claimed, as the catalogue said when the dossier was submitted.
    fee_exemption: FeeExemption | None = None
    rating: Rating | None = None
    # The tasks open on it; None for a dossier stored before this was recorded (then read the tasks).
    open_tasks: tuple[OpenStepTask, ...] | None = ()
    # The route as the catalogue said when the dossier was submitted: its execution walks those
    # steps, whatever the catalogue says since. None for a dossier stored before it was kept
    # (then the catalogue's current route), and for reads of the record alone.
    route: tuple[RouteStep, ...] | None = None
    # The processing time it was promised then (working days): the appointment counts with it.
    processing_days: float | None = None

    def days_to_process(self, procedure: Procedure) -> float:
        """The working days its appointment counts: as promised at submission, or (a dossier stored
        before that was kept) as the procedure says now."""
        return self.processing_days if self.processing_days is not None else procedure.processing_days

    def has_slip(self, number: SlipNumber) -> bool:
        return any(slip.number is number for slip in self.slips)

    @property
    def result_available(self) -> bool:
        """Whether the owner may download the result document now (done or returned)."""
        return self.result is not None and self.status in (DossierStatus.DONE, DossierStatus.RESULT_RETURNED)


SUPPLEMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "form": {"type": "object", "title": "Tờ khai (các trường sửa đổi)"},
        "documents": SUBMISSION_SCHEMA["properties"]["documents"],
        "note": {"type": "string", "title": "Ghi chú", "maxLength": 1000},
    },
}


@dataclass(frozen=True)
class Supplement:
    """A citizen's answer to a supplement request: the whole form after the changes, and
    the documents added."""

    form: dict[str, Any]
    new_documents: tuple[DocumentRef, ...]
    note: str


def validate_supplement(procedure: Procedure, dossier: Dossier, body: Mapping[str, Any]) -> Supplement:
    refuse_server_owned(body)
    validate_against(SUPPLEMENT_SCHEMA, body, prefix="")
    form = {**dossier.form, **body.get("form", {})}
    errors: list[FieldError] = []
    try:
        validate_against(procedure.form_schema, form, prefix="form")
    except ValidationFailed as failed:
        errors.extend(failed.errors)
    new_documents = tuple(DocumentRef(d["document_id"], d["upload_id"]) for d in body.get("documents", []))
    known = {doc.id for doc in procedure.required_documents}
    already = {ref.upload_id for ref in dossier.documents}
    for index, ref in enumerate(new_documents):
        if ref.document_id not in known:
            errors.append(FieldError(f"documents[{index}].document_id",
                                     f"thủ tục không có thành phần '{ref.document_id}' / unknown document"))
        if ref.upload_id in already:
            errors.append(FieldError(f"documents[{index}].upload_id",
                                     "tệp đã có trong hồ sơ / upload already in the dossier"))
        already.add(ref.upload_id)
    if errors:
        raise ValidationFailed(errors)
    return Supplement(form=form, new_documents=new_documents, note=str(body.get("note", "")).strip())


# A dossier is rated once it has been decided: received and processed to a result or a
# refusal, or refused at the desk. A withdrawn dossier was the applicant's own choice.
RATEABLE_STATUSES = frozenset({DossierStatus.NOT_RECEIVED, DossierStatus.STOPPED, DossierStatus.DONE,
                               DossierStatus.RESULT_RETURNED})

RATING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["score"],
    "properties": {
        "score": {"type": "integer", "minimum": 1, "maximum": 5, "title": "Mức độ hài lòng"},
        "comment": {"type": "string", "maxLength": 1000, "title": "Góp ý"},
    },
}


def parse_rating(dossier: Dossier, body: Mapping[str, Any], at: datetime) -> Rating:
    """The applicant's rating, if the dossier may be rated now."""
    refuse_server_owned(body)
    validate_against(RATING_SCHEMA, body, prefix="")
    if dossier.rating is not None:
        raise Conflict("Hồ sơ đã được đánh giá / This dossier has already been rated", code="already_rated")
    if dossier.status not in RATEABLE_STATUSES:
        raise Conflict(
            f"Chỉ đánh giá được hồ sơ đã giải quyết (đang: {dossier.status.label_vi}) / "
            f"Only a decided dossier can be rated (it is {dossier.status.label_en})",
            code="not_rateable",
        )
    return Rating(score=int(body["score"]), comment=str(body.get("comment", "")).strip(), rated_at=at)
