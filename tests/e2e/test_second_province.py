"""A second province on the same local stack: ``--stage hanoi`` serves Hà Nội's catalogue, agencies
and dossier codes over HTTP, with nothing of Lâm Đồng's left in it (issue 6)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from tests.e2e.conftest import ROOT, StackProcess
from tests.stack_support import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("hanoi_stack")]

HANOI = ROOT / "infra" / "provinces" / "hanoi"
TIMEOUT = 15


def _data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HANOI / name).read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def hanoi_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    stack = StackProcess(tmp_path_factory.mktemp("hanoi-stack") / "state", stage="hanoi", province="hanoi")
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def hanoi(hanoi_process: StackProcess) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(hanoi_process.stack_path.read_text(encoding="utf-8"))
    return data


def api(stack: dict[str, Any], method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, f"{stack['api_url']}{path}", headers=headers, timeout=TIMEOUT, **kwargs)


def test_config_and_banner_say_ha_noi(hanoi_process: StackProcess, hanoi: dict[str, Any]) -> None:
    body = api(hanoi, "GET", "/config").json()
    assert body["province"] == {"code": "hanoi", "name": "Thành phố Hà Nội"}
    assert "province hanoi, stage hanoi" in hanoi_process.output()
    stats = api(hanoi, "GET", "/stats")
    assert stats.status_code == 200, stats.text
    assert "Lâm Đồng" not in stats.text and "H38" not in stats.text


def test_only_ha_noi_procedures_and_agencies_are_served(hanoi: dict[str, Any]) -> None:
    codes: list[str] = []
    cursor: str | None = None
    while True:
        page = api(hanoi, "GET", "/procedures", params={"cursor": cursor} if cursor else {}).json()
        codes += [item["code"] for item in page["items"]]
        assert all(item["agency_code"].endswith(".H26") for item in page["items"]), page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert sorted(codes) == sorted(p["code"] for p in _data("procedures.json")["procedures"])
    assert not [code for code in codes if code.startswith("LD.")]

    expected = [(a["code"], a["name"]) for a in _data("agencies.json")["agencies"]]
    assert [(a["code"], a["name"]) for a in hanoi["agencies"]] == expected
    listed = api(hanoi, "GET", "/agencies")
    assert listed.status_code == 200, listed.text
    assert "Lâm Đồng" not in listed.text and "H38" not in listed.text

    detail = api(hanoi, "GET", "/procedures/HN.002").json()  # construction permit, parallel fire review
    template = requests.get(detail["templates"][0]["url"], timeout=TIMEOUT).content.decode("utf-8")
    assert "Sở Xây dựng thành phố Hà Nội" in template


def _sign_in(stack: dict[str, Any]) -> str:
    cognito = boto3.client("cognito-idp", endpoint_url=stack["aws_endpoint"], region_name=stack["region"],
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    demo = stack["demo_citizen"]
    result = cognito.initiate_auth(ClientId=stack["cognito"]["client_id"], AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": demo["username"], "PASSWORD": demo["password"]})
    token: str = result["AuthenticationResult"]["IdToken"]
    return token


def _upload(stack: dict[str, Any], token: str, name: str) -> str:
    ticket = api(stack, "POST", "/uploads", token,
                 json={"filename": f"{name}.pdf", "content_type": "application/pdf", "size": 4})
    assert ticket.status_code == 201, ticket.text
    data = ticket.json()
    posted = requests.post(data["url"], data=data["fields"], files={"file": (f"{name}.pdf", b"%PDF")},
                           timeout=TIMEOUT)
    assert posted.status_code in (200, 201, 204), posted.text
    return str(data["upload_id"])


def test_an_interagency_dossier_gets_a_ha_noi_code_and_goes_through_its_agencies(hanoi: dict[str, Any]) -> None:
    """HN.001 (birth + residence + health insurance): the ward's desk numbers and receives it, the
    ward processes it, then the ward police (lead) and Social Security work in parallel."""
    token = _sign_in(hanoi)
    detail = api(hanoi, "GET", "/procedures/HN.001").json()
    assert detail["interagency"] is True
    documents = [{"document_id": doc["id"], "upload_id": _upload(hanoi, token, doc["id"])}
                 for doc in detail["required_documents"] if doc["required"]]
    form = {"child_full_name": "Nguyễn Thị Mai", "child_gender": "Nữ", "date_of_birth": "2026-11-20",
            "place_of_birth": "Bệnh viện Phụ sản Hà Nội", "ethnicity": "Kinh", "nationality": "Việt Nam",
            "mother_full_name": "Trần Thị Cúc", "relationship_to_child": "Cha",
            "permanent_address": "1 Đinh Tiên Hoàng, phường Hoàn Kiếm, Hà Nội",
            "household_head_id_number": "001090001234", "relationship_to_household_head": "Con",
            "health_insurance_place": "Bệnh viện Đa khoa Xanh Pôn"}
    submitted = api(hanoi, "POST", "/dossiers", token, json={
        "procedure_code": "HN.001",
        "applicant": {"full_name": "Nguyễn Văn An", "id_number": "001090001234", "phone": "0912345678",
                      "address": "1 Đinh Tiên Hoàng, phường Hoàn Kiếm, Hà Nội"},
        "form": form, "documents": documents})
    assert submitted.status_code == 201, submitted.text
    code = submitted.json()["code"]
    assert code.startswith("000.01.40.H26-"), code  # phường Hoàn Kiếm's desk (Circular 01/2018 art. 19)

    agencies = {agency["code"]: agency for agency in hanoi["agencies"]}

    def open_task(agency_code: str) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            items = api(hanoi, "GET", "/agency/tasks", agencies[agency_code]["api_key"]).json()["items"]
            return next((t for t in items if t["dossier_code"] == code), None)

        task: dict[str, Any] = wait_for(find)
        return task

    def decide(agency_code: str, task: dict[str, Any], decision: str) -> None:
        answer = api(hanoi, "POST", f"/agency/tasks/{task['task_id']}/decision", agencies[agency_code]["api_key"],
                     json={"decision": decision})
        assert answer.status_code == 200, answer.text

    desk = "000.01.40.H26"
    task = open_task(desk)
    # The signed task.assigned webhook reached the ward's sample receiver.
    receiver_page = agencies[desk]["webhook_url"].rsplit("/webhooks", 1)[0] + "/"
    wait_for(lambda: task["task_id"] in requests.get(receiver_page, timeout=TIMEOUT).text)
    decide(desk, task, "receive")
    decide(desk, open_task(desk), "approve")
    police, social_security = "000.11.40.H26", "000.00.33.H26"
    parallel = [(agency, open_task(agency)) for agency in (police, social_security)]
    for agency, parallel_task in reversed(parallel):
        decide(agency, parallel_task, "approve")
    wait_for(lambda: api(hanoi, "GET", f"/track/{code}").json()["status_code"] == 9)
    # A Hà Nội agency's key reads the dossier; nothing of it is Lâm Đồng's.
    read = api(hanoi, "GET", f"/dossiers/{code}", agencies[police]["api_key"])
    assert read.status_code == 200, read.text


def test_a_stage_for_another_province_is_refused_before_anything_starts(tmp_path: Any) -> None:
    command = StackProcess.command(tmp_path / "state", stage="hanoi", province="lamdong")
    result = subprocess.run(command, cwd=ROOT, env=StackProcess.environment(), capture_output=True, text=True,
                            timeout=60, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "stage 'hanoi' is for province 'hanoi', not 'lamdong'" in output
    assert "Traceback" not in output
    assert not (tmp_path / "state" / "run.pid").exists()
