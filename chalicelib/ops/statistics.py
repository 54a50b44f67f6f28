"""``stats export``: GET /stats per agency, as a CSV file."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from chalicelib.domain import stats_export
from chalicelib.domain.errors import InvalidInput
from chalicelib.ops.environment import UsageError
from chalicelib.services.deps import get_store
from chalicelib.services.stats import parse_month


def export(out: TextIO, *, month: str | None, path: Path | None) -> None:
    try:
        month = parse_month(month)
    except InvalidInput:
        raise UsageError(f"--month must look like 2026-11, got {month!r}") from None
    read = get_store().statistics()
    records = stats_export.table(read.summary, list(read.rows), month)
    if path is None:
        out.write(stats_export.to_csv(records, bom=False))
        return
    data = stats_export.to_csv(records).encode("utf-8")
    agencies = len(records) - 1
    try:
        if path.is_file() and path.read_bytes() == data:
            print(f"no change: {path} already holds these statistics ({agencies} agencies and the total)", file=out)
            return
        path.write_bytes(data)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    print(f"wrote {path}: {agencies} agencies and the province total, "
          f"{'month ' + month if month else 'all time'}", file=out)
