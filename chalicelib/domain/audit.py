"""The audit trail of a dossier: who read it, when (Decree 13/2023 on personal data).

Append-only and hash-chained per dossier: each line carries the hash of the line before it
and its own hash over its content and that link, so a line changed, removed or inserted after
the fact breaks the chain from there on. ``verify_chain`` finds the first broken line."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

GENESIS = "0" * 64  # the link of a dossier's first line


@dataclass(frozen=True)
class AuditLine:
    sequence: int  # 1, 2, … per dossier
    at: datetime
    agency_code: str  # "citizen" for the owner's own result downloads
    key_id: str  # the agency key, or the citizen's sub
    action: str
    prev_hash: str
    hash: str
    # The staff read it records (StaffRead.read_id), when it came from one: not hashed, it only
    # keeps a retried read from being written twice.
    read_id: str | None = None


def line_hash(dossier_code: str, sequence: int, at: datetime, agency_code: str, key_id: str, action: str,
              prev_hash: str) -> str:
    """SHA-256 over the line's canonical JSON, the dossier's code included (a line cannot be
    moved to another dossier's trail)."""
    canonical = json.dumps(
        {"dossier": dossier_code, "sequence": sequence, "at": at.isoformat(), "agency": agency_code,
         "key": key_id, "action": action, "prev": prev_hash},
        ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def next_line(dossier_code: str, previous: AuditLine | None, *, at: datetime, agency_code: str, key_id: str,
              action: str) -> AuditLine:
    sequence = previous.sequence + 1 if previous else 1
    prev_hash = previous.hash if previous else GENESIS
    return AuditLine(sequence, at, agency_code, key_id, action, prev_hash,
                     line_hash(dossier_code, sequence, at, agency_code, key_id, action, prev_hash))


@dataclass(frozen=True)
class StaffRead:
    """Dossiers shown to an agency in one answer: an inbox page, a decision's answer, a webhook
    carrying personal data. Recorded with the answer (one item, whatever the number of dossiers)
    and put on each dossier's trail afterwards, from the table's stream: a page of twenty dossiers
    costs its caller one write, not forty calls on twenty chains."""

    read_id: str  # one per answer: a line already on a trail for it is not written twice
    at: datetime
    agency_code: str
    key_id: str  # the agency key; "webhook" for a delivery
    action: str  # "inbox", "decision", "webhook"
    dossier_codes: tuple[str, ...]


def staff_read(at: datetime, agency_code: str, key_id: str, action: str, dossier_codes: Iterable[str]) -> StaffRead:
    """A new read of these dossiers (each once, in the order shown)."""
    return StaffRead(uuid.uuid4().hex, at, agency_code, key_id, action, tuple(dict.fromkeys(dossier_codes)))


@dataclass(frozen=True)
class ChainCheck:
    lines: int
    first_broken: int | None  # the sequence of the first line that does not check, None if all do
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.first_broken is None


def verify_chain(dossier_code: str, lines: Sequence[AuditLine]) -> ChainCheck:
    """Checks a dossier's lines in sequence order: numbered 1..n without gaps, each linked to
    the one before, each hash recomputed from its content."""
    previous_hash = GENESIS
    for expected, line in enumerate(lines, start=1):
        if line.sequence != expected:
            return ChainCheck(len(lines), expected, f"line {expected} is missing (found {line.sequence})")
        if line.prev_hash != previous_hash:
            return ChainCheck(len(lines), line.sequence, "not linked to the line before")
        recomputed = line_hash(dossier_code, line.sequence, line.at, line.agency_code, line.key_id, line.action,
                               line.prev_hash)
        if recomputed != line.hash:
            return ChainCheck(len(lines), line.sequence, "content changed after it was written")
        previous_hash = line.hash
    return ChainCheck(len(lines), None)
