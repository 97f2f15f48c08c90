"""Messages from Jinja2 templates: sandboxed, strict about variables, localized money and dates.

Each template starts with a metadata comment:

    {#- outreachd:
    class: collection
    channel: sms
    has_opt_out: true
    subject: "Your account with {{ company }}"     # e-mail only
    variables: [given_name, company, amount]
    -#}

A call template (`<locale>/call/<name>`) also declares `greeting:` (said to whoever answers,
before anyone is identified: no debt content) and `voicemail:` (the limited-content message
of 12 CFR 1006.2(j) left on a machine; without it a machine gets no message); its body is said
only to the borrower, once they confirmed who they are.

The metadata (with facts measured on the rendered text: the China SMS 【signature】 and the
carrier-counted length) is what the rule packs' content rules read.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import babel
import babel.dates
import babel.numbers
import yaml
from jinja2 import FileSystemLoader, StrictUndefined, Template
from jinja2 import TemplateError as JinjaError
from jinja2 import meta as jinja_meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from outreachd import yamlio
from outreachd.core.model import Channel, TemplateClass, TemplateMeta
from outreachd.errors import ConfigError

_META = re.compile(r"\A\{#-?\s*outreachd:\s*\n(?P<yaml>.*?)\n\s*-?#\}\n?", re.DOTALL)
_SIGNATURE = re.compile(r"\A【[^【】]{2,16}】")
_PARTS = ("subject", "greeting", "voicemail")  # metadata strings rendered like the body
_FACTS = ("has_opt_out", "has_dc_disclosure", "lcm_only", "ca_license_number", "threatens_suit")
_DATE_PATTERNS = {"zh-CN": "M月d日", "en-US": "MMMM d", "en-GB": "d MMMM"}


class TemplateError(ConfigError):
    """A template is missing, malformed or cannot render with the given variables."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Message:
    """A rendered message and the metadata the content rules read."""

    template_id: str  # "<locale>/<channel>/<name>"
    locale: str
    channel: Channel
    subject: str | None
    body: str
    meta: TemplateMeta
    # calls: what anyone who answers hears first, and the limited-content voicemail
    greeting: str | None = None
    voicemail: str | None = None


def money(amount: Decimal | str, currency: str, locale: str) -> str:
    """`$1,280.50`, `£1,280.50`, `¥1,280.50` (exact decimal, never float).

    Exactly babel's format_currency; where the locale writes `¤#,##0.00` with `,` and `.` (the
    shipped locales) it is done here from babel's symbol and precision, several times faster.
    """
    value = Decimal(amount)
    fast = _simple_currency(currency, locale)
    if fast is None or value < 0:
        return babel.numbers.format_currency(value, currency, locale=locale.replace("-", "_"))
    symbol, digits = fast
    return f"{symbol}{value.quantize(Decimal(1).scaleb(-digits)):,.{digits}f}"


def day_month(day: date, locale: str) -> str:
    """A day of the year as people write it: `March 13` (en-US), `13 March` (en-GB), `3月13日`."""
    return babel.dates.format_skeleton("MMMMd", day, locale=locale.replace("-", "_"))


@functools.lru_cache(maxsize=256)
def _simple_currency(currency: str, locale: str) -> tuple[str, int] | None:
    """(symbol, fraction digits) when the locale's currency pattern is `¤#,##0.00` with a
    `,` group and a `.` decimal separator; None when babel must format."""
    tag = locale.replace("-", "_")
    pattern = babel.Locale.parse(tag).currency_formats["standard"]
    numbers = babel.numbers
    if pattern.pattern != "¤#,##0.00" or numbers.get_decimal_symbol(tag) != ".":
        return None
    if numbers.get_group_symbol(tag) != ",":
        return None
    return numbers.get_currency_symbol(currency, tag), numbers.get_currency_precision(currency)


def day(d: date, locale: str) -> str:
    """`March 13`, `13 March`, `3月13日`."""
    pattern = _DATE_PATTERNS.get(locale, "yyyy-MM-dd")
    return babel.dates.format_date(d, format=pattern, locale=locale.replace("-", "_"))


class _Compiled(NamedTuple):
    locale: str
    channel: Channel
    meta: dict[str, object]
    body: Template
    parts: tuple[tuple[str, Template], ...]  # subject, greeting, voicemail: those it has


class Renderer:
    """Renders `templates/<locale>/<channel>/<name>.txt.j2`; templates are read once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(directory)),
            undefined=StrictUndefined,
            autoescape=False,
            auto_reload=False,  # templates are read once; a reload builds a new Renderer
            keep_trailing_newline=False,
        )
        self.env.filters["money"] = money
        self.env.filters["day"] = day
        self._meta: dict[str, dict[str, object]] = {}
        self._exists: dict[str, bool] = {}
        self._names: dict[str, frozenset[str]] = {}
        self._compiled_: dict[str, _Compiled] = {}

    def template_id(self, locale: str, channel: Channel, name: str) -> str:
        return f"{locale}/{channel.value}/{name}"

    def exists(self, template_id: str) -> bool:
        """Whether the template file exists (looked up once: templates are read once)."""
        found = self._exists.get(template_id)
        if found is None:
            found = self._exists[template_id] = (self.directory / f"{template_id}.txt.j2").is_file()
        return found

    def metadata(self, template_id: str) -> dict[str, object]:
        """The template's metadata block (cached); TemplateError names the file and line."""
        found = self._meta.get(template_id)
        if found is None:
            found = self._meta[template_id] = self._read_meta(template_id)
        return found

    def names(self, template_id: str) -> frozenset[str]:
        """Every variable the template (its body and its metadata parts) refers to, as
        Jinja's own analysis finds them (cached): only these need computing. TemplateError
        if it does not parse."""
        found = self._names.get(template_id)
        if found is None:
            meta = self.metadata(template_id)
            try:
                body, _, _ = self.env.loader.get_source(self.env, f"{template_id}.txt.j2")  # type: ignore[union-attr]
                sources = [body, *(str(meta[name]) for name in _PARTS if meta.get(name))]
                found = frozenset().union(
                    *(jinja_meta.find_undeclared_variables(self.env.parse(s)) for s in sources)
                )
            except JinjaError as exc:
                raise TemplateError(f"{self.directory / template_id}.txt.j2: {exc}") from exc
            self._names[template_id] = found
        return found

    def _read_meta(self, template_id: str) -> dict[str, object]:
        path = self.directory / f"{template_id}.txt.j2"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TemplateError(f"{path}:1:1: cannot read template: {exc}") from exc
        match = _META.match(text)
        if match is None:
            raise TemplateError(f"{path}:1:1: missing the 'outreachd:' metadata comment")
        try:
            data = yamlio.load_text(match.group("yaml"), str(path)).data
        except yamlio.YamlError as exc:
            raise TemplateError(str(exc).replace(f"{path}:", f"{path}:+1 ")) from exc
        if not isinstance(data, dict):
            raise TemplateError(f"{path}:2:1: the metadata block must be a mapping")
        return data

    def _compiled(self, template_id: str) -> _Compiled:
        """The template's locale, channel, metadata, body and parts, compiled once."""
        found = self._compiled_.get(template_id)
        if found is None:
            meta = self.metadata(template_id)
            locale, channel_name, _ = template_id.split("/", 2)
            body = self.env.get_template(f"{template_id}.txt.j2")
            parts = tuple(
                (name, self.env.from_string(str(meta[name]))) for name in _PARTS if meta.get(name)
            )
            found = _Compiled(locale, Channel(channel_name), meta, body, parts)
            self._compiled_[template_id] = found
        return found

    def render(self, template_id: str, variables: dict[str, object]) -> Message:
        """Render a template; a missing variable or a template error is a TemplateError."""
        try:
            locale, channel, meta, template, compiled = self._compiled(template_id)
            body = template.render(variables).strip()
            parts = {name: part.render(variables).strip() for name, part in compiled}
        except (JinjaError, yaml.YAMLError) as exc:
            raise TemplateError(f"{self.directory / template_id}.txt.j2: {exc}") from exc
        if channel is Channel.CALL and not parts.get("greeting"):
            raise TemplateError(
                f"{self.directory / template_id}.txt.j2:1:1: a call template needs a greeting:"
                " what whoever answers hears before they say who they are"
            )
        return Message(
            template_id=template_id,
            locale=locale,
            channel=channel,
            subject=parts.get("subject"),
            body=body,
            meta=_facts(meta, channel, body, variables),
            greeting=parts.get("greeting"),
            voicemail=parts.get("voicemail"),
        )


def _facts(
    meta: dict[str, object], channel: Channel, body: str, variables: dict[str, object]
) -> TemplateMeta:
    """Declared facts, plus those measured on the text (signature, carrier length).

    `ca_license_number: true` declares that the template prints the licence when one is
    configured, so the fact holds only when a `license` variable was given.
    """
    declared = {k: bool(meta[k]) for k in _FACTS if k in meta}
    if declared.get("ca_license_number"):
        declared["ca_license_number"] = bool(variables.get("license"))
    measured: dict[str, object] = {}
    if channel is Channel.SMS:
        measured["rendered_length"] = len(body)
        measured["has_signature"] = bool(_SIGNATURE.match(body))
    return TemplateMeta(
        template_class=TemplateClass(str(meta.get("class", "collection"))),
        **declared,
        **measured,  # type: ignore[arg-type]
    )
