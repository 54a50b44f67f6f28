"""Fee payments (Stripe PaymentIntents) and the Stripe events already handled.

| #  | pattern                               | key condition                                                |
|----|---------------------------------------|--------------------------------------------------------------|
| 5d | a dossier's payments (its intents)    | PK = DOSSIER#<code>, SK begins_with PAYMENT# (same partition |
|    |                                       | as pattern 5: the dossier query reads them too)              |
| 15 | a Stripe event already handled        | PK = STRIPEEVENT#<event id>, SK = META (conditional put)     |

The payment items live in the dossier's partition, so this module must be imported
wherever a dossier is read (``store/repository.py`` does): PynamoDB refuses items whose
discriminator it does not know.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DeleteError, PutError

from chalicelib.store import models as m

PAYMENT_PREFIX = "PAYMENT#"
_CONDITION_FAILED = "ConditionalCheckFailedException"


def payment_sk(intent_id: str) -> str:
    return f"{PAYMENT_PREFIX}{intent_id}"


def stripe_event_pk(event_id: str) -> str:
    return f"STRIPEEVENT#{event_id}"


class PaymentItem(m.TableItem, discriminator="payment"):
    provider = UnicodeAttribute()
    intent_id = UnicodeAttribute()
    dossier_code = UnicodeAttribute()
    amount_vnd = NumberAttribute()
    status = UnicodeAttribute()  # "open" | "paid" | "refunded"
    created_at = UTCDateTimeAttribute()
    reference = UnicodeAttribute(null=True)  # the charge (or intent) id once paid
    paid_at = UTCDateTimeAttribute(null=True)
    refund_id = UnicodeAttribute(null=True)
    refunded_at = UTCDateTimeAttribute(null=True)


class StripeEventItem(m.TableItem, discriminator="stripe_event"):
    event_type = UnicodeAttribute()
    received_at = UTCDateTimeAttribute()


@dataclass(frozen=True)
class Payment:
    dossier_code: str
    intent_id: str
    amount_vnd: int
    status: str
    created_at: datetime
    provider: str = "stripe"
    reference: str | None = None
    refund_id: str | None = None


def _payment(item: PaymentItem) -> Payment:
    return Payment(item.dossier_code, item.intent_id, int(item.amount_vnd), item.status, item.created_at,
                   item.provider, item.reference, item.refund_id)


class PaymentStore(m.BoundStore):
    def payments_of(self, dossier_code: str) -> list[Payment]:
        """Pattern 5d, oldest intent id first (ids are random: order by created_at for age)."""
        items = PaymentItem.query(m.dossier_pk(dossier_code), PaymentItem.sk.startswith(PAYMENT_PREFIX),
                                  consistent_read=True)
        payments = [_payment(item) for item in items if isinstance(item, PaymentItem)]
        return sorted(payments, key=lambda p: p.created_at)

    def put_payment(self, payment: Payment) -> None:
        PaymentItem(m.dossier_pk(payment.dossier_code), payment_sk(payment.intent_id), provider=payment.provider,
                    intent_id=payment.intent_id, dossier_code=payment.dossier_code, amount_vnd=payment.amount_vnd,
                    status=payment.status, created_at=payment.created_at).save(
            condition=PaymentItem.sk.does_not_exist())

    def add_payment(self, payment: Payment) -> bool:
        """Stores a new intent; False if it was stored already (a retried request)."""
        try:
            self.put_payment(payment)
        except PutError as error:
            if error.cause_response_code == _CONDITION_FAILED:
                return False
            raise
        return True

    def mark_paid(self, dossier_code: str, intent_id: str, reference: str, at: datetime) -> None:
        PaymentItem(m.dossier_pk(dossier_code), payment_sk(intent_id)).update(actions=[
            PaymentItem.status.set("paid"), PaymentItem.reference.set(reference), PaymentItem.paid_at.set(at)])

    def mark_refunded(self, dossier_code: str, intent_id: str, refund_id: str, at: datetime) -> None:
        PaymentItem(m.dossier_pk(dossier_code), payment_sk(intent_id)).update(actions=[
            PaymentItem.status.set("refunded"), PaymentItem.refund_id.set(refund_id),
            PaymentItem.refunded_at.set(at)])

    def claim_event(self, event_id: str, event_type: str, at: datetime) -> bool:
        """Records a Stripe event id once (pattern 15): True for the first caller only."""
        try:
            StripeEventItem(stripe_event_pk(event_id), m.META, event_type=event_type, received_at=at).save(
                condition=StripeEventItem.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code == _CONDITION_FAILED:
                return False
            raise
        return True

    def release_event(self, event_id: str) -> None:
        """Forgets an event whose handling failed, so that Stripe's retry is handled."""
        with contextlib.suppress(DeleteError):
            StripeEventItem(stripe_event_pk(event_id), m.META).delete()
