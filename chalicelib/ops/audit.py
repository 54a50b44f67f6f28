"""``audit verify``: checks a dossier's hash-chained audit trail (domain/audit.py); ``audit reads``:
what an agency was shown on one day (its staff reads, access pattern 17)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TextIO

from chalicelib.domain import audit
from chalicelib.domain.dossiers import is_dossier_code
from chalicelib.ops.environment import UsageError
from chalicelib.services.deps import get_store


class ChainBroken(Exception):
    """The trail does not verify (exit status 1: something to investigate, not a usage error)."""


def verify(out: TextIO, *, code: str) -> None:
    if not is_dossier_code(code):
        raise UsageError(f"{code!r} is not a dossier code (like 000.00.21.H38-261126-0001)")
    store = get_store()
    if store.get_dossier(code) is None:
        raise UsageError(f"no dossier {code}")
    lines = store.audit_trail(code)
    check = audit.verify_chain(code, lines)
    if not check.intact:
        raise ChainBroken(f"audit trail of {code} is BROKEN at line {check.first_broken} of {check.lines}: "
                          f"{check.reason}")
    last = f", last {lines[-1].at.isoformat()} by {lines[-1].agency_code}" if lines else ""
    print(f"audit trail of {code} verifies: {check.lines} line(s){last}", file=out)


def reads(out: TextIO, *, agency_code: str, day: str) -> None:
    """One line per answer: when, which key (or "webhook"), what kind of answer, which dossiers."""
    try:
        start = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise UsageError(f"{day!r} is not a day (YYYY-MM-DD)") from None
    store = get_store()
    if store.get_agency(agency_code) is None:
        raise UsageError(f"no agency {agency_code}")
    shown = store.staff_reads(agency_code, start)
    for read in shown:
        print(f"{read.at.isoformat()}\t{read.key_id}\t{read.action}\t{' '.join(read.dossier_codes)}", file=out)
    print(f"{len(shown)} read(s) by {agency_code} on {day} (UTC)", file=out)
