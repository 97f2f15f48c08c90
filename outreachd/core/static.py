"""Static rules: suppressions, consent/procedure/recipient prerequisites, content lint.

Each returns True when the attempt violates it; any violation makes the decision a Block
(SCENARIOS.md 4.2). No clock: these depend only on the case and the template.
"""

from __future__ import annotations

from collections.abc import Callable

from outreachd.core.context import Ctx, cap_channel
from outreachd.core.model import (
    Attempt,
    Channel,
    ContactPoint,
    Email,
    EmailKind,
    Owner,
    Phone,
    PhoneKind,
    Purpose,
    RegfProcedure,
)
from outreachd.core.packs import (
    ContentRule,
    PrerequisiteRule,
    StaticRule,
    SuppressionRule,
    When,
)

CALLS = frozenset({Channel.CALL, Channel.VOICEMAIL})
CONSUMER = frozenset({Owner.BORROWER, Owner.SPOUSE, Owner.CO_BORROWER, Owner.GUARANTOR})
EMAIL_OK = frozenset(
    {
        RegfProcedure.CONSUMER_USED,
        RegfProcedure.CONSENTED,
        RegfProcedure.CREDITOR_NOTICE_35D,
        RegfProcedure.PRIOR_COLLECTOR,
    }
)
EMPLOYER_EMAIL_OK = frozenset({RegfProcedure.CONSUMER_USED, RegfProcedure.PRIOR_COLLECTOR})


def attempt_matches(when: When, att: Attempt, target: ContactPoint | None) -> bool:
    """True when the attempt is one the rule looks at.

    A dialer filter reads calls only: for TCPA every text is a covered call whatever sends it.
    A voicemail drop matches a rule listing `call` only for caps (see timing.py), not here.
    """
    if when.channels and att.channel not in when.channels:
        return False
    if when.purposes and att.purpose not in when.purposes:
        return False
    if when.dialers and att.channel in CALLS and att.dialer not in when.dialers:
        return False
    if when.number_kinds:
        return target is not None and target.kind in when.number_kinds
    return True


def breaks(rule: StaticRule, ctx: Ctx) -> bool:
    """True when the attempt breaks `rule`, whose `when` matches it (`attempt_matches`: the
    decision keeps, per attempt shape, only the static rules that look at it)."""
    if isinstance(rule, SuppressionRule):
        return _suppressed(rule, ctx)
    if isinstance(rule, PrerequisiteRule):
        if ctx.attempt.template.template_class in rule.allow_template_classes:
            return False
        return _CHECKS[rule.check](rule, ctx)
    return _content_fails(rule, ctx)


def _suppressed(rule: SuppressionRule, ctx: Ctx) -> bool:
    flags = ctx.account.flags
    if not getattr(flags, rule.flag):
        return False
    if ctx.attempt.template.template_class in rule.allow_template_classes:
        return False
    att = ctx.attempt
    match rule.blocks:
        case "all":
            return True
        case "listed_channels":
            return cap_channel(att.channel) in {cap_channel(c) for c in flags.medium_opt_outs}
        case "listed_addresses":
            keys = {f"{att.channel}:{att.to}", f"{cap_channel(att.channel)}:{att.to}"}
            return bool(keys & flags.address_opt_outs)
        case "work_contacts":
            return _is_work(ctx)
        case "consumer":
            return ctx.person in CONSUMER


def _is_work(ctx: Ctx) -> bool:
    target = ctx.target
    if isinstance(target, Phone):
        return target.kind is PhoneKind.WORK
    return isinstance(target, Email) and target.kind is EmailKind.EMPLOYER


def _phone(ctx: Ctx) -> Phone | None:
    return ctx.target if isinstance(ctx.target, Phone) else None


def _email(ctx: Ctx) -> Email | None:
    return ctx.target if isinstance(ctx.target, Email) else None


def _tcpa_consent(rule: PrerequisiteRule, ctx: Ctx) -> bool:
    """47 USC 227(b)(1)(A)(iii): covered calls and texts to a mobile need prior express consent."""
    phone = _phone(ctx)
    return phone is not None and not phone.tcpa_consent


def _tcpa_reassigned(rule: PrerequisiteRule, ctx: Ctx) -> bool:
    """47 CFR 64.1200(m): RND says the number was disconnected since consent."""
    phone = _phone(ctx)
    return phone is not None and phone.rnd_reassigned


def _tcpa_revoked(rule: PrerequisiteRule, ctx: Ctx) -> bool:
    """47 CFR 64.1200(a)(10): consent revoked for this number (or for all)."""
    revoked = ctx.account.flags.tcpa_revoked
    return "all" in revoked or ctx.attempt.to in revoked


def _email_procedure(rule: PrerequisiteRule, ctx: Ctx) -> bool:
    """12 CFR 1006.6(d)(3)-(4): e-mail only to an address that qualifies."""
    email = _email(ctx)
    return email is not None and email.regf_procedure not in EMAIL_OK


def _employer_email_procedure(rule: PrerequisiteRule, ctx: Ctx) -> bool:
    """12 CFR 1006.22(f)(3): employer e-mail only if the consumer used it or a prior collector."""
    email = _email(ctx)
    return (
        email is not None
        and email.kind is EmailKind.EMPLOYER
        and email.regf_procedure not in EMPLOYER_EMAIL_OK
    )


def _sms_procedure(rule: PrerequisiteRule, ctx: Ctx) -> bool:
    """12 CFR 1006.6(d)(5): texts only to a number that meets the text procedure."""
    phone = _phone(ctx)
    return phone is not None and not phone.regf_text_ok


def _written_e_consent(rule: PrerequisiteRule, ctx: Ctx) -> bool:
    """6 RCNY 5-77 (amended): e-mail and texts need written consent."""
    target = ctx.target
    return target is not None and not target.nyc_written_consent


def _employer_email(rule: PrerequisiteRule, ctx: Ctx) -> bool:
    email = _email(ctx)
    return email is not None and email.kind is EmailKind.EMPLOYER


def _third_party(rule: PrerequisiteRule, ctx: Ctx) -> bool:
    """Only the listed owners; a locate-only contact is allowed once the debtor is lost."""
    if ctx.person in rule.allowed_owners:
        return False
    return not (ctx.account.flags.lost_contact and ctx.attempt.purpose is Purpose.LOCATE)


def _third_party_human_only(rule: PrerequisiteRule, ctx: Ctx) -> bool:
    """Anyone else may only be reached by a human on a call."""
    if ctx.person in rule.allowed_owners:
        return False
    att = ctx.attempt
    return not (att.channel is Channel.CALL and att.dialer.value == "manual")


_CHECKS: dict[str, Callable[[PrerequisiteRule, Ctx], bool]] = {
    "tcpa_consent": _tcpa_consent,
    "tcpa_reassigned": _tcpa_reassigned,
    "tcpa_revoked": _tcpa_revoked,
    "email_procedure": _email_procedure,
    "employer_email_procedure": _employer_email_procedure,
    "sms_procedure": _sms_procedure,
    "written_e_consent": _written_e_consent,
    "employer_email": _employer_email,
    "third_party": _third_party,
    "third_party_human_only": _third_party_human_only,
}


def _content_fails(rule: ContentRule, ctx: Ctx) -> bool:
    tpl = ctx.attempt.template
    if tpl.template_class in rule.exempt_template_classes:
        return False
    if rule.only_if_flag and not getattr(ctx.account.flags, rule.only_if_flag):
        return False
    if rule.only_if_collector == "ca_licensed" and not ctx.collector.ca_licensed:
        return False
    if rule.require is not None:
        return not getattr(tpl, rule.require)
    if rule.forbid is not None:
        return bool(getattr(tpl, rule.forbid))
    limit = rule.max_rendered_length
    return limit is not None and tpl.rendered_length is not None and tpl.rendered_length > limit
