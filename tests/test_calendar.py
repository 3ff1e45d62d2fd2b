from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from bot import calendar
from bot.calendar import Calendar, clock_at, now, set_clock
from bot.config import Settings

LONDON = ZoneInfo("Europe/London")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def cal() -> Calendar:
    return Calendar(LONDON)


@pytest.fixture(autouse=True)
def _no_clock_override():
    set_clock(None)
    yield
    set_clock(None)


# --- working days ---------------------------------------------------------------------------------


def test_weekends_are_not_working_days(cal):
    assert cal.is_working_day(date(2027, 1, 15))  # Friday
    assert not cal.is_working_day(date(2027, 1, 16))  # Saturday
    assert not cal.is_working_day(date(2027, 1, 17))  # Sunday
    assert cal.is_working_day(date(2027, 1, 18))  # Monday


@pytest.mark.parametrize(
    "holiday",
    [
        date(2027, 1, 1),  # New Year's Day
        date(2027, 3, 26),  # Good Friday
        date(2027, 3, 29),  # Easter Monday
        date(2027, 5, 3),  # Early May bank holiday
        date(2027, 5, 31),  # Spring bank holiday
        date(2027, 8, 30),  # Summer bank holiday
        date(2027, 12, 27),  # Christmas Day (Saturday) substitute
        date(2027, 12, 28),  # Boxing Day (Sunday) substitute
        date(2026, 12, 28),  # Boxing Day 2026 (Saturday) substitute
        date(2028, 1, 3),  # New Year's Day 2028 (Saturday) substitute
        date(2023, 5, 8),  # one-off: Coronation of Charles III
    ],
)
def test_bank_holidays_are_not_working_days(cal, holiday):
    assert holiday.weekday() < 5
    assert not cal.is_working_day(holiday)


def test_days_around_bank_holidays_are_working_days(cal):
    assert cal.is_working_day(date(2027, 3, 25))  # Thursday before Good Friday
    assert cal.is_working_day(date(2027, 3, 30))  # Tuesday after Easter Monday
    assert cal.is_working_day(date(2027, 12, 29))
    assert cal.is_working_day(date(2027, 5, 4))


def test_add_working_days_across_christmas_2026(cal):
    # 25 Dec Fri, 26-27 weekend, 28 Mon Boxing Day substitute.
    assert cal.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)
    assert cal.add_working_days(date(2026, 12, 24), 2) == date(2026, 12, 30)
    assert cal.add_working_days(date(2026, 12, 29), -1) == date(2026, 12, 24)


def test_add_working_days_zero_returns_the_day_itself(cal):
    assert cal.add_working_days(date(2027, 1, 16), 0) == date(2027, 1, 16)  # even a Saturday


def test_add_working_days_across_easter_and_year_end(cal):
    assert cal.add_working_days(date(2027, 3, 25), 1) == date(2027, 3, 30)
    assert cal.add_working_days(date(2027, 12, 24), 1) == date(2027, 12, 29)
    assert cal.add_working_days(date(2027, 12, 31), 1) == date(2028, 1, 4)
    assert cal.add_working_days(date(2027, 1, 18), 10) == date(2027, 2, 1)


def test_next_working_day_is_strictly_after(cal):
    assert cal.next_working_day(date(2027, 1, 12)) == date(2027, 1, 13)
    assert cal.next_working_day(date(2027, 1, 15)) == date(2027, 1, 18)
    assert cal.next_working_day(date(2027, 3, 25)) == date(2027, 3, 30)


def test_first_working_day_of_month(cal):
    assert cal.first_working_day(2027, 2) == date(2027, 2, 1)  # Monday
    assert cal.first_working_day(2027, 1) == date(2027, 1, 4)  # 1st a bank holiday, then weekend
    assert cal.first_working_day(2028, 1) == date(2028, 1, 4)  # Sat 1st, Mon 3rd substitute


def test_last_working_day_of_month(cal):
    assert date(2027, 12, 31).weekday() == 4
    assert cal.last_working_day(2027, 12) == date(2027, 12, 31)
    assert cal.last_working_day(2027, 1) == date(2027, 1, 29)  # 31st is a Sunday
    assert cal.last_working_day(2027, 7) == date(2027, 7, 30)  # 31st is a Saturday
    assert cal.last_working_day(2027, 8) == date(2027, 8, 31)  # Tue, day after the bank holiday
    assert cal.last_working_day(2028, 2) == date(2028, 2, 29)  # leap year, Tuesday


def test_working_days_between(cal):
    assert cal.working_days_between(date(2026, 12, 24), date(2026, 12, 29)) == 1
    assert cal.working_days_between(date(2027, 1, 15), date(2027, 1, 18)) == 1
    assert cal.working_days_between(date(2027, 1, 11), date(2027, 1, 25)) == 10
    assert cal.working_days_between(date(2027, 1, 12), date(2027, 1, 12)) == 0
    assert cal.working_days_between(date(2027, 1, 18), date(2027, 1, 11)) == 0


# --- local time and DST ---------------------------------------------------------------------------


def test_at_converts_local_wall_clock_to_utc_across_dst(cal):
    assert cal.at(date(2027, 3, 25), time(9, 0)) == utc(2027, 3, 25, 9, 0)  # GMT
    assert cal.at(date(2027, 3, 30), time(9, 0)) == utc(2027, 3, 30, 8, 0)  # BST
    assert cal.at(date(2027, 10, 29), time(9, 0)) == utc(2027, 10, 29, 8, 0)  # BST
    assert cal.at(date(2027, 11, 1), time(9, 0)) == utc(2027, 11, 1, 9, 0)  # GMT
    assert cal.at(date(2027, 3, 30), time(9, 0)).tzinfo is UTC


def test_at_handles_the_gap_and_the_repeated_hour(cal):
    # 01:30 does not exist on 28 March 2027: pushed forward by the gap to 02:30 BST.
    gap = cal.at(date(2027, 3, 28), time(1, 30))
    assert gap == utc(2027, 3, 28, 1, 30)
    assert cal.local(gap).replace(tzinfo=None) == datetime(2027, 3, 28, 2, 30)
    # 01:30 happens twice on 31 October 2027: the first (BST) one.
    assert cal.at(date(2027, 10, 31), time(1, 30)) == utc(2027, 10, 31, 0, 30)


def test_local(cal):
    summer = cal.local(utc(2027, 6, 16, 12, 0))
    assert summer.replace(tzinfo=None) == datetime(2027, 6, 16, 13, 0)
    assert summer.utcoffset() == timedelta(hours=1)
    with pytest.raises(ValueError):
        cal.local(datetime(2027, 6, 16, 12, 0))


def test_in_working_hours_at_0830_utc_each_side_of_dst(cal):
    assert not cal.in_working_hours(utc(2027, 3, 25, 8, 30))  # 08:30 GMT
    assert cal.in_working_hours(utc(2027, 3, 30, 8, 30))  # 09:30 BST
    assert cal.in_working_hours(utc(2027, 10, 29, 8, 30))  # 09:30 BST
    assert not cal.in_working_hours(utc(2027, 11, 1, 8, 30))  # 08:30 GMT


def test_in_working_hours_bounds(cal):
    assert cal.in_working_hours(utc(2027, 1, 12, 9, 0))  # opening is inside
    assert cal.in_working_hours(utc(2027, 1, 12, 17, 29))
    assert not cal.in_working_hours(utc(2027, 1, 12, 17, 30))  # closing is outside
    assert not cal.in_working_hours(utc(2027, 6, 16, 16, 45))  # 17:45 BST
    assert not cal.in_working_hours(utc(2027, 1, 16, 12, 0))  # Saturday
    assert not cal.in_working_hours(utc(2027, 3, 29, 11, 0))  # Easter Monday


def test_next_working_moment(cal):
    inside = utc(2027, 1, 12, 11, 15)
    assert cal.next_working_moment(inside) == inside
    assert cal.next_working_moment(utc(2027, 1, 12, 7, 0)) == utc(2027, 1, 12, 9, 0)  # before opening
    assert cal.next_working_moment(utc(2027, 1, 12, 18, 0)) == utc(2027, 1, 13, 9, 0)  # after closing


def test_next_working_moment_returns_utc(cal):
    inside_bst = datetime(2027, 6, 16, 10, 0, tzinfo=LONDON)
    result = cal.next_working_moment(inside_bst)
    assert result == utc(2027, 6, 16, 9, 0)
    assert result.tzinfo is UTC


def test_next_working_moment_over_autumn_clock_change_weekend(cal):
    friday_evening = datetime(2027, 10, 29, 18, 0, tzinfo=LONDON)  # 17:00 UTC, BST
    assert cal.next_working_moment(friday_evening) == utc(2027, 11, 1, 9, 0)  # Monday 09:00 GMT


def test_next_working_moment_over_spring_clock_change_easter_weekend(cal):
    # Good Friday, the clocks go forward on Sunday, Easter Monday: next opening is Tuesday 09:00 BST.
    friday_evening = datetime(2027, 3, 26, 18, 0, tzinfo=LONDON)
    assert cal.next_working_moment(friday_evening) == utc(2027, 3, 30, 8, 0)


def test_add_working_hours_within_a_day(cal):
    assert cal.add_working_hours(utc(2027, 1, 12, 10, 0), 2) == utc(2027, 1, 12, 12, 0)
    assert cal.add_working_hours(utc(2027, 1, 12, 10, 0), 0.25) == utc(2027, 1, 12, 10, 15)


def test_add_working_hours_overnight(cal):
    assert cal.add_working_hours(utc(2027, 1, 12, 16, 30), 2) == utc(2027, 1, 13, 10, 0)
    # Summer: 17:00 BST leaves half an hour, then 1.5 h from 09:00 BST on Thursday.
    assert cal.add_working_hours(utc(2027, 6, 16, 16, 0), 2) == utc(2027, 6, 17, 9, 30)


def test_add_working_hours_ending_exactly_at_closing(cal):
    assert cal.add_working_hours(utc(2027, 1, 12, 15, 30), 2) == utc(2027, 1, 12, 17, 30)


def test_add_working_hours_across_a_weekend(cal):
    assert cal.add_working_hours(utc(2027, 1, 15, 17, 0), 2) == utc(2027, 1, 18, 10, 30)
    assert cal.add_working_hours(utc(2027, 1, 16, 12, 0), 2) == utc(2027, 1, 18, 11, 0)  # from Saturday


def test_add_working_hours_across_easter_and_the_clock_change(cal):
    # One hour on Thursday (GMT), then Tuesday 09:00 BST + 1 h.
    assert cal.add_working_hours(utc(2027, 3, 25, 16, 30), 2) == utc(2027, 3, 30, 9, 0)


def test_add_working_hours_rejects_negative(cal):
    with pytest.raises(ValueError):
        cal.add_working_hours(utc(2027, 1, 12, 10, 0), -1)


def test_custom_working_hours_and_from_settings():
    cal = Calendar.from_settings(Settings(working_hours=(time(8, 0), time(16, 0))))
    assert cal.tz == LONDON
    assert cal.in_working_hours(utc(2027, 1, 12, 8, 0))
    assert not cal.in_working_hours(utc(2027, 1, 12, 16, 0))
    assert cal.next_working_moment(utc(2027, 1, 12, 16, 0)) == utc(2027, 1, 13, 8, 0)


def test_working_hours_must_start_before_they_end():
    with pytest.raises(ValueError):
        Calendar(LONDON, (time(17, 30), time(9, 0)))


# --- the clock ------------------------------------------------------------------------------------


def test_now_is_aware_utc_and_follows_freezegun():
    with freeze_time("2027-03-28 08:30:00") as frozen:
        assert now() == utc(2027, 3, 28, 8, 30)
        assert now().utcoffset() == timedelta(0)
        frozen.move_to("2027-10-31 01:15:00")
        assert now() == utc(2027, 10, 31, 1, 15)  # not cached


def test_now_under_freezegun_with_an_offset():
    with freeze_time("2027-06-16 12:00:00+01:00"):
        assert now() == utc(2027, 6, 16, 11, 0)


def test_set_clock_overrides_now_even_under_freezegun():
    at = datetime(2027, 6, 16, 10, 0, tzinfo=LONDON)
    set_clock(at)
    with freeze_time("2030-01-01 00:00:00"):
        assert now() == utc(2027, 6, 16, 9, 0)
        assert now().tzinfo is UTC
        set_clock(None)
        assert now() == utc(2030, 1, 1, 0, 0)


def test_clock_at_restores_the_previous_override():
    set_clock(utc(2027, 1, 1, 12, 0))
    with clock_at(utc(2027, 2, 1, 12, 0)):
        assert now() == utc(2027, 2, 1, 12, 0)
        with clock_at(utc(2027, 3, 1, 12, 0)):
            assert now() == utc(2027, 3, 1, 12, 0)
        assert now() == utc(2027, 2, 1, 12, 0)
    assert now() == utc(2027, 1, 1, 12, 0)


def test_clock_at_restores_after_an_exception():
    with pytest.raises(RuntimeError), clock_at(utc(2027, 2, 1, 12, 0)):
        raise RuntimeError
    assert calendar._override is None


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError):
        set_clock(datetime(2027, 1, 1, 12, 0))
    with pytest.raises(ValueError), clock_at(datetime(2027, 1, 1, 12, 0)):
        pass
    assert calendar._override is None


def test_a_new_deadline_is_a_later_working_day_within_reach(cal):
    # Thursday 25 March 2027: Good Friday and Easter Monday are not working days.
    with freeze_time(utc(2027, 3, 25, 10)):
        assert cal.new_date_problem(None, 5) == "date_needed"
        assert cal.new_date_problem(date(2027, 3, 25), 5) == "date_needed"
        assert cal.new_date_problem(date(2027, 3, 26), 5) == "date_not_working"
        assert cal.new_date_problem(date(2027, 4, 5), 5) is None
        assert cal.new_date_problem(date(2027, 4, 6), 5) == "date_too_far"
