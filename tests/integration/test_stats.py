"""GET /stats on moto: counters kept with the dossier writes, read in a constant number of calls."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from pynamodb.connection.base import Connection

from chalicelib.domain import stats
from tests.factories import DESK, JUSTICE, create_catalogue
from tests.integration.route_support import (
    Agencies,
    approve,
    at_last_step,
    execution_status,
    pump,
    submit,
    uploaded,
)


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The DynamoDB operations PynamoDB makes, in order."""
    calls: list[str] = []
    original = Connection._make_api_call

    def counted(self: Connection, operation_name: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(operation_name)
        return original(self, operation_name, *args, **kwargs)

    monkeypatch.setattr(Connection, "_make_api_call", counted)
    yield calls


def get_stats(api: Any, query: str = "") -> dict[str, Any]:
    response = api.http.get(f"/stats{query}")
    assert response.status_code == 200, response.body
    body: dict[str, Any] = json.loads(response.body)
    return body


def rate(api: Any, token: str, code: str, score: int) -> Any:
    return api.http.post(f"/dossiers/{code}/rating", body=json.dumps({"score": score}),
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def test_procedures_are_counted_per_tier_and_level_when_the_catalogue_loads(api: Any, sample_catalogue: None) -> None:
    catalogue = create_catalogue()
    body = get_stats(api)
    assert body["procedures"] == stats.catalogue_summary(catalogue.agencies, catalogue.procedures)["procedures"]
    assert body["procedures"]["by_tier"]["province"]["by_level"] == {"1": 1, "2": 1, "3": 0, "4": 1}
    assert body["province"]["code"] == "lamdong"
    assert body["dossiers"]["submitted"] == 0 and body["dossiers"]["on_time_rate"] is None


def test_a_journey_counts_submitted_received_refused_done_on_time_and_rated(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, agencies: Agencies,
) -> None:
    code, task = at_last_step(api, sample_token, agencies)
    refused = submit(api, sample_token, "2.000488")
    assert agencies.decide(DESK, agencies.task_for(DESK, refused)["task_id"], "refuse",
                           "Hồ sơ không thuộc thẩm quyền").status_code == 200
    midway = get_stats(api)["dossiers"]
    assert (midway["submitted"], midway["received"], midway["not_received"], midway["in_progress"]) == (2, 1, 1, 1)

    upload_id = uploaded(api, agencies.key(JUSTICE), code)
    assert approve(api, agencies, JUSTICE, task["task_id"], upload_id).status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert rate(api, sample_token, code, 5).status_code == 201
    assert rate(api, sample_token, refused, 2).status_code == 201
    assert rate(api, sample_token, code, 1).status_code == 409  # once only: counted once

    body = get_stats(api)
    dossiers = body["dossiers"]
    assert (dossiers["submitted"], dossiers["received"], dossiers["done"], dossiers["approved"]) == (2, 1, 1, 1)
    assert (dossiers["on_time"], dossiers["late"], dossiers["overdue"], dossiers["in_progress"]) == (1, 0, 0, 0)
    assert dossiers["on_time_rate"] == 1.0 and dossiers["online_rate"] == 1.0
    assert dossiers["electronic_result_rate"] == 1.0
    assert dossiers["online_payment_rate"] is None  # no fee step on this route
    assert dossiers["satisfaction"] == {"ratings": 2, "average": 3.5, "satisfied_rate": 0.5}
    month = stats.month_of(frozen_clock)
    assert body["months"] == [{"month": month, "received": 1, "done": 1, "on_time": 1, "late": 0, "overdue": 0}]
    desk = [row for row in body["agencies"] if row["agency_code"] == DESK]
    assert desk == [{"agency_code": DESK, "name": "Trung tâm Phục vụ hành chính công tỉnh Lâm Đồng",
                     "tier": "province", "procedures": {"total": 3, "by_level": {"1": 1, "2": 1, "3": 0, "4": 1}},
                     "received": 1, "done": 1, "on_time": 1, "late": 0, "overdue": 0, "on_time_rate": 1.0}]
    # Per tier of the receiving agency, as the design's statistics ask.
    assert dossiers["by_tier"]["province"] == {"received": 1, "done": 1, "on_time": 1, "late": 0, "overdue": 0,
                                               "on_time_rate": 1.0}
    assert all(tier["received"] == 0 for name, tier in dossiers["by_tier"].items() if name != "province")
    assert get_stats(api, f"?month={month}")["dossiers"]["received"] == 1
    assert get_stats(api, "?month=2020-01")["dossiers"]["received"] == 0


def test_reading_stats_costs_the_same_whatever_the_number_of_dossiers(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, dynamodb_calls: list[str],
) -> None:
    submit(api, sample_token, "2.000488")
    dynamodb_calls.clear()
    get_stats(api)
    with_one = list(dynamodb_calls)
    for _ in range(4):
        submit(api, sample_token, "2.000488")
    dynamodb_calls.clear()
    assert get_stats(api)["dossiers"]["submitted"] == 5
    assert dynamodb_calls == with_one == ["Query"]


def test_a_bad_month_is_422(api: Any, sample_catalogue: None) -> None:
    for month in ("2026-13", "2026-1", "26-11", "2026-11-01", "２０２６-11"):
        response = api.http.get(f"/stats?month={month}")
        assert response.status_code == 422, month
        assert json.loads(response.body)["error"]["details"][0]["field"] == "month"


def test_a_container_answers_from_the_rows_it_read_until_it_writes_or_they_age(
    api: Any, sample_catalogue: None, sample_token: str, frozen_clock: datetime, dynamodb_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    submit(api, sample_token, "2.000488")
    dynamodb_calls.clear()
    first = get_stats(api)
    again = get_stats(api, "?month=2026-11")  # a month of the same rows: nothing read
    assert dynamodb_calls == ["Query"] and first["dossiers"]["submitted"] == 1
    assert again["dossiers"]["submitted"] == 1
    # Another container's writes are seen once the rows are older than the setting.
    monkeypatch.setenv("MOTCUA_STATS_CACHE_SECONDS", "0.05")
    time.sleep(0.1)
    dynamodb_calls.clear()
    get_stats(api)
    assert dynamodb_calls == ["Query"]
    monkeypatch.setenv("MOTCUA_STATS_CACHE_SECONDS", "60")
    # This container's own write: the next answer reads the rows again, and counts it.
    submit(api, sample_token, "2.000488")
    dynamodb_calls.clear()
    assert get_stats(api)["dossiers"]["submitted"] == 2
    assert dynamodb_calls == ["Query"]
    # 0: every request reads.
    monkeypatch.setenv("MOTCUA_STATS_CACHE_SECONDS", "0")
    dynamodb_calls.clear()
    get_stats(api)
    get_stats(api)
    assert dynamodb_calls == ["Query", "Query"]


@pytest.mark.parametrize("value", ["-1", "3601", "soon"])
def test_the_stats_cache_setting_is_checked(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from chalicelib.config import SettingsError, get_settings

    monkeypatch.setenv("MOTCUA_STATS_CACHE_SECONDS", value)
    with pytest.raises(SettingsError, match=r"(MOTCUA_STATS_CACHE_SECONDS|stats_cache_seconds)"):
        get_settings()
