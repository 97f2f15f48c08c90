"""The dispatcher on both ledgers: a chunk of plans decided in one transaction must behave
exactly like plans decided one by one (caps see the attempts reserved earlier in the chunk),
every send's fate is recorded, and one bad plan never stops the others."""

from __future__ import annotations

import collections
import dataclasses
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from outreachd import config
from outreachd.channels.base import Envelope, Receipt, SendError
from outreachd.channels.outbox import Outbox
from outreachd.channels.router import Router
from outreachd.core.model import Channel, Outcome
from outreachd.dispatch import (
    CHUNK_SECONDS,
    DISPATCH_ERROR,
    FIRST_CHUNK,
    RETRY_AFTER_ERROR,
    Dispatcher,
    TickStats,
)
from outreachd.ledger import schema
from outreachd.ledger.schema import LedgerError
from outreachd.ledger.store import Ledger
from outreachd.render import Renderer
from outreachd.sources.jsonl import JsonlSource
from outreachd.sweep import sweep
from tests.acceptance.daemon_kit import write_config

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
CN_SMS_CAP, CN_EMAIL_CAP = "CN-HOUSE-SMS-1PD", "CN-HOUSE-EMAIL-1PD"


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append((event, fields))

    warning = error = info

    def named(self, event: str) -> list[dict[str, Any]]:
        return [fields for name, fields in self.lines if name == event]


def cn_row(borrower: int, debt: int) -> dict[str, Any]:
    """A CN borrower's debt row: one mobile (SMS) and one personal e-mail address."""
    return {
        "account_id": f"CN-{borrower:04d}-{debt}",
        "borrower_id": f"CN-{borrower:04d}",
        "locale": "zh-CN",
        "borrower": {
            "name": {"given": "军", "family": "孙"},
            "residence": {"country": "CN", "city": "杭州", "tz": "Asia/Shanghai"},
            "phones": [{"id": "m1", "kind": "mobile", "number": f"+86138870{borrower:05d}"}],
            "emails": [
                {
                    "id": "e1",
                    "kind": "personal",
                    "address": f"b{borrower}@example.net",
                    "regf_procedure": "consumer_used",
                }
            ],
        },
        "debt": {
            "creditor": "示例消费金融有限公司",
            "balance": f"{100 + debt}.50",
            "currency": "CNY",
            "days_past_due": 30,
            "product": "consumer_loan",
        },
    }


class Recorder:
    """A channel that keeps every envelope; `fail(envelope)` may raise instead of sending."""

    def __init__(self, fail: Callable[[Envelope], None] = lambda _: None) -> None:
        self.sent: list[Envelope] = []
        self.fail = fail

    def send(self, envelope: Envelope) -> Receipt:
        self.fail(envelope)
        self.sent.append(envelope)
        sms = envelope.message.channel.value == "sms"
        outcome = Outcome.SMS_SENT if sms else Outcome.EMAIL_SENT
        return Receipt(outcome=outcome, provider_id=f"P-{envelope.attempt_id}")


@dataclasses.dataclass
class Rig:
    ledger: Ledger
    cfg: config.Config
    log: Log

    def dispatcher(
        self, channel: Any, owner: str = "test-owner", timer: Callable[[], float] | None = None
    ) -> Dispatcher:
        return Dispatcher(
            ledger=self.ledger, config=self.cfg, renderer=Renderer(self.cfg.templates),
            channel=channel, owner=owner, log=self.log, **({"timer": timer} if timer else {}),
        )  # fmt: skip

    def events(self) -> list[dict[str, Any]]:
        return [r for r in self.ledger.export() if r["record"] == "event"]

    def leases(self) -> dict[str, str | None]:
        with self.ledger._engine.connect() as conn:
            rows = conn.execute(select(schema.plans.c.account_id, schema.plans.c.lease_owner))
            return {account: owner for account, owner in rows}


def rig(ledger: Ledger, tmp_path: Path, rows: list[dict[str, Any]], batch: int) -> Rig:
    write_config(tmp_path / "outreachd.yaml", batch=batch)
    cfg = config.load(tmp_path / "outreachd.yaml")
    cfg = dataclasses.replace(cfg, ledger_url=ledger.url, outbox=tmp_path / "outbox.jsonl")
    path = tmp_path / "portfolio.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    log = Log()
    stats = sweep(source=JsonlSource(path), ledger=ledger, now=NOW, log=log)
    assert stats.rejected == 0 and stats.planned == len(rows)
    return Rig(ledger=ledger, cfg=cfg, log=log)


def resweep(r: Rig, tmp_path: Path, rows: list[dict[str, Any]], now: datetime) -> None:
    """The source read again (days past due moved on, a balance paid...)."""
    path = tmp_path / "portfolio.jsonl"
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows))
    sweep(source=JsonlSource(path), ledger=r.ledger, now=now, log=r.log)


def sent_templates(channel: Recorder) -> list[str]:
    return [e.message.template_id for e in channel.sent]


def drain(dispatcher: Dispatcher, now: datetime) -> TickStats:
    total = TickStats()
    while (stats := dispatcher.tick(now)).claimed:
        for f in ("claimed", "sent", "deferred", "blocked", "failed", "unknown", "errors"):
            setattr(total, f, getattr(total, f) + getattr(stats, f))
    return total


@pytest.mark.parametrize("batch", [1, 50], ids=["one-per-tick", "one-chunk"])
def test_caps_count_attempts_reserved_earlier_in_the_same_chunk(
    ledger: Ledger, tmp_path: Path, batch: int
) -> None:
    """Three debts of one CN borrower due at once: one SMS and one e-mail (1 per day each),
    the third deferred by the caps; decided in one chunk or one by one, the same outcome."""
    rows = [cn_row(1, debt) for debt in (1, 2, 3)] + [cn_row(2, 1)]
    r = rig(ledger, tmp_path, rows, batch)
    channel = Recorder()
    stats = drain(r.dispatcher(channel), NOW)
    per_channel = collections.Counter(
        (e.borrower_id, e.message.channel.value) for e in channel.sent
    )
    assert per_channel == {("CN-0001", "sms"): 1, ("CN-0001", "email"): 1, ("CN-0002", "sms"): 1}
    assert (stats.claimed, stats.sent, stats.deferred, stats.blocked) == (4, 3, 1, 0)
    waiting = [p for p in ledger.plans(status="due") if p.step == 0]
    assert len(waiting) == 1 and waiting[0].borrower_id == "CN-0001"
    assert waiting[0].next_due_at is not None and waiting[0].next_due_at > NOW
    assert set(waiting[0].reasons) & {CN_SMS_CAP, CN_EMAIL_CAP}
    assert drain(r.dispatcher(channel), NOW).claimed == 0  # nothing else is due now
    assert all(owner is None for owner in r.leases().values())
    statuses = collections.Counter(e["status"] for e in r.events())
    assert statuses == {"sent": 3}


def test_every_send_fate_is_recorded_and_nothing_is_left_sending(
    ledger: Ledger, tmp_path: Path
) -> None:
    """A refused send is 'failed', a send of unknown fate and an unexpected exception are
    'unknown' (they count toward caps); the rest of the chunk is still sent and recorded."""
    rows = [cn_row(b, 1) for b in range(1, 6)]
    r = rig(ledger, tmp_path, rows, batch=50)

    def fail(envelope: Envelope) -> None:
        match envelope.borrower_id:
            case "CN-0001":
                raise SendError("rejected: invalid number", sent_unknown=False)
            case "CN-0002":
                raise SendError("timeout after request", sent_unknown=True)
            case "CN-0003":
                raise RuntimeError("bug in a channel")

    stats = r.dispatcher(Recorder(fail)).tick(NOW)
    assert (stats.sent, stats.failed, stats.unknown, stats.errors) == (2, 1, 2, 1)
    by_borrower = {e["borrower_id"]: e for e in r.events()}
    assert {b: e["status"] for b, e in by_borrower.items()} == {
        "CN-0001": "failed", "CN-0002": "unknown", "CN-0003": "unknown",
        "CN-0004": "sent", "CN-0005": "sent",
    }  # fmt: skip
    assert by_borrower["CN-0004"]["provider_id"].startswith("P-")
    assert by_borrower["CN-0001"]["outcome"] == "failed"
    failed = r.log.named("outreach_failed")
    assert {f["borrower_id"] for f in failed} == {"CN-0001", "CN-0002", "CN-0003"}
    assert any("RuntimeError" in f["error"] for f in failed)


def test_a_plan_that_cannot_be_decided_is_retried_later_and_the_rest_proceed(
    ledger: Ledger, tmp_path: Path
) -> None:
    """A stored payload that no longer loads: that plan is deferred with DISPATCH-ERROR and
    its lease released; the other plans of the chunk are sent."""
    rows = [cn_row(b, 1) for b in range(1, 4)]
    r = rig(ledger, tmp_path, rows, batch=50)
    with ledger._engine.begin() as conn:
        conn.execute(
            update(schema.accounts)
            .where(schema.accounts.c.account_id == "CN-0002-1")
            .values(payload=json.dumps({"account_id": "CN-0002-1"}))
        )
    channel = Recorder()
    stats = r.dispatcher(channel).tick(NOW)
    assert (stats.claimed, stats.sent, stats.errors) == (3, 2, 1)
    assert {e.borrower_id for e in channel.sent} == {"CN-0001", "CN-0003"}
    plan = ledger.plan("CN-0002-1")
    assert plan is not None and plan.status == "due" and plan.reasons == (DISPATCH_ERROR,)
    assert plan.next_due_at == NOW + RETRY_AFTER_ERROR
    assert r.leases()["CN-0002-1"] is None
    (error,) = r.log.named("dispatch_error")
    assert error["account_id"] == "CN-0002-1" and "invalid payload" in error["error"]


def test_stopping_releases_what_was_not_decided(ledger: Ledger, tmp_path: Path) -> None:
    """SIGTERM before a chunk: its plans are released untouched (on PostgreSQL the batch
    was claimed under a lease first; SQLite claims a chunk only as it decides it, so none
    was taken), nothing is sent."""
    rows = [cn_row(b, 1) for b in range(1, 4)]
    r = rig(ledger, tmp_path, rows, batch=50)
    channel = Recorder()
    stats = r.dispatcher(channel).tick(NOW, stopping=lambda: True)
    assert stats.claimed == (3 if ledger.leases else 0)
    assert channel.sent == [] and r.events() == []
    assert all(owner is None for owner in r.leases().values())
    assert {p.next_due_at for p in ledger.plans(status="due")} == {NOW}


def test_later_chunks_are_decided_at_the_clock(ledger: Ledger, tmp_path: Path) -> None:
    """With a clock, a chunk after the first is decided (and stamped) at the clock's time,
    not at the tick's start: a slow batch never sends on a stale decision."""
    rows = [cn_row(b, 1) for b in range(1, 152)]  # FIRST_CHUNK, then the rest
    r = rig(ledger, tmp_path, rows, batch=500)
    later = NOW + timedelta(minutes=3)
    box = Outbox(tmp_path / "outbox.jsonl", latency=0.001)  # like a provider: not instant
    stats = r.dispatcher(box).tick(NOW, clock=lambda: later)
    assert stats.sent == 151
    sent_at = collections.Counter(e["at"] for e in r.events())
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    assert sent_at == {iso(NOW): FIRST_CHUNK, iso(later): 151 - FIRST_CHUNK}


class Batch(Recorder):
    """A batch channel double: `answer(envelopes)` is what send_many returns or raises."""

    def __init__(self, answer: Callable[[list[Envelope]], list[Receipt | Exception]]) -> None:
        super().__init__()
        self.answer = answer

    def send_many(self, envelopes: list[Envelope]) -> list[Receipt | Exception]:
        return self.answer(envelopes)


SENT, REFUSED = Receipt(outcome=Outcome.SMS_SENT), SendError("refused", sent_unknown=False)


def raise_disk_full(_: list[Envelope]) -> list[Receipt | Exception]:
    raise OSError("disk full")


@pytest.mark.parametrize(
    ("answer", "statuses"),
    [
        (lambda es: [SENT] * len(es), {"sent": 3}),
        (lambda es: [REFUSED, *[SENT] * (len(es) - 1)], {"failed": 1, "sent": 2}),
        (lambda es: [SENT], {"unknown": 3}),  # an answer for one message of three
        (raise_disk_full, {"unknown": 3}),
    ],
    ids=["all-sent", "one-refused", "wrong-count", "raises"],
)
def test_a_batch_channel_gets_the_chunk_and_every_fate_is_recorded(
    ledger: Ledger, tmp_path: Path, answer: Any, statuses: dict[str, int]
) -> None:
    """send_many is used when the channel has it; a batch that raises, or answers for the
    wrong number of messages, leaves every attempt 'unknown' (counted, never re-sent)."""
    r = rig(ledger, tmp_path, [cn_row(b, 1) for b in range(1, 4)], batch=50)
    r.dispatcher(Batch(answer)).tick(NOW)
    assert collections.Counter(e["status"] for e in r.events()) == statuses


def test_outbox_writes_a_chunk_as_whole_lines(tmp_path: Path, ledger: Ledger) -> None:
    """The outbox's batch path: one line per message, each with its attempt id."""
    r = rig(ledger, tmp_path, [cn_row(b, 1) for b in range(1, 6)], batch=50)
    box = Outbox(tmp_path / "box.jsonl")
    assert r.dispatcher(box).tick(NOW).sent == 5
    lines = [json.loads(x) for x in (tmp_path / "box.jsonl").read_text().splitlines()]
    assert sorted(x["attempt_id"] for x in lines) == sorted(e["id"] for e in r.events())
    assert all(x["body"].startswith("【某某银行】") for x in lines)


def test_what_the_ledger_learned_shapes_the_next_decision(ledger: Ledger, tmp_path: Path) -> None:
    """An SMS opt-out recorded in the ledger (of the medium, or of one number as a STOP reply
    records it) moves the contact to e-mail; a dispute recorded there blocks the borrower
    with the pack's rule, as if the source had said so."""
    r = rig(ledger, tmp_path, [cn_row(1, 1), cn_row(2, 1), cn_row(3, 1)], batch=50)
    with ledger.borrower_txn("CN-0001") as txn:
        txn.add_flag("medium_opt_outs", {"add": ["sms"]}, "operator", NOW)
    with ledger.borrower_txn("CN-0003") as txn:  # what a STOP reply records
        txn.add_flag("address_opt_outs", {"add": ["sms:m1"]}, "sms-reply:SM1", NOW)
    with ledger.borrower_txn("CN-0002") as txn:
        txn.add_flag("dispute_any_form", True, "agent call 2026-11-30", NOW)
    channel = Recorder()
    stats = r.dispatcher(channel).tick(NOW)
    assert sorted((e.borrower_id, e.message.channel.value) for e in channel.sent) == [
        ("CN-0001", "email"), ("CN-0003", "email"),
    ]  # fmt: skip
    assert stats.blocked == 1
    plan = ledger.plan("CN-0002-1")
    assert plan is not None and plan.status == "blocked" and "CN-DISPUTE" in plan.reasons


def test_a_plan_whose_lease_another_instance_took_is_not_handled_twice(
    ledger: Ledger, tmp_path: Path
) -> None:
    """Instance A claims a plan and stalls past its lease; B claims it and sends the step. When
    A comes back with its stale copy, the lease is no longer A's: A decides, sends and saves
    nothing for it (fencing), so the step is not sent twice and B's plan stands."""
    r = rig(ledger, tmp_path, [cn_row(1, 1)], batch=50)
    lease = timedelta(seconds=r.cfg.schedule.lease_seconds)
    stale = ledger.claim_due(NOW, "instance-a", lease, 50)
    assert [p.account_id for p in stale] == ["CN-0001-1"]
    later = NOW + lease + timedelta(seconds=1)
    b_sent, a_sent = Recorder(), Recorder()
    assert r.dispatcher(b_sent, owner="instance-b").tick(later).sent == 1
    after_b = ledger.plan("CN-0001-1")
    stats = r.dispatcher(a_sent, owner="instance-a").handle(stale, later)
    assert (stats.claimed, stats.lost, stats.sent, stats.deferred, stats.blocked) == (1, 1, 0, 0, 0)
    assert a_sent.sent == [] and len(b_sent.sent) == 1
    assert ledger.plan("CN-0001-1") == after_b and len(r.events()) == 1
    (line,) = r.log.named("plan_lease_lost")
    assert line["account_id"] == "CN-0001-1"


def test_two_dispatchers_ticking_at_once_send_each_step_once(
    ledger: Ledger, tmp_path: Path, another_ledger: Callable[[], Ledger]
) -> None:
    """Two instances on one ledger tick at the same moment, in small batches, until nothing
    is due: every due step goes out exactly once, between them. On SQLite each chunk is
    taken in the transaction that decides it, so no lease is ever written; on PostgreSQL
    the leases are cleared as each chunk commits."""
    rows = [cn_row(b, 1) for b in range(1, 41)]
    r = rig(ledger, tmp_path, rows, batch=7)
    channels = [Recorder(), Recorder()]
    start = threading.Barrier(2)

    def run(i: int) -> int:
        instance = dataclasses.replace(r, ledger=another_ledger())
        dispatcher = instance.dispatcher(channels[i], owner=f"instance-{i}")
        start.wait()
        return drain(dispatcher, NOW).claimed

    with ThreadPoolExecutor(2) as pool:
        claimed = list(pool.map(run, range(2)))
    sent = [e.account_id for channel in channels for e in channel.sent]
    assert sorted(sent) == sorted(row["account_id"] for row in rows)  # each once
    assert sum(claimed) == len(rows)  # (SQLite may let one of them take every chunk)
    assert len(r.events()) == len(rows)
    assert set(r.leases().values()) == {None}


def test_outcomes_the_ledger_could_not_take_are_recorded_when_it_returns(
    ledger: Ledger, tmp_path: Path, ledger_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger goes away while a chunk is out (SQLite: another process holds the write
    lock; PostgreSQL: the connection fails). The tick fails after sending; the attempts stay
    `sending` (counted), nothing is re-sent, and the next tick, once the ledger is back,
    records the outcomes first."""
    r = rig(ledger, tmp_path, [cn_row(b, 1) for b in (1, 2, 3)], batch=50)
    held: list[sqlite3.Connection] = []

    def ledger_goes_away(envelope: Envelope) -> None:
        if held or (ledger_kind == "postgresql" and ledger.__dict__.get("_write")):
            return
        if ledger_kind == "sqlite":
            conn = sqlite3.connect(ledger.url.removeprefix("sqlite:///"), timeout=0)
            conn.execute("BEGIN EXCLUSIVE")
            held.append(conn)
        else:
            monkeypatch.setattr(ledger, "_write", _failing)

    channel = Recorder(fail=ledger_goes_away)
    with pytest.raises(LedgerError):
        r.dispatcher(channel).tick(NOW)
    assert len(channel.sent) == 3 and ledger.unrecorded == 1
    for conn in held:
        conn.rollback()
        conn.close()
    monkeypatch.undo()
    assert collections.Counter(e["status"] for e in r.events()) == {"sending": 3}
    stats = r.dispatcher(channel).tick(NOW + timedelta(minutes=1))
    assert stats.claimed == 0 and ledger.unrecorded == 0
    assert collections.Counter(e["status"] for e in r.events()) == {"sent": 3}
    assert len(channel.sent) == 3  # nothing sent twice
    (line,) = r.log.named("outcomes_recorded_late")
    assert line["batches"] == 1


@contextmanager
def _failing(*locks: str) -> Iterator[Any]:
    raise LedgerError("ledger database error: connection lost (test)")
    yield  # pragma: no cover


class Batches(Recorder):
    """A batch channel that keeps the size of each batch it was given; each send takes
    `seconds` on `clock` (a fake timer, when given)."""

    def __init__(self, instant: bool, seconds: float = 0.0, clock: list[float] | None = None):
        super().__init__()
        self.instant, self.seconds, self.clock = instant, seconds, clock
        self.batches: list[int] = []

    def send_many(self, envelopes: list[Envelope]) -> list[Receipt | Exception]:
        self.batches.append(len(envelopes))
        if self.clock is not None:
            self.clock[0] += self.seconds * len(envelopes)
        return [self.send(e) for e in envelopes]


def test_chunks_are_about_a_second_of_sending(ledger: Ledger, tmp_path: Path) -> None:
    """A channel that takes time gets chunks of about CHUNK_SECONDS at its recent pace, each
    decided just before it is sent (FIRST_CHUNK until the pace is known): a provider at 50 ms
    a message gets 20 at a time, one paced at 1 a second gets 1 at a time."""
    r = rig(ledger, tmp_path, [cn_row(b, 1) for b in range(1, 301)], batch=150)
    clock = [0.0]
    quick = Batches(instant=False, seconds=0.05, clock=clock)
    dispatcher = r.dispatcher(quick, timer=lambda: clock[0])
    assert dispatcher.tick(NOW).sent == 150
    per = int(CHUNK_SECONDS / 0.05)
    assert quick.batches == [FIRST_CHUNK, *[per] * 7]
    assert dispatcher.pace == pytest.approx(0.05)
    paced = Batches(instant=False, seconds=1.0, clock=clock)
    dispatcher.channel = paced
    assert dispatcher.tick(NOW).sent == 150
    assert paced.batches[:2] == [per, 2] and set(paced.batches[2:]) == {1}  # it slowed down


def test_a_channel_that_sends_in_no_time_gets_the_whole_batch(
    ledger: Ledger, tmp_path: Path
) -> None:
    """An instant channel (the outbox) gets the claimed batch decided and sent at once: two
    commits instead of two per chunk. The same messages either way; the outbox is instant
    unless it has a latency, and a router only when every route is."""
    r = rig(ledger, tmp_path, [cn_row(b, 1) for b in range(1, 501)], batch=250)
    clock = [0.0]
    slow = Batches(instant=False, seconds=0.01, clock=clock)
    fast = Batches(instant=True)
    assert r.dispatcher(slow, timer=lambda: clock[0]).tick(NOW).sent == 250  # first batch
    assert slow.batches == [FIRST_CHUNK, 100, 100, 40]
    assert r.dispatcher(fast).tick(NOW).sent == 250  # the second
    assert fast.batches == [250]
    box = tmp_path / "o.jsonl"
    assert Outbox(box).instant and not Outbox(box, latency=0.1).instant
    assert Router({}, Outbox(box)).instant
    assert not Router({Channel.SMS: slow}, Outbox(box)).instant
