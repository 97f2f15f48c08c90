"""`outreachd simulate`: the real sweep and dispatcher over virtual time, with borrowers who
answer.

Nothing sleeps: the clock is an argument. Each virtual day the portfolio is re-read (days past
due one more, balances of those who paid at 0, promises an agent recorded), then the
dispatcher ticks every 15 minutes of the day into the outbox channel. After each message a
seeded model of the borrower decides what happens: nothing (most often), a STOP, a reply
about hardship, a promise to pay by a day (recorded as an agent would, on the account), or a
payment (kept promises mostly end that way). Replies go through the same path as Twilio's
webhook (`webhooks.receive_reply`).

Written to the output directory: `portfolio.jsonl` (as last read), `ledger.db`,
`outbox.jsonl`, `report.json` and `report.html`. The same inputs and seed give the same
outbox and report, byte for byte. The report's compliance audit does not use the engine: it
reads the outbox and checks what any lawful run must show (see `audit`).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezone

from outreachd import config, messages, replies, report_html
from outreachd.channels.outbox import Outbox
from outreachd.dispatch import Dispatcher
from outreachd.errors import ConfigError
from outreachd.ledger.store import Ledger
from outreachd.render import Renderer
from outreachd.sources.jsonl import JsonlSource
from outreachd.sweep import sweep
from outreachd.webhooks import Confirm, receive_reply

TICK = timedelta(minutes=15)
# what a borrower does after a message (per message; the rest: nothing)
P_STOP, P_HARDSHIP, P_PROMISE, P_PAY = 0.02, 0.02, 0.05, 0.04
P_KEEP = 0.7  # a promise kept: paid on the promised day
HARDSHIP_WORDS = {"en-US": "I lost my job", "en-GB": "I lost my job", "zh-CN": "我失业了"}
PROMISE_WORDS = {"en-US": "I'll pay Friday", "en-GB": "I'll pay Friday", "zh-CN": "我下周五还"}
COLLECTION = ("first_reminder", "follow_up")
# sent with purpose transactional (the packs' China caps do not count them, SCENARIOS.md 4.3)
TRANSACTIONAL = ("receipt", "promise_confirmation")


class Tally:
    """The daemon's logger interface, counting what the report needs."""

    def __init__(self) -> None:
        self.deferred: collections.Counter[str] = collections.Counter()
        self.blocked: collections.Counter[str] = collections.Counter()
        self.rejected = 0

    def info(self, event: str, **fields: Any) -> None:
        if event == "outreach_deferred":
            self.deferred.update(fields.get("rule_ids", ()))
        elif event == "outreach_blocked":
            self.blocked.update(fields.get("rule_ids", ()))

    def warning(self, event: str, **fields: Any) -> None:
        if event == "account_rejected":
            self.rejected += 1
        self.info(event, **fields)

    error = exception = warning


@dataclasses.dataclass
class World:
    """The simulated borrowers' side: the portfolio rows and what happened to them."""

    rows: dict[str, dict[str, Any]]  # account_id -> row (as the source will give it)
    rng: random.Random
    paid_on: dict[str, date] = dataclasses.field(default_factory=dict)  # account -> day
    promises: dict[str, date] = dataclasses.field(default_factory=dict)  # account -> pay_by
    kept: set[str] = dataclasses.field(default_factory=set)
    stops: dict[str, datetime] = dataclasses.field(default_factory=dict)  # address -> at
    events: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)


def simulate(config_path: Path, *, start: date, days: int, seed: int, out: Path) -> dict[str, Any]:
    """Run the simulation; the report (also written to `out`)."""
    cfg = config.load(config_path)
    if cfg.source is None or cfg.source.kind != "jsonl" or cfg.source_path is None:
        raise ConfigError(f"{config_path}: simulate reads a jsonl source (source.kind: jsonl)")
    if not cfg.source_path.exists():
        raise ConfigError(f"{cfg.source_path}: no such file (the portfolio to simulate)")
    readings = replies.load(config_path.parent / (cfg.webhooks.replies if cfg.webhooks
                                                  else "replies.yaml"))  # fmt: skip
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with cfg.source_path.open(encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    cfg = dataclasses.replace(
        cfg, state_dir=out, ledger_url=f"sqlite:///{out / 'ledger.db'}",
        outbox=out / "outbox.jsonl", route={}, webhooks=None,
    )  # fmt: skip
    source_path = out / "portfolio.jsonl"
    world = World(rows={r["account_id"]: r for r in lines}, rng=random.Random(seed))
    ledger = Ledger(cfg.ledger_url)
    ledger.migrate()
    tally = Tally()
    ids = (f"{seed:04d}-{n:08d}" for n in range(10**9))
    renderer = Renderer(cfg.templates)
    dispatcher = Dispatcher(
        ledger=ledger, config=cfg, renderer=renderer, channel=Outbox(cfg.outbox),
        owner="simulate", log=tally, new_id=lambda: next(ids),
    )  # fmt: skip
    reply_ids = (f"SIM{seed:04d}{n:08d}" for n in range(10**9))
    people = Borrowers(
        world, ledger, readings, tally, reply_ids,
        confirm=lambda rec, at: messages.opt_out_confirmation(rec, cfg, renderer, at),
    )  # fmt: skip
    reader = _OutboxReader(cfg.outbox)
    try:
        for day in range(days):
            midnight = datetime.combine(start + timedelta(days=day), datetime.min.time(), UTC)
            _write_portfolio(source_path, world, day, midnight)
            sweep(source=JsonlSource(source_path), ledger=ledger, now=midnight, log=tally)
            now, end = midnight, midnight + timedelta(days=1)
            while (now := _next_tick(ledger, now, midnight)) < end:
                while dispatcher.tick(now).claimed:
                    pass
                for message in reader.new():
                    people.respond(message, now)
                now += TICK
    finally:
        ledger.close()
    outbox = _OutboxReader(cfg.outbox).new()
    result = report(cfg, outbox, world, tally, start=start, days=days, seed=seed)
    (out / "report.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    (out / "report.html").write_text(report_html.render(result), encoding="utf-8")
    return result


def _write_portfolio(path: Path, world: World, day: int, now: datetime) -> None:
    """The rows as the source gives them on `day`: later, paid at 0, promises recorded."""
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for account_id, row in world.rows.items():
            row = json.loads(json.dumps(row))  # noqa: PLW2901 - a copy to change
            row["debt"]["days_past_due"] += day
            pay_by = world.promises.get(account_id)
            if pay_by is not None:
                flags = row.setdefault("flags", {})
                recorded = (pay_by - timedelta(days=3)).isoformat()
                flags["promise_to_pay"] = {"recorded_on": recorded, "pay_by": pay_by.isoformat()}
                if account_id in world.kept and now.date() > pay_by:
                    world.paid_on.setdefault(account_id, pay_by)
            if account_id in world.paid_on and world.paid_on[account_id] < now.date():
                row["debt"]["balance"] = "0.00"
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")


def _next_tick(ledger: Ledger, now: datetime, midnight: datetime) -> datetime:
    """The first tick of the day's 15-minute grid at or after both `now` and the earliest due
    plan (the ticks in between would find nothing due; a reply only re-opens plans at the
    tick it arrives in, which is not skipped)."""
    due = ledger.next_due()
    if due is None or due <= now:
        return now
    steps = -((midnight - due) // TICK)  # ceiling of (due - midnight) / TICK
    return max(now, midnight + steps * TICK)


class _OutboxReader:
    """The outbox's lines, each read once, in order."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def new(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # whole lines only
        self.offset += end
        return [json.loads(line) for line in data[:end].splitlines()]


@dataclasses.dataclass
class Borrowers:
    """The seeded borrower model: what each borrower does about a message."""

    world: World
    ledger: Ledger
    readings: replies.Replies
    log: Tally
    ids: Iterator[str]
    confirm: Confirm | None = None  # the answer to STOP (messages.opt_out_confirmation)

    def respond(self, message: dict[str, Any], now: datetime) -> None:
        """Usually nothing; a STOP, a hardship reply, a promise or a payment (seeded)."""
        template = str(message["template_id"]).rsplit("/", 1)[-1]
        if template not in (*COLLECTION, "promise_reminder"):
            return  # nobody answers a receipt or an offer in this model
        world, account, locale = self.world, str(message["account_id"]), str(message["locale"])
        r, sms, at = world.rng.random(), message["channel"] == "sms", now + TICK / 3
        if r < P_STOP and sms:
            world.stops.setdefault(str(message["address"]), at)
            world.events["stop"] += 1
            self.reply(message, "STOP", at)
        elif r < P_STOP + P_HARDSHIP and sms:
            world.events["hardship"] += 1
            self.reply(message, HARDSHIP_WORDS[locale], at)
        elif r < P_STOP + P_HARDSHIP + P_PROMISE and account not in world.promises:
            world.promises[account] = now.date() + timedelta(days=world.rng.randint(3, 7))
            world.events["promise"] += 1
            if world.rng.random() < P_KEEP:
                world.kept.add(account)
            if sms:
                self.reply(message, PROMISE_WORDS[locale], at)
        elif r < P_STOP + P_HARDSHIP + P_PROMISE + P_PAY:
            world.paid_on.setdefault(account, now.date())
            world.events["payment"] += 1

    def reply(self, message: dict[str, Any], body: str, at: datetime) -> None:
        receive_reply(
            self.ledger, self.readings, sid=next(self.ids), sender=str(message["address"]),
            body=body, now=at, log=self.log, new_id=lambda: next(self.ids), confirm=self.confirm,
        )  # fmt: skip


# ---------------------------------------------------------------- the report and the audit


def report(
    cfg: config.Config, outbox: list[dict[str, Any]], world: World, tally: Tally, *,
    start: date, days: int, seed: int,
) -> dict[str, Any]:  # fmt: skip
    by_day: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    per_borrower: collections.Counter[str] = collections.Counter()
    per_hour: collections.Counter[int] = collections.Counter()
    templates: collections.Counter[str] = collections.Counter()
    for m in outbox:
        sent = _instant(m["sent_at"])
        by_day[sent.date().isoformat()][m["channel"]] += 1
        per_borrower[m["borrower_id"]] += 1
        per_hour[sent.astimezone(_zones(world.rows[m["account_id"]])[0]).hour] += 1
        templates[str(m["template_id"]).rsplit("/", 1)[-1]] += 1
    borrowers = {r["borrower_id"] for r in world.rows.values()}
    distribution = collections.Counter(per_borrower[b] for b in borrowers)
    violations = audit(cfg, outbox, world)
    return {
        "start": start.isoformat(), "days": days, "seed": seed,
        "borrowers": len(borrowers), "accounts": len(world.rows),
        "messages": len(outbox),
        "messages_by_channel": dict(collections.Counter(m["channel"] for m in outbox)),
        "messages_by_day": {d: dict(c) for d, c in sorted(by_day.items())},
        "messages_by_template": dict(templates),
        "messages_by_local_hour": {str(h): per_hour[h] for h in range(24)},
        "contacts_per_borrower": {str(k): v for k, v in sorted(distribution.items())},
        "deferrals_by_rule": dict(tally.deferred.most_common()),
        "blocks_by_reason": dict(tally.blocked.most_common()),
        "borrower_events": dict(world.events),
        "promises": {"made": len(world.promises), "kept": len(world.kept & world.paid_on.keys())},
        "payments": len(world.paid_on),
        "rejected_rows": tally.rejected,
        "audit": {"violations": len(violations), "details": violations[:100],
                  "checks": AUDIT_CHECKS},
    }  # fmt: skip


AUDIT_CHECKS = [
    "every message sent between 08:00 and 21:00 in each of the borrower's time zones",
    "no SMS to a number after its STOP reply",
    "no message about a paid account after its receipt",
    "no collection message to a borrower after their hardship offer",
    "China, best_practice: at most one collection SMS and one collection e-mail per borrower"
    " per local day (receipts and promise confirmations are transactional)",
]


def audit(cfg: config.Config, outbox: list[dict[str, Any]], world: World) -> list[str]:
    """Violations found in the outbox by plain checks that do not use the engine."""
    out: list[str] = []
    seen = _Seen()
    for m in sorted(outbox, key=lambda m: (m["sent_at"], m["attempt_id"])):
        row, sent = world.rows[m["account_id"]], _instant(m["sent_at"])
        out += [f"{m['attempt_id']}: {v}" for v in _hours(row, sent)]
        out += [f"{m['attempt_id']}: {v}" for v in seen.check(m, sent, row, world, cfg)]
    return out


def _hours(row: dict[str, Any], sent: datetime) -> Iterator[str]:
    for tz in _zones(row):
        local = sent.astimezone(tz)
        if not 8 <= local.hour < 21:
            yield f"sent at {local:%H:%M} in {tz.key}"


@dataclasses.dataclass
class _Seen:
    """What the audit has seen so far, in time order."""

    receipts: set[str] = dataclasses.field(default_factory=set)  # accounts
    offers: set[str] = dataclasses.field(default_factory=set)  # borrowers
    cn_daily: collections.Counter[tuple[str, str, date]] = dataclasses.field(
        default_factory=collections.Counter
    )

    def check(
        self, m: dict[str, Any], sent: datetime, row: dict[str, Any], world: World,
        cfg: config.Config,
    ) -> Iterator[str]:  # fmt: skip
        name = str(m["template_id"]).rsplit("/", 1)[-1]
        account, borrower, channel = str(m["account_id"]), str(m["borrower_id"]), m["channel"]
        stop = world.stops.get(str(m["address"]))
        if channel == "sms" and stop is not None and sent > stop:
            yield f"SMS after STOP at {stop.isoformat()}"
        if account in self.receipts:
            yield f"{name} after the receipt of {account}"
        if name in COLLECTION and borrower in self.offers:
            yield f"{name} after the hardship offer to {borrower}"
        self.receipts |= {account} if name == "receipt" else set()
        self.offers |= {borrower} if name == "hardship_offer" else set()
        cn = row["borrower"]["residence"]["country"] == "CN" and name not in TRANSACTIONAL
        if cn and cfg.profile.value == "best_practice":
            key = (borrower, str(channel), sent.astimezone(ZoneInfo("Asia/Shanghai")).date())
            self.cn_daily[key] += 1
            if self.cn_daily[key] == 2:
                yield f"a second {channel} to {borrower} on {key[2]}"


def _zones(row: dict[str, Any]) -> list[ZoneInfo]:
    """The borrower's zones as the audit sees them: the residence's, else each phone's."""
    tz = row["borrower"]["residence"].get("tz")
    if tz:
        return [ZoneInfo(tz)]
    found: set[str] = set()
    for phone in row["borrower"].get("phones", ()):
        number = phonenumbers.parse(phone["number"])
        found.update(phone_timezone.time_zones_for_number(number))
    found.discard("Etc/Unknown")
    return [ZoneInfo(z) for z in sorted(found)] or [ZoneInfo("UTC")]


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
