"""The online form keeps what the citizen typed when their sign-in expires before they submit:
they sign in again, come back to it filled, and submit; the draft is gone once submitted."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import TIMEOUT, Citizen, fill_judicial_record_request, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

PROCEDURE = "2.000488"
DRAFT_KEY = f"motcua.draft.{PROCEDURE}"


def test_a_sign_in_that_expires_while_filling_the_form_keeps_what_was_typed(
        page: Page, web_url: str, new_citizen: Callable[..., Citizen], tmp_path: Path) -> None:
    citizen = new_citizen(name="Đỗ Thị Hạnh")
    form_path = f"/submit.html?code={PROCEDURE}"
    sign_in(page, web_url, citizen, next_path=form_path)
    declaration = tmp_path / "to-khai.pdf"
    declaration.write_bytes(b"%PDF-1.4 To khai")
    fill_judicial_record_request(page, {
        "Họ và tên": "Đỗ Thị Hạnh", "Số định danh cá nhân (CCCD)": "068190007777", "Số điện thoại": "0912345678",
        "Thư điện tử": citizen.email, "Địa chỉ liên hệ": "12 Trần Phú, phường 3, Đà Lạt",
        "Mục đích sử dụng Phiếu": "Xin việc làm", "Số lượng Phiếu yêu cầu cấp": "2", "Nơi sinh": "Bảo Lộc, Lâm Đồng",
        "Họ, chữ đệm, tên cha": "Đỗ Văn Nam", "Họ, chữ đệm, tên mẹ": "Phan Thị Thu",
    }, declaration)
    page.get_by_label(re.compile("Tôi cam đoan")).check()

    # The hour of the ID token runs out before the citizen presses "Nộp hồ sơ".
    page.evaluate("""() => {
        const session = JSON.parse(sessionStorage.getItem("motcua.session"));
        session.expiresAt = Date.now() - 1000;
        sessionStorage.setItem("motcua.session", JSON.stringify(session));
    }""")
    page.get_by_role("button", name="Nộp hồ sơ", exact=True).click()
    page.wait_for_url(re.compile(r"/signin\.html\?next="))
    page.get_by_label("Thư điện tử").fill(citizen.email)
    page.get_by_label("Mật khẩu", exact=True).fill(citizen.password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(f"**{form_path}")

    # Back on the form, as it was left.
    expect(page.locator("#draft-restored")).to_be_visible()
    expect(page.get_by_label("Họ và tên")).to_have_value("Đỗ Thị Hạnh")
    expect(page.get_by_label("Nơi sinh")).to_have_value("Bảo Lộc, Lâm Đồng")
    expect(page.get_by_label("Số lượng Phiếu yêu cầu cấp")).to_have_value("2")
    expect(page.get_by_label("Phiếu lý lịch tư pháp số 1")).to_be_checked()
    expect(page.get_by_text("Đã tải lên: to-khai.pdf")).to_be_visible()
    expect(page.get_by_label(re.compile("Tôi cam đoan"))).to_be_checked()
    page.get_by_role("button", name="Nộp hồ sơ", exact=True).click()
    code = page.locator("#dossier-code").inner_text(timeout=TIMEOUT * 1000).strip()
    assert re.fullmatch(r"[0-9A-Z.]+-\d{6}-\d{4}", code), code
    assert page.evaluate(f"() => sessionStorage.getItem({DRAFT_KEY!r})") is None


def test_signing_out_drops_the_draft(page: Page, web_url: str, new_citizen: Callable[..., Citizen]) -> None:
    citizen = new_citizen()
    form_path = f"/submit.html?code={PROCEDURE}"
    sign_in(page, web_url, citizen, next_path=form_path)
    page.get_by_label("Họ và tên").fill("Lê Văn Tâm")
    page.get_by_label("Nơi sinh").fill("Đà Lạt")  # leaving the name field records the draft
    assert page.evaluate(f"() => sessionStorage.getItem({DRAFT_KEY!r})") is not None
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(re.compile(r"/signin\.html"))
    assert page.evaluate(f"() => sessionStorage.getItem({DRAFT_KEY!r})") is None
