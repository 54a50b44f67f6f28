"""The dossier page beyond the happy path: answering a supplement request with a new document,
withdrawing; and the front in English, and by keyboard alone."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Page, expect

from tests.browser.helpers import TIMEOUT, AgencyDesk, Citizen, sign_in, submit_dossier
from tests.stack_support import wait_for

PROCEDURE = "2.000488"
FORM = {"certificate_type": "Phiếu lý lịch tư pháp số 1", "purpose": "Xin việc làm", "copies": 1,
        "birth_place": "Bảo Lộc, Lâm Đồng", "father_full_name": "Phạm Văn Tâm", "mother_full_name": "Vũ Thị Hoa"}


def submission(citizen: Citizen) -> dict[str, Any]:
    return {"procedure_code": PROCEDURE, "form": FORM, "applicant": {
        "full_name": citizen.name, "id_number": "068095001111", "phone": "0911222333", "email": citizen.email,
        "address": "8 Lê Hồng Phong, phường 1, Bảo Lộc"}}


def status_code(stack: dict[str, Any], code: str) -> int:
    return int(requests.get(f"{stack['api_url']}/track/{code}", timeout=TIMEOUT).json()["status_code"])


def test_a_citizen_answers_a_supplement_request_then_withdraws(
    page: Page, web_url: str, local_stack: dict[str, Any], new_citizen: Callable[..., Citizen], tmp_path: Path,
    screenshot: Callable[[Page, str], Path], axe_check: Callable[[Page, str], dict[str, Any]],
) -> None:
    citizen = new_citizen(name="Phạm Thị Thu")
    code = submit_dossier(local_stack, citizen, submission(citizen), {"to_khai": b"%PDF-1.4 to khai"})
    desk_code = requests.get(f"{local_stack['api_url']}/procedures/{PROCEDURE}",
                             timeout=TIMEOUT).json()["route"][0]["agency_code"]
    desk = AgencyDesk(local_stack, desk_code)
    desk.decide(desk.task(code, "reception"), "request_supplement",
                note="Bổ sung văn bản ủy quyền có chứng thực")
    wait_for(lambda: status_code(local_stack, code) == 5)

    sign_in(page, web_url, citizen, f"/dossier.html?code={code}")
    expect(page.locator("#dossier-status")).to_contain_text("Yêu cầu bổ sung")
    expect(page.get_by_text("Bổ sung văn bản ủy quyền có chứng thực")).not_to_have_count(0)
    page.wait_for_load_state("networkidle")
    screenshot(page, "dossier-supplement-requested")
    axe_check(page, "dossier-supplement-requested")

    power_of_attorney = tmp_path / "uy-quyen.pdf"
    power_of_attorney.write_bytes(b"%PDF-1.4 van ban uy quyen")
    page.get_by_label(re.compile("^Văn bản ủy quyền")).set_input_files(power_of_attorney)
    expect(page.get_by_text("Đã tải lên: uy-quyen.pdf")).to_be_visible()
    page.get_by_label(re.compile("^Ghi chú gửi cơ quan giải quyết")).fill("Đã bổ sung văn bản ủy quyền")
    page.get_by_role("button", name="Gửi bổ sung").click()
    expect(page.get_by_text("Đã gửi hồ sơ bổ sung.")).to_be_visible()
    # Asked at the desk, so the dossier is back at the desk (status 1), with the new document.
    expect(page.locator("#dossier-status")).to_contain_text("Mới")
    dossier = requests.get(f"{local_stack['api_url']}/dossiers/{code}", timeout=TIMEOUT,
                           headers={"Authorization": f"Bearer {citizen.id_token}"}).json()
    assert sorted(d["document_id"] for d in dossier["documents"]) == ["to_khai", "van_ban_uy_quyen"]

    desk.decide(desk.task(code, "reception"), "receive")
    wait_for(lambda: status_code(local_stack, code) == 6)
    page.reload()
    expect(page.locator("#dossier-status")).to_contain_text("Chờ thực hiện nghĩa vụ tài chính")
    page.get_by_role("button", name="Rút hồ sơ").click()
    page.get_by_label("Lý do rút hồ sơ").fill("Đã nộp trực tiếp tại bộ phận một cửa")
    screenshot(page, "dossier-withdraw-dialog")
    page.get_by_role("button", name="Xác nhận rút hồ sơ").click()
    expect(page.locator("#dossier-status")).to_contain_text("Rút hồ sơ")
    assert status_code(local_stack, code) == 7
    expect(page.get_by_role("button", name="Rút hồ sơ")).to_have_count(0)
    axe_check(page, "dossier-withdrawn")


def test_the_front_speaks_english_when_asked_and_remembers_it(page: Page, web_url: str) -> None:
    page.goto(f"{web_url}/index.html")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Tiếng Việt")).to_be_visible()
    expect(page.get_by_label("Level")).to_be_visible()
    page.goto(f"{web_url}/stats.html")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Tiếng Việt").click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")


def test_search_works_from_the_keyboard_alone(page: Page, web_url: str) -> None:
    page.goto(f"{web_url}/index.html")
    page.wait_for_load_state("networkidle")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    expect(skip).to_have_attribute("href", "#main")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#main$"))
    search = page.get_by_label("Tìm thủ tục")
    search.focus()
    page.keyboard.type("khai sinh")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"\?q=khai\+sinh$"))
    expect(page.locator("#results-status")).to_contain_text("Đang hiển thị")
    link = page.get_by_role("link", name="Đăng ký khai sinh", exact=True)
    expect(link).to_be_visible()
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/procedure\.html\?code=1\.001193"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Đăng ký khai sinh")
