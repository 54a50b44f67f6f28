"""Fee exemptions (miễn phí, lệ phí): an applicant category the procedure lists skips the
payment wait, and the progress log says why. Moto in-process, the real state machine."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest

from chalicelib.domain.workflow import FEE_EXEMPTED, LOG_ONLY_ACTIONS, DossierStatus
from chalicelib.services.deps import get_store, get_task_store
from chalicelib.services.routing import handle_task_message
from tests.factories import DESK, JUSTICE, create_catalogue, create_procedure_dict, create_submission
from tests.integration import route_support
from tests.integration.route_support import Agencies, dossier_status, execution_status, pump, submit
from tests.integration.test_dossiers_api import body_of, call, create_uploaded_file
from tests.integration.test_routing import states_entered

EXEMPT_PROCEDURE = "LT.0005"
POOR = {"category": "poor_household", "name": "Người thuộc hộ nghèo", "legal_basis": "law"}
CHILD = {"category": "child", "name": "Trẻ em theo quy định của Luật Trẻ em", "legal_basis": "law"}


@pytest.fixture
def exempting_catalogue(aws: dict[str, str]) -> None:
    """A level 4 procedure with a fee, a payment step after reception, and two exemptions;
    and the plain sample procedure 2.000488 (a fee, no exemptions)."""
    procedure = create_procedure_dict(EXEMPT_PROCEDURE, days=10, fee_vnd=200000)
    procedure["route"] = [{"kind": "reception", "agency_code": DESK, "days": 1},
                          {"kind": "payment", "agency_code": DESK, "days": 5},
                          {"kind": "processing", "agency_code": JUSTICE, "days": 9}]
    procedure["fee_exemptions"] = [POOR, CHILD]
    get_store().put_catalogue(create_catalogue([procedure, create_procedure_dict()]))


@pytest.fixture
def route_messages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The types of the messages the state machine sent, in order, as the pump handles them."""
    seen: list[str] = []

    def recording(body: Mapping[str, Any]) -> None:
        seen.append(str(body.get("type")))
        handle_task_message(body)

    monkeypatch.setattr(route_support, "handle_task_message", recording)
    return seen


def test_the_procedure_lists_its_exemptions(api: Any, exempting_catalogue: None) -> None:
    detail = body_of(call(api, "GET", f"/procedures/{EXEMPT_PROCEDURE}"))
    assert detail["fee_exemptions"] == [POOR, CHILD]
    assert body_of(call(api, "GET", "/procedures/2.000488"))["fee_exemptions"] == []


def test_an_exempt_applicant_skips_the_fee_wait(api: Any, exempting_catalogue: None, sample_token: str,
                                                frozen_clock: datetime, agencies: Agencies,
                                                route_messages: list[str]) -> None:
    code = submit(api, sample_token, EXEMPT_PROCEDURE, fee_exemption="poor_household")
    detail = body_of(call(api, "GET", f"/dossiers/{code}", sample_token))
    assert detail["fee"] == {"amount_vnd": 200000, "status": "exempt",
                             "exemption": {"category": "poor_household", "name": "Người thuộc hộ nghèo"}}
    assert agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive").status_code == 200

    statuses: list[int] = []

    def at_justice() -> bool:
        statuses.append(dossier_status(code))
        return any(t["dossier_code"] == code for t in agencies.inbox(JUSTICE))

    pump(at_justice)
    justice = agencies.task_for(JUSTICE, code)
    assert agencies.decide(JUSTICE, justice["task_id"], "approve").status_code == 200

    def finished() -> bool:
        statuses.append(dossier_status(code))
        return execution_status(code) == "SUCCEEDED"

    pump(finished)

    assert int(DossierStatus.AWAITING_FEE) not in statuses
    # The state machine went past its payment wait: nobody was asked to wait for the fee.
    assert "payment.await" not in route_messages and "payment.expired" not in route_messages
    assert route_messages.count("step.schedule") == 3
    # Its schedule answered Motcua.Skip, caught straight to the step's end.
    assert states_entered(code) == ["Route", "ScheduleStep", "ScheduleStep", "StepDone", "ScheduleStep"]
    assert get_task_store().get_wait(code, "payment") is None
    dossier = get_store().get_dossier(code)
    assert dossier is not None and dossier.status is DossierStatus.DONE and dossier.fee_status == "exempt"
    assert [e.action for e in dossier.history] == ["submit", "receive", FEE_EXEMPTED, "start_processing",
                                                   "approve_final"]
    exempted = dossier.history[2]
    assert exempted.from_status is exempted.to_status is DossierStatus.RECEIVED
    assert exempted.actor == "system"
    assert "Miễn phí, lệ phí" in exempted.note and "Fee exempted" in exempted.note
    assert "poor_household" in exempted.note and "Người thuộc hộ nghèo" in exempted.note
    assert "legal basis law" in exempted.note and "căn cứ: law" in exempted.note
    # The citizen's view of the log shows it, the status unchanged.
    history = body_of(call(api, "GET", f"/dossiers/{code}", sample_token))["history"]
    line = next(h for h in history if h["action"] == FEE_EXEMPTED)
    assert (line["from_status_code"], line["status_code"]) == (2, 2)
    assert FEE_EXEMPTED in LOG_ONLY_ACTIONS


def test_without_a_claim_the_same_procedure_waits_for_its_fee(
    api: Any, exempting_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    code = submit(api, sample_token, EXEMPT_PROCEDURE)
    assert body_of(call(api, "GET", f"/dossiers/{code}", sample_token))["fee"] == {
        "amount_vnd": 200000, "status": "unpaid", "exemption": None}
    agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive")
    pump(lambda: dossier_status(code) == 6 and get_task_store().get_wait(code, "payment") is not None)
    dossier = get_store().get_dossier(code)
    assert dossier is not None and FEE_EXEMPTED not in [e.action for e in dossier.history]


@pytest.mark.parametrize(
    ("procedure_code", "claim", "message"),
    [
        pytest.param(EXEMPT_PROCEDURE, "war_invalid", "unknown fee exemption", id="unknown category"),
        pytest.param(EXEMPT_PROCEDURE, "Hộ nghèo", "", id="not a category id"),
        pytest.param(EXEMPT_PROCEDURE, 1, "", id="not a string"),
        pytest.param("2.000488", "poor_household", "has no fee exemptions", id="procedure without exemptions"),
    ],
)
def test_a_bad_claim_is_refused_and_stores_nothing(
    api: Any, exempting_catalogue: None, sample_token: str, frozen_clock: datetime,
    procedure_code: str, claim: Any, message: str,
) -> None:
    upload_id = create_uploaded_file(api, sample_token)
    body = create_submission(procedure_code, documents=[{"document_id": "to_khai", "upload_id": upload_id}],
                             fee_exemption=claim)
    response = call(api, "POST", "/dossiers", sample_token, body)
    assert response.status_code == 422, response.body
    error = body_of(response)["error"]
    assert error["code"] == "validation_failed"
    details = {d["field"]: d["message"] for d in error["details"]}
    assert "fee_exemption" in details, error
    assert message in details["fee_exemption"]
    assert body_of(call(api, "GET", "/dossiers", sample_token))["items"] == []
    assert json.loads(call(api, "GET", "/dossiers", sample_token).body)["next_cursor"] is None
