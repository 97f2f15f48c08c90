"""Rule packs from YAML (schema `outreachd-rulepack/v1`) into the core's frozen values.

The file format is validated strictly: unknown keys and values are errors, each reported as
`file:line:col: key.path: what was expected`, all of them in one run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Literal

import pydantic

from outreachd import yamlio
from outreachd.core import packs

RuleModel = Annotated[
    packs.WindowRule
    | packs.DesignatedWindowsRule
    | packs.DayBanRule
    | packs.CapRule
    | packs.CooldownRule
    | packs.MinGapRule
    | packs.PromiseToPayRule
    | packs.SuppressionRule
    | packs.PrerequisiteRule
    | packs.ContentRule,
    pydantic.Field(discriminator="kind"),
]


class PackHeader(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    id: str
    version: str
    title: str
    status: Literal["active", "pending"] = "active"
    applies_if: packs.AppliesIf


class PackFile(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["outreachd-rulepack/v1"] = pydantic.Field(alias="schema")
    pack: PackHeader
    rules: tuple[RuleModel, ...]


def load_pack(path: str | os.PathLike[str]) -> packs.Pack:
    """One pack file, validated; raises YamlError with every problem located."""
    located = yamlio.load_file(path)
    try:
        model = PackFile.model_validate(located.data)
    except pydantic.ValidationError as exc:
        raise yamlio.YamlError(
            yamlio.problems_from_validation(exc, located, model=PackFile)
        ) from exc
    head = model.pack
    return packs.Pack(
        id=head.id,
        version=head.version,
        title=head.title,
        status=head.status,
        applies_if=head.applies_if,
        rules=model.rules,
        source=str(path),
    )


def pack_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files named directly, plus every *.yaml in named directories, sorted."""
    out: list[Path] = []
    for entry in map(Path, paths):
        out.extend(sorted(entry.glob("*.yaml")) if entry.is_dir() else [entry])
    return out


def load_packs(paths: Sequence[str | os.PathLike[str]]) -> tuple[packs.Pack, ...]:
    """Every pack under `paths`; all problems of all files in one YamlError."""
    loaded: list[packs.Pack] = []
    problems: list[yamlio.Problem] = []
    for path in pack_files(paths):
        try:
            loaded.append(load_pack(path))
        except yamlio.YamlError as exc:
            problems.extend(exc.problems)
    problems.extend(_duplicate_ids(loaded))
    if problems:
        raise yamlio.YamlError(problems)
    return tuple(loaded)


def _duplicate_ids(loaded: list[packs.Pack]) -> list[yamlio.Problem]:
    """A pack id, and a rule ID, belongs to one pack only (a rule ID names one legal source)."""
    owner: dict[str, str] = {}
    problems = []
    for pack in loaded:
        for key in (f"pack {pack.id}", *{f"rule {r.id}" for r in pack.rules}):
            if key in owner:
                problems.append(
                    yamlio.Problem(pack.source, 1, 1, (), f"{key} is also defined in {owner[key]}")
                )
            owner.setdefault(key, pack.source)
    return problems


DEFAULT_RULES_DIR = Path(__file__).resolve().parent.parent / "config" / "rules"
