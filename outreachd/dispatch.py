"""One dispatcher tick: claim due plans, re-decide at send time, reserve, send, record.

At-most-once: the attempt row is committed as `sending` (in the same borrower-serialised
transaction that re-checked every rule against the ledger as it is now) before the channel is
called. A crash after that leaves `sending`, turned into `unknown` at the next start: it counts
toward caps and is never blindly re-sent.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from outreachd import messages
from outreachd.channels.base import Channel, Envelope, SendError
from outreachd.config import Config
from outreachd.core import decide as core
from outreachd.core import planner
from outreachd.core.model import Account, Outcome
from outreachd.ledger import store
from outreachd.render import Message, Renderer
from outreachd.sources import records
from outreachd.sources.base import AccountRecord

HISTORY = timedelta(days=120)  # longer than any counting window of any pack
NO_COLLECTOR = "NO-COLLECTOR-FOR-COUNTRY"


@dataclass(slots=True)
class TickStats:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    blocked: int = 0
    failed: int = 0
    unknown: int = 0
    errors: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Send:
    attempt: store.Attempt
    message: Message
    rec: AccountRecord


class Dispatcher:
    def __init__(
        self,
        *,
        ledger: store.Ledger,
        config: Config,
        renderer: Renderer,
        channel: Channel,
        owner: str,
        log: Any,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.ledger, self.config, self.renderer = ledger, config, renderer
        self.channel, self.owner, self.log, self.new_id = channel, owner, log, new_id

    def tick(self, now: datetime, stopping: Callable[[], bool] = lambda: False) -> TickStats:
        """Handle every plan due at `now` (one batch); stop claiming when `stopping()`."""
        sched = self.config.schedule
        lease = timedelta(seconds=sched.lease_seconds)
        stats = TickStats()
        plans = self.ledger.claim_due(now, self.owner, lease, sched.batch)
        stats.claimed = len(plans)
        for plan in plans:
            if stopping():
                self.ledger.release(plan.account_id, self.owner)
                continue
            self._one(plan, now, stats)
        return stats

    def _one(self, plan: store.Plan, now: datetime, stats: TickStats) -> None:
        """Decide and send one plan; its lease is released with the decision's commit, or
        here when no decision was committed (an error)."""
        released = False
        try:
            send = self._decide(plan, now, stats)
            released = True
            if send is not None:
                self._send(send, now, stats)
        finally:
            if not released:
                self.ledger.release(plan.account_id, self.owner)

    def _decide(self, plan: store.Plan, now: datetime, stats: TickStats) -> _Send | None:
        payload = self.ledger.account_payload(plan.account_id)
        rec = records.parse_payload(payload) if payload is not None else None
        policy = self.config.policy(rec.borrower.residence.country) if rec else None
        if rec is None or policy is None:
            final = (
                _done(plan, now, "NOT-IN-LEDGER")
                if rec is None
                else _blocked(plan, now, (NO_COLLECTOR,))
            )
            stats.blocked += rec is not None
            with self.ledger.borrower_txn(plan.borrower_id) as txn:
                txn.save_plan(final, release_owner=self.owner)
            return None
        rendered: dict[planner.Option, Message] = {}

        def lazily() -> Iterator[planner.Option]:
            for option, message in messages.options(rec, self.config, self.renderer):
                rendered[option] = message
                yield option

        account = Account(borrower=rec.borrower, flags=rec.flags)
        with self.ledger.borrower_txn(rec.borrower_id) as txn:
            history = txn.history(now - HISTORY)
            choice = planner.choose(
                account, (rec.account_id,), history, lazily(), at=now, policy=policy
            )
            return self._apply(txn, plan, rec, choice, by_option=rendered, now=now, stats=stats)

    def _apply(
        self,
        txn: store.BorrowerTxn,
        plan: store.Plan,
        rec: AccountRecord,
        choice: planner.Choice,
        *,
        by_option: dict[planner.Option, Message],
        now: datetime,
        stats: TickStats,
    ) -> _Send | None:
        decision, option = choice.decision, choice.option
        fields = _fields(rec, decision)
        match decision:
            case core.Allow():
                assert option is not None
                attempt = self._attempt(rec, option, decision, now)
                txn.reserve(attempt, now)
                txn.save_plan(self._next_step(plan, now), release_owner=self.owner)
                return _Send(attempt=attempt, message=by_option[option], rec=rec)
            case core.Defer():
                assert option is not None
                txn.save_plan(_deferred(plan, now, option, decision), release_owner=self.owner)
                stats.deferred += 1
                self.log.info(
                    "outreach_deferred",
                    **fields,
                    channel=option.channel.value,
                    contact_id=option.contact_id,
                    template=option.template,
                    until=decision.until.isoformat(),
                    rule_ids=list(decision.reasons),
                )
            case core.Block():
                txn.save_plan(_blocked(plan, now, decision.reasons), release_owner=self.owner)
                stats.blocked += 1
                for reason in decision.reasons:
                    stats.by_reason[reason] = stats.by_reason.get(reason, 0) + 1
                self.log.info("outreach_blocked", **fields, rule_ids=list(decision.reasons))
        return None

    def _attempt(
        self, rec: AccountRecord, option: planner.Option, decision: core.Allow, now: datetime
    ) -> store.Attempt:
        return store.Attempt(
            id=self.new_id(),
            borrower_id=rec.borrower_id,
            account_id=rec.account_id,
            debts=(rec.account_id,),
            at=now,
            channel=option.channel.value,
            contact_id=option.contact_id,
            template=option.template,
            locale=rec.locale,
            rule_ids=(),
            packs=decision.facts.packs,
        )

    def _next_step(self, plan: store.Plan, now: datetime) -> store.Plan:
        cadence = self.config.cadence
        step = plan.step + 1
        if step >= cadence.max_steps:
            return _done(plan, now, "CADENCE-COMPLETE", step=step)
        due = now + timedelta(days=cadence.wait_days)
        return dataclasses.replace(
            plan, step=step, status="due", next_due_at=due, reasons=(), updated_at=now
        )

    def _send(self, send: _Send, now: datetime, stats: TickStats) -> None:
        attempt, rec = send.attempt, send.rec
        envelope = Envelope(
            attempt_id=attempt.id,
            account_id=rec.account_id,
            borrower_id=rec.borrower_id,
            debts=attempt.debts,
            contact_id=attempt.contact_id,
            address=messages.address(rec, attempt.contact_id),
            sent_at=now,
            message=send.message,
        )
        base = {
            "attempt_id": attempt.id,
            "account_id": rec.account_id,
            "borrower_id": rec.borrower_id,
            "channel": attempt.channel,
            "contact_id": attempt.contact_id,
            "to": envelope.address,
            "template": attempt.template,
            "packs": list(attempt.packs),
        }
        try:
            receipt = self.channel.send(envelope)
        except SendError as exc:
            status = "unknown" if exc.sent_unknown else "failed"
            outcome = Outcome.UNKNOWN if exc.sent_unknown else Outcome.FAILED
            self.ledger.record(attempt.id, status, outcome.value)
            if exc.sent_unknown:
                stats.unknown += 1
            else:
                stats.failed += 1
            self.log.warning("outreach_failed", **base, status=status, error=str(exc))
            return
        self.ledger.record(attempt.id, "sent", receipt.outcome.value, receipt.provider_id)
        stats.sent += 1
        self.log.info("outreach_sent", **base, outcome=receipt.outcome.value)


def _fields(rec: AccountRecord, decision: core.Decision) -> dict[str, object]:
    facts = decision.facts
    return {
        "account_id": rec.account_id,
        "borrower_id": rec.borrower_id,
        "primary_zone": facts.primary_zone,
        "candidate_zones": list(facts.candidate_zones),
        "packs": list(facts.packs),
        **({"notes": list(facts.notes)} if facts.notes else {}),
    }


def _deferred(
    plan: store.Plan, now: datetime, option: planner.Option, decision: core.Defer
) -> store.Plan:
    return dataclasses.replace(
        plan,
        status="due",
        channel=option.channel.value,
        contact_id=option.contact_id,
        template=option.template,
        next_due_at=decision.until,
        reasons=decision.reasons,
        updated_at=now,
    )


def _blocked(plan: store.Plan, now: datetime, reasons: tuple[str, ...]) -> store.Plan:
    return dataclasses.replace(
        plan, status="blocked", next_due_at=None, reasons=reasons, updated_at=now
    )


def _done(plan: store.Plan, now: datetime, reason: str, step: int | None = None) -> store.Plan:
    return dataclasses.replace(
        plan,
        status="done",
        step=plan.step if step is None else step,
        next_due_at=None,
        reasons=(reason,),
        updated_at=now,
    )
