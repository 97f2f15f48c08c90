"""Composition root: a validated Config into the concrete source, ledger, channel and workers."""

from __future__ import annotations

import gc
import os
import ssl
from dataclasses import dataclass, field
from typing import Any

from outreachd import replies, yamlio
from outreachd.channels.base import Channel
from outreachd.channels.outbox import Outbox
from outreachd.channels.router import Router
from outreachd.channels.smtp import ONE_CLICK_PATH, Smtp
from outreachd.channels.twilio_sms import TwilioSms
from outreachd.channels.twilio_voice import TwilioVoice
from outreachd.config import Config
from outreachd.core import model
from outreachd.dispatch import Dispatcher
from outreachd.errors import ConfigError
from outreachd.ledger.store import Ledger
from outreachd.render import Renderer
from outreachd.replies import Replies
from outreachd.secrets import secret
from outreachd.sources.base import AccountSource
from outreachd.sources.csv_file import CsvSource
from outreachd.sources.jsonl import JsonlSource
from outreachd.sources.sql import SqlSource


@dataclass(frozen=True, kw_only=True, slots=True)
class Services:
    config: Config
    ledger: Ledger
    source: AccountSource | None
    renderer: Renderer
    dispatcher: Dispatcher
    # the providers asked about unsure attempts, by channel ("sms", "call")
    reconcilers: dict[str, TwilioSms | TwilioVoice] = field(default_factory=dict)


def source(cfg: Config) -> AccountSource | None:
    """The configured account source (None: the daemon only dispatches what is planned)."""
    src = cfg.source
    if src is None:
        return None
    if src.kind == "sql":
        assert src.url_env is not None and src.query is not None
        url = os.environ.get(src.url_env)
        if not url:
            raise ConfigError(
                f"{cfg.file}: source.url_env: environment variable {src.url_env} is not set"
            )
        return SqlSource(url, src.query)
    assert cfg.source_path is not None
    return JsonlSource(cfg.source_path) if src.kind == "jsonl" else CsvSource(cfg.source_path)


def channel(cfg: Config) -> Channel:
    """The channel the dispatcher sends through: each message kind to its configured route,
    the rest to the outbox. ConfigError if a route's secret is missing (never its value)."""
    outbox = Outbox(cfg.outbox, cfg.outbox_latency)
    routes: dict[model.Channel, Channel] = {}
    if cfg.smtp is not None and cfg.route.get(model.Channel.EMAIL) == "smtp":
        password = None
        if cfg.smtp.username:
            smtp = cfg.smtp
            password = _secret(cfg, "channels.smtp", smtp.password_credential, smtp.password_env)
        one_click = None
        if cfg.smtp.one_click:
            assert cfg.webhooks is not None  # config.load requires them for one_click
            one_click = cfg.webhooks.public_url.rstrip("/") + ONE_CLICK_PATH
        try:
            routes[model.Channel.EMAIL] = Smtp(
                cfg.smtp, password=password, base_dir=cfg.file.parent, one_click_url=one_click
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"{cfg.file}: channels.smtp.cafile: {exc}") from None
    twilio_for = [
        c for c in (model.Channel.SMS, model.Channel.CALL) if cfg.route.get(c) == "twilio"
    ]
    if cfg.twilio is not None and twilio_for:
        tw = cfg.twilio
        token = _secret(cfg, "channels.twilio", tw.auth_token_credential, tw.auth_token_env)
        if model.Channel.SMS in twilio_for:
            routes[model.Channel.SMS] = TwilioSms(tw, auth_token=token)
        if model.Channel.CALL in twilio_for:
            assert cfg.webhooks is not None  # config.load requires them for calls
            public_url = cfg.webhooks.public_url
            routes[model.Channel.CALL] = TwilioVoice(tw, auth_token=token, public_url=public_url)
    return Router(routes, outbox) if routes else outbox


def webhook_needs(cfg: Config) -> tuple[str | None, Replies | None]:
    """What the webhooks need beyond their address: Twilio's auth token (it checks every
    callback's signature) and the reply lists; (None, None) without channels.twilio (then
    only the one-click unsubscribe and /healthz are served). ConfigError naming every
    problem (never the token)."""
    assert cfg.webhooks is not None
    if cfg.twilio is None:
        return None, None
    tw, problems = cfg.twilio, []
    token, readings = "", None
    try:
        token = _secret(cfg, "webhooks", tw.auth_token_credential, tw.auth_token_env)
    except ConfigError as exc:
        problems.append(str(exc))
    try:
        readings = replies.load(cfg.file.parent / cfg.webhooks.replies)
    except yamlio.YamlError as exc:
        problems.append(str(exc))
    if problems or readings is None:
        raise ConfigError("\n".join(problems))
    return token, readings


def _secret(cfg: Config, part: str, credential: str, env_var: str) -> str:
    try:
        return secret(credential, env_var)
    except ConfigError as exc:
        raise ConfigError(f"{cfg.file}: {part}: {exc}") from None


def settle_heap() -> None:
    """Collect, then freeze what is alive now (the config, packs, templates, the libraries'
    tables: long-lived) out of the cyclic collector's way. Its full collections otherwise walk
    all of it, ~70 ms each in the middle of a dispatch tick. The daemon calls it once started
    and after each reload; unfreezing first lets the replaced services be collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def build(cfg: Config, *, owner: str, log: Any, ledger: Ledger | None = None) -> Services:
    """Everything the daemon runs, from one configuration (reusing `ledger` on reload)."""
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    led = ledger or Ledger(cfg.ledger_url)
    cfg.calendars.warm()
    renderer = Renderer(cfg.templates)
    sender = channel(cfg)
    routes = sender.routes if isinstance(sender, Router) else {}
    reconcilers: dict[str, TwilioSms | TwilioVoice] = {
        kind.value: target
        for kind, target in routes.items()
        if isinstance(target, TwilioSms | TwilioVoice)
    }
    dispatcher = Dispatcher(
        ledger=led,
        config=cfg,
        renderer=renderer,
        channel=sender,
        owner=owner,
        log=log,
    )
    return Services(
        config=cfg, ledger=led, source=source(cfg), renderer=renderer, dispatcher=dispatcher,
        reconcilers=reconcilers,
    )  # fmt: skip
