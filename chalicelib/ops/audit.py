"""``audit verify``: checks a dossier's hash-chained audit trail (domain/audit.py)."""

from __future__ import annotations

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
