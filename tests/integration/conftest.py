"""Fixtures shared by the integration tests (moto in-process, chalice.test.Client)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from botocore.client import BaseClient
from pynamodb.connection.base import Connection

from chalicelib.services import deps
from chalicelib.services.deps import get_store
from tests.conftest import create_citizen
from tests.factories import create_catalogue
from tests.integration.route_support import Agencies

# Thursday 26 November 2026, 09:00 in Vietnam.
SAMPLE_NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.fixture
def sample_catalogue(aws: dict[str, str]) -> None:
    get_store().put_catalogue(create_catalogue())


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(deps, "now", lambda: SAMPLE_NOW)
    for module in ("chalicelib.services.dossiers", "chalicelib.services.uploads", "chalicelib.services.routing"):
        monkeypatch.setattr(f"{module}.now", lambda: SAMPLE_NOW)
    return SAMPLE_NOW


@pytest.fixture
def sample_token(aws: dict[str, str]) -> str:
    return create_citizen(aws, "an.nguyen@example.vn")


@pytest.fixture
def other_token(aws: dict[str, str]) -> str:
    return create_citizen(aws, "binh.tran@example.vn")


@pytest.fixture
def agencies(api: Any) -> Agencies:
    """The sample agencies answering through the agency API, each with a key issued on first use."""
    return Agencies(api)


# The Lambda function a call is made for: the entry point its event source calls, found on the
# stack (the tests drive each function as its event source would), and the function's IAM policy.
_ENTRY_POINTS = {
    "_get_view_function_response": "policy-api.json",  # chalice's dispatch of an API request
    "handle_task_message": "policy-task-worker.json",
    "handle_webhook_message": "policy-webhook-worker.json",
    "handle_stream_record": "policy-table-events.json",
    "handle_stream_batch": "policy-table-events.json",
    "handle_storage_event": "policy-upload-events.json",
}
_IAM_ACTION = {"s3:HeadObject": "s3:GetObject"}  # HeadObject is authorised as GetObject
_TRANSACTION_ITEM_ACTION = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                            "ConditionCheck": "ConditionCheckItem"}
_POLICIES = Path(__file__).resolve().parents[2] / ".chalice"


@cache
def _granted(policy_file: str) -> frozenset[str]:
    statements = json.loads((_POLICIES / policy_file).read_text(encoding="utf-8"))["Statement"]
    return frozenset(action for s in statements if s["Effect"] == "Allow"
                     for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))


def _calling_function() -> str | None:
    frame = sys._getframe(2)
    while frame is not None:
        policy = _ENTRY_POINTS.get(frame.f_code.co_name)
        if policy is not None:
            return policy
        frame = frame.f_back  # type: ignore[assignment]
    return None


@pytest.fixture(autouse=True)
def aws_calls_are_granted(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every AWS call a function's code path makes in a test is granted by that function's IAM
    policy file. moto does not enforce IAM: a missing grant would only show in AWS, as every
    request of that kind failing there."""
    made: dict[str, set[str]] = {}
    real_call = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private, not in the stubs
    real_dispatch = Connection.dispatch

    def record(action: str) -> None:
        policy = _calling_function()
        if policy is not None:
            made.setdefault(policy, set()).add(_IAM_ACTION.get(action, action))

    def record_call(prefix: str, operation: str, params: dict[str, Any]) -> None:
        if operation == "TransactWriteItems":
            # IAM authorises a transaction by the actions of its items.
            for item in params.get("TransactItems", []):
                for kind in item:
                    record(f"dynamodb:{_TRANSACTION_ITEM_ACTION.get(kind, kind)}")
        else:
            record(f"{prefix}:{operation}")

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        record_call(client.meta.service_model.signing_name, operation, params)
        return real_call(client, operation, params)

    def dispatch(connection: Connection, operation: str, kwargs: dict[str, Any]) -> Any:
        record_call("dynamodb", operation, kwargs)
        return real_dispatch(connection, operation, kwargs)

    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    monkeypatch.setattr(Connection, "dispatch", dispatch)
    yield
    missing = {policy: sorted(actions - _granted(policy)) for policy, actions in sorted(made.items())}
    assert not {policy: actions for policy, actions in missing.items() if actions}, (
        f"AWS calls the function's IAM policy does not grant: {missing}")
