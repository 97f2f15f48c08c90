"""Run `outreachd run` as systemd would: a subprocess with a datagram NOTIFY_SOCKET."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from outreachd import sample
from outreachd.ledger.store import Ledger
from tests.conftest import REPO

CLOCK_START = "2026-12-01T15:00:00Z"  # a Tuesday: US and UK windows open, China at night

CONFIG = """\
schema: outreachd-config/v1
profile: best_practice
collectors:
  US: {{type: fdcpa_debt_collector, ca_licensed: true}}
  UK: {{type: uk_firm}}
  CN: {{type: cn_lender}}
rules: {{packs: ["{rules}"]}}
state_dir: state
source: {{kind: jsonl, path: portfolio.jsonl}}
templates: "{templates}"
company:
  US: {{name: "Acme Recovery", callback: "1-800-555-0100", license: "10012-99"}}
  UK: {{name: "Acme Finance", callback: "0800 555 0100"}}
  CN: {{name: "某某银行", callback: "95555", signature: "某某银行"}}
schedule: {{sweep_seconds: 2, dispatch_seconds: 0.2, batch: {batch}}}
channels: {{outbox: {{latency_ms: {latency_ms}}}}}
"""


def write_config(
    path: Path,
    batch: int = 20,
    latency_ms: float = 0,
    ledger_url: str | None = None,
    channels: str | None = None,
) -> None:
    """A configuration for a deployment in `path.parent` (its ledger: SQLite in the state
    directory, or the database at `ledger_url`; `channels`: YAML lines replacing the outbox's
    `channels:` line)."""
    text = CONFIG.format(
        rules=REPO / "config" / "rules",
        templates=REPO / "templates",
        batch=batch,
        latency_ms=latency_ms,
    )
    if ledger_url is not None:
        text += f'ledger: {{url: "{ledger_url}"}}\n'
    if channels is not None:
        outbox = f"channels: {{outbox: {{latency_ms: {latency_ms}}}}}\n"
        assert outbox in text
        text = text.replace(outbox, channels)
    path.write_text(text, encoding="utf-8")


class _Outbox:
    """The outbox file in a deployment's state directory, and its lines."""

    root: Path

    @property
    def outbox(self) -> Path:
        return self.root / "state" / "outbox.jsonl"

    def outbox_lines(self) -> list[dict[str, object]]:
        if not self.outbox.exists():
            return []
        return [json.loads(line) for line in self.outbox.read_text().splitlines() if line]


@dataclass
class Deployment(_Outbox):
    """A temporary deployment: portfolio, config, state directory."""

    root: Path
    borrowers: int = 60
    ledger_url: str | None = None  # None: SQLite in the state directory

    def __post_init__(self) -> None:
        sample.write_jsonl(self.root / "portfolio.jsonl", n_borrowers=self.borrowers, seed=3)
        write_config(self.config)

    @property
    def config(self) -> Path:
        return self.root / "outreachd.yaml"

    def ledger_rows(self) -> list[dict[str, object]]:
        ledger = Ledger(self.ledger_url or f"sqlite:///{self.root / 'state' / 'ledger.db'}")
        try:
            return [r for r in ledger.export() if r.get("record") == "event"]
        finally:
            ledger.close()


@dataclass
class Instance(_Outbox):
    """One of several daemons sharing a ledger: its own directory, config and state."""

    root: Path
    config: Path


@dataclass
class Daemon:
    """One `outreachd run` process, its notifications and its log lines."""

    deployment: Deployment | Instance
    clock_start: str = CLOCK_START
    proc: subprocess.Popen[str] = field(init=False)
    sock: socket.socket = field(init=False)
    logs: list[dict[str, object]] = field(default_factory=list)
    reader: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        path = self.deployment.root / "notify.sock"
        path.unlink(missing_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        env = {**os.environ, "NOTIFY_SOCKET": str(path), "OUTREACHD_CLOCK_START": self.clock_start}
        env.pop("STATE_DIRECTORY", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "outreachd.cli", "run", "--config",
             str(self.deployment.config), "--json-logs"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO,
        )  # fmt: skip
        self.reader = threading.Thread(target=self._read_logs, daemon=True)
        self.reader.start()

    def _read_logs(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.logs.append(json.loads(line))
            except json.JSONDecodeError:
                self.logs.append({"event": "unparsed", "line": line})

    def notifications(self, timeout: float) -> Iterator[str]:
        """Each state line the daemon sends, until `timeout` seconds pass without one."""
        self.sock.settimeout(timeout)
        while True:
            try:
                data = self.sock.recv(4096).decode()
            except TimeoutError:
                return
            yield from data.splitlines()

    def wait_for(self, state: str, timeout: float = 30) -> list[str]:
        """Notifications up to and including `state`; AssertionError if it never comes."""
        seen = []
        deadline = time.monotonic() + timeout
        for line in self.notifications(timeout):
            seen.append(line)
            if line == state:
                return seen
            if time.monotonic() > deadline:
                break
        raise AssertionError(f"no {state} within {timeout}s; got {seen}; logs {self.logs[-5:]}")

    def events(self, name: str) -> list[dict[str, object]]:
        return [e for e in self.logs if e.get("event") == name]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.reader.join(10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        self.sock.close()


def until(predicate: object, timeout: float = 30, step: float = 0.1) -> None:
    """Poll `predicate()` until it is true; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")
