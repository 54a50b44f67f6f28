"""Agency tasks: one per agency per route step, and what a decision on one means.

Decree 61/2018 and Circular 01/2018: the reception desk receives, asks for a
supplement (listing everything missing at once) or refuses; each processing
agency approves, stops the dossier with a reason, or asks for a supplement. A
step may have agencies working in parallel with a lead agency, which decides
after them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from chalicelib.domain.catalogue import Procedure, RouteStep
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.forms import validate_against
from chalicelib.domain.workflow import DossierStatus

TaskKind = Literal["reception", "processing", "payment"]
TaskRole = Literal["lead", "helper"]
TaskStatus = Literal["open", "decided", "cancelled"]
Outcome = Literal["continue", "stop", "supplement"]


@dataclass(frozen=True)
class PlannedStep:
    """One step of a dossier's route, as the state machine iterates over it."""

    index: int
    kind: TaskKind
    agency_code: str
    days: float
    helpers: tuple[tuple[str, float], ...] = ()  # (agency code, days) working in parallel


@dataclass(frozen=True)
class RoutePlan:
    steps: tuple[PlannedStep, ...]

    def step(self, index: int) -> PlannedStep:
        if not 0 <= index < len(self.steps):
            raise InvalidInput(f"route has no step {index}", code="unknown_step")
        return self.steps[index]

    def is_last_processing(self, index: int) -> bool:
        later = [s for s in self.steps[index + 1:] if s.kind == "processing"]
        return self.steps[index].kind == "processing" and not later


def plan_route(procedure: Procedure) -> RoutePlan:
    """The procedure's route as the state machine walks it."""
    return plan_steps(procedure.route)


def plan_steps(route: Sequence[RouteStep]) -> RoutePlan:
    """A route's steps as the state machine walks them."""
    steps: list[PlannedStep] = []
    for step in route:
        steps.append(PlannedStep(
            index=len(steps),
            kind=step.kind,
            agency_code=step.agency_code,
            days=step.days,
            helpers=tuple((branch.agency_code, branch.days) for branch in step.parallel),
        ))
    return RoutePlan(tuple(steps))


def execution_input(dossier_code: str, plan: RoutePlan, *, supplement_timeout_seconds: int) -> dict[str, Any]:
    """The state machine's input: only what it needs to iterate (and how long a step waits for
    the citizen's supplement); the app keeps the rest."""
    return {
        "dossier_code": dossier_code,
        "steps": [{"index": step.index, "kind": step.kind, "supplement_timeout_seconds": supplement_timeout_seconds}
                  for step in plan.steps],
    }


@dataclass(frozen=True)
class Task:
    task_id: str
    dossier_code: str
    step_index: int
    kind: TaskKind
    role: TaskRole
    agency_code: str
    status: TaskStatus
    opened_at: datetime
    due_at: datetime
    last_step: bool = False
    token: str | None = None
    overdue_count: int = 0
    decision: str | None = None
    outcome: Outcome | None = None
    note: str = ""
    decided_at: datetime | None = None
    # A lead task's parallel agencies, counted when the step opened, so that a lead decision
    # reads their tasks only when it has some; None: opened before this was recorded.
    helpers: int | None = None


DECISIONS: dict[tuple[TaskKind, TaskRole], frozenset[str]] = {
    ("reception", "lead"): frozenset({"receive", "request_supplement", "refuse"}),
    ("processing", "lead"): frozenset({"approve", "reject", "request_supplement"}),
    # A parallel agency gives its part or stops the dossier; asking the citizen for
    # more goes through the lead agency, so the citizen gets one list.
    ("processing", "helper"): frozenset({"approve", "reject"}),
}

DECISION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["decision"],
    "properties": {
        "decision": {"type": "string", "title": "Quyết định",
                     "enum": ["receive", "request_supplement", "refuse", "approve", "reject"]},
        "note": {"type": "string", "title": "Ghi chú", "maxLength": 2000},
        # The last step's result document, uploaded beforehand with POST /uploads (agency key).
        "result_upload_id": {"type": "string", "title": "Tệp kết quả", "minLength": 1, "maxLength": 64},
    },
}


@dataclass(frozen=True)
class Decision:
    decision: str
    note: str
    result_upload_id: str | None = None


def parse_decision(body: Mapping[str, Any]) -> Decision:
    validate_against(DECISION_SCHEMA, body, prefix="")
    note = str(body.get("note", "")).strip()
    return Decision(str(body["decision"]), note, body.get("result_upload_id"))


@dataclass(frozen=True)
class DecisionEffect:
    """What a decision does to the dossier and to the route."""

    action: str | None  # the workflow action on the dossier, None when its status stays
    outcome: Outcome
    note_vi: str


def decide(task: Task, decision: Decision) -> DecisionEffect:
    """Checks that a decision fits the task; says what it changes. Changes nothing itself."""
    if task.status != "open":
        raise Conflict(f"Nhiệm vụ đã {'được quyết định' if task.status == 'decided' else 'bị hủy'} / "
                       f"The task is already {task.status}", code="task_closed")
    if task.kind == "payment":
        raise Conflict("Nhiệm vụ thu phí không nhận quyết định / A fee wait takes no decision",
                       code="decision_not_allowed")
    allowed = DECISIONS[(task.kind, task.role)]
    if decision.decision not in allowed:
        raise InvalidInput(
            f"Quyết định '{decision.decision}' không áp dụng cho bước này / "
            f"'{decision.decision}' does not apply to this step (allowed: {', '.join(sorted(allowed))})",
            code="decision_not_allowed", field="decision")
    if decision.decision in ("refuse", "reject", "request_supplement") and not decision.note:
        raise InvalidInput("Cần nêu lý do / A reason (note) is required", code="validation_failed",
                           field="note")
    if decision.result_upload_id and not (task.last_step and decision.decision == "approve"):
        raise InvalidInput("Chỉ bước cuối mới trả kết quả / Only the last step's approval carries a result",
                           code="validation_failed", field="result_upload_id")
    match (task.kind, task.role, decision.decision):
        case ("reception", _, "receive"):
            return DecisionEffect("receive", "continue", "Tiếp nhận hồ sơ / Dossier received")
        case ("reception", _, "refuse"):
            return DecisionEffect("refuse", "stop", "Từ chối tiếp nhận / Refused at reception")
        case (_, "lead", "request_supplement"):
            return DecisionEffect("request_supplement", "supplement",
                                  "Yêu cầu bổ sung hồ sơ / Supplement requested")
        case (_, _, "reject"):
            return DecisionEffect("reject", "stop", "Dừng xử lý hồ sơ / Processing stopped")
        case ("processing", "lead", "approve") if task.last_step:
            return DecisionEffect("approve_final", "continue", "Đã xử lý xong / Processing done")
        case _:
            return DecisionEffect("approve_step", "continue", "Hoàn thành bước xử lý / Step approved")


def status_after_supplement(step_kind: TaskKind) -> DossierStatus:
    """A supplemented dossier goes back to whoever asked for it."""
    return DossierStatus.NEW if step_kind == "reception" else DossierStatus.PROCESSING
