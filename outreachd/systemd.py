"""The sd_notify protocol without libsystemd: one datagram to `$NOTIFY_SOCKET`.

Protocol: sd_notify(3) and https://systemd.io/NOTIFY/ — newline-separated `KEY=value`
assignments sent as a single datagram to an AF_UNIX socket; a path starting with `@` names
the abstract namespace. The daemon sends `notify(READY)` once serving,
`notify(RELOADING, *monotonic())` then `notify(READY)` around a reload, `notify(STOPPING)`
on shutdown, and `notify(WATCHDOG)` every `watchdog_interval() / 2` seconds.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

READY = "READY=1"
STOPPING = "STOPPING=1"
WATCHDOG = "WATCHDOG=1"
RELOADING = "RELOADING=1"


def status(text: str) -> str:
    """The free-form status line `systemctl status` shows (`STATUS=...`), on one line."""
    return "STATUS=" + " ".join(text.splitlines())


def monotonic() -> tuple[str]:
    """The `MONOTONIC_USEC=` stamp that must accompany RELOADING=1 for Type=notify-reload
    (systemd 253+; older managers ignore it), as states: `notify(RELOADING, *monotonic())`."""
    return (f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}",)


def notify(*states: str, env: Mapping[str, str] | None = None) -> bool:
    """Send `states` as one datagram; False when there is no socket or the send failed."""
    address = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if not address or not states:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(states).encode(), address)
    except (OSError, ValueError):
        return False
    return True


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """The watchdog timeout in seconds if it applies to this process (ping at half of it)."""
    env = os.environ if env is None else env
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
        pid = int(env.get("WATCHDOG_PID", os.getpid()))
    except ValueError:
        return None
    if pid != os.getpid():
        return None
    return usec / 1_000_000 if usec > 0 else None
