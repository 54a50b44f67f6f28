"""Citizens in a Cognito user pool as the local stack, the tests and the benchmarks create them:
confirmed, with a permanent password (no e-mailed code, no first-sign-in challenge), and signed in
for the ID token the API takes as ``Authorization: Bearer``."""

from __future__ import annotations

import contextlib
from typing import Any


def create_confirmed_citizen(cognito: Any, pool_id: str, email: str, password: str, *, name: str | None = None,
                             exist_ok: bool = False) -> None:
    """An administrator's sign-up of ``email`` (verified), with ``password`` set for good."""
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    if name is not None:
        attributes.append({"Name": "name", "Value": name})
    suppressed = (cognito.exceptions.UsernameExistsException,) if exist_ok else ()
    with contextlib.suppress(*suppressed):
        cognito.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
                                  UserAttributes=attributes)
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)


def id_token(cognito: Any, client_id: str, email: str, password: str) -> str:
    """Signs in through the app client (USER_PASSWORD_AUTH): the Cognito ID token."""
    result = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": email, "PASSWORD": password})
    token: str = result["AuthenticationResult"]["IdToken"]
    return token


def signed_in_citizen(cognito: Any, pool_id: str, client_id: str, email: str, password: str, *,
                      name: str | None = None) -> str:
    """A new confirmed citizen, signed in: their ID token."""
    create_confirmed_citizen(cognito, pool_id, email, password, name=name)
    return id_token(cognito, client_id, email, password)
