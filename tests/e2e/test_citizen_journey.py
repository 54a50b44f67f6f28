"""A citizen's journey over HTTP against the real local stack, as the web front drives it:
sign in through Cognito, browse, upload straight to S3, submit, follow, withdraw."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
import requests

from tests.e2e.journey_support import sample_form
from tests.stack_support import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("local_stack")]

TIMEOUT = 15


def sign_in(stack: dict[str, Any], username: str, password: str) -> str:
    cognito = boto3.client("cognito-idp", endpoint_url=stack["aws_endpoint"], region_name=stack["region"],
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    result = cognito.initiate_auth(ClientId=stack["cognito"]["client_id"], AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": username, "PASSWORD": password})
    token: str = result["AuthenticationResult"]["IdToken"]
    return token


def create_other_citizen(stack: dict[str, Any]) -> str:
    cognito = boto3.client("cognito-idp", endpoint_url=stack["aws_endpoint"], region_name=stack["region"],
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    email = f"other-{uuid.uuid4().hex[:8]}@example.vn"
    pool = stack["cognito"]["user_pool_id"]
    cognito.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": email}])
    cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password="Other-Citizen-2026", Permanent=True)
    return sign_in(stack, email, "Other-Citizen-2026")


@pytest.fixture(scope="module")
def sample_token(local_stack: dict[str, Any]) -> str:
    demo = local_stack["demo_citizen"]
    return sign_in(local_stack, demo["username"], demo["password"])


def api(stack: dict[str, Any], method: str, path: str, token: str | None = None,
        headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    return requests.request(method, f"{stack['api_url']}{path}", headers=sent, timeout=TIMEOUT, **kwargs)


def upload(stack: dict[str, Any], token: str, content: bytes, filename: str) -> str:
    ticket = api(stack, "POST", "/uploads", token,
                 json={"filename": filename, "content_type": "application/pdf", "size": len(content)})
    assert ticket.status_code == 201, ticket.text
    data = ticket.json()
    posted = requests.post(data["url"], data=data["fields"], files={"file": (filename, content)}, timeout=TIMEOUT)
    assert posted.status_code in (200, 201, 204), posted.text
    return str(data["upload_id"])


def test_citizen_submits_follows_and_withdraws_a_birth_registration(local_stack: dict[str, Any],
                                                                   sample_token: str) -> None:
    # Browse without signing in, with and without diacritics.
    found = api(local_stack, "GET", "/procedures", params={"q": "dang ky khai sinh", "tier": "commune"})
    assert found.status_code == 200
    assert "1.001193" in [item["code"] for item in found.json()["items"]]
    detail = api(local_stack, "GET", "/procedures/1.001193").json()
    assert detail["level"] == 4 and detail["online_submission"] is True
    template = requests.get(detail["templates"][0]["url"], timeout=TIMEOUT)
    assert template.status_code == 200 and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in template.content.decode("utf-8")

    # Upload every required document straight to S3, then submit.
    documents = [
        {"document_id": doc["id"], "upload_id": upload(local_stack, sample_token, f"%PDF {doc['id']}".encode(),
                                                       f"{doc['id']}.pdf")}
        for doc in detail["required_documents"] if doc["required"]
    ]
    submission = {
        "procedure_code": "1.001193",
        "applicant": {"full_name": "Nguyễn Văn An", "id_number": "068090001234", "phone": "0912345678",
                      "email": "demo.citizen@example.vn", "address": "12 Trần Phú, phường Xuân Hương - Đà Lạt"},
        "form": {"child_full_name": "Nguyễn Thị Bình", "child_gender": "Nữ", "date_of_birth": "2026-11-20",
                 "place_of_birth": "Bệnh viện Đa khoa tỉnh Lâm Đồng", "ethnicity": "Kinh",
                 "nationality": "Việt Nam", "mother_full_name": "Trần Thị Cúc", "relationship_to_child": "Cha"},
        "documents": documents,
    }
    submitted = api(local_stack, "POST", "/dossiers", sample_token, json=submission)
    assert submitted.status_code == 201, submitted.text
    receipt = submitted.json()
    code = receipt["code"]
    assert code.startswith(f"{detail['agency_code']}-")
    assert receipt["status_code"] == 1 and receipt["due_at"] > receipt["submitted_at"]

    # Anyone follows it by code, without personal data.
    tracked = api(local_stack, "GET", f"/track/{code}")
    assert tracked.status_code == 200
    assert tracked.json()["status_code"] == 1
    assert "068090001234" not in tracked.text and "Nguyễn Văn An" not in tracked.text

    # The owner sees it in their list and in full; someone else does not.
    mine = api(local_stack, "GET", "/dossiers", sample_token).json()["items"]
    assert code in [item["code"] for item in mine]
    full = api(local_stack, "GET", f"/dossiers/{code}", sample_token).json()
    assert full["form"]["child_full_name"] == "Nguyễn Thị Bình"
    assert [entry["status_code"] for entry in full["history"]] == [1]
    other = create_other_citizen(local_stack)
    assert api(local_stack, "GET", f"/dossiers/{code}", other).status_code == 404
    assert api(local_stack, "GET", f"/dossiers/{code}").status_code == 401

    # The same uploads cannot be reused; the owner withdraws.
    reused = api(local_stack, "POST", "/dossiers", sample_token, json=submission)
    assert reused.status_code == 422
    withdrawn = api(local_stack, "POST", f"/dossiers/{code}/withdraw", sample_token, json={"reason": "Nộp nhầm"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert api(local_stack, "GET", f"/track/{code}").json()["status_code"] == 7


def test_errors_over_http_are_4xx_in_the_contract_shape(local_stack: dict[str, Any], sample_token: str) -> None:
    cases = [
        api(local_stack, "POST", "/dossiers", sample_token, data=b"{not json",
            headers={"Content-Type": "application/json"}),
        api(local_stack, "POST", "/dossiers", sample_token, json={"procedure_code": "1.001193", "status": 9}),
        api(local_stack, "POST", "/dossiers", None, json={}),
        api(local_stack, "GET", "/procedures", params={"level": "9"}),
        api(local_stack, "GET", "/procedures/khong-co"),
        api(local_stack, "DELETE", "/procedures"),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, response.text
        error = response.json()["error"]
        assert error["code"] and error["message"]
    # chalice local answers unknown routes as API Gateway does (403); in AWS a gateway
    # response maps it to the same error shape.
    unknown = api(local_stack, "GET", "/no/such/route")
    assert 400 <= unknown.status_code < 500


def test_token_command_signs_the_demo_citizen_in(local_stack_process: Any, local_stack: dict[str, Any]) -> None:
    import subprocess
    import sys

    from tests.e2e.conftest import ROOT, StackProcess

    printed = subprocess.run([sys.executable, "-m", "tools.local_stack", "token", "--state-dir",
                              str(local_stack_process.state_dir)], cwd=ROOT, env=StackProcess.environment(),
                             capture_output=True, text=True, timeout=60, check=True)
    token = printed.stdout.strip()
    assert api(local_stack, "GET", "/dossiers", token).status_code == 200
    missing = subprocess.run([sys.executable, "-m", "tools.local_stack", "token", "--state-dir",
                              str(local_stack_process.state_dir / "nowhere")], cwd=ROOT,
                             env=StackProcess.environment(), capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "make run" in missing.stderr


def test_a_dossier_travels_its_route_with_signed_webhooks(local_stack: dict[str, Any], sample_token: str) -> None:
    """Submit over HTTP; each agency on the route gets a signed task.assigned webhook at its
    sample receiver, decides through the agency API, and the route ends done (9)."""
    code, detail = _submit_any(local_stack, sample_token, "LD.012")  # level 4, no fee to wait for
    keys = {agency["code"]: agency for agency in local_stack["agencies"]}
    for step in detail["route"]:
        agency = keys[step["agency_code"]]
        receiver_page = agency["webhook_url"].rsplit("/webhooks", 1)[0] + "/"
        def open_task(key: str = agency["api_key"]) -> dict[str, Any] | None:
            items = api(local_stack, "GET", "/agency/tasks", key).json()["items"]
            return next((t for t in items if t["dossier_code"] == code), None)

        task = wait_for(open_task)
        # The webhook reached the agency's receiver, which checked its signature.
        def delivered(task_id: str = task["task_id"], page: str = receiver_page) -> bool:
            return task_id in requests.get(page, timeout=TIMEOUT).text

        wait_for(delivered)
        decision = "receive" if step["kind"] == "reception" else "approve"
        decided = api(local_stack, "POST", f"/agency/tasks/{task['task_id']}/decision", agency["api_key"],
                      json={"decision": decision})
        assert decided.status_code == 200, decided.text
    wait_for(lambda: api(local_stack, "GET", f"/track/{code}").json()["status_code"] == 9)
    history = api(local_stack, "GET", f"/dossiers/{code}", sample_token).json()["history"]
    assert [h["status_code"] for h in history][:2] == [1, 2]
    # Slip 01 as PDF: its QR code and printed link open the web front's tracker for this dossier.
    import io
    from urllib.parse import quote

    from pypdf import PdfReader

    receipt = api(local_stack, "GET", f"/dossiers/{code}/receipt", sample_token)
    assert receipt.status_code == 200, receipt.text
    pdf = requests.get(receipt.json()["url"], timeout=TIMEOUT).content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    tracker = f"{local_stack['web_url']}/track.html?code={quote(code, safe='')}"
    assert tracker in text.replace("\n", "")
    page = requests.get(f"{local_stack['web_url']}/track.html", timeout=TIMEOUT)
    assert page.status_code == 200 and "Tra cứu hồ sơ" in page.text


def _submit_any(stack: dict[str, Any], token: str, procedure_code: str) -> tuple[str, dict[str, Any]]:
    detail = api(stack, "GET", f"/procedures/{procedure_code}").json()
    documents = [{"document_id": doc["id"], "upload_id": upload(stack, token, b"%PDF", "a.pdf")}
                 for doc in detail["required_documents"] if doc["required"]]
    form = sample_form(detail)
    submitted = api(stack, "POST", "/dossiers", token, json={
        "procedure_code": procedure_code,
        "applicant": {"full_name": "Nguyễn Văn An", "id_number": "068090001234", "phone": "0912345678",
                      "address": "12 Trần Phú, phường Xuân Hương - Đà Lạt"},
        "form": form, "documents": documents})
    assert submitted.status_code == 201, submitted.text
    return str(submitted.json()["code"]), detail


def test_a_citizen_pays_the_fee_through_localstripe(local_stack: dict[str, Any], sample_token: str) -> None:
    """Level 4 with a fee: received → status 6 → PaymentIntent → card confirmed at localstripe
    → localstripe's signed webhook reaches the API → status 4, the route goes on."""
    code, detail = _submit_any(local_stack, sample_token, "2.000488")
    keys = {agency["code"]: agency["api_key"] for agency in local_stack["agencies"]}
    desk = keys[detail["route"][0]["agency_code"]]
    desk_receiver = next(agency["webhook_url"] for agency in local_stack["agencies"]
                         if agency["code"] == detail["route"][0]["agency_code"]).rsplit("/webhooks", 1)[0] + "/"

    def desk_task() -> dict[str, Any] | None:
        items = api(local_stack, "GET", "/agency/tasks", desk).json()["items"]
        return next((t for t in items if t["dossier_code"] == code), None)

    task = wait_for(desk_task)
    # As an agency would: decide once the task.assigned webhook arrived.
    wait_for(lambda: task["task_id"] in requests.get(desk_receiver, timeout=TIMEOUT).text)
    assert api(local_stack, "POST", f"/agency/tasks/{task['task_id']}/decision", desk,
               json={"decision": "receive"}).status_code == 200
    wait_for(lambda: api(local_stack, "GET", f"/track/{code}").json()["status_code"] == 6)

    started = api(local_stack, "POST", f"/dossiers/{code}/payment", sample_token)
    assert started.status_code == 200, started.text
    payment = started.json()
    assert payment["amount_vnd"] == detail["fee_vnd"] and payment["provider"] == "stripe"
    # What Stripe.js does in the browser, against localstripe.
    stripe = local_stack["stripe_api_base"]
    auth = ("sk_test_motcua", "")
    method = requests.post(f"{stripe}/v1/payment_methods", auth=auth, timeout=TIMEOUT, data={
        "type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2030",
        "card[cvc]": "123"}).json()
    intent = payment["payment_intent_id"]
    requests.post(f"{stripe}/v1/payment_intents/{intent}", auth=auth, timeout=TIMEOUT,
                  data={"payment_method": method["id"]}).raise_for_status()
    confirmed = requests.post(f"{stripe}/v1/payment_intents/{intent}/confirm", auth=auth, timeout=TIMEOUT)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded", confirmed.text

    wait_for(lambda: api(local_stack, "GET", f"/track/{code}").json()["status_code"] == 4)
    dossier = api(local_stack, "GET", f"/dossiers/{code}", sample_token).json()
    assert dossier["fee"]["status"] == "paid"
    processing = keys[detail["route"][-1]["agency_code"]]

    def processing_task() -> dict[str, Any] | None:
        items = api(local_stack, "GET", "/agency/tasks", processing).json()["items"]
        return next((t for t in items if t["dossier_code"] == code and t["step"]["kind"] == "processing"), None)

    last = wait_for(processing_task)
    # The agency uploads the result straight to S3 and approves with it; the citizen downloads it.
    result = "Phiếu lý lịch tư pháp số 123/2026".encode()
    ticket = api(local_stack, "POST", "/uploads", processing, json={
        "filename": "phieu-ly-lich-tu-phap.pdf", "content_type": "application/pdf", "size": len(result),
        "dossier_code": code}).json()
    sent = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("r.pdf", result)}, timeout=TIMEOUT)
    assert sent.status_code in (200, 201, 204), sent.text
    approved = api(local_stack, "POST", f"/agency/tasks/{last['task_id']}/decision", processing,
                   json={"decision": "approve", "result_upload_id": ticket["upload_id"]})
    assert approved.status_code == 200, approved.text
    link = api(local_stack, "GET", f"/dossiers/{code}/result", sample_token)
    assert link.status_code == 200, link.text
    assert requests.get(link.json()["url"], timeout=TIMEOUT).content == result
    assert api(local_stack, "GET", f"/track/{code}").json()["status_code"] == 10
