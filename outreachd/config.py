"""The daemon's YAML configuration (`outreachd-config/v1`) into frozen, validated values.

Strict: unknown keys and values are errors, each as `file:line:col: key.path: message`, all of
them in one run, together with the errors of every rule pack the configuration selects.
Secrets never live here: they come from the environment or systemd credentials.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from outreachd import rulepacks, yamlio
from outreachd.calendar_overrides import CnOverrideIn
from outreachd.core import model
from outreachd.core.calendars import Calendars, CnYearOverride
from outreachd.core.decide import Policy
from outreachd.core.packs import Pack
from outreachd.strategy import OnBlocked, Stage, Step, Strategy


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CollectorIn(_Strict):
    type: model.CollectorType
    ca_licensed: StrictBool = False


class RulesIn(_Strict):
    packs: tuple[str, ...] = ("rules",)  # files or directories, relative to the config file
    enable_pending: StrictBool = False  # turn on packs whose effective date is pending (NYC)


class CalendarsIn(_Strict):
    cn_overrides: tuple[CnOverrideIn, ...] = ()


class LedgerIn(_Strict):
    url: str | None = None  # e.g. postgresql+psycopg://outreachd@db/outreachd
    path: str = "ledger.db"  # SQLite file, relative to state_dir (used when url is absent)


class SourceIn(_Strict):
    kind: Literal["jsonl", "csv", "sql"]
    path: str | None = None  # jsonl/csv, relative to the config file
    url_env: str | None = None  # sql: name of the environment variable holding the URL
    query: str | None = None  # sql


class OutboxIn(_Strict):
    path: str = "outbox.jsonl"  # relative to state_dir
    latency_ms: float = Field(default=0, ge=0)  # simulated provider latency (tests, simulator)


class SmtpIn(_Strict):
    """An SMTP relay for e-mail. The password is never here: it is read from the systemd
    credential `password_credential` ($CREDENTIALS_DIRECTORY/<name>), else from the
    environment variable `password_env`."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_credential: str = "smtp-password"
    password_env: str = "OUTREACHD_SMTP_PASSWORD"
    from_: str = Field(alias="from", min_length=3)  # e.g. "Acme Recovery <care@acme.example>"
    list_unsubscribe: str = Field(pattern=r"^(mailto:|https://)")  # where an opt-out goes
    # also offer the daemon's own one-click unsubscribe (RFC 8058) at webhooks.public_url:
    # a mail provider's "Unsubscribe" posts there and the opt-out is recorded at once
    one_click: bool = False
    timeout_seconds: float = Field(default=30, gt=0)
    cafile: str | None = None  # a private CA for the relay's certificate (else the system's)


class TwilioSenderIn(_Strict):
    """Who sends SMS to borrowers of one country (a Messaging Service or a number), and the
    number calls come from (`call_from`, else `from`)."""

    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    from_: str | None = Field(default=None, alias="from", pattern=r"^\+[1-9][0-9]{6,14}$")
    call_from: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")
    # Twilio records the call; None: CN calls are recorded (the CN pack's records section
    # keeps every collection call), others are not (US two-party-consent states)
    record_calls: bool | None = None
    # Twilio's pace per sender: long code 1/s, toll-free 3/s, short code 100/s
    messages_per_second: float = Field(default=1, gt=0)


class TwilioIn(_Strict):
    """Twilio for SMS and calls. The auth token is never here: it is read from the systemd
    credential `auth_token_credential`, else the environment variable `auth_token_env`."""

    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token_credential: str = "twilio-auth-token"
    auth_token_env: str = "OUTREACHD_TWILIO_AUTH_TOKEN"
    senders: dict[model.Country, TwilioSenderIn] = Field(min_length=1)
    status_callback: str | None = Field(default=None, pattern=r"^https?://")
    api_base: str = Field(default="https://api.twilio.com", pattern=r"^https?://")
    timeout_seconds: float = Field(default=15, gt=0)
    calls_per_second: float = Field(default=1, gt=0)  # Twilio's default CPS per account


class WebhooksIn(_Strict):
    """The daemon's HTTP endpoint for Twilio's callbacks (and /healthz for probes)."""

    listen: str = Field(default="127.0.0.1:8080", pattern=r"^[^\s:]+:[0-9]{1,5}$")
    # the URL Twilio calls, as Twilio sees it (behind a proxy): signatures are computed on it
    public_url: str = Field(pattern=r"^https?://[^\s]+$")
    replies: str = "replies.yaml"  # how SMS replies are read (relative to the config file)


class ChannelsIn(_Strict):
    outbox: OutboxIn = OutboxIn()
    smtp: SmtpIn | None = None
    twilio: TwilioIn | None = None
    # which configured channel carries each message channel; the rest go to the outbox
    route: dict[model.Channel, Literal["outbox", "smtp", "twilio"]] = {}


class CompanyIn(_Strict):
    """Who the messages say they are from, per borrower country."""

    name: str
    callback: str  # phone number printed in messages
    signature: str | None = None  # China: the registered SMS signature, without 【】
    license: str | None = None  # US: a California collection licence number, if any


class CadenceIn(_Strict):
    channels: tuple[model.Channel, ...] = (model.Channel.SMS, model.Channel.EMAIL)
    template: str = "first_reminder"
    wait_days: int = Field(default=3, ge=1)  # after a contact, before the next step
    max_steps: int = Field(default=3, ge=1)


TEMPLATE_NAME = r"^[a-z][a-z0-9_]*$"


class StepIn(_Strict):
    channels: tuple[model.Channel, ...] = Field(min_length=1)  # preference order
    template: str = Field(pattern=TEMPLATE_NAME)
    wait_days: int = Field(default=3, ge=1)  # after a contact, before the next step
    on_blocked: OnBlocked = OnBlocked.DEFER  # when no channel can carry the step lawfully


class StageIn(_Strict):
    name: str = Field(pattern=TEMPLATE_NAME)
    from_days: int  # days past due, inclusive; negative: before the due date
    to_days: int | None = None  # inclusive; none: open-ended
    steps: tuple[StepIn, ...] = Field(min_length=1)


class StrategyIn(_Strict):
    stages: tuple[StageIn, ...] = Field(min_length=1)


class ScheduleIn(_Strict):
    sweep_seconds: float = Field(default=60, gt=0)
    dispatch_seconds: float = Field(default=2, gt=0)
    batch: int = Field(default=500, ge=1)
    lease_seconds: float = Field(default=120, gt=0)  # PostgreSQL: a claimed batch is held this long
    reconcile_seconds: float = Field(default=300, gt=0)  # asking Twilio about unsure sends


class ConfigIn(_Strict):
    schema_: str = Field(alias="schema", pattern=r"^outreachd-config/v1$")
    profile: model.Profile = model.Profile.BEST_PRACTICE
    collectors: dict[model.Country, CollectorIn] = Field(min_length=1)
    rules: RulesIn = RulesIn()
    calendars: CalendarsIn = CalendarsIn()
    state_dir: str | None = None  # default: $STATE_DIRECTORY, else ./var beside the config file
    ledger: LedgerIn = LedgerIn()
    source: SourceIn | None = None
    channels: ChannelsIn = ChannelsIn()
    templates: str = "../templates"  # relative to the config file
    lint: str | None = None  # the content lint lists (relative); None: the packaged defaults
    company: dict[model.Country, CompanyIn] = {}
    cadence: CadenceIn | None = None  # one stage of alike steps; or:
    strategy: StrategyIn | None = None  # stages by days past due, each a ladder of steps
    schedule: ScheduleIn = ScheduleIn()
    webhooks: WebhooksIn | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Config:
    """A validated configuration with its rule packs loaded and its paths resolved."""

    file: Path
    profile: model.Profile
    collectors: dict[model.Country, model.Collector]
    packs: tuple[Pack, ...]
    enable_pending: StrictBool
    calendars: Calendars
    state_dir: Path
    ledger_url: str
    source: SourceIn | None
    source_path: Path | None
    outbox: Path
    outbox_latency: float
    smtp: SmtpIn | None
    twilio: TwilioIn | None
    route: dict[model.Channel, str]
    webhooks: WebhooksIn | None
    templates: Path
    lint: Path | None
    company: dict[model.Country, CompanyIn]
    strategy: Strategy
    schedule: ScheduleIn
    _policies: dict[model.Country, Policy] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # one Policy per country for the config's lifetime: it memoises pack selection
        policies = {
            country: Policy(
                packs=self.packs,
                collector=collector,
                profile=self.profile,
                calendars=self.calendars,
                enable_pending=self.enable_pending,
            )
            for country, collector in self.collectors.items()
        }
        object.__setattr__(self, "_policies", policies)

    def policy(self, country: model.Country) -> Policy | None:
        """The decision policy for borrowers in `country`, or None if we do not collect there."""
        return self._policies.get(country)

    @property
    def lookback(self) -> timedelta:
        """How far back any rule of any policy counts events (older ones never matter)."""
        return max((p.lookback for p in self._policies.values()), default=timedelta(days=2))


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


def _state_dir(raw: ConfigIn, file: Path, env: Mapping[str, str]) -> Path:
    """state_dir from the file, else systemd's $STATE_DIRECTORY, else ./var by the config."""
    if raw.state_dir:
        return (file.parent / raw.state_dir).resolve()
    if env.get("STATE_DIRECTORY"):
        return Path(env["STATE_DIRECTORY"].split(":")[0])
    return (file.parent / "var").resolve()


def _semantics(raw: ConfigIn, located: yamlio.Located) -> list[yamlio.Problem]:
    """Cross-field checks the schema cannot express."""
    problems = []
    src = raw.source
    if src is not None:
        need = ("url_env", "query") if src.kind == "sql" else ("path",)
        for key in need:
            if getattr(src, key) is None:
                line, col = located.where(("source",))
                problems.append(
                    yamlio.Problem(
                        located.file, line, col, ("source", key), f"required for kind {src.kind}"
                    )
                )
    return problems + _channel_problems(raw, located) + _strategy_problems(raw, located)


def _strategy_problems(raw: ConfigIn, located: yamlio.Located) -> list[yamlio.Problem]:
    """One of cadence and strategy; stages with distinct names that do not overlap."""

    def problem(path: tuple[str | int, ...], why: str) -> yamlio.Problem:
        line, col = located.where(path)
        return yamlio.Problem(located.file, line, col, path, why)

    if raw.strategy is None:
        return []
    if raw.cadence is not None:
        return [problem(("cadence",), "give cadence or strategy, not both")]
    problems, names = [], set()
    stages = sorted(enumerate(raw.strategy.stages), key=lambda s: s[1].from_days)
    for (i, stage), (_, after) in zip(stages, [*stages[1:], (None, None)], strict=True):
        where: tuple[str | int, ...] = ("strategy", "stages", i)
        if stage.name in names:
            problems.append(problem((*where, "name"), f"stage {stage.name!r} named twice"))
        names.add(stage.name)
        if stage.to_days is not None and stage.to_days < stage.from_days:
            problems.append(problem((*where, "to_days"), "to_days is before from_days"))
        if after is not None and (stage.to_days is None or stage.to_days >= after.from_days):
            why = f"overlaps stage {after.name!r} (from_days {after.from_days})"
            problems.append(problem((*where, "to_days"), why))
    return problems


def _strategy(raw: ConfigIn) -> Strategy:
    if raw.strategy is None:
        c = raw.cadence or CadenceIn()
        return Strategy.single(c.channels, c.template, c.wait_days, c.max_steps)
    stages = sorted(raw.strategy.stages, key=lambda s: s.from_days)

    def steps(stage: StageIn) -> tuple[Step, ...]:
        return tuple(Step(s.channels, s.template, s.wait_days, s.on_blocked) for s in stage.steps)

    return Strategy(stages=tuple(Stage(s.name, s.from_days, s.to_days, steps(s)) for s in stages))


def _channel_problems(raw: ConfigIn, located: yamlio.Located) -> list[yamlio.Problem]:
    """Routes to configured channels that carry that kind; one sender per country; the
    webhooks' signature key."""
    problems = []
    carries = {"smtp": (model.Channel.EMAIL,), "twilio": (model.Channel.SMS, model.Channel.CALL)}
    for channel, target in raw.channels.route.items():
        if target == "outbox":
            continue
        path: tuple[str | int, ...] = ("channels", "route", channel.value)
        line, col = located.where(path)
        if getattr(raw.channels, target) is None:
            why = f"needs channels.{target}"
        elif channel not in carries[target]:
            why = f"{target} carries {' and '.join(c.value for c in carries[target])} only"
        elif channel is model.Channel.CALL and raw.webhooks is None:
            why = "needs webhooks (Twilio asks them what to say once someone answers)"
        else:
            continue
        problems.append(yamlio.Problem(located.file, line, col, path, why))
    problems += _webhook_problems(raw, located)
    twilio = raw.channels.twilio
    for country, sender in (twilio.senders if twilio else {}).items():
        if (sender.messaging_service_sid is None) == (sender.from_ is None):
            where: tuple[str | int, ...] = ("channels", "twilio", "senders", country.value)
            line, col = located.where(where)
            one = "give exactly one of messaging_service_sid and from"
            problems.append(yamlio.Problem(located.file, line, col, where, one))
        calls = raw.channels.route.get(model.Channel.CALL) == "twilio"
        if calls and sender.call_from is None and sender.from_ is None:
            where = ("channels", "twilio", "senders", country.value)
            line, col = located.where(where)
            why = "calls are routed to Twilio: give call_from (or from), the number they come from"
            problems.append(yamlio.Problem(located.file, line, col, where, why))
    return problems


def _webhook_problems(raw: ConfigIn, located: yamlio.Located) -> list[yamlio.Problem]:
    """Webhooks need something to serve (Twilio's callbacks, whose auth token checks their
    signatures, or the e-mails' one-click unsubscribe), and one_click needs them, on https."""
    problems = []
    one_click = raw.channels.smtp is not None and raw.channels.smtp.one_click
    if one_click and raw.webhooks is None:
        path = ("channels", "smtp", "one_click")
        line, col = located.where(path)
        why = "needs webhooks (mail providers post the one-click unsubscribe there)"
        problems.append(yamlio.Problem(located.file, line, col, path, why))
    if one_click and raw.webhooks is not None and not raw.webhooks.public_url.startswith("https:"):
        line, col = located.where(("webhooks", "public_url"))
        why = "must be https:// for channels.smtp.one_click (RFC 8058: mail providers post there)"
        problems.append(yamlio.Problem(located.file, line, col, ("webhooks", "public_url"), why))
    if raw.webhooks is not None and raw.channels.twilio is None and not one_click:
        line, col = located.where(("webhooks",))
        why = (
            "needs channels.twilio (its auth token checks every callback's signature) or"
            " channels.smtp.one_click: nothing would be served"
        )
        problems.append(yamlio.Problem(located.file, line, col, ("webhooks",), why))
    return problems


def load(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a configuration and the packs it selects; YamlError lists all problems."""
    file = Path(path)
    located = yamlio.load_file(file)
    raw = _parse(located)
    env = os.environ if env is None else env
    problems: list[yamlio.Problem] = _semantics(raw, located)
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
    state_dir = _state_dir(raw, file, env)
    return Config(
        file=file,
        state_dir=state_dir,
        ledger_url=raw.ledger.url or f"sqlite:///{state_dir / raw.ledger.path}",
        source=raw.source,
        source_path=(file.parent / raw.source.path).resolve()
        if raw.source and raw.source.path
        else None,
        outbox=state_dir / raw.channels.outbox.path,
        outbox_latency=raw.channels.outbox.latency_ms / 1000,
        smtp=raw.channels.smtp,
        twilio=raw.channels.twilio,
        webhooks=raw.webhooks,
        route=dict(raw.channels.route),
        templates=(file.parent / raw.templates).resolve(),
        lint=(file.parent / raw.lint).resolve() if raw.lint else None,
        company=dict(raw.company),
        strategy=_strategy(raw),
        schedule=raw.schedule,
        profile=raw.profile,
        collectors={
            country: model.Collector(type=c.type, ca_licensed=c.ca_licensed)
            for country, c in raw.collectors.items()
        },
        packs=packs,
        enable_pending=raw.rules.enable_pending,
        calendars=Calendars(cn_overrides=overrides),
    )
