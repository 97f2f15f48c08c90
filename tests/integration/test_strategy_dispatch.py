"""The dispatcher walks each plan along its strategy, on both ledgers: a stage's ladder step by
step with its waits, the next stage when the account reaches it, a fresh ladder when the
account moves stage, `on_blocked` for a step no channel can carry, and timing deferrals that
never spend the ladder."""

from __future__ import annotations

import dataclasses
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from outreachd import inspect_plans
from outreachd.core.model import Channel
from outreachd.dispatch import (
    NO_STAGE_YET,
    STAGE_COMPLETE,
    STEP_ADVANCED,
    STEP_SKIPPED,
    STRATEGY_COMPLETE,
)
from outreachd.ledger.store import Ledger
from outreachd.strategy import OnBlocked, Stage, Step, Strategy
from tests.integration.test_dispatch import (
    NOW,
    Recorder,
    Rig,
    cn_row,
    drain,
    resweep,
    rig,
    sent_templates,
)

SMS, EMAIL = Channel.SMS, Channel.EMAIL
LADDER = Strategy(
    stages=(
        Stage("early", 1, 60, (
            Step((SMS, EMAIL), "first_reminder", wait_days=2),
            Step((EMAIL, SMS), "follow_up", wait_days=5),
        )),
        Stage("late", 61, None, (Step((EMAIL,), "follow_up", wait_days=7),)),
    )
)  # fmt: skip


def with_strategy(r: Rig, strategy: Strategy) -> Rig:
    r.cfg = dataclasses.replace(r.cfg, strategy=strategy)
    return r


def row(borrower: int, days: int = 30, email: bool = True) -> dict[str, Any]:
    out = cn_row(borrower, 1)
    out["debt"]["days_past_due"] = days
    if not email:
        out["borrower"]["emails"] = []
    return out


def test_a_ladder_step_by_step_then_the_next_stage(ledger: Ledger, tmp_path: Path) -> None:
    r = with_strategy(rig(ledger, tmp_path, [row(1)], batch=10), LADDER)
    channel = Recorder()
    assert drain(r.dispatcher(channel), NOW).sent == 1
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.stage, plan.step) == ("early", 1)
    assert plan.next_due_at == NOW + timedelta(days=2)
    assert drain(r.dispatcher(channel), NOW + timedelta(days=1)).claimed == 0  # waiting
    second = NOW + timedelta(days=2)
    assert drain(r.dispatcher(channel), second).sent == 1
    plan = ledger.plan("CN-0001-1")
    # the ladder is done: the late stage begins when the account is 61 days late, 31 days
    # after the source said 30 (the days past due count on without a new read)
    assert plan is not None and plan.reasons == (STAGE_COMPLETE,)
    assert plan.next_due_at == NOW + timedelta(days=31) and plan.status == "due"
    later = NOW + timedelta(days=31)
    resweep(r, tmp_path, [row(1, days=61)], later - timedelta(hours=1))
    assert drain(r.dispatcher(channel), later).sent == 1
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.status, plan.reasons) == ("done", (STRATEGY_COMPLETE,))
    assert sent_templates(channel) == [
        "zh-CN/sms/first_reminder", "zh-CN/email/follow_up", "zh-CN/email/follow_up"
    ]  # fmt: skip
    stages = [e["template"] for e in r.events()]
    assert stages == sent_templates(channel)


def test_an_account_that_moves_stage_starts_that_stage_s_ladder(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Half-way through the early ladder the source says 61 days: the next contact is the late
    stage's first step, not the early stage's second."""
    r = with_strategy(rig(ledger, tmp_path, [row(1)], batch=10), LADDER)
    channel = Recorder()
    drain(r.dispatcher(channel), NOW)
    resweep(r, tmp_path, [row(1, days=61)], NOW + timedelta(days=1))
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and plan.next_due_at == NOW + timedelta(days=2)  # not pulled forward
    drain(r.dispatcher(channel), NOW + timedelta(days=2))
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and plan.stage == "late" and plan.status == "done"
    assert sent_templates(channel)[-1] == "zh-CN/email/follow_up"


def _email_first(on_blocked: OnBlocked) -> Strategy:
    return Strategy(
        stages=(
            Stage("only", 1, None, (
                Step((EMAIL,), "first_reminder", wait_days=4, on_blocked=on_blocked),
                Step((SMS,), "follow_up", wait_days=4),
            )),
        )
    )  # fmt: skip


def test_on_blocked_defer_stops_the_plan_as_blocked(ledger: Ledger, tmp_path: Path) -> None:
    r = with_strategy(rig(ledger, tmp_path, [row(1, email=False)], batch=10), _email_first(
        OnBlocked.DEFER))  # fmt: skip
    channel = Recorder()
    assert drain(r.dispatcher(channel), NOW).blocked == 1 and channel.sent == []
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.status, plan.stage, plan.step) == ("blocked", "only", 0)
    assert plan.reasons == ("NO-CONTACT-POINT",)
    (line,) = r.log.named("outreach_blocked")
    assert (line["stage"], line["step"], line["on_blocked"]) == ("only", 0, "defer")


def test_on_blocked_skip_waits_then_takes_the_next_step(ledger: Ledger, tmp_path: Path) -> None:
    r = with_strategy(rig(ledger, tmp_path, [row(1, email=False)], batch=10), _email_first(
        OnBlocked.SKIP))  # fmt: skip
    channel = Recorder()
    drain(r.dispatcher(channel), NOW)
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.status, plan.step) == ("due", 1)
    assert plan.reasons == (STEP_SKIPPED, "NO-CONTACT-POINT")
    assert plan.next_due_at == NOW + timedelta(days=4) and channel.sent == []
    drain(r.dispatcher(channel), NOW + timedelta(days=4))
    assert sent_templates(channel) == ["zh-CN/sms/follow_up"]


def test_on_blocked_advance_takes_the_next_step_now(ledger: Ledger, tmp_path: Path) -> None:
    r = with_strategy(rig(ledger, tmp_path, [row(1, email=False)], batch=10), _email_first(
        OnBlocked.ADVANCE))  # fmt: skip
    channel = Recorder()
    stats = r.dispatcher(channel).tick(NOW)
    assert (stats.blocked, stats.sent) == (1, 0)
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.status, plan.step, plan.next_due_at) == ("due", 1, NOW)
    assert plan.reasons == (STEP_ADVANCED, "NO-CONTACT-POINT")
    assert r.dispatcher(channel).tick(NOW).sent == 1
    assert sent_templates(channel) == ["zh-CN/sms/follow_up"]


def test_a_timing_deferral_never_spends_the_ladder(ledger: Ledger, tmp_path: Path) -> None:
    """At 23:00 in Shanghai the first step waits for the morning, on `skip` too: it is sent
    then, as step 0, and the ladder goes on from there."""
    night = NOW + timedelta(hours=13)  # Tuesday 23:00 Shanghai
    strategy = _email_first(OnBlocked.SKIP)
    r = with_strategy(rig(ledger, tmp_path, [row(1)], batch=10), strategy)
    channel = Recorder()
    stats = drain(r.dispatcher(channel), night)
    assert (stats.deferred, stats.sent) == (1, 0)
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.status, plan.step) == ("due", 0)
    assert plan.next_due_at is not None and plan.next_due_at > night
    drain(r.dispatcher(channel), plan.next_due_at)
    assert sent_templates(channel) == ["zh-CN/email/first_reminder"]
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and plan.step == 1


def test_before_the_first_stage_nothing_is_sent(ledger: Ledger, tmp_path: Path) -> None:
    r = with_strategy(rig(ledger, tmp_path, [row(1, days=0)], batch=10), LADDER)
    channel = Recorder()
    assert drain(r.dispatcher(channel), NOW).sent == 0
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and plan.reasons == (NO_STAGE_YET,)
    assert plan.next_due_at == NOW + timedelta(days=1)
    resweep(r, tmp_path, [row(1, days=1)], NOW + timedelta(hours=20))
    assert drain(r.dispatcher(channel), NOW + timedelta(days=1)).sent == 1
    assert sent_templates(channel) == ["zh-CN/sms/first_reminder"]


def test_plan_tells_where_the_account_stands_on_its_strategy(
    ledger: Ledger, tmp_path: Path
) -> None:
    """`outreachd plan --account`: the stage and step, what the step sends by which channels,
    the last reasons, then the decision; between stages, when the next one begins."""
    r = with_strategy(rig(ledger, tmp_path, [row(1)], batch=10), LADDER)
    drain(r.dispatcher(Recorder()), NOW)

    def shown(at: datetime) -> str:
        out = io.StringIO()
        assert inspect_plans.show(r.cfg, at=at, account="CN-0001-1", out=out) == 0
        return out.getvalue()

    line = shown(NOW)
    assert "plan=due stage=early step=1 days_past_due=30 due=2026-12-03T02:00Z" in line
    assert "-> stage early step 1: follow_up by email/sms, then wait 5d, on_blocked=defer" in line
    assert ": allow email:e1 zh-CN/email/follow_up" in line
    drain(r.dispatcher(Recorder()), NOW + timedelta(days=2))
    line = shown(NOW + timedelta(days=2))
    assert f"(last: {STAGE_COMPLETE})" in line
    # the days past due count on (32 now); the plan waits for the late stage, 61 days late,
    # and is decided as it will be then
    assert "days_past_due=32 due=2027-01-01T02:00Z" in line
    assert "-> stage late step 0: follow_up by email, then wait 7d" in line


def test_the_borrower_s_preferred_channel_and_hours_win_where_lawful(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Borrower 1 prefers e-mail (the step's first channel is SMS); borrower 2 prefers
    18:00-20:00 (Shanghai; NOW is 10:00 there): the first gets an e-mail now, the second
    waits for 18:00, and `outreachd plan` names the preference."""
    by_email, evenings = row(1), row(2)
    by_email["borrower"]["preferences"] = {"channel": "email"}
    evenings["borrower"]["preferences"] = {"from": "18:00", "to": "20:00"}
    r = with_strategy(rig(ledger, tmp_path, [by_email, evenings], batch=10), LADDER)
    channel = Recorder()
    assert drain(r.dispatcher(channel), NOW).sent == 1
    assert sent_templates(channel) == ["zh-CN/email/first_reminder"]
    plan = ledger.plan("CN-0002-1")
    six_pm = NOW + timedelta(hours=8)  # 18:00 in Shanghai
    assert plan is not None and (plan.next_due_at, plan.reasons) == (
        six_pm, ("BORROWER-PREFERRED-HOURS",)
    )  # fmt: skip
    out = io.StringIO()
    assert inspect_plans.show(r.cfg, at=NOW, account="CN-0002-1", out=out) == 0
    assert "BORROWER-PREFERRED-HOURS" in out.getvalue()
    assert drain(r.dispatcher(channel), six_pm).sent == 1
    assert sent_templates(channel)[-1] == "zh-CN/sms/first_reminder"
