"""Every change of a dossier goes through here: stored in one transaction, and nothing else on
the request path. Telling the citizen follows from the table's stream: the progress-log item the
transaction wrote reaches ``services/table_events.py``, which notifies off the request path."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.dossiers import Dossier, LogEntry
from chalicelib.services.deps import get_store


def apply(dossier: Dossier, entry: LogEntry, **changes: Any) -> Dossier:
    return get_store().apply_change(dossier, entry, **changes)
