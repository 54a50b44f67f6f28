"""The procedure page's form templates: downloaded at once, and from a page left open longer than
their signed links last (the page asks for fresh ones first, instead of landing on S3's error)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.helpers import WEB_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

PROCEDURE = "1.001193"
LAMDONG = WEB_DIR.parent / "infra" / "provinces" / "lamdong"


def template_file() -> bytes:
    procedures = json.loads((LAMDONG / "procedures.json").read_text(encoding="utf-8"))["procedures"]
    first = str(next(p for p in procedures if p["code"] == PROCEDURE)["templates"][0]["file"])
    return (LAMDONG / "templates" / first).read_bytes()


def test_a_template_link_past_its_expiry_is_signed_again_before_the_download(page: Page) -> None:
    page.clock.install()
    asked: list[str] = []

    def count(request: Request) -> None:
        if request.url.split("?")[0].endswith(f"/procedures/{PROCEDURE}"):
            asked.append(request.url)

    page.on("request", count)
    page.goto(f"/procedure.html?code={PROCEDURE}")
    link = page.get_by_role("link", name=re.compile("^Tải về")).first
    expect(link).to_be_visible()
    # While the link is good it is followed as it is.
    with page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == template_file()
    assert len(asked) == 1
    # An hour later on the same open page: fresh links first, then the same template.
    page.clock.fast_forward(3_600_000)
    with page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == template_file()
    assert len(asked) == 2  # (the server's clock did not move: the new signature may equal the old)
