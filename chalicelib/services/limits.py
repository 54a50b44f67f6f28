"""Per-caller rate limits on the actions that cost the province (a dossier starts a route and
notifies agencies; a payment creates a Stripe PaymentIntent). Fixed one-hour windows counted
in the table, so every Lambda instance sees the same count; API Gateway's throttling (stage
settings in infra/aws.json) guards the whole API besides."""

from __future__ import annotations

from typing import Literal

from chalicelib.config import get_settings
from chalicelib.domain.errors import TooManyRequests
from chalicelib.services.deps import get_store, now
from chalicelib.store.repository import RateCharge

WINDOW_SECONDS = 3600
Action = Literal["submit", "payment"]


def charge(action: Action, caller: str) -> RateCharge:
    """The use to count, for a write that counts it in its own transaction (a submission: one
    round trip instead of two); raises TooManyRequests at once when the action is switched off
    (a limit of 0). The write raises ``too_many(charge)`` when its row is full."""
    settings = get_settings()
    limit = settings.rate_submissions_per_hour if action == "submit" else settings.rate_payments_per_hour
    at = int(now().timestamp())
    window_start = at - at % WINDOW_SECONDS
    use = RateCharge(action, caller, window_start=window_start, limit=limit,
                     expires_at=window_start + WINDOW_SECONDS + 3600)
    if limit <= 0:
        raise too_many(use)
    return use


def too_many(use: RateCharge) -> TooManyRequests:
    """The 429 for a use refused, with the seconds until its next window."""
    what = "nộp hồ sơ / submissions" if use.action == "submit" else "thanh toán / payments"
    vietnamese, english = what.split(" / ")
    retry_after = max(1, use.window_start + WINDOW_SECONDS - int(now().timestamp()))
    return TooManyRequests(f"Quá nhiều lượt {vietnamese} trong một giờ, vui lòng thử lại sau / "
                           f"Too many {english} this hour, retry later (limit {use.limit})",
                           retry_after=retry_after)


def consume(action: Action, caller: str) -> None:
    """Counts one use on its own, or raises TooManyRequests (429) with the seconds until the next window."""
    use = charge(action, caller)
    if not get_store().take_rate(use.action, use.caller, window_start=use.window_start, limit=use.limit,
                                 expires_at=use.expires_at):
        raise too_many(use)
