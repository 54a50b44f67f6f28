"""SQS: messages for the app's own workers (webhook deliveries)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.integrations.aws import client


class MessageQueue:
    def __init__(self, region: str, url: str) -> None:
        self._region = region
        self.url = url

    def send(self, body: dict[str, Any], *, delay_seconds: int = 0) -> None:
        client("sqs", self._region).send_message(
            QueueUrl=self.url, MessageBody=json.dumps(body, ensure_ascii=False),
            DelaySeconds=max(0, min(900, delay_seconds)))
