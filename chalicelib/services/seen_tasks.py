"""Agencies' open tasks as this container last showed them (inbox pages), and the agency keys it
last found good, so that a decision on a task the agency has just seen needs no read before its
transaction: the transaction and the callback are then the decision's only AWS calls.

Nothing remembered here is trusted. A decision made from a remembered task, dossier and key
writes on condition that all three still are as remembered: the task open with the same callback
token, the dossier at the same version (every change of a dossier moves its version, so the same
version is the same dossier, progress log and slips included), the key's record unchanged and not
revoked. If any moved, nothing is written, and the decision reads them again and is decided on
what it reads (``routing.decide_task``). So remembering saves reads; it never decides anything,
and a key revoked in another container is refused on the very next decision.

Bounded (``MAX_TASKS`` tasks, ``MAX_KEYS`` keys, each for ``KEEP_SECONDS`` at most): a Lambda
container keeps what its agencies have looked at recently, not the province's dossiers.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from chalicelib.domain.agency_keys import StoredKey
from chalicelib.domain.dossiers import Dossier
from chalicelib.domain.tasks import Task

MAX_TASKS = 256
MAX_KEYS = 64
KEEP_SECONDS = 900.0

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class SeenTask:
    """An open task and its dossier as an answer showed them to the task's agency."""

    task: Task
    dossier: Dossier


class _Recent(Generic[K, V]):
    """A small map that forgets its oldest entries beyond ``size`` and any entry after ``keep``
    seconds (of the monotonic clock: the process's, not the domain's, time)."""

    def __init__(self, size: int, keep: float) -> None:
        self._size = size
        self._keep = keep
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()  # chalice local serves requests on threads

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if time.monotonic() - entry[0] > self._keep:
                del self._entries[key]
                return None
            return entry[1]

    def drop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_tasks: _Recent[tuple[str, str], SeenTask] = _Recent(MAX_TASKS, KEEP_SECONDS)
_keys: _Recent[str, StoredKey] = _Recent(MAX_KEYS, KEEP_SECONDS)


def remember_tasks(shown: list[tuple[Task, Dossier]]) -> None:
    """Remembers the open tasks an answer showed their agency, with their dossiers."""
    for task, dossier in shown:
        if task.status == "open" and dossier.code == task.dossier_code:
            _tasks.put((task.agency_code, task.task_id), SeenTask(task, dossier))


def seen_task(agency_code: str, task_id: str) -> SeenTask | None:
    """The agency's task ``task_id`` as this container last showed it, if it was open then."""
    return _tasks.get((agency_code, task_id))


def forget_task(agency_code: str, task_id: str) -> None:
    _tasks.drop((agency_code, task_id))


def remember_key(key: StoredKey) -> None:
    """Remembers a key just read and found good."""
    if not key.revoked:
        _keys.put(key.key_id, key)


def remembered_key(key_id: str) -> StoredKey | None:
    return _keys.get(key_id)


def forget_key(key_id: str) -> None:
    _keys.drop(key_id)


def forget_all() -> None:
    """Forgets everything (tests, benchmarks: a container that has seen nothing yet)."""
    _tasks.clear()
    _keys.clear()
