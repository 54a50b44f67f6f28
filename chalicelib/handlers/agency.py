"""The agency API: an agency's inbox, its decisions, heartbeats on long tasks."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib import presenters
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.tasks import parse_decision
from chalicelib.handlers.http import api_route, bearer_token, current_agency, json_body, page_limit, query_params

# The services are imported by the views that call them: the public API's cold start (a
# procedure page) does not load the routing and its webhooks, queues and Step Functions.
bp = Blueprint(__name__)


@api_route(bp, "/agency/tasks", methods=["GET"])
def list_tasks() -> dict[str, Any]:
    from chalicelib.services import routing

    request = bp.current_request
    agency = current_agency(request)
    params = query_params(request, {"status", "cursor", "limit"})
    items, cursor = routing.inbox(agency.agency_code, agency.key_id, params.get("status") or "open",
                                  cursor=params.get("cursor"), limit=page_limit(params))
    return {"items": [presenters.agency_task(task, dossier) for task, dossier in items], "next_cursor": cursor}


@api_route(bp, "/agency/tasks/{task_id}/decision", methods=["POST"])
def decide(task_id: str) -> dict[str, Any]:
    from chalicelib.services import routing
    from chalicelib.services.agency_auth import authenticate_agency_on_seen_task, refused_as_a_bad_key_if_revoked

    request = bp.current_request
    # The key and the task in one read (the task counts only once the key is good), or none if
    # this container has just shown the agency the task.
    agency, found, remembered = authenticate_agency_on_seen_task(bearer_token(request), task_id)
    with refused_as_a_bad_key_if_revoked(remembered):
        query_params(request, set())
        decision = parse_decision(json_body(request))
    # (decide_task reads a remembered key again itself before any refusal of its own.)
    task, dossier = routing.decide_task(agency.agency_code, agency.key_id, task_id, decision, found=found,
                                        remembered=remembered)
    return presenters.agency_task(task, dossier)


@api_route(bp, "/agency/tasks/{task_id}/heartbeat", methods=["POST"])
def heartbeat(task_id: str) -> dict[str, Any]:
    from chalicelib.services import routing
    from chalicelib.services.agency_auth import authenticate_agency_on_task

    request = bp.current_request
    agency, found = authenticate_agency_on_task(bearer_token(request), task_id)
    query_params(request, set())
    body = json_body(request, required=False)
    if body:
        raise InvalidInput(f"Trường không được chấp nhận / Unknown field: {sorted(body)[0]}",
                           code="validation_failed", field=sorted(body)[0])
    task = routing.heartbeat(agency.agency_code, task_id, found=found)
    return {"task_id": task.task_id, "status": task.status}
