"""The `outreachd` command line (design brief section 6). Exit codes: 0 ok, 1 failure found,
2 usage or configuration error."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from outreachd import (
    config,
    daemon,
    inspect_plans,
    logs,
    messages,
    replies,
    rulepacks,
    scenarios,
    simulate,
    verify,
    wiring,
    yamlio,
)
from outreachd.errors import ConfigError
from outreachd.render import Renderer

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _cmd_verify(args: argparse.Namespace) -> int:
    try:
        packs = rulepacks.load_packs(args.rules or [rulepacks.DEFAULT_RULES_DIR])
        loaded = scenarios.load_files(args.files)
    except yamlio.YamlError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    outcomes = verify.Runner(packs).run(loaded)
    for outcome in outcomes:
        print(outcome.line)
    failed = sum(not o.passed for o in outcomes)
    print(f"{len(outcomes) - failed} passed, {failed} failed")
    return EXIT_FAILED if failed else EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    """Like `nginx -t`: validate everything the daemon would load; exit 1 on any error."""
    try:
        cfg = config.load(args.config)
    except yamlio.YamlError as exc:
        print(exc, file=sys.stderr)
        print(
            f"{args.config}: configuration test failed ({len(exc.problems)} problems)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    problems = messages.check_templates(cfg, Renderer(cfg.templates))
    try:
        wiring.channel(cfg)  # routes and their secrets (present, never printed)
    except ConfigError as exc:
        problems.append(str(exc))
    if cfg.webhooks is not None:
        try:
            wiring.webhook_needs(cfg)  # Twilio's token (present, never printed), reply lists
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(
            f"{args.config}: configuration test failed ({len(problems)} problems)", file=sys.stderr
        )
        return EXIT_FAILED
    rules = sum(len(p.rules) for p in cfg.packs)
    print(f"{args.config}: configuration test is successful")
    print(
        f"  profile {cfg.profile}; collectors: "
        + ", ".join(f"{country}={c.type}" for country, c in sorted(cfg.collectors.items()))
    )
    for pack in cfg.packs:
        state = "" if pack.status == "active" or cfg.enable_pending else " (pending, off)"
        print(f"  pack {pack.id}@{pack.version}: {len(pack.rules)} rules{state}")
    print(f"  {len(cfg.packs)} packs, {rules} rules")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    logs.configure(json=None if not args.json_logs else True)
    try:
        return daemon.Daemon(args.config).run()
    except yamlio.YamlError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE


def _configured(
    command: Callable[[config.Config, argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """A command that needs the validated `--config`: exit 2 after printing its problems."""

    def run(args: argparse.Namespace) -> int:
        try:
            cfg = config.load(args.config)
        except yamlio.YamlError as exc:
            print(exc, file=sys.stderr)
            return EXIT_USAGE
        return command(cfg, args)

    return run


@_configured
def _cmd_plan(cfg: config.Config, args: argparse.Namespace) -> int:
    return inspect_plans.show(cfg, at=args.at, account=args.account, out=sys.stdout)


@_configured
def _cmd_export(cfg: config.Config, args: argparse.Namespace) -> int:
    return inspect_plans.export(cfg, since=args.since, out=sys.stdout)


@_configured
def _cmd_flag(cfg: config.Config, args: argparse.Namespace) -> int:
    value: object
    if args.set or args.clear:
        name, value = (args.set or args.clear), bool(args.set)
    else:
        spec, verb = (args.add, "add") if args.add else (args.remove, "remove")
        name, _, items = spec.partition("=")
        value = {verb: [i for i in items.split(",") if i]}
    return inspect_plans.record_flag(
        cfg, borrower=args.borrower, name=name, value=value, source=args.source, out=sys.stdout
    )


def _cmd_classify(args: argparse.Namespace) -> int:
    """JSON Lines of {"text", "locale"} in; one line each with the class and what matched."""
    try:
        readings = replies.load(args.replies)
    except (yamlio.YamlError, ConfigError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    source = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115
    bad = 0
    with source:
        for number, line in enumerate(source, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                text, locale = item["text"], item.get("locale") or args.locale
                if not isinstance(text, str):
                    raise TypeError("text must be a string")
                reading = readings.read(text, locale)
            except (ValueError, KeyError, TypeError) as exc:
                print(f"{args.file}:{number}: {type(exc).__name__}: {exc}", file=sys.stderr)
                bad += 1
                continue
            out = {"text": text, "locale": reading.locale, "class": reading.cls,
                   "classes": list(reading.found), "matched": reading.matched}  # fmt: skip
            print(json.dumps(out, ensure_ascii=False))
    return EXIT_USAGE if bad else EXIT_OK


@_configured
def _cmd_handoffs(cfg: config.Config, args: argparse.Namespace) -> int:
    return inspect_plans.list_handoffs(cfg, every=args.all, out=sys.stdout)


@_configured
def _cmd_decide(cfg: config.Config, args: argparse.Namespace) -> int:
    return inspect_plans.decide_handoff(
        cfg, task_id=args.id, approve=args.approve, by=args.by, out=sys.stdout
    )


def _cmd_simulate(args: argparse.Namespace) -> int:
    """The sweep and dispatcher over virtual days; the report's summary on stdout."""
    out = args.out or (args.config.resolve().parent / "simulation")
    try:
        result = simulate.simulate(args.config, start=args.start, days=args.days,
                                   seed=args.seed, out=out)  # fmt: skip
    except (yamlio.YamlError, ConfigError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    audit = result["audit"]["violations"]
    print(
        f"{result['days']} days, {result['borrowers']:,} borrowers: {result['messages']:,} "
        f"messages {json.dumps(result['messages_by_channel'], sort_keys=True)}, "
        f"{result['payments']:,} payments, {result['promises']['kept']:,} of "
        f"{result['promises']['made']:,} promises kept; compliance audit: {audit} violations"
    )
    print(f"wrote {out / 'report.html'}, report.json, outbox.jsonl, ledger.db")
    return EXIT_FAILED if audit else EXIT_OK


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _instant(text: str) -> datetime:
    """An ISO-8601 instant with an offset or Z (naive is rejected: say which zone)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs an offset or Z, e.g. 2026-06-02T14:00Z")
    return value.astimezone(UTC)


def parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    top = argparse.ArgumentParser(prog="outreachd", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    ver = sub.add_parser("verify", help="run conformance scenario files")
    ver.add_argument(
        "files", nargs="+", metavar="FILE", help="scenario files (outreachd-scenarios/v1)"
    )
    ver.add_argument(
        "--rules",
        action="append",
        metavar="PATH",
        help="rule pack file or directory (repeatable; default: the shipped config/rules)",
    )
    ver.set_defaults(func=_cmd_verify)
    chk = sub.add_parser("check", help="validate the configuration and its rule packs")
    chk.add_argument("--config", required=True, metavar="FILE", help="configuration file")
    chk.set_defaults(func=_cmd_check)
    run = sub.add_parser("run", help="run the daemon in the foreground (systemd Type=notify)")
    run.add_argument("--config", required=True, metavar="FILE")
    run.add_argument("--json-logs", action="store_true", help="JSON logs even on a terminal")
    run.set_defaults(func=_cmd_run)
    pln = sub.add_parser("plan", help="what would happen now (or at --at) per account, and why")
    pln.add_argument("--config", required=True, metavar="FILE")
    pln.add_argument("--at", type=_instant, help="instant to evaluate at (default: now)")
    pln.add_argument("--account", help="one account id (default: every planned account)")
    pln.set_defaults(func=_cmd_plan)
    led = sub.add_parser("ledger", help="ledger tools")
    led_sub = led.add_subparsers(dest="ledger_command", required=True)
    exp = led_sub.add_parser("export", help="audit export of every attempt, JSON Lines")
    exp.add_argument("--config", required=True, metavar="FILE")
    exp.add_argument("--since", type=_instant, help="only attempts at or after this instant")
    exp.set_defaults(func=_cmd_export)
    flg = led_sub.add_parser(
        "flag", help="record what was learned about a borrower (cease, STOP, hardship...)"
    )
    flg.add_argument("--config", required=True, metavar="FILE")
    flg.add_argument("--borrower", required=True, help="the borrower id")
    flg.add_argument("--source", required=True, help="who says so, e.g. 'letter 2026-11-27'")
    what = flg.add_mutually_exclusive_group(required=True)
    what.add_argument("--set", metavar="NAME", help="turn a yes/no flag on, e.g. cease_written")
    what.add_argument("--clear", metavar="NAME", help="withdraw a yes/no flag set here before")
    what.add_argument("--add", metavar="NAME=V[,V]", help="e.g. medium_opt_outs=sms")
    what.add_argument("--remove", metavar="NAME=V[,V]", help="withdraw values added here before")
    flg.set_defaults(func=_cmd_flag)
    _add_handoff(sub)
    _add_simulate(sub)
    rep = sub.add_parser("replies", help="reply tools")
    rep_sub = rep.add_subparsers(dest="replies_command", required=True)
    cls = rep_sub.add_parser(
        "classify", help="read replies as the daemon would (JSON Lines of {text, locale})"
    )
    cls.add_argument("file", metavar="FILE", help="JSON Lines file, or - for stdin")
    cls.add_argument("--locale", help="use only this locale's lists (default: every locale)")
    cls.add_argument(
        "--replies",
        default=str(rulepacks.DEFAULT_RULES_DIR.parent / "replies.yaml"),
        metavar="PATH",
        help="the replies file (default: the shipped config/replies.yaml)",
    )
    cls.set_defaults(func=_cmd_classify)
    return top


def _add_handoff(sub: Any) -> None:
    hnd = sub.add_parser("handoff", help="the tasks waiting for a person, and their decisions")
    hnd_sub = hnd.add_subparsers(dest="handoff_command", required=True)
    lst = hnd_sub.add_parser("list", help="open hand-offs (--all: every one)")
    lst.add_argument("--config", required=True)
    lst.add_argument("--all", action="store_true")
    lst.set_defaults(func=_cmd_handoffs)
    for name, approve, text in (
        ("approve", True, "approve a legal_referral_review: the final notice is sent once"),
        ("close", False, "close a hand-off (done, or not approved)"),
    ):
        dec = hnd_sub.add_parser(name, help=text)
        dec.add_argument("--config", required=True)
        dec.add_argument("--id", required=True, type=int)
        dec.add_argument("--by", required=True, help="who decided (kept with the task)")
        dec.set_defaults(func=_cmd_decide, approve=approve)


def _add_simulate(sub: Any) -> None:
    sim = sub.add_parser(
        "simulate", help="run the sweep and dispatcher over virtual days; a report and an audit"
    )
    sim.add_argument("--config", required=True, type=Path)
    sim.add_argument("--start", required=True, type=_day, help="the first day, e.g. 2026-12-01")
    sim.add_argument("--days", type=int, default=30)
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--out", type=Path, help="output directory (default: simulation/ beside "
                     "the config; replaced)")  # fmt: skip
    sim.set_defaults(func=_cmd_simulate)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # `outreachd plan ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return code


if __name__ == "__main__":
    sys.exit(main())
