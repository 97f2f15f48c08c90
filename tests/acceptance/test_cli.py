"""The `outreachd` command line as an operator runs it: a subprocess, its output, its exit code."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import REPO

EXAMPLE = REPO / "config" / "example.yaml"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `outreachd ARGS` with this interpreter and capture its output (in `env` when
    given, else this process's environment)."""
    return subprocess.run(
        [sys.executable, "-m", "outreachd.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=120,
        env=env,
    )


def test_verify_passes_every_public_scenario(shared_scenarios: list[Path]) -> None:
    """Every public scenario passes with the shipped packs, one line each, exit 0."""
    proc = run("verify", *map(str, shared_scenarios))
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert lines[-1] == f"{len(lines) - 1} passed, 0 failed"
    assert all(line.startswith("PASS ") for line in lines[:-1])
    assert "reason mismatch" not in proc.stdout


SCENARIO = """\
schema: outreachd-scenarios/v1
scenarios:
- id: T-1
  title: "call at 07:00 New York"
  profile: legal
  collector: {type: fdcpa_debt_collector}
  borrower:
    residence: {country: US, state: NY, tz: America/New_York}
    phones: [{id: m1, kind: mobile, tz: America/New_York}]
  attempt: {at: "2026-06-02T07:00", tz: America/New_York, channel: call, to: m1}
  expected: {decision: EXPECTED}
"""


def test_verify_reports_a_failure_and_exits_1(tmp_path: Path) -> None:
    """A wrong expectation prints a FAIL line with both decisions and exits 1."""
    f = tmp_path / "s.yaml"
    f.write_text(SCENARIO.replace("EXPECTED", "allow"))
    proc = run("verify", str(f))
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "FAIL T-1: expected allow, got defer until 2026-06-02T08:00 [FED-QH]",
        "0 passed, 1 failed",
    ]


def test_verify_reason_mismatch_is_only_a_warning(tmp_path: Path) -> None:
    """A right decision with other reasons passes, with a reason-mismatch note."""
    f = tmp_path / "s.yaml"
    text = SCENARIO.replace("{decision: EXPECTED}", "")
    text += '  expected: {decision: defer, defer_until_local: "2026-06-02T08:00", reasons: [X]}\n'
    f.write_text(text.replace("  expected: \n", ""))
    proc = run("verify", str(f))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == ("PASS T-1 (reason mismatch: expected [X], got [FED-QH])")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("channel: call, to: m1}", "channel: call, to: m1, colour: red}"), "unknown key 'colour'"),
        (("kind: mobile", "kind: cellphone"), "scenarios[0].borrower.phones[0].kind"),
        (("to: m1}", "to: m7}"), "'m7' is not a phone of the borrower"),
        (
            ("tz: America/New_York, channel", "tz: America/Gotham, channel"),
            "unknown IANA time zone",
        ),
        (('  title: "call at 07:00 New York"\n', ""), "missing required key 'title'"),
        (
            (
                "  profile: legal\n",
                "  profile: legal\n  calendar_overrides: {CN: [{year: 2027, published: false}]}\n",
            ),
            "calendar_overrides.CN[0]",
        ),
    ],
    ids=[
        "unknown-key",
        "unknown-vocabulary",
        "dangling-contact",
        "bad-zone",
        "missing-field",
        "incomplete-override",
    ],
)
def test_verify_rejects_malformed_files_with_location(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    """A malformed scenario file exits 2 and names file:line:col and what is wrong."""
    f = tmp_path / "bad.yaml"
    f.write_text(SCENARIO.replace("EXPECTED", "allow").replace(*edit))
    proc = run("verify", str(f))
    assert proc.returncode == 2
    assert f"{f}:" in proc.stderr and message in proc.stderr
    assert proc.stdout == ""


def test_verify_rejects_duplicate_ids_across_files(tmp_path: Path) -> None:
    """Scenario ids are unique across all files of one run."""
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(SCENARIO.replace("EXPECTED", "allow"))
    proc = run("verify", str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"))
    assert proc.returncode == 2
    assert "duplicate scenario id 'T-1'" in proc.stderr


def test_check_accepts_the_example_config() -> None:
    """The shipped example configuration validates and lists its packs."""
    proc = run("check", "--config", str(EXAMPLE))
    assert proc.returncode == 0, proc.stderr
    assert "configuration test is successful" in proc.stdout
    assert "pack US-FED-FDCPA-REGF@" in proc.stdout


def test_check_reports_every_error_with_location(tmp_path: Path) -> None:
    """A bad config exits 1 and reports each problem as file:line:col with the key path."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "schema: outreachd-config/v1\n"
        "profile: bestpractice\n"
        "collectors:\n"
        "  US: {type: fdcpa_debt_collector, licensed: true}\n"
        "  NO: {type: uk_firm}\n"
    )
    proc = run("check", "--config", str(bad))
    assert proc.returncode == 1
    err = proc.stderr.splitlines()
    assert f"{bad}:2:10: profile: Input should be 'legal' or 'best_practice'" in err
    assert (
        f"{bad}:4:46: collectors.US.licensed: unknown key 'licensed' (allowed: ca_licensed, type)"
        in err
    )
    assert any(line.startswith(f"{bad}:5:7: collectors.NO:") for line in err)


def test_check_reports_errors_inside_a_rule_pack(tmp_path: Path) -> None:
    """An error in a selected rule pack is a configuration error located in the pack file."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "p.yaml").write_text(
        "schema: outreachd-rulepack/v1\n"
        "pack: {id: P, version: '1', title: t, applies_if: {countries: [US]}}\n"
        "rules:\n"
        "- {id: R1, kind: window, allowed: {start: '21:00', end: '08:00'}}\n"
        "- {id: R2, kind: cap, days: 7, max: 2, scope: [planet]}\n"
    )
    cfg = tmp_path / "c.yaml"
    cfg.write_text("schema: outreachd-config/v1\ncollectors: {US: {type: first_party_creditor}}\n")
    proc = run("check", "--config", str(cfg))
    assert proc.returncode == 1
    err = proc.stderr.splitlines()
    pack = rules / "p.yaml"
    assert (
        f"{pack}:4:35: rules[0].allowed: Value error, start 21:00 must be before end 08:00" in err
    )
    assert any(
        line.startswith(f"{pack}:5:48: rules[1].scope[0]: Input should be 'person'") for line in err
    )


def test_ledger_flag_records_what_an_operator_learned(tmp_path: Path) -> None:
    """`outreachd ledger flag --set cease_written` for a US borrower: `plan` then shows the
    block with the pack's rule; a misspelt flag or an unknown borrower is refused."""
    from outreachd import config  # noqa: PLC0415
    from outreachd.ledger.store import Ledger  # noqa: PLC0415
    from outreachd.sources.jsonl import JsonlSource  # noqa: PLC0415
    from outreachd.sweep import sweep  # noqa: PLC0415
    from tests.acceptance.daemon_kit import Deployment  # noqa: PLC0415

    d = Deployment(tmp_path, borrowers=12)
    cfg = config.load(d.config)
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(cfg.ledger_url)
    ledger.migrate()
    sweep(source=JsonlSource(tmp_path / "portfolio.jsonl"), ledger=ledger,
          now=datetime(2026, 12, 1, 15, tzinfo=UTC), log=_Quiet())  # fmt: skip
    us = next(p for p in ledger.plans() if p.borrower_id.startswith("US-"))
    ledger.close()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "outreachd.cli", *args, "--config", str(d.config)]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)

    flag = cli("ledger", "flag", "--borrower", us.borrower_id, "--set", "cease_written",
               "--source", "letter received 2026-11-30")  # fmt: skip
    assert flag.returncode == 0 and "cease_written = true" in flag.stdout
    shown = cli("plan", "--account", us.account_id, "--at", "2026-12-01T16:00Z")
    assert shown.returncode == 0 and "block" in shown.stdout and "CEASE-WRITTEN" in shown.stdout
    bad = cli("ledger", "flag", "--borrower", us.borrower_id, "--set", "cease", "--source", "x")
    assert bad.returncode == 2 and "unknown flag 'cease'" in bad.stdout
    nobody = cli("ledger", "flag", "--borrower", "US-999999", "--set", "hardship", "--source", "x")
    assert nobody.returncode == 1 and "no account of borrower" in nobody.stdout


class _Quiet:
    def warning(self, *args: object, **kw: object) -> None: ...

    info = warning
