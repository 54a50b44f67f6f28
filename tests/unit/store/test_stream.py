"""Stream records read as the changes the app reacts to (pure: the record's images only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain.audit import StaffRead
from chalicelib.domain.workflow import DossierStatus
from chalicelib.store.stream import LogAdded, StaffReadRecorded, UploadAttached, table_change

CODE = "000.00.21.H38-261126-0001"


def record(event: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    images = {**({"NewImage": new} if new is not None else {}), **({"OldImage": old} if old is not None else {})}
    return {"eventID": "e-1", "eventName": event, "dynamodb": {"SequenceNumber": "1", **images}}


LOG = {"PK": {"S": f"DOSSIER#{CODE}"}, "SK": {"S": "LOG#2026-11-26T02:00:00+00:00#0001"}, "kind": {"S": "log"},
       "at": {"S": "2026-11-26T02:00:00.000000+0000"}, "actor": {"S": "desk-officer"}, "action": {"S": "receive"},
       "from_status": {"N": "1"}, "to_status": {"N": "2"}, "note": {"S": "Đủ hồ sơ"}}


def upload(attached: bool) -> dict[str, Any]:
    return {"PK": {"S": "UPLOAD#u1"}, "SK": {"S": "META"}, "kind": {"S": "upload"}, "upload_id": {"S": "u1"},
            "owner": {"S": "sub-1"}, "filename": {"S": "a.pdf"}, "content_type": {"S": "application/pdf"},
            "size": {"N": "4"}, "s3_key": {"S": "uploads/sub-1/u1/a.pdf"},
            "created_at": {"S": "2026-11-26T02:00:00.000000+0000"}, "attached": {"BOOL": attached}}


STAFF_READ = {"PK": {"S": "READS#000.00.21.H38#2026-11-26"}, "SK": {"S": "2026-11-26T02:00:00+00:00#r1"},
              "kind": {"S": "staffread"}, "read_id": {"S": "r1"}, "at": {"S": "2026-11-26T02:00:00.000000+0000"},
              "agency_code": {"S": "000.00.21.H38"}, "key_id": {"S": "k1"}, "action": {"S": "inbox"},
              "dossier_codes": {"L": [{"S": CODE}, {"S": "000.00.21.H38-261126-0002"}]}}


def test_a_new_log_entry_is_its_dossier_and_entry() -> None:
    change = table_change(record("INSERT", LOG))
    assert isinstance(change, LogAdded)
    assert change.dossier_code == CODE
    entry = change.entry
    assert (entry.action, entry.actor, entry.note) == ("receive", "desk-officer", "Đủ hồ sơ")
    assert (entry.from_status, entry.to_status) == (DossierStatus.NEW, DossierStatus.RECEIVED)
    assert entry.at == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def test_an_upload_turned_attached_is_its_key() -> None:
    change = table_change(record("MODIFY", upload(True), upload(False)))
    assert change == UploadAttached(upload_id="u1", s3_key="uploads/sub-1/u1/a.pdf")


def test_a_staff_read_recorded_is_the_read() -> None:
    change = table_change(record("INSERT", STAFF_READ))
    assert change == StaffReadRecorded(StaffRead(
        read_id="r1", at=datetime(2026, 11, 26, 2, 0, tzinfo=UTC), agency_code="000.00.21.H38", key_id="k1",
        action="inbox", dossier_codes=(CODE, "000.00.21.H38-261126-0002")))


@pytest.mark.parametrize("stream_record", [
    record("MODIFY", STAFF_READ, STAFF_READ),  # recorded before: its lines are written
    record("REMOVE", None, STAFF_READ),
    record("MODIFY", LOG, LOG),  # a log entry rewritten: not new
    record("REMOVE", None, LOG),
    record("INSERT", upload(False)),  # a new upload: not attached yet
    record("MODIFY", upload(True), upload(True)),  # already attached: tagged before
    record("REMOVE", None, upload(False)),  # TTL
    record("MODIFY", {"PK": {"S": f"DOSSIER#{CODE}"}, "SK": {"S": "META"}, "kind": {"S": "dossier"}}),
    record("INSERT", {"PK": {"S": f"DOSSIER#{CODE}"}, "SK": {"S": "DETAILS"}, "kind": {"S": "dossier_details"}}),
    record("INSERT", {"PK": {"S": "IDEMPOTENCY#x"}, "SK": {"S": "x#1"}}),  # Powertools' records have no kind
])
def test_other_records_mean_nothing(stream_record: dict[str, Any]) -> None:
    assert table_change(stream_record) is None
