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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from outreachd import yamlio

Class = Literal[
    "stop", "start", "help", "hardship", "dispute", "cease", "attorney", "wrong_number",
    "promise_to_pay", "paid", "other",
]  # fmt: skip
# most restrictive first: the first class found wins
PRECEDENCE: tuple[Class, ...] = (
    "attorney", "cease", "dispute", "wrong_number", "stop", "hardship", "paid",
    "promise_to_pay", "help", "start", "other",
)  # fmt: skip
# a phrase preceded by one of these in the same clause is negated ("I have no lawyer")
NEGATIONS = re.compile(
    r"(\b(not|no|never|without|dont|doesnt|didnt|wont|cant|cannot)\b|n't\b|没有|没|不是|并非|无)"
    r"[^,.;!?，。；！？]*$"
)
CLAUSE_END = re.compile(r"[,.;!?，。；！？]")
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
    """What a reply says: its winning class, every class found, the locale to answer in, and
    the keyword or phrase that decided it ("" for other)."""

    cls: Class
    found: tuple[Class, ...]
    locale: str
    matched: str = ""


class Replies:
    def __init__(self, spec: RepliesIn) -> None:
        self.spec = spec
        self.default_locale = next(iter(spec.locales))

    def read(self, body: str, locale: str | None = None) -> Reading:
        """The class of a reply (see the module docstring); with `locale`, only that
        locale's lists are used."""
        lists = {k: v for k, v in self.spec.locales.items() if locale in (None, k)}
        whole = re.sub(r"[\s.!。！]+$", "", body.strip()).casefold()
        for loc, words in lists.items():
            for cls in ("stop", "start", "help"):
                for word in getattr(words.keywords, cls):
                    if whole == word.casefold():
                        return Reading(cls=cls, found=(cls,), locale=loc, matched=word)
        text = body.casefold()
        found: dict[Class, tuple[str, str]] = {}
        for loc, words in lists.items():
            for cls in PhrasesIn.model_fields:
                for phrase in getattr(words.phrases, cls):
                    if cls not in found and _says(text, phrase.casefold()):
                        found[cls] = (loc, phrase)  # type: ignore[index]
        ranked = tuple(c for c in PRECEDENCE if c in found)
        if not ranked:
            fallback = locale or self._locale_of(body)
            return Reading(cls="other", found=("other",), locale=fallback)
        loc, phrase = found[ranked[0]]
        return Reading(cls=ranked[0], found=ranked, locale=loc, matched=phrase)

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


def _says(text: str, phrase: str) -> bool:
    """Whether `text` contains `phrase` somewhere not negated earlier in its clause."""
    start = text.find(phrase)
    while start >= 0:
        clause = CLAUSE_END.split(text[:start])[-1]
        if not NEGATIONS.search(clause):
            return True
        start = text.find(phrase, start + 1)
    return False


def load(path: str | os.PathLike[str]) -> Replies:
    """Read and validate a replies file; YamlError with file:line:col for every problem."""
    return Replies(yamlio.load_model(path, RepliesIn))
