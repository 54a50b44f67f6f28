"""Doing a queued message's work once: Powertools Idempotency on the app's own table.

SQS delivers at least once and Lambda retries a failed batch, so a worker may get the same
message again: after a timeout, a lost delete, or an error. ``run_once`` hashes the message body
(which carries the Step Functions task token, or the webhook's id and attempt number: unique per
attempt) and keeps a record in the table (``store/idempotency.py``, access pattern 16):

- the first delivery writes the record IN_PROGRESS, does the work, then stores the result;
- a redelivered copy finds the record and returns the stored result without doing anything;
- if the work raises, Powertools deletes the record before re-raising, so the retry does the work;
- a copy arriving while the first is still running raises ``IdempotencyAlreadyInProgressError``
  (the message comes back after its visibility timeout). The IN_PROGRESS record expires with the
  Lambda invocation's remaining time (or ``OUTSIDE_LAMBDA_SECONDS`` elsewhere), so a worker that
  died mid-way does not block the retry for long.

Records expire (the table's TTL attribute) after ``idempotency_expiry_seconds``, the queues'
retention by default. The DynamoDB client is created at the first message, not at import.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from chalicelib.config import get_settings
from chalicelib.store.idempotency import persistence_layer

R = TypeVar("R")

# How long a run outside Lambda (the local stack's queue pump, tests) holds its IN_PROGRESS record.
OUTSIDE_LAMBDA_SECONDS = 300

TASK_MESSAGE = "task-message"
WEBHOOK_MESSAGE = "webhook-message"


class _OutsideLambda:
    """A stand-in Lambda context for callers without one: a fixed budget from now."""

    def __init__(self, seconds: int) -> None:
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def run_once(kind: str, work: Callable[[dict[str, Any]], R], message: Mapping[str, Any], *,
             lambda_context: Any = None) -> R:
    """``work(message)`` unless this very message was handled already; then its stored result.

    ``work`` must return something JSON can store (the result replayed is the stored JSON value).
    ``lambda_context`` is the invocation's context (Lambda); without one, the record's IN_PROGRESS
    state lasts ``OUTSIDE_LAMBDA_SECONDS`` at most."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    settings = get_settings()
    context = lambda_context if hasattr(lambda_context, "get_remaining_time_in_millis") \
        else _OutsideLambda(OUTSIDE_LAMBDA_SECONDS)
    config = IdempotencyConfig(expires_after_seconds=settings.idempotency_expiry_seconds, hash_function="sha256",
                               lambda_context=cast(Any, context))
    layer = persistence_layer(settings.table_name, settings.region, kind, settings.idempotency_expiry_seconds)

    def handle(message: dict[str, Any]) -> R:
        return work(message)

    guarded = idempotent_function(handle, data_keyword_argument="message", persistence_store=layer, config=config,
                                  key_prefix=kind)
    return cast(R, guarded(message=dict(message)))
