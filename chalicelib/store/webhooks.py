"""Agencies' webhook endpoints.

| # | pattern                        | key condition                              |
|---|--------------------------------|--------------------------------------------|
| 14| an agency's webhook endpoint   | PK = AGENCY#<code>, SK = WEBHOOK           |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DoesNotExist

from chalicelib.store import models as m

WEBHOOK_SK = "WEBHOOK"


class WebhookEndpointItem(m.TableItem, discriminator="webhook_endpoint"):
    agency_code = UnicodeAttribute()
    url = UnicodeAttribute()
    # TODO(issue 6): keep a Secrets Manager reference here instead of the secret itself
    # (the table is encrypted at rest, but secrets belong in a secrets store).
    secret = UnicodeAttribute()
    disabled = BooleanAttribute(default=False)
    disabled_reason = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()


@dataclass(frozen=True)
class WebhookEndpoint:
    agency_code: str
    url: str
    secret: str
    disabled: bool = False
    disabled_reason: str | None = None


def put_endpoint(endpoint: WebhookEndpoint, at: datetime) -> None:
    WebhookEndpointItem(m.agency_pk(endpoint.agency_code), WEBHOOK_SK, agency_code=endpoint.agency_code,
                        url=endpoint.url, secret=endpoint.secret, disabled=endpoint.disabled,
                        disabled_reason=endpoint.disabled_reason, updated_at=at).save()


def get_endpoint(agency_code: str) -> WebhookEndpoint | None:
    try:
        item = WebhookEndpointItem.get(m.agency_pk(agency_code), WEBHOOK_SK)
    except DoesNotExist:
        return None
    return WebhookEndpoint(item.agency_code, item.url, item.secret, bool(item.disabled), item.disabled_reason)


def disable_endpoint(agency_code: str, reason: str, at: datetime) -> None:
    WebhookEndpointItem(m.agency_pk(agency_code), WEBHOOK_SK).update(actions=[
        WebhookEndpointItem.disabled.set(True), WebhookEndpointItem.disabled_reason.set(reason),
        WebhookEndpointItem.updated_at.set(at)])
