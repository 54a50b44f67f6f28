"""Repositories over the single table: domain objects in, domain objects out.

See ``chalicelib/store/models.py`` for the keys and the access patterns.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pynamodb.exceptions import CancellationReason, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.domain import audit, stats
from chalicelib.domain.audit import AuditLine, StaffRead
from chalicelib.domain.catalogue import (
    Agency,
    Catalogue,
    FeeExemption,
    Procedure,
    agency_from_dict,
    agency_to_dict,
    procedure_from_dict,
    procedure_from_stored,
    procedure_to_dict,
    route_from_dicts,
    route_to_dicts,
)
from chalicelib.domain.dossiers import DocumentRef, Dossier, LogEntry, OpenStepTask, Rating, ResultDocument
from chalicelib.domain.errors import Conflict, InvalidInput
from chalicelib.domain.slips import Slip, SlipNumber
from chalicelib.domain.tasks import Task
from chalicelib.domain.text import fold
from chalicelib.domain.uploads import Upload, agency_owner
from chalicelib.domain.workflow import FINAL_STATUSES, DossierStatus
from chalicelib.store import models as m
from chalicelib.store import payments as _payments  # noqa: F401  (its items share the dossier's partition)
from chalicelib.store.catalogue_cache import CatalogueCache, PointerSnapshot

# DynamoDB allows 100 items in one transaction; a catalogue load is all-or-nothing.
MAX_TRANSACTION_ITEMS = 100
# Rows per agency-month of statistics counters (see _count_in), and how often a transaction
# that collided with another on one of them is tried again.
STATS_SHARDS = 4
TRANSACTION_CONFLICT_RETRIES = 3
# How long a submission keeps trying for its number of the day when others take it first (well
# under API Gateway's 29 s), and the longest pause between two tries.
NUMBERING_BUDGET_SECONDS = 20.0
NUMBERING_MAX_PAUSE = 0.25


class StoreError(RuntimeError):
    """The table could not do what was asked (not the caller's fault)."""


@dataclass(frozen=True)
class RateCharge:
    """One use of a rate-limited action to count in a transaction: allowed while fewer than
    ``limit`` uses are counted in the caller's window (pattern 15)."""

    action: str
    caller: str
    window_start: int
    limit: int
    expires_at: int


@dataclass(frozen=True)
class Statistics:
    """What the statistics partition held when it was read (pattern 14)."""

    summary: dict[str, Any] | None
    rows: tuple[stats.CounterRow, ...]
    read_at: datetime


class SubmissionRefused(Exception):
    """A new dossier's transaction was refused by a condition that is not about its number.

    ``uploads`` holds each upload whose condition failed, as the transaction found it (None: no
    such upload); ``rate_limited`` says the caller's rate row was full. Nothing was written."""

    def __init__(self, *, uploads: dict[str, Upload | None], rate_limited: bool) -> None:
        super().__init__(f"submission refused (uploads {sorted(uploads)}, rate limited: {rate_limited})")
        self.uploads = uploads
        self.rate_limited = rate_limited


T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    raw = json.dumps(key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_GSI1_CURSOR_ATTRS = frozenset({"PK", "SK", "GSI1PK", "GSI1SK"})


def _decode_cursor(cursor: str | None, *, partition_attr: str, partition: str) -> dict[str, Any] | None:
    """Reads a cursor back, refusing one that points into another partition (another owner's list)."""
    if not cursor:
        return None
    invalid = InvalidInput("Con trỏ phân trang không hợp lệ / Invalid cursor", code="invalid_cursor",
                           field="cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid from None
    # DynamoDB wants a whole key of the index's items as the start: the table's key and the
    # index's; anything less or more is refused there (a 400 the caller would get as a 500).
    if not isinstance(key, dict) or set(key) != _GSI1_CURSOR_ATTRS:
        raise invalid
    for name, value in key.items():
        if not (isinstance(name, str) and isinstance(value, dict) and set(value) == {"S"}
                and isinstance(value["S"], str) and value["S"]):  # an empty key value: refused there too
            raise invalid
    if key.get(partition_attr, {}).get("S") != partition:
        raise invalid
    return key


def _gsi1_key(item: m.TableItem) -> dict[str, Any]:
    return {"PK": {"S": item.pk}, "SK": {"S": item.sk},
            "GSI1PK": {"S": item.gsi1pk}, "GSI1SK": {"S": item.gsi1sk}}


def _take_page(results: Iterable[m.TableItem], limit: int) -> Page[m.TableItem]:
    """Up to ``limit`` items, and a cursor only if at least one more item exists."""
    items: list[m.TableItem] = []
    for item in results:
        if len(items) == limit:
            return Page(items, _encode_cursor(_gsi1_key(items[-1])))
        items.append(item)
    return Page(items, None)


def _attach_uploads_in(transaction: TransactWrite, refs: Iterable[DocumentRef], *, owner: str, code: str,
                       stored_by: int | None = None) -> None:
    """Marks uploads as the dossier's, on condition that they are the owner's and still free.

    With ``stored_by`` (epoch seconds) the transaction also checks what a caller would otherwise
    read first: each upload unexpired at that time and in S3 with its declared size
    (``stored_size``, recorded from S3's event); a failed check returns the upload's item
    (ALL_OLD), which tells why without another read."""
    for ref in refs:
        condition = (m.UploadItem.pk.exists() & (m.UploadItem.attached == False)  # noqa: E712
                     & (m.UploadItem.owner == owner))
        if stored_by is not None:
            condition = (condition & (m.UploadItem.expires_at > stored_by)
                         & (m.UploadItem.stored_size == m.UploadItem.size))
        transaction.update(
            m.UploadItem(m.upload_pk(ref.upload_id), m.META),
            actions=[
                m.UploadItem.attached.set(True),
                m.UploadItem.dossier_code.set(code),
                m.UploadItem.expires_at.remove(),
            ],
            condition=condition,
            return_values="ALL_OLD" if stored_by is not None else None,
            add_version_condition=False,
        )


def _attach_result_in(transaction: TransactWrite, result: ResultDocument, *, owner: str, code: str) -> None:
    """Marks an agency's result upload as the dossier's, on condition that it is that agency's,
    was requested for that dossier and is still free."""
    transaction.update(
        m.UploadItem(m.upload_pk(result.upload_id), m.META),
        actions=[m.UploadItem.attached.set(True), m.UploadItem.expires_at.remove()],
        condition=(m.UploadItem.pk.exists() & (m.UploadItem.attached == False)  # noqa: E712
                   & (m.UploadItem.owner == owner) & (m.UploadItem.dossier_code == code)),
        add_version_condition=False,
    )


def _rate_row(charge: RateCharge) -> m.RateItem:
    return m.RateItem(m.rate_pk(charge.action, charge.caller), m.rate_sk(charge.window_start))


def _rate_actions(charge: RateCharge) -> list[Any]:
    return [m.RateItem.kind.set(m.RateItem), m.RateItem.hits.add(1), m.RateItem.expires_at.set(charge.expires_at)]


def _rate_condition(charge: RateCharge) -> Any:
    return m.RateItem.hits.does_not_exist() | (m.RateItem.hits < charge.limit)


def _charge_rate_in(transaction: TransactWrite, charge: RateCharge) -> None:
    """Counts one use in a transaction, on condition that the window has room (see ``take_rate``)."""
    transaction.update(_rate_row(charge), actions=_rate_actions(charge), condition=_rate_condition(charge))


def _count_in(transaction: TransactWrite, bump: stats.Bump | None, dossier_code: str) -> None:
    """Adds one agency-month's counters to a transaction (an ADD creates the row). Each
    agency-month has STATS_SHARDS rows, a dossier always counting in the same one, so that
    concurrent transactions of one busy agency seldom write the same item."""
    if bump is None:
        return
    row = m.StatsCounterItem
    shard = zlib.crc32(dossier_code.encode("utf-8")) % STATS_SHARDS
    actions: list[Any] = [row.kind.set(row), row.agency_code.set(bump.agency_code), row.month.set(bump.month)]
    actions.extend(getattr(row, name).add(value) for name, value in sorted(bump.counts.items()))
    transaction.update(row(m.STATS_PK, m.stats_counter_sk(bump.month, bump.agency_code, shard)), actions=actions)


def _audit_line(item: m.AuditItem) -> AuditLine:
    return AuditLine(sequence=int(item.sequence), at=item.at, agency_code=item.agency_code, key_id=item.key_id,
                     action=item.action, prev_hash=item.prev_hash, hash=item.hash, read_id=item.read_id)


def staff_read_of(item: m.StaffReadItem) -> StaffRead:
    return StaffRead(read_id=item.read_id, at=item.at, agency_code=item.agency_code, key_id=item.key_id,
                     action=item.action, dossier_codes=tuple(str(code) for code in item.dossier_codes))


def _staff_read_item(read: StaffRead) -> m.StaffReadItem:
    return m.StaffReadItem(m.staff_reads_pk(read.agency_code, read.at), m.staff_read_sk(read.at, read.read_id),
                           read_id=read.read_id, at=read.at, agency_code=read.agency_code, key_id=read.key_id,
                           action=read.action, dossier_codes=list(read.dossier_codes))


def _dossier_conflict() -> Conflict:
    return Conflict("Hồ sơ vừa được cập nhật, vui lòng thử lại / The dossier changed meanwhile",
                    code="concurrent_update")


def _counter_row(item: m.StatsCounterItem) -> stats.CounterRow:
    counts = {name: int(getattr(item, name) or 0) for name in stats.COUNTERS}
    return stats.CounterRow(str(item.agency_code), str(item.month), counts)


def _log_item(code: str, entry: LogEntry, sequence: int) -> m.LogItem:
    return m.LogItem(
        m.dossier_pk(code),
        m.log_sk(entry.at.isoformat(), sequence),
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        from_status=int(entry.from_status) if entry.from_status is not None else None,
        to_status=int(entry.to_status),
        note=entry.note,
    )


def log_entry_of(item: m.LogItem) -> LogEntry:
    return LogEntry(
        at=item.at,
        actor=item.actor,
        action=item.action,
        from_status=DossierStatus(int(item.from_status)) if item.from_status is not None else None,
        to_status=DossierStatus(int(item.to_status)),
        note=item.note or "",
    )


def _dossier(item: m.DossierItem, history: tuple[LogEntry, ...] = (),
             details: m.DossierDetailsItem | None = None) -> Dossier:
    """The dossier of a META item and its DETAILS item. Without DETAILS (a read of META alone,
    or a dossier stored before DETAILS existed) the applicant, form, documents and fee exemption
    are META's: empty for a dossier that has DETAILS, which such readers (lists, tracking) never show."""
    filed: m.DossierDetailsItem | m.DossierItem = details if details is not None else item
    return Dossier(
        code=item.code,
        procedure_code=item.procedure_code,
        procedure_name=item.procedure_name,
        agency_code=item.agency_code,
        owner=item.owner,
        applicant=dict(filed.applicant or {}),
        form=dict(filed.form or {}),
        documents=tuple(DocumentRef(d.document_id, d.upload_id) for d in filed.documents or ()),
        status=DossierStatus(int(item.status)),
        submitted_at=item.submitted_at,
        received_at=item.received_at,
        due_at=item.due_at,
        updated_at=item.updated_at,
        fee_vnd=int(item.fee_vnd),
        fee_status=item.fee_status,
        overdue=bool(item.overdue),
        version=int(item.version or 0),
        history=history,
        result=_result(item),
        fee_exemption=_fee_exemption(filed),
        rating=_rating(item),
        open_tasks=_open_tasks(item),
        route=route_from_dicts(details.route) if details is not None and details.route else None,
        processing_days=float(details.processing_days)
        if details is not None and details.processing_days is not None else None,
    )


def _details_item(dossier: Dossier) -> m.DossierDetailsItem:
    return m.DossierDetailsItem(
        m.dossier_pk(dossier.code), m.DETAILS_SK, applicant=dossier.applicant, form=dossier.form,
        documents=[m.DocumentRefMap(document_id=d.document_id, upload_id=d.upload_id)  # type: ignore[no-untyped-call]
                   for d in dossier.documents],
        fee_exemption=_fee_exemption_body(dossier.fee_exemption),
        route=route_to_dicts(dossier.route) if dossier.route is not None else None,
        processing_days=dossier.processing_days,
    )


def _filed(dossier: Dossier) -> tuple[Any, ...]:
    """What DETAILS holds: set at submission, changed by a supplement only."""
    return dossier.applicant, dossier.form, dossier.documents, dossier.fee_exemption


# Not rewritten by a change: the keys, the version (PynamoDB's condition) and what DETAILS holds.
_DETAILS_ATTRIBUTES = ("applicant", "form", "documents", "fee_exemption")
_NOT_META_ACTIONS = frozenset({"pk", "sk", "kind", "version", *_DETAILS_ATTRIBUTES})


def _meta_actions(item: m.DossierItem) -> list[Any]:
    """The update that makes a stored META item hold ``item``'s attributes, as a put would."""
    actions: list[Any] = []
    for name, attribute in m.DossierItem.get_attributes().items():
        if name in _NOT_META_ACTIONS:
            continue
        value = getattr(item, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    return actions


def _fee_exemption_body(exemption: FeeExemption | None) -> dict[str, str] | None:
    if exemption is None:
        return None
    return {"category": exemption.category, "name": exemption.name, "legal_basis": exemption.legal_basis}


def _fee_exemption(item: m.DossierDetailsItem | m.DossierItem) -> FeeExemption | None:
    body = item.fee_exemption
    if not isinstance(body, dict) or not body.get("category"):
        return None
    return FeeExemption(category=str(body["category"]), name=str(body.get("name", "")),
                        legal_basis=str(body.get("legal_basis", "")))


def _open_tasks_body(tasks: tuple[OpenStepTask, ...] | None) -> list[list[Any]] | None:
    if tasks is None:
        return None
    # Positional, not objects: the key names cost ~50 bytes a task on an item every change rewrites.
    return [[t.task_id, t.step_index, t.kind, t.agency_code, t.due_at.isoformat()] for t in tasks]


def _open_tasks(item: m.DossierItem) -> tuple[OpenStepTask, ...] | None:
    body = item.open_tasks
    if not isinstance(body, list):
        return None  # stored before open tasks were kept on the dossier
    fields = ("task_id", "step_index", "kind", "agency_code", "due_at")
    rows = [[t[name] for name in fields] if isinstance(t, dict) else t for t in body]  # objects: written before
    return tuple(OpenStepTask(task_id=str(task_id), step_index=int(step), kind=str(kind), agency_code=str(agency),
                              due_at=datetime.fromisoformat(due)) for task_id, step, kind, agency, due in rows)


def _rating(item: m.DossierItem) -> Rating | None:
    if item.rating_score is None or item.rated_at is None:
        return None
    return Rating(score=int(item.rating_score), comment=item.rating_comment or "", rated_at=item.rated_at)


def _result(item: m.DossierItem) -> ResultDocument | None:
    if not (item.result_upload_id and item.result_s3_key):
        return None
    return ResultDocument(upload_id=item.result_upload_id, s3_key=item.result_s3_key,
                          filename=item.result_filename or "", content_type=item.result_content_type or "")


def _upload(item: m.UploadItem) -> Upload:
    return Upload(
        upload_id=item.upload_id,
        owner=item.owner,
        filename=item.filename,
        content_type=item.content_type,
        size=int(item.size),
        s3_key=item.s3_key,
        created_at=item.created_at,
        attached=bool(item.attached),
        dossier_code=item.dossier_code,
        stored_size=int(item.stored_size) if item.stored_size is not None else None,
        stored_etag=item.stored_etag,
    )


_numbering_locks: dict[str, threading.Lock] = {}
_numbering_locks_guard = threading.Lock()


def _numbering_lock(counter_pk: str) -> threading.Lock:
    """This process's lock for one day's counter (only an optimisation: the transaction's
    condition is what keeps numbers unique across processes)."""
    with _numbering_locks_guard:
        if len(_numbering_locks) > 1024:  # yesterday's counters
            _numbering_locks.clear()
        return _numbering_locks.setdefault(counter_pk, threading.Lock())


class Store(m.BoundStore):
    def _transaction(self) -> TransactWrite:
        # Counters and the catalogue summary are written in transactions only: what this container
        # remembered of the statistics is stale from the first one it makes.
        self._statistics_memory = None
        # The models' own connection (one botocore client per process): a connection of the
        # store's would cost another session and client, tens of ms and MiB on a cold start.
        return TransactWrite(connection=m.TableItem._get_connection().connection)

    # --- catalogue (patterns 0-4; versions: see models.py) ---------------------------

    _catalogue_memory: CatalogueCache | None = None

    @property
    def catalogue_cache(self) -> CatalogueCache:
        """This store's per-container memory of the catalogue (catalogue_cache.py); services.deps
        sets its TTL from the settings."""
        cache = self._catalogue_memory
        if cache is None:
            cache = self._catalogue_memory = CatalogueCache()
        return cache

    def _pointer(self) -> m.CatalogueStatsItem | None:
        """The pointer as stored now, for writers; readers that follow get it remembered."""
        return self._read_pointer()[0]

    def _read_pointer(self) -> tuple[m.CatalogueStatsItem | None, PointerSnapshot]:
        try:
            # Consistent: right after a flip, every reader follows the new version.
            pointer = m.CatalogueStatsItem.get(m.STATS_PK, m.STATS_CATALOGUE_SK, consistent_read=True)
        except DoesNotExist:
            pointer = None
        return pointer, self._remember_pointer(pointer)

    def _remember_pointer(self, pointer: m.CatalogueStatsItem | None) -> PointerSnapshot:
        if pointer is None:
            return self.catalogue_cache.remember_pointer(None, None)
        return self.catalogue_cache.remember_pointer(pointer.catalogue_version, dict(pointer.body))

    def _live_pointer(self) -> tuple[PointerSnapshot, bool]:
        """The pointer readers follow, and whether it came from memory (then it may be up to the
        TTL old: a version flipped meanwhile by another process is not seen yet)."""
        snapshot = self.catalogue_cache.pointer()
        if snapshot is not None:
            return snapshot, True
        return self._read_pointer()[1], False

    def _stored_version(self) -> str | None:
        pointer = self._pointer()
        return pointer.catalogue_version if pointer is not None else None

    def catalogue_version(self) -> str | None:
        """The catalogue version readers follow (None: nothing loaded yet, or loaded before
        versions), as this container remembers it: a load through another process shows within
        the cache's TTL, one through this store at once."""
        return self._live_pointer()[0].version

    def put_catalogue(self, catalogue: Catalogue) -> CatalogueWrite:
        """Writes the whole catalogue in one transaction (changed agencies, the new version's
        procedures and the pointer): all of it or none of it, at most 100 items. Larger
        catalogues go through :meth:`replace_catalogue`. An unchanged catalogue writes nothing."""
        plan = self._plan_catalogue(catalogue)
        if plan is None:
            return CatalogueWrite(self.catalogue_version(), changed=False)
        count = len(plan.agencies) + len(plan.procedures) + 1
        if count > MAX_TRANSACTION_ITEMS:
            raise StoreError(f"catalogue of {count} items exceeds one transaction ({MAX_TRANSACTION_ITEMS}); "
                             "load it in versions (Store.replace_catalogue, python -m chalicelib.ops)")
        try:
            with self._transaction() as transaction:
                for item in (*plan.agencies, *plan.procedures):
                    transaction.save(item)
                transaction.save(plan.pointer, condition=_pointer_condition(plan.previous))
        except TransactWriteError as error:
            reasons = [r.code if r else None for r in (error.cancellation_reasons or [])]
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                self.catalogue_cache.forget_pointer()
                raise StoreError("the catalogue was changed by another load meanwhile; run again") from None
            raise
        self._remember_pointer(plan.pointer)  # this container follows the new version at once
        deleted = self._retire_versions(keep=plan.version, previous=plan.previous)
        return CatalogueWrite(plan.version, changed=True, agencies_written=len(plan.agencies),
                              procedures_written=len(plan.procedures), procedures_deleted=deleted)

    def replace_catalogue(self, catalogue: Catalogue, *, grace_seconds: float = 0.0,
                          index_timeout_seconds: float = 120.0,
                          on_step: Callable[[str], None] | None = None) -> CatalogueWrite:
        """Loads a catalogue of any size as a new version (see models.py): agencies upserted,
        the version's procedures written in batches, the pointer flipped once the index lists
        them all, then, after ``grace_seconds``, the versions before the previous one deleted (the
        previous one stays until the next load: see :meth:`_retire_versions`). Readers see the old
        catalogue or the new one, never a mix. ``on_step`` is told "agencies", "written" (after
        each batch), "indexed", "flipped" and "retired" (for tests and progress)."""
        step = on_step or (lambda name: None)
        plan = self._plan_catalogue(catalogue)
        if plan is None:
            return CatalogueWrite(self.catalogue_version(), changed=False)
        for agency_batch in _chunks(plan.agencies, BATCH_WRITE_ITEMS):
            with m.AgencyItem.batch_write() as agency_writer:
                for agency_item in agency_batch:
                    agency_writer.save(agency_item)
        step("agencies")
        try:
            for batch in _chunks(plan.procedures, BATCH_WRITE_ITEMS):
                with m.ProcedureItem.batch_write() as writer:
                    for procedure_item in batch:
                        writer.save(procedure_item)
                step("written")
            self._wait_for_index(plan.version, len(plan.procedures), timeout=index_timeout_seconds)
            step("indexed")
            try:
                plan.pointer.save(condition=_pointer_condition(plan.previous))
            except PutError as error:
                if error.cause_response_code == "ConditionalCheckFailedException":
                    raise StoreError("the catalogue was changed by another load meanwhile; run again") from None
                raise
        except BaseException:
            if self._stored_version() != plan.version:  # never visible: the pointer was not flipped
                self._delete_version(plan.version)
            raise
        self._remember_pointer(plan.pointer)
        step("flipped")
        if grace_seconds > 0:
            time.sleep(grace_seconds)
        deleted = self._retire_versions(keep=plan.version, previous=plan.previous)
        step("retired")
        return CatalogueWrite(plan.version, changed=True, agencies_written=len(plan.agencies),
                              procedures_written=len(plan.procedures), procedures_deleted=deleted)

    def _plan_catalogue(self, catalogue: Catalogue) -> _CataloguePlan | None:
        """What loading ``catalogue`` writes; None when the table already holds it."""
        pointer = self._pointer()
        current_agencies = {agency.code: agency for agency in self.list_agencies()}
        agencies = [agency for agency in catalogue.agencies if current_agencies.get(agency.code) != agency]
        summary = stats.catalogue_summary(catalogue.agencies, catalogue.procedures)
        digest = catalogue_digest(catalogue.procedures, summary)
        if pointer is not None and pointer.digest == digest and not agencies:
            return None
        for procedure in catalogue.procedures:
            # Readers trust stored procedures (procedure_from_stored): check each one here, however
            # the Catalogue was built. Raises CatalogueError before anything is written.
            procedure_from_dict(procedure_to_dict(procedure))
        version = new_catalogue_version()
        return _CataloguePlan(
            version=version,
            previous=pointer,
            agencies=[_agency_item(agency) for agency in agencies],
            procedures=[_procedure_item(procedure, version) for procedure in catalogue.procedures],
            pointer=m.CatalogueStatsItem(m.STATS_PK, m.STATS_CATALOGUE_SK, body=summary,
                                         catalogue_version=version, digest=digest),
        )

    def _wait_for_index(self, version: str, expected: int, *, timeout: float) -> None:
        """GSI1 is eventually consistent: flip only once it lists every item of the version."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            listed = m.TableItem.gsi1.count(m.CATALOGUE_PROCEDURES, m.TableItem.gsi1sk.startswith(f"{version}#"))
            if listed >= expected:
                return
            if time.monotonic() > deadline:
                raise StoreError(f"the index lists {listed} of the {expected} procedures of version {version} "
                                 f"after {timeout:g} s; nothing was changed")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _catalogue_items(self) -> Iterator[m.ProcedureItem]:
        for item in m.TableItem.gsi1.query(m.CATALOGUE_PROCEDURES):
            if isinstance(item, m.ProcedureItem):
                yield item

    def _delete_items(self, items: Iterable[m.ProcedureItem]) -> int:
        deleted = 0
        with m.ProcedureItem.batch_write() as writer:
            for item in items:
                writer.delete(item)
                deleted += 1
        return deleted

    def _delete_version(self, version: str) -> int:
        return self._delete_items(
            [item for item in self._catalogue_items() if item.catalogue_version == version])

    def _retire_versions(self, *, keep: str, previous: m.CatalogueStatsItem | None) -> int:
        """Deletes the procedures of every version but ``keep`` and the one it replaced
        (``previous``, the pointer the load read): other containers follow a remembered pointer
        for up to the cache's TTL after a flip, so the previous version stays readable until the
        next load. Older versions, leftovers of a load that died before its flip, and (once a
        versioned load replaced them) items written before versions existed go."""
        kept = {keep, previous.catalogue_version if previous is not None else None}
        return self._delete_items([item for item in self._catalogue_items() if item.catalogue_version not in kept])

    def current_procedures(self) -> list[Procedure]:
        """Every procedure of the live version as stored now (not as remembered), by code."""
        return self._procedures_of(self._stored_version())

    def _procedures_of(self, version: str | None) -> list[Procedure]:
        return [self._procedure(item) for item in self._procedure_query(version)
                if isinstance(item, m.ProcedureItem)]

    def _procedure(self, item: m.ProcedureItem) -> Procedure:
        """The item's procedure, parsed once per container: a version never changes."""
        cache = self.catalogue_cache
        procedure = cache.procedure(item.catalogue_version, item.code)
        if procedure is None:
            procedure = procedure_from_stored(item.body)
            cache.remember_procedure(item.catalogue_version, procedure)
        return procedure

    def _procedure_query(self, version: str | None, **options: Any) -> Iterator[m.TableItem]:
        if version is None:
            # Before versions: the unversioned items only (a first versioned load may be half-written).
            legacy = m.ProcedureItem.catalogue_version.does_not_exist()
            condition = options.pop("filter_condition", None)
            options["filter_condition"] = legacy if condition is None else legacy & condition
            return m.TableItem.gsi1.query(m.CATALOGUE_PROCEDURES, **options)
        return m.TableItem.gsi1.query(m.CATALOGUE_PROCEDURES, m.TableItem.gsi1sk.startswith(f"{version}#"),
                                      **options)

    def get_procedure(self, code: str) -> Procedure | None:
        """The live version's procedure: from memory when this container read it before."""
        snapshot, remembered = self._live_pointer()
        known = self.catalogue_cache.procedure(snapshot.version, code)
        if known is not None:
            return known
        item = self._procedure_item(code, snapshot.version)
        if item is None and remembered:
            # The remembered version may be retired by now, or lack a procedure a later load added.
            fresh = self._read_pointer()[1]
            if fresh.version != snapshot.version:
                item = self._procedure_item(code, fresh.version)
        return self._procedure(item) if item is not None else None

    @staticmethod
    def _procedure_item(code: str, version: str | None) -> m.ProcedureItem | None:
        try:
            return m.ProcedureItem.get(m.procedure_pk(code), m.procedure_sk(version))
        except DoesNotExist:
            return None

    def list_procedures(
        self,
        *,
        level: int | None = None,
        tier: str | None = None,
        agency_code: str | None = None,
        query: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> Page[Procedure]:
        condition = None
        for clause in (
            m.ProcedureItem.level == level if level is not None else None,
            m.ProcedureItem.tier == tier if tier else None,
            m.ProcedureItem.agency_code == agency_code if agency_code else None,
            m.ProcedureItem.search_text.contains(fold(query)) if query and fold(query) else None,
        ):
            if clause is not None:
                condition = clause if condition is None else condition & clause
        start = _decode_cursor(cursor, partition_attr="GSI1PK", partition=m.CATALOGUE_PROCEDURES)

        def page_of(version: str | None) -> Page[m.TableItem]:
            # PynamoDB keeps reading filtered pages until enough items match.
            return _take_page(self._procedure_query(version, filter_condition=condition,
                                                    last_evaluated_key=_onto_version(start, version),
                                                    page_size=max(limit, 50)), limit)

        snapshot, remembered = self._live_pointer()
        page = page_of(snapshot.version)
        if not page.items and remembered:
            # Nothing under a remembered version: it may have been retired since (two loads within
            # the TTL). Worth one pointer read on an empty answer only.
            fresh = self._read_pointer()[1]
            if fresh.version != snapshot.version:
                page = page_of(fresh.version)
        return Page([self._procedure(item) for item in page.items if isinstance(item, m.ProcedureItem)],
                    page.next_cursor)

    def list_agencies(self) -> list[Agency]:
        return [agency_from_dict(item.body) for item in m.TableItem.gsi1.query(m.CATALOGUE_AGENCIES)
                if isinstance(item, m.AgencyItem)]

    def get_agency(self, code: str) -> Agency | None:
        """The agency as stored now (never remembered: auth and webhooks need its latest state)."""
        try:
            item = m.AgencyItem.get(m.agency_pk(code), m.META)
        except DoesNotExist:
            return None
        return agency_from_dict(item.body)

    def public_agencies(self, codes: Iterable[str]) -> dict[str, Agency]:
        """What the public may know of these agencies (no webhook address), by code, from the
        agency directory the remembered pointer carries: put_agency rewrites it with the agency,
        so a rename shows within the cache's TTL at no read. An agency the directory lacks is read
        from its own item; an unknown one is left out."""
        directory = self._live_pointer()[0].agencies
        found: dict[str, Agency] = {}
        for code in sorted(set(codes)):
            agency = directory.get(code) or self.get_agency(code)
            if agency is not None:
                found[code] = replace(agency, webhook_url=None)
        return found

    def put_agency(self, agency: Agency) -> bool:
        """Adds or updates one agency and its entry in the catalogue summary's directory, in
        one transaction (conditional on the catalogue version it read). False if unchanged."""
        if self.get_agency(agency.code) == agency:
            return False
        pointer = self._pointer()
        summary = dict(pointer.body) if pointer is not None else stats.catalogue_summary((), ())
        entry = stats.catalogue_summary((agency,), ())["agencies"][0]
        directory = [dict(item) for item in summary.get("agencies", [])]
        known = next((item for item in directory if item.get("agency_code") == agency.code), None)
        if known is not None:
            entry["procedures"] = known.get("procedures", 0)
            directory[directory.index(known)] = entry
        else:
            directory.append(entry)
        summary["agencies"] = directory
        version = pointer.catalogue_version if pointer is not None else None
        updated = m.CatalogueStatsItem(m.STATS_PK, m.STATS_CATALOGUE_SK, body=summary, catalogue_version=version,
                                       digest=catalogue_digest(self._procedures_of(version), summary))
        try:
            with self._transaction() as transaction:
                transaction.save(_agency_item(agency))
                transaction.save(updated, condition=_pointer_condition(pointer))
        except TransactWriteError as error:
            self.catalogue_cache.forget_pointer()
            raise StoreError(f"could not add agency {agency.code} (the catalogue changed meanwhile?): "
                             f"{error}") from None
        self._remember_pointer(updated)  # the directory changed: this container shows it at once
        return True

    # --- uploads (pattern 9) ------------------------------------------------------

    def put_upload(self, upload: Upload, *, expires_at: int) -> None:
        """A new, unattached upload; an agency's result upload already names its dossier."""
        m.UploadItem(
            m.upload_pk(upload.upload_id), m.META,
            upload_id=upload.upload_id, owner=upload.owner, filename=upload.filename,
            content_type=upload.content_type, size=upload.size, s3_key=upload.s3_key,
            created_at=upload.created_at, attached=False, dossier_code=upload.dossier_code, expires_at=expires_at,
        ).save(condition=m.UploadItem.pk.does_not_exist())

    def get_upload(self, upload_id: str) -> Upload | None:
        try:
            return _upload(m.UploadItem.get(m.upload_pk(upload_id), m.META, consistent_read=True))
        except DoesNotExist:
            return None

    # --- dossiers (patterns 5, 6, 7, 8) --------------------------------------------

    def create_dossier(
        self,
        draft: Dossier,
        first_entry: LogEntry,
        *,
        make_code: Callable[[int], str],
        counter_key: tuple[str, str],
        budget_seconds: float = NUMBERING_BUDGET_SECONDS,
        rate: RateCharge | None = None,
    ) -> Dossier:
        """Numbers and stores a new dossier in one transaction, and nothing else on the way.

        The day's counter is bumped with a condition on its last value, in the same transaction
        that writes the dossier, its first log entry, counts the caller's ``rate`` use and marks
        its uploads attached: a number is taken only together with the dossier that bears it, so
        the day's sequence has no gap even if a write fails or the caller dies half-way, and no
        duplicate. The last value is the one this process last saw (``_known_sequences``), not a
        read: a miss returns the counter as it is (ALL_OLD) and the next try uses that.

        The uploads are checked by the transaction's conditions (``_attach_uploads_in``), the
        rate row by its own: either failing raises ``SubmissionRefused``, which says which.

        Concurrent submissions to the same agency on the same day collide on the counter; the
        loser retries with the value it learnt after a jittered, growing pause, for up to
        ``budget_seconds`` (then 409 ``busy``: nothing was written, the client may retry). The
        threads of one process take turns on a counter (``_numbering_lock``) instead of colliding,
        so that a busy API process (``chalice local``, or one Lambda instance serving several
        requests) spends its attempts on other processes' collisions only.
        """
        counter_pk = m.counter_pk(*counter_key)
        deadline = time.monotonic() + budget_seconds
        attempt = 0
        lock = _numbering_lock(counter_pk)
        while True:
            if lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                try:
                    outcome = self._try_numbering(draft, first_entry, make_code=make_code, counter_pk=counter_pk,
                                                  rate=rate)
                finally:
                    lock.release()
                if outcome is not None:
                    return outcome
            attempt += 1
            # A first miss is usually this process's memory being behind (another process numbered
            # meanwhile, or none was known): the miss taught the real value, try it at once.
            pause = 0.0 if attempt == 1 else random.uniform(0, min(NUMBERING_MAX_PAUSE, 0.005 * 2 ** min(attempt, 8)))
            if time.monotonic() + pause > deadline:
                raise Conflict("Hệ thống đang bận, vui lòng thử lại / Too many concurrent submissions, retry",
                               code="busy")
            time.sleep(pause)

    _sequences: dict[str, int] | None = None

    def _known_sequences(self) -> dict[str, int]:
        """The last number this process saw taken per counter (read and written under the
        counter's ``_numbering_lock``); a wrong value costs one failed try, never a wrong number."""
        known = self._sequences
        if known is None or len(known) > 1024:  # yesterday's counters
            known = self._sequences = {}
        return known

    def _learn_sequence(self, counter_pk: str, reason: CancellationReason) -> None:
        """What a counter whose condition failed holds: its item as the transaction found it, or,
        from a backend that does not return it, a consistent read."""
        known = self._known_sequences()
        item: m.CounterItem | None = None
        if reason.raw_item:
            item = m.CounterItem.from_raw_data(reason.raw_item)
        elif counter_pk in known:
            # Conditioned on a value and no item came back: the counter is gone (a new table).
            known.pop(counter_pk, None)
            return
        else:
            try:
                item = m.CounterItem.get(counter_pk, m.COUNTER_SK, consistent_read=True)
            except DoesNotExist:
                item = None
        if item is None:
            known.pop(counter_pk, None)
        else:
            known[counter_pk] = int(item.last_sequence)

    def _try_numbering(self, draft: Dossier, first_entry: LogEntry, *, make_code: Callable[[int], str],
                       counter_pk: str, rate: RateCharge | None = None) -> Dossier | None:
        """One attempt of ``create_dossier``: the stored dossier, or None if another submission
        took the number first."""
        known = self._known_sequences()
        current = known.get(counter_pk)
        sequence = (current or 0) + 1
        code = make_code(sequence)
        dossier = replace(draft, code=code, version=1)
        # What each item of the transaction is, in pynamodb's order (the puts, then the updates),
        # to read its cancellation reasons.
        puts: list[str] = []
        updates: list[str] = []
        try:
            with self._transaction() as transaction:
                transaction.save(self._dossier_item(dossier), condition=m.DossierItem.pk.does_not_exist())
                transaction.save(_log_item(code, first_entry, 0))
                transaction.save(_details_item(dossier))
                puts += ["dossier", "log", "details"]
                # An update creates the counter too: one shape whether or not it exists yet.
                transaction.update(
                    m.CounterItem(counter_pk, m.COUNTER_SK),
                    actions=[m.CounterItem.kind.set(m.CounterItem), m.CounterItem.last_sequence.set(sequence)],
                    condition=(m.CounterItem.pk.does_not_exist() if current is None
                               else m.CounterItem.last_sequence == current),
                    return_values="ALL_OLD",
                    add_version_condition=False,
                )
                updates.append("counter")
                if rate is not None:
                    _charge_rate_in(transaction, rate)
                    updates.append("rate")
                bump = stats.bump_for_submission(dossier)
                _count_in(transaction, bump, code)
                if bump is not None:
                    updates.append("stats")
                _attach_uploads_in(transaction, dossier.documents, owner=dossier.owner, code=code,
                                   stored_by=int(draft.submitted_at.timestamp()))
                updates += [f"upload:{ref.upload_id}" for ref in dossier.documents]
        except TransactWriteError as error:
            reasons = dict(zip(puts + updates, error.cancellation_reasons or [], strict=False))
            failed = {role for role, reason in reasons.items()
                      if reason is not None and reason.code == "ConditionalCheckFailed"}
            counter_reason = reasons.get("counter")
            if "counter" in failed and counter_reason is not None:
                self._learn_sequence(counter_pk, counter_reason)
            refused_uploads: dict[str, Upload | None] = {}
            for role in failed:
                if role.startswith("upload:"):
                    raw = reasons[role].raw_item  # type: ignore[union-attr]
                    refused_uploads[role.removeprefix("upload:")] = (
                        _upload(m.UploadItem.from_raw_data(raw)) if raw else None)
            if refused_uploads or "rate" in failed:
                raise SubmissionRefused(uploads=refused_uploads, rate_limited="rate" in failed) from None
            conflict = any(r is not None and r.code == "TransactionConflict" for r in reasons.values())
            if failed & {"counter", "dossier"} or conflict:
                return None  # someone else took this number first: try the next one
            codes = [r.code if r else None for r in (error.cancellation_reasons or [])]
            raise StoreError(f"could not store dossier: {codes or error}") from error
        known[counter_pk] = sequence
        return replace(dossier, history=(first_entry,))

    def record_stored_size(self, upload_id: str, s3_key: str, size: int, etag: str | None = None) -> bool:
        """Records the size (and ETag) S3 reports for an upload's object; False when no upload has
        that id and key (an object this table does not know of), or it is already attached."""
        actions: list[Any] = [m.UploadItem.stored_size.set(size)]
        actions.append(m.UploadItem.stored_etag.set(etag) if etag else m.UploadItem.stored_etag.remove())
        try:
            m.UploadItem(m.upload_pk(upload_id), m.META).update(
                actions=actions,
                condition=(m.UploadItem.pk.exists() & (m.UploadItem.s3_key == s3_key)
                           & (m.UploadItem.attached == False)),  # noqa: E712
                add_version_condition=False,
            )
        except UpdateError as error:
            if _conditional_failure(error):
                return False
            raise StoreError(f"could not record the stored size of upload {upload_id}: {error}") from error
        return True

    @staticmethod
    def _dossier_item(dossier: Dossier) -> m.DossierItem:
        """The META item: everything but what the applicant filed (``_details_item``)."""
        submitted = dossier.submitted_at.isoformat()
        item = m.DossierItem(
            m.dossier_pk(dossier.code), m.META,
            code=dossier.code, procedure_code=dossier.procedure_code, procedure_name=dossier.procedure_name,
            agency_code=dossier.agency_code, owner=dossier.owner,
            status=int(dossier.status), submitted_at=dossier.submitted_at, received_at=dossier.received_at,
            due_at=dossier.due_at, updated_at=dossier.updated_at, fee_vnd=dossier.fee_vnd,
            fee_status=dossier.fee_status, overdue=dossier.overdue,
            result_upload_id=dossier.result.upload_id if dossier.result else None,
            result_s3_key=dossier.result.s3_key if dossier.result else None,
            result_filename=dossier.result.filename if dossier.result else None,
            result_content_type=dossier.result.content_type if dossier.result else None,
            rating_score=dossier.rating.score if dossier.rating else None,
            rating_comment=dossier.rating.comment if dossier.rating else None,
            rated_at=dossier.rating.rated_at if dossier.rating else None,
            open_tasks=_open_tasks_body(dossier.open_tasks),
            gsi1pk=m.owner_pk(dossier.owner), gsi1sk=m.submitted_sk(submitted, dossier.code),
            gsi2pk=m.agency_dossiers_pk(dossier.agency_code), gsi2sk=m.submitted_sk(submitted, dossier.code),
        )
        return item

    def audit_read(self, code: str, *, agency_code: str, key_id: str, at: datetime, action: str,
                   read_id: str | None = None, max_attempts: int = 20) -> AuditLine:
        """Appends a line to the dossier's hash-chained audit trail. Two concurrent reads
        compete for the next number; the loser reads the new last line and links to it. A line of
        ``read_id`` already last on the trail (a retried stream record) is not written again."""
        for attempt in range(max_attempts):
            last = self._last_audit_line(code)
            if read_id is not None and last is not None and last.read_id == read_id:
                return last
            line = replace(audit.next_line(code, last, at=at, agency_code=agency_code, key_id=key_id, action=action),
                           read_id=read_id)
            try:
                m.AuditItem(m.dossier_pk(code), m.audit_sk(line.sequence), at=at, agency_code=agency_code,
                            key_id=key_id, action=action, sequence=line.sequence, prev_hash=line.prev_hash,
                            hash=line.hash, read_id=read_id).save(condition=m.AuditItem.sk.does_not_exist())
            except PutError as error:
                if not _conditional_failure(error):
                    raise StoreError(f"could not audit the read of {code}: {error}") from error
                time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 5)))
                continue
            return line
        raise Conflict("Hệ thống đang bận, vui lòng thử lại / Too many concurrent reads, retry", code="busy")

    def record_staff_read(self, read: StaffRead) -> None:
        """Records the dossiers an answer shows an agency (pattern 17), before it is sent: an answer
        whose read could not be recorded is not sent. Their trails get their lines from the stream."""
        try:
            _staff_read_item(read).save(condition=m.StaffReadItem.sk.does_not_exist())
        except PutError as error:
            raise StoreError(f"could not record a staff read: {error}") from error

    def staff_reads(self, agency_code: str, day: datetime) -> list[StaffRead]:
        """An agency's staff reads on the (UTC) day of ``day``, in time order (pattern 17)."""
        return [staff_read_of(item) for item in m.TableItem.query(m.staff_reads_pk(agency_code, day))
                if isinstance(item, m.StaffReadItem)]

    @staticmethod
    def staff_read_in(transaction: TransactWrite, read: StaffRead) -> None:
        """As ``record_staff_read``, inside a transaction that writes what the answer shows."""
        transaction.save(_staff_read_item(read), condition=m.StaffReadItem.sk.does_not_exist())

    def _last_audit_line(self, code: str) -> AuditLine | None:
        for item in m.TableItem.query(m.dossier_pk(code), m.TableItem.sk.startswith(m.AUDIT_PREFIX),
                                      scan_index_forward=False, limit=1, consistent_read=True):
            if isinstance(item, m.AuditItem):
                return _audit_line(item)
        return None

    def audit_trail(self, code: str) -> list[AuditLine]:
        """The dossier's audit lines in chain order."""
        return [_audit_line(item)
                for item in m.TableItem.query(m.dossier_pk(code), m.TableItem.sk.startswith(m.AUDIT_PREFIX),
                                              consistent_read=True)
                if isinstance(item, m.AuditItem)]

    def get_dossier(self, code: str) -> Dossier | None:
        """The dossier and its whole progress log, in one query on its partition."""
        dossier_item: m.DossierItem | None = None
        details: m.DossierDetailsItem | None = None
        history: list[LogEntry] = []
        slips: list[Slip] = []
        # DETAILS < LOG# < META < PAYMENT# < SLIP#: the audit trail (AUDIT#, one line per staff read,
        # the partition's longest part) and the waits are not read, nor paid for.
        in_range = m.TableItem.sk.between(m.DETAILS_SK, "SLIP$")
        for item in m.TableItem.query(m.dossier_pk(code), in_range, consistent_read=True):
            if isinstance(item, m.DossierItem):
                dossier_item = item
            elif isinstance(item, m.DossierDetailsItem):
                details = item
            elif isinstance(item, m.LogItem):
                history.append(log_entry_of(item))
            elif isinstance(item, m.SlipItem):
                slips.append(Slip(SlipNumber(int(item.number)), item.issued_at, item.issued_by, dict(item.details)))
        if dossier_item is None:
            return None
        return replace(_dossier(dossier_item, tuple(history), details), slips=tuple(slips))

    def get_dossier_record(self, code: str) -> Dossier | None:
        """The dossier's META item only, without its log, slips, audit lines, nor (once stored
        apart) its applicant, form, documents and fee exemption (one GetItem, ~1 KB): for readers that show
        none of those (public tracking). Never a base for a change of what the applicant filed."""
        try:
            return _dossier(m.DossierItem.get(m.dossier_pk(code), m.META, consistent_read=True))
        except DoesNotExist:
            return None

    def list_dossiers_of(self, owner: str, *, cursor: str | None, limit: int) -> Page[Dossier]:
        partition = m.owner_pk(owner)
        start = _decode_cursor(cursor, partition_attr="GSI1PK", partition=partition)
        results = m.TableItem.gsi1.query(partition, scan_index_forward=False, last_evaluated_key=start,
                                          page_size=limit + 1)
        page = _take_page(results, limit)
        return Page([_dossier(item) for item in page.items if isinstance(item, m.DossierItem)],
                    page.next_cursor)

    def change_in(self, transaction: TransactWrite, dossier: Dossier, entry: LogEntry, *,
                  slips: Iterable[Slip] = (), **changes: Any) -> Dossier:
        """Adds to a transaction: the dossier moved to ``entry.to_status`` (if nobody changed it
        since it was read), the log entry and the slips issued with it."""
        updated = replace(dossier, status=entry.to_status, updated_at=entry.at, **changes)
        actions = _meta_actions(self._dossier_item(updated))
        if _filed(updated) != _filed(dossier):
            # A supplement: DETAILS is rewritten, and a dossier stored before DETAILS existed drops
            # its copy from META (DETAILS wins on reads anyway).
            transaction.save(_details_item(updated))
            attributes = m.DossierItem.get_attributes()
            actions += [attributes[name].remove() for name in _DETAILS_ATTRIBUTES]
        # An update, not a put: billed by the small META item (a put would also erase the
        # applicant's part of a dossier stored before DETAILS). The version attribute adds
        # "version = <read version>" to the condition, and one to the stored version.
        transaction.update(m.DossierItem(m.dossier_pk(dossier.code), m.META, version=dossier.version),
                           actions=actions)
        transaction.save(_log_item(dossier.code, entry, len(dossier.history)))
        _count_in(transaction, stats.bump_for_change(dossier, entry, updated), dossier.code)
        issued = tuple(slips)
        for slip in issued:
            sort_key = m.slip_sk(int(slip.number), slip.issued_at.isoformat(), uuid.uuid4().hex[:12])
            transaction.save(m.SlipItem(m.dossier_pk(dossier.code), sort_key, number=int(slip.number),
                                        issued_at=slip.issued_at, issued_by=slip.issued_by, details=slip.details))
        # In the order a read gives (the items' sort keys), so that callers may answer with it.
        at = entry.at.isoformat()
        place = len(dossier.history)
        while place and dossier.history[place - 1].at.isoformat() > at:
            place -= 1
        slips_in_order = sorted((*dossier.slips, *issued), key=lambda s: (int(s.number), s.issued_at.isoformat()))
        return replace(updated, version=dossier.version + 1,
                       history=(*dossier.history[:place], entry, *dossier.history[place:]), slips=tuple(slips_in_order))

    def apply_change(self, dossier: Dossier, entry: LogEntry, *, attach: Iterable[DocumentRef] = (),
                     slips: Iterable[Slip] = (), **changes: Any) -> Dossier:
        """Moves a dossier to ``entry.to_status`` if nobody changed it since it was read,
        attaching the uploads in ``attach`` (a supplement) in the same transaction. Nothing else
        follows on the request path: the log item it writes reaches the table's stream, which tells
        the citizen (services/table_events.py)."""
        def build(transaction: TransactWrite) -> Dossier:
            updated = self.change_in(transaction, dossier, entry, slips=slips, **changes)
            _attach_uploads_in(transaction, attach, owner=dossier.owner, code=dossier.code)
            return updated

        return self.write(build, conflict=_dossier_conflict, failure="could not update dossier")

    def rate(self, dossier: Dossier, rating: Rating) -> Dossier:
        """Records the applicant's rating if nobody changed the dossier since it was read."""
        def build(transaction: TransactWrite) -> None:
            item = m.DossierItem(m.dossier_pk(dossier.code), m.META, version=dossier.version)
            transaction.update(item, actions=[
                m.DossierItem.rating_score.set(rating.score),
                m.DossierItem.rating_comment.set(rating.comment),
                m.DossierItem.rated_at.set(rating.rated_at),
            ], condition=m.DossierItem.rating_score.does_not_exist())
            _count_in(transaction, stats.bump_for_rating(dossier, rating), dossier.code)

        self.write(build, conflict=_dossier_conflict, failure="could not rate dossier")
        return replace(dossier, rating=rating, version=dossier.version + 1)

    def write(self, build: Callable[[TransactWrite], R], *, conflict: Callable[[], Conflict], failure: str) -> R:
        """Runs the transaction ``build`` fills. One cancelled because another transaction was
        writing a shared item at the same time (a statistics row) is built again and retried;
        one whose conditions failed (the dossier or task moved meanwhile) is a ``conflict()``."""
        for attempt in range(TRANSACTION_CONFLICT_RETRIES + 1):
            try:
                with self._transaction() as transaction:
                    result = build(transaction)
                return result
            except TransactWriteError as error:
                reasons = [r.code if r else None for r in (error.cancellation_reasons or [])]
                if "ConditionalCheckFailed" in reasons:
                    raise conflict() from None
                if "TransactionConflict" not in reasons:
                    raise StoreError(f"{failure}: {reasons or error}") from error
                if attempt == TRANSACTION_CONFLICT_RETRIES:
                    raise conflict() from None
                time.sleep(random.uniform(0, 0.01 * 2 ** attempt))
        raise AssertionError("unreachable")

    # --- rate limits (pattern 15) --------------------------------------------------

    def take_rate(self, action: str, caller: str, *, window_start: int, limit: int, expires_at: int) -> bool:
        """Counts one use of ``action`` by ``caller`` in the window, unless ``limit`` uses are
        already counted there (then False, and nothing is counted)."""
        charge = RateCharge(action, caller, window_start, limit, expires_at)
        try:
            _rate_row(charge).update(actions=_rate_actions(charge), condition=_rate_condition(charge))
        except UpdateError as error:
            if _conditional_failure(error):
                return False
            raise StoreError(f"could not count {action} of {caller}: {error}") from error
        return True

    # --- statistics (pattern 14) ------------------------------------------------

    def catalogue_summary(self) -> dict[str, Any] | None:
        """The summary the catalogue pointer carries, as this container remembers it (up to the TTL)."""
        summary = self._live_pointer()[0].summary
        return dict(summary) if summary is not None else None

    _statistics_memory: tuple[float, Statistics] | None = None

    def statistics(self, *, max_age_seconds: float = 0.0) -> Statistics:
        """The catalogue summary and every agency-month counter row, in one Query; or what this
        container read less than ``max_age_seconds`` ago (statistics are public aggregates: a
        minute old is as good, and the rows grow with agencies x months x shards). Forgotten as
        soon as this container writes a transaction (see ``_transaction``)."""
        remembered = self._statistics_memory
        if remembered is not None and time.monotonic() - remembered[0] < max_age_seconds:
            return remembered[1]
        summary: dict[str, Any] | None = None
        rows: list[stats.CounterRow] = []
        read_at = datetime.now(UTC)
        for item in m.TableItem.query(m.STATS_PK):
            if isinstance(item, m.CatalogueStatsItem):
                summary = dict(item.body)
            elif isinstance(item, m.StatsCounterItem):
                rows.append(_counter_row(item))
        read = Statistics(summary, tuple(rows), read_at)
        self._statistics_memory = (time.monotonic(), read) if max_age_seconds > 0 else None
        return read

    def forget_statistics(self) -> None:
        self._statistics_memory = None


# --- the versioned catalogue (see models.py) ------------------------------------------

# BatchWriteItem takes 25 requests; one batch is written at a time.
BATCH_WRITE_ITEMS = 25


@dataclass(frozen=True)
class CatalogueWrite:
    """What a catalogue load did."""

    version: str | None  # the live version afterwards
    changed: bool
    agencies_written: int = 0
    procedures_written: int = 0
    procedures_deleted: int = 0


@dataclass(frozen=True)
class _CataloguePlan:
    version: str
    previous: m.CatalogueStatsItem | None
    agencies: list[m.AgencyItem]
    procedures: list[m.ProcedureItem]
    pointer: m.CatalogueStatsItem


def new_catalogue_version() -> str:
    """Sortable by load time, unique across concurrent loaders: ``20261126T020000Z-3fa9c1``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:6]}"


def catalogue_digest(procedures: Iterable[Procedure], summary: dict[str, Any]) -> str:
    """SHA-256 of what readers of a catalogue version see: its procedures and summary."""
    # The agency directory's order is not content (loads list agencies in file order, adds append).
    directory = sorted(summary.get("agencies", []), key=lambda entry: str(entry.get("agency_code")))
    content = {"procedures": sorted((procedure_to_dict(p) for p in procedures), key=lambda p: str(p["code"])),
               "summary": {**summary, "agencies": directory}}
    encoded = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _agency_item(agency: Agency) -> m.AgencyItem:
    return m.AgencyItem(m.agency_pk(agency.code), m.META, code=agency.code, body=agency_to_dict(agency),
                        gsi1pk=m.CATALOGUE_AGENCIES, gsi1sk=agency.code)


def _procedure_item(procedure: Procedure, version: str) -> m.ProcedureItem:
    return m.ProcedureItem(
        m.procedure_pk(procedure.code), m.procedure_sk(version),
        code=procedure.code, catalogue_version=version, tier=procedure.tier, agency_code=procedure.agency_code,
        level=procedure.level,
        search_text=fold(f"{procedure.code} {procedure.name} {procedure.name_en} {procedure.field}"),
        body=procedure_to_dict(procedure),
        gsi1pk=m.CATALOGUE_PROCEDURES, gsi1sk=m.procedure_gsi1sk(version, procedure.code),
    )


def _pointer_condition(previous: m.CatalogueStatsItem | None) -> Any:
    """The pointer is still what the loader read (no other load flipped it meanwhile)."""
    if previous is None:
        return m.CatalogueStatsItem.pk.does_not_exist()
    if previous.catalogue_version is None:
        return m.CatalogueStatsItem.pk.exists() & m.CatalogueStatsItem.catalogue_version.does_not_exist()
    return m.CatalogueStatsItem.catalogue_version == previous.catalogue_version


def _onto_version(start: dict[str, Any] | None, version: str | None) -> dict[str, Any] | None:
    """A cursor taken on another catalogue version continues on the live one, after the same code."""
    if start is None or "GSI1SK" not in start or "PK" not in start:
        return start
    position = start["GSI1SK"]["S"]
    code = position.split("#", 1)[1] if "#" in position else position
    return {**start, "PK": {"S": m.procedure_pk(code)}, "SK": {"S": m.procedure_sk(version)},
            "GSI1SK": {"S": m.procedure_gsi1sk(version, code)}}


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for index in range(0, len(items), size):
        yield items[index:index + size]


def _task_item(task: Task) -> m.TaskItem:
    return m.TaskItem(
        m.task_pk(task.task_id), m.META,
        task_id=task.task_id, dossier_code=task.dossier_code, step_index=task.step_index, task_kind=task.kind,
        role=task.role, agency_code=task.agency_code, status=task.status, opened_at=task.opened_at,
        due_at=task.due_at, last_step=task.last_step, token=task.token, overdue_count=task.overdue_count,
        decision=task.decision, outcome=task.outcome, note=task.note, decided_at=task.decided_at,
        helpers=task.helpers,
        gsi1pk=m.agency_inbox_pk(task.agency_code, task.status),
        gsi1sk=m.inbox_sk(task.due_at, task.task_id),
        gsi2pk=m.dossier_tasks_pk(task.dossier_code),
        gsi2sk=m.dossier_task_sk(task.step_index, task.role, task.task_id),
    )


def task_of(item: m.TaskItem) -> Task:
    return Task(
        task_id=item.task_id, dossier_code=item.dossier_code, step_index=int(item.step_index),
        kind=item.task_kind,  # type: ignore[arg-type]
        role=item.role,  # type: ignore[arg-type]
        agency_code=item.agency_code,
        status=item.status,  # type: ignore[arg-type]
        opened_at=item.opened_at, due_at=item.due_at, last_step=bool(item.last_step), token=item.token,
        overdue_count=int(item.overdue_count or 0), decision=item.decision,
        outcome=item.outcome,  # type: ignore[arg-type]
        note=item.note or "", decided_at=item.decided_at,
        helpers=int(item.helpers) if item.helpers is not None else None,
    )


_FINAL = sorted(int(status) for status in FINAL_STATUSES)


def _open_step_task(task: Task) -> OpenStepTask:
    return OpenStepTask(task_id=task.task_id, step_index=task.step_index, kind=task.kind,
                        agency_code=task.agency_code, due_at=task.due_at)


@dataclass(frozen=True)
class Wait:
    kind: str
    token: str
    step_index: int
    step_kind: str
    opened_at: datetime


class TaskStore:
    """Agency tasks and the route's waits (patterns 10-13)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def open_tasks(self, tasks: Iterable[Task]) -> list[Task]:
        """Stores a step's new tasks (of one dossier) and records them on the dossier as where it
        is now, in one transaction: all or none. Tasks already stored (a redelivered message) are
        returned as they are, the first delivery having recorded them."""
        new = list(tasks)
        if not new:
            return []
        code = new[0].dossier_code
        record = _open_tasks_body(tuple(_open_step_task(task) for task in new))

        def build(transaction: TransactWrite) -> None:
            for task in new:
                transaction.save(_task_item(task), condition=m.TaskItem.pk.does_not_exist())
            # Any version makes PynamoDB add one to the stored version, unconditionally: a change
            # of the dossier read before this write then fails instead of putting the old list back.
            # Never on a closed dossier: a closing change wins or fails, and its list of open
            # tasks is then complete for whoever cancels them.
            transaction.update(m.DossierItem(m.dossier_pk(code), m.META, version=0),
                               actions=[m.DossierItem.open_tasks.set(record)],
                               condition=m.DossierItem.pk.exists() & ~m.DossierItem.status.is_in(*_FINAL),
                               add_version_condition=False)

        try:
            self._store.write(build, conflict=_task_closed, failure=f"could not open the tasks of {code}")
        except Conflict:
            stored = [self.get_task(task.task_id) for task in new]
            if any(task is None for task in stored):  # no redelivery: the dossier is gone
                raise StoreError(f"could not open the tasks of {code}") from None
            return [task for task in stored if task is not None]
        return new

    def get_task(self, task_id: str) -> Task | None:
        try:
            return task_of(m.TaskItem.get(m.task_pk(task_id), m.META, consistent_read=True))
        except DoesNotExist:
            return None

    def attach_token(self, task_id: str, token: str) -> Task | None:
        """Gives an open task its callback token. Returns the task as it is after the attempt:
        if it was decided or cancelled meanwhile, the caller answers the route itself."""
        item = m.TaskItem(m.task_pk(task_id), m.META)
        try:
            item.update(actions=[m.TaskItem.token.set(token)], condition=m.TaskItem.status == "open")
        except UpdateError as error:
            if not _conditional_failure(error):
                raise StoreError(str(error)) from error
        return self.get_task(task_id)

    def tasks_of(self, dossier_code: str) -> list[Task]:
        return [task_of(item) for item in m.TableItem.gsi2.query(m.dossier_tasks_pk(dossier_code))
                if isinstance(item, m.TaskItem)]

    def inbox(self, agency_code: str, status: str, *, cursor: str | None, limit: int) -> Page[Task]:
        partition = m.agency_inbox_pk(agency_code, status)
        start = _decode_cursor(cursor, partition_attr="GSI1PK", partition=partition)
        results = m.TableItem.gsi1.query(partition, last_evaluated_key=start, page_size=limit + 1)
        page = _take_page(results, limit)
        return Page([task_of(item) for item in page.items if isinstance(item, m.TaskItem)], page.next_cursor)

    def close_task(self, task: Task, *, status: str, at: datetime, decision: str | None = None,
                   outcome: str | None = None, note: str = "") -> Task:
        """Closes an open task (decided or cancelled); Conflict if someone closed it first."""
        closed = replace(task, status=status, decided_at=at, decision=decision, outcome=outcome,  # type: ignore[arg-type]
                         note=note)
        try:
            self._store.write(lambda transaction: self._close_in(transaction, closed), conflict=_task_closed,
                              failure="could not close the task")
        except StoreError as error:
            raise Conflict(str(error), code="conflict") from None
        return self.get_task(task.task_id) or closed

    @staticmethod
    def _close_in(transaction: TransactWrite, closed: Task, *, same_token: bool = False,
                  same_deadline: bool = False) -> None:
        """Closes an open task by updating only what closing changes: the route may be
        attaching its callback token at the same moment, and a whole-item write would
        erase it (then nobody would answer the route). ``same_token``: only if the task's
        token is still ``closed.token`` (the closer answers the route with it);
        ``same_deadline``: only if no miss moved its deadline since (the answer shows it)."""
        actions: list[Any] = [
            m.TaskItem.status.set(closed.status),
            m.TaskItem.gsi1pk.set(m.agency_inbox_pk(closed.agency_code, closed.status)),
            m.TaskItem.note.set(closed.note),
        ]
        actions.append(m.TaskItem.decided_at.set(closed.decided_at) if closed.decided_at
                       else m.TaskItem.decided_at.remove())
        for attribute, value in ((m.TaskItem.decision, closed.decision), (m.TaskItem.outcome, closed.outcome)):
            actions.append(attribute.set(value) if value is not None else attribute.remove())
        condition = m.TaskItem.status == "open"
        if same_token:
            condition &= (m.TaskItem.token == closed.token if closed.token is not None
                          else m.TaskItem.token.does_not_exist())
        if same_deadline:
            condition &= (m.TaskItem.due_at == closed.due_at) & (m.TaskItem.overdue_count == closed.overdue_count)
        transaction.update(m.TaskItem(m.task_pk(closed.task_id), m.META), actions=actions,
                           condition=condition, add_version_condition=False)

    def decide(self, dossier: Dossier, entry: LogEntry | None, closed: Task, read: StaffRead, *,
               checks: Sequence[Callable[[TransactWrite], None]] = (), same_deadline: bool = False,
               **changes: Any) -> tuple[Task, Dossier | None]:
        """Closes the task, moves the dossier and records ``read`` (the answer shows the dossier) in
        one transaction (nothing if the task or the dossier moved meanwhile).
        A ``result`` in ``changes`` is recorded on the dossier and its upload marked attached, on
        condition that the upload is the deciding agency's, for this dossier and still free.
        ``checks`` add the conditions of what else the decision stands on (a remembered key);
        ``same_deadline``: the task was not read but remembered, possibly from an index lagging
        behind a miss that moved its deadline: only if it did not.
        Returns the task and the dossier as written (None without ``entry``), nothing read back:
        the task's token is the one the transaction found on it."""
        try:
            return closed, self._decide_once(dossier, entry, closed, read, changes, checks, same_deadline)
        except Conflict:
            current = self.get_task(closed.task_id)
            if current is None or current.status != "open":
                raise  # decided or cancelled meanwhile
            if current.token == closed.token:
                # The task is as it was read: the dossier moved (or the result's upload was taken):
                # the caller reads them again, its decision has not been made.
                raise _dossier_conflict() from None
            # The route gave the task its callback token since it was read: decide again with it.
            retried = replace(closed, token=current.token)
            return retried, self._decide_once(dossier, entry, retried, read, changes, checks, same_deadline)

    def _decide_once(self, dossier: Dossier, entry: LogEntry | None, closed: Task, read: StaffRead,
                     changes: dict[str, Any], checks: Sequence[Callable[[TransactWrite], None]],
                     same_deadline: bool) -> Dossier | None:
        def build(transaction: TransactWrite) -> Dossier | None:
            self._close_in(transaction, closed, same_token=True, same_deadline=same_deadline)
            self._store.staff_read_in(transaction, read)
            for check in checks:
                check(transaction)
            if entry is None:
                return None
            updated = self._store.change_in(transaction, dossier, entry, **changes)
            result = changes.get("result")
            if isinstance(result, ResultDocument):
                _attach_result_in(transaction, result, owner=agency_owner(closed.agency_code), code=dossier.code)
            return updated

        try:
            return self._store.write(build, conflict=_task_closed, failure="could not record the decision")
        except StoreError as error:
            raise Conflict(str(error), code="conflict") from None

    def overdue_tasks(self, agency_code: str, at: datetime, *, limit: int = 100) -> list[Task]:
        """An agency's open tasks whose deadline is at or before ``at``, earliest first: the head
        of its inbox partition (pattern 11), read up to ``at`` only."""
        bound = m.inbox_sk(at, "~")  # "~" sorts after every task id
        items = m.TableItem.gsi1.query(m.agency_inbox_pk(agency_code, "open"), m.TableItem.gsi1sk <= bound,
                                       limit=limit)
        return [task for task in (task_of(item) for item in items if isinstance(item, m.TaskItem))
                if task.due_at <= at]

    def record_miss(self, task: Task, new_due: datetime, dossier: Dossier | None = None,
                    entry: LogEntry | None = None, *, slips: Iterable[Slip] = (), **changes: Any) -> Task | None:
        """Moves an open task's deadline after a miss and, with ``entry``, logs the miss on its
        dossier (``change_in``), in one transaction: a miss is recorded whole or not at all. Returns
        the task as recorded, or None if it was closed or its miss recorded by someone else first;
        Conflict if only the dossier moved since it was read (read it again). Only the deadline's
        attributes of the task are updated: its callback token stays as it is."""
        recorded = replace(task, overdue_count=task.overdue_count + 1, due_at=new_due)

        def build(transaction: TransactWrite) -> None:
            transaction.update(
                m.TaskItem(m.task_pk(task.task_id), m.META),
                actions=[m.TaskItem.overdue_count.set(recorded.overdue_count), m.TaskItem.due_at.set(new_due),
                         m.TaskItem.gsi1sk.set(m.inbox_sk(new_due, task.task_id))],
                condition=(m.TaskItem.status == "open") & (m.TaskItem.overdue_count == task.overdue_count))
            if dossier is not None and entry is not None:
                self._store.change_in(transaction, dossier, entry, slips=slips, **changes)

        try:
            self._store.write(build, conflict=_dossier_conflict, failure=f"could not record the miss of {task.task_id}")
        except Conflict:
            current = self.get_task(task.task_id)
            if current is None or current.status != "open" or current.overdue_count != task.overdue_count:
                return None
            raise
        return recorded

    def put_wait(self, dossier_code: str, wait: Wait) -> None:
        m.WaitItem(m.dossier_pk(dossier_code), m.wait_sk(wait.kind), wait_kind=wait.kind, token=wait.token,
                   step_index=wait.step_index, step_kind=wait.step_kind, opened_at=wait.opened_at).save()

    def get_wait(self, dossier_code: str, kind: str) -> Wait | None:
        try:
            item = m.WaitItem.get(m.dossier_pk(dossier_code), m.wait_sk(kind), consistent_read=True)
        except DoesNotExist:
            return None
        return Wait(item.wait_kind, item.token, int(item.step_index), item.step_kind, item.opened_at)

    def delete_wait(self, dossier_code: str, kind: str) -> None:
        m.WaitItem(m.dossier_pk(dossier_code), m.wait_sk(kind)).delete()


def _conditional_failure(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def _task_closed() -> Conflict:
    return Conflict("Nhiệm vụ hoặc hồ sơ vừa thay đổi / The task or the dossier changed meanwhile "
                    "(already decided?)", code="task_closed")
