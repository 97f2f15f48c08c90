"""Property-based tests of the decision core (design brief: "an Allow is never outside a
window; a Defer's instant is itself allowed and is the earliest").

Cases are generated over the shipped rule packs: US (NY, CA, AZ, HI, MA, WA, TX), UK and CN
borrowers, whole-minute instants in 2026 biased to DST days, the Spring Festival, midnight and
window edges, and histories of up to 15 events in the 10 days before the attempt.

Every oracle is computed independently of the engine from SCENARIOS.md: local times with
`zoneinfo`; windows, calendars and counting rules typed from the spec; a minute-by-minute
brute force for "earliest". Only the candidate zones Z come from
`outreachd.core.zones.candidate_zones`, as the brief allows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from outreachd import rulepacks
from outreachd.core import decide as core
from outreachd.core.calendars import Calendars
from outreachd.core.model import (
    Account,
    Attempt,
    Borrower,
    CallbackRequest,
    Channel,
    Collector,
    CollectorType,
    Country,
    Dialer,
    DirectConsent,
    Email,
    EmailKind,
    Event,
    Flags,
    InconvenientWindow,
    Initiator,
    Outcome,
    Owner,
    Party,
    Phone,
    PhoneKind,
    Profile,
    PromiseToPay,
    Purpose,
    RegfProcedure,
    Residence,
)
from outreachd.core.packs import AppliesIf, CapRule, Pack
from outreachd.core.zones import candidate_zones

PACKS = rulepacks.load_packs([rulepacks.DEFAULT_RULES_DIR])
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
HORIZON = timedelta(days=60)
BRUTE_FORCE_SPAN = timedelta(days=2)

# ----------------------------------------------------------------------------- the spec

US_STATE_TZ = {  # residence zone table (SCENARIOS.md 2.2: tz from the area; TX spans two)
    "NY": ("America/New_York",),
    "CA": ("America/Los_Angeles",),
    "AZ": ("America/Phoenix",),
    "HI": ("Pacific/Honolulu",),
    "MA": ("America/New_York",),
    "WA": ("America/Los_Angeles",),
    "TX": ("America/Chicago", "America/Denver"),
}
US_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "Pacific/Honolulu",
)
PRIMARY = {Country.UK: "Europe/London", Country.CN: "Asia/Shanghai"}
COLLECTORS = {
    Country.US: (CollectorType.FDCPA_DEBT_COLLECTOR, CollectorType.FIRST_PARTY_CREDITOR),
    Country.UK: (CollectorType.UK_FIRM,),
    Country.CN: (CollectorType.CN_LENDER, CollectorType.CN_AGENCY),
}
# DST 2026 (SCENARIOS.md 3.3) and the 2026 Spring Festival span incl. make-up Saturday 02-14.
SPECIAL_DATES = {
    Country.US: (date(2026, 3, 8), date(2026, 11, 1)),
    Country.UK: (date(2026, 3, 29), date(2026, 10, 25)),
    Country.CN: tuple(date(2026, 2, 10) + timedelta(days=n) for n in range(17)),
}


def _days(first: str, last: str) -> frozenset[date]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return frozenset(a + timedelta(days=n) for n in range((b - a).days + 1))


# SCENARIOS.md 5.3 (notice of 2025-11-04) and 5.1, typed here rather than taken from the engine.
CN_SPRING_FESTIVAL_2026 = _days("2026-02-15", "2026-02-23")
CN_BREAKS_2026 = (
    _days("2026-01-01", "2026-01-03")
    | _days("2026-04-04", "2026-04-06")
    | _days("2026-05-01", "2026-05-05")
    | _days("2026-06-19", "2026-06-21")
    | _days("2026-09-25", "2026-09-27")
    | _days("2026-10-01", "2026-10-07")
)
CN_MAKEUP_2026 = frozenset(
    date.fromisoformat(d)
    for d in ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10")
)
US_FEDERAL_HOLIDAYS_2026 = frozenset(
    date(2026, m, d)
    for m, d in (
        (1, 1),
        (1, 19),
        (2, 16),
        (5, 25),
        (6, 19),
        (7, 3),
        (7, 4),
        (9, 7),
        (10, 12),
        (11, 11),
        (11, 26),
        (12, 25),
    )
)
EDGES = tuple(
    time(h, m)
    for h, m in (
        (0, 0),
        (0, 30),
        (1, 0),
        (1, 30),
        (1, 59),
        (2, 0),
        (2, 30),
        (7, 29),
        (7, 30),
        (7, 59),
        (8, 0),
        (8, 59),
        (9, 0),
        (9, 59),
        (10, 0),
        (17, 59),
        (18, 0),
        (19, 59),
        (20, 0),
        (20, 29),
        (20, 30),
        (20, 59),
        (21, 0),
        (21, 59),
        (22, 0),
        (23, 59),
    )
)
# Borrower-designated windows, some wrapping midnight, some starting inside the repeated hour
# of a fall-back night (the clock can leave those before their end).
DESIGNATED = (
    (time(1, 30), time(2, 30)),
    (time(1, 15), time(3, 0)),
    (time(22, 0), time(7, 0)),
    (time(12, 0), time(13, 0)),
    (time(8, 0), time(9, 0)),
    (time(20, 0), time(21, 30)),
    (time(18, 0), time(8, 30)),
    (time(0, 30), time(1, 30)),
    (time(1, 0), time(2, 30)),
    (time(23, 0), time(0, 30)),
    (time(7, 0), time(10, 0)),
)
REGF_COUNTED = frozenset(
    {
        Outcome.CONVERSATION,
        Outcome.NO_ANSWER,
        Outcome.VOICEMAIL_LCM,
        Outcome.VOICEMAIL_NO_MESSAGE,
        Outcome.ANSWERED_HANGUP,
        Outcome.THIRD_PARTY_ANSWERED,
    }
)
CALL_OUTCOMES = (
    Outcome.CONVERSATION,
    Outcome.INBOUND_CONVERSATION,
    Outcome.NO_ANSWER,
    Outcome.VOICEMAIL_LCM,
    Outcome.VOICEMAIL_NO_MESSAGE,
    Outcome.ANSWERED_HANGUP,
    Outcome.THIRD_PARTY_ANSWERED,
    Outcome.BUSY,
    Outcome.NOT_IN_SERVICE,
    Outcome.NETWORK_FAIL,
)
CALLS = frozenset({Channel.CALL, Channel.VOICEMAIL})
DENSE_OUTCOMES = (
    *sorted(REGF_COUNTED - {Outcome.CONVERSATION}) * 4,
    Outcome.BUSY,
    Outcome.NOT_IN_SERVICE,
    Outcome.NETWORK_FAIL,
    Outcome.CONVERSATION,
)


@cache
def policy_for(collector: CollectorType, profile: Profile) -> core.Policy:
    """One policy per (collector type, profile), shared by every example."""
    return core.Policy(
        packs=PACKS,
        collector=Collector(type=collector),
        profile=profile,
        calendars=Calendars(),
        enable_pending=False,
    )


@dataclass(frozen=True, kw_only=True)
class Case:
    """One generated decision problem."""

    account: Account
    history: tuple[Event, ...]
    attempt: Attempt
    at: datetime
    collector: CollectorType
    profile: Profile

    @property
    def country(self) -> Country:
        return self.account.borrower.residence.country

    def decide(self, t: datetime | None = None) -> core.Decision:
        policy = policy_for(self.collector, self.profile)
        return core.decide(
            self.account, self.history, self.attempt, self.at if t is None else t, policy
        )


def primary_name(borrower: Borrower) -> str:
    """P per SCENARIOS.md 2.2 (a zoneless residence falls back to the state's first zone)."""
    res = borrower.residence
    if borrower.confirmed_location_tz:
        return borrower.confirmed_location_tz
    if res.tz:
        return res.tz
    return US_STATE_TZ[res.state][0] if res.state else PRIMARY[res.country]


def wall(t: datetime, zone: str) -> datetime:
    """The naive local wall-clock time of instant `t` in `zone`, straight from zoneinfo."""
    return t.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def person_of(borrower: Borrower, to: str, person: Owner | None) -> Owner:
    if person is not None:
        return person
    point = borrower.contact(to)
    return point.owner if point is not None else Owner.BORROWER


# ----------------------------------------------------------------------------- strategies


@st.composite
def us_phones(draw: st.DrawFn, home: str) -> tuple[Phone, ...]:
    phones = []
    for n in range(draw(st.integers(1, 2))):
        tz = draw(st.sampled_from((home, home, *US_ZONES, None)))
        number = draw(st.sampled_from(("+12125550123", "+13105550123", None))) if not tz else None
        phones.append(
            Phone(
                id=f"m{n + 1}",
                kind=draw(st.sampled_from(PhoneKind)),
                tz=tz,
                number=number,
                owner=draw(st.sampled_from((Owner.BORROWER,) * 4 + (Owner.SPOUSE,))),
                tcpa_consent=draw(st.booleans()),
                regf_text_ok=draw(st.booleans()),
                rnd_reassigned=draw(st.sampled_from((False,) * 9 + (True,))),
            )
        )
    return tuple(phones)


@st.composite
def other_phones(draw: st.DrawFn, home: str, owners: tuple[Owner, ...]) -> tuple[Phone, ...]:
    return tuple(
        Phone(
            id=f"m{n + 1}",
            kind=draw(st.sampled_from(PhoneKind)),
            tz=draw(st.sampled_from((home, home, None))),
            owner=draw(st.sampled_from(owners)),
        )
        for n in range(draw(st.integers(1, 2)))
    )


@st.composite
def emails(draw: st.DrawFn) -> tuple[Email, ...]:
    if not draw(st.booleans()):
        return ()
    procedure = draw(st.sampled_from(RegfProcedure))
    kind = draw(st.sampled_from((EmailKind.PERSONAL, EmailKind.PERSONAL, EmailKind.EMPLOYER)))
    return (Email(id="e1", kind=kind, regf_procedure=procedure),)


@st.composite
def borrowers(draw: st.DrawFn, country: Country) -> Borrower:
    if country is Country.US:
        state = draw(st.sampled_from(sorted(US_STATE_TZ)))
        zones = US_STATE_TZ[state]
        res_tz = draw(st.sampled_from((*zones, *zones, *zones, None)))
        confirmed = draw(st.sampled_from((None,) * 5 + US_ZONES))
        return Borrower(
            residence=Residence(country=country, state=state, tz=res_tz),
            confirmed_location_tz=confirmed,
            phones=draw(us_phones(res_tz or zones[0])),
            emails=draw(emails()),
        )
    home = PRIMARY[country]
    owners = (
        (Owner.BORROWER,) * 4 + (Owner.FAMILY_OTHER,)
        if country is Country.UK
        else (Owner.BORROWER,) * 4 + (Owner.CO_BORROWER, Owner.GUARANTOR, Owner.EMERGENCY_CONTACT)
    )
    return Borrower(
        residence=Residence(country=country, tz=home),
        phones=draw(other_phones(home, owners)),
        emails=draw(emails()),
    )


@st.composite
def instants(draw: st.DrawFn, country: Country, borrower: Borrower) -> datetime:
    """Whole minutes in 2026, biased to DST days, Spring Festival, midnight and window edges."""
    day = draw(
        st.one_of(
            st.sampled_from(SPECIAL_DATES[country]),
            st.sampled_from(SPECIAL_DATES[country]).map(lambda d: d + timedelta(days=1)),
            st.dates(date(2026, 1, 1), date(2026, 12, 31)),
        )
    )
    clock = draw(
        st.one_of(
            st.sampled_from(EDGES),
            st.integers(0, 24 * 60 - 1).map(lambda m: time(m // 60, m % 60)),
        )
    )
    zone = draw(st.sampled_from((primary_name(borrower),) * 3 + candidate_zones(borrower)))
    fold = draw(st.integers(0, 1))
    local = datetime.combine(day, clock).replace(tzinfo=ZoneInfo(zone), fold=fold)
    return local.astimezone(UTC)


@st.composite
def designated_windows(draw: st.DrawFn) -> tuple[InconvenientWindow, ...]:
    out = []
    for _ in range(draw(st.sampled_from((0, 0, 0, 1, 1, 2)))):
        start, end = draw(st.sampled_from(DESIGNATED))
        channels = draw(
            st.one_of(
                st.none(),
                st.frozensets(st.sampled_from(Channel), min_size=1, max_size=2),
            )
        )
        out.append(InconvenientWindow(channels=channels, start=start, end=end))
    return tuple(out)


STATIC_FLAGS = st.sampled_from(
    (
        {"cease_written": True},
        {"attorney_represented": True},
        {"medium_opt_outs": frozenset({Channel.CALL})},
        {"address_opt_outs": frozenset({"sms:m1", "call:m2"})},
        {"bankruptcy_filed": True},
        {"breathing_space": True},
        {"dispute_any_form": True},
        {"hardship": True},
        {"employer_prohibits": True},
        {"tcpa_revoked": frozenset({"m1"})},
    )
)


@st.composite
def flags(draw: st.DrawFn, country: Country, p_date: date) -> Flags:
    extra: dict[str, object] = dict(draw(STATIC_FLAGS)) if draw(st.integers(0, 4)) == 4 else {}
    if country is Country.US and draw(st.integers(0, 5)) == 5:
        given_on = p_date - timedelta(days=draw(st.integers(0, 9)))
        to = draw(st.sampled_from(("collector", "collector", "creditor")))
        extra["direct_consents"] = (DirectConsent(given_on=given_on, given_to=to),)
    if country is Country.CN and draw(st.integers(0, 3)) == 3:
        pay_by = p_date + timedelta(days=draw(st.integers(-2, 3)))
        extra["promise_to_pay"] = PromiseToPay(recorded_on=p_date - DAY * 3, pay_by=pay_by)
    if country is Country.CN and draw(st.integers(0, 2)) == 2:
        start = datetime.combine(
            p_date + timedelta(days=draw(st.integers(-1, 1))),
            draw(st.sampled_from((time(7, 0), time(7, 45), time(21, 30), time(22, 0)))),
        )
        length = timedelta(minutes=draw(st.sampled_from((30, 60, 90, 180))))
        slot = CallbackRequest(start=start, end=start + length, recorded=draw(st.booleans()))
        extra["callback_requests"] = (slot,)
    return Flags(inconvenient_windows=draw(designated_windows()), **extra)  # type: ignore[arg-type]


@st.composite
def channel_and_target(draw: st.DrawFn, borrower: Borrower) -> tuple[Channel, str]:
    """A channel with a consistent target: phones for call/sms/voicemail, e-mail for e-mail."""
    channel = draw(
        st.sampled_from((Channel.CALL,) * 3 + (Channel.VOICEMAIL, Channel.SMS, Channel.EMAIL))
    )
    if channel is Channel.EMAIL and borrower.emails:
        return channel, borrower.emails[0].id
    if channel is Channel.EMAIL:
        channel = Channel.SMS
    return channel, draw(st.sampled_from([p.id for p in borrower.phones]))


@st.composite
def events(draw: st.DrawFn, country: Country, borrower: Borrower, at: datetime) -> Event:
    channel, to = draw(channel_and_target(borrower))
    outcome = {Channel.SMS: Outcome.SMS_SENT, Channel.EMAIL: Outcome.EMAIL_SENT}.get(
        channel
    ) or draw(st.sampled_from(CALL_OUTCOMES))
    initiator = (
        Initiator.CONSUMER
        if outcome is Outcome.INBOUND_CONVERSATION or draw(st.integers(0, 9)) == 9
        else Initiator.COLLECTOR
    )
    back = draw(st.one_of(st.integers(1, 10 * 24 * 60), st.integers(1, 2 * 24 * 60)))
    return Event(
        at=at - back * MINUTE,
        channel=channel,
        to=to,
        outcome=outcome,
        initiator=initiator,
        dialer=draw(st.sampled_from((Dialer.MANUAL,) * 3 + tuple(Dialer))),
        debts=draw(st.sampled_from((("D1",), ("D1",), ("D2",), ("D1", "D2")))),
        person=draw(st.sampled_from((None,) * 6 + (Owner.BORROWER, Owner.SPOUSE))),
        party=draw(
            st.sampled_from(
                (Party.SELF,) * (2 if country is Country.CN else 6) + (Party.AFFILIATE,)
            )
        ),
        purpose=draw(st.sampled_from((Purpose.COLLECTION,) * 5 + (Purpose.TRANSACTIONAL,))),
    )


@st.composite
def dense_calls(draw: st.DrawFn, borrower: Borrower, attempt: Attempt, at: datetime) -> Event:
    """A collector call in the last 7 days (or 1), mostly to the attempt's number, mostly
    counted by REGF-7IN7 (in China: mostly conversations)."""
    phones = [p.id for p in borrower.phones]
    to = attempt.to if attempt.to in phones else phones[0]
    cn = borrower.residence.country is Country.CN
    outcomes = (Outcome.CONVERSATION,) * 9 + DENSE_OUTCOMES if cn else DENSE_OUTCOMES
    return Event(
        at=at - draw(st.integers(1, draw(st.sampled_from((1, 7))) * 24 * 60)) * MINUTE,
        channel=draw(st.sampled_from((Channel.CALL,) * 4 + (Channel.VOICEMAIL,))),
        to=draw(st.sampled_from((to,) * 4 + tuple(phones))),
        outcome=draw(st.sampled_from(outcomes)),
        debts=draw(st.sampled_from((("D1",), ("D1",), ("D1", "D2"), ("D2",)))),
        party=draw(st.sampled_from((Party.SELF,) * 5 + (Party.AFFILIATE,))),
    )


@st.composite
def attempts(draw: st.DrawFn, country: Country, borrower: Borrower) -> Attempt:
    channel, to = draw(channel_and_target(borrower))
    purposes = (Purpose.COLLECTION,) * 4 + (
        (Purpose.TRANSACTIONAL, Purpose.LOCATE) if country is Country.CN else ()
    )
    return Attempt(
        channel=channel,
        to=draw(st.sampled_from((to,) * 19 + ("nobody",))),
        dialer=draw(st.sampled_from((Dialer.MANUAL,) * 4 + tuple(Dialer))),
        debts=draw(st.sampled_from((("D1",), ("D1",), ("D1", "D2")))),
        purpose=draw(st.sampled_from(purposes)),
    )


@st.composite
def cases(
    draw: st.DrawFn,
    countries: tuple[Country, ...] = tuple(Country),
    collectors: tuple[CollectorType, ...] | None = None,
    profiles: tuple[Profile, ...] = tuple(Profile),
    channels: tuple[Channel, ...] | None = None,
) -> Case:
    """A borrower, flags, one attempt and 0-15 past events in the 10 days before `at` (a
    third of the time a dense run of calls in the last 7 days, to make the caps bite)."""
    country = draw(st.sampled_from(countries))
    allowed = [c for c in COLLECTORS[country] if collectors is None or c in collectors]
    collector = draw(st.sampled_from(allowed))
    borrower = draw(borrowers(country))
    at = draw(instants(country, borrower))
    p_date = wall(at, primary_name(borrower)).date()
    attempt = draw(attempts(country, borrower))
    if channels is not None and attempt.channel not in channels:
        known = borrower.contact(attempt.to) is not None
        attempt = Attempt(
            channel=draw(st.sampled_from(channels)),
            to=borrower.phones[0].id if known else attempt.to,
            dialer=attempt.dialer,
            debts=attempt.debts,
            purpose=attempt.purpose,
        )
    if draw(st.integers(0, 2)) == 2:
        past = draw(st.lists(dense_calls(borrower, attempt, at), min_size=6, max_size=15))
    else:
        past = draw(st.lists(events(country, borrower, at), max_size=15))
    return Case(
        account=Account(borrower=borrower, flags=draw(flags(country, p_date))),
        history=tuple(sorted(past, key=lambda e: e.at)),
        attempt=attempt,
        at=at,
        collector=collector,
        profile=draw(st.sampled_from(profiles)),
    )


# ----------------------------------------------------------------------------- pinned cases


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def _phone(pid: str, tz: str) -> Phone:
    return Phone(id=pid, kind=PhoneKind.MOBILE, tz=tz, tcpa_consent=True, regf_text_ok=True)


# 2026-03-08 01:30 EST in New York (spring forward at 02:00); a Los Angeles phone keeps the
# collector out until 08:00 PDT = 15:00Z.
SPRING_FORWARD_NY_LA = Case(
    account=Account(
        borrower=Borrower(
            residence=Residence(country=Country.US, state="NY", tz="America/New_York"),
            phones=(_phone("m1", "America/Los_Angeles"),),
        )
    ),
    history=(),
    attempt=Attempt(channel=Channel.CALL, to="m1"),
    at=_utc(2026, 3, 8, 6, 30),
    collector=CollectorType.FDCPA_DEBT_COLLECTOR,
    profile=Profile.BEST_PRACTICE,
)
# 2026-11-01 (fall back) 20:29 EST in New York with a Honolulu phone (no DST), six counted
# calls in the last week (busy does not count) and a designated window wrapping midnight.
FALL_BACK_NY_HONOLULU = Case(
    account=Account(
        borrower=Borrower(
            residence=Residence(country=Country.US, state="NY", tz="America/New_York"),
            phones=(_phone("m1", "America/New_York"), _phone("m2", "Pacific/Honolulu")),
        ),
        flags=Flags(inconvenient_windows=(InconvenientWindow(start=time(22), end=time(7)),)),
    ),
    history=tuple(
        Event(at=_utc(2026, 10, 25, 15, 0) + n * DAY, channel=Channel.CALL, to="m1", outcome=o)
        for n, o in enumerate(
            (
                Outcome.BUSY,
                Outcome.NO_ANSWER,
                Outcome.VOICEMAIL_LCM,
                Outcome.NO_ANSWER,
                Outcome.ANSWERED_HANGUP,
                Outcome.NO_ANSWER,
                Outcome.NO_ANSWER,
                Outcome.BUSY,
            )
        )
    ),
    attempt=Attempt(channel=Channel.CALL, to="m1"),
    at=_utc(2026, 11, 2, 1, 29),
    collector=CollectorType.FDCPA_DEBT_COLLECTOR,
    profile=Profile.LEGAL,
)
# UK, 2026-03-29 00:30 GMT (spring forward at 01:00 GMT) with a window ending inside the gap.
SPRING_FORWARD_UK = Case(
    account=Account(
        borrower=Borrower(
            residence=Residence(country=Country.UK, tz="Europe/London"),
            phones=(_phone("m1", "Europe/London"),),
        ),
        flags=Flags(inconvenient_windows=(InconvenientWindow(start=time(0), end=time(1, 30)),)),
    ),
    history=(),
    attempt=Attempt(channel=Channel.VOICEMAIL, to="m1"),
    at=_utc(2026, 3, 29, 0, 30),
    collector=CollectorType.UK_FIRM,
    profile=Profile.LEGAL,
)
# UK fall back 2026-10-25: 02:00 BST -> 01:00 GMT. At 01:45 BST (00:45Z) a voicemail drop is
# inside the designated window [01:30, 02:30); once the clock falls back to 01:00 GMT (01:00Z)
# the wall clock is outside it again until 01:30 GMT. Earliest lawful: 01:00Z (the engine said
# 02:30Z until ee4283a).
FALL_BACK_UK = Case(
    account=Account(
        borrower=Borrower(
            residence=Residence(country=Country.UK, tz="Europe/London"),
            phones=(_phone("m1", "Europe/London"),),
        ),
        flags=Flags(inconvenient_windows=(InconvenientWindow(start=time(1, 30), end=time(2, 30)),)),
    ),
    history=(),
    attempt=Attempt(channel=Channel.VOICEMAIL, to="m1"),
    at=_utc(2026, 10, 25, 0, 45),
    collector=CollectorType.UK_FIRM,
    profile=Profile.LEGAL,
)
# CN make-up Saturday 2026-02-14 21:59 Shanghai, the day before the Spring Festival break.
CN_MAKEUP_SATURDAY = Case(
    account=Account(
        borrower=Borrower(
            residence=Residence(country=Country.CN, tz="Asia/Shanghai"),
            phones=(_phone("m1", "Asia/Shanghai"),),
        )
    ),
    history=(),
    attempt=Attempt(channel=Channel.SMS, to="m1"),
    at=_utc(2026, 2, 14, 13, 59),
    collector=CollectorType.CN_LENDER,
    profile=Profile.BEST_PRACTICE,
)

# ----------------------------------------------------------------------------- oracles


def brute_force_allowed(case: Case, until: datetime, rnd: random.Random) -> list[datetime]:
    """Instants in [at, until) at which decide() allows: every minute of the first 2 days,
    plus 300 random instants in the rest when the span is longer."""
    start = case.at + (-(case.at - datetime.min.replace(tzinfo=UTC)) % MINUTE)
    probes = []
    t = start
    while t < min(until, start + BRUTE_FORCE_SPAN):
        probes.append(t)
        t += MINUTE
    rest = until - (start + BRUTE_FORCE_SPAN)
    if rest > timedelta(0):
        seconds = int(rest.total_seconds())
        probes += [
            start + BRUTE_FORCE_SPAN + timedelta(seconds=rnd.randrange(seconds)) for _ in range(300)
        ]
    return [p for p in probes if isinstance(case.decide(p), core.Allow)]


def required_spans(case: Case) -> list[tuple[str, time, time]]:
    """US/UK hour windows that must hold in every candidate zone (SCENARIOS.md 7.1-7.4)."""
    res, ch = case.account.borrower.residence, case.attempt.channel
    spans = []
    if case.country is Country.UK and ch in {Channel.CALL, Channel.SMS, Channel.EMAIL}:
        spans.append(("UK-QH", time(8), time(21)))
    if case.country is not Country.US:
        return spans
    if case.collector is CollectorType.FDCPA_DEBT_COLLECTOR:
        spans.append(("FED-QH", time(8), time(21)))
    if res.state == "MA" and ch in {Channel.CALL, Channel.SMS}:
        spans.append(("MA-QH", time(8), time(21)))
    if case.profile is Profile.BEST_PRACTICE and ch is Channel.CALL:
        spans.append(("BP-CALL-LAST-DIAL", time(8), time(20, 30)))
    if case.profile is Profile.BEST_PRACTICE and ch is Channel.SMS:
        spans.append(("BP-SMS-WINDOW", time(9), time(20)))
    return spans


def in_designated(case: Case, t: datetime) -> bool:
    """Inside a borrower-designated window that names the attempt's channel (local P)."""
    now = wall(t, primary_name(case.account.borrower)).time()
    for w in case.account.flags.inconvenient_windows:
        if w.channels is not None and case.attempt.channel not in w.channels:
            continue
        if (w.start <= now < w.end) if w.start < w.end else (now >= w.start or now < w.end):
            return True
    return False


def callback_covers(case: Case, t: datetime) -> bool:
    """A human call inside a recorded callback slot (local P)."""
    att = case.attempt
    if att.channel is not Channel.CALL or att.dialer is not Dialer.MANUAL:
        return False
    local = wall(t, "Asia/Shanghai")
    return any(
        s.recorded and s.start <= local < s.end for s in case.account.flags.callback_requests
    )


def regf_counted_calls(case: Case, debt: str) -> int | None:
    """REGF-7IN7 count for the attempt's person and `debt` over P-dates [D-6, D], or None when
    a direct consent to the collector exempts the attempt's date (SCENARIOS.md 6, 7.1)."""
    b, p = case.account.borrower, primary_name(case.account.borrower)
    person = person_of(b, case.attempt.to, case.attempt.person)
    today = wall(case.at, p).date()

    def covered(who: Owner, day: date) -> bool:
        return any(
            c.given_to == "collector"
            and c.person is who
            and (c.debts is None or debt in c.debts)
            and c.given_on <= day <= c.given_on + timedelta(days=6)
            for c in case.account.flags.direct_consents
        )

    if covered(person, today):
        return None
    count = 0
    for e in case.history:
        day = wall(e.at, p).date()
        if (
            e.channel in CALLS
            and e.outcome in REGF_COUNTED
            and e.initiator is Initiator.COLLECTOR
            and e.party is Party.SELF
            and person_of(b, e.to, e.person) is person
            and debt in e.debts
            and today - timedelta(days=6) <= day <= today
            and not covered(person, day)
        ):
            count += 1
    return count


# ----------------------------------------------------------------------------- properties

FAST = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(case=cases())
@example(case=SPRING_FORWARD_NY_LA)
@example(case=FALL_BACK_NY_HONOLULU)
@example(case=SPRING_FORWARD_UK)
@example(case=FALL_BACK_UK)
@example(case=CN_MAKEUP_SATURDAY)
def test_defer_instant_is_allowed(case: Case) -> None:
    """A Defer's instant T lies in [at, at+60d), is a whole minute, and decide(T) is Allow."""
    d = case.decide()
    if not isinstance(d, core.Defer):
        return
    assert d.reasons
    assert case.at <= d.until < case.at + HORIZON
    assert d.until.second == 0
    assert d.until.microsecond == 0
    assert isinstance(case.decide(d.until), core.Allow), d.until


@SLOW
@given(case=cases(), rnd=st.randoms(use_true_random=True))
@example(case=SPRING_FORWARD_NY_LA, rnd=random.Random(0))
@example(case=FALL_BACK_NY_HONOLULU, rnd=random.Random(0))
@example(case=SPRING_FORWARD_UK, rnd=random.Random(0))
@example(case=FALL_BACK_UK, rnd=random.Random(0))
@example(case=CN_MAKEUP_SATURDAY, rnd=random.Random(0))
def test_defer_instant_is_the_earliest(case: Case, rnd: random.Random) -> None:
    """No instant in [at, T) of a Defer(T) is allowed (brute force over minutes + samples)."""
    d = case.decide()
    event(type(d).__name__)
    if not isinstance(d, core.Defer):
        return
    event(
        "brute force: "
        + ("2 days + 300 samples" if d.until - case.at > BRUTE_FORCE_SPAN else "every minute")
    )
    earlier = brute_force_allowed(case, d.until, rnd)
    assert not earlier, f"allowed at {earlier[0]} before Defer.until {d.until}"


@settings(max_examples=10, deadline=None)
@given(
    start=st.sampled_from((time(1, 15), time(1, 30), time(1, 45))),
    end=st.sampled_from((time(2, 30), time(3, 0), time(6, 0))),
    minute=st.integers(0, 59),
)
@example(start=time(1, 30), end=time(2, 30), minute=45)
def test_defer_instant_is_the_earliest_across_fall_back(
    start: time, end: time, minute: int
) -> None:
    """A Defer from inside a designated window on a fall-back night is not later than the
    instant the wall clock falls back below the window's start."""
    at = datetime(2026, 10, 25, 0, minute, tzinfo=UTC)  # 01:mm BST, first pass
    if wall(at, "Europe/London").time() < start:
        at = datetime(2026, 10, 25, 0, 59, tzinfo=UTC)
    case = Case(
        account=Account(
            borrower=FALL_BACK_UK.account.borrower,
            flags=Flags(inconvenient_windows=(InconvenientWindow(start=start, end=end),)),
        ),
        history=(),
        attempt=FALL_BACK_UK.attempt,
        at=at,
        collector=CollectorType.UK_FIRM,
        profile=Profile.LEGAL,
    )
    d = case.decide()
    assert isinstance(d, core.Defer)
    assert not brute_force_allowed(case, d.until, random.Random(0))


@FAST
@given(case=cases())
@example(case=SPRING_FORWARD_NY_LA)
@example(case=FALL_BACK_NY_HONOLULU)
@example(case=CN_MAKEUP_SATURDAY)
def test_allow_is_inside_every_window(case: Case) -> None:
    """An Allow is inside every window that applies: US/UK hour windows in every candidate
    zone, designated windows, BP Sunday/holiday bans, and in CN [08:00, 22:00) (unless a
    recorded callback slot covers a human call), the house day-type windows and promises."""
    if not isinstance(case.decide(), core.Allow):
        return
    if case.country is Country.CN:
        check_cn_windows(case)
        return
    for rule, lo, hi in required_spans(case):
        for zone in candidate_zones(case.account.borrower):
            local = wall(case.at, zone)
            assert lo <= local.time() < hi, f"{rule}: {local:%F %H:%M} in {zone}"
    if case.country is Country.UK or case.collector is CollectorType.FDCPA_DEBT_COLLECTOR:
        assert not in_designated(case, case.at)
    p_date = wall(case.at, primary_name(case.account.borrower)).date()
    bp = case.country is Country.US and case.profile is Profile.BEST_PRACTICE
    if bp and case.attempt.channel in {Channel.CALL, Channel.SMS}:
        assert p_date.weekday() != 6, "BP-NO-SUNDAY-HOLIDAY"
        assert p_date not in US_FEDERAL_HOLIDAYS_2026, "BP-NO-SUNDAY-HOLIDAY"


def cn_house_span(day: date, channel: Channel, dialer: Dialer) -> tuple[time, time] | None:
    """CN-HOUSE-WINDOW for a 2026 P-date (SCENARIOS.md 7.6); None = closed all day."""
    text = channel in {Channel.SMS, Channel.EMAIL}
    if day in CN_SPRING_FESTIVAL_2026:
        return None  # CN-HOUSE-SPRING-FESTIVAL
    if day in CN_BREAKS_2026:
        return (time(10), time(20)) if text else None
    if day.weekday() >= 5 and day not in CN_MAKEUP_2026:
        if text:
            return time(10), time(20)
        return (time(10), time(18)) if dialer in {Dialer.MANUAL, Dialer.AUTODIALER} else None
    return (time(8), time(21)) if text else (time(9), time(20, 30))


def check_cn_windows(case: Case) -> None:
    """The China part of test_allow_is_inside_every_window."""
    att, local = case.attempt, wall(case.at, "Asia/Shanghai")
    house = case.profile is Profile.BEST_PRACTICE
    if att.purpose is Purpose.TRANSACTIONAL:
        if house:
            assert time(8) <= local.time() < time(21), f"CN-HOUSE-TRANSACTIONAL-WINDOW {local}"
        return
    callback = callback_covers(case, case.at)
    assert time(8) <= local.time() < time(22) or callback, f"CN-QUIET-HOURS {local}"
    if not house or local.year != 2026 or att.channel is Channel.VOICEMAIL:
        return
    assert local.date() not in CN_SPRING_FESTIVAL_2026, f"CN-HOUSE-SPRING-FESTIVAL {local}"
    span = cn_house_span(local.date(), att.channel, att.dialer)
    inside = span is not None and span[0] <= local.time() < span[1]
    assert inside or (callback and time(8) <= local.time() < time(22)), f"CN-HOUSE-WINDOW {local}"
    promise = case.account.flags.promise_to_pay
    if promise is not None and att.purpose is Purpose.COLLECTION:
        on_due = local.date() == promise.pay_by and att.channel is Channel.SMS
        assert local.date() > promise.pay_by or (on_due and local.time() >= time(9)), "PTP"


@FAST
@given(
    case=cases(
        countries=(Country.US,),
        collectors=(CollectorType.FDCPA_DEBT_COLLECTOR,),
        channels=(Channel.CALL, Channel.VOICEMAIL),
    )
)
@example(case=FALL_BACK_NY_HONOLULU)
def test_allow_never_exceeds_regf_7in7(case: Case) -> None:
    """An Allowed call by an FDCPA collector finds at most 6 REGF-7IN7-counted calls with the
    same person about each of its debts on P-dates [D-6, D]; a Defer names REGF-7IN7 exactly
    when some debt already has 7."""
    d = case.decide()
    counts = [regf_counted_calls(case, debt) for debt in case.attempt.debts]
    over = any(n is not None and n >= 7 for n in counts)
    if isinstance(d, core.Allow):
        assert not over, counts
    if isinstance(d, core.Defer):
        assert ("REGF-7IN7" in d.reasons) == over, (counts, d.reasons)


def counted(
    case: Case,
    *,
    channels: frozenset[Channel],
    parties: frozenset[Party],
    purposes: frozenset[Purpose] = frozenset(Purpose),
    outcomes: frozenset[Outcome] | None = None,
    same_number: bool = False,
) -> list[Event]:
    """Outbound events with the attempt's person (or number) a rule of SCENARIOS.md 7 counts."""
    b, att = case.account.borrower, case.attempt
    person = person_of(b, att.to, att.person)
    return [
        e
        for e in case.history
        if e.channel in channels
        and e.initiator is Initiator.COLLECTOR
        and e.party in parties
        and e.purpose in purposes
        and (outcomes is None or e.outcome in outcomes)
        and (e.to == att.to if same_number else person_of(b, e.to, e.person) is person)
    ]


def house_failures(case: Case) -> set[str]:
    """The per-day and minimum-gap call rules that fail at `at` (SCENARIOS.md 7.4-7.6)."""
    att, p = case.attempt, primary_name(case.account.borrower)
    today = wall(case.at, p).date()
    on_today = [e for e in case.history if wall(e.at, p).date() == today]
    house = case.profile is Profile.BEST_PRACTICE
    failing = set()
    if case.country is Country.US and house:
        view = replace(case, history=tuple(on_today))
        if len(counted(view, channels=CALLS, parties=frozenset({Party.SELF}))) >= 2:
            failing.add("BP-CALLS-PER-DAY")
        if att.channel is Channel.CALL and any(
            case.at - e.at < timedelta(minutes=240)
            for e in counted(
                case,
                channels=frozenset({Channel.CALL}),
                parties=frozenset({Party.SELF}),
                same_number=True,
            )
        ):
            failing.add("BP-MIN-GAP-SAME-NUMBER")
    if case.country is Country.CN and att.purpose is not Purpose.TRANSACTIONAL:
        cn = {
            "parties": frozenset(Party),
            "purposes": frozenset({Purpose.COLLECTION, Purpose.LOCATE}),
        }
        view = replace(case, history=tuple(on_today))
        talks = counted(view, channels=CALLS, outcomes=frozenset({Outcome.CONVERSATION}), **cn)
        if len(talks) >= 3:
            failing.add("CN-CONNECTED-CALLS-3PD")
        recent = counted(case, channels=frozenset({Channel.CALL}), **cn)
        if (
            house
            and att.channel is Channel.CALL
            and any(case.at - e.at < timedelta(minutes=120) for e in recent)
        ):
            failing.add("CN-HOUSE-MIN-GAP")
    return failing


@FAST
@given(
    case=cases(
        countries=(Country.US, Country.CN),
        channels=(Channel.CALL, Channel.CALL, Channel.VOICEMAIL),
    )
)
def test_allow_never_exceeds_daily_caps_or_gaps(case: Case) -> None:
    """An Allowed call breaks none of BP-CALLS-PER-DAY, BP-MIN-GAP-SAME-NUMBER,
    CN-CONNECTED-CALLS-3PD and CN-HOUSE-MIN-GAP; a Defer names exactly those of them that fail."""
    d = case.decide()
    failing = house_failures(case)
    if isinstance(d, core.Allow):
        assert not failing
    if isinstance(d, core.Defer):
        named = set(d.reasons) & {
            "BP-CALLS-PER-DAY",
            "BP-MIN-GAP-SAME-NUMBER",
            "CN-CONNECTED-CALLS-3PD",
            "CN-HOUSE-MIN-GAP",
        }
        assert named == failing, d.reasons


OTHER_HOURS = (1, 5, 13, 24 * 3 + 7, 24 * 20)


@FAST
@given(case=cases())
def test_block_is_time_independent(case: Case) -> None:
    """A static Block at `at` is the same Block (same reasons) hours and days later, and a
    decision that is not a static Block never becomes one at another time."""
    d = case.decide()
    static_block = isinstance(d, core.Block) and core.NO_SLOT not in d.reasons
    for k in OTHER_HOURS:
        later = case.decide(case.at + timedelta(hours=k))
        if static_block:
            assert isinstance(later, core.Block)
            assert later.reasons == d.reasons, k
        else:
            assert not isinstance(later, core.Block) or core.NO_SLOT in later.reasons, k


@FAST
@given(case=cases(), rnd=st.randoms(use_true_random=True))
def test_decide_is_deterministic_and_pure(case: Case, rnd: random.Random) -> None:
    """The same inputs give equal decisions, again, with a fresh policy, and whatever the
    order of the history."""
    first = case.decide()
    assert case.decide() == first
    fresh = core.Policy(
        packs=PACKS,
        collector=Collector(type=case.collector),
        profile=case.profile,
        calendars=Calendars(),
    )
    assert core.decide(case.account, case.history, case.attempt, case.at, fresh) == first
    as_text = core.Policy(
        packs=PACKS,
        collector=Collector(type=case.collector),
        profile=case.profile.value,  # type: ignore[arg-type]
        calendars=Calendars(),
    )
    assert core.decide(case.account, case.history, case.attempt, case.at, as_text) == first
    shuffled = list(case.history)
    rnd.shuffle(shuffled)
    policy = policy_for(case.collector, case.profile)
    assert core.decide(case.account, shuffled, case.attempt, case.at, policy) == first


ZERO_CAPS = (
    CapRule(id="ZERO-CAP-DAYS", days=1, max=0),
    CapRule(id="ZERO-CAP-HOURS", hours=24, max=0),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), rule=st.sampled_from(ZERO_CAPS))
@example(case=SPRING_FORWARD_UK, rule=ZERO_CAPS[0])
def test_zero_cap_never_passes(case: Case, rule: CapRule) -> None:
    """A cap with max 0 never passes: every attempt to a known contact point is Block with
    NO-SLOT-WITHIN-HORIZON and the cap's ID (it raised IndexError in ee4283a)."""
    pack = Pack(id="ZERO", version="1", title="zero cap", applies_if=AppliesIf(), rules=(rule,))
    policy = core.Policy(
        packs=(pack,),
        collector=Collector(type=case.collector),
        profile=case.profile,
        calendars=Calendars(),
    )
    d = core.decide(case.account, case.history, case.attempt, case.at, policy)
    assert isinstance(d, core.Block)
    if case.account.borrower.contact(case.attempt.to) is not None:
        assert d.reasons == (core.NO_SLOT, rule.id)
