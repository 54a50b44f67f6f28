"""Per-container memory of the catalogue: the pointer for a short time, parsed procedures for ever.

Why this is safe (see models.py, "Versioned catalogue"):

- a catalogue version never changes once written, so a procedure parsed for (version, code)
  is the same until the container dies: a bounded LRU keeps the hot ones;
- the pointer (the live version, the summary and the agency directory) is kept ``ttl`` seconds,
  so a load in another process shows here within ``ttl``; a load or an agency change through
  this container's store replaces it at once;
- a container may therefore follow the previous version for up to ``ttl`` after a flip: loads
  keep the previous version's items until the next load (``Store._retire_versions``), and a
  procedure missing from a remembered version makes the store read the pointer again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.catalogue import Agency, Procedure

# Lâm Đồng alone listed 1,495 procedures: room for a whole province (a few KB each) plus the
# hot part of the previous version, far below a Lambda's memory.
PROCEDURES_KEPT = 2048
DEFAULT_TTL_SECONDS = 60.0


@dataclass(frozen=True)
class PointerSnapshot:
    """What the pointer item said when it was read."""

    version: str | None  # None: nothing loaded, or a table loaded before versions
    summary: dict[str, Any] | None  # None: no pointer item at all
    read_at: float  # the cache's clock
    agencies: dict[str, Agency] = field(default_factory=dict)  # the summary's directory, by code


def directory_agencies(summary: dict[str, Any] | None) -> dict[str, Agency]:
    """The public part of each agency (no webhook address) from the summary's directory."""
    agencies: dict[str, Agency] = {}
    for entry in (summary or {}).get("agencies", []):
        try:
            agency = Agency(code=str(entry["agency_code"]), name=str(entry["name"]), tier=str(entry["tier"]),
                            name_en=str(entry.get("name_en") or ""), parent_code=entry.get("parent_code"))
        except (KeyError, TypeError):
            continue  # a malformed entry: the caller reads that agency from its own item instead
        agencies[agency.code] = agency
    return agencies


class CatalogueCache:
    """Thread-safe (chalice local and the tests serve requests on threads; Lambda does not)."""

    def __init__(self, ttl_seconds: float = DEFAULT_TTL_SECONDS, *,
                 clock: Callable[[], float] = time.monotonic, size: int = PROCEDURES_KEPT) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._size = size
        self._lock = threading.Lock()
        self._pointer: PointerSnapshot | None = None
        self._procedures: OrderedDict[tuple[str | None, str], Procedure] = OrderedDict()

    def pointer(self) -> PointerSnapshot | None:
        """The remembered pointer while it is younger than the TTL, else None."""
        snapshot = self._pointer
        if snapshot is None or self.clock() - snapshot.read_at >= self.ttl_seconds:
            return None
        return snapshot

    def remember_pointer(self, version: str | None, summary: dict[str, Any] | None) -> PointerSnapshot:
        snapshot = PointerSnapshot(version, summary, self.clock(), directory_agencies(summary))
        self._pointer = snapshot
        return snapshot

    def forget_pointer(self) -> None:
        self._pointer = None

    def procedure(self, version: str | None, code: str) -> Procedure | None:
        with self._lock:
            procedure = self._procedures.get((version, code))
            if procedure is not None:
                self._procedures.move_to_end((version, code))
            return procedure

    def remember_procedure(self, version: str | None, procedure: Procedure) -> None:
        if version is None:
            return  # unversioned items (before versions) can change in place: never kept
        with self._lock:
            self._procedures[(version, procedure.code)] = procedure
            self._procedures.move_to_end((version, procedure.code))
            while len(self._procedures) > self._size:
                self._procedures.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._procedures.clear()
        self._pointer = None
