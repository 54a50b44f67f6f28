"""Statistics as a CSV table: one row per agency and a province total (pure).

The counters and rates are those of ``GET /stats`` (``chalicelib.domain.stats``, Decision
766/QĐ-TTg indicators), per receiving agency rather than only for the province. The text is
UTF-8 with a byte-order mark, so that Excel reads Vietnamese names correctly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.domain import stats

BOM = "\ufeff"
TOTAL_CODE = "TOTAL"
TOTAL_NAME = "Toàn tỉnh / Province total"
COLUMNS: tuple[str, ...] = (
    "month", "agency_code", "name", "tier", "submitted", "received", "not_received", "done", "approved",
    "rejected", "on_time", "late", "overdue", "in_progress", "on_time_rate", "online_rate",
    "online_payment_rate", "electronic_result_rate", "ratings", "average_rating", "satisfied_rate",
)


def _row(month: str | None, code: str, name: str, tier: str, chosen: Sequence[stats.CounterRow],
         everything: Sequence[stats.CounterRow]) -> dict[str, Any]:
    total, all_time = stats._sum(chosen), stats._sum(everything)  # the report's own arithmetic
    block = stats._dossier_block(total, max(0, all_time["submitted"] - all_time["finished"]))
    satisfaction = block.pop("satisfaction")
    return {"month": month or "all", "agency_code": code, "name": name, "tier": tier, **block,
            "ratings": satisfaction["ratings"], "average_rating": satisfaction["average"],
            "satisfied_rate": satisfaction["satisfied_rate"]}


def table(summary: Mapping[str, Any] | None, rows: Sequence[stats.CounterRow],
          month: str | None = None) -> list[dict[str, Any]]:
    """Every agency of the directory (and any other agency with counters), by name, then the total.
    ``month``: that month's dossiers only; "in_progress" is always today's count, as in GET /stats."""
    directory = {str(entry["agency_code"]): entry for entry in (summary or {}).get("agencies", [])}
    codes = set(directory) | {row.agency_code for row in rows}
    chosen = [row for row in rows if month is None or row.month == month]
    result = []
    for code in sorted(codes, key=lambda c: (str(directory.get(c, {}).get("name", c)), c)):
        known = directory.get(code, {})
        result.append(_row(month, code, str(known.get("name", code)), str(known.get("tier") or ""),
                           [row for row in chosen if row.agency_code == code],
                           [row for row in rows if row.agency_code == code]))
    result.append(_row(month, TOTAL_CODE, TOTAL_NAME, "", chosen, rows))
    return result


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def to_csv(records: Sequence[Mapping[str, Any]], *, bom: bool = True) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record in records:
        writer.writerow([_cell(record.get(column)) for column in COLUMNS])
    return (BOM if bom else "") + buffer.getvalue()
