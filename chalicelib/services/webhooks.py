"""Telling agencies about their tasks: signed webhooks (Standard Webhooks), retried
through the webhook queue on network errors, 5xx and 429 only, then dead-lettered.
An agency without a webhook endpoint just reads its inbox.

Each agency's signing secrets live in its own Secrets Manager secret
(``motcua/<province>/webhooks/<agency code>``); the table's endpoint item names it. A delivery
is signed with every secret not yet retired (several during a rotation's grace period)."""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Literal

from chalicelib import presenters  # the event body is the contract's shape
from chalicelib.config import get_settings
from chalicelib.domain import audit
from chalicelib.domain import webhook_secrets as secret_set
from chalicelib.domain.tasks import Task
from chalicelib.integrations import idempotency, webhook_secrets
from chalicelib.integrations.sqs import MessageQueue
from chalicelib.integrations.webhooks import DeliveryResult, RetryPolicy, deliver, new_secret
from chalicelib.services.deps import get_store, get_task_store, now
from chalicelib.store import webhooks as endpoints

logger = logging.getLogger(__name__)

TaskEvent = Literal["task.assigned", "task.cancelled", "task.escalated"]


def webhook_id(task_id: str, event: str) -> str:
    # One id per (task, event): every retry, and a redelivered queue message, carries the
    # same id, so the agency can tell it has seen it.
    return f"msg_{task_id}_{event.split('.')[-1]}"


def _endpoint(agency_code: str) -> endpoints.WebhookEndpoint | None:
    get_store()  # binds the table's models in a process that has not touched the store yet
    return endpoints.get_endpoint(agency_code)


def signing_secrets(endpoint: endpoints.WebhookEndpoint, *, force: bool = False) -> list[str]:
    """The secrets that sign a delivery to ``endpoint`` now (raises ``SecretUnavailable``)."""
    if endpoint.secret_name is None:
        return [endpoint.legacy_secret] if endpoint.legacy_secret else []
    return secret_set.signing_secrets(webhook_secrets.read(endpoint.secret_name, force=force), now())


def endpoint_secret_name(agency_code: str) -> str:
    return webhook_secrets.secret_name(get_settings().province, agency_code)


def _description(agency_code: str) -> str:
    return f"Webhook signing secrets of agency {agency_code} (motcua, docs/operations.md)"


def create_endpoint(agency_code: str, url: str, *, secret: str | None = None) -> str:
    """A new webhook endpoint for the agency, with a fresh signing secret (or ``secret``) stored in
    its Secrets Manager secret, replacing whatever that held; returns the secret. Ops and the local
    stack call this with their own credentials: no Lambda function creates endpoints."""
    secret = secret or new_secret()
    at = now()
    name = endpoint_secret_name(agency_code)
    webhook_secrets.write(name, [secret_set.SigningSecret(secret, at)], description=_description(agency_code))
    get_store()  # binds the table's models
    endpoints.put_endpoint(endpoints.WebhookEndpoint(agency_code, url, name), at)
    return secret


def migrate_legacy_secret(endpoint: endpoints.WebhookEndpoint, at: datetime) -> endpoints.WebhookEndpoint:
    """Moves a legacy item's secret value to the agency's Secrets Manager secret, then rewrites the
    item with the secret's name only (in that order: a failure in between leaves a working endpoint)."""
    if endpoint.secret_name is not None:
        return endpoint
    if not endpoint.legacy_secret:
        raise ValueError(f"the webhook endpoint of agency {endpoint.agency_code} has no secret at all")
    name = endpoint_secret_name(endpoint.agency_code)
    webhook_secrets.write(name, [secret_set.SigningSecret(endpoint.legacy_secret, at)],
                          description=_description(endpoint.agency_code))
    migrated = replace(endpoint, secret_name=name, legacy_secret=None)
    endpoints.put_endpoint(migrated, at)
    return migrated


def _queue() -> MessageQueue | None:
    settings = get_settings()
    return MessageQueue(settings.region, settings.webhook_queue_url) if settings.webhook_queue_url else None


def enqueue_task_event(task: Task, event: TaskEvent) -> None:
    queue = _queue()
    endpoint = _endpoint(task.agency_code)
    if queue is None or endpoint is None or endpoint.disabled:
        return
    queue.send({"task_id": task.task_id, "event": event, "webhook_id": webhook_id(task.task_id, event),
                "attempt": 1})


def enqueue_escalation(task: Task, supervisor_code: str | None) -> None:
    """A task missed its deadline again: tell the agency's supervising agency (its parent),
    or, with none, the agency itself."""
    queue = _queue()
    recipient = supervisor_code or task.agency_code
    endpoint = _endpoint(recipient)
    if queue is None or endpoint is None or endpoint.disabled:
        logger.warning("escalation of task %s: agency %s has no webhook endpoint", task.task_id, recipient)
        return
    queue.send({"task_id": task.task_id, "event": "task.escalated", "recipient": recipient,
                "webhook_id": f"{webhook_id(task.task_id, 'task.escalated')}_{task.overdue_count}", "attempt": 1})


def _event_body(task: Task, event: str, recipient: str) -> dict[str, Any] | None:
    dossier = get_store().get_dossier(task.dossier_code)
    if dossier is None:
        return None
    from chalicelib.services.routing import on_route  # routing sends through this module

    shown = presenters.agency_task(task, dossier)
    # An agency off the dossier's route (a supervising agency told of an escalation) learns where
    # the dossier is and how late, never the applicant's personal data (Decree 13/2023). With its
    # route unknown (its procedure left the catalogue) only the task's own agency is sure.
    in_full = recipient == task.agency_code or on_route(recipient, dossier)
    return {"type": event, "data": {"task_id": task.task_id, "dossier_code": task.dossier_code,
                                    "step": shown["step"], "due_at": shown["due_at"],
                                    "dossier": shown["dossier"] if in_full else presenters.dossier_summary(dossier),
                                    "personal_data": "shown" if in_full else "withheld"}}


def handle_webhook_message(message: Mapping[str, Any], *, lambda_context: Any = None) -> str:
    """Delivers one queued event; returns what happened (for logs and tests). Once per message: a
    redelivered copy returns the first outcome without a request (integrations/idempotency.py);
    each retry is a new message (its ``attempt`` is one more) and a dead letter carries its own id,
    so a redrive is new work too."""
    outcome: str = idempotency.run_once(idempotency.WEBHOOK_MESSAGE, _deliver_message, message,
                                        lambda_context=lambda_context)
    return outcome


def _deliver_message(message: Mapping[str, Any]) -> str:
    settings = get_settings()
    task = get_task_store().get_task(str(message["task_id"]))
    if task is None:
        return "unknown_task"
    recipient = str(message.get("recipient") or task.agency_code)
    endpoint = _endpoint(recipient)
    if endpoint is None or endpoint.disabled:
        return "no_endpoint"
    event = str(message["event"])
    if event == "task.assigned" and task.status != "open":
        # Decided or cancelled from the inbox while this waited for a retry: announcing it
        # now would show a closed task as new (the cancellation, if any, is its own event).
        return "stale"
    body = _event_body(task, event, recipient)
    if body is None:
        return "unknown_dossier"
    attempt = int(message.get("attempt", 1))
    try:
        secrets = signing_secrets(endpoint)
    except webhook_secrets.SecretUnavailable as error:
        # Throttled, a permission or a secret gone missing: retried, then dead-lettered for ops.
        logger.warning("webhook to %s: %s", endpoint.agency_code, error)
        result = DeliveryResult("retry", None, None, str(error))
    else:
        if body["data"]["personal_data"] == "shown":
            # Each attempt hands the dossier to the agency's system: recorded before it is sent.
            get_store().record_staff_read(audit.staff_read(now(), recipient, "webhook", "webhook",
                                                           [task.dossier_code]))
        result = deliver(endpoint.url, secrets, str(message["webhook_id"]), body)
    if result.outcome == "delivered":
        return "delivered"
    if result.outcome == "gone":
        # 410 Gone: the agency unsubscribed; ops re-enable it when it asks again. Only if the
        # endpoint still posts where this answer came from (ops may have set a new URL meanwhile).
        if not endpoints.disable_endpoint(endpoint.agency_code, "410 Gone", now(), url=endpoint.url):
            logger.warning("webhook to %s: 410 from a URL replaced since, endpoint left on", endpoint.agency_code)
        return "gone"
    if result.outcome == "failed":
        logger.warning("webhook to %s refused (%s), not retried", task.agency_code, result.error)
        return "failed"
    policy = RetryPolicy(max_attempts=settings.webhook_max_attempts, base_seconds=settings.webhook_retry_base_seconds)
    if policy.exhausted(attempt):
        if settings.webhook_dlq_url:
            # attempt starts again at 1, so that redriving the message as it is (docs/operations.md)
            # gives it a whole new round of retries.
            # dead_letter_id: a message dead-lettered again after a redrive is a new message, not
            # the copy the idempotency records remember.
            MessageQueue(settings.region, settings.webhook_dlq_url).send(
                {**message, "attempt": 1, "attempts_made": attempt, "last_error": result.error,
                 "last_status": result.status, "dead_letter_id": uuid.uuid4().hex,
                 "dead_lettered_at": now().isoformat()})
        return "dead_lettered"
    queue = _queue()
    assert queue is not None
    delay = policy.delay(attempt, result.retry_after_seconds)
    # SQS delays are whole seconds: round a receiver's Retry-After up (it is a floor), jitter
    # to the nearest.
    seconds = math.ceil(delay) if result.retry_after_seconds is not None else round(delay)
    queue.send({**message, "attempt": attempt + 1}, delay_seconds=seconds)
    return "retrying"
