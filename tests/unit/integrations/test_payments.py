"""Stripe webhook verification, offline (no server needed)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from chalicelib.integrations.payments import InvalidSignature, StripeGateway, _intent, verify_event

SECRET = "whsec_unit"
BODY = json.dumps({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded",
                   "data": {"object": {"id": "pi_1"}}}).encode()


def sign(body: bytes, secret: str = SECRET, at: int | None = None) -> str:
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def test_a_correctly_signed_event_verifies() -> None:
    event = verify_event(BODY, sign(BODY), SECRET)
    assert event["id"] == "evt_1" and event["type"] == "payment_intent.succeeded"
    assert StripeGateway.verify_event(BODY, sign(BODY), SECRET) == event


@pytest.mark.parametrize("body, header, secret", [
    (BODY + b" ", sign(BODY), SECRET),  # tampered
    (BODY, sign(BODY, secret="whsec_other"), SECRET),  # wrong secret
    (BODY, sign(BODY, at=int(time.time()) - 301), SECRET),  # older than Stripe's 5 minutes
    (BODY, "", SECRET),
    (BODY, "garbage", SECRET),
    (BODY, sign(BODY, secret=""), ""),  # no secret configured: nothing verifies
    (b"not json", sign(b"not json"), SECRET),
    (b"[1, 2]", sign(b"[1, 2]"), SECRET),
], ids=["tampered", "wrong_secret", "stale", "no_header", "garbage_header", "no_secret", "not_json", "not_object"])
def test_anything_else_is_refused_as_a_400(body: bytes, header: str, secret: str) -> None:
    with pytest.raises(InvalidSignature) as raised:
        verify_event(body, header, secret)
    assert raised.value.code in ("invalid_signature", "malformed_event")


def test_the_gateway_does_not_import_stripe_until_used() -> None:
    gateway = StripeGateway("sk_test_x", "http://127.0.0.1:1")
    assert gateway._client is None


def test_an_intent_reads_expanded_and_plain_charges() -> None:
    base = {"id": "pi_1", "client_secret": "s", "status": "succeeded", "amount": 5, "currency": "vnd",
            "metadata": {"dossier_code": "X"}}
    assert _intent({**base, "latest_charge": {"id": "ch_1"}}).latest_charge == "ch_1"
    assert _intent({**base, "latest_charge": "ch_2"}).latest_charge == "ch_2"
    assert _intent({**base, "latest_charge": None}).latest_charge is None
