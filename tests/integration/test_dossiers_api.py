"""Citizen intake through the API, on moto in-process."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from tests.conftest import create_citizen
from tests.factories import DESK, create_submission


def call(api: Any, method: str, path: str, token: str | None = None, body: Any = None,
         raw: bytes | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
    response = api.http.request(method, path, headers=headers, body=payload)
    return response


def body_of(response: Any) -> Any:
    return json.loads(response.body)


def create_uploaded_file(api: Any, token: str, content: bytes = b"%PDF-1.4 sample", filename: str = "Tờ khai.pdf",
                         content_type: str = "application/pdf") -> str:
    """Asks for an upload ticket and uploads the bytes with it, as a browser would."""
    ticket = call(api, "POST", "/uploads", token, {"filename": filename, "content_type": content_type,
                                                   "size": len(content)})
    assert ticket.status_code == 201, ticket.body
    data = body_of(ticket)
    posted = requests.post(data["url"], data=data["fields"], files={"file": (filename, content)}, timeout=10)
    assert posted.status_code in (200, 201, 204), posted.text
    return str(data["upload_id"])


@pytest.fixture
def sample_dossier(api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime) -> dict[str, Any]:
    upload_id = create_uploaded_file(api, sample_token)
    response = call(api, "POST", "/dossiers", sample_token,
                    create_submission(documents=[{"document_id": "to_khai", "upload_id": upload_id}]))
    assert response.status_code == 201, response.body
    return dict(body_of(response))


def test_submission_returns_code_status_and_due_date(sample_dossier: dict[str, Any]) -> None:
    assert sample_dossier["code"] == f"{DESK}-261126-0001"
    assert sample_dossier["status"] == "new"
    assert sample_dossier["status_code"] == 1
    assert sample_dossier["submitted_at"] == "2026-11-26T09:00:00+07:00"
    # 10 working days from Thu 26 Nov 09:00: weekends 28-29 Nov and 5-6 Dec skipped.
    assert sample_dossier["due_at"] == "2026-12-10T09:00:00+07:00"


def test_codes_count_per_agency_per_day(api: Any, sample_dossier: dict[str, Any], sample_token: str) -> None:
    second_upload = create_uploaded_file(api, sample_token)
    second = call(api, "POST", "/dossiers", sample_token,
                  create_submission(documents=[{"document_id": "to_khai", "upload_id": second_upload}]))
    third = call(api, "POST", "/dossiers", sample_token, create_submission(
        "1.001193", documents=[{"document_id": "to_khai", "upload_id": create_uploaded_file(api, sample_token)}]))
    assert body_of(second)["code"] == f"{DESK}-261126-0002"
    # Another receiving agency starts its own sequence.
    assert body_of(third)["code"] == "000.01.10.H38-261126-0001"


def test_owner_reads_dossier_with_progress_log(api: Any, sample_dossier: dict[str, Any], sample_token: str) -> None:
    response = call(api, "GET", f"/dossiers/{sample_dossier['code']}", sample_token)
    assert response.status_code == 200
    dossier = body_of(response)
    assert dossier["procedure_code"] == "2.000488"
    assert dossier["fee"] == {"amount_vnd": 200000, "status": "unpaid", "exemption": None}
    assert dossier["applicant"]["id_number"] == "068090001234"
    assert [(h["status_code"], h["from_status_code"], h["actor"]) for h in dossier["history"]] == [(1, None, "citizen")]
    assert dossier["received_at"] is None


def test_other_citizen_and_anonymous_cannot_read(api: Any, sample_dossier: dict[str, Any], other_token: str) -> None:
    code = sample_dossier["code"]
    other = call(api, "GET", f"/dossiers/{code}", other_token)
    assert other.status_code == 404
    assert body_of(other)["error"]["code"] == "dossier_not_found"
    assert call(api, "GET", f"/dossiers/{code}").status_code == 401
    assert call(api, "POST", f"/dossiers/{code}/withdraw", other_token, {}).status_code == 404


def test_list_own_dossiers_newest_first_paginated(api: Any, sample_dossier: dict[str, Any], sample_token: str,
                                                  other_token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    later = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    monkeypatch.setattr("chalicelib.services.dossiers.now", lambda: later)
    upload = create_uploaded_file(api, sample_token)
    newer = body_of(call(api, "POST", "/dossiers", sample_token,
                         create_submission(documents=[{"document_id": "to_khai", "upload_id": upload}])))
    first_page = body_of(call(api, "GET", "/dossiers?limit=1", sample_token))
    assert [d["code"] for d in first_page["items"]] == [newer["code"]]
    assert first_page["next_cursor"]
    second_page = body_of(call(api, "GET", f"/dossiers?limit=1&cursor={first_page['next_cursor']}", sample_token))
    assert [d["code"] for d in second_page["items"]] == [sample_dossier["code"]]
    assert second_page["next_cursor"] is None
    assert body_of(call(api, "GET", "/dossiers", other_token))["items"] == []
    # Another citizen cannot reuse a cursor to page through someone else's list.
    stolen = call(api, "GET", f"/dossiers?cursor={first_page['next_cursor']}", other_token)
    assert stolen.status_code == 422
    assert body_of(stolen)["error"]["code"] == "invalid_cursor"


def test_a_cursor_that_is_not_a_whole_key_is_refused_not_sent_to_the_table(
        api: Any, sample_dossier: dict[str, Any], sample_token: str) -> None:
    """DynamoDB refuses a start key without the table's and the index's keys, or with an empty one;
    a cursor built by hand in the caller's own partition gets the 422, not that refusal as a 500."""
    import jwt

    sub = jwt.decode(sample_token, options={"verify_signature": False})["sub"]
    for path, token, partition in (("/dossiers", sample_token, f"OWNER#{sub}"),
                                   ("/procedures", None, "CATALOGUE#PROCEDURE")):
        own = {"S": partition}
        for key in ({"GSI1PK": own}, {"GSI1PK": own, "GSI1SK": {"S": "x"}}, {"GSI1PK": own, "PK": {"S": "x"}},
                    {"GSI1PK": own, "GSI1SK": {"S": "x"}, "PK": {"S": "a"}, "SK": {"S": "b"}, "more": {"S": "c"}},
                    {"GSI1PK": own, "GSI1SK": {"S": ""}, "PK": {"S": ""}, "SK": {"S": ""}}):
            cursor = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
            refused = call(api, "GET", f"{path}?cursor={cursor}", token)
            assert refused.status_code == 422, (path, key, refused.body)
            assert body_of(refused)["error"]["code"] == "invalid_cursor"


def test_public_tracking_shows_no_personal_data(api: Any, sample_dossier: dict[str, Any]) -> None:
    response = call(api, "GET", f"/track/{sample_dossier['code']}")
    assert response.status_code == 200
    tracked = body_of(response)
    assert tracked["status_code"] == 1
    assert tracked["procedure_name"] == "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam"
    text = response.body.decode() if isinstance(response.body, bytes) else str(response.body)
    for secret in ("068090001234", "0912345678", "Nguyễn Văn An", "an.nguyen@example.vn"):
        assert secret not in text
    assert call(api, "GET", "/track/000.00.21.H38-261126-9999").status_code == 404
    assert call(api, "GET", "/track/not-a-code").status_code == 404


def test_withdraw_moves_to_status_7_once(api: Any, sample_dossier: dict[str, Any], sample_token: str) -> None:
    code = sample_dossier["code"]
    response = call(api, "POST", f"/dossiers/{code}/withdraw", sample_token, {"reason": "Nộp nhầm thủ tục"})
    assert response.status_code == 200, response.body
    withdrawn = body_of(response)
    assert withdrawn["status_code"] == 7
    assert [h["status_code"] for h in withdrawn["history"]] == [1, 7]
    assert "Nộp nhầm thủ tục" in withdrawn["history"][1]["note"]
    again = call(api, "POST", f"/dossiers/{code}/withdraw", sample_token, {})
    assert again.status_code == 409
    assert body_of(again)["error"]["code"] == "invalid_status"
    assert body_of(call(api, "GET", f"/track/{code}"))["status_code"] == 7


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"status": 9}, "server_owned_field", "status"),
        ({"code": "X-1"}, "server_owned_field", "code"),
        ({"owner": "someone"}, "server_owned_field", "owner"),
        ({"fee": {"amount_vnd": 0}}, "server_owned_field", "fee"),
        ({"extra": 1}, "validation_failed", "extra"),
        ({"form": {"purpose": "Xin việc", "birth_date": "17/05/1990"}}, "validation_failed", "form.birth_date"),
        ({"form": {"purpose": "Xin việc", "birth_date": "1990-05-17", "x": 1}}, "validation_failed", "form.x"),
        ({"form": {"birth_date": "1990-05-17"}}, "validation_failed", "form.purpose"),
        ({"applicant": {"full_name": "An"}}, "validation_failed", "applicant.address"),
        ({"procedure_code": "9.999999"}, "unknown_procedure", "procedure_code"),
        ({"procedure_code": "1.000001"}, "online_submission_not_available", "procedure_code"),
        ({"procedure_code": "1.000002"}, "online_submission_not_available", "procedure_code"),
        ({"documents": []}, "validation_failed", "documents.to_khai"),
        ({"documents": [{"document_id": "to_khai", "upload_id": "nope"}]}, "validation_failed",
         "documents[0].upload_id"),
        ({"documents": "x"}, "validation_failed", "documents"),
    ],
)
def test_bad_submissions_are_refused_and_store_nothing(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime,
    change: dict[str, Any], code: str, field: str,
) -> None:
    upload_id = create_uploaded_file(api, sample_token)
    body = create_submission(documents=[{"document_id": "to_khai", "upload_id": upload_id}])
    for key, value in change.items():
        if key == "applicant":
            body["applicant"] = value
        else:
            body[key] = value
    response = call(api, "POST", "/dossiers", sample_token, body)
    assert response.status_code == 422, response.body
    error = body_of(response)["error"]
    assert error["code"] == code
    assert field in [d["field"] for d in error["details"]], error
    assert body_of(call(api, "GET", "/dossiers", sample_token))["items"] == []


def test_an_upload_belongs_to_its_owner_and_one_dossier(
    api: Any, sample_catalogue: None, sample_token: str, other_token: str, frozen_clock: datetime
) -> None:
    upload_id = create_uploaded_file(api, sample_token)
    documents = [{"document_id": "to_khai", "upload_id": upload_id}]
    stolen = call(api, "POST", "/dossiers", other_token, create_submission(documents=documents))
    assert stolen.status_code == 422
    assert call(api, "POST", "/dossiers", sample_token, create_submission(documents=documents)).status_code == 201
    reused = call(api, "POST", "/dossiers", sample_token, create_submission(documents=documents))
    assert reused.status_code == 422
    assert "already attached" in body_of(reused)["error"]["message"]


def test_declared_but_never_uploaded_file_is_refused(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime
) -> None:
    ticket = body_of(call(api, "POST", "/uploads", sample_token,
                          {"filename": "a.pdf", "content_type": "application/pdf", "size": 10}))
    response = call(api, "POST", "/dossiers", sample_token,
                    create_submission(documents=[{"document_id": "to_khai", "upload_id": ticket["upload_id"]}]))
    assert response.status_code == 422
    assert "not uploaded" in body_of(response)["error"]["message"]


@pytest.fixture
def tokens_for_auth_checks(aws: dict[str, str]) -> Iterator[str]:
    yield create_citizen(aws, "auth.check@example.vn")


def test_forged_and_expired_tokens_get_401(api: Any, sample_catalogue: None, tokens_for_auth_checks: str) -> None:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    good = tokens_for_auth_checks
    assert call(api, "GET", "/dossiers", good).status_code == 200
    claims = jwt.decode(good, options={"verify_signature": False})
    header = jwt.get_unverified_header(good)
    forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, forged_key, algorithm="RS256", headers={"kid": header["kid"]})
    expired_claims = {**claims, "exp": 1_600_000_000, "iat": 1_599_999_000}
    unsigned = jwt.encode(claims, "", algorithm="none")
    wrong_audience = jwt.encode({**claims, "aud": "another-client"}, forged_key, algorithm="RS256",
                                headers={"kid": header["kid"]})
    for token, expected in ((forged, "invalid_token"), (unsigned, "invalid_token"),
                            (wrong_audience, "invalid_token"), ("garbage", "invalid_token")):
        response = call(api, "GET", "/dossiers", token)
        assert response.status_code == 401, token
        assert body_of(response)["error"]["code"] == expected
    # An expired token signed by another key is still refused (signature first, never trusted).
    expired = jwt.encode(expired_claims, forged_key, algorithm="RS256", headers={"kid": header["kid"]})
    assert call(api, "GET", "/dossiers", expired).status_code == 401
    assert call(api, "GET", "/dossiers").status_code == 401
