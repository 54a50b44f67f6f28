"""The sample agency receiver (examples/agency_receiver) over real HTTP on 127.0.0.1: signature checks,
dedup by webhook-id, the task list and the decision form calling a fake agency API."""

from __future__ import annotations

import base64
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.integrations.webhooks import deliver, encode_event, new_secret, sign
from examples.agency_receiver import ReceiverServer, ReceiverState, create_server

SECRET = "whsec_" + base64.b64encode(b"agency-receiver-test-secret-0001").decode()
API_KEY = "agk_test_0123456789"


def assigned(task_id: str = "tsk_001", step: Any = "reception",
             code: str = "000.00.21.H38-261126-0001") -> dict[str, Any]:
    return {
        "type": "task.assigned",
        "data": {
            "task_id": task_id,
            "dossier_code": code,
            "step": step,
            "due_at": "2026-11-27T10:00:00+07:00",
            "dossier": {"procedure_name": "Đăng ký khai sinh", "applicant": {"full_name": "Nguyễn Văn An"}},
        },
    }


class FakeAgencyApi:
    """Records decision calls and answers them like the contract says."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                api.calls.append((self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
                payload = json.dumps({"task_id": "tsk_001", "status": "decided", "note": "Đã ghi nhận"},
                                     ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def agency_api() -> Iterator[FakeAgencyApi]:
    api = FakeAgencyApi()
    thread = threading.Thread(target=api.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield api
    api.server.shutdown()
    api.server.server_close()


@pytest.fixture
def receiver(agency_api: FakeAgencyApi) -> Iterator[ReceiverServer]:
    server = create_server(secret=SECRET, api_url=agency_api.url, api_key=API_KEY, port=0, state=ReceiverState())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers},
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def send_signed(receiver: ReceiverServer, event: dict[str, Any], webhook_id: str, *, secret: str = SECRET,
                at: datetime | None = None, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    signed_body = encode_event(event)
    headers = sign(secret, webhook_id, at or datetime.now(UTC), signed_body)
    return post(receiver.webhook_url, signed_body if body is None else body, headers)


def page(receiver: ReceiverServer) -> str:
    with urllib.request.urlopen(receiver.url + "/", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        text: str = response.read().decode("utf-8")
        return text


def test_health(receiver: ReceiverServer) -> None:
    with urllib.request.urlopen(receiver.url + "/health", timeout=5) as response:
        assert response.status == 200


def test_a_signed_task_is_accepted_and_listed(receiver: ReceiverServer) -> None:
    status, answer = send_signed(receiver, assigned(), "msg_1")
    assert (status, answer) == (200, {"status": "accepted"})

    html = page(receiver)
    assert '<html lang="vi">' in html
    assert "000.00.21.H38-261126-0001" in html
    assert 'data-task-id="tsk_001"' in html
    assert "Tiếp nhận hồ sơ" in html and 'lang="en"' in html
    # A reception step offers the desk's three decisions, and only those.
    assert re.findall(r'<option value="([a-z_]+)"', html) == ["receive", "request_supplement", "refuse"]
    assert re.search(r'<label for="(task-[0-9a-f]+)-note">.*?</label><textarea id="\1-note"', html)


def test_the_sender_delivers_to_the_receiver(receiver: ReceiverServer) -> None:
    # The real sender against the real sample receiver.
    result = deliver(receiver.webhook_url, SECRET, "msg_sender", assigned(step={"kind": "processing"}), timeout=5)
    assert (result.outcome, result.status) == ("delivered", 200)
    (task,) = receiver.state.tasks()
    assert task.kind == "processing"
    assert re.findall(r'<option value="([a-z_]+)"', page(receiver)) == ["approve", "reject", "request_supplement"]


def test_a_wrong_secret_is_rejected(receiver: ReceiverServer) -> None:
    status, answer = send_signed(receiver, assigned(), "msg_1", secret=new_secret())
    assert status == 400 and answer["error"]["code"] == "invalid_signature"
    assert receiver.state.tasks() == []
    assert "tsk_001" not in page(receiver)


def test_a_tampered_body_is_rejected(receiver: ReceiverServer) -> None:
    tampered = encode_event(assigned()).replace(b"tsk_001", b"tsk_666")
    status, _ = send_signed(receiver, assigned(), "msg_1", body=tampered)
    assert status == 400
    assert receiver.state.tasks() == []


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_stale_or_future_timestamp_is_rejected_even_when_signed(receiver: ReceiverServer,
                                                                  offset: timedelta) -> None:
    status, answer = send_signed(receiver, assigned(), "msg_1", at=datetime.now(UTC) + offset)
    assert status == 400 and answer["error"]["code"] == "invalid_signature"
    assert receiver.state.tasks() == []


@pytest.mark.parametrize("headers", [
    {},
    {"webhook-id": "msg_1", "webhook-timestamp": "now", "webhook-signature": "v1,AAAA"},
    {"webhook-id": "msg_1", "webhook-timestamp": "{ts}", "webhook-signature": "garbage"},
    {"webhook-id": "msg_1", "webhook-timestamp": "{ts}", "webhook-signature": "v1,not*base64"},
])
def test_malformed_headers_are_a_400_not_a_crash(receiver: ReceiverServer, headers: dict[str, str]) -> None:
    filled = {name: value.format(ts=int(datetime.now(UTC).timestamp())) for name, value in headers.items()}
    status, answer = post(receiver.webhook_url, encode_event(assigned()), filled)
    assert status == 400 and answer["error"]["code"] == "invalid_signature"


def test_a_replayed_webhook_id_with_another_body_is_rejected(receiver: ReceiverServer) -> None:
    assert send_signed(receiver, assigned(), "msg_1")[0] == 200
    status, answer = send_signed(receiver, assigned(task_id="tsk_999", code="X-261126-0099"), "msg_1")
    assert status == 409 and answer["error"]["code"] == "webhook_id_reused"
    assert [task.task_id for task in receiver.state.tasks()] == ["tsk_001"]
    assert "X-261126-0099" not in page(receiver)


def test_a_retry_built_anew_is_the_same_event_and_keeps_the_newer_dossier(receiver: ReceiverServer) -> None:
    """motcua builds each attempt anew: a retry under the same webhook-id may carry a dossier whose
    progress log grew meanwhile. It is a duplicate (200, the retries stop), not a conflict."""
    assert send_signed(receiver, assigned(), "msg_1")[0] == 200
    retry = assigned()
    retry["data"]["dossier"]["history"] = [{"actor": "agency:000.00.05.H38", "action": "approve_step"}]
    status, answer = send_signed(receiver, retry, "msg_1")
    assert (status, answer["status"]) == (200, "duplicate")
    (task,) = receiver.state.tasks()
    assert task.dossier["history"] == retry["data"]["dossier"]["history"] and task.webhook_ids == ["msg_1"]


def test_the_same_delivery_twice_is_accepted_once(receiver: ReceiverServer) -> None:
    body = encode_event(assigned())
    headers = sign(SECRET, "msg_1", datetime.now(UTC), body)
    assert post(receiver.webhook_url, body, headers) == (200, {"status": "accepted"})
    assert post(receiver.webhook_url, body, headers) == (200, {"status": "duplicate"})
    # A retry by the sender: same id and body, fresh timestamp and signature.
    assert send_signed(receiver, assigned(), "msg_1", at=datetime.now(UTC) + timedelta(seconds=30)) == (
        200, {"status": "duplicate"})

    (task,) = receiver.state.tasks()
    assert task.webhook_ids == ["msg_1"]
    assert page(receiver).count('data-task-id="tsk_001"') == 1


def test_task_cancelled_marks_the_task(receiver: ReceiverServer) -> None:
    assert send_signed(receiver, assigned(), "msg_1")[0] == 200
    cancelled = {"type": "task.cancelled", "data": {"task_id": "tsk_001", "dossier_code": "000.00.21.H38-261126-0001"}}
    assert send_signed(receiver, cancelled, "msg_2") == (200, {"status": "accepted"})

    (task,) = receiver.state.tasks()
    assert task.status == "cancelled"
    assert task.due_at == "2026-11-27T10:00:00+07:00"  # the assignment's details stay
    html = page(receiver)
    assert "Đã hủy" in html
    assert "/tasks/tsk_001/decision" not in html  # nothing left to decide


def test_a_cancellation_arriving_first_wins(receiver: ReceiverServer) -> None:
    # Retries can reorder deliveries.
    assert send_signed(receiver, {"type": "task.cancelled", "data": {"task_id": "tsk_001"}}, "msg_2")[0] == 200
    assert send_signed(receiver, assigned(), "msg_1")[0] == 200
    (task,) = receiver.state.tasks()
    assert (task.status, task.dossier_code) == ("cancelled", "000.00.21.H38-261126-0001")


def test_unknown_event_types_are_acknowledged_and_ignored(receiver: ReceiverServer) -> None:
    assert send_signed(receiver, {"type": "dossier.rated", "data": {"score": 5}}, "msg_9") == (
        200, {"status": "accepted"})
    assert receiver.state.tasks() == []


def test_a_signed_but_malformed_event_is_a_400(receiver: ReceiverServer) -> None:
    status, answer = send_signed(receiver, {"type": "task.assigned", "data": {"dossier_code": "X"}}, "msg_1")
    assert status == 400 and answer["error"]["code"] == "invalid_event"


def submit_decision(receiver: ReceiverServer, html: str, task_id: str, decision: str, note: str) -> int:
    token = re.search(r'name="form_token" value="([^"]+)"', html)
    assert token is not None
    form = urllib.parse.urlencode({"form_token": token.group(1), "decision": decision, "note": note}).encode()
    request = urllib.request.Request(f"{receiver.url}/tasks/{urllib.parse.quote(task_id, safe='')}/decision",
                                     data=form, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # follows the 303 back to the page
            return int(response.status)
    except urllib.error.HTTPError as error:
        with error:
            return error.code


def test_the_decision_form_calls_the_agency_api(receiver: ReceiverServer, agency_api: FakeAgencyApi) -> None:
    assert send_signed(receiver, assigned(), "msg_1")[0] == 200
    html = page(receiver)
    assert 'action="/tasks/tsk_001/decision"' in html

    assert submit_decision(receiver, html, "tsk_001", "request_supplement", "Thiếu bản sao giấy chứng sinh") == 200

    ((path, headers, payload),) = agency_api.calls
    assert path == "/agency/tasks/tsk_001/decision"
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["content-type"] == "application/json"
    assert payload == {"decision": "request_supplement", "note": "Thiếu bản sao giấy chứng sinh"}
    (task,) = receiver.state.tasks()
    assert task.status == "decided" and task.answer is not None and task.answer.status == 200
    shown = page(receiver)
    assert "HTTP 200" in shown and "Đã ghi nhận" in shown


def test_the_decision_form_refuses_forged_posts_and_wrong_choices(receiver: ReceiverServer,
                                                                  agency_api: FakeAgencyApi) -> None:
    assert send_signed(receiver, assigned(), "msg_1")[0] == 200
    html = page(receiver)
    assert submit_decision(receiver, html.replace('name="form_token" value="', 'name="form_token" value="x'),
                           "tsk_001", "receive", "") == 403
    assert submit_decision(receiver, html, "tsk_001", "approve", "") == 400  # not a reception decision
    assert submit_decision(receiver, html, "tsk_unknown", "receive", "") == 404
    assert agency_api.calls == []


def test_a_decided_task_is_not_sent_again_and_keeps_its_answer(receiver: ReceiverServer,
                                                              agency_api: FakeAgencyApi) -> None:
    assert send_signed(receiver, assigned(), "msg_1")[0] == 200
    html = page(receiver)  # a second tab opened before the decision
    assert submit_decision(receiver, html, "tsk_001", "receive", "") == 200
    assert submit_decision(receiver, html, "tsk_001", "refuse", "Thiếu giấy tờ") == 409
    assert len(agency_api.calls) == 1
    (task,) = receiver.state.tasks()
    assert task.status == "decided" and task.answer is not None and task.answer.decision == "receive"


def test_a_non_ascii_form_token_is_a_403_not_a_crash(receiver: ReceiverServer, agency_api: FakeAgencyApi) -> None:
    assert send_signed(receiver, assigned(), "msg_1")[0] == 200
    html = page(receiver)
    forged = re.sub(r'(name="form_token" value=")[^"]+', r"\1é", html)
    assert submit_decision(receiver, forged, "tsk_001", "receive", "") == 403
    assert agency_api.calls == []


def test_a_parallel_agency_is_not_offered_what_only_its_lead_may_decide(receiver: ReceiverServer,
                                                                        agency_api: FakeAgencyApi) -> None:
    helper_step = {"index": 1, "kind": "processing", "role": "helper", "last": False}
    assert send_signed(receiver, assigned(step=helper_step), "msg_1")[0] == 200
    html = page(receiver)
    assert 'value="approve"' in html and 'value="reject"' in html
    assert 'value="request_supplement"' not in html
    assert submit_decision(receiver, html, "tsk_001", "request_supplement", "Thiếu") == 400
    assert agency_api.calls == []


def test_an_unreachable_api_is_shown_not_raised(agency_api: FakeAgencyApi) -> None:
    server = create_server(secret=SECRET, api_url="http://127.0.0.1:9", api_key=API_KEY)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        assert send_signed(server, assigned(), "msg_1")[0] == 200
        assert submit_decision(server, page(server), "tsk_001", "receive", "") == 200
        (task,) = server.state.tasks()
        assert task.status == "open" and task.answer is not None and task.answer.status is None
        assert "không kết nối được" in page(server)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("secret", ["whsec_", "whsec_AA!!AA", "whsec_a"])
def test_a_malformed_secret_is_refused_at_start_up(secret: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        create_server(secret=secret, api_url="http://127.0.0.1:9", api_key=API_KEY)
