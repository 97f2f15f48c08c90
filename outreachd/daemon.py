"""`outreachd run`: the long-running service (systemd Type=notify).

APScheduler 3 is the clock, not the queue: it runs two in-memory jobs (sweep, dispatcher
tick) with coalescing, one instance each and a deliberate misfire grace. Every scheduled send
lives in the ledger's plans table.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import Any, TypeVar

from apscheduler.schedulers.background import BackgroundScheduler

from outreachd import clock, config, logs, messages, systemd, wiring, yamlio
from outreachd.backoff import Backoff
from outreachd.errors import ConfigError, OutreachError
from outreachd.ledger.schema import LedgerError
from outreachd.ledger.store import Ledger
from outreachd.reconcile import reconcile
from outreachd.render import Message
from outreachd.sources.base import AccountRecord
from outreachd.sweep import sweep
from outreachd.webhooks import WebhookServer

T = TypeVar("T")


class Daemon:
    def __init__(self, config_path: str) -> None:
        self.config_path = config_path
        self.log = logs.get_logger("outreachd")
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self.stop = threading.Event()
        self.reload = threading.Event()
        self.services: wiring.Services | None = None
        self.watchdog = systemd.watchdog_interval()
        self._last_ping = 0.0
        self.webhooks: WebhookServer | None = None
        self._was_leading: bool | None = None
        self.backoff = Backoff(floor=2.0)  # its floor becomes the dispatch interval at start

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Load and check everything; only then tell systemd we are ready."""
        cfg = config.load(self.config_path)
        services = wiring.build(cfg, owner=self.owner, log=self.log)
        problems = messages.check_templates(cfg, services.renderer)
        if problems:
            raise ConfigError("\n".join(problems))
        version = services.ledger.migrate()
        recovered = services.ledger.recover_sending(clock.now())
        self.services = services
        wiring.settle_heap()
        self.backoff = Backoff(floor=cfg.schedule.dispatch_seconds)
        if cfg.webhooks is not None:  # bound once; a reload keeps the address
            self.webhooks = self._webhooks(cfg)
            self.webhooks.start()
        self.log.info(
            "daemon_started",
            config=str(cfg.file),
            ledger_schema=version,
            recovered_unknown=recovered,
            packs=[f"{p.id}@{p.version}" for p in cfg.packs],
        )
        systemd.notify("READY=1", systemd.status("running"))

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; SIGHUP reloads. Returns the exit code."""
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        self.start()
        scheduler = self._scheduler()
        scheduler.start()
        try:
            while not self.stop.wait(0.2):
                if self.reload.is_set():
                    self.reload.clear()
                    self._reload()
        finally:
            systemd.notify("STOPPING=1")
            self.log.info("daemon_stopping")
            scheduler.shutdown(wait=True)  # in-flight sends finish; nothing new is claimed
            if self.webhooks is not None:
                self.webhooks.stop()
            assert self.services is not None
            self._flush_outcomes(self.services.ledger)
            self.services.ledger.close()
            self.log.info("daemon_stopped")
        return 0

    def _flush_outcomes(self, ledger: Ledger) -> None:
        """Stopping with outcomes the ledger could not take: one last try; else their rows
        stay `sending` (counted) and become `unknown` at the next start, for reconciliation."""
        if not ledger.unrecorded:
            return
        try:
            ledger.flush_unrecorded()
        except OutreachError as exc:
            self.log.error("outcomes_unrecorded", batches=ledger.unrecorded, error=str(exc))

    def _webhooks(self, cfg: config.Config) -> WebhookServer:
        assert cfg.webhooks is not None
        token, readings = wiring.webhook_needs(cfg)

        def ledger() -> Ledger:
            assert self.services is not None
            return self.services.ledger

        def confirm(rec: AccountRecord, at: datetime) -> Message | None:
            assert self.services is not None  # the configuration and templates now in force
            return messages.opt_out_confirmation(
                rec, self.services.config, self.services.renderer, at
            )

        try:
            server = WebhookServer(
                cfg.webhooks, ledger=ledger, auth_token=token, replies=readings, log=self.log,
                clock=clock.now, confirm=confirm,
                one_click=cfg.smtp is not None and cfg.smtp.one_click,
            )  # fmt: skip
        except OSError as exc:
            raise ConfigError(f"{cfg.file}: webhooks.listen {cfg.webhooks.listen}: {exc}") from None
        self.log.info("webhooks_listening", listen=cfg.webhooks.listen, port=server.port)
        return server

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop.set()

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self.reload.set()

    def _reload(self) -> None:
        """Re-read and validate the config; swap atomically, or keep the old one."""
        systemd.notify(systemd.RELOADING, *systemd.monotonic())
        try:
            cfg = config.load(self.config_path)
            assert self.services is not None
            same_db = cfg.ledger_url == self.services.config.ledger_url
            ledger = self.services.ledger if same_db else None
            new = wiring.build(cfg, owner=self.owner, log=self.log, ledger=ledger)
            problems = messages.check_templates(cfg, new.renderer)
            if problems:
                raise ConfigError("\n".join(problems))
            new.ledger.migrate()
        except (yamlio.YamlError, OutreachError) as exc:
            self.log.error("config_reload_failed", problems=str(exc).splitlines())
            systemd.notify("READY=1")
            return
        old, self.services = self.services, new
        if not same_db:
            old.ledger.close()
        del old
        wiring.settle_heap()
        self.log.info("config_reloaded", config=str(cfg.file))
        systemd.notify("READY=1")

    # ------------------------------------------------------------------ jobs
    def _scheduler(self) -> BackgroundScheduler:
        assert self.services is not None
        sched = self.services.config.schedule
        s = BackgroundScheduler(timezone="UTC")
        common = {"coalesce": True, "max_instances": 1, "replace_existing": True}
        s.add_job(
            self._guarded("sweep", self._sweep),
            "interval",
            seconds=sched.sweep_seconds,
            id="sweep",
            next_run_time=clock.machine_now(),
            misfire_grace_time=int(sched.sweep_seconds),
            **common,
        )
        s.add_job(
            self._guarded("dispatch", self._dispatch),
            "interval",
            seconds=sched.dispatch_seconds,
            id="dispatch",
            next_run_time=clock.machine_now(),
            misfire_grace_time=max(1, int(sched.dispatch_seconds)),
            **common,
        )
        s.add_job(
            self._guarded("reconcile", self._reconcile),
            "interval",
            seconds=sched.reconcile_seconds,
            id="reconcile",
            misfire_grace_time=int(sched.reconcile_seconds),
            **common,
        )
        return s

    def _guarded(self, name: str, body: Callable[[], None]) -> Callable[[], None]:
        """A scheduler job that logs anything it raises, and never dies silently."""

        def job() -> None:
            try:
                body()
            except Exception:
                self.log.exception("job_failed", job=name)

        return job

    def _reconcile(self) -> None:
        services = self.services
        if services is None or not services.reconcilers or self.stop.is_set():
            return
        try:
            stats = self._with_ledger("reconcile", lambda: reconcile(
                ledger=services.ledger, providers=services.reconcilers, now=clock.now(),
                log=self.log,
            ))  # fmt: skip
        except OutreachError as exc:
            self.log.error("reconcile_failed", error=str(exc))
            return
        if stats is not None and any(getattr(stats, k) for k in stats.__slots__):
            self.log.info("reconcile_finished", **_stats(stats))

    def _sweep(self) -> None:
        services = self.services
        if services is None or services.source is None or self.stop.is_set():
            return
        source = services.source
        started = time.monotonic()

        def leading_sweep() -> Any:
            if not self._leading(services.ledger):
                return None
            return sweep(source=source, ledger=services.ledger, now=clock.now(), log=self.log)

        try:
            stats = self._with_ledger("sweep", leading_sweep)
        except OutreachError as exc:  # the source is unreadable: retry next interval
            self.log.error("sweep_failed", error=str(exc))
            return
        if stats is None:
            return
        self.log.info(
            "sweep_finished",
            duration_s=round(time.monotonic() - started, 3),
            read=stats.read,
            rejected=stats.rejected,
            new=stats.new,
            changed=stats.changed,
            unchanged=stats.unchanged,
            planned=stats.planned,
            retired=stats.retired,
        )

    def _leading(self, ledger: Ledger) -> bool:
        """Whether this instance leads the sweep now (one leader per PostgreSQL ledger; the
        others only dispatch), logging each change of mind."""
        leading = ledger.lead()
        if leading != self._was_leading:
            self.log.info("sweep_leadership", leading=leading, owner=self.owner)
            self._was_leading = leading
        return leading

    def _dispatch(self) -> None:
        services = self.services
        if services is None or self.stop.is_set():
            return
        try:
            stats = self._with_ledger("dispatch", lambda: services.dispatcher.tick(
                clock.now(), stopping=self.stop.is_set, clock=clock.now
            ))  # fmt: skip
        except OutreachError as exc:
            self.log.error("dispatch_failed", error=str(exc))
            stats = None
        if stats is not None and stats.claimed:
            self.log.info("dispatch_finished", **_stats(stats))
        self._ping()  # the loop is alive, also while it waits for the ledger

    def _with_ledger(self, job: str, body: Callable[[], T]) -> T | None:
        """`body()`, unless the ledger is down and its next try is not due yet (None). A
        LedgerError starts or extends the back-off (None); the first success after an outage
        logs its length. Other errors are the caller's."""
        if not self.backoff.ready(time.monotonic()):
            return None
        try:
            result = body()
        except LedgerError as exc:
            delay = self.backoff.failed(time.monotonic())
            self.log.error(
                "ledger_unavailable", job=job, error=str(exc), failures=self.backoff.failures,
                retry_in_s=round(delay, 3),
            )  # fmt: skip
            return None
        outage = self.backoff.succeeded(time.monotonic())
        if outage is not None:
            self.log.info(
                "ledger_recovered", job=job, down_s=round(outage.seconds, 3),
                failures=outage.failures,
            )  # fmt: skip
        return result

    def _ping(self) -> None:
        if self.watchdog is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self.watchdog / 2:
            systemd.notify("WATCHDOG=1")
            self._last_ping = now


def _stats(stats: Any) -> dict[str, object]:
    return {k: getattr(stats, k) for k in stats.__slots__ if k != "by_reason"}
