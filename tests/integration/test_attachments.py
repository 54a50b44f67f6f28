"""A dossier's attached documents: the owner and the agencies on its route download them through
short-lived links, each staff download audited; a file replaced since the submission is not served."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import requests

from chalicelib.services.deps import get_store
from tests.factories import COMMUNE, DESK, JUSTICE, create_submission
from tests.integration.route_support import Agencies
from tests.integration.test_dossiers_api import body_of, call, create_uploaded_file

DECLARATION = b"%PDF-1.4 to khai cua cong dan"


def document_of(api: Any, code: str, upload_id: str, token: str | None) -> Any:
    return call(api, "GET", f"/dossiers/{code}/documents/{upload_id}", token)


def submitted_with_ticket(api: Any, token: str) -> tuple[str, dict[str, Any]]:
    """A dossier whose one document was uploaded with the ticket returned (still valid)."""
    ticket = body_of(call(api, "POST", "/uploads", token, {"filename": "Tờ khai.pdf",
                                                           "content_type": "application/pdf",
                                                           "size": len(DECLARATION)}))
    sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("Tờ khai.pdf", DECLARATION)},
                         timeout=10)
    assert sent.status_code in (200, 201, 204)
    created = call(api, "POST", "/dossiers", token,
                   create_submission(documents=[{"document_id": "to_khai", "upload_id": ticket["upload_id"]}]))
    assert created.status_code == 201, created.body
    return str(body_of(created)["code"]), ticket


def test_the_owner_and_the_agencies_on_the_route_get_the_file_as_submitted(
        api: Any, sample_catalogue: None, sample_token: str, other_token: str, frozen_clock: datetime,
        agencies: Agencies) -> None:
    code, ticket = submitted_with_ticket(api, sample_token)
    upload_id = ticket["upload_id"]
    own = document_of(api, code, upload_id, sample_token)
    assert own.status_code == 200, own.body
    link = body_of(own)
    assert {k: link[k] for k in ("document_id", "upload_id", "filename", "content_type", "size")} == {
        "document_id": "to_khai", "upload_id": upload_id, "filename": "Tờ khai.pdf",
        "content_type": "application/pdf", "size": len(DECLARATION)}
    assert datetime.fromisoformat(link["expires_at"]) == frozen_clock.replace(minute=15)
    assert requests.get(link["url"], timeout=10).content == DECLARATION
    assert get_store().audit_trail(code) == []  # the owner's own file: not a staff read

    for agency in (DESK, JUSTICE):  # the desk and the next agency of the route
        staff = document_of(api, code, upload_id, agencies.key(agency))
        assert staff.status_code == 200, staff.body
        assert requests.get(body_of(staff)["url"], timeout=10).content == DECLARATION
    trail = get_store().audit_trail(code)
    assert [(line.agency_code, line.action) for line in trail] == [(DESK, "document_download"),
                                                                   (JUSTICE, "document_download")]

    other_upload = create_uploaded_file(api, sample_token)  # the owner's, but not this dossier's
    for path_code, path_upload, token in ((code, upload_id, other_token), (code, upload_id, agencies.key(COMMUNE)),
                                          (code, other_upload, sample_token), (code, "nope", sample_token),
                                          (f"{DESK}-261126-9999", upload_id, sample_token),
                                          ("not-a-code", upload_id, sample_token), (code, "x" * 65, sample_token)):
        refused = document_of(api, path_code, path_upload, token)
        assert refused.status_code == 404, (path_code, path_upload, refused.body)
        assert body_of(refused)["error"]["code"] == "document_not_found"
    assert document_of(api, code, upload_id, None).status_code == 401
    assert len(get_store().audit_trail(code)) == 2  # refusals are not reads


def test_a_file_replaced_with_its_ticket_after_the_submission_is_not_served(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    code, ticket = submitted_with_ticket(api, sample_token)
    swapped = b"%PDF-1.4 another declaration"
    sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("Tờ khai.pdf", swapped)}, timeout=10)
    assert sent.status_code in (200, 201, 204)  # S3 takes it: the ticket is still valid
    for token in (sample_token, agencies.key(DESK)):
        refused = document_of(api, code, ticket["upload_id"], token)
        assert refused.status_code == 409, refused.body
        error = json.loads(refused.body)["error"]
        assert error["code"] == "document_changed" and error["message"].startswith("Tệp đã bị thay đổi")
    assert get_store().audit_trail(code) == []


def test_a_file_whose_arrival_s3_reported_is_served_when_unchanged(
        api: Any, aws: dict[str, str], sample_catalogue: None, sample_token: str, frozen_clock: datetime) -> None:
    """The ETag recorded from S3's event (not from a HeadObject at submission) is the object's."""
    from tests.integration.test_uploads_stored import handle_upload_events

    upload_id = create_uploaded_file(api, sample_token, DECLARATION)
    assert handle_upload_events(aws) == 1
    stored = get_store().get_upload(upload_id)
    assert stored is not None and stored.stored_etag
    created = call(api, "POST", "/dossiers", sample_token,
                   create_submission(documents=[{"document_id": "to_khai", "upload_id": upload_id}]))
    assert created.status_code == 201
    served = document_of(api, body_of(created)["code"], upload_id, sample_token)
    assert served.status_code == 200, served.body
    assert requests.get(body_of(served)["url"], timeout=10).content == DECLARATION
