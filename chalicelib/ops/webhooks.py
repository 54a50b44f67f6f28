"""``webhooks redrive``: the webhook dead-letter queue's messages back to the webhook queue.

What ``aws sqs start-message-move-task`` does in AWS, done with plain SQS calls so that it also
works on the local stack (moto has no message move tasks): each message is sent to the webhook
queue as it is (a dead letter's ``attempt`` is 1 again: a whole new round of retries), and deleted
from the dead-letter queue only once the send succeeded. A failure in between leaves a message in
both queues; the webhook worker's idempotency makes the second copy a no-op.

Messages dead-lettered after the command started (a redriven delivery that failed again while it
runs) are left for the next run rather than moved round and round.
"""

from __future__ import annotations

import json
import time
from typing import Any, TextIO

from chalicelib.integrations.aws import client
from chalicelib.ops.environment import UsageError

RECEIVE_BATCH = 10
# Long polling asks every SQS server: an empty answer means the queue has no visible message.
POLL_SECONDS = 1
# A message received but not moved (sent after the start) is visible again after this.
VISIBILITY_SECONDS = 30


def _describe(body: str) -> str:
    try:
        message = json.loads(body)
    except ValueError:
        return "a message that is not JSON"
    if not isinstance(message, dict):
        return "a message that is not a JSON object"
    described = f"{message.get('event', '?')} of task {message.get('task_id', '?')}"
    if message.get("recipient"):
        described += f" to {message['recipient']}"
    if message.get("attempts_made"):
        described += f", {message['attempts_made']} attempt(s) made"
    if message.get("last_error") or message.get("last_status"):
        described += f", last: {message.get('last_status') or message.get('last_error')}"
    return described


def _queue_urls(sqs: Any) -> tuple[str, str]:
    """The webhook DLQ's and queue's URLs: the stage's settings, or found by the template's names
    (``motcua-<province>-webhooks`` and ``…-dlq``), as an operator's environment usually has none."""
    from chalicelib.config import get_settings, webhook_queue_name

    settings = get_settings()
    name = webhook_queue_name()
    urls = []
    for url, queue_name in ((settings.webhook_dlq_url, f"{name}-dlq"), (settings.webhook_queue_url, name)):
        if not url:
            try:
                url = str(sqs.get_queue_url(QueueName=queue_name)["QueueUrl"])
            except sqs.exceptions.QueueDoesNotExist:
                raise UsageError(f"no queue {queue_name} (set MOTCUA_WEBHOOK_QUEUE_URL and "
                                 "MOTCUA_WEBHOOK_DLQ_URL to the stage's queues)") from None
        urls.append(url)
    return urls[0], urls[1]


def redrive(out: TextIO) -> int:
    """Moves every message of the webhook DLQ (there when the command started) to the webhook
    queue; returns how many it moved."""
    from chalicelib.config import get_settings

    sqs = client("sqs", get_settings().region)
    dlq, queue = _queue_urls(sqs)
    started_ms = int(time.time() * 1000)
    moved = left = 0
    while True:
        messages: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=RECEIVE_BATCH, WaitTimeSeconds=POLL_SECONDS,
            VisibilityTimeout=VISIBILITY_SECONDS, AttributeNames=["SentTimestamp"],
            MessageAttributeNames=["All"]).get("Messages", [])
        if not messages:
            break
        for message in messages:
            if int(message.get("Attributes", {}).get("SentTimestamp", 0)) >= started_ms:
                left += 1
                continue
            sent: dict[str, Any] = {"QueueUrl": queue, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                sent["MessageAttributes"] = message["MessageAttributes"]
            sqs.send_message(**sent)
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
            print(f"redriven: {_describe(message['Body'])}", file=out)
    if moved:
        print(f"moved {moved} message(s) from the webhook dead-letter queue {dlq} to the webhook queue {queue}",
              file=out)
    else:
        print(f"no change: the webhook dead-letter queue {dlq} has no message to redrive", file=out)
    if left:
        print(f"left {left} message(s) dead-lettered while this ran (a redriven delivery failed again?): "
              f"they are visible there again within {VISIBILITY_SECONDS} s: run the command again once the agency's "
              "endpoint answers", file=out)
    return moved
