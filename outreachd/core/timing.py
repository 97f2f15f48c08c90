"""Time rules bound to one case: `passes(t)` and a lower bound on the next passing instant.

Contract of every bound rule: `passes(t)` is exact; when it is False, `next_change(t)` returns
an instant > t such that no instant in [t, next_change(t)) passes (or None: never again). The
decision's fixed-point search relies on nothing else, which is what makes its answer the
earliest lawful instant (see decide.py).
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from outreachd.core import localtime
from outreachd.core.calendars import DayType
from outreachd.core.context import Ctx, Ev, cap_channel
from outreachd.core.model import (
    Attempt,
    Channel,
    ContactPoint,
    InconvenientWindow,
    Initiator,
    Outcome,
    Owner,
    Party,
    Phone,
    Purpose,
)
from outreachd.core.packs import (
    CapRule,
    CooldownRule,
    Count,
    DayBanRule,
    DesignatedWindowsRule,
    MinGapRule,
    PromiseToPayRule,
    Span,
    TimeRule,
    When,
    WindowRule,
)
from outreachd.core.static import attempt_matches

ONE_DAY = timedelta(days=1)
CONVERSATIONS = frozenset({Outcome.CONVERSATION, Outcome.INBOUND_CONVERSATION})
HOUSEHOLD = frozenset({Owner.BORROWER, Owner.SPOUSE})


class Bound(Protocol):
    def passes(self, t: datetime) -> bool: ...
    def next_change(self, t: datetime) -> datetime | None: ...


def holds_until(bound: Bound, t: datetime, until: datetime, step: timedelta) -> datetime | None:
    """For a bound that passes at t: an instant in (t, until] before which it keeps passing
    (it may or may not fail there; earlier is always safe), or None when it surely keeps
    passing through `until` itself. Bounds that cannot say are looked at again one step
    later."""
    method = getattr(bound, "holds_until", None)
    if method is None:  # it cannot say: it is looked at again (at `until` at the latest)
        return min(t + step, until)
    found: datetime | None = method(t, until)
    return None if found is None or found > until else max(found, t + _TICK)


_TICK = timedelta(microseconds=1)


def applies(rule: TimeRule, attempt: Attempt, target: ContactPoint | None) -> bool:
    """True when `rule` looks at attempts of this shape; the history plays no part."""
    if not isinstance(rule, CapRule | CooldownRule | MinGapRule):
        return attempt_matches(rule.when, attempt, target)
    spec = _spec(rule)
    channel = cap_channel(attempt.channel) if spec.fold else attempt.channel
    if spec.channels and channel not in spec.channels:
        return False
    if isinstance(rule, CapRule) and rule.only_if_no_consent and _has_consent(target):
        return False
    return attempt_matches(spec.rest, attempt, target)


def bind(rule: TimeRule, ctx: Ctx) -> Bound | None:
    """The rule bound to this case, or None when it can never fail for it.

    The caller has checked `applies(rule, ctx.attempt, ctx.target)`.
    """
    if isinstance(rule, CapRule | CooldownRule | MinGapRule):
        return _bind_counting(rule, ctx)
    if isinstance(rule, WindowRule):
        return WindowCheck(rule, ctx)
    if isinstance(rule, DesignatedWindowsRule):
        return _bind_designated(ctx)
    if isinstance(rule, DayBanRule):
        return DayBanCheck(rule, ctx)
    return _bind_ptp(rule, ctx)


# --------------------------------------------------------------------------- windows


class WindowCheck:
    """Inside the allowed span (or the day type's span) in every zone the rule reads."""

    def __init__(self, rule: WindowRule, ctx: Ctx) -> None:
        self.rule, self.ctx = rule, ctx
        self.zones = ctx.zones if rule.zones == "candidates" else (ctx.primary,)
        self.rows = [r for r in rule.table if _row_matches(r.channels, r.dialers, ctx)]
        self.exceptions = _callback_intervals(rule, ctx)

    def span(self, day: date) -> Span | bool | None:
        """The allowed span on `day`; None = closed all day; True = not checked that day."""
        if self.rule.allowed is not None:
            return self.rule.allowed
        day_type = self.ctx.cn_day(day).day_type
        for row in self.rows:
            if day_type in row.day_types:
                return row.allowed
        return True

    def _zone_ok(self, t: datetime, tz: ZoneInfo) -> bool:
        lt = t.astimezone(tz)
        span = self.span(lt.date())
        if span is True or span is None:
            return span is True
        assert isinstance(span, Span)
        return span.start <= lt.time() < span.end

    def passes(self, t: datetime) -> bool:
        if all(self._zone_ok(t, tz) for tz in self.zones):
            return True
        return any(a <= t < b for a, b in self.exceptions)

    def next_change(self, t: datetime) -> datetime | None:
        entries = [
            _or_clock_jump(t, self._entry(t, tz), tz, self.ctx)
            for tz in self.zones
            if not self._zone_ok(t, tz)
        ]
        best = None if None in entries else max((e for e in entries if e), default=None)
        later = [a for a, _ in self.exceptions if a > t]
        if later:
            best = min(later) if best is None else min(best, *later)
        return best

    def holds_until(self, t: datetime, until: datetime) -> datetime | None:
        """Passing at t, it keeps passing until a span's end, a local midnight (the day type
        may change), a clock jump, or the end of the callback exception it relies on."""
        ends: list[datetime] = []
        inside = True
        for tz in self.zones:
            lt = t.astimezone(tz)
            day = lt.date()
            ends.append(localtime.start_of_day(day + ONE_DAY, tz))
            span = self.span(day)
            if isinstance(span, Span) and span.start <= lt.time() < span.end:
                ends.append(localtime.first_instant_at_or_after(day, span.end, tz))
            elif span is not True:
                inside = False
            jump = localtime.next_offset_change(t, min(*ends, until), tz)
            if jump is not None:
                ends.append(jump)
        if not inside:  # passing by a callback exception: until it ends
            ends += [b for a, b in self.exceptions if a <= t < b]
        return min(ends)

    def _entry(self, t: datetime, tz: ZoneInfo) -> datetime | None:
        """The first instant after t at which the wall clock in `tz` enters an allowed span."""
        day = localtime.local_date(t, tz)
        while (start := localtime.start_of_day(day, tz)) < self.ctx.horizon:
            span = self.span(day)
            if span is True:
                cand = start
            elif span is None:
                cand = None
            else:
                assert isinstance(span, Span)
                cand = localtime.first_instant_at_or_after(day, span.start, tz)
            if cand is not None and cand > t:
                return cand
            day += ONE_DAY
        return None


def _or_clock_jump(t: datetime, bound: datetime | None, tz: ZoneInfo, ctx: Ctx) -> datetime | None:
    """`bound`, or the zone's next UTC-offset change if that comes first (wall clock jumps)."""
    jump = localtime.next_offset_change(t, bound or ctx.horizon, tz)
    if jump is None:
        return bound
    return jump if bound is None else min(jump, bound)


def _row_matches(channels: frozenset[Channel], dialers: frozenset[object], ctx: Ctx) -> bool:
    att = ctx.attempt
    if att.channel not in channels:
        return False
    return not dialers or att.channel is not Channel.CALL or att.dialer in dialers


def _callback_intervals(rule: WindowRule, ctx: Ctx) -> list[tuple[datetime, datetime]]:
    """Recorded callback slots (clipped to `within` each day) where a human call may go."""
    exc, att = rule.callback_exception, ctx.attempt
    if exc is None or att.channel is not Channel.CALL or att.dialer not in exc.dialers:
        return []
    out: list[tuple[datetime, datetime]] = []
    for slot in ctx.account.flags.callback_requests:
        if not slot.recorded:
            continue
        a = localtime.first_instant_at_or_after(slot.start.date(), slot.start.time(), ctx.primary)
        b = localtime.first_instant_at_or_after(slot.end.date(), slot.end.time(), ctx.primary)
        out.extend(_clip(a, b, exc.within, ctx.primary))
    return out


def _clip(
    a: datetime, b: datetime, within: Span | None, tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    if within is None:
        return [(a, b)] if a < b else []
    out = []
    day = localtime.local_date(a, tz)
    while localtime.start_of_day(day, tz) < b:
        lo = max(a, localtime.first_instant_at_or_after(day, within.start, tz))
        hi = min(b, localtime.first_instant_at_or_after(day, within.end, tz))
        if lo < hi:
            out.append((lo, hi))
        day += ONE_DAY
    return out


class DesignatedCheck:
    """Not inside any borrower-designated inconvenient window (local P, may wrap midnight)."""

    def __init__(self, windows: list[InconvenientWindow], ctx: Ctx) -> None:
        self.windows, self.ctx = windows, ctx

    def _blocking(self, t: datetime) -> list[datetime]:
        lt = localtime.local(t, self.ctx.primary)
        ends = []
        for w in self.windows:
            now, day = lt.time(), lt.date()
            if w.start < w.end and w.start <= now < w.end:
                ends.append(self._end(day, w.end))
            elif w.start >= w.end and (now >= w.start or now < w.end):
                ends.append(self._end(day + ONE_DAY if now >= w.start else day, w.end))
        return ends

    def _end(self, day: date, end: time) -> datetime:
        if end == localtime.END_OF_DAY:
            return self.ctx.midnight(day + ONE_DAY)
        return localtime.first_instant_at_or_after(day, end, self.ctx.primary)

    def passes(self, t: datetime) -> bool:
        return not self._blocking(t)

    def next_change(self, t: datetime) -> datetime | None:
        ends = [e for e in self._blocking(t) if e > t]
        end = max(ends) if ends else t + timedelta(minutes=1)
        return _or_clock_jump(t, end, self.ctx.primary, self.ctx)

    def holds_until(self, t: datetime, until: datetime) -> datetime | None:
        """Passing at t, it keeps passing until the next start of a window (or a jump)."""
        tz, day = self.ctx.primary, self.ctx.day(t)
        starts = []
        for w in self.windows:
            for d in (day, day + ONE_DAY):
                start = localtime.first_instant_at_or_after(d, w.start, tz)
                if start > t:
                    starts.append(start)
                    break
        first = min(starts, default=until)
        return _or_clock_jump(t, min(first, until), tz, self.ctx)


def _bind_designated(ctx: Ctx) -> Bound | None:
    channel = cap_channel(ctx.attempt.channel)
    windows = [
        w
        for w in ctx.account.flags.inconvenient_windows
        if w.channels is None or channel in {cap_channel(c) for c in w.channels}
    ]
    return DesignatedCheck(windows, ctx) if windows else None


# --------------------------------------------------------------------------- calendar days


class DayCheck:
    """A rule that passes or fails for whole P-dates; it can only change at P-midnight."""

    def __init__(self, ok: Callable[[date], bool], ctx: Ctx) -> None:
        self.ok, self.ctx = ok, ctx

    def passes(self, t: datetime) -> bool:
        return self.ok(self.ctx.day(t))

    def next_change(self, t: datetime) -> datetime | None:
        return self.ctx.midnight(self.ctx.day(t) + ONE_DAY)

    def holds_until(self, t: datetime, until: datetime) -> datetime | None:
        return self.ctx.midnight(self.ctx.day(t) + ONE_DAY)


def DayBanCheck(rule: DayBanRule, ctx: Ctx) -> DayCheck:  # noqa: N802 - a factory
    """No contact on the banned kinds of P-date."""
    tests = [_BANS[name] for name in sorted(rule.days)]
    return DayCheck(lambda day: not any(test(ctx, day) for test in tests), ctx)


def _cn_is(day_type: DayType) -> Callable[[Ctx, date], bool]:
    return lambda ctx, day: ctx.cn_day(day).day_type is day_type


_BANS: dict[str, Callable[[Ctx, date], bool]] = {
    "sunday": lambda ctx, day: day.weekday() == 6,
    "saturday": lambda ctx, day: day.weekday() == 5,
    "us_federal_holiday": lambda ctx, day: ctx.calendars.us_federal_holiday(day),
    "us_state_holiday": lambda ctx, day: any(
        ctx.calendars.us_state_holiday(day, s) for s in _states(ctx)
    ),
    "uk_bank_holiday": lambda ctx, day: ctx.calendars.uk_bank_holiday(day),
    "cn_statutory_holiday": _cn_is(DayType.STATUTORY_HOLIDAY),
    "cn_spring_festival_blackout": _cn_is(DayType.SPRING_FESTIVAL_BLACKOUT),
}


def _states(ctx: Ctx) -> list[str]:
    b = ctx.account.borrower
    return [s for s in (b.residence.state, *b.other_states) if s]


class PromiseCheck:
    """CN-HOUSE-PTP: nothing before pay_by; on pay_by only the courtesy channel from a time."""

    def __init__(self, rule: PromiseToPayRule, ctx: Ctx, pay_by: date) -> None:
        self.ctx, self.pay_by = ctx, pay_by
        self.courtesy = ctx.attempt.channel in rule.on_due_date_channels
        self.courtesy_at = localtime.first_instant_at_or_after(
            pay_by, rule.on_due_date_from, ctx.primary
        )

    def passes(self, t: datetime) -> bool:
        day = self.ctx.day(t)
        if day == self.pay_by:
            return self.courtesy and t >= self.courtesy_at
        return day > self.pay_by

    def next_change(self, t: datetime) -> datetime | None:
        if self.courtesy and t < self.courtesy_at:
            return self.courtesy_at
        return self.ctx.midnight(self.pay_by + ONE_DAY)

    def holds_until(self, t: datetime, until: datetime) -> datetime | None:
        return None  # passing on or after the promised day, it passes from then on


def _bind_ptp(rule: PromiseToPayRule, ctx: Ctx) -> Bound | None:
    promise = ctx.account.flags.promise_to_pay
    return PromiseCheck(rule, ctx, promise.pay_by) if promise else None


# --------------------------------------------------------------------------- counting rules


@dataclass(frozen=True, slots=True)
class _Spec:
    """What a counting rule looks at, derived once per rule object (not per decision)."""

    fold: bool  # voicemail counts as a call (caps, cooldowns); not for gaps (SCENARIOS 6)
    channels: frozenset[Channel]  # attempt channels, folded when `fold`
    wanted: frozenset[Channel]  # counted event channels, folded when `fold`
    scan: tuple[Channel, ...] | None  # folded channel groups of the history to scan; None = all
    rest: When  # the rule's `when` without channels
    accept: frozenset[tuple[Outcome, Initiator, Party, Purpose]]  # counted event signatures
    count: Count
    floor: int  # fewer counted events than this can never make the rule fail


_SPECS: dict[int, tuple[object, _Spec]] = {}


def _spec(rule: CapRule | CooldownRule | MinGapRule) -> _Spec:
    """The compiled spec of `rule`, memoised by identity (the entry keeps the rule alive)."""
    hit = _SPECS.get(id(rule))
    if hit is not None and hit[0] is rule:
        return hit[1]
    fold = not isinstance(rule, MinGapRule)
    norm = cap_channel if fold else _same
    channels = frozenset(norm(c) for c in rule.when.channels)
    wanted = frozenset(norm(c) for c in rule.count.channels) or channels
    spec = _Spec(
        fold=fold,
        channels=channels,
        wanted=wanted,
        scan=tuple(sorted({cap_channel(c) for c in wanted})) if wanted else None,
        rest=dataclasses.replace(rule.when, channels=frozenset()),
        accept=frozenset(
            itertools.product(
                _outcome_set(rule.count),
                rule.count.initiators,
                rule.count.parties,
                rule.count.purposes,
            )
        ),
        count=rule.count,
        floor=_floor(rule),
    )
    _SPECS[id(rule)] = (rule, spec)
    return spec


def _floor(rule: CapRule | CooldownRule | MinGapRule) -> int:
    """A cap fails only once its window holds `max` events; others need one event."""
    if not isinstance(rule, CapRule):
        return 1
    if rule.max is not None:
        return rule.max
    return min((rule.max_by_day_type or {}).values(), default=0)


def _outcome_set(count: Count) -> frozenset[Outcome]:
    """Outcomes counted; an unknown send outcome counts as sent, a proven failure never."""
    if count.counting == "any":
        everything = frozenset(Outcome)
    elif count.counting == "not_conversation":
        everything = frozenset(Outcome) - CONVERSATIONS
    else:
        everything = count.outcomes | {Outcome.UNKNOWN}
    return everything - {Outcome.FAILED}


def _bind_counting(rule: CapRule | CooldownRule | MinGapRule, ctx: Ctx) -> Bound | None:
    """Caps, cooldowns and gaps: bind to the history events they count for this attempt."""
    spec = _spec(rule)
    candidates = _candidates(spec, ctx)
    if len(candidates) < spec.floor:
        return None  # too few events to ever reach the limit: passes at every instant
    counted = _count(candidates, rule, spec, ctx)
    if len(counted) < spec.floor:
        return None
    if isinstance(rule, MinGapRule):
        return GapCheck(rule, [ev.event.at for ev in counted])
    groups = _groups(counted, rule, ctx)
    if isinstance(rule, CapRule):
        return CapCheck(rule, ctx, groups)
    return CooldownCheck(rule, ctx, groups)


def _candidates(spec: _Spec, ctx: Ctx) -> list[Ev]:
    if spec.scan is None:
        return list(ctx.events)
    if len(spec.scan) == 1:
        return ctx.by_channel.get(spec.scan[0], [])
    return [ev for ev in ctx.events if ev.channel in spec.wanted or not spec.fold]


def _has_consent(target: ContactPoint | None) -> bool:
    return isinstance(target, Phone) and target.tcpa_consent


def _count(
    candidates: list[Ev], rule: CapRule | CooldownRule | MinGapRule, spec: _Spec, ctx: Ctx
) -> list[Ev]:
    """The events the rule counts for this attempt, oldest first (SCENARIOS.md 6).

    One tight filter per criterion: this runs for every counting rule of every decision.
    """
    accept = spec.accept
    evs = [ev for ev in candidates if ev.sig in accept]
    if not spec.fold and spec.wanted:  # a gap over calls does not see voicemail drops
        evs = [ev for ev in evs if ev.event.channel in spec.wanted]
    if dialers := rule.when.dialers:
        evs = [ev for ev in evs if ev.channel is not Channel.CALL or ev.event.dialer in dialers]
    return _in_scope(evs, rule, ctx)


def _in_scope(evs: list[Ev], rule: CapRule | CooldownRule | MinGapRule, ctx: Ctx) -> list[Ev]:
    scope, kinds, person = rule.scope, rule.when.number_kinds, ctx.person
    if "person" in scope:
        evs = [ev for ev in evs if ev.person is person]
    if "person_or_spouse" in scope:
        evs = [ev for ev in evs if _same_household(ev.person, person)]
    if "number" in scope:
        evs = [ev for ev in evs if ev.event.to == ctx.attempt.to]
    if kinds:
        return [ev for ev in evs if ev.kind in kinds]
    if "number_class" in scope:
        kind = ctx.target.kind if ctx.target is not None else None
        return [ev for ev in evs if ev.kind == kind]
    return evs


def _same_household(a: Owner, b: Owner) -> bool:
    return a is b or (a in HOUSEHOLD and b in HOUSEHOLD)


Group = tuple[str | None, list[Ev]]


def _groups(counted: list[Ev], rule: CapRule | CooldownRule, ctx: Ctx) -> list[Group]:
    """One group per debt of the attempt when the scope is per debt, else one group."""
    if "debt" not in rule.scope:
        return [(None, _consent_filtered(counted, rule, None, ctx))]
    return [
        (d, _consent_filtered([ev for ev in counted if d in ev.event.debts], rule, d, ctx))
        for d in ctx.attempt.debts
    ]


def _consent_filtered(
    evs: list[Ev], rule: CapRule | CooldownRule, debt: str | None, ctx: Ctx
) -> list[Ev]:
    """12 CFR 1006.14(b)(3)(i): calls on dates covered by direct consent are not counted."""
    if not rule.count.exclude_direct_consent or not ctx.account.flags.direct_consents:
        return evs
    return [ev for ev in evs if not ctx.consent_covers(ev.person, debt, date.fromordinal(ev.day))]


class CapCheck:
    """At most `max` counted events in the window, per group (SCENARIOS.md 3.6, 6).

    Events are oldest first, so a window is a slice found by bisection on the group's keys:
    P-date ordinals for calendar-day windows, instants for rolling windows.
    """

    def __init__(self, rule: CapRule, ctx: Ctx, groups: list[Group]) -> None:
        self.rule, self.ctx = rule, ctx
        self.rolling = timedelta(hours=rule.hours) if rule.hours is not None else None
        self.groups = [(debt, evs, self._keys(evs)) for debt, evs in groups]
        self.exempt = rule.exempt_direct_consent and bool(ctx.account.flags.direct_consents)

    def _keys(self, evs: list[Ev]) -> list[datetime] | list[int]:
        if self.rolling is not None:
            return [ev.event.at for ev in evs]
        return [ev.day for ev in evs]

    def _limit(self, day: date) -> int:
        if self.rule.max is not None:
            return self.rule.max
        assert self.rule.max_by_day_type is not None
        return self.rule.max_by_day_type.get(self.ctx.cn_day(day).day_type, 0)

    def _window(self, keys: list[Any], t: datetime, day: date) -> tuple[int, int]:
        """The slice [lo, hi) of a group's events inside the window at t."""
        if self.rolling is not None:  # (t - h, t]
            return bisect.bisect_right(keys, t - self.rolling), bisect.bisect_right(keys, t)
        assert self.rule.days is not None  # P-dates [D-(n-1), D]
        last = day.toordinal()
        lo = bisect.bisect_left(keys, last - self.rule.days + 1)
        return lo, bisect.bisect_right(keys, last)

    def _failing(self, t: datetime) -> list[Ev | None]:
        """For each group at or over the limit, the oldest event that must leave first
        (None under a limit of 0, which no departure can satisfy)."""
        day = self.ctx.day(t)
        limit = self._limit(day)
        out: list[Ev | None] = []
        for debt, evs, keys in self.groups:
            if self.exempt and self.ctx.consent_covers(self.ctx.person, debt, day):
                continue
            lo, hi = self._window(keys, t, day)
            if hi - lo >= limit:
                out.append(evs[hi - limit] if limit > 0 else None)
        return out

    def passes(self, t: datetime) -> bool:
        return not self._failing(t)

    def next_change(self, t: datetime) -> datetime | None:
        if self.rule.max_by_day_type is not None or self.exempt:
            return self.ctx.midnight(self.ctx.day(t) + ONE_DAY)
        if self._limit(self.ctx.day(t)) <= 0:
            return None  # a cap of zero never passes
        bounds = [self._drop(leaving) for leaving in self._failing(t) if leaving is not None]
        return max(bounds) if bounds else None

    def holds_until(self, t: datetime, until: datetime) -> datetime | None:
        """Passing at t, nothing can fail before the next P-midnight but a new event (the
        limit may change with the day type there); a fixed limit only relaxes."""
        if self.rule.max_by_day_type is None and not self.exempt:
            return None
        return self.ctx.midnight(self.ctx.day(t) + ONE_DAY)

    def _drop(self, leaving: Ev) -> datetime:
        """When `leaving` is out of the window, so the count can fall below the limit."""
        if self.rolling is not None:
            return leaving.event.at + self.rolling
        assert self.rule.days is not None
        return self.ctx.midnight(date.fromordinal(leaving.day + self.rule.days))


class CooldownCheck:
    """No contact on P-dates C ... C+n-1 after a trigger on P-date C (day 1 = C)."""

    def __init__(self, rule: CooldownRule, ctx: Ctx, groups: list[Group]) -> None:
        self.rule, self.ctx, self.groups = rule, ctx, groups
        self.exempt = rule.exempt_direct_consent and bool(ctx.account.flags.direct_consents)

    def _last_active(self, day: date) -> int | None:
        """The latest trigger date whose cooldown covers `day`, over failing groups."""
        d, worst = day.toordinal(), None
        for debt, evs in self.groups:
            if self.exempt and self.ctx.consent_covers(self.ctx.person, debt, day):
                continue
            active = [ev.day for ev in evs if ev.day <= d <= ev.day + self.rule.days - 1]
            if active:
                worst = max(active) if worst is None else max(worst, *active)
        return worst

    def passes(self, t: datetime) -> bool:
        return self._last_active(self.ctx.day(t)) is None

    def next_change(self, t: datetime) -> datetime | None:
        day = self.ctx.day(t)
        last = self._last_active(day)
        if self.exempt or last is None:
            return self.ctx.midnight(day + ONE_DAY)
        return self.ctx.midnight(date.fromordinal(last + self.rule.days))


class GapCheck:
    """At least `minutes` since the latest counted event at or before t."""

    def __init__(self, rule: MinGapRule, instants: list[datetime]) -> None:
        self.gap, self.instants = timedelta(minutes=rule.minutes), instants

    def _last(self, t: datetime) -> datetime | None:
        i = bisect.bisect_right(self.instants, t)
        return self.instants[i - 1] if i else None

    def passes(self, t: datetime) -> bool:
        last = self._last(t)
        return last is None or t - last >= self.gap

    def next_change(self, t: datetime) -> datetime | None:
        last = self._last(t)
        return None if last is None else last + self.gap


def _same(channel: Channel) -> Channel:
    return channel
