"""Flat at scale (issue 8): the read paths cost the same with 1,000 and with 100,000 dossiers.

The app runs in-process on moto (``chalice.test.Client`` under ``mock_aws``, the Lâm Đồng demo
catalogue, agency keys issued as ops would), as tests/integration do. For each table size the
part times ``REQUESTS`` calls of each read path and reports p50/p90; the ratio of the p50s
(100,000 / 1,000) is the figure issue 8 asks for (target ≤ 1.2×).

Seeding. 100,000 dossiers through the API would take hours (each submission is an upload, a
transaction and a Step Functions execution), and even BatchWriteItem through boto3 costs a
botocore round trip per 25 items. The dossiers are therefore built with the store's own item
builders (``Store._dossier_item``, ``_log_item``, ``_task_item``: what the submission and decision
transactions write) and put into moto's backend table directly (``Table.put_item``, the call
moto's BatchWriteItem handler ends in), bypassing Step Functions. Each dossier gets the items
the real flow leaves: the dossier, its attached upload, its log entries, its tasks (open ones
for the dossiers still at a desk or in processing: the agency inboxes), the day's numbering
counter, and the statistics counters summed from ``domain.stats`` bumps as the transactions'
ADDs would. Both sizes spread their dossiers over the same 12 months (more per day at 100,000).
The BatchWriteItem rate through boto3 is measured on a sample for comparison.

Why moto cannot be flat here. moto 5.2.5 answers every Query, on the table or on an index, by
listing and sorting *all* the table's items (``moto/dynamodb/models/table.py``, ``Table.query``
calls ``all_items()``, which sorts every item, then filters by partition), and then walks the
partition up to the start key, so a Query costs O(n log n) in the table's size where DynamoDB
seeks to the start key in the partition and reads ``Limit`` items. Only GetItem is flat. The
headline rows therefore run with :class:`PartitionReads` (bench-only): moto is handed only the
run of items DynamoDB would read, found by binary search in the partition kept sorted; the
answers are moto's own, which the part checks against plain moto at the smallest size (and
tests/bench/test_scale.py for every key condition, both directions, paged). The part also
reports, per read path, the DynamoDB calls it makes and the items they return (deterministic,
noise-free: what DynamoDB would bill) and times moto's own raw Query and GetItem, with partition
reads and as moto is, at both sizes.

What else would not be the app's. In AWS the table is not in the Lambda's heap; in-process, the
100,000 dossiers' moto objects (millions of them) are, and a heap 100 times larger is slower to
run in (cyclic GC passes over it, cache misses), whatever the request. So each size is seeded in
its own table (the larger one a copy of the smaller, grown), all tables stay in the heap while
any is measured, moto's objects are frozen out of the cyclic GC (``gc.freeze()``) once seeded,
and moto serves the app's table name from each size's table in turn. The sizes are measured in
``ROUNDS`` alternating rounds and each p50 is the median of the rounds' p50s: on a shared
machine a burst of another process's load then spoils a round, not one size's figure.

Same path, different work. Two paths read a little more or less at one size, not because of
the table's size: the statistics read one row per agency, month and counter shard (at most
agencies x months x ``STATS_SHARDS``, reached from ~3,000 dossiers: at 1,000, 50 of the 332
agency-month shards have had no dossier yet, so 283 items are read instead of 333, whatever the
count beyond), and the agency inbox's first page holds the 20 earliest deadlines, whose dossiers
have longer or shorter progress logs at each size. The comparison flags such paths
(``same_dynamodb_work``) and gives their p50 per item read next to the p50 ratio.

Statistics as served and as read. A container answers ``GET /stats`` from the rows it read for
``MOTCUA_STATS_CACHE_SECONDS`` (60 s by default), so ``stats`` is what the public is served: each
round's first request after a table switch reads the rows (the switch forgets them, as a fresh
container would not have them), the rest are answered from memory. ``stats_uncached`` (the setting
at 0) reads them on every request: shown beside it, not judged, since its rows differ between the
sizes as said above.
"""

from __future__ import annotations

import gc
import json
import os
import random
import time
import zlib
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import PartResult, RunContext, Table, format_table, machine_info, write_results

ROOT = Path(__file__).resolve().parent.parent
REGION = "ap-southeast-1"
ACCOUNT_ID = "123456789012"
PROVINCE = "lamdong"
PROVINCE_DIR = ROOT / "infra" / "provinces" / PROVINCE

SIZES = (1_000, 100_000)
REQUESTS = 200
# A request path whose single call already takes longer than this at a size is sampled fewer
# times (at least MIN_REQUESTS): moto's Query at 100,000 dossiers costs seconds per call.
TIME_BUDGET_SECONDS = 60.0
MIN_REQUESTS = 15
TARGET_RATIO = 1.2
# Shares of the seeded dossiers, by state (out of 10): at a desk, in processing, done.
AT_DESK, IN_PROCESSING = 1, 1
SEED = 20261126
BASE_DAY = datetime(2025, 12, 1, 1, 30, tzinfo=UTC)  # 08:30 in Vietnam


# --- percentiles and ratios (pure) ------------------------------------------------------------

def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation between closest ranks (numpy's
    default): p50 of an even count is the mean of the two middle values."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50/p90/min of durations in seconds, as milliseconds."""
    return {"p50_ms": round(percentile(samples, 50) * 1000, 3), "p90_ms": round(percentile(samples, 90) * 1000, 3),
            "min_ms": round(min(samples) * 1000, 3), "n": len(samples)}


def ratio(large: float, small: float) -> float:
    return round(large / small, 2) if small > 0 else float("inf")


def relative_to_baseline(path_ratio: float, baseline_ratio: float) -> float:
    """How much more a path grew than moto's own primitive did (1.0: all of it is moto's)."""
    return round(path_ratio / baseline_ratio, 2) if baseline_ratio > 0 else float("inf")


# --- the in-process app ---------------------------------------------------------------------------

def _stage_environment() -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    env: dict[str, str] = dict(config.get("environment_variables", {}))
    env.update(config["stages"]["local"].get("environment_variables", {}))
    return env


@contextmanager
def moto_app() -> Iterator[tuple[Any, dict[str, str]]]:
    """moto in-process with infra/template.json's resources and the local stage's settings, the
    demo catalogue loaded; yields the chalice test client and the template's outputs. The
    environment is restored afterwards. (As tests/conftest.py's ``aws`` and ``api`` fixtures.)"""
    from chalice.test import Client
    from moto import mock_aws

    from tools.aws_resources import create_resources
    from tools.moto_patches import serialize_dynamodb

    saved = dict(os.environ)
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(key, None)
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION})
    serialize_dynamodb()  # the lock and transaction undo log the local stack and the tests run with
    try:
        with mock_aws():
            outputs = create_resources(ROOT / "infra" / "template.json", province=PROVINCE, endpoint_url=None,
                                       region=REGION)
            os.environ.update(_stage_environment())
            os.environ.update({
                "MOTCUA_COGNITO_USER_POOL_ID": outputs["CitizenUserPoolId"],
                "MOTCUA_COGNITO_CLIENT_ID": outputs["CitizenUserPoolClientId"],
                "MOTCUA_ROUTE_STATE_MACHINE_ARN": outputs["RouteStateMachineArn"],
                "MOTCUA_TASK_QUEUE_URL": outputs["TaskQueueUrl"],
                "MOTCUA_WEBHOOK_QUEUE_URL": outputs["WebhookQueueUrl"],
                "MOTCUA_WEBHOOK_DLQ_URL": outputs["WebhookDeadLetterQueueUrl"],
                "MOTCUA_NOTIFY_FROM_EMAIL": outputs["NotifyFromEmail"],
                # One JSON log line per request would drown the table; its cost is per request,
                # the same at both sizes.
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            })
            os.environ.pop("MOTCUA_COGNITO_ENDPOINT", None)
            from chalicelib.services.catalogue import load_province

            load_province(PROVINCE_DIR)
            from app import app

            with Client(app, stage_name="local") as client:
                os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the stage's INFO again otherwise
                yield client, outputs
    finally:
        os.environ.clear()
        os.environ.update(saved)


def moto_table(table_name: str) -> Any:
    """moto's backend object of the app's table (in-process)."""
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[ACCOUNT_ID][REGION].get_table(table_name)


def table_item_count(table: Any) -> int:
    return sum(len(partition) for partition in table.items.values())


# --- seeding ----------------------------------------------------------------------------------

@dataclass
class SeedState:
    """What the generator has written so far; seeding continues from it (1,000 then 99,000 more)."""

    written: int = 0
    items: int = 0
    counters: dict[tuple[str, str], int] = field(default_factory=dict)  # (agency, yymmdd) -> last sequence
    stats: dict[tuple[str, str, int], Counter[str]] = field(default_factory=dict)  # (agency, month, shard)
    open_tasks: Counter[str] = field(default_factory=Counter)  # agency -> open tasks
    codes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _online_procedures() -> list[Any]:
    from chalicelib.domain.catalogue import load_catalogue

    procedures = [p for p in load_catalogue(PROVINCE_DIR).procedures
                  if p.level >= 3 and any(step.kind == "processing" for step in p.route)]
    return sorted(procedures, key=lambda p: p.code)


class Seeder:
    """Builds dossiers as submission and decisions store them, and puts their items into moto."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.procedures = _online_procedures()
        self.state = SeedState()

    def grow_to(self, total: int) -> float:
        """Seeds dossiers until ``total`` exist; the seconds it took."""
        started = time.perf_counter()
        items: list[Any] = []
        while self.state.written < total:
            items.extend(self._dossier_items(self.state.written))
            self.state.written += 1
            if len(items) >= 5_000:
                self._put(items)
                items = []
        self._put(items)
        self._put(self._bookkeeping_items())
        elapsed = time.perf_counter() - started
        self.state.seconds += elapsed
        return elapsed

    def _put(self, items: list[Any]) -> None:
        # Table.put_item is where moto's PutItem and BatchWriteItem handlers end (validation of
        # types and key sizes included); only the HTTP and botocore (de)serialisation is skipped.
        for item in items:
            self.table.put_item(item.serialize())
        self.state.items += len(items)
        PARTITION_READS.generation += 1

    def _bookkeeping_items(self) -> list[Any]:
        """The day counters and the statistics rows, as their last transaction left them."""
        from chalicelib.store import models as m

        items: list[Any] = [m.CounterItem(m.counter_pk(agency, day), m.COUNTER_SK, last_sequence=sequence)
                            for (agency, day), sequence in self.state.counters.items()]
        for (agency, month, shard), counts in self.state.stats.items():
            row = m.StatsCounterItem(m.STATS_PK, m.stats_counter_sk(month, agency, shard), agency_code=agency,
                                     month=month)
            for name, value in counts.items():
                setattr(row, name, value)
            items.append(row)
        self.state.items -= len(items)  # rewritten at every growth: count them once
        return items

    def _dossier_items(self, n: int) -> list[Any]:
        from chalicelib.domain import stats
        from chalicelib.domain.calendar import VN_TZ
        from chalicelib.domain.dossiers import DocumentRef, Dossier, LogEntry, format_dossier_code
        from chalicelib.domain.tasks import Task
        from chalicelib.domain.workflow import DossierStatus
        from chalicelib.store import models as m
        from chalicelib.store.repository import STATS_SHARDS, Store, _log_item, _task_item

        procedure = self.procedures[n % len(self.procedures)]
        # Every month of a year at both sizes: the statistics rows (agencies x months) are the same.
        submitted = BASE_DAY + timedelta(days=(n % 12) * 30 + (n // 12) % 28, minutes=(n * 7) % 390)
        day = submitted.astimezone(VN_TZ).date()
        agency = procedure.agency_code
        counter_key = (agency, f"{day:%y%m%d}")
        sequence = self.state.counters.get(counter_key, 0) + 1
        self.state.counters[counter_key] = sequence
        code = format_dossier_code(agency, day, sequence)
        self.state.codes.append(code)
        owner = f"bench-citizen-{n % 5_000:05d}"
        upload_id = f"bench{n:010d}"
        due = submitted + timedelta(days=procedure.processing_days * 1.4)
        dossier = Dossier(
            code=code, procedure_code=procedure.code, procedure_name=procedure.name, agency_code=agency, owner=owner,
            applicant={"full_name": "Nguyễn Văn An", "id_number": f"068090{n % 1_000_000:06d}",
                       "phone": "0912345678", "email": f"{owner}@example.vn",
                       "address": "12 Trần Phú, phường Xuân Hương - Đà Lạt"},
            form={"purpose": "Bổ sung hồ sơ xin việc", "note": f"hồ sơ số {n}"},
            documents=(DocumentRef("to_khai", upload_id),), status=DossierStatus.NEW, submitted_at=submitted,
            due_at=due, updated_at=submitted, fee_vnd=procedure.fee_vnd,
            fee_status="not_required" if procedure.fee_vnd <= 0 else "paid",
        )
        entries = [LogEntry(submitted, "citizen", "submit", None, DossierStatus.NEW, "Nộp hồ sơ trực tuyến")]
        bumps = [stats.bump_for_submission(dossier)]
        state = n % 10
        reception = next(step for step in procedure.route if step.kind == "reception")
        processing = next(step for step in procedure.route if step.kind == "processing")
        tasks: list[Task] = []
        moves: list[tuple[str, DossierStatus, str]] = []
        if state >= AT_DESK:
            moves.append(("receive", DossierStatus.RECEIVED, reception.agency_code))
            moves.append(("start_processing", DossierStatus.PROCESSING, "system"))
        if state >= AT_DESK + IN_PROCESSING:
            moves.append(("approve_final", DossierStatus.DONE, processing.agency_code))
        at = submitted
        for action, status, actor in moves:
            at += timedelta(hours=3)
            entry = LogEntry(at, actor, action, dossier.status, status)
            after = replace(dossier, status=status, updated_at=at,
                            received_at=at if status is DossierStatus.RECEIVED else dossier.received_at)
            bump = stats.bump_for_change(dossier, entry, after)
            if bump is not None:
                bumps.append(bump)
            entries.append(entry)
            dossier = after
        for index, step in enumerate(procedure.route):
            if step.kind == "payment":
                continue
            opened = submitted + timedelta(hours=3 * index)
            is_open = (step is reception and state < AT_DESK) or (
                step is processing and AT_DESK <= state < AT_DESK + IN_PROCESSING)
            is_done = (step is reception and state >= AT_DESK) or (
                step is processing and state >= AT_DESK + IN_PROCESSING)
            if not (is_open or is_done):
                continue
            tasks.append(Task(
                task_id=f"{zlib.crc32(code.encode()):08x}{n:010d}L{index}", dossier_code=code, step_index=index,
                kind=step.kind, role="lead", agency_code=step.agency_code, status="open" if is_open else "decided",
                opened_at=opened, due_at=opened + timedelta(days=max(step.days, 0.5)),
                last_step=step is processing, decision=None if is_open else "approve",
                outcome=None if is_open else "continue", decided_at=None if is_open else opened + timedelta(hours=2)))
            if is_open:
                self.state.open_tasks[step.agency_code] += 1
        for bump in bumps:
            shard = zlib.crc32(code.encode("utf-8")) % STATS_SHARDS
            self.state.stats.setdefault((bump.agency_code, bump.month, shard), Counter()).update(bump.counts)
        dossier_item = Store._dossier_item(replace(dossier, version=len(entries)))
        dossier_item.version = len(entries)
        upload = m.UploadItem(m.upload_pk(upload_id), m.META, upload_id=upload_id, owner=owner,
                              filename="to-khai.pdf", content_type="application/pdf", size=20_480,
                              s3_key=f"uploads/{owner}/{upload_id}/to-khai.pdf", created_at=submitted,
                              attached=True, dossier_code=code)
        return [dossier_item, upload, *(_log_item(code, entry, i) for i, entry in enumerate(entries)),
                *(_task_item(task) for task in tasks)]


def batch_write_rate(sample: int = 2_000) -> dict[str, float]:
    """Dossier-like items per second through boto3's BatchWriteItem into in-process moto (the
    client path the seeding skips), on a scratch table with the same keys and indexes."""
    import boto3

    client = boto3.client("dynamodb", region_name=REGION)
    name = "bench-batch-write"
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"}
                              for a in ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": f"GSI{i}", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": f"GSI{i}PK", "KeyType": "HASH"},
                                               {"AttributeName": f"GSI{i}SK", "KeyType": "RANGE"}]}
                                for i in (1, 2)])
    scratch = Seeder(moto_table(name))
    items: list[dict[str, Any]] = []
    n = 0
    while len(items) < sample:
        items.extend(item.serialize() for item in scratch._dossier_items(n))
        n += 1
    started = time.perf_counter()
    for index in range(0, len(items), 25):
        client.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": item}}
                                                     for item in items[index:index + 25]]})
    elapsed = time.perf_counter() - started
    direct = Seeder(moto_table(name))
    started = time.perf_counter()
    for item in items:
        direct.table.put_item(item)
    direct_elapsed = time.perf_counter() - started
    client.delete_table(TableName=name)
    return {"items": len(items), "batch_write_items_per_s": round(len(items) / elapsed),
            "backend_put_items_per_s": round(len(items) / direct_elapsed)}


# --- moto reading only what DynamoDB reads (bench-only) -------------------------------------------

# The comparisons a key condition may put on a sort key (moto's names and symbols). Each selects a
# contiguous run of a partition in key order: ``before`` says a sort key lies before that run,
# ``after`` that it lies past it.
_KEY_BOUNDS: dict[str, tuple[Callable[[Any, list[Any]], bool], Callable[[Any, list[Any]], bool]]] = {
    "EQ": (lambda key, v: key < v[0], lambda key, v: key > v[0]),
    "LT": (lambda key, v: False, lambda key, v: key >= v[0]),
    "LE": (lambda key, v: False, lambda key, v: key > v[0]),
    "GT": (lambda key, v: key <= v[0], lambda key, v: False),
    "GE": (lambda key, v: key < v[0], lambda key, v: False),
    "BETWEEN": (lambda key, v: key < v[0], lambda key, v: key > v[1]),
    # Keys starting with the prefix are >= it, and come before the other keys > it.
    "BEGINS_WITH": (lambda key, v: key < v[0], lambda key, v: key > v[0] and not key.startswith(v[0])),
}
for _symbol, _name in (("=", "EQ"), ("<", "LT"), ("<=", "LE"), (">", "GT"), (">=", "GE")):
    _KEY_BOUNDS[_symbol] = _KEY_BOUNDS[_name]


@dataclass
class SortedPartition:
    """One partition of the table or of an index, in moto's order (index hash and range keys, then
    the table's), with each item's sort tuple (``cast_value``s) for binary search."""

    attrs: list[str]
    items: list[Any]
    keys: list[tuple[Any, ...]]

    def window(self, comparison: str | None, values: list[Any], limit: int | None, start: dict[str, Any] | None,
               forward: bool) -> list[Any] | None:
        """The run of items a Query reads: from the exclusive start key (or where the key condition
        starts), ``limit`` items in the scan direction, plus the one after them: moto returns a
        LastEvaluatedKey only when an item follows the page, as it would have seen in the whole
        partition. None when this cannot be computed (moto then gets the whole partition)."""
        from moto.dynamodb.models.dynamo_type import DynamoType

        low, high = 0, len(self.items)
        if comparison:
            bounds = _KEY_BOUNDS.get(comparison)
            if bounds is None:
                return None
            before, after = bounds
            cast = [value.cast_value for value in values]
            low = bisect_left(self.keys, True, key=lambda k: not before(k[1], cast))
            high = bisect_left(self.keys, True, lo=low, key=lambda k: after(k[1], cast))
        if start:
            if any(attr not in start for attr in self.attrs):
                return None
            position = tuple(DynamoType(start[attr]).cast_value for attr in self.attrs)
            if forward:
                low = max(low, bisect_right(self.keys, position))
            else:
                high = min(high, bisect_left(self.keys, position))
        if high <= low:
            return []
        if forward:
            end = high if limit is None else min(high, low + limit)
            return self.items[low:end + 1]
        first = low if limit is None else max(low, high - limit)
        return self.items[max(first - 1, 0):high]


@dataclass
class PartitionReads:
    """While ``on``, moto's ``Table.query`` is handed only what DynamoDB would read, instead of
    listing and sorting the whole table (``all_items()``): the queried partition (of the table, or
    of an index: its map built once per table), kept sorted, from which a binary search picks the
    run of items the key condition, the exclusive start key and ``Limit`` select, as DynamoDB seeks
    to the start key and reads ``Limit`` items. Everything after that (key conditions, Limit,
    pagination, filters, projections) is moto's own code, so the answers are the ones moto would
    give; the whole partition is handed over where the run cannot be computed (legacy QueryFilter,
    which moto applies before Limit; several range key conditions; an index without a range key).

    A write through the API changes only the partitions of the items it names (``written``): the
    index maps are updated for those items and their sorted partitions dropped, as DynamoDB's own
    indexes are maintained per item. Any other change (seeding, a table created) bumps
    ``generation``: everything is rebuilt on next use."""

    on: bool = False
    generation: int = 0
    maps: dict[tuple[int, int, str], dict[Any, list[Any]]] = field(default_factory=dict)
    partitions: dict[tuple[int, int, str | None, Any], SortedPartition] = field(default_factory=dict)

    def _current(self) -> None:
        stale = [key for key in self.maps if key[0] != self.generation]
        for key in stale:
            del self.maps[key]
        for old in [key for key in self.partitions if key[0] != self.generation]:
            del self.partitions[old]

    def index_partition(self, table: Any, index_name: str, value: Any) -> list[Any]:
        """The items of one partition of an index: those that have all the index's key attributes."""
        key = (self.generation, id(table), index_name)
        partitions = self.maps.get(key)
        if partitions is None:
            self._current()
            schema = table.get_index(index_name).schema
            hash_attr = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
            others = [k["AttributeName"] for k in schema if k["KeyType"] != "HASH"]
            partitions = {}
            for rows in table.items.values():
                for item in rows.values():
                    attr = item.attrs.get(hash_attr)
                    if attr is not None and all(item.attrs.get(name) for name in others):
                        partitions.setdefault(attr, []).append(item)
            self.maps[key] = partitions
        return partitions.get(value, [])

    def index_keys(self, table: Any, item: Any) -> dict[str, Any]:
        """The index partitions ``item`` is in now: index name -> its hash key value."""
        found: dict[str, Any] = {}
        for key in self.maps:
            if key[0] != self.generation or key[1] != id(table):
                continue
            schema = table.get_index(key[2]).schema
            hash_attr = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
            others = [k["AttributeName"] for k in schema if k["KeyType"] != "HASH"]
            attr = item.attrs.get(hash_attr)
            if attr is not None and all(item.attrs.get(name) for name in others):
                found[key[2]] = attr
        return found

    def written(self, table: Any, hash_key: Any, before: Any, before_keys: dict[str, Any], after: Any) -> None:
        """One item written (``before``/``after``: moto's item objects, None if absent; an update
        may change the object in place, hence the index keys it had, taken before the write)."""
        self.partitions.pop((self.generation, id(table), None, hash_key), None)
        after_keys = self.index_keys(table, after) if after is not None else {}
        for index_name in set(before_keys) | set(after_keys):
            partitions = self.maps.get((self.generation, id(table), index_name))
            if partitions is None:
                continue
            if index_name in before_keys and before is not None:
                rows = partitions.get(before_keys[index_name], [])
                rows[:] = [row for row in rows if row is not before]
                self.partitions.pop((self.generation, id(table), index_name, before_keys[index_name]), None)
            if index_name in after_keys:
                partitions.setdefault(after_keys[index_name], []).append(after)
                self.partitions.pop((self.generation, id(table), index_name, after_keys[index_name]), None)

    def sorted_partition(self, table: Any, index_name: str | None, value: Any) -> SortedPartition | None:
        key = (self.generation, id(table), index_name, value)
        found = self.partitions.get(key)
        if found is not None:
            return found
        if index_name:
            schema = table.get_index(index_name).schema
            ranges = [k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"]
            if len(ranges) != 1:
                return None
            hashes = [k["AttributeName"] for k in schema if k["KeyType"] == "HASH"]
            attrs = table._generate_attr_to_sort_by([*hashes, table.hash_key_attr], [*ranges, table.range_key_attr])
            items = list(self.index_partition(table, index_name, value))
        else:
            attrs = [table.hash_key_attr, table.range_key_attr]
            items = list(table.items[value].values()) if value in table.items else []
        if len(attrs) < 2 or any(attr is None for attr in attrs):
            return None
        self._current()
        keyed = sorted(((tuple(item.attrs[attr].cast_value for attr in attrs), item) for item in items),
                       key=lambda pair: pair[0])
        found = SortedPartition(attrs, [item for _, item in keyed], [k for k, _ in keyed])
        self.partitions[key] = found
        return found


PARTITION_READS = PartitionReads()
_partition_patched = False
_READ_ACTIONS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "DescribeTable", "ListTables",
                           "DescribeTimeToLive", "ListTagsOfResource", "DescribeContinuousBackups"})


def install_partition_reads() -> None:
    global _partition_patched
    if _partition_patched:
        return
    import inspect

    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    original_query = Table.query
    signature = inspect.signature(original_query)

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        if not PARTITION_READS.on or not self.range_key_attr:
            return original_query(self, hash_key, *args, **kwargs)
        call = signature.bind(self, hash_key, *args, **kwargs).arguments
        index_name = call.get("index_name")
        ranges = call.get("range_key_conditions") or []
        if index_name:
            conditions = call.get("hash_key_conditions") or []
            if len(conditions) != 1 or len(ranges) > 1:
                return original_query(self, hash_key, *args, **kwargs)
            value = conditions[0][1]
        else:
            value = hash_key
        partition = PARTITION_READS.sorted_partition(self, index_name, value)
        if partition is None:
            return original_query(self, hash_key, *args, **kwargs)
        run = None if call.get("filter_kwargs") else partition.window(
            call.get("range_comparison"), list(call.get("range_objs") or []), call.get("limit"),
            call.get("exclusive_start_key"), call.get("scan_index_forward") is not False)
        read = partition.items if run is None else run
        self.all_items = lambda: read  # the instance attribute shadows the method for this call
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    original_call = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        action = self._get_action()
        if action in _READ_ACTIONS:
            return original_call(self)
        targets = _written_keys(self, action)
        if targets is None:  # not an item write (a table created...): rebuilt on next use
            PARTITION_READS.generation += 1
            return original_call(self)
        before = []
        for table, hash_key, range_key in targets:
            item = table.get_item(hash_key, range_key)
            before.append((item, PARTITION_READS.index_keys(table, item) if item is not None else {}))
        try:
            return original_call(self)
        finally:
            for (table, hash_key, range_key), (item, keys) in zip(targets, before, strict=True):
                PARTITION_READS.written(table, hash_key, item, keys, table.get_item(hash_key, range_key))

    Table.query = query  # type: ignore[method-assign]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _partition_patched = True


def _written_keys(handler: Any, action: str) -> list[tuple[Any, Any, Any]] | None:
    """The items an item write names, as (moto table, hash key, range key); None for any other
    change, or one whose request cannot be read here."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    params = getattr(handler, "params", None)
    if not isinstance(params, dict):
        return None
    named: list[tuple[str, dict[str, Any]]] = []
    if action in ("PutItem", "UpdateItem", "DeleteItem"):
        named.append((params.get("TableName", ""), params.get("Item") or params.get("Key") or {}))
    elif action == "TransactWriteItems":
        for entry in params.get("TransactItems") or []:
            for kind in ("Put", "Update", "Delete"):
                if kind in entry:
                    body = entry[kind]
                    named.append((body.get("TableName", ""), body.get("Item") or body.get("Key") or {}))
    elif action == "BatchWriteItem":
        for name, requests_ in (params.get("RequestItems") or {}).items():
            for request in requests_:
                body = request.get("PutRequest") or request.get("DeleteRequest") or {}
                named.append((name, body.get("Item") or body.get("Key") or {}))
    else:
        return None
    targets: list[tuple[Any, Any, Any]] = []
    try:
        for name, attrs in named:
            table = handler.dynamodb_backend.get_table(name)
            range_attr = table.range_key_attr
            targets.append((table, DynamoType(attrs[table.hash_key_attr]),
                            DynamoType(attrs[range_attr]) if range_attr else None))
    except Exception:  # moto answers the malformed request itself; here: rebuild everything
        return None
    return targets


@contextmanager
def partition_reads(on: bool) -> Iterator[None]:
    previous = PARTITION_READS.on
    PARTITION_READS.on = on
    try:
        yield
    finally:
        PARTITION_READS.on = previous


# --- measuring ----------------------------------------------------------------------------------

@dataclass
class Meter:
    """Counts the DynamoDB calls moto answers and the items they return, while ``on``."""

    on: bool = False
    calls: Counter[str] = field(default_factory=Counter)
    items: int = 0


METER = Meter()
_metered = False


def install_meter() -> None:
    global _metered
    if _metered:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        result = original(self)
        if METER.on:
            action = self._get_action()
            METER.calls[action] += 1
            body = result[2] if isinstance(result, tuple) and len(result) == 3 else ""
            try:
                data = json.loads(body) if body else {}
            except (TypeError, ValueError):
                data = {}
            if "Count" in data:
                METER.items += int(data["Count"])
            elif "Item" in data:
                METER.items += 1
            elif "Responses" in data:
                METER.items += sum(len(v) for v in data["Responses"].values())
        return result

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _metered = True


@dataclass(frozen=True)
class Probe:
    name: str
    what: str
    request: Callable[[int], Any]  # the i-th request; returns the chalice response
    checked: bool = True  # one untimed request first, which must answer 200 (the API's paths)


def _timed(probe_call: Callable[[int], Any], count: int, *, budget: float, minimum: int, first: int = 0
           ) -> list[float]:
    samples: list[float] = []
    started = time.perf_counter()
    for i in range(first, first + count):
        t0 = time.perf_counter()
        probe_call(i)
        samples.append(time.perf_counter() - t0)
        if len(samples) >= minimum and time.perf_counter() - started > budget:
            break
    return samples


def dynamodb_work(probes: Sequence[Probe]) -> dict[str, Any]:
    """Per probe: one checked request (the API's paths must answer 200), then the DynamoDB calls
    one request makes and the items they return (metered, untimed)."""
    results: dict[str, Any] = {}
    for probe in probes:
        response = probe.request(0) if probe.checked else None
        if response is not None and response.status_code != 200:
            raise RuntimeError(f"{probe.name}: {probe.what} answered {response.status_code}: {response.body[:300]!r}")
        METER.calls.clear()
        METER.items = 0
        METER.on = True
        try:
            probe.request(1)
        finally:
            METER.on = False
        results[probe.name] = {"what": probe.what, "dynamodb_calls": dict(sorted(METER.calls.items())),
                               "items_read": METER.items}
    return results


def measure(probes: Sequence[Probe], *, requests: int, budget: float, minimum: int = MIN_REQUESTS) -> dict[str, Any]:
    """Per probe: the DynamoDB work of one request, then up to ``requests`` timed ones (fewer once
    ``budget`` seconds are spent, but at least ``minimum``)."""
    results = dynamodb_work(probes)
    for probe in probes:
        results[probe.name].update(summary_ms(_timed(probe.request, requests, budget=budget, minimum=minimum)))
    return results


def summary_of_rounds(rounds: Sequence[Sequence[float]]) -> dict[str, Any]:
    """The median of the rounds' p50s (a burst of another process's load spoils one round, not
    the figure), p90 and min over all samples, and each round's p50."""
    samples = [sample for one in rounds for sample in one]
    round_p50s = [percentile(one, 50) for one in rounds if one]
    return {**summary_ms(samples), "p50_ms": round(percentile(round_p50s, 50) * 1000, 3),
            "p50_pooled_ms": round(percentile(samples, 50) * 1000, 3),
            "round_p50_ms": [round(p * 1000, 3) for p in round_p50s]}


def raw_probes(table_name: str, codes: Sequence[str], agency: str) -> list[Probe]:
    """moto's own primitives, through boto3 as the app calls them: a GetItem, a Query on one
    dossier's partition, and a Query on the agency's inbox partition of GSI1 (limit 21)."""
    import boto3

    from chalicelib.store import models as m

    client = boto3.client("dynamodb", region_name=REGION)
    rng = random.Random(SEED + 1)
    picked = [rng.choice(codes) for _ in range(REQUESTS + 2)]

    class Ok:
        status_code = 200
        body = b""

    def get_item(i: int) -> Any:
        client.get_item(TableName=table_name, Key={"PK": {"S": m.dossier_pk(picked[i % len(picked)])},
                                                   "SK": {"S": m.META}})
        return Ok

    def query_partition(i: int) -> Any:
        client.query(TableName=table_name, KeyConditionExpression="PK = :pk",
                     ExpressionAttributeValues={":pk": {"S": m.dossier_pk(picked[i % len(picked)])}})
        return Ok

    def query_index(i: int) -> Any:
        client.query(TableName=table_name, IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk", Limit=21,
                     ExpressionAttributeValues={":pk": {"S": m.agency_inbox_pk(agency, "open")}})
        return Ok

    return [Probe("moto_get_item", "boto3 GetItem, one dossier", get_item, checked=False),
            Probe("moto_query_table", "boto3 Query, one dossier's partition", query_partition, checked=False),
            Probe("moto_query_gsi", "boto3 Query, GSI1 inbox partition, Limit 21", query_index, checked=False)]


def api_probes(client: Any, codes: Sequence[str], agency_key: str, procedure_codes: Sequence[str]) -> list[Probe]:
    rng = random.Random(SEED)
    picked = [rng.choice(codes) for _ in range(REQUESTS + 2)]
    agency_headers = {"Authorization": f"Bearer {agency_key}"}
    return [
        Probe("browse_list", "GET /procedures", lambda i: client.http.get("/procedures")),
        Probe("browse_detail", "GET /procedures/{code}",
              lambda i: client.http.get(f"/procedures/{procedure_codes[i % len(procedure_codes)]}")),
        Probe("track", "GET /track/{code}", lambda i: client.http.get(f"/track/{picked[i % len(picked)]}")),
        Probe("agency_inbox", "GET /agency/tasks?status=open",
              lambda i: client.http.get("/agency/tasks?status=open", headers=agency_headers)),
        Probe("stats", "GET /stats", lambda i: client.http.get("/stats")),
        Probe("stats_uncached", "GET /stats, MOTCUA_STATS_CACHE_SECONDS=0", lambda i: uncached_stats(client)),
    ]


def uncached_stats(client: Any) -> Any:
    """GET /stats reading its rows on every request: what a container's first request costs."""
    previous = os.environ.get("MOTCUA_STATS_CACHE_SECONDS")
    os.environ["MOTCUA_STATS_CACHE_SECONDS"] = "0"
    try:
        return client.http.get("/stats")
    finally:
        if previous is None:
            del os.environ["MOTCUA_STATS_CACHE_SECONDS"]
        else:
            os.environ["MOTCUA_STATS_CACHE_SECONDS"] = previous


# --- twin tables -------------------------------------------------------------------------------

def twin_table(table_name: str, source: Any, name: str) -> Any:
    """A new moto table with ``table_name``'s keys, indexes and stream, holding a copy of
    ``source``'s items (the catalogue, the agency key, the dossiers seeded so far)."""
    import boto3

    client = boto3.client("dynamodb", region_name=REGION)
    described = client.describe_table(TableName=table_name)["Table"]
    options: dict[str, Any] = {}
    if described.get("GlobalSecondaryIndexes"):
        options["GlobalSecondaryIndexes"] = [
            {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": index["Projection"]}
            for index in described["GlobalSecondaryIndexes"]]
    if described.get("StreamSpecification"):
        options["StreamSpecification"] = described["StreamSpecification"]
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=described["KeySchema"],
                        AttributeDefinitions=described["AttributeDefinitions"], **options)
    twin = moto_table(name)
    for rows in source.items.values():
        for item in rows.values():
            twin.put_item(item.to_json()["Attributes"])
    PARTITION_READS.generation += 1
    return twin


@contextmanager
def serving(table_name: str, table: Any) -> Iterator[None]:
    """moto answers calls on ``table_name`` from ``table`` (one of the twins) meanwhile. The app's
    memory of the statistics rows is of the table it read: forgotten at each switch, so each size's
    stats are its own (the first request after a switch reads them, as a fresh container would)."""
    from moto.dynamodb.models import dynamodb_backends

    from chalicelib.services.deps import get_store

    tables = dynamodb_backends[ACCOUNT_ID][REGION].tables
    previous = tables[table_name]
    tables[table_name] = table
    get_store().forget_statistics()
    try:
        yield
    finally:
        tables[table_name] = previous
        get_store().forget_statistics()


# --- the part ------------------------------------------------------------------------------------

# Which moto primitive each path's cost grows with (its Queries on the table, or on GSI1).
BASELINE_OF = {"browse_list": "moto_query_gsi", "browse_detail": "moto_get_item", "track": "moto_get_item",
               "agency_inbox": "moto_query_gsi", "stats": "moto_query_table", "stats_uncached": "moto_query_table"}
# Paths shown beside the target's, not judged: the stats Query every request would make without
# the container's memory of the rows (they grow with agencies x months x counter shards, so with
# dossiers until every shard of every agency-month has one).
SHOWN_ONLY = frozenset({"stats_uncached"})
AS_IS_MINIMUM = 3
AS_IS_LARGE = 2
AS_IS_BUDGET_SECONDS = 20.0
ROUNDS = 5


def run(context: RunContext | None = None) -> PartResult:  # needs no other part's figures
    """The registered part (``python -m bench scale``): :func:`scale` with the defaults, as a
    ``bench.common.PartResult``."""
    result = scale()
    return PartResult(data=result, tables=tables(result))


def scale(sizes: Sequence[int] = SIZES, requests: int = REQUESTS, budget: float = TIME_BUDGET_SECONDS,
          rounds: int = ROUNDS) -> dict[str, Any]:
    """Seeds one table per size, measures them in alternating rounds, and compares the largest
    size with the smallest.

    The smallest size is seeded into the app's table; each larger size into a twin table (a copy
    of the previous one, grown), so that every table sits in the process's heap while any is
    measured. ``rounds`` times, in alternating order of size, moto serves the app's table name
    from each twin in turn and each probe is timed ``requests / rounds`` times: the read paths and
    moto's primitives with partition reads (the headline: what the app's access patterns cost).
    Then moto's primitives as moto is (whole-table Query), and the read paths as moto is at the
    smallest size only (at 100,000 dossiers one inbox request would take minutes there)."""
    from chalicelib.config import get_settings
    from chalicelib.services.agency_auth import issue_key

    started = time.perf_counter()
    install_meter()
    install_partition_reads()
    ordered = sorted(sizes)
    smallest = ordered[0]
    with moto_app() as (client, _outputs):
        table_name = get_settings().table_name
        seeder = Seeder(moto_table(table_name))
        procedure_codes = [p.code for p in seeder.procedures]
        sample = batch_write_rate()
        twins: dict[int, Any] = {}
        codes: dict[int, list[str]] = {}
        by_size: dict[str, Any] = {}
        agency = ""
        key = ""
        for size in ordered:
            if twins:
                seeder.table = twin_table(table_name, seeder.table, f"{table_name}-{size}")
            seconds = seeder.grow_to(size)
            if not agency:
                # The agency holding the most open tasks (a desk: every route starts there).
                agency = seeder.state.open_tasks.most_common(1)[0][0]
                key = issue_key(agency, "bench")  # before the twins are copied: every table has it
            twins[size] = seeder.table
            codes[size] = list(seeder.state.codes)
            by_size[str(size)] = {"dossiers": size, "table_items": table_item_count(seeder.table),
                                  "seed_seconds": round(seconds, 1),
                                  "open_tasks_of_agency": seeder.state.open_tasks[agency]}
        # The tables are moto's, not the app's: in AWS they are not in the Lambda's heap, whose
        # cyclic GC would otherwise walk millions of their objects at each full collection.
        gc.collect()
        gc.freeze()
        try:
            probes = {size: {"paths": api_probes(client, codes[size], key, procedure_codes),
                             "moto": raw_probes(table_name, codes[size], agency)} for size in ordered}
            samples: dict[int, dict[str, list[list[float]]]] = {size: {} for size in ordered}
            per_round = max(1, -(-requests // rounds))
            minimum = max(1, -(-MIN_REQUESTS // rounds))
            with partition_reads(True):
                for size in ordered:
                    with serving(table_name, twins[size]):
                        for group in ("paths", "moto"):
                            by_size[str(size)][group] = dynamodb_work(probes[size][group])
                for turn in range(rounds):
                    for size in (ordered if turn % 2 == 0 else ordered[::-1]):
                        with serving(table_name, twins[size]):
                            for group in ("paths", "moto"):
                                for probe in probes[size][group]:
                                    samples[size].setdefault(probe.name, []).append(_timed(
                                        probe.request, per_round, budget=budget / rounds, minimum=minimum,
                                        first=turn * per_round))
            for size in ordered:
                for group in ("paths", "moto"):
                    for name, entry in by_size[str(size)][group].items():
                        entry.update(summary_of_rounds(samples[size][name]))
            for size in ordered:
                measured = by_size[str(size)]
                with serving(table_name, twins[size]):
                    # At 100,000 dossiers one Query of moto as is takes seconds: a few samples say enough.
                    as_is = AS_IS_MINIMUM if size == smallest else AS_IS_LARGE
                    measured["moto_as_is"] = measure(probes[size]["moto"],
                                                     requests=requests if size == smallest else as_is,
                                                     budget=AS_IS_BUDGET_SECONDS, minimum=as_is)
                    if size == smallest:
                        measured["paths_as_is"] = measure(probes[size]["paths"], requests=requests,
                                                          budget=AS_IS_BUDGET_SECONDS, minimum=AS_IS_MINIMUM)
                if size == smallest:
                    # The patch must not change what moto answers: same calls, same items, both ways.
                    agree = all(measured[patched][name]["dynamodb_calls"] == measured[plain][name]["dynamodb_calls"]
                                and measured[patched][name]["items_read"] == measured[plain][name]["items_read"]
                                for patched, plain in (("paths", "paths_as_is"), ("moto", "moto_as_is"))
                                for name in measured[patched])
                    if not agree:
                        raise RuntimeError("partition reads changed moto's answers: the measurement is void")
        finally:
            gc.unfreeze()
    return {"part": "scale", "target_p50_ratio": TARGET_RATIO, "sizes": ordered, "requests": requests,
            "rounds": rounds, "agency": agency,
            "seeding": {**sample, "seed_seconds_total": round(seeder.state.seconds, 1)},
            "by_size": by_size, "comparison": compare(by_size, ordered),
            "seconds": round(time.perf_counter() - started, 1)}


def compare(by_size: dict[str, Any], sizes: Sequence[int]) -> dict[str, Any]:
    """Largest size over smallest, per path and primitive: p50 and p90 ratios, whether the
    DynamoDB work (calls, items returned) is the same, and the path's ratio over its baseline's."""
    small, large = by_size[str(min(sizes))], by_size[str(max(sizes))]
    comparison: dict[str, Any] = {}
    for group in ("paths", "moto", "moto_as_is"):
        for name, a in small[group].items():
            b = large[group][name]
            entry: dict[str, Any] = {
                "p50_ratio": ratio(b["p50_ms"], a["p50_ms"]), "p90_ratio": ratio(b["p90_ms"], a["p90_ms"]),
                "same_dynamodb_work": a["dynamodb_calls"] == b["dynamodb_calls"] and a["items_read"] == b["items_read"],
            }
            if not entry["same_dynamodb_work"] and a["items_read"] and b["items_read"]:
                # The same path reading more (or fewer) items at one size: its p50 per item read.
                entry["p50_per_item_ratio"] = ratio(b["p50_ms"] / b["items_read"], a["p50_ms"] / a["items_read"])
            if group == "paths":
                baseline = BASELINE_OF[name]
                base = ratio(large["moto"][baseline]["p50_ms"], small["moto"][baseline]["p50_ms"])
                entry.update({"moto_baseline": baseline, "moto_baseline_ratio": base,
                              "ratio_over_moto_baseline": relative_to_baseline(entry["p50_ratio"], base)})
                if name not in SHOWN_ONLY:
                    entry["flat"] = entry["p50_ratio"] <= TARGET_RATIO
            comparison[f"{group}:{name}"] = entry
    return comparison


def rows(result: dict[str, Any]) -> list[list[str]]:
    """The printed table: one row per read path and per moto primitive, at both sizes."""
    small, large = (str(s) for s in (min(result["sizes"]), max(result["sizes"])))
    labels = {"paths": "", "moto": "", "moto_as_is": " (moto as is)"}
    table = [["path", "what", f"p50 ms @{small}", f"p90 ms @{small}", f"p50 ms @{large}", f"p90 ms @{large}",
              "p50 ratio", "flat?", "moto base ratio", f"DynamoDB work per request @{large} (items) same?"]]
    for key, comparison in result["comparison"].items():
        group, name = key.split(":", 1)
        a, b = result["by_size"][small][group][name], result["by_size"][large][group][name]
        calls = "+".join(f"{count} {action}" for action, count in b["dynamodb_calls"].items())
        flat = "" if "flat" not in comparison else ("yes" if comparison["flat"] else "NO")
        table.append([name + labels[group], a["what"], f"{a['p50_ms']:.1f}", f"{a['p90_ms']:.1f}",
                      f"{b['p50_ms']:.1f}", f"{b['p90_ms']:.1f} (n={b['n']})", f"{comparison['p50_ratio']:.2f}×",
                      flat, f"{comparison['moto_baseline_ratio']:.2f}×" if "moto_baseline_ratio" in comparison else "",
                      f"{calls} ({b['items_read']}) {'yes' if comparison['same_dynamodb_work'] else 'NO'}"])
    for name, a in result["by_size"][small].get("paths_as_is", {}).items():
        table.append([name + " (moto as is)", a["what"], f"{a['p50_ms']:.1f}", f"{a['p90_ms']:.1f} (n={a['n']})",
                      "not run", "", "", "", "", ""])
    return table


def tables(result: dict[str, Any]) -> list[Table]:
    table = rows(result)
    seeding = result["seeding"]
    small, large = (str(s) for s in (min(result["sizes"]), max(result["sizes"])))
    notes = [f"{size} dossiers: {data['table_items']} items in the table, seeded in {data['seed_seconds']} s, "
             f"{data['open_tasks_of_agency']} open tasks in the inbox of {result['agency']}"
             for size, data in result["by_size"].items()]
    notes += [
        f"seeding writes through moto's backend (Table.put_item): {seeding['backend_put_items_per_s']} items/s; "
        f"BatchWriteItem through boto3 in-process: {seeding['batch_write_items_per_s']} items/s "
        f"({seeding['items']} items sampled)",
        "rows without '(moto as is)': moto reading what DynamoDB reads (bench.scale.PartitionReads: the "
        "queried partition, from the start key, Limit items); '(moto as is)': moto 5.2.5's Query lists and "
        "sorts the whole table for every call",
        f"p50 = median of {result.get('rounds', 1)} rounds' p50s, the sizes' twin tables measured in alternating "
        "rounds in one process (both tables in its heap, moto's objects frozen out of the cyclic GC); the "
        "GetItem rows (O(1) in moto) show the run's noise",
    ]
    notes += [
        f"{key.split(':', 1)[1]}: reads {result['by_size'][small][group][name]['items_read']} items at "
        f"{small}, {result['by_size'][large][group][name]['items_read']} at {large}: "
        f"p50 per item read {comparison['p50_per_item_ratio']:.2f}×"
        for key, comparison in result["comparison"].items() if "p50_per_item_ratio" in comparison
        for group, name in [key.split(":", 1)]
    ]
    notes += [
        f"part took {result['seconds']} s",
    ]
    return [Table(title=f"Flat at scale: p50 with {result['sizes'][0]:,} and {result['sizes'][-1]:,} dossiers "
                        f"(target ≤ {result['target_p50_ratio']}×)", headers=table[0], rows=table[1:], notes=notes)]


def print_rows(result: dict[str, Any]) -> None:
    for table in tables(result):
        print(format_table(table))


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--sizes", type=lambda text: [int(s) for s in text.split(",")], default=list(SIZES))
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--budget", type=float, default=TIME_BUDGET_SECONDS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--json", type=Path, help="also write the result there")
    parser.add_argument("--write-results", action="store_true", help="merge it into bench/results.json as "
                        "'python -m bench scale' does")
    args = parser.parse_args(argv)
    result = scale(args.sizes, args.requests, args.budget, args.rounds)
    print_rows(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    if args.write_results:
        write_results({"scale": {"machine": machine_info(), **result}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

