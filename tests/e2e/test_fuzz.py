"""Fuzzing the public contract over HTTP: schemathesis reads ``GET /openapi.json`` from the local stack
and generates requests for every operation of it, valid ones and invalid ones, each sent with a valid
citizen ID token (a citizen signed up for the fuzz), a valid agency API key where the operation takes
one, and invalid credentials (none, a junk bearer token, a junk agency key).

Every response must be what the document promises: no 5xx at all, a documented status, a body valid
against the documented schema, the documented content type and headers, and invalid data refused
with a 4xx; a request without the credential an operation asks for gets 401. Failures are collected (not
shrunk) and reported together, each with what reproduces it: method, URL, headers, body, status and
response. The generation is seeded (``FUZZ_SEED``, or ``MOTCUA_FUZZ_SEED`` to explore others)."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.handlers.openapi_document import document
from tests.e2e.journey_support import api, sample_form, sign_up, upload
from tests.stack_support import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

TIMEOUT = 15
FUZZ_SEED = int(os.environ.get("MOTCUA_FUZZ_SEED", "20261126"))
# The fuzz citizen's dossier: level 4, no fee, a reception desk then processing (as the journey tests).
PROCEDURE = "LD.012"
PASSWORD = "Fuzz-Citizen-2026"
# Junk credentials: a JWT-shaped token whose signature is nobody's, and a key in the agency-key shape
# ("mc_<agency>_<key id>_<secret>") of an agency that exists, with a key id and secret it never had.
JUNK_BEARER = ("eyJhbGciOiJSUzI1NiIsImtpZCI6Imp1bmsifQ.eyJzdWIiOiJmdXp6IiwidG9rZW5fdXNlIjoiaWQifQ."
               "c2lnbmF0dXJlLWZyb20tbm93aGVyZQ")
JUNK_API_KEY = "mc_000-00-00-H38_0badc0de_" + "J" * 43

# Examples per (operation, credential, generation mode); hypothesis may stop earlier when an
# operation has fewer distinct requests to give (no parameters, no body).
EXAMPLES_WITH_VALID_CREDENTIAL = 25
EXAMPLES_WITH_INVALID_CREDENTIAL = 8
EXAMPLES_ON_REAL_RESOURCES = 25
MIN_REQUESTS = 2000

CHECKS: list[CheckFunction] = [
    not_a_server_error,  # DESIGN.md: no request, however malformed, yields a 5xx
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,  # WWW-Authenticate on 401, Location on 201, Retry-After on 429
    response_schema_conformance,
]
# Statuses a request may get without the credential its operation asks for: 401, or 415 when
# Chalice refuses a non-JSON Content-Type before any view (and so any authentication) runs.
WITHOUT_CREDENTIAL = {401, 415}


@dataclass(frozen=True)
class Credential:
    name: str
    token: str | None
    schemes: frozenset[str]  # the security schemes of the document it satisfies

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass
class Findings:
    """What the fuzz did and found."""

    requests: int = 0
    statuses: Counter[tuple[str, str, int]] = field(default_factory=Counter)  # (operation, credential, status)
    failures: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # one report per (operation, credential, failure title)

    def record_failure(self, key: str, report: str) -> None:
        if key not in self.seen:
            self.seen.add(key)
            self.failures.append(report)


def operation_schemes(operation: Any) -> frozenset[str]:
    """The security schemes an operation accepts (empty: public)."""
    security = operation.definition.raw.get("security", [])
    return frozenset(name for requirement in security for name in requirement)


def describe(case: Any, response: Any, credential: Credential, problem: str) -> str:
    request = response.request if response is not None else None
    body: Any = request.body if request is not None else case.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    sent_headers = dict(request.headers) if request is not None else dict(case.headers or {})
    if "Authorization" in sent_headers:
        sent_headers["Authorization"] = f"Bearer <{credential.name}>"
    mode = f" ({case.meta.generation.mode.value} data)" if case.meta is not None else ""
    lines = [
        f"{case.method} {case.path} with {credential.name} credentials{mode}",
        f"  problem: {problem.strip()}",
        f"  request: {case.method} {request.url if request is not None else case.formatted_path}",
        f"  headers: {json.dumps(sent_headers, ensure_ascii=False)}",
        f"  body: {str(body)[:2000]}",
    ]
    if response is not None:
        content_type = ", ".join(response.headers.get("content-type", []))
        lines += [f"  status: {response.status_code} {content_type}",
                  f"  response: {response.content.decode('utf-8', errors='replace')[:2000]}"]
    return "\n".join(lines)


class Fuzzer:
    def __init__(self, schema: Any, api_url: str, findings: Findings) -> None:
        self.schema = schema
        self.api_url = api_url
        self.findings = findings

    def exercise(self, case: Any, credential: Credential) -> None:
        label = f"{case.method} {case.path}"
        headers = credential.headers
        try:
            # A new connection for each request (no session): chalice local answers a small response
            # on a kept-alive connection only after the client's delayed ACK, about 40 ms each.
            response = case.call(base_url=self.api_url, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as error:
            self.findings.record_failure(f"{label}|{credential.name}|{type(error).__name__}",
                                         describe(case, None, credential, f"no response: {error!r}"))
            return
        self.findings.requests += 1
        self.findings.statuses[(label, credential.name, response.status_code)] += 1
        self.judge(case, response, credential)

    def judge(self, case: Any, response: Any, credential: Credential) -> None:
        """Records every way the response breaks the document (or the credential rule)."""
        label = f"{case.method} {case.path}"
        headers = credential.headers
        checks = list(CHECKS)
        if case.meta is not None and case.meta.generation.mode.is_negative:
            checks.append(negative_data_rejection)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                self.findings.record_failure(f"{label}|{credential.name}|{failure.title}",
                                             describe(case, response, credential, f"{failure.title}: "
                                                      f"{failure.message}"))
        required = operation_schemes(case.operation)
        if required and not (required & credential.schemes) and response.status_code not in WITHOUT_CREDENTIAL:
            self.findings.record_failure(f"{label}|{credential.name}|credential",
                                         describe(case, response, credential,
                                                  f"answered {response.status_code} without a credential of "
                                                  f"{sorted(required)} (expected 401)"))

    def fuzz(self, operation: Any, credential: Credential, mode: GenerationMode, examples: int,
             path_parameters: dict[str, Any] | None = None) -> None:
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

        @hypothesis.settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                             phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                             verbosity=Verbosity.quiet)
        @hypothesis.seed(FUZZ_SEED)
        @hypothesis.given(case=strategy)
        def run(case: Any) -> None:
            self.exercise(case, credential)

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            # Nothing to break: an operation without parameters or body has no negative request.
            if mode.is_positive:
                raise


# --------------------------------------------------------------------------- the stack, as a client


def submit_dossier(stack: dict[str, Any], token: str) -> tuple[str, str]:
    """A real dossier of the fuzz citizen: its code and its reception desk's agency code."""
    detail = api(stack, "GET", f"/procedures/{PROCEDURE}").json()
    documents = [{"document_id": doc["id"],
                  "upload_id": upload(stack, token, f"%PDF fuzz {doc['id']}".encode(), f"{doc['id']}.pdf").upload_id}
                 for doc in detail["required_documents"] if doc["required"]]
    form = sample_form(detail)
    submitted = api(stack, "POST", "/dossiers", token, json={
        "procedure_code": PROCEDURE,
        "applicant": {"full_name": "Trần Văn Phúc", "id_number": "068090004321", "phone": "0912345678",
                      "address": "3 Nguyễn Văn Cừ, phường Xuân Hương - Đà Lạt"},
        "form": form, "documents": documents})
    assert submitted.status_code == 201, submitted.text
    return str(submitted.json()["code"]), str(detail["route"][0]["agency_code"])


@dataclass
class FuzzTarget:
    stack: dict[str, Any]
    document: dict[str, Any]  # as GET /openapi.json serves it
    schema: Any
    citizen: Credential
    agency: Credential
    dossier_code: str  # the citizen's to act on: withdraw, supplement, pay, rate
    decided_code: str  # the desk's to decide on; the citizen and the desk read it afterwards
    task_id: str  # the desk's open task on decided_code


def open_task(stack: dict[str, Any], key: str, code: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        items = api(stack, "GET", "/agency/tasks", key).json()["items"]
        return next((task for task in items if task["dossier_code"] == code), None)

    return wait_for(find)


@pytest.fixture(scope="module")
def fuzz_target(local_stack: dict[str, Any]) -> FuzzTarget:
    token = sign_up(local_stack, f"fuzz-{uuid.uuid4().hex[:10]}@example.vn", PASSWORD)
    code, desk = submit_dossier(local_stack, token)
    decided, _ = submit_dossier(local_stack, token)
    key = next(agency["api_key"] for agency in local_stack["agencies"] if agency["code"] == desk)
    open_task(local_stack, key, code)
    task = open_task(local_stack, key, decided)
    served = api(local_stack, "GET", "/openapi.json")
    assert served.status_code == 200, served.text
    # Loaded from the document rather than from its URL: schemathesis leaves out the operation that
    # serves the document it was loaded from (GET /openapi.json), which is part of the contract too.
    schema = schemathesis.openapi.from_dict(served.json())
    # The credentials are this test's dimension (Credential): schemathesis generates no Authorization
    # header of its own, and drops none (it would otherwise "negate" the bearer schemes).
    schema.config.generation.update(with_security_parameters=False)
    return FuzzTarget(stack=local_stack, document=served.json(), schema=schema,
                      citizen=Credential("citizen", token, frozenset({"citizenToken"})),
                      agency=Credential("agency", key, frozenset({"agencyApiKey"})),
                      dossier_code=code, decided_code=decided, task_id=str(task["task_id"]))


INVALID_CREDENTIALS = (
    Credential("no", None, frozenset()),
    Credential("junk bearer", JUNK_BEARER, frozenset()),
    Credential("junk agency key", JUNK_API_KEY, frozenset()),
)

Campaign = tuple[Any, Credential, int, dict[str, Any] | None]  # operation, credential, examples, fixed path


def operations(schema: Any) -> Iterator[Any]:
    for result in schema.get_all_operations():
        yield result.ok()


def campaigns(target: FuzzTarget) -> Iterator[Campaign]:
    """Every operation with every credential; then the same on the fuzz citizen's real dossiers and
    the desk's real task, where requests get past "not found" to the dossier, its payment, documents
    and rating, and to the task's heartbeat and decision. The task goes first (heartbeats while it is
    open, then decisions): the dossier it decides on (received, refused or sent back for a supplement)
    is then read by its owner and by the desk, with whatever history and slips the decision gave it."""
    everything = list(operations(target.schema))
    on_task = [operation for operation in everything
               if {parameter.name for parameter in operation.path_parameters} == {"task_id"}]
    for operation in sorted(on_task, key=lambda operation: not operation.path.endswith("/heartbeat")):
        yield operation, target.agency, EXAMPLES_ON_REAL_RESOURCES, {"task_id": target.task_id}
    for operation in everything:
        schemes = operation_schemes(operation)
        yield operation, target.citizen, EXAMPLES_WITH_VALID_CREDENTIAL, None
        if "agencyApiKey" in schemes:
            yield operation, target.agency, EXAMPLES_WITH_VALID_CREDENTIAL, None
        for credential in INVALID_CREDENTIALS:
            yield operation, credential, EXAMPLES_WITH_INVALID_CREDENTIAL, None
        if {parameter.name for parameter in operation.path_parameters} != {"code"}:
            continue
        if operation.path.startswith("/track/"):
            yield operation, INVALID_CREDENTIALS[0], EXAMPLES_ON_REAL_RESOURCES, {"code": target.decided_code}
            continue
        reading = operation.method.upper() == "GET"
        code = target.decided_code if reading else target.dossier_code
        yield operation, target.citizen, EXAMPLES_ON_REAL_RESOURCES, {"code": code}
        if "agencyApiKey" in schemes:
            yield operation, target.agency, EXAMPLES_ON_REAL_RESOURCES, {"code": code}


def has_negatable_input(operation: Any) -> bool:
    """Whether the operation takes a body, a query or a header parameter (the bearer credential
    aside: that is the Credential's). A path parameter alone (a string of any length ≥ 1) has no
    invalid value that still reaches the operation: schemathesis would search for one in vain
    (hypothesis's Unsatisfiable) for about a second each time."""
    return bool(operation.body) or any(parameter.location in ("query", "header") and parameter.name != "Authorization"
                                       for parameter in operation.iter_parameters())


def run_fuzz(target: FuzzTarget) -> Findings:
    findings = Findings()
    fuzzer = Fuzzer(target.schema, target.stack["api_url"], findings)
    for operation, credential, examples, path_parameters in campaigns(target):
        fuzzer.fuzz(operation, credential, GenerationMode.POSITIVE, examples, path_parameters)
        if has_negatable_input(operation):
            fuzzer.fuzz(operation, credential, GenerationMode.NEGATIVE, examples, path_parameters)
    return findings


def test_the_live_document_is_the_one_fuzzed(fuzz_target: FuzzTarget) -> None:
    """The stack serves the contract's document, and schemathesis sees every operation of it."""
    assert fuzz_target.document == json.loads(json.dumps(document()))
    expected = {(method.upper(), path) for path, item in document()["paths"].items()
                for method in item if method != "parameters"}
    seen = {(operation.method.upper(), operation.path) for operation in operations(fuzz_target.schema)}
    assert seen == expected
    assert len(expected) >= 20


def test_fuzzing_every_operation_finds_no_5xx_and_nothing_off_the_contract(fuzz_target: FuzzTarget) -> None:
    started = time.monotonic()
    findings = run_fuzz(fuzz_target)
    elapsed = time.monotonic() - started
    by_operation: Counter[str] = Counter()
    for (label, _credential, _status), count in findings.statuses.items():
        by_operation[label] += count
    print(f"\nfuzz: {findings.requests} requests in {elapsed:.1f} s, seed {FUZZ_SEED}; per operation: "
          + ", ".join(f"{label} {count}" for label, count in sorted(by_operation.items())))
    assert not findings.failures, (f"{len(findings.failures)} contract failures (seed {FUZZ_SEED}):\n\n"
                                   + "\n\n".join(findings.failures))
    assert findings.requests >= MIN_REQUESTS, findings.requests
    # Every operation was tried with every credential meant for it (and every one of them was sent).
    tried: dict[str, set[str]] = {}
    for label, credential, _status in findings.statuses:
        tried.setdefault(label, set()).add(credential)
    everyone = {"citizen", *(credential.name for credential in INVALID_CREDENTIALS)}
    for operation in operations(fuzz_target.schema):
        label = f"{operation.method.upper()} {operation.path}"
        meant = everyone | ({"agency"} if "agencyApiKey" in operation_schemes(operation) else set())
        assert meant <= tried.get(label, set()), (label, tried.get(label))
    # The real dossier and task took the requests past "not found": read by its owner and by the
    # desk on its route, the open task kept alive.
    for expected in (("GET /dossiers/{code}", "citizen", 200), ("GET /dossiers/{code}", "agency", 200),
                     ("POST /agency/tasks/{task_id}/heartbeat", "agency", 200)):
        assert findings.statuses[expected] >= 1, expected


def answer(status: int, body: Any, content_type: str = "application/json; charset=utf-8") -> schemathesis.Response:
    """A response as the stack could have sent it, for the judge's own test."""
    headers = {"Content-Type": [content_type]}
    if status == 401:
        headers["WWW-Authenticate"] = ['Bearer realm="motcua"']
    return schemathesis.Response(status_code=status, headers=headers, content=json.dumps(body).encode(),
                                 request=requests.Request("GET", "http://127.0.0.1/").prepare(), elapsed=0.01,
                                 verify=True)


def test_the_judge_catches_what_breaks_the_contract() -> None:
    """The checks are live (this suite could fail): each kind of breach is reported, and only that."""
    schema = schemathesis.openapi.from_dict(document())
    track = schema["/track/{code}"]["GET"].Case(path_parameters={"code": "000.00.21.H38-261126-0001"})
    tasks = schema["/agency/tasks"]["GET"].Case()
    citizen = Credential("citizen", "token", frozenset({"citizenToken"}))
    nobody = INVALID_CREDENTIALS[0]
    error = {"error": {"code": "not_found", "message": "Không tìm thấy / Not found"}}
    cases = [
        (track, nobody, answer(404, error), None),
        (tasks, citizen, answer(401, {"error": {"code": "invalid_api_key", "message": "Sai khóa / Bad key"}}), None),
        (track, nobody, answer(500, error), "Server error"),
        (track, nobody, answer(418, error), "Undocumented status code"),
        (track, nobody, answer(404, {"error": {"code": "Not Found", "message": ""}}), "Response violates schema"),
        (track, nobody, answer(200, {"code": "x"}), "Response violates schema"),
        (track, nobody, answer(404, error, "text/html"), "Undocumented Content-Type"),
        (tasks, citizen, answer(200, {"items": [], "next_cursor": None}), "answered 200 without a credential"),
    ]
    for case, credential, response, expected in cases:
        findings = Findings()
        Fuzzer(schema, "http://127.0.0.1", findings).judge(case, response, credential)
        if expected is None:
            assert findings.failures == [], findings.failures
        else:
            assert any(f"problem: {expected}" in failure for failure in findings.failures), findings.failures
            # Enough to reproduce: what was asked, and what came back.
            assert all(f"{case.method} {case.path} with {credential.name} credentials" in failure
                       and f"status: {response.status_code}" in failure and "response: " in failure
                       for failure in findings.failures), findings.failures
