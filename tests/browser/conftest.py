"""Browser tests: Debian's Chromium driven by Playwright against the local stack's web front.

One browser per pytest process (xdist worker), a new context per test. The stack is the one
tests/e2e uses (``tests.e2e.conftest.shared_stack_process``): every test here is put in the xdist
group "local_stack", so the same worker, and the same stack, serves e2e and browser tests.

Fixtures:
    browser                 session: playwright.sync_api.Browser (``$CHROMIUM`` or /usr/bin/chromium)
    local_stack_process     session: tests.e2e.conftest.StackProcess (shared with tests/e2e)
    local_stack             session: the stack's stack.json
    web_url                 session: str, the web front's origin
    browser_context_args    dict for Browser.new_context: phone 390×844, vi-VN, Asia/Ho_Chi_Minh;
                            override it in a module for another viewport
    page                    a Page in a new context; console errors and uncaught page errors fail
                            the test unless it is marked ``@pytest.mark.allow_console_errors``
    page_errors             list[str]: what the page fixture collected so far
    screenshot              (page, name) -> Path: full-page PNG in test-artifacts/screenshots/
    axe_check               (page, name) -> dict: axe-core WCAG 2 A/AA; JSON in test-artifacts/axe/;
                            fails on serious or critical violations
    new_citizen             (**kwargs) -> helpers.Citizen: a fresh Cognito citizen, no UI
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.browser import helpers
from tests.e2e.conftest import StackProcess, mark_xdist_groups, shared_stack_process

CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DEFAULT_TIMEOUT_MS = 15_000

_PAGE_ERRORS = pytest.StashKey[list[str]]()
_HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every browser test joins the "local_stack" xdist group (before xdist reads the marks); then
    the node ids get their group suffix (see tests.e2e.conftest.mark_xdist_groups, which
    tests/e2e's conftest also applies: it is idempotent)."""
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if not any(mark.args == ("local_stack",) for mark in item.iter_markers("xdist_group")):
                item.add_marker(pytest.mark.xdist_group("local_stack"))
    mark_xdist_groups(config, items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    errors = item.stash.get(_PAGE_ERRORS, [])
    if errors and item.get_closest_marker("allow_console_errors") is None:
        listed = "\n".join(f"- {error}" for error in errors)
        pytest.fail(f"the page logged {len(errors)} error(s) (mark the test allow_console_errors "
                    f"if they are expected):\n{listed}", pytrace=False)
    return result


@pytest.fixture(scope="session")
def local_stack_process(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> StackProcess:
    return shared_stack_process(tmp_path_factory, pytestconfig)


@pytest.fixture(scope="session")
def local_stack(local_stack_process: StackProcess) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(local_stack_process.stack_path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def web_url(local_stack: dict[str, Any]) -> str:
    return str(local_stack["web_url"])


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium "
                    "(or set CHROMIUM to a Chromium binary)", pytrace=False)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def browser_context_args(web_url: str) -> dict[str, Any]:
    return {
        "base_url": web_url,
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "locale": "vi-VN",
        "timezone_id": "Asia/Ho_Chi_Minh",
    }


@pytest.fixture
def page_errors(request: pytest.FixtureRequest) -> list[str]:
    errors: list[str] = []
    request.node.stash[_PAGE_ERRORS] = errors
    return errors


@pytest.fixture
def page(browser: Browser, browser_context_args: dict[str, Any], page_errors: list[str]) -> Iterator[Page]:
    context = browser.new_context(**browser_context_args)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url") or "?"
            if where.endswith("/favicon.ico"):
                return  # the browser asks for it on its own; a missing icon is not the page's error
            page_errors.append(f"console.error: {message.text} ({where}:{message.location.get('lineNumber')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: page_errors.append(f"uncaught: {error.name}: {error.message}"))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    return helpers.screenshot


@pytest.fixture
def axe_check() -> Callable[[Page, str], dict[str, Any]]:
    return helpers.axe_check


@pytest.fixture
def new_citizen(local_stack: dict[str, Any]) -> Callable[..., helpers.Citizen]:
    def make(**kwargs: Any) -> helpers.Citizen:
        return helpers.sign_up_citizen(local_stack, **kwargs)

    return make
