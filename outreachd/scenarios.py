"""Conformance scenario files (`outreachd-scenarios/v1`, SCENARIOS.md) into core values.

The reader is strict: unknown keys, unknown vocabulary, missing fields, dangling contact ids,
a channel sent to the wrong kind of contact point and duplicate ids are errors located as
`file:line:col`, all of them reported in one run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from outreachd import yamlio
from outreachd.calendar_overrides import CnOverrideIn
from outreachd.core import localtime, model
from outreachd.core.calendars import CnYearOverride

_DT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?$")
_HM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _zone(name: str) -> str:
    if name == "UTC":
        return name
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name


def _datetime_text(text: str) -> str:
    if not _DT.match(text):
        raise ValueError(f"expected YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM], got {text!r}")
    datetime.fromisoformat(text.replace("Z", "+00:00"))
    return text


def _hhmm(text: object) -> time:
    if not isinstance(text, str) or not _HM.match(text):
        raise ValueError(f"expected a wall-clock time HH:MM (00:00 to 24:00), got {text!r}")
    return localtime.parse_hhmm(text)


Zone = Annotated[str, AfterValidator(_zone)]
DateTimeText = Annotated[str, AfterValidator(_datetime_text)]
HourMinute = Annotated[time, BeforeValidator(_hhmm)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PhoneIn(Strict):
    id: str
    kind: model.PhoneKind
    tz: Zone | None = None
    owner: model.Owner = model.Owner.BORROWER
    tcpa_consent: StrictBool = False
    rnd: Literal["yes", "no"] | None = None
    regf_text_ok: StrictBool = False
    nyc_written_consent: StrictBool = False


class EmailIn(Strict):
    id: str
    kind: model.EmailKind
    owner: model.Owner = model.Owner.BORROWER
    regf_procedure: model.RegfProcedure = model.RegfProcedure.NONE
    nyc_written_consent: StrictBool = False


class ResidenceIn(Strict):
    country: model.Country
    tz: Zone
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    city: Literal["NYC"] | None = None


class BorrowerIn(Strict):
    residence: ResidenceIn
    confirmed_location_tz: Zone | None = None
    other_states: tuple[Annotated[str, Field(pattern=r"^[A-Z]{2}$")], ...] = ()
    phones: tuple[PhoneIn, ...] = ()
    emails: tuple[EmailIn, ...] = ()


class WindowIn(Strict):
    channels: frozenset[model.Channel] | None = None
    from_: HourMinute = Field(alias="from")
    to: HourMinute


class ConsentIn(Strict):
    given_on: date
    given_to: Literal["collector", "creditor"]
    person: model.Owner = model.Owner.BORROWER
    debts: frozenset[str] | None = None


class PromiseIn(Strict):
    recorded_on: date
    pay_by: date


class CallbackIn(Strict):
    from_: DateTimeText = Field(alias="from")
    to: DateTimeText
    recorded: StrictBool = False


class FlagsIn(Strict):
    cease_written: StrictBool = False
    attorney_represented: StrictBool = False
    written_dispute_pending: StrictBool = False
    original_creditor_request_pending: StrictBool = False
    oral_dispute: StrictBool = False
    dispute_any_form: StrictBool = False
    bankruptcy_filed: StrictBool = False
    time_barred: StrictBool = False
    employer_prohibits: StrictBool = False
    medium_opt_outs: frozenset[model.Channel] = frozenset()
    address_opt_outs: frozenset[
        Annotated[str, Field(pattern=r"^(call|voicemail|sms|email):.+$")]
    ] = frozenset()
    tcpa_revoked: frozenset[str] = frozenset()
    inconvenient_windows: tuple[WindowIn, ...] = ()
    direct_consents: tuple[ConsentIn, ...] = ()
    breathing_space: StrictBool = False
    mental_capacity_concern: StrictBool = False
    vulnerable: StrictBool = False
    hardship: StrictBool = False
    promise_to_pay: PromiseIn | None = None
    callback_requests: tuple[CallbackIn, ...] = ()
    lost_contact: StrictBool = False
    instalment_plan_active: StrictBool = False
    complaint_open: StrictBool = False
    deceased_or_incapacitated: StrictBool = False
    litigation_started: StrictBool = False


ScenarioOutcome = Literal[
    "conversation", "inbound_conversation", "no_answer", "voicemail_lcm", "voicemail_no_message",
    "answered_hangup", "third_party_answered", "busy", "not_in_service", "network_fail",
    "sms_sent", "email_sent",
]  # fmt: skip


class EventIn(Strict):
    at: DateTimeText
    tz: Zone | None = None
    channel: model.Channel
    to: str
    outcome: ScenarioOutcome
    initiator: model.Initiator = model.Initiator.COLLECTOR
    dialer: model.Dialer = model.Dialer.MANUAL
    debts: tuple[str, ...] = ("D1",)
    person: model.Owner | None = None
    party: model.Party = model.Party.SELF
    purpose: model.Purpose = model.Purpose.COLLECTION


class TemplateIn(Strict):
    class_: model.TemplateClass = Field(default=model.TemplateClass.COLLECTION, alias="class")
    has_opt_out: StrictBool = True
    has_dc_disclosure: StrictBool = True
    lcm_only: StrictBool = True
    ca_license_number: StrictBool = True
    has_signature: StrictBool = True
    threatens_suit: StrictBool = False
    has_prohibited_terms: StrictBool = False
    rendered_length: Annotated[int, Field(ge=0)] | None = None


class AttemptIn(Strict):
    at: DateTimeText
    tz: Zone
    channel: model.Channel
    to: str
    dialer: model.Dialer = model.Dialer.MANUAL
    debts: tuple[str, ...] = ("D1",)
    person: model.Owner | None = None
    purpose: model.Purpose = model.Purpose.COLLECTION
    template: TemplateIn = TemplateIn()


class ExpectedIn(Strict):
    decision: Literal["allow", "block", "defer"]
    defer_until_local: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$")] | None = (
        None
    )
    defer_until_utc: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$")] | None = (
        None
    )
    reasons: tuple[str, ...] = ()


class CollectorIn(Strict):
    type: model.CollectorType
    ca_licensed: StrictBool = False


class OverridesIn(Strict):
    CN: tuple[CnOverrideIn, ...] = ()


class ScenarioIn(Strict):
    id: str
    title: str
    profile: model.Profile
    collector: CollectorIn
    enable_pending: StrictBool = False
    calendar_overrides: OverridesIn = OverridesIn()
    borrower: BorrowerIn
    flags: FlagsIn = FlagsIn()
    history: tuple[EventIn, ...] = ()
    attempt: AttemptIn
    expected: ExpectedIn


class ScenarioFileIn(Strict):
    schema_: Literal["outreachd-scenarios/v1"] = Field(alias="schema")
    defs: Any = None
    scenarios: Annotated[tuple[ScenarioIn, ...], Field(min_length=1)]


@dataclass(frozen=True, kw_only=True, slots=True)
class Expected:
    decision: str
    defer_until_local: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Scenario:
    """One scenario, ready for the engine."""

    id: str
    file: str
    line: int
    profile: model.Profile
    collector: model.Collector
    enable_pending: StrictBool
    cn_overrides: tuple[CnYearOverride, ...]
    account: model.Account
    history: tuple[model.Event, ...]
    attempt: model.Attempt
    at: datetime
    expected: Expected


def _instant(text: str, tz: str) -> datetime:
    """SCENARIOS.md 3.1: an offset fixes the instant; a naive time is local in `tz`."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC if tz == "UTC" else localtime.zone(tz))
    return parsed.astimezone(UTC)


def _borrower(b: BorrowerIn) -> model.Borrower:
    res = b.residence
    return model.Borrower(
        residence=model.Residence(country=res.country, tz=res.tz, state=res.state, city=res.city),
        confirmed_location_tz=b.confirmed_location_tz,
        other_states=b.other_states,
        phones=tuple(
            model.Phone(
                id=p.id,
                kind=p.kind,
                tz=p.tz,
                owner=p.owner,
                tcpa_consent=p.tcpa_consent,
                rnd_reassigned=p.rnd == "yes",
                regf_text_ok=p.regf_text_ok,
                nyc_written_consent=p.nyc_written_consent,
            )
            for p in b.phones
        ),
        emails=tuple(
            model.Email(
                id=e.id,
                kind=e.kind,
                owner=e.owner,
                regf_procedure=e.regf_procedure,
                nyc_written_consent=e.nyc_written_consent,
            )
            for e in b.emails
        ),
    )


def _naive(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def _flags(f: FlagsIn) -> model.Flags:
    simple = {
        name: getattr(f, name)
        for name in FlagsIn.model_fields
        if name
        not in ("inconvenient_windows", "direct_consents", "promise_to_pay", "callback_requests")
    }
    return model.Flags(
        **simple,
        inconvenient_windows=tuple(
            model.InconvenientWindow(channels=w.channels, start=w.from_, end=w.to)
            for w in f.inconvenient_windows
        ),
        direct_consents=tuple(
            model.DirectConsent(
                given_on=c.given_on, given_to=c.given_to, person=c.person, debts=c.debts
            )
            for c in f.direct_consents
        ),
        promise_to_pay=(
            model.PromiseToPay(
                recorded_on=f.promise_to_pay.recorded_on, pay_by=f.promise_to_pay.pay_by
            )
            if f.promise_to_pay
            else None
        ),
        callback_requests=tuple(
            model.CallbackRequest(start=_naive(c.from_), end=_naive(c.to), recorded=c.recorded)
            for c in f.callback_requests
        ),
    )


def _event(e: EventIn, primary: str) -> model.Event:
    return model.Event(
        at=_instant(e.at, e.tz or primary),
        channel=e.channel,
        to=e.to,
        outcome=model.Outcome(e.outcome),
        initiator=e.initiator,
        dialer=e.dialer,
        debts=e.debts,
        person=e.person,
        party=e.party,
        purpose=e.purpose,
    )


def _attempt(a: AttemptIn) -> model.Attempt:
    t = a.template
    return model.Attempt(
        channel=a.channel,
        to=a.to,
        dialer=a.dialer,
        debts=a.debts,
        person=a.person,
        purpose=a.purpose,
        template=model.TemplateMeta(
            template_class=t.class_,
            has_opt_out=t.has_opt_out,
            has_dc_disclosure=t.has_dc_disclosure,
            lcm_only=t.lcm_only,
            ca_license_number=t.ca_license_number,
            has_signature=t.has_signature,
            threatens_suit=t.threatens_suit,
            has_prohibited_terms=t.has_prohibited_terms,
            rendered_length=t.rendered_length,
        ),
    )


def _convert(s: ScenarioIn, file: str, line: int) -> Scenario:
    borrower = _borrower(s.borrower)
    primary = s.borrower.confirmed_location_tz or s.borrower.residence.tz
    return Scenario(
        id=s.id,
        file=file,
        line=line,
        profile=s.profile,
        collector=model.Collector(type=s.collector.type, ca_licensed=s.collector.ca_licensed),
        enable_pending=s.enable_pending,
        cn_overrides=tuple(o.to_core() for o in s.calendar_overrides.CN),
        account=model.Account(borrower=borrower, flags=_flags(s.flags)),
        history=tuple(_event(e, primary) for e in s.history),
        attempt=_attempt(s.attempt),
        at=_instant(s.attempt.at, s.attempt.tz),
        expected=Expected(
            decision=s.expected.decision,
            defer_until_local=s.expected.defer_until_local,
            reasons=s.expected.reasons,
        ),
    )


Path = tuple[str | int, ...]


def _target_problems(s: ScenarioIn, base: Path) -> list[tuple[Path, str]]:
    """Every `to` names a contact point of the borrower that can carry its channel."""
    phones = {p.id for p in s.borrower.phones}
    emails = {e.id for e in s.borrower.emails}
    out: list[tuple[Path, str]] = []
    items = [((*base, "attempt"), s.attempt.channel, s.attempt.to)]
    items += [((*base, "history", i), e.channel, e.to) for i, e in enumerate(s.history)]
    for path, channel, to in items:
        wanted = emails if channel is model.Channel.EMAIL else phones
        if to not in wanted:
            kind = "e-mail address" if channel is model.Channel.EMAIL else "phone"
            out.append(
                ((*path, "to"), f"{to!r} is not a {kind} of the borrower (channel {channel})")
            )
    return out


def _consistency(s: ScenarioIn, base: Path) -> list[tuple[Path, str]]:
    out = _target_problems(s, base)
    ids = [p.id for p in s.borrower.phones] + [e.id for e in s.borrower.emails]
    if len(ids) != len(set(ids)):
        out.append(((*base, "borrower"), "contact point ids must be unique"))
    for i, o in enumerate(s.calendar_overrides.CN):
        try:
            o.to_core()
        except ValueError as exc:
            out.append(((*base, "calendar_overrides", "CN", i), str(exc)))
    exp = s.expected
    if (exp.decision == "defer") != (exp.defer_until_local is not None):
        out.append(
            ((*base, "expected"), "defer_until_local is required for defer and only for defer")
        )
    return out


def load_file(path: str | os.PathLike[str]) -> list[Scenario]:
    """Scenarios of one file; raises YamlError listing every problem found."""
    located = yamlio.load_file(path)
    try:
        parsed = ScenarioFileIn.model_validate(located.data)
    except pydantic.ValidationError as exc:
        problems = yamlio.problems_from_validation(exc, located, model=ScenarioFileIn)
        raise yamlio.YamlError(problems) from exc
    problems = []
    out = []
    for i, s in enumerate(parsed.scenarios):
        base: Path = ("scenarios", i)
        for where, message in _consistency(s, base):
            line, col = located.where(where)
            problems.append(yamlio.Problem(located.file, line, col, where, message))
        if not problems:
            line, _ = located.where(base)
            out.append(_convert(s, located.file, line))
    if problems:
        raise yamlio.YamlError(problems)
    return out


def load_files(paths: Sequence[str | os.PathLike[str]]) -> list[Scenario]:
    """Scenarios of every file in order; ids unique across the run; all problems at once."""
    out: list[Scenario] = []
    problems: list[yamlio.Problem] = []
    for path in paths:
        try:
            out.extend(load_file(path))
        except yamlio.YamlError as exc:
            problems.extend(exc.problems)
    seen: dict[str, Scenario] = {}
    for s in out:
        if s.id in seen:
            first = seen[s.id]
            msg = f"duplicate scenario id {s.id!r} (first at {first.file}:{first.line})"
            problems.append(yamlio.Problem(s.file, s.line, 1, (), msg))
        seen.setdefault(s.id, s)
    if problems:
        raise yamlio.YamlError(problems)
    return out
