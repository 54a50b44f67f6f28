"""Shared fixtures: AWS on moto in-process, the API through chalice.test.Client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
REGION = "ap-southeast-1"
PROVINCE = "lamdong"
LAMDONG = ROOT / "infra" / "provinces" / "lamdong"


@pytest.fixture(autouse=True)
def container_has_seen_nothing() -> Iterator[None]:
    """Each test starts as a fresh container: no agency key nor task remembered (seen_tasks)."""
    from chalicelib.services import seen_tasks

    seen_tasks.forget_all()
    yield
    seen_tasks.forget_all()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def _stage_environment() -> dict[str, str]:
    import json

    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    env: dict[str, str] = dict(config.get("environment_variables", {}))
    env.update(config["stages"]["local"].get("environment_variables", {}))
    return env


@pytest.fixture
def aws(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """moto in-process with the resources of infra/template.json and the local stage's settings."""
    from moto import mock_aws

    from tools.aws_resources import create_resources
    from tools.moto_patches import apply_post_tagging, serialize_dynamodb

    serialize_dynamodb()
    apply_post_tagging()
    # Powertools caches secrets per process (as per Lambda container): one test's webhook
    # secrets must not sign the next test's deliveries.
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    # Stores remember the catalogue per container: a fresh table starts with fresh stores.
    from chalicelib.services import deps

    deps._store.cache_clear()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        outputs = create_resources(ROOT / "infra" / "template.json", province=PROVINCE, endpoint_url=None,
                                   region=REGION)
        for key, value in _stage_environment().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("MOTCUA_COGNITO_USER_POOL_ID", outputs["CitizenUserPoolId"])
        monkeypatch.setenv("MOTCUA_COGNITO_CLIENT_ID", outputs["CitizenUserPoolClientId"])
        monkeypatch.setenv("MOTCUA_ROUTE_STATE_MACHINE_ARN", outputs["RouteStateMachineArn"])
        monkeypatch.setenv("MOTCUA_TASK_QUEUE_URL", outputs["TaskQueueUrl"])
        monkeypatch.setenv("MOTCUA_WEBHOOK_QUEUE_URL", outputs["WebhookQueueUrl"])
        monkeypatch.setenv("MOTCUA_WEBHOOK_DLQ_URL", outputs["WebhookDeadLetterQueueUrl"])
        monkeypatch.setenv("MOTCUA_NOTIFY_FROM_EMAIL", outputs["NotifyFromEmail"])
        monkeypatch.setenv("MOTCUA_WEBHOOK_RETRY_BASE_SECONDS", "0.01")
        monkeypatch.delenv("MOTCUA_COGNITO_ENDPOINT", raising=False)
        yield outputs


@pytest.fixture
def api(aws: dict[str, str]) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as client:
        yield client


def create_citizen(outputs: dict[str, str], email: str, password: str = "Sample-Passw0rd") -> str:
    """Signs a citizen up in moto's Cognito and returns their ID token."""
    import boto3

    from tools.citizens import signed_in_citizen

    cognito = boto3.client("cognito-idp", region_name=os.environ["AWS_REGION"])
    return signed_in_citizen(cognito, outputs["CitizenUserPoolId"], outputs["CitizenUserPoolClientId"], email,
                             password)
