"""The local stand-in for the table stream's Lambda event source: reads the table's DynamoDB
stream on moto and hands each record, in order, to ``services.table_events``, the function the
Lambda handler (``handlers/events.py on_table_record``) calls. A record that fails is read again
at the next poll, with the records after it, as Lambda retries from a reported failure. Local
infrastructure only; the tests' ``drain_stream`` uses the same reader.

moto 5.2.5 (in-process and server) serves DescribeStream, GetShardIterator (TRIM_HORIZON, LATEST,
AFTER_SEQUENCE_NUMBER) and GetRecords, transactions' items included. botocore sends DynamoDB
Streams calls that name a stream ARN to an account endpoint (``<account>.streams-ddb…``) that
moto's in-process mock does not recognise: the client turns that off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

# Attempts at one record before the pump skips it (infra/aws.json's event source retries longer,
# then reports the batch to its dead-letter queue); locally a stuck record would stop the rest.
MAX_ATTEMPTS = 5


def streams_client(region: str, endpoint_url: str | None = None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("dynamodbstreams", region_name=region, endpoint_url=endpoint_url,
                        config=Config(account_id_endpoint_mode="disabled"))


class StreamReader:
    """Reads one stream's records shard by shard, from where the last :meth:`commit` left each
    shard (from ``start`` for a shard never committed)."""

    def __init__(self, client: Any, stream_arn: str, *, start: str = "TRIM_HORIZON") -> None:
        self._client = client
        self.stream_arn = stream_arn
        self._start = start
        self._committed: dict[str, str] = {}  # shard id -> sequence number of its last handled record

    def _shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self._client.describe_stream(**kwargs)["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                break
            kwargs["ExclusiveStartShardId"] = last
        # A parent shard's records come before its children's.
        return sorted(shards, key=lambda shard: int(shard["SequenceNumberRange"]["StartingSequenceNumber"]))

    def read(self) -> list[tuple[str, dict[str, Any]]]:
        """Every record after the committed positions, as ``(shard id, record)`` in stream order."""
        found: list[tuple[str, dict[str, Any]]] = []
        for shard in self._shards():
            shard_id = str(shard["ShardId"])
            last = self._committed.get(shard_id)
            if last is None:
                iterator = self._client.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id,
                                                           ShardIteratorType=self._start)["ShardIterator"]
            else:
                iterator = self._client.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id,
                                                           ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                                           SequenceNumber=last)["ShardIterator"]
            while iterator:
                page = self._client.get_records(ShardIterator=iterator, Limit=1000)
                records = page.get("Records", [])
                if not records:
                    break
                found.extend((shard_id, record) for record in records)
                iterator = page.get("NextShardIterator")
        return found

    def commit(self, shard_id: str, record: dict[str, Any]) -> None:
        self._committed[shard_id] = str(record["dynamodb"]["SequenceNumber"])


def _handler() -> Callable[[dict[str, Any]], Any]:
    from chalicelib.services.table_events import handle_stream_record

    return handle_stream_record


class StreamPump:
    """Polls one stream on a thread and hands each record to ``services.table_events``."""

    def __init__(self, *, region: str, stream_arn: str, poll_seconds: float = 0.2) -> None:
        self._region = region
        self._stream_arn = stream_arn
        self._poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from chalicelib.integrations.logs import install_redaction

        install_redaction()  # the worker's log lines are redacted as in Lambda (handlers/events.py)
        self._thread = threading.Thread(target=self._run, name="pump-table-stream", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self._poll_seconds + 5)

    def _run(self) -> None:
        reader = StreamReader(streams_client(self._region), self._stream_arn)
        handle = _handler()
        failures: dict[str, int] = {}
        while not self._stopping.wait(self._poll_seconds):
            try:
                records = reader.read()
            except Exception as error:  # the server is going away, or a blip: try again
                if not self._stopping.is_set():
                    log.warning("stream pump: cannot read the table's stream: %s", error)
                continue
            for shard_id, record in records:
                try:
                    handle(record)
                except Exception:
                    failures[record["eventID"]] = failures.get(record["eventID"], 0) + 1
                    if failures[record["eventID"]] < MAX_ATTEMPTS:
                        # Not committed: read again at the next poll, with the records after it.
                        log.exception("stream pump: a record failed (it will be retried)")
                        break
                    # As the event source gives up after its retries (to its dead-letter queue).
                    log.exception("stream pump: a record failed %d times: skipped", MAX_ATTEMPTS)
                reader.commit(shard_id, record)
