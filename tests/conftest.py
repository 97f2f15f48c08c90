"""Shared fixtures: where the repository and the shared specification live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("OUTREACHD_SHARED", REPO.parent / "shared"))
SCENARIO_DIR = SHARED / "compliance" / "scenarios"


@pytest.fixture(scope="session")
def shared_scenarios() -> list[Path]:
    """The public conformance scenario files; required in CI, skipped elsewhere if absent."""
    files = sorted(SCENARIO_DIR.glob("*.yaml"))
    if not files:
        if os.environ.get("CI"):
            pytest.fail(f"no scenario files under {SCENARIO_DIR} (set OUTREACHD_SHARED)")
        pytest.skip(f"no scenario files under {SCENARIO_DIR}")
    return files
