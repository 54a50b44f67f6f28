"""Public catalogue: web-front configuration and procedures."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, Response

from chalicelib import presenters
from chalicelib.config import get_settings
from chalicelib.domain.errors import InvalidInput
from chalicelib.handlers.http import api_route, int_param, json_response, page_limit, query_params
from chalicelib.services import catalogue

bp = Blueprint(__name__)


@api_route(bp, "/config", methods=["GET"])
def get_config() -> dict[str, Any]:
    query_params(bp.current_request, set())
    settings = get_settings()
    cognito: dict[str, Any] = {
        "region": settings.region,
        "user_pool_id": settings.cognito_user_pool_id,
        "client_id": settings.cognito_client_id,
    }
    if settings.cognito_endpoint:
        cognito["endpoint"] = settings.cognito_endpoint
    policy = catalogue.password_policy()
    if policy is not None:
        cognito["password_policy"] = policy
    stripe: dict[str, Any] = {"publishable_key": settings.stripe_publishable_key}
    if settings.stripe_api_base:
        stripe["api_base"] = settings.stripe_api_base
    if settings.stripe_js_url:
        stripe["js_url"] = settings.stripe_js_url
    return {
        "province": {"code": settings.province, "name": settings.province_name},
        "cognito": cognito,
        "stripe": stripe,
    }


@api_route(bp, "/procedures", methods=["GET"])
def list_procedures() -> dict[str, Any]:
    params = query_params(bp.current_request, {"level", "tier", "agency", "q", "cursor", "limit"})
    q = params.get("q")
    if q is not None and len(q) > 100:
        raise InvalidInput("Từ khóa quá dài / Search text too long", code="invalid_parameter", field="q")
    filters = catalogue.ProcedureFilters(
        level=int_param(params, "level", minimum=1, maximum=4),
        tier=params.get("tier") or None,
        agency_code=params.get("agency") or None,
        query=q or None,
    )
    page = catalogue.list_procedures(filters, cursor=params.get("cursor"), limit=page_limit(params))
    return {"items": [presenters.procedure_summary(p) for p in page.items], "next_cursor": page.next_cursor}


@api_route(bp, "/procedures/{code}", methods=["GET"])
def get_procedure(code: str) -> dict[str, Any]:
    query_params(bp.current_request, set())
    return presenters.procedure_detail(catalogue.procedure_detail(code))


@api_route(bp, "/agencies", methods=["GET"])
def list_agencies() -> dict[str, Any]:
    query_params(bp.current_request, set())
    return {"items": [presenters.agency_summary(a) for a in catalogue.list_agencies()]}


@api_route(bp, "/stats", methods=["GET"])
def get_stats() -> Response:
    from chalicelib.services import stats

    global _stats_text
    params = query_params(bp.current_request, {"month"})
    body = stats.statistics(params.get("month") or None)
    memo = _stats_text
    if memo is None or memo[0] is not body:
        memo = (body, json.dumps(body, separators=(",", ":")))  # as chalice writes a dict
        _stats_text = memo
    return json_response(memo[1])


# The last statistics report served and its JSON text: a report the stats service remembers is the
# same object until its rows are read again, and is not written out again on every request.
_stats_text: tuple[dict[str, Any], str] | None = None
