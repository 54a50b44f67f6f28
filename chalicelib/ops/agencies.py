"""``agency …``: adding agencies, their API keys and their webhook endpoints."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from chalicelib.domain.agency_keys import StoredKey, is_key_id, parse_key
from chalicelib.domain.catalogue import PROVINCE_FILE, Agency, CatalogueError, agency_from_dict
from chalicelib.domain.errors import InvalidInput, NotFound
from chalicelib.domain.webhook_urls import WebhookUrlError, check_webhook_url
from chalicelib.integrations.webhooks import new_secret
from chalicelib.ops.environment import UsageError
from chalicelib.services import agency_auth
from chalicelib.services.deps import get_store, now
from chalicelib.store import webhooks as endpoints

DEFAULT_KEY_LABEL = "ops"


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


def set_url(out: TextIO, *, code: str, url: str, local: bool) -> None:
    _known_agency(code)
    try:
        check_webhook_url(url, allow_local=local)
    except WebhookUrlError as error:
        raise UsageError(f"refused webhook URL: {error}") from None
    endpoint = endpoints.get_endpoint(code)
    if endpoint is not None and endpoint.url == url and not endpoint.disabled:
        print(f"no change: agency {code} already receives webhooks at {url}", file=out)
        return
    if endpoint is None:
        secret = new_secret()
        endpoints.put_endpoint(endpoints.WebhookEndpoint(code, url, secret), now())
        print(f"set the webhook URL of agency {code} to {url}; its signing secret "
              f"({fingerprint(secret)}), shown this once only:", file=out)
        print(secret, file=out)
        return
    endpoints.put_endpoint(replace(endpoint, url=url, disabled=False, disabled_reason=None), now())
    changes = [f"URL {endpoint.url} → {url}"] if endpoint.url != url else []
    if endpoint.disabled:
        changes.append(f"re-enabled (was disabled: {endpoint.disabled_reason or 'no reason given'})")
    print(f"changed the webhook endpoint of agency {code}: {'; '.join(changes)}; the secret "
          f"({fingerprint(endpoint.secret)}) is unchanged", file=out)


def rotate_secret(out: TextIO, *, code: str, replace_fingerprint: str | None) -> None:
    _known_agency(code)
    endpoint = endpoints.get_endpoint(code)
    if endpoint is None:
        raise UsageError(f"agency {code} has no webhook endpoint: agency webhook set-url --agency {code} URL")
    current = fingerprint(endpoint.secret)
    if replace_fingerprint is not None and replace_fingerprint != current:
        print(f"no change: the webhook secret of agency {code} is {current}, not {replace_fingerprint} "
              "(rotated already?)", file=out)
        return
    secret = new_secret()
    endpoints.put_endpoint(replace(endpoint, secret=secret), now())
    print(f"rotated the webhook secret of agency {code}: {current} → {fingerprint(secret)}. Deliveries are "
          "signed with the new secret only from now on (the signing code takes one secret): have the agency's "
          "receiver accept both until it has switched. The new secret, shown this once only:", file=out)
    print(secret, file=out)
