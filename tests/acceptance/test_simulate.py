"""`outreachd simulate`: the real sweep and dispatcher over virtual days on a sample portfolio.
Deterministic (same seed, same bytes), a compliance audit that finds nothing in a lawful run
and finds what is planted in a doctored outbox, and an HTML report a browser renders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from outreachd import config, sample, simulate
from tests.acceptance.daemon_kit import write_config
from tests.conftest import REPO

START = date(2026, 12, 1)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sim")
    write_config(root / "outreachd.yaml")
    shutil.copy(REPO / "config" / "replies.yaml", root / "replies.yaml")
    sample.write_jsonl(root / "portfolio.jsonl", n_borrowers=150, seed=3)
    return root / "outreachd.yaml"


@pytest.fixture(scope="module")
def runs(deployment: Path) -> tuple[Path, Path, Path]:
    """The same simulation twice, and once with another seed."""
    outs = [deployment.parent / name for name in ("a", "b", "c")]
    for out, seed in zip(outs, (5, 5, 6), strict=True):
        simulate.simulate(deployment, start=START, days=12, seed=seed, out=out)
    return outs[0], outs[1], outs[2]


def test_same_inputs_and_seed_give_the_same_bytes(runs: tuple[Path, Path, Path]) -> None:
    a, b, c = runs
    for name in ("outbox.jsonl", "report.json", "report.html", "portfolio.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "outbox.jsonl").read_bytes() != (c / "outbox.jsonl").read_bytes()


def test_the_report_adds_up_and_the_audit_finds_nothing(runs: tuple[Path, Path, Path]) -> None:
    report = json.loads((runs[0] / "report.json").read_text(encoding="utf-8"))
    outbox = (runs[0] / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert report["audit"]["violations"] == 0, report["audit"]["details"][:3]
    assert report["messages"] == len(outbox) > 100
    assert sum(report["messages_by_channel"].values()) == len(outbox)
    assert sum(sum(d.values()) for d in report["messages_by_day"].values()) == len(outbox)
    assert sum(report["messages_by_local_hour"].values()) == len(outbox)
    per = report["contacts_per_borrower"]
    assert sum(per.values()) == report["borrowers"] == 150
    assert sum(int(k) * v for k, v in per.items()) == len(outbox)
    # nobody is hounded: at most 2 messages per account per week on this strategy's waits
    assert max(int(k) for k in per) <= 12
    assert all(8 <= int(h) < 21 for h, n in report["messages_by_local_hour"].items() if n)
    # the branches ran: payments got receipts, promises were made and some kept
    assert report["messages_by_template"].get("receipt", 0) > 0
    assert report["promises"]["made"] > 0 and report["payments"] > 0
    assert report["deferrals_by_rule"] and report["blocks_by_reason"]


def test_the_audit_finds_what_is_planted(runs: tuple[Path, Path, Path], deployment: Path) -> None:
    """A message moved to 23:00 local, an SMS after a STOP, and a reminder after a receipt:
    the audit reads the outbox without the engine and names each."""
    outbox = _lines(runs[0] / "outbox.jsonl")
    rows = _lines(deployment.parent / "portfolio.jsonl")
    world = simulate.World(rows={r["account_id"]: r for r in rows}, rng=None)  # type: ignore[arg-type]
    cfg = config.load(deployment)
    assert simulate.audit(cfg, outbox, world) == []
    us = next(m for m in outbox if m["account_id"].startswith("US-"))
    late = dict(us, attempt_id="planted-night", sent_at=us["sent_at"][:11] + "04:30:00Z")
    sms = next(m for m in outbox if m["channel"] == "sms")
    world.stops[sms["address"]] = simulate._instant(sms["sent_at"]).replace(second=0) - (
        simulate.TICK)  # the STOP came before it  # fmt: skip
    receipt = next(m for m in outbox if m["template_id"].endswith("/receipt"))
    next_day = simulate._instant(receipt["sent_at"]) + timedelta(days=1)
    after = dict(receipt, attempt_id="planted-after", template_id="en-US/sms/follow_up",
                 sent_at=next_day.strftime("%Y-%m-%dT%H:%M:%SZ"))  # fmt: skip
    cn = next(m for m in outbox if m["account_id"].startswith("CN-") and m["channel"] == "sms"
              and m["template_id"].rsplit("/", 1)[-1] in simulate.COLLECTION
              and m["address"] != sms["address"])  # fmt: skip
    second = dict(cn, attempt_id="planted-second", sent_at=cn["sent_at"][:11] + "05:00:00Z")
    courtesy = dict(cn, attempt_id="planted-confirmation",
                    template_id="zh-CN/sms/promise_confirmation",
                    sent_at=cn["sent_at"][:11] + "06:00:00Z")  # fmt: skip
    found = simulate.audit(cfg, [*outbox, late, after, second, courtesy], world)
    assert any(v.startswith("planted-second: a second sms to CN-") for v in found), found
    assert not any(v.startswith("planted-confirmation") for v in found)  # transactional
    assert any(v.startswith("planted-night: sent at ") and " in America/" in v for v in found)
    assert any(v.startswith(f"{sms['attempt_id']}: SMS after STOP") for v in found), found
    assert any(v.startswith("planted-after: follow_up after the receipt") for v in found), found


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_command_line_and_the_html_report(deployment: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "outreachd.cli", "simulate", "--config", str(deployment),
           "--start", "2026-12-01", "--days", "3", "--seed", "2", "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "compliance audit: 0 violations" in done.stdout
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "http" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")  # self-contained  # fmt: skip
    for chart in ("hour", "day", "borrower"):
        assert f'<svg id="chart-{chart}"' in page


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


def test_the_html_report_renders_in_headless_chromium(runs: tuple[Path, Path, Path]) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    page = runs[0] / "report.html"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    dom = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120, check=False)  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<rect") >= 24 + 12  # hours and days were laid out as bars
    assert "Compliance audit: no violations" in dom.stdout
    shot = runs[0].parent / "report.png"
    done = subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1000,1600", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000  # drawn, not blank
