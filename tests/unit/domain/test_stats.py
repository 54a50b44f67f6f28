"""Statistics counters (what each change adds) and the report built from them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import stats
from chalicelib.domain.dossiers import LogEntry, Rating, ResultDocument
from chalicelib.domain.workflow import DossierStatus
from tests.factories import (
    COMMUNE,
    DESK,
    JUSTICE,
    SAMPLE_DUE_AT,
    create_catalogue,
    create_dossier,
    create_interagency_procedure_dict,
    create_procedure_dict,
)

S = DossierStatus
PROVINCE = {"code": "lamdong", "name": "Tỉnh Lâm Đồng"}
RESULT = ResultDocument("u-1", "results/x/u-1/kq.pdf", "kq.pdf", "application/pdf")


def change(before_status: DossierStatus, after_status: DossierStatus, action: str, *,
           at: datetime = SAMPLE_DUE_AT - timedelta(days=1), before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> stats.Bump | None:
    old = create_dossier(before_status, **(before or {}))
    new = replace(old, status=after_status, **(after or {}))
    entry = LogEntry(at=at, actor="officer", action=action, from_status=before_status, to_status=after_status)
    return stats.bump_for_change(old, entry, new)


def test_the_month_is_vietnam_time() -> None:
    # 31 October 2026 at 18:00 UTC is already 1 November in Vietnam.
    assert stats.month_of(datetime(2026, 10, 31, 18, 0, tzinfo=UTC)) == "2026-11"
    assert stats.month_of(datetime(2026, 10, 31, 16, 59, tzinfo=UTC)) == "2026-10"


def test_a_submission_counts_as_submitted_online_for_its_receiving_agency() -> None:
    bump = stats.bump_for_submission(create_dossier(S.NEW))
    assert (bump.agency_code, bump.month, dict(bump.counts)) == (DESK, "2026-11", {"submitted": 1, "online": 1})
    assert dict(stats.bump_for_submission(create_dossier(S.NEW), channel="desk").counts) == {"submitted": 1}


@pytest.mark.parametrize(("before", "after", "action", "expected"), [
    (S.NEW, S.RECEIVED, "receive", {"received": 1}),
    (S.NEW, S.NOT_RECEIVED, "refuse", {"not_received": 1, "finished": 1}),
    (S.PROCESSING, S.WITHDRAWN, "withdraw", {"finished": 1}),
    (S.SUPPLEMENT_REQUESTED, S.STOPPED, "supplement_expired", {"finished": 1}),
    (S.PROCESSING, S.AWAITING_FEE, "request_fee", {"fee_due": 1}),
    (S.DONE, S.RESULT_RETURNED, "return_result", {"returned": 1}),
    (S.PROCESSING, S.PROCESSING, "approve_step", {}),
    (S.NEW, S.SUPPLEMENT_REQUESTED, "request_supplement", {}),
])
def test_what_each_move_counts(before: DossierStatus, after: DossierStatus, action: str,
                               expected: dict[str, int]) -> None:
    bump = change(before, after, action)
    assert (dict(bump.counts) if bump else {}) == expected


def test_a_decision_by_the_due_date_is_on_time_and_a_later_one_late() -> None:
    on_time = change(S.PROCESSING, S.DONE, "approve_final", at=SAMPLE_DUE_AT)
    assert on_time is not None and dict(on_time.counts) == {"done": 1, "approved": 1, "on_time": 1, "finished": 1}
    late = change(S.PROCESSING, S.STOPPED, "reject", at=SAMPLE_DUE_AT + timedelta(seconds=1))
    assert late is not None and dict(late.counts) == {"done": 1, "rejected": 1, "late": 1, "finished": 1}


def test_a_dossier_that_got_an_apology_is_late_even_by_its_new_date() -> None:
    bump = change(S.PROCESSING, S.DONE, "approve_final", before={"overdue": True}, after={"overdue": True})
    assert bump is not None and bump.counts["late"] == 1 and "on_time" not in bump.counts


def test_an_approval_with_a_document_is_an_electronic_result() -> None:
    bump = change(S.PROCESSING, S.DONE, "approve_final", after={"result": RESULT})
    assert bump is not None and bump.counts["electronic_result"] == 1


def test_the_first_missed_deadline_counts_once() -> None:
    first = change(S.PROCESSING, S.PROCESSING, "apologise", after={"overdue": True})
    assert first is not None and dict(first.counts) == {"overdue": 1}
    assert change(S.PROCESSING, S.PROCESSING, "escalate", before={"overdue": True},
                  after={"overdue": True}) is None


def test_a_fee_paid_online_counts() -> None:
    bump = change(S.AWAITING_FEE, S.PROCESSING, "record_payment", after={"fee_status": "paid"})
    assert bump is not None and dict(bump.counts) == {"paid_online": 1}


def test_a_rating_counts_its_score_and_whether_satisfied() -> None:
    at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    happy = stats.bump_for_rating(create_dossier(S.DONE), Rating(5, "", at))
    assert (happy.month, dict(happy.counts)) == ("2026-12", {"ratings": 1, "rating_sum": 5, "satisfied": 1})
    unhappy = stats.bump_for_rating(create_dossier(S.DONE), Rating(2, "", at))
    assert dict(unhappy.counts) == {"ratings": 1, "rating_sum": 2}


def test_the_catalogue_summary_counts_per_tier_by_level_with_lien_thong() -> None:
    catalogue = create_catalogue([
        create_procedure_dict(),
        create_procedure_dict("1.000001", level=2, fee_vnd=0),
        create_procedure_dict("1.001193", level=3, fee_vnd=0, agency=COMMUNE, tier="commune", days=3),
        create_interagency_procedure_dict(),
    ])
    summary = stats.catalogue_summary(catalogue.agencies, catalogue.procedures)
    procedures = summary["procedures"]
    assert (procedures["total"], procedures["online"]) == (4, 3)
    assert procedures["by_level"] == {"1": 0, "2": 1, "3": 1, "4": 2}
    # Every sample procedure goes desk -> department: two agencies, so all are liên thông.
    assert procedures["interagency"] == 4
    assert procedures["by_tier"]["commune"] == {"total": 2, "online": 2, "interagency": 2,
                                                "by_level": {"1": 0, "2": 0, "3": 1, "4": 1}}
    assert procedures["by_tier"]["province"]["by_level"] == {"1": 0, "2": 1, "3": 0, "4": 1}
    assert {a["agency_code"]: a["tier"] for a in summary["agencies"]} == {
        DESK: "province", JUSTICE: "province", COMMUNE: "commune"}
    assert {a["agency_code"]: a["procedures"] for a in summary["agencies"]} == {DESK: 2, JUSTICE: 0, COMMUNE: 2}


def test_the_report_sums_rows_and_computes_the_indicators() -> None:
    catalogue = create_catalogue()
    summary = stats.catalogue_summary(catalogue.agencies, catalogue.procedures)
    rows = [
        stats.CounterRow(DESK, "2026-10", {"submitted": 4, "online": 4, "received": 4, "done": 3, "approved": 2,
                                           "rejected": 1, "on_time": 2, "late": 1, "finished": 3, "fee_due": 2,
                                           "paid_online": 1, "electronic_result": 2, "ratings": 2,
                                           "rating_sum": 9, "satisfied": 2}),
        stats.CounterRow(DESK, "2026-11", {"submitted": 2, "online": 2, "received": 1, "overdue": 1}),
        stats.CounterRow(COMMUNE, "2026-11", {"submitted": 1, "online": 1, "received": 1, "done": 1,
                                              "approved": 1, "on_time": 1, "finished": 1, "ratings": 1,
                                              "rating_sum": 3}),
    ]
    at = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    body = stats.report(summary, rows, province=PROVINCE, generated_at=at)
    dossiers = body["dossiers"]
    assert (dossiers["submitted"], dossiers["received"], dossiers["done"], dossiers["on_time"]) == (7, 6, 4, 3)
    assert dossiers["in_progress"] == 3
    assert dossiers["on_time_rate"] == 0.75
    assert dossiers["online_rate"] == 1.0
    assert dossiers["online_payment_rate"] == 0.5
    assert dossiers["electronic_result_rate"] == round(2 / 3, 4)
    assert dossiers["satisfaction"] == {"ratings": 3, "average": 4.0, "satisfied_rate": round(2 / 3, 4)}
    assert [m["month"] for m in body["months"]] == ["2026-10", "2026-11"]
    assert body["months"][1] == {"month": "2026-11", "received": 2, "done": 1, "on_time": 1, "late": 0,
                                 "overdue": 1}
    desk = next(a for a in body["agencies"] if a["agency_code"] == DESK)
    assert (desk["name"], desk["tier"], desk["received"], desk["on_time_rate"]) == (
        "Trung tâm Phục vụ hành chính công tỉnh Lâm Đồng", "province", 5, round(2 / 3, 4))
    assert body["procedures"] == summary["procedures"] and body["province"] == PROVINCE

    november = stats.report(summary, rows, province=PROVINCE, generated_at=at, month="2026-11")
    assert november["dossiers"]["received"] == 2 and november["month"] == "2026-11"
    assert november["dossiers"]["in_progress"] == 3  # today's count, whatever the month
    assert [m["month"] for m in november["months"]] == ["2026-11"]


def test_every_agency_receiving_procedures_is_reported_with_them_by_level_dossiers_or_not() -> None:
    catalogue = create_catalogue([
        create_procedure_dict(),
        create_procedure_dict("1.000001", level=2, fee_vnd=0),
        create_procedure_dict("1.001193", level=3, fee_vnd=0, agency=COMMUNE, tier="commune", days=3),
    ])
    summary = stats.catalogue_summary(catalogue.agencies, catalogue.procedures)
    rows = [stats.CounterRow(DESK, "2026-11", {"submitted": 1, "received": 1, "done": 1, "on_time": 1}),
            stats.CounterRow("000.99.99.H38", "2026-11", {"received": 2})]  # left the directory since
    body = stats.report(summary, rows, province=PROVINCE, generated_at=datetime(2026, 11, 26, tzinfo=UTC))
    by_code = {a["agency_code"]: a for a in body["agencies"]}
    # The justice department receives no procedure and has no dossier: not listed.
    assert set(by_code) == {DESK, COMMUNE, "000.99.99.H38"}
    assert by_code[COMMUNE]["procedures"] == {"total": 1, "by_level": {"1": 0, "2": 0, "3": 1, "4": 0}}
    assert (by_code[COMMUNE]["received"], by_code[COMMUNE]["on_time_rate"]) == (0, None)
    assert by_code[DESK]["procedures"] == {"total": 2, "by_level": {"1": 0, "2": 1, "3": 0, "4": 1}}
    assert by_code["000.99.99.H38"]["procedures"]["total"] == 0 and by_code["000.99.99.H38"]["tier"] is None
    assert body["dossiers"]["by_tier"] == {  # every tier with agencies listed, dossiers or not
        "commune": {"received": 0, "done": 0, "on_time": 0, "late": 0, "overdue": 0, "on_time_rate": None},
        "province": {"received": 1, "done": 1, "on_time": 1, "late": 0, "overdue": 0, "on_time_rate": 1.0}}
    # A summary stored before procedures were counted by level per agency: the total only.
    for entry in summary["agencies"]:
        del entry["procedures_by_level"]
    older = stats.report(summary, rows, province=PROVINCE, generated_at=datetime(2026, 11, 26, tzinfo=UTC))
    commune = next(a for a in older["agencies"] if a["agency_code"] == COMMUNE)
    assert commune["procedures"] == {"total": 1, "by_level": {"1": 0, "2": 0, "3": 0, "4": 0}}


def test_rates_are_null_with_nothing_to_count() -> None:
    body = stats.report(None, [], province=PROVINCE, generated_at=datetime(2026, 11, 26, tzinfo=UTC))
    dossiers = body["dossiers"]
    assert dossiers["on_time_rate"] is None and dossiers["online_payment_rate"] is None
    assert dossiers["satisfaction"] == {"ratings": 0, "average": None, "satisfied_rate": None}
    assert body["procedures"]["total"] == 0 and body["agencies"] == [] and body["months"] == []


def test_unknown_counters_are_refused() -> None:
    with pytest.raises(ValueError):
        stats._bump(DESK, SAMPLE_DUE_AT, {"nonsense": 1})
