"""Lazily built collaborators, one per settings: cheap cold starts, easy tests."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from chalicelib.config import Settings, get_settings
from chalicelib.domain.calendar import WorkingCalendar, default_calendar, load_working_calendar
from chalicelib.integrations.s3 import DocumentStorage
from chalicelib.integrations.sfn import RouteEngine
from chalicelib.store.repository import Store, TaskStore


@lru_cache(maxsize=4)
def _store(table_name: str, region: str) -> Store:
    return Store(table_name, region)


def get_store(settings: Settings | None = None) -> Store:
    settings = settings or get_settings()
    store = _store(settings.table_name, settings.region)
    store.bind()
    store.catalogue_cache.ttl_seconds = settings.catalogue_cache_seconds
    return store


def get_task_store(settings: Settings | None = None) -> TaskStore:
    return TaskStore(get_store(settings))


@lru_cache(maxsize=4)
def _engine(region: str, arn: str) -> RouteEngine:
    return RouteEngine(region, arn)


def get_engine(settings: Settings | None = None) -> RouteEngine:
    settings = settings or get_settings()
    return _engine(settings.region, settings.route_state_machine_arn)


@lru_cache(maxsize=4)
def _storage(region: str) -> DocumentStorage:
    return DocumentStorage(region)


def get_storage(settings: Settings | None = None) -> DocumentStorage:
    settings = settings or get_settings()
    return _storage(settings.region)


@lru_cache(maxsize=4)
def _calendar(extra_file: str | None) -> WorkingCalendar:
    if extra_file is None:
        return default_calendar()
    return load_working_calendar(extra=[Path(extra_file)])


def get_calendar(settings: Settings | None = None) -> WorkingCalendar:
    settings = settings or get_settings()
    return _calendar(settings.extra_calendar_file)


def now() -> datetime:
    """The one clock of the services (tests replace it)."""
    return datetime.now(UTC)
