"""Fixtures shared by the integration tests (moto in-process, chalice.test.Client)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
from botocore.client import BaseClient
from pynamodb.connection.base import Connection

from chalicelib.services import deps
from chalicelib.services.deps import get_store
from tests.conftest import create_citizen
from tests.factories import create_catalogue
from tests.infra.test_policies import S3_ALIASES, actions_of, policy
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
# stack (the tests drive each function as its event source would).
_ENTRY_POINTS = {
    "_get_view_function_response": "api_handler",  # chalice's dispatch of an API request
    "handle_task_message": "on_task_message",
    "handle_webhook_message": "on_webhook_message",
    "handle_stream_record": "on_table_record",
    "handle_stream_batch": "on_table_record",
    "handle_storage_event": "on_upload_event",
}
_TRANSACTION_ITEM_ACTION = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                            "ConditionCheck": "ConditionCheckItem"}


@cache
def _granted(function: str) -> frozenset[str]:
    return frozenset(actions_of(policy(function)))


def _calling_function() -> str | None:
    frame = sys._getframe(2)
    while frame is not None:
        function = _ENTRY_POINTS.get(frame.f_code.co_name)
        if function is not None:
            return function
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
        function = _calling_function()
        if function is not None:
            made.setdefault(function, set()).add(S3_ALIASES.get(action, action))

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
    missing = {function: sorted(actions - _granted(function)) for function, actions in sorted(made.items())}
    assert not {function: actions for function, actions in missing.items() if actions}, (
        f"AWS calls the function's IAM policy file does not grant: {missing}")
