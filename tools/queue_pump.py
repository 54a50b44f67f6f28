"""The local stand-in for SQS event sources: long-polls queues on moto and hands each
message to the function the Lambda handler would call. Delete on success; on an
exception the message becomes visible again and, after maxReceiveCount, goes to its
dead-letter queue, as in AWS. Local infrastructure only."""

from __future__ import annotations

import importlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def _resolve(target: str) -> Callable[[dict[str, Any]], Any]:
    module, _, name = target.partition(":")
    function: Callable[[dict[str, Any]], Any] = getattr(importlib.import_module(module), name)
    return function


class QueuePump:
    def __init__(self, *, region: str, queues: dict[str, str], wait_seconds: int = 1,
                 visibility_timeout: int = 15) -> None:
        self._region = region
        self._queues = {url: _resolve(target) for url, target in queues.items()}
        self._wait_seconds = wait_seconds
        # Longer than a webhook delivery's 10 s HTTP timeout: a slow endpoint's message must not
        # come back while its first handling is still running.
        self._visibility_timeout = visibility_timeout
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        from chalicelib.integrations.logs import install_redaction

        # The workers run in this process, not under handlers/events.py, which installs the
        # redaction in Lambda: their log lines (and this pump's) must be redacted here too.
        install_redaction()
        for url, handler in self._queues.items():
            thread = threading.Thread(target=self._run, args=(url, handler), name=f"pump-{url.rsplit('/', 1)[-1]}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=self._wait_seconds + 5)

    def _run(self, url: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        import boto3

        sqs = boto3.client("sqs", region_name=self._region)
        while not self._stopping.is_set():
            try:
                messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                               WaitTimeSeconds=self._wait_seconds,
                                               VisibilityTimeout=self._visibility_timeout).get("Messages", [])
            except Exception as error:  # the server is going away, or a blip: try again
                if not self._stopping.is_set():
                    log.warning("pump: cannot read %s: %s", url, error)
                    self._stopping.wait(1)
                continue
            for message in messages:
                try:
                    handler(json.loads(message["Body"]))
                except Exception:
                    log.exception("pump: handler failed for a message of %s (it will be retried)", url)
                    continue
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
