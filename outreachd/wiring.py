"""Composition root: a validated Config into the concrete source, ledger, channel and workers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from outreachd.channels.outbox import Outbox
from outreachd.config import Config
from outreachd.dispatch import Dispatcher
from outreachd.errors import ConfigError
from outreachd.ledger.store import Ledger
from outreachd.render import Renderer
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


def build(cfg: Config, *, owner: str, log: Any, ledger: Ledger | None = None) -> Services:
    """Everything the daemon runs, from one configuration (reusing `ledger` on reload)."""
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    led = ledger or Ledger(cfg.ledger_url)
    renderer = Renderer(cfg.templates)
    dispatcher = Dispatcher(
        ledger=led,
        config=cfg,
        renderer=renderer,
        channel=Outbox(cfg.outbox, cfg.outbox_latency),
        owner=owner,
        log=log,
    )
    return Services(
        config=cfg, ledger=led, source=source(cfg), renderer=renderer, dispatcher=dispatcher
    )
