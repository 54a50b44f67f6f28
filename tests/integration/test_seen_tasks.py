"""A decision on a task the agency has just been shown (its inbox) needs no read: the container
remembers the key, the task and its dossier (services/seen_tasks.py). What is remembered is
never trusted: these tests change each of them behind the container's back ("another
container") and check that the decision is made on what is true, or refused as it would be."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.agency_keys import parse_key
from chalicelib.domain.dossiers import LogEntry
from chalicelib.domain.workflow import ESCALATE, DossierStatus
from chalicelib.services import seen_tasks
from chalicelib.services.agency_auth import get_key_store
from chalicelib.services.deps import get_store, get_task_store
from tests.factories import DESK, JUSTICE
from tests.integration.route_support import Agencies, dynamodb_calls, history_actions, submit

ONE_AGENCY_PROCEDURE = "2.000488"


def shown_desk_task(api: Any, token: str, agencies: Agencies) -> tuple[str, str]:
    """A new dossier, and its reception task as the desk's inbox (this container) showed it."""
    code = submit(api, token, ONE_AGENCY_PROCEDURE)
    task_id = str(agencies.task_for(DESK, code)["task_id"])
    assert seen_tasks.seen_task(DESK, task_id) is not None
    return code, task_id


def test_a_decision_on_a_task_just_shown_is_its_transaction_alone(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies,
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, task_id = shown_desk_task(api, sample_token, agencies)
    with dynamodb_calls(monkeypatch) as calls:
        answered = agencies.decide(DESK, task_id, "receive")
    assert answered.status_code == 200, answered.body
    assert calls == ["TransactWriteItems"]
    body = json.loads(answered.body)
    # The answer is the dossier as the decision left it, as if it had been read.
    assert body["status"] == "decided" and body["dossier"]["status_code"] == 2
    assert [h["actor"] for h in body["dossier"]["history"]] == ["citizen", f"agency:{DESK}"]
    assert [s["number"] for s in body["dossier"]["slips"]] == ["01"]
    stored = get_store().get_dossier(code)
    assert stored is not None and stored.status is DossierStatus.RECEIVED
    assert body["dossier"]["due_at"] is not None and stored.due_at is not None
    # Recorded as a staff read, in the same transaction; and the route was answered: the next
    # agency has its task.
    reads = get_store().staff_reads(DESK, frozen_clock)
    assert [(r.action, r.dossier_codes) for r in reads if r.action == "decision"] == [("decision", (code,))]
    assert agencies.task_for(JUSTICE, code)["step"]["index"] == 1
    # Decided: nothing of it is remembered any more.
    assert seen_tasks.seen_task(DESK, task_id) is None


def test_a_key_revoked_in_another_container_is_refused_at_the_next_decision(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    code, task_id = shown_desk_task(api, sample_token, agencies)
    parsed = parse_key(agencies.key(DESK))
    assert parsed is not None and seen_tasks.remembered_key(parsed.key_id) is not None
    # Revoked by ops with the table only: this container still remembers the key as good.
    assert get_key_store().revoke(parsed.key_id, frozen_clock)
    refused = agencies.decide(DESK, task_id, "receive")
    assert refused.status_code == 401
    assert json.loads(refused.body)["error"]["code"] == "invalid_api_key"
    task = get_task_store().get_task(task_id)
    assert task is not None and task.status == "open"
    assert history_actions(code) == ["submit"]
    assert not [r for r in get_store().staff_reads(DESK, frozen_clock) if r.action == "decision"]
    assert seen_tasks.remembered_key(parsed.key_id) is None


def test_a_revoked_key_learns_nothing_from_what_its_decision_would_have_been_refused_for(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    _, task_id = shown_desk_task(api, sample_token, agencies)
    parsed = parse_key(agencies.key(DESK))
    assert parsed is not None
    remembered = seen_tasks.remembered_key(parsed.key_id)
    assert remembered is not None
    assert get_key_store().revoke(parsed.key_id, frozen_clock)
    # Refused before any transaction (a decision the step does not take; no reason given): the
    # key is read again first, and the caller only hears its key is bad.
    for decision, note in (("approve", ""), ("refuse", ""), ("maybe", "")):  # the last one: not a decision at all
        seen_tasks.remember_key(remembered)  # as the container still remembers it
        refused = agencies.decide(DESK, task_id, decision, note=note)
        assert refused.status_code == 401, (decision, refused.body)
        assert json.loads(refused.body)["error"]["code"] == "invalid_api_key"


def test_a_dossier_changed_since_it_was_shown_is_decided_as_it_is_now(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies,
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, task_id = shown_desk_task(api, sample_token, agencies)
    dossier = get_store().get_dossier(code)
    assert dossier is not None
    # Another container logs a line on the dossier (its version moves) after the inbox showed it.
    get_store().apply_change(dossier, LogEntry(at=frozen_clock, actor="system", action=ESCALATE,
                                               from_status=dossier.status, to_status=dossier.status, note="escalated"))
    with dynamodb_calls(monkeypatch) as calls:
        answered = agencies.decide(DESK, task_id, "receive")
    assert answered.status_code == 200, answered.body
    # Refused as remembered, nothing written; the task read again (closed meanwhile?), the key
    # read again (revoked?), then a decision as any other: the task, the dossier, the transaction.
    assert calls == ["TransactWriteItems", "GetItem", "GetItem", "GetItem", "Query", "TransactWriteItems"]
    assert [h["action"] for h in json.loads(answered.body)["dossier"]["history"]] == [
        "submit", ESCALATE, "receive"]
    assert history_actions(code) == ["submit", ESCALATE, "receive"]


def test_a_task_decided_in_another_container_since_it_was_shown_is_closed(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    code, task_id = shown_desk_task(api, sample_token, agencies)
    shown = seen_tasks.seen_task(DESK, task_id)
    assert shown is not None
    assert agencies.decide(DESK, task_id, "receive").status_code == 200
    seen_tasks.remember_tasks([(shown.task, shown.dossier)])  # as another container still has it
    late = agencies.decide(DESK, task_id, "refuse", note="late")
    assert late.status_code == 409 and json.loads(late.body)["error"]["code"] == "task_closed"
    assert history_actions(code) == ["submit", "receive"]


def test_a_task_shown_before_its_callback_token_was_stored_still_answers_the_route(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    code, task_id = shown_desk_task(api, sample_token, agencies)
    shown = seen_tasks.seen_task(DESK, task_id)
    assert shown is not None and shown.task.token
    # Shown while the route had not yet given the task its token.
    seen_tasks.remember_tasks([(replace(shown.task, token=None), shown.dossier)])
    assert agencies.decide(DESK, task_id, "receive").status_code == 200
    assert agencies.task_for(JUSTICE, code)["step"]["index"] == 1  # the route heard the decision


def test_what_one_agency_was_shown_is_not_another_agencys(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    code, task_id = shown_desk_task(api, sample_token, agencies)
    agencies.inbox(JUSTICE)  # its key is remembered too
    refused = agencies.decide(JUSTICE, task_id, "receive")
    assert refused.status_code == 404 and json.loads(refused.body)["error"]["code"] == "task_not_found"
    # A wrong secret for the desk's remembered key id is a bad key, whatever is remembered.
    parsed = parse_key(agencies.key(DESK))
    assert parsed is not None
    forged = agencies.key(DESK)[:-4] + ("AAAA" if not agencies.key(DESK).endswith("AAAA") else "BBBB")
    bad = agencies.decide(DESK, task_id, "receive", key=forged)
    assert bad.status_code == 401 and json.loads(bad.body)["error"]["code"] == "invalid_api_key"
    assert history_actions(code) == ["submit"]


def test_a_task_closed_since_it_was_shown_gets_the_errors_of_a_closed_task(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    """Whatever the body: a decision the step does not take, or one without its reason, is told
    the task is closed, as it would be with nothing remembered (not checked against the open task
    the container remembers)."""
    code, task_id = shown_desk_task(api, sample_token, agencies)
    task = get_task_store().get_task(task_id)
    assert task is not None
    get_task_store().close_task(task, status="cancelled", at=frozen_clock)  # a withdrawal, elsewhere
    for decision in ("approve", "refuse", "receive"):
        refused = agencies.decide(DESK, task_id, decision)
        assert refused.status_code == 409, (decision, refused.body)
        assert json.loads(refused.body)["error"]["code"] == "task_closed"
    assert history_actions(code) == ["submit"]


def test_a_deadline_moved_since_the_task_was_shown_is_answered_as_it_is_now(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    """The inbox's tasks come from an index that may lag behind a miss the sweep recorded (the
    deadline moved) while its dossiers are read as they are: the decision answers the task as
    stored, not as remembered."""
    code, task_id = shown_desk_task(api, sample_token, agencies)
    shown = seen_tasks.seen_task(DESK, task_id)
    task, dossier = get_task_store().get_task(task_id), get_store().get_dossier(code)
    assert shown is not None and task is not None and dossier is not None
    new_due = task.due_at + timedelta(days=2)
    assert get_task_store().record_miss(task, new_due, dossier, LogEntry(
        at=frozen_clock, actor="system", action=ESCALATE, from_status=dossier.status, to_status=dossier.status,
        note="late")) is not None
    now_stored = get_store().get_dossier(code)
    assert now_stored is not None
    seen_tasks.remember_tasks([(shown.task, now_stored)])  # the lagging task, the dossier as it is now
    answered = agencies.decide(DESK, task_id, "receive")
    assert answered.status_code == 200, answered.body
    body = json.loads(answered.body)
    stored = get_task_store().get_task(task_id)
    assert stored is not None and (stored.due_at, stored.overdue_count) == (new_due, 1)
    assert body["overdue_count"] == 1
    assert body["due_at"] == json.loads(api.http.get(
        "/agency/tasks?status=decided", headers={"Authorization": f"Bearer {agencies.key(DESK)}"}).body
    )["items"][0]["due_at"]
