"""Public statistics: counters kept with the writes, and the report built from them.

Statistics must cost the same whatever the number of dossiers, so nothing here
reads dossiers. Each write that moves a dossier adds to one counter row, the
receiving agency's for the month of the event (Vietnam time); the report sums
those rows. The procedure side is a summary computed once, when the catalogue is
loaded, counted the way the 2017 Lâm Đồng report did: per tier, by service level,
with the number of liên thông (inter-agency) procedures.

Indicators follow Decision 766/QĐ-TTg (2022):
- on-time rate: dossiers finished by their appointment date over dossiers finished.
  The appointment date already has supplement pauses deducted: a supplement in
  processing restarts the deadline (Decree 61/2018 art. 19, Decree 45/2020), so a
  dossier is on time when it was decided by its current ``due_at`` and never missed
  a step's deadline (a dossier that got an apology slip is late, whatever its new date);
- online rate: dossiers submitted online over dossiers submitted;
- online-payment rate: fees paid online over fees asked for;
- electronic-result rate: approvals whose result is an electronic document over approvals;
- satisfaction: average score and the share of scores 4-5 over ratings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain.calendar import VN_TZ
from chalicelib.domain.catalogue import Agency, Procedure
from chalicelib.domain.dossiers import Dossier, LogEntry, Rating
from chalicelib.domain.workflow import DossierStatus

# Every counter of an agency-month row. "submitted" counts every dossier filed,
# "received" those the desk received (status 2), "done" those decided in processing
# (approved or rejected), "finished" those that reached any end (so in progress =
# submitted - finished).
COUNTERS: tuple[str, ...] = (
    "submitted", "online", "received", "not_received", "done", "approved", "rejected", "on_time", "late",
    "overdue", "finished", "fee_due", "paid_online", "electronic_result", "returned", "ratings", "rating_sum",
    "satisfied",
)
LEVELS: tuple[str, ...] = ("1", "2", "3", "4")
ONLINE_LEVEL = 3  # Decree 43/2011: level 3 and up are submitted and processed online
SATISFIED_SCORE = 4

# Every dossier in this system is filed through the online service; a desk-entry
# channel would count in "submitted" without "online".
CHANNEL_ONLINE = "online"

_FINISHING = frozenset({DossierStatus.NOT_RECEIVED, DossierStatus.WITHDRAWN, DossierStatus.STOPPED,
                        DossierStatus.DONE})


def month_of(at: datetime) -> str:
    """The ``YYYY-MM`` month of an instant, in Vietnam time."""
    return at.astimezone(VN_TZ).strftime("%Y-%m")


@dataclass(frozen=True)
class Bump:
    """Counters to add to one agency-month row."""

    agency_code: str
    month: str
    counts: Mapping[str, int]


def _bump(agency_code: str, at: datetime, counts: Mapping[str, int]) -> Bump | None:
    kept = {name: value for name, value in counts.items() if value}
    unknown = set(kept) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown counters {sorted(unknown)}")
    return Bump(agency_code, month_of(at), kept) if kept else None


def bump_for_submission(dossier: Dossier, *, channel: str = CHANNEL_ONLINE) -> Bump:
    bump = _bump(dossier.agency_code, dossier.submitted_at,
                 {"submitted": 1, "online": int(channel == CHANNEL_ONLINE)})
    assert bump is not None  # "submitted" is always 1
    return bump


def bump_for_change(before: Dossier, entry: LogEntry, after: Dossier) -> Bump | None:
    """What one recorded change adds to the statistics (nothing for most log lines)."""
    counts: dict[str, int] = {}
    moved = before.status is not after.status
    if moved and after.status is DossierStatus.RECEIVED:
        counts["received"] = 1
    if moved and after.status is DossierStatus.NOT_RECEIVED:
        counts["not_received"] = 1
    if moved and after.status in _FINISHING and before.status not in _FINISHING:
        counts["finished"] = 1
    decided = moved and before.status is DossierStatus.PROCESSING and after.status in (
        DossierStatus.DONE, DossierStatus.STOPPED) and entry.action in ("approve_final", "reject")
    if decided:
        counts["done"] = 1
        approved = after.status is DossierStatus.DONE
        counts["approved" if approved else "rejected"] = 1
        on_time = not after.overdue and entry.at <= after.due_at
        counts["on_time" if on_time else "late"] = 1
        if approved and after.result is not None:
            counts["electronic_result"] = 1
    if after.overdue and not before.overdue:
        counts["overdue"] = 1
    if moved and after.status is DossierStatus.AWAITING_FEE:
        counts["fee_due"] = 1
    if moved and before.status is DossierStatus.AWAITING_FEE and after.fee_status == "paid":
        counts["paid_online"] = 1
    if moved and after.status is DossierStatus.RESULT_RETURNED:
        counts["returned"] = 1
    return _bump(before.agency_code, entry.at, counts)


def bump_for_rating(dossier: Dossier, rating: Rating) -> Bump:
    bump = _bump(dossier.agency_code, rating.rated_at, {
        "ratings": 1, "rating_sum": rating.score, "satisfied": int(rating.score >= SATISFIED_SCORE)})
    assert bump is not None
    return bump


# --- the catalogue side ----------------------------------------------------------------


def _level_counts() -> dict[str, int]:
    return dict.fromkeys(LEVELS, 0)


def catalogue_summary(agencies: Sequence[Agency], procedures: Sequence[Procedure]) -> dict[str, Any]:
    """Procedures per tier by level (with the liên thông and online counts), and the
    agency directory (with how many procedures each receives) that the report names its rows
    with and the web front filters by. Stored with the catalogue."""
    received: dict[str, int] = {}
    received_by_level: dict[str, dict[str, int]] = {}
    for procedure in procedures:
        received[procedure.agency_code] = received.get(procedure.agency_code, 0) + 1
        received_by_level.setdefault(procedure.agency_code, _level_counts())[str(procedure.level)] += 1
    by_tier: dict[str, dict[str, Any]] = {}
    totals: dict[str, Any] = {"total": 0, "online": 0, "interagency": 0, "by_level": _level_counts()}
    for procedure in procedures:
        tier = by_tier.setdefault(procedure.tier, {"total": 0, "online": 0, "interagency": 0,
                                                   "by_level": _level_counts()})
        for bucket in (totals, tier):
            bucket["total"] += 1
            bucket["online"] += int(procedure.level >= ONLINE_LEVEL)
            bucket["interagency"] += int(procedure.interagency)
            bucket["by_level"][str(procedure.level)] += 1
    return {
        "procedures": {**totals, "by_tier": dict(sorted(by_tier.items()))},
        "agencies": [{"agency_code": a.code, "name": a.name, "name_en": a.name_en, "tier": a.tier,
                      "parent_code": a.parent_code, "procedures": received.get(a.code, 0),
                      "procedures_by_level": received_by_level.get(a.code, _level_counts())} for a in agencies],
    }


# --- the report ------------------------------------------------------------------------


@dataclass(frozen=True)
class CounterRow:
    """One stored agency-month row."""

    agency_code: str
    month: str
    counts: Mapping[str, int] = field(default_factory=dict)


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _sum(rows: Iterable[CounterRow]) -> dict[str, int]:
    total = dict.fromkeys(COUNTERS, 0)
    for row in rows:
        for name in COUNTERS:
            total[name] += int(row.counts.get(name, 0))
    return total


_SHOWN = ("received", "done", "on_time", "late", "overdue")


def _dossier_block(total: Mapping[str, int], in_progress: int) -> dict[str, Any]:
    ratings = total["ratings"]
    return {
        "submitted": total["submitted"],
        **{name: total[name] for name in _SHOWN},
        "not_received": total["not_received"],
        "approved": total["approved"],
        "rejected": total["rejected"],
        "in_progress": in_progress,
        "on_time_rate": _ratio(total["on_time"], total["done"]),
        "online_rate": _ratio(total["online"], total["submitted"]),
        "online_payment_rate": _ratio(total["paid_online"], total["fee_due"]),
        "electronic_result_rate": _ratio(total["electronic_result"], total["approved"]),
        "satisfaction": {
            "ratings": ratings,
            "average": round(total["rating_sum"] / ratings, 2) if ratings else None,
            "satisfied_rate": _ratio(total["satisfied"], ratings),
        },
    }


def report(summary: Mapping[str, Any] | None, rows: Sequence[CounterRow], *, province: Mapping[str, str],
           generated_at: datetime, month: str | None = None) -> dict[str, Any]:
    """The body of ``GET /stats``: all time, or one month's dossiers with ``month``.
    "in_progress" is always today's count (submitted minus finished, all time)."""
    summary = summary or catalogue_summary((), ())
    everything = _sum(rows)
    chosen = [row for row in rows if month is None or row.month == month]
    total = _sum(chosen)
    by_agency: dict[str, list[CounterRow]] = {}
    for row in chosen:
        by_agency.setdefault(row.agency_code, []).append(row)
    by_month: dict[str, list[CounterRow]] = {}
    for row in chosen:
        by_month.setdefault(row.month, []).append(row)
    directory = {entry["agency_code"]: entry for entry in summary["agencies"]}
    # Every agency that receives procedures, with its procedures by level, whether or not it has had
    # dossiers yet (DESIGN: statistics per tier and agency); and any other that has dossiers.
    listed = set(by_agency) | {code for code, entry in directory.items() if entry.get("procedures")}
    agencies = []
    by_tier: dict[str, list[CounterRow]] = {}
    for code in sorted(listed, key=lambda c: (directory.get(c, {}).get("name", c), c)):
        counts = _sum(by_agency.get(code, ()))
        known = directory.get(code, {})
        if known.get("tier"):
            by_tier.setdefault(str(known["tier"]), []).extend(by_agency.get(code, ()))
        agencies.append({
            "agency_code": code, "name": known.get("name", code), "tier": known.get("tier"),
            # A summary stored before levels were counted per agency has the total only.
            "procedures": {"total": int(known.get("procedures", 0)),
                           "by_level": dict(known.get("procedures_by_level") or _level_counts())},
            **{name: counts[name] for name in _SHOWN},
            "on_time_rate": _ratio(counts["on_time"], counts["done"]),
        })
    tiers = {tier: {**{name: counts[name] for name in _SHOWN},
                    "on_time_rate": _ratio(counts["on_time"], counts["done"])}
             for tier, counts in ((tier, _sum(rows)) for tier, rows in sorted(by_tier.items()))}
    months = [{"month": key, **{name: counts[name] for name in _SHOWN}}
              for key, counts in ((key, _sum(by_month[key])) for key in sorted(by_month))]
    return {
        "province": dict(province),
        "generated_at": generated_at.isoformat(),
        "month": month,
        "procedures": summary["procedures"],
        "dossiers": {**_dossier_block(total, max(0, everything["submitted"] - everything["finished"])),
                     "by_tier": tiers},
        "months": months,
        "agencies": agencies,
    }
