"""Dossiers routed between agencies by the real state machine (moto executes the ASL),
answered through the agency API. The task queue is pumped by the same function the
SQS event source calls in AWS."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from chalicelib.services import seen_tasks
from chalicelib.services.deps import get_calendar, get_store, get_task_store
from tests.factories import (
    COMMUNE,
    DESK,
    JUSTICE,
    create_catalogue,
    create_interagency_procedure_dict,
    create_procedure_dict,
)
from tests.integration.route_support import (
    Agencies,
    dossier_status,
    dynamodb_calls,
    execution_status,
    pump,
    submit,
)
from tools import route_history


def test_one_agency_route_receive_then_approve(api: Any, sample_catalogue: None, sample_token: str,
                                               frozen_clock: datetime, agencies: Agencies) -> None:
    code = submit(api, sample_token, "2.000488")
    desk_task = agencies.task_for(DESK, code)
    assert desk_task["step"] == {"index": 0, "kind": "reception", "role": "lead", "last": False}
    assert desk_task["dossier"]["applicant"]["full_name"] == "Nguyễn Văn An"
    received = agencies.decide(DESK, desk_task["task_id"], "receive")
    assert received.status_code == 200, received.body
    assert dossier_status(code) == 2
    justice_task = agencies.task_for(JUSTICE, code)
    assert justice_task["step"]["last"] is True
    assert dossier_status(code) == 4
    # Slip 01: the appointment counts 10 working days from the receipt (Thu 26 Nov 09:00).
    detail = json.loads(api.http.get(f"/dossiers/{code}", headers={"Authorization": f"Bearer {sample_token}"}).body)
    assert [(s["number"], s["issued_by"]) for s in detail["slips"]] == [("01", DESK)]
    assert detail["slips"][0]["details"]["appointment_at"] == "2026-12-10T09:00:00+07:00" == detail["due_at"]
    assert detail["slips"][0]["title"]["vi"] == "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"
    # The public tracker says where the dossier is and by when, without personal data.
    tracked = json.loads(api.http.get(f"/track/{code}").body)
    assert tracked["current_step"] == {"index": 1, "kind": "processing", "agency_codes": [JUSTICE],
                                       "due_at": justice_task["due_at"]}
    assert agencies.decide(JUSTICE, justice_task["task_id"], "approve").status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    dossier = get_store().get_dossier(code)
    assert dossier is not None and int(dossier.status) == 9
    assert [e.action for e in dossier.history] == ["submit", "receive", "start_processing", "approve_final"]
    assert dossier.received_at is not None
    assert agencies.inbox(DESK) == [] and agencies.inbox(JUSTICE) == []


def test_desk_refusal_closes_the_route(api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime,
                                       agencies: Agencies) -> None:
    code = submit(api, sample_token, "2.000488")
    task = agencies.task_for(DESK, code)
    assert agencies.decide(DESK, task["task_id"], "refuse").status_code == 422  # a reason is required
    refused = agencies.decide(DESK, task["task_id"], "refuse", "Hồ sơ không thuộc thẩm quyền")
    assert refused.status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert dossier_status(code) == 3
    dossier = get_store().get_dossier(code)
    assert dossier is not None
    assert [(int(s.number), s.details) for s in dossier.slips] == [(3, {"reason": "Hồ sơ không thuộc thẩm quyền"})]
    assert json.loads(api.http.get(f"/track/{code}").body)["current_step"] is None


def test_decisions_that_do_not_fit_are_refused_and_change_nothing(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    code = submit(api, sample_token, "2.000488")
    task = agencies.task_for(DESK, code)
    approve_at_desk = agencies.decide(DESK, task["task_id"], "approve")
    assert approve_at_desk.status_code == 422
    assert json.loads(approve_at_desk.body)["error"]["code"] == "decision_not_allowed"
    other_agency = agencies.decide(JUSTICE, task["task_id"], "receive")
    assert other_agency.status_code == 404
    assert dossier_status(code) == 1
    assert agencies.decide(DESK, task["task_id"], "receive").status_code == 200
    second = agencies.decide(DESK, task["task_id"], "receive")
    assert second.status_code == 409
    assert json.loads(second.body)["error"]["code"] == "task_closed"
    justice = agencies.task_for(JUSTICE, code)
    assert agencies.decide(JUSTICE, justice["task_id"], "reject", "Không đủ điều kiện").status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert dossier_status(code) == 8


def test_the_loser_of_two_decisions_at_once_hears_the_task_is_closed(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two requests read the task open; the first decides. The second, reading the dossier after
    that, must not be told the dossier's status forbids it (invalid_status) but that the task is
    closed, and change nothing."""
    from chalicelib.services.deps import get_task_store
    from chalicelib.store.agency_keys import AgencyKeyStore

    code = submit(api, sample_token, "2.000488")
    task_id = agencies.task_for(DESK, code)["task_id"]
    read_open = get_task_store().get_task(task_id)
    assert read_open is not None and read_open.status == "open"
    assert agencies.decide(DESK, task_id, "receive").status_code == 200
    # The second request read the key and the task before the first one's transaction.
    real = AgencyKeyStore.get_key_and_task
    monkeypatch.setattr(AgencyKeyStore, "get_key_and_task",
                        lambda self, key_id, task_id: (real(self, key_id, task_id)[0], read_open))
    late = agencies.decide(DESK, task_id, "receive")
    assert late.status_code == 409 and json.loads(late.body)["error"]["code"] == "task_closed"
    dossier = get_store().get_dossier(code)
    assert dossier is not None
    assert [entry.action for entry in dossier.history].count("receive") == 1


def test_three_agency_interagency_route(api: Any, aws: dict[str, str], sample_token: str, frozen_clock: datetime,
                                        agencies: Agencies) -> None:
    """Commune desk → province department → province People's Committee (liên thông)."""
    procedure = create_interagency_procedure_dict()
    get_store().put_catalogue(create_catalogue([procedure]))
    code = submit(api, sample_token, "LT.0001")
    assert code.startswith(f"{COMMUNE}-")
    for agency, decision in ((COMMUNE, "receive"), (JUSTICE, "approve"), (DESK, "approve")):
        task = agencies.task_for(agency, code)
        assert agencies.decide(agency, task["task_id"], decision).status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    dossier = get_store().get_dossier(code)
    assert dossier is not None and int(dossier.status) == 9
    assert [e.actor for e in dossier.history if e.action in ("receive", "approve_step", "approve_final")] == [
        f"agency:{COMMUNE}", f"agency:{JUSTICE}", f"agency:{DESK}"]


def load_parallel_procedure() -> None:
    """LT.0002: the desk, then the justice department leading the commune and the desk in parallel."""
    procedure = create_procedure_dict("LT.0002", days=4, fee_vnd=0)
    procedure["route"] = [
        {"kind": "reception", "agency_code": DESK, "days": 1},
        {"kind": "processing", "agency_code": JUSTICE, "days": 3,
         "parallel": [{"agency_code": COMMUNE, "days": 2}, {"agency_code": DESK, "days": 3}]},
    ]
    get_store().put_catalogue(create_catalogue([procedure]))


def test_parallel_agencies_and_their_lead(api: Any, aws: dict[str, str], sample_token: str, frozen_clock: datetime,
                                          agencies: Agencies) -> None:
    load_parallel_procedure()
    code = submit(api, sample_token, "LT.0002")
    desk = agencies.task_for(DESK, code)
    agencies.decide(DESK, desk["task_id"], "receive")
    helper_tasks = [agencies.task_for(COMMUNE, code), agencies.task_for(DESK, code)]
    lead = agencies.task_for(JUSTICE, code)
    assert {t["step"]["role"] for t in helper_tasks} == {"helper"}
    assert agencies.decide(COMMUNE, helper_tasks[0]["task_id"], "request_supplement", "x").status_code == 422
    # The lead decides after the parallel agencies: its task opens with theirs but the
    # route only waits on it once they have answered.
    for agency, task in zip((COMMUNE, DESK), helper_tasks, strict=True):
        assert agencies.decide(agency, task["task_id"], "approve").status_code == 200
    assert agencies.decide(JUSTICE, lead["task_id"], "approve").status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert dossier_status(code) == 9


def test_withdrawal_ends_the_route(api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime,
                                   agencies: Agencies) -> None:
    code = submit(api, sample_token, "2.000488")
    task = agencies.task_for(DESK, code)
    response = api.http.post(f"/dossiers/{code}/withdraw", headers={"Authorization": f"Bearer {sample_token}",
                                                                     "Content-Type": "application/json"}, body="{}")
    assert response.status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert agencies.inbox(DESK) == []
    late = agencies.decide(DESK, task["task_id"], "receive")
    assert late.status_code == 409
    assert dossier_status(code) == 7


def supplement(api: Any, token: str, code: str, body: dict[str, Any]) -> Any:
    return api.http.post(f"/dossiers/{code}/supplement", headers={"Authorization": f"Bearer {token}",
                                                                  "Content-Type": "application/json"},
                         body=json.dumps(body))


def test_supplement_round_trips_restart_the_step(api: Any, sample_catalogue: None, sample_token: str,
                                                 frozen_clock: datetime, agencies: Agencies,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    code = submit(api, sample_token, "2.000488")
    assert supplement(api, sample_token, code, {"form": {"purpose": "Xin việc"}}).status_code == 409
    desk = agencies.task_for(DESK, code)
    asked = agencies.decide(DESK, desk["task_id"], "request_supplement", "Thiếu bản sao CCCD; thiếu ảnh")
    assert asked.status_code == 200
    pump(lambda: get_store().get_dossier(code) is not None and dossier_status(code) == 5
         and get_task_store_wait(code))
    requested = get_store().get_dossier(code)
    assert requested is not None
    assert [(int(s.number), s.details["missing"]) for s in requested.slips] == [
        (2, "Thiếu bản sao CCCD; thiếu ảnh")]
    # A supplement must change something and fit the form.
    assert supplement(api, sample_token, code, {}).status_code == 422
    bad = supplement(api, sample_token, code, {"form": {"birth_date": "17/05/1990"}})
    assert bad.status_code == 422
    assert "form.birth_date" in [d["field"] for d in json.loads(bad.body)["error"]["details"]]
    answered = supplement(api, sample_token, code, {"form": {"purpose": "Bổ sung: xin việc làm"},
                                                    "note": "Đã bổ sung"})
    assert answered.status_code == 200, answered.body
    assert json.loads(answered.body)["status_code"] == 1
    # The desk gets a new task for the same step.
    again = agencies.task_for(DESK, code)
    assert again["task_id"] != desk["task_id"] and again["step"]["index"] == 0
    agencies.decide(DESK, again["task_id"], "receive")
    justice = agencies.task_for(JUSTICE, code)
    agencies.decide(JUSTICE, justice["task_id"], "request_supplement", "Cần xác nhận nơi cư trú")
    pump(lambda: dossier_status(code) == 5 and get_task_store_wait(code))
    before = get_store().get_dossier(code)
    assert before is not None
    later = datetime(2026, 12, 3, 2, 0, tzinfo=frozen_clock.tzinfo)  # a week later, Thursday 09:00
    for module in ("chalicelib.services.dossiers", "chalicelib.services.routing"):
        monkeypatch.setattr(f"{module}.now", lambda: later)
    assert supplement(api, sample_token, code, {"form": {"copies": 2}}).status_code == 200
    after = get_store().get_dossier(code)
    assert after is not None and int(after.status) == 4
    # Processing restarts its deadline: 10 working days from the supplement.
    assert after.due_at.isoformat() == "2026-12-17T02:00:00+00:00"
    assert after.form["copies"] == 2 and after.form["purpose"] == "Bổ sung: xin việc làm"
    justice_again = agencies.task_for(JUSTICE, code)
    assert justice_again["task_id"] != justice["task_id"]
    agencies.decide(JUSTICE, justice_again["task_id"], "approve")
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert dossier_status(code) == 9


def get_task_store_wait(code: str) -> bool:
    from chalicelib.services.deps import get_task_store

    return get_task_store().get_wait(code, "supplement") is not None


def test_a_missed_deadline_gets_one_apology_then_escalations(
    api: Any, aws: dict[str, str], sample_token: str, monkeypatch: pytest.MonkeyPatch, agencies: Agencies,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A step of 0.0002 working days (about 6 s of office time) passes its deadline for real, then
    the dossier its appointment (0.0003 days after receipt); the overdue sweep (the stack's
    schedule, sent here as the schedule would) records each miss: the step's first (the dossier
    still in time) is escalated, the dossier's apologised for, once. The clock runs from a
    Thursday 09:00."""
    from chalicelib.services.routing import handle_task_message
    from tests.integration.conftest import SAMPLE_NOW
    from tools.schedule import sweep_message

    started = time.monotonic()
    from datetime import timedelta

    def clock() -> datetime:
        return SAMPLE_NOW + timedelta(seconds=time.monotonic() - started)

    for module in ("chalicelib.services.deps", "chalicelib.services.dossiers", "chalicelib.services.uploads",
                   "chalicelib.services.routing", "chalicelib.services.webhooks"):
        monkeypatch.setattr(f"{module}.now", clock)
    procedure = create_procedure_dict("LT.0003", days=0.0003, fee_vnd=0)
    procedure["route"] = [{"kind": "reception", "agency_code": DESK, "days": 0.0001},
                          {"kind": "processing", "agency_code": JUSTICE, "days": 0.0002}]
    get_store().put_catalogue(create_catalogue([procedure]))
    code = submit(api, sample_token, "LT.0003")
    agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive")
    task = agencies.task_for(JUSTICE, code)

    def actions() -> list[str]:
        dossier = get_store().get_dossier(code)
        assert dossier is not None
        return [entry.action for entry in dossier.history]

    def swept(predicate: Callable[[], bool]) -> Callable[[], bool]:
        def check() -> bool:
            handle_task_message(sweep_message(clock()))
            return predicate()
        return check

    pump(swept(lambda: "apologise" in actions()), seconds=30)
    dossier = get_store().get_dossier(code)
    assert dossier is not None
    # The step's miss before the appointment was escalated, not apologised for.
    assert actions().index("escalate") < actions().index("apologise")
    apology_at = next(e.at for e in dossier.history if e.action == "apologise")
    assert apology_at >= next(datetime.fromisoformat(s.details["appointment_at"]) for s in dossier.slips
                              if int(s.number) == 1)
    apologies = [slip for slip in dossier.slips if int(slip.number) == 4]
    assert len(apologies) == 1
    assert dossier.due_at == datetime.fromisoformat(apologies[0].details["new_due_at"])
    assert dossier.overdue is True
    assert json.loads(api.http.get(f"/track/{code}").body)["overdue"] is True
    pump(swept(lambda: "escalate" in actions()), seconds=30)
    dossier = get_store().get_dossier(code)
    assert dossier is not None
    assert len([slip for slip in dossier.slips if int(slip.number) == 4]) == 1  # once per dossier
    # The task is still open and still the agency's; deciding it ends the route.
    open_tasks = agencies.inbox(JUSTICE)
    assert [t["task_id"] for t in open_tasks] == [task["task_id"]]
    assert open_tasks[0]["overdue_count"] >= 2
    # The tracker follows the late task's new deadline.
    assert json.loads(api.http.get(f"/track/{code}").body)["current_step"]["due_at"] == open_tasks[0]["due_at"]
    assert agencies.decide(JUSTICE, task["task_id"], "approve").status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert dossier_status(code) == 9
    # Each miss is a CloudWatch metric (embedded metric format on stdout) the stack's alarm watches.
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    overdue = [m for m in emitted if m.get("OverdueTasks") == [1.0] and m.get("Province") == "lamdong"]
    assert len(overdue) == open_tasks[0]["overdue_count"]
    assert overdue[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "motcua"


def test_the_overdue_sweep_records_each_miss_once_and_only_of_open_tasks_past_their_deadline(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from chalicelib.services import routing
    from chalicelib.services.deps import get_task_store

    late, decided, fresh = (submit(api, sample_token, "2.000488") for _ in range(3))
    late_task, decided_task, fresh_task = (agencies.task_for(DESK, code) for code in (late, decided, fresh))
    assert agencies.decide(DESK, decided_task["task_id"], "receive").status_code == 200
    # The third one's deadline is moved a month on (as a miss would): not due at the sweep's moment.
    store = get_task_store()
    fresh_open = store.get_task(fresh_task["task_id"])
    assert fresh_open is not None
    assert store.record_miss(fresh_open, frozen_clock + timedelta(days=30)) is not None
    assert routing.sweep_overdue() == 0  # nothing due yet

    # Past the dossiers' appointment (10 working days): the first miss is the apology.
    monkeypatch.setattr(routing, "now", lambda: frozen_clock + timedelta(days=15))
    assert routing.sweep_overdue() == 1
    assert routing.sweep_overdue() == 0  # its deadline moved: not a second miss
    recorded = store.get_task(late_task["task_id"])
    assert recorded is not None and recorded.status == "open" and recorded.overdue_count == 1
    assert recorded.due_at > frozen_clock + timedelta(days=7)
    dossier = get_store().get_dossier(late)
    assert dossier is not None and dossier.overdue and [e.action for e in dossier.history][-1] == "apologise"
    assert [e.action for e in get_store().get_dossier(decided).history] == ["submit", "receive"]  # type: ignore[union-attr]
    assert store.get_task(fresh_task["task_id"]).overdue_count == 1  # type: ignore[union-attr]  # set above only


def test_a_step_late_before_the_appointment_is_escalated_and_the_apology_waits_for_the_appointment(
    api: Any, aws: dict[str, str], sample_token: str, frozen_clock: datetime, agencies: Agencies,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """LT.0002 received Thursday 09:00: appointment Wednesday 09:00 (4 working days); the commune,
    a parallel agency with 2 days, is late on Monday. The dossier is not: no apology, no new date
    for the citizen, the commune's new deadline the appointment at the latest. Once the appointment
    has passed, the apology comes, once; a parallel agency's new deadline counts its own days."""
    from datetime import timedelta

    from chalicelib.domain.slips import SlipNumber
    from chalicelib.services import routing

    load_parallel_procedure()
    code = submit(api, sample_token, "LT.0002")
    assert agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive").status_code == 200
    commune = agencies.task_for(COMMUNE, code)
    received = get_store().get_dossier(code)
    assert received is not None
    appointment = received.due_at

    monday = frozen_clock + timedelta(days=4, hours=1)  # Monday 30 November, 10:00 in Vietnam
    monkeypatch.setattr(routing, "now", lambda: monday)
    assert routing.sweep_overdue() == 1  # the commune's part only
    dossier = get_store().get_dossier(code)
    assert dossier is not None and [e.action for e in dossier.history][-1] == "escalate"
    assert not dossier.overdue and not dossier.has_slip(SlipNumber.APOLOGY) and dossier.due_at == appointment
    late = get_task_store().get_task(commune["task_id"])
    assert late is not None and late.due_at == appointment and late.overdue_count == 1

    thursday = frozen_clock + timedelta(days=7, hours=1)  # Thursday 3 December 10:00: past the appointment
    monkeypatch.setattr(routing, "now", lambda: thursday)
    assert routing.sweep_overdue() == 3  # the commune's, the desk's and the lead's parts
    dossier = get_store().get_dossier(code)
    assert dossier is not None and dossier.overdue
    assert len([slip for slip in dossier.slips if int(slip.number) == 4]) == 1
    late = get_task_store().get_task(commune["task_id"])
    assert late is not None and late.due_at == get_calendar().due_at(thursday, 2)  # its own 2 days, not the lead's 3


def test_a_miss_is_recorded_whole_or_not_at_all(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies,
) -> None:
    """The task's new deadline and the dossier's log line are one transaction: if the dossier moved
    since it was read, neither is written, and the next sweep finds the task still due."""
    from datetime import timedelta

    from chalicelib.domain.dossiers import LogEntry
    from chalicelib.domain.errors import Conflict
    from chalicelib.services.deps import get_task_store

    code = submit(api, sample_token, "2.000488")
    task = get_task_store().get_task(agencies.task_for(DESK, code)["task_id"])
    stale = get_store().get_dossier(code)
    assert task is not None and stale is not None
    note = LogEntry(at=frozen_clock, actor="system", action="escalate", from_status=stale.status,
                    to_status=stale.status, note="meanwhile")
    get_store().apply_change(stale, note)  # the dossier moves after the sweep read it
    with pytest.raises(Conflict):
        get_task_store().record_miss(task, frozen_clock + timedelta(days=3), stale,
                                     replace(note, action="apologise", note="late"))
    assert get_task_store().get_task(task.task_id) == task
    dossier = get_store().get_dossier(code)
    assert dossier is not None and [e.action for e in dossier.history] == ["submit", "escalate"]


def test_a_schedule_of_the_previous_route_definition_is_answered_at_once(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Executions started before the schedule state became the lead's wait still go through
    AwaitLead: their step.schedule message (no lead_waits_here) is answered with the timeouts."""
    from chalicelib.services import routing
    from chalicelib.services.deps import get_engine, get_task_store

    code = submit(api, sample_token, "2.000488")
    answered: list[tuple[str, dict[str, Any]]] = []
    def succeed(token: str, output: dict[str, Any]) -> bool:
        answered.append((token, output))
        return True

    monkeypatch.setattr(get_engine(), "succeed", succeed)
    routing.handle_task_message({"type": "step.schedule", "token": "old-definition-token", "dossier_code": code,
                                 "step_index": 0})
    ((token, answer),) = answered
    task = get_task_store().get_task(answer["lead"]["task_id"])
    assert token == "old-definition-token" and task is not None and task.token is None
    assert answer["lead"]["timeout_seconds"] > 0 and answer["supplement_timeout_seconds"] > 0


def test_agencies_on_the_route_read_the_dossier_and_each_read_is_audited(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    code = submit(api, sample_token, "2.000488")

    def read(agency: str) -> Any:
        return api.http.get(f"/dossiers/{code}", headers={"Authorization": f"Bearer {agencies.key(agency)}"})

    on_route = read(JUSTICE)  # a later step of the route
    assert on_route.status_code == 200
    assert json.loads(on_route.body)["applicant"]["id_number"] == "068090001234"
    assert read(DESK).status_code == 200
    assert read(DESK).status_code == 200  # the same instant (frozen clock): still two lines
    off_route = read(COMMUNE)
    assert off_route.status_code == 404
    assert json.loads(off_route.body)["error"]["code"] == "dossier_not_found"
    trail = get_store().audit_trail(code)
    assert sorted((line.agency_code, line.action) for line in trail) == sorted([
        (DESK, "read"), (DESK, "read"), (JUSTICE, "read")])
    revoked = "mc_000-00-05-H38_00000000_" + "A" * 43
    assert api.http.get(f"/dossiers/{code}", headers={"Authorization": f"Bearer {revoked}"}).status_code == 401
    # Reading as a citizen still works, and is not a staff read.
    assert api.http.get(f"/dossiers/{code}", headers={"Authorization": f"Bearer {sample_token}"}).status_code == 200
    assert len(get_store().audit_trail(code)) == 3
    agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "refuse", "Không thuộc thẩm quyền")
    pump(lambda: execution_status(code) == "SUCCEEDED")


def received_and_waiting_for_fee(api: Any, token: str, agencies: Agencies) -> str:
    """A dossier of a procedure whose route waits for the fee between reception and processing,
    received by the desk and waiting at that point (status 6); its code."""
    procedure = create_procedure_dict("LT.0004", days=10, fee_vnd=200000)
    procedure["route"] = [{"kind": "reception", "agency_code": DESK, "days": 1},
                          {"kind": "payment", "agency_code": DESK, "days": 5},
                          {"kind": "processing", "agency_code": JUSTICE, "days": 9}]
    get_store().put_catalogue(create_catalogue([procedure]))
    code = submit(api, token, "LT.0004")
    agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive")

    def waiting_for_fee() -> bool:
        from chalicelib.services.deps import get_task_store

        return dossier_status(code) == 6 and get_task_store().get_wait(code, "payment") is not None

    pump(waiting_for_fee)
    return code


def test_a_dossier_follows_the_route_it_was_submitted_under_whatever_the_catalogue_says_since(
        api: Any, aws: dict[str, str], sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    """Ops add a fee step to a procedure while a dossier submitted without a fee is at the desk: its
    execution walks the two steps it started with, and the dossier is not asked for a fee it was
    never told of (it would wait in status 6 for a payment it cannot make)."""
    free = create_procedure_dict("LT.0005", days=10, fee_vnd=0)
    free["route"] = [{"kind": "reception", "agency_code": DESK, "days": 1},
                     {"kind": "processing", "agency_code": JUSTICE, "days": 9}]
    get_store().put_catalogue(create_catalogue([free]))
    code = submit(api, sample_token, "LT.0005")
    stored = get_store().get_dossier(code)
    assert stored is not None and stored.route is not None and [s.kind for s in stored.route] == [
        "reception", "processing"]
    paying = create_procedure_dict("LT.0005", days=20, fee_vnd=200000)
    paying["route"] = [{"kind": "reception", "agency_code": DESK, "days": 1},
                       {"kind": "payment", "agency_code": DESK, "days": 5},
                       {"kind": "processing", "agency_code": JUSTICE, "days": 19}]
    get_store().put_catalogue(create_catalogue([paying]))
    assert agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive").status_code == 200
    justice = agencies.task_for(JUSTICE, code)
    assert dossier_status(code) == 4  # processing, not awaiting a fee
    received = get_store().get_dossier(code)
    # The appointment counts the 10 days promised at submission, not the 20 the catalogue says now.
    assert received is not None and received.due_at == get_calendar().due_at(frozen_clock, 10)
    assert agencies.decide(JUSTICE, justice["task_id"], "approve").status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert dossier_status(code) == 9


def test_a_fee_waits_at_the_point_the_route_names(api: Any, aws: dict[str, str], sample_token: str,
                                                 frozen_clock: datetime, agencies: Agencies,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.services.routing import record_payment

    code = received_and_waiting_for_fee(api, sample_token, agencies)
    # Nobody's inbox holds the fee: the citizen pays (issue 4 brings Stripe).
    assert agencies.inbox(DESK) == [] and agencies.inbox(JUSTICE) == []
    waiting = get_store().get_dossier(code)
    assert waiting is not None
    assert waiting.history[-1].note == "Chờ nộp phí, lệ phí 200.000 đồng / Awaiting the fee of 200,000 VND"
    # Paid two working days (16 office hours) after the fee was asked for: the appointment
    # moves by as much, the wait being the citizen's, not the agencies'.
    calendar = get_calendar()
    paid_at = calendar.add_working_hours(frozen_clock, 16)
    monkeypatch.setattr("chalicelib.services.routing.now", lambda: paid_at)
    paid = record_payment(code, "test-receipt-1")
    assert paid is not None and int(paid.status) == 4 and paid.fee_status == "paid"
    assert paid.due_at == calendar.add_working_hours(waiting.due_at, 16) > waiting.due_at
    assert record_payment(code, "test-receipt-1") is None  # twice changes nothing
    again = get_store().get_dossier(code)
    assert again is not None and again.version == paid.version
    justice = agencies.task_for(JUSTICE, code)
    assert agencies.decide(JUSTICE, justice["task_id"], "approve").status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    dossier = get_store().get_dossier(code)
    assert dossier is not None and int(dossier.status) == 9
    assert [e.action for e in dossier.history] == ["submit", "receive", "request_fee", "record_payment",
                                                   "approve_final"]


def test_what_the_agencies_did_is_mailed_to_the_citizen_without_personal_data(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    monkeypatch.setenv("MOTCUA_NOTIFY_SMS", "on")
    code = submit(api, sample_token, "2.000488")
    agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive")
    agencies.decide(JUSTICE, agencies.task_for(JUSTICE, code)["task_id"], "approve")
    pump(lambda: execution_status(code) == "SUCCEEDED")
    mails = [m for m in ses_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_REGION"]].sent_messages
             if code in m.subject]
    # Told from the table's stream (route_support.pump drains it): the receipt and the result,
    # not the submission (the citizen's own, answered on screen) nor processing's start.
    assert [m.destinations["ToAddresses"] for m in mails] == [["an.nguyen@example.vn"]] * 2
    assert [m.subject.split(": ", 1)[1].split(" / ")[0] for m in mails] == ["Đã tiếp nhận", "Đã xử lý xong"]
    texts = [m.body for m in mails] + [
        sms[1] for sms in sns_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_REGION"]].sms_messages.values()]
    assert len(texts) == 4  # each by email and by SMS
    for text in texts:
        for personal in ("068090001234", "12 Trần Phú", "Nguyễn Văn An", "1990-05-17"):
            assert personal not in text


def states_entered(code: str) -> list[str]:
    """The states the dossier's execution entered, in order: each is a billed state transition."""
    import boto3

    sfn = boto3.client("stepfunctions", region_name=os.environ["AWS_REGION"])
    arn = os.environ["MOTCUA_ROUTE_STATE_MACHINE_ARN"].replace(":stateMachine:", ":execution:") + f":{code}"
    return route_history.states_entered(route_history.execution_events(sfn, arn))


# A plain step: the schedule, which is the lead agency's wait when it works alone.
PLAIN_STEP = ["ScheduleStep"]


def test_a_one_agency_route_takes_three_state_transitions(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    """Issue 8: Step Functions bills each state entered; reception receive → processing approve is
    the route's Map and one state per step (the schedule waits for the lead agency itself); a route
    that went through ends with its Map (no final state)."""
    code = submit(api, sample_token, "2.000488")
    agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive")
    agencies.decide(JUSTICE, agencies.task_for(JUSTICE, code)["task_id"], "approve")
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert states_entered(code) == ["Route", *PLAIN_STEP, *PLAIN_STEP]
    assert dossier_status(code) == 9


def test_parallel_agencies_cost_their_own_waits_only(api: Any, aws: dict[str, str], sample_token: str,
                                                     frozen_clock: datetime, agencies: Agencies) -> None:
    load_parallel_procedure()
    code = submit(api, sample_token, "LT.0002")
    agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive")
    helper_tasks = [agencies.task_for(COMMUNE, code), agencies.task_for(DESK, code)]
    lead = agencies.task_for(JUSTICE, code)
    for agency, task in zip((COMMUNE, DESK), helper_tasks, strict=True):
        assert agencies.decide(agency, task["task_id"], "approve").status_code == 200
    assert agencies.decide(JUSTICE, lead["task_id"], "approve").status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    # The schedule's answer read back from its Motcua.Helpers cause, the parallel agencies' Map and
    # one wait each, then the lead's.
    assert states_entered(code) == ["Route", *PLAIN_STEP, "ScheduleStep", "ReadHelpers", "Helpers", "AwaitHelper",
                                    "AwaitHelper", "AwaitLead"]
    assert dossier_status(code) == 9


def test_a_parallel_agency_that_rejects_ends_the_route(api: Any, aws: dict[str, str], sample_token: str,
                                                       frozen_clock: datetime, agencies: Agencies) -> None:
    load_parallel_procedure()
    code = submit(api, sample_token, "LT.0002")
    agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive")
    commune = agencies.task_for(COMMUNE, code)
    agencies.task_for(DESK, code)
    agencies.task_for(JUSTICE, code)
    # The route waits on the parallel agencies before the commune stops the dossier.
    pump(lambda: "AwaitHelper" in states_entered(code))
    assert agencies.decide(COMMUNE, commune["task_id"], "reject", "Không đủ điều kiện").status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert dossier_status(code) == 8
    assert agencies.inbox(DESK) == [] and agencies.inbox(JUSTICE) == []
    entered = states_entered(code)
    # The lead agency's wait is never reached: the parallel step ends the route, through the
    # stopped route's final state.
    assert "AwaitLead" not in entered[entered.index("Helpers"):] and entered[-1] == "Closed", entered


def test_a_fee_wait_costs_its_own_states_only(api: Any, aws: dict[str, str], sample_token: str,
                                              frozen_clock: datetime, agencies: Agencies) -> None:
    from chalicelib.services.routing import record_payment

    code = received_and_waiting_for_fee(api, sample_token, agencies)
    assert record_payment(code, "test-receipt-1") is not None
    agencies.decide(JUSTICE, agencies.task_for(JUSTICE, code)["task_id"], "approve")
    pump(lambda: execution_status(code) == "SUCCEEDED")
    # The payment step: its schedule, the answer read back from its Motcua.AwaitFee cause, the wait.
    assert states_entered(code) == ["Route", *PLAIN_STEP, "ScheduleStep", "ReadFeeWait", "AwaitPayment",
                                    *PLAIN_STEP]
    assert dossier_status(code) == 9


def test_tracking_and_decisions_read_what_they_show_and_nothing_back(
        api: Any, aws: dict[str, str], sample_token: str, frozen_clock: datetime, agencies: Agencies,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Public tracking shows where the dossier is from its own record (one read); a decision reads
    the key and the task (one read), the dossier, writes one transaction and reads nothing back; only a lead
    with parallel agencies reads the step's tasks; the inbox reads each task's dossier."""
    load_parallel_procedure()
    code = submit(api, sample_token, "LT.0002")
    with dynamodb_calls(monkeypatch) as calls:
        tracked = json.loads(api.http.get(f"/track/{code}").body)
    assert calls == ["GetItem"]
    assert tracked["current_step"] is None or tracked["current_step"]["agency_codes"] == [DESK]
    desk = agencies.task_for(DESK, code)
    with dynamodb_calls(monkeypatch) as calls:
        assert agencies.decide(DESK, desk["task_id"], "receive").status_code == 200
    assert calls.count("TransactWriteItems") == 1 and calls[-1] == "TransactWriteItems", calls
    helpers = {agency: agencies.task_for(agency, code) for agency in (COMMUNE, JUSTICE)}
    helpers[DESK] = next(t for t in agencies.inbox(DESK) if t["dossier_code"] == code and t["step"]["index"] == 1)
    tracked = json.loads(api.http.get(f"/track/{code}").body)
    assert tracked["current_step"] == {"index": 1, "kind": "processing", "agency_codes": sorted(helpers),
                                       "due_at": max(t["due_at"] for t in helpers.values())}
    seen_tasks.forget_all()  # a container that has not shown the agency its task (see test_seen_tasks.py)
    with dynamodb_calls(monkeypatch) as calls:
        answered = agencies.decide(COMMUNE, helpers[COMMUNE]["task_id"], "approve")
    assert answered.status_code == 200
    # The key and the task at once, the dossier; the transaction; nothing read back (the answer
    # is what was written).
    assert calls == ["BatchGetItem", "Query", "TransactWriteItems"]
    assert json.loads(answered.body)["dossier"]["history"][-1]["actor"] == f"agency:{COMMUNE}"
    with dynamodb_calls(monkeypatch) as calls:
        tracked = json.loads(api.http.get(f"/track/{code}").body)
    assert calls == ["GetItem"]
    assert tracked["current_step"]["agency_codes"] == sorted([DESK, JUSTICE])
    assert tracked["current_step"]["due_at"] == max(helpers[a]["due_at"] for a in (DESK, JUSTICE))
    assert "applicant" not in tracked and "Nguyễn" not in json.dumps(tracked, ensure_ascii=False)
    early = agencies.decide(JUSTICE, helpers[JUSTICE]["task_id"], "approve")
    assert json.loads(early.body)["error"]["code"] == "parallel_agencies_pending"
    assert agencies.decide(DESK, helpers[DESK]["task_id"], "approve").status_code == 200
    seen_tasks.forget_all()
    with dynamodb_calls(monkeypatch) as calls:
        assert agencies.decide(JUSTICE, helpers[JUSTICE]["task_id"], "approve").status_code == 200
    assert calls == ["BatchGetItem", "Query", "Query", "TransactWriteItems"]  # + the step's tasks
    pump(lambda: execution_status(code) == "SUCCEEDED")
    tracked = json.loads(api.http.get(f"/track/{code}").body)
    assert (tracked["status_code"], tracked["current_step"]) == (9, None)
    with dynamodb_calls(monkeypatch) as calls:
        decided = agencies.inbox(DESK, "decided")
    # The key, the page; each task's dossier in full, as the contract shows it; the page's staff
    # read, one write whatever its size (the trails get their lines from the stream).
    assert calls == ["GetItem", "Query"] + ["Query"] * len(decided) + ["PutItem"]
    assert {t["dossier"]["status_code"] for t in decided if t["dossier_code"] == code} == {9}


def test_two_parallel_agencies_deciding_at_the_same_moment_are_both_recorded(
        api: Any, aws: dict[str, str], sample_token: str, frozen_clock: datetime, agencies: Agencies,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The second transaction finds the dossier moved by the first: its decision is written again
    on the dossier read anew, not refused as if its task were closed."""
    from chalicelib.services import routing

    load_parallel_procedure()
    code = submit(api, sample_token, "LT.0002")
    assert agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive").status_code == 200
    commune = agencies.task_for(COMMUNE, code)
    desk = next(t for t in agencies.inbox(DESK) if t["dossier_code"] == code and t["step"]["index"] == 1)
    read_together = get_store().get_dossier(code)  # both requests read the dossier before either writes
    assert agencies.decide(COMMUNE, commune["task_id"], "approve").status_code == 200
    real = routing._dossier
    reads: list[str] = []

    def first_stale(dossier_code: str) -> Any:
        reads.append(dossier_code)
        return read_together if len(reads) == 1 else real(dossier_code)

    monkeypatch.setattr(routing, "_dossier", first_stale)
    second = agencies.decide(DESK, desk["task_id"], "approve")
    assert second.status_code == 200, second.body
    assert len(reads) == 2  # written again once, on the dossier as the first decision left it
    history = json.loads(second.body)["dossier"]["history"]
    assert [e["actor"] for e in history if e["action"] == "approve_step"][-2:] == [
        f"agency:{COMMUNE}", f"agency:{DESK}"]
    tasks = [get_task_store().get_task(t["task_id"]) for t in (commune, desk)]
    assert [task.status if task else None for task in tasks] == ["decided", "decided"]


def test_a_dossier_stored_before_its_record_kept_its_tasks_is_tracked_from_them(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    from chalicelib.store import models as m

    code = submit(api, sample_token, "2.000488")
    desk = agencies.task_for(DESK, code)
    m.DossierItem(m.dossier_pk(code), m.META, version=0).update(
        actions=[m.DossierItem.open_tasks.remove()], add_version_condition=False)
    record = get_store().get_dossier_record(code)
    assert record is not None and record.open_tasks is None
    tracked = json.loads(api.http.get(f"/track/{code}").body)
    assert tracked["current_step"] == {"index": 0, "kind": "reception", "agency_codes": [DESK],
                                       "due_at": desk["due_at"]}
    # Its decisions keep it so (nothing recorded half-way), and tracking goes on from the tasks.
    assert agencies.decide(DESK, desk["task_id"], "receive").status_code == 200
    after = get_store().get_dossier_record(code)
    assert after is not None and after.open_tasks is None
    assert json.loads(api.http.get(f"/track/{code}").body)["current_step"] is None


class _StepFunctionsDownFor:
    """The Step Functions client as seen by the app, one of whose operations fails as if the service
    could not be reached, the next ``times`` calls (then it answers again)."""

    def __init__(self, real: Any, operation: str, failures: list[str], times: int) -> None:
        self._real, self._operation, self._failures, self._times = real, operation, failures, times

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._real, name)
        if name != self._operation or len(self._failures) >= self._times:
            return attribute

        def unreachable(**_: Any) -> Any:
            from botocore.exceptions import EndpointConnectionError

            self._failures.append(name)
            raise EndpointConnectionError(endpoint_url="https://states.ap-southeast-1.amazonaws.com")

        return unreachable


@pytest.fixture
def step_functions_down(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``step_functions_down("send_task_success")`` makes the app's next such call fail; returns the
    list of the calls that failed."""
    from chalicelib.integrations import aws, sfn

    real_client = aws.client  # as sfn imported it

    def arm(operation: str, times: int = 1) -> list[str]:
        failures: list[str] = []

        def client(service: str, region: str) -> Any:
            real = real_client(service, region)
            return _StepFunctionsDownFor(real, operation, failures, times) if service == "stepfunctions" else real

        monkeypatch.setattr(sfn, "client", client)
        return failures

    return arm


def test_a_decision_step_functions_did_not_take_is_given_by_the_task_worker(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies,
        step_functions_down: Any) -> None:
    """The decision is recorded before the route is told: the agency is not answered 500 (nor its
    retry 409) and the route is not left waiting for an answer nobody will give."""
    code = submit(api, sample_token, "2.000488")
    desk = agencies.task_for(DESK, code)
    failures = step_functions_down("send_task_success")
    decided = agencies.decide(DESK, desk["task_id"], "receive")
    assert decided.status_code == 200, decided.body
    assert failures == ["send_task_success"]
    justice = agencies.task_for(JUSTICE, code)  # the task worker gave the answer: the route went on
    assert agencies.decide(JUSTICE, justice["task_id"], "approve").status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert dossier_status(code) == 9


def test_a_route_step_functions_did_not_start_is_started_by_the_task_worker(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies,
        step_functions_down: Any) -> None:
    failures = step_functions_down("start_execution")
    code = submit(api, sample_token, "2.000488")  # 201: the dossier is stored, its route comes
    assert failures == ["start_execution"]
    assert agencies.task_for(DESK, code)["step"]["kind"] == "reception"
    assert execution_status(code) == "RUNNING"


def test_a_withdrawal_and_a_supplement_step_functions_did_not_take_still_reach_the_route(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies,
        step_functions_down: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.services import webhooks

    code = submit(api, sample_token, "2.000488")
    desk = agencies.task_for(DESK, code)
    assert agencies.decide(DESK, desk["task_id"], "request_supplement", "Thiếu ảnh").status_code == 200
    pump(lambda: dossier_status(code) == 5 and get_task_store_wait(code))
    failures = step_functions_down("send_task_success")
    answered = supplement(api, sample_token, code, {"form": {"purpose": "Bổ sung: xin việc làm"}})
    assert answered.status_code == 200, answered.body
    assert failures == ["send_task_success"]
    again = agencies.task_for(DESK, code)  # the step started again
    assert again["task_id"] != desk["task_id"]

    failures = step_functions_down("send_task_failure")

    def no_webhook_queue(*_: Any) -> None:
        raise ConnectionError("the webhook queue is not answering")

    monkeypatch.setattr(webhooks, "enqueue_task_event", no_webhook_queue)
    withdrawn = api.http.post(f"/dossiers/{code}/withdraw", headers={"Authorization": f"Bearer {sample_token}",
                                                                      "Content-Type": "application/json"}, body="{}")
    assert withdrawn.status_code == 200, withdrawn.body
    assert failures == ["send_task_failure"]
    pump(lambda: execution_status(code) != "RUNNING")
    assert dossier_status(code) == 7 and agencies.inbox(DESK) == []
