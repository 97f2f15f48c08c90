"""Calendar facts of SCENARIOS.md 5: China day types, US federal/state and UK bank holidays."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import holidays
import pytest

from outreachd.core import calendars
from outreachd.core.calendars import (
    CN_PUBLISHED_YEARS,
    Calendars,
    CnDay,
    CnYearOverride,
    DayType,
)

SF = DayType.SPRING_FESTIVAL_BLACKOUT
HOL = DayType.STATUTORY_HOLIDAY
MAKEUP = DayType.MAKEUP_WORKDAY
WEEKEND = DayType.WEEKEND
WORK = DayType.WORKDAY

# Typed from SCENARIOS.md 5.3 and cn-rules.md (f) (国务院办公厅 notice of 2025-11-04),
# not from the holidays package.
SPEC_2026_SPRING_FESTIVAL = ("2026-02-15", "2026-02-23")
SPEC_2026_BREAKS = [
    ("2026-01-01", "2026-01-03"),
    ("2026-04-04", "2026-04-06"),
    ("2026-05-01", "2026-05-05"),
    ("2026-06-19", "2026-06-21"),
    ("2026-09-25", "2026-09-27"),
    ("2026-10-01", "2026-10-07"),
]
SPEC_2026_MAKEUP = [
    "2026-01-04",
    "2026-02-14",
    "2026-02-28",
    "2026-05-09",
    "2026-09-20",
    "2026-10-10",
]

# SCENARIOS.md 5.1.
SPEC_2026_US_FEDERAL = [
    "2026-01-01",
    "2026-01-19",
    "2026-02-16",
    "2026-05-25",
    "2026-06-19",
    "2026-07-03",
    "2026-07-04",
    "2026-09-07",
    "2026-10-12",
    "2026-11-11",
    "2026-11-26",
    "2026-12-25",
]


def d(iso: str) -> date:
    return date.fromisoformat(iso)


def span(first: str, last: str) -> list[date]:
    a, b = d(first), d(last)
    return [a + timedelta(days=n) for n in range((b - a).days + 1)]


def year_days(year: int) -> list[date]:
    return span(f"{year}-01-01", f"{year}-12-31")


def spec_2026_type(day: date) -> DayType:
    if day in span(*SPEC_2026_SPRING_FESTIVAL):
        return SF
    if any(day in span(a, b) for a, b in SPEC_2026_BREAKS):
        return HOL
    if day.isoformat() in SPEC_2026_MAKEUP:
        return MAKEUP
    return WEEKEND if day.weekday() >= 5 else WORK


OVERRIDE_2027 = CnYearOverride(year=2027, published=False, lunar_new_year=d("2027-02-06"))


# --- China, published data --------------------------------------------------------------------


def test_2026_every_day_matches_state_council_notice() -> None:
    """Every date of 2026 has the day type of the State Council notice (package cross-check)."""
    cal = Calendars()
    mismatches = [
        (day, cal.cn_day(day).day_type, spec_2026_type(day))
        for day in year_days(2026)
        if cal.cn_day(day).day_type != spec_2026_type(day)
    ]
    assert mismatches == []


def test_2026_is_not_estimated() -> None:
    """2026 is a published year, so no date of it is flagged estimated."""
    cal = Calendars()
    assert 2026 in CN_PUBLISHED_YEARS
    assert not any(cal.cn_day(day).estimated for day in year_days(2026))


@pytest.mark.parametrize(
    ("iso", "expected"),
    [
        ("2026-02-13", WORK),
        ("2026-02-14", MAKEUP),  # Saturday declared a workday (调休)
        ("2026-02-15", SF),  # Sunday, first day of the break
        ("2026-02-16", SF),  # 除夕
        ("2026-02-21", SF),  # Saturday inside the break
        ("2026-02-23", SF),
        ("2026-02-24", WORK),
        ("2026-02-28", MAKEUP),
        ("2026-03-01", WEEKEND),
    ],
)
def test_2026_spring_festival_edges(iso: str, expected: DayType) -> None:
    """Around the 2026 Spring Festival the break, its weekends and 调休 days are typed exactly."""
    assert Calendars().cn_day(d(iso)) == CnDay(day_type=expected, estimated=False)


@pytest.mark.parametrize(
    ("iso", "expected"),
    [
        ("2025-01-01", HOL),
        ("2025-01-26", MAKEUP),
        ("2025-01-27", WORK),
        ("2025-01-28", SF),
        ("2025-02-01", SF),
        ("2025-02-04", SF),
        ("2025-02-05", WORK),
        ("2025-02-08", MAKEUP),
        ("2025-05-31", HOL),
        ("2025-06-02", HOL),
        ("2025-09-28", MAKEUP),
        ("2025-09-30", WORK),
        ("2025-10-01", HOL),
        ("2025-10-04", HOL),
        ("2025-10-08", HOL),
        ("2025-10-09", WORK),
        ("2025-10-11", MAKEUP),
        ("2025-10-12", WEEKEND),
    ],
)
def test_2025_spot_checks(iso: str, expected: DayType) -> None:
    """2025 breaks (春节 01-28…02-04, 国庆 10-01…10-08) and 调休 days match the 2025 notice."""
    assert Calendars().cn_day(d(iso)) == CnDay(day_type=expected, estimated=False)


@pytest.mark.parametrize(
    ("iso", "expected"),
    [
        ("2022-12-31", HOL),  # 元旦 break 2022-12-31 … 2023-01-02
        ("2023-01-02", HOL),
        ("2023-12-29", WORK),
        ("2023-12-30", HOL),  # 元旦 break 2023-12-30 … 2024-01-01
        ("2023-12-31", HOL),
        ("2024-01-01", HOL),
        ("2024-01-02", WORK),
    ],
)
def test_breaks_crossing_the_year_boundary(iso: str, expected: DayType) -> None:
    """A New Year break that starts in December is a statutory holiday on both sides of 1 Jan."""
    assert Calendars().cn_day(d(iso)).day_type == expected


# --- China, unpublished years (fail closed) ---------------------------------------------------


@pytest.mark.parametrize(
    ("iso", "expected"),
    [
        ("2027-02-03", WORK),
        *((day.isoformat(), SF) for day in span("2027-02-04", "2027-02-12")),
        ("2027-02-13", WEEKEND),
        ("2027-02-14", WEEKEND),
        ("2027-02-15", WORK),
    ],
)
def test_2027_override_estimate(iso: str, expected: DayType) -> None:
    """The SCENARIOS 5.3 override (2027, lunar_new_year 02-06) blacks out 02-04 … 02-12."""
    cal = Calendars(cn_overrides=[OVERRIDE_2027])
    assert cal.cn_day(d(iso)) == CnDay(day_type=expected, estimated=True)


def test_2027_without_override_estimates_from_package_new_year() -> None:
    """Without an override 2027 is estimated around the package's 初一 (2027-02-06)."""
    first_days = [
        day
        for day, name in holidays.country_holidays("CN", years=2027, language="en_US").items()
        if name == "Chinese New Year (Spring Festival)"
    ]
    assert min(first_days) == d("2027-02-06")
    cal = Calendars()
    blackout = [day for day in year_days(2027) if cal.cn_day(day).day_type == SF]
    assert blackout == span("2027-02-04", "2027-02-12")
    assert all(cal.cn_day(day).estimated for day in year_days(2027))


def test_estimated_year_has_no_makeup_days_and_stricter_other_holidays() -> None:
    """An estimated year has no 调休 days and the package's other guesses are statutory holidays."""
    cal = Calendars()
    types = {day: cal.cn_day(day).day_type for day in year_days(2027)}
    assert MAKEUP not in types.values()
    assert types[d("2027-05-03")] == HOL  # package guess "Labor Day (observed)", a Monday
    assert types[d("2027-10-04")] == HOL


def test_unpublished_override_ignores_package_new_year() -> None:
    """With published=false the override's lunar_new_year, not the package's, sets the blackout."""
    cal = Calendars(
        cn_overrides=[CnYearOverride(year=2027, published=False, lunar_new_year=d("2027-02-20"))]
    )
    blackout = [day for day in year_days(2027) if cal.cn_day(day).day_type == SF]
    assert blackout == span("2027-02-18", "2027-02-26")
    assert cal.cn_day(d("2027-02-08")).day_type == WORK  # package's 初三 guess is not used


def test_published_year_can_be_withdrawn() -> None:
    """A year left out of cn_published_years is estimated even when the package has a notice."""
    cal = Calendars(cn_published_years=frozenset())
    assert cal.cn_day(d("2026-02-14")) == CnDay(day_type=WEEKEND, estimated=True)
    assert [day for day in year_days(2026) if cal.cn_day(day).day_type == SF] == span(
        "2026-02-15", "2026-02-23"
    )


def test_year_without_any_data_is_all_blackout() -> None:
    """An unpublished year with no lunar new year date is blacked out on every date."""
    cal = Calendars()
    assert {cal.cn_day(day) for day in year_days(1949)} == {CnDay(day_type=SF, estimated=True)}


# --- China, published overrides ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("iso", "expected"),
    [
        ("2026-01-01", WORK),  # built-in break dropped
        ("2026-02-14", MAKEUP),
        ("2026-02-15", WEEKEND),  # built-in blackout dropped
        ("2026-02-16", SF),
        ("2026-02-18", SF),
        ("2026-02-19", WORK),
        ("2026-02-28", WEEKEND),  # built-in 调休 dropped
        ("2026-05-01", HOL),
        ("2026-05-04", WORK),
    ],
)
def test_published_override_replaces_built_in(iso: str, expected: DayType) -> None:
    """A published override uses only its own breaks and make-up days, not the package's."""
    override = CnYearOverride(
        year=2026,
        published=True,
        spring_festival=(d("2026-02-16"), d("2026-02-18")),
        breaks=((d("2026-05-01"), d("2026-05-03")),),
        makeup_workdays=(d("2026-02-14"),),
    )
    cal = Calendars(cn_overrides=[override])
    assert cal.cn_day(d(iso)) == CnDay(day_type=expected, estimated=False)


def test_published_override_for_future_year_is_not_estimated() -> None:
    """A published override makes a year without built-in notice non-estimated."""
    override = CnYearOverride(
        year=2027, published=True, spring_festival=(d("2027-02-05"), d("2027-02-11"))
    )
    cal = Calendars(cn_overrides=[override])
    assert cal.cn_day(d("2027-02-05")) == CnDay(day_type=SF, estimated=False)
    assert cal.cn_day(d("2027-05-03")) == CnDay(day_type=WORK, estimated=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"published": False}, "requires lunar_new_year"),
        (
            {
                "published": False,
                "lunar_new_year": d("2027-02-06"),
                "spring_festival": (d("2027-02-05"), d("2027-02-11")),
            },
            "takes only lunar_new_year",
        ),
        (
            {
                "published": False,
                "lunar_new_year": d("2027-02-06"),
                "makeup_workdays": (d("2027-02-13"),),
            },
            "takes only lunar_new_year",
        ),
        ({"published": False, "lunar_new_year": d("2028-01-26")}, "not inside 2027"),
        ({"published": False, "lunar_new_year": d("2027-12-28")}, "not inside 2027"),
        ({"published": True}, "requires spring_festival"),
        (
            {
                "published": True,
                "lunar_new_year": d("2027-02-06"),
                "spring_festival": (d("2027-02-05"), d("2027-02-11")),
            },
            "takes no lunar_new_year",
        ),
        ({"published": True, "spring_festival": (d("2027-02-11"), d("2027-02-05"))}, "after"),
        (
            {
                "published": True,
                "spring_festival": (d("2027-02-05"), d("2027-02-11")),
                "breaks": ((d("2026-12-31"), d("2027-01-01")),),
            },
            "not inside 2027",
        ),
        (
            {
                "published": True,
                "spring_festival": (d("2027-02-05"), d("2027-02-11")),
                "makeup_workdays": (d("2027-02-15"),),
            },
            "not a Sat/Sun",
        ),
        (
            {
                "published": True,
                "spring_festival": (d("2027-02-05"), d("2027-02-11")),
                "makeup_workdays": (d("2027-02-06"),),
            },
            "inside a break",
        ),
        (
            {
                "published": True,
                "spring_festival": (d("2027-02-05"), d("2027-02-11")),
                "makeup_workdays": (d("2028-01-01"),),
            },
            "not inside 2027",
        ),
    ],
)
def test_override_validation(kwargs: dict[str, Any], message: str) -> None:
    """An inconsistent CnYearOverride is rejected with a ValueError naming the problem."""
    with pytest.raises(ValueError, match=message):
        CnYearOverride(year=2027, **kwargs)


def test_duplicate_override_years_rejected() -> None:
    """Two overrides for the same year are rejected."""
    with pytest.raises(ValueError, match="given twice"):
        Calendars(cn_overrides=[OVERRIDE_2027, OVERRIDE_2027])


def test_datetime_is_rejected() -> None:
    """A datetime (not a P-date) is rejected instead of silently missing the cache."""
    cal = Calendars()
    cal.cn_day(d("2026-01-05"))
    with pytest.raises(TypeError):
        cal.cn_day(datetime(2026, 1, 5, 12, 0))  # noqa: DTZ001
    with pytest.raises(TypeError):
        cal.us_federal_holiday(datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001


def test_year_is_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """After the first lookup of a year, cn_day never consults the holidays package again."""
    cal = Calendars()
    cal.cn_day(d("2026-06-01"))

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("holidays package consulted again")

    monkeypatch.setattr(calendars, "country_holidays", boom)
    assert [cal.cn_day(day).day_type for day in year_days(2026)] == [
        spec_2026_type(day) for day in year_days(2026)
    ]


# --- US and UK --------------------------------------------------------------------------------


def test_us_federal_2026_exact() -> None:
    """The 2026 federal holidays are exactly the SCENARIOS 5.1 list."""
    cal = Calendars()
    assert [day for day in year_days(2026) if cal.us_federal_holiday(day)] == [
        d(iso) for iso in SPEC_2026_US_FEDERAL
    ]


@pytest.mark.parametrize(
    ("iso", "expected"),
    [
        ("2027-12-24", True),  # Christmas on Saturday, observed Friday
        ("2027-12-25", True),
        ("2027-12-31", True),  # 2028-01-01 is a Saturday, observed Friday 2027-12-31
        ("2028-01-01", True),
        ("2027-07-05", True),  # Independence Day on Sunday, observed Monday
        ("2027-06-18", True),  # Juneteenth on Saturday, observed Friday
        ("2026-12-24", False),
        ("2026-12-31", False),
        ("2026-07-05", False),
        ("2026-11-27", False),
        ("2026-03-02", False),
    ],
)
def test_us_federal_observed_and_ordinary_days(iso: str, expected: bool) -> None:
    """Observed weekdays count as federal holidays; ordinary days do not (5 USC 6103(a))."""
    assert Calendars().us_federal_holiday(d(iso)) is expected


@pytest.mark.parametrize("year", range(2021, 2036))
@pytest.mark.parametrize("month_day", ["01-01", "06-19", "07-04", "11-11", "12-25"])
def test_us_fixed_date_holidays_follow_6103_rule(year: int, month_day: str) -> None:
    """A fixed-date holiday on Sat is observed on the Friday before, on Sun the Monday after."""
    cal = Calendars()
    actual = d(f"{year}-{month_day}")
    observed = {5: actual - timedelta(days=1), 6: actual + timedelta(days=1)}.get(actual.weekday())
    assert cal.us_federal_holiday(actual)
    assert observed is None or cal.us_federal_holiday(observed)


@pytest.mark.parametrize(
    ("iso", "state", "expected"),
    [
        ("2026-03-02", "TX", True),  # Texas Independence Day
        ("2026-03-02", "NY", False),
        ("2026-07-03", "NY", True),  # federal holidays included
        ("2026-11-27", "CA", True),  # day after Thanksgiving
    ],
)
def test_us_state_holiday(iso: str, state: str, expected: bool) -> None:
    """State holidays come from holidays.US(subdiv=state) and include federal ones."""
    assert Calendars().us_state_holiday(d(iso), state) is expected


@pytest.mark.parametrize(
    ("iso", "nation", "expected"),
    [
        ("2026-08-31", "ENG", True),  # Summer Bank Holiday, England
        ("2026-08-03", "ENG", False),
        ("2026-08-03", "SCT", True),  # Summer Bank Holiday, Scotland
        ("2026-11-30", "SCT", True),  # St Andrew's Day
        ("2026-03-17", "NIR", True),  # St Patrick's Day
        ("2026-12-28", "ENG", True),  # Boxing Day substitute
    ],
)
def test_uk_bank_holiday(iso: str, nation: str, expected: bool) -> None:
    """UK bank holidays come from holidays.UK(subdiv=nation)."""
    assert Calendars().uk_bank_holiday(d(iso), nation) is expected


def test_uk_default_nation_is_england() -> None:
    """Without a nation, England and Wales bank holidays apply."""
    cal = Calendars()
    assert cal.uk_bank_holiday(d("2026-08-31"))
    assert not cal.uk_bank_holiday(d("2026-01-02"))


@pytest.mark.parametrize("call", ["us", "uk"])
def test_unknown_subdivision_rejected(call: str) -> None:
    """An unknown US state or UK nation code is a ValueError."""
    cal = Calendars()
    with pytest.raises(ValueError, match="XX"):
        if call == "us":
            cal.us_state_holiday(d("2026-01-01"), "XX")
        else:
            cal.uk_bank_holiday(d("2026-01-01"), "XX")
