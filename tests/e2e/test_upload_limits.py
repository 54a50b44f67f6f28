"""Size limits over the real HTTP server: uploads (asked for, and as stored in S3), request bodies,
and page sizes of the list endpoints, each refused in the contract's error shape."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

from chalicelib.config import Settings
from tests.e2e.journey_support import api, ask_upload, new_citizen, sample_form, upload

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

# The local stage sets neither MOTCUA_MAX_UPLOAD_BYTES nor MOTCUA_MAX_BODY_BYTES: the defaults hold.
UPLOAD_LIMIT = Settings.max_upload_bytes  # 10 MiB
BODY_LIMIT = Settings.max_body_bytes  # 256 KiB
PROCEDURE = "LD.012"  # level 4, no fee


def assert_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code and error["message"], error
    return error


@pytest.fixture(scope="module")
def citizen(local_stack: dict[str, Any]) -> str:
    return new_citizen(local_stack)


def required_documents(stack: dict[str, Any]) -> list[str]:
    detail = api(stack, "GET", f"/procedures/{PROCEDURE}").json()
    return [doc["id"] for doc in detail["required_documents"] if doc["required"]]


def submission(stack: dict[str, Any], uploads: dict[str, str]) -> dict[str, Any]:
    detail = api(stack, "GET", f"/procedures/{PROCEDURE}").json()
    return {"procedure_code": PROCEDURE,
            "applicant": {"full_name": "Nguyễn Văn An", "id_number": "068090001234", "phone": "0912345678",
                          "address": "12 Trần Phú, phường Xuân Hương - Đà Lạt"},
            "form": sample_form(detail),
            "documents": [{"document_id": doc_id, "upload_id": upload_id} for doc_id, upload_id in uploads.items()]}


def policy_conditions(fields: dict[str, str]) -> list[Any]:
    conditions: list[Any] = json.loads(base64.b64decode(fields["policy"]))["conditions"]
    return conditions


def own_codes(stack: dict[str, Any], token: str) -> list[str]:
    listed = api(stack, "GET", "/dossiers", token, params={"limit": "100"})
    assert listed.status_code == 200, listed.text
    return [item["code"] for item in listed.json()["items"]]


def test_asking_to_upload_more_than_the_limit_is_422_file_too_large(local_stack: dict[str, Any],
                                                                    citizen: str) -> None:
    assert UPLOAD_LIMIT == 10 * 1024 * 1024
    for size in (UPLOAD_LIMIT + 1, 100 * UPLOAD_LIMIT, 10**15):
        error = assert_error(ask_upload(local_stack, citizen, size=size), 422, "file_too_large")
        assert error["details"] == [{"field": "size", "message": error["message"]}]
    # An agency's result document has the same limit.
    agency = local_stack["agencies"][0]["api_key"]
    assert_error(ask_upload(local_stack, agency, size=UPLOAD_LIMIT + 1, dossier_code="000.00.00.H38-261126-0001"),
                 422, "file_too_large")


def test_exactly_the_limit_is_accepted_uploaded_and_submitted(local_stack: dict[str, Any], citizen: str) -> None:
    asked = ask_upload(local_stack, citizen, size=UPLOAD_LIMIT)
    assert asked.status_code == 201, asked.text
    # The presigned POST binds the exact size: S3 refuses any other (moto does not check).
    assert ["content-length-range", UPLOAD_LIMIT, UPLOAD_LIMIT] in policy_conditions(asked.json()["fields"])

    first, *others = required_documents(local_stack)
    uploads = {first: upload(local_stack, citizen, b"%PDF" + b"\0" * (UPLOAD_LIMIT - 4), "big.pdf").upload_id}
    uploads |= {doc_id: upload(local_stack, citizen, b"%PDF", f"{doc_id}.pdf").upload_id for doc_id in others}
    submitted = api(local_stack, "POST", "/dossiers", citizen, json=submission(local_stack, uploads))
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["code"] in own_codes(local_stack, citizen)


@pytest.mark.parametrize("stored_size", [101, UPLOAD_LIMIT + 1], ids=["one-byte-more", "over-the-limit"])
def test_a_file_bigger_than_declared_is_refused_at_submission(local_stack: dict[str, Any], stored_size: int) -> None:
    token = new_citizen(local_stack)  # whose dossier list is empty but for what this test submits
    declared = 100
    asked = ask_upload(local_stack, token, size=declared, filename="small.pdf")
    assert asked.status_code == 201, asked.text
    ticket = asked.json()
    assert ["content-length-range", declared, declared] in policy_conditions(ticket["fields"])
    posted = requests.post(ticket["url"], data=ticket["fields"], timeout=60,
                           files={"file": ("small.pdf", b"%PDF" + b"x" * (stored_size - 4))})
    assert posted.status_code in (200, 201, 204), "moto let it through until now: " + posted.text

    first, *others = required_documents(local_stack)
    uploads = {first: str(ticket["upload_id"])}
    uploads |= {doc_id: upload(local_stack, token, b"%PDF", f"{doc_id}.pdf").upload_id for doc_id in others}
    refused = api(local_stack, "POST", "/dossiers", token, json=submission(local_stack, uploads))
    error = assert_error(refused, 422, "validation_failed")
    assert [detail["field"] for detail in error["details"]] == ["documents[0].upload_id"]
    assert "size" in error["details"][0]["message"]
    assert own_codes(local_stack, token) == []


@pytest.mark.parametrize("path", ["/dossiers", "/uploads"])
def test_a_body_over_the_size_limit_is_413_over_http(local_stack: dict[str, Any], citizen: str, path: str) -> None:
    at_limit = b'{"filename": "' + b"x" * (BODY_LIMIT - len(b'{"filename": ""}')) + b'"}'
    assert len(at_limit) == BODY_LIMIT == 256 * 1024
    headers = {"Content-Type": "application/json"}
    over = at_limit[:-2] + b'x"}'
    # Bytes, not characters: 140,000 "Đ" are 280,000 bytes of UTF-8.
    vietnamese = json.dumps({"filename": "Đ" * 140_000}, ensure_ascii=False).encode()
    for raw in (over, vietnamese, b" " * (BODY_LIMIT + 1), b"[" + b"1," * (2 * 1024 * 1024) + b"1]"):
        assert_error(api(local_stack, "POST", path, citizen, data=raw, headers=headers), 413, "payload_too_large")
    # Exactly at the limit the body is read, and refused for its content, not its size.
    assert_error(api(local_stack, "POST", path, citizen, data=at_limit, headers=headers), 422, "validation_failed")


def test_page_sizes_above_the_documented_maximum_are_422(local_stack: dict[str, Any], citizen: str) -> None:
    document = api(local_stack, "GET", "/openapi.json").json()
    parameters = document["components"]["parameters"]
    credentials = {"citizenToken": citizen, "agencyApiKey": local_stack["agencies"][0]["api_key"]}
    checked = []
    for path, operations in document["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        for parameter in operation.get("parameters", []):
            if "$ref" in parameter:
                parameter = parameters[parameter["$ref"].rsplit("/", 1)[1]]
            if parameter["name"] != "limit":
                continue
            maximum = parameter["schema"]["maximum"]
            security = operation.get("security") or [{}]
            token = next((credentials[name] for name in security[0]), None)
            at_maximum = api(local_stack, "GET", path, token, params={"limit": str(maximum)})
            assert at_maximum.status_code == 200, (path, at_maximum.text)
            assert len(at_maximum.json()["items"]) <= maximum
            for limit in (maximum + 1, 10 * maximum, 0):
                over = api(local_stack, "GET", path, token, params={"limit": str(limit)})
                error = assert_error(over, 422, "invalid_parameter")
                assert error["details"][0]["field"] == "limit", (path, limit, error)
            checked.append(path)
    # The documented paged lists, each with its maximum checked.
    assert {"/procedures", "/dossiers", "/agency/tasks"} <= set(checked), checked
