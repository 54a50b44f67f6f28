"""A dossier's files as short-lived links to the stored file (``{url, expires_at}``): the
citizen's printable documents (receipt slip 01, the result notice, as PDF) and the documents the
citizen attached (for the owner and the agencies on the route)."""

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



@api_route(bp, "/dossiers/{code}/documents/{upload_id}", methods=["GET"])
def get_attachment(code: str, upload_id: str) -> dict[str, Any]:
    from chalicelib.services import attachments
    from chalicelib.services.agency_auth import AgencyPrincipal

    request = bp.current_request
    caller = current_citizen_or_agency(request)
    query_params(request, set())
    if isinstance(caller, AgencyPrincipal):
        link = attachments.attachment_link(code, upload_id, agency_code=caller.agency_code, key_id=caller.key_id)
    else:
        link = attachments.attachment_link(code, upload_id, owner=caller.sub)
    return {"document_id": link.document_id, "upload_id": link.upload.upload_id, "filename": link.upload.filename,
            "content_type": link.upload.content_type, "size": link.upload.size, "url": link.url,
            "expires_at": local_time(link.expires_at)}
