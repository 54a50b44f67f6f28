"""However malformed the request, the API answers 4xx in the contract's error shape, never 5xx.

Every refusal here is checked for ``{"error": {"code": <snake_case>, "message": <non-empty>}}``.

About the test client: ``chalice.test.Client`` runs the same ``LocalGateway`` as ``chalice
local``, so what it answers for unknown routes (403 ``{"message": "Missing Authentication
Token"}``) is what ``chalice local`` answers too, and mimics API Gateway (REST APIs). That answer
comes from the gateway before the app runs, so it cannot be in the contract's shape; whether the
deployed gateway (or chalice local over real HTTP) answers the same can only be checked in the e2e
suite, which talks HTTP to the local stack. Two differences with a real gateway: path
parameters reach the app percent-encoded (``/track/%00`` gives the code ``"%00"``, where API
Gateway would decode it to a NUL), and the client cannot send ``OPTIONS`` (CORS preflights are
answered by the gateway with no body, which ``chalice.test`` fails to read).
"""

from __future__ import annotations

import json
import re
from typing import Any

import jwt
import pytest
import requests

from chalicelib.services.deps import get_store
from tests.factories import (
    create_applicant,
    create_catalogue,
    create_procedure_dict,
    create_submission,
    create_upload_request,
)

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_BODY_BYTES = 256 * 1024
SAMPLE_CODE = "000.00.21.H38-261126-0001"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# (method, concrete path, needs a token) for every route.
ROUTES = [
    ("GET", "/config", False),
    ("GET", "/procedures", False),
    ("GET", "/procedures/2.000488", False),
    ("POST", "/uploads", True),
    ("POST", "/dossiers", True),
    ("GET", "/dossiers", True),
    ("GET", f"/dossiers/{SAMPLE_CODE}", True),
    ("POST", f"/dossiers/{SAMPLE_CODE}/withdraw", True),
    ("GET", f"/track/{SAMPLE_CODE}", False),
    ("GET", "/openapi.json", False),
]
POST_ROUTES = [(method, path) for method, path, _ in ROUTES if method == "POST"]


def call(api: Any, method: str, path: str, token: str | None = None, body: Any = None,
         raw: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
    return api.http.request(method, path, headers=all_headers, body=payload)


def assert_error(response: Any, status: int | None = None, code: str | None = None) -> dict[str, Any]:
    """A 4xx in the contract's shape; returns the error object."""
    where = f"{response.status_code} {response.body[:300]!r}"
    assert 400 <= response.status_code < 500, where
    if status is not None:
        assert response.status_code == status, where
    content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
    assert content_type.startswith("application/json"), where
    body = json.loads(response.body)
    assert isinstance(body, dict) and set(body) == {"error"}, where
    error: dict[str, Any] = body["error"]
    assert set(error) <= {"code", "message", "details"}, where
    assert isinstance(error["code"], str) and SNAKE_CASE.match(error["code"]), where
    assert isinstance(error["message"], str) and error["message"].strip(), where
    for detail in error.get("details", []):
        assert set(detail) == {"field", "message"} and detail["field"] and detail["message"], where
    if code is not None:
        assert error["code"] == code, where
    return error


def fields_of(error: dict[str, Any]) -> list[str]:
    return [detail["field"] for detail in error.get("details", [])]


# --------------------------------------------------------------------------- bodies


MALFORMED_BODIES = [
    b"{",
    b"{'procedure_code': 'x'}",
    b'{"procedure_code": "x",}',
    b"{}garbage",
    b"[]",
    b'[{"procedure_code": "2.000488"}]',
    b'"text"',
    b"42",
    b"-1.5",
    b"true",
    b"null",
    b"NaN",
    b"Infinity",
    b'{"size": NaN}',
    b'{"a": -Infinity}',
    b"1e999",
    b"\xff\xfe\x00{",
    b"\x00",
    b'{"size": ' + b"9" * 5000 + b"}",  # beyond Python's integer conversion limit
]


def test_malformed_json_is_400(api: Any, sample_token: str, subtests: Any) -> None:
    for method, path in POST_ROUTES:
        for raw in MALFORMED_BODIES:
            with subtests.test(path=path, body=raw[:40]):
                assert_error(call(api, method, path, sample_token, raw=raw), 400, "malformed_json")


def test_an_empty_body_is_400_where_a_body_is_required(api: Any, sample_token: str, subtests: Any) -> None:
    for path in ("/dossiers", "/uploads"):
        for raw in (b"", b"   ", b"\n\t"):
            with subtests.test(path=path, body=raw):
                assert_error(call(api, "POST", path, sample_token, raw=raw), 400, "missing_body")
    # The withdrawal reason is optional: an empty body is read as {} (and the dossier is not found).
    assert_error(call(api, "POST", f"/dossiers/{SAMPLE_CODE}/withdraw", sample_token, raw=b""), 404,
                 "dossier_not_found")


SUBMISSION_CASES: list[tuple[str, dict[str, Any]]] = [
    ("procedure_code", {"procedure_code": 2000488}),
    ("procedure_code", {"procedure_code": None}),
    ("procedure_code", {"procedure_code": ["2.000488"]}),
    ("procedure_code", {"procedure_code": ""}),
    ("procedure_code", {"procedure_code": "x" * 41}),
    ("applicant", {"applicant": "Nguyễn Văn An"}),
    ("applicant", {"applicant": []}),
    ("applicant", {"applicant": None}),
    ("form", {"form": "x"}),
    ("form", {"form": [1]}),
    ("form", {"form": None}),
    ("documents", {"documents": "to_khai"}),
    ("documents", {"documents": {"to_khai": "u"}}),
    ("documents[0]", {"documents": [1]}),
    ("documents[0].document_id", {"documents": [{"document_id": 1, "upload_id": "u"}]}),
    ("documents[0].upload_id", {"documents": [{"document_id": "to_khai", "upload_id": 2}]}),
    ("documents[0].upload_id", {"documents": [{"document_id": "to_khai"}]}),
    ("documents[0].upload_id", {"documents": [{"document_id": "to_khai", "upload_id": "x" * 65}]}),
    ("documents[0].extra", {"documents": [{"document_id": "to_khai", "upload_id": "u", "extra": 1}]}),
    ("documents", {"documents": [{"document_id": "to_khai", "upload_id": f"u{i}"} for i in range(51)]}),
    ("applicant.full_name", {"applicant": create_applicant(full_name=1)}),  # type: ignore[arg-type]
    ("applicant.full_name", {"applicant": create_applicant(full_name=None)}),  # type: ignore[arg-type]
    ("applicant.id_number", {"applicant": create_applicant(id_number=68090001234)}),  # type: ignore[arg-type]
    ("applicant.phone", {"applicant": create_applicant(phone=912345678)}),  # type: ignore[arg-type]
    ("applicant.email", {"applicant": create_applicant(email=["a@b.vn"])}),  # type: ignore[arg-type]
    ("applicant.address", {"applicant": create_applicant(address={"street": "x"})}),  # type: ignore[arg-type]
    ("form.purpose", {"form": {"purpose": 1, "birth_date": "1990-05-17"}}),
    ("form.birth_date", {"form": {"purpose": "Xin việc", "birth_date": 19900517}}),
    ("form.copies", {"form": {"purpose": "Xin việc", "birth_date": "1990-05-17", "copies": "2"}}),
    ("form.copies", {"form": {"purpose": "Xin việc", "birth_date": "1990-05-17", "copies": 2.5}}),
    ("form.copies", {"form": {"purpose": "Xin việc", "birth_date": "1990-05-17", "copies": True}}),
    ("\u0000", {"\u0000": 1}),
]

UPLOAD_CASES: list[tuple[str, dict[str, Any]]] = [
    ("filename", {"filename": 1}),
    ("filename", {"filename": None}),
    ("filename", {"filename": ["a.pdf"]}),
    ("filename", {"filename": ""}),
    ("content_type", {"content_type": 1}),
    ("content_type", {"content_type": "text/html"}),
    ("content_type", {"content_type": ["application/pdf"]}),
    ("size", {"size": "1024"}),
    ("size", {"size": 1.5}),
    ("size", {"size": True}),
    ("size", {"size": 0}),
    ("size", {"size": -1}),
    ("size", {"size": None}),
    ("size", {"size": 10**400}),  # file_too_large
    ("size", {"size": 10 * 1024 * 1024 + 1}),  # file_too_large
]


def test_wrong_types_for_every_submission_field(api: Any, sample_catalogue: None, sample_token: str,
                                                subtests: Any) -> None:
    for field, change in SUBMISSION_CASES:
        body = create_submission(documents=[{"document_id": "to_khai", "upload_id": "u"}])
        body.update(change)
        with subtests.test(field=field, change=repr(change)[:60]):
            error = assert_error(call(api, "POST", "/dossiers", sample_token, body), 422)
            assert field in fields_of(error), error


def test_wrong_types_for_every_upload_field(api: Any, sample_token: str, subtests: Any) -> None:
    for field, change in UPLOAD_CASES:
        with subtests.test(field=field, change=repr(change)[:60]):
            response = call(api, "POST", "/uploads", sample_token, create_upload_request(**change))
            error = assert_error(response, 422)
            assert field in fields_of(error), error


def test_overflowing_numbers_are_422(api: Any, sample_catalogue: None, sample_token: str,
                                     subtests: Any) -> None:
    """1e999 is valid JSON that Python reads as infinity (NaN and Infinity themselves are refused)."""
    submission = json.dumps(create_submission(documents=[{"document_id": "to_khai", "upload_id": "u"}]))
    cases = [
        ("/uploads", "size", b'{"filename": "a.pdf", "content_type": "application/pdf", "size": 1e999}'),
        ("/uploads", "size", b'{"filename": "a.pdf", "content_type": "application/pdf", "size": -1e999}'),
        ("/uploads", "size", b'{"filename": "a.pdf", "content_type": "application/pdf", "size": 1e308}'),
        ("/dossiers", "form.copies",
         submission.replace('"birth_date"', '"copies": 1e999, "birth_date"').encode()),
    ]
    for path, field, raw in cases:
        with subtests.test(path=path, body=raw[-40:]):
            assert field in fields_of(assert_error(call(api, "POST", path, sample_token, raw=raw), 422))


def upload_file(api: Any, token: str, content: bytes = b"%PDF-1.4 sample") -> str:
    ticket = json.loads(call(api, "POST", "/uploads", token, create_upload_request(size=len(content))).body)
    posted = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("a.pdf", content)}, timeout=10)
    assert posted.status_code in (200, 201, 204), posted.text
    return str(ticket["upload_id"])


def test_an_overflowing_number_in_a_form_is_refused(api: Any, aws: dict[str, str], sample_token: str) -> None:
    procedure = create_procedure_dict()
    procedure["form_schema"]["properties"]["area_m2"] = {"type": "number", "exclusiveMinimum": 0}
    get_store().put_catalogue(create_catalogue([procedure]))
    documents = [{"document_id": "to_khai", "upload_id": upload_file(api, sample_token)}]
    raw = json.dumps(create_submission(documents=documents)).replace(
        '"birth_date"', '"area_m2": 1e999, "birth_date"').encode()
    response = call(api, "POST", "/dossiers", sample_token, raw=raw)
    if response.status_code == 201:
        code = json.loads(response.body)["code"]
        stored = call(api, "GET", f"/dossiers/{code}", sample_token)
        # What a strict JSON parser (a browser's JSON.parse) would make of the answer.
        json.loads(stored.body, parse_constant=lambda name: pytest.fail(f"{name} in a JSON answer"))
    assert_error(response, 422)


def test_wrong_types_for_the_withdrawal(api: Any, sample_token: str, subtests: Any) -> None:
    for field, body in (("reason", {"reason": 1}), ("reason", {"reason": None}), ("reason", {"reason": []}),
                        ("reason", {"reason": "x" * 501}), ("status", {"status": 7})):
        with subtests.test(body=repr(body)[:60]):
            response = call(api, "POST", f"/dossiers/{SAMPLE_CODE}/withdraw", sample_token, body)
            assert field in fields_of(assert_error(response, 422, "validation_failed"))


def test_a_body_over_the_size_limit_is_413(api: Any, sample_token: str, subtests: Any) -> None:
    at_limit = b'{"filename": "' + b"x" * (MAX_BODY_BYTES - len(b'{"filename": ""}')) + b'"}'
    assert len(at_limit) == MAX_BODY_BYTES
    over = at_limit[:-2] + b'x"}'
    # Bytes, not characters: 140,000 "Đ" are 280,000 bytes of UTF-8.
    vietnamese = json.dumps({"filename": "Đ" * 140_000}, ensure_ascii=False).encode()
    for method, path in POST_ROUTES:
        for raw in (over, vietnamese, b" " * (MAX_BODY_BYTES + 1), over + over):
            with subtests.test(path=path, size=len(raw)):
                assert_error(call(api, method, path, sample_token, raw=raw), 413, "payload_too_large")
    # Exactly at the limit the body is read (and refused for its content, not its size).
    assert_error(call(api, "POST", "/uploads", sample_token, raw=at_limit), 422, "validation_failed")


def test_the_size_limit_is_configurable(api: Any, sample_token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_MAX_BODY_BYTES", "1024")
    body = create_upload_request(filename="x" * 1100 + ".pdf")
    assert_error(call(api, "POST", "/uploads", sample_token, body), 413, "payload_too_large")
    assert call(api, "POST", "/uploads", sample_token, create_upload_request()).status_code == 201


def test_unicode_junk_in_upload_names_is_no_error(api: Any, sample_token: str, subtests: Any) -> None:
    for filename in ("😀.pdf", "\u202egnp.pdf", "a\u0000b.pdf", "Tờ khai\u0301\u0301.pdf", "Đ" * 200,
                     "../../../etc/passwd", "\\\\server\\share\\x.pdf", "\ufeff.pdf"):
        with subtests.test(filename=filename[:40]):
            response = call(api, "POST", "/uploads", sample_token, create_upload_request(filename=filename))
            assert response.status_code == 201, response.body
            key = json.loads(response.body)["fields"]["key"]
            assert re.fullmatch(r"uploads/[^/]+/[0-9a-f]{32}/[A-Za-z0-9._-]+", key), key


def test_lone_surrogates_in_a_body_are_refused(api: Any, sample_token: str) -> None:
    """Regression: "\\ud800" parsed, then failed to be stored (500)."""
    raw = b'{"filename": "\\ud800.pdf", "content_type": "application/pdf", "size": 10}'
    assert_error(call(api, "POST", "/uploads", sample_token, raw=raw), 400, "malformed_json")


def test_deeply_nested_json_is_refused(api: Any, sample_token: str, subtests: Any) -> None:
    """Regression: json.loads' RecursionError escaped (500)."""
    for raw in (b"[" * 100_000, b'{"a":' * 50_000, b'{"form": ' + b"[" * 100_000):
        with subtests.test(body=raw[:20]):
            assert_error(call(api, "POST", "/dossiers", sample_token, raw=raw), 400, "malformed_json")


# --------------------------------------------------------------------------- query strings


def test_unknown_query_parameters_are_422(api: Any, sample_token: str, subtests: Any) -> None:
    for method, path, needs_token in ROUTES:
        for query, unknown in (("unknown=1", "unknown"), ("LIMIT=5", "LIMIT"), ("zz=1&aa=", "aa"),
                               ("%00=1", "\u0000"), ("q[]=a", "q[]")):
            with subtests.test(method=method, path=path, query=query):
                response = call(api, method, f"{path}?{query}", sample_token if needs_token else None, {})
                error = assert_error(response, 422, "unknown_parameter")
                assert fields_of(error) == [unknown]


BAD_QUERIES = [
    ("limit=0", "limit"),
    ("limit=1000", "limit"),
    ("limit=101", "limit"),
    ("limit=abc", "limit"),
    ("limit=-1", "limit"),
    ("limit=1.5", "limit"),
    ("limit=%201", "limit"),
    ("limit=1e2", "limit"),
    ("limit=0x10", "limit"),
    ("cursor=!!!", "cursor"),
    ("cursor=abc", "cursor"),
    ("cursor=W10", "cursor"),  # base64 of []
    ("cursor=" + "A" * 10_000, "cursor"),
]
BAD_PROCEDURE_QUERIES = [
    ("level=5", "level"),
    ("level=0", "level"),
    ("level=abc", "level"),
    ("level=-1", "level"),
    ("level=2.0", "level"),
    ("level=%E1%BB%A9", "level"),
    ("q=" + "a" * 101, "q"),
    ("q=" + "Đ" * 101, "q"),
    ("q=" + "x" * 10_000, "q"),
]


def test_bad_paging_and_filter_values_are_422(api: Any, sample_catalogue: None, sample_token: str,
                                              subtests: Any) -> None:
    for path, token, queries in (("/procedures", None, BAD_QUERIES + BAD_PROCEDURE_QUERIES),
                                 ("/dossiers", sample_token, BAD_QUERIES)):
        for query, field in queries:
            with subtests.test(path=path, query=query[:40]):
                error = assert_error(call(api, "GET", f"{path}?{query}", token), 422)
                assert error["code"] in ("invalid_parameter", "invalid_cursor")
                assert fields_of(error) == [field]


def test_values_at_the_limits_are_accepted(api: Any, sample_catalogue: None, sample_token: str,
                                           subtests: Any) -> None:
    for query in ("limit=1", "limit=100", "limit=", "level=1", "level=4", "level=", "q=" + "a" * 100,
                  "q=%C4%90%C4%83ng%20k%C3%BD", "q=%25", "q=", "tier=", "agency=", "cursor=",
                  "tier=" + "x" * 5000, "agency=%00"):
        with subtests.test(query=query[:40]):
            response = call(api, "GET", f"/procedures?{query}")
            assert response.status_code == 200, response.body
    assert call(api, "GET", "/dossiers?limit=100", sample_token).status_code == 200


def test_non_ascii_and_huge_integers_are_refused(api: Any, sample_token: str, subtests: Any) -> None:
    """Regression: str.isdigit() let "²" and 5,000-digit numbers through to int() (500)."""
    for path, token in (("/procedures", None), ("/dossiers", sample_token)):
        names = ("level", "limit") if path == "/procedures" else ("limit",)
        for name in names:
            for value in ("%C2%B2", "%EF%BC%93", "%D9%A3", "9" * 5000, "0" * 4999 + "1"):
                with subtests.test(path=path, name=name, value=value[:12]):
                    error = assert_error(call(api, "GET", f"{path}?{name}={value}", token), 422,
                                         "invalid_parameter")
                    assert fields_of(error) == [name]


# --------------------------------------------------------------------------- methods, media types, paths


def test_a_wrong_method_is_405_in_the_error_shape(api: Any, sample_token: str, subtests: Any) -> None:
    from app import app

    for template, methods in app.routes.items():
        path = template.replace("{code}", SAMPLE_CODE)
        for method in METHODS:
            if method in methods:
                continue
            with subtests.test(method=method, path=path):
                response = call(api, method, path, sample_token, {})
                assert_error(response, 405, "method_not_allowed")
                allowed = {k.lower(): v for k, v in response.headers.items()}["allow"]
                assert set(allowed.split(", ")) == set(methods)


def test_a_non_json_content_type_is_415_in_the_error_shape(api: Any, sample_token: str,
                                                          subtests: Any) -> None:
    for method, path, needs_token in ROUTES:
        for content_type in ("text/plain", "application/x-www-form-urlencoded",
                             "multipart/form-data; boundary=x", "application/xml", "text/html; charset=utf-8",
                             "application/jsonx"):
            with subtests.test(method=method, path=path, content_type=content_type):
                response = call(api, method, path, sample_token if needs_token else None, raw=b"a=1",
                                headers={"Content-Type": content_type})
                assert_error(response, 415, "unsupported_media_type")


def test_json_content_types_are_accepted(api: Any, sample_token: str) -> None:
    body = json.dumps(create_upload_request())
    for headers in ({"Content-Type": "application/json; charset=utf-8"}, {"Content-Type": "APPLICATION/JSON"},
                    {}):
        headers = {**headers, "Authorization": f"Bearer {sample_token}"}
        response = api.http.request("POST", "/uploads", headers=headers, body=body)
        assert response.status_code == 201, (headers, response.body)


def test_junk_in_path_parameters_is_4xx(api: Any, sample_catalogue: None, sample_token: str,
                                        subtests: Any) -> None:
    junk = ["%00", "..%2F..", "%2e%2e", "..", ".", "😀", "%F0%9F%98%80", "%ED%A0%80", "%FF", "'%20OR%201=1--",
            "<script>", "A" * 3000, "9" * 5000, f"{SAMPLE_CODE}%0A", f"{SAMPLE_CODE}%00", "%25", "%"]
    for value in junk:
        for method, template, needs_token in (("GET", "/track/{}", False), ("GET", "/procedures/{}", False),
                                              ("GET", "/dossiers/{}", True),
                                              ("POST", "/dossiers/{}/withdraw", True)):
            path = template.format(value)
            with subtests.test(path=path[:60]):
                response = call(api, method, path, sample_token if needs_token else None,
                                {} if method == "POST" else None)
                assert_error(response, 404)


def test_unknown_routes_are_refused_by_the_gateway(api: Any, sample_token: str, subtests: Any) -> None:
    """The gateway's own 403, before the app: not in the contract's shape (over HTTP: e2e suite)."""
    for method, path in (("GET", "/"), ("GET", "/nope"), ("GET", "/track"), ("GET", "/track/"),
                         ("GET", "/dossiers/x/y/z"), ("POST", "/procedures/a/b"), ("GET", "/api/config"),
                         ("DELETE", "/statistics"), ("GET", "/../config")):
        for token in (None, sample_token):
            with subtests.test(method=method, path=path, token=bool(token)):
                response = call(api, method, path, token)
                assert response.status_code == 403
                message = json.loads(response.body)["message"]
                if token is None:
                    assert message == "Missing Authentication Token"


def test_junk_credentials_are_401(api: Any, sample_token: str, subtests: Any) -> None:
    claims = jwt.decode(sample_token, options={"verify_signature": False})
    header = jwt.get_unverified_header(sample_token)
    values = [
        "", "Bearer", "Bearer ", "Bearer  ", "Basic dXNlcjpwYXNz", "Token " + sample_token, sample_token,
        "Bearer garbage", "Bearer a.b.c", "Bearer " + "a" * 10_000, "Bearer ..", "Bearer \u00e9\u00e9",
        "Bearer " + jwt.encode(claims, "", algorithm="none"),
        "Bearer " + jwt.encode(claims, "s" * 32, algorithm="HS256", headers={"kid": header["kid"]}),
        "Bearer " + sample_token[:-5],
        "Bearer " + sample_token + "x",
    ]
    for value in values:
        with subtests.test(authorization=value[:40]):
            response = api.http.request("GET", "/dossiers", headers={"Authorization": value}, body=None)
            error = assert_error(response, 401)
            assert error["code"] in ("unauthenticated", "invalid_token")
            headers = {k.lower(): v for k, v in response.headers.items()}
            assert headers["www-authenticate"] == 'Bearer realm="motcua"'
