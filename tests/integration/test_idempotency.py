"""The queue workers do nothing twice (Powertools Idempotency on the table), on moto in-process.

SQS delivers at least once and Lambda retries: the same message may reach a worker again. The
route's messages are taken off the task queue by hand here and handed to the worker twice, through
the service function (what the local stack's pump calls) or the chalice Lambda handler (what the
SQS event source calls in AWS).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib.domain.tasks import Task
from chalicelib.integrations import idempotency
from chalicelib.services import routing, webhooks
from chalicelib.services.deps import get_task_store
from chalicelib.store.models import idempotency_pk
from tests.factories import DESK, JUSTICE
from tests.integration import test_webhook_delivery as delivery
from tests.integration.route_support import Agencies, history_actions, pump, submit
from tests.integration.test_webhook_delivery import ScriptedEndpoint, answer, assigned_id, register, take_messages

# The webhook tests' fixtures: scripted endpoints, and an open desk task whose task.assigned is queued.
scripted = delivery.scripted
desk_task = delivery.desk_task

Handler = Callable[[dict[str, Any]], Any]


def _sqs() -> Any:
    return boto3.client("sqs", region_name=os.environ["AWS_REGION"])


def next_task_message(kind: str, code: str, seconds: float = 20) -> dict[str, Any]:
    """Takes the route's next ``kind`` message for the dossier off the task queue (deleted, as after
    a first delivery); any other message is handled as the event source would."""
    sqs = _sqs()
    queue = os.environ["MOTCUA_TASK_QUEUE_URL"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", []):
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            body: dict[str, Any] = json.loads(message["Body"])
            if body.get("type") == kind and body.get("dossier_code") == code:
                return body
            routing.handle_task_message(body)
        time.sleep(0.05)
    raise AssertionError(f"no {kind} message for {code}")


def through_lambda(api: Any, function: str) -> Handler:
    """Hands a message to the chalice Lambda handler as an SQS event of one record."""

    def handle(body: dict[str, Any]) -> Any:
        event = api.events.generate_sqs_event(message_bodies=[json.dumps(body)], queue_name="queue")
        return api.lambda_.invoke(function, event).payload

    return handle


@pytest.fixture(params=["service", "lambda"])
def task_worker(request: pytest.FixtureRequest, api: Any) -> Handler:
    if request.param == "lambda":
        return through_lambda(api, "on_task_message")
    return routing.handle_task_message


@pytest.fixture(params=["service", "lambda"])
def webhook_worker(request: pytest.FixtureRequest, api: Any) -> Handler:
    if request.param == "lambda":
        return through_lambda(api, "on_webhook_message")
    return webhooks.handle_webhook_message


def records(kind: str) -> list[dict[str, Any]]:
    """The idempotency records of one kind of message, as the table holds them."""
    table = boto3.client("dynamodb", region_name=os.environ["AWS_REGION"])
    items: list[dict[str, Any]] = table.query(
        TableName=os.environ["MOTCUA_TABLE_NAME"], KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": idempotency_pk(kind)}}, ConsistentRead=True)["Items"]
    return items


def test_a_step_message_handled_twice_opens_one_task_queues_one_webhook_and_logs_once(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies,
    scripted: Callable[..., ScriptedEndpoint], task_worker: Handler,
) -> None:
    register(JUSTICE, scripted(answer(204)).url)
    code = submit(api, sample_token, "2.000488")
    assert agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive").status_code == 200
    schedule = next_task_message("step.schedule", code)
    assert schedule["step_index"] == 1

    task_worker(schedule)
    task_worker(schedule)  # redelivered

    (task,) = [t for t in agencies.inbox(JUSTICE) if t["dossier_code"] == code]
    queued = take_messages(os.environ["MOTCUA_WEBHOOK_QUEUE_URL"])
    assert [(m["task_id"], m["event"]) for m in queued] == [(task["task_id"], "task.assigned")]
    assert history_actions(code).count("start_processing") == 1
    # The schedule state is the lead agency's wait: the one task carries its token.
    stored = get_task_store().get_task(task["task_id"])
    assert stored is not None and stored.token == schedule["token"]
    assert agencies.decide(JUSTICE, task["task_id"], "approve").status_code == 200
    pump(lambda: history_actions(code)[-1] == "approve_final")
    assert history_actions(code) == ["submit", "receive", "start_processing", "approve_final"]
    assert [t["task_id"] for t in agencies.inbox(JUSTICE, "decided") if t["dossier_code"] == code] == [task["task_id"]]


def test_a_webhook_message_handled_twice_is_delivered_once(
    desk_task: Callable[[], Task], scripted: Callable[..., ScriptedEndpoint], webhook_worker: Handler,
) -> None:
    endpoint = scripted(answer(204))
    register(DESK, endpoint.url)
    task = desk_task()
    (message,) = take_messages(os.environ["MOTCUA_WEBHOOK_QUEUE_URL"])

    webhook_worker(message)
    webhook_worker(message)  # redelivered

    assert [seen.webhook_id for seen in endpoint.seen] == [assigned_id(task.task_id)]
    assert take_messages(os.environ["MOTCUA_WEBHOOK_QUEUE_URL"]) == []
    # What the worker remembers: one record, completed, expiring with the table's TTL attribute.
    (record,) = records(idempotency.WEBHOOK_MESSAGE)
    assert record["SK"]["S"].startswith(f"{idempotency.WEBHOOK_MESSAGE}#") and record["status"]["S"] == "COMPLETED"
    expires = datetime.fromtimestamp(int(record["expires_at"]["N"]), UTC)
    assert timedelta(days=13) < expires - datetime.now(UTC) <= timedelta(days=14)
    # A retry of the same event is another message (attempt + 1): delivered again.
    assert webhooks.handle_webhook_message({**message, "attempt": 2}) == "delivered"
    assert len(endpoint.seen) == 2


def test_a_webhook_whose_first_handling_raised_is_delivered_on_the_redelivery(
    monkeypatch: pytest.MonkeyPatch, desk_task: Callable[[], Task], scripted: Callable[..., ScriptedEndpoint],
    webhook_worker: Handler,
) -> None:
    endpoint = scripted(answer(204))
    register(DESK, endpoint.url)
    task = desk_task()
    (message,) = take_messages(os.environ["MOTCUA_WEBHOOK_QUEUE_URL"])
    from chalicelib.integrations.webhooks import deliver as real

    calls: list[str] = []

    def crash_once(*args: Any, **kwargs: Any) -> Any:
        calls.append("deliver")
        if len(calls) == 1:
            raise RuntimeError("the worker died half-way")
        return real(*args, **kwargs)

    monkeypatch.setattr(webhooks, "deliver", crash_once)
    with pytest.raises(RuntimeError, match="half-way"):
        webhook_worker(message)
    assert endpoint.seen == [] and records(idempotency.WEBHOOK_MESSAGE) == []  # nothing remembered

    webhook_worker(message)  # SQS delivers it again
    assert [seen.webhook_id for seen in endpoint.seen] == [assigned_id(task.task_id)]
    webhook_worker(message)  # and once more: now a no-op
    assert len(calls) == 2 and len(endpoint.seen) == 1


def test_a_step_message_whose_first_handling_raised_does_its_work_on_the_redelivery(
    monkeypatch: pytest.MonkeyPatch, api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime,
    agencies: Agencies, task_worker: Handler,
) -> None:
    code = submit(api, sample_token, "2.000488")
    schedule = next_task_message("step.schedule", code)
    real = webhooks.enqueue_task_event
    calls: list[str] = []

    def throttled_once(task: Task, event: Any) -> None:
        calls.append(task.task_id)
        if len(calls) == 1:
            raise RuntimeError("ThrottlingException: Rate exceeded")
        real(task, event)

    monkeypatch.setattr(webhooks, "enqueue_task_event", throttled_once)
    with pytest.raises(RuntimeError, match="Rate exceeded"):
        task_worker(schedule)
    assert records(idempotency.TASK_MESSAGE) == []

    task_worker(schedule)  # redelivered: this time the agency is told, and the task waits with the token
    (task,) = [t for t in agencies.inbox(DESK) if t["dossier_code"] == code]
    stored = get_task_store().get_task(task["task_id"])
    assert stored is not None and stored.token == schedule["token"]
    assert calls == [task["task_id"], task["task_id"]]
    task_worker(schedule)  # redelivered once more: nothing
    assert len(calls) == 2
