"""Object-level authorization (OWASP API1/API5): every dossier-scoped operation of the public
contract, tried by callers who have no business with the dossier.

- another citizen, and an agency that is not on the dossier's route: 404, as for a dossier
  that does not exist, whatever the operation (reads, writes, documents, payment);
- a caller with the wrong kind of credential for a citizen-only operation (an agency key):
  401 or 404, never the dossier's data (the answer does not depend on the dossier);
- nobody at all: 401.
Operations are enumerated from the OpenAPI document, so a new dossier-scoped route is covered
without touching this test. Public tracking (/track/...) is meant for anyone and shows no
personal data; it is checked for that instead."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from chalicelib.handlers.openapi_document import document
from tests.factories import COMMUNE, DESK, JUSTICE, create_applicant
from tests.integration.route_support import Agencies, submit

PUBLIC = {"/track/{code}", "/track/{code}/qr"}
METHODS = ("get", "post")


def dossier_operations() -> list[tuple[str, str, dict[str, Any]]]:
    spec = document()
    found = []
    for path, item in spec["paths"].items():
        if "{code}" not in path or path.startswith("/procedures") or path in PUBLIC:
            continue
        for method in METHODS:
            if method in item:
                found.append((path, method, item[method]))
    return found


def call(api: Any, method: str, path: str, key: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    body = json.dumps({"score": 5} if path.endswith("/rating") else {}) if method == "post" else None
    return api.http.request(method.upper(), path, headers=headers, body=body)


def leaks(response: Any) -> bool:
    """Whether an answer is a success or carries the applicant's personal data."""
    text = response.body.decode("utf-8") if isinstance(response.body, bytes) else str(response.body)
    applicant = create_applicant()
    return any(value in text for value in (applicant["id_number"], applicant["phone"], applicant["full_name"])) or (
        response.status_code < 400)


def test_the_document_has_the_dossier_operations_this_test_walks() -> None:
    walked = {(path, method) for path, method, _ in dossier_operations()}
    assert {("/dossiers/{code}", "get"), ("/dossiers/{code}/withdraw", "post"), ("/dossiers/{code}/payment", "post"),
            ("/dossiers/{code}/result", "get"), ("/dossiers/{code}/rating", "post"),
            ("/dossiers/{code}/supplement", "post"), ("/dossiers/{code}/receipt", "get")} <= walked


def test_no_one_but_the_owner_and_the_route_gets_anything_of_a_dossier(
    api: Any, sample_catalogue: None, sample_token: str, other_token: str, frozen_clock: datetime,
    subtests: Any,
) -> None:
    agencies = Agencies(api)
    code = submit(api, sample_token, "2.000488")  # route: DESK, then JUSTICE; COMMUNE is not on it
    outsider = agencies.key(COMMUNE)
    for path, method, operation in dossier_operations():
        concrete = path.replace("{code}", code)
        takes_agency_key = "agencyApiKey" in json.dumps(operation.get("security", []))
        with subtests.test(path=path, method=method, caller="other citizen"):
            response = call(api, method, concrete, other_token)
            assert response.status_code == 404, (response.status_code, response.body[:300])
            assert not leaks(response)
        with subtests.test(path=path, method=method, caller="agency off the route"):
            response = call(api, method, concrete, outsider)
            expected = (404,) if takes_agency_key else (401, 404)
            assert response.status_code in expected, (response.status_code, response.body[:300])
            assert not leaks(response)
        with subtests.test(path=path, method=method, caller="nobody"):
            response = call(api, method, concrete, None)
            assert response.status_code == 401, (response.status_code, response.body[:300])
    # The owner and an agency on the route do read it (the test above is not vacuous).
    assert call(api, "get", f"/dossiers/{code}", sample_token).status_code == 200
    assert call(api, "get", f"/dossiers/{code}", agencies.key(DESK)).status_code == 200
    # Anyone may track it, without personal data.
    tracked = call(api, "get", f"/track/{code}", None)
    assert tracked.status_code == 200
    text = tracked.body.decode("utf-8")
    assert create_applicant()["id_number"] not in text and create_applicant()["full_name"] not in text


def test_an_agency_key_cannot_act_on_another_agencys_task(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime,
) -> None:
    agencies = Agencies(api)
    code = submit(api, sample_token, "2.000488")
    desk_task = agencies.task_for(DESK, code)
    for agency in (JUSTICE, COMMUNE):
        for path, body in ((f"/agency/tasks/{desk_task['task_id']}/decision", {"decision": "receive"}),
                           (f"/agency/tasks/{desk_task['task_id']}/heartbeat", {})):
            response = api.http.post(path, body=json.dumps(body), headers={
                "Authorization": f"Bearer {agencies.key(agency)}", "Content-Type": "application/json"})
            assert response.status_code == 404, (agency, path, response.body)
        assert desk_task["task_id"] not in [t["task_id"] for t in agencies.inbox(agency)]
    # Still the desk's, still open.
    assert [t["task_id"] for t in agencies.inbox(DESK)] == [desk_task["task_id"]]


@pytest.mark.parametrize("field", ["status", "owner", "due_at", "fee", "result", "agency_code", "code"])
def test_server_owned_fields_are_refused_on_submission(api: Any, sample_catalogue: None, sample_token: str,
                                                      field: str) -> None:
    from tests.factories import create_submission

    response = api.http.post("/dossiers", body=json.dumps({**create_submission(), field: "x"}), headers={
        "Authorization": f"Bearer {sample_token}", "Content-Type": "application/json"})
    assert response.status_code == 422
    assert json.loads(response.body)["error"]["code"] == "server_owned_field"
