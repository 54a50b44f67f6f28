"""Cold start: a fresh process serving its first ``GET /procedures/{code}`` vs the bare floor.

Both run as fresh Python processes against a moto server this part starts (table created, the
Lâm Đồng catalogue loaded), with the same interpreter, flags and environment:

- **floor**: ``import boto3``, create a DynamoDB client, one GetItem of the procedure's item;
- **app**: import the API handler module (``app``) and serve its first ``GET /procedures/{code}``
  by calling the Chalice app with an API Gateway proxy event and a context, as Lambda's runtime
  does (no HTTP server in between).

Wall time runs from just before the process is spawned until it has exited (interpreter start and
teardown included, the same way for both); peak memory is the child's own high-water mark (VmHWM,
read by the child as it ends: ``ru_maxrss`` from ``wait4`` would include this big parent's size,
which Linux carries across fork and exec). The two alternate, round after round, after one
discarded warm-up pair (bytecode compiled, files cached), so that load from other work hits both
alike; medians and their ratio are reported, with the spread of the per-round ratios as a measure
of the noise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

from bench.common import (
    ONE_AGENCY_PROCEDURE,
    PROVINCE_DIR,
    REGION,
    ROOT,
    TEMPLATE_PATH,
    PartResult,
    RunContext,
    Table,
    median,
)

ROUNDS = 7
TARGET_RATIO = 1.3
# Libraries the first GET /procedures/{code} must not load: they belong to other handlers.
HEAVY = ("stripe", "fpdf", "PIL", "standardwebhooks", "segno", "jsonschema", "qrcode", "reportlab", "jwt",
         "requests", "holidays")
# Loaded by either child, listed to show where the time goes.
NOTABLE = ("boto3", "botocore", "pynamodb", "aws_lambda_powertools", "chalice", "jwt", "cryptography", "requests",
           "urllib3", "holidays", "pydantic")

_REPORT = """
import json, sys
# Peak RSS of this process image: VmHWM is per address space and starts afresh at exec, while
# ru_maxrss (wait4) keeps the forking parent's high-water mark (Linux carries it across exec).
with open("/proc/self/status") as status:
    hwm_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
heavy = {heavy!r}
notable = {notable!r}
loaded = sorted({{name.split(".")[0] for name in sys.modules}})
print(json.dumps({{"steps": steps, "modules": len(sys.modules), "vm_hwm_mib": hwm_kib / 1024,
                   "heavy": [m for m in heavy if m in loaded], "notable": [m for m in notable if m in loaded]}}))
"""

FLOOR_SCRIPT = """
import time
t0 = time.perf_counter()
import boto3
t1 = time.perf_counter()
client = boto3.client("dynamodb")
t2 = time.perf_counter()
answer = client.get_item(TableName={table!r}, Key={key!r})
t3 = time.perf_counter()
assert "Item" in answer, answer
steps = {{"import boto3": t1 - t0, "create client": t2 - t1, "GetItem": t3 - t2}}
""" + _REPORT

APP_SCRIPT = """
import time
t0 = time.perf_counter()
import app
t1 = time.perf_counter()

class Context:
    function_name = "motcua-{province}-api_handler"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    invoked_function_arn = "arn:aws:lambda:{region}:123456789012:function:motcua-{province}-api_handler"
    log_group_name = "/aws/lambda/motcua"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 29000

response = app.app({event!r}, Context())
t2 = time.perf_counter()
assert response["statusCode"] == 200, response
steps = {{"import app": t1 - t0, "first GET /procedures/{{code}}": t2 - t1}}
""" + _REPORT


def proxy_event(code: str) -> dict[str, Any]:
    """The API Gateway (REST, proxy integration) event of ``GET /procedures/{code}``."""
    path = f"/procedures/{code}"
    return {
        "resource": "/procedures/{code}", "path": path, "httpMethod": "GET",
        "headers": {"Accept": "application/json", "Host": "api.example.vn"},
        "multiValueHeaders": {"Accept": ["application/json"], "Host": ["api.example.vn"]},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": {"code": code}, "stageVariables": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": "/procedures/{code}", "httpMethod": "GET", "path": f"/api{path}",
                           "stage": "api", "requestId": "bench", "identity": {"sourceIp": "127.0.0.1"}},
    }


def _spawn(script: str, env: dict[str, str]) -> dict[str, Any]:
    """Runs ``script`` in a fresh interpreter; wall time to exit and the child's peak RSS."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    # Read the pipes on threads so that a chatty child never blocks, while wait4 reaps it and
    # gives its resource usage (Popen.wait would throw that away).
    out: list[bytes] = []
    err: list[bytes] = []
    readers = [threading.Thread(target=lambda: out.append(process.stdout.read() if process.stdout else b"")),
               threading.Thread(target=lambda: err.append(process.stderr.read() if process.stderr else b""))]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    stdout, stderr = (out[0] if out else b"").decode(), (err[0] if err else b"").decode()
    if process.returncode != 0:
        raise RuntimeError(f"cold-start child failed ({process.returncode}):\n{stderr[-3000:]}")
    report: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    # ru_maxrss (KiB on Linux) is kept for the record: it includes this parent's own size at fork.
    return {"seconds": seconds, "max_rss_mib": report["vm_hwm_mib"], "ru_maxrss_mib": usage.ru_maxrss / 1024,
            **report}


class _MotoServer:
    """A moto server with the template's resources and the catalogue, and the app's environment.

    It runs in a process of its own (``python -m bench.coldstart``): setting it up imports the app
    and fills its per-process caches (clients bound to this server's endpoint), which must not
    leak into this process's other parts, nor weigh on it while children are timed."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.env: dict[str, str] = {}
        self.table = ""
        self.key: dict[str, Any] = {}

    def __enter__(self) -> _MotoServer:
        self.process = subprocess.Popen([sys.executable, "-m", "bench.coldstart"], cwd=ROOT, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.__exit__()
            raise RuntimeError("the cold-start moto server did not start (see its error above)")
        ready = json.loads(line)
        self.env, self.table, self.key = ready["env"], ready["table"], ready["key"]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            if self.process.stdin is not None:
                self.process.stdin.close()  # the server's signal to stop
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


def serve() -> None:
    """The moto server's process: sets up, prints the children's environment as one JSON line,
    and serves until its stdin closes."""
    import logging
    import socket

    import requests
    from moto.server import ThreadedMotoServer

    from tools.aws_resources import create_resources
    from tools.local_stack import app_environment

    saved = dict(os.environ)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Step Functions service tasks call back into moto on MOTO_PORT (LOCAL_STACK_NOTES.md).
    os.environ["MOTO_PORT"] = str(port)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        requests.post(f"{endpoint}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}},
                      timeout=10)
        aws = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
        for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            os.environ.pop(variable, None)
        os.environ.update(aws)
        outputs = create_resources(TEMPLATE_PATH, province="lamdong", endpoint_url=endpoint, region=REGION)
        app_env = app_environment("local", "lamdong", "Tỉnh Lâm Đồng")
        app_env.update({
            "MOTCUA_TABLE_NAME": outputs["TableName"], "MOTCUA_UPLOADS_BUCKET": outputs["UploadsBucketName"],
            "MOTCUA_DOCUMENTS_BUCKET": outputs["DocumentsBucketName"],
            "MOTCUA_COGNITO_USER_POOL_ID": outputs["CitizenUserPoolId"],
            "MOTCUA_COGNITO_CLIENT_ID": outputs["CitizenUserPoolClientId"], "MOTCUA_COGNITO_ENDPOINT": endpoint,
            "MOTCUA_ROUTE_STATE_MACHINE_ARN": outputs["RouteStateMachineArn"],
            "MOTCUA_TASK_QUEUE_URL": outputs["TaskQueueUrl"], "MOTCUA_WEBHOOK_QUEUE_URL": outputs["WebhookQueueUrl"],
            "MOTCUA_WEBHOOK_DLQ_URL": outputs["WebhookDeadLetterQueueUrl"],
            "MOTCUA_NOTIFY_FROM_EMAIL": outputs["NotifyFromEmail"],
            # Lambda's own log level would print a JSON line per request into the child's stdout.
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        })
        os.environ.update(app_env)
        from chalicelib.services.catalogue import load_province
        from chalicelib.services.deps import get_store
        from chalicelib.store import models

        load_province(PROVINCE_DIR)
        version = get_store().catalogue_version()
        key = _procedure_key(outputs["TableName"], models.procedure_pk(ONE_AGENCY_PROCEDURE),
                             models.procedure_sk(version))
        # The children's environment: a few basics plus AWS and the app's settings, the same for
        # both kinds of child.
        base = {k: v for k, v in saved.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
        env = {**base, **aws, **app_env, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0"}
        print(json.dumps({"env": env, "table": outputs["TableName"], "key": key}), flush=True)
        sys.stdin.read()
    finally:
        server.stop()


def _procedure_key(table: str, pk: str, sk: str) -> dict[str, Any]:
    import boto3

    schema = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=table)["Table"]["KeySchema"]
    names = {k["KeyType"]: k["AttributeName"] for k in schema}
    return {names["HASH"]: {"S": pk}, names["RANGE"]: {"S": sk}}


def import_profile(script: str, env: dict[str, str], top: int = 8) -> list[tuple[str, float]]:
    """The packages whose import costs the app child most (``-X importtime``, cumulative): what
    dominates the import half of its cold start. One extra run, not part of the timings."""
    process = subprocess.run([sys.executable, "-X", "importtime", "-c", script], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True)
    totals: dict[str, float] = {}
    for line in process.stderr.splitlines():
        fields = line[len("import time:"):].split("|") if line.startswith("import time:") else []
        if len(fields) != 3 or not fields[1].strip().isdigit():
            continue
        name = fields[2].strip()
        # A package's own line (first import, at any depth) carries what it pulled in with it;
        # nested packages overlap (boto3 includes botocore). The standard library is left out.
        if "." not in name and name not in sys.stdlib_module_names and name != "app" and not name.startswith("_"):
            totals[name] = max(totals.get(name, 0.0), int(fields[1]) / 1e6)
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def run(context: RunContext | None = None, rounds: int = ROUNDS) -> PartResult:
    with _MotoServer() as moto:
        floor_script = FLOOR_SCRIPT.format(table=moto.table, key=moto.key, heavy=HEAVY, notable=NOTABLE)
        app_script = APP_SCRIPT.format(province="lamdong", region=REGION, event=proxy_event(ONE_AGENCY_PROCEDURE),
                                       heavy=HEAVY, notable=NOTABLE)
        _spawn(floor_script, moto.env)  # warm-up pair: bytecode and file cache, not counted
        _spawn(app_script, moto.env)
        floors: list[dict[str, Any]] = []
        apps: list[dict[str, Any]] = []
        for i in range(rounds):
            # Alternate which goes first, so that neither always follows the other.
            pair = [("floor", floor_script), ("app", app_script)]
            for kind, script in (pair if i % 2 == 0 else pair[::-1]):
                (floors if kind == "floor" else apps).append(_spawn(script, moto.env))
        imports = import_profile(app_script, moto.env)
    return report(floors, apps, imports)


def report(floors: list[dict[str, Any]], apps: list[dict[str, Any]],
           imports: list[tuple[str, float]] | None = None) -> PartResult:
    floor_s, app_s = median([r["seconds"] for r in floors]), median([r["seconds"] for r in apps])
    floor_m, app_m = median([r["max_rss_mib"] for r in floors]), median([r["max_rss_mib"] for r in apps])
    time_ratio, memory_ratio = app_s / floor_s, app_m / floor_m
    round_ratios = sorted(a["seconds"] / f["seconds"] for f, a in zip(floors, apps, strict=True))
    heavy = sorted({m for r in apps for m in r["heavy"]})
    steps = {kind: {step: median([r["steps"][step] for r in runs]) for step in runs[0]["steps"]}
             for kind, runs in (("floor", floors), ("app", apps))}
    rows: list[list[Any]] = [
        ["wall time, s (median)", floor_s, app_s, time_ratio, f"≤ {TARGET_RATIO}", time_ratio <= TARGET_RATIO],
        ["peak RSS, MiB (median)", floor_m, app_m, memory_ratio, f"≤ {TARGET_RATIO}", memory_ratio <= TARGET_RATIO],
    ]
    step_text = {kind: ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in kind_steps.items())
                 for kind, kind_steps in steps.items()}
    # The steps alone are what a Lambda init and first invoke pay; the wall time adds the
    # interpreter's start and exit, which a Lambda cold start does not wait for at the end.
    in_steps = {kind: sum(kind_steps.values()) for kind, kind_steps in steps.items()}
    notes = [
        f"{len(floors)} alternating rounds after a warm-up pair; per-round time ratios ranged "
        f"{round_ratios[0]:.2f}-{round_ratios[-1]:.2f} (the spread is the machine's noise)",
        f"inside the floor child: {step_text['floor']}",
        f"inside the app child: {step_text['app']}",
        f"steps only (import to first answer, without interpreter start and exit): floor "
        f"{in_steps['floor'] * 1000:.0f} ms, app {in_steps['app'] * 1000:.0f} ms, "
        f"ratio {in_steps['app'] / in_steps['floor']:.2f}",
        f"heavy libraries loaded by the first GET /procedures/{{code}}: {', '.join(heavy) or 'none'} "
        f"(checked: {', '.join(HEAVY)})",
        "costliest imports in the app child (-X importtime, cumulative, one run): "
        + (", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in imports or []) or "not measured"),
        f"modules loaded: floor {median([r['modules'] for r in floors]):.0f}, "
        f"app {median([r['modules'] for r in apps]):.0f}; app has "
        f"{', '.join(sorted({m for r in apps for m in r['notable']}))}",
    ]
    table = Table("Cold start: fresh process, first GET /procedures/{code} vs boto3 GetItem",
                  ["measure", "floor", "app", "ratio", "target", "at target"], rows, notes)
    data = {
        "rounds": len(floors), "floor": floors, "app": apps,
        "median": {"floor_seconds": floor_s, "app_seconds": app_s, "floor_rss_mib": floor_m, "app_rss_mib": app_m},
        "ratio": {"time": time_ratio, "memory": memory_ratio}, "round_time_ratios": round_ratios,
        "target_ratio": TARGET_RATIO,
        "pass": {"time": time_ratio <= TARGET_RATIO, "memory": memory_ratio <= TARGET_RATIO},
        "heavy_modules_loaded": heavy, "steps_median_seconds": steps,
        "steps_ratio": in_steps["app"] / in_steps["floor"], "imports_cumulative_seconds": imports or [],
    }
    return PartResult(data, [table])


if __name__ == "__main__":
    serve()
