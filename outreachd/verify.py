"""`outreachd verify`: run conformance scenarios through the real engine and shipped packs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC

from outreachd.core import decide as core
from outreachd.core import localtime
from outreachd.core.calendars import Calendars, CnYearOverride
from outreachd.core.packs import Pack
from outreachd.scenarios import Scenario


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    scenario: Scenario
    passed: bool
    line: str  # the one line `verify` prints for it


def _local(decision: core.Defer, scenario: Scenario) -> str:
    tz = localtime.zone(
        scenario.account.borrower.confirmed_location_tz
        or scenario.account.borrower.residence.tz
        or "UTC"
    )
    return decision.until.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def describe(
    decision: core.Decision, scenario: Scenario
) -> tuple[str, str | None, tuple[str, ...]]:
    """(decision name, local defer instant or None, reasons)."""
    match decision:
        case core.Allow():
            return "allow", None, ()
        case core.Defer():
            return "defer", _local(decision, scenario), decision.reasons
        case core.Block():
            return "block", None, decision.reasons


def _fmt(ids: Sequence[str]) -> str:
    return "[" + ", ".join(ids) + "]"


def judge(decision: core.Decision, scenario: Scenario) -> Outcome:
    """SCENARIOS.md 8: decision and defer instant decide; reasons only warn."""
    name, until, reasons = describe(decision, scenario)
    exp = scenario.expected
    ok = name == exp.decision and until == exp.defer_until_local
    if not ok:
        want = exp.decision + (f" until {exp.defer_until_local}" if exp.defer_until_local else "")
        got = name + (f" until {until}" if until else "") + " " + _fmt(reasons)
        return Outcome(
            scenario=scenario, passed=False, line=f"FAIL {scenario.id}: expected {want}, got {got}"
        )
    line = f"PASS {scenario.id}"
    if set(reasons) != set(exp.reasons):
        line += f" (reason mismatch: expected {_fmt(exp.reasons)}, got {_fmt(reasons)})"
    return Outcome(scenario=scenario, passed=True, line=line)


class Runner:
    """Runs scenarios against one set of packs; calendars are shared per set of overrides."""

    def __init__(self, packs: tuple[Pack, ...]) -> None:
        self.packs = packs
        self._calendars: dict[tuple[CnYearOverride, ...], Calendars] = {}

    def calendars(self, overrides: tuple[CnYearOverride, ...]) -> Calendars:
        found = self._calendars.get(overrides)
        if found is None:
            found = self._calendars[overrides] = Calendars(cn_overrides=overrides)
        return found

    def decide(self, s: Scenario) -> core.Decision:
        policy = core.Policy(
            packs=self.packs,
            collector=s.collector,
            profile=s.profile,
            calendars=self.calendars(s.cn_overrides),
            enable_pending=s.enable_pending,
        )
        return core.decide(s.account, s.history, s.attempt, s.at.astimezone(UTC), policy)

    def run(self, scenarios: Sequence[Scenario]) -> list[Outcome]:
        return [judge(self.decide(s), s) for s in scenarios]
