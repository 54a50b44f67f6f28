"""A sample agency system: receives motcua's signed webhooks and lets an officer decide from a web page.

Standard library plus ``standardwebhooks`` only, so that an integrator can copy this file as is.
Everything lives in memory: a real receiver keeps tasks and seen webhook ids in its database
(a unique constraint on the webhook id does the dedup).

Routes:
    POST /webhooks                      a Standard Webhooks delivery (task.assigned, task.cancelled)
    GET  /                              the tasks received, each with a form to decide
    POST /tasks/{task_id}/decision      the form: calls motcua's POST /agency/tasks/{task_id}/decision
    GET  /health                        200
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

from standardwebhooks import Webhook, WebhookVerificationError

logger = logging.getLogger("agency_receiver")

MAX_WEBHOOK_BYTES = 1024 * 1024
MAX_FORM_BYTES = 64 * 1024
# Keep seen webhook ids longer than motcua keeps retrying one event (minutes to hours), so that
# a retry of a delivery we accepted, whose 2xx got lost on the way back, is recognised.
DEDUP_TTL_SECONDS = 24 * 3600

# (value, Vietnamese label, English label) per kind of step, as the agency API accepts them.
DECISIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "reception": (
        ("receive", "Tiếp nhận hồ sơ", "Receive"),
        ("request_supplement", "Yêu cầu bổ sung hồ sơ", "Request a supplement"),
        ("refuse", "Từ chối tiếp nhận", "Refuse"),
    ),
    "processing": (
        ("approve", "Phê duyệt", "Approve"),
        ("reject", "Từ chối, dừng xử lý", "Reject"),
        ("request_supplement", "Yêu cầu bổ sung hồ sơ", "Request a supplement"),
    ),
}

TaskStatus = Literal["open", "cancelled", "decided"]
AcceptOutcome = Literal["accepted", "duplicate", "conflict"]


@dataclass(frozen=True)
class ApiAnswer:
    """What motcua's agency API said to a decision (status None: it could not be reached)."""

    decision: str
    note: str
    status: int | None
    body: str

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Task:
    task_id: str
    dossier_code: str = ""
    step: Any = None
    due_at: str | None = None
    dossier: Any = None
    status: TaskStatus = "open"
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    webhook_ids: list[str] = field(default_factory=list)
    answer: ApiAnswer | None = None

    @property
    def kind(self) -> str:
        return step_kind(self.step)

    @property
    def decisions(self) -> tuple[tuple[str, str, str], ...]:
        """What the agency API takes on this task: a parallel agency (role "helper") gives its part
        or stops the dossier; asking the citizen for more is its lead agency's call."""
        role = self.step.get("role") if isinstance(self.step, dict) else None
        return tuple(d for d in DECISIONS[self.kind] if role != "helper" or d[0] != "request_supplement")


def step_kind(step: Any) -> str:
    """``reception`` or ``processing``, whether the event names the step by a string or an object."""
    value = step.get("kind") if isinstance(step, dict) else step
    return "reception" if value == "reception" else "processing"


class InvalidEvent(ValueError):
    pass


class ReceiverState:
    """Tasks and seen webhook ids, in memory, safe to share between the server's threads."""

    def __init__(self, *, dedup_ttl_seconds: float = DEDUP_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self._seen: dict[str, tuple[str, float]] = {}  # webhook id → (digest of the event, accepted at)
        self._ttl = dedup_ttl_seconds
        self._clock = clock

    def accept(self, webhook_id: str, event: dict[str, Any]) -> AcceptOutcome:
        """Applies a verified event once per webhook id.

        ``duplicate``: this id was accepted before for the same event (a retry: answer 2xx so that
        the sender stops). ``conflict``: this id was accepted for another event (answer 4xx).
        The same event is the same type on the same task: motcua builds each attempt anew, so a
        retry carries the dossier as it is at that attempt (its progress log may have grown);
        the newer dossier is kept.
        """
        _check_event(event)
        is_task_event = event["type"] in ("task.assigned", "task.cancelled")
        identity = [event["type"], event["data"]["task_id"]] if is_task_event else event  # other types: whole
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()
        now = self._clock()
        with self._lock:
            self._forget_before(now - self._ttl)
            seen = self._seen.get(webhook_id)
            if seen is not None:
                if not hmac.compare_digest(seen[0], digest):
                    return "conflict"
                task = self._tasks.get(event["data"]["task_id"]) if is_task_event else None
                if task is not None and event["type"] == "task.assigned":
                    task.dossier = event["data"].get("dossier", task.dossier)
                    task.due_at = event["data"].get("due_at", task.due_at)
                return "duplicate"
            self._apply(webhook_id, event)
            self._seen[webhook_id] = (digest, now)
            return "accepted"

    def tasks(self) -> list[Task]:
        """Newest first, as copies."""
        with self._lock:
            return [replace(task, webhook_ids=list(task.webhook_ids)) for task in reversed(self._tasks.values())]

    def task(self, task_id: str) -> Task | None:
        with self._lock:
            task = self._tasks.get(task_id)
            return None if task is None else replace(task, webhook_ids=list(task.webhook_ids))

    def record_answer(self, task_id: str, answer: ApiAnswer) -> None:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is not None:
                task.answer = answer
                if answer.ok and task.status == "open":
                    task.status = "decided"

    def _apply(self, webhook_id: str, event: dict[str, Any]) -> None:
        data: dict[str, Any] = event["data"]
        kind = event["type"]
        if kind not in ("task.assigned", "task.cancelled"):
            return  # newer event types: accept and ignore, as the Standard Webhooks spec recommends
        task_id: str = data["task_id"]
        task = self._tasks.get(task_id)
        if task is None:
            task = self._tasks[task_id] = Task(task_id=task_id)
        task.webhook_ids.append(webhook_id)
        # Retries can reorder deliveries: a cancellation may arrive before its assignment. Fill in
        # the details whatever the order, but a cancelled task stays cancelled.
        task.dossier_code = str(data.get("dossier_code") or task.dossier_code)
        task.step = data.get("step", task.step)
        task.due_at = data.get("due_at", task.due_at)
        task.dossier = data.get("dossier", task.dossier)
        if kind == "task.cancelled":
            task.status = "cancelled"

    def _forget_before(self, cutoff: float) -> None:
        # Insertion order is acceptance order: the oldest ids come first.
        for webhook_id, (_, accepted_at) in list(self._seen.items()):
            if accepted_at >= cutoff:
                break
            del self._seen[webhook_id]


def _check_event(event: Any) -> None:
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise InvalidEvent("an event is an object with a string 'type'")
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidEvent("an event has a 'data' object")
    if event["type"] in ("task.assigned", "task.cancelled"):
        task_id = data.get("task_id")
        if not isinstance(task_id, str) or not task_id:
            raise InvalidEvent("a task event has a non-empty string 'data.task_id'")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would follow a redirect with the Authorization header still on, to any host.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_decision(api_url: str, api_key: str, task_id: str, decision: str, note: str,
                  *, timeout: float = 10) -> ApiAnswer:
    """``POST {api_url}/agency/tasks/{task_id}/decision`` with the agency's API key."""
    payload: dict[str, str] = {"decision": decision}
    if note:
        payload["note"] = note
    request = urllib.request.Request(
        f"{api_url.rstrip('/')}/agency/tasks/{quote(task_id, safe='')}/decision",
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        method="POST",
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            return ApiAnswer(decision, note, response.status, _text(response.read()))
    except urllib.error.HTTPError as error:  # a 4xx/5xx answer is still an answer: show it
        with error:
            return ApiAnswer(decision, note, error.code, _text(error.read()))
    except (urllib.error.URLError, OSError) as error:
        return ApiAnswer(decision, note, None, f"{type(error).__name__}: {error}")


def _text(raw: bytes) -> str:
    text = raw[:20_000].decode("utf-8", errors="replace")
    try:
        return json.dumps(json.loads(text), ensure_ascii=False, indent=2)
    except ValueError:
        return text


class ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], *, secret: str, api_url: str, api_key: str,
                 state: ReceiverState) -> None:
        self.webhook = _webhook(secret)  # a malformed secret fails here, at start-up
        self.api_url = api_url
        self.api_key = api_key
        self.state = state
        # Ties the decision forms to pages this server rendered (no cross-site form posts).
        self.form_token = secrets.token_urlsafe(24)
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhooks"


def _webhook(secret: str) -> Webhook:
    # The library drops characters that are not base64 instead of refusing them, so a secret
    # mangled in copy-paste would silently become another key: check it strictly first.
    encoded = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error as error:
        raise ValueError("the webhook secret is whsec_ followed by base64") from error
    if not key:
        raise ValueError("the webhook secret is empty")
    return Webhook(secret)


def create_server(*, secret: str, api_url: str, api_key: str, host: str = "127.0.0.1", port: int = 0,
                  state: ReceiverState | None = None) -> ReceiverServer:
    """A bound server, not yet serving: call ``serve_forever()`` (or ``start_in_thread``). Port 0 picks one."""
    return ReceiverServer((host, port), secret=secret, api_url=api_url, api_key=api_key,
                          state=state or ReceiverState())


def start_in_thread(server: ReceiverServer) -> threading.Thread:
    """Serves in a daemon thread; stop with ``server.shutdown(); server.server_close()``."""
    thread = threading.Thread(target=server.serve_forever, name="agency-receiver", daemon=True)
    thread.start()
    return thread


class _Handler(BaseHTTPRequestHandler):
    server: ReceiverServer
    server_version = "motcua-agency-receiver/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s " + format, self.address_string(), *args)

    # --- routing -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/health":
            self._json(HTTPStatus.OK, {"status": "ok"})
        elif path == "/":
            self._html(HTTPStatus.OK, render_page(self.server.state.tasks(), self.server.form_token))
        else:
            self._json(HTTPStatus.NOT_FOUND, _error("not_found", "Không tìm thấy / Not found"))

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == "/webhooks":
            self._webhook()
        elif path.startswith("/tasks/") and path.endswith("/decision"):
            self._decision(unquote(path[len("/tasks/") : -len("/decision")]))
        else:
            self.close_connection = True  # its body was not read
            self._json(HTTPStatus.NOT_FOUND, _error("not_found", "Không tìm thấy / Not found"))

    # --- POST /webhooks ----------------------------------------------------------------------

    def _webhook(self) -> None:
        body = self._body(MAX_WEBHOOK_BYTES)
        if body is None:
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            # Checks the signature against our secret and that webhook-timestamp is within
            # 5 minutes of our clock (a stale or future timestamp is a replay, or a broken clock).
            self.server.webhook.verify(body, headers, json_parse=False)
        except (WebhookVerificationError, ValueError) as error:
            # ValueError too: the library lets malformed signature headers and non-UTF-8 bodies
            # through as ValueError/UnicodeDecodeError instead of its own error.
            logger.warning("rejected webhook %r: %s", headers.get("webhook-id"), error)
            self._json(HTTPStatus.BAD_REQUEST, _error("invalid_signature", "Chữ ký không hợp lệ / Invalid signature"))
            return
        # Only a verified request may touch the dedup record: otherwise anyone could burn ids.
        webhook_id = headers["webhook-id"]
        try:
            event = json.loads(body)
            outcome = self.server.state.accept(webhook_id, event)
        except (ValueError, RecursionError) as error:
            message = f"Sự kiện không hợp lệ / Invalid event: {error}"
            self._json(HTTPStatus.BAD_REQUEST, _error("invalid_event", message))
            return
        if outcome == "conflict":
            self._json(HTTPStatus.CONFLICT, _error(
                "webhook_id_reused", "Mã webhook đã dùng cho sự kiện khác / webhook-id already used for another event"))
            return
        # Answer fast: a real receiver queues the work here and processes it after the 2xx.
        self._json(HTTPStatus.OK, {"status": outcome})

    # --- POST /tasks/{task_id}/decision ------------------------------------------------------

    def _decision(self, task_id: str) -> None:
        body = self._body(MAX_FORM_BYTES)
        if body is None:
            return
        form = {key: values[-1] for key, values in parse_qs(body.decode("utf-8", errors="replace")).items()}
        # As bytes: compare_digest refuses str with characters beyond ASCII (a 500, not a 403).
        if not hmac.compare_digest(form.get("form_token", "").encode("utf-8"), self.server.form_token.encode("utf-8")):
            self._html(HTTPStatus.FORBIDDEN, _message_page("Biểu mẫu đã hết hạn, hãy tải lại trang.",
                                                           "The form has expired; reload the page."))
            return
        task = self.server.state.task(task_id)
        if task is None:
            self._html(HTTPStatus.NOT_FOUND, _message_page("Không có nhiệm vụ này.", "No such task."))
            return
        if task.status == "cancelled":
            self._html(HTTPStatus.CONFLICT, _message_page("Nhiệm vụ đã bị hủy.", "This task was cancelled."))
            return
        if task.status == "decided":
            # Another tab's form: motcua would refuse it (409), and its answer would hide the decision made.
            self._html(HTTPStatus.CONFLICT, _message_page("Nhiệm vụ đã được quyết định.",
                                                          "This task was already decided."))
            return
        decision = form.get("decision", "")
        if decision not in {value for value, _, _ in task.decisions}:
            self._html(HTTPStatus.BAD_REQUEST, _message_page("Hãy chọn một quyết định.", "Choose a decision."))
            return
        answer = post_decision(self.server.api_url, self.server.api_key, task_id, decision,
                               form.get("note", "").strip())
        self.server.state.record_answer(task_id, answer)
        # Post/Redirect/Get: reloading the page must not send the decision again.
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", f"/#{_anchor(task_id)}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    # --- helpers -----------------------------------------------------------------------------

    def _body(self, limit: int) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._json(HTTPStatus.LENGTH_REQUIRED, _error("length_required", "Thiếu Content-Length / Length required"))
            return None
        if length < 0 or length > limit:
            self.close_connection = True  # the unread body would be taken for the next request
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _error("too_large", "Quá lớn / Too large"))
            return None
        return self.rfile.read(length)

    def _json(self, status: HTTPStatus, payload: Any) -> None:
        self._send(status, "application/json; charset=utf-8", json.dumps(payload, ensure_ascii=False).encode())

    def _html(self, status: HTTPStatus, page: str) -> None:
        self._send(status, "text/html; charset=utf-8", page.encode("utf-8"))

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
        self.end_headers()
        self.wfile.write(body)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


# --- the page ------------------------------------------------------------------------------------

_STATUS_LABELS: dict[str, tuple[str, str]] = {
    "open": ("Đang chờ quyết định", "Awaiting a decision"),
    "decided": ("Đã quyết định", "Decided"),
    "cancelled": ("Đã hủy", "Cancelled"),
}
_STEP_LABELS: dict[str, tuple[str, str]] = {
    "reception": ("Tiếp nhận hồ sơ", "Reception"),
    "processing": ("Xử lý hồ sơ", "Processing"),
}

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;line-height:1.5}
.en{color:#555}
article{border:1px solid #ccc;border-radius:.5rem;padding:1rem;margin:1rem 0}
article.cancelled{opacity:.6}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}
dt{font-weight:600}
label{display:block;margin-top:.5rem;font-weight:600}
select,textarea{width:100%;max-width:30rem;font:inherit}
button{margin-top:.75rem;font:inherit;padding:.25rem 1rem}
.answer{background:#f4f4f4;padding:.5rem;border-radius:.25rem}
.ok{border-left:4px solid #2a7}
.ko{border-left:4px solid #c33}
pre{white-space:pre-wrap;word-break:break-word}
"""


def _bi(vi: str, en: str) -> str:
    """Vietnamese first, English second, each marked with its language."""
    return f'{html.escape(vi)} <span class="en" lang="en">/ {html.escape(en)}</span>'


def _anchor(task_id: str) -> str:
    return "task-" + hashlib.sha256(task_id.encode("utf-8")).hexdigest()[:12]


def _document(title_vi: str, title_en: str, content: str) -> str:
    return (
        '<!doctype html>\n<html lang="vi">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title_vi)} / {html.escape(title_en)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<h1>{_bi(title_vi, title_en)}</h1>\n{content}\n</body>\n</html>\n"
    )


def _message_page(vi: str, en: str) -> str:
    return _document("Hệ thống tiếp nhận của cơ quan", "Agency receiver",
                     f'<p>{_bi(vi, en)}</p>\n<p><a href="/">{_bi("Quay lại danh sách", "Back to the list")}</a></p>')


def render_page(tasks: list[Task], form_token: str) -> str:
    if tasks:
        content = "\n".join(_render_task(task, form_token) for task in tasks)
    else:
        content = f"<p>{_bi('Chưa nhận được nhiệm vụ nào.', 'No tasks received yet.')}</p>"
    about = _bi("Nhiệm vụ do hệ thống một cửa điện tử gửi đến (webhook đã xác thực chữ ký).",
                "Tasks sent by the one-stop shop (signature-verified webhooks).")
    intro = f'<p>{about} <a href="/">{_bi("Tải lại", "Reload")}</a></p>'
    return _document("Nhiệm vụ của cơ quan", "Agency tasks", intro + "\n" + content)


def _render_task(task: Task, form_token: str) -> str:
    anchor = _anchor(task.task_id)
    status_vi, status_en = _STATUS_LABELS[task.status]
    step_vi, step_en = _STEP_LABELS[task.kind]
    rows = [
        (_bi("Mã hồ sơ", "Dossier code"), html.escape(task.dossier_code or "—")),
        (_bi("Mã nhiệm vụ", "Task id"), f"<code>{html.escape(task.task_id)}</code>"),
        (_bi("Bước", "Step"), _bi(step_vi, step_en)),
        (_bi("Hạn xử lý", "Due"), html.escape(str(task.due_at or "—"))),
        (_bi("Trạng thái", "Status"), _bi(status_vi, status_en)),
    ]
    parts = [
        f'<article id="{anchor}" class="{task.status}" data-task-id="{html.escape(task.task_id)}">',
        f"<h2>{html.escape(task.dossier_code or task.task_id)}</h2>",
        "<dl>" + "".join(f"<dt>{term}</dt><dd>{value}</dd>" for term, value in rows) + "</dl>",
    ]
    if task.dossier is not None:
        dossier = json.dumps(task.dossier, ensure_ascii=False, indent=2)
        summary = _bi("Hồ sơ", "Dossier")
        parts.append(f"<details><summary>{summary}</summary><pre>{html.escape(dossier)}</pre></details>")
    if task.answer is not None:
        parts.append(_render_answer(task.answer))
    if task.status == "open":  # decided or cancelled: nothing left to decide
        parts.append(_render_form(task, anchor, form_token))
    parts.append("</article>")
    return "\n".join(parts)


def _render_answer(answer: ApiAnswer) -> str:
    shown_status = f"HTTP {answer.status}" if answer.status is not None else _bi("không kết nối được", "unreachable")
    return (
        f'<section class="answer {"ok" if answer.ok else "ko"}" aria-live="polite">'
        f"<h3>{_bi('Trả lời của hệ thống', 'API answer')}</h3>"
        f"<p>{_bi('Quyết định', 'Decision')}: <code>{html.escape(answer.decision)}</code> — {shown_status}</p>"
        f"<pre>{html.escape(answer.body)}</pre></section>"
    )


def _render_form(task: Task, anchor: str, form_token: str) -> str:
    options = "".join(
        f'<option value="{html.escape(value)}">{html.escape(vi)} / {html.escape(en)}</option>'
        for value, vi, en in task.decisions
    )
    action = f"/tasks/{quote(task.task_id, safe='')}/decision"
    note_label = _bi("Ghi chú (lý do, giấy tờ cần bổ sung…)", "Note (reason, missing documents…)")
    return (
        f'<form method="post" action="{html.escape(action)}">'
        f'<input type="hidden" name="form_token" value="{html.escape(form_token)}">'
        f'<label for="{anchor}-decision">{_bi("Quyết định", "Decision")}</label>'
        f'<select id="{anchor}-decision" name="decision" required>{options}</select>'
        f'<label for="{anchor}-note">{note_label}</label>'
        f'<textarea id="{anchor}-note" name="note" rows="3"></textarea>'
        f'<button type="submit">{_bi("Gửi quyết định", "Send the decision")}</button>'
        "</form>"
    )
