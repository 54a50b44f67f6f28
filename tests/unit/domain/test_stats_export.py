"""Statistics as CSV: the GET /stats figures per agency and a province total."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from chalicelib.domain import stats, stats_export
from tests.factories import create_catalogue


def test_rows_per_agency_and_total_with_rates_and_bom() -> None:
    catalogue = create_catalogue()
    summary = stats.catalogue_summary(catalogue.agencies, catalogue.procedures)
    rows = [
        stats.CounterRow("000.00.21.H38", "2026-10", {"submitted": 4, "online": 4, "done": 2, "on_time": 1, "late": 1,
                                                      "finished": 2, "ratings": 2, "rating_sum": 9, "satisfied": 2}),
        stats.CounterRow("000.00.21.H38", "2026-11", {"submitted": 1, "online": 1}),
        stats.CounterRow("000.01.10.H38", "2026-11", {"submitted": 2, "online": 1, "done": 1, "on_time": 1,
                                                      "finished": 1}),
    ]
    text = stats_export.to_csv(stats_export.table(summary, rows, "2026-10"))
    assert text.startswith("\ufeff")
    records = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    # By name (Sở…, Trung tâm…, UBND…), then the total.
    assert [r["agency_code"] for r in records] == ["000.00.05.H38", "000.00.21.H38", "000.01.10.H38", "TOTAL"]
    by_code = {r["agency_code"]: r for r in records}
    desk = by_code["000.00.21.H38"]
    assert desk["name"] == "Trung tâm Phục vụ hành chính công tỉnh Lâm Đồng" and desk["month"] == "2026-10"
    assert (desk["submitted"], desk["on_time_rate"], desk["online_rate"]) == ("4", "0.5", "1.0")
    assert (desk["average_rating"], desk["satisfied_rate"], desk["in_progress"]) == ("4.5", "1.0", "3")
    assert by_code["000.00.05.H38"]["on_time_rate"] == ""  # nothing decided: no rate
    total = by_code["TOTAL"]
    assert total["submitted"] == "4" and total["in_progress"] == "4"  # in progress is today's, all months
    report = stats.report(summary, rows, province={"code": "lamdong", "name": "x"},
                          generated_at=datetime.now(UTC), month="2026-10")
    assert float(total["on_time_rate"]) == report["dossiers"]["on_time_rate"]
    assert len(records) == len(catalogue.agencies) + 1
