"""A citizen's journey over HTTP against a running local stack, in steps other e2e tests reuse:
sign up through Cognito, upload straight to S3, submit, agency decisions with API keys, payment
at localstripe, result download, rating, tracking. Each helper does what a client would."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.stack_support import cognito_client, wait_for

TIMEOUT = 15
STRIPE_TEST_KEY = ("sk_test_motcua", "")


def api(stack: dict[str, Any], method: str, path: str, token: str | None = None,
        headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    return requests.request(method, f"{stack['api_url']}{path}", headers=sent, timeout=TIMEOUT, **kwargs)


def sign_up(stack: dict[str, Any], email: str, password: str, name: str | None = None) -> str:
    """A new citizen signs up through the pool's app client (the pool confirms them, as the
    e-mailed code would), then signs in: their Cognito ID token."""
    cognito = cognito_client(stack)
    attributes = [{"Name": "email", "Value": email}]
    if name is not None:
        attributes.append({"Name": "name", "Value": name})
    cognito.sign_up(ClientId=stack["cognito"]["client_id"], Username=email, Password=password,
                    UserAttributes=attributes)
    cognito.admin_confirm_sign_up(UserPoolId=stack["cognito"]["user_pool_id"], Username=email)
    result = cognito.initiate_auth(ClientId=stack["cognito"]["client_id"], AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": email, "PASSWORD": password})
    token: str = result["AuthenticationResult"]["IdToken"]
    return token


def new_citizen(stack: dict[str, Any]) -> str:
    """A fresh citizen of their own (own dossiers, own rate limits): their ID token."""
    return sign_up(stack, f"citizen-{uuid.uuid4().hex[:10]}@example.vn", "Citizen-Journey-2026")


@dataclass
class Ticket:
    """A presigned upload as POST /uploads gave it."""

    upload_id: str
    url: str
    fields: dict[str, str]

    def post(self, content: bytes, filename: str = "file.pdf") -> requests.Response:
        return requests.post(self.url, data=self.fields, files={"file": (filename, content)}, timeout=TIMEOUT)


def ask_upload(stack: dict[str, Any], token: str, *, size: int, filename: str = "file.pdf",
               content_type: str = "application/pdf", **extra: Any) -> requests.Response:
    return api(stack, "POST", "/uploads", token,
               json={"filename": filename, "content_type": content_type, "size": size, **extra})


def upload(stack: dict[str, Any], token: str, content: bytes, filename: str = "file.pdf",
           **extra: Any) -> Ticket:
    """Asks for a ticket for exactly ``content`` and posts it to S3."""
    asked = ask_upload(stack, token, size=len(content), filename=filename, **extra)
    assert asked.status_code == 201, asked.text
    data = asked.json()
    ticket = Ticket(str(data["upload_id"]), str(data["url"]), dict(data["fields"]))
    posted = ticket.post(content, filename)
    assert posted.status_code in (200, 201, 204), posted.text
    return ticket


def sample_form(detail: dict[str, Any], text: str = "Nguyễn Thị Cúc") -> dict[str, Any]:
    """Values for the required fields of a procedure's form schema."""
    form: dict[str, Any] = {}
    for name in detail["form_schema"].get("required", []):
        spec = detail["form_schema"]["properties"][name]
        if "enum" in spec:
            form[name] = spec["enum"][0]
        elif spec.get("type") == "integer":
            form[name] = max(1, spec.get("minimum", 1))
        elif spec.get("type") == "boolean":
            form[name] = False
        elif spec.get("format") == "date":
            form[name] = "1990-05-17"
        else:
            form[name] = text
    return form


@dataclass
class Agency:
    code: str
    api_key: str
    receiver_page: str  # the sample receiver's page, listing the webhooks it accepted

    @classmethod
    def of(cls, stack: dict[str, Any], code: str) -> Agency:
        agency = next(a for a in stack["agencies"] if a["code"] == code)
        return cls(code, agency["api_key"], agency["webhook_url"].rsplit("/webhooks", 1)[0] + "/")


@dataclass
class Journey:
    """One dossier's way through the stack, driven over HTTP."""

    stack: dict[str, Any]
    token: str
    code: str
    detail: dict[str, Any]
    signed_urls: list[str] = field(default_factory=list)  # presigned URLs handed out on the way

    def track(self) -> dict[str, Any]:
        tracked = api(self.stack, "GET", f"/track/{self.code}")
        assert tracked.status_code == 200, tracked.text
        data: dict[str, Any] = tracked.json()
        return data

    def wait_status(self, status_code: int, seconds: float = 30) -> None:
        wait_for(lambda: self.track()["status_code"] == status_code, seconds)

    def open_task(self, agency: Agency, kind: str | None = None) -> dict[str, Any]:
        """The agency's open task on this dossier (of that step kind), once its signed webhook reached
        the agency's receiver, as an agency would decide."""
        def find() -> dict[str, Any] | None:
            items = api(self.stack, "GET", "/agency/tasks", agency.api_key).json()["items"]
            return next((t for t in items if t["dossier_code"] == self.code
                         and (kind is None or t["step"]["kind"] == kind)), None)

        task = wait_for(find)
        wait_for(lambda: task["task_id"] in requests.get(agency.receiver_page, timeout=TIMEOUT).text)
        return task

    def decide(self, agency: Agency, task: dict[str, Any], decision: str, **extra: Any) -> None:
        decided = api(self.stack, "POST", f"/agency/tasks/{task['task_id']}/decision", agency.api_key,
                      json={"decision": decision, **extra})
        assert decided.status_code == 200, decided.text

    def pay(self) -> dict[str, Any]:
        """Starts the payment, then does what Stripe.js does in the browser, against localstripe."""
        started = api(self.stack, "POST", f"/dossiers/{self.code}/payment", self.token)
        assert started.status_code == 200, started.text
        payment: dict[str, Any] = started.json()
        stripe = self.stack["stripe_api_base"]
        method = requests.post(f"{stripe}/v1/payment_methods", auth=STRIPE_TEST_KEY, timeout=TIMEOUT, data={
            "type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12",
            "card[exp_year]": "2030", "card[cvc]": "123"}).json()
        intent = payment["payment_intent_id"]
        requests.post(f"{stripe}/v1/payment_intents/{intent}", auth=STRIPE_TEST_KEY, timeout=TIMEOUT,
                      data={"payment_method": method["id"]}).raise_for_status()
        confirmed = requests.post(f"{stripe}/v1/payment_intents/{intent}/confirm", auth=STRIPE_TEST_KEY,
                                  timeout=TIMEOUT)
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded", confirmed.text
        return payment

    def result_url(self) -> str:
        link = api(self.stack, "GET", f"/dossiers/{self.code}/result", self.token)
        assert link.status_code == 200, link.text
        url = str(link.json()["url"])
        self.signed_urls.append(url)
        return url

    def receipt_url(self) -> str:
        receipt = api(self.stack, "GET", f"/dossiers/{self.code}/receipt", self.token)
        assert receipt.status_code == 200, receipt.text
        url = str(receipt.json()["url"])
        self.signed_urls.append(url)
        return url

    def rate(self, score: int, comment: str | None = None) -> None:
        body: dict[str, Any] = {"score": score}
        if comment is not None:
            body["comment"] = comment
        rated = api(self.stack, "POST", f"/dossiers/{self.code}/rating", self.token, json=body)
        assert rated.status_code == 201, rated.text


def submit(stack: dict[str, Any], token: str, procedure_code: str, applicant: dict[str, Any],
           form: dict[str, Any] | None = None,
           documents: Callable[[dict[str, Any]], dict[str, bytes]] | None = None) -> tuple[Journey, list[Ticket]]:
    """Uploads the procedure's required documents (``documents(detail)`` gives their contents by
    document id; a small PDF each otherwise) and submits; the journey and the upload tickets."""
    detail = api(stack, "GET", f"/procedures/{procedure_code}").json()
    contents = documents(detail) if documents is not None else {
        doc["id"]: f"%PDF-1.4 {doc['id']}".encode() for doc in detail["required_documents"] if doc["required"]}
    tickets = {document_id: upload(stack, token, content, f"{document_id}.pdf")
               for document_id, content in contents.items()}
    submitted = api(stack, "POST", "/dossiers", token, json={
        "procedure_code": procedure_code, "applicant": applicant,
        "form": form if form is not None else sample_form(detail),
        "documents": [{"document_id": doc_id, "upload_id": t.upload_id} for doc_id, t in tickets.items()]})
    assert submitted.status_code == 201, submitted.text
    return Journey(stack, token, str(submitted.json()["code"]), detail), list(tickets.values())
