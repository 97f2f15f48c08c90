"""Rule kind `min_gap`: BP-MIN-GAP-SAME-NUMBER (240 min) and CN-HOUSE-MIN-GAP (120 min).

A gap g passes when t - (latest counted event) >= g (SCENARIOS.md 3.6). The US gap is per
number and counts only the collector's own outbound calls; the China gap is per person and
counts self and affiliate call attempts, never transactional ones. Hand-computed.
"""

from __future__ import annotations

import pytest
import rules_kit as k
from rules_kit import ALLOW, NY, SHA, row, want

NYB = k.us("NY", NY)
BP = {"profile": "best_practice"}
CALL, VM = k.attempt("call", "m1"), k.attempt("voicemail", "m1")
GAP = "BP-MIN-GAP-SAME-NUMBER"
AT10 = k.evs("2026-06-02T10:00")

US_ROWS = [
    row("1h-after-call", NYB, CALL, "2026-06-02T11:00", want("defer", "2026-06-02T14:00", GAP),
        **BP, history=AT10),
    row("exactly-240-min", NYB, CALL, "2026-06-02T14:00", ALLOW, **BP, history=AT10),
    row("30-s-short", NYB, CALL, "2026-06-02T13:59:30", want("defer", "2026-06-02T14:00", GAP),
        **BP, history=AT10),
    row("busy-counts", NYB, CALL, "2026-06-02T11:00", want("defer", "2026-06-02T14:00", GAP), **BP,
        history=k.evs("2026-06-02T10:00", outcome="busy")),
    row("latest-event-counts", NYB, CALL, "2026-06-02T15:00",
        want("defer", "2026-06-02T16:00", GAP), **BP,
        history=k.evs("2026-06-01T19:00", "2026-06-02T12:00")),
    row("other-number", NYB, k.attempt("call", "w1"), "2026-06-02T11:00", ALLOW, **BP,
        history=AT10),
    row("affiliate-call-not-counted", NYB, CALL, "2026-06-02T11:00", ALLOW, **BP,
        history=k.evs("2026-06-02T10:00", party="affiliate")),
    row("sms-event-not-a-call", NYB, CALL, "2026-06-02T11:00", ALLOW, **BP,
        history=k.evs("2026-06-02T10:00", channel="sms", outcome="sms_sent")),
    # Minimum gaps cover voicemail only where listed (SCENARIOS.md 6); BP lists calls only.
    row("voicemail-attempt-not-listed", NYB, VM, "2026-06-02T11:00", ALLOW, **BP, history=AT10),
    # Gap ends 00:15; the last-dial window is shut until 08:00: only the gap fails at t0.
    row("gap-runs-past-last-dial", NYB, CALL, "2026-06-02T20:20",
        want("defer", "2026-06-03T08:00", GAP), **BP, history=k.evs("2026-06-02T20:15")),
    row("inbound-call-not-counted", NYB, CALL, "2026-06-02T11:00", ALLOW, **BP, collector=k.FIRST,
        history=k.evs("2026-06-02T10:00", outcome="inbound_conversation", initiator="consumer")),
    row("legal-profile-no-gap", NYB, CALL, "2026-06-02T10:05", ALLOW, history=AT10),
]  # fmt: skip

B = k.cn()
CN = {"collector": k.CNL, "profile": "best_practice"}
CN_GAP = "CN-HOUSE-MIN-GAP"
CALL_CN = k.attempt("call", "m1")


def cn_evs(*whens: str, **kw: object) -> list[k.Event]:
    return k.evs(*whens, tz=SHA, **kw)  # type: ignore[arg-type]


CN_ROWS = [
    row("own-call-1h-ago", B, CALL_CN, "2026-03-10T11:00",
        want("defer", "2026-03-10T12:00", CN_GAP), **CN, history=cn_evs("2026-03-10T10:00")),
    row("affiliate-call-counts", B, CALL_CN, "2026-03-10T11:00",
        want("defer", "2026-03-10T12:00", CN_GAP), **CN,
        history=cn_evs("2026-03-10T10:00", party="affiliate")),
    row("other-number-same-person", B, CALL_CN, "2026-03-10T11:00",
        want("defer", "2026-03-10T12:00", CN_GAP), **CN,
        history=cn_evs("2026-03-10T10:00", to="m2")),
    row("conversation-counts", B, CALL_CN, "2026-03-10T11:00",
        want("defer", "2026-03-10T12:00", CN_GAP), **CN,
        history=cn_evs("2026-03-10T10:00", outcome="conversation")),
    row("exactly-120-min", B, CALL_CN, "2026-03-10T12:00", ALLOW, **CN,
        history=cn_evs("2026-03-10T10:00")),
    row("third-party-call-other-person", B, CALL_CN, "2026-03-10T11:00", ALLOW, **CN,
        history=cn_evs("2026-03-10T10:00", to="k1")),
    row("sms-not-a-call", B, CALL_CN, "2026-03-10T11:00", ALLOW, **CN,
        history=cn_evs("2026-03-10T10:00", channel="sms", outcome="sms_sent")),
    row("transactional-call-skipped", B, CALL_CN, "2026-03-10T11:00", ALLOW, **CN,
        history=cn_evs("2026-03-10T10:00", purpose="transactional")),
    # Gap ends 21:30, after the 20:30 workday call window: next window Wed 09:00.
    row("gap-runs-past-window", B, CALL_CN, "2026-03-10T20:20",
        want("defer", "2026-03-11T09:00", CN_GAP), **CN, history=cn_evs("2026-03-10T19:30")),
    row("legal-profile-no-gap", B, CALL_CN, "2026-03-10T10:05", ALLOW, collector=k.CNL,
        history=cn_evs("2026-03-10T10:00")),
]  # fmt: skip


@pytest.mark.parametrize("case", US_ROWS)
def test_bp_min_gap_same_number(case):
    """BP-MIN-GAP-SAME-NUMBER needs 240 min since the last own outbound call to that number."""
    k.check(case)


@pytest.mark.parametrize("case", CN_ROWS)
def test_cn_house_min_gap(case):
    """CN-HOUSE-MIN-GAP needs 120 min since the borrower's last call attempt, any caller."""
    k.check(case)
