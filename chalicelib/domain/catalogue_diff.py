"""What changes between two sets of procedures: added, removed, and changed fields (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.catalogue import Procedure, procedure_to_dict

# Fields shown with their old and new values; the others (form schema, route, documents…)
# are named as changed, their values being too long for one line.
_SCALAR_FIELDS = ("name", "name_en", "field", "tier", "agency_code", "level", "fee_vnd", "processing_days",
                  "interagency", "legal_basis")
_MAX_VALUE_CHARS = 60


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any

    def __str__(self) -> str:
        if self.field not in _SCALAR_FIELDS:
            return f"{self.field} changed"
        return f"{self.field}: {_show(self.old)} → {_show(self.new)}"


@dataclass(frozen=True)
class CatalogueDiff:
    added: list[Procedure] = field(default_factory=list)
    removed: list[Procedure] = field(default_factory=list)
    changed: dict[str, list[FieldChange]] = field(default_factory=dict)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
                f"{self.unchanged} unchanged")

    def lines(self) -> list[str]:
        """One line per added or removed procedure, one per changed field."""
        out = [f"+ {p.code} {p.name}" for p in self.added]
        for code, changes in self.changed.items():
            out.append(f"~ {code}")
            out.extend(f"    {change}" for change in changes)
        out.extend(f"- {p.code} {p.name}" for p in self.removed)
        return out


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def diff_procedures(old: Sequence[Procedure], new: Sequence[Procedure]) -> CatalogueDiff:
    """``old`` → ``new``, by procedure code (lists in code order)."""
    before = {p.code: p for p in old}
    after = {p.code: p for p in new}
    added = [after[code] for code in sorted(after) if code not in before]
    removed = [before[code] for code in sorted(before) if code not in after]
    changed: dict[str, list[FieldChange]] = {}
    unchanged = 0
    for code in sorted(set(before) & set(after)):
        old_fields, new_fields = procedure_to_dict(before[code]), procedure_to_dict(after[code])
        changes = [FieldChange(name, old_fields.get(name), new_fields.get(name))
                   for name in new_fields if old_fields.get(name) != new_fields.get(name)]
        if changes:
            changed[code] = changes
        else:
            unchanged += 1
    return CatalogueDiff(added, removed, changed, unchanged)
