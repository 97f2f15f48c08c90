"""The borrower's stated preferences in the planner: a preferred channel and preferred hours win
where they are lawful, never against a rule (planner.choose; hand-computed, New York unless
said otherwise)."""

from __future__ import annotations

import dataclasses
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import rules_kit as k
from rules_kit import NY

from outreachd.core import decide as core
from outreachd.core import localtime, planner
from outreachd.core.model import Account, Channel, Preferences, TemplateMeta

POLICY = core.Policy(
    packs=k.PACKS, collector=k.FDCPA, profile=k.Profile("legal"), calendars=k.CALENDARS
)
SMS = planner.Option(channel=Channel.SMS, contact_id="m1", template="t", meta=TemplateMeta())
EMAIL = planner.Option(channel=Channel.EMAIL, contact_id="e1", template="t", meta=TemplateMeta())
PREF_CH, PREF_H = planner.PREFERRED_CHANNEL, planner.PREFERRED_HOURS
QH, DESIGNATED = "FED-QH", "FED-INCONVENIENT-DESIGNATED"


def hm(text: str) -> time:
    return localtime.parse_hhmm(text)  # "24:00" is the end of the day


def choose(
    when: str,
    *,
    channel: str | None = None,
    hours: tuple[str, str] | None = None,
    options: tuple[planner.Option, ...] = (SMS, EMAIL),
    **flags: Any,
) -> planner.Choice:
    prefs = Preferences(
        channel=Channel(channel) if channel else None,
        start=hm(hours[0]) if hours else None,
        end=hm(hours[1]) if hours else None,
    )
    borrower = dataclasses.replace(k.us("NY", NY), preferences=prefs)
    account = Account(borrower=borrower, flags=k.flags(**flags))
    return planner.choose(account, ("D1",), (), options, at=k.instant(when, NY), policy=POLICY)


def seen(choice: planner.Choice) -> tuple[str | None, str, str | None, tuple[str, ...]]:
    """(channel, decision, local defer instant, sorted reasons)."""
    d = choice.decision
    channel = choice.option.channel.value if choice.option else None
    if isinstance(d, core.Defer):
        local = d.until.astimezone(ZoneInfo(NY)).strftime("%Y-%m-%dT%H:%M")
        return channel, "defer", local, tuple(sorted(d.reasons))
    return channel, "allow" if isinstance(d, core.Allow) else "block", None, ()


SMS_MORNINGS = k.window("00:00", "12:00", "sms")  # the borrower asked: no texts before noon


@pytest.mark.parametrize(
    ("when", "kw", "want"),
    [
        # both lawful now: the operator's order (SMS) without a preference, else the preferred
        ("2026-06-02T10:00", {}, ("sms", "allow", None, ())),
        ("2026-06-02T10:00", {"channel": "email"}, ("email", "allow", None, ())),
        # SMS waits until noon; e-mail is lawful now: the operator's order takes e-mail now,
        # a borrower who prefers texts gets one at noon
        ("2026-06-02T10:00", {"inconvenient_windows": [SMS_MORNINGS]},
         ("email", "allow", None, ())),
        ("2026-06-02T10:00", {"channel": "sms", "inconvenient_windows": [SMS_MORNINGS]},
         ("sms", "defer", "2026-06-02T12:00", (PREF_CH, DESIGNATED))),
        # the preferred channel cannot be used at all (opted out of texts): the other one
        ("2026-06-02T10:00", {"channel": "sms", "medium_opt_outs": ["sms"]},
         ("email", "allow", None, ())),
        # everything waits for 08:00 (quiet hours): the preferred channel's instant (SMS,
        # first in the operator's order, would be as soon)
        ("2026-06-02T07:00", {"channel": "email"},
         ("email", "defer", "2026-06-02T08:00", (PREF_CH, QH))),
    ],
    ids=["no-preference", "prefers-email", "sms-later-email-now", "prefers-sms-waits",
         "preferred-opted-out", "both-wait"],
)  # fmt: skip
def test_a_preferred_channel_wins_where_it_is_lawful(
    when: str, kw: dict[str, Any], want: tuple[object, ...]
) -> None:
    channel = kw.pop("channel", None)
    assert seen(choose(when, channel=channel, **kw)) == want


@pytest.mark.parametrize(
    ("when", "hours", "want"),
    [
        # inside them: now
        ("2026-06-02T19:00", ("18:00", "20:00"), ("sms", "allow", None, ())),
        # before them: at their start
        ("2026-06-02T10:00", ("18:00", "20:00"), ("sms", "defer", "2026-06-02T18:00", (PREF_H,))),
        # after them today: tomorrow's, and the first lawful instant in them (08:00, quiet
        # hours end) rather than their start (07:00)
        ("2026-06-02T10:00", ("07:00", "09:00"),
         ("sms", "defer", "2026-06-03T08:00", (PREF_H, QH))),
        # never lawful (quiet hours from 21:00): the lawful instant stands
        ("2026-06-02T10:00", ("21:30", "23:00"), ("sms", "allow", None, ())),
        # a window across midnight, 20:00-08:00: at 23:00 quiet hours defer to 08:00, which
        # is where the window ends, so the next evening's 20:00
        ("2026-06-02T23:00", ("20:00", "08:00"), ("sms", "defer", "2026-06-03T20:00", (PREF_H,))),
        # the end is exclusive: at 20:00 the 18:00-20:00 window is over, tomorrow's is taken
        ("2026-06-02T20:00", ("18:00", "20:00"), ("sms", "defer", "2026-06-03T18:00", (PREF_H,))),
        # "24:00" is the end of the day
        ("2026-06-02T10:00", ("20:30", "24:00"), ("sms", "defer", "2026-06-02T20:30", (PREF_H,))),
    ],
    ids=["inside", "before", "after-next-day-lawful", "never-lawful", "wraps-midnight",
         "end-exclusive", "to-24:00"],
)  # fmt: skip
def test_preferred_hours_win_where_they_are_lawful(
    when: str, hours: tuple[str, str], want: tuple[object, ...]
) -> None:
    assert seen(choose(when, hours=hours, options=(SMS,))) == want


@pytest.mark.parametrize(
    ("at", "start", "end", "want"),
    [
        # spring forward (2026-03-08, 02:00 -> 03:00): 02:00-03:00 does not exist that day;
        # the next one is the 9th's
        ("2026-03-08T06:30Z", "02:00", "03:00", ("2026-03-09T06:00Z", "2026-03-09T07:00Z")),
        # 02:00-04:00 that day is one hour long (03:00 EDT to 04:00 EDT)
        ("2026-03-08T06:30Z", "02:00", "04:00", ("2026-03-08T07:00Z", "2026-03-08T08:00Z")),
        # fall back (2026-11-01, 02:00 -> 01:00): 01:00-02:00 is two hours long
        ("2026-11-01T04:00Z", "01:00", "02:00", ("2026-11-01T05:00Z", "2026-11-01T07:00Z")),
        # across midnight, from inside it after midnight: the window that began yesterday
        ("2026-06-02T05:00Z", "22:00", "06:00", ("2026-06-02T02:00Z", "2026-06-02T10:00Z")),
    ],
)
def test_the_preferred_window_across_clock_changes_and_midnight(
    at: str, start: str, end: str, want: tuple[str, str]
) -> None:
    window = planner.next_preferred(k.instant(at, NY), hm(start), hm(end), ZoneInfo(NY))
    assert tuple(t.strftime("%Y-%m-%dT%H:%MZ") for t in window) == want
