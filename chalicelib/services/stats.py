"""Public statistics (GET /stats): one Query, whatever the number of dossiers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from chalicelib.config import Settings, get_settings
from chalicelib.domain import stats
from chalicelib.domain.errors import InvalidInput
from chalicelib.services.deps import get_store, now
from chalicelib.store.repository import Statistics

MONTH_PATTERN = re.compile(r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])")


def parse_month(value: str | None) -> str | None:
    if value is None:
        return None
    if not MONTH_PATTERN.fullmatch(value):
        raise InvalidInput("Tháng phải có dạng YYYY-MM / month must look like 2026-11", code="invalid_parameter",
                           field="month")
    return value


def statistics(month: str | None = None) -> dict[str, Any]:
    """The report as of when its rows were read: this container keeps them for
    ``stats_cache_seconds`` (the rows grow with agencies x months x shards, not with dossiers, but a
    public page asked for often need not read them each time)."""
    settings = get_settings()
    month = parse_month(month)
    read = get_store(settings).statistics(max_age_seconds=settings.stats_cache_seconds)
    if settings.stats_cache_seconds <= 0:
        return _report(settings, read, month, generated_at=now())
    global _reports
    # The report summed from the rows remembered, once per month asked for: a request answered
    # from memory does not sum the rows again.
    remembered, by_month = _reports
    if remembered is not read:
        by_month = {}
        _reports = (read, by_month)
    if month not in by_month:
        by_month[month] = _report(settings, read, month, generated_at=read.read_at)
    return by_month[month]


_reports: tuple[Statistics | None, dict[str | None, dict[str, Any]]] = (None, {})


def _report(settings: Settings, read: Statistics, month: str | None, *, generated_at: datetime) -> dict[str, Any]:
    return stats.report(read.summary, read.rows, province={"code": settings.province, "name": settings.province_name},
                        generated_at=generated_at, month=month)
