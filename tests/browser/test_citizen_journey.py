"""The whole citizen journey in Debian's Chromium against the local stack: sign up, search,
submit a level-4 dossier with an upload, the agencies decide through their API, pay with
Stripe.js (localstripe), download the result, rate; then the tracker and the statistics.
Every page on the way is screenshot and checked with axe-core."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Page, expect

from tests.browser.helpers import RESULT, TIMEOUT, AgencyDesk, fill_judicial_record_request
from tests.stack_support import wait_for

PROCEDURE = "2.000488"  # judicial record certificate: level 4, a 200,000 VND fee, one department
PROCEDURE_NAME = "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư trú tại Việt Nam"
def sign_up_and_in(page: Page, web_url: str, email: str, password: str) -> None:
    page.goto(f"{web_url}/signin.html?mode=signup")
    page.get_by_label("Thư điện tử").fill(email)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_label("Nhập lại mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng ký", exact=True).click()
    # moto's Cognito takes any confirmation code; AWS e-mails a real one.
    page.get_by_label("Mã xác nhận").fill("123456")
    page.get_by_role("button", name="Xác nhận", exact=True).click()
    expect(page.get_by_text("Tài khoản đã được xác nhận")).to_be_visible()
    page.get_by_label("Thư điện tử").fill(email)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(re.compile(r"/dossiers\.html"))


def check_page(page: Page, name: str, screenshot: Callable[[Page, str], Path],
               axe_check: Callable[[Page, str], dict[str, Any]]) -> None:
    page.wait_for_load_state("networkidle")
    screenshot(page, name)
    axe_check(page, name)


def test_sign_up_search_submit_pay_download_rate_track_and_see_the_statistics(
    page: Page, web_url: str, local_stack: dict[str, Any], tmp_path: Path,
    screenshot: Callable[[Page, str], Path], axe_check: Callable[[Page, str], dict[str, Any]],
) -> None:
    email = f"journey-{uuid.uuid4().hex[:8]}@example.vn"
    sign_up_and_in(page, web_url, email, "Journey-Passw0rd")
    check_page(page, "journey-01-my-dossiers-empty", screenshot, axe_check)

    # Search without diacritics, open the procedure, go to the online form.
    page.goto(f"{web_url}/index.html")
    page.get_by_label("Tìm thủ tục").fill("ly lich tu phap")
    page.get_by_role("button", name="Tìm kiếm").click()
    result = page.get_by_role("link", name=PROCEDURE_NAME)
    expect(result).to_be_visible()
    check_page(page, "journey-02-search", screenshot, axe_check)
    result.click()
    page.wait_for_url(re.compile(rf"/procedure\.html\?code={re.escape(PROCEDURE)}"))
    expect(page.get_by_text("200.000")).not_to_have_count(0)
    check_page(page, "journey-03-procedure", screenshot, axe_check)
    page.get_by_role("link", name="Nộp hồ sơ trực tuyến").click()
    page.wait_for_url(re.compile(r"/submit\.html"))

    # The form rendered from the procedure's JSON Schema; a missing field is told in Vietnamese.
    expect(page.get_by_label("Họ và tên")).to_be_visible()
    page.get_by_role("button", name="Nộp hồ sơ", exact=True).click()
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()
    check_page(page, "journey-04-form-errors", screenshot, axe_check)
    declaration = tmp_path / "to-khai.pdf"
    declaration.write_bytes(b"%PDF-1.4 To khai yeu cau cap Phieu ly lich tu phap")
    fill_judicial_record_request(page, {
        "Họ và tên": "Trần Thị Mai", "Số định danh cá nhân (CCCD)": "068190004321", "Số điện thoại": "0987654321",
        "Thư điện tử": email, "Địa chỉ liên hệ": "25 Hoàng Văn Thụ, phường Lâm Viên - Đà Lạt",
        "Mục đích sử dụng Phiếu": "Bổ sung hồ sơ xin việc", "Số lượng Phiếu yêu cầu cấp": "1",
        "Nơi sinh": "Đà Lạt, Lâm Đồng", "Họ, chữ đệm, tên cha": "Trần Văn Hùng", "Họ, chữ đệm, tên mẹ": "Lê Thị Lan",
    }, declaration)
    page.get_by_label(re.compile("Tôi cam đoan")).check()
    page.get_by_role("button", name="Nộp hồ sơ", exact=True).click()
    code = page.locator("#dossier-code").inner_text(timeout=TIMEOUT * 1000).strip()
    assert re.fullmatch(r"[0-9A-Z.]+-\d{6}-\d{4}", code), code
    qr = page.get_by_role("img", name=f"Mã QR dẫn tới trang tra cứu hồ sơ {code}")
    expect(qr).to_be_visible()
    # Visible is not loaded: wait for the SVG itself (an image that fails to load has no width).
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=qr.element_handle(),
                           timeout=TIMEOUT * 1000)
    check_page(page, "journey-05-receipt", screenshot, axe_check)

    # The desk receives it through the agency API; the dossier waits for its fee (status 6).
    detail = requests.get(f"{local_stack['api_url']}/procedures/{PROCEDURE}", timeout=TIMEOUT).json()
    desk = AgencyDesk(local_stack, detail["route"][0]["agency_code"])
    desk.decide(desk.task(code, "reception"), "receive")
    wait_for(lambda: requests.get(f"{local_stack['api_url']}/track/{code}",
                                  timeout=TIMEOUT).json()["status_code"] == 6)

    # Pay with Stripe.js (localstripe's, through the local stack's shim): the server learns
    # of the payment from Stripe's signed webhook, and the page follows.
    page.get_by_role("link", name="Xem hồ sơ").click()
    page.wait_for_url(re.compile(r"/dossier\.html\?code="))
    expect(page.locator("#dossier-status")).to_contain_text("Chờ thực hiện nghĩa vụ tài chính")
    page.get_by_role("button", name="Thanh toán 200.000 đồng").click()
    card = page.locator("#card-element")
    card.locator("input[placeholder=number]").fill("4242424242424242")
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("30")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("66000")
    screenshot(page, "journey-06-payment")
    page.get_by_role("button", name="Xác nhận thanh toán").click()
    expect(page.locator("#dossier-status")).to_contain_text("Đang xử lý", timeout=30_000)
    check_page(page, "journey-07-paid", screenshot, axe_check)

    # The department uploads the result and approves with it; the citizen downloads it.
    department = AgencyDesk(local_stack, detail["route"][-1]["agency_code"])
    task = department.task(code, "processing")
    department.decide(task, "approve", result_upload_id=department.upload_result(code))
    page.reload()
    expect(page.locator("#dossier-status")).to_contain_text("Đã xử lý xong")
    with page.expect_download() as download:
        page.get_by_role("button", name="Tải kết quả").click()
    assert Path(download.value.path()).read_bytes() == RESULT
    expect(page.locator("#dossier-status")).to_contain_text("Đã trả kết quả", timeout=TIMEOUT * 1000)

    # Rate the service, once.
    page.get_by_label("Hài lòng (4/5)", exact=True).check()
    page.get_by_label("Góp ý").fill("Thủ tục nhanh, cán bộ hỗ trợ tận tình")
    page.get_by_role("button", name="Gửi đánh giá").click()
    expect(page.get_by_role("button", name="Gửi đánh giá")).to_have_count(0)
    check_page(page, "journey-08-done-and-rated", screenshot, axe_check)

    # Anyone tracks it by code, without personal data.
    page.goto(f"{web_url}/track.html?code={code}")
    tracked = page.locator("#track-result")
    expect(tracked).to_contain_text(code)
    expect(tracked).to_contain_text("Đã trả kết quả")
    expect(tracked).not_to_contain_text("068190004321")
    expect(tracked).not_to_contain_text("Trần Thị Mai")
    check_page(page, "journey-09-tracker", screenshot, axe_check)

    # The statistics count it: received, done on time, paid online, electronic result, rated.
    stats = requests.get(f"{local_stack['api_url']}/stats", timeout=TIMEOUT).json()["dossiers"]
    assert stats["done"] >= 1 and stats["satisfaction"]["ratings"] >= 1
    assert stats["online_payment_rate"] is not None and stats["electronic_result_rate"] is not None
    page.goto(f"{web_url}/stats.html")
    agencies = page.locator("#table-agencies")
    expect(agencies).to_contain_text(detail["agency_name"])
    expect(page.get_by_role("img").first).to_be_visible()
    check_page(page, "journey-10-statistics", screenshot, axe_check)
