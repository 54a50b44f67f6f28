"""Verifies Cognito ID tokens against the user pool's JWKS.

The same code serves real Cognito and moto's: moto signs RS256 tokens with the
real issuer and serves the JWKS under its own endpoint.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import Unauthenticated

if TYPE_CHECKING:
    # PyJWT (with cryptography) and requests load on the first signed-in request: the public
    # endpoints, and a cold start serving one, never need them.
    import jwt

    from chalicelib.config import Settings

_JWKS_TTL_SECONDS = 3600
_JWKS_MIN_REFRESH_SECONDS = 30  # a flood of unknown key ids must not become a flood of fetches


@dataclass(frozen=True)
class Citizen:
    sub: str
    email: str | None
    name: str | None


class _JwksCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, dict[str, jwt.PyJWK]] = {}
        self._fetched_at: dict[str, float] = {}

    def key(self, url: str, kid: str) -> jwt.PyJWK | None:
        now = time.monotonic()
        with self._lock:
            keys = self._keys.get(url)
            age = now - self._fetched_at.get(url, 0.0)
            stale = keys is None or age > _JWKS_TTL_SECONDS
            unknown = keys is not None and kid not in keys and age > _JWKS_MIN_REFRESH_SECONDS
        if stale or unknown:
            self._refresh(url)
        with self._lock:
            return self._keys.get(url, {}).get(kid)

    def _refresh(self, url: str) -> None:
        import jwt
        import requests

        try:
            response = requests.get(url, timeout=5)
            response.raise_for_status()
            jwk_set = jwt.PyJWKSet.from_dict(response.json())
        except (requests.RequestException, ValueError, jwt.PyJWKSetError) as error:
            raise Unauthenticated(
                "Không kiểm tra được phiên đăng nhập / Cannot verify sign-in right now",
                code="token_unverifiable",
            ) from error
        keys = {jwk.key_id: jwk for jwk in jwk_set.keys if jwk.key_id}
        with self._lock:
            self._keys[url] = keys
            self._fetched_at[url] = time.monotonic()


_cache = _JwksCache()

_INVALID = "Phiên đăng nhập không hợp lệ hoặc đã hết hạn / Invalid or expired token"


def verify_id_token(token: str, settings: Settings) -> Citizen:
    if not settings.cognito_user_pool_id or not settings.cognito_client_id:
        raise Unauthenticated("Đăng nhập chưa được cấu hình / Sign-in is not configured", code="auth_unavailable")
    import jwt

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthenticated(_INVALID, code="invalid_token") from None
    kid = header.get("kid")
    if header.get("alg") != "RS256" or not isinstance(kid, str):
        raise Unauthenticated(_INVALID, code="invalid_token")
    key = _cache.key(settings.cognito_jwks_url, kid)
    if key is None:
        raise Unauthenticated(_INVALID, code="invalid_token")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=["RS256"],
            audience=settings.cognito_client_id,
            issuer=settings.cognito_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("Phiên đăng nhập đã hết hạn / Token expired", code="token_expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated(_INVALID, code="invalid_token") from None
    if claims.get("token_use") != "id":
        raise Unauthenticated(_INVALID, code="invalid_token")
    return Citizen(sub=str(claims["sub"]), email=claims.get("email"), name=claims.get("name"))


_POLICY_TTL_SECONDS = 3600
_policies: dict[str, tuple[float, dict[str, Any] | None]] = {}
_policies_lock = threading.Lock()


def password_policy(settings: Settings) -> dict[str, Any] | None:
    """The citizen pool's password policy as the web front shows it, read from Cognito (the pool
    is the one truth: ops may tighten it per province), kept an hour per process. ``None`` when
    Cognito cannot say (the front then lets Cognito judge the password)."""
    pool = settings.cognito_user_pool_id
    if not pool:
        return None
    now = time.monotonic()
    with _policies_lock:
        cached = _policies.get(pool)
        if cached is not None and now - cached[0] < _POLICY_TTL_SECONDS:
            return cached[1]
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.integrations.aws import client

    try:
        described = client("cognito-idp", settings.region).describe_user_pool(UserPoolId=pool)
        rules = described["UserPool"]["Policies"]["PasswordPolicy"]
        policy: dict[str, Any] | None = {
            "min_length": int(rules.get("MinimumLength", 8)),
            "require_lowercase": bool(rules.get("RequireLowercase", False)),
            "require_uppercase": bool(rules.get("RequireUppercase", False)),
            "require_numbers": bool(rules.get("RequireNumbers", False)),
            "require_symbols": bool(rules.get("RequireSymbols", False)),
        }
    except (BotoCoreError, ClientError, KeyError):
        policy = None
    with _policies_lock:
        _policies[pool] = (now, policy)
    return policy
