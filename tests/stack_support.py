"""Helpers for tests that drive a running local stack over HTTP (tests/e2e, tests/browser)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def cognito_client(stack: dict[str, Any]) -> Any:
    """boto3's Cognito client on the stack's moto (stack.json's endpoint and region)."""
    import boto3

    return boto3.client("cognito-idp", endpoint_url=stack["aws_endpoint"], region_name=stack["region"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def signed_in_citizen(stack: dict[str, Any], client: Any, password: str, prefix: str = "citizen") -> tuple[str, str]:
    """A citizen as sign-up leaves one, made quickly with the admin API, then signed in through the
    app client: their e-mail and a real Cognito ID token."""
    from tools import citizens

    email = f"{prefix}-{uuid.uuid4().hex[:10]}@example.vn"
    return email, citizens.signed_in_citizen(client, stack["cognito"]["user_pool_id"], stack["cognito"]["client_id"],
                                             email, password)


def wait_for(probe: Callable[[], T | None], seconds: float = 30) -> T:
    """Polls ``probe`` until it gives something truthy (the stack works in the background)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds:g} s waiting for the stack")
