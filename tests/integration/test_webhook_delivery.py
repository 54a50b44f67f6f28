"""Webhooks to agencies end to end on moto: a submitted dossier opens a task, the route's
dispatcher queues ``task.assigned`` and a small pump hands each message of the webhook queue
to ``handle_webhook_message`` (what the SQS event source does in AWS). The endpoints are the
sample agency receiver (examples/agency_receiver) and tiny scripted HTTP servers on
127.0.0.1 whose answer changes from one request to the next.

Retries are sent back to the webhook queue with ``DelaySeconds``; the ``aws`` fixture sets a
0.01 s backoff base, so those delays round to 0 unless a ``Retry-After`` asks for more.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import os
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from chalicelib.domain.audit import StaffRead
from chalicelib.domain.dossiers import Dossier, LogEntry, format_dossier_code
from chalicelib.domain.tasks import Task
from chalicelib.domain.workflow import DossierStatus
from chalicelib.integrations.sqs import MessageQueue
from chalicelib.integrations.webhooks import deliver, new_secret, sign
from chalicelib.services import routing, webhooks
from chalicelib.services.deps import get_store, get_task_store
from chalicelib.services.webhooks import handle_webhook_message, webhook_id
from chalicelib.store.webhooks import get_endpoint
from examples.agency_receiver import ReceiverServer, create_server
from tests.factories import DESK, JUSTICE, create_applicant
from tests.integration.route_support import Agencies, submit

SECRET = new_secret()
CLIENT_TIMEOUT = 0.5  # the dispatcher's HTTP timeout in these tests (10 s in production)
HANG_SECONDS = 5.0  # how long a "timing out" endpoint holds a request at most (released at teardown)


# --- the webhook queue ---------------------------------------------------------------------------


def _sqs() -> Any:
    return boto3.client("sqs", region_name=os.environ["AWS_REGION"])


def queue_depth(url: str, sqs: Any = None) -> int:
    """Messages in the queue, visible, in flight or still delayed."""
    attributes = (sqs or _sqs()).get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed"])["Attributes"]
    return sum(int(value) for value in attributes.values())


def take_messages(url: str, sqs: Any = None) -> list[dict[str, Any]]:
    """Receives and deletes what is visible now; returns the bodies."""
    sqs = sqs or _sqs()
    bodies: list[dict[str, Any]] = []
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
        bodies.append(json.loads(message["Body"]))
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def pump_webhooks(*, seconds: float = 10) -> list[tuple[dict[str, Any], str]]:
    """Hands every webhook message to the dispatcher until the queue is empty, retries (re-sent with
    a delay) included; returns each message handled with the dispatcher's outcome, in order."""
    sqs = _sqs()
    queue = os.environ["MOTCUA_WEBHOOK_QUEUE_URL"]
    handled: list[tuple[dict[str, Any], str]] = []
    deadline = time.monotonic() + seconds
    empty_before = False
    while True:
        bodies = take_messages(queue, sqs)
        for body in bodies:
            handled.append((body, handle_webhook_message(body)))
        if bodies:
            empty_before = False
            continue
        # moto counts a delayed message at the very moment its delay ends neither as delayed nor
        # as visible: the queue is drained only when it looks empty twice, a moment apart.
        empty = queue_depth(queue, sqs) == 0
        if empty and empty_before:
            return handled
        empty_before = empty
        assert time.monotonic() < deadline, f"the webhook queue did not drain: {handled}"
        time.sleep(0.05)


@dataclass(frozen=True)
class Sent:
    queue_url: str
    body: dict[str, Any]
    delay_seconds: int
    at: float  # time.time() when it was sent


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    """Every ``MessageQueue.send`` (webhook queue and its DLQ), recorded and then really sent to moto."""
    records: list[Sent] = []
    original = MessageQueue.send

    def send(self: MessageQueue, body: dict[str, Any], *, delay_seconds: int = 0) -> None:
        records.append(Sent(self.url, json.loads(json.dumps(body)), delay_seconds, time.time()))
        original(self, body, delay_seconds=delay_seconds)

    monkeypatch.setattr(MessageQueue, "send", send)
    return records


def webhook_sends(records: list[Sent]) -> list[Sent]:
    return [record for record in records if record.queue_url == os.environ["MOTCUA_WEBHOOK_QUEUE_URL"]]


def dlq_sends(records: list[Sent]) -> list[Sent]:
    return [record for record in records if record.queue_url == os.environ["MOTCUA_WEBHOOK_DLQ_URL"]]


@pytest.fixture(autouse=True)
def short_client_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhooks, "deliver", functools.partial(deliver, timeout=CLIENT_TIMEOUT))


def register(agency: str, url: str, secret: str = SECRET) -> None:
    """What ``agency webhook set-url`` does: the secret in Secrets Manager, its name in the table."""
    webhooks.create_endpoint(agency, url, secret=secret)


# --- endpoints -----------------------------------------------------------------------------------


def _serve(server: ThreadingHTTPServer) -> None:
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


ReceiverFactory = Callable[..., ReceiverServer]


@pytest.fixture
def start_receiver() -> Iterator[ReceiverFactory]:
    """Starts the sample agency receiver (on ``port``, any free one by default)."""
    servers: list[ReceiverServer] = []

    def start(port: int = 0) -> ReceiverServer:
        # The receiver's decision form is not used here: its agency API is never called.
        server = create_server(secret=SECRET, api_url="http://127.0.0.1:9", api_key="agk_unused", port=port)
        _serve(server)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(start_receiver: ReceiverFactory) -> ReceiverServer:
    return start_receiver()


@dataclass(frozen=True)
class Seen:
    """One request as a scripted endpoint received it."""

    webhook_id: str
    timestamp: str
    signature: str
    body: bytes
    at: float  # time.monotonic()


Step = Callable[["ScriptedEndpoint", BaseHTTPRequestHandler, Seen], None]


@dataclass
class ScriptedEndpoint:
    """A webhook endpoint that answers request n with ``script[n]`` (the last step repeats)."""

    script: list[Step]
    seen: list[Seen] = field(default_factory=list)
    forwarded: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # the receiver's answers
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None
    not_before: float = 0.0  # a Retry-After date it gave, as a Unix time

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"


def answer(status: int, headers: dict[str, str] | None = None) -> Step:
    def step(endpoint: ScriptedEndpoint, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        _reply(handler, status, headers or {})

    return step


def hang(endpoint: ScriptedEndpoint, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
    """Holds the request past the dispatcher's timeout (its answer, if any, finds nobody)."""
    endpoint.release.wait(HANG_SECONDS)
    with contextlib.suppress(OSError):
        _reply(handler, 200, {})


def forward_to(receiver: ReceiverServer, *, then_hang: bool = False) -> Step:
    """Passes the request as received to the sample receiver and relays its answer; ``then_hang``:
    the receiver got it, but the answer is lost on the way back (the dispatcher times out)."""

    def step(endpoint: ScriptedEndpoint, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        status, payload = post_raw(receiver.webhook_url, seen.body, {
            "webhook-id": seen.webhook_id, "webhook-timestamp": seen.timestamp,
            "webhook-signature": seen.signature})
        endpoint.forwarded.append((status, payload))
        if then_hang:
            hang(endpoint, handler, seen)
        else:
            _reply(handler, status, {})

    return step


def _reply(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def post_raw(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedEndpoint]]:
    endpoints: list[ScriptedEndpoint] = []

    def start(*script: Step) -> ScriptedEndpoint:
        endpoint = ScriptedEndpoint(list(script))

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                seen = Seen(self.headers.get("webhook-id", ""), self.headers.get("webhook-timestamp", ""),
                            self.headers.get("webhook-signature", ""), body, time.monotonic())
                endpoint.seen.append(seen)
                endpoint.script[min(len(endpoint.seen), len(endpoint.script)) - 1](endpoint, self, seen)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        endpoint.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        _serve(endpoint.server)
        endpoints.append(endpoint)
        return endpoint

    yield start
    for endpoint in endpoints:
        endpoint.release.set()
        assert endpoint.server is not None
        endpoint.server.shutdown()
        endpoint.server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 where nobody listens (connection refused), free to bind again later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- tasks --------------------------------------------------------------------------------------


@pytest.fixture
def routed_desk_task(api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime,
                     agencies: Agencies) -> Callable[[], tuple[str, str]]:
    """Submits a dossier through the API; the route (Step Functions on moto) opens the reception
    desk's task, whose ``task.assigned`` the dispatcher queues: (dossier code, task id)."""

    def open_task() -> tuple[str, str]:
        code = submit(api, sample_token, "2.000488")
        return code, str(agencies.task_for(DESK, code)["task_id"])

    return open_task


@pytest.fixture
def desk_task(aws: dict[str, str]) -> Callable[[], Task]:
    """The quick way to an open desk task: a stored dossier and its task, then what the route's
    dispatcher does when it opens one (``enqueue_task_event``), without running the state machine."""

    def open_task() -> Task:
        at = datetime.now(UTC)
        draft = Dossier(
            code="", procedure_code="2.000488", procedure_name="Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
            agency_code=DESK, owner="citizen-sub-1", applicant=create_applicant(),
            form={"purpose": "Xin việc làm", "birth_date": "1990-05-17"}, documents=(), status=DossierStatus.NEW,
            submitted_at=at, due_at=at + timedelta(days=10), updated_at=at, fee_vnd=0, fee_status="not_required")
        entry = LogEntry(at=at, actor="citizen", action="submit", from_status=None, to_status=DossierStatus.NEW)
        dossier = get_store().create_dossier(
            draft, entry, make_code=lambda sequence: format_dossier_code(DESK, at.date(), sequence),
            counter_key=(DESK, f"{at:%y%m%d}"))
        (task,) = get_task_store().open_tasks([Task(
            task_id=f"{uuid.uuid4().hex[:20]}L0", dossier_code=dossier.code, step_index=0, kind="reception",
            role="lead", agency_code=DESK, status="open", opened_at=at, due_at=at + timedelta(days=1))])
        webhooks.enqueue_task_event(task, "task.assigned")
        return task

    return open_task


def assigned_id(task_id: str) -> str:
    return webhook_id(task_id, "task.assigned")


def staff_reads(agency: str) -> list[StaffRead]:
    """The agency's staff reads of today and yesterday (UTC: a test may run across midnight)."""
    today = datetime.now(UTC)
    return [read for day in (today - timedelta(days=1), today) for read in get_store().staff_reads(agency, day)]


# --- tests ---------------------------------------------------------------------------------------


def test_task_assigned_reaches_the_sample_receiver_and_agencies_without_an_endpoint_get_nothing(
    routed_desk_task: Callable[[], tuple[str, str]], receiver: ReceiverServer, agencies: Agencies,
    sent: list[Sent]
) -> None:
    register(DESK, receiver.webhook_url)  # the Department of Justice, next on the route, has no endpoint
    code, task_id = routed_desk_task()

    handled = pump_webhooks()
    assert [(body["event"], outcome) for body, outcome in handled] == [("task.assigned", "delivered")]
    # The receiver only keeps what passed its signature and timestamp checks.
    (task,) = receiver.state.tasks()
    assert (task.task_id, task.dossier_code, task.kind, task.status) == (task_id, code, "reception", "open")
    assert task.webhook_ids == [assigned_id(task_id)]
    assert task.step == {"index": 0, "kind": "reception", "role": "lead", "last": False}
    assert task.dossier["applicant"]["full_name"] == "Nguyễn Văn An"
    # SQS delivers at least once: the same message handled again is a no-op (the worker's idempotency
    # record), and had it gone out, the receiver would have seen a known webhook id.
    assert handle_webhook_message(handled[0][0]) == "delivered"
    assert [t.webhook_ids for t in receiver.state.tasks()] == [[assigned_id(task_id)]]
    with urllib.request.urlopen(receiver.url + "/", timeout=5) as response:
        assert response.read().decode("utf-8").count(f'data-task-id="{task_id}"') == 1
    # The webhook comes on top of the inbox, not instead of it.
    assert [t["task_id"] for t in agencies.inbox(DESK)] == [task_id]

    # The desk receives the dossier; the next agency has no endpoint: its task is in its inbox only.
    assert agencies.decide(DESK, task_id, "receive").status_code == 200
    justice_task = agencies.task_for(JUSTICE, code)
    assert [record.body["task_id"] for record in webhook_sends(sent)] == [task_id]  # nothing new queued
    assert pump_webhooks() == []
    assert [t.task_id for t in receiver.state.tasks()] == [task_id]
    assert [t["task_id"] for t in agencies.inbox(JUSTICE)] == [justice_task["task_id"]]
    assert dlq_sends(sent) == []


def test_an_endpoint_that_fails_then_times_out_gets_the_event_once_and_refuses_replays(
    desk_task: Callable[[], Task], receiver: ReceiverServer, scripted: Callable[..., ScriptedEndpoint],
    sent: list[Sent]
) -> None:
    # 500; then the agency gets the request but its answer is lost (the dispatcher times out);
    # then the retry goes through and the agency recognises it.
    endpoint = scripted(answer(500), forward_to(receiver, then_hang=True), forward_to(receiver))
    register(DESK, endpoint.url)
    task_id = desk_task().task_id

    handled = pump_webhooks()
    assert [(body["attempt"], outcome) for body, outcome in handled] == [
        (1, "retrying"), (2, "retrying"), (3, "delivered")]
    assert len(endpoint.seen) == 3
    assert {seen.webhook_id for seen in endpoint.seen} == {assigned_id(task_id)}
    assert {seen.body for seen in endpoint.seen} == {endpoint.seen[0].body}  # the same event each time
    assert endpoint.forwarded == [(200, {"status": "accepted"}), (200, {"status": "duplicate"})]
    (task,) = receiver.state.tasks()
    assert (task.task_id, task.webhook_ids) == (task_id, [assigned_id(task_id)])
    assert [record.body["attempt"] for record in webhook_sends(sent)] == [1, 2, 3]
    assert all(record.delay_seconds == 0 for record in webhook_sends(sent))  # 0.01 s base: no wait
    assert dlq_sends(sent) == []

    # What reaches the agency otherwise is refused by the sample receiver, and changes nothing:
    delivery = endpoint.seen[-1]
    headers = {"webhook-id": delivery.webhook_id, "webhook-timestamp": delivery.timestamp,
               "webhook-signature": delivery.signature}
    # replayed as captured (same id): acknowledged, not applied again;
    assert post_raw(receiver.webhook_url, delivery.body, headers) == (200, {"status": "duplicate"})
    # forged: the same event signed with another secret, under a new id;
    forged = sign(new_secret(), "msg_forged", datetime.now(UTC), delivery.body)
    assert post_raw(receiver.webhook_url, delivery.body, forged)[0] == 400
    # tampered: the captured signature over another body;
    tampered = delivery.body.replace(task_id.encode(), b"tsk_forged")
    assert post_raw(receiver.webhook_url, tampered, headers)[0] == 400
    # stale: correctly signed, but more than 5 minutes old.
    stale = sign(SECRET, "msg_stale", datetime.now(UTC) - timedelta(minutes=6), delivery.body)
    status, payload = post_raw(receiver.webhook_url, delivery.body, stale)
    assert (status, payload["error"]["code"]) == (400, "invalid_signature")
    assert [(t.task_id, t.webhook_ids) for t in receiver.state.tasks()] == [(task_id, [assigned_id(task_id)])]


def test_429_retry_after_is_honoured(
    desk_task: Callable[[], Task], scripted: Callable[..., ScriptedEndpoint], sent: list[Sent]
) -> None:
    endpoint = scripted(answer(429, {"Retry-After": "1"}), answer(204))
    register(DESK, endpoint.url)
    task_id = desk_task().task_id
    queue = os.environ["MOTCUA_WEBHOOK_QUEUE_URL"]

    (first,) = take_messages(queue)
    assert handle_webhook_message(first) == "retrying"
    retry = webhook_sends(sent)[-1]
    assert retry.body == {**first, "attempt": 2}
    assert retry.delay_seconds >= 1  # the jittered backoff alone would be 0
    # The retry really waits in SQS: delayed, not receivable yet.
    assert take_messages(queue) == []
    assert queue_depth(queue) == 1

    assert [outcome for _, outcome in pump_webhooks()] == ["delivered"]
    first_try, second_try = endpoint.seen
    assert second_try.at - first_try.at >= 1.0
    assert second_try.webhook_id == first_try.webhook_id == assigned_id(task_id)


def answer_429_until_a_date(endpoint: ScriptedEndpoint, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
    """429 with Retry-After as an HTTP-date two second boundaries ahead, and no Date header (which
    RFC 9110 allows), so the pause is measured on the sender's clock; answered at 0.55–0.7 s into a
    second, so that the pause asked for is about 1.3–1.45 s."""
    while not 0.55 <= time.time() % 1 < 0.7:
        time.sleep(0.01)
    endpoint.not_before = math.floor(time.time()) + 2
    handler.send_response_only(429)
    handler.send_header("Retry-After", formatdate(endpoint.not_before, usegmt=True))
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def test_a_retry_after_date_is_not_cut_short_by_rounding(
    monkeypatch: pytest.MonkeyPatch, desk_task: Callable[[], Task], scripted: Callable[..., ScriptedEndpoint],
    sent: list[Sent]
) -> None:
    monkeypatch.setattr(webhooks, "deliver", functools.partial(deliver, timeout=5))  # the endpoint waits ≤ 1 s
    endpoint = scripted(answer_429_until_a_date, answer(204))
    register(DESK, endpoint.url)
    desk_task()

    (first,) = take_messages(os.environ["MOTCUA_WEBHOOK_QUEUE_URL"])
    assert handle_webhook_message(first) == "retrying"
    retry = webhook_sends(sent)[-1]
    assert retry.body["attempt"] == 2
    # Visible in SQS at retry.at + delay_seconds: not before the date the receiver gave.
    assert retry.at + retry.delay_seconds >= endpoint.not_before, (retry.delay_seconds,
                                                                   endpoint.not_before - retry.at)


@pytest.mark.parametrize("status", [400, 404])
def test_a_refusal_is_not_retried(
    status: int, desk_task: Callable[[], Task], scripted: Callable[..., ScriptedEndpoint], sent: list[Sent]
) -> None:
    endpoint = scripted(answer(status), answer(200))
    register(DESK, endpoint.url)
    desk_task()

    assert [(body["attempt"], outcome) for body, outcome in pump_webhooks()] == [(1, "failed")]
    assert len(endpoint.seen) == 1
    assert [record.body["attempt"] for record in webhook_sends(sent)] == [1]  # nothing re-enqueued
    assert dlq_sends(sent) == []
    still = get_endpoint(DESK)
    assert still is not None and not still.disabled


def test_a_410_from_a_url_ops_replaced_meanwhile_leaves_the_new_endpoint_on(
    desk_task: Callable[[], Task], scripted: Callable[..., ScriptedEndpoint], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataclasses import replace

    from chalicelib.store import webhooks as endpoints

    old, new = scripted(answer(410)), scripted(answer(204))
    register(DESK, old.url)
    real = deliver  # what services/webhooks imported

    def ops_moves_the_url_meanwhile(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)  # the old URL answers 410 Gone
        current = endpoints.get_endpoint(DESK)
        assert current is not None
        endpoints.put_endpoint(replace(current, url=new.url, disabled=False, disabled_reason=None),
                               datetime.now(UTC))  # what `agency webhook set-url` writes
        return result

    monkeypatch.setattr(webhooks, "deliver", ops_moves_the_url_meanwhile)
    desk_task()
    assert [outcome for _, outcome in pump_webhooks()] == ["gone"]
    after = get_endpoint(DESK)
    assert after is not None and after.url == new.url and not after.disabled


def test_410_gone_disables_the_endpoint(
    desk_task: Callable[[], Task], scripted: Callable[..., ScriptedEndpoint], sent: list[Sent]
) -> None:
    endpoint = scripted(answer(410), answer(200))
    register(DESK, endpoint.url)
    task = desk_task()

    handled = pump_webhooks()
    assert [outcome for _, outcome in handled] == ["gone"]
    disabled = get_endpoint(DESK)
    assert disabled is not None and disabled.disabled and disabled.disabled_reason == "410 Gone"
    assert [record.body["attempt"] for record in webhook_sends(sent)] == [1] and dlq_sends(sent) == []

    # A later event (the citizen withdraws: the task is cancelled) is not queued at all…
    dossier = get_store().get_dossier(task.dossier_code)
    assert dossier is not None
    routing.stop_route(dossier, "withdrawn by the applicant")
    cancelled = get_task_store().get_task(task.task_id)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert [record.body["event"] for record in webhook_sends(sent)] == ["task.assigned"]
    assert pump_webhooks() == []
    # …and one that was already queued is dropped without a request.
    assert handle_webhook_message({**handled[0][0], "event": "task.cancelled",
                                   "webhook_id": webhook_id(task.task_id, "task.cancelled")}) == "no_endpoint"
    assert len(endpoint.seen) == 1


def test_an_endpoint_down_too_long_is_dead_lettered_then_redriven(
    monkeypatch: pytest.MonkeyPatch, desk_task: Callable[[], Task], start_receiver: ReceiverFactory,
    sent: list[Sent]
) -> None:
    from chalicelib.ops import cli

    monkeypatch.setenv("MOTCUA_WEBHOOK_MAX_ATTEMPTS", "3")
    port = closed_port()
    register(DESK, f"http://127.0.0.1:{port}/webhooks")
    task_id = desk_task().task_id

    handled = pump_webhooks()
    assert [(body["attempt"], outcome) for body, outcome in handled] == [
        (1, "retrying"), (2, "retrying"), (3, "dead_lettered")]
    dlq = os.environ["MOTCUA_WEBHOOK_DLQ_URL"]
    (dead,) = [json.loads(message["Body"]) for message in _sqs().receive_message(  # read, left there
        QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])]
    assert {key: dead[key] for key in ("task_id", "event", "webhook_id", "attempt", "attempts_made",
                                       "last_status")} == {
        "task_id": task_id, "event": "task.assigned", "webhook_id": assigned_id(task_id), "attempt": 1,
        "attempts_made": 3, "last_status": None}
    assert dead["last_error"].startswith("ConnectionError")
    assert queue_depth(os.environ["MOTCUA_WEBHOOK_QUEUE_URL"]) == 0

    # The agency is back on the same address; ops redrive (docs/operations.md): the DLQ message's
    # body, as is, back to the webhook queue.
    receiver = start_receiver(port)
    out = io.StringIO()
    assert cli.main(["webhooks", "redrive"], out=out) == 0
    assert f"task.assigned of task {task_id}, 3 attempt(s) made" in out.getvalue()
    assert "moved 1 message(s)" in out.getvalue()
    assert queue_depth(dlq) == 0
    assert [outcome for _, outcome in pump_webhooks()] == ["delivered"]
    (task,) = receiver.state.tasks()
    assert (task.task_id, task.webhook_ids) == (task_id, [assigned_id(task_id)])
    assert queue_depth(dlq) == 0
    out = io.StringIO()
    assert cli.main(["webhooks", "redrive"], out=out) == 0  # run again: nothing to do
    assert out.getvalue().startswith("no change:")


def test_a_delivery_dead_lettered_twice_is_redriven_twice(
    monkeypatch: pytest.MonkeyPatch, desk_task: Callable[[], Task], start_receiver: ReceiverFactory,
) -> None:
    """Each dead letter is a new message (its own id): after a redrive that failed again, the second
    redrive is not taken for a copy of the first one and skipped."""
    from chalicelib.ops import cli

    monkeypatch.setenv("MOTCUA_WEBHOOK_MAX_ATTEMPTS", "2")
    port = closed_port()
    register(DESK, f"http://127.0.0.1:{port}/webhooks")
    task_id = desk_task().task_id
    dlq = os.environ["MOTCUA_WEBHOOK_DLQ_URL"]
    for _ in range(2):  # down, redriven while still down: dead-lettered again
        assert [outcome for _, outcome in pump_webhooks()] == ["retrying", "dead_lettered"]
        assert queue_depth(dlq) == 1
        assert cli.main(["webhooks", "redrive"], out=io.StringIO()) == 0
    receiver = start_receiver(port)
    assert [outcome for _, outcome in pump_webhooks()] == ["delivered"]
    assert [t.webhook_ids for t in receiver.state.tasks()] == [[assigned_id(task_id)]]
    assert queue_depth(dlq) == 0


def _verifies(seen: Seen, secret: str) -> bool:
    """What an agency's receiver does with the one secret it knows (the library's own check)."""
    from standardwebhooks import Webhook, WebhookVerificationError

    headers = {"webhook-id": seen.webhook_id, "webhook-timestamp": seen.timestamp, "webhook-signature": seen.signature}
    try:
        Webhook(secret).verify(seen.body, headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True


def test_a_rotated_secret_signs_beside_the_old_one_during_the_grace_period_only(
    sample_catalogue: None, desk_task: Callable[[], Task], scripted: Callable[..., ScriptedEndpoint],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from aws_lambda_powertools.utilities import parameters

    from chalicelib.ops import cli

    # Each delivery below is a new attempt of the same event (a new message): more than the local
    # stage's 3 before the last one, which must still be retried, not dead-lettered.
    monkeypatch.setenv("MOTCUA_WEBHOOK_MAX_ATTEMPTS", "8")
    endpoint = scripted(answer(200))
    monkeypatch.setattr(cli, "use_local_stack", lambda state_dir: None)  # moto in-process is the "local stack"
    out = io.StringIO()
    assert cli.main(["--local", "agency", "webhook", "set-url", "--agency", DESK, endpoint.url], out=out) == 0
    old = out.getvalue().splitlines()[1]
    task = desk_task()
    assert [outcome for _, outcome in pump_webhooks()] == ["delivered"]
    assert _verifies(endpoint.seen[0], old)

    out = io.StringIO()
    assert cli.main(["agency", "webhook", "rotate-secret", "--agency", DESK, "--grace-hours", "24"], out=out) == 0
    new = out.getvalue().splitlines()[1]
    attempts = iter(range(2, 10))

    def again() -> dict[str, object]:
        """The same event once more: a new queue message (a retry), not a redelivered copy."""
        return {"task_id": task.task_id, "event": "task.assigned", "webhook_id": assigned_id(task.task_id),
                "attempt": next(attempts)}

    # A warm worker reads the secret from its cache (up to 5 minutes): still the old secret alone.
    assert handle_webhook_message(again()) == "delivered"
    assert _verifies(endpoint.seen[1], old) and not _verifies(endpoint.seen[1], new)

    parameters.clear_caches()  # the cache's max_age is over (or a new container)
    assert handle_webhook_message(again()) == "delivered"
    both = endpoint.seen[2]
    assert len(both.signature.split(" ")) == 2
    assert _verifies(both, old) and _verifies(both, new)  # a receiver with either secret accepts it

    later = datetime.now(UTC) + timedelta(hours=24, minutes=1)  # the grace period is over
    monkeypatch.setattr(webhooks, "now", lambda: later)
    assert handle_webhook_message(again()) == "delivered"
    after = endpoint.seen[3]
    assert len(after.signature.split(" ")) == 1
    assert _verifies(after, new) and not _verifies(after, old)

    # The table holds the secret's name, never a value (a Scan of moto's table).
    items = boto3.client("dynamodb").scan(TableName=os.environ["MOTCUA_TABLE_NAME"])["Items"]
    assert items and "whsec_" not in json.dumps(items)
    found = get_endpoint(DESK)
    assert found is not None and found.secret_name == f"motcua/lamdong/webhooks/{DESK}"

    # A secret that cannot be read is retried like a network error (then dead-lettered for ops).
    boto3.client("secretsmanager").delete_secret(SecretId=found.secret_name, ForceDeleteWithoutRecovery=True)
    parameters.clear_caches()
    assert handle_webhook_message(again()) == "retrying"
    assert len(endpoint.seen) == 4


def test_a_legacy_endpoint_with_its_secret_in_the_table_still_gets_signed_deliveries(
    desk_task: Callable[[], Task], receiver: ReceiverServer,
) -> None:
    from chalicelib.store import models as m
    from chalicelib.store.webhooks import WEBHOOK_SK, WebhookEndpointItem

    get_store()
    WebhookEndpointItem(m.agency_pk(DESK), WEBHOOK_SK, agency_code=DESK, url=receiver.webhook_url, secret=SECRET,
                        updated_at=datetime.now(UTC)).save()
    task = desk_task()
    assert [outcome for _, outcome in pump_webhooks()] == ["delivered"]
    assert [t.task_id for t in receiver.state.tasks()] == [task.task_id]


def test_an_escalation_to_an_agency_off_the_route_withholds_personal_data(
    sample_catalogue: None, desk_task: Callable[[], Task], scripted: Callable[..., ScriptedEndpoint],
) -> None:
    """The supervising agency of a late agency is told where the dossier is and how late, not
    who the applicant is; an agency on the route gets the whole dossier."""
    supervisor = "000.00.00.H38"  # the province People's Committee: on no route of the sample catalogue
    outsider, own = scripted(answer(204)), scripted(answer(204))
    register(supervisor, outsider.url)
    register(DESK, own.url)
    task = desk_task()
    webhooks.enqueue_escalation(task, supervisor)
    webhooks.enqueue_escalation(task, None)  # no supervisor: the late agency itself, on the route
    assert sorted(outcome for _, outcome in pump_webhooks()) == ["delivered"] * 3
    id_number = create_applicant()["id_number"]
    (told,) = [json.loads(seen.body)["data"] for seen in outsider.seen]
    assert told["personal_data"] == "withheld" and told["dossier"]["code"] == task.dossier_code
    assert not {"applicant", "form", "documents", "history"} & set(told["dossier"])
    assert id_number not in json.dumps(told, ensure_ascii=False)
    bodies = [json.loads(seen.body) for seen in own.seen]
    assert sorted(body["type"] for body in bodies) == ["task.assigned", "task.escalated"]
    assert all(body["data"]["dossier"]["applicant"]["id_number"] == id_number for body in bodies)
    assert all(body["data"]["personal_data"] == "shown" for body in bodies)
    # Each delivery that carried personal data is a staff read of the dossier (audited); the
    # withheld one is not.
    assert staff_reads(supervisor) == []
    reads = staff_reads(DESK)
    assert [(r.action, r.key_id, r.dossier_codes) for r in reads] == [("webhook", "webhook", (task.dossier_code,))] * 2
