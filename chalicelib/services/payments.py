"""Online fee payment (level 4): a Stripe PaymentIntent per dossier waiting on its fee
(status 6), Stripe's signed events to record the payment, a refund when the dossier
ends without being served.

Stripe is the source of truth: an event only says *which* PaymentIntent to look at; its
status and amount are read back from Stripe before anything is recorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.config import Settings, get_settings
from chalicelib.domain.dossiers import Dossier, LogEntry
from chalicelib.domain.errors import Conflict, ServiceUnavailable
from chalicelib.domain.payments import settles_fee
from chalicelib.domain.workflow import PAYMENT_FAILED, DossierStatus
from chalicelib.integrations.payments import (
    Intent,
    PaymentProviderError,
    StripeGateway,
    verify_event,
)
from chalicelib.integrations.secrets import stripe_keys
from chalicelib.services import limits, routing
from chalicelib.services.deps import get_store, now
from chalicelib.services.dossiers import get_own_dossier
from chalicelib.store.payments import Payment, PaymentStore

logger = logging.getLogger(__name__)

PROVIDER = "stripe"
SUCCEEDED = "payment_intent.succeeded"
FAILED = "payment_intent.payment_failed"
HANDLED_EVENTS = frozenset({SUCCEEDED, FAILED})


@dataclass(frozen=True)
class PaymentView:
    provider: str
    payment_intent_id: str
    client_secret: str
    amount_vnd: int


@lru_cache(maxsize=4)
def _gateway(secret_key: str, api_base: str | None) -> StripeGateway:
    return StripeGateway(secret_key, api_base)


def get_gateway(settings: Settings | None = None) -> StripeGateway:
    settings = settings or get_settings()
    secret_key = stripe_keys(settings).secret_key
    if not secret_key:
        raise ServiceUnavailable("Chưa hỗ trợ thanh toán trực tuyến / Online payment is not configured",
                                 code="payments_unavailable")
    return _gateway(secret_key, settings.stripe_api_base)


@lru_cache(maxsize=4)
def _payment_store(table_name: str, region: str) -> PaymentStore:
    return PaymentStore(table_name, region)


def get_payment_store(settings: Settings | None = None) -> PaymentStore:
    settings = settings or get_settings()
    store = _payment_store(settings.table_name, settings.region)
    store.bind()
    return store


def fee_idempotency_key(code: str, fee_vnd: int) -> str:
    """Stripe's idempotency key for a dossier's fee: a retried request gets the same intent."""
    return f"fee:{code}:{fee_vnd}"


def _unavailable(error: PaymentProviderError) -> ServiceUnavailable:
    return ServiceUnavailable("Cổng thanh toán tạm thời không trả lời, vui lòng thử lại / "
                              "The payment provider is not answering, please retry", code="payment_provider_error")


def start_payment(owner: str, code: str) -> PaymentView:
    """The PaymentIntent the owner pays the fee with: created on the first call, the same
    one afterwards (while it can still be paid)."""
    dossier = get_own_dossier(owner, code)
    if dossier.status is not DossierStatus.AWAITING_FEE or dossier.fee_status == "paid" or dossier.fee_vnd <= 0:
        raise Conflict("Hồ sơ không ở trạng thái chờ nộp phí / The dossier is not awaiting its fee",
                       code="not_awaiting_fee")
    limits.consume("payment", owner)  # each call reaches Stripe
    gateway = get_gateway()
    store = get_payment_store()
    try:
        for payment in reversed(store.payments_of(code)):
            if payment.amount_vnd != dossier.fee_vnd or payment.status != "open":
                continue
            intent = gateway.retrieve(payment.intent_id)
            if intent.status != "canceled":
                return _view(intent)
        intent = gateway.create_intent(dossier.fee_vnd, code, fee_idempotency_key(code, dossier.fee_vnd))
    except PaymentProviderError as error:
        raise _unavailable(error) from error
    store.add_payment(Payment(code, intent.id, intent.amount, "open", now(), PROVIDER))
    return _view(intent)


def _view(intent: Intent) -> PaymentView:
    return PaymentView(PROVIDER, intent.id, intent.client_secret, intent.amount)


def handle_stripe_event(raw_body: bytes, signature: str) -> str:
    """Handles one signed Stripe event; returns what was done ("recorded", "duplicate",
    "ignored", "failed_payment", "refunded"...). Raises InvalidSignature (400) on a bad
    signature, ServiceUnavailable (503, Stripe retries) if Stripe cannot be read back."""
    webhook_secret = stripe_keys(get_settings()).webhook_secret
    if not webhook_secret:
        logger.error("a Stripe event arrived but no webhook secret is configured")
    event = verify_event(raw_body, signature, webhook_secret)
    event_type = event["type"]
    if event_type not in HANDLED_EVENTS:
        return "ignored"
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    intent_id = obj.get("id") if isinstance(obj, dict) else None
    if not isinstance(intent_id, str) or not intent_id.startswith("pi_"):
        logger.warning("Stripe event %s (%s) names no payment intent", event["id"], event_type)
        return "ignored"
    store = get_payment_store()
    if not store.claim_event(event["id"], event_type, now()):
        return "duplicate"
    try:
        return _handle_intent_event(event_type, intent_id, store)
    except BaseException:
        # Not handled: forget the id so that Stripe's retry is.
        store.release_event(event["id"])
        raise


def _handle_intent_event(event_type: str, intent_id: str, store: PaymentStore) -> str:
    try:
        intent = get_gateway().retrieve(intent_id)
    except PaymentProviderError as error:
        raise _unavailable(error) from error
    code = (intent.metadata or {}).get("dossier_code", "")
    payment = next((p for p in store.payments_of(code) if p.intent_id == intent.id), None) if code else None
    if payment is None:
        logger.warning("Stripe payment intent %s is not one of ours", intent.id)
        return "ignored"
    dossier = get_store().get_dossier(code)
    if dossier is None:
        return "ignored"
    if intent.status != "succeeded":
        if event_type == FAILED:
            # The dossier keeps waiting (status 6) and the citizen is told (the progress log and
            # a notification); they may pay again with the same intent.
            logger.info("fee payment failed for a dossier (intent %s, status %s)", intent.id, intent.status)
            if dossier.status is DossierStatus.AWAITING_FEE:
                get_store().apply_change(dossier, LogEntry(
                    at=now(), actor="system", action=PAYMENT_FAILED, from_status=dossier.status,
                    to_status=dossier.status,
                    note="Thanh toán phí không thành công, vui lòng thử lại / "
                         "The fee payment failed, please try again"))
            return "failed_payment"
        return "ignored"
    if not settles_fee(status=intent.status, amount=intent.amount, currency=intent.currency,
                       fee_vnd=dossier.fee_vnd) or intent.amount != payment.amount_vnd:
        logger.error("Stripe payment intent %s paid %s %s, not the fee of %s VND: not recorded",
                     intent.id, intent.amount, intent.currency, dossier.fee_vnd)
        return "amount_mismatch"
    reference = intent.latest_charge or intent.id
    if payment.status == "open":
        store.mark_paid(code, intent.id, reference, now())
    if dossier.fee_status == "paid":
        return "duplicate"
    if dossier.status is not DossierStatus.AWAITING_FEE:
        # Paid after the dossier was withdrawn, stopped or refused: give the money back (once: a
        # later event about the same intent finds it refunded already).
        if dossier.status.is_final:
            if refund_if_paid(dossier):
                return "refunded"
            return "duplicate"
        logger.error("dossier paid while in status %s: not recorded", int(dossier.status))
        return "ignored"
    try:
        if routing.record_payment(code, reference) is None:
            return "duplicate"  # another event for the same payment recorded it since we read
    except Conflict:
        # Someone changed the dossier meanwhile (another event for the same payment):
        # fine if that recorded the fee, otherwise let Stripe retry.
        again = get_store().get_dossier(code)
        if again is None or again.fee_status != "paid":
            raise
        return "duplicate"
    return "recorded"


def refund_if_paid(dossier: Dossier) -> list[str]:
    """Refunds every paid, not yet refunded fee of a dossier that ends without being served
    (refused, stopped, withdrawn after payment). Returns the new refunds' ids; safe to call
    again (Stripe's idempotency key and the stored status stop a second refund)."""
    store = get_payment_store()
    paid = [p for p in store.payments_of(dossier.code) if p.status == "paid"]
    if not paid:
        return []
    gateway = get_gateway()
    refunds = []
    for payment in paid:
        try:
            refund_id = gateway.refund(payment.intent_id, f"refund:{dossier.code}:{payment.intent_id}")
        except PaymentProviderError as error:
            raise _unavailable(error) from error
        store.mark_refunded(dossier.code, payment.intent_id, refund_id, now())
        logger.info("fee refunded (intent %s, refund %s)", payment.intent_id, refund_id)
        refunds.append(refund_id)
    return refunds
