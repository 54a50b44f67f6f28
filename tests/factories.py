"""``create_*`` factories for domain objects and request bodies (GOV.UK Notify style)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.audit import StaffRead
from chalicelib.domain.catalogue import Catalogue, Procedure, parse_catalogue, procedure_from_dict
from chalicelib.domain.dossiers import DocumentRef, Dossier
from chalicelib.domain.tasks import Task
from chalicelib.domain.workflow import DossierStatus

DESK = "000.00.21.H38"
JUSTICE = "000.00.05.H38"
COMMUNE = "000.01.10.H38"

SAMPLE_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["purpose", "birth_date"],
    "properties": {
        "purpose": {"type": "string", "title": "Mục đích", "minLength": 3, "maxLength": 200},
        "birth_date": {"type": "string", "title": "Ngày sinh", "format": "date"},
        "copies": {"type": "integer", "title": "Số bản", "minimum": 1, "maximum": 10},
    },
}


def create_procedure_dict(code: str = "2.000488", *, level: int = 4, fee_vnd: int = 200000,
                          agency: str = DESK, tier: str = "province", days: float = 10,
                          name: str = "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam") -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        "name_en": "Judicial record certificate",
        "field": "Lý lịch tư pháp",
        "tier": tier,
        "agency_code": agency,
        "level": level,
        "fee_vnd": fee_vnd,
        "processing_days": days,
        "legal_basis": ["law"],
        "sources": {"fee_vnd": "law", "processing_days": "law"},
        "form_schema": copy.deepcopy(SAMPLE_FORM_SCHEMA) if level >= 3 else
        {"type": "object", "additionalProperties": False, "properties": {}},
        "required_documents": [
            {"id": "to_khai", "name": "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp", "required": True},
            {"id": "uy_quyen", "name": "Văn bản ủy quyền", "required": False},
        ],
        "templates": [{"name": "Tờ khai", "file": "to-khai.txt"}] if level >= 2 else [],
        "route": [
            {"kind": "reception", "agency_code": agency, "days": 1},
            {"kind": "processing", "agency_code": JUSTICE, "days": days - 1},
        ],
    }


def create_interagency_procedure_dict(code: str = "LT.0001") -> dict[str, Any]:
    """Liên thông across levels: commune desk → province department → province service centre."""
    procedure = create_procedure_dict(code, agency=COMMUNE, tier="commune", days=6, fee_vnd=0)
    procedure["route"] = [
        {"kind": "reception", "agency_code": COMMUNE, "days": 1},
        {"kind": "processing", "agency_code": JUSTICE, "days": 3},
        {"kind": "processing", "agency_code": DESK, "days": 2},
    ]
    return procedure


def create_catalogue(procedures: list[dict[str, Any]] | None = None) -> Catalogue:
    if procedures is None:
        procedures = [
            create_procedure_dict(),
            create_procedure_dict("1.001193", level=3, fee_vnd=0, agency=COMMUNE, tier="commune", days=3,
                                  name="Đăng ký khai sinh"),
            create_procedure_dict("1.000001", level=2, fee_vnd=0, name="Chứng thực bản sao từ bản chính"),
            create_procedure_dict("1.000002", level=1, fee_vnd=0, name="Thủ tục chỉ có thông tin"),
        ]
    return parse_catalogue(
        {"code": "lamdong", "name": "Tỉnh Lâm Đồng", "name_en": "Lam Dong Province", "identifier": "H38",
         "tiers": [{"code": "province", "name": "Cấp tỉnh", "name_en": "Province"},
                   {"code": "commune", "name": "Cấp xã", "name_en": "Commune"}]},
        {"agencies": [
            {"code": DESK, "name": "Trung tâm Phục vụ hành chính công tỉnh Lâm Đồng", "name_en": "Service centre",
             "tier": "province"},
            {"code": JUSTICE, "name": "Sở Tư pháp tỉnh Lâm Đồng", "name_en": "Department of Justice",
             "tier": "province"},
            {"code": COMMUNE, "name": "UBND phường Xuân Hương - Đà Lạt", "name_en": "Xuan Huong ward",
             "tier": "commune"},
        ]},
        {"sources": {"law": "Luật Lý lịch tư pháp 2009"}, "procedures": procedures},
    )


def create_applicant(**overrides: str) -> dict[str, str]:
    applicant = {
        "full_name": "Nguyễn Văn An",
        "id_number": "068090001234",
        "phone": "0912345678",
        "email": "an.nguyen@example.vn",
        "address": "12 Trần Phú, phường Xuân Hương - Đà Lạt, Lâm Đồng",
    }
    applicant.update(overrides)
    return applicant


def create_submission(procedure_code: str = "2.000488", documents: list[dict[str, str]] | None = None,
                      **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "procedure_code": procedure_code,
        "applicant": create_applicant(),
        "form": {"purpose": "Xin việc làm", "birth_date": "1990-05-17"},
        "documents": documents or [],
    }
    body.update(overrides)
    return body


def create_procedure(code: str = "2.000488", **options: Any) -> Procedure:
    """A ``Procedure`` domain object built from :func:`create_procedure_dict` (same options)."""
    return procedure_from_dict(create_procedure_dict(code, **options))


def create_upload_request(**overrides: Any) -> dict[str, Any]:
    """A ``POST /uploads`` body."""
    body: dict[str, Any] = {"filename": "Tờ khai.pdf", "content_type": "application/pdf", "size": 1024}
    body.update(overrides)
    return body


# Thursday 26 November 2026 09:00 in Vietnam; due Thursday 10 December 2026 at 17:00 there.
SAMPLE_SUBMITTED_AT = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
SAMPLE_DUE_AT = datetime(2026, 12, 10, 10, 0, tzinfo=UTC)


def create_dossier(status: DossierStatus = DossierStatus.RECEIVED, **overrides: Any) -> Dossier:
    """A 2.000488 dossier received at the province desk (any field overridable)."""
    fields: dict[str, Any] = {
        "code": f"{DESK}-261126-0001", "procedure_code": "2.000488",
        "procedure_name": "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam", "agency_code": DESK,
        "owner": "citizen-sub-1", "applicant": create_applicant(),
        "form": {"purpose": "Xin việc làm", "birth_date": "1990-05-17"},
        "documents": (DocumentRef("to_khai", "upload-1"),), "status": status,
        "submitted_at": SAMPLE_SUBMITTED_AT, "due_at": SAMPLE_DUE_AT, "updated_at": SAMPLE_SUBMITTED_AT,
        "fee_vnd": 200000, "fee_status": "unpaid",
    }
    fields.update(overrides)
    return Dossier(**fields)


def create_task(**overrides: Any) -> Task:
    """The desk's open reception task on the sample dossier (any field overridable)."""
    fields: dict[str, Any] = {
        "task_id": "task-1", "dossier_code": f"{DESK}-261126-0001", "step_index": 0, "kind": "reception",
        "role": "lead", "agency_code": DESK, "status": "open", "opened_at": SAMPLE_SUBMITTED_AT,
        "due_at": SAMPLE_DUE_AT,
    }
    fields.update(overrides)
    return Task(**fields)


def create_staff_read(*dossier_codes: str, **overrides: Any) -> StaffRead:
    """The desk's key reading these dossiers (the sample dossier by default) in a decision's answer."""
    fields: dict[str, Any] = {
        "read_id": "read-1", "at": SAMPLE_SUBMITTED_AT, "agency_code": DESK, "key_id": "key-1",
        "action": "decision", "dossier_codes": dossier_codes or (f"{DESK}-261126-0001",),
    }
    fields.update(overrides)
    return StaffRead(**fields)
