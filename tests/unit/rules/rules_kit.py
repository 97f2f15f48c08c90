"""Builders shared by the rule-kind tables (a helper module, not collected by pytest).

Every expectation in the tables is computed by hand from SCENARIOS.md; this module only
turns readable rows into core values and the engine's decision into a comparable triple
(decision, defer instant as local wall clock in the primary zone P, sorted reasons).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from outreachd import rulepacks
from outreachd.core import decide as core
from outreachd.core.calendars import Calendars, CnYearOverride
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
    TemplateClass,
    TemplateMeta,
)

PACKS = rulepacks.load_packs([rulepacks.DEFAULT_RULES_DIR])  # once per test session
CALENDARS = Calendars()
CAL_2027 = Calendars(
    cn_overrides=(CnYearOverride(year=2027, published=False, lunar_new_year=date(2027, 2, 6)),)
)

NY, LA, PHX, HNL = "America/New_York", "America/Los_Angeles", "America/Phoenix", "Pacific/Honolulu"
LON, SHA = "Europe/London", "Asia/Shanghai"

FDCPA = Collector(type=CollectorType.FDCPA_DEBT_COLLECTOR)
FIRST = Collector(type=CollectorType.FIRST_PARTY_CREDITOR)
UKF = Collector(type=CollectorType.UK_FIRM)
CNL = Collector(type=CollectorType.CN_LENDER)
CA_LICENSED = Collector(type=CollectorType.FDCPA_DEBT_COLLECTOR, ca_licensed=True)

Result = tuple[str, str | None, tuple[str, ...]]


def instant(text: str, tz: str) -> datetime:
    """`YYYY-MM-DDTHH:MM[:SS]` local in `tz`, or with a trailing Z as UTC; aware UTC out."""
    if text.endswith("Z"):
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def phone(pid: str, kind: str = "mobile", tz: str = NY, **kw: Any) -> Phone:
    owner = Owner(kw.pop("owner", "borrower"))
    return Phone(id=pid, kind=PhoneKind(kind), tz=tz, owner=owner, **kw)


def email(eid: str, kind: str = "personal", proc: str = "consumer_used", **kw: Any) -> Email:
    owner = Owner(kw.pop("owner", "borrower"))
    return Email(
        id=eid, kind=EmailKind(kind), regf_procedure=RegfProcedure(proc), owner=owner, **kw
    )


def borrower(
    country: str,
    tz: str,
    *points: Phone | Email,
    state: str | None = None,
    city: str | None = None,
    confirmed: str | None = None,
    other_states: tuple[str, ...] = (),
) -> Borrower:
    return Borrower(
        residence=Residence(country=Country(country), tz=tz, state=state, city=city),
        confirmed_location_tz=confirmed,
        other_states=other_states,
        phones=tuple(p for p in points if isinstance(p, Phone)),
        emails=tuple(e for e in points if isinstance(e, Email)),
    )


def us(state: str = "NY", tz: str = NY, *extra: Phone | Email, **kw: Any) -> Borrower:
    """A US borrower with the usual contact points, all in `tz` unless `extra` adds more."""
    points = (
        phone("m1", "mobile", tz, tcpa_consent=True, regf_text_ok=True),
        phone("w1", "work", tz),
        phone("l1", "landline_home", tz),
        phone("s1", "mobile", tz, owner="spouse", tcpa_consent=True, regf_text_ok=True),
        email("e1"),
        email("e2", "employer", "none"),
        email("e3", "employer", "consumer_used"),
        *extra,
    )
    return borrower("US", tz, *points, state=state, **kw)


def uk(tz: str = LON, **kw: Any) -> Borrower:
    return borrower("UK", tz, phone("m1", "mobile", LON), email("e1"), **kw)


def cn() -> Borrower:
    return borrower(
        "CN",
        SHA,
        phone("m1", "mobile", SHA),
        phone("m2", "mobile", SHA),
        phone("k1", "mobile", SHA, owner="emergency_contact"),
        phone("g1", "mobile", SHA, owner="guarantor"),
        phone("c1", "mobile", SHA, owner="co_borrower"),
        phone("p1", "mobile", SHA, owner="spouse"),
        email("e1", proc="none"),
        email("e2", "employer", "none"),
    )


def window(start: str, end: str, *channels: str) -> InconvenientWindow:
    chans = frozenset(Channel(c) for c in channels) or None
    return InconvenientWindow(channels=chans, start=_hhmm(start), end=_hhmm(end))


def consent(given_on: str, given_to: str = "collector", **kw: Any) -> DirectConsent:
    debts = kw.pop("debts", None)
    return DirectConsent(
        given_on=date.fromisoformat(given_on),
        given_to=given_to,
        debts=frozenset(debts) if debts is not None else None,
        **kw,
    )


def ptp(recorded_on: str, pay_by: str) -> PromiseToPay:
    return PromiseToPay(
        recorded_on=date.fromisoformat(recorded_on), pay_by=date.fromisoformat(pay_by)
    )


def callback(start: str, end: str, recorded: bool = True) -> CallbackRequest:
    return CallbackRequest(
        start=datetime.fromisoformat(start), end=datetime.fromisoformat(end), recorded=recorded
    )


def _hhmm(text: str) -> Any:
    return datetime.strptime(text, "%H:%M").time()  # noqa: DTZ007 - a wall-clock time only


def ev(when: str, channel: str, to: str, outcome: str, tz: str = NY, **kw: Any) -> Event:
    """A past contact; `when` is local in `tz` (or UTC with a trailing Z)."""
    conv = {"initiator": Initiator, "dialer": Dialer, "party": Party, "purpose": Purpose}
    fields = {k: conv[k](v) if k in conv else v for k, v in kw.items()}
    out = Outcome(outcome)
    return Event(at=instant(when, tz), channel=Channel(channel), to=to, outcome=out, **fields)


def attempt(channel: str, to: str, **kw: Any) -> Attempt:
    """A candidate attempt; template facts go in `tpl` (class under the key 'cls')."""
    tpl = dict(kw.pop("tpl", {}))
    cls = TemplateClass(tpl.pop("cls", "collection"))
    fields: dict[str, Any] = {
        "channel": Channel(channel),
        "to": to,
        "template": TemplateMeta(template_class=cls, **tpl),
    }
    for key, conv in (("dialer", Dialer), ("purpose", Purpose), ("person", Owner)):
        if key in kw:
            fields[key] = conv(kw.pop(key))
    if "debts" in kw:
        fields["debts"] = tuple(kw.pop("debts"))
    assert not kw, kw
    return Attempt(**fields)


def decide(
    b: Borrower,
    att: Attempt,
    when: str,
    *,
    tz: str | None = None,
    history: tuple[Event, ...] | list[Event] = (),
    flags: Flags | None = None,
    collector: Collector = FDCPA,
    profile: str = "legal",
    enable_pending: bool = False,
    calendars: Calendars = CALENDARS,
) -> core.Decision:
    policy = core.Policy(
        packs=PACKS,
        collector=collector,
        profile=Profile(profile),  # a plain str "best_practice" would silently act as legal
        calendars=calendars,
        enable_pending=enable_pending,
    )
    zone = tz or b.confirmed_location_tz or b.residence.tz or "UTC"
    account = Account(borrower=b, flags=flags or Flags())
    return core.decide(account, tuple(history), att, instant(when, zone), policy)


def summary(d: core.Decision, b: Borrower) -> Result:
    """(decision, defer instant as local wall clock in P or None, sorted reasons)."""
    primary = ZoneInfo(b.confirmed_location_tz or b.residence.tz or "UTC")
    if isinstance(d, core.Defer):
        local = d.until.astimezone(primary).strftime("%Y-%m-%dT%H:%M")
        return "defer", local, tuple(sorted(d.reasons))
    name = "allow" if isinstance(d, core.Allow) else "block"
    return name, None, tuple(sorted(d.reasons)) if isinstance(d, core.Block) else ()


def utc(d: core.Decision) -> str | None:
    """The defer instant as `YYYY-MM-DDTHH:MMZ`, or None."""
    if isinstance(d, core.Defer):
        return d.until.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
    return None


def want(decision: str, until: str | None = None, *reasons: str) -> Result:
    return decision, until, tuple(sorted(reasons))


ALLOW = want("allow")


def flags(**kw: Any) -> Flags:
    """Flags with list-valued fields given as plain lists."""
    for key in ("medium_opt_outs",):
        if key in kw:
            kw[key] = frozenset(Channel(c) for c in kw[key])
    for key in ("address_opt_outs", "tcpa_revoked"):
        if key in kw:
            kw[key] = frozenset(kw[key])
    for key in ("inconvenient_windows", "direct_consents", "callback_requests"):
        if key in kw:
            kw[key] = tuple(kw[key])
    return Flags(**kw)


@dataclass(frozen=True, slots=True)
class Case:
    """One table row: inputs, the hand-computed Result and optionally the UTC defer instant."""

    b: Borrower
    att: Attempt
    when: str
    kw: dict[str, Any]
    expected: Result
    utc_text: str | None


def row(rid: str, b: Borrower, att: Attempt, when: str, expected: Result, **kw: Any) -> Any:
    """A table row; `utc=` also pins the defer instant in UTC, `xfail=` names an engine bug."""
    utc_text = kw.pop("utc", None)
    xfail = kw.pop("xfail", None)
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(Case(b, att, when, kw, expected, utc_text), id=rid, marks=marks)


def check(case: Case) -> None:
    """Run the row through core.decide and compare with the hand-computed expectation."""
    d = decide(case.b, case.att, case.when, **case.kw)
    got = summary(d, case.b)
    assert got == case.expected, f"got {got}, expected {case.expected}"
    if case.utc_text is not None:
        assert utc(d) == case.utc_text, f"got {utc(d)}, expected {case.utc_text}"


def evs(
    *whens: str,
    channel: str = "call",
    to: str = "m1",
    outcome: str = "no_answer",
    tz: str = NY,
    **kw: Any,
) -> list[Event]:
    """The same kind of past contact at each local time in `whens`."""
    return [ev(w, channel, to, outcome, tz, **kw) for w in whens]
