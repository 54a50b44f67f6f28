"""The table's stream, on moto in-process: the citizen is told from it, once, and only of what an
agency or the system did; the API requests themselves send nothing."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from chalicelib.domain import audit
from chalicelib.services.deps import get_store
from chalicelib.services.table_events import handle_stream_batch, handle_stream_record
from tests.conftest import REGION
from tests.factories import DESK, JUSTICE
from tests.integration.route_support import Agencies, pump, submit
from tests.integration.stream_support import drain_stream, stream_records

RECEIVED_SUBJECT = "Đã tiếp nhận / Dossier"


def sent_subjects() -> list[str]:
    return [str(message.subject) for message in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages]


def sent_sms() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())


@pytest.fixture
def sms_on(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_NOTIFY_SMS", "on")


def test_a_submission_sends_nothing_its_receipt_is_told_from_the_stream_once(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies,
        sms_on: None) -> None:
    code = submit(api, sample_token, "2.000488")
    # The citizen's own submission: the API answered it on screen; no e-mail, in or after the request.
    assert sent_subjects() == [] and sent_sms() == []
    assert "notified" not in drain_stream()
    assert sent_subjects() == []

    task = agencies.task_for(DESK, code)
    records_before = len(stream_records())
    assert agencies.decide(DESK, task["task_id"], "receive").status_code == 200
    assert sent_subjects() == []  # not in the agency's request either
    assert len(stream_records()) > records_before
    assert drain_stream().count("notified") == 1
    (subject,) = sent_subjects()
    assert subject == f"Hồ sơ {code}: Đã tiếp nhận / Dossier {code}: Received"
    assert [phone for phone, _ in sent_sms()] == ["+84912345678"]


def test_a_record_seen_again_is_not_notified_again(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    code = submit(api, sample_token, "2.000488")
    drain_stream()
    task = agencies.task_for(DESK, code)
    assert agencies.decide(DESK, task["task_id"], "refuse", "Không thuộc thẩm quyền").status_code == 200
    records = stream_records()
    outcomes = [handle_stream_record(record) for record in records]
    assert outcomes.count("notified") == 1
    # Lambda hands the same batch again (a retry after a later record failed): nothing resent.
    assert handle_stream_batch(copy.deepcopy(records)) == {"batchItemFailures": []}
    assert len(sent_subjects()) == 1
    assert "Không tiếp nhận" in sent_subjects()[0]


def test_a_failed_record_is_reported_with_its_sequence_number(
        aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.services import table_events

    def broken(_: Any) -> str:
        raise ConnectionError("the table is not answering")

    monkeypatch.setattr(table_events, "_notify", broken)
    log_record = {"eventID": "e-2", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "200", "NewImage": {
        "PK": {"S": "DOSSIER#000.00.21.H38-261126-0001"}, "SK": {"S": "LOG#2026-11-26T02:00:00+00:00#0001"},
        "kind": {"S": "log"}, "at": {"S": "2026-11-26T02:00:00.000000+0000"}, "actor": {"S": "desk"},
        "action": {"S": "receive"}, "from_status": {"N": "1"}, "to_status": {"N": "2"}, "note": {"S": ""}}}}
    ignored = {"eventID": "e-1", "eventName": "MODIFY", "dynamodb": {"SequenceNumber": "100", "NewImage": {
        "PK": {"S": "TASK#t"}, "SK": {"S": "META"}, "kind": {"S": "task"}}}}
    answer = handle_stream_batch([ignored, log_record, ignored])
    assert answer == {"batchItemFailures": [{"itemIdentifier": "200"}]}


def test_the_final_approval_tells_the_citizen_the_result_is_ready(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    code = submit(api, sample_token, "2.000488")
    desk = agencies.task_for(DESK, code)
    assert agencies.decide(DESK, desk["task_id"], "receive").status_code == 200
    justice = agencies.task_for(JUSTICE, code)
    assert agencies.decide(JUSTICE, justice["task_id"], "approve").status_code == 200
    pump(lambda: any("Done" in subject for subject in sent_subjects()))
    # Received and done: processing in between, and the submission, are not e-mailed.
    assert [subject.rsplit(": ", 1)[-1] for subject in sent_subjects()] == ["Received", "Done"]


def trails(codes: list[str]) -> list[list[str]]:
    return [[line.action for line in get_store().audit_trail(code)] for code in codes]


def test_an_inbox_page_and_a_decision_are_put_on_each_dossiers_audit_trail_once(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    codes = [submit(api, sample_token, "2.000488") for _ in range(2)]
    for code in codes:
        agencies.task_for(DESK, code)  # the route opened its task (the inbox is read till then)
    drain_stream()
    before = trails(codes)
    reads_before = get_store().staff_reads(DESK, frozen_clock)
    page = agencies.inbox(DESK)
    assert {t["dossier_code"] for t in page} == set(codes)
    assert trails(codes) == before  # the trails get their lines from the stream
    # (all at the frozen instant: a day's reads are in time order, then in random order of their ids)
    (read,) = [r for r in get_store().staff_reads(DESK, frozen_clock) if r not in reads_before]
    assert (read.action, read.at, set(read.dossier_codes)) == ("inbox", frozen_clock, set(codes))
    records = stream_records()
    assert drain_stream().count("audited") == 1
    assert trails(codes) == [[*actions, "inbox"] for actions in before]
    for code in codes:
        line = get_store().audit_trail(code)[-1]
        assert (line.agency_code, line.key_id, line.at, line.read_id) == (DESK, read.key_id, frozen_clock,
                                                                          read.read_id)
    # Lambda hands the batch again: no line twice.
    assert handle_stream_batch(copy.deepcopy(records)) == {"batchItemFailures": []}
    assert trails(codes) == [[*actions, "inbox"] for actions in before]

    task = next(t for t in page if t["dossier_code"] == codes[0])
    assert agencies.decide(DESK, task["task_id"], "receive").status_code == 200
    drain_stream()
    assert trails(codes) == [[*before[0], "inbox", "decision"], [*before[1], "inbox"]]
    assert audit.verify_chain(codes[0], get_store().audit_trail(codes[0])).intact
    # A decision refused shows nothing, and records no read.
    assert agencies.decide(DESK, task["task_id"], "receive").status_code == 409
    new_reads = [r.action for r in get_store().staff_reads(DESK, frozen_clock) if r not in reads_before]
    assert sorted(new_reads) == ["decision", "inbox"]


def test_a_read_whose_lines_failed_halfway_gets_the_rest_when_retried(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.store.repository import Store

    codes = [submit(api, sample_token, "2.000488") for _ in range(3)]
    for code in codes:
        agencies.task_for(DESK, code)
    drain_stream()
    before = trails(codes)
    agencies.inbox(DESK)
    records = stream_records()
    real = Store.audit_read
    failed: list[str] = []

    def flaky(self: Store, code: str, **options: Any) -> Any:
        if code == codes[1] and not failed:
            failed.append(code)
            raise ConnectionError("the table is not answering")
        return real(self, code, **options)

    monkeypatch.setattr(Store, "audit_read", flaky)
    first = handle_stream_batch(copy.deepcopy(records))
    assert first["batchItemFailures"] and failed == [codes[1]]
    assert handle_stream_batch(copy.deepcopy(records)) == {"batchItemFailures": []}
    assert trails(codes) == [[*actions, "inbox"] for actions in before]
