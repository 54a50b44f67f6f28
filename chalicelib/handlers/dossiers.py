"""Citizen dossiers: uploads, submission, own dossiers, withdrawal, public tracking."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import presenters
from chalicelib.domain.dossiers import parse_withdrawal
from chalicelib.domain.errors import NotFound
from chalicelib.handlers.http import (
    api_route,
    current_citizen,
    current_citizen_or_agency,
    json_body,
    json_response,
    page_limit,
    query_params,
)

# The services are imported by the views that call them: a cold container serving one route
# (a procedure page, a tracking lookup) loads that route's code only.
bp = Blueprint(__name__)


@api_route(bp, "/uploads", methods=["POST"])
def create_upload() -> Response:
    from chalicelib.services import uploads
    from chalicelib.services.agency_auth import AgencyPrincipal

    request = bp.current_request
    caller = current_citizen_or_agency(request)
    query_params(request, set())
    if isinstance(caller, AgencyPrincipal):
        ticket = uploads.create_agency_upload(caller.agency_code, json_body(request))
    else:
        ticket = uploads.create_upload(caller.sub, json_body(request))
    return json_response(presenters.upload_ticket(ticket), status_code=201)


@api_route(bp, "/dossiers", methods=["POST"])
def submit_dossier() -> Response:
    from chalicelib.services import dossiers

    request = bp.current_request
    citizen = current_citizen(request)
    query_params(request, set())
    dossier = dossiers.submit_dossier(citizen.sub, json_body(request))
    return json_response(presenters.dossier_receipt(dossier), status_code=201,
                         headers={"Location": f"/dossiers/{dossier.code}"})


@api_route(bp, "/dossiers", methods=["GET"])
def list_dossiers() -> dict[str, Any]:
    from chalicelib.services import dossiers

    request = bp.current_request
    citizen = current_citizen(request)
    params = query_params(request, {"cursor", "limit"})
    page = dossiers.list_own_dossiers(citizen.sub, cursor=params.get("cursor"), limit=page_limit(params))
    return {"items": [presenters.dossier_summary(d) for d in page.items], "next_cursor": page.next_cursor}


@api_route(bp, "/dossiers/{code}", methods=["GET"])
def get_dossier(code: str) -> dict[str, Any]:
    from chalicelib.services import dossiers
    from chalicelib.services.agency_auth import AgencyPrincipal

    request = bp.current_request
    caller = current_citizen_or_agency(request)
    query_params(request, set())
    if isinstance(caller, AgencyPrincipal):
        return presenters.dossier_detail(dossiers.get_dossier_for_staff(caller.agency_code, caller.key_id, code))
    return presenters.dossier_detail(dossiers.get_own_dossier(caller.sub, code))


@api_route(bp, "/dossiers/{code}/result", methods=["GET"])
def get_result(code: str) -> dict[str, Any]:
    from chalicelib.services import results
    from chalicelib.services.agency_auth import AgencyPrincipal

    request = bp.current_request
    caller = current_citizen_or_agency(request)
    query_params(request, set())
    if isinstance(caller, AgencyPrincipal):
        # Only the owner gets a link; to anyone else the result does not exist.
        raise NotFound(f"Không có kết quả cho hồ sơ {code} / No result for dossier {code}", code="result_not_found")
    return presenters.result_link(results.result_link(caller.sub, code))


@api_route(bp, "/dossiers/{code}/withdraw", methods=["POST"])
def withdraw_dossier(code: str) -> dict[str, Any]:
    from chalicelib.services import dossiers

    request = bp.current_request
    citizen = current_citizen(request)
    query_params(request, set())
    reason = parse_withdrawal(json_body(request, required=False))
    return presenters.dossier_detail(dossiers.withdraw_dossier(citizen.sub, code, reason))


@api_route(bp, "/dossiers/{code}/supplement", methods=["POST"])
def supplement_dossier(code: str) -> dict[str, Any]:
    from chalicelib.services import dossiers

    request = bp.current_request
    citizen = current_citizen(request)
    query_params(request, set())
    return presenters.dossier_detail(dossiers.supplement_dossier(citizen.sub, code, json_body(request)))


@api_route(bp, "/dossiers/{code}/rating", methods=["POST"])
def rate_dossier(code: str) -> Response:
    from chalicelib.services import dossiers

    request = bp.current_request
    citizen = current_citizen(request)
    query_params(request, set())
    dossier = dossiers.rate_dossier(citizen.sub, code, json_body(request))
    return json_response(presenters.rating(dossier), status_code=201)


@api_route(bp, "/track/{code}", methods=["GET"])
def track(code: str) -> dict[str, Any]:
    from chalicelib.services import dossiers

    query_params(bp.current_request, set())
    return presenters.dossier_tracking(*dossiers.track_dossier(code))


@api_route(bp, "/track/{code}/qr", methods=["GET"])
def track_qr(code: str) -> Response:
    from chalicelib.services import dossiers

    query_params(bp.current_request, set())
    # Public like the tracker it points at; the same for everyone, so caches may keep it.
    return Response(body=dossiers.tracker_qr(code), status_code=200,
                    headers={"Content-Type": "image/svg+xml; charset=utf-8", "Cache-Control": "public, max-age=86400"})
