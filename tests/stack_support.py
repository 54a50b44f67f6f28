"""Helpers for tests that drive a running local stack over HTTP (tests/e2e, tests/browser)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], seconds: float = 30) -> T:
    """Polls ``probe`` until it gives something truthy (the stack works in the background)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds:g} s waiting for the stack")
