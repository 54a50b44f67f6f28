"""The local stack's stand-in for the stack's EventBridge schedule (infra/aws.json
``OverdueSweepSchedule``): every ``interval`` seconds it sends the task queue the message the rule
sends in AWS, ``{"type": "overdue.sweep", "at": <time>}``, which the queue pump hands to the task
worker like any other."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime

log = logging.getLogger(__name__)


def sweep_message(at: datetime) -> dict[str, str]:
    """The body EventBridge's input transformer makes from the event's time (ISO 8601, UTC)."""
    from chalicelib.services.routing import OVERDUE_SWEEP_MESSAGE

    return {"type": OVERDUE_SWEEP_MESSAGE, "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


class Schedule:
    def __init__(self, *, region: str, queue_url: str, interval: float = 60.0) -> None:
        self._region = region
        self._queue_url = queue_url
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="schedule-overdue-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        import boto3

        sqs = boto3.client("sqs", region_name=self._region)
        while not self._stopping.wait(self._interval):
            try:
                sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(sweep_message(datetime.now(UTC))))
            except Exception as error:  # the server is going away, or a blip: the next tick sends again
                if not self._stopping.is_set():
                    log.warning("schedule: cannot send the overdue sweep: %s", error)
