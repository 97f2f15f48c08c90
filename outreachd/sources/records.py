"""The canonical account row (one JSON object per debt) into an `AccountRecord`, or why not.

The row speaks the vocabulary of ../shared/compliance/SCENARIOS.md 2.2-2.3 (borrower, flags),
plus what a live portfolio needs: the borrower's name, phone numbers and e-mail addresses, and
the debt. docs/sources.md documents the format. Validation is strict (unknown keys, unknown
vocabulary, wrong types are errors) and stops at the first problem of a row.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import phonenumbers
import pydantic
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    StrictInt,
    StrictStr,
    model_validator,
)

from outreachd.core import model, zones
from outreachd.scenarios import EmailIn, FlagsIn, HourMinute, PhoneIn, Strict, Zone
from outreachd.scenarios import _flags as _core_flags
from outreachd.sources.base import AccountRecord, Rejected

LOCALE_BY_COUNTRY = {
    model.Country.US: "en-US",
    model.Country.UK: "en-GB",
    model.Country.CN: "zh-CN",
}
US_STATES = frozenset((
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY", "PR", "GU", "VI", "AS", "MP",
))  # fmt: skip
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")
_E164 = phonenumbers.PhoneNumberFormat.E164
_TRUSTED = {"trusted": True}  # validation context of payloads this module wrote itself
_STORED = {"stored": True}  # the same payloads, fully checked again (parse_payload)
# what a stored payload's phone zones were looked up with: its number_zones are used only when
# this is still the library that answers (a newer one's prefix data may differ)
ZONES_FROM = f"phonenumbers {phonenumbers.__version__}"


@functools.lru_cache(maxsize=1 << 16)  # a borrower's debts repeat the same numbers
def _phone_problem(number: str) -> str | None:
    """Why `number` is not a valid E.164 phone number for its region, or None."""
    if not number.startswith("+"):
        return "expected an E.164 number: +, country code, digits"
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return "not a phone number"
    if not phonenumbers.is_valid_number(parsed):
        return "not a valid phone number for its region"
    if phonenumbers.format_number(parsed, _E164) != number:
        return "not in E.164 form (+, country code, digits only)"
    return None


def _e164(number: str, info: pydantic.ValidationInfo) -> str:
    if info.context is _TRUSTED:  # validated when it was stored (a ledger payload)
        return number
    problem = _phone_problem(number)  # the number itself is never echoed (it is personal data)
    if problem:
        raise ValueError(problem)
    return number


def _derived(value: object, info: pydantic.ValidationInfo) -> object:
    """A value outreachd derives and stores with the row (a payload's looked-up phone zones):
    never an input."""
    if value is not None and info.context is not _TRUSTED and info.context is not _STORED:
        raise ValueError("derived by outreachd, not an input")
    return value


def _email(address: str) -> str:
    if not _EMAIL.match(address):
        raise ValueError("not an e-mail address")
    return address


def _us_state(code: str) -> str:
    if code not in US_STATES:
        raise ValueError(f"not a US state or territory code: {code!r}")
    return code


def _money(value: object) -> Decimal:
    """A decimal string or a JSON number >= 0 as an exact Decimal (floats go through str)."""
    if isinstance(value, str):
        if not _AMOUNT.match(value):
            raise ValueError("expected a decimal amount such as 1280.50")
        amount = Decimal(value)
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        amount = Decimal(str(value))
    else:
        raise ValueError("expected a decimal string or a number")
    if not amount.is_finite():
        raise ValueError("expected a finite amount")
    if amount < 0:
        raise ValueError("must be >= 0")
    return amount.copy_abs()  # no "-0"


NonEmpty = Annotated[StrictStr, Field(min_length=1, max_length=200)]
UsState = Annotated[StrictStr, AfterValidator(_us_state)]
PhoneNumber = Annotated[StrictStr, AfterValidator(_e164)]
EmailAddress = Annotated[StrictStr, AfterValidator(_email)]
Money = Annotated[
    Decimal, BeforeValidator(_money), PlainSerializer(lambda d: format(d, "f"), return_type=str)
]
Locale = Literal["en-US", "en-GB", "zh-CN"]
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: object) -> object:
    """A calendar date written YYYY-MM-DD (not a number: pydantic would read one as a Unix
    timestamp)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("expected a date written YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class NameIn(Strict):
    given: StrictStr = ""
    family: StrictStr = ""

    @model_validator(mode="after")
    def _some_name(self) -> NameIn:
        if not (self.given or self.family):
            raise ValueError("given or family name required")
        return self


Derived = AfterValidator(_derived)


class PhoneRowIn(PhoneIn):
    """A scenario phone that also carries its (valid) number; a stored payload also carries
    the zones its number indicates (looked up when the row was stored)."""

    id: NonEmpty
    number: PhoneNumber
    number_zones: Annotated[tuple[Zone, ...] | None, Derived] = None


class EmailRowIn(EmailIn):
    """A scenario e-mail contact that also carries its address."""

    id: NonEmpty
    address: EmailAddress


class ResidenceRowIn(Strict):
    country: model.Country
    tz: Zone | None = None
    state: UsState | None = None
    city: NonEmpty | None = None
    postal_code: Annotated[StrictStr, Field(min_length=1, max_length=16)] | None = None


class PreferencesIn(Strict):
    """What the borrower said suits them (outreachd's own, not in SCENARIOS.md): a channel,
    and hours `from`-`to` (local wall clock, both or neither, may wrap midnight)."""

    channel: model.Channel | None = None
    from_: HourMinute | None = Field(default=None, alias="from")
    to: HourMinute | None = None

    @model_validator(mode="after")
    def _hours(self) -> PreferencesIn:
        if (self.from_ is None) != (self.to is None):
            raise ValueError("give both from and to, or neither")
        if self.from_ is not None and self.from_ == self.to:
            raise ValueError("from and to are the same time (an empty window)")
        if self.channel is None and self.from_ is None:
            raise ValueError("give a channel, hours (from and to), or both")
        return self


class BorrowerRowIn(Strict):
    name: NameIn
    residence: ResidenceRowIn
    confirmed_location_tz: Zone | None = None
    other_states: tuple[UsState, ...] = ()
    phones: tuple[PhoneRowIn, ...] = ()
    emails: tuple[EmailRowIn, ...] = ()
    preferences: PreferencesIn | None = None


class DebtIn(Strict):
    creditor: NonEmpty
    balance: Money
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]
    days_past_due: Annotated[StrictInt, Field(ge=0, le=36_500)] | None = None  # as of the day read
    overdue_since: IsoDate | None = None  # the first day past due
    product: StrictStr = ""

    @model_validator(mode="after")
    def _one_age(self) -> DebtIn:
        if (self.days_past_due is None) == (self.overdue_since is None):
            raise ValueError("give days_past_due or overdue_since (exactly one)")
        return self


class RowIn(Strict):
    account_id: NonEmpty
    borrower_id: NonEmpty
    locale: Locale | None = None
    borrower: BorrowerRowIn
    debt: DebtIn
    flags: FlagsIn = FlagsIn()
    number_zones_from: Annotated[StrictStr | None, Derived] = None  # see ZONES_FROM


def _dotted(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _reason(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required"
    return str(error["msg"]).removeprefix("Value error, ")


def _consistency(b: BorrowerRowIn) -> tuple[str, str] | None:
    """The first cross-field problem of a validated borrower, as (field, reason)."""
    if b.residence.state is not None and b.residence.country is not model.Country.US:
        return "borrower.residence.state", "a state is only given for US residences"
    seen: set[str] = set()
    points: list[tuple[str, str]] = [(f"phones[{i}]", p.id) for i, p in enumerate(b.phones)]
    points += [(f"emails[{i}]", e.id) for i, e in enumerate(b.emails)]
    for where, point_id in points:
        if point_id in seen:
            return f"borrower.{where}.id", f"duplicate contact id {point_id!r}"
        seen.add(point_id)
    return None


def _wall_json(hours: dict[str, Any]) -> None:
    """A window's `from` and `to` (dumped as `HH:MM:SS`) back as written: `HH:MM`, and
    `24:00` (held as 23:59:59.999999). Absent ends stay absent."""
    for end in ("from", "to"):
        if hours[end] is not None:
            hours[end] = "24:00" if hours[end].startswith("23:59:59") else hours[end][:5]


def _flags_json(f: FlagsIn) -> dict[str, Any]:
    """The flags as JSON with every set sorted (frozensets serialise in hash order)."""
    flags = f.model_dump(mode="json", by_alias=True)
    for key in ("medium_opt_outs", "address_opt_outs", "tcpa_revoked"):
        flags[key] = sorted(flags[key])
    for window in flags["inconvenient_windows"]:
        if window["channels"] is not None:
            window["channels"] = sorted(window["channels"])
        _wall_json(window)
    for consent in flags["direct_consents"]:
        if consent["debts"] is not None:
            consent["debts"] = sorted(consent["debts"])
    return flags


_NO_FLAGS = FlagsIn()  # most rows: computed once
_NO_FLAGS_JSON = _flags_json(_NO_FLAGS)
_NO_FLAGS_CORE = _core_flags(_NO_FLAGS)


def _canonical(m: RowIn, locale: str, since: date) -> dict[str, Any]:
    """The row as stored: the debt's age as the date it fell due (stable from day to day,
    unlike days_past_due, so a row that only aged is not a changed row)."""
    canonical = m.model_dump(
        mode="json", by_alias=True, exclude={"flags": True, "debt": {"days_past_due"}}
    )
    canonical["debt"]["overdue_since"] = since.isoformat()
    prefs = canonical["borrower"].get("preferences")
    if prefs is None:
        canonical["borrower"].pop("preferences", None)
    else:
        _wall_json(prefs)
    canonical["locale"] = locale
    for phone in canonical["borrower"]["phones"]:  # zones.phone_zones reads the number only
        number = phone["number"]  # when no zone is stated: looked up once, here
        phone["number_zones"] = None if phone["tz"] else list(zones.number_zones(number))
    canonical["number_zones_from"] = ZONES_FROM
    canonical["flags"] = _NO_FLAGS_JSON if m.flags == _NO_FLAGS else _flags_json(m.flags)
    return canonical


def _borrower(b: BorrowerRowIn, looked_up: dict[str, Any]) -> model.Borrower:
    """The borrower; `looked_up`: the zones of phones' numbers, by phone id, where they are
    known (the rest are looked up when needed). Fields are copied by name, not through
    model_dump (several times slower; this runs for every plan the dispatcher decides):
    tests/unit/test_sources.py checks that every field of the rows is copied."""
    r, prefs = b.residence, b.preferences
    return model.Borrower(
        residence=model.Residence(
            country=r.country, tz=r.tz, state=r.state, city=r.city, postal_code=r.postal_code
        ),
        confirmed_location_tz=b.confirmed_location_tz,
        other_states=b.other_states,
        phones=tuple(_phone(p, looked_up.get(p.id)) for p in b.phones),
        emails=tuple(_email_point(e) for e in b.emails),
        preferences=None
        if prefs is None
        else model.Preferences(channel=prefs.channel, start=prefs.from_, end=prefs.to),
    )


def _email_point(e: EmailRowIn) -> model.Email:
    return model.Email(
        id=e.id, kind=e.kind, address=e.address, owner=e.owner,
        regf_procedure=e.regf_procedure, nyc_written_consent=e.nyc_written_consent,
    )  # fmt: skip


def _phone(p: PhoneRowIn, number_zones: Iterable[str] | None) -> model.Phone:
    return model.Phone(
        id=p.id, kind=p.kind, tz=p.tz, number=p.number, owner=p.owner,
        tcpa_consent=p.tcpa_consent, rnd_reassigned=p.rnd == "yes", regf_text_ok=p.regf_text_ok,
        nyc_written_consent=p.nyc_written_consent,
        number_zones=None if number_zones is None else tuple(number_zones),
    )  # fmt: skip


def _record(m: RowIn, row: int, today: date | None, payload: str | None = None) -> AccountRecord:
    """The record of a validated row read on the (UTC) day `today`; `payload` is its
    canonical JSON when already known."""
    locale = m.locale or LOCALE_BY_COUNTRY[m.borrower.residence.country]
    d = m.debt
    since = d.overdue_since
    if since is None:
        if today is None:  # a stored payload always has overdue_since
            raise ValueError("invalid payload: debt.overdue_since: required")
        since = today - timedelta(days=d.days_past_due or 0)
    looked_up: dict[str, Any] = {}  # phone id -> the zones its number indicates, where known
    if payload is None:
        canonical = _canonical(m, locale, since)
        looked_up = {p["id"]: p["number_zones"] for p in canonical["borrower"]["phones"]}
        payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    elif m.number_zones_from == ZONES_FROM:  # else: stored by another phonenumbers
        looked_up = {p.id: p.number_zones for p in m.borrower.phones}
    return AccountRecord(
        account_id=m.account_id,
        borrower_id=m.borrower_id,
        borrower=_borrower(m.borrower, looked_up),
        debt=model.Debt(
            id=m.account_id,
            creditor=d.creditor,
            balance=d.balance,
            currency=d.currency,
            overdue_since=since,
            product=d.product,
        ),
        flags=_NO_FLAGS_CORE if m.flags == _NO_FLAGS else _core_flags(m.flags),
        locale=locale,
        given_name=m.borrower.name.given,
        family_name=m.borrower.name.family,
        payload_json=payload,
        content_hash=hashlib.sha256(payload.encode()).hexdigest(),
        row=row,
    )


def parse(obj: object, row: int, today: date) -> AccountRecord | Rejected:
    """One canonical row (a decoded JSON object) read on the (UTC) day `today` (the day its
    days_past_due are counted to) as a record, or its first problem."""
    return _parse(obj, row, today)


def _parse(
    obj: object, row: int, today: date | None, context: dict[str, bool] | None = None
) -> AccountRecord | Rejected:
    account_id = obj.get("account_id") if isinstance(obj, dict) else None
    known = account_id if isinstance(account_id, str) and account_id else None
    if not isinstance(obj, dict):
        return Rejected(row=row, account_id=None, field="", reason="expected a JSON object")
    try:
        m = RowIn.model_validate(obj, context=context)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        return Rejected(
            row=row, account_id=known, field=_dotted(first["loc"]), reason=_reason(first)
        )
    problem = _consistency(m.borrower)
    if problem:
        return Rejected(row=row, account_id=known, field=problem[0], reason=problem[1])
    return _record(m, row, today)


def load_payload(payload_json: str) -> AccountRecord:
    """A payload this module wrote into the ledger (canonical, validated when stored) back
    into its record, fast: the phone numbers are not re-checked against the numbering plan,
    and the payload is kept as it is. ValueError if it is not a valid row; `parse_payload`
    is the full check."""
    try:
        m = RowIn.model_validate_json(payload_json, context=_TRUSTED)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise ValueError(f"invalid payload: {_dotted(first['loc'])}: {_reason(first)}") from None
    problem = _consistency(m.borrower)
    if problem:
        raise ValueError(f"invalid payload: {problem[0]}: {problem[1]}")
    return _record(m, 0, None, payload_json)


def parse_payload(payload_json: str, row: int = 0) -> AccountRecord:
    """A stored canonical payload back into its record; ValueError if it is not valid."""
    try:
        obj = json.loads(payload_json, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ValueError(f"payload is not JSON: {exc}") from exc
    result = _parse(obj, row, None, _STORED)  # a source row (days_past_due): ValueError
    if isinstance(result, Rejected):
        raise ValueError(f"invalid payload: {result.field}: {result.reason}")
    return result


def unique_accounts(
    items: Iterable[AccountRecord | Rejected],
) -> Iterator[AccountRecord | Rejected]:
    """Rejects a second accepted row with an account_id already accepted in this read."""
    first_at: dict[str, int] = {}
    for item in items:
        if isinstance(item, AccountRecord):
            first = first_at.setdefault(item.account_id, item.row)
            if first != item.row:
                yield Rejected(
                    row=item.row,
                    account_id=item.account_id,
                    field="account_id",
                    reason=f"duplicate account_id (first at row {first})",
                )
                continue
        yield item
