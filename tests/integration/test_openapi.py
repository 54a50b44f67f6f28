"""The OpenAPI document: valid 3.1, complete, and true to what the API answers.

Real responses of a citizen's journey (and of its refusals) are validated against
the schema the document gives for that operation and status.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from chalicelib.domain.dossiers import APPLICANT_SCHEMA, SUBMISSION_SCHEMA, WITHDRAWAL_SCHEMA
from chalicelib.domain.uploads import UPLOAD_REQUEST_SCHEMA
from chalicelib.handlers.openapi_document import document
from tests.factories import create_submission, create_upload_request

SPEC_URI = "urn:motcua:openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ROUTES = {
    ("/config", "get"),
    ("/procedures", "get"),
    ("/procedures/{code}", "get"),
    ("/uploads", "post"),
    ("/dossiers", "post"),
    ("/dossiers", "get"),
    ("/dossiers/{code}", "get"),
    ("/dossiers/{code}/withdraw", "post"),
    ("/track/{code}", "get"),
    ("/openapi.json", "get"),
}
CITIZEN_OPERATIONS = {
    ("/uploads", "post"),
    ("/dossiers", "post"),
    ("/dossiers", "get"),
    ("/dossiers/{code}", "get"),
    ("/dossiers/{code}/withdraw", "post"),
}


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return document()


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def at(spec: dict[str, Any], pointer: str) -> Any:
    node: Any = spec
    for token in pointer.lstrip("/").split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def follow(spec: dict[str, Any], pointer: str) -> tuple[str, Any]:
    """The pointer and node after following OpenAPI-level ``$ref``s (responses, parameters)."""
    node = at(spec, pointer)
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        pointer = ref[1:]
        node = at(spec, pointer)
    return pointer, node


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def schema_validator(spec: dict[str, Any], pointer: str) -> Draft202012Validator:
    """Validates against the schema at ``pointer``, its ``$ref``s resolved within the document."""
    resource = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def template_of(spec: dict[str, Any], path: str) -> str:
    """The documented path template a concrete path is served by (literal segments first)."""
    path = path.split("?", 1)[0]
    templates: list[str] = list(spec["paths"])
    matches = [t for t in templates if re.fullmatch(re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(t)), path)]
    assert matches, f"no documented path serves {path}"
    return min(matches, key=lambda t: t.count("{"))


class Checker:
    """Calls the API and checks each answer against the document."""

    def __init__(self, api: Any, spec: dict[str, Any]) -> None:
        self.api = api
        self.spec = spec
        self.seen: set[tuple[str, str, int]] = set()

    def __call__(self, method: str, path: str, expect: int, token: str | None = None, body: Any = None,
                 raw: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = self.api.http.request(method, path, headers=all_headers, body=payload)
        assert response.status_code == expect, (method, path, response.status_code, response.body[:500])
        template = template_of(self.spec, path)
        operation = self.spec["paths"][template].get(method.lower())
        assert operation is not None, f"{method} {template} is not documented"
        assert str(expect) in operation["responses"], f"{method} {template} answered {expect}, not documented"
        pointer, documented = follow(
            self.spec, f"/paths/{escape(template)}/{method.lower()}/responses/{expect}")
        data = json.loads(response.body)
        media = documented["content"]["application/json"]
        errors = sorted(schema_validator(self.spec, f"{pointer}/content/{escape('application/json')}/schema")
                        .iter_errors(data), key=str)
        assert not errors, f"{method} {path} → {expect}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5])
        assert "schema" in media
        received = {name.lower(): value for name, value in response.headers.items()}
        for name, header in documented.get("headers", {}).items():
            assert name.lower() in received, f"{method} {path}: header {name} missing"
            header_errors = list(Draft202012Validator(header["schema"]).iter_errors(received[name.lower()]))
            assert not header_errors, header_errors
        self.seen.add((template, method.lower(), expect))
        return data


# --------------------------------------------------------------------------- the document itself


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"] == "motcua — Dịch vụ công trực tuyến / Online public services"
    assert spec["info"]["version"] == "1"


def test_every_route_is_documented_and_nothing_else(spec: dict[str, Any]) -> None:
    from app import app

    registered = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    documented = {(path, method) for path, method, _ in operations(spec)}
    assert documented == registered
    assert registered >= ROUTES


def test_path_parameters_match_the_templates(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        declared = [*spec["paths"][path].get("parameters", []), *operation.get("parameters", [])]
        resolved = [follow(spec, ref["$ref"][1:])[1] if "$ref" in ref else ref for ref in declared]
        in_path = {p["name"] for p in resolved if p["in"] == "path"}
        assert in_path == set(re.findall(r"\{([^}]+)\}", path)), (method, path)
        assert all(p["required"] for p in resolved if p["in"] == "path")


def test_operation_ids_are_unique(spec: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(spec)]
    assert len(ids) == len(set(ids)) == len(list(operations(spec)))


def test_request_bodies_are_the_domain_schemas() -> None:
    spec = document()  # changed below
    schemas = spec["components"]["schemas"]
    assert schemas["Applicant"] == APPLICANT_SCHEMA
    assert schemas["UploadRequest"]["properties"]["size"].pop("description")
    assert schemas["UploadRequest"] == UPLOAD_REQUEST_SCHEMA
    assert schemas["WithdrawalRequest"] == WITHDRAWAL_SCHEMA
    submission = schemas["SubmissionRequest"]
    assert submission["required"] == SUBMISSION_SCHEMA["required"]
    assert submission["additionalProperties"] is False
    assert set(submission["properties"]) == set(SUBMISSION_SCHEMA["properties"])
    assert submission["properties"]["applicant"]["$ref"] == "#/components/schemas/Applicant"
    assert submission["properties"]["documents"] == SUBMISSION_SCHEMA["properties"]["documents"]
    assert submission["properties"]["procedure_code"] == SUBMISSION_SCHEMA["properties"]["procedure_code"]
    bodies = {(path, method): operation["requestBody"] for path, method, operation in operations(spec)
              if "requestBody" in operation}
    assert {key: body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            for key, body in bodies.items()} == {
        ("/uploads", "post"): "UploadRequest",
        ("/dossiers", "post"): "SubmissionRequest",
        ("/dossiers/{code}/withdraw", "post"): "WithdrawalRequest",
    }
    assert bodies[("/dossiers/{code}/withdraw", "post")]["required"] is False


def test_citizen_operations_need_the_citizen_token(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["citizenToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "security" not in spec  # public unless an operation says otherwise
    for path, method, operation in operations(spec):
        if (path, method) in CITIZEN_OPERATIONS:
            assert operation["security"] == [{"citizenToken": []}], (method, path)
        elif (path, method) in ROUTES:
            assert "security" not in operation, (method, path)
        assert ("401" in operation["responses"]) == bool(operation.get("security")), (method, path)


def test_every_4xx_is_the_shared_error_shape(spec: dict[str, Any]) -> None:
    for path, method, operation in operations(spec):
        statuses = set(operation["responses"])
        assert "415" in statuses, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= statuses, (method, path)
        for status in statuses:
            _, response = follow(spec, f"/paths/{escape(path)}/{method}/responses/{status}")
            if status.startswith("4"):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
    error = schema_validator(spec, "/components/schemas/Error")
    assert error.is_valid({"error": {"code": "not_found", "message": "x"}})
    assert error.is_valid({"error": {"code": "validation_failed", "message": "x",
                                     "details": [{"field": "a", "message": "b"}]}})
    assert not error.is_valid({"error": {"code": "NotFound", "message": "x"}})
    assert not error.is_valid({"error": {"code": "not_found", "message": ""}})
    assert not error.is_valid({"Code": "NotFoundError", "Message": "x"})


def test_examples_match_their_schemas(spec: dict[str, Any]) -> None:
    found = 0
    for path, method, operation in operations(spec):
        media_pointers = []
        if "requestBody" in operation:
            media_pointers.append(f"/paths/{escape(path)}/{method}/requestBody/content/{escape('application/json')}")
        for status in operation["responses"]:
            pointer, _ = follow(spec, f"/paths/{escape(path)}/{method}/responses/{status}")
            media_pointers.append(f"{pointer}/content/{escape('application/json')}")
        for pointer in media_pointers:
            media = at(spec, pointer)
            if "example" in media:
                found += 1
                errors = list(schema_validator(spec, f"{pointer}/schema").iter_errors(media["example"]))
                assert not errors, (method, path, pointer, [e.message for e in errors])
    assert found >= 10


def test_callers_get_their_own_copy() -> None:
    first = document()
    first["paths"].clear()
    first["components"]["schemas"]["Applicant"]["required"].append("x")
    assert document()["paths"]
    assert "x" not in APPLICANT_SCHEMA["required"]
    assert document() == document()


def test_the_page_size_limit_follows_the_settings(aws: dict[str, str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    assert document()["components"]["parameters"]["Limit"]["schema"]["maximum"] == 100
    monkeypatch.setenv("MOTCUA_PAGE_SIZE_MAX", "50")
    assert document()["components"]["parameters"]["Limit"]["schema"]["maximum"] == 50


def test_served_document_is_the_document(api: Any, spec: dict[str, Any]) -> None:
    response = api.http.get("/openapi.json")
    assert response.status_code == 200
    assert json.loads(response.body) == json.loads(json.dumps(spec))


# --------------------------------------------------------------------------- real answers


def test_a_journey_answers_as_documented(api: Any, spec: dict[str, Any], sample_catalogue: None,
                                         sample_token: str, frozen_clock: datetime) -> None:
    check = Checker(api, spec)
    token = sample_token

    check("GET", "/openapi.json", 200)
    config = check("GET", "/config", 200)
    assert config["province"]["code"] == "lamdong"

    procedures = check("GET", "/procedures", 200)
    assert len(procedures["items"]) == 4
    first = check("GET", "/procedures?limit=1", 200)
    assert first["next_cursor"]
    check("GET", f"/procedures?limit=1&cursor={first['next_cursor']}", 200)
    filtered = check("GET", "/procedures?level=3&tier=commune&agency=000.01.10.H38&q=khai%20sinh&limit=5",
                     200)
    assert [p["code"] for p in filtered["items"]] == ["1.001193"]
    detail = check("GET", "/procedures/2.000488", 200)
    assert detail["templates"] and detail["route"]
    assert check("GET", "/procedures/1.000002", 200)["templates"] == []

    content = b"%PDF-1.4 sample"
    ticket = check("POST", "/uploads", 201, token, create_upload_request(size=len(content)))
    posted = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("a.pdf", content)},
                           timeout=10)
    assert posted.status_code in (200, 201, 204), posted.text
    documents = [{"document_id": "to_khai", "upload_id": ticket["upload_id"]}]
    receipt = check("POST", "/dossiers", 201, token, create_submission(documents=documents))
    code = receipt["code"]
    mine = check("GET", "/dossiers", 200, token)
    assert [d["code"] for d in mine["items"]] == [code]
    check("GET", "/dossiers?limit=1", 200, token)
    dossier = check("GET", f"/dossiers/{code}", 200, token)
    assert dossier["received_at"] is None and dossier["history"][0]["from_status_code"] is None
    check("GET", f"/track/{code}", 200)
    withdrawn = check("POST", f"/dossiers/{code}/withdraw", 200, token, {"reason": "Nộp nhầm"})
    assert withdrawn["history"][1]["from_status_code"] == 1
    assert check("GET", f"/track/{code}", 200)["status_code"] == 7

    # Refusals, one per documented kind.
    check("POST", "/uploads", 400, token, raw=b"{")
    check("POST", "/dossiers", 400, token, raw=b"")
    check("POST", f"/dossiers/{code}/withdraw", 400, token, raw=b"[]")
    check("GET", "/dossiers", 401)
    check("POST", "/uploads", 401, "garbage", create_upload_request())
    check("POST", "/dossiers", 401, None, create_submission())
    check("GET", f"/dossiers/{code}", 401)
    check("POST", f"/dossiers/{code}/withdraw", 401, None, {})
    check("GET", "/procedures/9.999999", 404)
    check("GET", "/track/000.00.21.H38-261126-9999", 404)
    check("GET", "/dossiers/000.00.21.H38-261126-9999", 404, token)
    check("POST", "/dossiers/000.00.21.H38-261126-9999/withdraw", 404, token, {})
    check("POST", f"/dossiers/{code}/withdraw", 409, token, {})
    big = json.dumps({"reason": "x" * 300_000}).encode()
    check("POST", "/uploads", 413, token, raw=big)
    check("POST", "/dossiers", 413, token, raw=big)
    check("POST", f"/dossiers/{code}/withdraw", 413, token, raw=big)
    text = {"Content-Type": "text/plain"}
    for path, method, _ in operations(spec):
        concrete = path.replace("{code}", "2.000488" if path.startswith("/procedures") else code)
        check(method.upper(), concrete, 415, token, raw=b"x", headers=text)
    check("GET", "/config?x=1", 422)
    check("GET", "/openapi.json?x=1", 422)
    check("GET", "/procedures?level=5", 422)
    check("GET", "/procedures/2.000488?x=1", 422)
    check("GET", f"/track/{code}?x=1", 422)
    check("GET", "/dossiers?limit=0", 422, token)
    check("GET", f"/dossiers/{code}?x=1", 422, token)
    check("POST", "/uploads", 422, token, {})
    check("POST", "/dossiers", 422, token, create_submission(applicant={}))
    check("POST", f"/dossiers/{code}/withdraw", 422, token, {"reason": 1})

    documented = {(path, method, int(status)) for path, method, operation in operations(spec)
                  for status in operation["responses"] if (path, method) in ROUTES}
    # Every documented answer was seen, except 409 on submission (a race on the counter or an upload).
    assert documented - check.seen == {("/dossiers", "post", 409)}
