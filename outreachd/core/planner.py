"""Channel choice: which of a step's candidate contacts to make, and when (pure).

The candidates come in the operator's preference order (channel first, then contact point).
The first one allowed now wins; otherwise the one whose earliest lawful instant is soonest
(ties keep preference order); if every candidate is blocked, the step is blocked with the
reasons of all of them.

The borrower's stated preferences win where they are lawful:
- a preferred channel (`Borrower.preferences.channel`) is used whenever it can be, even when
  another channel could be used sooner: the step waits for it (`BORROWER-PREFERRED-CHANNEL`);
  only when it cannot be used at all (opted out, no consent, no contact point) does another
  channel carry the step;
- preferred hours (local wall clock in P, `[from, to)`, may wrap midnight): a contact that
  would fall outside them waits for the next time they begin, or the first lawful instant
  inside them (`BORROWER-PREFERRED-HOURS`); when nothing in that next window is lawful, the
  lawful instant stands (the preference cannot be met lawfully, the contact is not dropped).
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from outreachd.core import decide as core
from outreachd.core import localtime, zones
from outreachd.core.model import (
    Account,
    Attempt,
    Channel,
    Dialer,
    Event,
    Preferences,
    Purpose,
    TemplateMeta,
)

NO_CONTACT_POINT = "NO-CONTACT-POINT"
PREFERRED_CHANNEL = "BORROWER-PREFERRED-CHANNEL"
PREFERRED_HOURS = "BORROWER-PREFERRED-HOURS"
ONE_DAY = timedelta(days=1)
VALIDITY_LIMIT = timedelta(hours=1)  # how far ahead a send's lawful time is looked at


@dataclass(frozen=True, kw_only=True, slots=True)
class Option:
    """One way to make the step's contact: a channel, a contact point and its message."""

    channel: Channel
    contact_id: str
    template: str  # template id
    meta: TemplateMeta
    dialer: Dialer = Dialer.MANUAL  # how a call is placed (a text-to-speech call: prerecorded)
    purpose: Purpose = Purpose.COLLECTION  # a receipt is transactional


@dataclass(frozen=True, kw_only=True, slots=True)
class Choice:
    option: Option | None  # None when every option is blocked (or there is none)
    decision: core.Decision
    considered: tuple[tuple[Option, core.Decision], ...]


def choose(
    account: Account,
    debts: tuple[str, ...],
    history: Sequence[Event],
    options: Iterable[Option],
    *,
    at: datetime,
    policy: core.Policy,
    validity: Container[Channel] = (),
) -> Choice:
    """The option to use at or after `at`, with the decision that made it. An allowed
    option on a channel in `validity` also says how long it stays lawful (up to an hour:
    Allow.valid_for, see core.allowed_for)."""
    prefs = account.borrower.preferences
    preferred = prefs.channel if prefs is not None else None
    done: list[tuple[Option, core.Decision]] = []
    choice: Choice | None = None
    for option in options:  # lazily: options after the first allowed are never built
        if choice is not None and option.channel is not preferred:
            continue  # an allowed option is in hand: only the preferred channel can beat it
        limit = VALIDITY_LIMIT if option.channel in validity else None
        attempt = _attempt(option, debts)
        decision = core.decide(account, history, attempt, at, policy, validity=limit)
        done.append((option, decision))
        if isinstance(decision, core.Allow):
            choice = Choice(option=option, decision=decision, considered=tuple(done))
            if preferred is None or option.channel is preferred:
                break
    if choice is None:
        results = tuple(done)
        deferred = [(o, d) for o, d in results if isinstance(d, core.Defer)]
        if not deferred:
            return Choice(option=None, decision=_all_blocked(results), considered=results)
        option, decision = min(deferred, key=lambda od: od[1].until)
        choice = Choice(option=option, decision=decision, considered=results)
    if (
        preferred is not None
        and choice.option is not None
        and choice.option.channel is not preferred
    ):
        choice = _wait_for(preferred, done) or choice
    if prefs is None or prefs.start is None or prefs.end is None:
        return choice
    return _in_hours(
        choice, prefs, account=account, debts=debts, history=history, policy=policy, at=at
    )


def _wait_for(preferred: Channel, done: list[tuple[Option, core.Decision]]) -> Choice | None:
    """The soonest deferral on the borrower's preferred channel, when there is one (the
    step waits for it rather than use another channel sooner)."""
    waits = [(o, d) for o, d in done if o.channel is preferred and isinstance(d, core.Defer)]
    if not waits:
        return None
    option, decision = min(waits, key=lambda od: od[1].until)
    reasons = (*decision.reasons, PREFERRED_CHANNEL)
    deferred = core.Defer(until=decision.until, reasons=reasons, facts=decision.facts)
    return Choice(option=option, decision=deferred, considered=tuple(done))


def _in_hours(
    choice: Choice,
    prefs: Preferences,
    *,
    account: Account,
    debts: tuple[str, ...],
    history: Sequence[Event],
    policy: core.Policy,
    at: datetime,
) -> Choice:
    """The choice moved into the borrower's preferred hours where that is lawful."""
    decision, option = choice.decision, choice.option
    if option is None or isinstance(decision, core.Block):
        return choice
    when = decision.until if isinstance(decision, core.Defer) else at
    assert prefs.start is not None and prefs.end is not None
    tz = localtime.zone(zones.primary_zone(account.borrower))
    start, end = next_preferred(when, prefs.start, prefs.end, tz)
    if start <= when:
        return choice  # already inside them
    then = core.decide(account, history, _attempt(option, debts), start, policy)
    reasons: tuple[str, ...]
    if isinstance(then, core.Allow):
        until, reasons = start, (PREFERRED_HOURS,)
    elif isinstance(then, core.Defer) and then.until < end:
        until, reasons = then.until, (*then.reasons, PREFERRED_HOURS)
    else:
        return choice  # nothing lawful in them: the lawful instant stands
    moved = core.Defer(until=until, reasons=reasons, facts=decision.facts)
    return Choice(option=option, decision=moved, considered=choice.considered)


def next_preferred(t: datetime, start: time, end: time, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The preferred window (local wall clock `[start, end)` in `tz`, wrapping midnight when
    `start >= end`) that contains `t`, else the next one to begin: (its start, its end)."""
    day = localtime.local_date(t, tz)
    for d in (day - ONE_DAY, day, day + ONE_DAY, day + 2 * ONE_DAY):
        begins = localtime.first_instant_at_or_after(d, start, tz)
        last = d + ONE_DAY if start >= end else d
        ends = _wall_end(last, end, tz)
        if t < ends and begins < ends:
            return begins, ends
    raise AssertionError("a daily window always begins within two days")  # pragma: no cover


def _wall_end(day: date, end: time, tz: ZoneInfo) -> datetime:
    if end == localtime.END_OF_DAY:
        return localtime.start_of_day(day + ONE_DAY, tz)
    return localtime.first_instant_at_or_after(day, end, tz)


def _attempt(option: Option, debts: tuple[str, ...]) -> Attempt:
    return Attempt(
        channel=option.channel, to=option.contact_id, dialer=option.dialer, debts=debts,
        template=option.meta, purpose=option.purpose,
    )  # fmt: skip


def _all_blocked(results: tuple[tuple[Option, core.Decision], ...]) -> core.Block:
    if not results:
        facts = core.Facts(primary_zone="", candidate_zones=(), packs=())
        return core.Block(reasons=(NO_CONTACT_POINT,), facts=facts)
    reasons = dict.fromkeys(r for _, d in results for r in getattr(d, "reasons", ()))
    return core.Block(reasons=tuple(reasons), facts=results[0][1].facts)
