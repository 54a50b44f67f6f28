"""Agency API keys on moto: issue, authenticate, revoke, list; one error for every bad key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from chalice.app import Request

from chalicelib.config import get_settings
from chalicelib.domain.agency_keys import digest, generate_key, parse_key
from chalicelib.domain.errors import DomainError, InvalidInput, NotFound, Unauthenticated
from chalicelib.handlers.http import current_agency
from chalicelib.services import deps
from chalicelib.services.agency_auth import (
    INVALID_API_KEY,
    INVALID_API_KEY_MESSAGE,
    AgencyPrincipal,
    authenticate_agency,
    get_key_store,
    issue_key,
    list_keys,
    revoke_key,
)
from chalicelib.store.agency_keys import AgencyKeyItem, KeyIdTaken, agency_key_pk
from chalicelib.store.models import TableItem
from tests.factories import COMMUNE, DESK, JUSTICE

pytestmark = pytest.mark.usefixtures("sample_catalogue", "frozen_clock")

SECRET_CHARS = 43


@pytest.fixture
def sample_key() -> str:
    return issue_key(DESK, "Hệ thống một cửa của Trung tâm")


def key_id_of(key: str) -> str:
    parsed = parse_key(key)
    assert parsed is not None, key
    return parsed.key_id


def refusal(token: str) -> tuple[str, str]:
    with pytest.raises(Unauthenticated) as caught:
        authenticate_agency(token)
    return caught.value.code, caught.value.message


def create_request(authorization: str | None) -> Request:
    headers = {} if authorization is None else {"authorization": authorization}
    return Request({"multiValueQueryStringParameters": None, "headers": headers, "pathParameters": None,
                    "requestContext": {"httpMethod": "GET", "resourcePath": "/agency/tasks"}, "body": None,
                    "stageVariables": None})


def scan_table() -> Iterator[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name=get_settings().region)
    for page in client.get_paginator("scan").paginate(TableName=get_settings().table_name):
        yield from page["Items"]


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a low-level DynamoDB item, attribute names included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("latin-1")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from strings_in(item)


# --- issue and authenticate ------------------------------------------------------------------


def test_an_issued_key_authenticates_as_its_agency(sample_key: str) -> None:
    assert sample_key.startswith("mc_000-00-21-H38_")
    assert authenticate_agency(sample_key) == AgencyPrincipal(agency_code=DESK, key_id=key_id_of(sample_key))


def test_current_agency_reads_the_bearer_token(sample_key: str) -> None:
    principal = current_agency(create_request(f"Bearer {sample_key}"))
    assert principal == AgencyPrincipal(DESK, key_id_of(sample_key))
    assert current_agency(create_request(f"bearer   {sample_key}  ")) == principal


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Basic abc", "Bearer  "])
def test_current_agency_refuses_a_request_without_a_bearer_token(authorization: str | None) -> None:
    with pytest.raises(Unauthenticated):
        current_agency(create_request(authorization))


def test_current_agency_refuses_a_bad_key_with_the_one_error(sample_key: str) -> None:
    # Another valid last character (one that encodes the same two padding bits), never the same key.
    tampered = sample_key[:-1] + ("E" if sample_key.endswith("A") else "A")
    with pytest.raises(Unauthenticated) as caught:
        current_agency(create_request(f"Bearer {tampered}"))
    assert (caught.value.code, caught.value.message) == (INVALID_API_KEY, INVALID_API_KEY_MESSAGE)


def test_every_bad_key_gets_the_same_error(sample_key: str) -> None:
    key_id = key_id_of(sample_key)
    other_secret = generate_key(DESK).plaintext[-SECRET_CHARS:]
    justice_key = issue_key(JUSTICE, "Sở Tư pháp")
    revoked_key = issue_key(DESK, "old system")
    revoke_key(key_id_of(revoked_key))
    unknown_id = "00000000" if key_id != "00000000" else "ffffffff"

    bad_keys = {
        "wrong secret, right key id": sample_key[:-SECRET_CHARS] + other_secret,
        "unknown key id": sample_key.replace(f"_{key_id}_", f"_{unknown_id}_"),
        "a never-issued key": generate_key(DESK).plaintext,
        "revoked": revoked_key,
        "another agency's key with this agency's name": justice_key.replace("000-00-05-H38", "000-00-21-H38"),
        "another agency's key with its id spliced into this key": sample_key.replace(
            f"_{key_id}_", f"_{key_id_of(justice_key)}_"),
        "malformed": sample_key[:-1],
        "junk": "not-a-key",
        "empty": "",
        "non-ASCII": sample_key[:-1] + "é",
    }
    refusals = {name: refusal(token) for name, token in bad_keys.items()}
    assert set(refusals.values()) == {(INVALID_API_KEY, INVALID_API_KEY_MESSAGE)}, refusals
    # The good keys still work.
    assert authenticate_agency(sample_key).agency_code == DESK
    assert authenticate_agency(justice_key).agency_code == JUSTICE


def test_the_secret_is_compared_in_constant_time_even_for_an_unknown_key(
        monkeypatch: pytest.MonkeyPatch, sample_key: str) -> None:
    import hmac

    calls: list[int] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    refusal(sample_key.replace(f"_{key_id_of(sample_key)}_", "_00000000_"))
    refusal(sample_key[:-SECRET_CHARS] + generate_key(DESK).plaintext[-SECRET_CHARS:])
    authenticate_agency(sample_key)
    assert len(calls) == 3


def test_a_key_is_one_get_item(monkeypatch: pytest.MonkeyPatch, sample_key: str) -> None:
    from pynamodb.connection.base import Connection

    operations: list[str] = []
    real = Connection.dispatch

    def spy(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        operations.append(operation_name)
        return real(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "dispatch", spy)
    authenticate_agency(sample_key)
    assert operations == ["GetItem"]
    operations.clear()
    refusal("mc_000-00-21-H38_zzzz_short")
    assert operations == [], "a malformed key never reaches DynamoDB"


# --- issuing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["000.99.99.H38", "", "000.00.21.h38", "AGENCY#000.00.21.H38", "x" * 3000,
                                  "000.00.21.H38\n"])
def test_issuing_for_an_unknown_agency_is_refused(code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        issue_key(code, "label")
    assert caught.value.code == "unknown_agency"
    assert caught.value.field == "agency_code"
    assert list_keys("000.99.99.H38") == []


@pytest.mark.parametrize("label", ["", "   ", "x" * 101])
def test_issuing_needs_a_label(label: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        issue_key(DESK, label)
    assert caught.value.code == "invalid_label"
    assert list_keys(DESK) == []


def test_issuing_draws_again_when_a_key_id_is_taken(monkeypatch: pytest.MonkeyPatch, sample_key: str) -> None:
    from chalicelib.domain import agency_keys
    from chalicelib.services import agency_auth

    taken = key_id_of(sample_key)
    draws = iter(["0" * 8, taken, "1" * 8])
    real = agency_keys.generate_key

    def with_known_ids(code: str) -> Any:
        key = real(code)
        key_id = next(draws)
        plaintext = key.plaintext.replace(f"_{key.key_id}_", f"_{key_id}_")
        return agency_keys.IssuedKey(key_id, plaintext, digest(plaintext))

    store = get_key_store()
    store.put_key(JUSTICE, with_known_ids(JUSTICE), "first", deps.now())
    monkeypatch.setattr(agency_auth, "generate_key", with_known_ids)
    with pytest.raises(KeyIdTaken):
        store.put_key(JUSTICE, with_known_ids(JUSTICE), "clash", deps.now())
    key = issue_key(COMMUNE, "after a clash")
    assert key_id_of(key) == "1" * 8
    assert authenticate_agency(key).agency_code == COMMUNE
    assert authenticate_agency(sample_key).agency_code == DESK  # the clash overwrote nothing


# --- listing and revoking -----------------------------------------------------------------------


def test_keys_of_lists_an_agencys_keys_oldest_first(monkeypatch: pytest.MonkeyPatch, frozen_clock: datetime) -> None:
    times = iter(frozen_clock + timedelta(minutes=n) for n in range(10))
    monkeypatch.setattr(deps, "now", lambda: next(times))
    first = issue_key(DESK, "một cửa")
    issue_key(JUSTICE, "Sở Tư pháp")
    second = issue_key(DESK, "dự phòng")
    revoke_key(key_id_of(first))

    keys = list_keys(DESK)
    assert [(k.key_id, k.label, k.agency_code) for k in keys] == [
        (key_id_of(first), "một cửa", DESK), (key_id_of(second), "dự phòng", DESK)]
    assert [k.created_at for k in keys] == [frozen_clock, frozen_clock + timedelta(minutes=2)]
    assert [k.revoked_at for k in keys] == [frozen_clock + timedelta(minutes=3), None]
    assert [k.digest for k in keys] == [digest(first), digest(second)]
    assert [k.key_id for k in get_key_store().keys_of(JUSTICE)] == [k.key_id for k in list_keys(JUSTICE)]
    assert len(list_keys(JUSTICE)) == 1
    assert list_keys(COMMUNE) == []


def test_revoking_takes_effect_at_once_and_twice_is_harmless(monkeypatch: pytest.MonkeyPatch,
                                                             frozen_clock: datetime, sample_key: str) -> None:
    key_id = key_id_of(sample_key)
    other = issue_key(DESK, "other")
    revoke_key(key_id)
    assert refusal(sample_key) == (INVALID_API_KEY, INVALID_API_KEY_MESSAGE)
    monkeypatch.setattr(deps, "now", lambda: frozen_clock + timedelta(days=1))
    revoke_key(key_id)
    stored = get_key_store().get_key(key_id)
    assert stored is not None and stored.revoked_at == frozen_clock  # the first revocation stands
    assert authenticate_agency(other).agency_code == DESK  # only that key


@pytest.mark.parametrize("key_id", ["00000000", "", "0A1B2C3D", "AGENCYKEY#x", "x" * 3000])
def test_revoking_an_unknown_key_is_not_found(key_id: str) -> None:
    with pytest.raises(NotFound) as caught:
        revoke_key(key_id)
    assert caught.value.code == "api_key_not_found"
    assert get_key_store().get_key("00000000") is None


# --- storage ------------------------------------------------------------------------------------


def test_the_plaintext_is_never_stored(sample_key: str) -> None:
    keys = [sample_key, issue_key(JUSTICE, "x"), issue_key(COMMUNE, "y")]
    revoke_key(key_id_of(keys[1]))
    items = list(scan_table())
    key_items = [item for item in items if item["kind"]["S"] == "agency_key"]
    assert len(key_items) == 3
    stored = [text for item in items for text in strings_in(item)]
    for key in keys:
        secret = key[-SECRET_CHARS:]
        assert not any(secret in text or secret[:20] in text for text in stored), key
        assert not any(key in text for text in stored)
    item = next(i for i in key_items if i["PK"]["S"] == agency_key_pk(key_id_of(sample_key)))
    assert item["digest"]["S"] == digest(sample_key)
    assert item["SK"]["S"] == "META"
    assert item["GSI1PK"]["S"] == f"AGENCY#{DESK}#KEYS"
    assert item["agency_code"]["S"] == DESK
    assert "revoked_at" not in item


def test_the_item_is_typed(sample_key: str) -> None:
    # PynamoDB's discriminator: a query on the base class returns the key's class.
    items = list(TableItem.query(agency_key_pk(key_id_of(sample_key))))
    assert len(items) == 1 and isinstance(items[0], AgencyKeyItem)
    assert items[0].agency_code == DESK


def test_domain_errors_are_the_contracts(sample_key: str) -> None:
    # Unauthenticated maps to 401 in handlers/http.py; the code is the public one.
    with pytest.raises(DomainError) as caught:
        authenticate_agency(sample_key + "x")
    assert isinstance(caught.value, Unauthenticated)
    assert caught.value.code == "invalid_api_key"


def test_a_call_on_a_task_reads_the_key_and_the_task_at_once(monkeypatch: pytest.MonkeyPatch,
                                                               sample_key: str) -> None:
    """One consistent BatchGetItem; a bad key (revoked a moment ago included) gets the one error
    and never the task."""
    from pynamodb.connection.base import Connection

    from chalicelib.domain.tasks import Task
    from chalicelib.services.agency_auth import authenticate_agency_on_task
    from chalicelib.store.repository import _task_item

    at = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    task = Task(task_id="t-desk-1", dossier_code="000.00.21.H38-261126-0001", step_index=0, kind="reception",
                role="lead", agency_code=DESK, status="open", opened_at=at, due_at=at, helpers=0)
    _task_item(task).save()
    operations: list[dict[str, Any]] = []
    real = Connection.dispatch

    def spy(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        operations.append({"name": operation_name, **operation_kwargs})
        return real(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "dispatch", spy)
    assert authenticate_agency_on_task(sample_key, "t-desk-1") == (
        AgencyPrincipal(DESK, key_id_of(sample_key)), task)
    assert [(o["name"], o["RequestItems"][get_settings().table_name]["ConsistentRead"]) for o in operations] == [
        ("BatchGetItem", True)]
    assert authenticate_agency_on_task(sample_key, "no-such-task") == (AgencyPrincipal(DESK, key_id_of(sample_key)),
                                                                       None)
    for bad in (sample_key[:-SECRET_CHARS] + generate_key(DESK).plaintext[-SECRET_CHARS:], "junk"):
        with pytest.raises(Unauthenticated) as caught:
            authenticate_agency_on_task(bad, "t-desk-1")
        assert (caught.value.code, caught.value.message) == (INVALID_API_KEY, INVALID_API_KEY_MESSAGE)
    revoke_key(key_id_of(sample_key))
    with pytest.raises(Unauthenticated):
        authenticate_agency_on_task(sample_key, "t-desk-1")
