"""The per-container memory of the catalogue (store/catalogue_cache.py) on moto: what it saves,
and how a load or an agency change made by another container shows."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.config import SettingsError, get_settings
from chalicelib.domain.catalogue import Agency, CatalogueError, procedure_from_dict, procedure_to_dict
from chalicelib.services.deps import get_store
from chalicelib.store import models as m
from chalicelib.store.catalogue_cache import CatalogueCache
from chalicelib.store.repository import Store
from tests.factories import (
    JUSTICE,
    create_catalogue,
    create_interagency_procedure_dict,
    create_procedure,
    create_procedure_dict,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The DynamoDB operations PynamoDB sends, in order ("GetItem STATS": the catalogue pointer)."""
    from pynamodb.connection.base import Connection

    sent: list[str] = []
    original = Connection._make_api_call

    def counting(self: Connection, operation_name: str, operation_kwargs: dict[str, Any]) -> Any:
        key = operation_kwargs.get("Key", {}).get("PK", {}).get("S")
        sent.append(f"{operation_name} {key}" if key == m.STATS_PK else operation_name)
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counting)
    return sent


@pytest.fixture
def clock(aws: dict[str, str]) -> Iterator[Clock]:
    """This container's store, on a clock the test moves."""
    clock = Clock()
    get_store().catalogue_cache.clock = clock
    yield clock


def other_container() -> Store:
    """Another Lambda container on the same table: its own memory."""
    settings = get_settings()
    return Store(settings.table_name, settings.region)


def renamed(name: str, *extra: dict[str, Any]) -> Any:
    procedures = [create_procedure_dict(name=name),
                  create_procedure_dict("1.001193", level=3, fee_vnd=0, agency="000.01.10.H38", tier="commune",
                                        days=3, name="Đăng ký khai sinh"), *extra]
    return create_catalogue(procedures)


def test_warm_browsing_reads_nothing_but_the_listing(api: Any, calls: list[str]) -> None:
    get_store().put_catalogue(create_catalogue([*(create_procedure_dict(f"2.00048{n}") for n in range(3)),
                                                create_interagency_procedure_dict()]))
    calls.clear()
    listed = api.http.get("/procedures?limit=2")
    assert [item["code"] for item in listed.json_body["items"]] == ["2.000480", "2.000481"]
    assert calls == ["Query"]  # the loader's store remembers the pointer it wrote

    calls.clear()
    first = api.http.get("/procedures/LT.0001")
    assert calls == ["GetItem"]  # the procedure once; agency names come with the pointer
    assert [step["name"] for step in first.json_body["route"]] == [
        "UBND phường Xuân Hương - Đà Lạt", "Sở Tư pháp tỉnh Lâm Đồng",
        "Trung tâm Phục vụ hành chính công tỉnh Lâm Đồng"]
    calls.clear()
    again = api.http.get("/procedures/LT.0001")
    assert calls == [] and again.json_body == first.json_body

    calls.clear()
    assert len(api.http.get("/procedures").json_body["items"]) == 4 and calls == ["Query"]
    calls.clear()
    assert api.http.get("/procedures/2.000482").status_code == 200 and calls == []  # parsed from the listing

    calls.clear()
    agencies = api.http.get("/agencies")
    assert agencies.status_code == 200 and len(agencies.json_body["items"]) == 3 and calls == []


def test_a_load_elsewhere_shows_within_the_ttl(clock: Clock) -> None:
    store = get_store()
    store.put_catalogue(renamed("Tên cũ"))
    assert store.get_procedure("2.000488").name == "Tên cũ"  # type: ignore[union-attr]

    other_container().put_catalogue(renamed("Tên mới"))
    clock.now += 59
    assert store.get_procedure("2.000488").name == "Tên cũ"  # type: ignore[union-attr]
    assert [p.name for p in store.list_procedures().items if p.code == "2.000488"] == ["Tên cũ"]
    clock.now += 1
    assert store.get_procedure("2.000488").name == "Tên mới"  # type: ignore[union-attr]
    assert [p.name for p in store.list_procedures().items if p.code == "2.000488"] == ["Tên mới"]


def test_a_procedure_added_elsewhere_is_found_at_once(clock: Clock) -> None:
    store = get_store()
    store.put_catalogue(renamed("Tên"))
    store.get_procedure("2.000488")
    other_container().put_catalogue(renamed("Tên", create_procedure_dict("2.999999", name="Thủ tục mới")))
    added = store.get_procedure("2.999999")
    assert added is not None and added.name == "Thủ tục mới"  # a miss reads the pointer again
    assert store.get_procedure("9.999999") is None


def test_a_remembered_version_deleted_by_two_loads_elsewhere_is_left_for_the_live_one(clock: Clock) -> None:
    store = get_store()
    store.put_catalogue(renamed("Một"))
    assert [p.code for p in store.list_procedures(limit=1).items] == ["1.001193"]
    elsewhere = other_container()
    elsewhere.put_catalogue(renamed("Hai"))
    assert elsewhere.put_catalogue(renamed("Ba")).procedures_deleted == 2  # "Một" is gone
    # Still following "Một" (within the TTL): nothing there any more, so the pointer is read again.
    assert sorted(p.name for p in store.list_procedures(level=4).items) == ["Ba"]
    procedure = store.get_procedure("2.000488")
    assert procedure is not None and procedure.name == "Ba"


def test_an_agency_renamed_shows_in_the_route_at_once_here_and_within_the_ttl_elsewhere(
        api: Any, clock: Clock) -> None:
    store = get_store()
    store.put_catalogue(create_catalogue())

    def justice_name() -> str:
        return str(api.http.get("/procedures/2.000488").json_body["route"][1]["name"])

    assert justice_name() == "Sở Tư pháp tỉnh Lâm Đồng"
    justice = store.get_agency(JUSTICE)
    assert justice is not None
    other_container().put_agency(dataclasses.replace(justice, name="Sở Tư pháp (tên mới)"))
    assert justice_name() == "Sở Tư pháp tỉnh Lâm Đồng"
    clock.now += 60
    assert justice_name() == "Sở Tư pháp (tên mới)"
    store.put_agency(dataclasses.replace(justice, name="Sở Tư pháp Lâm Đồng", webhook_url="https://x.example.vn/h"))
    assert justice_name() == "Sở Tư pháp Lâm Đồng"
    assert store.public_agencies([JUSTICE, "000.99.99.H38"]) == {
        JUSTICE: Agency(JUSTICE, "Sở Tư pháp Lâm Đồng", "province", name_en="Department of Justice")}


def test_a_zero_ttl_reads_the_pointer_on_every_request(api: Any, calls: list[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_CATALOGUE_CACHE_SECONDS", "0")
    get_store().put_catalogue(create_catalogue())
    api.http.get("/procedures/2.000488")
    calls.clear()
    assert api.http.get("/procedures/2.000488").status_code == 200
    # The pointer, for the procedure and again for the route's agency names; the procedure itself
    # is still remembered (versions never change).
    assert calls == ["GetItem STATS", "GetItem STATS"]


@pytest.mark.parametrize("value", ["-1", "3601", "nan", "soon"])
def test_the_ttl_setting_is_checked(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MOTCUA_CATALOGUE_CACHE_SECONDS", value)
    with pytest.raises(SettingsError, match=r"(MOTCUA_CATALOGUE_CACHE_SECONDS|catalogue_cache_seconds) must be"):
        get_settings()


def test_a_procedure_is_checked_when_written_since_readers_trust_it(aws: dict[str, str]) -> None:
    catalogue = create_catalogue()
    bad = dataclasses.replace(catalogue.procedures[0], form_schema={"type": "array"})
    with pytest.raises(CatalogueError, match="form_schema"):
        get_store().put_catalogue(dataclasses.replace(catalogue, procedures=(bad, *catalogue.procedures[1:])))
    assert list(m.TableItem.gsi1.query(m.CATALOGUE_PROCEDURES)) == []


def test_the_memory_keeps_the_most_recent_procedures_of_versions_only() -> None:
    cache = CatalogueCache(size=2)
    first, second, third = (create_procedure(code) for code in ("1.000001", "1.000002", "1.000003"))
    for procedure in (first, second):
        cache.remember_procedure("v1", procedure)
    assert cache.procedure("v1", "1.000001") == first  # now the most recent
    cache.remember_procedure("v1", third)
    assert [cache.procedure("v1", p.code) for p in (first, second, third)] == [first, None, third]
    cache.remember_procedure(None, first)  # unversioned items can change in place
    assert cache.procedure(None, first.code) is None
    assert procedure_from_dict(procedure_to_dict(first)) == first
