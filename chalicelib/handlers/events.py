"""Event sources: the route's task queue and the webhook queue. In AWS SQS event
sources call these; the local stack's pump calls the same service functions."""

from __future__ import annotations

import json

from chalice import Blueprint
from chalice.app import SQSEvent

from chalicelib.config import task_queue_name, webhook_queue_name
from chalicelib.integrations.logs import install_redaction
from chalicelib.services import routing, webhooks

install_redaction()  # the workers log too: no personal data in their lines either
bp = Blueprint(__name__)


# Each message is handled once whatever Lambda retries (the services' idempotency); the context
# bounds how long a run that dies holds its message's record.
@bp.on_sqs_message(queue=task_queue_name(), batch_size=1)
def on_task_message(event: SQSEvent) -> None:
    for record in event:
        routing.handle_task_message(json.loads(record.body), lambda_context=event.context)


@bp.on_sqs_message(queue=webhook_queue_name(), batch_size=1)
def on_webhook_message(event: SQSEvent) -> None:
    for record in event:
        webhooks.handle_webhook_message(json.loads(record.body), lambda_context=event.context)
