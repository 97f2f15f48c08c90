"""`outreachd check` refuses a deployment whose messages could not be rendered."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.acceptance.test_cli import run
from tests.conftest import REPO


def _deployment(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    shutil.copytree(REPO / "config" / "rules", tmp_path / "config" / "rules")
    cfg = tmp_path / "config" / "outreachd.yaml"
    text = (REPO / "config" / "demo.yaml").read_text(encoding="utf-8")
    cfg.write_text(text, encoding="utf-8")
    return cfg


def test_check_rejects_a_template_with_an_unknown_variable(tmp_path: Path) -> None:
    """A template that uses a variable nobody provides fails check, naming the file."""
    cfg = _deployment(tmp_path)
    sms = tmp_path / "templates" / "en-GB" / "sms" / "first_reminder.txt.j2"
    sms.write_text(sms.read_text(encoding="utf-8") + " {{ shoe_size }}", encoding="utf-8")
    proc = run("check", "--config", str(cfg))
    assert proc.returncode == 1
    assert "en-GB/sms/first_reminder" in proc.stderr and "shoe_size" in proc.stderr


def test_check_rejects_a_collector_country_without_a_company(tmp_path: Path) -> None:
    """Every country we collect in needs the company its messages name."""
    cfg = _deployment(tmp_path)
    text = cfg.read_text(encoding="utf-8").replace('  UK: {name: "Acme Finance"', "  # UK")
    cfg.write_text(text, encoding="utf-8")
    proc = run("check", "--config", str(cfg))
    assert proc.returncode == 1
    assert "company.UK: required for collectors.UK" in proc.stderr


def test_check_rejects_a_missing_template(tmp_path: Path) -> None:
    """A cadence channel without a template for a collector's locale fails check."""
    cfg = _deployment(tmp_path)
    (tmp_path / "templates" / "zh-CN" / "email" / "first_reminder.txt.j2").unlink()
    proc = run("check", "--config", str(cfg))
    assert proc.returncode == 1
    assert "zh-CN/email/first_reminder.txt.j2: missing" in proc.stderr


def test_check_runs_the_content_lint_with_the_configured_lists(tmp_path: Path) -> None:
    """The shipped lists pass the shipped templates; a deployment's own lint file (`lint:`)
    that bans a word the en-US SMS uses makes check fail, naming the file and line."""
    cfg = _deployment(tmp_path)
    assert run("check", "--config", str(cfg)).returncode == 0
    own = (REPO / "outreachd" / "data" / "lint.yaml").read_text(encoding="utf-8")
    own = own.replace("banned: [blacklist,", "banned: [plan that fits, blacklist,", 1)
    (tmp_path / "config" / "lint.yaml").write_text(own, encoding="utf-8")
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace("templates:", "lint: lint.yaml\ntemplates:", 1), encoding="utf-8")
    proc = run("check", "--config", str(cfg))
    assert proc.returncode == 1
    sms = tmp_path / "templates" / "en-US" / "sms" / "first_reminder.txt.j2"
    assert f"{sms}:9:1: banned phrase 'plan that fits'" in proc.stderr, proc.stderr
