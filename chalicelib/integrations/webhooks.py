"""Webhooks to agencies, per the Standard Webhooks specification: signing, one delivery, the retry policy.

No AWS and no database here. The dispatcher owns the loop: it calls ``deliver`` once per SQS
message and acts on the ``DeliveryResult`` (delete the message; send it again with
``DelaySeconds=policy.delay(...)`` and the *same* webhook id; dead-letter it once
``policy.exhausted(...)``; disable the endpoint on ``gone``).

Which answers are retried follows GOV.UK Notify's callbacks: network errors, 5xx and 429
only. Any other answer means the receiver looked at the request and refused it; sending
the same bytes again cannot change its mind.
"""

from __future__ import annotations

import base64
import binascii
import http.cookiejar
import json
import math
import random
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    # requests (with charset_normalizer and idna) loads with the first delivery: the API's
    # handlers reach this module through the routing services but never deliver.
    import requests

USER_AGENT = "motcua-webhooks/1"
SECRET_PREFIX = "whsec_"
SQS_MAX_DELAY_SECONDS = 900  # SendMessage's DelaySeconds ceiling: a longer wait needs another hop
_SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes
_ERROR_MAX_CHARS = 500  # results end up in logs and DynamoDB: keep them short

Outcome = Literal["delivered", "retry", "failed", "gone"]


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    status: int | None  # the HTTP status, None when no answer came back
    retry_after_seconds: float | None  # from Retry-After on 429/503, clamped to [0, 900]
    error: str | None  # why it was not delivered, for logs and the endpoint's status page


@dataclass(frozen=True)
class RetryPolicy:
    """Full-jitter exponential backoff ("Exponential Backoff And Jitter", AWS Architecture Blog).

    ``attempt`` counts delivery attempts made so far, the one that just failed included
    (1 after the first failure). Delays stay within SQS's 900 s so that a retry is one
    ``SendMessage`` with ``DelaySeconds``.
    """

    max_attempts: int = 8
    base_seconds: float = 5
    cap_seconds: float = SQS_MAX_DELAY_SECONDS

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_seconds <= 0:
            raise ValueError("base_seconds must be positive")
        if not 0 < self.cap_seconds <= SQS_MAX_DELAY_SECONDS:
            raise ValueError(f"cap_seconds must be in (0, {SQS_MAX_DELAY_SECONDS}]")

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
        """Seconds to wait before the next attempt: random in [0, min(cap, base·2^(attempt-1))].

        A receiver's Retry-After is a floor (it asked for that much quiet), the 900 s ceiling
        wins over both.
        """
        if attempt < 1:
            raise ValueError("attempt counts attempts made so far and starts at 1")
        # min() before the power would overflow on absurd attempt numbers; 2**60 is plenty.
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** min(attempt - 1, 60))
        delay = (rng or random).uniform(0, ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(max(delay, 0.0), float(SQS_MAX_DELAY_SECONDS))

    def exhausted(self, attempt: int) -> bool:
        """True once ``attempt`` attempts have been made and none may follow (dead-letter it)."""
        return attempt >= self.max_attempts


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` + base64 of 32 random bytes, to give to one agency."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def check_secret(secret: str) -> None:
    """Raises ValueError unless ``secret`` is ``whsec_`` + strict base64 of 24 to 64 bytes.

    The library itself is lenient: it drops characters that are not base64, so a secret
    mangled in copy-paste would quietly sign with a different key.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        encoded = secret[len(SECRET_PREFIX) :]
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)  # padding is optional
    except binascii.Error as error:
        raise ValueError("a webhook secret is base64 after its prefix") from error
    if not 24 <= len(key) <= 64:
        raise ValueError("a webhook secret holds 24 to 64 random bytes")


def sign(secret: str | Sequence[str], webhook_id: str, timestamp: datetime, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` sent as ``webhook_id`` at ``timestamp``.

    With several secrets (a rotation's grace period), ``webhook-signature`` carries one
    ``v1,<base64>`` per secret, space-separated, as the specification allows: a receiver that
    knows any one of them accepts the delivery.
    """
    from standardwebhooks import Webhook  # imported when first used, like the other integrations

    secrets = [secret] if isinstance(secret, str) else list(dict.fromkeys(secret))
    if not secrets:
        raise ValueError("no webhook secret to sign with")
    for each in secrets:
        check_secret(each)
    if timestamp.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    # standardwebhooks' sign() does timestamp.replace(tzinfo=UTC): it relabels rather than
    # converts, so an aware Vietnam-time datetime would be signed 7 hours off. Convert first.
    utc = timestamp.astimezone(UTC)
    # It signs str, not bytes (and verify() decodes the body as UTF-8 before checking).
    text = body.decode("utf-8")
    signature = " ".join(str(Webhook(each).sign(webhook_id, utc, text)) for each in secrets)
    return {
        "webhook-id": webhook_id,
        # The header must carry exactly the seconds the library signed: it floors.
        "webhook-timestamp": str(math.floor(utc.timestamp())),
        "webhook-signature": signature,
    }


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The body as sent: compact UTF-8 JSON, Vietnamese left readable."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


@lru_cache(maxsize=1)
def _default_session() -> requests.Session:
    import requests

    session = requests.Session()
    # One session is shared by every agency: cookies set by one must never reach the next request.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _permanent_request_errors() -> tuple[type[Exception], ...]:
    """Errors of our own configuration (a malformed endpoint URL): no retry will fix them."""
    import requests

    return (
        requests.exceptions.InvalidURL,
        requests.exceptions.MissingSchema,
        requests.exceptions.InvalidSchema,
        requests.exceptions.InvalidHeader,
    )


def deliver(
    url: str,
    secret: str | Sequence[str],
    webhook_id: str,
    event: dict[str, Any],
    *,
    timeout: float = 10,
    session: requests.Session | None = None,
    now: Callable[[], datetime] | None = None,
) -> DeliveryResult:
    """POST one signed event to ``url`` once (signed with each of ``secret`` when several); never
    follows redirects.

    Pass the same ``webhook_id`` on every retry of one event: receivers dedup by it.
    Each attempt is signed afresh with the current time, so a retry hours later is not
    refused as stale by the receiver's 5-minute window.
    """
    import requests

    clock = now or _utcnow
    body = encode_event(event)
    try:
        signed = sign(secret, webhook_id, clock(), body)
    except ValueError as error:
        # A malformed secret is our configuration's fault: retrying cannot fix it, ops must.
        return DeliveryResult("failed", None, None, f"cannot sign: {error}")
    headers = {**signed, "content-type": "application/json", "user-agent": USER_AGENT}
    client = session or _default_session()
    try:
        # stream=True: only the status line and headers are read; a receiver that answers with
        # a large (or endless) body costs nothing.
        response = client.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True)
    except _permanent_request_errors() as error:
        return DeliveryResult("failed", None, None, _describe(error))
    except requests.RequestException as error:
        # Connection refused or reset, DNS, TLS, connect or read timeout: the receiver may be back later.
        return DeliveryResult("retry", None, None, _describe(error))
    try:
        return _classify(response, clock)
    finally:
        response.close()


def _classify(response: requests.Response, clock: Callable[[], datetime]) -> DeliveryResult:
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryResult("delivered", status, None, None)
    if status == 410:
        return DeliveryResult("gone", status, None, "410 Gone: the receiver unsubscribed")
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(response.headers.get("retry-after"), _reference_time(response, clock))
    if status == 429 or 500 <= status < 600:
        return DeliveryResult("retry", status, retry_after, _status_error(response))
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        return DeliveryResult("failed", status, None, _truncate(f"HTTP {status} redirect to {location!r} not followed"))
    return DeliveryResult("failed", status, None, _status_error(response))


def _status_error(response: requests.Response) -> str:
    return _truncate(f"HTTP {response.status_code} {response.reason or ''}".rstrip())


def _reference_time(response: requests.Response, clock: Callable[[], datetime]) -> datetime:
    # An HTTP-date Retry-After is on the receiver's clock: measure it from the response's own
    # Date header when there is one, so that a receiver whose clock is off still gets its pause.
    try:
        date = parsedate_to_datetime(response.headers.get("date", ""))
    except (TypeError, ValueError, IndexError):
        return clock()
    return date if date.tzinfo is not None else date.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from ``now`` (RFC 9110: delay-seconds or an HTTP-date), clamped to [0, 900]."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000" means UTC without saying so
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), float(SQS_MAX_DELAY_SECONDS))


def _describe(error: BaseException) -> str:
    return _truncate(f"{type(error).__name__}: {error}")


def _truncate(text: str) -> str:
    return text if len(text) <= _ERROR_MAX_CHARS else text[: _ERROR_MAX_CHARS - 1] + "…"
