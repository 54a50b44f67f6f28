"""An agency's webhook signing secrets over time: the current one and, during a rotation's grace
period, the ones being retired. Pure data; Secrets Manager holds it (integrations/webhook_secrets.py).

The stored document is ``{"secrets": [{"secret": "whsec_…", "created_at": iso, "retire_at": iso|null}]}``,
oldest first. Every secret not yet retired signs each delivery (Standard Webhooks allows several
``v1,…`` signatures in one header; a receiver accepts the delivery if any of them matches), so an
agency can switch its receiver to the new secret at any moment of the grace period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_GRACE = timedelta(days=30)


@dataclass(frozen=True)
class SigningSecret:
    secret: str
    created_at: datetime
    retire_at: datetime | None = None  # None: the current secret, no end planned

    def active(self, at: datetime) -> bool:
        return self.retire_at is None or at < self.retire_at


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="seconds")


def _parse_time(value: object, field: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{field} is not an ISO 8601 string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"{field} has no time zone")
    return parsed.astimezone(UTC)


def to_document(secrets: Iterable[SigningSecret]) -> dict[str, Any]:
    return {"secrets": [{"secret": item.secret, "created_at": _iso(item.created_at),
                         "retire_at": _iso(item.retire_at) if item.retire_at is not None else None}
                        for item in secrets]}


def from_document(document: object) -> tuple[SigningSecret, ...]:
    """Raises ValueError on anything but the documented shape (the values are not checked here:
    signing checks each secret's format)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("secrets"), list):
        raise ValueError('expected {"secrets": [...]}')
    found: list[SigningSecret] = []
    for index, entry in enumerate(document["secrets"]):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("secret"), str) or not entry["secret"]:
            raise ValueError(f"secrets[{index}] has no secret")
        created_at = _parse_time(entry.get("created_at"), f"secrets[{index}].created_at")
        retire_at = entry.get("retire_at")
        if retire_at is not None:
            retire_at = _parse_time(retire_at, f"secrets[{index}].retire_at")
        found.append(SigningSecret(entry["secret"], created_at, retire_at))
    return tuple(found)


def signing_secrets(secrets: Sequence[SigningSecret], at: datetime) -> list[str]:
    """The secrets that sign a delivery made at ``at``: every one not yet retired, newest first,
    each once."""
    chosen: list[str] = []
    for item in reversed(secrets):  # stored oldest first
        if item.active(at) and item.secret not in chosen:
            chosen.append(item.secret)
    return chosen


def current(secrets: Sequence[SigningSecret], at: datetime) -> SigningSecret | None:
    """The secret an agency should be using now: the newest one still active."""
    return next((item for item in reversed(secrets) if item.active(at)), None)


def prune(secrets: Sequence[SigningSecret], at: datetime) -> tuple[SigningSecret, ...]:
    """Drops the secrets retired by ``at``."""
    return tuple(item for item in secrets if item.active(at))


def rotate(secrets: Sequence[SigningSecret], new: str, at: datetime, grace: timedelta) -> tuple[SigningSecret, ...]:
    """Adds ``new`` as the current secret; every other secret still active retires at ``at + grace``
    (or earlier, if it was already due to); those already retired are dropped."""
    if grace < timedelta(0) or grace > MAX_GRACE:
        raise ValueError(f"the grace period is between 0 and {MAX_GRACE.days} days")
    if at.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    if any(item.secret == new for item in secrets):
        raise ValueError("the new secret is already in use")
    retire_at = at + grace
    kept = tuple(replace(item, retire_at=retire_at if item.retire_at is None else min(item.retire_at, retire_at))
                 for item in prune(secrets, at))
    return (*(item for item in kept if item.active(at)), SigningSecret(new, at))
