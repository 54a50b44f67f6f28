"""AWS calls per operation, and state transitions per dossier, counted on moto in-process.

Every botocore client's calls are counted (``common.CallCounter``). An API request's calls are
the ones its own thread makes while chalice's test client serves it: the state machine's
executions run on moto's threads, and the queue workers and the table stream's worker
(notifications, attached uploads' tags: ``services/table_events.py``) are run by this module
afterwards, so they are counted apart, as "in the background", per message (stream record) and
per dossier. Reading the stream is Lambda's event source's work (not billed): not counted.

Each operation is measured warm — a first dossier went through the whole route before, so
per-container caches (agency keys, catalogue, JWKS, webhook secrets) are filled as they are on a
busy Lambda, and each decision follows the agency's inbox showing its task (``seen_tasks``) —
and the cold figure (first request of its kind in the process) is kept too: its decisions are
made with nothing remembered, as on a task this container never showed (a webhook-driven agency
system, or its inbox served by another container).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.common import (
    ONE_AGENCY,
    ONE_AGENCY_PROCEDURE,
    REGION,
    Call,
    CallCounter,
    InProcessStack,
    PartResult,
    RunContext,
    Table,
    moto_table_indexes,
)
from bench.cost import Units, dynamodb_units

READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}
CALLBACKS = {"SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat"}


def category(call: Call) -> str:
    """The kinds of call the issue's floors speak of."""
    if call.service == "dynamodb":
        if call.operation in READS:
            return "read"
        if call.operation == "TransactWriteItems":
            return "transaction"
        if call.operation in WRITES:
            return "write"
    if call.service == "states":
        if call.operation == "StartExecution":
            return "start"
        if call.operation in CALLBACKS:
            return "callback"
    return "other"


@dataclass(frozen=True)
class Floor:
    """The most calls of each category an operation may make at its floor; ``source`` says whose
    floor it is (the issue's, or this harness's reading of the design)."""

    limits: dict[str, int]
    source: str = "issue 8"

    def describe(self) -> str:
        return " + ".join(f"{n} {kind}" for kind, n in self.limits.items()) or "0"

    def holds(self, counts: Counter[str]) -> bool:
        return all(n <= self.limits.get(kind, 0) for kind, n in counts.items())


FLOORS: dict[str, Floor] = {
    "browse: GET /procedures": Floor({"read": 1}),
    "browse: GET /procedures/{code}": Floor({"read": 1}),
    "upload ticket: POST /uploads": Floor({"write": 1}, "harness: one upload record"),
    "submit: POST /dossiers": Floor({"transaction": 1, "start": 1}),
    "track: GET /track/{code}": Floor({"read": 1}),
    "my dossier: GET /dossiers/{code}": Floor({"read": 1}, "harness: as track"),
    # A page of one task here. The key is read on every inbox page (a revoked key must see nothing,
    # and a read has no transaction to check it in); the contract shows each dossier in full.
    "agency inbox: GET /agency/tasks": Floor({"read": 3, "write": 1},
                                             "harness: the key, the page, its task's dossier, the staff-read record"),
    "agency decision: receive": Floor({"transaction": 1, "callback": 1}),
    "agency decision: approve": Floor({"transaction": 1, "callback": 1}),
}
TRANSITIONS_FLOOR = 10


def summarise(calls: list[Call], indexes: list[dict[str, Any]]) -> dict[str, Any]:
    by_category: Counter[str] = Counter(category(c) for c in calls)
    by_name: Counter[str] = Counter(c.name for c in calls)
    units = Units()
    for call in calls:
        if call.service == "dynamodb":
            units = units + dynamodb_units(call, indexes)
    return {"calls": len(calls), "by_category": dict(by_category), "by_operation": dict(by_name),
            "rru": units.rru, "wru": units.wru,
            "sites": [{"call": c.name, "at": c.sites} for c in calls]}


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{name}×{n}" if n > 1 else name for name, n in sorted(counts.items())) or "—"


_STREAM_READERS: dict[str, Any] = {}


class _Journey:
    """One dossier of the one-agency route, through the API and the workers, measured."""

    def __init__(self, stack: InProcessStack, indexes: list[dict[str, Any]], *, shown: bool) -> None:
        self.stack = stack
        self.shown = shown  # decisions on tasks the container showed the agency (else nothing remembered)
        self.counter: CallCounter = stack.counter
        self.indexes = indexes
        self.ops: dict[str, dict[str, Any]] = {}
        self.task_messages: list[dict[str, Any]] = []
        self.webhook_messages: list[dict[str, Any]] = []
        self.stream_records: list[dict[str, Any]] = []

    def measure(self, name: str, method: str, path: str, *, token: str | None = None,
                body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        with self.counter.window() as calls:
            start = time.perf_counter()
            status, answer = self.stack.request(method, path, token=token, body=body)
            seconds = time.perf_counter() - start
        if status != expect:
            raise RuntimeError(f"{method} {path} answered {status}: {answer}")
        self.ops[name] = {**summarise(calls, self.indexes), "seconds": seconds}
        self.drain_stream()
        return answer

    def drain_stream(self) -> None:
        """Runs the table stream's worker on every record written since the last drain, as its
        Lambda event source would (after its filter: only the records the worker acts on)."""
        from chalicelib.services.table_events import handle_stream_record
        from chalicelib.store.stream import table_change
        from tools.stream_pump import StreamReader, streams_client

        arn = self.stack.outputs["TableStreamArn"]
        # One reader per stream, shared by the journeys: each reads on from where the last stopped.
        reader = _STREAM_READERS.get(arn)
        if reader is None:
            reader = _STREAM_READERS[arn] = StreamReader(streams_client(REGION), arn)
        for shard_id, record in reader.read():
            if table_change(record) is not None:  # the event source's FilterCriteria (infra/aws.json)
                with self.counter.window() as calls:
                    start = time.perf_counter()
                    outcome = handle_stream_record(record)
                    seconds = time.perf_counter() - start
                self.stream_records.append({"event": outcome, **summarise(calls, self.indexes), "seconds": seconds})
            reader.commit(shard_id, record)

    def _until(self, done: Any) -> Any:
        def check() -> bool:
            self.drain_stream()
            return bool(done())

        return check

    def _task_worker(self, body: dict[str, Any]) -> None:
        from chalicelib.services.routing import handle_task_message

        with self.counter.window() as calls:
            start = time.perf_counter()
            handle_task_message(body)
            seconds = time.perf_counter() - start
        self.task_messages.append({"type": body.get("type"), **summarise(calls, self.indexes), "seconds": seconds})

    def _webhook_worker(self, body: dict[str, Any]) -> None:
        from chalicelib.services.webhooks import handle_webhook_message

        with self.counter.window() as calls:
            start = time.perf_counter()
            outcome = handle_webhook_message(body)
            seconds = time.perf_counter() - start
        self.webhook_messages.append({"event": body.get("event"), "outcome": outcome,
                                      **summarise(calls, self.indexes), "seconds": seconds})

    def wait_task(self, code: str) -> dict[str, Any]:
        """Runs the workers until the agency's next task of the dossier is open (not measured as
        an API request: the inbox read that finds it is measured once, below)."""
        from chalicelib.services.deps import get_task_store

        found: list[dict[str, Any]] = []

        def arrived() -> bool:
            task = self.stack.open_task(ONE_AGENCY, code)
            if task is None:
                return False
            found.append(task)
            # Also wait for the route to wait on it (task.await handled, token stored), as it does
            # within milliseconds in AWS: a decision before that would leave its callback to the
            # worker and hide it from the decision's count.
            stored = get_task_store().get_task(str(task["task_id"]))
            return stored is not None and bool(stored.token)

        self.stack.pump(self._until(arrived), on_task=self._task_worker, on_webhook=self._webhook_worker)
        return found[-1]

    def drain(self, done: Any, seconds: float = 30) -> None:
        self.stack.pump(self._until(done), on_task=self._task_worker, on_webhook=self._webhook_worker,
                        seconds=seconds)
        self.drain_stream()

    def decide(self, name: str, task: dict[str, Any], decision: str, key: str) -> None:
        from chalicelib.services import seen_tasks

        if not self.shown:
            seen_tasks.forget_all()
        self.measure(name, "POST", f"/agency/tasks/{task['task_id']}/decision", token=key, body={"decision": decision})

    def run(self) -> str:
        stack = self.stack
        key = stack.agency_key(ONE_AGENCY)
        self.measure("browse: GET /procedures", "GET", "/procedures")
        self.measure("browse: GET /procedures/{code}", "GET", f"/procedures/{ONE_AGENCY_PROCEDURE}")
        self.measure("upload ticket: POST /uploads", "POST", "/uploads", token=stack.token,
                     body={"filename": "x.pdf", "content_type": "application/pdf", "size": 4}, expect=201)
        submission = stack.submission()  # its uploads are the browser's and S3's, not measured
        code = str(self.measure("submit: POST /dossiers", "POST", "/dossiers", token=stack.token,
                                body=submission, expect=201)["code"])
        self.measure("track: GET /track/{code}", "GET", f"/track/{code}")
        self.measure("my dossier: GET /dossiers/{code}", "GET", f"/dossiers/{code}", token=stack.token)
        task = self.wait_task(code)
        self.measure("agency inbox: GET /agency/tasks", "GET", "/agency/tasks?status=open", token=key)
        self.decide("agency decision: receive", task, "receive", key)
        task = self.wait_task(code)  # the agency's inbox shows it the next task
        self.decide("agency decision: approve", task, "approve", key)
        self.drain(lambda: _execution_status(stack, code) != "RUNNING" and not _queues_busy(stack))
        return code


def _execution_arn(stack: InProcessStack, code: str) -> str:
    return stack.outputs["RouteStateMachineArn"].replace(":stateMachine:", ":execution:") + f":{code}"


def _execution_status(stack: InProcessStack, code: str) -> str:
    import boto3

    sfn = boto3.client("stepfunctions", region_name=REGION)
    return str(sfn.describe_execution(executionArn=_execution_arn(stack, code))["status"])


def _queues_busy(stack: InProcessStack) -> bool:
    import boto3

    sqs = boto3.client("sqs", region_name=REGION)
    for output in ("TaskQueueUrl", "WebhookQueueUrl"):
        attributes = sqs.get_queue_attributes(QueueUrl=stack.outputs[output], AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        if any(int(v) for v in attributes.values()):
            return True
    return False


def transitions(stack: InProcessStack, code: str) -> dict[str, Any]:
    """Billed state transitions of the dossier's execution: one per state entered (Step Functions
    bills each state a workflow executes, retries included)."""
    import boto3

    from tools.route_history import execution_events, states_entered

    events = execution_events(boto3.client("stepfunctions", region_name=REGION), _execution_arn(stack, code))
    entered = states_entered(events)
    names = Counter(entered)
    return {"transitions": len(entered), "states": dict(names), "events": len(events)}


def _stats(journey: _Journey, label: str) -> dict[str, Any]:
    mark = len(journey.stream_records)
    journey.measure(label, "GET", "/stats")
    # The records drained after it are the extra dossiers' (submitted to grow the table), not the journey's.
    del journey.stream_records[mark:]
    return journey.ops.pop(label)


def run(context: RunContext | None = None) -> PartResult:
    counter = CallCounter()
    with InProcessStack(counter) as stack:
        table = stack.outputs.get("TableName") or ""
        indexes = moto_table_indexes(table) if table else []
        stack.agency_receiver(ONE_AGENCY)
        # Cold: the first dossier fills the per-container caches (as the first requests of a
        # fresh Lambda container would); warm: the second is what a busy container does.
        cold = _Journey(stack, indexes, shown=False)
        cold.run()
        warm = _Journey(stack, indexes, shown=True)
        background_mark = counter.mark()
        code = warm.run()
        machine_calls = counter.since(background_mark, thread=threading.get_ident(), other_threads=True)
        route = transitions(stack, code)
        # stats at two dossier counts: constant reads whatever the count.
        stats_small = _stats(warm, "stats")
        extra = 6
        for _ in range(extra):
            stack.submit()
        stats_large = _stats(warm, "stats")
        dossiers_small, dossiers_large = 2, 2 + extra
    machine = summarise(machine_calls, indexes)
    return _report(cold, warm, route, machine, (dossiers_small, stats_small), (dossiers_large, stats_large))


def _report(cold: _Journey, warm: _Journey, route: dict[str, Any], machine: dict[str, Any],
            stats_small: tuple[int, dict[str, Any]], stats_large: tuple[int, dict[str, Any]]) -> PartResult:
    rows: list[list[Any]] = []
    ops: dict[str, Any] = {}
    for name, measured in warm.ops.items():
        floor = FLOORS[name]
        counts = Counter(measured["by_category"])
        ok = floor.holds(counts)
        first = cold.ops.get(name, {})
        ops[name] = {"warm": measured, "cold": first, "floor": floor.limits, "floor_source": floor.source,
                     "pass": ok}
        rows.append([name, measured["calls"], _describe(measured["by_operation"]), floor.describe(), ok,
                     first.get("calls", "—"), f"{measured['rru']:.1f} / {measured['wru']:.0f}"])
    (n_small, small), (n_large, large) = stats_small, stats_large
    stats_ok = small["by_operation"] == large["by_operation"]
    ops["stats: GET /stats"] = {"at": {str(n_small): small, str(n_large): large}, "floor": "constant",
                                "pass": stats_ok}
    rows.append([f"stats: GET /stats ({n_small} → {n_large} dossiers)", f"{small['calls']} → {large['calls']}",
                 _describe(large["by_operation"]), "constant", stats_ok, "—",
                 f"{large['rru']:.1f} / {large['wru']:.0f}"])
    requests_table = Table(
        "AWS calls per API request (warm container; moto in-process)",
        ["operation", "calls", "what", "floor", "at floor", "cold", "RRU / WRU"], rows,
        ["calls: botocore API calls the request's own thread made (retries not counted, none on moto)",
         "cold: the same request as the first of its kind in a fresh process (caches empty)",
         "RRU / WRU: DynamoDB request units from the measured item sizes (bench/cost.py: dynamodb_units)"])

    background_rows: list[list[Any]] = []
    per_worker: dict[str, Any] = {}
    for worker, messages, key in (("task worker", warm.task_messages, "type"),
                                  ("webhook worker", warm.webhook_messages, "event"),
                                  ("stream worker", warm.stream_records, "event")):
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for message in messages:
            by_kind.setdefault(str(message[key]), []).append(message)
        for kind, items in by_kind.items():
            total: Counter[str] = Counter()
            for item in items:
                total.update(item["by_operation"])
            calls = sum(total.values())
            background_rows.append([worker, kind, len(items), calls, _describe(dict(total)),
                                    f"{sum(i['rru'] for i in items):.1f} / {sum(i['wru'] for i in items):.0f}"])
        per_worker[worker] = messages
    background_rows.append(["state machine", "service integrations", route["transitions"], machine["calls"],
                            _describe(machine["by_operation"]), f"{machine['rru']:.1f} / {machine['wru']:.0f}"])
    background_table = Table(
        "AWS calls per dossier in the background (one-agency route, receive → approve)",
        ["who", "message", "messages", "calls", "what", "RRU / WRU"], background_rows,
        ["workers run by the harness as the SQS event sources would; idempotency records included",
         "stream worker: the table stream's records its event source's filter passes (log entries, attached "
         "uploads, staff reads), one per row: notified, tagged, audited (a line on each dossier's trail), or "
         "ignored (an entry not worth telling)",
         "state machine row: the calls moto's executions made (messages column: its state transitions)"])
    route_ok = route["transitions"] <= TRANSITIONS_FLOOR
    transitions_table = Table(
        "State transitions per dossier (one-agency route)",
        ["route", "transitions", "floor", "at floor", "states entered"],
        [[f"{ONE_AGENCY_PROCEDURE} receive → approve", route["transitions"], f"≤ {TRANSITIONS_FLOOR}", route_ok,
          _describe(route["states"])]],
        ["counted from get_execution_history: every *StateEntered event is a billed transition"])
    data = {"operations": ops, "background": {"workers": per_worker, "state_machine": machine},
            "transitions": {**route, "floor": TRANSITIONS_FLOOR, "pass": route_ok},
            "procedure": ONE_AGENCY_PROCEDURE}
    return PartResult(data, [requests_table, background_table, transitions_table])
