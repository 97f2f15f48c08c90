"""Decisions per second of `core.decide` on a realistic mix, next to a bare baseline.

Usage (from the repo root; pin to one core for stable figures):

    taskset -c 0 .venv/bin/python tests/benchmarks/bench_decide.py [--n 20000] [--seed 1] [--json]

The mix is seeded and deterministic: ~60 % US borrowers (NY CA TX FL MA WA AZ HI, 1-3 phones,
an e-mail; FDCPA collector or first-party creditor; profile legal or best_practice), ~40 % CN
(Asia/Shanghai, cn_lender or cn_agency, some affiliate history), 0-30 prior events each over
the previous 30 days, a few flags, attempt instants at any minute of 2026. The baseline runs the
same loop doing only the zone work no decision can avoid (see README.md). Figures are reported,
never asserted: the target line is informative and the exit status is always 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter
from zoneinfo import ZoneInfo

from outreachd import rulepacks
from outreachd.core import decide as core
from outreachd.core import model as m
from outreachd.core import zones
from outreachd.core.calendars import Calendars

TARGET = 20_000  # decisions/s on one core (issue: benchmark of the decision core)
REPEATS, WARMUP = 5, 500
REPO = Path(__file__).resolve().parents[2]
_ZONES = "NY:America/New_York CA:America/Los_Angeles TX:America/Chicago FL:America/New_York"
_ZONES += " MA:America/New_York WA:America/Los_Angeles AZ:America/Phoenix HI:Pacific/Honolulu"
US_STATES = dict(pair.split(":") for pair in _ZONES.split())
CN_TZ = "Asia/Shanghai"
O = m.Outcome  # noqa: E741 - short alias
_CALLS = "no_answer:40 voicemail_lcm:15 voicemail_no_message:10 conversation:12 busy:8"
_CALLS += " answered_hangup:7 not_in_service:2 network_fail:2 third_party_answered:2"
_CALLS += " inbound_conversation:1 unknown:1"  # unknown: sent, fate not yet known
CALL_OUTCOMES = [O(k) for k, w in (p.split(":") for p in _CALLS.split()) for _ in range(int(w))]
_SUPPRESS = "cease_written bankruptcy_filed attorney_represented dispute_any_form"
SUPPRESSIONS: list[dict[str, object]] = [{f: True} for f in _SUPPRESS.split()]
SUPPRESSIONS += [{"instalment_plan_active": True}, {"medium_opt_outs": frozenset({m.Channel.SMS})}]
PHONE_KINDS = [m.PhoneKind.MOBILE, m.PhoneKind.LANDLINE_HOME, m.PhoneKind.WORK]
WINDOWS = [(time(12), time(13, 30)), (time(18), time(9)), (time(8), time(10))]  # wraps midnight

Case = tuple[m.Account, tuple[m.Event, ...], m.Attempt, datetime, core.Policy]
BaseCase = tuple[datetime, tuple[ZoneInfo, ...], ZoneInfo, tuple[m.Event, ...]]


def _local(day: date, hour: int, minute: int, tz: str) -> datetime:
    """The UTC instant of a local wall-clock time (realistic: events at working hours)."""
    return datetime.combine(day, time(hour, minute), ZoneInfo(tz)).astimezone(UTC)


def _us_borrower(rng: random.Random, n: int) -> m.Borrower:
    state = rng.choice(list(US_STATES))
    phones = []
    for i in range(rng.randint(1, 3)):
        kind = rng.choices(PHONE_KINDS, [6, 3, 1])[0]
        tz = US_STATES[rng.choice(list(US_STATES))] if rng.random() < 0.2 else US_STATES[state]
        consent, text_ok, gone = (rng.random() < p for p in (0.8, 0.8, 0.01))
        phone = m.Phone(
            id=f"P{i + 1}",
            kind=kind,
            tz=tz,
            tcpa_consent=consent,
            regf_text_ok=text_ok,
            rnd_reassigned=gone,
        )
        phones.append(phone)
    proc = m.RegfProcedure.CONSUMER_USED if rng.random() < 0.85 else m.RegfProcedure.NONE
    email = m.Email(
        id="E1", kind=m.EmailKind.PERSONAL, address=f"b{n}@example.com", regf_procedure=proc
    )
    city = "NYC" if state == "NY" and rng.random() < 0.5 else None
    res = m.Residence(country=m.Country.US, state=state, city=city, tz=US_STATES[state])
    return m.Borrower(residence=res, phones=tuple(phones), emails=(email,))


def _cn_borrower(rng: random.Random, n: int) -> m.Borrower:
    phones = [m.Phone(id="P1", kind=m.PhoneKind.MOBILE, tz=CN_TZ)]
    if rng.random() < 0.1:  # an emergency contact: the third-party rule blocks it
        phones.append(
            m.Phone(id="P2", kind=m.PhoneKind.MOBILE, tz=CN_TZ, owner=m.Owner.EMERGENCY_CONTACT)
        )
    email = m.Email(id="E1", kind=m.EmailKind.PERSONAL, address=f"c{n}@example.cn")
    res = m.Residence(country=m.Country.CN, tz=CN_TZ, city="Shanghai")
    return m.Borrower(residence=res, phones=tuple(phones), emails=(email,))


def _history(rng: random.Random, b: m.Borrower, at: datetime, cn: bool) -> tuple[m.Event, ...]:
    tz = zones.primary_zone(b)
    out = []
    for _ in range(rng.randint(0, 30)):
        day = (at - timedelta(days=rng.randint(0, 29))).astimezone(ZoneInfo(tz)).date()
        when = _local(day, rng.randint(8, 20), rng.randrange(60), tz)
        if when >= at:
            continue
        channel = rng.choices([m.Channel.CALL, m.Channel.SMS, m.Channel.EMAIL], [70, 20, 10])[0]
        if channel is m.Channel.CALL:
            to, outcome = rng.choice(b.phones).id, rng.choice(CALL_OUTCOMES)
        elif channel is m.Channel.SMS:
            to, outcome = b.phones[0].id, O.SMS_SENT
        else:
            to, outcome = b.emails[0].id, O.EMAIL_SENT
        inbound = outcome is O.INBOUND_CONVERSATION
        party = m.Party.AFFILIATE if cn and rng.random() < 0.25 else m.Party.SELF
        auto = channel is m.Channel.CALL and rng.random() < 0.3
        dialer = m.Dialer.AUTODIALER if auto else m.Dialer.MANUAL
        out.append(
            m.Event(
                at=when,
                channel=channel,
                to=to,
                outcome=outcome,
                dialer=dialer,
                initiator=m.Initiator.CONSUMER if inbound else m.Initiator.COLLECTOR,
                party=party,
            )
        )
    return tuple(sorted(out, key=lambda e: e.at))


def _flags(rng: random.Random, at: datetime, cn: bool) -> m.Flags:
    kw: dict[str, object] = {}
    if rng.random() < 0.05:
        kw.update(rng.choice(SUPPRESSIONS))
    if rng.random() < 0.05:
        start, end = rng.choice(WINDOWS)
        kw["inconvenient_windows"] = (m.InconvenientWindow(start=start, end=end),)
    if cn and rng.random() < 0.15:
        today = at.astimezone(ZoneInfo(CN_TZ)).date()
        due = today + timedelta(days=rng.randint(-3, 7))
        kw["promise_to_pay"] = m.PromiseToPay(recorded_on=today - timedelta(days=2), pay_by=due)
    return m.Flags(**kw)  # type: ignore[arg-type]


def make_cases(n: int, seed: int, policies: dict[tuple[str, str], core.Policy]) -> list[Case]:
    """N deterministic cases, each with its policy resolved (as the daemon holds them)."""
    rng = random.Random(seed)
    start, out = datetime(2026, 1, 1, tzinfo=UTC), []
    for i in range(n):
        cn = rng.random() < 0.4
        b = _cn_borrower(rng, i) if cn else _us_borrower(rng, i)
        at = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
        channel = rng.choices([m.Channel.CALL, m.Channel.SMS, m.Channel.EMAIL], [60, 25, 15])[0]
        if channel is m.Channel.EMAIL:
            to = b.emails[0].id
        else:
            to = rng.choice(b.phones).id if channel is m.Channel.CALL else b.phones[0].id
        dialer = m.Dialer.AUTODIALER if rng.random() < 0.3 else m.Dialer.MANUAL
        attempt = m.Attempt(channel=channel, to=to, dialer=dialer)
        kinds = (
            ("cn_lender", "cn_agency") if cn else ("fdcpa_debt_collector", "first_party_creditor")
        )
        key = (rng.choice(kinds), rng.choice(("legal", "best_practice")))
        account = m.Account(borrower=b, flags=_flags(rng, at, cn))
        out.append((account, _history(rng, b, at, cn), attempt, at, policies[key]))
    return out


def make_policies() -> dict[tuple[str, str], core.Policy]:
    """One Policy per (collector type, profile), sharing packs and calendars, built up front."""
    packs, calendars = rulepacks.load_packs([rulepacks.DEFAULT_RULES_DIR]), Calendars()
    return {
        (ct, prof): core.Policy(
            packs=packs,
            collector=m.Collector(type=m.CollectorType(ct)),
            profile=m.Profile(prof),
            calendars=calendars,
        )
        for ct in ("fdcpa_debt_collector", "first_party_creditor", "cn_lender", "cn_agency")
        for prof in ("legal", "best_practice")
    }


def base_cases(cases: list[Case]) -> list[BaseCase]:
    """Per case: the instant, every candidate zone plus the primary, the primary, the history."""
    out = []
    for account, history, _, at, _ in cases:
        b = account.borrower
        primary = ZoneInfo(zones.primary_zone(b))
        zs = (*(ZoneInfo(z) for z in zones.candidate_zones(b)), primary)
        out.append((at, zs, primary, history))
    return out


def engine_loop(cases: list[Case]) -> list[core.Decision]:
    decide = core.decide
    return [decide(a, h, att, at, pol) for a, h, att, at, pol in cases]


def baseline_loop(cases: list[BaseCase]) -> None:
    for at, zs, primary, history in cases:
        for z in zs:
            at.astimezone(z)
        for e in history:
            e.at.astimezone(primary).date()


def timed(fn: Callable[[], object]) -> list[float]:
    """Wall seconds of REPEATS runs of `fn` (perf_counter)."""
    out = []
    for _ in range(REPEATS):
        t0 = perf_counter()
        fn()
        out.append(perf_counter() - t0)
    return out


def figures(n: int, secs: list[float]) -> dict[str, float]:
    best, med = min(secs), statistics.median(secs)
    return {
        "best_per_s": n / best,
        "median_per_s": n / med,
        "best_s": best,
        "median_s": med,
        "us_per_item": best / n * 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    out = "bench-results/decide.json"
    ap.add_argument("--json", nargs="?", const=out, metavar="PATH", help=f"(default {out})")
    args = ap.parse_args(argv)
    policies = make_policies()
    cases = make_cases(args.n, args.seed, policies)
    bases = base_cases(cases)
    engine_loop(cases[:WARMUP])  # pack selection, calendars, zone caches
    baseline_loop(bases[:WARMUP])
    kinds = Counter(type(d).__name__ for d in engine_loop(cases))
    eng = figures(args.n, timed(lambda: engine_loop(cases)))
    base = figures(args.n, timed(lambda: baseline_loop(bases)))
    ratio = eng["best_s"] / base["best_s"]
    share = {k: kinds[k] / args.n for k in ("Allow", "Defer", "Block")}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    events = sum(len(c[1]) for c in cases) / args.n
    print(
        f"bench_decide  n={args.n} seed={args.seed} repeats={REPEATS}  "
        f"python {platform.python_version()}  mean history {events:.1f} events"
    )
    print(f"{'name':<10}{'best/s':>12}{'median/s':>12}{'µs/item':>10}{'ratio':>9}")
    for name, f, r in (("engine", eng, ratio), ("baseline", base, 1.0)):
        print(
            f"{name:<10}{f['best_per_s']:>12,.0f}{f['median_per_s']:>12,.0f}"
            f"{f['us_per_item']:>10.2f}{r:>8.1f}x"
        )
    print("decisions: " + "  ".join(f"{k} {v:.1%}" for k, v in share.items()))
    verdict = "PASS" if eng["best_per_s"] >= TARGET else "MISS"
    print(f"target >= {TARGET:,} decisions/s (best, one core): {verdict}")
    print(f"peak RSS {rss_mb:.0f} MiB")
    if args.json:
        path = Path(args.json) if Path(args.json).is_absolute() else REPO / args.json
        path.parent.mkdir(parents=True, exist_ok=True)
        machine = {"platform": platform.platform(), "cpus": os.cpu_count()}
        machine["affinity"] = len(os.sched_getaffinity(0))
        doc: dict[str, object] = dict(machine=machine, python=sys.version, n=args.n, seed=args.seed)
        doc |= dict(repeats=REPEATS, engine=eng, baseline=base, ratio=ratio, shares=share)
        doc |= dict(target_per_s=TARGET, target_met=verdict == "PASS", peak_rss_mib=rss_mb)
        doc |= dict(mean_history_events=events)
        path.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
