"""What a borrower's SMS reply means, and what outreachd does about it (config/replies.yaml).

A whole-message keyword (STOP, 退订, START, HELP, ...) or a phrase inside free text ("I lost my
job", 不是我的) gives the reply a class. Where a reply carries several, the class that
restricts contact most wins; the others are named in the hand-off, so a person sees all of it.

What each class does, for every contact point at the sending number:
- stop: an SMS opt-out of that number (12 CFR 1006.14(h)), and exactly one confirmation;
- start: that opt-out withdrawn, and one confirmation; help: the help text, nothing else;
- cease / attorney / dispute / hardship: the matching flag (contact stops or pauses per the
  packs) and a hand-off to a person; wrong_number: the number never used again, a hand-off;
- paid / promise_to_pay / other: a hand-off to confirm or answer (never an automatic reply).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from outreachd import yamlio

Class = Literal[
    "stop", "start", "help", "hardship", "dispute", "cease", "attorney", "wrong_number",
    "promise_to_pay", "paid", "other",
]  # fmt: skip
# most restrictive first: the first class found wins
PRECEDENCE: tuple[Class, ...] = (
    "stop", "cease", "attorney", "dispute", "wrong_number", "hardship", "paid",
    "promise_to_pay", "start", "help", "other",
)  # fmt: skip
FLAG_OF: dict[str, str] = {  # the yes/no flag a class raises (core.model.Flags)
    "cease": "cease_written", "attorney": "attorney_represented",
    "dispute": "dispute_any_form", "hardship": "hardship",
}  # fmt: skip
HANDOFF = frozenset({"cease", "attorney", "dispute", "wrong_number", "hardship", "paid",
                     "promise_to_pay", "other"})  # fmt: skip


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeywordsIn(_Strict):
    stop: tuple[str, ...] = ()
    start: tuple[str, ...] = ()
    help: tuple[str, ...] = ()


class PhrasesIn(_Strict):
    stop: tuple[str, ...] = ()
    cease: tuple[str, ...] = ()
    attorney: tuple[str, ...] = ()
    dispute: tuple[str, ...] = ()
    wrong_number: tuple[str, ...] = ()
    hardship: tuple[str, ...] = ()
    paid: tuple[str, ...] = ()
    promise_to_pay: tuple[str, ...] = ()


class RepliesTextIn(_Strict):
    stop: str = Field(min_length=1)
    start: str = Field(min_length=1)
    help: str = Field(min_length=1)


class LocaleIn(_Strict):
    keywords: KeywordsIn
    phrases: PhrasesIn = PhrasesIn()
    replies: RepliesTextIn


class RepliesIn(_Strict):
    schema_: str = Field(alias="schema", pattern=r"^outreachd-replies/v1$")
    locales: dict[str, LocaleIn] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Reading:
    """What a reply says: its winning class, every class found, and the locale to answer in."""

    cls: Class
    found: tuple[Class, ...]
    locale: str


class Replies:
    def __init__(self, spec: RepliesIn) -> None:
        self.spec = spec
        self.default_locale = next(iter(spec.locales))

    def read(self, body: str) -> Reading:
        """The class of a reply (see the module docstring)."""
        whole = re.sub(r"[\s.!。！]+$", "", body.strip()).casefold()
        for locale, words in self.spec.locales.items():
            for cls in ("stop", "start", "help"):
                if whole in {w.casefold() for w in getattr(words.keywords, cls)}:
                    return Reading(cls=cls, found=(cls,), locale=locale)
        text = body.casefold()
        found: dict[Class, str] = {}
        for locale, words in self.spec.locales.items():
            for cls in PhrasesIn.model_fields:
                if any(p.casefold() in text for p in getattr(words.phrases, cls)):
                    found.setdefault(cls, locale)  # type: ignore[arg-type]
        ranked = tuple(c for c in PRECEDENCE if c in found)
        if not ranked:
            return Reading(cls="other", found=("other",), locale=self._locale_of(body))
        return Reading(cls=ranked[0], found=ranked, locale=found[ranked[0]])

    def reply_text(self, reading: Reading) -> str | None:
        """The one message sent back (stop, start, help), else None."""
        if reading.cls not in ("stop", "start", "help"):
            return None
        texts = self.spec.locales[reading.locale].replies
        return str(getattr(texts, reading.cls))

    def _locale_of(self, body: str) -> str:
        cjk = any("\u4e00" <= ch <= "\u9fff" for ch in body)
        zh = next((loc for loc in self.spec.locales if loc.startswith("zh")), None)
        return zh if cjk and zh else self.default_locale


def load(path: str | os.PathLike[str]) -> Replies:
    """Read and validate a replies file; YamlError with file:line:col for every problem."""
    located = yamlio.load_file(Path(path))
    try:
        return Replies(RepliesIn.model_validate(located.data))
    except pydantic.ValidationError as exc:
        problems = yamlio.problems_from_validation(exc, located, model=RepliesIn)
        raise yamlio.YamlError(problems) from exc
