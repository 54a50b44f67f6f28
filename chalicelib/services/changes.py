"""Every change of a dossier goes through here: stored first (one transaction), then
the citizen is told. A notification never undoes a change."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.dossiers import Dossier, LogEntry
from chalicelib.services.deps import get_store
from chalicelib.services.notifications import notify_citizen


def apply(dossier: Dossier, entry: LogEntry, **changes: Any) -> Dossier:
    updated = get_store().apply_change(dossier, entry, **changes)
    notify_citizen(updated, entry)
    return updated


def announce(dossier: Dossier, entry: LogEntry) -> None:
    """For changes stored by another path (a new dossier, an agency's decision)."""
    notify_citizen(dossier, entry)
