"""Fixtures shared by the integration tests (moto in-process, chalice.test.Client)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.services import deps
from chalicelib.services.deps import get_store
from tests.conftest import create_citizen
from tests.factories import create_catalogue
from tests.integration.route_support import Agencies

# Thursday 26 November 2026, 09:00 in Vietnam.
SAMPLE_NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


@pytest.fixture
def sample_catalogue(aws: dict[str, str]) -> None:
    get_store().put_catalogue(create_catalogue())


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(deps, "now", lambda: SAMPLE_NOW)
    for module in ("chalicelib.services.dossiers", "chalicelib.services.uploads", "chalicelib.services.routing"):
        monkeypatch.setattr(f"{module}.now", lambda: SAMPLE_NOW)
    return SAMPLE_NOW


@pytest.fixture
def sample_token(aws: dict[str, str]) -> str:
    return create_citizen(aws, "an.nguyen@example.vn")


@pytest.fixture
def other_token(aws: dict[str, str]) -> str:
    return create_citizen(aws, "binh.tran@example.vn")


@pytest.fixture
def agencies(api: Any) -> Agencies:
    """The sample agencies answering through the agency API, each with a key issued on first use."""
    return Agencies(api)
