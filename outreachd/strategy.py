"""Strategies: stages by days past due, each a ladder of steps (pure; no clock, no I/O).

A stage covers a range of days past due (`from_days` to `to_days`, inclusive; no `to_days`:
open-ended). Each step names the channels in preference order, the template, how many days
to wait after it before the next step, and what to do when it cannot be sent at all
(`on_blocked`). A plan remembers its stage and step; when the account's days past due move it
into another stage, it starts that stage's ladder from the first step.

What a step does when it cannot be sent *now* is fixed, not configurable: quiet hours, a
weekend, a holiday or a contact cap defer it to its exact earliest lawful instant, and it is
sent then. The ladder only moves on after a contact, so it is never spent over a weekend.
`on_blocked` is for a step that no channel can carry lawfully at all (no consent for SMS, no
e-mail address, a channel opt-out):

- `defer` (the default): the plan stops as blocked, with the rules that blocked it, and is
  decided again when the account's data or flags change;
- `skip`: the step is passed over; the next step falls due after this step's wait;
- `advance`: the next step is tried at once.

A cease, dispute, attorney or bankruptcy blocks every channel of every step: with `skip` or
`advance` the ladder runs out at once and the plan ends blocked with the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from outreachd.core.model import Channel


class OnBlocked(StrEnum):
    DEFER = "defer"
    SKIP = "skip"
    ADVANCE = "advance"


@dataclass(frozen=True, slots=True)
class Step:
    channels: tuple[Channel, ...]
    template: str
    wait_days: int = 3
    on_blocked: OnBlocked = OnBlocked.DEFER


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    from_days: int
    to_days: int | None
    steps: tuple[Step, ...]

    def covers(self, days_past_due: int) -> bool:
        return self.from_days <= days_past_due and (
            self.to_days is None or days_past_due <= self.to_days
        )


@dataclass(frozen=True, slots=True)
class Position:
    """Where a plan is: its stage, the index of its step, and that step."""

    stage: Stage
    index: int

    @property
    def step(self) -> Step:
        return self.stage.steps[self.index]


@dataclass(frozen=True, slots=True)
class Strategy:
    stages: tuple[Stage, ...]  # sorted by from_days, not overlapping

    @classmethod
    def single(
        cls, channels: tuple[Channel, ...], template: str, wait_days: int, max_steps: int
    ) -> Strategy:
        """The one-stage strategy of the `cadence:` shorthand: `max_steps` alike steps."""
        step = Step(channels=channels, template=template, wait_days=wait_days)
        return cls(stages=(Stage("all", -(10**6), None, (step,) * max_steps),))

    def stage_for(self, days_past_due: int) -> Stage | None:
        return next((s for s in self.stages if s.covers(days_past_due)), None)

    def position(self, stage: str, step: int, days_past_due: int) -> Position | None:
        """Where a plan at (`stage`, `step`) is for an account `days_past_due` late: the same
        stage and step while the account stays in that stage, else the first step of the
        stage it is in now; None when no stage covers it or its stage's ladder is done."""
        current = self.stage_for(days_past_due)
        if current is None:
            return None
        index = step if current.name == stage else 0
        return Position(current, index) if index < len(current.steps) else None

    def next_stage_due(self, days_past_due: int, now: datetime) -> datetime | None:
        """When an account `days_past_due` late enters the next stage after its current one,
        counting from `now` (at least a day away: the source's days past due are as of its
        last read); None when no later stage exists."""
        later = [s for s in self.stages if s.from_days > days_past_due]
        if not later:
            return None
        days = max(1, min(s.from_days for s in later) - days_past_due)
        return now + timedelta(days=days)

    def templates(self) -> set[tuple[Channel, str]]:
        """Every (channel, template) some step may use."""
        return {(c, st.template) for s in self.stages for st in s.steps for c in st.channels}
