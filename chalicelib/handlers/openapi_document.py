"""The OpenAPI 3.1 document of the public contract v1, served at ``GET /openapi.json``.

Built once (per page-size setting) and cached. Request schemas are the domain's
own dicts (``SUBMISSION_SCHEMA``, ``APPLICANT_SCHEMA``, ``WITHDRAWAL_SCHEMA``,
``SUPPLEMENT_SCHEMA``, ``UPLOAD_REQUEST_SCHEMA``, ``DECISION_SCHEMA``, ``RATING_SCHEMA``), so what is
documented is what is validated (also ``AGENCY_UPLOAD_REQUEST_SCHEMA`` and
``PAYMENT_REQUEST_SCHEMA``); response schemas follow ``presenters.py`` field by field
(``tests/integration/test_openapi.py`` checks real responses against them, and a
fuzzing suite runs against the document).
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any, get_args

from chalicelib.config import Settings, SettingsError, get_settings
from chalicelib.domain.dossiers import (
    APPLICANT_SCHEMA,
    RATING_SCHEMA,
    SUBMISSION_SCHEMA,
    SUPPLEMENT_SCHEMA,
    WITHDRAWAL_SCHEMA,
)
from chalicelib.domain.payments import PAYMENT_REQUEST_SCHEMA
from chalicelib.domain.slips import SlipNumber
from chalicelib.domain.stats import LEVELS
from chalicelib.domain.tasks import DECISION_SCHEMA, DECISIONS, TaskKind, TaskRole, TaskStatus
from chalicelib.domain.uploads import AGENCY_UPLOAD_REQUEST_SCHEMA, UPLOAD_REQUEST_SCHEMA
from chalicelib.domain.workflow import ACTIONS, LOG_ONLY_ACTIONS, DossierStatus

OPENAPI_VERSION = "3.1.0"
TITLE = "motcua — Dịch vụ công trực tuyến / Online public services"
CITIZEN_SECURITY: list[dict[str, list[str]]] = [{"citizenToken": []}]
AGENCY_SECURITY: list[dict[str, list[str]]] = [{"agencyApiKey": []}]
# Either credential: a citizen reads their own dossier, an agency on its route reads it too;
# either asks for an upload ticket (a citizen's attachment, an agency's result document).
CITIZEN_OR_AGENCY_SECURITY: list[dict[str, list[str]]] = [{"citizenToken": []}, {"agencyApiKey": []}]
JSON = "application/json"


def document() -> dict[str, Any]:
    """The OpenAPI document (a fresh copy: callers may change it freely)."""
    return copy.deepcopy(_document(_page_size_max()))


def _page_size_max() -> int:
    try:
        return get_settings().page_size_max
    except SettingsError:  # no deployment settings (e.g. a script): the default limit
        return Settings.page_size_max


# --------------------------------------------------------------------------- helpers


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _schema(name: str) -> dict[str, str]:
    return _ref("schemas", name)


def _json_content(schema: dict[str, Any], example: dict[str, Any] | None = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {JSON: media}


def _ok(description: str, schema_name: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": _json_content(_schema(schema_name))}
    if headers:
        response["headers"] = headers
    return response


def _errors(*statuses: int, names: dict[int, str] | None = None) -> dict[str, dict[str, str]]:
    names = names or _ERROR_RESPONSE_NAMES
    return {str(status): _ref("responses", names[status]) for status in statuses}


def _agency_errors(*statuses: int) -> dict[str, dict[str, str]]:
    """The agency API's errors: its own 401 (API key), 404 (tasks) and 409 (closed tasks)."""
    return _errors(*statuses, names=_AGENCY_ERROR_RESPONSE_NAMES)


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    """A closed object: every property required unless listed as optional."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name in properties if name not in optional],
        "properties": properties,
        **extra,
    }


_STRING: dict[str, Any] = {"type": "string"}
_NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
_DATE_TIME: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
    "description": "Giờ Việt Nam, có múi giờ / Vietnam time with its offset, e.g. 2026-11-26T09:00:00+07:00",
}
_NULLABLE_DATE_TIME: dict[str, Any] = {**_DATE_TIME, "type": ["string", "null"]}
_STATUS_SLUGS = [status.slug for status in DossierStatus]
_STATUS_CODES = [int(status) for status in DossierStatus]
# Lines of the progress log that record an event without moving the dossier (the status
# stays): the apology for a first missed deadline (slip 04) and the escalation of a later one
# (services/routing.py). Every other line is a workflow action.
_LOG_ONLY_ACTIONS = tuple(sorted(LOG_ONLY_ACTIONS))
HISTORY_ACTIONS = sorted({*ACTIONS, *_LOG_ONLY_ACTIONS})
# What each slip's details hold (domain/slips.py); keys ending in _at are date-times.
_SLIP_DETAILS: dict[SlipNumber, dict[str, dict[str, Any]]] = {
    SlipNumber.RECEIPT: {"appointment_at": {"description": "Ngày hẹn trả kết quả / the appointment"}},
    SlipNumber.SUPPLEMENT_REQUEST: {"missing": {"description": "Những gì cần bổ sung, một lần / everything "
                                                               "missing, listed at once"}},
    SlipNumber.REFUSAL: {"reason": {"description": "Lý do từ chối / why the dossier is refused"}},
    SlipNumber.APOLOGY: {"previous_due_at": {"description": "Ngày hẹn cũ / the date promised before"},
                         "new_due_at": {"description": "Ngày hẹn mới / the new return date"}},
    SlipNumber.PROCESSING_CONTROL: {},
}

# What POST /webhooks/stripe says it did with an event (services/payments.py).
STRIPE_WEBHOOK_OUTCOMES = ["recorded", "duplicate", "ignored", "failed_payment", "amount_mismatch", "refunded"]

_ERROR_RESPONSE_NAMES = {
    400: "MalformedRequest",
    401: "Unauthenticated",
    404: "NotFound",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "InvalidInput",
    429: "TooManyRequests",
    503: "ServiceUnavailable",
}
_AGENCY_ERROR_RESPONSE_NAMES = {
    **_ERROR_RESPONSE_NAMES,
    401: "InvalidApiKey",
    404: "TaskNotFound",
    409: "TaskConflict",
}


# Web forms send their empty fields (GET /procedures?level=&tier=&agency=&q=&cursor=): every query
# parameter read empty is the parameter left out (http.int_param, the handlers' ``or None``).
_EMPTY_QUERY_VALUE = "Để trống như không gửi / an empty value is the same as leaving the parameter out"


def _error_response(description: str, codes: list[str], example: dict[str, Any],
                    headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": f"{description}. Mã lỗi / error codes: {', '.join(codes)}.",
        "content": {JSON: {"schema": _schema("Error"), "example": {"error": example}}},
    }
    if headers:
        response["headers"] = headers
    return response


def _slip_schema_name(number: SlipNumber) -> str:
    return f"Slip{int(number):02d}"


def _slip_schema(number: SlipNumber, details: dict[str, dict[str, Any]]) -> dict[str, Any]:
    detail_properties = {name: {**(_DATE_TIME if name.endswith("_at") else _STRING), **extra}
                         for name, extra in details.items()}
    return _object(
        {
            "number": {"type": "string", "const": f"{int(number):02d}",
                       "description": f"{number.form_number} (Thông tư 01/2018/TT-VPCP)"},
            "title": _object({"vi": {"type": "string", "const": number.title_vi},
                              "en": {"type": "string", "const": number.title_en}}),
            "issued_at": _DATE_TIME,
            "issued_by": {"type": "string", "description": "Mã cơ quan lập phiếu / the issuing agency's code"},
            "details": _object(detail_properties),
        },
        description=f"{number.title_vi} / {number.title_en}",
    )


# --------------------------------------------------------------------------- the document


@lru_cache(maxsize=4)
def _statistics_schema() -> dict[str, Any]:
    count: dict[str, Any] = {"type": "integer", "minimum": 0}
    rate: dict[str, Any] = {"type": ["number", "null"], "minimum": 0, "maximum": 1,
                            "description": "0..1; null when nothing to count"}
    levels = _object({level: count for level in LEVELS})
    procedures = {"total": count, "online": count, "interagency": count, "by_level": levels}
    shown = {"received": count, "done": count, "on_time": count, "late": count, "overdue": count}
    return _object({
        "province": _object({"code": _STRING, "name": _STRING}),
        "generated_at": _DATE_TIME,
        "month": {"type": ["string", "null"]},
        "procedures": _object({**procedures, "by_tier": {
            "type": "object", "additionalProperties": _object(procedures),
            "description": "theo cấp (tỉnh, xã) / per tier"}}),
        "dossiers": _object({
            "submitted": count, **shown, "not_received": count, "approved": count, "rejected": count,
            "in_progress": count, "on_time_rate": rate, "online_rate": rate, "online_payment_rate": rate,
            "electronic_result_rate": rate,
            "satisfaction": _object({"ratings": count, "average": {"type": ["number", "null"]},
                                     "satisfied_rate": rate}),
            "by_tier": {"type": "object", "additionalProperties": _object({**shown, "on_time_rate": rate}),
                        "description": "hồ sơ theo cấp của cơ quan tiếp nhận / per tier of the receiving agency"},
        }),
        "months": {"type": "array", "items": _object({"month": _STRING, **shown})},
        "agencies": {"type": "array", "items": _object({
            "agency_code": _STRING, "name": _STRING, "tier": _NULLABLE_STRING,
            "procedures": _object({"total": count, "by_level": levels}), **shown, "on_time_rate": rate},
            description="mỗi cơ quan tiếp nhận thủ tục, kể cả chưa có hồ sơ / every agency that receives "
                        "procedures, with none yet too, and any other with dossiers")},
    }, description=(
        "Bộ đếm cập nhật cùng mỗi thay đổi hồ sơ, không quét dữ liệu / counters kept with every dossier change. "
        "on_time_rate = on_time / done (supplement pauses deducted: the deadline restarts after a supplement); "
        "online_payment_rate = paid online / fees asked; electronic_result_rate = electronic results / approvals."))


def _document(page_size_max: int) -> dict[str, Any]:
    applicant_schema = copy.deepcopy(APPLICANT_SCHEMA)
    submission_schema = copy.deepcopy(SUBMISSION_SCHEMA)
    submission_schema["properties"]["applicant"] = {
        **submission_schema["properties"]["applicant"],
        **_schema("Applicant"),
    }
    submission_schema["properties"]["form"]["description"] = (
        "Tờ khai theo form_schema của thủ tục (GET /procedures/{code}) / "
        "The form, validated against the procedure's form_schema (GET /procedures/{code})"
    )
    submission_schema["description"] = (
        "Hồ sơ nộp trực tuyến (thủ tục mức độ 3, 4) / An online submission (level 3 or 4 procedures). "
        "Fields the server owns (code, status, owner, fee, dates, history, result, agency_code) are refused."
    )
    size_description = (
        "Dung lượng chính xác của tệp, tính bằng byte / The file's exact size in bytes; "
        "the presigned POST only accepts that size, and a size above the upload limit is refused (422)"
    )
    upload_schema = copy.deepcopy(UPLOAD_REQUEST_SCHEMA)
    upload_schema["properties"]["size"]["description"] = size_description
    upload_schema["description"] = (
        "Tệp đính kèm của công dân (token công dân) / a citizen's attachment (citizen token); "
        "dossier_code is refused (422 validation_failed)"
    )
    agency_upload_schema = copy.deepcopy(AGENCY_UPLOAD_REQUEST_SCHEMA)
    agency_upload_schema["properties"]["size"]["description"] = size_description
    agency_upload_schema["properties"]["dossier_code"]["description"] = (
        "Hồ sơ mà cơ quan đang có nhiệm vụ mở / a dossier the agency has an open task on "
        "(404 dossier_not_found otherwise)"
    )
    agency_upload_schema["description"] = (
        "Tệp kết quả của cơ quan (khóa API) / an agency's result document (API key), for the dossier it "
        "names; the key lies under results/<dossier code>/. Then approve the last step with it "
        "(result_upload_id). All four fields are required (422 validation_failed)"
    )
    payment_schema = copy.deepcopy(PAYMENT_REQUEST_SCHEMA)
    payment_schema["description"] = (
        "Không bắt buộc / optional: the payment provider (only stripe, the default); unknown fields are "
        "refused (422 validation_failed)"
    )
    withdrawal_schema = copy.deepcopy(WITHDRAWAL_SCHEMA)
    decision_schema = copy.deepcopy(DECISION_SCHEMA)
    decision_schema["description"] = (
        "Quyết định của cơ quan về nhiệm vụ / the agency's decision on its task. What applies depends on "
        "the task's step (kind, role): "
        + "; ".join(f"{kind} {role}: {', '.join(sorted(allowed))}" for (kind, role), allowed in DECISIONS.items())
        + "; a fee wait (payment) takes none (409 decision_not_allowed), any other misfit is refused "
        "(422 decision_not_allowed). refuse, reject and request_supplement need a note (the reason, "
        "422 validation_failed without one). A step's lead agency decides after its parallel agencies "
        "(409 parallel_agencies_pending before they have all answered). result_upload_id (optional) is the "
        "result document, uploaded beforehand with POST /uploads (agency key, dossier_code): only the last "
        "processing step's approve takes one (422 validation_failed otherwise), and it must be this agency's "
        "upload for this dossier, sent to S3 with its declared size and not used before (422 invalid_result "
        "otherwise); an approval without one leaves the result on paper. Unknown fields are refused "
        "(422 validation_failed)."
    )
    supplement_schema = copy.deepcopy(SUPPLEMENT_SCHEMA)
    supplement_schema["description"] = (
        "Bổ sung hồ sơ theo phiếu yêu cầu bổ sung (mẫu 02) / the citizen's answer to a supplement request "
        "(slip 02): the form fields that change (merged into the form, which must then fit the procedure's "
        "form_schema), documents to add (uploads of the citizen, not yet attached), a note; at least one "
        "of them. Only a dossier waiting for a supplement (status 5) takes one (409 invalid_status "
        "otherwise); the step that asked starts again (a processing step with a new deadline). Fields "
        "the server owns are refused (422 server_owned_field)."
    )
    decision_names: list[str] = list(DECISION_SCHEMA["properties"]["decision"]["enum"])

    status_label = _object({"vi": _STRING, "en": _STRING})
    status_properties: dict[str, Any] = {
        "status": {"type": "string", "enum": _STATUS_SLUGS},
        "status_code": {
            "type": "integer",
            "enum": _STATUS_CODES,
            "description": "Trạng thái đồng bộ Cổng DVC quốc gia / national portal status: "
            + "; ".join(f"{int(s)} {s.label_vi} ({s.label_en})" for s in DossierStatus),
        },
        "status_label": _schema("StatusLabel"),
    }
    receipt_properties: dict[str, Any] = {
        "code": {"type": "string", "examples": ["000.00.21.H38-261126-0001"]},
        **status_properties,
        "submitted_at": _DATE_TIME,
        "due_at": _DATE_TIME,
    }
    overdue = {"type": "boolean",
               "description": "Quá hạn / a step missed its deadline at least once (then slip 04 was issued)"}
    summary_properties: dict[str, Any] = {
        **receipt_properties,
        "procedure_code": _STRING,
        "procedure_name": _STRING,
        "updated_at": _DATE_TIME,
        "overdue": overdue,
    }
    procedure_summary_properties: dict[str, Any] = {
        "code": {"type": "string", "examples": ["1.001193"]},
        "name": _STRING,
        "name_en": _STRING,
        "field": {"type": "string", "description": "Lĩnh vực / field, e.g. Hộ tịch"},
        "level": {"type": "integer", "enum": [1, 2, 3, 4],
                  "description": "Mức độ dịch vụ công (Nghị định 43/2011) / service level"},
        "tier": _STRING,
        "agency_code": {"type": "string", "description": "Cơ quan tiếp nhận / receiving agency"},
        "fee_vnd": {"type": "integer", "minimum": 0},
        "processing_days": {"type": "number", "exclusiveMinimum": 0,
                            "description": "Ngày làm việc / working days"},
        "interagency": {"type": "boolean", "description": "Liên thông / more than one agency on the route"},
        "online_submission": {"type": "boolean", "description": "Nộp trực tuyến (mức 3, 4) / level 3 or 4"},
    }
    agency_step = {"agency_code": _STRING, "name": _STRING, "days": {"type": "number", "exclusiveMinimum": 0}}

    schemas: dict[str, Any] = {
        "Error": _object(
            {
                "error": _object(
                    {
                        "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$",
                                 "description": "Mã lỗi ổn định, snake_case / stable snake_case code"},
                        "message": {"type": "string", "minLength": 1,
                                    "description": "Tiếng Việt / English"},
                        "details": {"type": "array", "items": _schema("FieldError")},
                    },
                    optional=("details",),
                )
            },
            description="Mọi lỗi 4xx, và 503 / every 4xx answer, and the 503 of the routes that need "
                        "Stripe or S3",
        ),
        "FieldError": _object({
            "field": {"type": "string", "examples": ["applicant.id_number", "documents[0].upload_id"]},
            "message": {"type": "string", "minLength": 1},
        }),
        "Applicant": applicant_schema,
        "SubmissionRequest": submission_schema,
        "UploadRequest": upload_schema,
        "AgencyUploadRequest": agency_upload_schema,
        "PaymentRequest": payment_schema,
        "WithdrawalRequest": withdrawal_schema,
        "SupplementRequest": supplement_schema,
        "Config": _object(
            {
                "province": _object({"code": _STRING, "name": _STRING}),
                "cognito": _object(
                    {"region": _STRING, "user_pool_id": _STRING, "client_id": _STRING,
                     "endpoint": {"type": "string", "description": "Local stack only (moto's Cognito)"},
                     "password_policy": _object({
                         "min_length": {"type": "integer", "minimum": 6},
                         "require_lowercase": {"type": "boolean"}, "require_uppercase": {"type": "boolean"},
                         "require_numbers": {"type": "boolean"}, "require_symbols": {"type": "boolean"},
                     }, description="Quy tắc mật khẩu của Cognito / the pool's password rules; absent when "
                                    "Cognito cannot be asked")},
                    optional=("endpoint", "password_policy"),
                ),
                "stripe": _object(
                    {"publishable_key": _STRING,
                     "api_base": {"type": "string", "description": "Local stack only (localstripe)"},
                     "js_url": _STRING},
                    optional=("api_base", "js_url"),
                ),
            },
            description="Cấu hình cho giao diện web / what the web front needs",
        ),
        "ProcedureSummary": _object(procedure_summary_properties),
        "ProcedurePage": _object({
            "items": {"type": "array", "items": _schema("ProcedureSummary")},
            "next_cursor": {**_NULLABLE_STRING, "description": "null on the last page"},
        }),
        "ProcedureDetail": _object({
            **procedure_summary_properties,
            "agency_name": _STRING,
            "form_schema": {"type": "object",
                            "description": "JSON Schema (draft 2020-12) of the procedure's form"},
            "required_documents": {"type": "array", "items": _object(
                {"id": _STRING, "name": _STRING, "required": {"type": "boolean"}})},
            "templates": {
                "type": "array",
                "description": "Mẫu đơn, tờ khai (mức độ 2 trở lên) / forms to download (level 2 and up); "
                               "short-lived presigned URLs, valid until expires_at (ask again for fresh ones)",
                "items": _object({"name": _STRING, "url": {"type": "string", "format": "uri"},
                                  "expires_at": {"type": "string", "format": "date-time"}}),
            },
            "route": {"type": "array", "items": _object({
                "kind": {"type": "string", "enum": ["reception", "payment", "processing"],
                         "description": "payment: where a level-4 fee waits (status 6); its days are the "
                                        "citizen's time to pay"},
                **agency_step,
                "parallel": {"type": "array", "items": _object(agency_step)},
            })},
            "legal_basis": {"type": "array", "items": _STRING},
            "source_titles": {"type": "object", "additionalProperties": _STRING,
                              "description": "Tên văn bản pháp lý được dẫn / the title of every legal text cited "
                                             "(legal_basis, fee exemptions), by source id"},
            "fee_exemptions": {
                "type": "array",
                "description": "Đối tượng được miễn phí, lệ phí / who pays no fee, and the legal text that says so; "
                               "claimed with fee_exemption on submission",
                "items": _object({"category": _STRING, "name": _STRING, "legal_basis": _STRING}),
            },
        }),
        "UploadTicket": _object(
            {
                "upload_id": _STRING,
                "url": {"type": "string", "format": "uri"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "Form fields to POST with the file (multipart/form-data) to url"},
                "expires_at": _DATE_TIME,
            },
            description="Presigned S3 POST; its policy pins the key, content type and exact size",
        ),
        "StatusLabel": status_label,
        "DossierReceipt": _object(receipt_properties),
        "DossierSummary": _object(summary_properties),
        "DossierPage": _object({
            "items": {"type": "array", "items": _schema("DossierSummary")},
            "next_cursor": {**_NULLABLE_STRING, "description": "null on the last page"},
        }),
        "HistoryEntry": _object(
            {
                "at": _DATE_TIME,
                "action": {"type": "string", "enum": HISTORY_ACTIONS,
                           "description": "Hành động / what happened: a workflow action, or apologise "
                                          "(slip 04, a first missed deadline) or escalate (a later one), "
                                          "which leave the status as it was"},
                "status": {"type": "string", "enum": _STATUS_SLUGS},
                "status_code": {"type": "integer", "enum": _STATUS_CODES},
                "from_status_code": {"type": ["integer", "null"], "enum": [*_STATUS_CODES, None]},
                "actor": _STRING,
                "note": _STRING,
            },
            description="Một dòng phiếu kiểm soát quá trình (mẫu 05) / one line of the progress log",
        ),
        "DossierDetail": _object({
            **summary_properties,
            "agency_code": _STRING,
            "received_at": _NULLABLE_DATE_TIME,
            "fee": _object({
                "amount_vnd": {"type": "integer", "minimum": 0},
                "status": {"type": "string", "enum": ["not_required", "unpaid", "paid", "exempt"]},
                "exemption": {"oneOf": [_object({"category": _STRING, "name": _STRING}), {"type": "null"}],
                              "description": "the exemption claimed at submission, if any"},
            }),
            "applicant": _object(
                {name: _STRING for name in APPLICANT_SCHEMA["properties"]},
                optional=tuple(name for name in APPLICANT_SCHEMA["properties"]
                               if name not in APPLICANT_SCHEMA["required"]),
            ),
            "form": {"type": "object"},
            "documents": {"type": "array", "items": _object({"document_id": _STRING, "upload_id": _STRING})},
            "history": {"type": "array", "items": _schema("HistoryEntry")},
            "slips": {"type": "array", "items": _schema("Slip"),
                      "description": "Các phiếu đã lập (Thông tư 01/2018/TT-VPCP) / the slips issued so far, "
                                     "by slip number, then by issue time"},
            "rating": {"oneOf": [_schema("Rating"), {"type": "null"}],
                       "description": "Đánh giá của người nộp / the applicant's rating, once decided"},
            "result": {
                "oneOf": [_schema("DossierResult"), {"type": "null"}],
                "description": "Tệp kết quả trả trực tuyến / the result document returned online; null when "
                               "there is none (not yet decided, or a result on paper)",
            },
        }),
        "AgencyList": _object({"items": {"type": "array", "items": _object({
            "code": {"type": "string", "description": "Mã định danh điện tử (Quyết định 20/2020/QĐ-TTg) / "
                                                      "electronic identifier"},
            "name": _STRING, "name_en": _STRING, "tier": _STRING,
            "parent_code": {**_NULLABLE_STRING, "description": "cơ quan cấp trên / supervising agency"},
            "procedures": {"type": "integer", "minimum": 0,
                           "description": "số thủ tục cơ quan tiếp nhận / procedures it receives"},
        })}}),
        "Rating": _object({
            "score": {"type": "integer", "minimum": 1, "maximum": 5,
                      "description": "1 rất không hài lòng … 5 rất hài lòng / 1 very dissatisfied … 5 very satisfied"},
            "comment": _STRING,
            "rated_at": _DATE_TIME,
        }),
        "RatingRequest": copy.deepcopy(RATING_SCHEMA),
        "Statistics": _statistics_schema(),
        "DossierResult": _object(
            {
                "filename": {"type": "string", "description": "Tên tệp cơ quan đã tải lên / as uploaded"},
                "content_type": _STRING,
                "available": {"type": "boolean",
                              "description": "Tải được ngay (trạng thái 9 hoặc 10) / downloadable now with "
                                             "GET /dossiers/{code}/result (status 9 or 10)"},
            },
            description="Kết quả, không có nơi lưu / what the result is, never where it is stored",
        ),
        "ResultLink": _object(
            {
                "url": {"type": "string", "format": "uri",
                        "description": "Presigned S3 GET, an attachment named after the file"},
                "expires_at": {**_DATE_TIME, "description": f"{_DATE_TIME['description']}; 15 minutes at most"},
            },
            description="Liên kết tải kết quả, ngắn hạn / a short-lived download link for the result; the "
                        "first download records the result as returned (status 10), each one is audited",
        ),
        "DocumentLink": _object(
            {
                "document_id": {"type": "string", "description": "Thành phần hồ sơ / the required document"},
                "upload_id": {"type": "string"},
                "filename": {"type": "string"},
                "content_type": {"type": "string"},
                "size": {"type": "integer", "minimum": 0},
                "url": {"type": "string", "format": "uri",
                        "description": "Presigned S3 GET, an attachment named after the file"},
                "expires_at": {**_DATE_TIME, "description": f"{_DATE_TIME['description']}; 15 minutes at most"},
            },
            description="Liên kết tải tài liệu đính kèm, ngắn hạn / a short-lived download link for a document",
        ),
        "PaymentIntent": _object(
            {
                "provider": {"type": "string", "const": "stripe"},
                "payment_intent_id": {"type": "string", "examples": ["pi_3PqX2b2eZvKYlo2C1abcdEFG"]},
                "client_secret": {"type": "string",
                                  "description": "Cho Stripe.js (confirmCardPayment) / for Stripe.js in the "
                                                 "citizen's browser"},
                "amount_vnd": {"type": "integer", "minimum": 1,
                               "description": "Lệ phí, đồng / the fee in whole đồng (VND is zero-decimal)"},
            },
            description="PaymentIntent của Stripe cho lệ phí hồ sơ / the Stripe PaymentIntent the fee is paid "
                        "with: created on the first call, the same one afterwards while it can be paid",
        ),
        "StripeEvent": {
            "type": "object",
            "required": ["id", "type"],
            "properties": {"id": _STRING, "type": _STRING, "data": {"type": "object"}},
            "description": "Sự kiện Stripe, nguyên văn / a Stripe event, as Stripe sends it; only "
                           "payment_intent.succeeded and payment_intent.payment_failed are acted upon, the "
                           "intent being read back from Stripe",
        },
        "StripeWebhookReceipt": _object(
            {
                "received": {"type": "boolean", "const": True},
                "outcome": {"type": "string", "enum": STRIPE_WEBHOOK_OUTCOMES,
                            "description": "recorded: the fee is paid, the route goes on; duplicate: already "
                                           "handled; ignored: not an event or intent of ours; failed_payment: "
                                           "the dossier keeps waiting; amount_mismatch: not the fee, not "
                                           "recorded; refunded: paid after the dossier ended, refunded"},
            },
            description="Đã nhận sự kiện / the event is acknowledged (Stripe does not deliver it again)",
        ),
        "Slip": {
            "oneOf": [_schema(_slip_schema_name(number)) for number in SlipNumber],
            "discriminator": {"propertyName": "number",
                              "mapping": {f"{int(number):02d}": f"#/components/schemas/{_slip_schema_name(number)}"
                                          for number in SlipNumber}},
            "description": "Một phiếu theo Thông tư 01/2018/TT-VPCP điều 9 / a slip of Circular 01/2018: 01 "
                           "receipt and appointment, 02 supplement request, 03 refusal, 04 apology and new "
                           "return date (once per dossier), 05 processing control",
        },
        **{_slip_schema_name(number): _slip_schema(number, details) for number, details in _SLIP_DETAILS.items()},
        "DecisionRequest": decision_schema,
        "AgencyTask": _object(
            {
                "task_id": {"type": "string", "examples": ["5d41402abc4b2a76b971L0"]},
                "dossier_code": {"type": "string", "examples": ["000.00.21.H38-261126-0001"]},
                "procedure_code": _STRING,
                "step": _object({
                    "index": {"type": "integer", "minimum": 0,
                              "description": "Vị trí bước trên quy trình / the step's position on the route"},
                    "kind": {"type": "string", "enum": list(get_args(TaskKind))},
                    "role": {"type": "string", "enum": list(get_args(TaskRole)),
                             "description": "lead: cơ quan chủ trì / the step's lead agency; helper: cơ quan "
                                            "phối hợp / a parallel agency (the lead decides after them)"},
                    "last": {"type": "boolean",
                             "description": "Bước xử lý cuối / the last processing step: its approval ends "
                                            "processing (status 9)"},
                }),
                "status": {"type": "string", "enum": list(get_args(TaskStatus))},
                "opened_at": _DATE_TIME,
                "due_at": {**_DATE_TIME, "description": f"{_DATE_TIME['description']}; moved on when overdue"},
                "overdue_count": {"type": "integer", "minimum": 0,
                                  "description": "Số lần quá hạn / how many deadlines the task missed"},
                "decision": {"type": ["string", "null"], "enum": [*decision_names, None],
                             "description": "null until decided"},
                "note": {"type": "string", "description": "Ghi chú của quyết định / the decision's note, "
                                                          "empty if none"},
                "decided_at": {**_NULLABLE_DATE_TIME,
                               "description": "Lúc quyết định hoặc hủy / when decided or cancelled; null while "
                                              "open"},
                "dossier": _schema("DossierDetail"),
            },
            description="Nhiệm vụ của cơ quan trên quy trình liên thông / an agency's task on a dossier's "
                        "route, with the dossier",
        ),
        "AgencyTaskPage": _object({
            "items": {"type": "array", "items": _schema("AgencyTask")},
            "next_cursor": {**_NULLABLE_STRING, "description": "null on the last page"},
        }),
        "Heartbeat": _object(
            {
                "task_id": _STRING,
                "status": {"type": "string", "const": "open",
                           "description": "Only an open task takes a heartbeat (409 task_closed otherwise)"},
            },
            description="Nhiệm vụ vẫn đang xử lý / the task is still being worked on",
        ),
        "DossierTracking": _object(
            {
                "code": _STRING,
                "procedure_code": _STRING,
                "procedure_name": _STRING,
                **status_properties,
                "submitted_at": _DATE_TIME,
                "due_at": _DATE_TIME,
                "updated_at": _DATE_TIME,
                "overdue": overdue,
                "current_step": {
                    "oneOf": [_schema("CurrentStep"), {"type": "null"}],
                    "description": "Bước đang xử lý / the step the dossier is at; null when no agency has it "
                                   "(not yet routed, waiting for the citizen, or closed)",
                },
            },
            description="Tra cứu công khai, không có dữ liệu cá nhân / public tracking, no personal data",
        ),
        "CurrentStep": _object(
            {
                "index": {"type": "integer", "minimum": 0,
                          "description": "Vị trí bước trên quy trình / the step's position on the route"},
                "kind": {"type": "string", "enum": list(get_args(TaskKind))},
                "agency_codes": {"type": "array", "items": _STRING, "minItems": 1, "uniqueItems": True,
                                 "description": "Các cơ quan đang xử lý bước, theo mã / the agencies at work "
                                                "on the step (lead and parallel), sorted"},
                "due_at": {**_DATE_TIME, "description": f"{_DATE_TIME['description']}; the latest deadline "
                                                        "of the step's agencies"},
            },
            description="Nơi hồ sơ đang ở / where the dossier is now and by when that step is due",
        ),
    }

    www_authenticate = {"WWW-Authenticate": {"schema": {"type": "string", "const": 'Bearer realm="motcua"'}}}
    responses: dict[str, Any] = {
        "MalformedRequest": _error_response(
            "Không đọc được nội dung / the body is not a JSON object",
            ["malformed_json", "missing_body"],
            {"code": "malformed_json", "message": "JSON không hợp lệ / Malformed JSON"},
        ),
        "Unauthenticated": _error_response(
            "Cần đăng nhập / missing, invalid or expired Cognito ID token",
            ["unauthenticated", "invalid_token", "token_expired", "token_unverifiable", "auth_unavailable"],
            {"code": "unauthenticated", "message": "Cần đăng nhập / Sign-in required"},
            headers=www_authenticate,
        ),
        "NotFound": _error_response(
            "Không tìm thấy / not found (a dossier of someone else, or read by an agency that is not on "
            "its route, is not found either)",
            ["procedure_not_found", "dossier_not_found", "result_not_found"],
            {"code": "dossier_not_found",
             "message": "Không tìm thấy hồ sơ 000.00.21.H38-261126-0001 / Dossier 000.00.21.H38-261126-0001 "
                        "not found"},
        ),
        "Conflict": _error_response(
            "Trạng thái không cho phép / the resource's state does not allow this",
            ["invalid_status", "concurrent_update", "upload_already_used", "busy", "not_awaiting_fee",
             "already_rated", "not_rateable"],
            {"code": "invalid_status",
             "message": "Không thể 'withdraw' khi hồ sơ đang ở trạng thái Rút hồ sơ / "
                        "Cannot withdraw a dossier that is Withdrawn"},
        ),
        "PayloadTooLarge": _error_response(
            "Nội dung quá lớn / request body over the limit (256 KiB unless configured)",
            ["payload_too_large"],
            {"code": "payload_too_large", "message": "Nội dung yêu cầu quá lớn / Request body too large"},
        ),
        "UnsupportedMediaType": _error_response(
            "Chỉ nhận JSON / Content-Type must be application/json (or absent)",
            ["unsupported_media_type"],
            {"code": "unsupported_media_type", "message": "Unsupported media type: text/plain"},
        ),
        "InvalidInput": _error_response(
            "Dữ liệu không hợp lệ / well-formed but invalid; details name the fields",
            ["validation_failed", "unknown_parameter", "invalid_parameter", "invalid_cursor",
             "server_owned_field", "unknown_procedure", "online_submission_not_available", "file_too_large",
             "decision_not_allowed", "invalid_result"],
            {"code": "validation_failed",
             "message": "Dữ liệu không hợp lệ / Invalid data: applicant.id_number: không đúng định dạng "
                        "(Số định danh cá nhân / CCCD) / invalid format",
             "details": [{"field": "applicant.id_number",
                          "message": "không đúng định dạng (Số định danh cá nhân / CCCD) / invalid format"}]},
        ),
        "UnauthenticatedCitizenOrAgency": _error_response(
            "Cần đăng nhập hoặc khóa API của cơ quan / missing or invalid credentials: a bearer token that "
            "looks like an agency API key (mc_…) is checked as one (invalid_api_key, one answer for every bad "
            "key), any other as a Cognito ID token",
            ["unauthenticated", "invalid_token", "token_expired", "token_unverifiable", "auth_unavailable",
             "invalid_api_key"],
            {"code": "invalid_api_key", "message": "Khóa API không hợp lệ / Invalid API key"},
            headers=www_authenticate,
        ),
        "InvalidApiKey": _error_response(
            "Cần khóa API của cơ quan / missing, malformed, unknown or revoked agency API key (one answer "
            "for every bad key)",
            ["unauthenticated", "invalid_api_key"],
            {"code": "invalid_api_key", "message": "Khóa API không hợp lệ / Invalid API key"},
            headers=www_authenticate,
        ),
        "TaskNotFound": _error_response(
            "Không tìm thấy nhiệm vụ / no such task (another agency's task is not found either)",
            ["task_not_found"],
            {"code": "task_not_found",
             "message": "Không tìm thấy nhiệm vụ 5d41402abc4b2a76b971L0 / Task 5d41402abc4b2a76b971L0 not found"},
        ),
        "TaskConflict": _error_response(
            "Nhiệm vụ chưa hoặc không còn nhận việc này / the task is already decided or cancelled (task_closed), is a "
            "fee wait that takes no decision (decision_not_allowed), is a lead agency's task whose parallel "
            "agencies have not all answered yet (parallel_agencies_pending), or its dossier's status does not "
            "allow the decision (invalid_status)",
            ["task_closed", "decision_not_allowed", "parallel_agencies_pending", "invalid_status"],
            {"code": "task_closed",
             "message": "Nhiệm vụ đã được quyết định / The task is already decided"},
        ),
    }

    responses["InvalidStripeEvent"] = _error_response(
        "Sự kiện không có chữ ký Stripe hợp lệ / not a Stripe event signed with the endpoint's secret "
        "(missing, wrong or stale Stripe-Signature, or no webhook secret configured), or not a JSON event",
        ["invalid_signature", "malformed_event"],
        {"code": "invalid_signature", "message": "Chữ ký Stripe không hợp lệ / Invalid Stripe signature"},
    )
    responses["ServiceUnavailable"] = _error_response(
        "Cổng thanh toán không sẵn sàng / the payment provider (Stripe) is not configured "
        "(payments_unavailable) or not answering (payment_provider_error). One of the two 5xx this API "
        "documents: the request itself was right, but the fee lives at Stripe, which it needs to answer, so a "
        "retry later may succeed (and Stripe retries a webhook delivery answered 503)",
        ["payments_unavailable", "payment_provider_error"],
        {"code": "payments_unavailable",
         "message": "Chưa hỗ trợ thanh toán trực tuyến / Online payment is not configured"},
    )
    responses["TooManyRequests"] = _error_response(
        "Quá nhiều lượt trong một giờ / the caller used up this hour's share of the action (per citizen, "
        "fixed one-hour windows: MOTCUA_RATE_SUBMISSIONS_PER_HOUR, MOTCUA_RATE_PAYMENTS_PER_HOUR); "
        "Retry-After says when the next window opens",
        ["rate_limited"],
        {"code": "rate_limited", "message": "Quá nhiều lượt nộp hồ sơ trong một giờ, vui lòng thử lại sau / "
                                            "Too many submissions this hour, retry later (limit 30)"},
        headers={"Retry-After": {"description": "seconds until the caller may try again",
                                 "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"}}},
    )

    parameters: dict[str, Any] = {
        "DossierCode": {
            "name": "code", "in": "path", "required": True,
            "description": "Mã hồ sơ (Thông tư 01/2018/TT-VPCP điều 19) / dossier code "
                           "<agency id>-YYMMDD-NNNN; anything else is not found (404)",
            "schema": {"type": "string", "minLength": 1},
            "example": "000.00.21.H38-261126-0001",
        },
        "ProcedureCode": {
            "name": "code", "in": "path", "required": True,
            "description": "Mã thủ tục (CSDL quốc gia về TTHC) / national procedure code",
            "schema": {"type": "string", "minLength": 1},
            "example": "1.001193",
        },
        "UploadId": {
            "name": "upload_id", "in": "path", "required": True,
            "description": "Mã tệp (documents[].upload_id của hồ sơ) / the upload's id, from the dossier's "
                           "documents; any other is not found (404)",
            "schema": {"type": "string", "minLength": 1},
            "example": "0f8fad5bd9cb469fa16570867728950e",
        },
        "TaskId": {
            "name": "task_id", "in": "path", "required": True,
            "description": "Mã nhiệm vụ (task_id trong hộp việc) / the task's id, from the inbox; another "
                           "agency's task, like an unknown one, is not found (404)",
            "schema": {"type": "string", "minLength": 1},
            "example": "5d41402abc4b2a76b971L0",
        },
        "Cursor": {
            "name": "cursor", "in": "query", "required": False, "allowEmptyValue": True,
            "description": "next_cursor of the previous page, as returned (opaque); another list's cursor is "
                           "refused (422 invalid_cursor). " + _EMPTY_QUERY_VALUE,
            "schema": {"type": "string"},
        },
        "StripeSignature": {
            "name": "Stripe-Signature", "in": "header", "required": True,
            "description": "Chữ ký HMAC-SHA256 của Stripe trên nội dung thô / Stripe's signature over the raw "
                           "body (t=<timestamp>,v1=<hex>), checked with the endpoint's webhook secret, 5 minutes' "
                           "tolerance (400 invalid_signature otherwise)",
            "schema": {"type": "string"},
        },
        "Limit": {
            "name": "limit", "in": "query", "required": False, "allowEmptyValue": True,
            "description": "Số mục mỗi trang / page size. " + _EMPTY_QUERY_VALUE,
            "schema": {"type": "integer", "minimum": 1, "maximum": page_size_max, "default": 20},
        },
    }

    def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "allowEmptyValue": True,
                "description": f"{description}. {_EMPTY_QUERY_VALUE}", "schema": schema}

    paths: dict[str, Any] = {
        "/config": {
            "get": {
                "operationId": "getConfig",
                "tags": ["catalogue"],
                "summary": "Cấu hình giao diện web / web front configuration",
                "responses": {
                    "200": _ok("Tỉnh, Cognito, Stripe / province, Cognito and Stripe settings", "Config"),
                    **_errors(415, 422),
                },
            },
        },
        "/procedures": {
            "get": {
                "operationId": "listProcedures",
                "tags": ["catalogue"],
                "summary": "Tra cứu thủ tục hành chính / browse procedures",
                "parameters": [
                    query("level", {"type": "integer", "minimum": 1, "maximum": 4},
                          "Mức độ dịch vụ công / service level"),
                    query("tier", {"type": "string"}, "Cấp (province, commune…) / tier"),
                    query("agency", {"type": "string"}, "Mã cơ quan tiếp nhận / receiving agency code"),
                    query("q", {"type": "string", "maxLength": 100},
                          "Từ khóa, không phân biệt dấu / search text, diacritics-insensitive"),
                    _ref("parameters", "Cursor"),
                    _ref("parameters", "Limit"),
                ],
                "responses": {
                    "200": _ok("Một trang thủ tục / a page of procedures", "ProcedurePage"),
                    **_errors(415, 422),
                },
            },
        },
        "/procedures/{code}": {
            "parameters": [_ref("parameters", "ProcedureCode")],
            "get": {
                "operationId": "getProcedure",
                "tags": ["catalogue"],
                "summary": "Chi tiết thủ tục / a procedure with its form, documents, templates and route",
                "responses": {
                    "200": _ok("Chi tiết thủ tục / the procedure", "ProcedureDetail"),
                    **_errors(404, 415, 422),
                },
            },
        },
        "/uploads": {
            "post": {
                "operationId": "createUpload",
                "tags": ["dossiers", "agency"],
                "summary": "Xin phép tải tệp lên / get a presigned POST for one file",
                "description": "Công dân tải tệp đính kèm hồ sơ (UploadRequest); cơ quan tải tệp kết quả cho "
                               "hồ sơ mà mình đang có nhiệm vụ mở (AgencyUploadRequest, có dossier_code) / a "
                               "citizen uploads an attachment (UploadRequest, no dossier_code); an agency, with "
                               "its API key, uploads the result document for a dossier it has an open task on "
                               "(AgencyUploadRequest, with dossier_code; 404 dossier_not_found for any other "
                               "dossier) and then approves the last step with result_upload_id.",
                "security": CITIZEN_OR_AGENCY_SECURITY,
                "requestBody": {"required": True, "content": _json_content(
                    {"oneOf": [_schema("UploadRequest"), _schema("AgencyUploadRequest")],
                     "description": "UploadRequest with a citizen token, AgencyUploadRequest with an agency key"},
                    {"filename": "Tờ khai.pdf", "content_type": "application/pdf", "size": 182044})},
                "responses": {
                    "201": _ok("Phiếu tải lên / the upload ticket", "UploadTicket"),
                    **_errors(400, 401, 404, 413, 415, 422, names={**_ERROR_RESPONSE_NAMES,
                                                         401: "UnauthenticatedCitizenOrAgency"}),
                },
            },
        },
        "/dossiers": {
            "post": {
                "operationId": "submitDossier",
                "tags": ["dossiers"],
                "summary": "Nộp hồ sơ trực tuyến / submit a dossier online",
                "security": CITIZEN_SECURITY,
                "requestBody": {"required": True, "content": _json_content(_schema("SubmissionRequest"), {
                    "procedure_code": "1.004873",
                    "applicant": {"full_name": "Nguyễn Văn An", "id_number": "068090001234",
                                  "phone": "0912345678", "email": "an.nguyen@example.vn",
                                  "address": "12 Trần Phú, phường Xuân Hương - Đà Lạt, Lâm Đồng"},
                    "form": {"marital_status": "Chưa đăng ký kết hôn với ai", "purpose": "Đăng ký kết hôn"},
                    "documents": [{"document_id": "to_khai", "upload_id": "0200b9c4cc16426f96f6645151b32991"}],
                })},
                "responses": {
                    "201": _ok(
                        "Đã nhận hồ sơ, trạng thái 1 / received, status 1 (new)", "DossierReceipt",
                        headers={"Location": {"description": "/dossiers/{code}",
                                              "schema": {"type": "string"}}},
                    ),
                    **_errors(400, 401, 409, 413, 415, 422, 429),
                },
            },
            "get": {
                "operationId": "listDossiers",
                "tags": ["dossiers"],
                "summary": "Hồ sơ của tôi, mới nhất trước / my dossiers, newest first",
                "security": CITIZEN_SECURITY,
                "parameters": [_ref("parameters", "Cursor"), _ref("parameters", "Limit")],
                "responses": {
                    "200": _ok("Một trang hồ sơ / a page of dossiers", "DossierPage"),
                    **_errors(401, 415, 422),
                },
            },
        },
        "/dossiers/{code}": {
            "parameters": [_ref("parameters", "DossierCode")],
            "get": {
                "operationId": "getDossier",
                "tags": ["dossiers"],
                "summary": "Hồ sơ và tiến trình xử lý / a dossier with its progress log and slips",
                "description": "Công dân đọc hồ sơ của mình; cơ quan trên quy trình của hồ sơ đọc bằng khóa API, "
                               "mỗi lần đọc được ghi nhật ký / the citizen reads their own dossier; an agency "
                               "on the dossier's route reads it with its API key, and each such read is "
                               "audited. Anyone else (another citizen, an agency off the route) gets 404.",
                "security": CITIZEN_OR_AGENCY_SECURITY,
                "responses": {
                    "200": _ok("Hồ sơ / the dossier", "DossierDetail"),
                    **_errors(401, 404, 415, 422, names={**_ERROR_RESPONSE_NAMES,
                                                         401: "UnauthenticatedCitizenOrAgency"}),
                },
            },
        },
        "/dossiers/{code}/result": {
            "parameters": [_ref("parameters", "DossierCode")],
            "get": {
                "operationId": "getDossierResult",
                "tags": ["dossiers"],
                "summary": "Tải kết quả trực tuyến / a short-lived link to download the result",
                "description": "Chỉ chủ hồ sơ, khi kết quả đã có (trạng thái 9, 10) / only the owner, once the "
                               "result is available (status 9 or 10; see the dossier's result). The first "
                               "download records the result as returned (status 10, history return_result); "
                               "every link issued is audited. Anyone else (another citizen, any agency key) and "
                               "a dossier without a result online get the same 404 result_not_found.",
                "security": CITIZEN_OR_AGENCY_SECURITY,
                "responses": {
                    "200": _ok("Liên kết tải, hết hạn sau 15 phút / the download link, 15 minutes at most",
                               "ResultLink"),
                    **_errors(401, 404, 415, 422, names={**_ERROR_RESPONSE_NAMES,
                                                         401: "UnauthenticatedCitizenOrAgency"}),
                },
            },
        },
        "/dossiers/{code}/documents/{upload_id}": {
            "parameters": [_ref("parameters", "DossierCode"), _ref("parameters", "UploadId")],
            "get": {
                "operationId": "getDossierDocument",
                "tags": ["dossiers"],
                "summary": "Tải tài liệu đính kèm của hồ sơ / a short-lived link to one of the dossier's documents",
                "description": "Chủ hồ sơ và cán bộ các cơ quan trên quy trình / the owner and the officers of "
                               "the agencies on the dossier's route (each staff download is audited). The "
                               "upload_id is one of the dossier's documents. A file replaced or gone since the "
                               "submission is not served: 409 document_changed. Anyone else, and a file that is "
                               "not the dossier's, get the same 404 document_not_found.",
                "security": CITIZEN_OR_AGENCY_SECURITY,
                "responses": {
                    "200": _ok("Liên kết tải, hết hạn sau 15 phút / the download link, 15 minutes at most",
                               "DocumentLink"),
                    **_errors(401, 404, 409, 415, 422, names={**_ERROR_RESPONSE_NAMES,
                                                              401: "UnauthenticatedCitizenOrAgency"}),
                },
            },
        },
        "/dossiers/{code}/receipt": {
            "parameters": [_ref("parameters", "DossierCode")],
            "get": {
                "operationId": "getDossierReceipt",
                "tags": ["dossiers"],
                "summary": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu số 01), PDF / the receipt slip 01 as PDF",
                "description": "Chỉ chủ hồ sơ, sau khi bộ phận một cửa tiếp nhận / only the owner, once the desk "
                               "has received the dossier: a short-lived link to the PDF (with a QR code of the "
                               "public tracker). Anyone else (another citizen, any agency key) and a dossier "
                               "not yet received get the same 404 receipt_not_found.",
                "security": CITIZEN_OR_AGENCY_SECURITY,
                "responses": {
                    "200": _ok("Liên kết tải PDF, hết hạn sau 15 phút / the PDF link, 15 minutes at most",
                               "ResultLink"),
                    **_errors(401, 404, 415, 422, names={**_ERROR_RESPONSE_NAMES,
                                                         401: "UnauthenticatedCitizenOrAgency"}),
                },
            },
        },
        "/dossiers/{code}/result-notice": {
            "parameters": [_ref("parameters", "DossierCode")],
            "get": {
                "operationId": "getDossierResultNotice",
                "tags": ["dossiers"],
                "summary": "Thông báo kết quả giải quyết hồ sơ, PDF / the result notice as PDF",
                "description": "Chỉ chủ hồ sơ, khi đã có kết quả (trạng thái 9, 10) / only the owner, once the "
                               "result is recorded: a short-lived link to the PDF (with a QR code of the public "
                               "tracker). Anyone else and a dossier without a result get the same 404 "
                               "result_notice_not_found.",
                "security": CITIZEN_OR_AGENCY_SECURITY,
                "responses": {
                    "200": _ok("Liên kết tải PDF, hết hạn sau 15 phút / the PDF link, 15 minutes at most",
                               "ResultLink"),
                    **_errors(401, 404, 415, 422, names={**_ERROR_RESPONSE_NAMES,
                                                         401: "UnauthenticatedCitizenOrAgency"}),
                },
            },
        },
        "/dossiers/{code}/payment": {
            "parameters": [_ref("parameters", "DossierCode")],
            "post": {
                "operationId": "startDossierPayment",
                "tags": ["payments"],
                "summary": "Nộp phí trực tuyến (trạng thái 6) / pay the fee online (status 6)",
                "description": "Chủ hồ sơ đang chờ nộp phí nhận PaymentIntent của Stripe, rồi thanh toán bằng "
                               "Stripe.js / the owner of a dossier awaiting its fee (status 6) gets the Stripe "
                               "PaymentIntent to pay it with Stripe.js (the same one when asked again). The fee "
                               "is recorded when Stripe's signed event arrives (POST /webhooks/stripe), not "
                               "here. Not awaiting a fee (another status, already paid, no fee): 409 "
                               "not_awaiting_fee. Stripe not configured or not answering: 503.",
                "security": CITIZEN_SECURITY,
                "requestBody": {"required": False, "content": _json_content(
                    _schema("PaymentRequest"), {"provider": "stripe"})},
                "responses": {
                    "200": _ok("PaymentIntent để thanh toán / the PaymentIntent to pay with", "PaymentIntent"),
                    **_errors(400, 401, 404, 409, 413, 415, 422, 429, 503),
                },
            },
        },
        "/webhooks/stripe": {
            "post": {
                "operationId": "receiveStripeEvent",
                "tags": ["payments"],
                "summary": "Sự kiện thanh toán từ Stripe / Stripe's signed payment events",
                "description": "Cho Stripe, không cho người dùng / for Stripe only. No bearer credential: the "
                               "Stripe-Signature header over the raw body is the authentication (400 "
                               "invalid_signature otherwise). Only the event's id and type are trusted; the "
                               "PaymentIntent is read back from Stripe before anything is recorded. Any non-2xx "
                               "answer (409 concurrent_update, 503) makes Stripe deliver the event again.",
                "parameters": [_ref("parameters", "StripeSignature")],
                "requestBody": {"required": True, "content": _json_content(
                    _schema("StripeEvent"),
                    {"id": "evt_1PqX2b2eZvKYlo2C", "type": "payment_intent.succeeded",
                     "data": {"object": {"id": "pi_3PqX2b2eZvKYlo2C1abcdEFG", "object": "payment_intent"}}})},
                "responses": {
                    "200": _ok("Đã nhận / acknowledged, with what was done", "StripeWebhookReceipt"),
                    **_errors(400, 409, 415, 422, 503, names={**_ERROR_RESPONSE_NAMES, 400: "InvalidStripeEvent"}),
                },
            },
        },
        "/dossiers/{code}/withdraw": {
            "parameters": [_ref("parameters", "DossierCode")],
            "post": {
                "operationId": "withdrawDossier",
                "tags": ["dossiers"],
                "summary": "Rút hồ sơ (trạng thái 7) / withdraw a dossier not yet decided (status 7)",
                "security": CITIZEN_SECURITY,
                "requestBody": {"required": False, "content": _json_content(
                    _schema("WithdrawalRequest"), {"reason": "Nộp nhầm thủ tục"})},
                "responses": {
                    "200": _ok("Hồ sơ đã rút / the withdrawn dossier", "DossierDetail"),
                    **_errors(400, 401, 404, 409, 413, 415, 422),
                },
            },
        },
        "/dossiers/{code}/supplement": {
            "parameters": [_ref("parameters", "DossierCode")],
            "post": {
                "operationId": "supplementDossier",
                "tags": ["dossiers"],
                "summary": "Bổ sung hồ sơ theo yêu cầu (trạng thái 5) / supplement a dossier as asked (status 5)",
                "security": CITIZEN_SECURITY,
                "requestBody": {"required": True, "content": _json_content(
                    _schema("SupplementRequest"),
                    {"form": {"purpose": "Bổ sung: xin việc làm"},
                     "documents": [{"document_id": "uy_quyen", "upload_id": "7f3a9c0e5b2d4e6f8a1b3c5d7e9f0a2b"}],
                     "note": "Đã bổ sung văn bản ủy quyền / the power of attorney is added"})},
                "responses": {
                    "200": _ok("Hồ sơ đã bổ sung, quay lại bước đã yêu cầu (trạng thái 1 hoặc 4) / the "
                               "supplemented dossier, back at the step that asked (status 1 or 4)",
                               "DossierDetail"),
                    **_errors(400, 401, 404, 409, 413, 415, 422),
                },
            },
        },
        "/dossiers/{code}/rating": {
            "parameters": [_ref("parameters", "DossierCode")],
            "post": {
                "operationId": "rateDossier",
                "tags": ["dossiers"],
                "summary": "Đánh giá mức độ hài lòng (hồ sơ đã giải quyết, một lần) / rate a decided dossier, once",
                "security": CITIZEN_SECURITY,
                "requestBody": {"required": True, "content": _json_content(
                    _schema("RatingRequest"), {"score": 5, "comment": "Cán bộ hướng dẫn tận tình"})},
                "responses": {
                    "201": _ok("Đã ghi nhận / the rating", "Rating"),
                    **_errors(400, 401, 404, 409, 413, 415, 422),
                },
            },
        },
        "/agencies": {
            "get": {
                "operationId": "listAgencies",
                "tags": ["catalogue"],
                "summary": "Các cơ quan giải quyết thủ tục / the province's agencies",
                "responses": {
                    "200": _ok("Cơ quan, theo mã / agencies by code", "AgencyList"),
                    **_errors(415, 422),
                },
            },
        },
        "/stats": {
            "get": {
                "operationId": "getStatistics",
                "tags": ["statistics"],
                "summary": "Thống kê công khai (Quyết định 766/QĐ-TTg) / public statistics",
                "parameters": [query("month", {"type": "string", "pattern": "^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"},
                                     "Chỉ tháng này / only this month's dossiers (YYYY-MM)")],
                "responses": {
                    "200": _ok("Thủ tục theo cấp và mức độ; hồ sơ và chỉ số / procedures by tier and level; "
                               "dossiers and indicators", "Statistics"),
                    **_errors(415, 422),
                },
            },
        },
        "/track/{code}": {
            "parameters": [_ref("parameters", "DossierCode")],
            "get": {
                "operationId": "trackDossier",
                "tags": ["tracking"],
                "summary": "Tra cứu tiến độ theo mã hồ sơ / track a dossier by its code",
                "responses": {
                    "200": _ok("Tiến độ, không có dữ liệu cá nhân / progress, no personal data",
                               "DossierTracking"),
                    **_errors(404, 415, 422),
                },
            },
        },
        "/track/{code}/qr": {
            "parameters": [_ref("parameters", "DossierCode")],
            "get": {
                "operationId": "trackDossierQr",
                "tags": ["tracking"],
                "summary": "Mã QR của trang tra cứu hồ sơ / the QR code of the dossier's public tracker link",
                "responses": {
                    "200": {
                        "description": "SVG; mã hồ sơ khi chưa cấu hình trang tra cứu / an SVG image of the "
                                       "tracker link (of the bare code when no tracker is configured)",
                        "content": {"image/svg+xml": {"schema": {"type": "string"}}},
                    },
                    **_errors(404, 415, 422),
                },
            },
        },
        "/agency/tasks": {
            "get": {
                "operationId": "listAgencyTasks",
                "tags": ["agency"],
                "summary": "Hộp việc của cơ quan, hạn sớm nhất trước / the agency's tasks, earliest due first",
                "description": "Mỗi hồ sơ hiển thị được ghi nhật ký truy cập / each dossier shown is recorded on "
                               "its audit trail as read with this key.",
                "security": AGENCY_SECURITY,
                "parameters": [
                    query("status", {"type": "string", "enum": list(get_args(TaskStatus)), "default": "open"},
                          "Nhiệm vụ đang mở, đã quyết định hay đã hủy / open, decided or cancelled tasks"),
                    _ref("parameters", "Cursor"),
                    _ref("parameters", "Limit"),
                ],
                "responses": {
                    "200": _ok("Một trang nhiệm vụ / a page of tasks", "AgencyTaskPage"),
                    **_agency_errors(401, 415, 422),
                },
            },
        },
        "/agency/tasks/{task_id}/decision": {
            "parameters": [_ref("parameters", "TaskId")],
            "post": {
                "operationId": "decideAgencyTask",
                "tags": ["agency"],
                "summary": "Quyết định về nhiệm vụ / decide a task: receive, refuse, approve, reject or ask "
                           "for a supplement",
                "description": "Trả về nhiệm vụ và hồ sơ sau quyết định, được ghi nhật ký truy cập / answers "
                               "with the task and the dossier as the decision left them, recorded on the "
                               "dossier's audit trail as read with this key.",
                "security": AGENCY_SECURITY,
                "requestBody": {"required": True, "content": _json_content(
                    _schema("DecisionRequest"),
                    {"decision": "request_supplement",
                     "note": "Bổ sung bản sao giấy khai sinh / a copy of the birth certificate is missing"})},
                "responses": {
                    "200": _ok("Nhiệm vụ đã quyết định, với hồ sơ sau quyết định / the decided task with "
                               "the dossier as the decision left it", "AgencyTask"),
                    **_agency_errors(400, 401, 404, 409, 413, 415, 422),
                },
            },
        },
        "/agency/tasks/{task_id}/heartbeat": {
            "parameters": [_ref("parameters", "TaskId")],
            "post": {
                "operationId": "heartbeatAgencyTask",
                "tags": ["agency"],
                "summary": "Báo nhiệm vụ vẫn đang xử lý / tell the route an open task is still being worked on",
                "security": AGENCY_SECURITY,
                "requestBody": {"required": False, "content": _json_content(
                    {"type": "object", "additionalProperties": False, "maxProperties": 0,
                     "description": "Không dùng; gửi {} hoặc không gửi gì / not used: send {} or no body; "
                                    "any field is refused (422 validation_failed)"},
                    {})},
                "responses": {
                    "200": _ok("Nhiệm vụ vẫn mở / the task, still open", "Heartbeat"),
                    **_agency_errors(400, 401, 404, 409, 413, 415, 422),
                },
            },
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApiDocument",
                "tags": ["meta"],
                "summary": "Tài liệu OpenAPI này / this OpenAPI document",
                "responses": {
                    "200": {"description": "OpenAPI 3.1", "content": _json_content({"type": "object"})},
                    **_errors(415, 422),
                },
            },
        },
    }

    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": TITLE,
            "version": "1",
            "summary": "Một cửa điện tử, dịch vụ công trực tuyến mức độ 1–4 / one-stop shop and online "
                       "public services, levels 1–4",
            "description": (
                "JSON over HTTPS. Every 4xx answer, and the documented 503, is `{\"error\": {\"code\": "
                "<snake_case>, \"message\": <Vietnamese / English>, \"details\"?: [{\"field\", \"message\"}]}}`. "
                "No request, however malformed, yields a 5xx, but for 503 (`payments_unavailable`, "
                "`payment_provider_error`) from the two payment routes: the fee lives at Stripe, and when Stripe "
                "is not configured or not answering the request cannot be served now; a retry may succeed. "
                "Request "
                "bodies are JSON objects of at most 256 KiB (unless configured), `NaN`/`Infinity` refused "
                "(Stripe's signed events excepted: their raw body is only checked against the signature). "
                "Query parameters an operation does not document are refused (422 `unknown_parameter`). "
                "A wrong method on a known path answers 405 (`method_not_allowed`, with an `Allow` header) "
                "in the same shape. An unknown path is answered by API Gateway itself (403 "
                "`{\"message\": \"Missing Authentication Token\"}`), before this API sees it.\n\n"
                "Citizens authenticate with `Authorization: Bearer <Cognito ID token>`; agency systems "
                "with `Authorization: Bearer <agency API key>`, a key ops issue to one agency. "
                "`GET /dossiers/{code}`, `GET /dossiers/{code}/result` and `POST /uploads` take either. "
                "`POST /webhooks/stripe` is Stripe's, authenticated by its `Stripe-Signature`."
            ),
        },
        "tags": [
            {"name": "catalogue", "description": "Thủ tục hành chính / procedures"},
            {"name": "dossiers", "description": "Hồ sơ của công dân / citizen dossiers"},
            {"name": "tracking", "description": "Tra cứu công khai / public tracking"},
            {"name": "statistics", "description": "Thống kê công khai / public statistics"},
            {"name": "agency", "description": "Hộp việc và quyết định của cơ quan / agency tasks and decisions"},
            {"name": "payments", "description": "Nộp phí trực tuyến qua Stripe / online fee payment (Stripe)"},
            {"name": "meta", "description": "Tài liệu API / API description"},
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": responses,
            "parameters": parameters,
            "securitySchemes": {
                "citizenToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Cognito ID token of the citizen user pool (see GET /config), verified "
                                   "against the pool's JWKS",
                },
                "agencyApiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "mc_<agency>_<key id>_<secret>",
                    "description": "Khóa API của cơ quan, do vận hành cấp / an agency's API key, issued by ops "
                                   "and shown once; it names one agency, whose tasks alone it reaches",
                },
            },
        },
    }
