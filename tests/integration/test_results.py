"""Results returned online (issue 4): the last step's agency uploads the result through a
presigned POST bound to the dossier, approves with it, and the owner downloads it through a
short-lived presigned GET; the first download records the result as returned (10).

moto enforces neither the POST policy nor the GET expiry, so the tests read what the API
generates, as S3 would."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import requests

from chalicelib.config import get_settings
from chalicelib.domain.uploads import Upload
from chalicelib.services.deps import get_store
from tests.factories import (
    COMMUNE,
    DESK,
    JUSTICE,
    create_catalogue,
    create_interagency_procedure_dict,
)
from tests.integration.route_support import (
    PDF,
    RESULT,
    Agencies,
    approve,
    at_last_step,
    dossier_status,
    execution_status,
    post_json,
    pump,
    submit,
    ticket_for,
    uploaded,
)


def get_result(api: Any, code: str, key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return api.http.get(f"/dossiers/{code}/result", headers=headers)


def error_field(response: Any) -> str:
    return str(json.loads(response.body)["error"]["details"][0]["field"])


def test_the_result_travels_from_the_agency_to_the_owner(
    api: Any, sample_catalogue: None, sample_token: str, other_token: str, frozen_clock: datetime,
    agencies: Agencies,
) -> None:
    code, task = at_last_step(api, sample_token, agencies)
    # Nothing to download before the result.
    assert get_result(api, code, sample_token).status_code == 404

    # The last agency asks for a ticket with its key: the policy binds size, type and the dossier's prefix.
    response = ticket_for(api, agencies.key(JUSTICE), code)
    assert response.status_code == 201, response.body
    ticket = json.loads(response.body)
    fields = ticket["fields"]
    conditions = json.loads(base64.b64decode(fields["policy"]))["conditions"]
    assert ["content-length-range", len(RESULT), len(RESULT)] in conditions
    assert {"Content-Type": PDF} in conditions
    assert ["starts-with", "$key", f"results/{code}/"] in conditions
    assert {"key": fields["key"]} in conditions
    assert fields["key"] == f"results/{code}/{ticket['upload_id']}/Phieu-ly-lich-tu-phap.pdf"
    upload = get_store().get_upload(ticket["upload_id"])
    assert upload is not None and upload.owner == f"agency:{JUSTICE}" and upload.dossier_code == code
    sent = requests.post(ticket["url"], data=fields, files={"file": ("r.pdf", RESULT)}, timeout=10)
    assert sent.status_code in (200, 201, 204)

    decided = approve(api, agencies, JUSTICE, task["task_id"], ticket["upload_id"])
    assert decided.status_code == 200, decided.body
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert dossier_status(code) == 9
    stored = get_store().get_upload(ticket["upload_id"])
    assert stored is not None and stored.attached

    # The dossier says there is a result, not where it is stored.
    detail = api.http.get(f"/dossiers/{code}", headers={"Authorization": f"Bearer {sample_token}"})
    assert json.loads(detail.body)["result"] == {"filename": "Phiếu lý lịch tư pháp.pdf", "content_type": PDF,
                                                 "available": True}
    assert b"results/" not in detail.body

    # Nobody but the owner gets a link; nothing is audited for them. (The agencies' inbox pages and
    # decisions are on the trail already.)
    def downloads() -> list[tuple[str, str]]:
        return [(line.agency_code, line.action) for line in get_store().audit_trail(code)
                if line.action not in ("inbox", "decision")]

    assert downloads() == []
    lines = len(get_store().audit_trail(code))
    assert get_result(api, code, other_token).status_code == 404
    assert get_result(api, code, None).status_code == 401
    for agency in (JUSTICE, DESK):
        refused = get_result(api, code, agencies.key(agency))
        assert refused.status_code == 404
        assert json.loads(refused.body)["error"]["code"] == "result_not_found"
    assert len(get_store().audit_trail(code)) == lines

    first = get_result(api, code, sample_token)
    assert first.status_code == 200, first.body
    link = json.loads(first.body)
    assert set(link) == {"url", "expires_at"}
    query = parse_qs(urlparse(link["url"]).query)
    assert 0 < int(query["X-Amz-Expires"][0]) <= 900
    assert datetime.fromisoformat(link["expires_at"]) == frozen_clock.replace(minute=15)
    disposition = query["response-content-disposition"][0]
    assert disposition.startswith('attachment; filename="Phieu-ly-lich-tu-phap.pdf"')
    assert "filename*=UTF-8''Phi%E1%BA%BFu" in disposition
    download = requests.get(link["url"], timeout=10)
    assert download.status_code == 200
    assert download.content == RESULT

    dossier = get_store().get_dossier(code)
    assert dossier is not None and int(dossier.status) == 10
    returned = [e for e in dossier.history if e.action == "return_result"]
    assert [(e.actor, int(e.from_status or 0), int(e.to_status)) for e in returned] == [("citizen", 9, 10)]
    assert downloads() == [("citizen", "result_download")]

    # A second download: still 10, logged once, audited again.
    second = get_result(api, code, sample_token)
    assert second.status_code == 200
    assert requests.get(json.loads(second.body)["url"], timeout=10).content == RESULT
    dossier = get_store().get_dossier(code)
    assert dossier is not None and int(dossier.status) == 10
    assert [e.action for e in dossier.history].count("return_result") == 1
    assert downloads() == [("citizen", "result_download")] * 2
    detail_after = json.loads(api.http.get(f"/dossiers/{code}",
                                           headers={"Authorization": f"Bearer {sample_token}"}).body)
    assert detail_after["status_code"] == 10 and detail_after["result"]["available"] is True


def test_a_paper_result_needs_no_upload(api: Any, sample_catalogue: None, sample_token: str,
                                        frozen_clock: datetime, agencies: Agencies) -> None:
    code, task = at_last_step(api, sample_token, agencies)
    assert approve(api, agencies, JUSTICE, task["task_id"], None).status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert dossier_status(code) == 9
    detail = json.loads(api.http.get(f"/dossiers/{code}", headers={"Authorization": f"Bearer {sample_token}"}).body)
    assert detail["result"] is None
    assert get_result(api, code, sample_token).status_code == 404
    assert dossier_status(code) == 9


def test_a_result_that_does_not_fit_is_refused_and_changes_nothing(
    api: Any, sample_catalogue: None, sample_token: str, other_token: str, frozen_clock: datetime,
    agencies: Agencies,
) -> None:
    code, task = at_last_step(api, sample_token, agencies)
    other_code, other_task = at_last_step(api, other_token, agencies)
    justice = agencies.key(JUSTICE)
    settings = get_settings()

    # Another agency's upload for this dossier (written directly: that agency has no open task here).
    desk_upload = Upload(upload_id="d" * 32, owner=f"agency:{DESK}", filename="r.pdf", content_type=PDF,
                         size=len(RESULT), s3_key=f"results/{code}/{'d' * 32}/r.pdf", created_at=frozen_clock,
                         dossier_code=code)
    get_store().put_upload(desk_upload, expires_at=2_000_000_000)
    boto3.client("s3", region_name=settings.region).put_object(
        Bucket=settings.uploads_bucket, Key=desk_upload.s3_key, Body=RESULT, ContentType=PDF)
    # A citizen's upload.
    citizen_ticket = json.loads(post_json(api, "/uploads", sample_token,
                                          {"filename": "a.pdf", "content_type": PDF, "size": 4}).body)
    requests.post(citizen_ticket["url"], data=citizen_ticket["fields"], files={"file": ("a.pdf", b"%PDF")},
                  timeout=10)
    bad = {
        "another agency's": desk_upload.upload_id,
        "another dossier's": uploaded(api, justice, other_code),
        "a citizen's": citizen_ticket["upload_id"],
        "missing": "0" * 32,
        "never sent": json.loads(ticket_for(api, justice, code).body)["upload_id"],
        "wrong size": uploaded(api, justice, code, content=RESULT[:5]),
    }
    for why, upload_id in bad.items():
        response = approve(api, agencies, JUSTICE, task["task_id"], upload_id)
        assert response.status_code == 422, (why, response.body)
        assert error_field(response) == "result_upload_id", why
        assert json.loads(response.body)["error"]["code"] == "invalid_result", why
    assert dossier_status(code) == 4
    dossier = get_store().get_dossier(code)
    assert dossier is not None and dossier.result is None
    assert [t["task_id"] for t in agencies.inbox(JUSTICE) if t["dossier_code"] == code] == [task["task_id"]]
    assert get_result(api, code, sample_token).status_code == 404

    # The right one goes through; used once, it cannot serve another dossier.
    good = uploaded(api, justice, code)
    assert approve(api, agencies, JUSTICE, task["task_id"], good).status_code == 200
    assert dossier_status(code) == 9
    reused = approve(api, agencies, JUSTICE, other_task["task_id"], good)
    assert reused.status_code == 422 and error_field(reused) == "result_upload_id"
    assert dossier_status(other_code) == 4
    pump(lambda: execution_status(code) == "SUCCEEDED")


def test_only_the_last_step_carries_a_result(api: Any, aws: dict[str, str], sample_token: str,
                                             frozen_clock: datetime, agencies: Agencies) -> None:
    procedure = create_interagency_procedure_dict()
    get_store().put_catalogue(create_catalogue([procedure]))
    code = submit(api, sample_token, "LT.0001")
    desk_task = agencies.task_for(COMMUNE, code)
    at_desk = approve(api, agencies, COMMUNE, desk_task["task_id"], uploaded(api, agencies.key(COMMUNE), code))
    assert at_desk.status_code == 422
    assert agencies.decide(COMMUNE, desk_task["task_id"], "receive").status_code == 200
    middle = agencies.task_for(JUSTICE, code)
    assert middle["step"]["last"] is False
    response = approve(api, agencies, JUSTICE, middle["task_id"], uploaded(api, agencies.key(JUSTICE), code))
    assert response.status_code == 422, response.body
    assert error_field(response) == "result_upload_id"
    assert dossier_status(code) == 4
    assert [t["task_id"] for t in agencies.inbox(JUSTICE)] == [middle["task_id"]]
    assert agencies.decide(JUSTICE, middle["task_id"], "approve").status_code == 200
    last = agencies.task_for(DESK, code)
    assert approve(api, agencies, DESK, last["task_id"], uploaded(api, agencies.key(DESK), code)).status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert dossier_status(code) == 9


def test_agency_upload_tickets_only_for_its_open_dossiers(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    code = submit(api, sample_token, "2.000488")
    agencies.task_for(DESK, code)
    # Not on the route; on the route but nothing open yet; no such dossier: all 404.
    for agency, dossier_code in ((COMMUNE, code), (JUSTICE, code), (DESK, "000.00.21.H38-261126-9999"),
                                 (DESK, "nonsense")):
        response = ticket_for(api, agencies.key(agency), dossier_code)
        assert response.status_code == 404, (agency, dossier_code, response.body)
        assert json.loads(response.body)["error"]["code"] == "dossier_not_found"
    # An agency must name the dossier; a citizen may not.
    no_code = post_json(api, "/uploads", agencies.key(DESK), {"filename": "r.pdf", "content_type": PDF, "size": 3})
    assert no_code.status_code == 422 and error_field(no_code) == "dossier_code"
    citizen = post_json(api, "/uploads", sample_token, {"filename": "r.pdf", "content_type": PDF, "size": 3,
                                                        "dossier_code": code})
    assert citizen.status_code == 422 and error_field(citizen) == "dossier_code"
    too_big = ticket_for(api, agencies.key(DESK), code, size=get_settings().max_upload_bytes + 1)
    assert too_big.status_code == 422 and error_field(too_big) == "size"
    # The desk has the dossier open: it gets a ticket.
    assert ticket_for(api, agencies.key(DESK), code).status_code == 201
