"""decide(): Allow, Defer(until the earliest lawful instant) or Block, with the rule IDs.

Static rules first: any violation blocks (SCENARIOS.md 4.2). Otherwise every time rule is
evaluated at t0; if one fails, the earliest lawful instant T >= t0 is found by a fixed point:
whenever some rule fails at t, jump to that rule's lower bound on its next passing instant.
Each jump skips only instants the failing rule forbids, so the first t at which every rule
passes is the earliest lawful one; no minute-by-minute scan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from outreachd.core import context, static, timing
from outreachd.core.calendars import Calendars
from outreachd.core.model import Account, Attempt, Collector, ContactPoint, Event, Profile
from outreachd.core.packs import (
    STATIC_KINDS,
    CapRule,
    CooldownRule,
    MinGapRule,
    Pack,
    Rule,
    Selector,
    StaticRule,
    TimeRule,
    pack_applies,
)

HORIZON = timedelta(days=60)
NO_SLOT = "NO-SLOT-WITHIN-HORIZON"
UNKNOWN_TARGET = "UNKNOWN-CONTACT-POINT"


@dataclass(frozen=True, kw_only=True, slots=True)
class Facts:
    """What a decision was based on, for the audit trail."""

    primary_zone: str
    candidate_zones: tuple[str, ...]
    packs: tuple[str, ...]  # "ID@version"
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Allow:
    facts: Facts
    # how long the attempt stays lawful after the decision's instant, when asked for
    # (decide(..., validity=...)): see allowed_for
    valid_for: timedelta | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Defer:
    until: datetime  # aware UTC, the earliest instant at which every rule passes
    reasons: tuple[str, ...]  # the time rules that fail at the attempt instant
    facts: Facts


@dataclass(frozen=True, kw_only=True, slots=True)
class Block:
    reasons: tuple[str, ...]
    facts: Facts


Decision = Allow | Defer | Block


@dataclass(frozen=True, slots=True)
class ActiveRules:
    """The rules of every pack active for one kind of case, split by kind."""

    packs: tuple[str, ...]
    static: tuple[StaticRule, ...]
    timed: tuple[TimeRule, ...]
    _shapes: dict[tuple[object, ...], Shaped]

    def for_attempt(self, attempt: Attempt, target: ContactPoint | None) -> Shaped:
        """The rules that look at attempts of this shape (channel, dialer, purpose, the
        target's kind and consent: all that `when` filters read): the time rules, how far
        back they count, and the static rules, in pack order.

        Events older than t0 minus that lookback can never be counted at any instant >= t0.
        """
        kind, consent = (
            (target.kind, getattr(target, "tcpa_consent", False)) if target else (None, False)
        )
        key = (attempt.channel, attempt.dialer, attempt.purpose, kind, consent)
        found = self._shapes.get(key)
        if found is None:
            rules = tuple(r for r in self.timed if timing.applies(r, attempt, target))
            matches = static.attempt_matches
            looked = tuple(r for r in self.static if matches(r.when, attempt, target))
            found = self._shapes[key] = Shaped(rules, _lookback(rules), looked)
        return found


class Shaped(NamedTuple):
    timed: tuple[TimeRule, ...]
    lookback: timedelta
    static: tuple[StaticRule, ...]


def _lookback(rules: tuple[TimeRule, ...]) -> timedelta:
    """The longest counting window, plus two days for local dates and 25-hour DST days."""
    spans = [timedelta(days=2)]
    for r in rules:
        if isinstance(r, CapRule):
            spans.append(timedelta(days=r.days or 0, hours=r.hours or 0) + timedelta(days=2))
        elif isinstance(r, CooldownRule):
            spans.append(timedelta(days=r.days + 2))
        elif isinstance(r, MinGapRule):
            spans.append(timedelta(minutes=r.minutes, days=2))
    return max(spans)


STEP = timedelta(minutes=1)  # allowed_for's resolution


class Policy:
    """The deployment's packs, collector, profile and calendars; memoises pack selection."""

    def __init__(
        self,
        *,
        packs: tuple[Pack, ...],
        collector: Collector,
        profile: Profile,
        calendars: Calendars,
        enable_pending: bool = False,
        horizon: timedelta = HORIZON,
    ) -> None:
        # a plain string is accepted too: "best_practice" must mean the enum, not be ignored
        self.packs, self.collector, self.profile = packs, collector, Profile(profile)
        self.calendars, self.enable_pending, self.horizon = calendars, enable_pending, horizon
        self._active: dict[tuple[object, ...], ActiveRules] = {}
        timed = tuple(r for p in packs for r in p.rules if r.kind not in STATIC_KINDS)
        # how far back any rule of any pack counts: events older than that never matter
        self.lookback = _lookback(timed)  # type: ignore[arg-type]

    def active(self, account: Account) -> ActiveRules:
        """The rules that apply to this borrower under this policy (SCENARIOS.md 4.1)."""
        res = account.borrower.residence
        key = (res.country, res.state, account.borrower.other_states, res.city)
        found = self._active.get(key)
        if found is None:
            sel = Selector(
                country=res.country,
                states=frozenset(s for s in (res.state, *account.borrower.other_states) if s),
                city=res.city,
                collector=self.collector.type,
                profile=self.profile,
                enable_pending=self.enable_pending,
            )
            found = self._active[key] = _select(self.packs, sel)
        return found


def _select(packs: tuple[Pack, ...], sel: Selector) -> ActiveRules:
    chosen = [p for p in packs if pack_applies(p, sel)]
    rules: list[Rule] = [r for p in chosen for r in p.rules]
    return ActiveRules(
        packs=tuple(f"{p.id}@{p.version}" for p in chosen),
        static=tuple(r for r in rules if r.kind in STATIC_KINDS),  # type: ignore[misc]
        timed=tuple(r for r in rules if r.kind not in STATIC_KINDS),  # type: ignore[misc]
        _shapes={},
    )


def decide(
    account: Account,
    history: Sequence[Event],
    attempt: Attempt,
    at: datetime,
    policy: Policy,
    *,
    validity: timedelta | None = None,
) -> Decision:
    """Decide one candidate attempt at instant `at` (aware); pure: never reads the clock.
    With `validity` (a limit), an Allow also says how long, up to that limit, the attempt
    stays lawful (allowed_for's answer, from the same bound rules)."""
    if at.tzinfo is None:
        raise ValueError("decide() needs an aware instant")
    at = at.astimezone(UTC)
    rules = policy.active(account)
    timed, lookback, looked = rules.for_attempt(attempt, account.borrower.contact(attempt.to))
    cutoff = at - lookback
    ctx = context.build(
        account,
        [e for e in history if e.at > cutoff],
        attempt,
        at,
        collector=policy.collector,
        calendars=policy.calendars,
        horizon=policy.horizon,
    )
    if ctx.target is None:
        return Block(reasons=(UNKNOWN_TARGET,), facts=_facts(ctx, rules))
    failed = _ids(r.id for r in looked if static.breaks(r, ctx))
    if failed:
        return Block(reasons=failed, facts=_facts(ctx, rules))
    bound = [(r, b) for r in timed if (b := timing.bind(r, ctx)) is not None]
    reasons = _ids(r.id for r, b in bound if not b.passes(at))
    if not reasons:
        valid = None
        if validity is not None:
            valid = _open_for([b for r, b in bound if not _relaxes(r)], at, validity)
        return Allow(facts=_facts(ctx, rules), valid_for=valid)
    until = earliest([(r.id, b) for r, b in bound], at, ctx.horizon)
    if until is None:
        return Block(reasons=(NO_SLOT, *reasons), facts=_facts(ctx, rules))
    return Defer(until=until, reasons=reasons, facts=_facts(ctx, rules))


def allowed_for(
    account: Account,
    history: Sequence[Event],
    attempt: Attempt,
    at: datetime,
    policy: Policy,
    *,
    limit: timedelta = timedelta(hours=1),
) -> timedelta:
    """How long after `at` every time rule keeps allowing the attempt: the largest whole
    number of minutes s <= limit such that every rule passes at every instant up to at + s
    (zero when one fails within the first minute, or the attempt is not allowed at `at`).
    `history` is without the attempt itself. It is decide(..., validity=limit)'s answer.

    For a send that must not land after its lawful moment (Twilio ValidityPeriod): caps only
    relax as time passes; windows, quiet hours and banned days are what close. Each bound rule
    says until when it surely keeps passing (a span's end, a midnight, a clock jump), so only
    those instants are checked; the answer is at most one step early, never late. Pure: never
    reads the clock.
    """
    decision = decide(account, history, attempt, at, policy, validity=limit)
    if isinstance(decision, Allow) and decision.valid_for is not None:
        return decision.valid_for
    return timedelta(0)


def _open_for(
    bound: list[timing.Bound], at: datetime, limit: timedelta, step: timedelta = STEP
) -> timedelta:
    """allowed_for's answer from the bound rules, which all pass at `at` (counting rules
    with a fixed maximum only relax as time passes, with no new events: the caller leaves them
    out; a maximum that changes with the day type can tighten at midnight: kept)."""
    failing = _first_failure(bound, at, at + limit, step) if limit > timedelta(0) else None
    steps = limit // step
    if failing is not None:  # steps strictly before the failure pass
        steps = min(steps, max(0, -((at - failing) // step) - 1))
    return steps * step


def _first_failure(
    bound: list[timing.Bound], at: datetime, end: datetime, step: timedelta
) -> datetime | None:
    """The first instant in (at, end] at which a bound rule fails (None: none does), for
    bound rules that all pass at `at`. Each bound says how long it surely keeps passing; only
    those instants are looked at, and none once every bound passes through `end`."""
    t = at
    while True:
        ends = [u for b in bound if (u := timing.holds_until(b, t, end, step)) is not None]
        if not ends:
            return None
        t = min(ends)
        if not all(b.passes(t) for b in bound):
            return t
        if t >= end:
            return None


def _relaxes(rule: TimeRule) -> bool:
    if isinstance(rule, CooldownRule | MinGapRule):
        return True
    return isinstance(rule, CapRule) and rule.max is not None


def earliest(
    bound: list[tuple[str, timing.Bound]], t: datetime, horizon: datetime
) -> datetime | None:
    """The first instant >= t, before `horizon`, at which every bound rule passes."""
    while t < horizon:
        for _, rule in bound:
            if not rule.passes(t):
                nxt = rule.next_change(t)
                if nxt is None:
                    return None
                # a bound that does not move forward is a bug; step on rather than spin
                t = nxt if nxt > t else t + timedelta(minutes=1)
                break
        else:
            return t
    return None


def _ids(ids: object) -> tuple[str, ...]:
    """Rule IDs in first-seen order, without repeats."""
    return tuple(dict.fromkeys(ids))  # type: ignore[call-overload]


def _facts(ctx: context.Ctx, rules: ActiveRules) -> Facts:
    notes = tuple(
        f"CN calendar {year} not published: fail-closed estimate used"
        for year in sorted(ctx.estimated_years)
    )
    return Facts(
        primary_zone=ctx.primary_name,
        candidate_zones=ctx.zone_names,
        packs=rules.packs,
        notes=notes,
    )
