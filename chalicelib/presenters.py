"""Domain objects → the public contract's JSON shapes: the API's answers (handlers) and the bodies of
the webhooks sent to agencies (services/webhooks.py), so neither layer imports the other for them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.calendar import VN_TZ

if TYPE_CHECKING:
    # Types only: each blueprint imports the services it calls, so that serving one route
    # (a cold procedure page) does not load the others'. services.results imports
    # services.dossiers, which leads back here.
    from chalicelib.domain.catalogue import Procedure
    from chalicelib.domain.dossiers import Dossier, LogEntry, OpenStepTask
    from chalicelib.domain.slips import Slip
    from chalicelib.domain.tasks import Task
    from chalicelib.services.catalogue import ProcedureDetail
    from chalicelib.services.results import ResultLink
    from chalicelib.services.uploads import UploadTicket


def local_time(value: datetime | None) -> str | None:
    """Instants are shown in Vietnam's time, with the offset, to the second."""
    return value.astimezone(VN_TZ).isoformat(timespec="seconds") if value else None


def agency_summary(agency: Mapping[str, Any]) -> dict[str, Any]:
    """What the public may know of an agency (from the catalogue summary): never its webhook address."""
    return {"code": agency["agency_code"], "name": agency["name"], "name_en": agency.get("name_en", ""),
            "tier": agency["tier"], "parent_code": agency.get("parent_code"),
            "procedures": int(agency.get("procedures", 0))}


def procedure_summary(procedure: Procedure) -> dict[str, Any]:
    return {
        "code": procedure.code,
        "name": procedure.name,
        "name_en": procedure.name_en,
        "field": procedure.field,
        "level": procedure.level,
        "tier": procedure.tier,
        "agency_code": procedure.agency_code,
        "fee_vnd": procedure.fee_vnd,
        "processing_days": procedure.processing_days,
        "interagency": procedure.interagency,
        "online_submission": procedure.accepts_online_submission,
    }


def procedure_detail(detail: ProcedureDetail) -> dict[str, Any]:
    procedure = detail.procedure

    def agency_name(code: str) -> str:
        agency = detail.agencies.get(code)
        return agency.name if agency else code

    route = []
    for step in procedure.route:
        route.append({
            "kind": step.kind,
            "agency_code": step.agency_code,
            "name": agency_name(step.agency_code),
            "days": step.days,
            "parallel": [{"agency_code": b.agency_code, "name": agency_name(b.agency_code), "days": b.days}
                         for b in step.parallel],
        })
    return {
        **procedure_summary(procedure),
        "agency_name": agency_name(procedure.agency_code),
        "form_schema": procedure.form_schema,
        "required_documents": [{"id": d.id, "name": d.name, "required": d.required}
                               for d in procedure.required_documents],
        "templates": [{"name": name, "url": url, "expires_at": local_time(detail.templates_expire_at)}
                      for name, url in detail.template_urls],
        "route": route,
        "legal_basis": list(procedure.legal_basis),
        "source_titles": dict(procedure.source_titles),
        "fee_exemptions": [{"category": e.category, "name": e.name, "legal_basis": e.legal_basis}
                           for e in procedure.fee_exemptions],
    }


def upload_ticket(ticket: UploadTicket) -> dict[str, Any]:
    return {
        "upload_id": ticket.upload.upload_id,
        "url": ticket.url,
        "fields": ticket.fields,
        "expires_at": local_time(ticket.expires_at),
    }


def _status(dossier: Dossier) -> dict[str, Any]:
    return {
        "status": dossier.status.slug,
        "status_code": int(dossier.status),
        "status_label": {"vi": dossier.status.label_vi, "en": dossier.status.label_en},
    }


def dossier_receipt(dossier: Dossier) -> dict[str, Any]:
    return {
        "code": dossier.code,
        **_status(dossier),
        "submitted_at": local_time(dossier.submitted_at),
        "due_at": local_time(dossier.due_at),
    }


def dossier_summary(dossier: Dossier) -> dict[str, Any]:
    return {
        **dossier_receipt(dossier),
        "procedure_code": dossier.procedure_code,
        "procedure_name": dossier.procedure_name,
        "updated_at": local_time(dossier.updated_at),
        "overdue": dossier.overdue,
    }


def _history(entry: LogEntry) -> dict[str, Any]:
    return {
        "at": local_time(entry.at),
        "action": entry.action,
        "status": entry.to_status.slug,
        "status_code": int(entry.to_status),
        "from_status_code": int(entry.from_status) if entry.from_status is not None else None,
        "actor": entry.actor,
        "note": entry.note,
    }


def dossier_detail(dossier: Dossier) -> dict[str, Any]:
    return {
        **dossier_summary(dossier),
        "agency_code": dossier.agency_code,
        "received_at": local_time(dossier.received_at),
        "fee": _fee(dossier),
        "applicant": dossier.applicant,
        "form": dossier.form,
        "documents": [{"document_id": d.document_id, "upload_id": d.upload_id} for d in dossier.documents],
        "history": [_history(entry) for entry in dossier.history],
        "slips": [_slip(slip) for slip in dossier.slips],
        "result": _result(dossier),
        "rating": rating(dossier),
    }


def rating(dossier: Dossier) -> dict[str, Any] | None:
    if dossier.rating is None:
        return None
    return {"score": dossier.rating.score, "comment": dossier.rating.comment,
            "rated_at": local_time(dossier.rating.rated_at)}


def _fee(dossier: Dossier) -> dict[str, Any]:
    exemption = dossier.fee_exemption
    return {
        "amount_vnd": dossier.fee_vnd,
        "status": dossier.fee_status,
        "exemption": {"category": exemption.category, "name": exemption.name} if exemption else None,
    }


def _result(dossier: Dossier) -> dict[str, Any] | None:
    """What the result is, never where it is stored: the owner asks GET /dossiers/{code}/result."""
    if dossier.result is None:
        return None
    return {"filename": dossier.result.filename, "content_type": dossier.result.content_type,
            "available": dossier.result_available}


def result_link(link: ResultLink) -> dict[str, Any]:
    return {"url": link.url, "expires_at": local_time(link.expires_at)}


def _slip(slip: Slip) -> dict[str, Any]:
    return {
        "number": f"{int(slip.number):02d}",
        "title": {"vi": slip.number.title_vi, "en": slip.number.title_en},
        "issued_at": local_time(slip.issued_at),
        "issued_by": slip.issued_by,
        "details": {key: (local_time(datetime.fromisoformat(value)) if key.endswith("_at") else value)
                    for key, value in slip.details.items()},
    }


def dossier_tracking(dossier: Dossier, open_tasks: Sequence[OpenStepTask | Task]) -> dict[str, Any]:
    """What anyone holding the code may see: no personal data, but where the dossier is
    and by when that step is due."""
    current = None
    if open_tasks:
        step = min(task.step_index for task in open_tasks)
        here = [task for task in open_tasks if task.step_index == step]
        current = {
            "index": step,
            "kind": here[0].kind,
            "agency_codes": sorted({task.agency_code for task in here}),
            "due_at": local_time(max(task.due_at for task in here)),
        }
    return {
        "code": dossier.code,
        "procedure_code": dossier.procedure_code,
        "procedure_name": dossier.procedure_name,
        **_status(dossier),
        "submitted_at": local_time(dossier.submitted_at),
        "due_at": local_time(dossier.due_at),
        "updated_at": local_time(dossier.updated_at),
        "overdue": dossier.overdue,
        "current_step": current,
    }


def agency_task(task: Task, dossier: Dossier) -> dict[str, Any]:
    """A task as its agency sees it; the agency is on the dossier's route, so it sees the dossier."""
    return {
        "task_id": task.task_id,
        "dossier_code": task.dossier_code,
        "procedure_code": dossier.procedure_code,
        "step": {"index": task.step_index, "kind": task.kind, "role": task.role, "last": task.last_step},
        "status": task.status,
        "opened_at": local_time(task.opened_at),
        "due_at": local_time(task.due_at),
        "overdue_count": task.overdue_count,
        "decision": task.decision,
        "note": task.note,
        "decided_at": local_time(task.decided_at),
        "dossier": dossier_detail(dossier),
    }
