"""Stripe, the fee's payment provider (localstripe locally, the same code against Stripe).

``stripe`` is imported inside the functions only: it costs about 120 ms of cold start,
which only the payment routes should pay.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import DomainError, MalformedRequest
from chalicelib.domain.payments import CURRENCY

if TYPE_CHECKING:
    import stripe

logger = logging.getLogger(__name__)


class InvalidSignature(MalformedRequest):
    """A webhook whose ``Stripe-Signature`` does not verify (400)."""

    code = "invalid_signature"


class PaymentProviderError(DomainError):
    """Stripe refused or could not be reached (the service decides what it means)."""

    code = "payment_provider_error"


@dataclass(frozen=True)
class Intent:
    id: str
    client_secret: str
    status: str  # Stripe's: requires_payment_method, ..., succeeded, canceled
    amount: int
    currency: str = CURRENCY
    latest_charge: str | None = None
    metadata: dict[str, str] | None = None


def _plain(obj: Any) -> dict[str, Any]:
    """The SDK's objects are not dicts (stripe >= 13): a plain dict of their fields."""
    plain: dict[str, Any] = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return plain


def _intent(resource: Any) -> Intent:
    obj = _plain(resource)
    charge = obj.get("latest_charge")
    if isinstance(charge, dict):  # expanded
        charge = charge.get("id")
    return Intent(id=str(obj["id"]), client_secret=str(obj.get("client_secret") or ""), status=str(obj["status"]),
                  amount=int(obj["amount"]), currency=str(obj.get("currency") or ""),
                  latest_charge=str(charge) if charge else None,
                  metadata={str(k): str(v) for k, v in (obj.get("metadata") or {}).items()})


class StripeGateway:
    def __init__(self, secret_key: str, api_base: str | None = None) -> None:
        self._secret_key = secret_key
        self._api_base = api_base
        self._client: stripe.StripeClient | None = None

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is None:
            import stripe

            self._client = stripe.StripeClient(
                self._secret_key,
                base_addresses={"api": self._api_base} if self._api_base else None,
                max_network_retries=2,
            )
        return self._client

    def _call(self, what: str, call: Any) -> Any:
        import stripe

        try:
            return call()
        except stripe.StripeError as error:
            # The message may name the card's issue; never the card itself.
            logger.warning("stripe %s failed: %s %s", what, type(error).__name__, getattr(error, "code", None))
            raise PaymentProviderError(f"Stripe: {what} failed ({type(error).__name__})") from error

    def create_intent(self, amount_vnd: int, dossier_code: str, idempotency_key: str) -> Intent:
        params: Any = {"amount": amount_vnd, "currency": CURRENCY, "payment_method_types": ["card"],
                       "metadata": {"dossier_code": dossier_code}}
        return _intent(self._call("create payment intent", lambda: self.client.v1.payment_intents.create(
            params, {"idempotency_key": idempotency_key})))

    def retrieve(self, intent_id: str) -> Intent:
        return _intent(self._call("retrieve payment intent",
                                  lambda: self.client.v1.payment_intents.retrieve(intent_id)))

    @staticmethod
    def verify_event(raw_body: bytes, signature_header: str, secret: str) -> dict[str, Any]:
        return verify_event(raw_body, signature_header, secret)

    def refund(self, intent_id: str, idempotency_key: str) -> str:
        """Refunds the whole payment; returns the refund's id."""
        refund = self._call("refund", lambda: self.client.v1.refunds.create(
            {"payment_intent": intent_id}, {"idempotency_key": idempotency_key}))
        return str(_plain(refund)["id"])


def verify_event(raw_body: bytes, signature_header: str, secret: str) -> dict[str, Any]:
    """The event, if ``signature_header`` signs ``raw_body`` with ``secret`` within Stripe's
    default tolerance (5 minutes); raises InvalidSignature otherwise."""
    import stripe

    if not signature_header or not secret:
        raise InvalidSignature("Chữ ký Stripe không hợp lệ / Invalid Stripe signature")
    try:
        event = json.loads(raw_body)
    except (ValueError, UnicodeError, RecursionError):  # RecursionError: nested deeper than Python parses
        raise InvalidSignature("Sự kiện Stripe không hợp lệ / Malformed Stripe event", code="malformed_event") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        # construct_event assumes an object: refuse anything else before it looks.
        raise InvalidSignature("Sự kiện Stripe không hợp lệ / Malformed Stripe event", code="malformed_event")
    try:
        stripe.Webhook.construct_event(raw_body, signature_header, secret)
    except (stripe.SignatureVerificationError, ValueError, UnicodeError, RecursionError):
        raise InvalidSignature("Chữ ký Stripe không hợp lệ / Invalid Stripe signature") from None
    return event

