"""tools/schedule.py: the local stack's stand-in for the stack's EventBridge rule."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from chalicelib.services import routing
from chalicelib.services.routing import OVERDUE_SWEEP_MESSAGE
from tools.schedule import Schedule, sweep_message


def test_the_sweep_message_is_what_the_rules_input_transformer_makes() -> None:
    at = datetime(2026, 11, 27, 8, 5, 30, 123456, tzinfo=UTC)
    assert sweep_message(at) == {"type": OVERDUE_SWEEP_MESSAGE, "at": "2026-11-27T08:05:30Z"}


def test_the_local_schedule_sends_the_task_queue_a_sweep_the_task_worker_handles(
    aws: dict[str, str], sample_catalogue: None, monkeypatch: pytest.MonkeyPatch,
) -> None:
    sqs = boto3.client("sqs", region_name=os.environ["AWS_REGION"])
    queue = os.environ["MOTCUA_TASK_QUEUE_URL"]
    schedule = Schedule(region=os.environ["AWS_REGION"], queue_url=queue, interval=0.05)
    schedule.start()
    try:
        deadline = time.monotonic() + 10
        bodies: list[dict[str, Any]] = []
        while not bodies and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            bodies = [json.loads(m["Body"]) for m in messages]
    finally:
        schedule.stop()
    assert bodies and all(body["type"] == OVERDUE_SWEEP_MESSAGE for body in bodies)
    assert datetime.fromisoformat(bodies[0]["at"]).tzinfo is not None
    swept: list[int] = []

    def sweep() -> int:
        swept.append(1)
        return 0

    monkeypatch.setattr(routing, "sweep_overdue", sweep)
    routing.handle_task_message(bodies[0])
    routing.handle_task_message(bodies[0])  # the same message delivered again: handled once
    assert swept == [1]
