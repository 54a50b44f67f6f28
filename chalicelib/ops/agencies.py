"""``agency …``: adding agencies, their API keys and their webhook endpoints."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from chalicelib.domain.agency_keys import StoredKey, is_key_id, parse_key
from chalicelib.domain.catalogue import PROVINCE_FILE, Agency, CatalogueError, agency_from_dict
from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.domain.webhook_secrets import MAX_GRACE, SigningSecret, current, prune, rotate
from chalicelib.domain.webhook_urls import WebhookUrlError, check_webhook_url
from chalicelib.integrations import webhook_secrets
from chalicelib.integrations.webhooks import new_secret
from chalicelib.ops.environment import UsageError
from chalicelib.services import agency_auth, webhooks
from chalicelib.services.deps import get_store, now
from chalicelib.store import webhooks as endpoints

DEFAULT_KEY_LABEL = "ops"
DEFAULT_GRACE_HOURS = 24.0


def fingerprint(secret: str) -> str:
    """A short, non-secret name for a secret (the first 12 hex digits of its SHA-256)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


def _known_agency(code: str) -> Agency:
    agency = get_store().get_agency(code) if code else None
    if agency is None:
        raise UsageError(f"unknown agency {code!r}: add it first (agency add)")
    return agency


def _tiers(directory: Path) -> list[str]:
    try:
        province = json.loads((directory / PROVINCE_FILE).read_text(encoding="utf-8"))
        return [str(tier["code"]) for tier in province["tiers"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UsageError(f"cannot read the province's tiers from {directory / PROVINCE_FILE}: {error}") from None


def add(out: TextIO, *, code: str, name: str, tier: str, parent: str | None, name_en: str, update: bool,
        directory: Path) -> None:
    data: dict[str, object] = {"code": code, "name": name, "tier": tier, "name_en": name_en}
    if parent:
        data["parent_code"] = parent
    try:
        agency = agency_from_dict(data)
    except CatalogueError as error:
        raise UsageError(f"invalid agency: {error.field}: {error.message}") from None
    tiers = _tiers(directory)
    if agency.tier not in tiers:
        raise UsageError(f"unknown tier {agency.tier!r}; the province's tiers are {', '.join(tiers)}")
    store = get_store()
    existing = store.get_agency(agency.code)
    if existing is not None:
        agency = replace(agency, webhook_url=existing.webhook_url)
    if parent:
        chain: str | None = parent
        while chain is not None:
            found = store.get_agency(chain)
            if found is None:
                raise UsageError(f"unknown parent agency {chain!r}")
            if found.code == agency.code:
                raise UsageError(f"parent {parent} would make a loop through {agency.code}")
            chain = found.parent_code
    if existing == agency:
        print(f"no change: agency {agency.code} already exists as given", file=out)
        return
    if existing is not None:
        changes = [f"{field}: {getattr(existing, field)!r} → {getattr(agency, field)!r}"
                   for field in ("name", "name_en", "tier", "parent_code")
                   if getattr(existing, field) != getattr(agency, field)]
        if not update:
            raise UsageError(f"agency {agency.code} already exists with other values ({'; '.join(changes)}); "
                             "pass --update to change it")
        store.put_agency(agency)
        print(f"updated agency {agency.code}: {'; '.join(changes)}", file=out)
        return
    store.put_agency(agency)
    print(f"added agency {agency.code} {agency.name!r} (tier {agency.tier}"
          f"{', parent ' + agency.parent_code if agency.parent_code else ''})", file=out)


# --- API keys ------------------------------------------------------------------------------


def _keys(code: str) -> list[StoredKey]:
    _known_agency(code)
    return agency_auth.list_keys(code)


def _key_of(keys: list[StoredKey], code: str, key_id: str) -> StoredKey:
    if not is_key_id(key_id):
        raise UsageError(f"{key_id!r} is not a key id (8 lowercase hex digits)")
    key = next((key for key in keys if key.key_id == key_id), None)
    if key is None:
        raise UsageError(f"agency {code} has no key {key_id}")
    return key


def _issue(out: TextIO, code: str, label: str) -> str:
    try:
        plaintext = agency_auth.issue_key(code, label)
    except InvalidInput as error:
        raise UsageError(error.message) from None
    parsed = parse_key(plaintext)
    key_id = parsed.key_id if parsed is not None else "?"
    print(f"issued API key {key_id} to agency {code} (label {label!r}); the key, shown this once only:", file=out)
    print(plaintext, file=out)
    return key_id


def issue_key(out: TextIO, *, code: str, label: str) -> None:
    active = [key for key in _keys(code) if not key.revoked and key.label == label]
    if active:
        key = active[-1]
        print(f"no change: agency {code} already has active key {key.key_id} labelled {label!r} "
              f"(issued {key.created_at:%Y-%m-%d %H:%M} UTC; its secret was shown then). "
              f"For a new one: agency key rotate --agency {code} --key-id {key.key_id}", file=out)
        return
    _issue(out, code, label)


def rotate_key(out: TextIO, *, code: str, key_id: str | None) -> None:
    keys = _keys(code)
    if key_id is not None:
        old = _key_of(keys, code, key_id)
        if old.revoked:
            assert old.revoked_at is not None
            active = ", ".join(key.key_id for key in keys if not key.revoked) or "none"
            print(f"no change: key {old.key_id} of agency {code} was already revoked "
                  f"({old.revoked_at:%Y-%m-%d %H:%M} UTC); active keys: {active}", file=out)
            return
    else:
        active_keys = [key for key in keys if not key.revoked]
        if not active_keys:
            raise UsageError(f"agency {code} has no active key to rotate: agency key issue --agency {code}")
        if len(active_keys) > 1:
            raise UsageError(f"agency {code} has several active keys ({', '.join(k.key_id for k in active_keys)}): "
                             "pass --key-id")
        old = active_keys[0]
    new_id = _issue(out, code, old.label)
    agency_auth.revoke_key(old.key_id)
    print(f"revoked the old key {old.key_id} (agency {code}); give the agency key {new_id}", file=out)


def revoke_key(out: TextIO, *, code: str, key_id: str | None, revoke_all: bool) -> None:
    if (key_id is None) == (not revoke_all):
        raise UsageError("pass --key-id ID, or --all to revoke every active key of the agency")
    keys = _keys(code)
    chosen = [_key_of(keys, code, key_id)] if key_id is not None else [key for key in keys if not key.revoked]
    pending = [key for key in chosen if not key.revoked]
    if not pending:
        what = f"key {key_id} is not" if key_id is not None else "no key is"
        print(f"no change: {what} active for agency {code}", file=out)
        return
    for key in pending:
        try:
            agency_auth.revoke_key(key.key_id)
        except NotFound as error:  # pragma: no cover - listed a moment ago
            raise UsageError(error.message) from None
        print(f"revoked API key {key.key_id} of agency {code} (label {key.label!r})", file=out)


# --- webhooks ------------------------------------------------------------------------------


def _secrets(endpoint: endpoints.WebhookEndpoint, at: datetime) -> tuple[SigningSecret, ...]:
    """The endpoint's secrets as stored now (no cache): ops must see a rotation at once."""
    if endpoint.secret_name is None:
        return (SigningSecret(endpoint.legacy_secret, at),) if endpoint.legacy_secret else ()
    try:
        return webhook_secrets.read(endpoint.secret_name, force=True)
    except webhook_secrets.SecretUnavailable as error:
        raise UsageError(f"{error} (does the secret exist, and may you read it?)") from None


def _current_fingerprint(secrets: tuple[SigningSecret, ...], at: datetime) -> str:
    found = current(secrets, at)
    return fingerprint(found.secret) if found is not None else "none"


def _migrate(out: TextIO, endpoint: endpoints.WebhookEndpoint, at: datetime) -> endpoints.WebhookEndpoint:
    if endpoint.secret_name is not None:
        return endpoint
    migrated = webhooks.migrate_legacy_secret(endpoint, at)
    print(f"moved the webhook secret of agency {endpoint.agency_code} "
          f"({fingerprint(endpoint.legacy_secret or '')}) from the table to Secrets Manager "
          f"({migrated.secret_name})", file=out)
    return migrated


def set_url(out: TextIO, *, code: str, url: str, local: bool) -> None:
    _known_agency(code)
    try:
        check_webhook_url(url, allow_local=local)
    except WebhookUrlError as error:
        raise UsageError(f"refused webhook URL: {error}") from None
    endpoint = endpoints.get_endpoint(code)
    if endpoint is None:
        secret = webhooks.create_endpoint(code, url)
        print(f"set the webhook URL of agency {code} to {url}; its signing secret "
              f"({fingerprint(secret)}, kept in Secrets Manager as {webhooks.endpoint_secret_name(code)}), "
              "shown this once only:", file=out)
        print(secret, file=out)
        return
    at = now()
    endpoint = _migrate(out, endpoint, at)  # a legacy endpoint: its secret leaves the table
    if endpoint.url == url and not endpoint.disabled:
        print(f"no change: agency {code} already receives webhooks at {url}", file=out)
        return
    fingerprint_now = _current_fingerprint(_secrets(endpoint, at), at)
    endpoints.put_endpoint(replace(endpoint, url=url, disabled=False, disabled_reason=None), at)
    changes = [f"URL {endpoint.url} → {url}"] if endpoint.url != url else []
    if endpoint.disabled:
        changes.append(f"re-enabled (was disabled: {endpoint.disabled_reason or 'no reason given'})")
    print(f"changed the webhook endpoint of agency {code}: {'; '.join(changes)}; the secret "
          f"({fingerprint_now}) is unchanged", file=out)


def rotate_secret(out: TextIO, *, code: str, replace_fingerprint: str | None,
                  grace_hours: float = DEFAULT_GRACE_HOURS) -> None:
    _known_agency(code)
    # Checked before timedelta() sees it: nan and inf make it raise instead of compare.
    if not (math.isfinite(grace_hours) and 0 <= grace_hours <= MAX_GRACE.total_seconds() / 3600):
        raise UsageError(f"--grace-hours must be between 0 and {MAX_GRACE.days * 24}")
    grace = timedelta(hours=grace_hours)
    endpoint = endpoints.get_endpoint(code)
    if endpoint is None:
        raise UsageError(f"agency {code} has no webhook endpoint: agency webhook set-url --agency {code} URL")
    at = now()
    secrets = _secrets(endpoint, at)
    old = _current_fingerprint(secrets, at)
    if replace_fingerprint is not None and replace_fingerprint != old:
        print(f"no change: the webhook secret of agency {code} is {old}, not {replace_fingerprint} "
              "(rotated already?)", file=out)
        return
    endpoint = _migrate(out, endpoint, at)
    assert endpoint.secret_name is not None
    secret = new_secret()
    rotated = rotate(secrets, secret, at, grace)
    webhook_secrets.write(endpoint.secret_name, rotated)
    dropped = len(secrets) - len(prune(secrets, at))
    retiring = sorted({item.retire_at for item in rotated if item.retire_at is not None})
    if retiring:
        until = f"{retiring[-1]:%Y-%m-%d %H:%M} UTC"
        how = (f"Until {until} (grace {grace_hours:g} h) every delivery is signed with the old and the new secret "
               f"(webhook workers see the new one within {webhook_secrets.MAX_AGE_SECONDS // 60} minutes), "
               f"then with {fingerprint(secret)} only: the agency switches its receiver meanwhile.")
    else:
        how = (f"The old secret no longer signs (grace 0): webhook workers sign with the new one within "
               f"{webhook_secrets.MAX_AGE_SECONDS // 60} minutes.")
    if dropped:
        how += f" Dropped {dropped} secret(s) retired earlier."
    print(f"rotated the webhook secret of agency {code}: {old} → {fingerprint(secret)}. {how} "
          "The new secret, shown this once only:", file=out)
    print(secret, file=out)
