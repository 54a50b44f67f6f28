"""What a container remembers of agencies' tasks and keys stays small and recent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chalicelib.domain.agency_keys import StoredKey
from chalicelib.services import seen_tasks
from tests.factories import create_dossier, create_task

AT = datetime(2026, 11, 26, 2, tzinfo=UTC)


def test_only_the_latest_tasks_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seen_tasks, "_tasks", seen_tasks._Recent(2, 60.0))
    dossier = create_dossier()
    tasks = [create_task(task_id=f"T{n}", dossier_code=dossier.code) for n in range(3)]
    seen_tasks.remember_tasks([(task, dossier) for task in tasks])
    assert seen_tasks.seen_task(tasks[0].agency_code, "T0") is None
    assert [seen_tasks.seen_task(t.agency_code, t.task_id) is not None for t in tasks[1:]] == [True, True]


def test_closed_tasks_and_other_dossiers_are_not_remembered() -> None:
    dossier = create_dossier()
    closed = create_task(task_id="T1", dossier_code=dossier.code, status="decided")
    elsewhere = create_task(task_id="T2", dossier_code="OTHER-CODE")
    seen_tasks.remember_tasks([(closed, dossier), (elsewhere, dossier)])
    assert seen_tasks.seen_task(closed.agency_code, "T1") is None
    assert seen_tasks.seen_task(elsewhere.agency_code, "T2") is None


def test_what_is_remembered_is_forgotten_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("chalicelib.services.seen_tasks.time.monotonic", lambda: clock[0])
    dossier = create_dossier()
    task = create_task(task_id="T1", dossier_code=dossier.code)
    key = StoredKey(key_id="k1", agency_code=task.agency_code, digest="d", label="l", created_at=AT)
    seen_tasks.remember_tasks([(task, dossier)])
    seen_tasks.remember_key(key)
    clock[0] += seen_tasks.KEEP_SECONDS
    assert seen_tasks.seen_task(task.agency_code, "T1") is not None and seen_tasks.remembered_key("k1") == key
    clock[0] += 1
    assert seen_tasks.seen_task(task.agency_code, "T1") is None and seen_tasks.remembered_key("k1") is None


def test_a_revoked_key_is_never_remembered() -> None:
    key = StoredKey(key_id="k1", agency_code="A", digest="d", label="l", created_at=AT)
    seen_tasks.remember_key(replace(key, revoked_at=AT))
    assert seen_tasks.remembered_key("k1") is None
    seen_tasks.remember_key(key)
    seen_tasks.forget_key("k1")
    assert seen_tasks.remembered_key("k1") is None
