"""The citizen's printable documents: receipt slip 01 and the result notice as PDF,
answered as a short-lived link to the stored file (``{url, expires_at}``)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.handlers.http import api_route, current_citizen_or_agency, query_params
from chalicelib.handlers.presenters import local_time
from chalicelib.services import slip_pdfs
from chalicelib.services.agency_auth import AgencyPrincipal

bp = Blueprint(__name__)


def _link(link: slip_pdfs.DocumentLink) -> dict[str, Any]:
    return {"url": link.url, "expires_at": local_time(link.expires_at)}


@api_route(bp, "/dossiers/{code}/receipt", methods=["GET"])
def get_receipt(code: str) -> dict[str, Any]:
    request = bp.current_request
    caller = current_citizen_or_agency(request)
    query_params(request, set())
    if isinstance(caller, AgencyPrincipal):
        # The owner's copy: to anyone else it does not exist.
        raise slip_pdfs.not_found_receipt(code)
    return _link(slip_pdfs.receipt_link(caller.sub, code))


@api_route(bp, "/dossiers/{code}/result-notice", methods=["GET"])
def get_result_notice(code: str) -> dict[str, Any]:
    request = bp.current_request
    caller = current_citizen_or_agency(request)
    query_params(request, set())
    if isinstance(caller, AgencyPrincipal):
        raise slip_pdfs.not_found_result_notice(code)
    return _link(slip_pdfs.result_notice_link(caller.sub, code))

