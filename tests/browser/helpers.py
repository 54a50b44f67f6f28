"""Helpers for browser tests: screenshots, axe-core checks, citizens made without the UI."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from playwright.sync_api import Page, expect

from tests.stack_support import wait_for
from tools.citizens import signed_in_citizen

ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = ROOT / "web"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
AXE_RESULTS = ARTIFACTS / "axe"

# WCAG 2.0, 2.1 and 2.2, levels A and AA (axe-core's rule tags).
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
AXE_FAILING_IMPACTS = ("serious", "critical")

CITIZEN_PASSWORD = "Citizen-Passw0rd-2026"


def artifact_name(name: str) -> str:
    """A safe file name: letters, digits, '.', '_' and '-'."""
    cleaned = re.sub(r"[^\w.-]+", "-", name, flags=re.ASCII).strip("-.")
    if not cleaned:
        raise ValueError(f"{name!r} is not usable as an artifact name")
    return cleaned


def screenshot(page: Page, name: str) -> Path:
    """Saves a full-page PNG to ``test-artifacts/screenshots/<name>.png``; returns its path."""
    path = SCREENSHOTS / f"{artifact_name(name)}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


@cache
def axe_source() -> str:
    """axe-core, as bundled by the axe-playwright-python package."""
    return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation.get('impact')}): {violation.get('help')} "
                     f"[{violation.get('helpUrl')}]")
        for node in violation.get("nodes", [])[:5]:
            target = " ".join(str(part) for part in node.get("target", []))
            summary = " ".join(line.strip() for line in (node.get("failureSummary") or "").splitlines()[1:])
            lines.append(f"    {target}: {summary}")
        if len(violation.get("nodes", [])) > 5:
            lines.append(f"    … and {len(violation['nodes']) - 5} more")
    return "\n".join(lines)


def axe_check(page: Page, name: str) -> dict[str, Any]:
    """Runs axe-core (WCAG 2 A/AA rules) on the page, writes the full result to
    ``test-artifacts/axe/<name>.json`` and fails when a violation is serious or critical."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    results: dict[str, Any] = page.evaluate(
        "options => axe.run(document, options)",
        {"runOnly": {"type": "tag", "values": list(AXE_TAGS)}},
    )
    path = AXE_RESULTS / f"{artifact_name(name)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    failing = [v for v in results.get("violations", []) if v.get("impact") in AXE_FAILING_IMPACTS]
    if failing:
        pytest.fail(f"axe: {len(failing)} serious or critical accessibility violation(s) on {page.url} "
                    f"(full result: {path.relative_to(ROOT)}):\n{describe_violations(failing)}", pytrace=False)
    return results


@dataclass(frozen=True)
class Citizen:
    email: str
    password: str
    name: str
    id_token: str


def sign_up_citizen(stack: dict[str, Any], *, name: str = "Trần Thị Bình", email: str | None = None,
                    password: str = CITIZEN_PASSWORD) -> Citizen:
    """A fresh, confirmed citizen in the stack's Cognito pool (admin create + permanent password,
    no UI), signed in once: ``id_token`` is what the API takes as ``Authorization: Bearer``."""
    cognito = boto3.client("cognito-idp", endpoint_url=stack["aws_endpoint"], region_name=stack["region"],
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    email = email or f"citizen-{uuid.uuid4().hex[:10]}@example.vn"
    token = signed_in_citizen(cognito, stack["cognito"]["user_pool_id"], stack["cognito"]["client_id"], email,
                              password, name=name)
    return Citizen(email=email, password=password, name=name, id_token=token)


# --- driving the stack as agencies and citizens' own systems would --------------------------------

TIMEOUT = 15
RESULT = "Phiếu lý lịch tư pháp số 77/2026 (bản điện tử)".encode()


class AgencyDesk:
    """What an agency's system does: read its inbox and decide through the agency API."""

    def __init__(self, stack: dict[str, Any], agency_code: str) -> None:
        self.api_url = stack["api_url"]
        key = next(agency["api_key"] for agency in stack["agencies"] if agency["code"] == agency_code)
        self.headers = {"Authorization": f"Bearer {key}"}

    def task(self, code: str, kind: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            items = requests.get(f"{self.api_url}/agency/tasks", headers=self.headers, timeout=TIMEOUT).json()["items"]
            return next((t for t in items if t["dossier_code"] == code and t["step"]["kind"] == kind), None)

        return wait_for(found)

    def decide(self, task: dict[str, Any], decision: str, **extra: Any) -> None:
        answer = requests.post(f"{self.api_url}/agency/tasks/{task['task_id']}/decision", headers=self.headers,
                               json={"decision": decision, **extra}, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text

    def upload_result(self, code: str) -> str:
        ticket = requests.post(f"{self.api_url}/uploads", headers=self.headers, timeout=TIMEOUT, json={
            "filename": "phieu-ly-lich-tu-phap.pdf", "content_type": "application/pdf", "size": len(RESULT),
            "dossier_code": code}).json()
        sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("r.pdf", RESULT)}, timeout=TIMEOUT)
        assert sent.status_code in (200, 201, 204), sent.text
        return str(ticket["upload_id"])


def submit_dossier(stack: dict[str, Any], citizen: Citizen, submission: dict[str, Any],
                   documents: dict[str, bytes]) -> str:
    """Submits through the API as the web front would (uploads straight to S3); the dossier code."""
    headers = {"Authorization": f"Bearer {citizen.id_token}"}
    refs = []
    for document_id, content in documents.items():
        ticket = requests.post(f"{stack['api_url']}/uploads", headers=headers, timeout=TIMEOUT, json={
            "filename": f"{document_id}.pdf", "content_type": "application/pdf", "size": len(content)}).json()
        sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("f.pdf", content)},
                             timeout=TIMEOUT)
        assert sent.status_code in (200, 201, 204), sent.text
        refs.append({"document_id": document_id, "upload_id": ticket["upload_id"]})
    answer = requests.post(f"{stack['api_url']}/dossiers", headers=headers, timeout=TIMEOUT,
                           json={**submission, "documents": refs})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["code"])


def sign_in(page: Page, web_url: str, citizen: Citizen, next_path: str = "/dossiers.html") -> None:
    page.goto(f"{web_url}/signin.html?next={next_path}")
    page.get_by_label("Thư điện tử").fill(citizen.email)
    page.get_by_label("Mật khẩu", exact=True).fill(citizen.password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(f"**{next_path}")


def fill_judicial_record_request(page: Page, fields: Mapping[str, str], declaration: Path) -> None:
    """The online form of 2.000488 (judicial record certificate) filled as a citizen would: each
    field by its Vietnamese label, certificate no. 1 chosen, the declaration uploaded."""
    for label, value in fields.items():
        page.get_by_label(label).fill(value)
    page.get_by_label("Phiếu lý lịch tư pháp số 1").check()
    page.get_by_label(re.compile("^Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp")).set_input_files(declaration)
    expect(page.get_by_text(f"Đã tải lên: {declaration.name}")).to_be_visible()
