"""Per-citizen rate limits on submissions and payments: 429 with Retry-After, per caller, per hour.
Valid submissions count; a form sent back for its errors does not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import create_submission
from tests.integration.route_support import submission_request, submit


def invalid_submission(api: Any, token: str) -> Any:
    return api.http.post("/dossiers", body=json.dumps(create_submission(documents=[])), headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def test_a_citizen_gets_429_after_the_hours_share_and_others_do_not(
    api: Any, sample_catalogue: None, sample_token: str, other_token: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    at = datetime(2026, 11, 26, 2, 59, 30, tzinfo=UTC)  # 30 s before the window ends
    monkeypatch.setattr("chalicelib.services.limits.now", lambda: at)
    monkeypatch.setenv("MOTCUA_RATE_SUBMISSIONS_PER_HOUR", "2")
    assert [invalid_submission(api, sample_token).status_code for _ in range(4)] == [422] * 4  # not counted
    submit(api, sample_token, "2.000488")
    submit(api, sample_token, "2.000488")
    with pytest.raises(AssertionError, match="rate_limited"):
        submit(api, sample_token, "2.000488")
    limited = invalid_submission(api, sample_token)  # still judged on its own errors first
    assert limited.status_code == 422
    submit(api, other_token, "2.000488")  # someone else's share is their own
    # The next hour, a new share.
    monkeypatch.setattr("chalicelib.services.limits.now", lambda: at + timedelta(seconds=31))
    submit(api, sample_token, "2.000488")


def test_the_429_says_when_to_come_back(api: Any, sample_catalogue: None, sample_token: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    at = datetime(2026, 11, 26, 2, 59, 30, tzinfo=UTC)
    monkeypatch.setattr("chalicelib.services.limits.now", lambda: at)
    monkeypatch.setenv("MOTCUA_RATE_SUBMISSIONS_PER_HOUR", "0")
    limited = submission_request(api, sample_token, "2.000488")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"
    assert json.loads(limited.body)["error"]["code"] == "rate_limited"
