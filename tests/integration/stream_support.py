"""The table's stream in the in-process tests: what Lambda's event source does in AWS, on demand.

Notifications and upload tags no longer happen in the request that stores a change: they follow
from the table's stream (services/table_events.py). A test that expects an e-mail, an SMS or a tag
after a call drains the stream first; ``route_support.pump`` drains it too.
"""

from __future__ import annotations

import os
from typing import Any

from chalicelib.services.table_events import handle_stream_record
from tools.stream_pump import StreamReader, streams_client

# One reader per stream: each test's table is new (a new stream ARN), so no test sees another's.
_readers: dict[str, StreamReader] = {}


def _stream_arn() -> str:
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=os.environ["AWS_REGION"])
    table = dynamodb.describe_table(TableName=os.environ["MOTCUA_TABLE_NAME"])["Table"]
    return str(table["LatestStreamArn"])


def drain_stream() -> list[str]:
    """Hands every record written since the last drain to the stream's handler, in order;
    returns what each did ("notified", "tagged", "ignored"). A failure raises (the record stays
    unread: the next drain hands it again)."""
    arn = _stream_arn()
    reader = _readers.get(arn)
    if reader is None:
        reader = _readers[arn] = StreamReader(streams_client(os.environ["AWS_REGION"]), arn)
    outcomes: list[str] = []
    while records := reader.read():
        for shard_id, record in records:
            outcomes.append(handle_stream_record(record))
            reader.commit(shard_id, record)
    return outcomes


def stream_records() -> list[dict[str, Any]]:
    """The records not drained yet (read, not handled)."""
    arn = _stream_arn()
    reader = _readers.get(arn) or StreamReader(streams_client(os.environ["AWS_REGION"]), arn)
    return [record for _, record in reader.read()]
