"""Working-day calendar on real 2026-2027 dates; expected values worked out by hand.

Reference weeks (Asia/Ho_Chi_Minh):
- Nov 2026: Mon 23, Tue 24 (Vietnam Cultural Day), Wed 25, Thu 26, Fri 27,
  Sat 28, Sun 29, Mon 30, Tue 1 Dec.
- National Day 2026: Sat 22 Aug worked (swap), Mon 31 Aug off (swap),
  Tue 1 and Wed 2 Sep off, back on Thu 3 Sep.
- Tết 2027: off Thu 4 Feb to Wed 10 Feb (Sat 6 Feb is the first day), back on
  Thu 11 Feb.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest

from chalicelib.domain.calendar import (
    BUNDLED_CALENDAR_FILE,
    WorkingCalendar,
    default_calendar,
    load_working_calendar,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def vn(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=HCM)


@pytest.fixture
def sample_calendar() -> WorkingCalendar:
    return load_working_calendar()


@pytest.fixture
def sample_plain_calendar() -> WorkingCalendar:
    """No data file: holidays package only, no make-up Saturdays."""
    return WorkingCalendar()


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --- what the holidays package says (guards our hand-computed expectations) ---


def test_holidays_package_tet_2027_and_national_day_2026() -> None:
    vn_holidays = holidays.country_holidays("VN", years=[2026, 2027])
    tet_2027 = {d for d in vn_holidays if date(2027, 1, 25) <= d <= date(2027, 2, 25)}
    assert tet_2027 == {date(2027, 2, d) for d in range(4, 11)}
    national_day_2026 = {
        d for d in vn_holidays if date(2026, 8, 20) <= d <= date(2026, 9, 10)
    }
    assert national_day_2026 == {date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2)}
    assert vn_holidays[date(2026, 8, 31)] == "Day off (substituted from 08/22/2026)"
    assert date(2026, 11, 24) in vn_holidays
    assert date(2027, 11, 24) in vn_holidays


def test_bundled_file_has_the_2026_make_up_saturday() -> None:
    data = json.loads(BUNDLED_CALENDAR_FILE.read_text(encoding="utf-8"))
    assert "2026-08-22" in {day["date"] for day in data["extra_working_days"]}
    assert "holidays" in data["source"]


def test_every_saturday_the_holidays_package_swaps_is_a_working_day(sample_calendar: WorkingCalendar) -> None:
    """The package lists a swapped day off as "Day off (substituted from MM/DD/YYYY)" but does not
    mark that Saturday as worked: the bundled file must, for every swap it knows."""
    swapped = [datetime.strptime(name.rsplit(" ", 1)[-1].rstrip(")"), "%m/%d/%Y").date()
               for day, name in holidays.country_holidays("VN", years=range(2024, 2028)).items()
               if name.startswith("Day off (substituted from ")]
    assert {date(2024, 5, 4), date(2025, 4, 26), date(2026, 8, 22)} <= set(swapped)
    assert all(sample_calendar.is_working_day(day) for day in swapped)


# --- working days ---


def test_weekdays_weekends_and_holidays(sample_calendar: WorkingCalendar) -> None:
    assert sample_calendar.is_working_day(date(2026, 11, 26))
    assert not sample_calendar.is_working_day(date(2026, 11, 28))
    assert not sample_calendar.is_working_day(date(2026, 11, 29))
    assert not sample_calendar.is_working_day(date(2026, 11, 24))
    assert not sample_calendar.is_working_day(date(2027, 2, 4))
    assert sample_calendar.is_working_day(date(2027, 2, 11))


def test_holidays_of_far_years_load_lazily(sample_calendar: WorkingCalendar) -> None:
    # 2 Sep 2030 is a Monday.
    assert not sample_calendar.is_working_day(date(2030, 9, 2))
    assert sample_calendar.is_working_day(date(2030, 9, 4))
    assert sample_calendar.holiday_name(date(2030, 9, 2)) is not None
    assert sample_calendar.holiday_name(date(2030, 9, 4)) is None


def test_next_working_day_is_strictly_after(sample_calendar: WorkingCalendar) -> None:
    assert sample_calendar.next_working_day(date(2026, 11, 26)) == date(2026, 11, 27)
    assert sample_calendar.next_working_day(date(2026, 11, 27)) == date(2026, 11, 30)
    assert sample_calendar.next_working_day(date(2026, 8, 28)) == date(2026, 9, 3)
    assert sample_calendar.next_working_day(date(2027, 2, 3)) == date(2027, 2, 11)


def test_is_working_day_rejects_datetime(sample_calendar: WorkingCalendar) -> None:
    with pytest.raises(TypeError):
        sample_calendar.is_working_day(vn(2026, 11, 26, 9))


# --- counting start ---


def test_received_during_morning_counts_from_itself(
    sample_calendar: WorkingCalendar,
) -> None:
    assert sample_calendar.counting_start(vn(2026, 11, 26, 9)) == vn(2026, 11, 26, 9)


def test_received_at_14_59_counts_from_itself(sample_calendar: WorkingCalendar) -> None:
    assert sample_calendar.counting_start(vn(2026, 11, 26, 14, 59)) == vn(
        2026, 11, 26, 14, 59
    )


def test_received_at_15_00_is_not_after_the_cutoff(
    sample_calendar: WorkingCalendar,
) -> None:
    assert sample_calendar.counting_start(vn(2026, 11, 26, 15)) == vn(2026, 11, 26, 15)


def test_received_at_15_01_counts_from_next_working_day(
    sample_calendar: WorkingCalendar,
) -> None:
    assert sample_calendar.counting_start(vn(2026, 11, 26, 15, 1)) == vn(
        2026, 11, 27, 7
    )


def test_received_friday_after_cutoff_counts_from_monday(
    sample_calendar: WorkingCalendar,
) -> None:
    assert sample_calendar.counting_start(vn(2026, 11, 27, 15, 1)) == vn(
        2026, 11, 30, 7
    )


def test_received_saturday_and_sunday(sample_calendar: WorkingCalendar) -> None:
    assert sample_calendar.counting_start(vn(2026, 11, 28, 10)) == vn(2026, 11, 30, 7)
    assert sample_calendar.counting_start(vn(2026, 11, 29, 6)) == vn(2026, 11, 30, 7)


def test_received_before_opening(sample_calendar: WorkingCalendar) -> None:
    assert sample_calendar.counting_start(vn(2026, 11, 26, 6)) == vn(2026, 11, 26, 7)


def test_received_at_lunch(sample_calendar: WorkingCalendar) -> None:
    assert sample_calendar.counting_start(vn(2026, 11, 26, 12)) == vn(
        2026, 11, 26, 13, 30
    )
    assert sample_calendar.counting_start(vn(2026, 11, 26, 11, 30)) == vn(
        2026, 11, 26, 13, 30
    )


def test_received_after_closing(sample_calendar: WorkingCalendar) -> None:
    assert sample_calendar.counting_start(vn(2026, 11, 26, 17, 30)) == vn(
        2026, 11, 27, 7
    )


def test_received_on_a_holiday(sample_calendar: WorkingCalendar) -> None:
    assert sample_calendar.counting_start(vn(2026, 11, 24, 9)) == vn(2026, 11, 25, 7)


def test_other_time_zones_are_converted(sample_calendar: WorkingCalendar) -> None:
    # 02:00 UTC is 09:00 in Hanoi; 08:01 UTC is 15:01.
    start = sample_calendar.counting_start(datetime(2026, 11, 26, 2, tzinfo=UTC))
    assert start == vn(2026, 11, 26, 9)
    assert start.utcoffset() == timedelta(hours=7)
    late = sample_calendar.counting_start(datetime(2026, 11, 26, 8, 1, tzinfo=UTC))
    assert late == vn(2026, 11, 27, 7)


# --- due dates ---


def test_one_day_from_thursday_morning(sample_calendar: WorkingCalendar) -> None:
    due = sample_calendar.due_at(vn(2026, 11, 26, 9), 1)
    assert due == vn(2026, 11, 27, 9)
    assert due.utcoffset() == timedelta(hours=7)


def test_three_days_across_a_weekend(sample_calendar: WorkingCalendar) -> None:
    # Thu 9:00 -> Fri 9:00 (1) -> Mon 30 Nov 9:00 (2) -> Tue 1 Dec 9:00 (3).
    assert sample_calendar.due_at(vn(2026, 11, 26, 9), 3) == vn(2026, 12, 1, 9)


def test_after_cutoff_one_day_ends_at_17_00_same_day(
    sample_calendar: WorkingCalendar,
) -> None:
    # Counts from Fri 07:00; 8 h later is Fri 17:00, not Mon 07:00.
    assert sample_calendar.due_at(vn(2026, 11, 26, 15, 1), 1) == vn(2026, 11, 27, 17)


def test_at_14_59_one_day(sample_calendar: WorkingCalendar) -> None:
    # Thu 14:59-17:00 = 2h01; Fri 07:00-11:30 = 4h30 (6h31); 1h29 after 13:30.
    assert sample_calendar.due_at(vn(2026, 11, 26, 14, 59), 1) == vn(
        2026, 11, 27, 14, 59
    )


def test_received_saturday_one_day(sample_calendar: WorkingCalendar) -> None:
    assert sample_calendar.due_at(vn(2026, 11, 28, 10), 1) == vn(2026, 11, 30, 17)


def test_received_at_lunch_half_day(sample_calendar: WorkingCalendar) -> None:
    # Thu 13:30-17:00 = 3h30, then 30 min on Fri.
    assert sample_calendar.due_at(vn(2026, 11, 26, 12), 0.5) == vn(2026, 11, 27, 7, 30)


def test_half_day_landing_exactly_at_11_30(sample_calendar: WorkingCalendar) -> None:
    assert sample_calendar.due_at(vn(2026, 11, 26, 7, 30), 0.5) == vn(
        2026, 11, 26, 11, 30
    )


def test_add_working_hours_landing_at_session_ends(
    sample_calendar: WorkingCalendar,
) -> None:
    assert sample_calendar.add_working_hours(vn(2026, 11, 26, 7), 4.5) == vn(
        2026, 11, 26, 11, 30
    )
    assert sample_calendar.add_working_hours(vn(2026, 11, 26, 7), 8) == vn(
        2026, 11, 26, 17
    )
    assert sample_calendar.add_working_hours(vn(2026, 11, 26, 11, 30), 0) == vn(
        2026, 11, 26, 11, 30
    )
    # Just past the end of the morning continues after lunch.
    assert sample_calendar.add_working_hours(vn(2026, 11, 26, 7), 4.75) == vn(
        2026, 11, 26, 13, 45
    )


def test_add_working_hours_from_outside_office_hours(
    sample_calendar: WorkingCalendar,
) -> None:
    assert sample_calendar.add_working_hours(vn(2026, 11, 26, 18), 1) == vn(
        2026, 11, 27, 8
    )
    assert sample_calendar.add_working_hours(vn(2026, 11, 28, 10), 1) == vn(
        2026, 11, 30, 8
    )


def test_across_24_november(sample_calendar: WorkingCalendar) -> None:
    # Mon 23 Nov 10:00, Tue 24 Nov off -> Wed 25 Nov 10:00.
    assert sample_calendar.due_at(vn(2026, 11, 23, 10), 1) == vn(2026, 11, 25, 10)


def test_across_national_day_2026(sample_calendar: WorkingCalendar) -> None:
    # Fri 28 Aug 10:00; Sat 29, Sun 30, Mon 31 (swap), Tue 1, Wed 2 Sep off.
    # 1 day -> Thu 3 Sep 10:00, 2 days -> Fri 4 Sep 10:00.
    assert sample_calendar.due_at(vn(2026, 8, 28, 10), 1) == vn(2026, 9, 3, 10)
    assert sample_calendar.due_at(vn(2026, 8, 28, 10), 2) == vn(2026, 9, 4, 10)


def test_across_tet_2027(sample_calendar: WorkingCalendar) -> None:
    # Wed 3 Feb 10:00; Thu 4 to Wed 10 Feb off -> Thu 11 Feb 10:00.
    assert sample_calendar.due_at(vn(2027, 2, 3, 10), 1) == vn(2027, 2, 11, 10)
    # After the cutoff on Wed 3 Feb: from Thu 11 Feb 07:00, 2 days -> Fri 12 Feb 17:00.
    assert sample_calendar.due_at(vn(2027, 2, 3, 16), 2) == vn(2027, 2, 12, 17)
    # 5 days from Mon 1 Feb 09:00: Tue 2, Wed 3, Thu 11, Fri 12, Mon 15 Feb.
    assert sample_calendar.due_at(vn(2027, 2, 1, 9), 5) == vn(2027, 2, 15, 9)


# --- data files ---


def test_make_up_saturday_is_a_working_day(
    sample_calendar: WorkingCalendar, sample_plain_calendar: WorkingCalendar
) -> None:
    assert sample_calendar.is_working_day(date(2026, 8, 22))
    assert not sample_plain_calendar.is_working_day(date(2026, 8, 22))
    # Received Fri 21 Aug after the cutoff: counts from the make-up Saturday.
    assert sample_calendar.counting_start(vn(2026, 8, 21, 16)) == vn(2026, 8, 22, 7)
    assert sample_plain_calendar.counting_start(vn(2026, 8, 21, 16)) == vn(
        2026, 8, 24, 7
    )
    # Fri 21 Aug 09:00 + 1 day -> Sat 22 Aug 09:00.
    assert sample_calendar.due_at(vn(2026, 8, 21, 9), 1) == vn(2026, 8, 22, 9)


def test_extra_day_off_from_extra_file_is_skipped(tmp_path: Path) -> None:
    extra = write_json(
        tmp_path / "extra.json",
        {"extra_days_off": [{"date": "2026-11-27", "note": "provincial day off"}]},
    )
    calendar = load_working_calendar(extra=[extra])
    assert not calendar.is_working_day(date(2026, 11, 27))
    # Thu 26 Nov 09:00, Fri 27 off -> Mon 30 Nov 09:00.
    assert calendar.due_at(vn(2026, 11, 26, 9), 1) == vn(2026, 11, 30, 9)
    # The bundled make-up Saturday is still there.
    assert calendar.is_working_day(date(2026, 8, 22))


def test_default_calendar_is_cached() -> None:
    assert default_calendar() is default_calendar()
    assert default_calendar().is_working_day(date(2026, 8, 22))


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.json"):
        load_working_calendar(extra=[bad])


def test_bad_date_names_file_and_entry(tmp_path: Path) -> None:
    bad = write_json(
        tmp_path / "bad_date.json",
        {
            "extra_working_days": [
                {"date": "2026-08-22", "note": "ok"},
                {"date": "2026-13-01", "note": "no such month"},
            ]
        },
    )
    with pytest.raises(ValueError, match=r"bad_date\.json: extra_working_days\[1\]"):
        load_working_calendar(extra=[bad])


def test_non_iso_date_rejected(tmp_path: Path) -> None:
    bad = write_json(
        tmp_path / "compact.json", {"extra_days_off": [{"date": "20261127"}]}
    )
    with pytest.raises(ValueError, match=r"compact\.json: extra_days_off\[0\]"):
        load_working_calendar(extra=[bad])


def test_unknown_key_rejected(tmp_path: Path) -> None:
    bad = write_json(tmp_path / "typo.json", {"extra_working_day": []})
    with pytest.raises(ValueError, match=r"typo\.json.*extra_working_day"):
        load_working_calendar(extra=[bad])


def test_entry_must_be_an_object(tmp_path: Path) -> None:
    bad = write_json(tmp_path / "plain.json", {"extra_days_off": ["2026-11-27"]})
    with pytest.raises(ValueError, match=r"plain\.json: extra_days_off\[0\]"):
        load_working_calendar(extra=[bad])


def test_list_must_be_a_list(tmp_path: Path) -> None:
    bad = write_json(
        tmp_path / "notlist.json", {"extra_days_off": {"date": "2026-11-27"}}
    )
    with pytest.raises(ValueError, match=r"notlist\.json"):
        load_working_calendar(extra=[bad])


def test_conflict_between_files_rejected(tmp_path: Path) -> None:
    bad = write_json(
        tmp_path / "conflict.json", {"extra_days_off": [{"date": "2026-08-22"}]}
    )
    with pytest.raises(ValueError, match=r"conflict\.json.*2026-08-22"):
        load_working_calendar(extra=[bad])


def test_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"missing\.json"):
        load_working_calendar(path=tmp_path / "missing.json")


def test_custom_main_file_replaces_bundled(tmp_path: Path) -> None:
    main = write_json(
        tmp_path / "main.json", {"source": "test", "extra_working_days": []}
    )
    assert not load_working_calendar(path=main).is_working_day(date(2026, 8, 22))


# --- working hours between ---


def test_working_hours_between_across_lunch(sample_calendar: WorkingCalendar) -> None:
    # 11:00-11:30 and 13:30-14:00.
    assert (
        sample_calendar.working_hours_between(
            vn(2026, 11, 26, 11), vn(2026, 11, 26, 14)
        )
        == 1.0
    )


def test_working_hours_between_overnight(sample_calendar: WorkingCalendar) -> None:
    # Thu 16:00-17:00 and Fri 07:00-08:00.
    assert (
        sample_calendar.working_hours_between(vn(2026, 11, 26, 16), vn(2026, 11, 27, 8))
        == 2.0
    )


def test_working_hours_between_across_weekend(sample_calendar: WorkingCalendar) -> None:
    # Fri 16:00-17:00 and Mon 07:00-08:00.
    assert (
        sample_calendar.working_hours_between(vn(2026, 11, 27, 16), vn(2026, 11, 30, 8))
        == 2.0
    )


def test_working_hours_between_across_holiday(sample_calendar: WorkingCalendar) -> None:
    # Mon 23 16:00-17:00, Tue 24 off, Wed 25 07:00-08:00.
    assert (
        sample_calendar.working_hours_between(vn(2026, 11, 23, 16), vn(2026, 11, 25, 8))
        == 2.0
    )


def test_working_hours_between_full_week_and_tet(
    sample_calendar: WorkingCalendar,
) -> None:
    # Mon 30 Nov 2026 07:00 to Mon 7 Dec 07:00: five full days.
    assert (
        sample_calendar.working_hours_between(vn(2026, 11, 30, 7), vn(2026, 12, 7, 7))
        == 40.0
    )
    # Wed 3 Feb 2027 17:00 to Thu 11 Feb 07:00: all Tết, nothing counted.
    assert (
        sample_calendar.working_hours_between(vn(2027, 2, 3, 17), vn(2027, 2, 11, 7))
        == 0.0
    )


def test_working_hours_between_outside_hours_and_reversed(
    sample_calendar: WorkingCalendar,
) -> None:
    assert (
        sample_calendar.working_hours_between(
            vn(2026, 11, 26, 11, 45), vn(2026, 11, 26, 13)
        )
        == 0.0
    )
    assert (
        sample_calendar.working_hours_between(vn(2026, 11, 27, 9), vn(2026, 11, 26, 9))
        == 0.0
    )
    assert (
        sample_calendar.working_hours_between(vn(2026, 11, 26, 9), vn(2026, 11, 26, 9))
        == 0.0
    )


def test_working_hours_between_inverts_add_working_hours(
    sample_calendar: WorkingCalendar,
) -> None:
    start = vn(2027, 2, 1, 9, 15)
    for hours in (0.25, 2.25, 8.0, 30.5, 100.0):
        end = sample_calendar.add_working_hours(start, hours)
        assert sample_calendar.working_hours_between(start, end) == pytest.approx(hours)


# --- rejected inputs ---


def test_naive_datetimes_rejected(sample_calendar: WorkingCalendar) -> None:
    naive = datetime(2026, 11, 26, 9)
    with pytest.raises(ValueError, match="timezone-aware"):
        sample_calendar.counting_start(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        sample_calendar.due_at(naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        sample_calendar.add_working_hours(naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        sample_calendar.working_hours_between(vn(2026, 11, 26, 9), naive)


@pytest.mark.parametrize("days", [0, 0.0, -1, float("nan"), float("inf")])
def test_non_positive_or_non_finite_days_rejected(
    sample_calendar: WorkingCalendar, days: float
) -> None:
    with pytest.raises(ValueError):
        sample_calendar.due_at(vn(2026, 11, 26, 9), days)


def test_negative_hours_rejected(sample_calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError):
        sample_calendar.add_working_hours(vn(2026, 11, 26, 9), -1)
