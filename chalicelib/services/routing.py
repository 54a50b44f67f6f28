"""Routing a dossier between agencies (liên thông).

The state machine walks the route and waits; this module answers it. Messages
arrive on the task queue (an SQS event source in AWS, the local stack's pump
locally) and every handler is idempotent: SQS delivers at least once.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from enum import Enum
from functools import partial
from typing import Any, Literal

from chalicelib.config import get_settings
from chalicelib.domain import audit, slips
from chalicelib.domain.catalogue import FeeExemption
from chalicelib.domain.dossiers import Dossier, LogEntry, OpenStepTask, ResultDocument, log_note
from chalicelib.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from chalicelib.domain.payments import format_vnd
from chalicelib.domain.tasks import (
    Decision,
    DecisionEffect,
    RoutePlan,
    Task,
    TaskRole,
    decide,
    execution_input,
    plan_route,
    plan_steps,
)
from chalicelib.domain.uploads import agency_owner
from chalicelib.domain.workflow import APOLOGISE, ESCALATE, FEE_EXEMPTED, DossierStatus, Role, transition
from chalicelib.integrations import idempotency, metrics
from chalicelib.integrations.sfn import AWAIT_FEE_ERROR, HELPERS_ERROR, SKIP_ERROR, RouteUnavailable
from chalicelib.integrations.sqs import MessageQueue
from chalicelib.services import seen_tasks, uploads, webhooks
from chalicelib.services.agency_auth import Remembered, invalid_key, key_still_valid
from chalicelib.services.catalogue import get_procedure
from chalicelib.services.deps import get_calendar, get_engine, get_storage, get_store, get_task_store, now
from chalicelib.store.agency_keys import AgencyKeyStore
from chalicelib.store.repository import StoreError, Wait

logger = logging.getLogger(__name__)
# How often a decision is written again on the dossier read anew when only the dossier moved
# between its read and the transaction (another agency of the step deciding at the same moment).
DECISION_ATTEMPTS = 3
# Task-queue messages of the app's own: a route answer or start that Step Functions did not take
# during a request, given by the task worker instead.
ROUTE_ANSWER_MESSAGE = "route.answer"
ROUTE_START_MESSAGE = "route.start"
PAYMENT_REFUND_MESSAGE = "payment.refund"

SYSTEM_ACTOR = "system"
# The task queue's message of the stack's schedule (infra/aws.json OverdueSweepSchedule; locally
# tools/schedule.py): the deadlines' watch.
OVERDUE_SWEEP_MESSAGE = "overdue.sweep"


def _plan(dossier: Dossier) -> RoutePlan:
    """The route the dossier follows: the one it was submitted under (the catalogue may have
    changed since: its execution walks the steps it started with)."""
    if dossier.route is not None:
        return plan_steps(dossier.route)
    return plan_route(get_procedure(dossier.procedure_code))


def on_route(agency_code: str, dossier: Dossier) -> bool:
    """Whether the agency is on the dossier's route (may see it); False for a dossier whose route is
    unknown (stored before routes were kept, its procedure since gone from the catalogue)."""
    try:
        return agency_code in route_agencies(dossier)
    except NotFound:
        return False


def route_agencies(dossier: Dossier) -> set[str]:
    """Every agency on the dossier's route: the ones that may see it."""
    agencies = set()
    for step in _plan(dossier).steps:
        agencies.add(step.agency_code)
        agencies.update(agency for agency, _ in step.helpers)
    return agencies


def start_route(dossier: Dossier, *, defer_if_unavailable: bool = True) -> None:
    """Starts the dossier's route. The dossier is stored already: if Step Functions does not take
    the start now, the task worker is asked to start it (``ROUTE_START_MESSAGE``, retried by the
    queue) rather than leaving a stored dossier without a route."""
    # The dossier code is unique and a valid execution name: a retried start is a no-op.
    try:
        get_engine().start(dossier.code, execution_input(
            dossier.code, _plan(dossier), supplement_timeout_seconds=get_settings().supplement_wait_seconds))
    except RouteUnavailable:
        if not defer_if_unavailable:
            raise
        logger.warning("route of %s not started now: left to the task worker", dossier.code, exc_info=True)
        _task_queue().send({"type": ROUTE_START_MESSAGE, "dossier_code": dossier.code})


def _task_queue() -> MessageQueue:
    settings = get_settings()
    if not settings.task_queue_url:
        raise StoreError("no task queue configured to defer the route's call to")
    return MessageQueue(settings.region, settings.task_queue_url)


RouteAnswer = Literal["succeed", "stop", "supplement"]


def _tell_route(kind: RouteAnswer, token: str, detail: str | dict[str, Any]) -> None:
    """Answers one of the route's waits after the change it follows was written. If Step
    Functions does not take the answer now, the task worker is asked to give it
    (``ROUTE_ANSWER_MESSAGE``, retried by the queue, then dead-lettered for ops): the change is
    recorded and its wait may be gone, so the answer must not be lost with this request."""
    try:
        _send_answer(kind, token, detail)
    except RouteUnavailable:
        logger.warning("route answer not taken now: left to the task worker", exc_info=True)
        _task_queue().send({"type": ROUTE_ANSWER_MESSAGE, "kind": kind, "token": token, "detail": detail})


def _send_answer(kind: RouteAnswer, token: str, detail: str | dict[str, Any]) -> None:
    engine = get_engine()
    if kind == "succeed" and isinstance(detail, dict):
        engine.succeed(token, detail)
    elif kind == "stop" and isinstance(detail, str):
        engine.stop(token, detail)
    elif kind == "supplement" and isinstance(detail, str):
        engine.supplement(token, detail)
    else:
        raise ValueError(f"not a route answer: {kind} with {type(detail).__name__}")


def _dossier(code: str) -> Dossier:
    dossier = get_store().get_dossier(code)
    if dossier is None:
        raise NotFound(f"dossier {code} not found", code="dossier_not_found")
    return dossier


def _timeout_seconds(due_at: datetime, at: datetime) -> int:
    return max(1, math.ceil((due_at - at).total_seconds()))


def _task_id(token: str, role: TaskRole, index: int) -> str:
    # Derived from the callback token: a redelivered schedule message opens the same tasks.
    digest = hashlib.sha256(token.encode()).hexdigest()[:20]
    return f"{digest}{'L' if role == 'lead' else 'H'}{index}"


def schedule_step(dossier_code: str, step_index: int, token: str, *, waits_for_lead: bool = False) -> None:
    """Opens the step's tasks with their deadlines. ``waits_for_lead``: the schedule state itself
    waits for the lead agency when it works alone (the route's definition says so in its message):
    its token goes on the lead's task, whose decision answers it. Executions started under the
    previous definition (no such flag) are answered at once and wait in AwaitLead."""
    engine = get_engine()
    dossier = _dossier(dossier_code)
    if dossier.status.is_final:
        engine.stop(token, f"dossier is {dossier.status.slug}")
        return
    plan = _plan(dossier)
    step = plan.step(step_index)
    at = now()
    calendar = get_calendar()
    if step.kind == "payment":
        if dossier.fee_status == "exempt" and dossier.fee_exemption is not None:
            _skip_fee(dossier, dossier.fee_exemption, token, at)
        else:
            _await_fee(dossier, step.index, step.agency_code, step.days, token, at)
        return
    if step.kind == "processing" and dossier.status is DossierStatus.RECEIVED:
        status = transition(dossier.status, "start_processing", Role.SYSTEM)
        dossier = get_store().apply_change(dossier, LogEntry(
            at=at, actor=SYSTEM_ACTOR, action="start_processing", from_status=dossier.status, to_status=status,
            note=f"Chuyển xử lý / Sent for processing: {step.agency_code}"))
    lead = Task(
        task_id=_task_id(token, "lead", 0), dossier_code=dossier.code, step_index=step.index, kind=step.kind,
        role="lead", agency_code=step.agency_code, status="open", opened_at=at,
        due_at=calendar.due_at(at, step.days), last_step=plan.is_last_processing(step.index),
        helpers=len(step.helpers), token=token if waits_for_lead and not step.helpers else None,
    )
    helpers = [
        Task(task_id=_task_id(token, "helper", n), dossier_code=dossier.code, step_index=step.index,
             kind=step.kind, role="helper", agency_code=agency, status="open", opened_at=at,
             due_at=calendar.due_at(at, days))
        for n, (agency, days) in enumerate(step.helpers, start=1)
    ]
    try:
        opened = get_task_store().open_tasks([lead, *helpers])
    except StoreError:
        # Tasks never open on a closed dossier: closed since it was read (withdrawn), the route ends.
        current = _dossier(dossier.code)
        if not current.status.is_final:
            raise
        engine.stop(token, f"dossier is {current.status.slug}")
        return
    for task in opened:
        if task.status == "open":
            webhooks.enqueue_task_event(task, "task.assigned")
    answer = {
        "lead": {"task_id": opened[0].task_id, "timeout_seconds": _timeout_seconds(opened[0].due_at, at)},
        "helpers": [{"task_id": t.task_id, "timeout_seconds": _timeout_seconds(t.due_at, at)} for t in opened[1:]],
        # How long the route waits for the citizen if the lead agency asks for a supplement: read by
        # executions of the previous definition (the current one has it in each step's input).
        "supplement_timeout_seconds": get_settings().supplement_wait_seconds,
    }
    if helpers:
        # Parallel agencies first: the route's rarer branch (see RouteEngine.branch).
        engine.branch(token, HELPERS_ERROR, answer)
    elif not waits_for_lead:
        engine.succeed(token, answer)


def _await_fee(dossier: Dossier, step_index: int, agency_code: str, days: float, token: str, at: datetime) -> None:
    """The route names this point for the fee (status 6). Payment itself (Stripe) is issue 4;
    ``record_payment`` is the internal way to complete the wait."""
    if dossier.status is not DossierStatus.AWAITING_FEE:
        status = transition(dossier.status, "request_fee", Role.SYSTEM)
        dossier = get_store().apply_change(dossier, LogEntry(
            at=at, actor=SYSTEM_ACTOR, action="request_fee", from_status=dossier.status, to_status=status,
            note=f"Chờ nộp phí, lệ phí {format_vnd(dossier.fee_vnd)} đồng / "
                 f"Awaiting the fee of {dossier.fee_vnd:,} VND"))
    due = get_calendar().due_at(at, days)
    get_engine().branch(token, AWAIT_FEE_ERROR, {
        "lead": {"task_id": f"fee-{step_index}", "timeout_seconds": _timeout_seconds(due, at)}, "helpers": []})


def _skip_fee(dossier: Dossier, exemption: FeeExemption, token: str, at: datetime) -> None:
    """The applicant claimed one of the procedure's fee exemptions: the route does not wait
    for the fee (no status 6); the progress log says which exemption and on what legal basis.
    ``SKIP_ERROR`` sends the state machine past its payment wait."""
    if not any(entry.action == FEE_EXEMPTED for entry in dossier.history):  # a redelivered message logs once
        get_store().apply_change(dossier, LogEntry(
            at=at, actor=SYSTEM_ACTOR, action=FEE_EXEMPTED, from_status=dossier.status, to_status=dossier.status,
            note=f"Miễn phí, lệ phí ({exemption.category}): {exemption.name}; căn cứ: {exemption.legal_basis} / "
                 f"Fee exempted ({exemption.category}), legal basis {exemption.legal_basis}: no payment awaited"))
    get_engine().branch(token, SKIP_ERROR, {"exemption": exemption.category})


def record_payment(dossier_code: str, reference: str) -> Dossier | None:
    """Records the fee as paid and lets the route go on (the payment provider's confirmed
    event calls this); the paid dossier, or None if the fee was paid already (nothing done)."""
    dossier = _dossier(dossier_code)
    if dossier.fee_status == "paid":
        return None
    status = transition(dossier.status, "record_payment", Role.SYSTEM)
    at = now()
    paid = get_store().apply_change(dossier, LogEntry(
        at=at, actor=SYSTEM_ACTOR, action="record_payment", from_status=dossier.status, to_status=status,
        note=f"Đã nộp phí / Fee paid ({reference})"), fee_status="paid", due_at=_due_after_fee_wait(dossier, at))
    store = get_task_store()
    wait = store.get_wait(dossier_code, "payment")
    if wait is not None:
        store.delete_wait(dossier_code, "payment")
        _tell_route("succeed", wait.token, {"outcome": "continue"})
    return paid


def _due_after_fee_wait(dossier: Dossier, paid_at: datetime) -> datetime:
    """The appointment moved by the working time the dossier waited for its fee. The time the
    applicant takes to fulfil a financial obligation is not processing time (sector rules say
    so, e.g. Decree 43/2014 art. 61 for land; the catalogue keeps a payment step's days out of
    processing_days), so it must not count against the agencies' deadline or on-time rate."""
    asked = next((entry.at for entry in reversed(dossier.history) if entry.action == "request_fee"), None)
    if asked is None or paid_at <= asked:
        return dossier.due_at
    calendar = get_calendar()
    return calendar.add_working_hours(dossier.due_at, calendar.working_hours_between(asked, paid_at))


def _wait_expired(dossier_code: str, kind: str, action: str, note: str) -> None:
    """The citizen did not answer (a supplement, a fee) in time: the route closes the dossier."""
    dossier = _dossier(dossier_code)
    get_task_store().delete_wait(dossier_code, kind)
    if dossier.status is not _WAITING_STATUS[kind]:
        return
    status = transition(dossier.status, action, Role.SYSTEM)
    get_store().apply_change(dossier, LogEntry(at=now(), actor=SYSTEM_ACTOR, action=action, from_status=dossier.status,
                                    to_status=status, note=note))
    _refund_if_paid(dossier)


def fee_expired(dossier_code: str) -> None:
    _wait_expired(dossier_code, "payment", "fee_expired", "Quá hạn nộp phí / The fee was not paid in time")


def _answer_route(token: str, task: Task) -> None:
    """Tells the route a decided task's outcome. Only "continue" is a success (the step is
    done); the others are errors the state machine catches: "stop" ends the route,
    "supplement" (the lead agency's) waits for the citizen. No Choice state in between."""
    if task.outcome == "stop":
        _tell_route("stop", token, f"{task.decision} by {task.agency_code}")
    elif task.outcome == "supplement" and task.role == "lead":
        _tell_route("supplement", token, f"{task.decision} by {task.agency_code}")
    else:
        _tell_route("succeed", token, {"outcome": task.outcome})


def await_task(task_id: str, token: str) -> None:
    """The route now waits on this task: remember how to answer it."""
    task = get_task_store().attach_token(task_id, token)
    if task is None:
        raise NotFound(f"task {task_id} not found", code="task_not_found")
    # Decided (or cancelled) before the route got here: answer now, nobody else will.
    if task.status == "decided":
        _answer_route(token, task)
    elif task.status == "cancelled":
        get_engine().stop(token, "task cancelled")


_WAITING_STATUS = {"supplement": DossierStatus.SUPPLEMENT_REQUESTED, "payment": DossierStatus.AWAITING_FEE}


def await_citizen(dossier_code: str, step_index: int, kind: str, token: str) -> None:
    """The route waits for the citizen (a supplement, a fee): keep the token where the
    citizen's answer will find it."""
    store = get_task_store()
    dossier = _dossier(dossier_code)
    step = _plan(dossier).step(step_index)
    store.put_wait(dossier_code, Wait(kind, token, step_index, step.kind, now()))
    # The citizen may have answered before the route got here: read again after writing,
    # so that one side or the other always sees both.
    dossier = _dossier(dossier_code)
    if dossier.status.is_final:
        store.delete_wait(dossier_code, kind)
        get_engine().stop(token, f"dossier is {dossier.status.slug}")
    elif dossier.status is not _WAITING_STATUS[kind]:
        store.delete_wait(dossier_code, kind)
        get_engine().succeed(token, {})


def supplement_requested_at_reception(dossier_code: str) -> bool:
    """Whether the open supplement request came from the reception desk."""
    store = get_task_store()
    wait = store.get_wait(dossier_code, "supplement")
    if wait is not None:
        return wait.step_kind == "reception"
    # The route has not registered its wait yet: the latest request tells (steps only go forward).
    asked = [t for t in store.tasks_of(dossier_code) if t.decision == "request_supplement"]
    latest = max(asked, key=lambda t: (t.decided_at or t.opened_at, t.step_index), default=None)
    return latest is None or latest.kind == "reception"


def resume_after_supplement(dossier: Dossier) -> None:
    store = get_task_store()
    wait = store.get_wait(dossier.code, "supplement")
    if wait is not None:
        store.delete_wait(dossier.code, "supplement")
        _tell_route("succeed", wait.token, {})


def sweep_overdue() -> int:
    """Records every open task past its deadline: the watch over deadlines (the route's waits have
    no timeouts, a state entered being a billed transition). Runs every few minutes (a schedule in
    AWS, the local stack's clock). Each agency's inbox partition is read up to now only, so a sweep
    costs one Query per agency however many dossiers there are. Returns the misses it recorded."""
    at = now()
    store = get_task_store()
    recorded = 0
    for agency in get_store().list_agencies():
        for task in store.overdue_tasks(agency.code, at):
            try:
                recorded += _miss(task, at) is not None
            except (DomainError, StoreError):
                # The others still get theirs; this one is read again by the next sweep unless
                # its deadline moved (then its log line is what was lost: said in the logs).
                logger.exception("could not record the miss of task %s", task.task_id)
    return recorded


def overdue(task_id: str, token: str) -> None:
    """A wait of an execution started under the route's previous definition timed out (its
    AwaitLead/AwaitHelper had timeouts): record the miss unless the sweep did, and tell the route
    how long to wait again."""
    task = get_task_store().get_task(task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found", code="task_not_found")
    at = now()
    if task.status == "open" and task.due_at <= at:
        task = _miss(task, at) or get_task_store().get_task(task_id) or task
    get_engine().succeed(token, {"task_id": task.task_id, "timeout_seconds": _timeout_seconds(task.due_at, at)})


def _miss(task: Task, at: datetime) -> Task | None:
    """A task missed its deadline; it stays open, with a new one. A dossier past its appointment
    gets the apology slip 04 and a new return date, once (Decree 61/2018 art. 19: the apology is
    for an overdue dossier); any other miss is escalated: logged, and the agency's supervising
    agency told. A step late while its dossier is not gets a new deadline no later than the
    appointment, so that the sweep looks again when the apology may be due. The task's new
    deadline and the dossier's log line are one transaction. None if the task was closed meanwhile
    or its miss recorded by someone else."""
    store = get_task_store()
    for attempt in range(3):
        dossier = _dossier(task.dossier_code)
        new_due = get_calendar().due_at(at, _task_days(dossier, task))
        dossier_late = at >= dossier.due_at
        if not dossier_late:
            new_due = min(new_due, dossier.due_at)
        late = replace(task, overdue_count=task.overdue_count + 1, due_at=new_due)
        first = dossier_late and not dossier.has_slip(slips.SlipNumber.APOLOGY)
        try:
            if dossier.status.is_final:
                recorded = store.record_miss(task, new_due)
            elif first:
                # The citizen's new date: the later of the late step's new deadline and the date
                # already promised.
                promised = max(new_due, dossier.due_at)
                recorded = store.record_miss(
                    task, new_due, dossier,
                    LogEntry(at=at, actor=SYSTEM_ACTOR, action=APOLOGISE, from_status=dossier.status,
                             to_status=dossier.status, note=f"Quá hạn tại {task.agency_code}; xin lỗi và hẹn lại / "
                                                            "Overdue: apology and new date"),
                    slips=[slips.apology(at, task.agency_code, dossier.due_at, promised)],
                    due_at=promised, overdue=True, **_with_due(dossier, late))
            else:
                note = (f"Quá hạn lần {late.overdue_count} tại {task.agency_code}, đã báo cơ quan cấp trên / "
                        f"Overdue again at {task.agency_code}: escalated to the supervising agency")
                if not dossier_late:
                    note = (f"Bước xử lý tại {task.agency_code} quá hạn (hồ sơ còn trong hạn hẹn trả), đã báo cơ "
                            f"quan cấp trên / The step at {task.agency_code} is late (the dossier is not yet): "
                            "escalated to the supervising agency")
                recorded = store.record_miss(task, new_due, dossier, LogEntry(
                    at=at, actor=SYSTEM_ACTOR, action=ESCALATE, from_status=dossier.status, to_status=dossier.status,
                    note=note), **_with_due(dossier, late))
        except Conflict:
            if attempt == 2:
                raise
            continue  # the dossier changed since read (a decision, a payment): again
        if recorded is None:
            return None
        metrics.count(get_settings(), metrics.OVERDUE_TASKS)
        if not dossier.status.is_final and not first:
            agency = get_store().get_agency(task.agency_code)
            webhooks.enqueue_escalation(recorded, agency.parent_code if agency is not None else None)
        return recorded
    return None  # not reached: the third conflict is raised


def _task_days(dossier: Dossier, task: Task) -> float:
    """The working days the task's agency has for its part of the step: a parallel agency its own."""
    step = _plan(dossier).step(task.step_index)
    if task.role == "helper":
        return next((days for agency, days in step.helpers if agency == task.agency_code), step.days)
    return step.days


def _with_due(dossier: Dossier, task: Task) -> dict[str, Any]:
    """The late task's new deadline in the dossier's record of where it is (public tracking)."""
    if dossier.open_tasks is None:
        return {}
    return {"open_tasks": tuple(replace(t, due_at=task.due_at) if t.task_id == task.task_id else t
                                for t in dossier.open_tasks)}


def supplement_expired(dossier_code: str) -> None:
    _wait_expired(dossier_code, "supplement", "supplement_expired", "Quá hạn bổ sung hồ sơ / No supplement in time")


def handle_task_message(body: Mapping[str, Any], *, lambda_context: Any = None) -> None:
    """One message of the task queue (what the SQS event source or the local pump delivers),
    handled once: a redelivered copy (same body, hence same task token) does nothing; a copy whose
    first handling raised is handled again (integrations/idempotency.py)."""
    idempotency.run_once(idempotency.TASK_MESSAGE, _handle_task_message, body, lambda_context=lambda_context)


def _handle_task_message(body: Mapping[str, Any]) -> None:
    kind = body.get("type")
    code = str(body.get("dossier_code", ""))
    token = str(body.get("token", ""))
    if kind == "step.schedule":
        schedule_step(code, int(body["step_index"]), token, waits_for_lead=body.get("lead_waits_here") is True)
    elif kind == "task.await":
        await_task(str(body["task_id"]), token)
    elif kind == "task.overdue":
        overdue(str(body["task_id"]), token)
    elif kind == OVERDUE_SWEEP_MESSAGE:
        # Sent by the stack's schedule (infra/aws.json) every few minutes, its time in the body:
        # each is a new message, handled once.
        sweep_overdue()
    elif kind == "supplement.await":
        await_citizen(code, int(body["step_index"]), "supplement", token)
    elif kind == "payment.await":
        await_citizen(code, int(body["step_index"]), "payment", token)
    elif kind == "payment.expired":
        fee_expired(code)
    elif kind == "supplement.expired":
        supplement_expired(code)
    elif kind == ROUTE_ANSWER_MESSAGE:
        # An answer a request could not give (Step Functions unavailable then): raises until it
        # gets through, the queue retrying it.
        _send_answer(body["kind"], token, body["detail"])
    elif kind == ROUTE_START_MESSAGE:
        start_route(_dossier(code), defer_if_unavailable=False)
    elif kind == PAYMENT_REFUND_MESSAGE:
        from chalicelib.services import payments  # payments calls back into routing (record_payment)

        payments.refund_if_paid(_dossier(code))  # raises while Stripe does not take it: retried
    else:
        # Not retried: a message nobody understands would only poison the queue.
        logger.error("unknown task message type %r", kind)


# --- agency side -----------------------------------------------------------------------------


class Unread(Enum):
    """A task not read yet (the agency API reads it with the key, in one call)."""

    TASK = "unread"


def own_task(agency_code: str, task_id: str, found: Task | Unread | None = Unread.TASK) -> Task:
    """The task ``task_id`` if it is the agency's: ``found`` as read for it (None: no such task),
    read here if not read yet."""
    task = (get_task_store().get_task(task_id) if len(task_id) <= 64 else None) if found is Unread.TASK else found
    # Another agency's task does not exist, as far as this agency can tell.
    if task is None or task.agency_code != agency_code or task.task_id != task_id:
        raise NotFound(f"Không tìm thấy nhiệm vụ {task_id} / Task {task_id} not found", code="task_not_found")
    return task


def decide_task(agency_code: str, key_id: str, task_id: str, decision: Decision, *,
                found: Task | Unread | None = Unread.TASK,
                remembered: Remembered | None = None) -> tuple[Task, Dossier]:
    """Records an agency's decision on its task (``found``: see ``own_task``); the task and the
    dossier as the decision left them, the dossier recorded as read by the key's holder in the
    decision's transaction (the answer shows it in full).

    ``remembered``: the task, its dossier and the key come from what this container remembers
    (``seen_tasks``), not from reads; the transaction then also checks that the key is still good
    and the task and dossier still as remembered. Any refusal on what was remembered (a condition
    of the transaction, or a check before it: the task may have closed since) comes before anything
    is written: the key is read again, then the decision is made on what is read, as if nothing
    had been remembered, so that it is refused or made exactly as it would have been then."""
    if remembered is None:
        decided, written, dossier, effect = _write_decision(agency_code, key_id, task_id, decision, found, None)
    else:
        try:
            decided, written, dossier, effect = _write_decision(agency_code, key_id, task_id, decision,
                                                                remembered.seen.task, remembered)
        except DomainError:
            seen_tasks.forget_task(agency_code, task_id)
            # A key revoked since this container read it gets the one error of a bad key.
            if not key_still_valid(remembered.key):
                raise invalid_key() from None
            decided, written, dossier, effect = _write_decision(agency_code, key_id, task_id, decision,
                                                                Unread.TASK, None)
    seen_tasks.forget_task(agency_code, task_id)
    if effect.outcome == "stop":
        _cancel_open_tasks(dossier.code, at=decided.decided_at or now(), keep=task_id, known=dossier.open_tasks)
        _refund_if_paid(dossier)
    if decided.token:
        _answer_route(decided.token, decided)
    return decided, written or dossier


def _write_decision(agency_code: str, key_id: str, task_id: str, decision: Decision, found: Task | Unread | None,
                    remembered: Remembered | None) -> tuple[Task, Dossier | None, Dossier, DecisionEffect]:
    """The decision's transaction (see ``decide_task``): the task as decided, the dossier as
    written (None if not moved) and as it stood before, the decision's effect."""
    task = own_task(agency_code, task_id, found)
    effect = decide(task, decision)
    # Only a lead with parallel agencies (or one opened before they were counted) waits for them.
    if task.role == "lead" and task.status == "open" and task.helpers != 0:
        pending = [t for t in get_task_store().tasks_of(task.dossier_code)
                   if t.step_index == task.step_index and t.role == "helper" and t.status == "open"]
        if pending:
            # The lead agency decides on its parallel agencies' answers (liên thông).
            raise Conflict(
                "Cơ quan chủ trì quyết định sau khi các cơ quan phối hợp trả lời / The lead agency decides after "
                f"its parallel agencies: waiting for {', '.join(sorted(t.agency_code for t in pending))}",
                code="parallel_agencies_pending")
    at = now()
    read = audit.staff_read(at, agency_code, key_id, "decision", [task.dossier_code])
    # A remembered dossier only stands if the transaction checks it: the one moving it does.
    seen = remembered.seen.dossier if remembered is not None and effect.action is not None else None
    checks = [partial(AgencyKeyStore.still_valid_in, key=remembered.key)] if remembered is not None else []
    for attempt in range(DECISION_ATTEMPTS):
        dossier = seen or _dossier(task.dossier_code)
        entry, closed, dossier_changes = _decision_changes(task, decision, effect, dossier, at)
        # The result's object is tagged attached, and the citizen told, off the request path from
        # the table's stream (services/table_events.py).
        try:
            decided, written = get_task_store().decide(dossier, entry, closed, read, checks=checks,
                                                       same_deadline=remembered is not None, **dossier_changes)
            return decided, written, dossier, effect
        except Conflict as error:
            # Only the dossier moved since it was read (a parallel agency's decision on it, a miss
            # the sweep recorded, a payment): this decision still stands on it, read it again.
            # (What was remembered is not read again here: the caller decides anew.)
            if remembered is not None or error.code != "concurrent_update" or attempt == DECISION_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _decision_changes(task: Task, decision: Decision, effect: DecisionEffect, dossier: Dossier,
                      at: datetime) -> tuple[LogEntry | None, Task, dict[str, Any]]:
    """What a decision writes, on the dossier as read: its progress-log entry (None for a decision
    that does not move it), the task closed, the dossier's other changes."""
    agency_code = task.agency_code
    entry: LogEntry | None = None
    dossier_changes: dict[str, Any] = {}
    note = log_note(effect.note_vi, decision.note)
    if effect.action is not None:
        role = Role.RECEPTION if task.kind == "reception" else Role.PROCESSING
        try:
            status = transition(dossier.status, effect.action, role)
        except Conflict as error:
            # The task was read open, but a decision on it (another request of the agency) may
            # have moved the dossier since: then say so rather than blame the dossier's status.
            current = get_task_store().get_task(task.task_id) if error.code == "invalid_status" else None
            if current is not None and current.status != "open":
                decide(current, decision)  # raises task_closed
            raise
        entry = LogEntry(at=at, actor=f"agency:{agency_code}", action=effect.action, from_status=dossier.status,
                         to_status=status, note=note)
        if effect.action == "receive":
            # The appointment (slip 01) counts from the receipt, not from the online submission.
            procedure = get_procedure(dossier.procedure_code)
            due = get_calendar().due_at(at, dossier.days_to_process(procedure))
            dossier_changes = {"received_at": at, "due_at": due, "slips": [slips.receipt(at, agency_code, due)]}
        elif effect.action == "request_supplement":
            dossier_changes = {"slips": [slips.supplement_request(at, agency_code, decision.note)]}
        elif effect.action == "refuse":
            dossier_changes = {"slips": [slips.refusal(at, agency_code, decision.note)]}
        elif effect.action == "approve_final" and decision.result_upload_id:
            # Recorded with the decision, in its transaction. A final approval without a
            # result stays allowed: the result is then on paper, handed over at the desk.
            dossier_changes = {"result": _result_document(agency_code, dossier, decision.result_upload_id)}
    closed = replace(task, status="decided", decided_at=at, decision=decision.decision, outcome=effect.outcome,
                     note=decision.note)
    if dossier.open_tasks is not None:
        # Where the dossier is now (public tracking): without this task, or nowhere once it stops.
        dossier_changes["open_tasks"] = () if effect.outcome == "stop" else tuple(
            t for t in dossier.open_tasks if t.task_id != task.task_id)
    return entry, closed, dossier_changes


def _result_document(agency_code: str, dossier: Dossier, upload_id: str) -> ResultDocument:
    """The agency's uploaded result for this dossier, checked to be in S3 as declared."""
    settings = get_settings()
    upload = get_store(settings).get_upload(upload_id) if len(upload_id) <= 64 else None

    def refused(why: str) -> InvalidInput:
        return InvalidInput(f"Tệp kết quả không hợp lệ / Invalid result upload: {why}", code="invalid_result",
                            field="result_upload_id")

    if upload is None or upload.owner != agency_owner(agency_code) or upload.dossier_code != dossier.code:
        raise refused("không tìm thấy tệp kết quả của cơ quan cho hồ sơ này / "
                      "no result upload of this agency for this dossier")
    if upload.attached:
        raise refused("tệp đã được dùng / the upload was already used")
    if uploads.is_expired(upload, now()):
        raise refused("tệp đã hết hạn, vui lòng tải lên lại / the upload expired, upload it again")
    stored = get_storage(settings).head(settings.uploads_bucket, upload.s3_key)
    if stored is None:
        raise refused("tệp chưa được tải lên xong / the file was not uploaded")
    if stored.size != upload.size:
        raise refused("dung lượng tệp không khớp / the file size differs from the declared size")
    return ResultDocument(upload_id=upload.upload_id, s3_key=upload.s3_key, filename=upload.filename,
                          content_type=upload.content_type)


def _cancel_open_tasks(dossier_code: str, at: datetime, *, keep: str | None = None,
                       known: tuple[OpenStepTask, ...] | None = None) -> None:
    """Cancels the dossier's open tasks: the ones its record lists (``known``, read with the
    closing dossier's version: no task opens on a closed dossier), else all of its tasks."""
    store = get_task_store()
    if known is None:
        tasks = store.tasks_of(dossier_code)
    else:
        tasks = [task for entry in known if entry.task_id != keep and (task := store.get_task(entry.task_id))]
    for task in tasks:
        if task.status != "open" or task.task_id == keep:
            continue
        try:
            cancelled = store.close_task(task, status="cancelled", at=at)
        except Conflict:  # decided meanwhile: nothing to cancel
            continue
        if cancelled.token:
            _tell_route("stop", cancelled.token, "dossier closed")
        try:
            webhooks.enqueue_task_event(cancelled, "task.cancelled")
        except Exception:  # a notice: the cancellation is recorded and shows in the inbox
            logger.exception("task.cancelled webhook of task %s not queued", cancelled.task_id)


def heartbeat(agency_code: str, task_id: str, *, found: Task | Unread | None = Unread.TASK) -> Task:
    task = own_task(agency_code, task_id, found)
    if task.status != "open":
        raise Conflict(f"Nhiệm vụ đã đóng / The task is {task.status}", code="task_closed")
    if task.token:
        get_engine().heartbeat(task.token)
    return task


def _refund_if_paid(dossier: Dossier) -> None:
    """A dossier refused or stopped after its fee was paid gets the fee back. The decision
    stands whatever Stripe says; a refund that fails is logged for ops to retry."""
    from chalicelib.services import payments  # payments calls back into routing (record_payment)

    if dossier.fee_status != "paid":
        return
    try:
        payments.refund_if_paid(dossier)
    except DomainError as error:
        # Stripe did not take it now: the task worker tries again (PAYMENT_REFUND_MESSAGE, the
        # queue's retries, then its DLQ for ops), the decision or withdrawal standing meanwhile.
        logger.warning("refund of dossier %s's fee failed (%s): left to the task worker", dossier.code, error.code)
        try:
            _task_queue().send({"type": PAYMENT_REFUND_MESSAGE, "dossier_code": dossier.code})
        except Exception:  # the request's change is recorded: say it loudly, do not undo it
            logger.exception("refund of dossier %s's fee not queued either: refund it by hand", dossier.code)


def stop_route(dossier: Dossier, reason: str) -> None:
    """The citizen withdrew: close open tasks and the citizen's waits so the route ends."""
    _refund_if_paid(dossier)
    at = now()
    _cancel_open_tasks(dossier.code, at, known=dossier.open_tasks)
    store = get_task_store()
    for kind in ("supplement", "payment"):
        wait = store.get_wait(dossier.code, kind)
        if wait is not None:
            _tell_route("stop", wait.token, reason)
            store.delete_wait(dossier.code, kind)


def inbox(agency_code: str, key_id: str, status: str, *, cursor: str | None,
          limit: int) -> tuple[list[tuple[Task, Dossier]], str | None]:
    """A page of the agency's tasks with their dossiers in full; the page's dossiers are recorded
    as read by the key's holder before they are shown (Decree 13/2023: every staff read audited)."""
    if status not in ("open", "decided", "cancelled"):
        raise InvalidInput("status phải là open, decided hoặc cancelled / status must be open, decided or cancelled",
                           code="invalid_parameter", field="status")
    page = get_task_store().inbox(agency_code, status, cursor=cursor, limit=limit)
    # Each dossier in full, as the contract shows it (its progress log and slips are what the agency
    # works from): one read per task. A page of dossier items without them (one BatchGetItem) would
    # change what agency systems receive, a contract change for a v2.
    store = get_store()
    items = [(task, dossier) for task in page.items if (dossier := store.get_dossier(task.dossier_code))]
    if items:
        store.record_staff_read(audit.staff_read(now(), agency_code, key_id, "inbox", (d.code for _, d in items)))
        # A decision on a task the agency has just been shown needs no read (seen_tasks).
        seen_tasks.remember_tasks(items)
    return items, page.next_cursor

