"""Online fee payment: the citizen's PaymentIntent, and Stripe's signed events."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.domain.payments import parse_payment_request
from chalicelib.handlers.http import api_route, current_citizen, json_body, query_params

# services.payments (and Stripe behind it) loads with the first payment call, not with the API.
bp = Blueprint(__name__)


@api_route(bp, "/dossiers/{code}/payment", methods=["POST"])
def start_payment(code: str) -> dict[str, Any]:
    from chalicelib.services import payments

    request = bp.current_request
    citizen = current_citizen(request)
    query_params(request, set())
    parse_payment_request(json_body(request, required=False))
    view = payments.start_payment(citizen.sub, code)
    return {"provider": view.provider, "payment_intent_id": view.payment_intent_id,
            "client_secret": view.client_secret, "amount_vnd": view.amount_vnd}


@api_route(bp, "/webhooks/stripe", methods=["POST"], content_types=["application/json"])
def stripe_webhook() -> dict[str, Any]:
    """No caller auth: the Stripe-Signature over the raw body is the authentication."""
    from chalicelib.services import payments

    request = bp.current_request
    query_params(request, set())
    raw = request.raw_body or b""
    body = raw.encode("utf-8") if isinstance(raw, str) else raw
    outcome = payments.handle_stripe_event(body, str(request.headers.get("stripe-signature", "")))
    return {"received": True, "outcome": outcome}
