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
