"""The hash-chained audit trail: lines link to the line before, and tampering shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from chalicelib.domain import audit

CODE = "000.00.21.H38-261126-0001"
AT = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def create_chain(length: int = 4, code: str = CODE) -> list[audit.AuditLine]:
    lines: list[audit.AuditLine] = []
    for index in range(length):
        lines.append(audit.next_line(code, lines[-1] if lines else None, at=AT + timedelta(minutes=index),
                                     agency_code="000.00.05.H38", key_id=f"key{index % 2}", action="read"))
    return lines


def test_a_chain_starts_at_genesis_and_links_each_line() -> None:
    lines = create_chain()
    assert [line.sequence for line in lines] == [1, 2, 3, 4]
    assert lines[0].prev_hash == audit.GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(lines))
    check = audit.verify_chain(CODE, lines)
    assert check.intact and check.lines == 4


def test_a_changed_line_is_found() -> None:
    lines = create_chain()
    lines[2] = replace(lines[2], action="download")
    check = audit.verify_chain(CODE, lines)
    assert (check.first_broken, check.reason) == (3, "content changed after it was written")


def test_a_removed_line_is_found() -> None:
    lines = create_chain()
    del lines[1]
    assert audit.verify_chain(CODE, lines).first_broken == 2


def test_a_rewritten_tail_is_found_by_its_link() -> None:
    lines = create_chain()
    # Someone rewrites line 3 consistently with itself (recomputing its hash) but cannot fix line 4.
    forged = audit.next_line(CODE, lines[1], at=lines[2].at, agency_code="000.00.05.H38", key_id="other",
                             action="read")
    lines[2] = forged
    assert audit.verify_chain(CODE, lines).first_broken == 4


def test_lines_cannot_move_to_another_dossier() -> None:
    assert not audit.verify_chain("000.00.21.H38-261126-0002", create_chain()).intact
