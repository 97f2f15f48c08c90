"""The only module that reads the wall clock; everything else takes `now` as an argument.

`OUTREACHD_CLOCK_START` (an ISO-8601 instant with an offset) starts the clock at that instant
and lets it run at real speed from there: acceptance tests and demos use it to run the daemon
at a chosen moment (say, a Tuesday 15:00 UTC) whatever the hour on the machine.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

_START = os.environ.get("OUTREACHD_CLOCK_START")
_ORIGIN = (
    (datetime.fromisoformat(_START.replace("Z", "+00:00")).astimezone(UTC), time.monotonic())
    if _START
    else None
)


def now() -> datetime:
    """The current instant, aware, in UTC."""
    if _ORIGIN is None:
        return datetime.now(UTC)
    start, mono = _ORIGIN
    return start + timedelta(seconds=time.monotonic() - mono)


def machine_now() -> datetime:
    """The machine's own clock, for the scheduler's timers only (never for decisions)."""
    return datetime.now(UTC)
