"""The single-table store on moto: numbering under concurrency, catalogue atomicity, listing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.dossiers import Dossier, LogEntry, format_dossier_code
from chalicelib.domain.errors import Conflict
from chalicelib.domain.workflow import DossierStatus
from chalicelib.services.deps import get_store
from chalicelib.store import models as m
from chalicelib.store.repository import STATS_SHARDS, TRANSACTION_CONFLICT_RETRIES, Store, StoreError
from tests.factories import COMMUNE, DESK, create_catalogue, create_procedure_dict, create_staff_read

SAMPLE_DAY = date(2026, 11, 26)
SAMPLE_AT = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def create_draft(owner: str = "citizen-1", agency: str = DESK) -> Dossier:
    return Dossier(
        code="", procedure_code="2.000488", procedure_name="Cấp Phiếu lý lịch tư pháp", agency_code=agency,
        owner=owner, applicant={"full_name": "Nguyễn Văn An"}, form={}, documents=(),
        status=DossierStatus.NEW, submitted_at=SAMPLE_AT, due_at=SAMPLE_AT, updated_at=SAMPLE_AT,
        fee_vnd=0, fee_status="not_required",
    )


def create_entry() -> LogEntry:
    return LogEntry(at=SAMPLE_AT, actor="citizen", action="submit", from_status=None, to_status=DossierStatus.NEW)


def submit(store: Store, agency: str = DESK, owner: str = "citizen-1") -> Dossier:
    return store.create_dossier(
        create_draft(owner, agency), create_entry(),
        make_code=lambda sequence: format_dossier_code(agency, SAMPLE_DAY, sequence),
        counter_key=(agency, "261126"),
    )


@pytest.fixture
def sample_store(aws: dict[str, str]) -> Store:
    return get_store()


def test_concurrent_submissions_get_unique_gap_free_codes(sample_store: Store) -> None:
    # Kept small: moto copies the whole table for every transaction. The 1,000-dossier
    # run against the local stack belongs to the hardening suite.
    agencies = [DESK] * 10 + [COMMUNE] * 6
    with ThreadPoolExecutor(max_workers=8) as pool:
        dossiers = list(pool.map(lambda agency: submit(sample_store, agency), agencies))
    codes = [d.code for d in dossiers]
    assert len(set(codes)) == len(codes) == 16
    for agency, count in ((DESK, 10), (COMMUNE, 6)):
        expected = {f"{agency}-261126-{n:04d}" for n in range(1, count + 1)}
        assert {c for c in codes if c.startswith(agency)} == expected
    # Every stored dossier is readable with its first log entry.
    for dossier in dossiers[:5]:
        stored = sample_store.get_dossier(dossier.code)
        assert stored is not None and stored.owner == "citizen-1" and len(stored.history) == 1


def test_apply_change_refuses_a_stale_copy(sample_store: Store) -> None:
    dossier = submit(sample_store)
    entry = replace(create_entry(), action="withdraw", from_status=DossierStatus.NEW,
                    to_status=DossierStatus.WITHDRAWN)
    changed = sample_store.apply_change(dossier, entry)
    assert changed.status is DossierStatus.WITHDRAWN
    with pytest.raises(Conflict):
        sample_store.apply_change(dossier, entry)  # read before the change above
    stored = sample_store.get_dossier(dossier.code)
    assert stored is not None
    assert stored.status is DossierStatus.WITHDRAWN
    assert [e.to_status for e in stored.history] == [DossierStatus.NEW, DossierStatus.WITHDRAWN]


def test_catalogue_load_is_idempotent(sample_store: Store) -> None:
    catalogue = create_catalogue()
    sample_store.put_catalogue(catalogue)
    sample_store.put_catalogue(catalogue)
    items = list(m.TableItem.gsi1.query(m.CATALOGUE_PROCEDURES))
    assert sorted(i.code for i in items if isinstance(i, m.ProcedureItem)) == sorted(
        p.code for p in catalogue.procedures)
    assert sample_store.get_procedure("2.000488") == catalogue.procedures[0]
    assert {a.code for a in sample_store.list_agencies()} == {a.code for a in catalogue.agencies}


def test_oversized_catalogue_writes_nothing(sample_store: Store) -> None:
    procedures = [create_procedure_dict(f"9.{n:06d}") for n in range(100)]
    with pytest.raises(StoreError):
        sample_store.put_catalogue(create_catalogue(procedures))
    assert list(m.TableItem.gsi1.query(m.CATALOGUE_PROCEDURES)) == []


def test_list_procedures_filters_and_pages(sample_store: Store) -> None:
    sample_store.put_catalogue(create_catalogue())
    assert [p.code for p in sample_store.list_procedures(level=3).items] == ["1.001193"]
    assert [p.code for p in sample_store.list_procedures(tier="commune").items] == ["1.001193"]
    assert [p.code for p in sample_store.list_procedures(query="KHAI SINH").items] == ["1.001193"]
    assert [p.code for p in sample_store.list_procedures(query="phiếu").items] == ["2.000488"]
    assert sample_store.list_procedures(agency_code=COMMUNE, level=4).items == []
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        page = sample_store.list_procedures(limit=3, cursor=cursor)
        seen.extend(p.code for p in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(p.code for p in create_catalogue().procedures)


def test_closing_a_task_keeps_a_token_attached_meanwhile(sample_store: Store) -> None:
    """The route may attach its callback token between an agency reading its task and
    deciding it: the decision must not erase the token, or nobody answers the route."""
    from chalicelib.domain.tasks import Task
    from chalicelib.store.repository import TaskStore

    tasks = TaskStore(sample_store)
    dossier = submit(sample_store)
    (opened,) = tasks.open_tasks([Task(
        task_id="t1", dossier_code=dossier.code, step_index=0, kind="reception", role="lead", agency_code=DESK,
        status="open", opened_at=SAMPLE_AT, due_at=SAMPLE_AT)])
    assert opened.token is None  # what the agency read
    tasks.attach_token("t1", "token-from-the-route")
    closed = replace(opened, status="decided", decided_at=SAMPLE_AT, decision="receive", outcome="continue")
    decided, _ = tasks.decide(dossier, None, closed, create_staff_read(dossier.code))
    assert (decided.status, decided.decision, decided.token) == ("decided", "receive", "token-from-the-route")
    assert tasks.inbox(DESK, "open", cursor=None, limit=10).items == []
    assert [t.task_id for t in tasks.inbox(DESK, "decided", cursor=None, limit=10).items] == ["t1"]


def transaction_conflicts(monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """Makes the next ``times`` transactions fail as DynamoDB does when another transaction
    writes one of their items at the same moment; counts the commits tried."""
    tried: list[int] = []
    original = TransactWrite._commit

    def commit(self: TransactWrite) -> Any:
        tried.append(1)
        if len(tried) <= times:
            items = len(self._put_items) + len(self._update_items) + len(self._condition_check_items)
            reasons = [None] * (items - 1) + [CancellationReason(code="TransactionConflict")]
            raise TransactWriteError("Transaction cancelled", cause=VerboseClientError(
                {"Error": {"Code": "TransactionCanceledException", "Message": "conflict"}}, "TransactWriteItems",
                cancellation_reasons=reasons))
        return original(self)

    monkeypatch.setattr(TransactWrite, "_commit", commit)
    return tried


def withdrawal(dossier: Dossier) -> LogEntry:
    return replace(create_entry(), action="withdraw", from_status=dossier.status, to_status=DossierStatus.WITHDRAWN)


def test_a_change_that_collided_on_a_shared_item_is_tried_again(sample_store: Store,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    dossier = submit(sample_store)
    tried = transaction_conflicts(monkeypatch, 2)
    assert sample_store.apply_change(dossier, withdrawal(dossier)).status is DossierStatus.WITHDRAWN
    assert len(tried) == 3
    stored = sample_store.get_dossier(dossier.code)
    assert stored is not None and len(stored.history) == 2  # written once


def test_a_change_that_keeps_colliding_is_a_conflict_and_writes_nothing(sample_store: Store,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    dossier = submit(sample_store)
    tried = transaction_conflicts(monkeypatch, 100)
    with pytest.raises(Conflict) as refused:
        sample_store.apply_change(dossier, withdrawal(dossier))
    assert refused.value.code == "concurrent_update" and len(tried) == TRANSACTION_CONFLICT_RETRIES + 1
    stored = sample_store.get_dossier(dossier.code)
    assert stored is not None and stored.status is DossierStatus.NEW


def test_statistics_rows_are_sharded_and_summed(sample_store: Store) -> None:
    sample_store.put_catalogue(create_catalogue())
    for _ in range(12):
        submit(sample_store)
    read = sample_store.statistics()
    summary, rows = read.summary, read.rows
    assert summary is not None and summary["procedures"]["total"] == len(create_catalogue().procedures)
    assert 1 < len(rows) <= STATS_SHARDS
    assert {(row.agency_code, row.month) for row in rows} == {(DESK, "2026-11")}
    assert sum(row.counts["submitted"] for row in rows) == 12


def test_the_audit_trail_is_one_hash_chain_even_under_concurrent_reads(sample_store: Store) -> None:
    from chalicelib.domain.audit import verify_chain

    dossier = submit(sample_store)
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda n: sample_store.audit_read(dossier.code, agency_code=DESK, key_id=f"k{n}",
                                                        at=SAMPLE_AT, action="read"), range(12)))
    trail = sample_store.audit_trail(dossier.code)
    assert [line.sequence for line in trail] == list(range(1, 13))
    assert sorted(line.key_id for line in trail) == sorted(f"k{n}" for n in range(12))
    assert verify_chain(dossier.code, trail).intact
    # Tampering with a stored line (an UpdateItem by someone with table access) shows.
    m.AuditItem(m.dossier_pk(dossier.code), m.audit_sk(5)).update(actions=[m.AuditItem.action.set("nothing")])
    check = verify_chain(dossier.code, sample_store.audit_trail(dossier.code))
    assert check.first_broken == 5


def test_a_cancelled_transaction_leaves_every_item_as_it_was(sample_store: Store) -> None:
    """moto rolls a cancelled transaction back item by item under the serialising lock
    (tools/moto_patches.py): an item it updated is restored, one it created is gone, and
    items outside the transaction (another dossier) keep what was written meanwhile."""
    kept = submit(sample_store)
    counter = m.CounterItem.get(m.counter_pk(DESK, "261126"), m.COUNTER_SK)
    assert int(counter.last_sequence) == 1
    with pytest.raises(TransactWriteError) as cancelled, sample_store._transaction() as transaction:
        transaction.update(counter, actions=[m.CounterItem.last_sequence.set(7)], add_version_condition=False)
        transaction.save(m.CounterItem(m.counter_pk(COMMUNE, "261126"), m.COUNTER_SK, last_sequence=3))
        transaction.save(Store._dossier_item(replace(kept, owner="someone-else")),
                         condition=m.DossierItem.pk.does_not_exist())  # fails: the dossier exists
    reasons = [r.code if r else None for r in cancelled.value.cancellation_reasons or []]
    assert reasons == [None, "ConditionalCheckFailed", None]  # puts first, then updates (pynamodb)
    assert int(m.CounterItem.get(m.counter_pk(DESK, "261126"), m.COUNTER_SK).last_sequence) == 1
    with pytest.raises(m.CounterItem.DoesNotExist):
        m.CounterItem.get(m.counter_pk(COMMUNE, "261126"), m.COUNTER_SK)
    stored = sample_store.get_dossier(kept.code)
    assert stored is not None and stored.owner == "citizen-1" and len(stored.history) == 1
    # The table goes on numbering from where it was.
    assert submit(sample_store).code == f"{DESK}-261126-0002"


def test_numbering_reads_no_counter_and_processes_that_fall_behind_catch_up(
        sample_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each process remembers the last number it saw per counter and conditions on it; another
    process's numbers make its next try fail and return the counter as it is (ALL_OLD), so the
    day's sequence stays unique and gap-free without a read before the write."""
    other_process = Store(sample_store._table_name, sample_store._region)

    def refused(*_: Any, **__: Any) -> Any:
        raise AssertionError("the counter was read")

    monkeypatch.setattr(m.CounterItem, "get", refused)
    codes = [submit(store).code for store in (sample_store, sample_store, other_process, sample_store,
                                              other_process, other_process, sample_store)]
    assert codes == [f"{DESK}-261126-{n:04d}" for n in range(1, 8)]
    assert int(m.CounterItem.query(m.counter_pk(DESK, "261126")).next().last_sequence) == 7


def test_two_processes_numbering_concurrently_get_unique_gap_free_codes(sample_store: Store) -> None:
    other_process = Store(sample_store._table_name, sample_store._region)
    stores = [sample_store, other_process] * 6
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda store: submit(store).code, stores))
    assert sorted(codes) == [f"{DESK}-261126-{n:04d}" for n in range(1, 13)]


def test_a_full_rate_row_refuses_the_dossier_and_writes_nothing(sample_store: Store) -> None:
    from chalicelib.store.repository import RateCharge, SubmissionRefused

    charge = RateCharge("submit", "citizen-1", window_start=1_800_000_000, limit=1, expires_at=1_800_007_200)
    kept = sample_store.create_dossier(create_draft(), create_entry(), rate=charge,
                                       make_code=lambda n: format_dossier_code(DESK, SAMPLE_DAY, n),
                                       counter_key=(DESK, "261126"))
    with pytest.raises(SubmissionRefused) as refused:
        sample_store.create_dossier(create_draft(), create_entry(), rate=charge,
                                    make_code=lambda n: format_dossier_code(DESK, SAMPLE_DAY, n),
                                    counter_key=(DESK, "261126"))
    assert refused.value.rate_limited and refused.value.uploads == {}
    assert int(m.CounterItem.get(m.counter_pk(DESK, "261126"), m.COUNTER_SK).last_sequence) == 1
    assert sample_store.get_dossier(f"{DESK}-261126-0002") is None
    assert sample_store.take_rate("submit", "citizen-2", window_start=1_800_000_000, limit=1,
                                  expires_at=1_800_007_200)  # another caller's row
    assert submit(sample_store).code == f"{DESK}-261126-0002" != kept.code


def test_opening_a_step_records_its_tasks_on_the_dossier_and_a_decision_writes_what_it_returns(
        sample_store: Store) -> None:
    """The step's tasks and the dossier's record of them are one transaction; a change read before
    it then fails instead of writing the old record back; a redelivered opening changes nothing.
    A decision returns the dossier as its transaction wrote it (nothing read back)."""
    from chalicelib.domain.dossiers import OpenStepTask
    from chalicelib.domain.tasks import Task
    from chalicelib.store.repository import TaskStore

    tasks = TaskStore(sample_store)
    dossier = submit(sample_store)
    # The record is META alone: what the applicant filed (DETAILS) is not read.
    assert sample_store.get_dossier_record(dossier.code) == replace(dossier, history=(), open_tasks=(), applicant={},
                                                                    form={}, documents=())
    step = [Task(task_id=f"t{n}", dossier_code=dossier.code, step_index=1, kind="processing",
                 role="lead" if n == 0 else "helper", agency_code=agency, status="open", opened_at=SAMPLE_AT,
                 due_at=SAMPLE_AT.replace(hour=2 + n), helpers=1 if n == 0 else None)
            for n, agency in enumerate((DESK, COMMUNE))]
    assert tasks.open_tasks(step) == step
    where = tuple(OpenStepTask(t.task_id, 1, "processing", t.agency_code, t.due_at) for t in step)
    record = sample_store.get_dossier_record(dossier.code)
    assert record is not None and record.open_tasks == where and record.version == dossier.version + 1
    with pytest.raises(Conflict):
        sample_store.apply_change(dossier, withdrawal(dossier))  # read before the step opened
    assert tasks.open_tasks(step) == step  # redelivered
    assert tasks.get_task("t0") == step[0]
    current = sample_store.get_dossier(dossier.code)
    assert current is not None and current.version == record.version
    entry = LogEntry(at=SAMPLE_AT, actor=f"agency:{COMMUNE}", action="approve_step",
                     from_status=DossierStatus.NEW, to_status=DossierStatus.NEW)
    closed = replace(step[1], status="decided", decided_at=SAMPLE_AT, decision="approve", outcome="continue")
    read = create_staff_read(dossier.code, agency_code=COMMUNE)
    decided, written = tasks.decide(current, entry, closed, read, open_tasks=where[:1])
    assert decided == closed and written == sample_store.get_dossier(dossier.code)
    assert written is not None and written.open_tasks == where[:1] and written.history[-1] == entry
    assert sample_store.staff_reads(COMMUNE, read.at) == [read]  # in the decision's transaction
    with pytest.raises(Conflict):
        tasks.decide(current, entry, closed, create_staff_read(dossier.code, read_id="read-2",
                                                               agency_code=COMMUNE))  # decided already
    assert sample_store.staff_reads(COMMUNE, read.at) == [read]  # nor its read: nothing was shown


def test_no_task_opens_on_a_closed_dossier(sample_store: Store) -> None:
    """A dossier closed between the route reading it and opening its step keeps no task open
    (its closing change's list of open tasks is complete)."""
    from chalicelib.domain.tasks import Task
    from chalicelib.store.repository import TaskStore

    tasks = TaskStore(sample_store)
    dossier = submit(sample_store)
    sample_store.apply_change(dossier, withdrawal(dossier))
    with pytest.raises(StoreError):
        tasks.open_tasks([Task(task_id="late", dossier_code=dossier.code, step_index=0, kind="reception",
                               role="lead", agency_code=DESK, status="open", opened_at=SAMPLE_AT, due_at=SAMPLE_AT)])
    assert tasks.get_task("late") is None
    record = sample_store.get_dossier_record(dossier.code)
    assert record is not None and record.open_tasks == ()


def raw_item(code: str, sort_key: str) -> dict[str, Any]:
    return dict(m.TableItem._get_connection().get_item(m.dossier_pk(code), sort_key).get("Item") or {})


def supplement(dossier: Dossier) -> LogEntry:
    return replace(create_entry(), action="supplement", from_status=dossier.status, to_status=dossier.status)


def test_what_the_applicant_filed_is_kept_apart_and_changes_rewrite_only_the_small_item(
        sample_store: Store) -> None:
    """Applicant, form and documents live in DETAILS, written at submission and by a supplement
    only: every other change rewrites META, which stays small (DynamoDB bills a write by size)."""
    from chalicelib.domain.catalogue import FeeExemption
    from chalicelib.domain.dossiers import DocumentRef

    form = {f"field_{n}": "Nội dung khai báo của người nộp hồ sơ " * 3 for n in range(30)}  # ~3.5 KB
    documents: tuple[DocumentRef, ...] = ()  # uploads are attached in test_dossiers_api; none needed here
    exemption = FeeExemption(category="poor", name="Hộ nghèo", legal_basis="Thông tư 85/2019/TT-BTC")
    dossier = sample_store.create_dossier(
        replace(create_draft(), form=form, documents=documents, fee_exemption=exemption), create_entry(),
        make_code=lambda n: format_dossier_code(DESK, SAMPLE_DAY, n), counter_key=(DESK, "261126"))
    assert sample_store.get_dossier(dossier.code) == dossier
    meta, details = raw_item(dossier.code, m.META), raw_item(dossier.code, m.DETAILS_SK)
    assert not {"applicant", "form", "documents", "fee_exemption"} & meta.keys()
    assert len(str(meta)) < 1024  # DynamoDB's size of it is smaller still (no type tags)
    assert details["kind"] == {"S": "dossier_details"} and "GSI1PK" not in details and "GSI2PK" not in details

    moved = sample_store.apply_change(dossier, replace(withdrawal(dossier), to_status=DossierStatus.RECEIVED))
    assert raw_item(dossier.code, m.DETAILS_SK) == details
    assert sample_store.get_dossier(dossier.code) == moved

    new_form = {**form, "field_0": "Đã bổ sung"}
    new_documents = (*documents, DocumentRef("bo_sung", "u3"))
    supplemented = sample_store.apply_change(moved, supplement(moved), form=new_form, documents=new_documents)
    stored = sample_store.get_dossier(dossier.code)
    assert stored == supplemented and stored.form == new_form and stored.documents == new_documents
    assert stored.applicant == {"full_name": "Nguyễn Văn An"}
    with pytest.raises(Conflict):  # the META condition guards DETAILS too: nothing half-written
        sample_store.apply_change(moved, supplement(moved), form={"field_0": "cũ"})
    assert sample_store.get_dossier(dossier.code) == supplemented


def test_a_dossier_stored_before_details_existed_reads_and_changes_right(sample_store: Store) -> None:
    """Everything on META, open tasks as objects, no DETAILS item: read as it was; a change keeps
    it; a supplement moves what the applicant filed to DETAILS."""
    from chalicelib.domain.catalogue import FeeExemption
    from chalicelib.domain.dossiers import DocumentRef, OpenStepTask

    code = format_dossier_code(DESK, SAMPLE_DAY, 7)
    old = replace(create_draft(), code=code, form={"purpose": "Xin việc"}, documents=(DocumentRef("cccd", "u1"),),
                  version=1, history=(create_entry(),),
                  open_tasks=(OpenStepTask("t1", 0, "reception", DESK, SAMPLE_AT),),
                  fee_exemption=FeeExemption(category="poor", name="Hộ nghèo", legal_basis="TT 85/2019"))
    item = Store._dossier_item(old)
    item.applicant, item.form = old.applicant, old.form
    item.fee_exemption = {"category": "poor", "name": "Hộ nghèo", "legal_basis": "TT 85/2019"}
    item.open_tasks = [{"task_id": "t1", "step_index": 0, "kind": "reception", "agency_code": DESK,
                        "due_at": SAMPLE_AT.isoformat()}]
    item.documents = [m.DocumentRefMap(document_id="cccd", upload_id="u1")]
    item.save()
    m.LogItem(m.dossier_pk(code), m.log_sk(SAMPLE_AT.isoformat(), 0), at=SAMPLE_AT, actor="citizen", action="submit",
              to_status=int(DossierStatus.NEW)).save()
    assert sample_store.get_dossier(code) == old
    record = sample_store.get_dossier_record(code)
    assert record is not None and record.form == old.form and record.open_tasks == old.open_tasks
    assert sample_store.list_dossiers_of("citizen-1", cursor=None, limit=10).items == [replace(old, history=())]

    received = sample_store.apply_change(old, replace(withdrawal(old), to_status=DossierStatus.RECEIVED))
    assert sample_store.get_dossier(code) == received and received.form == old.form
    assert not raw_item(code, m.DETAILS_SK)

    supplemented = sample_store.apply_change(received, supplement(received), form={"purpose": "Du học"})
    assert sample_store.get_dossier(code) == supplemented and supplemented.form == {"purpose": "Du học"}
    assert not {"applicant", "form", "documents", "fee_exemption"} & raw_item(code, m.META).keys()
    assert supplemented.documents == old.documents and supplemented.applicant == old.applicant
    assert supplemented.fee_exemption == old.fee_exemption
