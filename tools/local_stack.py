"""Run the whole motcua stack on this machine: moto, ``chalice local`` and the web front.

    python -m tools.local_stack run [--province lamdong] [--stage local] [--host 127.0.0.1]
        [--aws-port 5100] [--api-port 8000] [--web-port 8080] [--stripe-port 8420] [--state-dir .local]

A port of 0 picks a free port (tests use that).

Stages and provinces. Any province of ``infra/provinces/`` runs on the same local stack, and a
stage of ``.chalice/config.json`` is only asked for *which province* it serves: locally, every
stage runs with the ``local`` stage's settings. The app's environment is computed here, once:

- the config's global ``environment_variables`` and the ``local`` stage's (log level, limits…);
- the province: ``MOTCUA_PROVINCE`` = ``--province``, ``MOTCUA_PROVINCE_NAME`` from the chosen
  stage when that stage is the province's, else the ``name`` of the province's ``province.json``;
- every resource setting (table, buckets, Cognito, queues, state machine, SES sender) from the
  resources this stack created for the province (``motcua-<province>…``), and the local URLs
  and keys (localstripe, the web front's tracker).

``chalice local --stage <stage>`` then runs with exactly that environment: its launcher tells
Chalice to apply no stage ``environment_variables`` of its own, so what a deployment stage holds
for AWS only (memory, tags, resource names, real URLs) never reaches the local API. The in-process
loader and queue pump see the same environment. Choosing:

- nothing: ``--stage local --province lamdong`` (the ``local`` stage's ``MOTCUA_PROVINCE``);
- ``--stage hanoi`` (a deployment stage): its ``MOTCUA_PROVINCE``, ``hanoi``; a ``--province``
  that differs from it is refused;
- ``--province hanoi`` alone, or with ``--stage local``: the ``local`` stage serving Hà Nội.

Only ``--stage local`` with the ``local`` stage's own province checks that the stage's resource
names (``MOTCUA_TABLE_NAME``…) match the template, so that ``chalice local --stage local`` run by
hand against the stack's moto keeps working.

The stack:

1. refuses to start if another instance holds ``<state-dir>/run.pid`` or one of the ports;
2. starts a moto server in this process (Step Functions execution switched on);
3. creates the resources of ``infra/template.json`` on it (``tools/aws_resources.py``);
4. loads the province's catalogue (``chalicelib.services.catalogue.load_province``) and issues
   each agency an API key (``chalicelib.services.agency_auth.issue_key``, label "local demo");
5. creates a demo citizen in the Cognito pool;
   starts localstripe (a fake Stripe, PyPI) in its own process group, points the app at it
   (``MOTCUA_STRIPE_*``) and waits until it answers;
6. starts ``chalice local`` in its own process group and waits until it answers, then
   registers ``<api>/webhooks/stripe`` as localstripe's webhook endpoint;
7. serves ``web/`` (plus ``/env.js`` pointing at the API, and the Stripe.js shim below);
8. writes ``<state-dir>/stack.json`` for scripts and tests, and waits.

Card payments in the browser (local only): ``GET /config``'s ``stripe.js_url`` points at the web
server's ``/_local/stripe.js``, not at localstripe's ``/js.stripe.com/v3/``. localstripe's fake
Stripe.js cannot confirm a card PaymentIntent with a publishable key (its ``confirmCardPayment``
ignores the card and only calls ``/_authenticate``; its API refuses a ``pk_`` key for attaching a
payment method). The shim (``tools/stripe_shim.py``) is localstripe's script plus a
``confirmCardPayment`` that posts the card to the web server's ``/_local/stripe/confirm``, which
does with the local secret key what Stripe's servers do: check the client secret, create the card
PaymentMethod, set it on the intent, confirm. localstripe then sends its signed webhook to the
API. Stages other than local set ``MOTCUA_STRIPE_JS_URL`` to the real Stripe.js (or leave it unset).

Ctrl-C or SIGTERM stops everything it started and removes ``run.pid`` and ``stack.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

import requests

from tools import stripe_shim
from tools.aws_resources import TemplateError, create_resources

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PATH = PROJECT_ROOT / "infra" / "template.json"
CHALICE_CONFIG_PATH = PROJECT_ROOT / ".chalice" / "config.json"
PROVINCES_DIR = PROJECT_ROOT / "infra" / "provinces"
WEB_DIR = PROJECT_ROOT / "web"

REGION = "ap-southeast-1"
ACCOUNT_ID = "123456789012"  # moto's default account; the stage's bucket names carry it

DEMO_CITIZEN_EMAIL = "demo.citizen@example.vn"
DEMO_CITIZEN_NAME = "Nguyễn Văn An"
DEMO_CITIZEN_PASSWORD = "DemoCitizen2026!"

DEMO_API_KEY_LABEL = "local demo"

LOCAL_STAGE = "local"  # the stage whose settings every stage runs with locally
PROVINCE_VARIABLES = ("MOTCUA_PROVINCE", "MOTCUA_PROVINCE_NAME")

PID_FILE = "run.pid"
STACK_FILE = "stack.json"

API_READY_TIMEOUT = 60.0
STRIPE_READY_TIMEOUT = 30.0

# localstripe accepts any sk_/pk_ key; these are the local stack's.
LOCAL_STRIPE_SECRET_KEY = "sk_test_motcua"
LOCAL_STRIPE_PUBLISHABLE_KEY = "pk_test_motcua"
LOCAL_STRIPE_WEBHOOK_NAME = "motcua"
CHILD_STOP_TIMEOUT = 10.0

# template Output -> stage environment variable that must hold the same value
_OUTPUT_TO_STAGE_VARIABLE = {
    "TableName": "MOTCUA_TABLE_NAME",
    "UploadsBucketName": "MOTCUA_UPLOADS_BUCKET",
    "DocumentsBucketName": "MOTCUA_DOCUMENTS_BUCKET",
}
# template Outputs the stack reads at run time (moto makes up their values)
_RUNTIME_OUTPUTS = ("CitizenUserPoolId", "CitizenUserPoolClientId", "RouteStateMachineArn", "TaskQueueUrl",
                    "WebhookQueueUrl", "WebhookDeadLetterQueueUrl", "NotifyFromEmail", "TableStreamArn",
                    "UploadEventsQueueUrl")

# Runs `chalice local` in the child; on Linux the child gets SIGTERM if this process dies
# without cleaning up (e.g. SIGKILL), so no orphaned API server keeps the port.
_CHALICE_LAUNCHER = """\
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
except (AttributeError, OSError):
    pass
if os.getppid() != int(sys.argv[1]):
    sys.exit("motcua local stack: parent exited before chalice local started")
import chalice.config
# The local stack computed the app's whole environment: the stage's environment_variables in
# .chalice/config.json (AWS values for a deployment stage) must not override it.
chalice.config.Config.environment_variables = property(lambda self: {})
import chalice.local
# The handler writes headers and body in two sends: with Nagle's algorithm on, a kept-alive
# client's delayed ACK holds every small answer back about 40 ms.
chalice.local.ChaliceRequestHandler.disable_nagle_algorithm = True
# The standard library's listen backlog of 5 resets a burst of new connections (a page's
# parallel requests, a load test) instead of queueing them.
chalice.local.ThreadedHTTPServer.request_queue_size = 128
from chalice.cli import main
sys.argv = ["chalice", *sys.argv[2:]]
sys.exit(main())
"""

log = logging.getLogger("motcua.local_stack")


class StackError(RuntimeError):
    """The stack cannot start: the message says why and what to do."""


class AlreadyRunning(StackError):
    pass


class _Stop(BaseException):
    """Raised by the signal handlers to unwind into the cleanup."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signum)


# -- small helpers ----------------------------------------------------------------------------


def _url_host(host: str) -> str:
    """The host clients should use: a wildcard bind is reached through the loopback address."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise StackError(f"cannot bind {host}:{port}: {error}") from error
    return True


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _describe_running(stack: dict[str, Any] | None) -> str:
    if not stack:
        return "still starting"
    return (f"API {stack.get('api_url')}, web {stack.get('web_url')}, "
            f"AWS (moto) {stack.get('aws_endpoint')}")


# -- single instance --------------------------------------------------------------------------


def _claim_pid_file(state_dir: Path) -> Path:
    """Create ``run.pid`` atomically, or raise AlreadyRunning if a live instance holds it."""
    pid_path = state_dir / PID_FILE
    for _ in range(3):
        try:
            fd = os.open(pid_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                other = int(pid_path.read_text(encoding="utf-8").strip() or "0")
            except (OSError, ValueError):
                other = 0
            if other and other != os.getpid() and _pid_alive(other):
                raise AlreadyRunning(
                    f"motcua local stack is already running (pid {other}): "
                    f"{_describe_running(_read_json(state_dir / STACK_FILE))}. "
                    "Stop it with Ctrl-C in its terminal."
                ) from None
            log.info("removing stale pid file %s (pid %s is not running)", pid_path, other or "?")
            for stale in (pid_path, state_dir / STACK_FILE):
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        return pid_path
    raise StackError(f"could not create {pid_path}: another instance keeps recreating it")


def _check_ports(host: str, ports: dict[str, int]) -> None:
    taken = [(name, port) for name, port in ports.items() if port and not _port_is_free(host, port)]
    if not taken:
        return
    names = ", ".join(f"{port} ({name})" for name, port in taken)
    web_port = ports.get("web", 0)
    other_api = _probe_motcua_web(host, web_port) if web_port else None
    if other_api is not None:
        raise AlreadyRunning(
            f"motcua local stack is already running: API {other_api}, web "
            f"http://{_url_host(host)}:{web_port} (ports in use: {names}). "
            "Stop it with Ctrl-C in its terminal."
        )
    raise AlreadyRunning(
        f"{'port' if len(taken) == 1 else 'ports'} {names} on {host} already in use: "
        "is the motcua local stack already running "
        "(with another --state-dir)? Stop it with Ctrl-C in its terminal, or choose other ports "
        "with --aws-port/--api-port/--web-port/--stripe-port (0 picks a free one)."
    )


def _probe_motcua_web(host: str, port: int) -> str | None:
    """If a motcua web server answers on the port, the API URL it advertises."""
    try:
        response = requests.get(f"http://{_url_host(host)}:{port}/env.js", timeout=2)
    except requests.RequestException:
        return None
    match = re.search(r'window\.MOTCUA\s*=\s*\{\s*apiUrl:\s*"([^"]*)"', response.text)
    return match.group(1) if match else None


# -- configuration ----------------------------------------------------------------------------


def stage_environment(stage: str, config_path: Path = CHALICE_CONFIG_PATH) -> dict[str, str]:
    """The environment variables ``chalice local --stage <stage>`` gives the app."""
    config = _read_json(config_path)
    if config is None:
        raise StackError(f"cannot read {config_path}")
    stages = config.get("stages") or {}
    if stage not in stages:
        raise StackError(f"stage {stage!r} is not in {config_path} (stages: {', '.join(stages) or 'none'})")
    env: dict[str, str] = {}
    env.update({k: str(v) for k, v in (config.get("environment_variables") or {}).items()})
    env.update({k: str(v) for k, v in (stages[stage].get("environment_variables") or {}).items()})
    return env


def resolve_stage_and_province(stage: str | None, province: str | None,
                               config_path: Path = CHALICE_CONFIG_PATH) -> tuple[str, str]:
    """The stage and the province a run serves (see the module docstring): a deployment stage
    names its province; the ``local`` stage serves any."""
    stage = stage or LOCAL_STAGE
    stage_province = stage_environment(stage, config_path).get("MOTCUA_PROVINCE") or None
    if province is None:
        if stage_province is None:
            raise StackError(f"stage {stage!r} in {config_path} sets no MOTCUA_PROVINCE: pass --province")
        return stage, stage_province
    if stage != LOCAL_STAGE and stage_province != province:
        raise StackError(f"stage {stage!r} is for province {stage_province!r}, not {province!r}: pass the "
                         f"matching --stage, or --stage {LOCAL_STAGE} to run {province!r} with local settings")
    return stage, province


def read_province(province_dir: Path) -> dict[str, Any]:
    """``province.json`` (its code and name; the catalogue parser checks the rest when loading)."""
    path = province_dir / "province.json"
    data = _read_json(path)
    if data is None:
        raise StackError(f"{path} is missing or not a JSON object")
    if data.get("code") != province_dir.name:
        raise StackError(f"{path}: code {data.get('code')!r} is not the folder's name {province_dir.name!r}")
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        raise StackError(f"{path}: the province needs a name")
    return data


def app_environment(stage: str, province: str, province_name: str,
                    config_path: Path = CHALICE_CONFIG_PATH) -> dict[str, str]:
    """The app's settings before the resources exist: the ``local`` stage's, for the province.

    The named stage only lends the province's display name, when it is that province's stage.
    Resource settings are added by the stack once it has created them."""
    env = stage_environment(LOCAL_STAGE, config_path)
    if stage != LOCAL_STAGE or env.get("MOTCUA_PROVINCE") != province:
        for variable in _OUTPUT_TO_STAGE_VARIABLE.values():
            env.pop(variable, None)  # the local stage's names are its own province's
    named = stage_environment(stage, config_path)
    name = named.get("MOTCUA_PROVINCE_NAME") if named.get("MOTCUA_PROVINCE") == province else None
    env["MOTCUA_PROVINCE"] = province
    env["MOTCUA_PROVINCE_NAME"] = name or province_name
    return env


def read_agencies(province_dir: Path) -> list[dict[str, Any]]:
    """``stack.json``'s agencies, from ``infra/provinces/<province>/agencies.json``."""
    path = province_dir / "agencies.json"
    data: Any
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackError(f"{path} is missing: the province has no agencies") from None
    except ValueError as error:
        raise StackError(f"{path} is not valid JSON: {error}") from error
    if isinstance(data, dict):
        data = data.get("agencies")
    if not isinstance(data, list):
        raise StackError(f"{path}: expected a list of agencies (or {{\"agencies\": [...]}})")
    agencies = []
    for item in data:
        if not isinstance(item, dict) or "code" not in item or "name" not in item:
            raise StackError(f"{path}: every agency needs a code and a name, got {item!r}")
        # The API key is issued once the province is loaded; webhook receivers arrive later.
        agencies.append({"code": str(item["code"]), "name": str(item["name"]),
                         "api_key": None, "webhook_url": None})
    return agencies


def _stop_process_group(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL, to a child started in its own session (group id = its pid)."""
    if process is None or process.poll() is not None:
        return
    for sig, timeout in ((signal.SIGTERM, CHILD_STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
            return
        except subprocess.TimeoutExpired:
            continue


# -- the stack --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalStripe:
    """What the web server's Stripe.js shim needs (``tools/stripe_shim.py``)."""

    api_base: str
    secret_key: str


def _make_web_handler(web_dir: Path, api_url: str,
                      stripe: LocalStripe | None = None) -> type[SimpleHTTPRequestHandler]:
    env_js = f"window.MOTCUA = {{apiUrl: {json.dumps(api_url)}}};\n".encode()
    scripts = {"/env.js": env_js}
    if stripe is not None:
        try:
            scripts[stripe_shim.SHIM_PATH] = stripe_shim.build_shim(stripe.api_base)
        except (OSError, RuntimeError) as error:
            raise StackError(f"cannot build the local Stripe.js shim: {error}") from error

    class WebHandler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(web_dir), **kwargs)

        def _send(self, status: int, content_type: str, body: bytes, with_body: bool = True) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def _script(self) -> bytes | None:
            return scripts.get(self.path.split("?", 1)[0])

        def do_GET(self) -> None:
            script = self._script()
            if script is not None:
                self._send(200, "application/javascript; charset=utf-8", script)
            else:
                super().do_GET()

        def do_HEAD(self) -> None:
            script = self._script()
            if script is not None:
                self._send(200, "application/javascript; charset=utf-8", script, with_body=False)
            else:
                super().do_HEAD()

        def do_POST(self) -> None:
            if stripe is None or self.path.split("?", 1)[0] != stripe_shim.CONFIRM_PATH:
                self.send_error(405, "Method Not Allowed")
                return
            status, answer = self._confirm_card_payment(stripe)
            # 200 with {"error"} for a refused payment: the shim reads the body, and a declined
            # card is not a failed request in the page's console (browser tests fail on those).
            self._send(200 if status < 500 else status, "application/json", json.dumps(answer).encode())

        def _confirm_card_payment(self, stripe: LocalStripe) -> tuple[int, dict[str, Any]]:
            try:
                length = int(self.headers.get("Content-Length") or "0")
            except ValueError:
                length = -1
            if not 0 < length <= stripe_shim.MAX_CONFIRM_BODY:
                return 400, {"error": {"type": "invalid_request_error", "message": "Expected a small JSON body."}}
            try:
                payload = json.loads(self.rfile.read(length))
            except ValueError:
                return 400, {"error": {"type": "invalid_request_error", "message": "The body is not JSON."}}
            try:
                return stripe_shim.confirm_card_payment(stripe.api_base, stripe.secret_key, payload)
            except requests.RequestException as error:
                log.warning("local Stripe.js shim: localstripe failed: %s", error)
                return 502, {"error": {"type": "api_connection_error", "message": "localstripe did not answer."}}

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("web: " + format, *args)

    WebHandler.extensions_map = {**SimpleHTTPRequestHandler.extensions_map,
                                 ".js": "application/javascript; charset=utf-8",
                                 ".html": "text/html; charset=utf-8",
                                 ".css": "text/css; charset=utf-8",
                                 ".json": "application/json"}
    return WebHandler


@dataclass
class LocalStack:
    province: str
    stage: str
    host: str
    aws_port: int
    api_port: int
    web_port: int
    state_dir: Path
    stripe_port: int = 8420

    aws_endpoint: str = ""
    api_url: str = ""
    web_url: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    _moto: Any = None
    _api: subprocess.Popen[bytes] | None = None
    _stripe: subprocess.Popen[bytes] | None = None
    stripe_api_base: str = ""
    stripe_webhook_secret: str = ""
    _web: ThreadingHTTPServer | None = None
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    # -- start ----------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        self.stage, self.province = resolve_stage_and_province(self.stage, self.province)
        province_dir = PROVINCES_DIR / self.province
        if not province_dir.is_dir():
            known = sorted(p.name for p in PROVINCES_DIR.glob("*") if p.is_dir())
            raise StackError(f"no province {self.province!r} in {PROVINCES_DIR} (known: {', '.join(known)})")
        province_data = read_province(province_dir)
        stage_env = app_environment(self.stage, self.province, str(province_data["name"]))
        agencies = read_agencies(province_dir)

        self._start_moto()
        self._set_aws_environment()
        try:
            self.outputs = create_resources(TEMPLATE_PATH, province=self.province,
                                            endpoint_url=self.aws_endpoint, region=REGION,
                                            account_id=ACCOUNT_ID)
        except TemplateError as error:
            raise StackError(f"{TEMPLATE_PATH}: {error}") from error
        if self._serves_local_stage_province():
            self._check_stage_matches_template(stage_environment(LOCAL_STAGE))
        # Resource names are the ones just created, whatever the stage holds for AWS.
        stage_env.update({variable: self.outputs[output] for output, variable in _OUTPUT_TO_STAGE_VARIABLE.items()
                          if output in self.outputs})
        self._check_outputs_present()

        pool_id = self.outputs["CitizenUserPoolId"]
        client_id = self.outputs["CitizenUserPoolClientId"]
        # Names and URLs moto makes up at run time; the stage config cannot hold them.
        runtime_env = {
            "MOTCUA_COGNITO_USER_POOL_ID": pool_id,
            "MOTCUA_COGNITO_CLIENT_ID": client_id,
            "MOTCUA_COGNITO_ENDPOINT": self.aws_endpoint,
            "MOTCUA_ROUTE_STATE_MACHINE_ARN": self.outputs["RouteStateMachineArn"],
            "MOTCUA_TASK_QUEUE_URL": self.outputs["TaskQueueUrl"],
            "MOTCUA_WEBHOOK_QUEUE_URL": self.outputs["WebhookQueueUrl"],
            "MOTCUA_WEBHOOK_DLQ_URL": self.outputs["WebhookDeadLetterQueueUrl"],
            # Citizens' email and SMS land in moto (its SES and SNS backends) locally.
            "MOTCUA_NOTIFY_FROM_EMAIL": self.outputs["NotifyFromEmail"],
            "MOTCUA_NOTIFY_SMS": "on",
            # QR codes on the PDFs and links in notifications open the web front's tracker.
            "MOTCUA_PUBLIC_TRACK_URL": f"{self._planned_web_url()}/track.html?code={{code}}",
        }
        self._start_stripe()
        runtime_env.update({
            "MOTCUA_STRIPE_SECRET_KEY": LOCAL_STRIPE_SECRET_KEY,
            "MOTCUA_STRIPE_PUBLISHABLE_KEY": LOCAL_STRIPE_PUBLISHABLE_KEY,
            "MOTCUA_STRIPE_API_BASE": self.stripe_api_base,
            # localstripe's own Stripe.js cannot confirm card payments: see the module docstring.
            "MOTCUA_STRIPE_JS_URL": f"{self._planned_web_url()}{stripe_shim.SHIM_PATH}",
            "MOTCUA_STRIPE_WEBHOOK_SECRET": self.stripe_webhook_secret,
        })
        # The app's settings come from the environment, in this process (catalogue loading,
        # the queue pump) as in the API's (chalice local inherits it in _start_api).
        os.environ.update(stage_env)
        os.environ.update(runtime_env)

        self._load_province(province_dir)
        self._issue_agency_keys(agencies)
        self._create_demo_citizen(pool_id)
        self._start_api()
        self._register_stripe_webhook()
        self._start_agency_receivers(agencies)
        self._start_pump()
        self._start_web()

        return {
            "api_url": self.api_url,
            "web_url": self.web_url,
            "aws_endpoint": self.aws_endpoint,
            "region": REGION,
            "stripe_api_base": self.stripe_api_base,
            "cognito": {"user_pool_id": pool_id, "client_id": client_id},
            "demo_citizen": {"username": DEMO_CITIZEN_EMAIL, "password": DEMO_CITIZEN_PASSWORD},
            "agencies": agencies,
        }

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer

        from tools.moto_patches import apply_post_tagging, cache_asl_parses, serialize_dynamodb

        serialize_dynamodb()  # the server answers on many threads; DynamoDB must not interleave
        apply_post_tagging()  # uploads carry their motcua-attached tag as in S3
        cache_asl_parses()  # one ANTLR parse per definition, not two per execution

        if self.aws_port == 0:
            self.aws_port = _free_port(self.host)
        # Step Functions service tasks call back into moto on MOTO_PORT (default 5000).
        os.environ["MOTO_PORT"] = str(self.aws_port)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call otherwise
        server = ThreadedMotoServer(ip_address=self.host, port=self.aws_port, verbose=False)
        # start() waits forever if the server thread fails to bind: bound it.
        starter = threading.Thread(target=server.start, name="moto-start", daemon=True)
        starter.start()
        starter.join(timeout=15)
        if starter.is_alive():
            raise StackError(f"the moto server did not start on {self.host}:{self.aws_port} "
                             "(port taken meanwhile?)")
        self._moto = server
        self._cleanups.append(server.stop)
        self.aws_endpoint = f"http://{_url_host(self.host)}:{self.aws_port}"

        response = requests.post(f"{self.aws_endpoint}/moto-api/config",
                                 json={"stepfunctions": {"execute_state_machine": True}}, timeout=10)
        if response.status_code >= 300:
            raise StackError(f"moto refused its configuration: {response.status_code} {response.text}")

    def _set_aws_environment(self) -> None:
        os.environ.update({
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        })
        for variable in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE"):
            os.environ.pop(variable, None)

    def _serves_local_stage_province(self) -> bool:
        return self.stage == LOCAL_STAGE and stage_environment(LOCAL_STAGE).get("MOTCUA_PROVINCE") == self.province

    def _check_stage_matches_template(self, stage_env: dict[str, str]) -> None:
        """The ``local`` stage names its province's resources: they must be the template's."""
        mismatches = []
        for output, variable in _OUTPUT_TO_STAGE_VARIABLE.items():
            if output in self.outputs and stage_env.get(variable) != self.outputs[output]:
                mismatches.append(f"{variable}={stage_env.get(variable)!r} but the template's {output} "
                                  f"is {self.outputs[output]!r}")
        if mismatches:
            raise StackError(f"{CHALICE_CONFIG_PATH} stage {self.stage!r} does not match {TEMPLATE_PATH}: "
                             + "; ".join(mismatches))

    def _check_outputs_present(self) -> None:
        missing = [output for output in (*_OUTPUT_TO_STAGE_VARIABLE, *_RUNTIME_OUTPUTS)
                   if output not in self.outputs]
        if missing:
            raise StackError(f"{TEMPLATE_PATH} has no output {', '.join(missing)}: the local stack needs it")

    def _load_province(self, province_dir: Path) -> None:
        from chalicelib.domain.catalogue import CatalogueError
        from chalicelib.services.catalogue import load_province

        try:
            load_province(province_dir)
        except CatalogueError as error:
            raise StackError(f"the province data in {province_dir} is invalid: {error}") from error

    def _issue_agency_keys(self, agencies: list[dict[str, Any]]) -> None:
        """One API key per agency of the province, written into ``stack.json`` (this stack's only copy)."""
        from chalicelib.domain.errors import InvalidInput
        from chalicelib.services.agency_auth import issue_key

        for agency in agencies:
            try:
                agency["api_key"] = issue_key(agency["code"], DEMO_API_KEY_LABEL)
            except InvalidInput as error:
                raise StackError(f"cannot issue an API key to agency {agency['code']}: {error.message}") from error

    def _start_agency_receivers(self, agencies: list[dict[str, Any]]) -> None:
        """One sample receiver per demo agency (examples/agency_receiver), each with its own
        signing secret, registered as the agency's webhook endpoint: the secret in moto's Secrets
        Manager (``motcua/<province>/webhooks/<code>``), as ``agency webhook set-url`` does in AWS."""
        from chalicelib.integrations.webhooks import new_secret
        from chalicelib.services.webhooks import create_endpoint
        from examples.agency_receiver import create_server, start_in_thread

        servers: list[Any] = []

        def stop_receivers() -> None:
            # All at once: each shutdown() waits up to half a second for its serve_forever loop.
            stoppers = [threading.Thread(target=server.shutdown, daemon=True) for server in servers]
            for stopper in stoppers:
                stopper.start()
            for stopper in stoppers:
                stopper.join(timeout=CHILD_STOP_TIMEOUT)
            for server in servers:
                server.server_close()

        self._cleanups.append(stop_receivers)
        for agency in agencies:
            secret = new_secret()
            server = create_server(secret=secret, api_url=self.api_url, api_key=agency["api_key"], host=self.host)
            start_in_thread(server)
            servers.append(server)
            create_endpoint(agency["code"], server.webhook_url, secret=secret)
            agency["webhook_url"] = server.webhook_url

    def _start_pump(self) -> None:
        """Does locally what SQS and DynamoDB Streams event sources do in AWS: hands each queued
        message, and each record of the table's stream (citizens' notifications, attached
        uploads' tags), to the same function the Lambda handler calls; and sends the task queue the
        overdue sweep's message as the stack's schedule does."""
        from tools.queue_pump import QueuePump
        from tools.schedule import Schedule
        from tools.stream_pump import StreamPump

        stream_pump = StreamPump(region=REGION, stream_arn=self.outputs["TableStreamArn"])
        stream_pump.start()
        self._cleanups.append(stream_pump.stop)

        pump = QueuePump(region=REGION, queues={
            self.outputs["TaskQueueUrl"]: "chalicelib.services.routing:handle_task_message",
            self.outputs["WebhookQueueUrl"]: "chalicelib.services.webhooks:handle_webhook_message",
            # S3's ObjectCreated events for uploads (the bucket's notification, created from the template).
            self.outputs["UploadEventsQueueUrl"]: "chalicelib.services.uploads:handle_storage_event",
        })
        pump.start()
        self._cleanups.append(pump.stop)
        # What the stack's EventBridge rule does in AWS (every 5 minutes there; every minute here).
        schedule = Schedule(region=REGION, queue_url=self.outputs["TaskQueueUrl"], interval=60.0)
        schedule.start()
        self._cleanups.append(schedule.stop)

    def _create_demo_citizen(self, pool_id: str) -> None:
        import boto3

        from tools.citizens import create_confirmed_citizen

        cognito = boto3.client("cognito-idp", region_name=REGION, endpoint_url=self.aws_endpoint)
        create_confirmed_citizen(cognito, pool_id, DEMO_CITIZEN_EMAIL, DEMO_CITIZEN_PASSWORD, name=DEMO_CITIZEN_NAME,
                                 exist_ok=True)

    def _start_api(self) -> None:
        if self.api_port == 0:
            self.api_port = _free_port(self.host)
        if not (PROJECT_ROOT / "app.py").is_file():
            raise StackError(f"{PROJECT_ROOT / 'app.py'} is missing: chalice local has no app to serve")
        command = [sys.executable, "-c", _CHALICE_LAUNCHER, str(os.getpid()),
                   "local", "--stage", self.stage, "--host", self.host, "--port", str(self.api_port),
                   "--no-autoreload"]
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        self._api = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, start_new_session=True)
        self._cleanups.append(self._stop_api)
        self.api_url = f"http://{_url_host(self.host)}:{self.api_port}"

        deadline = time.monotonic() + API_READY_TIMEOUT
        while True:
            status = self._api.poll()
            if status is not None:
                raise StackError(f"chalice local exited with status {status} before answering "
                                 "(see its output above)")
            try:
                requests.get(f"{self.api_url}/config", timeout=2)
                return  # any HTTP answer means the server is up
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"chalice local did not answer on {self.api_url} "
                                 f"within {API_READY_TIMEOUT:.0f} s")
            time.sleep(0.2)

    def _start_stripe(self) -> None:
        """localstripe in its own process group (it is an aiohttp app with a console script)."""
        import secrets
        import shutil

        binary = Path(sys.executable).parent / "localstripe"
        if not binary.exists():
            found = shutil.which("localstripe")
            if found is None:
                raise StackError("localstripe is not installed: run `make install` (requirements-dev.txt)")
            binary = Path(found)
        if self.stripe_port == 0:
            self.stripe_port = _free_port(self.host)
        # localstripe always listens on every interface ("::") and keeps its data in
        # /tmp/localstripe.pickle: --from-scratch makes each run start empty.
        command = [str(binary), "--port", str(self.stripe_port), "--from-scratch"]
        self._stripe = subprocess.Popen(command, cwd=self.state_dir, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        self._cleanups.append(self._stop_stripe)
        self.stripe_api_base = f"http://{_url_host(self.host)}:{self.stripe_port}"
        self.stripe_webhook_secret = f"whsec_{secrets.token_hex(24)}"
        deadline = time.monotonic() + STRIPE_READY_TIMEOUT
        while True:
            status = self._stripe.poll()
            if status is not None:
                raise StackError(f"localstripe exited with status {status} (port {self.stripe_port} taken?)")
            try:
                requests.get(f"{self.stripe_api_base}/js.stripe.com/v3/", timeout=2)
                return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"localstripe did not answer on {self.stripe_api_base} "
                                 f"within {STRIPE_READY_TIMEOUT:.0f} s")
            time.sleep(0.2)

    def _register_stripe_webhook(self) -> None:
        """localstripe signs its events with the secret and posts them to the API."""
        try:
            response = requests.post(f"{self.stripe_api_base}/_config/webhooks/{LOCAL_STRIPE_WEBHOOK_NAME}",
                                     data={"url": f"{self.api_url}/webhooks/stripe",
                                           "secret": self.stripe_webhook_secret}, timeout=10)
        except requests.RequestException as error:
            raise StackError(f"cannot register the webhook with localstripe: {error}") from error
        if response.status_code != 200:
            raise StackError(f"localstripe refused the webhook endpoint: {response.status_code} {response.text}")

    def _stop_stripe(self) -> None:
        _stop_process_group(self._stripe)

    def _stop_api(self) -> None:
        _stop_process_group(self._api)

    def _planned_web_url(self) -> str:
        """The web front's URL, known before it starts (the API must know it when it starts)."""
        if self.web_port == 0:
            self.web_port = _free_port(self.host)
        return f"http://{_url_host(self.host)}:{self.web_port}"

    def _start_web(self) -> None:
        if not WEB_DIR.is_dir():
            raise StackError(f"{WEB_DIR} is missing")
        handler = _make_web_handler(WEB_DIR, self.api_url,
                                    LocalStripe(api_base=self.stripe_api_base, secret_key=LOCAL_STRIPE_SECRET_KEY))
        try:
            server = ThreadingHTTPServer((self.host, self.web_port), handler)
        except OSError as error:
            raise StackError(f"cannot serve the web front on {self.host}:{self.web_port}: {error}") from error
        server.daemon_threads = True
        self.web_port = int(server.server_address[1])
        thread = threading.Thread(target=server.serve_forever, name="web", daemon=True)
        thread.start()
        self._web = server

        def stop_web() -> None:
            server.shutdown()
            server.server_close()

        self._cleanups.append(stop_web)
        self.web_url = f"http://{_url_host(self.host)}:{self.web_port}"

    # -- run --------------------------------------------------------------------------------

    def watch(self) -> None:
        """Block until a signal arrives; fail if the API process dies."""
        while True:
            if self._api is not None and self._api.poll() is not None:
                raise StackError(f"chalice local exited with status {self._api.returncode}; stopping")
            time.sleep(0.5)

    def stop(self) -> None:
        while self._cleanups:
            cleanup = self._cleanups.pop()
            try:
                cleanup()
            except Exception as error:  # keep stopping the rest
                log.warning("error while stopping: %s", error)


def run(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir).resolve()
    try:
        args.stage, args.province = resolve_stage_and_province(args.stage, args.province)
    except StackError as error:
        print(f"motcua local stack: {error}", file=sys.stderr)
        return 1
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        pid_path = _claim_pid_file(state_dir)
    except AlreadyRunning as error:
        print(error, file=sys.stderr)
        return 1
    stack_path = state_dir / STACK_FILE

    stack = LocalStack(province=args.province, stage=args.stage, host=args.host, aws_port=args.aws_port,
                       api_port=args.api_port, web_port=args.web_port, state_dir=state_dir,
                       stripe_port=args.stripe_port)
    previous: dict[signal.Signals, Any] = {}
    status = 0
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, _raise_stop)
        _check_ports(args.host, {"aws": args.aws_port, "api": args.api_port, "web": args.web_port,
                                 "stripe": args.stripe_port})
        print(f"motcua local stack: starting province {args.province}, stage {args.stage}…", flush=True)
        info = stack.start()
        _write_json_atomically(stack_path, info)
        _print_banner(info, stack_path, args)
        stack.watch()
    except _Stop:
        print("\nmotcua local stack: stopping…", flush=True)
    except AlreadyRunning as error:
        print(error, file=sys.stderr, flush=True)
        status = 1
    except StackError as error:
        print(f"motcua local stack: {error}", file=sys.stderr, flush=True)
        status = 1
    finally:
        # A second Ctrl-C must not interrupt the cleanup half-way.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        stack.stop()
        with contextlib.suppress(FileNotFoundError):
            stack_path.unlink()
        with contextlib.suppress(OSError, ValueError):
            if int(pid_path.read_text(encoding="utf-8").strip()) == os.getpid():
                pid_path.unlink()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if status == 0:
        print("motcua local stack: stopped.", flush=True)
    return status


def _print_banner(info: dict[str, Any], stack_path: Path, args: argparse.Namespace) -> None:
    try:
        shown_path = stack_path.relative_to(Path.cwd())
    except ValueError:
        shown_path = stack_path
    lines = [
        "",
        f"motcua local stack is running (province {args.province}, stage {args.stage}, pid {os.getpid()})",
        f"  Web front     {info['web_url']}",
        f"  API           {info['api_url']}",
        f"  AWS (moto)    {info['aws_endpoint']}  region {info['region']}",
        f"  Stripe        {info['stripe_api_base']} (localstripe; test card 4242 4242 4242 4242)",
        f"  Cognito       pool {info['cognito']['user_pool_id']}  client {info['cognito']['client_id']}",
        f"  Demo citizen  {info['demo_citizen']['username']} / {info['demo_citizen']['password']}",
        f"  Agencies      {len(info['agencies'])}",
        f"  State         {shown_path}",
        "Stop it with Ctrl-C.",
        "",
    ]
    print("\n".join(lines), flush=True)


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0 picks a free one)")
    return value


def print_demo_token(state_dir: Path) -> int:
    """Signs the demo citizen in through the running stack's Cognito and prints the ID token."""
    import boto3

    stack_path = state_dir / "stack.json"
    try:
        stack = json.loads(stack_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"no local stack is running ({stack_path} not found): start one with `make run`", file=sys.stderr)
        return 1
    cognito = boto3.client("cognito-idp", endpoint_url=stack["aws_endpoint"], region_name=stack["region"],
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    demo = stack["demo_citizen"]
    result = cognito.initiate_auth(ClientId=stack["cognito"]["client_id"], AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": demo["username"], "PASSWORD": demo["password"]})
    print(result["AuthenticationResult"]["IdToken"])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.local_stack",
                                     description="Run the motcua stack locally on moto.")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="start the local stack and wait for Ctrl-C")
    run_parser.add_argument("--province", default=None,
                            help="a folder of infra/provinces/ (default: the stage's MOTCUA_PROVINCE)")
    run_parser.add_argument("--stage", default=None,
                            help=f"a stage of .chalice/config.json (default: {LOCAL_STAGE}); locally every stage "
                                 f"runs with the {LOCAL_STAGE} stage's settings, for the stage's province")
    run_parser.add_argument("--host", default="127.0.0.1")
    run_parser.add_argument("--aws-port", type=_port, default=5100, help="moto server port (0: any free)")
    run_parser.add_argument("--api-port", type=_port, default=8000, help="chalice local port (0: any free)")
    run_parser.add_argument("--web-port", type=_port, default=8080, help="web front port (0: any free)")
    run_parser.add_argument("--stripe-port", type=_port, default=8420, help="localstripe port (0: any free)")
    run_parser.add_argument("--state-dir", default=".local", help="where run.pid and stack.json go")
    token_parser = commands.add_parser(
        "token", help="print a Cognito ID token of the demo citizen of a running stack (for curl)")
    token_parser.add_argument("--state-dir", default=".local", help="where the running stack wrote stack.json")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "run":
        return run(args)
    if args.command == "token":
        return print_demo_token(Path(args.state_dir))
    parser.error(f"unknown command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
