"""Backing off while the ledger is unreachable.

When the database goes away (PostgreSQL restarting, a killed connection, SQLite locked past
its busy timeout) every job fails at once and would keep failing at its own rhythm: a tick
every two seconds, each with an error line. Instead the daemon's jobs share one `Backoff`:
after a failure no job touches the ledger until a delay has passed, a delay that starts at
the dispatcher's interval and doubles up to a ceiling; the first success ends the outage.

Nothing is sent while the ledger is down: the dispatcher only sends what it reserved in a
committed transaction, so a job that cannot reach the ledger has nothing to send.
Time is an argument (a monotonic reading), so this is tested without sleeping.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Outage:
    """An outage that just ended: how long it lasted and how many attempts failed in it."""

    seconds: float
    failures: int


@dataclass
class Backoff:
    floor: float  # the first delay, in seconds (the dispatcher's interval)
    ceiling: float = 30.0  # the longest delay
    failures: int = 0
    retry_at: float = 0.0
    down_since: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def ready(self, now: float) -> bool:
        """Whether a job may try the ledger at monotonic time `now`."""
        with self._lock:
            return now >= self.retry_at

    def failed(self, now: float) -> float:
        """Record a failure at `now`; the delay (seconds) before the next try."""
        with self._lock:
            self.failures += 1
            if self.down_since is None:
                self.down_since = now
            delay = min(self.ceiling, self.floor * 2.0 ** min(self.failures - 1, 30))
            self.retry_at = max(self.retry_at, now + delay)
            return delay

    def succeeded(self, now: float) -> Outage | None:
        """Record a success at `now`; the outage it ended, if there was one."""
        with self._lock:
            if self.down_since is None:
                return None
            outage = Outage(seconds=now - self.down_since, failures=self.failures)
            self.failures, self.retry_at, self.down_since = 0, 0.0, None
            return outage
