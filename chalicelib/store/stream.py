"""The table's stream, read as the changes the app reacts to off the request path.

The table streams NEW_AND_OLD_IMAGES (infra/template.json). Of all its records three kinds matter:

- a progress-log item written (INSERT of a ``log`` item): the citizen may have to be told;
- an upload item turned attached (MODIFY of an ``upload`` item, ``attached`` false → true): its
  object must be tagged so that the uploads bucket's lifecycle rule no longer expires it;
- a staff read recorded (INSERT of a ``staffread`` item): each dossier it names gets its audit line.

Everything else (dossiers, tasks, counters, idempotency records, deletions by TTL) is ``None``.
The record is the one Lambda hands to a DynamoDB event source and DynamoDB Streams' GetRecords
returns (``eventID``, ``eventName``, ``dynamodb.NewImage``/``OldImage`` in DynamoDB's JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.audit import StaffRead
from chalicelib.domain.dossiers import LogEntry
from chalicelib.store import models as m
from chalicelib.store.repository import log_entry_of, staff_read_of

_LOG_KIND = "log"
_UPLOAD_KIND = "upload"
_STAFF_READ_KIND = "staffread"


@dataclass(frozen=True)
class LogAdded:
    """A progress-log entry stored for a dossier."""

    dossier_code: str
    entry: LogEntry


@dataclass(frozen=True)
class UploadAttached:
    """An upload that a dossier now holds (its S3 key names the owner and file: never logged)."""

    upload_id: str
    s3_key: str


@dataclass(frozen=True)
class StaffReadRecorded:
    """Dossiers shown to an agency, to put on their audit trails."""

    read: StaffRead


TableChange = LogAdded | UploadAttached | StaffReadRecorded


def _kind(image: Mapping[str, Any] | None) -> str | None:
    if not image:
        return None
    value = image.get("kind", {}).get("S")
    return str(value) if value is not None else None


def _attached(image: Mapping[str, Any] | None) -> bool:
    return bool(image and image.get("attached", {}).get("BOOL"))


def table_change(record: Mapping[str, Any]) -> TableChange | None:
    """What a stream record means to the app, or ``None`` for a record it does not react to."""
    event = record.get("eventName")
    data = record.get("dynamodb") or {}
    new: dict[str, Any] = dict(data.get("NewImage") or {})
    old: dict[str, Any] = dict(data.get("OldImage") or {})
    kind = _kind(new)
    if event == "INSERT" and kind == _LOG_KIND:
        item = m.LogItem.from_raw_data(new)
        return LogAdded(dossier_code=item.pk.removeprefix(m.dossier_pk("")), entry=log_entry_of(item))
    if event == "MODIFY" and kind == _UPLOAD_KIND and _attached(new) and not _attached(old):
        upload = m.UploadItem.from_raw_data(new)
        return UploadAttached(upload_id=upload.upload_id, s3_key=upload.s3_key)
    if event == "INSERT" and kind == _STAFF_READ_KIND:
        return StaffReadRecorded(staff_read_of(m.StaffReadItem.from_raw_data(new)))
    return None
