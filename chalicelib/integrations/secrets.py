"""Secrets the app reads by reference: in AWS the Stripe keys live in Secrets Manager and the
stage's environment only names the secret; locally (and in tests) they may be plain settings.

Read through Powertools Parameters, which caches each secret for ``MAX_AGE_SECONDS`` per
Lambda container: a rotated key is picked up within that time without a redeploy."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.config import Settings
from chalicelib.domain.errors import ServiceUnavailable

MAX_AGE_SECONDS = 300


@dataclass(frozen=True)
class StripeKeys:
    secret_key: str  # "" = online payment not configured
    webhook_secret: str


def stripe_keys(settings: Settings) -> StripeKeys:
    """The Stripe secret key and webhook signing secret: from the Secrets Manager secret named
    by MOTCUA_STRIPE_SECRET_NAME (JSON ``{"secret_key": "sk_…", "webhook_secret": "whsec_…"}``),
    else from the plain settings."""
    if not settings.stripe_secret_name:
        return StripeKeys(settings.stripe_secret_key, settings.stripe_webhook_secret)
    from aws_lambda_powertools.utilities import parameters

    try:
        value = parameters.get_secret(settings.stripe_secret_name, transform="json", max_age=MAX_AGE_SECONDS)
    except (parameters.GetParameterError, parameters.TransformParameterError) as error:
        raise ServiceUnavailable("Cổng thanh toán tạm thời chưa sẵn sàng / Online payment is not available now",
                                 code="payments_unavailable") from error
    if not isinstance(value, dict):
        raise ServiceUnavailable("Cổng thanh toán tạm thời chưa sẵn sàng / Online payment is not available now",
                                 code="payments_unavailable")
    return StripeKeys(str(value.get("secret_key", "")).strip(), str(value.get("webhook_secret", "")).strip())
