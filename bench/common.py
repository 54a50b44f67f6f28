"""Shared by the benchmark parts: result tables, the machine, AWS call counting, and the app on
moto in-process with the Lâm Đồng demo catalogue.

Parts (``bench/__main__.py``) return a :class:`PartResult`: a dict for ``bench/results.json`` and the
tables to print. Nothing here asserts a timing: the parts report what they measured next to the
target, and the reader judges.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = ROOT / "bench" / "results.json"
TEMPLATE_PATH = ROOT / "infra" / "template.json"
CHALICE_CONFIG_PATH = ROOT / ".chalice" / "config.json"
REGION = "ap-southeast-1"
PROVINCE = "lamdong"
PROVINCE_DIR = ROOT / "infra" / "provinces" / PROVINCE

# A one-agency route of the demo catalogue: reception and processing at the same commune
# (000.01.40.H38), no fee, level 4. The benchmarks take dossiers of it through receive → approve.
ONE_AGENCY_PROCEDURE = "1.001193"
ONE_AGENCY = "000.01.40.H38"
BIRTH_FORM: dict[str, str] = {
    "child_full_name": "Nguyễn Minh Khang", "child_gender": "Nam", "date_of_birth": "2026-11-20",
    "place_of_birth": "Bệnh viện Đa khoa tỉnh Lâm Đồng", "ethnicity": "Kinh", "nationality": "Việt Nam",
    "mother_full_name": "Trần Thị Mai", "relationship_to_child": "Mẹ",
}
BIRTH_DOCUMENTS = ("to_khai", "giay_chung_sinh")
APPLICANT: dict[str, str] = {
    "full_name": "Nguyễn Văn An", "id_number": "068090001234", "phone": "0912345678",
    "email": "an.nguyen@example.vn", "address": "12 Trần Phú, phường Xuân Hương - Đà Lạt, Lâm Đồng",
}


# --- results ---------------------------------------------------------------------------------


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)


@dataclass
class PartResult:
    """What a part hands back: ``data`` goes to results.json under the part's name."""

    data: dict[str, Any]
    tables: list[Table]


class RunContext:
    """One ``python -m bench`` run: parts that build on another's figures (cost on calls) ask for
    them here, and get this run's, measuring them first if that part was not asked for."""

    def __init__(self, runners: Mapping[str, Callable[[RunContext], PartResult]]) -> None:
        self._runners = runners
        self.results: dict[str, PartResult] = {}
        self.seconds: dict[str, float] = {}

    def run(self, name: str) -> PartResult:
        if name not in self.results:
            start = time.perf_counter()
            self.results[name] = self._runners[name](self)
            self.seconds[name] = time.perf_counter() - start
        return self.results[name]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.1f}"
    if isinstance(value, bool):
        return "pass" if value else "FAIL"
    return str(value)


def format_table(table: Table) -> str:
    """A plain-text table (also valid Markdown, so the README can take it as printed)."""
    cells = [[_cell(value) for value in row] for row in table.rows]
    widths = [max(len(header), *(len(row[i]) for row in cells)) if cells else len(header)
              for i, header in enumerate(table.headers)]

    def line(values: list[str]) -> str:
        return "| " + " | ".join(value.ljust(width) for value, width in zip(values, widths, strict=True)) + " |"

    out = [f"### {table.title}", "", line(table.headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out.extend(line(row) for row in cells)
    if table.notes:
        out.append("")
        out.extend(f"- {note}" for note in table.notes)
    return "\n".join(out) + "\n"


def machine_info() -> dict[str, Any]:
    """The machine the figures came from, as the README quotes it."""
    cpu = platform.processor() or platform.machine()
    try:
        for text_line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if text_line.startswith("model name"):
                cpu = text_line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        # Other work on the machine moves timings: the load average says how busy it was.
        "load_average_1_5_15": load,
    }


def write_results(parts: Mapping[str, Any], *, path: Path = RESULTS_PATH) -> dict[str, Any]:
    """Merges this run's parts into results.json: running one part keeps the others' last figures,
    each with the machine and date it was measured on."""
    try:
        existing: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        existing = {}
    merged: dict[str, Any] = dict(existing.get("parts") or {})
    merged.update(parts)
    document = {"machine": machine_info(), "parts": merged}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return document


def median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("median of nothing")
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


# --- counting AWS calls ----------------------------------------------------------------------


@dataclass
class Call:
    """One AWS API call as botocore made it (retries of a call are not new calls)."""

    service: str  # botocore's endpoint prefix: dynamodb, stepfunctions (states), sqs, s3…
    operation: str
    thread: int
    params: dict[str, Any]
    response: dict[str, Any] | None = None
    # DynamoDB writes: the items as they are after the call (and were before, for deletes),
    # looked up in moto, for sizing request units.
    items_after: list[dict[str, Any]] = field(default_factory=list)
    items_before: list[dict[str, Any]] = field(default_factory=list)
    # Where the app made it: the project's frames (chalicelib/, tools/…), innermost first.
    sites: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}"


ItemLookup = Callable[[str, dict[str, Any]], "dict[str, Any] | None"]


class CallCounter:
    """Counts every AWS call made through botocore in this process.

    Every client comes from ``botocore.session.Session.create_client`` — boto3's clients, the
    app's cached ones, PynamoDB's (it keeps its own botocore session), Powertools', and the ones
    moto's Step Functions interpreter creates for service integrations — so wrapping that method
    and registering ``before-call`` (with its parameters from ``before-parameter-build``) and
    ``after-call`` on each new client's events catches them
    all. It must be installed before the first client is created (clients are cached)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._original: Any = None
        self.lookup: ItemLookup | None = None  # set by the stack once moto runs

    def install(self) -> None:
        import botocore.session

        if self._original is not None:
            return
        original = botocore.session.Session.create_client
        counter = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            counter.watch(client)
            return client

        self._original = original
        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        import botocore.session

        if self._original is not None:
            botocore.session.Session.create_client = self._original  # type: ignore[method-assign]
            self._original = None

    def watch(self, client: Any) -> None:
        # The caller's parameters arrive in before-parameter-build (before-call gets them
        # serialised); only before-call means a request is sent: presigning (generate_presigned_*)
        # builds parameters without one. Neither fires again for a retry. after-call completes the
        # Call on the same thread (botocore calls are synchronous on their thread).
        pending = threading.local()

        def parameters(params: Any, **_: Any) -> None:
            pending.params = dict(params or {})

        def before(model: Any, **_: Any) -> None:
            service = str(model.service_model.endpoint_prefix)
            params: dict[str, Any] = getattr(pending, "params", None) or {}
            pending.params = None
            call = Call(service, str(model.name), threading.get_ident(), params, sites=call_sites())
            if service == "dynamodb" and self.lookup is not None:
                call.items_before = _written_items(call, self.lookup)
            with self._lock:
                self.calls.append(call)
            pending.call = call

        def after(model: Any, parsed: Any, **_: Any) -> None:
            call: Call | None = getattr(pending, "call", None)
            pending.call = None
            if call is None:
                return
            call.response = parsed if isinstance(parsed, dict) else None
            if call.service == "dynamodb" and self.lookup is not None:
                call.items_after = _written_items(call, self.lookup)

        client.meta.events.register("before-parameter-build", parameters)
        client.meta.events.register("before-call", before)
        client.meta.events.register("after-call", after)

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def since(self, mark: int, *, thread: int | None = None, other_threads: bool = False) -> list[Call]:
        """Calls after ``mark``: of one thread, of every other thread, or all."""
        with self._lock:
            calls = self.calls[mark:]
        if thread is not None:
            return [c for c in calls if (c.thread != thread) == other_threads]
        return calls

    @contextmanager
    def window(self) -> Iterator[list[Call]]:
        """The calls this thread makes inside the block (background threads left out)."""
        found: list[Call] = []
        start = self.mark()
        try:
            yield found
        finally:
            found.extend(self.since(start, thread=threading.get_ident()))


_PROJECT_PREFIXES = tuple(f"{ROOT / name}{os.sep}" for name in ("chalicelib", "tools", "app.py", "examples"))


def call_sites(limit: int = 6) -> list[str]:
    """The project's frames on the current stack, innermost first, as ``path:line function``:
    enough to tell which line of the app made an AWS call."""
    sites: list[str] = []
    frame = sys._getframe(1)
    while frame is not None and len(sites) < limit:
        path = frame.f_code.co_filename
        if path.startswith(_PROJECT_PREFIXES) or path == str(ROOT / "app.py"):
            sites.append(f"{os.path.relpath(path, ROOT)}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back  # type: ignore[assignment]
    return sites


_WRITE_ACTIONS = ("Put", "Update", "Delete", "ConditionCheck")


def _written_items(call: Call, lookup: ItemLookup) -> list[dict[str, Any]]:
    """The items a DynamoDB write names, as stored now (``None`` entries dropped)."""
    targets: list[tuple[str, dict[str, Any]]] = []
    params = call.params
    if call.operation in ("PutItem", "UpdateItem", "DeleteItem"):
        key = params.get("Key") or params.get("Item")
        if key is not None:
            targets.append((str(params.get("TableName")), key))
    elif call.operation == "TransactWriteItems":
        for action in params.get("TransactItems") or []:
            for kind in _WRITE_ACTIONS:
                if kind in action:
                    body = action[kind]
                    targets.append((str(body.get("TableName")), body.get("Key") or body.get("Item") or {}))
    elif call.operation == "BatchWriteItem":
        for table, requests_ in (params.get("RequestItems") or {}).items():
            for request in requests_:
                body = request.get("PutRequest") or request.get("DeleteRequest") or {}
                targets.append((str(table), body.get("Key") or body.get("Item") or {}))
    items: list[dict[str, Any]] = []
    for table, key in targets:
        try:
            item = lookup(table, key)
        except Exception:  # a lookup must never break the app's call: sizing is best effort
            item = None
        items.append(item or {})
    return items


# --- the app on moto, in-process -------------------------------------------------------------


def _stage_environment() -> dict[str, str]:
    config = json.loads(CHALICE_CONFIG_PATH.read_text(encoding="utf-8"))
    env: dict[str, str] = {k: str(v) for k, v in (config.get("environment_variables") or {}).items()}
    env.update({k: str(v) for k, v in (config["stages"]["local"].get("environment_variables") or {}).items()})
    return env


class InProcessStack:
    """moto in-process (Step Functions really executing) with the resources of
    ``infra/template.json``, the Lâm Đồng catalogue, a citizen and agency keys, and the API through
    ``chalice.test.Client``, as tests/conftest.py sets them up for the integration tests.

    Use as a context manager; ``counter`` sees every AWS call from the start."""

    def __init__(self, counter: CallCounter | None = None) -> None:
        self.counter = counter or CallCounter()
        self.outputs: dict[str, str] = {}
        self.token = ""
        self.keys: dict[str, str] = {}
        self._saved_env: dict[str, str] = {}
        self._mock: Any = None
        self._client: Any = None
        self._receivers: list[Any] = []
        self.api: Any = None

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> InProcessStack:
        self._saved_env = dict(os.environ)
        for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN", "MOTCUA_COGNITO_ENDPOINT"):
            os.environ.pop(key, None)
        os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION})
        self.counter.install()
        import logging

        from aws_lambda_powertools.utilities import parameters
        from moto import mock_aws

        from tools.aws_resources import create_resources
        from tools.moto_patches import apply_post_tagging, serialize_dynamodb

        # moto's ASL interpreter logs every failed state loudly; the app logs JSON per request.
        for name in ("moto.stepfunctions.parser", "motcua", "chalicelib", "werkzeug"):
            logging.getLogger(name).setLevel(logging.ERROR)
        serialize_dynamodb()
        apply_post_tagging()
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        try:
            self.outputs = create_resources(TEMPLATE_PATH, province=PROVINCE, endpoint_url=None, region=REGION)
            os.environ.update(_stage_environment())
            os.environ.update({
                "MOTCUA_COGNITO_USER_POOL_ID": self.outputs["CitizenUserPoolId"],
                "MOTCUA_COGNITO_CLIENT_ID": self.outputs["CitizenUserPoolClientId"],
                "MOTCUA_ROUTE_STATE_MACHINE_ARN": self.outputs["RouteStateMachineArn"],
                "MOTCUA_TASK_QUEUE_URL": self.outputs["TaskQueueUrl"],
                "MOTCUA_WEBHOOK_QUEUE_URL": self.outputs["WebhookQueueUrl"],
                "MOTCUA_WEBHOOK_DLQ_URL": self.outputs["WebhookDeadLetterQueueUrl"],
                "MOTCUA_NOTIFY_FROM_EMAIL": self.outputs["NotifyFromEmail"],
                "MOTCUA_WEBHOOK_RETRY_BASE_SECONDS": "0.01",
                # As in a province stage: citizens are told by SMS too, so its calls are counted.
                "MOTCUA_NOTIFY_SMS": "on",
            })
            self.counter.lookup = _moto_item_lookup
            from chalicelib.services.catalogue import load_province

            load_province(PROVINCE_DIR)
            self.token = self._create_citizen("bench.citizen@example.vn")
            from chalice.test import Client

            from app import app

            self._client = Client(app, stage_name="local")
            self.api = self._client.__enter__()
            # The app's Powertools logger writes a JSON line per request: not this tool's output.
            logging.getLogger("motcua").setLevel(logging.ERROR)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._receivers:
            server.shutdown()
            server.server_close()
        self._receivers.clear()
        if self._client is not None:
            self._client.__exit__(None, None, None)
            self._client = None
        self._wait_for_executions()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self.counter.lookup = None
        self.counter.uninstall()
        os.environ.clear()
        os.environ.update(self._saved_env)

    def _wait_for_executions(self, seconds: float = 5) -> None:
        """moto's executions run on threads: stop them waiting before the mock goes (they would
        otherwise call a backend that is gone)."""
        if self._mock is None or "RouteStateMachineArn" not in self.outputs:
            return
        import boto3

        sfn = boto3.client("stepfunctions", region_name=REGION)
        for execution in sfn.list_executions(stateMachineArn=self.outputs["RouteStateMachineArn"],
                                             statusFilter="RUNNING").get("executions", []):
            # moto cannot stop an execution waiting for a callback (LOCAL_STACK_NOTES.md): let it be.
            with contextlib.suppress(Exception):
                sfn.stop_execution(executionArn=execution["executionArn"])
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and sfn.list_executions(
                stateMachineArn=self.outputs["RouteStateMachineArn"], statusFilter="RUNNING").get("executions"):
            time.sleep(0.05)

    def _create_citizen(self, email: str, password: str = "Bench-Passw0rd") -> str:
        import boto3

        cognito = boto3.client("cognito-idp", region_name=REGION)
        pool = self.outputs["CitizenUserPoolId"]
        cognito.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                                  UserAttributes=[{"Name": "email", "Value": email},
                                                  {"Name": "email_verified", "Value": "true"}])
        cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
        auth = cognito.initiate_auth(ClientId=self.outputs["CitizenUserPoolClientId"], AuthFlow="USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": email, "PASSWORD": password})
        return str(auth["AuthenticationResult"]["IdToken"])

    # -- agencies -------------------------------------------------------------------------

    def agency_key(self, agency: str) -> str:
        if agency not in self.keys:
            from chalicelib.services.agency_auth import issue_key

            self.keys[agency] = issue_key(agency, "bench")
        return self.keys[agency]

    def agency_receiver(self, agency: str) -> str:
        """The sample agency receiver (examples/agency_receiver) as the agency's webhook endpoint,
        so that the webhook worker does its whole job; returns its URL."""
        from chalicelib.integrations.webhooks import new_secret
        from chalicelib.services.webhooks import create_endpoint
        from examples.agency_receiver import create_server, start_in_thread

        secret = new_secret()
        server = create_server(secret=secret, api_url="http://127.0.0.1:9", api_key=self.agency_key(agency))
        start_in_thread(server)
        self._receivers.append(server)
        create_endpoint(agency, server.webhook_url, secret=secret)
        return str(server.webhook_url)

    # -- requests -------------------------------------------------------------------------

    def request(self, method: str, path: str, *, token: str | None = None,
                body: dict[str, Any] | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self.api.http.request(method, path, headers=headers,
                                         body=json.dumps(body).encode() if body is not None else b"")
        try:
            parsed = json.loads(response.body) if response.body else None
        except ValueError:
            parsed = response.body
        return int(response.status_code), parsed

    def upload(self, filename: str = "a.pdf", content: bytes = b"%PDF-1.4 bench") -> str:
        """A citizen's upload, sent to S3 as the browser does (not part of what is measured)."""
        import requests

        status, ticket = self.request("POST", "/uploads", token=self.token,
                                      body={"filename": filename, "content_type": "application/pdf",
                                            "size": len(content)})
        if status != 201:
            raise RuntimeError(f"POST /uploads answered {status}: {ticket}")
        requests.post(ticket["url"], data=ticket["fields"], files={"file": (filename, content)}, timeout=10)
        self.record_upload_events()
        return str(ticket["upload_id"])

    def record_upload_events(self) -> None:
        """What the upload-events worker does in AWS a moment after S3 stored a file (its size on
        the upload's record, so that a submission checks it in its transaction): run here, before
        anything is measured, as a citizen's upload precedes their submission."""
        from chalicelib.services.uploads import handle_storage_event

        for body in self.take_messages("UploadEventsQueueUrl"):
            handle_storage_event(body)

    def submission(self, procedure_code: str = ONE_AGENCY_PROCEDURE) -> dict[str, Any]:
        documents = [{"document_id": doc, "upload_id": self.upload(f"{doc}.pdf")} for doc in BIRTH_DOCUMENTS]
        return {"procedure_code": procedure_code, "applicant": dict(APPLICANT), "form": dict(BIRTH_FORM),
                "documents": documents}

    def submit(self, procedure_code: str = ONE_AGENCY_PROCEDURE) -> str:
        status, body = self.request("POST", "/dossiers", token=self.token, body=self.submission(procedure_code))
        if status != 201:
            raise RuntimeError(f"POST /dossiers answered {status}: {body}")
        return str(body["code"])

    # -- the queues, as the SQS event sources would -------------------------------------

    def take_messages(self, queue_output: str) -> list[dict[str, Any]]:
        """Receives and deletes what is visible now on a queue of the template's outputs."""
        import boto3

        sqs = boto3.client("sqs", region_name=REGION)
        url = self.outputs[queue_output]
        bodies = []
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def pump(self, until: Callable[[], bool], *, seconds: float = 30,
             on_task: Callable[[dict[str, Any]], None] | None = None,
             on_webhook: Callable[[dict[str, Any]], None] | None = None) -> None:
        """Hands queued messages to the app's workers until ``until()`` holds; ``on_task`` and
        ``on_webhook`` run each message (default: the app's handlers), so a caller can count
        each worker's calls."""
        from chalicelib.services.routing import handle_task_message
        from chalicelib.services.webhooks import handle_webhook_message

        def run_task(body: dict[str, Any]) -> None:
            handle_task_message(body)

        def run_webhook(body: dict[str, Any]) -> None:
            handle_webhook_message(body)

        task_worker = on_task or run_task
        webhook_worker = on_webhook or run_webhook
        deadline = time.monotonic() + seconds
        while not until():
            if time.monotonic() > deadline:
                raise TimeoutError("the route did not get there in time")
            for body in self.take_messages("TaskQueueUrl"):
                task_worker(body)
            for body in self.take_messages("WebhookQueueUrl"):
                webhook_worker(body)
            time.sleep(0.02)

    def open_task(self, agency: str, code: str) -> dict[str, Any] | None:
        status, body = self.request("GET", "/agency/tasks?status=open", token=self.agency_key(agency))
        if status != 200:
            raise RuntimeError(f"GET /agency/tasks answered {status}: {body}")
        for task in body["items"]:
            if task["dossier_code"] == code:
                return dict(task)
        return None


def _moto_item_lookup(table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """An item as moto stores it, in DynamoDB's JSON (what the wire carries), or ``None``."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table_name)
    hash_name = table.hash_key_attr
    range_name = table.range_key_attr
    if hash_name not in key:
        return None
    item = table.get_item(DynamoType(key[hash_name]),
                          DynamoType(key[range_name]) if range_name and range_name in key else None)
    if item is None:
        return None
    attributes: dict[str, Any] = item.to_json()["Attributes"]
    return attributes


def moto_table_indexes(table_name: str) -> list[dict[str, Any]]:
    """The table's GSIs as moto holds them: name, key attribute names, projection type."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table_name)
    indexes = []
    for index in table.global_indexes:
        described = index.describe()
        indexes.append({"name": described["IndexName"],
                        "keys": [k["AttributeName"] for k in described["KeySchema"]],
                        "projection": described.get("Projection", {}).get("ProjectionType", "ALL")})
    return indexes


def elapsed(start: float) -> float:
    return time.perf_counter() - start


def python_executable() -> str:
    return sys.executable
