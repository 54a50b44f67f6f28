"""Event sources: the route's task queue, the webhook queue and the table's stream. In AWS SQS
and DynamoDB Streams event sources call these; the local stack's pumps call the same service
functions."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint
from chalice.app import DynamoDBEvent, SQSEvent

from chalicelib.config import task_queue_name, upload_events_queue_name, webhook_queue_name
from chalicelib.integrations.logs import install_redaction

install_redaction()  # the workers log too: no personal data in their lines either
bp = Blueprint(__name__)

# Chalice wants the stream's ARN when it wires the event source, but it exists only once the
# table does: infra/aws.json puts the table's StreamArn (Fn::GetAtt) in its place when packaging.
TABLE_STREAM_ARN_PLACEHOLDER = "arn:aws:dynamodb:::table/motcua/stream/set-by-infra-aws-json"


# Each message is handled once whatever Lambda retries (the services' idempotency); the context
# bounds how long a run that dies holds its message's record.
@bp.on_sqs_message(queue=task_queue_name(), batch_size=1)
def on_task_message(event: SQSEvent) -> None:
    from chalicelib.services import routing  # not on the API's cold start

    for record in event:
        routing.handle_task_message(json.loads(record.body), lambda_context=event.context)


@bp.on_sqs_message(queue=webhook_queue_name(), batch_size=1)
def on_webhook_message(event: SQSEvent) -> None:
    from chalicelib.services import webhooks  # not on the API's cold start

    for record in event:
        webhooks.handle_webhook_message(json.loads(record.body), lambda_context=event.context)


# S3's ObjectCreated events for citizens' uploads: their sizes recorded, so that a submission
# checks its files in its own transaction. Recording twice is harmless: no idempotency record.
@bp.on_sqs_message(queue=upload_events_queue_name(), batch_size=10)
def on_upload_event(event: SQSEvent) -> None:
    from chalicelib.services import uploads  # not on the API's cold start

    for record in event:
        uploads.handle_storage_event(json.loads(record.body))


# The table's stream (services/table_events.py): notifications and upload tags, off the request
# path. A failed record is reported (ReportBatchItemFailures, infra/aws.json) and retried from.
@bp.on_dynamodb_record(stream_arn=TABLE_STREAM_ARN_PLACEHOLDER, batch_size=100, starting_position="TRIM_HORIZON")
def on_table_record(event: DynamoDBEvent) -> dict[str, Any]:
    from chalicelib.services import table_events  # not on the API's cold start

    records: list[dict[str, Any]] = event.to_dict()["Records"]
    return table_events.handle_stream_batch(records, lambda_context=event.context)
