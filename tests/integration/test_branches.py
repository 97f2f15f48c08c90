"""Branches on both ledgers: hardship pauses the ladder after one offer (and a hand-off);
a promise to pay holds collection until its day, reminds once on it, and the ladder resumes
the day after if unpaid; a payment gets one receipt, then silence. The instalment figures
are exact and come from the balance."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from outreachd import branches, inspect_plans, messages
from outreachd.core.model import Channel
from outreachd.ledger.store import Ledger
from outreachd.render import Renderer
from outreachd.sources import records
from outreachd.strategy import Strategy
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

SHANGHAI_DAY = timedelta(days=1)


def row(borrower: int = 1, debt: int = 1, **flags: Any) -> dict[str, Any]:
    out = cn_row(borrower, debt)
    out["flags"] = flags
    return out


def shown(r: Rig, account: str, at: datetime) -> str:
    """What `outreachd plan --account` says."""
    out = io.StringIO()
    assert inspect_plans.show(r.cfg, at=at, account=account, out=out) == 0
    return out.getvalue()


def handoffs(r: Rig) -> list[dict[str, Any]]:
    return [x for x in r.ledger.export() if x["record"] == "handoff"]


# --- hardship ---------------------------------------------------------------------------------


def test_hardship_sends_one_offer_opens_a_hand_off_and_pauses(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Three debts of one borrower with hardship: one offer (not one per debt), one hand-off,
    every plan paused; nothing more however long we wait."""
    r = rig(ledger, tmp_path, [row(1, d, hardship=True) for d in (1, 2, 3)], batch=10)
    channel = Recorder()
    drain(r.dispatcher(channel), NOW)
    assert sent_templates(channel) == ["zh-CN/sms/hardship_offer"]
    (task,) = handoffs(r)
    assert task["kind"] == branches.OFFER_HANDOFF and task["borrower_id"] == "CN-0001"
    plans = ledger.plans()
    assert {(p.status, p.reasons) for p in plans} == {("blocked", (branches.HARDSHIP_PAUSED,))}
    assert {(p.stage, p.step) for p in plans} == {(branches.HARDSHIP, 1)}  # all resume at 0
    for days in (1, 5, 30):
        assert drain(r.dispatcher(channel), NOW + timedelta(days=days)).sent == 0
    assert "no step to take; paused [HARDSHIP-PAUSED]" in shown(r, "CN-0001-2", NOW)
    body = channel.sent[0].message.body
    assert "¥10.15" in body and "6个月分期" in body  # 10 % of ¥101.50, exactly


def test_a_borrower_who_can_only_be_called_hears_the_hardship_offer(
    ledger: Ledger, tmp_path: Path
) -> None:
    """No mobile and no e-mail: the offer is the call version (text is preferred when there
    is one); the ladder pauses all the same."""
    only_landline = row(1, hardship=True)
    only_landline["borrower"]["phones"] = [
        {"id": "l1", "kind": "landline_home", "number": "+862161234567"}
    ]
    only_landline["borrower"]["emails"] = []
    r = rig(ledger, tmp_path, [only_landline], batch=10)
    channel = Recorder()
    drain(r.dispatcher(channel), NOW)
    assert sent_templates(channel) == ["zh-CN/call/hardship_offer"]
    message = channel.sent[0].message
    assert "¥10.15" in message.body and message.voicemail and "¥" not in message.voicemail
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and plan.reasons == (branches.HARDSHIP_PAUSED,)


def test_hardship_learned_later_replaces_the_ladder_and_its_clearing_resumes_it(
    ledger: Ledger, tmp_path: Path
) -> None:
    """An operator records hardship mid-ladder: the waiting plan is decided now and the offer
    goes out; when the operator clears it, the ladder starts again from its stage's first step."""
    r = rig(ledger, tmp_path, [row(1)], batch=10)
    channel = Recorder()
    drain(r.dispatcher(channel), NOW)
    assert sent_templates(channel) == ["zh-CN/sms/first_reminder"]
    later = NOW + timedelta(hours=5)  # 15:00 in Shanghai, the ladder waits 3 days
    with ledger.borrower_txn("CN-0001") as txn:
        txn.add_flag("hardship", True, "agent: lost job", later)
        assert txn.reopen(later, waiting=True) == 1
    drain(r.dispatcher(channel), later)
    assert sent_templates(channel)[-1] == "zh-CN/email/hardship_offer"  # SMS cap: 1 a day
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.status, plan.stage) == ("blocked", branches.HARDSHIP)
    cleared = NOW + timedelta(days=10)
    with ledger.borrower_txn("CN-0001") as txn:
        txn.add_flag("hardship", False, "agent: back at work", cleared)
        assert txn.reopen(cleared) == 1
    drain(r.dispatcher(channel), cleared)
    assert sent_templates(channel)[-1] == "zh-CN/sms/first_reminder"
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.stage, plan.step) == ("all", 1)


def test_the_offer_s_figures_are_exact_in_every_locale(ledger: Ledger, tmp_path: Path) -> None:
    r = rig(ledger, tmp_path, [row(1)], batch=10)

    payload = ledger.account_payload("CN-0001-1")
    assert payload is not None
    rec = records.parse_payload(payload)
    rec = dataclasses.replace(rec, debt=dataclasses.replace(rec.debt, balance=Decimal("1280.50")))
    values = messages.variables(rec, r.cfg.company[rec.borrower.residence.country], at=NOW)
    assert (values["down_payment"], values["monthly_payment"], values["last_payment"]) == (
        "¥128.05", "¥192.07", "¥192.10")  # fmt: skip
    text = Renderer(r.cfg.templates).render("zh-CN/email/hardship_offer", values).body
    assert "先还¥128.05" in text and "每月\n  ¥192.07" in text and "最后一个月¥192.10" in text


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_instalments_add_up_to_the_balance_exactly(balance: Decimal) -> None:
    plan = branches.instalments(balance)
    assert plan.down + plan.monthly * (plan.months - 1) + plan.last == balance
    assert plan.down == (balance / 10).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert 0 <= plan.last - plan.monthly < Decimal("0.01") * plan.months
    assert min(plan.down, plan.monthly, plan.last) >= 0


# --- promise to pay ---------------------------------------------------------------------------

PAY_BY = "2026-12-04"  # Friday; NOW is Tuesday 10:00 in Shanghai
PAY_DAY = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # 4 December 00:00 in Shanghai
PROMISE = {"recorded_on": "2026-11-30", "pay_by": PAY_BY}


def test_a_kept_promise_confirmed_reminded_on_the_day_then_a_receipt_then_silence(
    ledger: Ledger, tmp_path: Path
) -> None:
    r = rig(ledger, tmp_path, [row(1, promise_to_pay=PROMISE)], batch=10)
    channel = Recorder()
    assert drain(r.dispatcher(channel), NOW).sent == 1
    assert sent_templates(channel) == ["zh-CN/sms/promise_confirmation"]
    assert "12月4日" in channel.sent[0].message.body
    (confirmation,) = r.events()
    assert confirmation["purpose"] == "transactional"  # what the borrower said, confirmed
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and plan.reasons == (branches.PROMISE_WAIT,)
    assert plan.next_due_at == PAY_DAY
    # decided when it falls due: the reminder, held by the house rule until 09:00 that day
    said = shown(r, "CN-0001-1", NOW + timedelta(hours=1))
    assert "(last: PROMISE-WAIT) -> stage promise_to_pay step 1: promise_reminder" in said
    assert "defer sms:m1 zh-CN/sms/promise_reminder until 2026-12-04T09:00" in said
    for hours in (5, 30, 60):  # nothing at all before the promised day
        assert drain(r.dispatcher(channel), NOW + timedelta(hours=hours)).claimed == 0
    drain(r.dispatcher(channel), PAY_DAY)  # midnight: the house rule waits for 09:00, SMS only
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and plan.next_due_at == PAY_DAY + timedelta(hours=9)
    drain(r.dispatcher(channel), plan.next_due_at)
    assert sent_templates(channel)[-1] == "zh-CN/sms/promise_reminder"
    assert r.events()[-1]["purpose"] == "collection"
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and plan.reasons == (branches.PROMISE_REMINDED,)
    assert plan.next_due_at == PAY_DAY + SHANGHAI_DAY
    assert drain(r.dispatcher(channel), PAY_DAY + timedelta(hours=15)).sent == 0  # one only
    paid = row(1, promise_to_pay=PROMISE)
    paid["debt"]["balance"] = "0.00"
    resweep(r, tmp_path, [paid], PAY_DAY + timedelta(hours=20))
    drain(r.dispatcher(channel), PAY_DAY + SHANGHAI_DAY + timedelta(hours=10))
    assert sent_templates(channel)[-1] == "zh-CN/email/receipt"
    receipt = r.events()[-1]
    assert receipt["purpose"] == "transactional"
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.status, plan.reasons) == ("done", (branches.PAID_DONE,))
    assert drain(r.dispatcher(channel), PAY_DAY + timedelta(days=30)).claimed == 0
    assert len(channel.sent) == 3


def test_a_broken_promise_resumes_the_ladder_the_day_after(ledger: Ledger, tmp_path: Path) -> None:
    r = rig(ledger, tmp_path, [row(1, promise_to_pay=PROMISE)], batch=10)
    channel = Recorder()
    drain(r.dispatcher(channel), NOW)
    drain(r.dispatcher(channel), PAY_DAY + timedelta(hours=9))
    assert sent_templates(channel) == [
        "zh-CN/sms/promise_confirmation",
        "zh-CN/sms/promise_reminder",
    ]
    day_after = PAY_DAY + SHANGHAI_DAY + timedelta(hours=10)  # Saturday 10:00 Shanghai
    drain(r.dispatcher(channel), day_after)
    assert sent_templates(channel)[-1] == "zh-CN/sms/first_reminder"
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.stage, plan.step) == ("all", 1)


def test_a_promise_that_appears_in_the_source_is_confirmed_at_once(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Mid-ladder (the next step 3 days away), the source starts to show a promise: the next
    sweep makes the plan due, the confirmation goes out then, and the plan waits for the
    promised day. A later change of the row does not confirm again."""
    r = rig(ledger, tmp_path, [row(1)], batch=10)
    channel = Recorder()
    drain(r.dispatcher(channel), NOW)
    assert sent_templates(channel) == ["zh-CN/sms/first_reminder"]
    later = NOW + timedelta(days=1)  # 10:00 in Shanghai the next day
    resweep(r, tmp_path, [row(1, promise_to_pay=PROMISE)], later)
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and plan.next_due_at == later
    drain(r.dispatcher(channel), later)
    assert sent_templates(channel)[-1] == "zh-CN/sms/promise_confirmation"
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.reasons, plan.next_due_at) == (
        (branches.PROMISE_WAIT,), PAY_DAY
    )  # fmt: skip
    changed = row(1, promise_to_pay=PROMISE)
    changed["debt"]["balance"] = "99.00"
    resweep(r, tmp_path, [changed], later + timedelta(hours=1))
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and plan.next_due_at == PAY_DAY  # not pulled forward again


# --- payment ----------------------------------------------------------------------------------


def test_a_paid_account_gets_one_receipt_and_is_never_contacted_again(
    ledger: Ledger, tmp_path: Path
) -> None:
    paid = row(1)
    paid["debt"]["balance"] = "0.00"
    r = rig(ledger, tmp_path, [paid], batch=10)
    channel = Recorder()
    drain(r.dispatcher(channel), NOW)
    assert sent_templates(channel) == ["zh-CN/email/receipt"]
    (event,) = r.events()
    assert (event["purpose"], event["template"]) == ("transactional", "zh-CN/email/receipt")
    for days in (1, 7, 60):
        assert drain(r.dispatcher(channel), NOW + timedelta(days=days)).claimed == 0
    out = io.StringIO()
    inspect_plans.show(r.cfg, at=NOW + timedelta(days=1), account="CN-0001-1", out=out)
    assert f"done [{branches.PAID_DONE}]" in out.getvalue()


# --- final notice before legal referral -------------------------------------------------------

ONE_STEP = Strategy.single((Channel.SMS, Channel.EMAIL), "first_reminder", 1, max_steps=1)


def _decide(r: Rig, task_id: int, approve: bool) -> tuple[int, str]:
    out = io.StringIO()
    code = inspect_plans.decide_handoff(
        r.cfg, task_id=task_id, approve=approve, by="J. Rivera (collections lead)", out=out
    )
    return code, out.getvalue()


def completed(ledger: Ledger, tmp_path: Path) -> tuple[Rig, Recorder]:
    """One CN account whose one-step strategy is done (its first reminder sent)."""
    r = rig(ledger, tmp_path, [row(1)], batch=10)
    r.cfg = dataclasses.replace(r.cfg, strategy=ONE_STEP)
    channel = Recorder()
    drain(r.dispatcher(channel), NOW)
    return r, channel


def test_a_completed_strategy_asks_a_person_and_nothing_goes_out_meanwhile(
    ledger: Ledger, tmp_path: Path
) -> None:
    r, channel = completed(ledger, tmp_path)
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.status, plan.reasons) == ("done", ("STRATEGY-COMPLETE",))
    (task,) = ledger.handoff_tasks()
    assert (task["kind"], task["account_id"]) == (branches.REVIEW_HANDOFF, "CN-0001-1")
    for days in (1, 10, 60):
        assert drain(r.dispatcher(channel), NOW + timedelta(days=days)).claimed == 0
    assert sent_templates(channel) == ["zh-CN/sms/first_reminder"]
    assert _decide(r, task["id"], approve=False)[0] == 0  # closed: not approved
    assert ledger.handoff_tasks() == [] and drain(r.dispatcher(channel), NOW).claimed == 0


def test_the_final_notice_goes_out_once_after_a_person_approves_it(
    ledger: Ledger, tmp_path: Path
) -> None:
    r, channel = completed(ledger, tmp_path)
    (task,) = ledger.handoff_tasks()
    code, said = _decide(r, task["id"], approve=True)
    assert code == 0 and "approved by J. Rivera" in said
    (decided,) = ledger.handoff_tasks("approved")
    assert "approved by J. Rivera (collections lead) at" in decided["reason"]
    later = NOW + timedelta(days=1)
    drain(r.dispatcher(channel), later)
    assert sent_templates(channel)[-1] == "zh-CN/email/final_notice"
    assert "诉讼" in channel.sent[-1].message.body
    plan = ledger.plan("CN-0001-1")
    assert plan is not None and (plan.status, plan.reasons) == (
        "done", (branches.FINAL_NOTICE_SENT,))  # fmt: skip
    assert drain(r.dispatcher(channel), later + timedelta(days=30)).claimed == 0
    assert len(channel.sent) == 2
    assert _decide(r, task["id"], approve=True)[0] == 1  # decided already


def test_only_a_legal_referral_review_can_be_approved(ledger: Ledger, tmp_path: Path) -> None:
    r = rig(ledger, tmp_path, [row(1, hardship=True)], batch=10)
    drain(r.dispatcher(Recorder()), NOW)
    (task,) = ledger.handoff_tasks()
    code, said = _decide(r, task["id"], approve=True)
    assert code == 2 and "only a legal_referral_review can be approved" in said
    assert ledger.handoff_tasks()[0]["status"] == "open"


def test_a_time_barred_debt_never_gets_the_final_notice(ledger: Ledger, tmp_path: Path) -> None:
    """Approved or not, the US pack refuses a suit threat on a time-barred debt (12 CFR
    1006.26(b)): the final notice is blocked, nothing is sent."""
    us = {
        "account_id": "US-0001-1", "borrower_id": "US-0001", "locale": "en-US",
        "borrower": {
            "name": {"given": "Ana", "family": "Diaz"},
            "residence": {"country": "US", "state": "TX", "tz": "America/Chicago"},
            "emails": [{"id": "e1", "kind": "personal", "address": "ana@example.net",
                        "regf_procedure": "consumer_used"}],
        },
        "debt": {"creditor": "Acme Bank", "balance": "900.00", "currency": "USD",
                 "days_past_due": 2000},
        "flags": {"time_barred": True},
    }  # fmt: skip
    r = rig(ledger, tmp_path, [us], batch=10)
    r.cfg = dataclasses.replace(r.cfg, strategy=ONE_STEP)
    channel = Recorder()
    texas_noon = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    drain(r.dispatcher(channel), texas_noon)
    assert sent_templates(channel) == ["en-US/email/first_reminder"]
    (task,) = ledger.handoff_tasks()
    assert _decide(r, task["id"], approve=True)[0] == 0
    stats = drain(r.dispatcher(channel), texas_noon + timedelta(days=8))
    assert (stats.sent, stats.blocked) == (0, 1)
    plan = ledger.plan("US-0001-1")
    assert plan is not None and plan.status == "blocked"
    assert "TIME-BARRED-NO-SUIT-THREAT" in plan.reasons
