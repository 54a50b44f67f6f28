"""Throughput (issue 8): sustained dossier submissions per second through the local stack, with
moto's own raw write rate, on the same moto server and from as many threads, as the baseline.

The stack is started the way tests/e2e/conftest.py's ``StackProcess`` does (``tools.local_stack
run`` in a subprocess, every port 0, its own state directory; ``stack.json`` gives the endpoints)
and stopped at the end. Citizens are created through moto's Cognito admin API and signed in for
real ID tokens (as tests/e2e/test_concurrency.py does); each submits at most
``DOSSIERS_PER_CITIZEN`` dossiers, under the local stage's 30 per citizen and hour. Uploads are
prepared first (timed separately): the figure is ``POST /dossiers`` alone, which validates,
checks the uploads in S3, counts the rate limit, numbers and stores the dossier in one
transaction and starts its Step Functions execution.

The baseline, measured before and after the submissions against the same moto server: boto3
``TransactWriteItems`` of the submission's shape (the dossier and its first log entry put on
condition, the day counter, a statistics row and the upload updated: 5 items, each thread on its
own keys) and plain ``PutItem`` of a dossier item. Both use the store's own item builders.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import PartResult, RunContext, Table, format_table, machine_info, write_results

ROOT = Path(__file__).resolve().parent.parent
DOSSIERS = 300
THREADS = 16
DOSSIERS_PER_CITIZEN = 20  # under the local stage's MOTCUA_RATE_SUBMISSIONS_PER_HOUR=30
RAW_OPERATIONS = 600  # per baseline kind and round
STARTUP_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
TIMEOUT = 60
PASSWORD = "Bench-Citizen-2026"
# As tests/e2e/test_concurrency.py: one required document each; most go to one desk (its day
# counter is the hot item), one in five to another agency's.
CONFIRMATION = "1.004873"  # Xác nhận tình trạng hôn nhân, desk 000.01.40.H38
MARRIAGE = "1.000894"  # Đăng ký kết hôn, desk 000.02.40.H38
FORMS: dict[str, dict[str, Any]] = {
    CONFIRMATION: {"marital_status": "Chưa đăng ký kết hôn với ai", "purpose": "Bổ sung hồ sơ xin việc"},
    MARRIAGE: {"female_full_name": "Trần Thị Cúc", "female_date_of_birth": "1998-02-03",
               "female_id_number": "068198001234", "female_residence": "Phường 2, Đà Lạt",
               "male_full_name": "Nguyễn Văn Bình", "male_date_of_birth": "1996-05-06",
               "male_id_number": "068096001234", "male_residence": "Phường 2, Đà Lạt"},
}


# --- pure helpers -----------------------------------------------------------------------------------

def citizens_needed(dossiers: int, per_citizen: int = DOSSIERS_PER_CITIZEN) -> int:
    if per_citizen < 1:
        raise ValueError("per_citizen must be at least 1")
    return -(-dossiers // per_citizen)


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def submission(procedure_code: str, upload_id: str, n: int) -> dict[str, Any]:
    return {
        "procedure_code": procedure_code,
        "applicant": {"full_name": "Nguyễn Văn An", "id_number": f"068090{n:06d}", "phone": "0912345678",
                      "address": "12 Trần Phú, phường Xuân Hương - Đà Lạt"},
        "form": FORMS[procedure_code],
        "documents": [{"document_id": "to_khai", "upload_id": upload_id}],
    }


def run_all(jobs: Sequence[Callable[[], Any]], threads: int) -> list[Any]:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(job) for job in jobs]
        return [future.result() for future in futures]


# --- the stack ----------------------------------------------------------------------------------------

@contextmanager
def local_stack(state_dir: Path) -> Iterator[dict[str, Any]]:
    """``tools.local_stack run`` on free ports; yields its ``stack.json``; stopped with SIGINT (as
    Ctrl-C) at the end, killed if it does not stop in time."""
    command = [sys.executable, "-m", "tools.local_stack", "run", "--state-dir", str(state_dir),
               "--aws-port", "0", "--api-port", "0", "--web-port", "0", "--stripe-port", "0"]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MOTCUA_", "MOTO_"))}
    env["PYTHONUNBUFFERED"] = "1"
    log_path = state_dir.parent / "stack.log"
    state_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        stack_path = state_dir / "stack.json"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not stack_path.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local stack did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        data: dict[str, Any] = json.loads(stack_path.read_text(encoding="utf-8"))
        yield data
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _aws_client(stack: dict[str, Any], service: str) -> Any:
    import boto3
    from botocore.config import Config

    make: Any = boto3.client  # the service is a variable: no overload of boto3's stubs applies
    return make(service, endpoint_url=stack["aws_endpoint"], region_name=stack["region"],
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(max_pool_connections=THREADS * 2, retries={"max_attempts": 1}))


def create_citizen(stack: dict[str, Any], cognito: Any) -> str:
    """A signed-up citizen (admin API on the stack's moto Cognito), signed in: their ID token."""
    from tools.citizens import signed_in_citizen

    return signed_in_citizen(cognito, stack["cognito"]["user_pool_id"], stack["cognito"]["client_id"],
                             f"bench-{uuid.uuid4().hex[:10]}@example.vn", PASSWORD)


class Http:
    """Kept-alive connections to the API, opened before the timed part (``chalice local``
    listens with a backlog of 5: a burst of new connections gets some reset)."""

    def __init__(self, stack: dict[str, Any], threads: int) -> None:
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        self.stack = stack
        self.threads = threads
        self.session = requests.Session()
        retry = Retry(total=5, connect=5, read=5, status=0, backoff_factor=0.1, allowed_methods={"GET"})
        self.session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=threads * 2, max_retries=retry))

    def warm_up(self) -> None:
        together = threading.Barrier(self.threads)

        def hold() -> None:
            response = self.session.get(f"{self.stack['api_url']}/config", timeout=TIMEOUT, stream=True)
            together.wait(timeout=TIMEOUT)
            _ = response.content

        run_all([hold] * self.threads, self.threads)

    def api(self, method: str, path: str, token: str, **kwargs: Any) -> Any:
        return self.session.request(method, f"{self.stack['api_url']}{path}", timeout=TIMEOUT,
                                    headers={"Authorization": f"Bearer {token}"}, **kwargs)

    def upload(self, token: str, name: str) -> str:
        content = b"%PDF-1.4 bench"
        ticket = self.api("POST", "/uploads", token,
                          json={"filename": f"{name}.pdf", "content_type": "application/pdf", "size": len(content)})
        if ticket.status_code != 201:
            raise RuntimeError(f"POST /uploads answered {ticket.status_code}: {ticket.text[:300]}")
        data = ticket.json()
        posted = self.session.post(data["url"], data=data["fields"], files={"file": (f"{name}.pdf", content)},
                                   timeout=TIMEOUT)
        if posted.status_code not in (200, 201, 204):
            raise RuntimeError(f"S3 POST answered {posted.status_code}: {posted.text[:300]}")
        return str(data["upload_id"])


# --- moto's raw write rate ----------------------------------------------------------------------------

def _serialized_dossier(n: int, thread: int) -> dict[str, Any]:
    """A dossier item as the store builds it (``Store._dossier_item``), in DynamoDB JSON."""
    from chalicelib.domain.dossiers import DocumentRef, Dossier
    from chalicelib.domain.workflow import DossierStatus
    from chalicelib.store.repository import Store

    at = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    dossier = Dossier(
        code=f"BENCH.{thread:03d}-261126-{n:06d}", procedure_code=CONFIRMATION, procedure_name="Xác nhận",
        agency_code="BENCH", owner=f"bench-{thread}", applicant=submission(CONFIRMATION, "u", n)["applicant"],
        form=FORMS[CONFIRMATION], documents=(DocumentRef("to_khai", f"bench-{thread}-{n}"),),
        status=DossierStatus.NEW, submitted_at=at, due_at=at + timedelta(days=4), updated_at=at, fee_vnd=15_000,
        fee_status="unpaid")
    item = Store._dossier_item(dossier)
    item.version = 1
    serialized: dict[str, Any] = item.serialize()
    return serialized


def raw_writes(stack: dict[str, Any], table: str, *, threads: int, operations: int, round_name: str) -> dict[str, Any]:
    """PutItem and TransactWriteItems (5 items, the submission's shape) per second, ``threads`` at once."""
    client = _aws_client(stack, "dynamodb")
    per_thread = max(1, operations // threads)

    def puts(thread: int) -> None:
        for n in range(per_thread):
            item = _serialized_dossier(n, thread)
            item["PK"] = {"S": f"BENCHPUT#{round_name}#{thread}#{n}"}
            client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(PK)")

    def transactions(thread: int) -> None:
        counter = {"PK": {"S": f"BENCHCOUNTER#{round_name}#{thread}"}, "SK": {"S": "COUNTER"}}
        client.put_item(TableName=table, Item={**counter, "last_sequence": {"N": "0"}})
        for n in range(per_thread):
            dossier = _serialized_dossier(n, thread)
            dossier["PK"] = {"S": f"BENCHTX#{round_name}#{thread}#{n}"}
            log = {"PK": dossier["PK"], "SK": {"S": "LOG#0000"}, "kind": {"S": "log"}, "actor": {"S": "citizen"}}
            upload = {"PK": {"S": f"BENCHUPLOAD#{round_name}#{thread}#{n}"}, "SK": {"S": "META"}}
            stats = {"PK": {"S": "BENCHSTATS"}, "SK": {"S": f"{round_name}#{thread % 4}"}}
            client.transact_write_items(TransactItems=[
                {"Put": {"TableName": table, "Item": dossier, "ConditionExpression": "attribute_not_exists(PK)"}},
                {"Put": {"TableName": table, "Item": log}},
                {"Update": {"TableName": table, "Key": counter, "UpdateExpression": "SET last_sequence = :next",
                            "ConditionExpression": "last_sequence = :current",
                            "ExpressionAttributeValues": {":next": {"N": str(n + 1)}, ":current": {"N": str(n)}}}},
                {"Update": {"TableName": table, "Key": stats, "UpdateExpression": "ADD #submitted :one, #online :one",
                            "ExpressionAttributeNames": {"#submitted": "submitted", "#online": "online"},
                            "ExpressionAttributeValues": {":one": {"N": "1"}}}},
                {"Update": {"TableName": table, "Key": upload, "UpdateExpression": "SET attached = :yes",
                            "ExpressionAttributeValues": {":yes": {"BOOL": True}}}},
            ])

    result: dict[str, Any] = {}
    for name, job in (("put_item", puts), ("transact_write_5", transactions)):
        started = time.perf_counter()
        run_all([partial(job, thread) for thread in range(threads)], threads)
        elapsed = time.perf_counter() - started
        result[f"{name}_per_s"] = rate(per_thread * threads, elapsed)
    return result


# --- the part -----------------------------------------------------------------------------------------

@dataclass
class Outcome:
    code: str | None
    status: int
    seconds: float
    error: str = ""


def _table_name() -> str:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return str(config["stages"]["local"]["environment_variables"]["MOTCUA_TABLE_NAME"])


def run(context: RunContext | None = None) -> PartResult:  # needs no other part's figures
    """The registered part (``python -m bench throughput``): :func:`throughput` with the
    defaults, as a ``bench.common.PartResult``."""
    result = throughput()
    return PartResult(data=result, tables=tables(result))


def throughput(dossiers: int = DOSSIERS, threads: int = THREADS, raw_operations: int = RAW_OPERATIONS
               ) -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="motcua-bench-") as scratch, \
            local_stack(Path(scratch) / "state") as stack:
        ready = time.perf_counter()
        table = _table_name()
        cognito = _aws_client(stack, "cognito-idp")
        tokens: list[str] = run_all([partial(create_citizen, stack, cognito)] * citizens_needed(dossiers),
                                    min(8, threads))
        http = Http(stack, threads)
        http.warm_up()
        plan = [(tokens[n // DOSSIERS_PER_CITIZEN], MARRIAGE if n % 5 == 4 else CONFIRMATION, n)
                for n in range(dossiers)]
        uploads_started = time.perf_counter()
        upload_ids: list[str] = run_all([partial(http.upload, token, f"to-khai-{n}") for token, _, n in plan],
                                        threads)
        uploads_seconds = time.perf_counter() - uploads_started
        before = raw_writes(stack, table, threads=threads, operations=raw_operations, round_name="before")

        def submit(token: str, procedure: str, upload_id: str, n: int) -> Outcome:
            t0 = time.perf_counter()
            answer = http.api("POST", "/dossiers", token, json=submission(procedure, upload_id, n))
            seconds = time.perf_counter() - t0
            if answer.status_code == 201:
                return Outcome(str(answer.json()["code"]), 201, seconds)
            return Outcome(None, answer.status_code, seconds, answer.text[:300])

        submit_started = time.perf_counter()
        outcomes: list[Outcome] = run_all(
            [partial(submit, token, procedure, upload_id, n)
             for (token, procedure, n), upload_id in zip(plan, upload_ids, strict=True)], threads)
        submit_seconds = time.perf_counter() - submit_started
        after = raw_writes(stack, table, threads=threads, operations=raw_operations, round_name="after")
        stored = [o for o in outcomes if o.code is not None]
        latencies = sorted(o.seconds for o in outcomes)
        stack_seconds = ready - started
    dossiers_per_s = rate(len(stored), submit_seconds)
    raw_tx = round((before["transact_write_5_per_s"] + after["transact_write_5_per_s"]) / 2, 1)
    raw_put = round((before["put_item_per_s"] + after["put_item_per_s"]) / 2, 1)
    return {
        "part": "throughput", "threads": threads, "dossiers": dossiers, "citizens": len(tokens),
        "stored": len(stored), "refused": dict(Counter(o.status for o in outcomes if o.code is None)),
        "first_error": next((o.error for o in outcomes if o.code is None), ""),
        "submit_seconds": round(submit_seconds, 2), "dossiers_per_s": dossiers_per_s,
        "submit_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "submit_p90_ms": round(latencies[int(len(latencies) * 0.9)] * 1000, 1),
        "uploads_per_s": rate(dossiers, uploads_seconds),
        "moto_raw": {"before": before, "after": after, "transact_write_5_per_s": raw_tx, "put_item_per_s": raw_put},
        "ratio_to_transact_write": round(dossiers_per_s / raw_tx, 3) if raw_tx else None,
        "ratio_to_put_item": round(dossiers_per_s / raw_put, 3) if raw_put else None,
        "stack_start_seconds": round(stack_seconds, 1), "seconds": round(time.perf_counter() - started, 1),
    }


def rows(result: dict[str, Any]) -> list[list[str]]:
    raw = result["moto_raw"]
    return [
        ["measure", "per second", "note"],
        ["POST /dossiers (local stack)", f"{result['dossiers_per_s']}",
         f"{result['stored']}/{result['dossiers']} stored, {result['threads']} threads, "
         f"p50 {result['submit_p50_ms']} ms, p90 {result['submit_p90_ms']} ms"],
        ["moto TransactWriteItems (5 items)", f"{raw['transact_write_5_per_s']}",
         f"before {raw['before']['transact_write_5_per_s']}, after {raw['after']['transact_write_5_per_s']}"],
        ["moto PutItem (dossier item)", f"{raw['put_item_per_s']}",
         f"before {raw['before']['put_item_per_s']}, after {raw['after']['put_item_per_s']}"],
        ["submissions / TransactWriteItems", f"{result['ratio_to_transact_write']}", "ratio, same run"],
        ["submissions / PutItem", f"{result['ratio_to_put_item']}", "ratio, same run"],
        ["uploads (POST /uploads + S3 POST)", f"{result['uploads_per_s']}", "prepared before, not in the figure"],
    ]


def tables(result: dict[str, Any]) -> list[Table]:
    table = rows(result)
    notes = [f"stack started in {result['stack_start_seconds']} s; {result['citizens']} citizens; "
             f"part took {result['seconds']} s",
             "the moto baseline runs before and after the submissions against the same moto server "
             "(after: with the dossiers' Step Functions executions alive)"]
    if result["refused"]:
        notes.append(f"refused: {result['refused']}, e.g. {result['first_error']}")
    return [Table(title="Throughput: sustained submissions through the local stack vs moto's raw writes",
                  headers=table[0], rows=table[1:], notes=notes)]


def print_rows(result: dict[str, Any]) -> None:
    for table in tables(result):
        print(format_table(table))


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Sustained submissions per second through the local stack")
    parser.add_argument("--dossiers", type=int, default=DOSSIERS)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--raw-operations", type=int, default=RAW_OPERATIONS)
    parser.add_argument("--json", type=Path, help="also write the result there")
    parser.add_argument("--write-results", action="store_true", help="merge it into bench/results.json as "
                        "'python -m bench throughput' does")
    args = parser.parse_args(argv)
    result = throughput(args.dossiers, args.threads, args.raw_operations)
    print_rows(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    if args.write_results:
        write_results({"throughput": {"machine": machine_info(), **result}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
