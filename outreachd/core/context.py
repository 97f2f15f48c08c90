"""The per-decision view of a case: zones, target, person and pre-digested history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo

from outreachd.core import localtime, zones
from outreachd.core.calendars import Calendars, CnDay
from outreachd.core.model import (
    Account,
    Attempt,
    Channel,
    Collector,
    ContactPoint,
    DirectConsent,
    EmailKind,
    Event,
    Initiator,
    Outcome,
    Owner,
    Party,
    PhoneKind,
    Purpose,
)

FOLDED = {Channel.VOICEMAIL: Channel.CALL}
_AT = attrgetter("at")


def cap_channel(channel: Channel) -> Channel:
    """A voicemail drop counts as a call for caps, cooldowns and MEDIUM-OPT-OUT (SCENARIOS 6)."""
    return FOLDED.get(channel, channel)


class Ev(NamedTuple):
    """A history event with the facts every rule needs, computed once per decision."""

    event: Event
    day: int  # P-date ordinal
    channel: Channel  # voicemail folded into call
    person: Owner
    kind: PhoneKind | EmailKind | None  # kind of the contact point it went to
    sig: tuple[Outcome, Initiator, Party, Purpose]  # what caps filter on first


@dataclass(slots=True)
class Ctx:
    account: Account
    attempt: Attempt
    collector: Collector
    calendars: Calendars
    primary_name: str
    primary: ZoneInfo
    zones: tuple[ZoneInfo, ...]
    zone_names: tuple[str, ...]
    target: ContactPoint | None
    person: Owner
    events: tuple[Ev, ...]  # oldest first
    by_channel: dict[Channel, list[Ev]]  # events by folded channel, oldest first
    t0: datetime
    horizon: datetime
    estimated_years: set[int] = field(default_factory=set)
    _day_of: datetime | None = None
    _day: date = date.min

    def day(self, instant: datetime) -> date:
        """The P-date of `instant` (the last answer is kept: rules ask about the same t)."""
        if instant != self._day_of:
            self._day_of, self._day = instant, instant.astimezone(self.primary).date()
        return self._day

    def midnight(self, day: date) -> datetime:
        """The first instant of P-date `day`."""
        return localtime.start_of_day(day, self.primary)

    def cn_day(self, day: date) -> CnDay:
        """China day type of P-date `day`, remembering fail-closed estimates for the facts."""
        info = self.calendars.cn_day(day)
        if info.estimated:
            self.estimated_years.add(day.year)
        return info

    def consent_covers(self, person: Owner, debt: str | None, day: date) -> bool:
        """A direct consent given to the collector covers this person, debt and P-date."""
        return any(_covers(c, person, debt, day) for c in self.account.flags.direct_consents)


def _covers(consent: DirectConsent, person: Owner, debt: str | None, day: date) -> bool:
    """12 CFR 1006.14(b)(3)(i): consent date = day 1, covers at most 7 consecutive days."""
    if consent.given_to != "collector" or consent.person is not person:
        return False
    if debt is not None and consent.debts is not None and debt not in consent.debts:
        return False
    return consent.given_on <= day <= consent.given_on + timedelta(days=6)


def build(
    account: Account,
    history: Sequence[Event],
    attempt: Attempt,
    at: datetime,
    *,
    collector: Collector,
    calendars: Calendars,
    horizon: timedelta,
) -> Ctx:
    """Digest a case for one decision at instant `at` (aware)."""
    borrower = account.borrower
    primary_name = zones.primary_zone(borrower)
    primary = localtime.zone(primary_name)
    names = zones.candidate_zones(borrower)
    points: tuple[ContactPoint, ...] = (*borrower.phones, *borrower.emails)
    contacts = {p.id: p for p in points}
    target = contacts.get(attempt.to)
    person = attempt.person or (target.owner if target else Owner.BORROWER)
    folded = FOLDED
    events = tuple(
        tuple.__new__(  # the C constructor: this runs for every history event
            Ev,
            (
                e,
                e.at.astimezone(primary).toordinal(),
                folded.get(e.channel, e.channel),
                e.person or (t.owner if t else Owner.BORROWER),
                t.kind if t else None,
                (e.outcome, e.initiator, e.party, e.purpose),
            ),
        )
        for e in sorted(history, key=_AT)
        for t in (contacts.get(e.to),)  # the contact point the event went to, if known
    )
    by_channel: dict[Channel, list[Ev]] = {}
    for ev in events:
        by_channel.setdefault(ev.channel, []).append(ev)
    return Ctx(
        account=account,
        attempt=attempt,
        collector=collector,
        calendars=calendars,
        primary_name=primary_name,
        primary=primary,
        zones=tuple(localtime.zone(n) for n in names),
        zone_names=names,
        target=target,
        person=person,
        events=events,
        by_channel=by_channel,
        t0=at,
        horizon=at + horizon,
    )
