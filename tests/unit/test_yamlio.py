"""Tests for outreachd.yamlio: strict scalars, positions, located errors, pydantic bridge."""

from __future__ import annotations

import enum
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from outreachd.yamlio import (
    Located,
    Problem,
    YamlError,
    load_file,
    load_text,
    problems_from_validation,
    render_path,
)


def _errors(text: str) -> list[str]:
    with pytest.raises(YamlError) as info:
        load_text(text, "f.yaml")
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("21:00", "21:00"),
        ("08:30", "08:30"),
        ("NO", "NO"),
        ("no", "no"),
        ("on", "on"),
        ("off", "off"),
        ("yes", "yes"),
        ("y", "y"),
        ("n", "n"),
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("tRUE", "tRUE"),
        ("2026-06-02", "2026-06-02"),
        ("2026-06-02T10:00:00Z", "2026-06-02T10:00:00Z"),
        ("1_000", "1_000"),
        ("017", 17),
        ("0o17", "0o17"),
        ("0x1F", "0x1F"),
        ("12", 12),
        ("-3", -3),
        ("+4", 4),
        ("1.5", 1.5),
        ("-.5", -0.5),
        ("1e3", 1000.0),
        (".inf", ".inf"),
        ("null", None),
        ("~", None),
        ("", None),
        ("'21:00'", "21:00"),
        ('"12"', "12"),
        ("'true'", "true"),
        ("'null'", "null"),
        ("!!int '12'", 12),
    ],
)
def test_scalar_resolution(scalar: str, expected: object) -> None:
    """Plain scalars resolve by the strict YAML 1.2-core-like rules; quoted ones stay strings."""
    value = load_text(f"v: {scalar}\n").data
    assert value == {"v": expected}
    assert type(value["v"]) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb:\n  c: 1\n  c: 2\n", "f.yaml:4:3: duplicate key 'c' (first at line 3)"),
        ("base: {x: 1}\nother:\n  <<: {y: 2}\n", "f.yaml:3:3: merge keys ('<<') are not supported"),
        ("a: !!bool yes\n", "f.yaml:1:4: 'yes' is not a valid bool"),
        ("a: !!int 0x1F\n", "f.yaml:1:4: '0x1F' is not a valid int"),
        ("a: !!timestamp 2026-06-02\n", "f.yaml:1:4: could not determine a constructor"),
        ("a: *nowhere\n", "f.yaml:1:4: found undefined alias 'nowhere'"),
        ("a: 1\n---\nb: 2\n", "f.yaml:2:1: but found another document"),
        ("a: [1, 2\nb: 3\n", "f.yaml:2:2: expected ',' or ']', but got ':'"),
        ("a:\n  - b\n c: d\n", "f.yaml:3:2: expected <block end>"),
        ("a: ok\nb: x\x07y\n", "f.yaml:2:5: special characters are not allowed (#x0007)"),
    ],
)
def test_located_load_errors(text: str, expected: str) -> None:
    """Structural and syntax errors become one Problem at the offending 1-based line:col."""
    assert len(problems := _errors(text)) == 1
    assert problems[0].startswith(expected)


def test_syntax_error_names_the_enclosing_construct() -> None:
    """A syntax error message also names what was being parsed and where it started."""
    assert _errors("a: [1, 2\nb: 3\n") == [
        "f.yaml:2:2: expected ',' or ']', but got ':' (while parsing a flow sequence at 1:4)"
    ]


def test_missing_file_is_a_problem_at_1_1(tmp_path: Path) -> None:
    """An unreadable file is reported at 1:1 with the OS error text and the path as given."""
    missing = tmp_path / "nope.yaml"
    with pytest.raises(YamlError) as info:
        load_file(missing)
    assert str(info.value) == f"{missing}:1:1: cannot read file: No such file or directory"


def test_load_file_keeps_the_given_path(tmp_path: Path) -> None:
    """load_file returns the data and the path exactly as the caller spelled it."""
    (tmp_path / "c.yaml").write_text("quiet_hours: {start: 21:00, country: NO}\n", "utf-8")
    located = load_file(str(tmp_path / "c.yaml"))
    assert located.data == {"quiet_hours": {"start": "21:00", "country": "NO"}}
    assert located.file == str(tmp_path / "c.yaml")


def test_empty_document_is_none_at_root() -> None:
    """An empty or comment-only document loads as None with only the root position."""
    located = load_text("# nothing\n")
    assert located.data is None
    assert dict(located.positions) == {(): (1, 1)}


ALIASED = """\
defaults: &d
  window: [9, 17]
  channel: sms
teams:
  - name: a
    rules: *d
  - name: b
    rules: *d
"""


def test_positions_through_aliases_point_at_the_anchor() -> None:
    """Every path through an alias resolves, to the position of the anchored node."""
    located = load_text(ALIASED)
    teams = located.data["teams"]  # type: ignore[index]
    assert teams[0]["rules"] is teams[1]["rules"]
    assert located.positions[("defaults", "window", 1)] == (2, 15)
    assert located.positions[("teams", 0, "rules", "window", 1)] == (2, 15)
    assert located.positions[("teams", 1, "rules", "channel")] == (3, 12)
    assert located.positions[("teams", 1, "name")] == (7, 11)
    assert ("teams", 1, "rules", "window", 0) in set(located.positions)


def test_recursive_alias_loads_and_iterates() -> None:
    """A self-referencing anchor loads, and iterating positions terminates."""
    located = load_text("loop: &r [1, *r]\n")
    assert located.positions[("loop", 1, 1, 0)] == (1, 11)
    assert set(located.positions) == {(), ("loop",), ("loop", 0), ("loop", 1)}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("teams", 1, "name"), (7, 11)),
        (("teams", 1, "nickname"), (7, 5)),
        (("teams", 1, "rules", "quiet", "start"), (1, 11)),
        (("teams", 9), (5, 3)),
        (("nothing", "here"), (1, 1)),
        ((), (1, 1)),
    ],
)
def test_where_falls_back_to_deepest_existing_prefix(
    path: tuple[str | int, ...], expected: tuple[int, int]
) -> None:
    """where() answers the position of the deepest prefix of the path that exists."""
    assert load_text(ALIASED).where(path) == expected


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        (Problem("f", 2, 3, ("a", "b", 2, "c"), "bad"), "f:2:3: a.b[2].c: bad"),
        (Problem("f", 1, 1, (0, "x"), "bad"), "f:1:1: [0].x: bad"),
        (Problem("f", 1, 1, (), "bad"), "f:1:1: bad"),
    ],
)
def test_problem_rendering(problem: Problem, expected: str) -> None:
    """A Problem renders as file:line:col, then the dotted/indexed path if any, then the text."""
    assert str(problem) == expected
    assert render_path(problem.path) in expected


def test_yaml_error_lists_one_problem_per_line() -> None:
    """YamlError keeps all problems and prints one per line."""
    err = YamlError([Problem("f", 1, 1, (), "one"), Problem("f", 2, 1, ("k",), "two")])
    assert str(err) == "f:1:1: one\nf:2:1: k: two"
    assert len(err.problems) == 2


class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel
    delay_minutes: int


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    steps: list[Step]
    limit: int | list[int] = 0


PLAN = """\
plan:
  name: demo
  steps:
    - channel: sms
      delay_minutes: 5
    - channel: fax
      delay_minutes: soon
    - channel: email
      colour: red
  limit: lots
"""


def _validate(located: Located, prefix: tuple[str | int, ...] = ("plan",)) -> ValidationError:
    sub = located.data
    for step in prefix:
        sub = sub[step]  # type: ignore[index]
    with pytest.raises(ValidationError) as info:
        Plan.model_validate(sub)
    return info.value


def test_validation_errors_are_all_reported_and_located() -> None:
    """Every pydantic error becomes a Problem at the value (or parent mapping) it concerns."""
    located = load_text(PLAN, "plan.yaml")
    problems = problems_from_validation(_validate(located), located, ("plan",))
    assert [str(p) for p in problems] == [
        "plan.yaml:6:16: plan.steps[1].channel: Input should be 'sms' or 'email'",
        "plan.yaml:7:22: plan.steps[1].delay_minutes: Input should be a valid integer, "
        "unable to parse string as an integer",
        "plan.yaml:8:7: plan.steps[2].delay_minutes: missing required key 'delay_minutes'",
        "plan.yaml:9:15: plan.steps[2].colour: unknown key 'colour'",
        "plan.yaml:10:10: plan.limit: Input should be a valid integer, "
        "unable to parse string as an integer",
        "plan.yaml:10:10: plan.limit: Input should be a valid list",
    ]


def test_unknown_key_lists_allowed_keys_when_model_given() -> None:
    """Given the model, an unknown-key message names the keys allowed at that place."""
    located = load_text(PLAN, "plan.yaml")
    problems = problems_from_validation(_validate(located), located, ("plan",), model=Plan)
    unknown = [p for p in problems if "unknown" in p.message]
    assert [p.message for p in unknown] == [
        "unknown key 'colour' (allowed: channel, delay_minutes)"
    ]


def test_validation_at_root_without_prefix() -> None:
    """With no prefix, error paths are relative to the document root."""
    located = load_text("name: x\nsteps: []\nextra: 1\n", "p.yaml")
    problems = problems_from_validation(_validate(located, ()), located, model=Plan)
    assert [str(p) for p in problems] == [
        "p.yaml:3:8: extra: unknown key 'extra' (allowed: limit, name, steps)"
    ]


def test_missing_key_in_empty_document_points_at_root() -> None:
    """Validating an empty mapping reports each missing key at the root position."""
    located = load_text("{}\n", "e.yaml")
    problems = problems_from_validation(_validate(located, ()), located)
    assert [str(p) for p in problems] == [
        "e.yaml:1:1: name: missing required key 'name'",
        "e.yaml:1:1: steps: missing required key 'steps'",
    ]
