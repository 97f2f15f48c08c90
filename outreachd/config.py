"""The daemon's YAML configuration (`outreachd-config/v1`) into frozen, validated values.

Strict: unknown keys and values are errors, each as `file:line:col: key.path: message`, all of
them in one run, together with the errors of every rule pack the configuration selects.
Secrets never live here: they come from the environment or systemd credentials.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from outreachd import rulepacks, yamlio
from outreachd.calendar_overrides import CnOverrideIn
from outreachd.core import model
from outreachd.core.calendars import Calendars, CnYearOverride
from outreachd.core.decide import Policy
from outreachd.core.packs import Pack


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CollectorIn(_Strict):
    type: model.CollectorType
    ca_licensed: bool = False


class RulesIn(_Strict):
    packs: tuple[str, ...] = ("rules",)  # files or directories, relative to the config file
    enable_pending: bool = False  # turn on packs whose effective date is pending (NYC)


class CalendarsIn(_Strict):
    cn_overrides: tuple[CnOverrideIn, ...] = ()


class ConfigIn(_Strict):
    schema_: str = Field(alias="schema", pattern=r"^outreachd-config/v1$")
    profile: model.Profile = model.Profile.BEST_PRACTICE
    collectors: dict[model.Country, CollectorIn] = Field(min_length=1)
    rules: RulesIn = RulesIn()
    calendars: CalendarsIn = CalendarsIn()


@dataclass(frozen=True, kw_only=True, slots=True)
class Config:
    """A validated configuration with its rule packs loaded."""

    file: Path
    profile: model.Profile
    collectors: dict[model.Country, model.Collector]
    packs: tuple[Pack, ...]
    enable_pending: bool
    calendars: Calendars

    def policy(self, country: model.Country) -> Policy | None:
        """The decision policy for borrowers in `country`, or None if we do not collect there."""
        collector = self.collectors.get(country)
        if collector is None:
            return None
        return Policy(
            packs=self.packs,
            collector=collector,
            profile=self.profile,
            calendars=self.calendars,
            enable_pending=self.enable_pending,
        )


def _override(o: CnOverrideIn, located: yamlio.Located, i: int) -> CnYearOverride:
    try:
        return o.to_core()
    except ValueError as exc:
        path = ("calendars", "cn_overrides", i)
        line, col = located.where(path)
        raise yamlio.YamlError([yamlio.Problem(located.file, line, col, path, str(exc))]) from exc


def _parse(located: yamlio.Located) -> ConfigIn:
    try:
        return ConfigIn.model_validate(located.data)
    except pydantic.ValidationError as exc:
        problems = yamlio.problems_from_validation(exc, located, model=ConfigIn)
        raise yamlio.YamlError(problems) from exc


def _pack_paths(raw: ConfigIn, base: Path, located: yamlio.Located) -> list[Path]:
    paths, problems = [], []
    for i, entry in enumerate(raw.rules.packs):
        path = (base / entry).resolve()
        if not path.exists():
            where = ("rules", "packs", i)
            line, col = located.where(where)
            problems.append(
                yamlio.Problem(located.file, line, col, where, f"no such file or directory: {path}")
            )
        paths.append(path)
    if problems:
        raise yamlio.YamlError(problems)
    return paths


def load(path: str | os.PathLike[str]) -> Config:
    """Read and validate a configuration and the packs it selects; YamlError lists all problems."""
    file = Path(path)
    located = yamlio.load_file(file)
    raw = _parse(located)
    problems: list[yamlio.Problem] = []
    overrides: list[CnYearOverride] = []
    for i, o in enumerate(raw.calendars.cn_overrides):
        try:
            overrides.append(_override(o, located, i))
        except yamlio.YamlError as exc:
            problems.extend(exc.problems)
    packs: tuple[Pack, ...] = ()
    try:
        packs = rulepacks.load_packs(_pack_paths(raw, file.parent, located))
    except yamlio.YamlError as exc:
        problems.extend(exc.problems)
    if problems:
        raise yamlio.YamlError(problems)
    return Config(
        file=file,
        profile=raw.profile,
        collectors={
            country: model.Collector(type=c.type, ca_licensed=c.ca_licensed)
            for country, c in raw.collectors.items()
        },
        packs=packs,
        enable_pending=raw.rules.enable_pending,
        calendars=Calendars(cn_overrides=overrides),
    )
