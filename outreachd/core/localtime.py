"""Wall-clock arithmetic in IANA zones, exact on DST transition days.

Every local time is computed from the tz database at the instant in question, never from a
stored UTC offset (SCENARIOS.md 3.3). Instants are aware datetimes in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

MIDNIGHT = time(0, 0)
END_OF_DAY = time(23, 59, 59, 999999)


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone called `name` (raises ZoneInfoNotFoundError when unknown)."""
    return ZoneInfo(name)


def local(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive local wall-clock time of `instant` in `tz`."""
    return instant.astimezone(tz).replace(tzinfo=None)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    """The calendar date of `instant` in `tz`."""
    return instant.astimezone(tz).date()


@lru_cache(maxsize=65536)
def first_instant_at_or_after(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The first instant at which the wall clock in `tz` reads `day wall` or later.

    An ambiguous wall time (clocks going back) gives its first occurrence; a wall time that
    does not exist (clocks going forward) gives the instant the clock jumps past it.
    """
    naive = datetime.combine(day, wall)
    early = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    late = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    first = min(early, late)
    if local(first, tz) == naive:
        return first
    return _gap_end(min(early, late), max(early, late), naive, tz)


def _gap_end(low: datetime, high: datetime, naive: datetime, tz: ZoneInfo) -> datetime:
    """Bisect (low, high] for the first instant whose wall clock is at or past `naive`."""
    step = timedelta(microseconds=1)
    while high - low > step:
        mid = low + (high - low) / 2
        if local(mid, tz) >= naive:
            high = mid
        else:
            low = mid
    # tz database transitions fall on whole seconds; `high` is within 1 us above one
    return high.replace(microsecond=0) if high.microsecond < 500_000 else high


def next_offset_change(after: datetime, until: datetime, tz: ZoneInfo) -> datetime | None:
    """The first instant in (after, until] at which `tz`'s UTC offset differs from at `after`.

    Wall-clock rules need it because the clock can jump backwards (clocks going back), which
    can move local time out of, or into, a window before the window's edge. Offsets are
    compared at most every 30 days, which no tz database zone changes twice within.
    """
    offset = after.astimezone(tz).utcoffset()
    low = after
    while low < until:
        high = min(low + _CHUNK, until)
        if high.astimezone(tz).utcoffset() != offset:
            return _first_changed(low, high, offset, tz)
        low = high
    return None


_CHUNK = timedelta(days=30)


def _first_changed(
    low: datetime, high: datetime, offset: timedelta | None, tz: ZoneInfo
) -> datetime:
    step = timedelta(microseconds=1)
    while high - low > step:
        mid = low + (high - low) / 2
        if mid.astimezone(tz).utcoffset() != offset:
            high = mid
        else:
            low = mid
    return high.replace(microsecond=0) if high.microsecond < 500_000 else high


def start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of local calendar date `day` in `tz`."""
    return first_instant_at_or_after(day, MIDNIGHT, tz)


def parse_hhmm(text: str) -> time:
    """`"HH:MM"` (or `"24:00"`, returned as the last representable time) as a `time`."""
    hours, minutes = (int(part) for part in text.split(":"))
    if (hours, minutes) == (24, 0):
        return END_OF_DAY
    return time(hours, minutes)
