"""Working-day calendar and deadlines (Decree 61/2018 arts. 18-19, Decree 45/2020).

Pure Python, no AWS. Deadlines are counted in working hours inside office
sessions (07:00-11:30, 13:30-17:00 Asia/Ho_Chi_Minh; 8 h = 1 working day),
skipping weekends and public holidays. Public holidays come from the
``holidays`` package; the Government's yearly swaps (a Saturday worked to
bridge a holiday) are data in ``chalicelib/data/vn_working_calendar.json``
because they are announced each year and ops must add them without a deploy
of new code.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from holidays import HolidayBase

__all__ = [
    "BUNDLED_CALENDAR_FILE",
    "COUNTING_CUTOFF",
    "HOURS_PER_WORKING_DAY",
    "OFFICE_SESSIONS",
    "VN_TZ",
    "CalendarDataError",
    "CalendarFile",
    "WorkingCalendar",
    "default_calendar",
    "load_working_calendar",
    "parse_calendar_file",
]


def _vietnam_tz() -> tzinfo:
    try:
        return ZoneInfo("Asia/Ho_Chi_Minh")
    except ZoneInfoNotFoundError:
        # Some minimal Lambda images ship without a tz database and tzdata is
        # not a runtime dependency. Vietnam has been UTC+7 without DST since
        # 1975, so a fixed offset gives identical results for any dossier date.
        return timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")


VN_TZ: tzinfo = _vietnam_tz()

# Decree 61/2018 leaves office hours to local regulation; these are the
# province's published hours, and HOURS_PER_WORKING_DAY must stay their sum.
OFFICE_SESSIONS: tuple[tuple[time, time], ...] = (
    (time(7, 0), time(11, 30)),
    (time(13, 30), time(17, 0)),
)
HOURS_PER_WORKING_DAY = 8
# A dossier received after this time counts from the next working day
# (Decree 61/2018 art. 18); exactly 15:00 is not "after".
COUNTING_CUTOFF = time(15, 0)

BUNDLED_CALENDAR_FILE: Path = (
    Path(__file__).parent.parent / "data" / "vn_working_calendar.json"
)

_ONE_HOUR = timedelta(hours=1)
_FILE_KEYS = frozenset({"source", "extra_working_days", "extra_days_off"})
_ENTRY_KEYS = frozenset({"date", "note"})


def _to_local(value: datetime, name: str) -> datetime:
    # A naive datetime is ambiguous (server UTC vs. local wall clock) and a
    # silent 7-hour error in a legal deadline is worse than a crash.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware, got naive {value.isoformat()}"
        )
    return value.astimezone(VN_TZ)


def _check_date(d: date) -> None:
    # datetime is a subclass of date but never equals one, so a datetime would
    # silently miss every holiday in the lookup sets.
    if isinstance(d, datetime):
        raise TypeError(
            "pass a date, not a datetime; convert to Asia/Ho_Chi_Minh first"
        )


def _hours(value: float, name: str) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return timedelta(hours=value)


class WorkingCalendar:
    """Working days and office hours of Vietnamese state agencies.

    ``extra_working_days`` override weekends and holidays (make-up Saturdays);
    ``extra_days_off`` add days off that ``holidays`` does not know about.
    """

    def __init__(
        self,
        extra_working_days: Iterable[date] = (),
        extra_days_off: Iterable[date] = (),
    ) -> None:
        self._extra_working_days = frozenset(extra_working_days)
        self._extra_days_off = frozenset(extra_days_off)
        for d in self._extra_working_days | self._extra_days_off:
            _check_date(d)
        conflicts = self._extra_working_days & self._extra_days_off
        if conflicts:
            listed = ", ".join(sorted(d.isoformat() for d in conflicts))
            raise ValueError(
                f"dates both extra working day and extra day off: {listed}"
            )
        # Built on the first date looked up: importing ``holidays`` costs tens of
        # milliseconds that requests which never count a deadline should not pay.
        self._holidays: HolidayBase | None = None
        self._days_off_by_year: dict[int, frozenset[date]] = {}
        self._lock = threading.Lock()

    @property
    def extra_working_days(self) -> frozenset[date]:
        return self._extra_working_days

    @property
    def extra_days_off(self) -> frozenset[date]:
        return self._extra_days_off

    def _holidays_of(self, year: int) -> frozenset[date]:
        cached = self._days_off_by_year.get(year)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._days_off_by_year.get(year)
            if cached is None:
                known = self._vn_holidays()
                # Membership test is the package's public way to populate a year.
                _ = date(year, 1, 1) in known
                cached = frozenset(d for d in known if d.year == year)
                self._days_off_by_year[year] = cached
            return cached

    def _vn_holidays(self) -> HolidayBase:
        # Called with self._lock held.
        if self._holidays is None:
            import holidays

            # Start empty: the holidays object expands itself one year at a time
            # when a date of that year is first looked up.
            self._holidays = holidays.country_holidays("VN", years=())
        return self._holidays

    def holiday_name(self, d: date) -> str | None:
        """The public holiday's name(s) on ``d``, for slips and UI; None if none."""
        _check_date(d)
        if d not in self._holidays_of(d.year):
            return None
        with self._lock:
            name: str | None = self._vn_holidays().get(d)
        return name

    def is_working_day(self, d: date) -> bool:
        _check_date(d)
        if d in self._extra_working_days:
            return True
        if d in self._extra_days_off:
            return False
        if d.weekday() >= 5:
            return False
        return d not in self._holidays_of(d.year)

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        _check_date(d)
        candidate = d + timedelta(days=1)
        while not self.is_working_day(candidate):
            candidate += timedelta(days=1)
        return candidate

    def _sessions(self, d: date) -> list[tuple[datetime, datetime]]:
        return [
            (datetime.combine(d, start, VN_TZ), datetime.combine(d, end, VN_TZ))
            for start, end in OFFICE_SESSIONS
        ]

    def _first_session_start(self, d: date) -> datetime:
        return datetime.combine(d, OFFICE_SESSIONS[0][0], VN_TZ)

    def counting_start(self, received_at: datetime) -> datetime:
        """When the deadline of a dossier received at ``received_at`` starts running."""
        local = _to_local(received_at, "received_at")
        day = local.date()
        if not self.is_working_day(day) or local.time() > COUNTING_CUTOFF:
            return self._first_session_start(self.next_working_day(day))
        for session_start, session_end in self._sessions(day):
            if local < session_end:
                return max(local, session_start)
        # Unreachable while the cutoff falls inside the last session; kept so a
        # future change of hours cannot return a time outside office hours.
        return self._first_session_start(self.next_working_day(day))

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of office time.

        A result exactly at a session end stays there (17:00 rather than 07:00
        the next working day): both mean the same instant for the citizen, and
        the earlier one is the date printed on the appointment slip.
        """
        remaining = _hours(hours, "hours")
        if remaining < timedelta(0):
            raise ValueError(f"hours must be >= 0, got {hours!r}")
        current = _to_local(start, "start")
        if not remaining:
            return current
        day = current.date()
        while True:
            if self.is_working_day(day):
                for session_start, session_end in self._sessions(day):
                    if current >= session_end:
                        continue
                    begin = max(current, session_start)
                    available = session_end - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
                    current = session_end
            day = self.next_working_day(day)
            current = self._first_session_start(day)

    def due_at(self, received_at: datetime, working_days: float) -> datetime:
        """Appointment time for a dossier (or a step) allowed ``working_days``."""
        duration = _hours(working_days, "working_days")
        if duration <= timedelta(0):
            raise ValueError(f"working_days must be > 0, got {working_days!r}")
        return self.add_working_hours(
            self.counting_start(received_at), working_days * HOURS_PER_WORKING_DAY
        )

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Office hours elapsed from ``start`` to ``end``; 0 if ``end <= start``."""
        local_start = _to_local(start, "start")
        local_end = _to_local(end, "end")
        if local_end <= local_start:
            return 0.0
        total = timedelta(0)
        day = local_start.date()
        last_day = local_end.date()
        while day <= last_day:
            if self.is_working_day(day):
                for session_start, session_end in self._sessions(day):
                    overlap = min(session_end, local_end) - max(
                        session_start, local_start
                    )
                    if overlap > timedelta(0):
                        total += overlap
            day += timedelta(days=1)
        return total / _ONE_HOUR


class CalendarDataError(ValueError):
    """A working-calendar data file is unreadable or invalid; the message names it."""


@dataclass(frozen=True)
class CalendarFile:
    """One parsed working-calendar data file."""

    path: Path
    source: str
    extra_working_days: tuple[date, ...]
    extra_days_off: tuple[date, ...]


def _parse_entries(path: Path, key: str, raw: Any) -> tuple[date, ...]:
    if not isinstance(raw, list):
        raise CalendarDataError(
            f"{path}: {key!r} must be a list, got {type(raw).__name__}"
        )
    dates: list[date] = []
    for index, entry in enumerate(raw):
        where = f"{path}: {key}[{index}]"
        if not isinstance(entry, dict):
            raise CalendarDataError(f"{where} must be an object, got {entry!r}")
        unknown = set(entry) - _ENTRY_KEYS
        if unknown:
            raise CalendarDataError(
                f"{where} has unknown keys {sorted(unknown)}: {entry!r}"
            )
        value = entry.get("date")
        if not isinstance(value, str):
            raise CalendarDataError(
                f"{where} needs a 'date' string YYYY-MM-DD: {entry!r}"
            )
        parsed: date | None
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            parsed = None
        # fromisoformat also accepts forms like "20260822"; insist on the
        # documented layout so files stay readable for ops.
        if parsed is None or parsed.isoformat() != value:
            raise CalendarDataError(
                f"{where} has invalid date {value!r}, expected YYYY-MM-DD"
            )
        note = entry.get("note", "")
        if not isinstance(note, str):
            raise CalendarDataError(f"{where} 'note' must be a string: {entry!r}")
        dates.append(parsed)
    return tuple(dates)


def parse_calendar_file(path: Path) -> CalendarFile:
    """Read and validate one data file; every error is a CalendarDataError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CalendarDataError(
            f"{path}: cannot read working calendar file: {exc}"
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CalendarDataError(f"{path}: invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CalendarDataError(f"{path}: top level must be an object")
    # A misspelt key would otherwise silently drop the ops team's swaps.
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise CalendarDataError(f"{path}: unknown keys {sorted(unknown)}")
    source = data.get("source", "")
    if not isinstance(source, str):
        raise CalendarDataError(f"{path}: 'source' must be a string")
    working = _parse_entries(
        path, "extra_working_days", data.get("extra_working_days", [])
    )
    off = _parse_entries(path, "extra_days_off", data.get("extra_days_off", []))
    both = sorted(set(working) & set(off))
    if both:
        listed = ", ".join(d.isoformat() for d in both)
        raise CalendarDataError(
            f"{path}: dates listed as both working day and day off: {listed}"
        )
    return CalendarFile(path, source, working, off)


def load_working_calendar(
    path: Path | None = None, extra: Iterable[Path] = ()
) -> WorkingCalendar:
    """Calendar from the bundled data file (or ``path``) plus ``extra`` files."""
    files = [parse_calendar_file(BUNDLED_CALENDAR_FILE if path is None else path)]
    files.extend(parse_calendar_file(p) for p in extra)
    working: dict[date, Path] = {}
    off: dict[date, Path] = {}
    for f in files:
        for d in f.extra_working_days:
            if d in off:
                raise CalendarDataError(
                    f"{f.path}: extra_working_days {d.isoformat()} is a day off in {off[d]}"
                )
            working.setdefault(d, f.path)
        for d in f.extra_days_off:
            if d in working:
                raise CalendarDataError(
                    f"{f.path}: extra_days_off {d.isoformat()} is a working day in {working[d]}"
                )
            off.setdefault(d, f.path)
    return WorkingCalendar(extra_working_days=working, extra_days_off=off)


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """The calendar from the bundled data file, built once per process."""
    return load_working_calendar()
