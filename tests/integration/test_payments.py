"""Online fee payment against a real localstripe over HTTP, AWS on moto in-process.

localstripe runs once per session in its own process; its signed webhooks go to a small
capture server here, and the tests hand the exact bytes and Stripe-Signature header to
the API, as API Gateway would.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.services.deps import get_store
from tests.factories import DESK, JUSTICE, create_catalogue, create_procedure_dict
from tests.integration.route_support import (
    Agencies,
    dossier_status,
    execution_status,
    history_actions,
    pump,
    submit,
)
from tests.integration.stream_support import drain_stream

SECRET_KEY = "sk_test_motcua"
WEBHOOK_SECRET = "whsec_motcua_tests"
FEE = 200000
VISA = "4242424242424242"
DECLINED_ON_CHARGE = "4000000000000341"  # localstripe declines charges on this one (see LOCAL_STACK_NOTES)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Delivery:
    body: bytes
    signature: str
    event: dict[str, Any]


@dataclass
class Inbox:
    """What localstripe delivered to its registered webhook endpoint."""

    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, event_type: str, intent_id: str, seconds: float = 10) -> Delivery:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                for delivery in self.deliveries:
                    obj = delivery.event["data"]["object"]
                    if delivery.event["type"] == event_type and obj.get("id") == intent_id:
                        return delivery
            time.sleep(0.05)
        raise AssertionError(f"localstripe did not deliver {event_type} for {intent_id}")


@dataclass
class LocalStripe:
    api_base: str
    inbox: Inbox

    def post(self, path: str, data: dict[str, Any] | None = None) -> requests.Response:
        return requests.post(f"{self.api_base}{path}", data=data or {}, auth=(SECRET_KEY, ""), timeout=10)

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = requests.get(f"{self.api_base}{path}", params=params or {}, auth=(SECRET_KEY, ""), timeout=10)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def pay(self, intent_id: str, card: str = VISA) -> requests.Response:
        """What Stripe.js does for the citizen: a card PaymentMethod set on the intent, then
        confirm (localstripe's confirm takes no payment_method argument)."""
        method = self.post("/v1/payment_methods", {"type": "card", "card[number]": card, "card[exp_month]": "12",
                                                   "card[exp_year]": "2030", "card[cvc]": "123"})
        assert method.status_code == 200, method.text
        updated = self.post(f"/v1/payment_intents/{intent_id}", {"payment_method": method.json()["id"]})
        assert updated.status_code == 200, updated.text
        return self.post(f"/v1/payment_intents/{intent_id}/confirm")


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    inbox = Inbox()

    class Capture(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with inbox.lock:
                inbox.deliveries.append(Delivery(body, self.headers.get("Stripe-Signature", ""), json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    capture = ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=capture.serve_forever, daemon=True).start()

    port = _free_port()
    binary = Path(sys.executable).parent / "localstripe"
    log = (tmp_path_factory.mktemp("localstripe") / "localstripe.log").open("wb")
    process = subprocess.Popen([str(binary), "--port", str(port), "--from-scratch"], stdout=log,
                               stderr=subprocess.STDOUT, cwd=tmp_path_factory.getbasetemp())
    api_base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, "localstripe exited"
            try:
                requests.get(f"{api_base}/js.stripe.com/v3/", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "localstripe did not answer"
                time.sleep(0.1)
        registered = requests.post(f"{api_base}/_config/webhooks/motcua-tests", timeout=5, data={
            "url": f"http://127.0.0.1:{capture.server_address[1]}/webhooks/stripe", "secret": WEBHOOK_SECRET})
        assert registered.status_code == 200, registered.text
        yield LocalStripe(api_base, inbox)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        capture.shutdown()
        capture.server_close()
        log.close()


@pytest.fixture
def stripe_env(aws: dict[str, str], localstripe: LocalStripe, monkeypatch: pytest.MonkeyPatch) -> LocalStripe:
    monkeypatch.setenv("MOTCUA_STRIPE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("MOTCUA_STRIPE_API_BASE", localstripe.api_base)
    monkeypatch.setenv("MOTCUA_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    return localstripe


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def awaiting_fee(api: Any, token: str, agencies: Agencies) -> str:
    """A level-4 dossier received at the desk and waiting on its fee (status 6)."""
    procedure = create_procedure_dict("LT.0004", days=10, fee_vnd=FEE)
    procedure["route"] = [{"kind": "reception", "agency_code": DESK, "days": 1},
                          {"kind": "payment", "agency_code": DESK, "days": 5},
                          {"kind": "processing", "agency_code": JUSTICE, "days": 9}]
    get_store().put_catalogue(create_catalogue([procedure]))
    code = submit(api, token, "LT.0004")
    agencies.decide(DESK, agencies.task_for(DESK, code)["task_id"], "receive")

    def waiting() -> bool:
        from chalicelib.services.deps import get_task_store

        return dossier_status(code) == 6 and get_task_store().get_wait(code, "payment") is not None

    pump(waiting)
    return code


def start_payment(api: Any, token: str, code: str, body: str = "") -> Any:
    return api.http.post(f"/dossiers/{code}/payment", headers=auth(token), body=body)


def deliver(api: Any, body: bytes, signature: str) -> Any:
    return api.http.post("/webhooks/stripe", body=body,
                         headers={"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": signature})


def sign(body: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def paid_intent(api: Any, token: str, code: str, stripe: LocalStripe) -> tuple[str, Delivery]:
    response = start_payment(api, token, code)
    assert response.status_code == 200, response.body
    intent_id = json.loads(response.body)["payment_intent_id"]
    confirmed = stripe.pay(intent_id)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded", confirmed.text
    return intent_id, stripe.inbox.wait_for("payment_intent.succeeded", intent_id)


def test_a_citizen_pays_the_fee_and_the_route_goes_on(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    code = awaiting_fee(api, sample_token, agencies)
    response = start_payment(api, sample_token, code)
    assert response.status_code == 200, response.body
    view = json.loads(response.body)
    assert set(view) == {"provider", "payment_intent_id", "client_secret", "amount_vnd"}
    assert view["provider"] == "stripe" and view["amount_vnd"] == FEE
    assert view["payment_intent_id"].startswith("pi_") and view["client_secret"].startswith(view["payment_intent_id"])
    # Zero-decimal VND: the intent holds whole đồng, tied to the dossier.
    intent = stripe_env.get(f"/v1/payment_intents/{view['payment_intent_id']}")
    assert (intent["amount"], intent["currency"], intent["metadata"]) == (FEE, "vnd", {"dossier_code": code})
    # Asking again gives the same intent.
    again = json.loads(start_payment(api, sample_token, code, body=json.dumps({"provider": "stripe"})).body)
    assert again == view

    confirmed = stripe_env.pay(view["payment_intent_id"])
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded", confirmed.text
    delivery = stripe_env.inbox.wait_for("payment_intent.succeeded", view["payment_intent_id"])
    handled = deliver(api, delivery.body, delivery.signature)
    assert handled.status_code == 200, handled.body
    assert json.loads(handled.body) == {"received": True, "outcome": "recorded"}

    dossier = get_store().get_dossier(code)
    assert dossier is not None and int(dossier.status) == 4 and dossier.fee_status == "paid"
    charge = confirmed.json()["latest_charge"]["id"]  # localstripe expands it
    assert dossier.history[-1].action == "record_payment" and charge in dossier.history[-1].note
    # Stripe's retry of the same event is answered 2xx and changes nothing.
    retried = deliver(api, delivery.body, sign(delivery.body))
    assert retried.status_code == 200 and json.loads(retried.body)["outcome"] == "duplicate"
    assert get_store().get_dossier(code) == dossier
    # The route resumed: the processing agency gets its task, and finishes.
    justice = agencies.task_for(JUSTICE, code)
    assert agencies.decide(JUSTICE, justice["task_id"], "approve").status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert history_actions(code) == ["submit", "receive", "request_fee", "record_payment", "approve_final"]
    # Once paid there is nothing left to pay.
    assert start_payment(api, sample_token, code).status_code == 409


def test_the_same_event_delivered_ten_times_at_once_records_one_payment(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    from chalicelib.services.payments import handle_stripe_event

    code = awaiting_fee(api, sample_token, agencies)
    _, delivery = paid_intent(api, sample_token, code, stripe_env)
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(lambda _: handle_stripe_event(delivery.body, delivery.signature), range(10)))
    assert sorted(outcomes) == ["duplicate"] * 9 + ["recorded"]
    assert history_actions(code).count("record_payment") == 1
    assert dossier_status(code) == 4
    agencies.task_for(JUSTICE, code)  # the route went on, once


@pytest.mark.parametrize("forge", ["tampered_body", "wrong_secret", "stale_timestamp", "no_signature",
                                   "garbage_signature"])
def test_a_badly_signed_event_is_refused_and_changes_nothing(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies, forge: str
) -> None:
    code = awaiting_fee(api, sample_token, agencies)
    _, delivery = paid_intent(api, sample_token, code, stripe_env)
    body, signature = delivery.body, delivery.signature
    if forge == "tampered_body":
        body = body.replace(b'"amount": 200000', b'"amount": 200001')
        assert body != delivery.body
    elif forge == "wrong_secret":
        signature = sign(body, secret="whsec_someone_else")
    elif forge == "stale_timestamp":
        signature = sign(body, at=int(time.time()) - 3600)
    elif forge == "no_signature":
        signature = ""
    else:
        signature = "t=abc,v1=not-hex"
    before = get_store().get_dossier(code)
    refused = deliver(api, body, signature)
    assert refused.status_code == 400, refused.body
    assert json.loads(refused.body)["error"]["code"] == "invalid_signature"
    assert get_store().get_dossier(code) == before
    # The refused copy did not use up the event: the genuine one is still recorded.
    assert json.loads(deliver(api, delivery.body, delivery.signature).body)["outcome"] == "recorded"


def test_a_declined_card_leaves_the_dossier_waiting(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    code = awaiting_fee(api, sample_token, agencies)
    view = json.loads(start_payment(api, sample_token, code).body)
    declined = stripe_env.pay(view["payment_intent_id"], card=DECLINED_ON_CHARGE)
    assert declined.status_code == 402, declined.text
    delivery = stripe_env.inbox.wait_for("payment_intent.payment_failed", view["payment_intent_id"])
    handled = deliver(api, delivery.body, delivery.signature)
    assert handled.status_code == 200 and json.loads(handled.body)["outcome"] == "failed_payment"
    dossier = get_store().get_dossier(code)
    assert dossier is not None and int(dossier.status) == 6 and dossier.fee_status != "paid"
    assert history_actions(code) == ["submit", "receive", "request_fee", "payment_failed"]
    # The citizen was told (email, into moto's SES, from the table's stream), and the status did not move.
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    drain_stream()
    mails = [m for m in ses_backends[DEFAULT_ACCOUNT_ID][os.environ["AWS_REGION"]].sent_messages
             if code in m.subject and "payment failed" in m.body]
    assert len(mails) == 1
    # The citizen may try again with the same intent (Stripe's way; localstripe cannot
    # confirm an intent whose charge was declined, so the retry itself is not run here).
    assert json.loads(start_payment(api, sample_token, code).body) == view


def test_a_forged_success_for_an_unpaid_intent_is_not_recorded(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    """Correctly signed, but the event's body says "succeeded" for an intent Stripe says is
    unpaid: the app reads Stripe back and records nothing."""
    code = awaiting_fee(api, sample_token, agencies)
    view = json.loads(start_payment(api, sample_token, code).body)
    event = {"id": "evt_forged_1", "object": "event", "type": "payment_intent.succeeded", "created": int(time.time()),
             "data": {"object": {"id": view["payment_intent_id"], "object": "payment_intent", "amount": FEE,
                                 "currency": "vnd", "status": "succeeded", "metadata": {"dossier_code": code}}}}
    body = json.dumps(event).encode()
    handled = deliver(api, body, sign(body))
    assert handled.status_code == 200 and json.loads(handled.body)["outcome"] == "ignored"
    assert dossier_status(code) == 6


def test_a_refund_after_payment(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    from chalicelib.services.payments import get_payment_store, refund_if_paid

    code = awaiting_fee(api, sample_token, agencies)
    intent_id, delivery = paid_intent(api, sample_token, code, stripe_env)
    assert deliver(api, delivery.body, delivery.signature).status_code == 200
    dossier = get_store().get_dossier(code)
    assert dossier is not None
    refunds = refund_if_paid(dossier)
    assert len(refunds) == 1
    listed = stripe_env.get("/v1/refunds", {"payment_intent": intent_id})["data"]
    assert [(r["id"], r["amount"], r["currency"]) for r in listed] == [(refunds[0], FEE, "vnd")]
    assert refund_if_paid(dossier) == []  # never twice
    assert len(stripe_env.get("/v1/refunds", {"payment_intent": intent_id})["data"]) == 1
    [payment] = get_payment_store().payments_of(code)
    assert (payment.status, payment.refund_id) == ("refunded", refunds[0])


def test_a_dossier_without_payment_needs_no_refund(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    from chalicelib.services.payments import refund_if_paid

    code = awaiting_fee(api, sample_token, agencies)
    assert start_payment(api, sample_token, code).status_code == 200  # an intent, never paid
    dossier = get_store().get_dossier(code)
    assert dossier is not None and refund_if_paid(dossier) == []


def test_a_payment_arriving_after_withdrawal_is_refunded(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    code = awaiting_fee(api, sample_token, agencies)
    intent_id, delivery = paid_intent(api, sample_token, code, stripe_env)
    withdrawn = api.http.post(f"/dossiers/{code}/withdraw", headers=auth(sample_token), body="{}")
    assert withdrawn.status_code == 200, withdrawn.body
    handled = deliver(api, delivery.body, delivery.signature)
    assert json.loads(handled.body)["outcome"] == "refunded"
    assert dossier_status(code) == 7
    assert len(stripe_env.get("/v1/refunds", {"payment_intent": intent_id})["data"]) == 1


def test_payment_is_only_for_the_owner_of_a_dossier_awaiting_its_fee(
    api: Any, stripe_env: LocalStripe, sample_catalogue: None, sample_token: str, other_token: str,
    frozen_clock: datetime, agencies: Agencies
) -> None:
    code = submit(api, sample_token, "2.000488")  # status 1: new, not awaiting a fee
    refused = start_payment(api, sample_token, code)
    assert refused.status_code == 409 and json.loads(refused.body)["error"]["code"] == "not_awaiting_fee"
    anonymous = api.http.post(f"/dossiers/{code}/payment", headers={"Content-Type": "application/json"}, body="")
    assert anonymous.status_code == 401
    assert start_payment(api, other_token, code).status_code == 404
    assert start_payment(api, sample_token, "000.00.21.H38-261126-9999").status_code == 404
    unknown_field = start_payment(api, sample_token, code, body=json.dumps({"amount_vnd": 1}))
    assert unknown_field.status_code == 422, unknown_field.body
    assert start_payment(api, sample_token, code, body="{").status_code == 400
    query = api.http.post(f"/dossiers/{code}/payment?x=1", headers=auth(sample_token), body="")
    assert query.status_code == 422


def test_payment_without_stripe_settings_is_unavailable(
    api: Any, sample_token: str, frozen_clock: datetime, agencies: Agencies, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = awaiting_fee(api, sample_token, agencies)
    monkeypatch.delenv("MOTCUA_STRIPE_SECRET_KEY", raising=False)
    response = start_payment(api, sample_token, code)
    assert response.status_code == 503 and json.loads(response.body)["error"]["code"] == "payments_unavailable"
    body = b'{"id": "evt_1", "type": "payment_intent.succeeded"}'
    assert deliver(api, body, sign(body)).status_code == 400  # no webhook secret: nothing verifies


def test_an_event_nested_deeper_than_json_parsing_goes_is_refused_not_a_500(
        api: Any, stripe_env: LocalStripe) -> None:
    nested = b"[" * 200_000 + b"]" * 200_000
    signed = b'{"id": "evt_deep", "type": "payment_intent.succeeded", "data": ' + nested + b"}"
    for body, signature in ((nested, "t=1,v1=abc"), (signed, sign(signed))):
        response = deliver(api, body, signature)
        assert response.status_code == 400, response.body
        assert json.loads(response.body)["error"]["code"] in ("malformed_event", "invalid_signature")


def test_an_unhandled_event_type_is_acknowledged(api: Any, stripe_env: LocalStripe) -> None:
    body = json.dumps({"id": "evt_other", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}).encode()
    response = deliver(api, body, sign(body))
    assert response.status_code == 200 and json.loads(response.body)["outcome"] == "ignored"



def test_a_refund_stripe_did_not_take_is_made_by_the_task_worker(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The agency's decision stands when Stripe is unreachable for the refund; the refund is not
    forgotten: the task worker makes it once Stripe answers."""
    from chalicelib.integrations.payments import PaymentProviderError, StripeGateway

    code = awaiting_fee(api, sample_token, agencies)
    intent_id, delivery = paid_intent(api, sample_token, code, stripe_env)
    assert deliver(api, delivery.body, delivery.signature).status_code == 200
    real_refund = StripeGateway.refund
    refused: list[str] = []

    def unreachable_once(gateway: StripeGateway, intent: str, idempotency_key: str) -> str:
        if not refused:
            refused.append(intent)
            raise PaymentProviderError("Stripe is not answering")
        return real_refund(gateway, intent, idempotency_key)

    monkeypatch.setattr(StripeGateway, "refund", unreachable_once)
    task = agencies.task_for(JUSTICE, code)
    assert agencies.decide(JUSTICE, task["task_id"], "reject", "Không đủ điều kiện cấp phiếu").status_code == 200
    assert refused == [intent_id] and dossier_status(code) == 8
    assert stripe_env.get("/v1/refunds", {"payment_intent": intent_id})["data"] == []

    def refunded() -> bool:
        return bool(stripe_env.get("/v1/refunds", {"payment_intent": intent_id})["data"])

    pump(refunded)
    refunds = stripe_env.get("/v1/refunds", {"payment_intent": intent_id})["data"]
    assert [(r["amount"], r["currency"]) for r in refunds] == [(FEE, "vnd")]
    pump(lambda: execution_status(code) == "SUCCEEDED")


def test_a_stop_after_payment_refunds_the_fee(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    """The processing agency stops the dossier after the fee was paid: the refund follows
    from the decision itself."""
    code = awaiting_fee(api, sample_token, agencies)
    intent_id, delivery = paid_intent(api, sample_token, code, stripe_env)
    assert deliver(api, delivery.body, delivery.signature).status_code == 200
    task = agencies.task_for(JUSTICE, code)
    assert agencies.decide(JUSTICE, task["task_id"], "reject", "Không đủ điều kiện cấp phiếu").status_code == 200
    assert dossier_status(code) == 8
    refunds = stripe_env.get("/v1/refunds", {"payment_intent": intent_id})["data"]
    assert [(r["amount"], r["currency"]) for r in refunds] == [(FEE, "vnd")]
    pump(lambda: execution_status(code) == "SUCCEEDED")


def test_the_stripe_keys_can_come_from_secrets_manager(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    name = f"motcua/lamdong/stripe-{uuid.uuid4().hex[:8]}"
    boto3.client("secretsmanager").create_secret(
        Name=name, SecretString=json.dumps({"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET}))
    monkeypatch.delenv("MOTCUA_STRIPE_SECRET_KEY")
    monkeypatch.delenv("MOTCUA_STRIPE_WEBHOOK_SECRET")
    monkeypatch.setenv("MOTCUA_STRIPE_SECRET_NAME", name)
    code = awaiting_fee(api, sample_token, agencies)
    started = start_payment(api, sample_token, code)
    assert started.status_code == 200, started.body
    view = json.loads(started.body)
    assert stripe_env.pay(view["payment_intent_id"]).status_code == 200
    delivery = stripe_env.inbox.wait_for("payment_intent.succeeded", view["payment_intent_id"])
    assert json.loads(deliver(api, delivery.body, delivery.signature).body)["outcome"] == "recorded"


def test_an_unreadable_stripe_secret_is_503_so_stripe_retries(
    api: Any, stripe_env: LocalStripe, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MOTCUA_STRIPE_WEBHOOK_SECRET")
    monkeypatch.setenv("MOTCUA_STRIPE_SECRET_NAME", f"motcua/lamdong/missing-{uuid.uuid4().hex[:8]}")
    body = b'{"id": "evt_1", "type": "payment_intent.succeeded"}'
    answer = deliver(api, body, sign(body))
    assert answer.status_code == 503 and json.loads(answer.body)["error"]["code"] == "payments_unavailable"


# --- events out of order, or the same payment announced twice -----------------------------------


def variant(delivery: Delivery, event_type: str | None = None, event_id: str | None = None) -> tuple[bytes, str]:
    """Another event about the same intent (Stripe sends several per intent, in no guaranteed order):
    a new event id, possibly another type; signed as Stripe signs."""
    event = dict(delivery.event, id=event_id or f"evt_{uuid.uuid4().hex[:24]}")
    if event_type is not None:
        event["type"] = event_type
    body = json.dumps(event).encode()
    return body, sign(body)


def outcome_of(api: Any, body: bytes, signature: str) -> str:
    handled = deliver(api, body, signature)
    assert handled.status_code == 200, handled.body
    return str(json.loads(handled.body)["outcome"])


def test_a_failure_event_arriving_after_the_success_changes_nothing(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    from chalicelib.services.payments import get_payment_store

    code = awaiting_fee(api, sample_token, agencies)
    _, delivery = paid_intent(api, sample_token, code, stripe_env)
    assert outcome_of(api, delivery.body, delivery.signature) == "recorded"
    paid = get_store().get_dossier(code)

    # An earlier attempt's failure, delivered late: Stripe says the intent succeeded.
    assert outcome_of(api, *variant(delivery, "payment_intent.payment_failed")) == "duplicate"
    assert get_store().get_dossier(code) == paid
    assert [p.status for p in get_payment_store().payments_of(code)] == ["paid"]
    # The route went on once: one processing task, and the dossier ends as a paid one does.
    task = agencies.task_for(JUSTICE, code)
    assert [t["task_id"] for t in agencies.inbox(JUSTICE) if t["dossier_code"] == code] == [task["task_id"]]
    assert agencies.decide(JUSTICE, task["task_id"], "approve").status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert history_actions(code) == ["submit", "receive", "request_fee", "record_payment", "approve_final"]


def test_a_failure_event_arriving_before_the_delayed_success_records_the_payment_once(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    """The events of one intent in reverse order: by the time the failure is handled the intent has
    succeeded (Stripe is the source of truth), so the fee is recorded then, and the success after it
    is a duplicate."""
    code = awaiting_fee(api, sample_token, agencies)
    _, delivery = paid_intent(api, sample_token, code, stripe_env)
    assert outcome_of(api, *variant(delivery, "payment_intent.payment_failed")) == "recorded"
    assert outcome_of(api, delivery.body, delivery.signature) == "duplicate"
    assert history_actions(code) == ["submit", "receive", "request_fee", "record_payment"]
    task = agencies.task_for(JUSTICE, code)
    assert [t["task_id"] for t in agencies.inbox(JUSTICE) if t["dossier_code"] == code] == [task["task_id"]]


@pytest.mark.parametrize("event_type", ["payment_intent.processing", "payment_intent.requires_action",
                                        "payment_intent.canceled", "payment_intent.created"])
def test_a_later_status_event_after_the_success_changes_nothing(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies,
    event_type: str,
) -> None:
    code = awaiting_fee(api, sample_token, agencies)
    _, delivery = paid_intent(api, sample_token, code, stripe_env)
    assert outcome_of(api, delivery.body, delivery.signature) == "recorded"
    paid = get_store().get_dossier(code)
    assert outcome_of(api, *variant(delivery, event_type)) == "ignored"
    assert get_store().get_dossier(code) == paid
    assert outcome_of(api, *variant(delivery)) == "duplicate"  # and a success after it, too
    assert get_store().get_dossier(code) == paid


def test_one_success_announced_by_several_events_at_once_records_one_payment_and_resumes_once(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies
) -> None:
    from chalicelib.services.payments import get_payment_store, handle_stripe_event

    code = awaiting_fee(api, sample_token, agencies)
    _, delivery = paid_intent(api, sample_token, code, stripe_env)
    events = [(delivery.body, delivery.signature)] + [variant(delivery) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        outcomes = list(pool.map(lambda event: handle_stripe_event(*event), events))
    assert sorted(outcomes) == ["duplicate"] * 4 + ["recorded"]
    assert history_actions(code).count("record_payment") == 1
    assert [p.status for p in get_payment_store().payments_of(code)] == ["paid"]
    task = agencies.task_for(JUSTICE, code)
    assert agencies.decide(JUSTICE, task["task_id"], "approve").status_code == 200
    pump(lambda: execution_status(code) == "SUCCEEDED")
    assert history_actions(code) == ["submit", "receive", "request_fee", "record_payment", "approve_final"]
    assert len(agencies.inbox(JUSTICE, "decided")) == 1  # the route asked for the processing step once


@pytest.mark.parametrize("paid_before_withdrawal", [True, False])
def test_a_success_replayed_after_the_refund_of_a_withdrawn_dossier_changes_nothing(
    api: Any, stripe_env: LocalStripe, sample_token: str, frozen_clock: datetime, agencies: Agencies,
    paid_before_withdrawal: bool,
) -> None:
    from chalicelib.services.payments import get_payment_store

    code = awaiting_fee(api, sample_token, agencies)
    intent_id, delivery = paid_intent(api, sample_token, code, stripe_env)
    if paid_before_withdrawal:  # recorded, then withdrawn: the withdrawal refunds
        assert outcome_of(api, delivery.body, delivery.signature) == "recorded"
    withdrawn = api.http.post(f"/dossiers/{code}/withdraw", headers=auth(sample_token), body="{}")
    assert withdrawn.status_code == 200, withdrawn.body
    if not paid_before_withdrawal:  # the success arrives after the withdrawal: refunded then
        assert outcome_of(api, delivery.body, delivery.signature) == "refunded"
    assert len(stripe_env.get("/v1/refunds", {"payment_intent": intent_id})["data"]) == 1
    refunded = get_store().get_dossier(code)
    assert refunded is not None and int(refunded.status) == 7
    [payment] = get_payment_store().payments_of(code)
    assert payment.status == "refunded"

    for body, signature in [(delivery.body, delivery.signature), variant(delivery),
                            variant(delivery, "payment_intent.payment_failed")]:
        assert outcome_of(api, body, signature) == "duplicate"
    assert len(stripe_env.get("/v1/refunds", {"payment_intent": intent_id})["data"]) == 1
    assert get_store().get_dossier(code) == refunded
    assert get_payment_store().payments_of(code) == [payment]
