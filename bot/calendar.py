"""The one clock (`now`) and the working-day calendar (Europe/London, England & Wales bank holidays).

Everything that asks "what time is it" calls `now()`, so tests can freeze it with freezegun and
`qabot tick --at` can run the schedule as of any moment (`set_clock` / `clock_at`).
Datetimes returned here are timezone-aware UTC, except `Calendar.local`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays

if TYPE_CHECKING:
    from bot.config import Settings

_override: datetime | None = None


def _aware(dt: datetime) -> datetime:
    # A naive datetime would silently be read as the host's local time; refuse it instead.
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: a timezone-aware datetime is required")
    return dt


def now() -> datetime:
    """The current moment as aware UTC: the `set_clock` override if set, else the (freezable) system clock."""
    if _override is not None:
        return _override
    # Read at call time, never cached, so freezegun's patched datetime is what answers.
    return datetime.now(UTC)


def set_clock(at: datetime | None) -> None:
    """Fix `now()` at `at` (aware), or clear the override with None. Process-wide: meant for `tick --at`."""
    global _override
    _override = None if at is None else _aware(at).astimezone(UTC)


@contextmanager
def clock_at(at: datetime | None) -> Iterator[None]:
    """Run the block with `now()` fixed at `at`, then restore whatever override was there before."""
    previous = _override
    set_clock(at)
    try:
        yield
    finally:
        set_clock(previous)


@cache
def _bank_holidays(year: int) -> frozenset[date]:
    # Copy to a frozenset: a HolidayBase silently adds whole years when asked about a date outside them.
    # Observed (substitute) days are included by default; weekend entries are harmless.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


class Calendar:
    def __init__(self, tz: ZoneInfo, working_hours: tuple[time, time] = (time(9, 0), time(17, 30))):
        start, end = working_hours
        if not start < end:
            raise ValueError(f"working hours must start before they end, got {start}-{end}")
        self.tz = tz
        self.start = start
        self.end = end

    @classmethod
    def from_settings(cls, settings: Settings) -> Calendar:
        return cls(settings.timezone, settings.working_hours)

    # --- days -------------------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        return d.weekday() < 5 and d not in _bank_holidays(d.year)

    def add_working_days(self, d: date, n: int) -> date:
        """Move n working days forward (n > 0) or back (n < 0); n == 0 returns d even if d is not working."""
        step = timedelta(days=1 if n > 0 else -1)
        remaining = abs(n)
        while remaining:
            d += step
            if self.is_working_day(d):
                remaining -= 1
        return d

    def new_date_problem(self, d: date | None, within: int) -> str | None:
        """Why `d` cannot be a new deadline: "date_needed" (none, or not after today), "date_not_working", or
        "date_too_far" (more than `within` working days ahead); None when it can be."""
        today = self.local(now()).date()
        if d is None or d <= today:
            return "date_needed"
        if not self.is_working_day(d):
            return "date_not_working"
        if d > self.add_working_days(today, within):
            return "date_too_far"
        return None

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after d."""
        return self.add_working_days(d, 1)

    def first_working_day(self, year: int, month: int) -> date:
        d = date(year, month, 1)
        return d if self.is_working_day(d) else self.next_working_day(d)

    def last_working_day(self, year: int, month: int) -> date:
        # The 28th plus 4 days is always in the next month; its 1st minus a day is this month's last day.
        d = (date(year, month, 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return d if self.is_working_day(d) else self.add_working_days(d, -1)

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after a, up to and including b (0 if b <= a)."""
        return sum(self.is_working_day(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))

    # --- moments ----------------------------------------------------------------------------------

    def local(self, dt: datetime) -> datetime:
        """dt (aware) as local wall-clock time in the calendar's timezone."""
        return _aware(dt).astimezone(self.tz)

    def at(self, d: date, t: time) -> datetime:
        """The UTC moment of local wall-clock time t on d.

        Ambiguous autumn times take the first occurrence (fold=0). A time in the spring gap is pushed
        forward by the gap (01:30 → 02:30 BST), which is what zoneinfo does with fold=0.
        """
        return datetime.combine(d, t.replace(tzinfo=None, fold=0), tzinfo=self.tz).astimezone(UTC)

    def in_working_hours(self, dt: datetime) -> bool:
        wall = self.local(dt)
        return self.is_working_day(wall.date()) and self.start <= wall.time() < self.end

    def next_working_moment(self, dt: datetime) -> datetime:
        """dt itself if within working hours, else the next opening time."""
        if self.in_working_hours(dt):
            return dt.astimezone(UTC)
        wall = self.local(dt)
        day = wall.date()
        if not (self.is_working_day(day) and wall.time() < self.start):
            day = self.next_working_day(day)
        return self.at(day, self.start)

    def add_working_hours(self, dt: datetime, hours: float) -> datetime:
        """dt plus `hours` of working time only, counted from the next working moment.

        Time running out exactly at closing returns the closing time (a deadline), not the next opening.
        """
        if hours < 0:
            raise ValueError(f"hours must not be negative, got {hours}")
        remaining = timedelta(hours=hours)
        moment = self.next_working_moment(dt)
        while True:
            day = self.local(moment).date()
            closing = self.at(day, self.end)
            if remaining <= closing - moment:
                return moment + remaining
            remaining -= closing - moment
            moment = self.at(self.next_working_day(day), self.start)
