"""Fee payment rules that need no provider: the request's shape, and whether a payment
read back from the provider settles a dossier's fee."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.forms import validate_against

CURRENCY = "vnd"  # zero-decimal: amounts are whole đồng

PAYMENT_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"provider": {"type": "string", "enum": ["stripe"], "title": "Cổng thanh toán"}},
}


def parse_payment_request(body: Mapping[str, Any]) -> str:
    """The provider the citizen pays through (only "stripe"); unknown fields are refused."""
    validate_against(PAYMENT_REQUEST_SCHEMA, body, prefix="")
    return str(body.get("provider", "stripe"))


def settles_fee(*, status: str, amount: int, currency: str, fee_vnd: int) -> bool:
    """Whether a provider's payment settles the fee: succeeded, in VND, for exactly the fee."""
    return status == "succeeded" and currency.lower() == CURRENCY and fee_vnd > 0 and amount == fee_vnd


def format_vnd(amount: int) -> str:
    """An amount of đồng as Vietnamese writes it, thousands separated by dots: 200.000."""
    return f"{amount:,}".replace(",", ".")
