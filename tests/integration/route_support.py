"""Driving the route on moto in tests: dossiers submitted through the API, agencies
answering through theirs, the task queue pumped as the SQS event source would."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
import requests

from chalicelib.integrations.aws import client
from chalicelib.services.agency_auth import issue_key
from chalicelib.services.deps import get_store
from chalicelib.services.routing import handle_task_message
from tests.factories import DESK, JUSTICE, create_submission
from tests.integration.stream_support import drain_stream


def pump(until: Callable[[], bool], *, seconds: float = 20) -> None:
    """Hands the route's messages, and the table stream's records, to the app until ``until()``
    holds (the stream drained once more then: what the last message wrote is handled too)."""
    sqs = boto3.client("sqs", region_name=os.environ["AWS_REGION"])
    queue = os.environ["MOTCUA_TASK_QUEUE_URL"]
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, "the route did not get there in time"
        drain_stream()
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", []):
            handle_task_message(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        time.sleep(0.05)
    drain_stream()


def execution_status(code: str) -> str:
    sfn = boto3.client("stepfunctions", region_name=os.environ["AWS_REGION"])
    arn = os.environ["MOTCUA_ROUTE_STATE_MACHINE_ARN"].replace(":stateMachine:", ":execution:") + f":{code}"
    status: str = sfn.describe_execution(executionArn=arn)["status"]
    return status


class Agencies:
    def __init__(self, api: Any) -> None:
        self.api = api
        self.keys: dict[str, str] = {}

    def key(self, agency: str) -> str:
        if agency not in self.keys:
            self.keys[agency] = issue_key(agency, "test")
        return self.keys[agency]

    def inbox(self, agency: str, status: str = "open") -> list[dict[str, Any]]:
        response = self.api.http.get(f"/agency/tasks?status={status}",
                                     headers={"Authorization": f"Bearer {self.key(agency)}"})
        assert response.status_code == 200, response.body
        items: list[dict[str, Any]] = json.loads(response.body)["items"]
        return items

    def task_for(self, agency: str, code: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = []

        def arrived() -> bool:
            found[:] = [t for t in self.inbox(agency) if t["dossier_code"] == code]
            return bool(found)

        pump(arrived)
        return found[0]

    def decide(self, agency: str, task_id: str, decision: str, note: str = "", key: str | None = None) -> Any:
        body = {"decision": decision, **({"note": note} if note else {})}
        return self.api.http.post(f"/agency/tasks/{task_id}/decision",
                                  headers={"Authorization": f"Bearer {key or self.key(agency)}",
                                           "Content-Type": "application/json"}, body=json.dumps(body))


def submit(api: Any, token: str, procedure_code: str, **extra: Any) -> str:
    """Submits a dossier with one uploaded document; ``extra`` adds top-level fields (fee_exemption)."""
    response = submission_request(api, token, procedure_code, **extra)
    assert response.status_code == 201, response.body
    return str(json.loads(response.body)["code"])


def submission_request(api: Any, token: str, procedure_code: str, **extra: Any) -> Any:
    """A valid submission with one uploaded document, sent; the API's answer as it is."""
    ticket = json.loads(api.http.post("/uploads", headers={"Authorization": f"Bearer {token}",
                                                           "Content-Type": "application/json"},
                                      body=json.dumps({"filename": "a.pdf", "content_type": "application/pdf",
                                                       "size": 4})).body)
    requests.post(ticket["url"], data=ticket["fields"], files={"file": ("a.pdf", b"%PDF")}, timeout=10)
    response = api.http.post("/dossiers", headers={"Authorization": f"Bearer {token}",
                                                   "Content-Type": "application/json"},
                             body=json.dumps(create_submission(procedure_code, documents=[
                                 {"document_id": "to_khai", "upload_id": ticket["upload_id"]}], **extra)))
    return response


def history_actions(code: str) -> list[str]:
    """The actions of the dossier's progress log, in order."""
    dossier = get_store().get_dossier(code)
    assert dossier is not None
    return [entry.action for entry in dossier.history]


def dossier_status(code: str) -> int:
    dossier = get_store().get_dossier(code)
    assert dossier is not None
    return int(dossier.status)


RESULT = b"%PDF-1.4 Phieu ly lich tu phap so 123/2026"
PDF = "application/pdf"


def post_json(api: Any, path: str, key: str, body: dict[str, Any]) -> Any:
    return api.http.post(path, headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                         body=json.dumps(body))


def ticket_for(api: Any, key: str, code: str, *, filename: str = "Phiếu lý lịch tư pháp.pdf",
               size: int = len(RESULT), content_type: str = PDF) -> Any:
    return post_json(api, "/uploads", key, {"filename": filename, "content_type": content_type, "size": size,
                                            "dossier_code": code})


def uploaded(api: Any, key: str, code: str, content: bytes = RESULT, **kwargs: Any) -> str:
    """A result upload requested with ``key`` for ``code`` and sent to S3; its upload id."""
    response = ticket_for(api, key, code, **kwargs)
    assert response.status_code == 201, response.body
    ticket = json.loads(response.body)
    sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("r.pdf", content)}, timeout=10)
    assert sent.status_code in (200, 201, 204), sent.text
    return str(ticket["upload_id"])


def approve(api: Any, agencies: Agencies, agency: str, task_id: str, upload_id: str | None) -> Any:
    body: dict[str, Any] = {"decision": "approve"}
    if upload_id is not None:
        body["result_upload_id"] = upload_id
    return post_json(api, f"/agency/tasks/{task_id}/decision", agencies.key(agency), body)


def at_last_step(api: Any, token: str, agencies: Agencies) -> tuple[str, dict[str, Any]]:
    """A 2.000488 dossier received by the desk, waiting on its last step (Justice)."""
    code = submit(api, token, "2.000488")
    assert agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive").status_code == 200
    task = agencies.task_for(JUSTICE, code)
    assert task["step"]["last"] is True
    return code, task


def object_tags(key: str) -> dict[str, str]:
    """The tags S3 (moto) holds for an object of the uploads bucket."""
    from chalicelib.config import get_settings

    s3 = boto3.client("s3", region_name=os.environ["AWS_REGION"])
    tag_set = s3.get_object_tagging(Bucket=get_settings().uploads_bucket, Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tag_set}


@contextmanager
def tagging_fails() -> Iterator[list[str]]:
    """S3 does not answer the app's PutObjectTagging (after botocore's retries) while inside;
    yields the keys it was asked to tag."""
    from botocore.exceptions import EndpointConnectionError

    s3 = client("s3", os.environ["AWS_REGION"])
    asked: list[str] = []

    def refuse(**kwargs: Any) -> None:
        asked.append(str(kwargs["Key"]))
        raise EndpointConnectionError(endpoint_url="https://s3.ap-southeast-1.amazonaws.com")

    s3.put_object_tagging = refuse
    try:
        yield asked
    finally:
        del s3.put_object_tagging


@contextmanager
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The DynamoDB operations this thread makes meanwhile (every store goes through PynamoDB)."""
    from pynamodb.connection.base import Connection

    calls: list[str] = []
    original = Connection._make_api_call
    thread = threading.get_ident()

    def counted(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        if threading.get_ident() == thread:
            calls.append(operation_name)
        return original(self, operation_name, operation_kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Connection, "_make_api_call", counted)
        yield calls
