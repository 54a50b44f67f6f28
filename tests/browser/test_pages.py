"""Every static page of web/ loads cleanly on a phone, declares its language and passes axe."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.helpers import WEB_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

# The pages that exist when the tests are collected: new pages are checked without a change here.
PAGES = sorted(path.name for path in WEB_DIR.glob("*.html"))


def test_the_web_front_has_pages() -> None:
    assert "index.html" in PAGES


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_cleanly_and_is_accessible(page: Page, name: str, screenshot: Callable[[Page, str], Path],
                                              axe_check: Callable[[Page, str], dict[str, Any]]) -> None:
    response = page.goto(f"/{name}", wait_until="networkidle")
    assert response is not None and response.status == 200, f"{name}: HTTP {response and response.status}"
    lang = page.evaluate("() => document.documentElement.getAttribute('lang') || ''")
    assert lang.strip(), f"{name}: <html> has no lang"
    assert page.title().strip(), f"{name}: no <title>"
    stem = Path(name).stem
    screenshot(page, f"page-{stem}")
    axe_check(page, f"page-{stem}")
