"""The extra conformance files tests/scenarios/{us-uk,cn}-extra.yaml pass through `verify`."""

from __future__ import annotations

from pathlib import Path

import pytest
import rules_kit as k

from outreachd import scenarios, verify

HERE = Path(__file__).resolve().parents[2] / "scenarios"
FILES = [HERE / "us-uk-extra.yaml", HERE / "cn-extra.yaml"]
RUNNER = verify.Runner(k.PACKS)
LOADED = scenarios.load_files(FILES)


@pytest.fixture(scope="module")
def outcomes() -> dict[str, verify.Outcome]:
    return {o.scenario.id: o for o in RUNNER.run(LOADED)}


def test_files_hold_enough_scenarios():
    """Both files load and together hold at least 40 scenarios with US-X / CN-X ids."""
    ids = [s.id for s in LOADED]
    assert len(ids) >= 40
    assert all(i.startswith(("US-X", "CN-X")) for i in ids)


@pytest.mark.parametrize("sid", [s.id for s in LOADED])
def test_scenario_passes(sid, outcomes):
    """The decision and defer instant of every extra scenario match the hand-computed ones."""
    outcome = outcomes[sid]
    assert outcome.passed, outcome.line


@pytest.mark.parametrize("sid", [s.id for s in LOADED])
def test_scenario_reasons_match(sid, outcomes):
    """The reported rule IDs equal the expected reasons exactly (no reason-mismatch warning)."""
    outcome = outcomes[sid]
    assert "reason mismatch" not in outcome.line, outcome.line
