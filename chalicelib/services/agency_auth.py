"""Agency authentication: per-agency API keys, issued by ops, stored hashed.

An agency system sends ``Authorization: Bearer <key>``. The key embeds a non-secret
key id (one GetItem finds its record) and 256 random bits; the table keeps only the
SHA-256 digest, compared in constant time. Whatever is wrong with a key (malformed,
unknown, revoked, wrong secret), the caller gets the same error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.config import Settings, get_settings
from chalicelib.domain.agency_keys import ParsedKey, StoredKey, digest, generate_key, is_key_id, parse_key, verify
from chalicelib.domain.errors import DomainError, InvalidInput, NotFound, Unauthenticated
from chalicelib.domain.tasks import Task
from chalicelib.services import deps, seen_tasks
from chalicelib.services.seen_tasks import SeenTask
from chalicelib.store.agency_keys import AgencyKeyStore, KeyIdTaken
from chalicelib.store.repository import StoreError

INVALID_API_KEY = "invalid_api_key"
INVALID_API_KEY_MESSAGE = "Khóa API không hợp lệ / Invalid API key"
MAX_LABEL_CHARS = 100
_ISSUE_ATTEMPTS = 5
# Agency codes are short identifiers ("000.00.21.H38"); anything else cannot exist and
# must not reach DynamoDB.
_AGENCY_CODE = re.compile(r"[0-9A-Z.]{1,64}", re.ASCII)
# Checked against when the key id is unknown, so that path hashes and compares too.
_NO_SUCH_KEY_DIGEST = digest("mc_no-such-key")


@dataclass(frozen=True)
class AgencyPrincipal:
    agency_code: str
    key_id: str


@lru_cache(maxsize=4)
def _key_store(table_name: str, region: str) -> AgencyKeyStore:
    return AgencyKeyStore(table_name, region)


def get_key_store(settings: Settings | None = None) -> AgencyKeyStore:
    settings = settings or get_settings()
    store = _key_store(settings.table_name, settings.region)
    store.bind()
    return store


def invalid_key() -> Unauthenticated:
    return Unauthenticated(INVALID_API_KEY_MESSAGE, code=INVALID_API_KEY)


def authenticate_agency(token: str) -> AgencyPrincipal:
    """The agency a key belongs to; Unauthenticated ("invalid_api_key") for any bad key."""
    parsed = _parsed(token)
    return _principal(parsed, get_key_store().get_key(parsed.key_id))


def authenticate_agency_on_task(token: str, task_id: str) -> tuple[AgencyPrincipal, Task | None]:
    """As ``authenticate_agency``, reading the task the call is about in the same round trip;
    the task (None: no such task) is given only once the key is good, so a bad key learns
    nothing of it and gets the one error."""
    parsed = _parsed(token)
    if len(task_id) > 64:  # cannot exist: no need to ask the table for it
        return _principal(parsed, get_key_store().get_key(parsed.key_id)), None
    stored, task = get_key_store().get_key_and_task(parsed.key_id, task_id)
    return _principal(parsed, stored), task


@dataclass(frozen=True)
class Remembered:
    """A call on a task authenticated from what this container remembers: the key as last read
    (its transaction checks it is still so) and the task with its dossier as last shown."""

    key: StoredKey
    seen: SeenTask


def authenticate_agency_on_seen_task(token: str, task_id: str) -> tuple[AgencyPrincipal, Task | None,
                                                                          Remembered | None]:
    """As ``authenticate_agency_on_task``, without any read when this container remembers the key
    and has shown the agency this open task: then ``Remembered`` says what the call's transaction
    must check (``seen_tasks``). The remembered key is checked against the token here as a read
    key would be; only its revocation since is left to the transaction."""
    parsed = _parsed(token)
    key = seen_tasks.remembered_key(parsed.key_id)
    if key is not None and verify(parsed.plaintext, key.digest):
        seen = seen_tasks.seen_task(key.agency_code, task_id)
        if seen is not None:
            return AgencyPrincipal(agency_code=key.agency_code, key_id=key.key_id), seen.task, Remembered(key, seen)
    principal, task = authenticate_agency_on_task(token, task_id)
    return principal, task, None


@contextmanager
def refused_as_a_bad_key_if_revoked(remembered: Remembered | None) -> Iterator[None]:
    """Any refusal of a call authenticated from memory is first checked against the key as it is
    now: a key revoked since gets the one error of a bad key, never what its call would have
    learnt (a validation error, the state of a task)."""
    try:
        yield
    except Unauthenticated:
        raise
    except DomainError:
        if remembered is not None and not key_still_valid(remembered.key):
            raise invalid_key() from None
        raise


def key_still_valid(key: StoredKey) -> bool:
    """Whether a remembered key is still good (read again); forgotten if not."""
    current = get_key_store().get_key(key.key_id)
    if current is None or current.revoked or current.digest != key.digest:
        seen_tasks.forget_key(key.key_id)
        return False
    return True


def _parsed(token: str) -> ParsedKey:
    parsed = parse_key(token)
    if parsed is None:
        raise invalid_key()
    return parsed


def _principal(parsed: ParsedKey, stored: StoredKey | None) -> AgencyPrincipal:
    # Always hash and compare, even for an unknown key id, and decide only afterwards.
    secret_matches = verify(parsed.plaintext, stored.digest if stored is not None else _NO_SUCH_KEY_DIGEST)
    if stored is None or not secret_matches or stored.revoked:
        raise invalid_key()
    seen_tasks.remember_key(stored)
    return AgencyPrincipal(agency_code=stored.agency_code, key_id=stored.key_id)


def issue_key(agency_code: str, label: str) -> str:
    """Issues a new key for a known agency and returns it: the only time the plaintext exists."""
    if not isinstance(label, str) or not 1 <= len(label.strip()) <= MAX_LABEL_CHARS:
        raise InvalidInput(f"Nhãn khóa phải có từ 1 đến {MAX_LABEL_CHARS} ký tự / "
                           f"The key's label must have 1 to {MAX_LABEL_CHARS} characters",
                           code="invalid_label", field="label")
    settings = get_settings()
    known = isinstance(agency_code, str) and _AGENCY_CODE.fullmatch(agency_code) is not None
    agency = deps.get_store(settings).get_agency(agency_code) if known else None
    if agency is None:
        shown = agency_code if known else "?"
        raise InvalidInput(f"Không có cơ quan {shown} / Unknown agency {shown}",
                           code="unknown_agency", field="agency_code")
    store = get_key_store(settings)
    for _ in range(_ISSUE_ATTEMPTS):
        issued = generate_key(agency.code)
        try:
            store.put_key(agency.code, issued, label.strip(), deps.now())
        except KeyIdTaken:
            continue  # 32-bit key ids: draw another
        return issued.plaintext
    raise StoreError(f"no free key id after {_ISSUE_ATTEMPTS} attempts")


def revoke_key(key_id: str) -> None:
    """Revokes a key at once (idempotent); NotFound if no key has this id."""
    seen_tasks.forget_key(key_id)
    if not is_key_id(key_id) or not get_key_store().revoke(key_id, deps.now()):
        raise NotFound(f"Không tìm thấy khóa {key_id} / API key {key_id} not found", code="api_key_not_found")


def list_keys(agency_code: str) -> list[StoredKey]:
    """An agency's keys (digests and metadata, never plaintexts), oldest first."""
    return get_key_store().keys_of(agency_code)
