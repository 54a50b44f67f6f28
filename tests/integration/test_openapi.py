"""The OpenAPI document: valid 3.1, complete, and true to what the API answers.

Real responses of a citizen's journey, of the agencies that route the dossier (and
of their refusals), of a supplement round trip, of staff reads, of a result returned
online and of a fee paid online (Stripe faked: the real provider's journey is in
test_payments.py, against localstripe) are validated against the schema the document
gives for that operation and status.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from chalicelib import presenters
from chalicelib.domain import slips
from chalicelib.domain.dossiers import (
    APPLICANT_SCHEMA,
    RATING_SCHEMA,
    SUBMISSION_SCHEMA,
    SUPPLEMENT_SCHEMA,
    WITHDRAWAL_SCHEMA,
    DocumentRef,
    Dossier,
    LogEntry,
    ResultDocument,
)
from chalicelib.domain.payments import PAYMENT_REQUEST_SCHEMA
from chalicelib.domain.tasks import DECISION_SCHEMA, Task
from chalicelib.domain.uploads import AGENCY_UPLOAD_REQUEST_SCHEMA, UPLOAD_REQUEST_SCHEMA
from chalicelib.domain.workflow import ACTIONS, LOG_ONLY_ACTIONS, DossierStatus
from chalicelib.handlers.openapi_document import STRIPE_WEBHOOK_OUTCOMES, document
from chalicelib.integrations.payments import Intent, PaymentProviderError
from chalicelib.services import payments
from chalicelib.services.agency_auth import issue_key
from chalicelib.services.deps import get_store, get_task_store
from chalicelib.services.results import ResultLink
from tests.factories import (
    COMMUNE,
    DESK,
    JUSTICE,
    create_applicant,
    create_catalogue,
    create_procedure_dict,
    create_submission,
    create_upload_request,
)
from tests.integration.route_support import (
    PDF,
    RESULT,
    Agencies,
    at_last_step,
    execution_status,
    pump,
)
from tests.integration.test_payments import FEE, WEBHOOK_SECRET, awaiting_fee, sign

SPEC_URI = "urn:motcua:openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ROUTES = {
    ("/config", "get"),
    ("/agencies", "get"),
    ("/procedures", "get"),
    ("/procedures/{code}", "get"),
    ("/uploads", "post"),
    ("/dossiers", "post"),
    ("/dossiers", "get"),
    ("/dossiers/{code}", "get"),
    ("/dossiers/{code}/result", "get"),
    ("/dossiers/{code}/receipt", "get"),
    ("/dossiers/{code}/result-notice", "get"),
    ("/dossiers/{code}/withdraw", "post"),
    ("/dossiers/{code}/supplement", "post"),
    ("/dossiers/{code}/rating", "post"),
    ("/dossiers/{code}/payment", "post"),
    ("/stats", "get"),
    ("/webhooks/stripe", "post"),
    ("/track/{code}", "get"),
    ("/track/{code}/qr", "get"),
    ("/openapi.json", "get"),
    ("/agency/tasks", "get"),
    ("/agency/tasks/{task_id}/decision", "post"),
    ("/agency/tasks/{task_id}/heartbeat", "post"),
}
CITIZEN_OPERATIONS = {
    ("/dossiers", "post"),
    ("/dossiers", "get"),
    ("/dossiers/{code}/withdraw", "post"),
    ("/dossiers/{code}/supplement", "post"),
    ("/dossiers/{code}/rating", "post"),
    ("/dossiers/{code}/payment", "post"),
}
# A citizen reads their own dossier; an agency on its route reads it with its key (audited).
# Both ask for upload tickets (an attachment, a result). Only the owner gets a result link;
# an agency key is a credential there too, answered 404 like anyone who is not the owner.
CITIZEN_OR_AGENCY_OPERATIONS = {
    ("/uploads", "post"),
    ("/dossiers/{code}", "get"),
    ("/dossiers/{code}/result", "get"),
    ("/dossiers/{code}/receipt", "get"),
    ("/dossiers/{code}/result-notice", "get"),
}
# Stripe's, authenticated by the Stripe-Signature over the raw body, not by a bearer credential.
STRIPE_OPERATIONS = {
    ("/webhooks/stripe", "post"),
}
# The payment routes need Stripe: they may answer 503.
PAYMENT_OPERATIONS = {
    ("/dossiers/{code}/payment", "post"),
    ("/webhooks/stripe", "post"),
}
AGENCY_OPERATIONS = {
    ("/agency/tasks", "get"),
    ("/agency/tasks/{task_id}/decision", "post"),
    ("/agency/tasks/{task_id}/heartbeat", "post"),
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
        received_type = {name.lower(): value for name, value in response.headers.items()}.get("content-type", "")
        if received_type.startswith("image/svg+xml"):
            assert "image/svg+xml" in documented["content"], f"{method} {path}: SVG not documented"
            text = response.body.decode("utf-8") if isinstance(response.body, bytes) else str(response.body)
            assert text.lstrip().startswith("<svg"), text[:100]
            self.seen.add((template, method.lower(), expect))
            return text
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
    assert "dossier_code" in schemas["UploadRequest"].pop("description")
    assert schemas["UploadRequest"] == UPLOAD_REQUEST_SCHEMA
    agency_upload = schemas["AgencyUploadRequest"]
    assert agency_upload["properties"]["size"].pop("description")
    assert "404" in agency_upload["properties"]["dossier_code"].pop("description")
    assert "result_upload_id" in agency_upload.pop("description")
    assert agency_upload == AGENCY_UPLOAD_REQUEST_SCHEMA
    assert "validation_failed" in schemas["PaymentRequest"].pop("description")
    assert schemas["PaymentRequest"] == PAYMENT_REQUEST_SCHEMA
    assert schemas["WithdrawalRequest"] == WITHDRAWAL_SCHEMA
    assert "invalid_status" in schemas["SupplementRequest"].pop("description")
    assert schemas["SupplementRequest"] == SUPPLEMENT_SCHEMA
    assert schemas["RatingRequest"] == RATING_SCHEMA
    decision_description = schemas["DecisionRequest"].pop("description")
    assert {"parallel_agencies_pending", "result_upload_id", "invalid_result"} <= set(
        re.findall(r"[a-z_]+", decision_description))
    assert schemas["DecisionRequest"] == DECISION_SCHEMA
    # The last step's approval carries the result document it uploaded beforehand.
    assert "result_upload_id" in schemas["DecisionRequest"]["properties"]
    assert "result_upload_id" not in schemas["DecisionRequest"]["required"]
    submission = schemas["SubmissionRequest"]
    assert submission["required"] == SUBMISSION_SCHEMA["required"]
    assert submission["additionalProperties"] is False
    assert set(submission["properties"]) == set(SUBMISSION_SCHEMA["properties"])
    assert submission["properties"]["applicant"]["$ref"] == "#/components/schemas/Applicant"
    assert submission["properties"]["documents"] == SUBMISSION_SCHEMA["properties"]["documents"]
    assert submission["properties"]["procedure_code"] == SUBMISSION_SCHEMA["properties"]["procedure_code"]
    bodies = {(path, method): operation["requestBody"] for path, method, operation in operations(spec)
              if "requestBody" in operation}
    schemas_of = {key: body["content"]["application/json"]["schema"] for key, body in bodies.items()}
    assert {key: schema["$ref"].rsplit("/", 1)[1] for key, schema in schemas_of.items() if "$ref" in schema} == {
        ("/dossiers", "post"): "SubmissionRequest",
        ("/dossiers/{code}/withdraw", "post"): "WithdrawalRequest",
        ("/dossiers/{code}/supplement", "post"): "SupplementRequest",
        ("/dossiers/{code}/rating", "post"): "RatingRequest",
        ("/dossiers/{code}/payment", "post"): "PaymentRequest",
        ("/webhooks/stripe", "post"): "StripeEvent",
        ("/agency/tasks/{task_id}/decision", "post"): "DecisionRequest",
    }
    # The heartbeat's body carries nothing: an empty JSON object or none at all.
    empty = schemas_of.pop(("/agency/tasks/{task_id}/heartbeat", "post"))
    assert (empty["type"], empty["additionalProperties"], empty["maxProperties"]) == ("object", False, 0)
    # An upload is a citizen's attachment or, with dossier_code, an agency's result: never both.
    either = schemas_of.pop(("/uploads", "post"))
    assert either["oneOf"] == [{"$ref": "#/components/schemas/UploadRequest"},
                               {"$ref": "#/components/schemas/AgencyUploadRequest"}]
    upload_body = schema_validator(spec, f"/paths/{escape('/uploads')}/post/requestBody/content/"
                                         f"{escape('application/json')}/schema")
    citizen_upload = {"filename": "a.pdf", "content_type": "application/pdf", "size": 4}
    assert upload_body.is_valid(citizen_upload)
    assert upload_body.is_valid({**citizen_upload, "dossier_code": "000.00.21.H38-261126-0001"})
    assert not upload_body.is_valid({**citizen_upload, "dossier_code": ""})
    assert not upload_body.is_valid({"filename": "a.pdf", "content_type": "application/pdf"})
    assert all("$ref" in schema for schema in schemas_of.values())
    assert bodies[("/dossiers/{code}/withdraw", "post")]["required"] is False
    assert bodies[("/dossiers/{code}/supplement", "post")]["required"] is True
    assert bodies[("/agency/tasks/{task_id}/heartbeat", "post")]["required"] is False
    assert bodies[("/agency/tasks/{task_id}/decision", "post")]["required"] is True
    assert bodies[("/dossiers/{code}/payment", "post")]["required"] is False
    assert bodies[("/webhooks/stripe", "post")]["required"] is True


def test_citizen_and_agency_operations_need_their_credentials(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert set(schemes) == {"citizenToken", "agencyApiKey"}
    for scheme in schemes.values():
        assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "security" not in spec  # public unless an operation says otherwise
    for path, method, operation in operations(spec):
        unauthenticated = operation["responses"].get("401", {}).get("$ref")
        if (path, method) in CITIZEN_OPERATIONS:
            assert operation["security"] == [{"citizenToken": []}], (method, path)
            assert unauthenticated == "#/components/responses/Unauthenticated", (method, path)
        elif (path, method) in AGENCY_OPERATIONS:
            assert operation["security"] == [{"agencyApiKey": []}], (method, path)
            assert unauthenticated == "#/components/responses/InvalidApiKey", (method, path)
            assert operation["tags"] == ["agency"], (method, path)
        elif (path, method) in CITIZEN_OR_AGENCY_OPERATIONS:
            assert operation["security"] == [{"citizenToken": []}, {"agencyApiKey": []}], (method, path)
            assert unauthenticated == "#/components/responses/UnauthenticatedCitizenOrAgency", (method, path)
        elif (path, method) in STRIPE_OPERATIONS:
            assert "security" not in operation, (method, path)
            header = follow(spec, operation["parameters"][0]["$ref"][1:])[1]
            assert (header["name"], header["in"], header["required"]) == ("Stripe-Signature", "header", True)
            assert operation["tags"] == ["payments"], (method, path)
        elif (path, method) in ROUTES:
            assert "security" not in operation, (method, path)
        assert ("401" in operation["responses"]) == bool(operation.get("security")), (method, path)
    invalid_key = spec["components"]["responses"]["InvalidApiKey"]
    assert "invalid_api_key" in invalid_key["description"] and "WWW-Authenticate" in invalid_key["headers"]
    either = spec["components"]["responses"]["UnauthenticatedCitizenOrAgency"]
    assert {"invalid_token", "invalid_api_key"} <= set(re.findall(r"[a-z_]+", either["description"]))
    assert "WWW-Authenticate" in either["headers"]


def test_agency_tasks_follow_the_presenter(spec: dict[str, Any]) -> None:
    """Every field of presenters.agency_task, closed, the dossier being the citizen's detail."""
    task = spec["components"]["schemas"]["AgencyTask"]
    assert task["additionalProperties"] is False
    assert set(task["required"]) == set(task["properties"]) == {
        "task_id", "dossier_code", "procedure_code", "step", "status", "opened_at", "due_at", "overdue_count",
        "decision", "note", "decided_at", "dossier"}
    assert task["properties"]["dossier"] == {"$ref": "#/components/schemas/DossierDetail"}
    assert set(task["properties"]["step"]["required"]) == {"index", "kind", "role", "last"}
    assert task["properties"]["decision"]["enum"] == [*DECISION_SCHEMA["properties"]["decision"]["enum"], None]
    status = next(p for p in spec["paths"]["/agency/tasks"]["get"]["parameters"] if p.get("name") == "status")
    assert status["schema"]["enum"] == task["properties"]["status"]["enum"] == ["open", "decided", "cancelled"]
    assert spec["components"]["schemas"]["Heartbeat"]["required"] == ["task_id", "status"]
    conflict = spec["components"]["responses"]["TaskConflict"]["description"]
    assert {"task_closed", "decision_not_allowed", "parallel_agencies_pending", "invalid_status"} <= set(
        re.findall(r"[a-z_]+", conflict))


def test_history_actions_are_every_line_the_log_can_hold(spec: dict[str, Any]) -> None:
    """The workflow's actions, and the lines that leave the status as it was (apologise,
    escalate), are the documented history actions."""
    enum = spec["components"]["schemas"]["HistoryEntry"]["properties"]["action"]["enum"]
    assert set(enum) == set(ACTIONS) | LOG_ONLY_ACTIONS
    assert {"apologise", "escalate", "request_fee", "supplement_expired", "fee_expired"} <= set(enum)
    assert enum == sorted(enum)


def test_slips_and_the_current_step_follow_the_presenter(spec: dict[str, Any]) -> None:
    """Every slip the domain issues, every log line and a tracked step, as the presenters
    show them, fit the document; and what does not fit is refused."""
    at = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    later = at + timedelta(days=7)
    issued = [slips.receipt(at, "000.00.21.H38", later), slips.supplement_request(at, "000.00.21.H38", "Thiếu ảnh"),
              slips.refusal(at, "000.00.21.H38", "Không thuộc thẩm quyền"),
              slips.apology(later, "000.00.05.H38", later, later + timedelta(days=2))]
    history = [LogEntry(at, "system", action, DossierStatus.PROCESSING, DossierStatus.PROCESSING)
               for action in spec["components"]["schemas"]["HistoryEntry"]["properties"]["action"]["enum"]]
    dossier = Dossier(
        code="000.00.21.H38-261126-0001", procedure_code="2.000488", procedure_name="Lý lịch tư pháp",
        agency_code="000.00.21.H38", owner="sub", applicant=create_applicant(), form={},
        documents=(DocumentRef("to_khai", "u1"),), status=DossierStatus.PROCESSING, submitted_at=at, due_at=later,
        updated_at=at, fee_vnd=0, fee_status="not_required", received_at=at, history=tuple(history),
        slips=tuple(issued))
    detail = presenters.dossier_detail(dossier)
    assert [s["number"] for s in detail["slips"]] == ["01", "02", "03", "04"]
    assert detail["slips"][3]["details"] == {"previous_due_at": "2026-12-03T09:00:00+07:00",
                                             "new_due_at": "2026-12-05T09:00:00+07:00"}
    validator = schema_validator(spec, "/components/schemas/DossierDetail")
    assert not list(validator.iter_errors(detail))
    for wrong in ({"number": "02", "details": {"appointment_at": "2026-12-03T09:00:00+07:00"}},
                  {"number": "06"}, {"title": {"vi": "x", "en": "y"}},
                  {"details": {"appointment_at": "soon"}}):
        assert not validator.is_valid({**detail, "slips": [{**detail["slips"][0], **wrong}]}), wrong
    assert not validator.is_valid({**detail, "history": [{**detail["history"][0], "action": "teleport"}]})

    def task(agency: str, role: Any, days: int) -> Task:
        return Task(task_id=f"t{agency}", dossier_code=dossier.code, step_index=1, kind="processing", role=role,
                    agency_code=agency, status="open", opened_at=at, due_at=at + timedelta(days=days))

    tracking = schema_validator(spec, "/components/schemas/DossierTracking")
    tracked = presenters.dossier_tracking(dossier, [task("000.01.10.H38", "helper", 2),
                                                    task("000.00.05.H38", "lead", 3)])
    assert tracked["current_step"] == {"index": 1, "kind": "processing",
                                       "agency_codes": ["000.00.05.H38", "000.01.10.H38"],
                                       "due_at": "2026-11-29T09:00:00+07:00"}
    assert not list(tracking.iter_errors(tracked))
    assert not list(tracking.iter_errors(presenters.dossier_tracking(dossier, [])))
    assert not tracking.is_valid({**tracked, "current_step": {**tracked["current_step"], "agency_codes": []}})
    assert not tracking.is_valid({k: v for k, v in tracked.items() if k != "current_step"})


def test_every_4xx_is_the_shared_error_shape(spec: dict[str, Any]) -> None:
    """And so is the one 5xx: 503 from the payment routes, which need Stripe. The routes that
    attach uploads do not wait for S3: the uploads are tagged from the table's stream."""
    for path, method, operation in operations(spec):
        statuses = set(operation["responses"])
        assert "415" in statuses, (method, path)
        if "requestBody" in operation:
            # Stripe's events are not read as request bodies (no size limit): the signature decides.
            expected = {"400", "422"} if (path, method) in STRIPE_OPERATIONS else {"400", "413", "422"}
            assert expected <= statuses, (method, path)
        server_errors = {status for status in statuses if status.startswith("5")}
        may_503 = (path, method) in PAYMENT_OPERATIONS
        assert server_errors == ({"503"} if may_503 else set()), (method, path)
        for status in statuses:
            pointer, response = follow(spec, f"/paths/{escape(path)}/{method}/responses/{status}")
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
            if status == "503":
                # Only Stripe's routes: S3 is on no request's path (uploads are tagged from the table's stream).
                assert (path, method) in PAYMENT_OPERATIONS, (method, path)
                assert pointer == "/components/responses/ServiceUnavailable"
                assert {"payments_unavailable", "payment_provider_error"} <= set(
                    re.findall(r"[a-z_]+", response["description"]))
    assert "503" in spec["info"]["description"] and "storage_unavailable" not in spec["info"]["description"]
    error = schema_validator(spec, "/components/schemas/Error")
    assert error.is_valid({"error": {"code": "not_found", "message": "x"}})
    assert error.is_valid({"error": {"code": "validation_failed", "message": "x",
                                     "details": [{"field": "a", "message": "b"}]}})
    assert not error.is_valid({"error": {"code": "NotFound", "message": "x"}})
    assert not error.is_valid({"error": {"code": "not_found", "message": ""}})
    assert not error.is_valid({"Code": "NotFoundError", "Message": "x"})


def test_webhook_outcomes_are_what_the_service_returns(spec: dict[str, Any]) -> None:
    """Every outcome string the Stripe event handler can return is documented, and no other."""
    tree = ast.parse(inspect.getsource(payments))
    returned = {node.value.value for function in ast.walk(tree)
                if isinstance(function, ast.FunctionDef)
                and function.name in ("handle_stripe_event", "_handle_intent_event")
                for node in ast.walk(function)
                if isinstance(node, ast.Return) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)}
    assert returned == set(STRIPE_WEBHOOK_OUTCOMES)
    receipt = spec["components"]["schemas"]["StripeWebhookReceipt"]
    assert receipt["properties"]["outcome"]["enum"] == STRIPE_WEBHOOK_OUTCOMES
    assert set(receipt["required"]) == {"received", "outcome"}


def test_the_dossier_result_follows_the_presenter(spec: dict[str, Any]) -> None:
    """null without a result online; what it is (never where it is stored) with one."""
    at = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    dossier = Dossier(
        code="000.00.21.H38-261126-0001", procedure_code="2.000488", procedure_name="Lý lịch tư pháp",
        agency_code="000.00.21.H38", owner="sub", applicant=create_applicant(), form={},
        documents=(DocumentRef("to_khai", "u1"),), status=DossierStatus.PROCESSING, submitted_at=at, due_at=at,
        updated_at=at, fee_vnd=0, fee_status="not_required", received_at=at)
    validator = schema_validator(spec, "/components/schemas/DossierDetail")
    assert presenters.dossier_detail(dossier)["result"] is None
    assert not list(validator.iter_errors(presenters.dossier_detail(dossier)))
    result = ResultDocument(upload_id="u2", s3_key="results/x/u2/r.pdf", filename="Phiếu.pdf",
                            content_type="application/pdf")
    for status, available in ((DossierStatus.PROCESSING, False), (DossierStatus.DONE, True),
                              (DossierStatus.RESULT_RETURNED, True)):
        detail = presenters.dossier_detail(replace(dossier, status=status, result=result))
        assert detail["result"] == {"filename": "Phiếu.pdf", "content_type": "application/pdf",
                                    "available": available}
        assert not list(validator.iter_errors(detail)), status
    assert not validator.is_valid({**detail, "result": {**detail["result"], "s3_key": "results/x"}})
    assert not validator.is_valid({**detail, "result": {"filename": "a.pdf"}})
    link = presenters.result_link(ResultLink(url="https://bucket.s3.amazonaws.com/results/x?X-Amz-Expires=900",
                                             expires_at=at))
    assert not list(schema_validator(spec, "/components/schemas/ResultLink").iter_errors(link))


def test_examples_match_their_schemas(spec: dict[str, Any]) -> None:
    found = 0
    for path, method, operation in operations(spec):
        media_pointers = []
        if "requestBody" in operation:
            media_pointers.append(f"/paths/{escape(path)}/{method}/requestBody/content/{escape('application/json')}")
        for status in operation["responses"]:
            pointer, response = follow(spec, f"/paths/{escape(path)}/{method}/responses/{status}")
            if "application/json" in response["content"]:  # the tracker's QR code is an SVG
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


def test_an_empty_query_value_is_documented_and_answered_as_the_parameter_left_out(
        api: Any, spec: dict[str, Any], sample_catalogue: None, sample_token: str) -> None:
    """Regression (found by tests/e2e/test_fuzz.py): web forms send empty fields, which the API
    reads as left out (``?limit=`` is the default page, ``?month=`` every month, ``?status=`` the
    open tasks), while the document said an empty ``limit`` broke its integer schema and an empty
    ``month`` its pattern. Every query parameter now allows the empty value, and it answers as if the
    parameter was not sent."""
    agency_key = issue_key(DESK, "openapi-empty-query")
    check = Checker(api, spec)
    tried = set()
    for path, method, operation in operations(spec):
        declared = [*spec["paths"][path].get("parameters", []), *operation.get("parameters", [])]
        resolved = [follow(spec, ref["$ref"][1:])[1] if "$ref" in ref else ref for ref in declared]
        for parameter in (parameter for parameter in resolved if parameter["in"] == "query"):
            name = parameter["name"]
            assert parameter.get("allowEmptyValue") is True, (method, path, name)
            assert "an empty value is the same as leaving the parameter out" in parameter["description"]
            token = agency_key if operation.get("security") == [{"agencyApiKey": []}] else (
                sample_token if operation.get("security") else None)
            left_out = check(method.upper(), path, 200, token)
            empty = check(method.upper(), f"{path}?{name}=", 200, token)
            for answer in (left_out, empty):
                answer.pop("generated_at", None)  # statistics carry the time they were computed
            assert empty == left_out, (method, path, name)
            tried.add((path, name))
    assert tried == {("/procedures", name) for name in ("level", "tier", "agency", "q", "cursor", "limit")} | {
        ("/dossiers", "cursor"), ("/dossiers", "limit"), ("/stats", "month"),
        ("/agency/tasks", "status"), ("/agency/tasks", "cursor"), ("/agency/tasks", "limit")}


# --------------------------------------------------------------------------- real answers




def submit_routed(check: Checker, token: str) -> str:
    """A dossier of 2.000488: the desk receives it, the Department of Justice decides it."""
    ticket = check("POST", "/uploads", 201, token, create_upload_request(size=4))
    posted = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("a.pdf", b"%PDF")}, timeout=10)
    assert posted.status_code in (200, 201, 204), posted.text
    documents = [{"document_id": "to_khai", "upload_id": ticket["upload_id"]}]
    code: str = check("POST", "/dossiers", 201, token, create_submission("2.000488", documents=documents))["code"]
    return code


def task_for(check: Checker, key: str, code: str) -> dict[str, Any]:
    """The agency's open task on the dossier, once the route has opened it (each inbox checked)."""
    found: list[dict[str, Any]] = []

    def arrived() -> bool:
        inbox = check("GET", "/agency/tasks", 200, key)
        found[:] = [task for task in inbox["items"] if task["dossier_code"] == code]
        return bool(found)

    pump(arrived)
    assert len(found) == 1, found
    return found[0]


def agency_journey(check: Checker, token: str) -> None:
    """Two dossiers routed to the desk: one received and approved, one withdrawn under way."""
    desk, justice = issue_key(DESK, "openapi"), issue_key(JUSTICE, "openapi")
    first, second = submit_routed(check, token), submit_routed(check, token)
    task = task_for(check, desk, first)
    task_id = task["task_id"]
    assert task["step"] == {"index": 0, "kind": "reception", "role": "lead", "last": False}
    assert (task["status"], task["decision"], task["decided_at"], task["note"]) == ("open", None, None, "")
    assert task["dossier"]["code"] == first and task["dossier"]["status_code"] == 1
    other = task_for(check, desk, second)
    assert check("GET", f"/dossiers/{first}", 200, token) == task["dossier"]

    # The inbox, page by page, earliest due first.
    page = check("GET", "/agency/tasks?status=open&limit=1", 200, desk)
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = check("GET", f"/agency/tasks?status=open&limit=1&cursor={page['next_cursor']}", 200, desk)
    assert {page["items"][0]["task_id"], rest["items"][0]["task_id"]} == {task_id, other["task_id"]}
    assert check("GET", "/agency/tasks?status=decided", 200, desk) == {"items": [], "next_cursor": None}
    assert check("GET", "/agency/tasks", 200, justice) == {"items": [], "next_cursor": None}

    # Heartbeats, without a body and with an empty one; the second once the route waits on the
    # task, so that it reaches the state machine.
    assert check("POST", f"/agency/tasks/{other['task_id']}/heartbeat", 200, desk) == {
        "task_id": other["task_id"], "status": "open"}
    pump(lambda: getattr(get_task_store().get_task(task_id), "token", None) is not None)
    assert check("POST", f"/agency/tasks/{task_id}/heartbeat", 200, desk, {}) == {
        "task_id": task_id, "status": "open"}

    # Refusals, one per documented kind, none of which changes the task.
    decision = f"/agency/tasks/{task_id}/decision"
    heartbeat = f"/agency/tasks/{task_id}/heartbeat"
    check("POST", decision, 400, desk, raw=b"{")
    check("POST", decision, 400, desk, raw=b"")
    check("POST", heartbeat, 400, desk, raw=b"[]")
    for path, body in ((decision, {"decision": "receive"}), (heartbeat, {})):
        check("POST", path, 401, None, body)
        check("POST", path, 401, "garbage", body)
        check("POST", path, 401, token, body)  # a citizen's token is no agency key
        check("POST", path, 401, desk[:-43] + "A" * 43, body)  # the right key id, a wrong secret
    check("GET", "/agency/tasks", 401)
    check("GET", "/agency/tasks", 401, "mc_000-00-21-H38_00000000_" + "A" * 43)
    for path in ("/agency/tasks/5d41402abc4b2a76b971L0/decision", "/agency/tasks/5d41402abc4b2a76b971L0/heartbeat",
                 "/agency/tasks/" + "x" * 65 + "/decision"):
        check("POST", path, 404, desk, {"decision": "receive"} if path.endswith("decision") else {})
    check("POST", decision, 404, justice, {"decision": "receive"})  # another agency's task
    check("POST", heartbeat, 404, justice, {})
    big = json.dumps({"decision": "receive", "note": "x" * 300_000}).encode()
    check("POST", decision, 413, desk, raw=big)
    check("POST", heartbeat, 413, desk, raw=big)
    refused = check("POST", decision, 422, desk, {"decision": "approve"})
    assert refused["error"]["code"] == "decision_not_allowed"
    assert check("POST", decision, 422, desk, {"decision": "refuse"})["error"]["code"] == "validation_failed"
    # Only the last processing step's approval carries a result document.
    misplaced = check("POST", decision, 422, desk, {"decision": "receive", "result_upload_id": "u"})
    assert (misplaced["error"]["code"], misplaced["error"]["details"][0]["field"]) == (
        "validation_failed", "result_upload_id")
    # A heartbeat carries nothing: a body with any field is refused.
    assert check("POST", heartbeat, 422, desk, {"note": "still on it"})["error"]["code"] == "validation_failed"
    check("POST", decision, 422, desk, {"decision": "receive", "extra": 1})
    check("POST", decision, 422, desk, {"decision": "receive", "note": "x" * 2001})
    check("POST", decision, 422, desk, {})
    check("POST", f"{decision}?x=1", 422, desk, {"decision": "receive"})
    check("POST", f"{heartbeat}?x=1", 422, desk, {})
    check("GET", "/agency/tasks?x=1", 422, desk)
    check("GET", "/agency/tasks?status=closed", 422, desk)
    check("GET", "/agency/tasks?limit=0", 422, desk)
    check("GET", "/agency/tasks?cursor=garbage", 422, desk)
    check("GET", f"/agency/tasks?status=decided&cursor={page['next_cursor']}", 422, desk)
    assert check("GET", "/agency/tasks?limit=1", 200, desk)["items"][0]["status"] == "open"

    # The desk receives; the department, last on the route, approves.
    received = check("POST", decision, 200, desk, {"decision": "receive", "note": "Đủ hồ sơ"})
    assert (received["task_id"], received["status"], received["decision"], received["note"]) == (
        task_id, "decided", "receive", "Đủ hồ sơ")
    assert received["decided_at"] and received["dossier"]["status_code"] == 2
    assert received["dossier"]["received_at"] and received["dossier"]["history"][-1]["action"] == "receive"
    assert check("POST", decision, 409, desk, {"decision": "receive"})["error"]["code"] == "task_closed"
    assert check("POST", heartbeat, 409, desk)["error"]["code"] == "task_closed"
    decided = check("GET", "/agency/tasks?status=decided", 200, desk)
    assert [t["task_id"] for t in decided["items"]] == [task_id]
    processing = task_for(check, justice, first)
    assert processing["step"] == {"index": 1, "kind": "processing", "role": "lead", "last": True}
    assert processing["dossier"]["status_code"] == 4
    approved = check("POST", f"/agency/tasks/{processing['task_id']}/decision", 200, justice,
                     {"decision": "approve"})
    assert (approved["status"], approved["decision"], approved["dossier"]["status_code"]) == ("decided", "approve", 9)

    # The citizen withdraws the other dossier: its task is cancelled.
    check("POST", f"/dossiers/{second}/withdraw", 200, token, {})
    cancelled = check("GET", "/agency/tasks?status=cancelled", 200, desk)
    assert [(t["task_id"], t["status"], t["decision"]) for t in cancelled["items"]] == [
        (other["task_id"], "cancelled", None)]
    assert cancelled["items"][0]["decided_at"] and cancelled["items"][0]["dossier"]["status_code"] == 7
    check("POST", f"/agency/tasks/{other['task_id']}/decision", 409, desk, {"decision": "receive"})
    check("POST", f"/agency/tasks/{other['task_id']}/heartbeat", 409, desk, {})
    assert check("GET", "/agency/tasks", 200, desk) == {"items": [], "next_cursor": None}


def supplement_journey(check: Checker, token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dossier asked for a supplement twice (at the desk, then in processing), read by the
    agencies on its route (each read audited) and by none other, tracked step by step."""
    desk, justice, commune = (issue_key(agency, "openapi-supplement") for agency in (DESK, JUSTICE, COMMUNE))
    code = submit_routed(check, token)
    dossier_path, supplement = f"/dossiers/{code}", f"/dossiers/{code}/supplement"
    assert check("GET", f"/track/{code}", 200)["current_step"] is None
    assert f"QR code to track dossier {code}" in check("GET", f"/track/{code}/qr", 200)
    check("GET", "/track/000.00.21.H38-261126-9999/qr", 404)
    check("GET", f"/track/{code}/qr?x=1", 422)  # the route has not opened a task yet
    not_waiting = check("POST", supplement, 409, token, {"note": "Bổ sung"})
    assert not_waiting["error"]["code"] == "invalid_status"
    task = task_for(check, desk, code)
    assert check("GET", f"/track/{code}", 200)["current_step"] == {
        "index": 0, "kind": "reception", "agency_codes": [DESK], "due_at": task["due_at"]}

    # Staff reads: an agency on the route (a later step) reads what the citizen reads; one off the
    # route is not found; a bad key or token is refused. Only the read that answered is audited.
    assert check("GET", dossier_path, 200, justice) == check("GET", dossier_path, 200, token)
    assert check("GET", dossier_path, 404, commune)["error"]["code"] == "dossier_not_found"
    assert check("GET", "/dossiers/000.00.21.H38-261126-9999", 404, desk)["error"]["code"] == "dossier_not_found"
    assert check("GET", dossier_path, 401, desk[:-43] + "A" * 43)["error"]["code"] == "invalid_api_key"
    assert check("GET", dossier_path, 401, "garbage")["error"]["code"] == "invalid_token"
    check("GET", f"{dossier_path}?x=1", 422, desk)
    trail = [(line.agency_code, line.action) for line in get_store().audit_trail(code)]
    # The one staff read of the dossier itself; the desk's inbox pages, put on the trail from the
    # table's stream, may be there too.
    assert [line for line in trail if line[1] == "read"] == [(JUSTICE, "read")]
    assert set(trail) <= {(JUSTICE, "read"), (DESK, "inbox")}

    # The desk asks for a supplement: slip 02, status 5, no agency at work.
    asked = check("POST", f"/agency/tasks/{task['task_id']}/decision", 200, desk,
                  {"decision": "request_supplement", "note": "Thiếu văn bản ủy quyền"})
    assert asked["dossier"]["status_code"] == 5
    assert [(s["number"], s["issued_by"], s["details"]) for s in asked["dossier"]["slips"]] == [
        ("02", DESK, {"missing": "Thiếu văn bản ủy quyền"})]
    pump(lambda: get_task_store().get_wait(code, "supplement") is not None)
    assert check("GET", f"/track/{code}", 200)["current_step"] is None
    assert f"QR code to track dossier {code}" in check("GET", f"/track/{code}/qr", 200)
    check("GET", "/track/000.00.21.H38-261126-9999/qr", 404)
    check("GET", f"/track/{code}/qr?x=1", 422)

    # Refusals, one per documented kind, none of which changes the dossier.
    check("POST", supplement, 400, token, raw=b"{")
    check("POST", supplement, 400, token, raw=b"")
    check("POST", supplement, 401, None, {"note": "x"})
    check("POST", supplement, 401, desk, {"note": "x"})  # an agency key is no citizen's token
    check("POST", "/dossiers/000.00.21.H38-261126-9999/supplement", 404, token, {"note": "x"})
    check("POST", supplement, 413, token, raw=json.dumps({"note": "x" * 300_000}).encode())
    for body, error in (({}, "validation_failed"), ({"extra": 1}, "validation_failed"),
                        ({"status": 4, "note": "x"}, "server_owned_field"),
                        ({"form": {"birth_date": "17/05/1990"}}, "validation_failed"),
                        ({"documents": [{"document_id": "uy_quyen", "upload_id": "nope"}]}, "validation_failed"),
                        ({"note": "x" * 1001}, "validation_failed")):
        assert check("POST", supplement, 422, token, body)["error"]["code"] == error, body
    check("POST", f"{supplement}?x=1", 422, token, {"note": "x"})
    assert check("GET", dossier_path, 200, token)["status_code"] == 5

    # The citizen answers with a changed form field and a new document: back to the desk (status 1).
    ticket = check("POST", "/uploads", 201, token, create_upload_request(size=4))
    posted = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("b.pdf", b"%PDF")}, timeout=10)
    assert posted.status_code in (200, 201, 204), posted.text
    answer = {"form": {"purpose": "Bổ sung: xin việc làm"}, "note": "Đã bổ sung",
              "documents": [{"document_id": "uy_quyen", "upload_id": ticket["upload_id"]}]}
    assert check("GET", dossier_path, 200, token)["status_code"] == 5
    answered = check("POST", supplement, 200, token, answer)
    assert (answered["status_code"], answered["history"][-1]["action"]) == (1, "supplement_reception")
    assert answered["form"]["purpose"] == "Bổ sung: xin việc làm"
    assert [d["document_id"] for d in answered["documents"]] == ["to_khai", "uy_quyen"]
    check("POST", supplement, 409, token, {"note": "again"})

    # The desk's step starts again with a new task; receiving issues slip 01.
    again = task_for(check, desk, code)
    assert again["task_id"] != task["task_id"] and again["step"]["index"] == 0
    received = check("POST", f"/agency/tasks/{again['task_id']}/decision", 200, desk, {"decision": "receive"})
    receipt = received["dossier"]["slips"][0]  # by number, then by issue time
    assert [s["number"] for s in received["dossier"]["slips"]] == ["01", "02"]
    assert receipt["details"] == {"appointment_at": received["dossier"]["due_at"]}
    assert receipt["title"] == {"vi": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "en": "Receipt and appointment"}

    # Processing asks in turn, a week later: the supplement goes back to processing (status 4),
    # with a new task and a new deadline.
    processing = task_for(check, justice, code)
    assert check("GET", f"/track/{code}", 200)["current_step"] == {
        "index": 1, "kind": "processing", "agency_codes": [JUSTICE], "due_at": processing["due_at"]}
    later = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # Thursday 3 December, 09:00 in Vietnam
    for module in ("chalicelib.services.deps", "chalicelib.services.dossiers", "chalicelib.services.routing",
                   "chalicelib.services.uploads"):  # every clock: an upload a week old may no longer be attached
        monkeypatch.setattr(f"{module}.now", lambda: later)
    check("POST", f"/agency/tasks/{processing['task_id']}/decision", 200, justice,
          {"decision": "request_supplement", "note": "Cần xác nhận nơi cư trú"})
    pump(lambda: get_task_store().get_wait(code, "supplement") is not None)
    resumed = check("POST", supplement, 200, token, {"form": {"copies": 2}})
    assert (resumed["status_code"], resumed["history"][-1]["action"]) == (4, "supplement_processing")
    assert resumed["due_at"] == "2026-12-17T09:00:00+07:00"  # 10 working days from the supplement
    restarted = task_for(check, justice, code)
    assert restarted["task_id"] != processing["task_id"] and restarted["step"]["index"] == 1
    approved = check("POST", f"/agency/tasks/{restarted['task_id']}/decision", 200, justice,
                     {"decision": "approve"})
    assert approved["dossier"]["status_code"] == 9
    assert [(s["number"], s["issued_by"], s["issued_at"]) for s in approved["dossier"]["slips"]] == [
        ("01", DESK, "2026-11-26T09:00:00+07:00"), ("02", DESK, "2026-11-26T09:00:00+07:00"),
        ("02", JUSTICE, "2026-12-03T09:00:00+07:00")]
    assert check("GET", f"/track/{code}", 200)["current_step"] is None
    assert f"QR code to track dossier {code}" in check("GET", f"/track/{code}/qr", 200)
    check("GET", "/track/000.00.21.H38-261126-9999/qr", 404)
    check("GET", f"/track/{code}/qr?x=1", 422)


def results_journey(check: Checker, token: str, other_token: str) -> None:
    """The last step's agency uploads the result with its key, approves with it, and the owner,
    alone, downloads it (test_results.py's route, each answer checked against the document)."""
    agencies = Agencies(check.api)
    code, task = at_last_step(check.api, token, agencies)
    desk, justice = agencies.key(DESK), agencies.key(JUSTICE)
    result_path = f"/dossiers/{code}/result"
    assert check("GET", result_path, 404, token)["error"]["code"] == "result_not_found"  # none yet

    # Upload tickets: only for a dossier the agency has an open task on; an agency names it, a citizen may not.
    result_request = {"filename": "Phiếu lý lịch tư pháp.pdf", "content_type": PDF, "size": len(RESULT)}
    for key, dossier_code in ((desk, code), (justice, "000.00.21.H38-261126-9999"), (justice, "nonsense")):
        refused = check("POST", "/uploads", 404, key, {**result_request, "dossier_code": dossier_code})
        assert refused["error"]["code"] == "dossier_not_found", dossier_code
    no_code = check("POST", "/uploads", 422, justice, result_request)
    assert no_code["error"]["details"][0]["field"] == "dossier_code"
    citizen = check("POST", "/uploads", 422, token, {**result_request, "dossier_code": code})
    assert citizen["error"]["details"][0]["field"] == "dossier_code"
    check("POST", "/uploads", 401, desk[:-43] + "A" * 43, {**result_request, "dossier_code": code})
    ticket = check("POST", "/uploads", 201, justice, {**result_request, "dossier_code": code})
    assert ticket["fields"]["key"].startswith(f"results/{code}/{ticket['upload_id']}/")
    sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("r.pdf", RESULT)}, timeout=10)
    assert sent.status_code in (200, 201, 204), sent.text

    decision = f"/agency/tasks/{task['task_id']}/decision"
    unknown = check("POST", decision, 422, justice, {"decision": "approve", "result_upload_id": "0" * 32})
    assert (unknown["error"]["code"], unknown["error"]["details"][0]["field"]) == (
        "invalid_result", "result_upload_id")
    with_result = {"decision": "approve", "result_upload_id": ticket["upload_id"]}
    approved = check("POST", decision, 200, justice, with_result)
    assert approved["dossier"]["status_code"] == 9
    assert approved["dossier"]["result"] == {"filename": "Phiếu lý lịch tư pháp.pdf", "content_type": PDF,
                                             "available": True}
    pump(lambda: execution_status(code) == "SUCCEEDED")

    # Only the owner gets a link: anyone else, agencies included, is told there is none.
    check("GET", result_path, 401)
    check("GET", result_path, 401, "garbage")
    check("GET", result_path, 401, justice[:-43] + "A" * 43)
    assert check("GET", result_path, 404, other_token)["error"]["code"] == "result_not_found"
    assert check("GET", result_path, 404, justice)["error"]["code"] == "result_not_found"
    assert check("GET", "/dossiers/000.00.21.H38-261126-9999/result", 404, token)["error"]["code"] == (
        "result_not_found")
    check("GET", f"{result_path}?x=1", 422, token)
    # The PDFs: slip 01 (received) and the result notice, for the owner only.
    for path, missing in ((f"/dossiers/{code}/receipt", "receipt_not_found"),
                          (f"/dossiers/{code}/result-notice", "result_notice_not_found")):
        check("GET", path, 401)
        assert check("GET", path, 404, other_token)["error"]["code"] == missing
        check("GET", f"{path}?x=1", 422, token)
        pdf = check("GET", path, 200, token)
        assert requests.get(pdf["url"], timeout=10).content.startswith(b"%PDF")
    link = check("GET", result_path, 200, token)
    assert requests.get(link["url"], timeout=10).content == RESULT
    returned = check("GET", f"/dossiers/{code}", 200, token)
    assert (returned["status_code"], returned["history"][-1]["action"]) == (10, "return_result")
    assert returned["result"]["available"] is True
    assert check("GET", result_path, 200, token).keys() == {"url", "expires_at"}  # again, still 10
    assert check("GET", f"/dossiers/{code}", 200, token)["status_code"] == 10

    # The owner rates it, once; the statistics count it.
    rating_path = f"/dossiers/{code}/rating"
    check("POST", rating_path, 401, None, {"score": 5})
    check("POST", rating_path, 404, other_token, {"score": 5})
    check("POST", rating_path, 400, token, raw=b"{")
    check("POST", rating_path, 413, token, raw=json.dumps({"score": 5, "comment": "x" * 300_000}).encode())
    assert check("POST", rating_path, 422, token, {"score": 6})["error"]["details"][0]["field"] == "score"
    rated = check("POST", rating_path, 201, token, {"score": 5, "comment": "Nhanh, đúng hẹn"})
    assert rated["score"] == 5
    assert check("POST", rating_path, 409, token, {"score": 1})["error"]["code"] == "already_rated"
    assert check("GET", f"/dossiers/{code}", 200, token)["rating"] == rated
    agency_list = check("GET", "/agencies", 200)["items"]
    assert {"code": JUSTICE, "name": "Sở Tư pháp tỉnh Lâm Đồng", "name_en": "Department of Justice",
            "tier": "province", "parent_code": None, "procedures": 0} in agency_list
    check("GET", "/agencies?x=1", 422)
    statistics = check("GET", "/stats", 200)
    assert statistics["dossiers"]["satisfaction"]["ratings"] >= 1
    check("GET", f"/stats?month={statistics['months'][-1]['month']}", 200)
    assert check("GET", "/stats?month=2026-13", 422)["error"]["details"][0]["field"] == "month"


class FakeStripe:
    """Stands in for Stripe's API (services.payments.get_gateway), so that the payment
    routes answer as they do with the provider; test_payments.py runs them on localstripe."""

    def __init__(self) -> None:
        self.intents: dict[str, Intent] = {}

    def create_intent(self, amount_vnd: int, dossier_code: str, idempotency_key: str) -> Intent:
        intent_id = f"pi_fake{len(self.intents) + 1:04d}"
        intent = Intent(id=intent_id, client_secret=f"{intent_id}_secret_x", status="requires_payment_method",
                        amount=amount_vnd, metadata={"dossier_code": dossier_code})
        self.intents[intent_id] = intent
        return intent

    def retrieve(self, intent_id: str) -> Intent:
        if intent_id not in self.intents:  # Stripe answers 404, which the gateway raises as this
            raise PaymentProviderError(f"Stripe: retrieve failed (no such payment_intent: {intent_id})")
        return self.intents[intent_id]

    def pay(self, intent_id: str) -> None:
        self.intents[intent_id] = replace(self.intents[intent_id], status="succeeded", latest_charge="ch_fake")


def stripe_event(event_type: str, intent_id: str) -> bytes:
    return json.dumps({"id": f"evt_{event_type}_{intent_id}", "type": event_type,
                       "data": {"object": {"id": intent_id, "object": "payment_intent"}}}).encode()


def payments_journey(check: Checker, token: str, other_token: str, withdrawn: str,
                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A dossier waiting on its fee: refusals, Stripe missing (503), then paid through a
    stand-in for Stripe, its signed event recorded. Replaces the catalogue: run it last."""
    monkeypatch.delenv("MOTCUA_STRIPE_SECRET_KEY", raising=False)
    monkeypatch.delenv("MOTCUA_STRIPE_WEBHOOK_SECRET", raising=False)
    code = awaiting_fee(check.api, token, Agencies(check.api))
    payment, webhook = f"/dossiers/{code}/payment", "/webhooks/stripe"
    desk = issue_key(DESK, "openapi-payments")

    assert check("POST", f"/dossiers/{withdrawn}/payment", 409, token)["error"]["code"] == "not_awaiting_fee"
    check("POST", payment, 401)
    check("POST", payment, 401, "garbage", {})
    check("POST", payment, 401, desk, {})  # an agency key is no citizen's token
    assert check("POST", payment, 404, other_token)["error"]["code"] == "dossier_not_found"
    check("POST", "/dossiers/000.00.21.H38-261126-9999/payment", 404, token)
    check("POST", payment, 400, token, raw=b"{")
    check("POST", payment, 413, token, raw=json.dumps({"provider": "x" * 300_000}).encode())
    for body in ({"amount_vnd": 1}, {"provider": "paypal"}):
        assert check("POST", payment, 422, token, body)["error"]["code"] == "validation_failed", body
    check("POST", f"{payment}?x=1", 422, token)
    # Stripe not configured: the one 5xx.
    assert check("POST", payment, 503, token)["error"]["code"] == "payments_unavailable"
    # A citizen's payment attempts per hour are limited (this one made several already).
    monkeypatch.setenv("MOTCUA_RATE_PAYMENTS_PER_HOUR", "1")
    assert check("POST", payment, 429, token)["error"]["code"] == "rate_limited"
    monkeypatch.delenv("MOTCUA_RATE_PAYMENTS_PER_HOUR")

    # Stripe's events: signed with the endpoint's secret, or refused.
    ignored = stripe_event("customer.created", "cus_1")
    signature = {"Stripe-Signature": sign(ignored)}
    assert check("POST", webhook, 400, raw=ignored, headers=signature)["error"]["code"] == (
        "invalid_signature")  # no webhook secret configured: nothing verifies
    monkeypatch.setenv("MOTCUA_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    assert check("POST", webhook, 400, raw=ignored)["error"]["code"] == "invalid_signature"  # unsigned
    check("POST", webhook, 400, raw=ignored, headers={"Stripe-Signature": sign(ignored, secret="whsec_other")})
    check("POST", webhook, 400, raw=b"[]", headers={"Stripe-Signature": sign(b"[]")})
    check("POST", f"{webhook}?x=1", 422, raw=ignored, headers=signature)
    assert check("POST", webhook, 200, raw=ignored, headers=signature) == {"received": True, "outcome": "ignored"}
    unreadable = stripe_event("payment_intent.succeeded", "pi_unknown")
    unavailable = check("POST", webhook, 503, raw=unreadable, headers={"Stripe-Signature": sign(unreadable)})
    assert unavailable["error"]["code"] == "payments_unavailable"  # Stripe cannot be read back: retried

    # With (a stand-in for) Stripe: the intent, the same one again, then the signed success recorded.
    fake = FakeStripe()
    monkeypatch.setattr(payments, "get_gateway", lambda settings=None: fake)
    intent = check("POST", payment, 200, token)
    assert (intent["provider"], intent["amount_vnd"]) == ("stripe", FEE)
    assert check("POST", payment, 200, token, {"provider": "stripe"}) == intent
    unknown = check("POST", webhook, 503, raw=unreadable, headers={"Stripe-Signature": sign(unreadable)})
    assert unknown["error"]["code"] == "payment_provider_error"  # Stripe did not answer with the intent
    foreign = stripe_event("payment_intent.succeeded", fake.create_intent(FEE, code, "elsewhere").id)
    assert check("POST", webhook, 200, raw=foreign, headers={"Stripe-Signature": sign(foreign)})[
        "outcome"] == "ignored"  # an intent this API did not create for the dossier
    fake.pay(intent["payment_intent_id"])
    succeeded = stripe_event("payment_intent.succeeded", intent["payment_intent_id"])
    recorded = check("POST", webhook, 200, raw=succeeded, headers={"Stripe-Signature": sign(succeeded)})
    assert recorded == {"received": True, "outcome": "recorded"}
    assert check("POST", webhook, 200, raw=succeeded, headers={"Stripe-Signature": sign(succeeded)})[
        "outcome"] == "duplicate"
    paid = check("GET", f"/dossiers/{code}", 200, token)
    assert (paid["status_code"], paid["fee"]["status"], paid["history"][-1]["action"]) == (4, "paid", "record_payment")
    assert check("POST", payment, 409, token)["error"]["code"] == "not_awaiting_fee"


def test_a_journey_answers_as_documented(api: Any, spec: dict[str, Any], sample_catalogue: None,
                                         sample_token: str, other_token: str, frozen_clock: datetime,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    check = Checker(api, spec)
    token = sample_token

    check("GET", "/openapi.json", 200)
    config = check("GET", "/config", 200)
    assert config["province"]["code"] == "lamdong"
    # The pool's own rules (infra/template.json), read from Cognito.
    assert config["cognito"]["password_policy"] == {"min_length": 10, "require_lowercase": True,
                                                    "require_uppercase": True, "require_numbers": True,
                                                    "require_symbols": False}

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
    monkeypatch.setenv("MOTCUA_RATE_SUBMISSIONS_PER_HOUR", "0")  # a valid submission over the hour's share
    limited = check("POST", "/dossiers", 429, token, create_submission(documents=documents))
    assert limited["error"]["code"] == "rate_limited"
    monkeypatch.delenv("MOTCUA_RATE_SUBMISSIONS_PER_HOUR")
    receipt = check("POST", "/dossiers", 201, token, create_submission(documents=documents))
    code = receipt["code"]
    mine = check("GET", "/dossiers", 200, token)
    assert [d["code"] for d in mine["items"]] == [code]
    check("GET", "/dossiers?limit=1", 200, token)
    dossier = check("GET", f"/dossiers/{code}", 200, token)
    assert dossier["received_at"] is None and dossier["history"][0]["from_status_code"] is None
    assert dossier["slips"] == []
    assert check("GET", f"/track/{code}", 200)["current_step"] is None
    assert f"QR code to track dossier {code}" in check("GET", f"/track/{code}/qr", 200)
    check("GET", "/track/000.00.21.H38-261126-9999/qr", 404)
    check("GET", f"/track/{code}/qr?x=1", 422)
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
        concrete = concrete.replace("{task_id}", "5d41402abc4b2a76b971L0")
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

    agency_journey(check, token)
    results_journey(check, token, other_token)
    supplement_journey(check, token, monkeypatch)
    payments_journey(check, token, other_token, code, monkeypatch)

    documented = {(path, method, int(status)) for path, method, operation in operations(spec)
                  for status in operation["responses"] if (path, method) in ROUTES}
    # Every documented answer was seen, except two 409s of races: on submission (the counter or an
    # upload) and on a Stripe event (the dossier changed while the fee was recorded; Stripe retries).
    assert documented - check.seen == {("/dossiers", "post", 409), ("/webhooks/stripe", "post", 409)}


def test_a_lead_decides_after_its_parallel_agencies(api: Any, aws: dict[str, str], spec: dict[str, Any],
                                                    sample_token: str, frozen_clock: datetime) -> None:
    """The step's lead decides after its parallel agencies (chalicelib/domain/tasks.py): before them,
    its decision is refused as the document says a state that does not allow it is (409)."""
    procedure = create_procedure_dict("LT.0002", days=4, fee_vnd=0)
    procedure["route"] = [
        {"kind": "reception", "agency_code": DESK, "days": 1},
        {"kind": "processing", "agency_code": JUSTICE, "days": 3, "parallel": [{"agency_code": COMMUNE, "days": 2}]},
    ]
    get_store().put_catalogue(create_catalogue([procedure]))
    check = Checker(api, spec)
    keys = {agency: issue_key(agency, "openapi") for agency in (DESK, JUSTICE, COMMUNE)}
    ticket = check("POST", "/uploads", 201, sample_token, create_upload_request(size=4))
    requests.post(ticket["url"], data=ticket["fields"], files={"file": ("a.pdf", b"%PDF")}, timeout=10)
    code = check("POST", "/dossiers", 201, sample_token, create_submission(
        "LT.0002", documents=[{"document_id": "to_khai", "upload_id": ticket["upload_id"]}]))["code"]
    reception = task_for(check, keys[DESK], code)
    check("POST", f"/agency/tasks/{reception['task_id']}/decision", 200, keys[DESK], {"decision": "receive"})
    helper, lead = task_for(check, keys[COMMUNE], code), task_for(check, keys[JUSTICE], code)
    assert (helper["step"]["role"], lead["step"]["role"]) == ("helper", "lead")

    assert check("GET", f"/track/{code}", 200)["current_step"] == {
        "index": 1, "kind": "processing", "agency_codes": sorted([COMMUNE, JUSTICE]),
        "due_at": max(helper["due_at"], lead["due_at"])}
    early = check("POST", f"/agency/tasks/{lead['task_id']}/decision", 409, keys[JUSTICE], {"decision": "approve"})
    assert early["error"]["code"] == "parallel_agencies_pending"
    assert COMMUNE in early["error"]["message"]
    assert check("GET", "/agency/tasks", 200, keys[JUSTICE])["items"][0]["status"] == "open"
    helper_answer = check("POST", f"/agency/tasks/{helper['task_id']}/decision", 200, keys[COMMUNE],
                          {"decision": "approve"})
    assert helper_answer["dossier"]["status_code"] == 4
    approved = check("POST", f"/agency/tasks/{lead['task_id']}/decision", 200, keys[JUSTICE],
                     {"decision": "approve"})
    assert approved["dossier"]["status_code"] == 9
