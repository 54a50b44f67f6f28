"""Uploads never attached expire; attached ones never do.

The uploads bucket's lifecycle rule expires objects tagged ``motcua-attached=false``. An upload
is stored with that tag (the presigned POST's ``tagging`` field, pinned by its policy) and
re-tagged ``true`` once the transaction that attaches it to a dossier has committed, off the
request path: from the table's stream (services/table_events.py), which the tests drain
(``drain_stream``) as Lambda's event source would. A tag S3 refuses is retried from the stream.

moto checks no POST policy, so the policy is read as S3 would read it; and moto 5.2.5 drops a
POST's ``tagging`` field, so tests/conftest.py applies ``tools.moto_patches.apply_post_tagging``,
which stores it as S3 does."""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from chalicelib.config import get_settings
from chalicelib.domain.uploads import ATTACHED_TAG_KEY, UNATTACHED_TAGS
from chalicelib.integrations.s3 import StorageError, tagging_xml
from chalicelib.services.deps import get_store, get_task_store
from tests.factories import DESK, JUSTICE, create_submission
from tests.integration.route_support import (
    Agencies,
    approve,
    at_last_step,
    dossier_status,
    execution_status,
    object_tags,
    pump,
    submit,
    tagging_fails,
    uploaded,
)
from tests.integration.stream_support import drain_stream

UNATTACHED_XML = ("<Tagging><TagSet><Tag><Key>motcua-attached</Key><Value>false</Value></Tag></TagSet>"
                  "</Tagging>")


def post_json(api: Any, path: str, token: str, body: dict[str, Any]) -> Any:
    return api.http.post(path, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                         body=json.dumps(body))


def ticket(api: Any, token: str, size: int = 4) -> dict[str, Any]:
    response = post_json(api, "/uploads", token, {"filename": "a.pdf", "content_type": "application/pdf",
                                                  "size": size})
    assert response.status_code == 201, response.body
    return dict(json.loads(response.body))


def upload(api: Any, token: str) -> tuple[str, str]:
    """An upload sent to S3 as the front sends it (every field as given); its id and key."""
    issued = ticket(api, token)
    sent = requests.post(issued["url"], data=issued["fields"], files={"file": ("a.pdf", b"%PDF")}, timeout=10)
    assert sent.status_code in (200, 201, 204), sent.text
    return str(issued["upload_id"]), str(issued["fields"]["key"])


def s3_key(upload_id: str) -> str:
    stored = get_store().get_upload(upload_id)
    assert stored is not None
    return stored.s3_key


def test_the_tag_is_the_lifecycle_rules(aws: dict[str, str]) -> None:
    """The rule the stack puts on the uploads bucket expires exactly what the app tags unattached."""
    s3 = boto3.client("s3", region_name=os.environ["AWS_REGION"])
    rules = s3.get_bucket_lifecycle_configuration(Bucket=get_settings().uploads_bucket)["Rules"]
    expiring = [rule for rule in rules if "Expiration" in rule]
    assert len(expiring) == 1
    rule_filter = expiring[0]["Filter"]
    tag = rule_filter.get("Tag") or rule_filter["And"]["Tags"][0]
    assert {tag["Key"]: tag["Value"]} == UNATTACHED_TAGS
    assert tagging_xml(UNATTACHED_TAGS) == UNATTACHED_XML
    assert tagging_xml({"a&b": "<c>"}) == "<Tagging><TagSet><Tag><Key>a&amp;b</Key><Value>&lt;c&gt;</Value></Tag>" \
                                          "</TagSet></Tagging>"


def test_the_policy_pins_the_unattached_tag(api: Any, sample_token: str) -> None:
    fields = ticket(api, sample_token)["fields"]
    assert fields["tagging"] == UNATTACHED_XML
    conditions = json.loads(base64.b64decode(fields["policy"]))["conditions"]
    # An exact match: S3 refuses a POST whose tagging field is missing or differs.
    assert {"tagging": UNATTACHED_XML} in conditions
    assert not any(isinstance(c, list) and c[1] == "$tagging" for c in conditions)
    # Every field but the policy and signature is covered by a condition, as S3 requires.
    named = {name.lower() for c in conditions if isinstance(c, dict) for name in c}
    assert {name.lower() for name in fields} - {"policy", "x-amz-signature"} <= named


def test_an_agency_result_ticket_pins_it_too(api: Any, sample_catalogue: None, sample_token: str,
                                             frozen_clock: datetime, agencies: Agencies) -> None:
    code, _ = at_last_step(api, sample_token, agencies)
    response = post_json(api, "/uploads", agencies.key(JUSTICE), {
        "filename": "kq.pdf", "content_type": "application/pdf", "size": 4, "dossier_code": code})
    fields = json.loads(response.body)["fields"]
    assert fields["tagging"] == UNATTACHED_XML
    assert {"tagging": UNATTACHED_XML} in json.loads(base64.b64decode(fields["policy"]))["conditions"]


def test_submission_tags_its_uploads_attached_and_others_stay_unattached(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime) -> None:
    attached, attached_key = upload(api, sample_token)
    spare, spare_key = upload(api, sample_token)
    assert object_tags(attached_key) == {ATTACHED_TAG_KEY: "false"}  # as S3 stores the POST
    response = post_json(api, "/dossiers", sample_token, create_submission(
        documents=[{"document_id": "to_khai", "upload_id": attached}]))
    assert response.status_code == 201, response.body
    # Not in the request: the stream tags it a moment later.
    assert object_tags(attached_key) == {ATTACHED_TAG_KEY: "false"}
    assert drain_stream().count("tagged") == 1
    assert object_tags(attached_key) == {ATTACHED_TAG_KEY: "true"}
    # Never attached: still expires.
    assert object_tags(spare_key) == {ATTACHED_TAG_KEY: "false"}
    free = get_store().get_upload(spare)
    assert free is not None and not free.attached


def test_a_refused_submission_tags_nothing(api: Any, sample_catalogue: None, sample_token: str,
                                           frozen_clock: datetime) -> None:
    upload_id, key = upload(api, sample_token)
    refused = post_json(api, "/dossiers", sample_token, create_submission(
        applicant={}, documents=[{"document_id": "to_khai", "upload_id": upload_id}]))
    assert refused.status_code == 422
    assert "tagged" not in drain_stream()
    assert object_tags(key) == {ATTACHED_TAG_KEY: "false"}


def test_a_submission_does_not_wait_for_s3_and_the_stream_retries_the_tag(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime) -> None:
    upload_id, key = upload(api, sample_token)
    body = create_submission(documents=[{"document_id": "to_khai", "upload_id": upload_id}])
    with tagging_fails() as asked:
        response = post_json(api, "/dossiers", sample_token, body)
        assert response.status_code == 201, response.body
        assert asked == []  # S3 is not on the request path
        with pytest.raises(StorageError):
            drain_stream()  # the stream's Lambda fails the record: it is retried
    assert asked == [key]
    stored = get_store().get_upload(upload_id)
    assert stored is not None and stored.attached
    assert object_tags(key) == {ATTACHED_TAG_KEY: "false"}
    # S3 answers again: the retry tags it, and the citizen's dossier holds a file that stays.
    assert "tagged" in drain_stream()
    assert object_tags(key) == {ATTACHED_TAG_KEY: "true"}
    assert drain_stream() == []  # nothing left over


def supplement(api: Any, token: str, code: str, body: dict[str, Any]) -> Any:
    return post_json(api, f"/dossiers/{code}/supplement", token, body)


def test_supplement_tags_its_new_uploads_from_the_stream(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    code = submit(api, sample_token, "2.000488")
    drain_stream()
    first = get_store().get_dossier(code)
    assert first is not None
    assert object_tags(s3_key(first.documents[0].upload_id)) == {ATTACHED_TAG_KEY: "true"}
    desk = agencies.task_for(DESK, code)
    assert agencies.decide(DESK, desk["task_id"], "request_supplement", "Thiếu ủy quyền").status_code == 200
    pump(lambda: get_task_store().get_wait(code, "supplement") is not None)
    upload_id, key = upload(api, sample_token)
    body = {"note": "Đã bổ sung", "documents": [{"document_id": "uy_quyen", "upload_id": upload_id}]}

    with tagging_fails() as asked:
        answered = supplement(api, sample_token, code, body)
    assert answered.status_code == 200, answered.body
    assert asked == []
    assert json.loads(answered.body)["status_code"] == 1
    assert object_tags(key) == {ATTACHED_TAG_KEY: "false"}
    assert drain_stream().count("tagged") == 1
    assert object_tags(key) == {ATTACHED_TAG_KEY: "true"}


def test_the_final_approval_tags_the_result_from_the_stream_and_retries_when_s3_fails(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies) -> None:
    code, task = at_last_step(api, sample_token, agencies)
    result = uploaded(api, agencies.key(JUSTICE), code)
    key = s3_key(result)
    unused = uploaded(api, agencies.key(JUSTICE), code)
    drain_stream()
    assert object_tags(key) == {ATTACHED_TAG_KEY: "false"}

    with tagging_fails() as asked:
        approved = approve(api, agencies, JUSTICE, task["task_id"], result)
        assert approved.status_code == 200, approved.body  # S3 is not on the decision's path
        assert asked == []
        with pytest.raises(StorageError):
            drain_stream()
    assert asked == [key]
    dossier = get_store().get_dossier(code)
    assert dossier is not None and dossier.result is not None
    assert object_tags(key) == {ATTACHED_TAG_KEY: "false"}

    # S3 answers again: the stream's retry tags the result; the route finishes meanwhile.
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert dossier_status(code) == 9
    assert object_tags(key) == {ATTACHED_TAG_KEY: "true"}
    assert object_tags(s3_key(unused)) == {ATTACHED_TAG_KEY: "false"}
    # A retry after success is refused (task_closed), and tags nothing.
    with tagging_fails() as asked:
        assert approve(api, agencies, JUSTICE, task["task_id"], result).status_code == 409
        drain_stream()
    assert asked == []


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_decision_without_a_result_tags_nothing(api: Any, sample_catalogue: None, sample_token: str,
                                                  frozen_clock: datetime, agencies: Agencies, decision: str) -> None:
    code, task = at_last_step(api, sample_token, agencies)
    with tagging_fails() as asked:
        response = agencies.decide(JUSTICE, task["task_id"], decision, "Không kèm kết quả")
        drain_stream()
    assert response.status_code == 200, response.body
    assert asked == []
    pump(lambda: execution_status(code) == "SUCCEEDED")


def test_an_upload_too_old_to_attach_is_refused_and_left_to_expire(
        api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A week after its upload the lifecycle rule may already have queued the object for
    deletion: re-tagging it might not save it, so it is not attached."""
    upload_id, key = upload(api, sample_token)
    body = create_submission(documents=[{"document_id": "to_khai", "upload_id": upload_id}])
    week_later = frozen_clock + timedelta(days=7)
    monkeypatch.setattr("chalicelib.services.dossiers.now", lambda: week_later)
    with tagging_fails() as asked:
        refused = post_json(api, "/dossiers", sample_token, body)
        drain_stream()
    assert refused.status_code == 422
    assert [d["field"] for d in json.loads(refused.body)["error"]["details"]] == ["documents[0].upload_id"]
    assert asked == []
    assert object_tags(key) == {ATTACHED_TAG_KEY: "false"}
    monkeypatch.setattr("chalicelib.services.dossiers.now", lambda: week_later - timedelta(seconds=1))
    assert post_json(api, "/dossiers", sample_token, body).status_code == 201
    drain_stream()
    assert object_tags(key) == {ATTACHED_TAG_KEY: "true"}


def test_a_result_too_old_to_attach_is_refused(api: Any, sample_catalogue: None, sample_token: str,
                                               frozen_clock: datetime, agencies: Agencies,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    code, task = at_last_step(api, sample_token, agencies)
    result = uploaded(api, agencies.key(JUSTICE), code)
    monkeypatch.setattr("chalicelib.services.routing.now", lambda: frozen_clock + timedelta(days=7))
    refused = approve(api, agencies, JUSTICE, task["task_id"], result)
    assert refused.status_code == 422
    assert json.loads(refused.body)["error"]["code"] == "invalid_result"
    assert object_tags(s3_key(result)) == {ATTACHED_TAG_KEY: "false"}
    monkeypatch.setattr("chalicelib.services.routing.now", lambda: frozen_clock)
    assert approve(api, agencies, JUSTICE, task["task_id"], result).status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
