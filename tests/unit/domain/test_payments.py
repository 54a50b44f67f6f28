"""Fee payment rules without a provider."""

from __future__ import annotations

import pytest

from chalicelib.domain.forms import ValidationFailed
from chalicelib.domain.payments import format_vnd, parse_payment_request, settles_fee


def test_a_payment_request_may_be_empty_or_name_stripe() -> None:
    assert parse_payment_request({}) == "stripe"
    assert parse_payment_request({"provider": "stripe"}) == "stripe"


@pytest.mark.parametrize("body", [{"provider": "momo"}, {"amount_vnd": 1}, {"provider": 1}])
def test_a_payment_request_refuses_other_providers_and_unknown_fields(body: dict[str, object]) -> None:
    with pytest.raises(ValidationFailed):
        parse_payment_request(body)


def test_only_a_succeeded_payment_of_exactly_the_fee_in_vnd_settles_it() -> None:
    assert settles_fee(status="succeeded", amount=200000, currency="vnd", fee_vnd=200000)
    assert settles_fee(status="succeeded", amount=200000, currency="VND", fee_vnd=200000)
    assert not settles_fee(status="processing", amount=200000, currency="vnd", fee_vnd=200000)
    assert not settles_fee(status="succeeded", amount=199999, currency="vnd", fee_vnd=200000)
    assert not settles_fee(status="succeeded", amount=20000000, currency="vnd", fee_vnd=200000)  # cents thinking
    assert not settles_fee(status="succeeded", amount=200000, currency="usd", fee_vnd=200000)
    assert not settles_fee(status="succeeded", amount=0, currency="vnd", fee_vnd=0)


@pytest.mark.parametrize(("amount", "written"), [(0, "0"), (500, "500"), (8000, "8.000"), (200000, "200.000"),
                                                 (1250000, "1.250.000")])
def test_amounts_of_dong_are_written_with_dots(amount: int, written: str) -> None:
    assert format_vnd(amount) == written
