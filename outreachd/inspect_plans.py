"""`outreachd plan`, `outreachd ledger export` (read-only views for operators and auditors) and
`outreachd ledger flag` (what an operator learned, recorded)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import TextIO

from outreachd import branches, clock, dispatch, messages, overlay
from outreachd.config import Config
from outreachd.core import decide as core
from outreachd.core import localtime, planner
from outreachd.core.model import Account, Purpose
from outreachd.dispatch import learned_flags, refused_contacts
from outreachd.ledger import store
from outreachd.ledger.store import Flag, Ledger
from outreachd.render import Renderer
from outreachd.sources import records


def show(cfg: Config, *, at: datetime | None, account: str | None, out: TextIO) -> int:
    """One line per account: the plan, then what the engine decides at `at` and why."""
    when = at or clock.now()
    ledger = Ledger(cfg.ledger_url)
    try:
        ids = [account] if account else [p.account_id for p in ledger.plans()]
        renderer = Renderer(cfg.templates)
        missing = 0
        for account_id in ids:
            line = _line(cfg, ledger, renderer, account_id, when)
            missing += line is None
            out.write((line or f"{account_id}: not in the ledger") + "\n")
        return 1 if missing and account else 0
    finally:
        ledger.close()


def record_flag(
    cfg: Config, *, borrower: str, name: str, value: object, source: str, out: TextIO
) -> int:
    """Record what an operator learned about a borrower (a cease request by post, a STOP
    told to an agent, a hardship) in the ledger; it takes effect at the next decision."""
    try:
        overlay.check(name, value)
    except ValueError as exc:
        out.write(f"error: {exc}\n")
        return 2
    ledger = Ledger(cfg.ledger_url)
    try:
        ledger.migrate()
        if not ledger.accounts_of(borrower):
            out.write(f"error: no account of borrower {borrower!r} in the ledger\n")
            return 1
        now = clock.now()
        with ledger.borrower_txn(borrower) as txn:
            txn.add_flag(name, value, source, now)
            txn.reopen(now, waiting=store.pulls_forward([Flag(borrower, name, value, source)]))
        shown = json.dumps(value, ensure_ascii=False)
        out.write(f"{borrower}: {name} = {shown} recorded at {now.isoformat()} ({source})\n")
        return 0
    finally:
        ledger.close()


def list_handoffs(cfg: Config, *, every: bool, out: TextIO) -> int:
    """The hand-offs waiting for a person (or all of them), one per line, oldest first."""
    ledger = Ledger(cfg.ledger_url)
    try:
        ledger.migrate()
        for task in ledger.handoff_tasks(None if every else "open"):
            at = task["created_at"].strftime("%Y-%m-%dT%H:%MZ")
            who = f"{task['borrower_id']} {task['account_id'] or '-'}"
            out.write(f"#{task['id']} {at} {task['status']} {task['kind']} {who}: ")
            out.write(f"{task['reason']}\n")
        return 0
    finally:
        ledger.close()


def decide_handoff(cfg: Config, *, task_id: int, approve: bool, by: str, out: TextIO) -> int:
    """A person's decision on an open hand-off. Approving a `legal_referral_review` sets the
    final notice before legal referral going (the dispatcher sends it once, if the packs allow
    it); any other task can only be closed."""
    ledger = Ledger(cfg.ledger_url)
    try:
        ledger.migrate()
        task = ledger.handoff_task(task_id)
        if task is None or task["status"] != "open":
            out.write(f"error: no open hand-off #{task_id}\n")
            return 1
        now = clock.now()
        plan = None
        if approve:
            if task["kind"] != branches.REVIEW_HANDOFF or not task["account_id"]:
                only = f"only a {branches.REVIEW_HANDOFF} can be approved; close it instead"
                out.write(f"error: #{task_id} is a {task['kind']} hand-off: {only}\n")
                return 2
            current = ledger.plan(task["account_id"])
            if current is None:
                out.write(f"error: account {task['account_id']} has no plan\n")
                return 1
            plan = dataclasses.replace(
                current, stage=branches.FINAL, step=0, status="due", next_due_at=now,
                reasons=(), updated_at=now,
            )  # fmt: skip
        status = "approved" if approve else "closed"
        note = f"{status} by {by} at {now.isoformat()}"
        if ledger.decide_handoff(task_id, status, note, now, plan) is None:
            out.write(f"error: no open hand-off #{task_id}\n")
            return 1
        then = " the final notice is due now" if approve else ""
        out.write(f"#{task_id} {task['kind']} {status} by {by};{then}\n")
        return 0
    finally:
        ledger.close()


def _line(
    cfg: Config, ledger: Ledger, renderer: Renderer, account_id: str, at: datetime
) -> str | None:
    payload = ledger.account_payload(account_id)
    if payload is None:
        return None
    rec = records.parse_payload(payload)
    plan = ledger.plan(account_id)
    stage, step = (plan.stage, plan.step) if plan else ("", 0)
    head = f"{account_id} plan={plan.status if plan else 'none'}"
    head += f" stage={stage or '-'} step={step} days_past_due={rec.debt.days_past_due(at)}"
    if plan is not None and plan.status == "done":
        return f"{head}: done [{', '.join(plan.reasons)}]"
    if plan is not None and plan.next_due_at is not None and plan.next_due_at > at:
        at = plan.next_due_at  # a waiting step is decided when it falls due
        head += f" due={plan.next_due_at:%Y-%m-%dT%H:%MZ}"
    if plan is not None and plan.reasons:
        head += f" (last: {', '.join(plan.reasons)})"
    with ledger.borrower_txn(rec.borrower_id) as txn:
        history = txn.history(at - cfg.lookback)
        flags = txn.flags(overlay.DECIDING).get(rec.borrower_id, [])
        offered = rec.borrower_id in txn.open_handoffs(branches.OFFER_HANDOFF)
    acct = Account(borrower=rec.borrower, flags=learned_flags(rec, flags))
    current = plan or store.Plan(
        account_id=account_id, borrower_id=rec.borrower_id, step=0, status="due", channel=None,
        contact_id=None, template=None, next_due_at=at, reasons=(), updated_at=at,
    )  # fmt: skip
    found = dispatch.where(current, rec, flags=acct.flags, strategy=cfg.strategy, now=at,
                           offered=offered)  # fmt: skip
    if isinstance(found, store.Plan):
        return f"{head}: no step to take; {_held(found, at)}"
    position, branch = found
    s = position.step
    head += (
        f" -> stage {position.stage.name} step {position.index}: {s.template} by "
        f"{'/'.join(c.value for c in s.channels)}, then wait {s.wait_days}d, "
        f"on_blocked={s.on_blocked.value}"
    )
    policy = cfg.policy(rec.borrower.residence.country)
    if policy is None:
        return f"{head}: block [NO-COLLECTOR-FOR-COUNTRY]"
    purpose = branch.purpose if branch is not None else Purpose.COLLECTION
    options = messages.options(rec, cfg, renderer, refused_contacts(flags), step=s,
                               purpose=purpose, flags=acct.flags, at=at)  # fmt: skip
    opts = [o for o, _ in options]
    choice = planner.choose(acct, (rec.account_id,), history, opts, at=at, policy=policy)
    return f"{head}: {_describe(choice)}"


def _held(plan: store.Plan, at: datetime) -> str:
    """Why a plan has no step to take at `at`, and what comes next."""
    why = ", ".join(plan.reasons)
    if plan.status == "done":
        ended = plan.reasons == (dispatch.STRATEGY_COMPLETE,)
        return "the strategy is complete" if ended else f"the plan ends [{why}]"
    if plan.status == "blocked":
        return f"paused [{why}]"
    assert plan.next_due_at is not None
    if plan.reasons in ((dispatch.STAGE_COMPLETE,), (dispatch.NO_STAGE_YET,)):
        return f"the next stage begins in {(plan.next_due_at - at).days} day(s)"
    return f"next at {plan.next_due_at:%Y-%m-%dT%H:%MZ} [{why}]"


def _describe(choice: planner.Choice) -> str:
    d, o = choice.decision, choice.option
    target = f"{o.channel.value}:{o.contact_id} {o.template}" if o else ""
    zones = ",".join(d.facts.candidate_zones)
    match d:
        case core.Allow():
            return f"allow {target} (zones {zones})"
        case core.Defer():
            local = localtime.local(d.until, localtime.zone(d.facts.primary_zone))
            return (
                f"defer {target} until {local:%Y-%m-%dT%H:%M} {d.facts.primary_zone} "
                f"({d.until:%Y-%m-%dT%H:%MZ}) [{', '.join(d.reasons)}] (zones {zones})"
            )
        case core.Block():
            return f"block [{', '.join(d.reasons)}]"
    return "?"


def export(cfg: Config, *, since: datetime | None, out: TextIO) -> int:
    """Every attempt as one JSON object per line, oldest first."""
    ledger = Ledger(cfg.ledger_url)
    try:
        for row in ledger.export(since):
            out.write(json.dumps(row, ensure_ascii=False, sort_keys=True, default=str) + "\n")
    finally:
        ledger.close()
    return 0
