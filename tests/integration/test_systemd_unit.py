"""The shipped unit passes `systemd-analyze verify` and scores <= 2.0 in `security`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECK = REPO / "systemd" / "check.sh"
UNIT = REPO / "systemd" / "outreachd.service"


@pytest.fixture(scope="module", autouse=True)
def _systemd_analyze() -> None:
    """systemd-analyze is required in CI and optional on a developer's machine."""
    if shutil.which("systemd-analyze") is None:
        message = "systemd-analyze not found (apt-get install --no-install-recommends systemd)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def run_check(unit: Path = UNIT) -> subprocess.CompletedProcess[str]:
    """Run systemd/check.sh on `unit` and capture what it prints."""
    return subprocess.run(
        ["bash", str(CHECK), str(unit)], capture_output=True, text=True, timeout=60, check=False
    )


def test_shipped_unit_passes() -> None:
    """The unit verifies clean and its exposure level is at most 2.0."""
    result = run_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verify: outreachd.service: clean" in result.stdout
    assert "<= 2.0: OK" in result.stdout


def test_unknown_setting_fails_verify(tmp_path: Path) -> None:
    """A misspelt directive is reported and fails the check."""
    unit = tmp_path / "outreachd.service"
    unit.write_text(UNIT.read_text().replace("UMask=0077", "UMask=0077\nProtectSytem=strict"))
    result = run_check(unit)
    assert result.returncode == 1
    assert "ProtectSytem" in result.stdout
    assert "verify: outreachd.service: FAILED" in result.stdout


def test_weak_hardening_fails_security(tmp_path: Path) -> None:
    """Dropping the sandbox pushes exposure over 2.0 and fails the check."""
    hardening = ("Protect", "Private", "Restrict", "SystemCall", "Capability", "MemoryDeny")
    lines = [line for line in UNIT.read_text().splitlines() if not line.startswith(hardening)]
    unit = tmp_path / "outreachd.service"
    unit.write_text("\n".join(lines) + "\n")
    result = run_check(unit)
    assert result.returncode == 1
    assert "> 2.0: FAILED" in result.stdout
