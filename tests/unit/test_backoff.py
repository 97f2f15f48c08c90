"""The ledger back-off: delays double from the floor to the ceiling; a success ends it."""

from __future__ import annotations

from outreachd.backoff import Backoff, Outage


def test_delays_double_up_to_the_ceiling_and_jobs_wait_them_out() -> None:
    b = Backoff(floor=0.5, ceiling=4.0)
    assert b.ready(0.0)
    delays = [b.failed(float(t)) for t in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert not b.ready(5.0 + 3.99) and b.ready(5.0 + 4.0)


def test_a_success_ends_the_outage_and_says_how_long_it_was() -> None:
    b = Backoff(floor=2.0, ceiling=30.0)
    assert b.succeeded(1.0) is None  # no outage, nothing to report
    b.failed(10.0)
    b.failed(12.0)
    assert b.succeeded(16.5) == Outage(seconds=6.5, failures=2)
    assert b.ready(16.5) and b.failures == 0
    assert b.failed(100.0) == 2.0  # a new outage starts from the floor again


def test_the_exponent_is_bounded() -> None:
    b = Backoff(floor=1.0, ceiling=10.0)
    for t in range(2000):
        assert b.failed(float(t)) <= 10.0
