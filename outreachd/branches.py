"""Branches: what replaces the strategy's ladder while something about the account matters more
than its days past due (pure; the clock is an argument).

In order of precedence:

- **paid** (the source shows a balance of zero): one receipt (purpose transactional), then
  silence; the plan ends (`PAID`).
- **hardship** (the `hardship` flag, from the source, a reply or an operator): the ladder
  pauses; one hardship offer (deferment, or instalments computed from the balance, see
  `instalments`) is sent and a hand-off task opened for a person to negotiate; then the plan
  stays blocked (`HARDSHIP-PAUSED`) until the flag is cleared, when the ladder starts again
  from the first step of the account's stage.
- **promise to pay** (`promise_to_pay: {recorded_on, pay_by}`): one confirmation of what the
  borrower promised (transactional), then no contact before the promised day
  (`PROMISE-WAIT`); on that day one courtesy reminder; from the day after, if
  the account is still unpaid, the ladder resumes from the first step of its stage. A kept
  promise shows as a zero balance: the receipt, then silence.

- **final notice** (`final_notice`): never chosen by a rule. When a plan's strategy is complete
  and the account unpaid, a `legal_referral_review` hand-off is opened; only a person's
  approval (`outreachd handoff approve`) puts the plan on this branch, which sends the final
  notice once (the packs still decide: no suit threat on a time-barred debt) and ends.

Legal stops (cease, dispute, attorney, bankruptcy) need no branch: the rule packs block every
contact they cover, whatever the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from outreachd.core import localtime, zones
from outreachd.core.model import Channel, Flags, Purpose
from outreachd.sources.base import AccountRecord
from outreachd.strategy import Position, Stage, Step

PAID, HARDSHIP, PROMISE, FINAL = "paid", "hardship", "promise_to_pay", "final_notice"
REVIEW_HANDOFF = "legal_referral_review"  # a person decides on the final notice
OFFER_HANDOFF = "hardship_offer"  # the hand-off a hardship offer opens, one per borrower
# the plan's reasons, shown by `outreachd plan`
PAID_DONE = "PAID"
HARDSHIP_PAUSED = "HARDSHIP-PAUSED"
PROMISE_WAIT = "PROMISE-WAIT"
PROMISE_REMINDED = "PROMISE-REMINDED"
FINAL_NOTICE_SENT = "FINAL-NOTICE-SENT"

_TEXT = (Channel.SMS, Channel.EMAIL)
_PROMISE_STEPS = (
    Step(_TEXT, "promise_confirmation", wait_days=1),  # transactional, borrower-triggered
    Step(_TEXT, "promise_reminder", wait_days=1),
)
STAGES = {
    PAID: Stage(PAID, 0, None, (Step((Channel.EMAIL, Channel.SMS), "receipt", wait_days=1),)),
    # a borrower who can only be called still hears the offer (a text is preferred)
    HARDSHIP: Stage(HARDSHIP, 0, None, (Step((*_TEXT, Channel.CALL), "hardship_offer", 1),)),
    PROMISE: Stage(PROMISE, 0, None, _PROMISE_STEPS),
    # only ever entered by a person's approval (`outreachd handoff approve`), never by a rule
    FINAL: Stage(FINAL, 0, None, (Step((Channel.EMAIL, Channel.SMS), "final_notice", 1),)),
}
TEMPLATES = {(c, s.template) for st in STAGES.values() for s in st.steps for c in s.channels}

CENT = Decimal("0.01")
DOWN_SHARE = Decimal("0.10")  # the offer: 10 % down, the rest within 6 months
MONTHS = 6


@dataclass(frozen=True, slots=True)
class Branch:
    """A branch in force: the step to take now, or (no step) until when to wait, or why the
    plan pauses or ends."""

    name: str
    position: Position | None = None
    purpose: Purpose = Purpose.COLLECTION
    wait_until: datetime | None = None
    stop: str | None = None  # a reason: the plan pauses (blocked) or ends (done)
    done: bool = False


def branch(
    rec: AccountRecord, flags: Flags, stage: str, step: int, now: datetime, *, offered: bool
) -> Branch | None:
    """The branch the account is in at `now`, given the plan's (`stage`, `step`); None when
    the strategy's ladder applies. `offered`: the borrower has an open hardship-offer
    hand-off (the offer went out for one of their debts: one offer per borrower)."""
    taken = step >= 1  # a branch's single step is behind the plan when it stands past it
    if rec.debt.balance == 0:
        if stage == PAID and taken:
            return Branch(PAID, stop=PAID_DONE, done=True)
        return Branch(PAID, Position(STAGES[PAID], 0), purpose=Purpose.TRANSACTIONAL)
    if flags.hardship:
        if (stage == HARDSHIP and taken) or offered:
            return Branch(HARDSHIP, stop=HARDSHIP_PAUSED)
        return Branch(HARDSHIP, Position(STAGES[HARDSHIP], 0))
    promised = _promise(rec, flags, stage, step, now)
    if promised is not None:
        return promised
    if stage == FINAL:
        if taken:
            return Branch(FINAL, stop=FINAL_NOTICE_SENT, done=True)
        return Branch(FINAL, Position(STAGES[FINAL], 0))
    return None


def _promise(
    rec: AccountRecord, flags: Flags, stage: str, step: int, now: datetime
) -> Branch | None:
    """A promise to pay: confirm it once (transactional: the borrower asked for nothing but
    said it), wait for its day, remind once on it; after it, no branch."""
    promise = flags.promise_to_pay
    if promise is None:
        return None
    tz = localtime.zone(zones.primary_zone(rec.borrower))
    today = localtime.local_date(now, tz)
    done = step if stage == PROMISE else 0  # 1: confirmed, 2: reminded
    if today < promise.pay_by:
        if done == 0:
            confirm = Position(STAGES[PROMISE], 0)
            return Branch(PROMISE, confirm, purpose=Purpose.TRANSACTIONAL)
        pay_day = localtime.start_of_day(promise.pay_by, tz)
        return Branch(PROMISE, wait_until=pay_day, stop=PROMISE_WAIT)
    if today > promise.pay_by:
        return None
    if done >= 2:
        next_day = localtime.start_of_day(promise.pay_by + timedelta(days=1), tz)
        return Branch(PROMISE, wait_until=next_day, stop=PROMISE_REMINDED)
    return Branch(PROMISE, Position(STAGES[PROMISE], 1))


def after_send(name: str, rec: AccountRecord, now: datetime, index: int = 0) -> Branch:
    """What follows a branch's step (`index`) once it is sent."""
    if name == PAID:
        return Branch(PAID, stop=PAID_DONE, done=True)
    if name == HARDSHIP:
        return Branch(HARDSHIP, stop=HARDSHIP_PAUSED)
    if name == FINAL:
        return Branch(FINAL, stop=FINAL_NOTICE_SENT, done=True)
    tz = localtime.zone(zones.primary_zone(rec.borrower))
    promise = rec.flags.promise_to_pay
    if index == 0 and promise is not None:  # confirmed: wait for the promised day
        pay_day = localtime.start_of_day(promise.pay_by, tz)
        return Branch(PROMISE, wait_until=max(pay_day, now), stop=PROMISE_WAIT)
    tomorrow = localtime.local_date(now, tz) + timedelta(days=1)
    return Branch(PROMISE, wait_until=localtime.start_of_day(tomorrow, tz), stop=PROMISE_REMINDED)


@dataclass(frozen=True, slots=True)
class Instalments:
    """The instalment offer for a balance, in exact money: `down` now, then `months` payments,
    the first `months - 1` of `monthly` and a last one of `last`; they add up to the balance."""

    down: Decimal
    monthly: Decimal
    last: Decimal
    months: int


def instalments(balance: Decimal) -> Instalments:
    """10 % down (to the cent, half up), the rest in 6 monthly payments: five equal ones
    rounded down to the cent and a last one that makes the sum exact. Never invented: every
    figure comes from the balance."""
    down = (balance * DOWN_SHARE).quantize(CENT, rounding=ROUND_HALF_UP)
    rest = balance - down
    monthly = (rest / MONTHS).quantize(CENT, rounding=ROUND_DOWN)
    return Instalments(down=down, monthly=monthly, last=rest - monthly * (MONTHS - 1),
                       months=MONTHS)  # fmt: skip
