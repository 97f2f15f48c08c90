"""allowed_for: how long an allowed send stays lawful (for Twilio's ValidityPeriod), never a
moment past the window's end. Hand rows, then decide() itself as the oracle at every step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import rules_kit as k
from hypothesis import given, settings
from hypothesis import strategies as st
from rules_kit import LA, NY, PHX

from outreachd.core import decide as core
from outreachd.core.model import Account, Collector, CollectorType, Flags, Profile

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
