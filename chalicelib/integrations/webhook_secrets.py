"""Agencies' webhook signing secrets in Secrets Manager: one secret per agency, named
``motcua/<province>/webhooks/<agency code>``, holding the JSON document of
``chalicelib.domain.webhook_secrets``. The table's endpoint item only names it.

The webhook worker reads through Powertools Parameters, cached ``MAX_AGE_SECONDS`` per Lambda
container (a rotation reaches every container within that time; the grace period covers it).
Ops read with ``force=True`` (no cache) and write: creating and updating secrets is an ops
action, run with the operator's credentials, never inside a Lambda function.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from chalicelib.domain.webhook_secrets import SigningSecret, from_document, to_document
from chalicelib.integrations.aws import client

MAX_AGE_SECONDS = 300


class SecretUnavailable(Exception):
    """The secret could not be read (missing, no permission, throttled, malformed)."""


def secret_name(province: str, agency_code: str) -> str:
    # Secrets Manager names allow letters, digits and /_+=.@-: agency codes (000.00.21.H38) fit.
    return f"motcua/{province}/webhooks/{agency_code}"


def read(name: str, *, force: bool = False) -> tuple[SigningSecret, ...]:
    from aws_lambda_powertools.utilities import parameters

    try:
        value = parameters.get_secret(name, transform="json", max_age=MAX_AGE_SECONDS, force_fetch=force)
    except (parameters.GetParameterError, parameters.TransformParameterError) as error:
        raise SecretUnavailable(f"cannot read the webhook secret {name}: {error}") from error
    try:
        return from_document(value)
    except ValueError as error:
        raise SecretUnavailable(f"the webhook secret {name} is malformed: {error}") from None


def _region() -> str:
    from chalicelib.config import get_settings

    return get_settings().region


def write(name: str, secrets: Sequence[SigningSecret], *, description: str = "") -> None:
    """Creates the secret, or stores a new version of it (the previous one stays as AWSPREVIOUS)."""
    from botocore.exceptions import ClientError

    body = json.dumps(to_document(secrets))
    manager = client("secretsmanager", _region())
    try:
        manager.create_secret(Name=name, SecretString=body, Description=description)
        return
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceExistsException":
            raise
    manager.put_secret_value(SecretId=name, SecretString=body)
