"""The agency API: an agency's inbox, its decisions, heartbeats on long tasks."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.tasks import parse_decision
from chalicelib.handlers import presenters
from chalicelib.handlers.http import api_route, current_agency, json_body, page_limit, query_params
from chalicelib.services import routing
from chalicelib.services.deps import get_store

bp = Blueprint(__name__)


@api_route(bp, "/agency/tasks", methods=["GET"])
def list_tasks() -> dict[str, Any]:
    request = bp.current_request
    agency = current_agency(request)
    params = query_params(request, {"status", "cursor", "limit"})
    items, cursor = routing.inbox(agency.agency_code, params.get("status") or "open", cursor=params.get("cursor"),
                                  limit=page_limit(params))
    return {"items": [presenters.agency_task(task, dossier) for task, dossier in items], "next_cursor": cursor}


@api_route(bp, "/agency/tasks/{task_id}/decision", methods=["POST"])
def decide(task_id: str) -> dict[str, Any]:
    request = bp.current_request
    agency = current_agency(request)
    query_params(request, set())
    task = routing.decide_task(agency.agency_code, task_id, parse_decision(json_body(request)))
    dossier = get_store().get_dossier(task.dossier_code)
    assert dossier is not None
    return presenters.agency_task(task, dossier)


@api_route(bp, "/agency/tasks/{task_id}/heartbeat", methods=["POST"])
def heartbeat(task_id: str) -> dict[str, Any]:
    request = bp.current_request
    agency = current_agency(request)
    query_params(request, set())
    body = json_body(request, required=False)
    if body:
        raise InvalidInput(f"Trường không được chấp nhận / Unknown field: {sorted(body)[0]}",
                           code="validation_failed", field=sorted(body)[0])
    task = routing.heartbeat(agency.agency_code, task_id)
    return {"task_id": task.task_id, "status": task.status}
