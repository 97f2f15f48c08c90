"""Calendar facts: China day types, US federal/state and UK bank holidays (SCENARIOS.md 5).

Pure: no clock reads, no I/O. Built-in data comes from the `holidays` package; China years
without a published 国务院办公厅 notice fail closed to an estimate (SCENARIOS.md 5.3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from holidays import country_holidays


class DayType(StrEnum):
    """Day type of a China P-date (SCENARIOS.md 5.3)."""

    WORKDAY = "workday"
    MAKEUP_WORKDAY = "makeup_workday"
    WEEKEND = "weekend"
    STATUTORY_HOLIDAY = "statutory_holiday"
    SPRING_FESTIVAL_BLACKOUT = "spring_festival_blackout"


@dataclass(frozen=True, kw_only=True)
class CnYearOverride:
    """Calendar facts for one year that replace built-in data (SCENARIOS.md 5.3)."""

    year: int
    published: bool
    lunar_new_year: date | None = None
    spring_festival: tuple[date, date] | None = None
    breaks: tuple[tuple[date, date], ...] = ()
    makeup_workdays: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        if self.published:
            _check_published(self)
        else:
            _check_unpublished(self)


@dataclass(frozen=True, kw_only=True)
class CnDay:
    """Day type of a China P-date; `estimated` when the year's notice is not published."""

    day_type: DayType
    estimated: bool


CN_PUBLISHED_YEARS: frozenset[int] = frozenset(range(2020, 2027))
"""Years whose 国务院办公厅 notice the installed `holidays` data reflects."""

_CNY = "Chinese New Year"  # every Spring Festival name in holidays.China (en_US)
_CNY_FIRST_DAY = "Chinese New Year (Spring Festival)"  # 初一 .. 初三, not 除夕 or "(observed)"
_EVE_BEFORE, _DAYS_AFTER = timedelta(days=2), timedelta(days=6)  # 除夕 − 1 … 初七, SCENARIOS 5.3
_CN_DAY = {(t, e): CnDay(day_type=t, estimated=e) for t in DayType for e in (False, True)}


def _span(first: date, last: date) -> Iterator[date]:
    """Every date from `first` to `last`, inclusive."""
    for n in range((last - first).days + 1):
        yield first + timedelta(days=n)


def _year_days(year: int) -> Iterator[date]:
    return _span(date(year, 1, 1), date(year, 12, 31))


def _check_range(year: int, what: str, first: date, last: date) -> None:
    if first > last:
        raise ValueError(f"CN override {year}: {what} starts {first} after it ends {last}")
    if first.year != year or last.year != year:
        raise ValueError(f"CN override {year}: {what} {first} … {last} is not inside {year}")


def _check_unpublished(o: CnYearOverride) -> None:
    """published: false carries only lunar_new_year; the estimated break must fit in the year."""
    if o.lunar_new_year is None:
        raise ValueError(f"CN override {o.year}: published=false requires lunar_new_year")
    if o.spring_festival is not None or o.breaks or o.makeup_workdays:
        raise ValueError(
            f"CN override {o.year}: published=false takes only lunar_new_year "
            "(no spring_festival, breaks or makeup_workdays)"
        )
    lny = o.lunar_new_year
    _check_range(o.year, "estimated Spring Festival break", lny - _EVE_BEFORE, lny + _DAYS_AFTER)


def _check_published(o: CnYearOverride) -> None:
    """published: true carries the notice's breaks and make-up Saturdays/Sundays (调休)."""
    if o.lunar_new_year is not None:
        raise ValueError(f"CN override {o.year}: published=true takes no lunar_new_year")
    if o.spring_festival is None:
        raise ValueError(f"CN override {o.year}: published=true requires spring_festival")
    ranges = [o.spring_festival, *o.breaks]
    for first, last in ranges:
        _check_range(o.year, "break", first, last)
    for d in o.makeup_workdays:
        _check_range(o.year, "make-up workday", d, d)
        if d.weekday() < 5:
            raise ValueError(f"CN override {o.year}: make-up workday {d} is not a Sat/Sun")
        if any(first <= d <= last for first, last in ranges):
            raise ValueError(f"CN override {o.year}: make-up workday {d} is inside a break")


@dataclass(frozen=True, kw_only=True)
class _Facts:
    blackout: frozenset[date]
    holiday: frozenset[date]
    makeup: frozenset[date]
    estimated: bool


def _off_runs(days: Iterable[date], is_off: Callable[[date], bool]) -> Iterator[list[date]]:
    """Maximal runs of consecutive non-working days."""
    run: list[date] = []
    for d in days:
        if is_off(d):
            run.append(d)
        elif run:
            yield run
            run = []
    if run:
        yield run


def _package_facts(year: int) -> _Facts:
    """Published year from `holidays.China`: a break is a run of non-working days holding a
    named holiday; the one holding a Chinese New Year name is the 春节 break. Neighbouring years
    are included so that a break crossing 31 Dec/1 Jan is whole."""
    cal = country_holidays("CN", years=[year - 1, year, year + 1], language="en_US")
    names: dict[date, str] = dict(cal.items())
    makeup = frozenset(d for d in cal.weekend_workdays if abs(d.year - year) <= 1)
    blackout: set[date] = set()
    holiday: set[date] = set()
    days = _span(date(year - 1, 1, 1), date(year + 1, 12, 31))
    for run in _off_runs(days, lambda d: d in names or (d.weekday() >= 5 and d not in makeup)):
        named = [names[d] for d in run if d in names]
        if named:
            (blackout if any(_CNY in n for n in named) else holiday).update(run)
    return _Facts(
        blackout=frozenset(blackout),
        holiday=frozenset(holiday),
        makeup=makeup,
        estimated=False,
    )


def _override_facts(o: CnYearOverride) -> _Facts:
    """Published override: its breaks and make-up days only (SCENARIOS.md 5.3)."""
    assert o.spring_festival is not None  # guaranteed by CnYearOverride validation
    return _Facts(
        blackout=frozenset(_span(*o.spring_festival)),
        holiday=frozenset(d for first, last in o.breaks for d in _span(first, last)),
        makeup=frozenset(o.makeup_workdays),
        estimated=False,
    )


def _estimated_facts(year: int, lunar_new_year: date | None) -> _Facts:
    """Unpublished year, fail closed: 春节 blackout [初一 − 2, 初一 + 6], no make-up days; the
    package's other guesses count as statutory holidays (stricter than workday). Without a
    lunar new year date the whole year is blackout."""
    names: dict[date, str] = dict(country_holidays("CN", years=year, language="en_US").items())
    if lunar_new_year is None:
        lunar_new_year = min((d for d, n in names.items() if n == _CNY_FIRST_DAY), default=None)
    if lunar_new_year is None:
        blackout = frozenset(_year_days(year))
    else:
        blackout = frozenset(_span(lunar_new_year - _EVE_BEFORE, lunar_new_year + _DAYS_AFTER))
    return _Facts(
        blackout=blackout,
        holiday=frozenset(d for d, n in names.items() if _CNY not in n),
        makeup=frozenset(),
        estimated=True,
    )


def _classify(year: int, facts: _Facts) -> dict[date, CnDay]:
    """Day type of every date of `year`, strictest first (SCENARIOS.md 5.3)."""
    out: dict[date, CnDay] = {}
    for d in _year_days(year):
        if d in facts.blackout:
            t = DayType.SPRING_FESTIVAL_BLACKOUT
        elif d in facts.holiday:
            t = DayType.STATUTORY_HOLIDAY
        elif d in facts.makeup:
            t = DayType.MAKEUP_WORKDAY
        elif d.weekday() >= 5:
            t = DayType.WEEKEND
        else:
            t = DayType.WORKDAY
        out[d] = _CN_DAY[t, facts.estimated]
    return out


def _require_date(d: date) -> None:
    if isinstance(d, datetime):
        raise TypeError(f"expected a date, got datetime {d!r}")


def _holiday_set(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    try:
        return frozenset(country_holidays(country, subdiv=subdiv, years=year))
    except NotImplementedError as e:  # unknown subdivision
        raise ValueError(str(e)) from e


class Calendars:
    """Immutable calendar facts; lookups are memoised per (country, year)."""

    def __init__(
        self,
        *,
        cn_overrides: Iterable[CnYearOverride] = (),
        cn_published_years: frozenset[int] = CN_PUBLISHED_YEARS,
    ) -> None:
        self._cn_overrides: dict[int, CnYearOverride] = {}
        for o in cn_overrides:
            if o.year in self._cn_overrides:
                raise ValueError(f"CN override for {o.year} given twice")
            self._cn_overrides[o.year] = o
        self._cn_published = frozenset(cn_published_years)
        self._cn_days: dict[date, CnDay] = {}
        self._sets: dict[tuple[str, str | None, int], frozenset[date]] = {}

    def cn_day(self, d: date) -> CnDay:
        """Day type of China P-date `d` (SCENARIOS.md 5.3); a dict lookup once its year is built."""
        try:
            return self._cn_days[d]
        except KeyError:
            _require_date(d)
            self._cn_days.update(_classify(d.year, self._cn_facts(d.year)))
            return self._cn_days[d]

    def _cn_facts(self, year: int) -> _Facts:
        o = self._cn_overrides.get(year)
        if o is not None:
            return _override_facts(o) if o.published else _estimated_facts(year, o.lunar_new_year)
        if year in self._cn_published:
            return _package_facts(year)
        return _estimated_facts(year, None)

    def _in(self, country: str, subdiv: str | None, d: date) -> bool:
        _require_date(d)
        key = (country, subdiv, d.year)
        days = self._sets.get(key)
        if days is None:
            days = self._sets[key] = _holiday_set(country, subdiv, d.year)
        return d in days

    def warm(self) -> None:
        """Load the `holidays` package's US and UK data now (its first use imports it, ~0.1 s):
        the daemon does it at start, so no dispatch tick pays for it."""
        for country in ("US", "GB"):
            country_holidays(country, years=())

    def us_federal_holiday(self, d: date) -> bool:
        """Federal holiday of 5 USC 6103(a): actual date or observed weekday (Sat → Fri,
        Sun → Mon; a Saturday 1 Jan is observed on the previous 31 Dec)."""
        return self._in("US", None, d)

    def us_state_holiday(self, d: date, state: str) -> bool:
        """Holiday of US state `state` (USPS code), federal holidays included."""
        return self._in("US", state, d)

    def uk_bank_holiday(self, d: date, nation: str = "ENG") -> bool:
        """UK bank holiday in `nation` (ENG, NIR, SCT, WLS); Banking and Financial Dealings
        Act 1971 plus royal proclamations, substitute days included."""
        return self._in("GB", nation, d)
