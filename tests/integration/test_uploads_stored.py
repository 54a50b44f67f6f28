"""A submission checks its uploads in its own transaction: S3's ObjectCreated event records each
file's size on its upload (the uploads bucket notifies a queue, the upload-events worker records),
and without that record the submission asks S3 itself, so correctness never waits on the event."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib.integrations.s3 import DocumentStorage
from chalicelib.services import uploads
from chalicelib.services.deps import get_store
from chalicelib.store import models as m
from chalicelib.store.repository import Store
from tests.factories import DESK, create_submission
from tests.integration.test_dossiers_api import body_of, call, create_uploaded_file

REGION = "ap-southeast-1"


def handle_upload_events(outputs: dict[str, str]) -> int:
    """What the upload-events worker does with what is on its queue now; the uploads it recorded."""
    sqs = boto3.client("sqs", region_name=REGION)
    recorded = 0
    while messages := sqs.receive_message(QueueUrl=outputs["UploadEventsQueueUrl"], MaxNumberOfMessages=10,
                                          WaitTimeSeconds=0).get("Messages", []):
        for message in messages:
            recorded += uploads.handle_storage_event(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=outputs["UploadEventsQueueUrl"], ReceiptHandle=message["ReceiptHandle"])
    return recorded


def submit_with(api: Any, token: str, upload_id: str) -> Any:
    return call(api, "POST", "/dossiers", token,
                create_submission(documents=[{"document_id": "to_khai", "upload_id": upload_id}]))


def no_reads_of_uploads_or_counters(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_: Any, **__: Any) -> Any:
        raise AssertionError("read on the happy path")

    monkeypatch.setattr(Store, "get_upload", refused)
    monkeypatch.setattr(DocumentStorage, "head", refused)
    monkeypatch.setattr(m.CounterItem, "get", refused)


def test_s3s_event_records_the_size_and_the_submission_reads_nothing_first(
    api: Any, aws: dict[str, str], sample_catalogue: None, sample_token: str, frozen_clock: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = create_uploaded_file(api, sample_token), create_uploaded_file(api, sample_token)
    assert handle_upload_events(aws) == 2
    stored = get_store().get_upload(first)
    assert stored is not None and stored.stored_size == stored.size == len(b"%PDF-1.4 sample")
    assert submit_with(api, sample_token, first).status_code == 201  # this process learns the day's counter
    no_reads_of_uploads_or_counters(monkeypatch)
    response = submit_with(api, sample_token, second)
    assert response.status_code == 201, response.body
    assert body_of(response)["code"] == f"{DESK}-261126-0002"
    attached = m.UploadItem.get(m.upload_pk(second), m.META)
    assert attached.attached and attached.dossier_code == f"{DESK}-261126-0002" and attached.expires_at is None


def test_without_the_event_the_submission_asks_s3_and_records_the_size(
    api: Any, aws: dict[str, str], sample_catalogue: None, sample_token: str, frozen_clock: datetime,
) -> None:
    upload_id = create_uploaded_file(api, sample_token)  # its event stays on the queue
    response = submit_with(api, sample_token, upload_id)
    assert response.status_code == 201, response.body
    stored = get_store().get_upload(upload_id)
    assert stored is not None and stored.attached and stored.stored_size == stored.size
    assert handle_upload_events(aws) == 0  # late: the upload is attached, nothing to record


def test_a_recorded_size_that_differs_is_refused(
    api: Any, aws: dict[str, str], sample_catalogue: None, sample_token: str, frozen_clock: datetime,
) -> None:
    upload_id = create_uploaded_file(api, sample_token)
    upload = get_store().get_upload(upload_id)
    assert upload is not None
    assert get_store().record_stored_size(upload_id, upload.s3_key, upload.size + 1)
    response = submit_with(api, sample_token, upload_id)
    assert response.status_code == 422
    assert "size differs" in body_of(response)["error"]["details"][0]["message"]
    assert body_of(call(api, "GET", "/dossiers", sample_token))["items"] == []


def test_an_expired_upload_is_refused_even_with_its_size_recorded(
    api: Any, aws: dict[str, str], sample_catalogue: None, sample_token: str, frozen_clock: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upload_id = create_uploaded_file(api, sample_token)
    handle_upload_events(aws)
    later = frozen_clock + timedelta(days=uploads.UNATTACHED_UPLOAD_DAYS)
    monkeypatch.setattr("chalicelib.services.dossiers.now", lambda: later)
    response = submit_with(api, sample_token, upload_id)
    assert response.status_code == 422
    assert "expired" in body_of(response)["error"]["details"][0]["message"]


def test_refused_uploads_cost_no_rate_limit_use(
    api: Any, aws: dict[str, str], sample_catalogue: None, sample_token: str, frozen_clock: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOTCUA_RATE_SUBMISSIONS_PER_HOUR", "1")
    ticket = body_of(call(api, "POST", "/uploads", sample_token,
                          {"filename": "a.pdf", "content_type": "application/pdf", "size": 10}))
    never_sent = submit_with(api, sample_token, ticket["upload_id"])
    assert never_sent.status_code == 422 and "not uploaded" in never_sent.body.decode()
    good = create_uploaded_file(api, sample_token)
    assert submit_with(api, sample_token, good).status_code == 201  # the one use of the hour
    limited = submit_with(api, sample_token, create_uploaded_file(api, sample_token))
    assert limited.status_code == 429 and body_of(limited)["error"]["code"] == "rate_limited"
    assert len(body_of(call(api, "GET", "/dossiers", sample_token))["items"]) == 1


def test_events_for_objects_no_upload_has_are_ignored(
    api: Any, aws: dict[str, str], sample_catalogue: None, sample_token: str, frozen_clock: datetime,
) -> None:
    upload_id = create_uploaded_file(api, sample_token)
    handle_upload_events(aws)
    upload = get_store().get_upload(upload_id)
    assert upload is not None
    bucket = aws["UploadsBucketName"]

    def event(bucket_name: str, key: str, size: int = 5) -> dict[str, Any]:
        return {"Records": [{"eventName": "ObjectCreated:Put",
                             "s3": {"bucket": {"name": bucket_name}, "object": {"key": key, "size": size}}}]}

    for ignored in (
        event(bucket, f"uploads/someone/{'0' * 32}/a.pdf"),  # no such upload
        event(bucket, upload.s3_key.replace("/To-khai.pdf", "/other.pdf")),  # not the upload's key
        event("another-bucket", upload.s3_key),
        event(bucket, f"results/X-261126-0001/{upload_id}/a.pdf"),  # not a citizen's upload
        event(bucket, "uploads/too/short"),
        {"Service": "Amazon S3", "Event": "s3:TestEvent"},
        {"Records": "nonsense"},
    ):
        assert uploads.handle_storage_event(ignored) == 0
    still = get_store().get_upload(upload_id)
    assert still is not None and still.stored_size == upload.size


def test_an_attached_upload_written_again_with_its_ticket_is_tagged_attached_again(
    api: Any, aws: dict[str, str], sample_catalogue: None, sample_token: str, frozen_clock: datetime,
) -> None:
    """The ticket (a presigned POST) stays valid after the submission; a second POST with it tags the
    object "attached=false" again, which the bucket's lifecycle rule would expire: the upload-events
    worker puts the tag back."""
    import requests

    from tests.integration.route_support import object_tags
    from tests.integration.stream_support import drain_stream

    content = b"%PDF-1.4 the declaration"
    ticket = body_of(call(api, "POST", "/uploads", sample_token,
                          {"filename": "to-khai.pdf", "content_type": "application/pdf", "size": len(content)}))

    def post(body: bytes) -> None:
        sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("to-khai.pdf", body)}, timeout=10)
        assert sent.status_code in (200, 201, 204)

    post(content)
    assert handle_upload_events(aws) == 1
    assert submit_with(api, sample_token, ticket["upload_id"]).status_code == 201
    drain_stream()
    upload = get_store().get_upload(ticket["upload_id"])
    assert upload is not None and upload.attached
    assert object_tags(upload.s3_key) == {"motcua-attached": "true"}
    post(b"%PDF-1.4 another one here")
    assert object_tags(upload.s3_key) == {"motcua-attached": "false"}  # what the ticket's policy sets
    assert handle_upload_events(aws) == 0  # not recorded: the dossier holds the upload
    assert object_tags(upload.s3_key) == {"motcua-attached": "true"}
    assert get_store().get_upload(ticket["upload_id"]) == upload
