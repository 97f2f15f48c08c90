"""Content lint: every template, rendered with worst-case values for its locale, held to the
lists of a lint file (the packaged `outreachd/data/lint.yaml`, or `lint:` in the config).

The rule packs decide on a template's metadata (`has_opt_out`, `has_dc_disclosure`,
`threatens_suit`, ...); this makes sure the metadata tells the truth and the words are kind:
- a required element missing for the locale and channel (an opt-out statement and the
  debt-collector disclosure in US SMS and e-mail; China's 【signature】 at the start of an SMS);
- a fact declared true that the text does not bear out (has_opt_out, has_dc_disclosure,
  ca_license_number where a license number is configured);
- a banned phrase (threats, shame, intimidation), anywhere;
- a lawsuit mentioned in a template that does not declare `threatens_suit: true`;
- an SMS over its segment budget once rendered with worst-case values;
- a call's greeting or voicemail that names the debt (12 CFR 1006.2(j): limited content);
- an opt-out confirmation with anything but the confirmation in it (12 CFR 1006.14(h)): it
  needs no opt-out statement or disclosure (the packs exempt its class), and names no debt.
Every problem names the template file and line (the first line holding the phrase, else the
first line of the body, or the metadata line of the part).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from outreachd import yamlio
from outreachd.channels.twilio_sms import segments
from outreachd.core.model import Channel
from outreachd.render import Message, Renderer, TemplateError

DEFAULT = Path(__file__).parent / "data" / "lint.yaml"
Element = Literal["opt_out", "dc_disclosure", "signature"]
_SIGNATURE = re.compile(r"\A【[^【】]{2,16}】")
CONFIRMATION = "opt_out_confirmation"  # the class that says nothing but the confirmation
_NOT_IN_CONFIRMATION: frozenset[Element] = frozenset({"opt_out", "dc_disclosure"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocaleLint(_Strict):
    require: dict[Channel, list[Element]] = {}
    segments: dict[Channel, int] = {}
    opt_out: list[str] = []
    dc_disclosure: list[str] = []
    banned: list[str] = []
    suit: list[str] = []
    private: list[str] = []


class LintIn(_Strict):
    schema_: str = Field(alias="schema", pattern=r"^outreachd-lint/v1$")
    locales: dict[str, LocaleLint] = Field(min_length=1)


def load(path: str | os.PathLike[str] = DEFAULT) -> LintIn:
    """Read and validate a lint file; YamlError with file:line:col for every problem."""
    return yamlio.load_model(path, LintIn)


def find(text: str, phrase: str) -> int:
    """Where `phrase` first occurs in `text`, ignoring case (-1: nowhere). A phrase that
    starts or ends with a letter or digit must do so at a word's edge: "ashamed" does not
    hold "shame", "Acme Collections" does hold "collect" only as a whole word."""
    pattern = re.escape(phrase.casefold())
    if phrase[:1].isalnum() and phrase[:1].isascii():
        pattern = r"(?<!\w)" + pattern
    if phrase[-1:].isalnum() and phrase[-1:].isascii():
        pattern += r"(?!\w)"
    found = re.search(pattern, text.casefold())
    return found.start() if found else -1


def _first(text: str, phrases: list[str]) -> str | None:
    hits = [(at, p) for p in phrases if (at := find(text, p)) >= 0]
    return min(hits)[1] if hits else None


@dataclass(frozen=True, slots=True)
class _Source:
    """A template file's lines, to point at the line a phrase came from."""

    path: Path
    lines: list[str]
    body_line: int  # the first line after the metadata block

    @classmethod
    def read(cls, path: Path) -> _Source:
        lines = path.read_text(encoding="utf-8").splitlines()
        end = next((i for i, line in enumerate(lines) if line.rstrip().endswith("#}")), -1)
        return cls(path, lines, end + 2)

    def line_of(self, phrase: str | None, part: str | None = None) -> int:
        """The first line holding `phrase` (in `part`'s metadata line when given), else the
        metadata line of the part, else the body's first line."""
        if part is not None:
            for i, line in enumerate(self.lines, 1):
                if line.lstrip().startswith(f"{part}:"):
                    return i
        if phrase:
            for i, line in enumerate(self.lines, 1):
                if i >= self.body_line - 1 and find(line, phrase) >= 0:
                    return i
        return self.body_line

    def problem(self, line: int, text: str) -> str:
        return f"{self.path}:{line}:1: {text}"


def check(renderer: Renderer, spec: LintIn, values: dict[str, dict[str, object]]) -> list[str]:
    """Every problem of every template of the locales that have sample `values` (worst case,
    by locale): a template that cannot render, and what the locale's lists in `spec` refuse
    (a locale the lint file does not list is only rendered)."""
    problems: list[str] = []
    for locale, sample in values.items():
        rules = spec.locales.get(locale, LocaleLint())
        for template_id in _templates(renderer.directory, locale):
            try:
                message = renderer.render(template_id, sample)
            except TemplateError as exc:
                problems.append(str(exc))
                continue
            source = _Source.read(renderer.directory / f"{template_id}.txt.j2")
            meta = renderer.metadata(template_id)
            problems += _problems(message, meta, rules, source)
            problems += [source.problem(n, t) for n, t in _license(message, meta, sample, source)]
    return problems


def _license(
    message: Message, meta: dict[str, object], sample: dict[str, object], src: _Source
) -> Found:
    """A template that declares `ca_license_number: true` gives the collector's license
    number, when one is configured (the rule packs believe the declaration)."""
    number = sample.get("license")
    if meta.get("ca_license_number") is not True or not number:
        return
    if str(number) not in _written(message):
        yield (
            src.line_of(None, "ca_license_number"),
            ("declares ca_license_number: true but the text does not give the license number"),
        )


def _templates(directory: Path, locale: str) -> Iterator[str]:
    for path in sorted((directory / locale).glob("*/*.txt.j2")):
        if path.parent.name in Channel.__members__.values():
            yield f"{locale}/{path.parent.name}/{path.name.removesuffix('.txt.j2')}"


_WHAT = {
    "opt_out": "an opt-out statement",
    "dc_disclosure": "the debt-collector disclosure",
    "signature": "the 【signature】 at the start",
}
_FACT_OF: dict[Element, str] = {"opt_out": "has_opt_out", "dc_disclosure": "has_dc_disclosure"}


def _problems(
    message: Message, meta: dict[str, object], rules: LocaleLint, source: _Source
) -> list[str]:
    return [
        source.problem(line, text)
        for check in (_elements, _phrases, _budget, _call_parts, _confirmation_only)
        for line, text in check(message, meta, rules, source)
    ]


Found = Iterator[tuple[int, str]]


def _elements(message: Message, meta: dict[str, object], rules: LocaleLint, src: _Source) -> Found:
    """Required elements present; declared facts borne out by the text."""
    required = rules.require.get(message.channel, [])
    if meta.get("class") == CONFIRMATION:
        required = [e for e in required if e not in _NOT_IN_CONFIRMATION]
    for element in required:
        if not _has(element, message, rules):
            where = f"{message.locale} {message.channel.value}"
            yield src.body_line, f"missing {_WHAT[element]} (required for {where})"
    for element, fact in _FACT_OF.items():
        declared = meta.get(fact) is True
        if declared and element not in required and not _has(element, message, rules):
            yield src.line_of(None, fact), f"declares {fact}: true but the text has none"


def _phrases(message: Message, meta: dict[str, object], rules: LocaleLint, src: _Source) -> Found:
    """No banned phrase; a lawsuit only where the template declares it."""
    parts = (message.subject, message.body, message.greeting, message.voicemail)
    every = "\n".join(t for t in parts if t)
    banned = _first(every, rules.banned)
    if banned is not None:
        yield src.line_of(banned), f"banned phrase {banned!r}"
    suit = _first(every, rules.suit)
    if suit is not None and meta.get("threatens_suit") is not True:
        why = f"mentions a lawsuit ({suit!r}) but does not declare threatens_suit: true"
        yield src.line_of(suit), why


def _budget(message: Message, meta: dict[str, object], rules: LocaleLint, src: _Source) -> Found:
    """An SMS within its segment budget with worst-case values."""
    budget = rules.segments.get(message.channel)
    if budget is None:
        return
    encoding, parts = segments(message.body)
    if parts > budget:
        size = f"{parts} {encoding} segments ({len(message.body)} characters)"
        yield src.body_line, f"{size} with worst-case values; the budget is {budget}"


def _call_parts(
    message: Message, meta: dict[str, object], rules: LocaleLint, src: _Source
) -> Found:
    """A call's greeting and voicemail name no debt (limited content)."""
    for part in ("greeting", "voicemail"):
        text = getattr(message, part)
        named = _first(text, rules.private) if text else None
        if named is not None:
            why = "before the borrower is identified, and on a voicemail, a call names no debt"
            yield src.line_of(None, part), f"the {part} says {named!r}: {why} (12 CFR 1006.2(j))"


def _confirmation_only(
    message: Message, meta: dict[str, object], rules: LocaleLint, src: _Source
) -> Found:
    """An opt-out confirmation confirms, and says nothing else: no debt, no amount."""
    if meta.get("class") != CONFIRMATION:
        return
    named = _first(_written(message), rules.private)
    if named is not None:
        why = "an opt-out confirmation says nothing but the confirmation (12 CFR 1006.14(h))"
        yield src.line_of(named), f"{why}; it says {named!r}"


def _written(message: Message) -> str:
    """What a message says once its recipient reads it: subject and body."""
    return "\n".join(t for t in (message.subject, message.body) if t)


def _has(element: Element, message: Message, rules: LocaleLint) -> bool:
    if element == "signature":
        return bool(_SIGNATURE.match(message.body))
    phrases = rules.opt_out if element == "opt_out" else rules.dc_disclosure
    return _first(message.body, phrases) is not None
