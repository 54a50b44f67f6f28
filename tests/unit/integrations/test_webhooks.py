"""Outgoing webhooks: signing (checked with the standardwebhooks library), retry policy, one delivery
against real local HTTP servers."""

from __future__ import annotations

import base64
import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from standardwebhooks import Webhook, WebhookVerificationError

from chalicelib.integrations.webhooks import (
    USER_AGENT,
    DeliveryResult,
    RetryPolicy,
    check_secret,
    deliver,
    encode_event,
    new_secret,
    parse_retry_after,
    sign,
)

SECRET = "whsec_" + base64.b64encode(b"motcua-test-secret-32-bytes-long").decode()
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
EVENT: dict[str, Any] = {
    "type": "task.assigned",
    "data": {
        "task_id": "tsk_01",
        "dossier_code": "000.00.21.H38-261126-0001",
        "step": "reception",
        "due_at": "2026-11-27T10:00:00+07:00",
        "dossier": {"procedure_name": "Đăng ký khai sinh", "applicant": {"full_name": "Nguyễn Văn An"}},
    },
}


# --- signing ------------------------------------------------------------------------------------


def test_sign_round_trips_through_the_library() -> None:
    body = encode_event(EVENT)
    now = datetime.now(UTC)
    headers = sign(SECRET, "msg_1", now, body)

    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(SECRET).verify(body, headers) == EVENT


def test_a_signature_does_not_verify_with_another_secret_or_body() -> None:
    body = encode_event(EVENT)
    headers = sign(SECRET, "msg_1", datetime.now(UTC), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b"tsk_01", b"tsk_02"), headers)


def test_sign_converts_an_aware_local_time_to_utc() -> None:
    # The library relabels tzinfo instead of converting: Vietnam time must be converted first.
    body = b"{}"
    vietnam = datetime.now(timezone(timedelta(hours=7)))
    headers = sign(SECRET, "msg_1", vietnam, body)
    assert headers["webhook-timestamp"] == str(int(vietnam.timestamp()))
    Webhook(SECRET).verify(body, headers)  # within the 5-minute window, so the time is right


def test_sign_refuses_naive_timestamps_and_malformed_secrets() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sign(SECRET, "msg_1", datetime(2026, 11, 26), b"{}")
    for bad in ("", "whsec_", "abc", "whsec_not base64!!", "whsec_" + base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError):
            sign(bad, "msg_1", NOW, b"{}")


def test_several_secrets_give_one_signature_each_and_each_verifies_alone() -> None:
    # A rotation's grace period: the receiver knows one of them (the old or the new) and the
    # library's verify accepts the header if any of its space-separated signatures matches.
    body = encode_event(EVENT)
    old, new = SECRET, new_secret()
    headers = sign([new, old], "msg_1", datetime.now(UTC), body)
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(part.startswith("v1,") for part in signatures)
    assert headers["webhook-signature"] == " ".join(
        sign(secret, "msg_1", datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC), body)
        ["webhook-signature"] for secret in (new, old))
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers) == EVENT
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_several_secrets_are_signed_once_each_and_all_must_be_well_formed() -> None:
    headers = sign([SECRET, SECRET], "msg_1", NOW, b"{}")
    assert headers["webhook-signature"] == sign(SECRET, "msg_1", NOW, b"{}")["webhook-signature"]
    with pytest.raises(ValueError, match="no webhook secret"):
        sign([], "msg_1", NOW, b"{}")
    with pytest.raises(ValueError):
        sign([SECRET, "whsec_not base64!!"], "msg_1", NOW, b"{}")


def test_new_secret_is_a_fresh_whsec_secret() -> None:
    first, second = new_secret(), new_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    check_secret(first)
    check_secret(first.rstrip("="))  # padding is optional, as for the library


def test_encode_event_is_compact_utf8_json() -> None:
    body = encode_event(EVENT)
    assert b": " not in body and b", " not in body
    assert "Nguyễn Văn An".encode() in body
    assert json.loads(body) == EVENT
    with pytest.raises(ValueError):
        encode_event({"x": float("nan")})


# --- retry policy -------------------------------------------------------------------------------


def test_delay_is_full_jitter_within_the_exponential_ceiling() -> None:
    policy = RetryPolicy()
    rng = random.Random(3)
    for attempt in range(1, 12):
        ceiling = min(900.0, 5 * 2 ** (attempt - 1))
        delays = [policy.delay(attempt, None, rng) for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert max(delays) > ceiling * 0.8  # spread over the whole range, not clustered low
        assert min(delays) < ceiling * 0.2


def test_delay_is_capped_at_900_seconds_whatever_the_attempt() -> None:
    policy = RetryPolicy(max_attempts=100)
    rng = random.Random(5)
    assert all(policy.delay(attempt, None, rng) <= 900 for attempt in (10, 20, 64, 1000, 10**6))
    assert RetryPolicy(cap_seconds=60).delay(30, None, rng) <= 60


def test_retry_after_is_a_floor_and_900_a_ceiling() -> None:
    policy = RetryPolicy()
    rng = random.Random(7)
    assert all(policy.delay(1, 120, rng) >= 120 for _ in range(50))  # attempt 1 alone would be ≤ 5 s
    assert policy.delay(1, 5000, rng) == 900
    assert 0 <= policy.delay(1, -3, rng) <= 5


def test_exhausted_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [policy.exhausted(attempt) for attempt in (1, 2, 3, 4)] == [False, False, True, True]
    assert RetryPolicy().exhausted(8) and not RetryPolicy().exhausted(7)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(cap_seconds=901)
    with pytest.raises(ValueError):
        RetryPolicy().delay(0, None)


def test_parse_retry_after() -> None:
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("", NOW) is None
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after(" 0 ", NOW) == 0
    assert parse_retry_after("86400", NOW) == 900
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), NOW) == 90
    assert parse_retry_after(format_datetime(NOW - timedelta(seconds=90), usegmt=True), NOW) == 0
    assert parse_retry_after(format_datetime(NOW + timedelta(hours=2), usegmt=True), NOW) == 900
    assert parse_retry_after("Thu, 26 Nov 2026 02:01:00 -0000", NOW) == 60


# --- deliver() against real local servers ------------------------------------------------------


class Recorded:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []


Responder = Callable[[BaseHTTPRequestHandler, int], None]  # (handler, index of the request)


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], tuple[str, Recorded]]]:
    servers: list[ThreadingHTTPServer] = []

    def start(respond: Responder) -> tuple[str, Recorded]:
        recorded = Recorded()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                recorded.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                respond(self, len(recorded.requests) - 1)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}/hooks", recorded

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def answer(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Responder:
    def respond(handler: BaseHTTPRequestHandler, _: int) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def send(url: str, **kwargs: Any) -> DeliveryResult:
    return deliver(url, SECRET, "msg_2a1f", EVENT, timeout=2, now=lambda: datetime.now(UTC), **kwargs)


@pytest.mark.parametrize("status", [200, 204])
def test_2xx_is_delivered(serve, status: int) -> None:
    url, recorded = serve(answer(status))
    assert send(url) == DeliveryResult("delivered", status, None, None)

    ((path, headers, body),) = recorded.requests
    assert path == "/hooks"
    assert body == json.dumps(EVENT, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == USER_AGENT
    assert headers["webhook-id"] == "msg_2a1f"
    assert Webhook(SECRET).verify(body, headers) == EVENT


def test_500_is_retried(serve) -> None:
    url, _ = serve(answer(500, body=b"boom"))
    result = send(url)
    assert (result.outcome, result.status, result.retry_after_seconds) == ("retry", 500, None)
    assert result.error is not None and "500" in result.error


def test_503_with_retry_after_seconds(serve) -> None:
    url, _ = serve(answer(503, {"Retry-After": "120"}))
    result = send(url)
    assert (result.outcome, result.status, result.retry_after_seconds) == ("retry", 503, 120)


def date_answer(status: int, server_now: datetime, retry_after: datetime) -> Responder:
    def respond(handler: BaseHTTPRequestHandler, _: int) -> None:
        handler.send_response_only(status)  # no automatic Date header: the test sets the server's clock
        handler.send_header("Date", format_datetime(server_now, usegmt=True))
        handler.send_header("Retry-After", format_datetime(retry_after, usegmt=True))
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return respond


def test_429_with_an_http_date_retry_after(serve) -> None:
    url, _ = serve(date_answer(429, NOW, NOW + timedelta(minutes=3)))
    result = deliver(url, SECRET, "msg_2a1f", EVENT, timeout=2, now=lambda: NOW)
    assert (result.outcome, result.status, result.retry_after_seconds) == ("retry", 429, 180)


def test_an_http_date_retry_after_is_read_on_the_receivers_clock(serve) -> None:
    # The receiver's clock is 10 minutes behind ours: its "in 3 minutes" still means 3 minutes.
    behind = NOW - timedelta(minutes=10)
    url, _ = serve(date_answer(503, behind, behind + timedelta(minutes=3)))
    result = deliver(url, SECRET, "msg_2a1f", EVENT, timeout=2, now=lambda: NOW)
    assert (result.outcome, result.status, result.retry_after_seconds) == ("retry", 503, 180)


def test_retry_after_is_clamped(serve) -> None:
    url, _ = serve(answer(429, {"Retry-After": "3600"}))
    assert send(url).retry_after_seconds == 900


def test_410_is_gone(serve) -> None:
    url, _ = serve(answer(410))
    result = send(url)
    assert (result.outcome, result.status, result.retry_after_seconds) == ("gone", 410, None)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_4xx_fail_without_retry(serve, status: int) -> None:
    url, _ = serve(answer(status))
    result = send(url)
    assert (result.outcome, result.status, result.retry_after_seconds) == ("failed", status, None)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed(serve, status: int) -> None:
    target_url, target = serve(answer(200))
    url, recorded = serve(answer(status, {"Location": target_url}))
    result = send(url)
    assert (result.outcome, result.status) == ("failed", status)
    assert result.error is not None and "redirect" in result.error
    assert len(recorded.requests) == 1
    assert target.requests == []


def test_a_closed_port_is_retried_with_the_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more: connection refused.
    result = send(f"http://127.0.0.1:{port}/hooks")
    assert (result.outcome, result.status, result.retry_after_seconds) == ("retry", None, None)
    assert result.error is not None and "ConnectionError" in result.error


def test_a_server_slower_than_the_timeout_is_retried(serve) -> None:
    release = threading.Event()

    def slow(handler: BaseHTTPRequestHandler, _: int) -> None:
        release.wait(5)
        with contextlib.suppress(OSError):  # the client is long gone
            answer(200)(handler, 0)

    url, _ = serve(slow)
    started = time.monotonic()
    try:
        result = deliver(url, SECRET, "msg_2a1f", EVENT, timeout=0.3)
    finally:
        release.set()
    assert time.monotonic() - started < 2
    assert (result.outcome, result.status) == ("retry", None)
    assert result.error is not None and "Timeout" in result.error


def test_a_malformed_url_or_secret_fails_without_retry() -> None:
    assert deliver("not a url", SECRET, "msg_1", EVENT).outcome == "failed"
    assert deliver("ftp://example.invalid/x", SECRET, "msg_1", EVENT).outcome == "failed"
    result = deliver("http://127.0.0.1:9/x", "whsec_???", "msg_1", EVENT)
    assert (result.outcome, result.status) == ("failed", None)


def test_retries_reuse_the_webhook_id_and_the_body_with_a_fresh_signature(serve) -> None:
    # 500, then 503, then 200: what a dispatcher does with one event across three SQS receipts.
    responses = [answer(500), answer(503, {"Retry-After": "1"}), answer(200)]
    url, recorded = serve(lambda handler, index: responses[index](handler, index))
    clock = iter([NOW, NOW + timedelta(seconds=30), NOW + timedelta(seconds=95)])
    policy = RetryPolicy()
    outcomes: list[str] = []
    session = requests.Session()
    for attempt in range(1, 4):
        result = deliver(url, SECRET, "msg_same", EVENT, session=session, now=lambda: next(clock))
        outcomes.append(result.outcome)
        if result.outcome != "retry":
            break
        assert not policy.exhausted(attempt)
        assert 0 <= policy.delay(attempt, result.retry_after_seconds) <= 900
    session.close()

    assert outcomes == ["retry", "retry", "delivered"]
    assert [headers["webhook-id"] for _, headers, _ in recorded.requests] == ["msg_same"] * 3
    assert len({body for _, _, body in recorded.requests}) == 1
    timestamps = [headers["webhook-timestamp"] for _, headers, _ in recorded.requests]
    assert timestamps == [str(int((NOW + timedelta(seconds=s)).timestamp())) for s in (0, 30, 95)]
    assert len({headers["webhook-signature"] for _, headers, _ in recorded.requests}) == 3


def test_the_default_session_keeps_no_cookies(serve) -> None:
    url, recorded = serve(answer(200, {"Set-Cookie": "tracker=1; Path=/"}))
    assert send(url).outcome == "delivered"
    assert send(url).outcome == "delivered"
    assert "cookie" not in recorded.requests[1][1]
