"""What to say: the template variables of one account, and the candidate options of a step."""

from __future__ import annotations

from collections.abc import Iterator, Set
from datetime import date, datetime
from decimal import Decimal

from outreachd import branches, lint, yamlio
from outreachd.config import CompanyIn, Config
from outreachd.core.model import (
    Channel,
    Dialer,
    Email,
    Flags,
    Owner,
    Phone,
    PhoneKind,
    Preferences,
    Purpose,
)
from outreachd.core.planner import Option
from outreachd.render import Message, Renderer, day_month, money
from outreachd.sources.base import AccountRecord
from outreachd.strategy import Step

SMS_KINDS = frozenset({PhoneKind.MOBILE, PhoneKind.PERSONAL})
# A call's script is spoken by text-to-speech: an artificial voice, which the TCPA treats as
# prerecorded (consent on mobiles, 3 in 30 days on residential lines; CN: no voice bot on
# weekends or holidays). Calls by a person at a desk are not outreachd's to place.
CALL_DIALER = Dialer.PRERECORDED


_OFFER = frozenset({"down_payment", "monthly_payment", "last_payment", "months"})


def variables(
    rec: AccountRecord,
    company: CompanyIn,
    flags: Flags | None = None,
    *,
    at: datetime,
    names: Set[str] | None = None,
) -> dict[str, object]:
    """Everything a template may use; amounts come from the source, never invented: the
    instalment offer's figures are computed from the balance (branches.instalments), exactly.
    `flags`: the account's flags with what the ledger learned (default: the source's); `at`:
    the instant of the message (the days past due count to it); `names`: the variables the
    template refers to (Renderer.names), when only those are wanted (the offer's figures are
    left out when it does not print them)."""
    digits = "".join(ch for ch in rec.account_id if ch.isdigit())
    debt = rec.debt
    promise = (flags or rec.flags).promise_to_pay
    offer = names is None or not _OFFER.isdisjoint(names)
    return {
        **(_offer(debt.balance, debt.currency, rec.locale) if offer else {}),
        "pay_by": day_month(promise.pay_by, rec.locale) if promise else "",
        "given_name": rec.given_name,
        "family_name": rec.family_name,
        "company": company.name,
        "callback": company.callback,
        "hotline": company.callback,
        "signature": company.signature or company.name,
        "license": company.license,
        "creditor": rec.debt.creditor,
        "amount": money(debt.balance, debt.currency, rec.locale),
        "days": rec.debt.days_past_due(at),
        "last4": digits[-4:] or rec.account_id[-4:],
    }


def _offer(balance: Decimal, currency: str, locale: str) -> dict[str, object]:
    """The instalment offer's template variables, computed exactly from the balance."""
    plan = branches.instalments(balance)
    return {
        "down_payment": money(plan.down, currency, locale),
        "monthly_payment": money(plan.monthly, currency, locale),
        "last_payment": money(plan.last, currency, locale),
        "months": plan.months,
    }


def contact_points(rec: AccountRecord, channel: Channel) -> Iterator[Phone | Email]:
    """The borrower's own contact points that can carry `channel`, in source order."""
    b = rec.borrower
    if channel is Channel.EMAIL:
        yield from (e for e in b.emails if e.owner is Owner.BORROWER and e.address)
    elif channel is Channel.SMS:
        yield from (p for p in b.phones if p.owner is Owner.BORROWER and p.kind in SMS_KINDS)
    elif channel is Channel.CALL:
        yield from (p for p in b.phones if p.owner is Owner.BORROWER and p.number)


def options(
    rec: AccountRecord,
    cfg: Config,
    renderer: Renderer,
    refused: Set[str] = frozenset(),
    step: Step | None = None,
    *,
    purpose: Purpose = Purpose.COLLECTION,
    flags: Flags | None = None,
    at: datetime,
) -> Iterator[tuple[Option, Message]]:
    """The step's candidates in preference order, each with its rendered message; lazily, so
    a channel after the first allowed one is never rendered. Contact points in `refused` (a
    provider refused them for good) are never offered. `step`: by default the first step of
    the stage the account is in at `at` (none: no candidates)."""
    company = cfg.company.get(rec.borrower.residence.country)
    if step is None:
        position = cfg.strategy.position("", 0, rec.debt.days_past_due(at))
        step = position.step if position is not None else None
    if company is None or step is None:
        return
    for channel in _preferred_first(step.channels, rec.borrower.preferences):
        template_id = renderer.template_id(rec.locale, channel, step.template)
        points = [p for p in contact_points(rec, channel) if p.id not in refused]
        if not points or not renderer.exists(template_id):
            continue
        names = renderer.names(template_id)
        message = renderer.render(template_id, variables(rec, company, flags, at=at, names=names))
        for point in points:
            dialer = CALL_DIALER if channel is Channel.CALL else Dialer.MANUAL
            option = Option(
                channel=channel, contact_id=point.id, template=template_id, meta=message.meta,
                dialer=dialer, purpose=purpose,
            )  # fmt: skip
            yield option, message


def _preferred_first(
    channels: tuple[Channel, ...], prefs: Preferences | None
) -> tuple[Channel, ...]:
    """The step's channels with the borrower's preferred one first, when the step has it (the
    planner waits for it where it is lawful; a step's channels are the operator's to set)."""
    if prefs is None or prefs.channel not in channels:
        return channels
    return (prefs.channel, *(c for c in channels if c is not prefs.channel))


def address(rec: AccountRecord, contact_id: str) -> str:
    """The E.164 number or e-mail address of a contact point (never logged unmasked)."""
    point = rec.borrower.contact(contact_id)
    if isinstance(point, Phone):
        return point.number or ""
    return point.address or "" if isinstance(point, Email) else ""


def opt_out_confirmation(
    rec: AccountRecord, cfg: Config, renderer: Renderer, at: datetime
) -> Message | None:
    """The one SMS that confirms an SMS opt-out (12 CFR 1006.14(h): nothing but the
    confirmation), in the borrower's language and with the company's name or 【signature】;
    None without a company for the country or a template for the locale."""
    company = cfg.company.get(rec.borrower.residence.country)
    template_id = renderer.template_id(rec.locale, Channel.SMS, lint.CONFIRMATION)
    if company is None or not renderer.exists(template_id):
        return None
    return renderer.render(template_id, variables(rec, company, at=at))


LOCALES = {"US": "en-US", "UK": "en-GB", "CN": "zh-CN"}
_SAMPLE = {"given_name": "Maximiliano", "family_name": "Oyelaran-Whitfield"}


def check_templates(cfg: Config, renderer: Renderer) -> list[str]:
    """Problems found before the daemon is ready: a collector country without a company, a
    template the strategy needs that is missing, and (lint.py) every template of the
    collectors' locales rendered with worst-case values: a missing variable, and what the
    content lint refuses."""
    problems = []
    samples: dict[str, dict[str, object]] = {}
    for country in cfg.collectors:
        company = cfg.company.get(country)
        if company is None:
            problems.append(f"{cfg.file}: company.{country}: required for collectors.{country}")
            continue
        locale = LOCALES[country.value]
        samples[locale] = {**_SAMPLE, **_worst_case(company, locale)}
        problems += _missing(cfg, renderer, locale)
    try:
        spec = lint.load(cfg.lint or lint.DEFAULT)
    except yamlio.YamlError as exc:
        return [*problems, str(exc)]
    return problems + lint.check(renderer, spec, samples)


def _worst_case(company: CompanyIn, locale: str) -> dict[str, object]:
    """Long but plausible values, so a length check sees the worst case."""
    currency = {"en-US": "USD", "en-GB": "GBP", "zh-CN": "CNY"}[locale]
    return {
        **_offer(Decimal("123456.78"), currency, locale),
        "pay_by": day_month(date(2026, 12, 28), locale),
        "company": company.name,
        "callback": company.callback,
        "hotline": company.callback,
        "signature": company.signature or company.name,
        "license": company.license,
        "creditor": company.name,
        "amount": money("123456.78", currency, locale),
        "days": 120,
        "last4": "1234",
    }


def _missing(cfg: Config, renderer: Renderer, locale: str) -> list[str]:
    """The templates the strategy, the branches and (with webhooks) the answer to STOP need
    that do not exist for `locale`."""
    out = []
    needed = cfg.strategy.templates() | branches.TEMPLATES
    for channel, template in sorted(
        needed | ({(Channel.SMS, lint.CONFIRMATION)} if cfg.webhooks else set())
    ):
        template_id = renderer.template_id(locale, channel, template)
        if not renderer.exists(template_id):
            why = f"missing (a strategy step sends {template} by {channel.value})"
            if template == lint.CONFIRMATION:
                why = "missing (the answer to an SMS STOP from a known borrower)"
            out.append(f"{renderer.directory / template_id}.txt.j2: {why}")
    return out
