"""sd_notify over a real AF_UNIX datagram socket, and the watchdog environment."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from outreachd import systemd


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound under tmp_path, as systemd's notify socket is."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(2)
        yield sock, str(path)


def test_notify_sends_one_datagram_with_all_states(receiver: tuple[socket.socket, str]) -> None:
    """All states go out newline-joined in a single datagram."""
    sock, path = receiver
    sent = systemd.notify(systemd.READY, systemd.status("serving"), env={"NOTIFY_SOCKET": path})
    assert sent is True
    assert sock.recv(4096) == b"READY=1\nSTATUS=serving"


def test_notify_reads_the_process_environment(
    receiver: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without `env`, the socket comes from os.environ."""
    sock, path = receiver
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert systemd.notify(systemd.WATCHDOG)
    assert sock.recv(4096) == b"WATCHDOG=1"


def test_notify_to_an_abstract_socket() -> None:
    """A leading `@` names a socket in the abstract namespace."""
    name = f"outreachd-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert systemd.notify(systemd.STOPPING, env={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(4096) == b"STOPPING=1"


@pytest.mark.parametrize("env", [{}, {"NOTIFY_SOCKET": ""}])
def test_notify_without_a_socket_is_a_no_op(env: dict[str, str]) -> None:
    """Outside systemd (no NOTIFY_SOCKET) notify does nothing and says so."""
    assert systemd.notify(systemd.READY, env=env) is False


def test_notify_never_raises_on_a_dead_socket(tmp_path: Path) -> None:
    """A socket path nobody listens on yields False, not an exception."""
    assert systemd.notify(systemd.READY, env={"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False


def test_reloading_carries_a_monotonic_timestamp(receiver: tuple[socket.socket, str]) -> None:
    """RELOADING=1 goes out with MONOTONIC_USEC (CLOCK_MONOTONIC, µs) for Type=notify-reload."""
    sock, path = receiver
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert systemd.notify(systemd.RELOADING, *systemd.monotonic(), env={"NOTIFY_SOCKET": path})
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    reloading, stamp = sock.recv(4096).decode().split("\n")
    key, _, usec = stamp.partition("=")
    assert (reloading, key) == ("RELOADING=1", "MONOTONIC_USEC")
    assert before <= int(usec) <= after


def test_status_is_a_single_line() -> None:
    """A multi-line status text is flattened, since a newline would start a new assignment."""
    assert systemd.status("swept 12 accounts\nnext at 09:00") == (
        "STATUS=swept 12 accounts next at 09:00"
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "not-a-pid"}, None),
        ({}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    """The watchdog applies only when WATCHDOG_USEC is set and WATCHDOG_PID is us (or unset)."""
    assert systemd.watchdog_interval(env) == expected


def test_watchdog_interval_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without `env`, the watchdog settings come from os.environ."""
    monkeypatch.setenv("WATCHDOG_USEC", "1500000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert systemd.watchdog_interval() == 1.5
