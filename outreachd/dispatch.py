"""One dispatcher tick: claim due plans, re-decide at send time, reserve, send, record.

At-most-once: the attempt row is committed as `sending` (in the same borrower-serialised
transaction that re-checked every rule against the ledger as it is now) before the channel is
called. A crash after that leaves `sending`, turned into `unknown` at the next start: it counts
toward caps and is never blindly re-sent.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from outreachd import branches, messages, overlay
from outreachd.channels.base import Channel, Envelope, Receipt, SendError
from outreachd.channels.router import deliver
from outreachd.config import Config
from outreachd.core import decide as core
from outreachd.core import model, planner
from outreachd.core.model import Account, Event, Flags, Outcome
from outreachd.ledger import store
from outreachd.render import Message, Renderer
from outreachd.sources import records
from outreachd.sources.base import AccountRecord
from outreachd.strategy import OnBlocked, Position, Strategy

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
    lost: int = 0  # plans whose lease expired and another instance took (not handled here)
    by_reason: dict[str, int] = field(default_factory=dict)


# Plans are decided in one transaction, then sent, then recorded in one more: a chunk. A
# chunk is about CHUNK_SECONDS of sending at the channel's recent pace, so that what is sent
# was decided moments before (a provider call takes time, a sender is paced: a long code
# sends one a second) while a fast channel does not spend two commits and a dozen statements
# on every few plans; FIRST_CHUNK until the pace is known. A channel whose sends take no time
# (`instant`: the outbox) gets the whole claimed batch at once.
CHUNK_SECONDS = 1.0
FIRST_CHUNK = 10
RETRY_AFTER_ERROR = timedelta(minutes=5)  # a plan whose decision failed is retried then
DISPATCH_ERROR = "DISPATCH-ERROR"
SEND_RETRY = "SEND-RETRY"  # the provider took nothing and said try later: the step is retried
# why a plan moved along its strategy (recorded in the plan's reasons, shown by `plan`)
STRATEGY_COMPLETE = "STRATEGY-COMPLETE"  # the last stage's last step is behind it
STAGE_COMPLETE = "STAGE-COMPLETE"  # waiting for the account to reach the next stage
NO_STAGE_YET = "NO-STAGE-YET"  # before the first stage's days past due
STEP_SKIPPED = "STEP-SKIPPED"  # on_blocked: skip (the rules that blocked it follow)
STEP_ADVANCED = "STEP-ADVANCED"  # on_blocked: advance


@dataclass(frozen=True, kw_only=True, slots=True)
class _Out:
    """What deciding a chunk produces besides plans and sends: counts, and log lines to
    write once the chunk has committed."""

    now: datetime
    stats: TickStats
    logs: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    # hand-offs to open with the chunk's commit: (borrower, account, kind, reason)
    handoffs: list[store.HandoffRow] = field(default_factory=list)
    offered: set[str] = field(default_factory=set)  # borrowers with a hardship offer out


@dataclass(frozen=True, kw_only=True, slots=True)
class _Send:
    attempt: store.Attempt
    message: Message
    rec: AccountRecord
    plan: store.Plan  # as claimed: what a send that may be retried goes back to
    valid_for: timedelta | None = None  # how long it stays lawful, for channels that ask
    decided: float = field(default_factory=time.monotonic)  # when valid_for was measured


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
        new_id: Callable[[], str] = store.new_attempt_id,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ledger, self.config, self.renderer = ledger, config, renderer
        self.channel, self.owner, self.log, self.new_id = channel, owner, log, new_id
        self.timer = timer  # seconds, for the channel's pace only
        self.pace: float | None = None  # seconds per send, recent (moving average)

    def tick(
        self,
        now: datetime,
        stopping: Callable[[], bool] = lambda: False,
        clock: Callable[[], datetime] | None = None,
    ) -> TickStats:
        """Handle the plans due at `now`, up to a batch, a chunk at a time: decide the chunk
        in one transaction, then send it. On PostgreSQL the batch is first claimed under a
        lease (handle); on SQLite each chunk is taken in the transaction that decides it
        (BEGIN IMMEDIATE: no other writer meanwhile, so no lease). A later chunk is decided
        at `clock()` when a clock is given (never before `now`). Once `stopping()`, no more
        chunks are decided (claimed ones are released); a decided chunk is always sent (its
        attempts are reserved)."""
        sched = self.config.schedule
        if self.ledger.unrecorded:  # outcomes of an earlier tick first; LedgerError: not yet
            self.log.info("outcomes_recorded_late", batches=self.ledger.flush_unrecorded())
        if self.ledger.leases:
            lease = timedelta(seconds=sched.lease_seconds)
            plans = self.ledger.claim_due(now, self.owner, lease, sched.batch)
            return self.handle(plans, now, stopping, clock)
        stats = TickStats()
        handled: set[str] = set()  # a plan is decided at most once a tick, as when leased
        while stats.claimed < sched.batch and not stopping():
            at = now if clock is None or stats.claimed == 0 else max(now, clock())
            size = self._chunk(sched.batch - stats.claimed)
            out = _Out(now=at, stats=stats)
            with self.ledger.due_txn(now, size) as (txn, due, payloads):
                chunk = [p for p in due if p.account_id not in handled]
                if not chunk:  # nothing (more) is due this tick
                    break
                handled.update(p.account_id for p in chunk)
                stats.claimed += len(chunk)
                sends = self._decide_in(txn, chunk, _records(payloads), out, release=None)
            self._log(out)
            self._send_all(sends, at, stats)
            if len(chunk) < size:  # the rest is due again only after this tick's decisions
                break
        return stats

    def handle(
        self,
        plans: list[store.Plan],
        now: datetime,
        stopping: Callable[[], bool] = lambda: False,
        clock: Callable[[], datetime] | None = None,
    ) -> TickStats:
        """Decide, send and record plans this dispatcher claimed under a lease (see tick). A
        plan whose lease another instance took over meanwhile is left alone (counted as
        `lost`)."""
        stats = TickStats()
        stats.claimed = len(plans)
        start = 0
        while start < len(plans):
            if stopping():
                self.ledger.release([p.account_id for p in plans[start:]], self.owner)
                break
            at = now if clock is None or start == 0 else max(now, clock())
            end = start + self._chunk(len(plans) - start)
            sends = self._decide(plans[start:end], at, stats)
            self._send_all(sends, at, stats)
            start = end
        return stats

    def _chunk(self, left: int) -> int:
        """How many of the `left` plans to decide next (see CHUNK_SECONDS)."""
        if getattr(self.channel, "instant", False):
            return left
        if self.pace is None:
            return min(left, FIRST_CHUNK)
        return max(1, min(left, int(CHUNK_SECONDS / max(self.pace, 1e-6))))

    def _decide(self, chunk: list[store.Plan], now: datetime, stats: TickStats) -> list[_Send]:
        """Decide claimed plans in one transaction holding their borrowers' locks, after
        checking the leases are still this dispatcher's (fencing); the sends."""
        recs = _records(self.ledger.account_payloads(p.account_id for p in chunk))
        borrowers = {p.borrower_id for p in chunk}
        borrowers |= {r.borrower_id for r in recs.values() if isinstance(r, AccountRecord)}
        out = _Out(now=now, stats=stats)
        with self.ledger.borrowers_txn(borrowers) as txn:
            held = txn.still_held((p.account_id for p in chunk), self.owner)
            if len(held) < len(chunk):  # fenced: another instance leases those now
                lost = [p for p in chunk if p.account_id not in held]
                stats.lost += len(lost)
                out.logs.extend(("plan_lease_lost", _lease_lost(p, now)) for p in lost)
                chunk = [p for p in chunk if p.account_id in held]
            sends = self._decide_in(txn, chunk, recs, out, release=self.owner)
        self._log(out)
        return sends

    def _decide_in(
        self,
        txn: store.BorrowerTxn,
        chunk: list[store.Plan],
        recs: dict[str, AccountRecord | Exception],
        out: _Out,
        release: str | None,
    ) -> list[_Send]:
        """Decide every plan of the chunk inside `txn`: reserve the sends' attempts, save the
        plans (clearing `release`'s leases) and the hand-offs; the sends. Log lines wait in
        `out` until the transaction commits."""
        now, stats = out.now, out.stats
        sends: list[_Send] = []
        saved: list[store.Plan] = []
        histories = txn.histories(now - self.config.lookback)
        learned = txn.flags(overlay.DECIDING)
        out.offered.update(txn.open_handoffs(branches.OFFER_HANDOFF))
        for plan in chunk:
            rec = recs.get(plan.account_id)
            try:
                if isinstance(rec, Exception):
                    raise rec
                borrower = rec.borrower_id if rec is not None else plan.borrower_id
                history, flags = histories.get(borrower, []), learned.get(borrower, [])
                plan_, send = self._one(plan, rec, history, flags, out)
            except Exception as exc:  # one bad plan never stops the others: retry later
                stats.errors += 1
                saved.append(_retry(plan, now))
                out.logs.append(("dispatch_error", _error(plan, exc, now)))
                continue
            saved.append(plan_)
            if plan_.status == "done" and plan_.reasons == (STRATEGY_COMPLETE,):
                out.handoffs.append(_review(plan_))
            if send is not None:
                sends.append(send)
                history = histories.setdefault(send.rec.borrower_id, [])
                event = store.reserved_event(send.attempt, now)
                bisect.insort(history, event, key=lambda e: e.at)
        txn.reserve_many((send.attempt for send in sends), now)
        txn.save_calls((script(s.attempt.id, s.message) for s in sends if _is_call(s)), now)
        txn.save_plans(saved, release_owner=release)
        txn.add_handoffs(out.handoffs, now)
        return sends

    def _log(self, out: _Out) -> None:
        """The log lines of a committed chunk (only what was committed is logged)."""
        for name, fields_ in out.logs:
            warn = name in ("dispatch_error", "plan_lease_lost")
            (self.log.warning if warn else self.log.info)(name, **fields_)

    def _one(
        self,
        plan: store.Plan,
        rec: AccountRecord | None,
        history: list[Event],
        flags: list[store.Flag],
        out: _Out,
    ) -> tuple[store.Plan, _Send | None]:
        """The plan's decision: its next state, and the send when it is allowed now."""
        now, stats = out.now, out.stats
        if rec is None:
            return _done(plan, now, "NOT-IN-LEDGER"), None
        policy = self.config.policy(rec.borrower.residence.country)
        if policy is None:
            stats.blocked += 1
            return _blocked(plan, now, (NO_COLLECTOR,)), None
        account = Account(borrower=rec.borrower, flags=learned_flags(rec, flags))
        offered = rec.borrower_id in out.offered
        found = where(plan, rec, flags=account.flags, strategy=self.config.strategy, now=now,
                      offered=offered)  # fmt: skip
        if isinstance(found, store.Plan):  # no step to take now
            return found, None
        position, branch = found
        purpose = branch.purpose if branch is not None else model.Purpose.COLLECTION
        plan = dataclasses.replace(plan, stage=position.stage.name, step=position.index)
        refused = refused_contacts(flags)
        rendered: dict[planner.Option, Message] = {}

        def lazily() -> Iterator[planner.Option]:
            for option, message in messages.options(
                rec, self.config, self.renderer, refused, step=position.step,
                purpose=purpose, flags=account.flags, at=now,
            ):  # fmt: skip
                rendered[option] = message
                yield option

        debts = (rec.account_id,)
        choice = planner.choose(
            account, debts, history, lazily(), at=now, policy=policy, validity=self._timed
        )
        decision, option = choice.decision, choice.option
        match decision:
            case core.Allow():
                assert option is not None
                attempt = self._attempt(rec, option, decision, now)
                send = _Send(
                    attempt=attempt, message=rendered[option], rec=rec, plan=plan,
                    valid_for=decision.valid_for,  # e.g. Twilio's ValidityPeriod
                )  # fmt: skip
                return self._after_send(plan, rec, position, branch, out), send
            case core.Defer():
                assert option is not None
                stats.deferred += 1
                out.logs.append(("outreach_deferred", _fields(rec, decision) | {
                    "channel": option.channel.value, "contact_id": option.contact_id,
                    "template": option.template, "until": decision.until.isoformat(),
                    "rule_ids": list(decision.reasons),
                }))  # fmt: skip
                return _deferred(plan, now, option, decision), None
            case core.Block():
                stats.blocked += 1
                for reason in decision.reasons:
                    stats.by_reason[reason] = stats.by_reason.get(reason, 0) + 1
                rule_ids = list(decision.reasons)
                on_blocked = position.step.on_blocked
                out.logs.append(("outreach_blocked", _fields(rec, decision) | {
                    "rule_ids": rule_ids, "stage": position.stage.name, "step": position.index,
                    "on_blocked": on_blocked.value,
                }))  # fmt: skip
                return _on_blocked(plan, position, decision.reasons, now), None
        raise AssertionError(f"unknown decision {decision!r}")

    def _after_send(
        self,
        plan: store.Plan,
        rec: AccountRecord,
        position: Position,
        branch: branches.Branch | None,
        out: _Out,
    ) -> store.Plan:
        """The plan once its step is reserved for sending; a hardship offer also opens a
        hand-off for a person to agree the deferment or instalments."""
        if branch is None:
            return _next_step(plan, rec, position, self.config.strategy, out.now)
        if branch.name == branches.HARDSHIP:
            why = "hardship offer sent: agree a deferment or instalments"
            out.handoffs.append((rec.borrower_id, rec.account_id, branches.OFFER_HANDOFF, why))
            out.offered.add(rec.borrower_id)
        after = branches.after_send(branch.name, rec, out.now, position.index)
        return _held(dataclasses.replace(plan, step=position.index + 1), after, out.now)

    @functools.cached_property
    def _timed(self) -> frozenset[model.Channel]:
        """The message kinds whose channel wants each send's lawful time left."""
        needs = getattr(self.channel, "needs_validity", None)
        return frozenset(c for c in model.Channel if needs is not None and needs(c))

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
            dialer=option.dialer.value,
            purpose=option.purpose.value,
        )

    def _send_all(self, sends: list[_Send], now: datetime, stats: TickStats) -> None:
        """Send each reserved attempt; record every outcome in one transaction, then log."""
        envelopes = [_envelope(send, now) for send in sends]
        results: list[store.Recorded] = []
        requeue: list[store.Plan] = []
        flags: list[store.Flag] = []
        logs: list[tuple[str, dict[str, object]]] = []
        try:
            began = self.timer()
            outcomes = self._deliver(envelopes)
            if envelopes:
                took = (self.timer() - began) / len(envelopes)
                self.pace = took if self.pace is None else 0.7 * self.pace + 0.3 * took
            for send, envelope, outcome in zip(sends, envelopes, outcomes, strict=True):
                results.append(_fate(send, envelope, outcome, stats, logs))
                if isinstance(outcome, SendError) and outcome.retry:
                    requeue.append(_retry(send.plan, now, SEND_RETRY))
                if isinstance(outcome, SendError):
                    flags.extend(_learned(send, outcome))
        finally:
            try:
                self.ledger.record_many(results, requeue=requeue, raise_flags=flags, now=now)
            finally:
                for event, fields_ in logs:
                    (self.log.info if event == "outreach_sent" else self.log.warning)(
                        event, **fields_
                    )

    def _deliver(self, envelopes: list[Envelope]) -> list[Receipt | Exception]:
        """Each envelope's receipt, or what the channel raised for it (any exception: its
        fate is recorded, never lost). A channel that can send a batch gets the batch."""
        return deliver(self.channel, envelopes) if envelopes else []


def _records(payloads: dict[str, str]) -> dict[str, AccountRecord | Exception]:
    """The stored payloads as records; one that no longer loads is kept as its error (its
    plan is retried later, the others go on)."""
    recs: dict[str, AccountRecord | Exception] = {}
    for account_id, payload in payloads.items():
        try:
            recs[account_id] = records.load_payload(payload)
        except ValueError as exc:
            recs[account_id] = exc
    return recs


def _is_call(send: _Send) -> bool:
    return send.message.channel is model.Channel.CALL


def script(attempt_id: str, message: Message) -> store.CallScript:
    """What a call will say, stored with its reservation (the webhooks read it)."""
    return store.CallScript(
        attempt_id=attempt_id, language=message.locale, greeting=message.greeting or "",
        body=message.body, voicemail=message.voicemail,
    )  # fmt: skip


def _envelope(send: _Send, now: datetime) -> Envelope:
    attempt, rec = send.attempt, send.rec
    return Envelope(
        attempt_id=attempt.id,
        account_id=rec.account_id,
        borrower_id=rec.borrower_id,
        debts=attempt.debts,
        contact_id=attempt.contact_id,
        address=messages.address(rec, attempt.contact_id),
        sent_at=now,
        message=send.message,
        country=rec.borrower.residence.country.value,
        valid_for=send.valid_for,
        decided=send.decided,
    )


def _fate(
    send: _Send,
    envelope: Envelope,
    outcome: Receipt | Exception,
    stats: TickStats,
    logs: list[tuple[str, dict[str, object]]],
) -> store.Recorded:
    """What became of one send, counted and logged: sent, failed, or unknown."""
    attempt = send.attempt
    base: dict[str, object] = {
        "attempt_id": attempt.id,
        "account_id": envelope.account_id,
        "borrower_id": envelope.borrower_id,
        "channel": attempt.channel,
        "contact_id": attempt.contact_id,
        "to": envelope.address,
        "template": attempt.template,
        "packs": list(attempt.packs),
    }
    if isinstance(outcome, Exception):
        unknown = not isinstance(outcome, SendError) or outcome.sent_unknown
        status = "unknown" if unknown else "failed"
        if unknown:
            stats.unknown += 1
        else:
            stats.failed += 1
        if not isinstance(outcome, SendError):
            stats.errors += 1
        logs.append(("outreach_failed", base | {"status": status, "error": _describe(outcome)}))
        failed = Outcome.UNKNOWN if unknown else Outcome.FAILED
        return store.Recorded(attempt.id, status, failed.value)
    stats.sent += 1
    extra = {"segments": outcome.segments} if outcome.segments is not None else {}
    logs.append(("outreach_sent", base | {"outcome": outcome.outcome.value} | extra))
    return store.Recorded(attempt.id, "sent", outcome.outcome.value, outcome.provider_id)


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, SendError) else f"{type(exc).__name__}: {exc}"


def _lease_lost(plan: store.Plan, now: datetime) -> dict[str, object]:
    return {"account_id": plan.account_id, "borrower_id": plan.borrower_id,
            "at": now.isoformat()}  # fmt: skip


def _error(plan: store.Plan, exc: Exception, now: datetime) -> dict[str, object]:
    return {
        "account_id": plan.account_id,
        "borrower_id": plan.borrower_id,
        "error": f"{type(exc).__name__}: {exc}",
        "retry_at": (now + RETRY_AFTER_ERROR).isoformat(),
    }


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


def where(
    plan: store.Plan, rec: AccountRecord, *, flags: Flags, strategy: Strategy, now: datetime,
    offered: bool,
) -> tuple[Position, branches.Branch | None] | store.Plan:  # fmt: skip
    """The step to take now, in a branch or on the strategy's ladder; or, when there is
    none, the plan's next state (waiting, paused or ended). `offered`: the borrower has an
    open hardship-offer hand-off. The dispatcher decides with it; `outreachd plan` shows it."""
    branch = branches.branch(rec, flags, plan.stage, plan.step, now, offered=offered)
    if branch is not None:
        if branch.position is None:
            if branch.name == branches.HARDSHIP:
                # paused, the borrower's offer behind it (sent for this debt or another):
                # when the hardship lifts, the ladder starts at its stage's first step
                plan = dataclasses.replace(plan, stage=branches.HARDSHIP, step=1)
            return _held(plan, branch, now)
        return branch.position, branch
    position = strategy.position(plan.stage, plan.step, rec.debt.days_past_due(now))
    if position is None:  # before the first stage, or this stage's ladder is done
        return _between_stages(plan, rec, strategy, now)
    return position, None


def _next_step(
    plan: store.Plan,
    rec: AccountRecord,
    position: Position,
    strategy: Strategy,
    now: datetime,
) -> store.Plan:
    """After the step at `position` was sent: the next step of its stage after the
    step's wait; after the last, the next stage's first step when the account reaches it."""
    due = now + timedelta(days=position.step.wait_days)
    step = position.index + 1
    if step < len(position.stage.steps):
        return dataclasses.replace(
            plan, step=step, status="due", next_due_at=due, reasons=(), updated_at=now
        )
    later = strategy.next_stage_due(rec.debt.days_past_due(now), now)
    if later is None:
        return _done(plan, now, STRATEGY_COMPLETE, step=step)
    return dataclasses.replace(
        plan, step=step, status="due", next_due_at=max(due, later), reasons=(STAGE_COMPLETE,),
        updated_at=now,
    )  # fmt: skip


def _between_stages(
    plan: store.Plan, rec: AccountRecord, strategy: Strategy, now: datetime
) -> store.Plan:
    """No step to take now (no stage covers the account's days past due, or its stage's
    ladder is done): wait for the next stage to begin, or end the plan."""
    later = strategy.next_stage_due(rec.debt.days_past_due(now), now)
    if later is None:
        return _done(plan, now, STRATEGY_COMPLETE)
    why = STAGE_COMPLETE if strategy.stage_for(rec.debt.days_past_due(now)) else NO_STAGE_YET
    return dataclasses.replace(
        plan, status="due", next_due_at=later, reasons=(why,), updated_at=now
    )


def _review(plan: store.Plan) -> store.HandoffRow:
    """The hand-off a completed strategy opens: a person decides whether the final notice
    before legal referral goes out (`outreachd handoff approve`); nothing does by itself."""
    why = "strategy complete, account unpaid: approve the final notice, or close this task"
    return (plan.borrower_id, plan.account_id, branches.REVIEW_HANDOFF, why)


def _held(plan: store.Plan, branch: branches.Branch, now: datetime) -> store.Plan:
    """A branch with no step to take now: the plan waits until its time, pauses (blocked until
    the flag is cleared) or ends."""
    reasons = (branch.stop,) if branch.stop else ()
    if branch.done:
        return dataclasses.replace(
            plan, status="done", next_due_at=None, reasons=reasons, updated_at=now
        )
    if branch.wait_until is not None:
        return dataclasses.replace(
            plan, status="due", next_due_at=branch.wait_until, reasons=reasons, updated_at=now
        )
    return _blocked(plan, now, reasons)


def _on_blocked(
    plan: store.Plan, position: Position, reasons: tuple[str, ...], now: datetime
) -> store.Plan:
    """No channel can carry the step lawfully: what its `on_blocked` says. `skip` and
    `advance` move to the next step of the stage (after the wait, or now); the last step's
    block stops the plan as blocked, as `defer` does."""
    on_blocked, step = position.step.on_blocked, position.index + 1
    if on_blocked is OnBlocked.DEFER or step >= len(position.stage.steps):
        return _blocked(plan, now, reasons)
    due = now if on_blocked is OnBlocked.ADVANCE else now + timedelta(days=position.step.wait_days)
    why = (STEP_ADVANCED if on_blocked is OnBlocked.ADVANCE else STEP_SKIPPED, *reasons)
    return dataclasses.replace(
        plan, step=step, status="due", next_due_at=due, reasons=why, updated_at=now
    )


def _blocked(plan: store.Plan, now: datetime, reasons: tuple[str, ...]) -> store.Plan:
    return dataclasses.replace(
        plan, status="blocked", next_due_at=None, reasons=reasons, updated_at=now
    )


def _retry(plan: store.Plan, now: datetime, reason: str = DISPATCH_ERROR) -> store.Plan:
    """The plan, still due, RETRY_AFTER_ERROR later (deferred after an error, never dropped)."""
    return dataclasses.replace(
        plan,
        status="due",
        next_due_at=now + RETRY_AFTER_ERROR,
        reasons=(reason,),
        updated_at=now,
    )


def _learned(send: _Send, error: SendError) -> list[store.Flag]:
    """The ledger flags a provider's answer proves (an opt-out the carrier holds, an address
    or number refused for good)."""
    source = f"{send.attempt.channel}:{error.provider_code or 'answer'}"
    return [store.Flag(send.attempt.borrower_id, n, v, source) for n, v in error.learned]


def refused_contacts(flags: list[store.Flag]) -> set[str]:
    """The contact ids a provider refused for good (never offered again)."""
    return {str(f.value["contact_id"]) for f in flags if f.name == overlay.INVALID_CONTACT}


def learned_flags(rec: AccountRecord, flags: list[store.Flag]) -> Flags:
    """The account's flags from the source, with what the ledger learned laid over them."""
    if not flags:
        return rec.flags
    return overlay.overlay(rec.flags, ((f.name, f.value) for f in flags))


def _done(plan: store.Plan, now: datetime, reason: str, step: int | None = None) -> store.Plan:
    return dataclasses.replace(
        plan,
        status="done",
        step=plan.step if step is None else step,
        next_due_at=None,
        reasons=(reason,),
        updated_at=now,
    )
