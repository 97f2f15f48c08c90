"""The one place that reads YAML: a strict loader that keeps 1-based source positions.

Scalars resolve like the YAML 1.2 core schema, only stricter: ``true``/``True``/``TRUE`` (and
false) are booleans, plain decimals are numbers, ``null``/``~``/empty are None; all else
(``21:00``, ``NO``, ``on``, ``2026-06-02``, ``0o17``, ``1_000``, ``.inf``) stays a string.
Duplicate keys, merge keys (``<<``) and non-core tags are located errors.
"""

from __future__ import annotations

import os
import re
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, get_args

import pydantic
import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from outreachd.errors import ConfigError

Path = tuple[str | int, ...]
_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_BOOLS = {"true": True, "false": False}


@dataclass(frozen=True)
class Problem:
    """One located complaint about a YAML file; ``line``/``col`` are 1-based."""

    file: str
    line: int
    col: int
    path: Path
    message: str

    def __str__(self) -> str:
        """Render as ``file:line:col: a.b[2].c: message`` (no path part when it is empty)."""
        where = f"{self.file}:{self.line}:{self.col}: "
        return where + (f"{render_path(self.path)}: " if self.path else "") + self.message


class YamlError(ConfigError):
    """One or more problems found while reading or validating YAML."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        """One problem per line."""
        return "\n".join(str(p) for p in self.problems)


def render_path(path: Sequence[str | int]) -> str:
    """Render ``("a", "b", 2, "c")`` as ``a.b[2].c``."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).removeprefix(".")


def _pos(mark: yaml.Mark | None) -> tuple[int, int]:
    """1-based (line, col) of a 0-based PyYAML mark; (1, 1) without one."""
    return (mark.line + 1, mark.column + 1) if mark else (1, 1)


class _Tree:
    """Position of one node and its children by key/index; an alias shares the anchor's tree."""

    __slots__ = ("kids", "pos")

    def __init__(self, mark: yaml.Mark | None) -> None:
        self.pos = _pos(mark)
        self.kids: dict[Any, _Tree] = {}


class _Positions(Mapping[Path, tuple[int, int]]):
    """Read-only path -> (line, col) view; each lookup walks the node tree along the path."""

    def __init__(self, root: _Tree) -> None:
        self._root = root

    def __getitem__(self, path: Path) -> tuple[int, int]:
        node = self._root
        for step in path:
            node = node.kids[step]
        return node.pos

    def __iter__(self) -> Iterator[Path]:
        """Yield every path; a recursive alias is yielded once but not re-entered."""
        stack: list[tuple[Path, _Tree, frozenset[int]]] = [((), self._root, frozenset())]
        while stack:
            path, node, seen = stack.pop()
            yield path
            if id(node) not in seen:
                inner = seen | {id(node)}
                stack.extend(((*path, k), kid, inner) for k, kid in node.kids.items())

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class Located:
    """Loaded plain data plus the start position of every value by path (do not mutate data)."""

    data: object
    file: str
    positions: Mapping[Path, tuple[int, int]]

    def where(self, path: Sequence[str | int]) -> tuple[int, int]:
        """Position of the deepest prefix of ``path`` that exists (the document root at worst)."""
        for end in range(len(path), 0, -1):
            pos = self.positions.get(tuple(path[:end]))
            if pos is not None:
                return pos
        return self.positions.get((), (1, 1))


def _fail(mark: yaml.Mark | None, message: str) -> ConstructorError:
    return ConstructorError(None, None, message, mark)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader limited to core tags, with strict scalars and duplicate/merge-key errors."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - PyYAML's class registry
    yaml_constructors = {  # noqa: RUF012 - PyYAML's class registry
        _STR: SafeConstructor.construct_yaml_str,
        _NULL: SafeConstructor.construct_yaml_null,
        _TAG + "seq": SafeConstructor.construct_yaml_seq,
        _TAG + "map": SafeConstructor.construct_yaml_map,
        None: SafeConstructor.construct_undefined,
    }

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        """Build a dict; ``<<``, unhashable and duplicate keys fail at the offending key."""
        result: dict[Hashable, Any] = {}
        first_line: dict[Hashable, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STR and key_node.value == "<<" and key_node.style is None:
                raise _fail(key_node.start_mark, "merge keys ('<<') are not supported")
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise _fail(key_node.start_mark, "mapping keys must be scalars")
            if key in result:
                msg = f"duplicate key {key!r} (first at line {first_line[key]})"
                raise _fail(key_node.start_mark, msg)
            first_line[key] = key_node.start_mark.line + 1
            result[key] = self.construct_object(value_node, deep=deep)
        return result

    def construct_typed(self, node: ScalarNode) -> object:
        """Convert an int/float/bool-tagged scalar (decimal only); a located error if unfit."""
        text = self.construct_scalar(node)
        try:
            if node.tag == _INT:
                return int(text, 10)
            return float(text) if node.tag == _FLOAT else _BOOLS[text.lower()]
        except (ValueError, KeyError):
            kind = node.tag.removeprefix(_TAG)
            raise _fail(node.start_mark, f"{text!r} is not a valid {kind}") from None


for _tag, _regexp, _first in (
    (_BOOL, r"true|True|TRUE|false|False|FALSE", "tTfF"),
    (_NULL, r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    (_INT, r"[-+]?[0-9]+", "-+0123456789"),
    (_FLOAT, r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?", "-+.0123456789"),
):
    _StrictLoader.add_implicit_resolver(_tag, re.compile(rf"^(?:{_regexp})$"), list(_first))
    if _tag != _NULL:
        _StrictLoader.add_constructor(_tag, _StrictLoader.construct_typed)


def _build(node: Node, data: object, memo: dict[int, _Tree]) -> _Tree:
    """Mirror ``node`` (walked in step with its constructed ``data``) as a position tree."""
    if id(node) in memo:
        return memo[id(node)]
    tree = memo[id(node)] = _Tree(node.start_mark)
    if isinstance(node, MappingNode) and isinstance(data, dict):
        for (_, value_node), (key, value) in zip(node.value, data.items(), strict=True):
            tree.kids[key] = _build(value_node, value, memo)
    elif isinstance(node, SequenceNode) and isinstance(data, list):
        for i, (child, value) in enumerate(zip(node.value, data, strict=True)):
            tree.kids[i] = _build(child, value, memo)
    return tree


def _yaml_problem(exc: yaml.YAMLError, file: str, text: str) -> Problem:
    """Turn a PyYAML error into a Problem at its mark (1:1 when it has none)."""
    if isinstance(exc, ReaderError):  # a forbidden character, reported by string offset
        pos = exc.position
        line, col = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
        return Problem(file, line, col, (), f"{exc.reason} (#x{exc.character:04x})")
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem(file, 1, 1, (), str(exc))
    mark = exc.problem_mark or exc.context_mark
    message = exc.problem or exc.context or "invalid YAML"
    if exc.problem and exc.context:
        ctx = exc.context_mark
        at = f" at {ctx.line + 1}:{ctx.column + 1}" if ctx and ctx is not mark else ""
        message += f" ({exc.context}{at})"
    return Problem(file, *_pos(mark), (), message)


def load_text(text: str, file: str = "<string>") -> Located:
    """Parse exactly one YAML document; raise YamlError on any syntax or structure error."""
    try:
        loader = _StrictLoader(text)
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise YamlError([_yaml_problem(exc, file, text)]) from exc
    root = _Tree(None) if node is None else _build(node, data, {})
    return Located(data, file, _Positions(root))


def load_file(path: str | os.PathLike[str]) -> Located:
    """Read and parse a UTF-8 YAML file; an unreadable file is a YamlError at 1:1."""
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else f"not UTF-8 ({exc.reason})"
        raise YamlError([Problem(file, 1, 1, (), f"cannot read file: {reason}")]) from exc
    return load_text(text, file)


_ABSENT = object()


def _child(data: object, step: str | int) -> object:
    """``data[step]`` for an existing key or in-range list index, else ``_ABSENT``."""
    if isinstance(data, dict):
        return data.get(step, _ABSENT)
    in_range = isinstance(data, list) and isinstance(step, int) and 0 <= step < len(data)
    return data[step] if in_range else _ABSENT  # type: ignore[index]


def _clean_loc(data: object, loc: Sequence[str | int], missing: bool) -> Path:
    """Keep loc steps present in ``data`` (and a trailing missing key); drops union tags."""
    path: list[str | int] = []
    for i, step in enumerate(loc):
        child = _child(data, step)
        if child is not _ABSENT or (missing and i == len(loc) - 1 and isinstance(data, dict)):
            path.append(step)
            data = child
    return tuple(path)


def _models(tp: object) -> list[type[pydantic.BaseModel]]:
    """Pydantic models reachable from a type annotation through its type arguments."""
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return [tp]
    return [m for arg in get_args(tp) for m in _models(arg)]


def _allowed_keys(model: type[pydantic.BaseModel], path: Path) -> list[str]:
    """Best-effort keys accepted at ``path``; list indexes and dict keys are stepped over."""
    models = [model]
    for step in path:
        fields = [f for m in models for n, f in m.model_fields.items() if (f.alias or n) == step]
        if fields:
            models = _models(fields[0].annotation)
    return sorted({f.alias or n for m in models for n, f in m.model_fields.items()})


def _message(err: Any, path: Path, model: type[pydantic.BaseModel] | None) -> str:
    """Name what was expected: the missing/unknown key, else pydantic's own message."""
    key = err["loc"][-1] if err["loc"] else ""
    if err["type"] == "missing":
        return f"missing required key {key!r}"
    if err["type"] != "extra_forbidden":
        return str(err["msg"])
    parent = path[:-1] if path and path[-1] == key else path
    allowed = _allowed_keys(model, parent) if model is not None else []
    return f"unknown key {key!r}" + (f" (allowed: {', '.join(allowed)})" if allowed else "")


def problems_from_validation(
    exc: pydantic.ValidationError,
    located: Located,
    prefix: Sequence[str | int] = (),
    model: type[pydantic.BaseModel] | None = None,
) -> list[Problem]:
    """One located Problem per error of validating the sub-tree of ``located`` at ``prefix``.

    Pass the validated ``model`` to make unknown-key messages list the allowed keys.
    """
    base, sub = tuple(prefix), located.data
    for step in base:
        sub = _child(sub, step)
    problems = []
    for err in exc.errors():
        rel = _clean_loc(sub, err["loc"], err["type"] == "missing")
        line, col = located.where(base + rel)
        problems.append(Problem(located.file, line, col, base + rel, _message(err, rel, model)))
    return problems


M = TypeVar("M", bound=pydantic.BaseModel)


def load_model(path: str | os.PathLike[str], model: type[M]) -> M:
    """Read a YAML file and validate it as `model`; YamlError with file:line:col for every
    problem (syntax or validation)."""
    located = load_file(path)
    try:
        return model.model_validate(located.data)
    except pydantic.ValidationError as exc:
        raise YamlError(problems_from_validation(exc, located, model=model)) from exc
