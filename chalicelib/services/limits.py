"""Per-caller rate limits on the actions that cost the province (a dossier starts a route and
notifies agencies; a payment creates a Stripe PaymentIntent). Fixed one-hour windows counted
in the table, so every Lambda instance sees the same count; API Gateway's throttling (stage
settings in infra/aws.json) guards the whole API besides."""

from __future__ import annotations

from typing import Literal

from chalicelib.config import get_settings
from chalicelib.domain.errors import TooManyRequests
from chalicelib.services.deps import get_store, now

WINDOW_SECONDS = 3600
Action = Literal["submit", "payment"]


def consume(action: Action, caller: str) -> None:
    """Counts one use, or raises TooManyRequests (429) with the seconds until the next window."""
    settings = get_settings()
    limit = settings.rate_submissions_per_hour if action == "submit" else settings.rate_payments_per_hour
    at = int(now().timestamp())
    window_start = at - at % WINDOW_SECONDS
    window_end = window_start + WINDOW_SECONDS
    if limit > 0 and get_store().take_rate(action, caller, window_start=window_start, limit=limit,
                                           expires_at=window_end + 3600):
        return
    what = "nộp hồ sơ / submissions" if action == "submit" else "thanh toán / payments"
    raise TooManyRequests(f"Quá nhiều lượt {what.split(' / ')[0]} trong một giờ, vui lòng thử lại sau / "
                          f"Too many {what.split(' / ')[1]} this hour, retry later (limit {limit})",
                          retry_after=max(1, window_end - at))
