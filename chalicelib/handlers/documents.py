"""The citizen's printable documents: receipt slip 01 and the result notice as PDF,
answered as a short-lived link to the stored file (``{url, expires_at}``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib.handlers.http import api_route, current_citizen_or_agency, query_params
from chalicelib.presenters import local_time

if TYPE_CHECKING:
    from chalicelib.services.slip_pdfs import DocumentLink

# services.slip_pdfs (fpdf2, segno behind it) loads with the first document asked for.
bp = Blueprint(__name__)


def _link(link: DocumentLink) -> dict[str, Any]:
    return {"url": link.url, "expires_at": local_time(link.expires_at)}


@api_route(bp, "/dossiers/{code}/receipt", methods=["GET"])
def get_receipt(code: str) -> dict[str, Any]:
    from chalicelib.services import slip_pdfs
    from chalicelib.services.agency_auth import AgencyPrincipal

    request = bp.current_request
    caller = current_citizen_or_agency(request)
    query_params(request, set())
    if isinstance(caller, AgencyPrincipal):
        # The owner's copy: to anyone else it does not exist.
        raise slip_pdfs.not_found_receipt(code)
    return _link(slip_pdfs.receipt_link(caller.sub, code))


@api_route(bp, "/dossiers/{code}/result-notice", methods=["GET"])
def get_result_notice(code: str) -> dict[str, Any]:
    from chalicelib.services import slip_pdfs
    from chalicelib.services.agency_auth import AgencyPrincipal

    request = bp.current_request
    caller = current_citizen_or_agency(request)
    query_params(request, set())
    if isinstance(caller, AgencyPrincipal):
        raise slip_pdfs.not_found_result_notice(code)
    return _link(slip_pdfs.result_notice_link(caller.sub, code))

