"""The OpenAPI 3.1 document of the public contract v1, served at ``GET /openapi.json``.

Built once (per page-size setting) and cached. Request schemas are the domain's
own dicts (``SUBMISSION_SCHEMA``, ``APPLICANT_SCHEMA``, ``WITHDRAWAL_SCHEMA``,
``UPLOAD_REQUEST_SCHEMA``), so what is documented is what is validated; response
schemas follow ``presenters.py`` field by field (``tests/integration/test_openapi.py``
checks real responses against them, and a fuzzing suite runs against the document).
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from chalicelib.config import Settings, SettingsError, get_settings
from chalicelib.domain.dossiers import APPLICANT_SCHEMA, SUBMISSION_SCHEMA, WITHDRAWAL_SCHEMA
from chalicelib.domain.uploads import UPLOAD_REQUEST_SCHEMA
from chalicelib.domain.workflow import ACTIONS, DossierStatus

OPENAPI_VERSION = "3.1.0"
TITLE = "motcua — Dịch vụ công trực tuyến / Online public services"
CITIZEN_SECURITY: list[dict[str, list[str]]] = [{"citizenToken": []}]
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


def _errors(*statuses: int) -> dict[str, dict[str, str]]:
    return {str(status): _ref("responses", _ERROR_RESPONSE_NAMES[status]) for status in statuses}


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

_ERROR_RESPONSE_NAMES = {
    400: "MalformedRequest",
    401: "Unauthenticated",
    404: "NotFound",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "InvalidInput",
}


def _error_response(description: str, codes: list[str], example: dict[str, Any],
                    headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": f"{description}. Mã lỗi / error codes: {', '.join(codes)}.",
        "content": {JSON: {"schema": _schema("Error"), "example": {"error": example}}},
    }
    if headers:
        response["headers"] = headers
    return response


# --------------------------------------------------------------------------- the document


@lru_cache(maxsize=4)
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
    upload_schema = copy.deepcopy(UPLOAD_REQUEST_SCHEMA)
    upload_schema["properties"]["size"]["description"] = (
        "Dung lượng chính xác của tệp, tính bằng byte / The file's exact size in bytes; "
        "the presigned POST only accepts that size, and a size above the upload limit is refused (422)"
    )
    withdrawal_schema = copy.deepcopy(WITHDRAWAL_SCHEMA)

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
    summary_properties: dict[str, Any] = {
        **receipt_properties,
        "procedure_code": _STRING,
        "procedure_name": _STRING,
        "updated_at": _DATE_TIME,
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
            description="Mọi lỗi 4xx / every 4xx answer",
        ),
        "FieldError": _object({
            "field": {"type": "string", "examples": ["applicant.id_number", "documents[0].upload_id"]},
            "message": {"type": "string", "minLength": 1},
        }),
        "Applicant": applicant_schema,
        "SubmissionRequest": submission_schema,
        "UploadRequest": upload_schema,
        "WithdrawalRequest": withdrawal_schema,
        "Config": _object(
            {
                "province": _object({"code": _STRING, "name": _STRING}),
                "cognito": _object(
                    {"region": _STRING, "user_pool_id": _STRING, "client_id": _STRING,
                     "endpoint": {"type": "string", "description": "Local stack only (moto's Cognito)"}},
                    optional=("endpoint",),
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
                               "short-lived presigned URLs",
                "items": _object({"name": _STRING, "url": {"type": "string", "format": "uri"}}),
            },
            "route": {"type": "array", "items": _object({
                "kind": {"type": "string", "enum": ["reception", "processing"]},
                **agency_step,
                "parallel": {"type": "array", "items": _object(agency_step)},
            })},
            "legal_basis": {"type": "array", "items": _STRING},
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
                "action": {"type": "string", "enum": sorted(ACTIONS)},
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
                "status": {"type": "string", "enum": ["not_required", "unpaid", "paid"]},
            }),
            "applicant": _object(
                {name: _STRING for name in APPLICANT_SCHEMA["properties"]},
                optional=tuple(name for name in APPLICANT_SCHEMA["properties"]
                               if name not in APPLICANT_SCHEMA["required"]),
            ),
            "form": {"type": "object"},
            "documents": {"type": "array", "items": _object({"document_id": _STRING, "upload_id": _STRING})},
            "history": {"type": "array", "items": _schema("HistoryEntry")},
            "result": {"type": ["object", "null"], "description": "Kết quả (sau này) / the result, later"},
        }),
        "DossierTracking": _object(
            {
                "code": _STRING,
                "procedure_code": _STRING,
                "procedure_name": _STRING,
                **status_properties,
                "submitted_at": _DATE_TIME,
                "due_at": _DATE_TIME,
                "updated_at": _DATE_TIME,
            },
            description="Tra cứu công khai, không có dữ liệu cá nhân / public tracking, no personal data",
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
            "Không tìm thấy / not found (a dossier of someone else is not found either)",
            ["procedure_not_found", "dossier_not_found"],
            {"code": "dossier_not_found",
             "message": "Không tìm thấy hồ sơ 000.00.21.H38-261126-0001 / Dossier 000.00.21.H38-261126-0001 "
                        "not found"},
        ),
        "Conflict": _error_response(
            "Trạng thái không cho phép / the resource's state does not allow this",
            ["invalid_status", "concurrent_update", "upload_already_used", "busy"],
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
             "server_owned_field", "unknown_procedure", "online_submission_not_available", "file_too_large"],
            {"code": "validation_failed",
             "message": "Dữ liệu không hợp lệ / Invalid data: applicant.id_number: không đúng định dạng "
                        "(Số định danh cá nhân / CCCD) / invalid format",
             "details": [{"field": "applicant.id_number",
                          "message": "không đúng định dạng (Số định danh cá nhân / CCCD) / invalid format"}]},
        ),
    }

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
        "Cursor": {
            "name": "cursor", "in": "query", "required": False,
            "description": "next_cursor of the previous page, as returned (opaque); another list's cursor is "
                           "refused (422 invalid_cursor)",
            "schema": {"type": "string"},
        },
        "Limit": {
            "name": "limit", "in": "query", "required": False,
            "description": "Số mục mỗi trang / page size",
            "schema": {"type": "integer", "minimum": 1, "maximum": page_size_max, "default": 20},
        },
    }

    def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}

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
                "tags": ["dossiers"],
                "summary": "Xin phép tải tệp lên / get a presigned POST for one file",
                "security": CITIZEN_SECURITY,
                "requestBody": {"required": True, "content": _json_content(
                    _schema("UploadRequest"),
                    {"filename": "Tờ khai.pdf", "content_type": "application/pdf", "size": 182044})},
                "responses": {
                    "201": _ok("Phiếu tải lên / the upload ticket", "UploadTicket"),
                    **_errors(400, 401, 413, 415, 422),
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
                    **_errors(400, 401, 409, 413, 415, 422),
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
                "summary": "Hồ sơ của tôi và tiến trình xử lý / my dossier with its progress log",
                "security": CITIZEN_SECURITY,
                "responses": {
                    "200": _ok("Hồ sơ / the dossier", "DossierDetail"),
                    **_errors(401, 404, 415, 422),
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
                "JSON over HTTPS. Every 4xx answer is `{\"error\": {\"code\": <snake_case>, "
                "\"message\": <Vietnamese / English>, \"details\"?: [{\"field\", \"message\"}]}}`; "
                "no request, however malformed, yields a 5xx. Request bodies are JSON objects of at most "
                "256 KiB (unless configured), `NaN`/`Infinity` refused. Query parameters an operation "
                "does not document are refused (422 `unknown_parameter`). A wrong method on a known "
                "path answers 405 (`method_not_allowed`, with an `Allow` header) in the same shape. An "
                "unknown path is answered by API Gateway itself (403 "
                "`{\"message\": \"Missing Authentication Token\"}`), before this API sees it.\n\n"
                "Citizens authenticate with `Authorization: Bearer <Cognito ID token>`."
            ),
        },
        "tags": [
            {"name": "catalogue", "description": "Thủ tục hành chính / procedures"},
            {"name": "dossiers", "description": "Hồ sơ của công dân / citizen dossiers"},
            {"name": "tracking", "description": "Tra cứu công khai / public tracking"},
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
            },
        },
    }
