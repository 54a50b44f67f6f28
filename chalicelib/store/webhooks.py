"""Agencies' webhook endpoints.

| # | pattern                        | key condition                              |
|---|--------------------------------|--------------------------------------------|
| 14| an agency's webhook endpoint   | PK = AGENCY#<code>, SK = WEBHOOK           |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.store import models as m

WEBHOOK_SK = "WEBHOOK"


class WebhookEndpointItem(m.TableItem, discriminator="webhook_endpoint"):
    agency_code = UnicodeAttribute()
    url = UnicodeAttribute()
    # The name of the agency's Secrets Manager secret (integrations/webhook_secrets.py), never a value.
    secret_name = UnicodeAttribute(null=True)
    # Legacy: items written before issue 6 hold the secret itself. Still read (deliveries are
    # signed with it) until an ops command moves it to Secrets Manager; never written again.
    secret = UnicodeAttribute(null=True)
    disabled = BooleanAttribute(default=False)
    disabled_reason = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()


@dataclass(frozen=True)
class WebhookEndpoint:
    agency_code: str
    url: str
    secret_name: str | None  # None only on a legacy item, which holds legacy_secret instead
    disabled: bool = False
    disabled_reason: str | None = None
    legacy_secret: str | None = None  # read from items written before issue 6, never written


def put_endpoint(endpoint: WebhookEndpoint, at: datetime) -> None:
    """Writes the whole item: a legacy item's secret value goes away with it."""
    if not endpoint.secret_name:
        raise ValueError("a webhook endpoint names its Secrets Manager secret")
    WebhookEndpointItem(m.agency_pk(endpoint.agency_code), WEBHOOK_SK, agency_code=endpoint.agency_code,
                        url=endpoint.url, secret_name=endpoint.secret_name, disabled=endpoint.disabled,
                        disabled_reason=endpoint.disabled_reason, updated_at=at).save()


def get_endpoint(agency_code: str) -> WebhookEndpoint | None:
    try:
        item = WebhookEndpointItem.get(m.agency_pk(agency_code), WEBHOOK_SK)
    except DoesNotExist:
        return None
    return WebhookEndpoint(item.agency_code, item.url, item.secret_name or None, bool(item.disabled),
                           item.disabled_reason, legacy_secret=None if item.secret_name else item.secret)


def disable_endpoint(agency_code: str, reason: str, at: datetime, *, url: str) -> bool:
    """Turns the agency's endpoint off if it still posts to ``url`` (the one that answered): a
    late answer of an old URL must not turn off the one ops set since. False if it was changed."""
    try:
        WebhookEndpointItem(m.agency_pk(agency_code), WEBHOOK_SK).update(actions=[
            WebhookEndpointItem.disabled.set(True), WebhookEndpointItem.disabled_reason.set(reason),
            WebhookEndpointItem.updated_at.set(at)], condition=WebhookEndpointItem.url == url)
    except UpdateError as error:
        if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True
