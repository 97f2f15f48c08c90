"""Strategies: which stage an account is in, where a plan's ladder stands, when the next
stage begins; and the configuration that declares them (errors with file and line)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from outreachd import config
from outreachd.core.model import Channel
from outreachd.strategy import OnBlocked, Stage, Step, Strategy
from outreachd.yamlio import YamlError
from tests.acceptance.daemon_kit import write_config

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
SMS, EMAIL = Channel.SMS, Channel.EMAIL
A = Step((SMS, EMAIL), "first_reminder", wait_days=3)
B = Step((EMAIL,), "follow_up", wait_days=7, on_blocked=OnBlocked.SKIP)
STRATEGY = Strategy(
    stages=(
        Stage("pre_due", -5, -1, (A,)),
        Stage("early", 1, 30, (A, B)),
        Stage("late", 31, None, (B,)),
    )
)


@pytest.mark.parametrize(
    ("days", "stage"),
    [(-6, None), (-5, "pre_due"), (-1, "pre_due"), (0, None), (1, "early"), (30, "early"),
     (31, "late"), (4000, "late")],
)  # fmt: skip
def test_stage_by_days_past_due_bounds_inclusive(days: int, stage: str | None) -> None:
    found = STRATEGY.stage_for(days)
    assert (found.name if found else None) == stage


def test_a_plan_keeps_its_step_in_its_stage_and_starts_over_in_a_new_one() -> None:
    fresh = STRATEGY.position("", 0, 10)
    assert fresh is not None and (fresh.stage.name, fresh.index, fresh.step) == ("early", 0, A)
    second = STRATEGY.position("early", 1, 12)
    assert second is not None and (second.index, second.step) == (1, B)
    moved = STRATEGY.position("early", 1, 31)  # the account went on to the next stage
    assert moved is not None and (moved.stage.name, moved.index) == ("late", 0)
    assert STRATEGY.position("early", 2, 12) is None  # its ladder is done
    assert STRATEGY.position("", 0, 0) is None  # between stages


def test_the_next_stage_is_at_least_a_day_away_and_the_last_has_none() -> None:
    assert STRATEGY.next_stage_due(10, NOW) == NOW + timedelta(days=21)
    assert STRATEGY.next_stage_due(0, NOW) == NOW + timedelta(days=1)
    assert STRATEGY.next_stage_due(-3, NOW) == NOW + timedelta(days=4)
    assert STRATEGY.next_stage_due(31, NOW) is None


def test_the_cadence_shorthand_is_one_stage_of_alike_steps() -> None:
    single = Strategy.single((SMS,), "first_reminder", wait_days=2, max_steps=3)
    (stage,) = single.stages
    assert len(stage.steps) == 3 and {s.wait_days for s in stage.steps} == {2}
    assert single.stage_for(-100) is stage and single.stage_for(10_000) is stage
    assert single.templates() == {(SMS, "first_reminder")}


STAGES = """\
strategy:
  stages:
    - name: early
      from_days: 1
      to_days: {early_to}
      steps:
        - {{channels: [sms, email], template: first_reminder, on_blocked: {on_blocked}}}
    - name: late
      from_days: 31
      steps:
        - {{channels: [email], template: follow_up, wait_days: 7}}
"""


def _config(tmp_path: Path, strategy: str, cadence: bool = False) -> Path:
    path = tmp_path / "outreachd.yaml"
    write_config(path)
    text = path.read_text(encoding="utf-8") + strategy
    if cadence:
        text += "cadence: {channels: [sms], template: first_reminder}\n"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_strategy_in_the_configuration(tmp_path: Path) -> None:
    cfg = config.load(_config(tmp_path, STAGES.format(early_to=30, on_blocked="advance")))
    early, late = cfg.strategy.stages
    assert (early.name, early.from_days, early.to_days) == ("early", 1, 30)
    assert early.steps[0] == Step((SMS, EMAIL), "first_reminder", 3, OnBlocked.ADVANCE)
    assert (late.to_days, late.steps[0].wait_days) == (None, 7)


def test_no_strategy_and_no_cadence_is_the_default_cadence(tmp_path: Path) -> None:
    cfg = config.load(_config(tmp_path, ""))
    (stage,) = cfg.strategy.stages
    assert [s.template for s in stage.steps] == ["first_reminder"] * 3
    assert stage.steps[0].channels == (SMS, EMAIL) and stage.steps[0].wait_days == 3


@pytest.mark.parametrize(
    ("early_to", "on_blocked", "cadence", "expected"),
    [
        (31, "defer", False, r"strategy\.stages\[0\]\.to_days: overlaps stage 'late'"),
        (0, "defer", False, r"strategy\.stages\[0\]\.to_days: to_days is before from_days"),
        (
            30,
            "later",
            False,
            r"strategy\.stages\[0\]\.steps\[0\]\.on_blocked: Input should be 'defer', 'skip' or",
        ),
        (30, "defer", True, r"cadence: give cadence or strategy, not both"),
    ],
)
def test_a_wrong_strategy_is_refused_with_its_line(
    tmp_path: Path, early_to: int, on_blocked: str, cadence: bool, expected: str
) -> None:
    path = _config(tmp_path, STAGES.format(early_to=early_to, on_blocked=on_blocked), cadence)
    with pytest.raises(YamlError) as caught:
        config.load(path)
    text = str(caught.value)
    assert f"{path}:" in text
    assert re.search(expected, text), text
    line = int(text.split(f"{path}:")[1].split(":", maxsplit=1)[0])
    assert line > 20  # the strategy's own lines, after the base configuration
