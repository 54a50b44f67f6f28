"""Side effects of a stored change, run from the table's stream instead of on the request path.

In AWS the stream's Lambda event source (handlers/events.py ``on_table_record``) hands batches of
records here; locally the stack's stream pump (tools/stream_pump.py) and the tests' drain do.

- A progress-log entry worth telling (``domain/notifications.should_notify``): the dossier is
  read and the citizen e-mailed and texted. Each record is notified once whatever the retries
  (Powertools idempotency keyed by the record's ``eventID``). A provider's refusal (an address
  SES rejects) is logged and not retried: it would hold up the shard, and with it the tags below.
- An upload turned attached: its object is tagged ``motcua-attached=true`` (services/uploads.py
  ``mark_attached``). Not guarded by idempotency: tagging again is harmless and saves two writes.
- A staff read recorded (an inbox page, a decision's answer, a webhook with personal data): a line
  on each dossier's audit trail, dated when the answer was served. Not guarded by idempotency
  either: a line for the same read already last on a trail is not written again
  (``Store.audit_read``), so a retried batch does not repeat one; a read of that dossier in between
  could let it (a line too many, never one too few).

A failure that a retry may cure (the table or S3 not answering) raises: the batch answers with
the failed record's sequence number (``ReportBatchItemFailures``) and Lambda retries from there,
records already handled coming back again and doing nothing the second time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.domain.audit import StaffRead
from chalicelib.domain.notifications import should_notify
from chalicelib.integrations.idempotency import run_once
from chalicelib.services import uploads
from chalicelib.services.deps import get_store
from chalicelib.services.notifications import notify_citizen
from chalicelib.store.stream import LogAdded, StaffReadRecorded, UploadAttached, table_change

logger = logging.getLogger(__name__)

# The idempotency records' kind (store/idempotency.py, access pattern 16).
STREAM_RECORD = "stream-record"


def handle_stream_record(record: Mapping[str, Any], *, lambda_context: Any = None) -> str:
    """Does what one stream record calls for: ``"notified"``, ``"tagged"``, ``"audited"`` or
    ``"ignored"`` (a notified record seen again: ``"notified"`` without sending anything)."""
    change = table_change(record)
    if isinstance(change, UploadAttached):
        uploads.mark_attached([change.s3_key])
        return "tagged"
    if isinstance(change, StaffReadRecorded):
        _audit(change.read)
        return "audited"
    if isinstance(change, LogAdded) and should_notify(change.entry):
        added = change

        def notify(_: dict[str, Any]) -> str:
            return _notify(added)

        return run_once(STREAM_RECORD, notify, {"eventID": str(record["eventID"])}, lambda_context=lambda_context)
    return "ignored"


def _audit(read: StaffRead) -> None:
    store = get_store()
    for code in read.dossier_codes:
        store.audit_read(code, agency_code=read.agency_code, key_id=read.key_id, at=read.at, action=read.action,
                         read_id=read.read_id)


def _notify(change: LogAdded) -> str:
    dossier = get_store().get_dossier(change.dossier_code)
    if dossier is None:  # a log entry outlives its dossier only in a hand-edited table
        logger.warning("stream: no dossier for a log entry")
        return "ignored"
    notify_citizen(dossier, change.entry)
    return "notified"


def handle_stream_batch(records: Iterable[Mapping[str, Any]], *, lambda_context: Any = None) -> dict[str, Any]:
    """A batch in stream order; stops at the first record that fails and names it, so that
    Lambda retries from it (the records after it come again)."""
    for record in records:
        try:
            handle_stream_record(record, lambda_context=lambda_context)
        except Exception:
            logger.exception("stream: a record failed (it will be retried)")
            sequence = str((record.get("dynamodb") or {}).get("SequenceNumber", ""))
            return {"batchItemFailures": [{"itemIdentifier": sequence}]}
    return {"batchItemFailures": []}
