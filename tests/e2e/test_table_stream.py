"""The local stack's stream pump (tools/stream_pump.py) does what the table stream's Lambda does in
AWS: the uploads a submission attached are tagged to stay, and the citizen is e-mailed what an
agency did, a moment after the requests, which themselves wait for neither."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.e2e.journey_support import Agency, new_citizen, submit
from tests.stack_support import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

APPLICANT = {"full_name": "Nguyễn Văn An", "id_number": "068090001234", "phone": "0912345678",
             "email": "an.nguyen@example.vn", "address": "12 Trần Phú, phường Xuân Hương - Đà Lạt"}


def options(stack: dict[str, Any]) -> dict[str, Any]:
    return {"region_name": stack["region"], "endpoint_url": stack["aws_endpoint"],
            "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def test_attached_uploads_are_tagged_and_the_receipt_is_mailed_from_the_stream(
        local_stack: dict[str, Any]) -> None:
    s3, ses = boto3.client("s3", **options(local_stack)), boto3.client("ses", **options(local_stack))
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if "-uploads-" in b["Name"])

    def tags(key: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}

    def sent() -> int:
        return int(ses.get_send_quota()["SentLast24Hours"])

    journey, tickets = submit(local_stack, new_citizen(local_stack), "LD.012", APPLICANT)
    keys = [ticket.fields["key"] for ticket in tickets]
    assert keys
    wait_for(lambda: all(tags(key) == {"motcua-attached": "true"} for key in keys))

    step = journey.detail["route"][0]
    agency = Agency.of(local_stack, step["agency_code"])
    task = journey.open_task(agency)
    before = sent()
    journey.decide(agency, task, "receive")
    wait_for(lambda: sent() > before)
