"""Upload tickets: a presigned POST whose policy binds what the citizen declared.

moto enforces neither the policy nor the expiry, so these tests read the policy
the API generates, as S3 would."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest


def request_ticket(api: Any, token: str, **body: Any) -> Any:
    return api.http.post("/uploads", headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"}, body=json.dumps(body))


def test_the_policy_binds_size_type_key_and_expiry(api: Any, sample_token: str) -> None:
    before = datetime.now(UTC)
    response = request_ticket(api, sample_token, filename="Giấy chứng sinh.pdf", content_type="application/pdf",
                              size=12345)
    assert response.status_code == 201
    ticket = json.loads(response.body)
    fields = ticket["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 12345, 12345] in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert {"key": fields["key"]} in conditions
    assert fields["key"].endswith(f"/{ticket['upload_id']}/Giay-chung-sinh.pdf")
    assert fields["key"].startswith("uploads/")
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert 0 < (expiration - before).total_seconds() <= 900 + 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filename": "a.exe", "content_type": "application/x-msdownload", "size": 10}, "content_type"),
        ({"filename": "a.pdf", "content_type": "application/pdf", "size": 10 * 1024 * 1024 + 1}, "size"),
        ({"filename": "a.pdf", "content_type": "application/pdf", "size": 0}, "size"),
        ({"filename": "", "content_type": "application/pdf", "size": 10}, "filename"),
        ({"filename": "a.pdf", "content_type": "application/pdf"}, "size"),
        ({"filename": "a.pdf", "content_type": "application/pdf", "size": 10, "bucket": "x"}, "bucket"),
    ],
)
def test_bad_upload_requests_are_422(api: Any, sample_token: str, body: dict[str, Any], field: str) -> None:
    response = request_ticket(api, sample_token, **body)
    assert response.status_code == 422
    assert field in [d["field"] for d in json.loads(response.body)["error"]["details"]]


def test_ten_megabytes_exactly_is_allowed(api: Any, sample_token: str) -> None:
    response = request_ticket(api, sample_token, filename="scan.png", content_type="image/png",
                              size=10 * 1024 * 1024)
    assert response.status_code == 201


def test_anonymous_upload_is_401(api: Any, aws: dict[str, str]) -> None:
    response = api.http.post("/uploads", headers={"Content-Type": "application/json"},
                             body=json.dumps({"filename": "a.pdf", "content_type": "application/pdf", "size": 1}))
    assert response.status_code == 401
