"""allowed_for: how long an allowed send stays lawful (for Twilio's ValidityPeriod), never a
moment past the window's end. Hand rows, then decide() itself as the oracle at every step."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import rules_kit as k
from hypothesis import given, settings
from hypothesis import strategies as st
from rules_kit import LA, NY, PHX

from outreachd.core import decide as core
from outreachd.core.model import (
    Account,
    Collector,
    CollectorType,
    Flags,
    InconvenientWindow,
    Profile,
)

STEP, LIMIT = timedelta(minutes=1), timedelta(hours=1)
NYB, CNB = k.us("NY", NY), k.cn()
PHX_LA = k.borrower(
    "US", PHX, k.phone("m1", "mobile", LA, tcpa_consent=True, regf_text_ok=True), state="AZ"
)
SMS = k.attempt("sms", "m1")
CNL = Collector(type=CollectorType.CN_LENDER)


def policy(collector: Collector = k.FDCPA, profile: str = "legal") -> core.Policy:
    return core.Policy(
        packs=k.PACKS, collector=collector, profile=Profile(profile), calendars=k.CALENDARS
    )


def allowed_for(b: object, when: str, tz: str, pol: core.Policy) -> timedelta:
    account = Account(borrower=b, flags=Flags())  # type: ignore[arg-type]
    return core.allowed_for(account, (), SMS, k.instant(when, tz), pol)


@pytest.mark.parametrize(
    ("b", "when", "tz", "expected"),
    [
        # 9 pm ends the FDCPA window: the last whole minute that passes is 20:59:30
        (NYB, "2026-06-02T20:55:30", NY, timedelta(minutes=4)),
        (NYB, "2026-06-02T12:00", NY, LIMIT),  # open all afternoon: the limit, 1 h
        (NYB, "2026-06-02T20:59:30", NY, timedelta(0)),  # closes within the first step
        # Phoenix address, LA phone (summer: LA is UTC-7 like Phoenix): both close at 21:00
        (PHX_LA, "2026-07-01T20:30", PHX, timedelta(minutes=29)),
        # winter: LA is UTC-8, an hour behind Phoenix; Phoenix closes first, at 21:00 MST
        (PHX_LA, "2026-12-01T20:30", PHX, timedelta(minutes=29)),
        # fall-back night in New York: 20:00 EST, one hour to go as the clock reads
        (NYB, "2026-11-01T20:00", NY, timedelta(minutes=59)),
    ],
    ids=["ny-close", "ny-afternoon", "ny-last-minute", "phx-la-summer", "phx-la-winter", "ny-dst"],
)
def test_rows(b: object, when: str, tz: str, expected: timedelta) -> None:
    assert allowed_for(b, when, tz, policy()) == expected


START = datetime(2026, 1, 1, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(minutes=st.integers(0, 365 * 24 * 60), which=st.sampled_from(["ny", "cn"]))
def test_every_step_is_allowed_and_the_next_is_not(minutes: int, which: str) -> None:
    """At every whole step up to the answer decide() allows; at the step after (unless the
    limit was reached) it does not: the send expires at most one step early, never late."""
    b, pol = (NYB, policy()) if which == "ny" else (CNB, policy(CNL, "best_practice"))
    at = START + timedelta(minutes=minutes, seconds=17)
    account = Account(borrower=b, flags=Flags())
    if not isinstance(core.decide(account, (), SMS, at, pol), core.Allow):
        return
    span = core.allowed_for(account, (), SMS, at, pol)
    assert span % STEP == timedelta(0) and timedelta(0) <= span <= LIMIT
    for n in range(1, span // STEP + 1, 7):  # a sample of the steps, and the last one
        assert isinstance(core.decide(account, (), SMS, at + n * STEP, pol), core.Allow)
    assert isinstance(core.decide(account, (), SMS, at + span, pol), core.Allow)
    if span < LIMIT:
        assert not isinstance(core.decide(account, (), SMS, at + span + STEP, pol), core.Allow)


BUSY_EVENINGS = Flags(  # the borrower said: not 12:00-12:45, and not after 19:10 (wraps)
    inconvenient_windows=(
        InconvenientWindow(start=time(12, 0), end=time(12, 45)),
        InconvenientWindow(start=time(19, 10), end=time(7, 0)),
    )
)
CASES = {
    "ny": (NYB, Flags(), "legal", k.FDCPA),
    "ny-best": (NYB, Flags(), "best_practice", k.FDCPA),
    "ny-busy": (NYB, BUSY_EVENINGS, "legal", k.FDCPA),
    "phx-la": (PHX_LA, Flags(), "legal", k.FDCPA),
    "cn": (CNB, Flags(), "best_practice", CNL),
}
# around the 2026 US clock changes, China's Spring Festival and National Day, and any day
AROUND = [datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC),
          datetime(2026, 2, 16, tzinfo=UTC), datetime(2026, 9, 30, tzinfo=UTC), START]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    case=st.sampled_from(sorted(CASES)),
    base=st.sampled_from(AROUND),
    minutes=st.integers(0, 3 * 24 * 60),
    seconds=st.integers(0, 59),
)
def test_the_answer_is_the_minute_by_minute_scan(
    case: str, base: datetime, minutes: int, seconds: int
) -> None:
    """allowed_for looks only where a rule can close; decide() at every whole step up to
    the limit (the obvious, slow way) must give the same answer."""
    b, flags, profile, collector = CASES[case]
    pol = policy(collector, profile)
    account = Account(borrower=b, flags=flags)
    at = base + timedelta(minutes=minutes, seconds=seconds)
    if not isinstance(core.decide(account, (), SMS, at, pol), core.Allow):
        return
    scanned = timedelta(0)
    while scanned < LIMIT and isinstance(
        core.decide(account, (), SMS, at + scanned + STEP, pol), core.Allow
    ):
        scanned += STEP
    assert core.allowed_for(account, (), SMS, at, pol) == scanned
