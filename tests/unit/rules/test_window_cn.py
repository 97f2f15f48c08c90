"""Rule kind `window` (China): CN-QUIET-HOURS, the CN-HOUSE-WINDOW day-type table, callbacks.

Shanghai has no DST (UTC+8). 2026 day types from SCENARIOS.md 5.3: 2026-03-10 Tue workday,
03-14 Sat / 03-15 Sun weekend, 02-14 Sat and 02-28 Sat and 01-04 Sun make-up workdays,
01-01..01-03 and 10-01..10-07 statutory holidays. Expected values are computed by hand.
"""

from __future__ import annotations

import pytest
import rules_kit as k
from rules_kit import ALLOW, row, want

B = k.cn()
TOKYO = k.borrower("CN", k.SHA, k.phone("m1", "mobile", k.SHA), confirmed="Asia/Tokyo")
LEGAL = {"collector": k.CNL}
BP = {"collector": k.CNL, "profile": "best_practice"}
CALL, SMS, EMAIL = k.attempt("call", "m1"), k.attempt("sms", "m1"), k.attempt("email", "e1")
AUTO, BOT = k.attempt("call", "m1", dialer="autodialer"), k.attempt("call", "m1", dialer="ai_voice")
RECEIPT = k.attempt("sms", "m1", purpose="transactional", tpl={"cls": "receipt"})
QUIET, HOUSE = "CN-QUIET-HOURS", "CN-HOUSE-WINDOW"
TX = "CN-HOUSE-TRANSACTIONAL-WINDOW"

QUIET_ROWS = [
    row("email-07:50", B, EMAIL, "2026-03-10T07:50", want("defer", "2026-03-10T08:00", QUIET),
        utc="2026-03-10T00:00Z", **LEGAL),
    row("sms-21:59-inside", B, SMS, "2026-03-10T21:59", ALLOW, **LEGAL),
    row("call-22:00-next-08:00", B, CALL, "2026-03-10T22:00",
        want("defer", "2026-03-11T08:00", QUIET), utc="2026-03-11T00:00Z", **LEGAL),
    row("sms-23:59-next-08:00", B, SMS, "2026-03-10T23:59",
        want("defer", "2026-03-11T08:00", QUIET), **LEGAL),
    row("sms-00:00-same-day-08:00", B, SMS, "2026-03-11T00:00",
        want("defer", "2026-03-11T08:00", QUIET), **LEGAL),
    # 15:59Z = 23:59 CST; 16:00Z = 00:00 CST next day.
    row("sms-15:59Z", B, SMS, "2026-03-10T15:59Z", want("defer", "2026-03-11T08:00", QUIET),
        **LEGAL),
    row("saturday-08:00-legal-has-no-day-types", B, BOT, "2026-03-14T08:00", ALLOW, **LEGAL),
    # Transactional receipts are not collection contact: CN-QUIET-HOURS does not apply.
    # P = confirmed location (Tokyo, UTC+9): 07:30 CST = 08:30 JST is outside quiet hours.
    row("confirmed-location-tokyo", TOKYO, SMS, "2026-03-10T07:30", ALLOW, tz="Asia/Shanghai",
        **LEGAL),
    row("confirmed-location-tokyo-22:30", TOKYO, SMS, "2026-03-10T22:30",
        want("defer", "2026-03-11T08:00", QUIET), utc="2026-03-10T23:00Z", **LEGAL),
    row("receipt-23:00-legal", B, RECEIPT, "2026-03-10T23:00", ALLOW, **LEGAL),
]  # fmt: skip


def _cb(start: str, end: str, recorded: bool = True) -> k.Flags:
    return k.flags(callback_requests=[k.callback(start, end, recorded)])


TABLE_ROWS = [
    row("workday-call-08:30", B, CALL, "2026-03-10T08:30", want("defer", "2026-03-10T09:00", HOUSE),
        **BP),
    row("workday-sms-08:30", B, SMS, "2026-03-10T08:30", ALLOW, **BP),
    row("workday-call-20:30", B, CALL, "2026-03-10T20:30", want("defer", "2026-03-11T09:00", HOUSE),
        **BP),
    row("workday-voicebot-20:29", B, BOT, "2026-03-10T20:29", ALLOW, **BP),
    row("workday-sms-21:00", B, SMS, "2026-03-10T21:00", want("defer", "2026-03-11T08:00", HOUSE),
        **BP),
    row("workday-email-21:30", B, EMAIL, "2026-03-10T21:30",
        want("defer", "2026-03-11T08:00", HOUSE), **BP),
    row("saturday-call-09:30", B, CALL, "2026-03-14T09:30",
        want("defer", "2026-03-14T10:00", HOUSE), **BP),
    row("saturday-autodialer-11:00", B, AUTO, "2026-03-14T11:00", ALLOW, **BP),
    # Weekend call window closes at 18:00; Sunday opens at 10:00.
    row("saturday-call-18:00", B, CALL, "2026-03-14T18:00",
        want("defer", "2026-03-15T10:00", HOUSE), **BP),
    # No voice bot on weekends: Monday 03-16 workday call window opens at 09:00.
    row("saturday-voicebot", B, BOT, "2026-03-14T11:00", want("defer", "2026-03-16T09:00", HOUSE),
        **BP),
    row("saturday-sms-09:59", B, SMS, "2026-03-14T09:59", want("defer", "2026-03-14T10:00", HOUSE),
        **BP),
    row("saturday-sms-20:00", B, SMS, "2026-03-14T20:00", want("defer", "2026-03-15T10:00", HOUSE),
        **BP),
    row("sunday-call-18:00-monday-09:00", B, CALL, "2026-03-15T18:00",
        want("defer", "2026-03-16T09:00", HOUSE), **BP),
    row("makeup-sat-02-14-call-08:30", B, CALL, "2026-02-14T08:30",
        want("defer", "2026-02-14T09:00", HOUSE), **BP),
    row("makeup-sat-02-28-sms-08:30", B, SMS, "2026-02-28T08:30", ALLOW, **BP),
    row("makeup-sun-01-04-call-09:30", B, CALL, "2026-01-04T09:30", ALLOW, **BP),
    row("holiday-10-01-sms-09:30", B, SMS, "2026-10-01T09:30",
        want("defer", "2026-10-01T10:00", HOUSE), **BP),
    # No calls 10-01..10-07; 10-08 Thu is a workday.
    row("holiday-10-01-call", B, CALL, "2026-10-01T10:00", want("defer", "2026-10-08T09:00", HOUSE),
        **BP),
    # 01-03 (Sat) closes the New Year break; 01-04 (Sun) is a make-up workday.
    row("holiday-01-03-call-to-makeup-sunday", B, CALL, "2026-01-03T10:00",
        want("defer", "2026-01-04T09:00", HOUSE), **BP),
    # Voice bot: Fri 02-13 after 20:30 -> make-up Saturday 02-14 opens at 09:00.
    row("voicebot-friday-to-makeup-saturday", B, BOT, "2026-02-13T20:30",
        want("defer", "2026-02-14T09:00", HOUSE), **BP),
    row("voicebot-saturday-to-makeup-sunday", B, BOT, "2026-09-19T11:00",
        want("defer", "2026-09-20T09:00", HOUSE), **BP),
    # Mid-Autumn break 09-25..09-27 (Fri-Sun): no calls until Monday 09-28.
    row("voicebot-holiday-friday", B, BOT, "2026-09-25T11:00",
        want("defer", "2026-09-28T09:00", HOUSE), **BP),
    # The table lists call, SMS, e-mail: a voicemail drop is covered only where listed.
    row("workday-voicemail-08:30-not-listed", B, k.attempt("voicemail", "m1"), "2026-03-10T08:30",
        ALLOW, **BP),
    row("holiday-saturday-10-03-sms-09:30", B, SMS, "2026-10-03T09:30",
        want("defer", "2026-10-03T10:00", HOUSE), **BP),
    row("callback-on-holiday-human-call", B, CALL, "2026-10-01T11:00", ALLOW, **BP,
        flags=_cb("2026-10-01T10:30", "2026-10-01T11:30")),
    row("receipt-07:30", B, RECEIPT, "2026-03-10T07:30", want("defer", "2026-03-10T08:00", TX),
        **BP),
    row("receipt-21:00", B, RECEIPT, "2026-03-10T21:00", want("defer", "2026-03-11T08:00", TX),
        **BP),
    row("receipt-saturday-08:30", B, RECEIPT, "2026-03-14T08:30", ALLOW, **BP),
    row("receipt-holiday-08:30", B, RECEIPT, "2026-10-01T08:30", ALLOW, **BP),
]  # fmt: skip


SLOT_NIGHT = _cb("2026-03-10T22:00", "2026-03-10T23:00")
CALLBACK_ROWS = [
    row("legal-manual-22:30-in-slot", B, CALL, "2026-03-10T22:30", ALLOW, flags=SLOT_NIGHT,
        **LEGAL),
    row("legal-autodialer-22:30-in-slot", B, AUTO, "2026-03-10T22:30",
        want("defer", "2026-03-11T08:00", QUIET), flags=SLOT_NIGHT, **LEGAL),
    row("legal-sms-22:30-in-slot", B, SMS, "2026-03-10T22:30",
        want("defer", "2026-03-11T08:00", QUIET), flags=SLOT_NIGHT, **LEGAL),
    row("legal-manual-slot-not-recorded", B, CALL, "2026-03-10T22:30",
        want("defer", "2026-03-11T08:00", QUIET),
        flags=_cb("2026-03-10T22:00", "2026-03-10T23:00", recorded=False), **LEGAL),
    row("legal-manual-slot-across-midnight", B, CALL, "2026-03-11T00:15", ALLOW,
        flags=_cb("2026-03-10T23:30", "2026-03-11T00:30"), **LEGAL),
    row("legal-manual-at-slot-end", B, CALL, "2026-03-10T23:00",
        want("defer", "2026-03-11T08:00", QUIET), flags=SLOT_NIGHT, **LEGAL),
    # The earliest lawful instant is the start of an early-morning slot.
    row("legal-manual-06:50-slot-from-07:00", B, CALL, "2026-03-11T06:50",
        want("defer", "2026-03-11T07:00", QUIET), flags=_cb("2026-03-11T07:00", "2026-03-11T07:30"),
        **LEGAL),
    # House: the callback exception only reaches to 22:00.
    row("house-manual-22:30-in-slot", B, CALL, "2026-03-10T22:30",
        want("defer", "2026-03-11T09:00", HOUSE), flags=SLOT_NIGHT, **BP),
    row("house-manual-21:00-in-slot", B, CALL, "2026-03-10T21:00", ALLOW,
        flags=_cb("2026-03-10T20:45", "2026-03-10T21:45"), **BP),
    row("house-autodialer-21:00-in-slot", B, AUTO, "2026-03-10T21:00",
        want("defer", "2026-03-11T09:00", HOUSE), flags=_cb("2026-03-10T20:45", "2026-03-10T21:45"),
        **BP),
    row("house-manual-21:00-slot-from-21:30", B, CALL, "2026-03-10T21:00",
        want("defer", "2026-03-10T21:30", HOUSE), flags=_cb("2026-03-10T21:30", "2026-03-10T22:00"),
        **BP),
    row("house-saturday-manual-19:00-in-slot", B, CALL, "2026-03-14T19:00", ALLOW,
        flags=_cb("2026-03-14T18:30", "2026-03-14T19:30"), **BP),
    row("house-sms-21:30-in-slot-calls-only", B, SMS, "2026-03-10T21:30",
        want("defer", "2026-03-11T08:00", HOUSE), flags=_cb("2026-03-10T21:00", "2026-03-10T22:00"),
        **BP),
]  # fmt: skip


@pytest.mark.parametrize("case", QUIET_ROWS)
def test_cn_quiet_hours(case):
    """CN-QUIET-HOURS forbids collection contact in [22:00, 08:00) Shanghai time, any day."""
    k.check(case)


@pytest.mark.parametrize("case", TABLE_ROWS)
def test_cn_house_window_by_day_type(case):
    """CN-HOUSE-WINDOW picks the window from the day type, channel and dialer of the attempt."""
    k.check(case)


@pytest.mark.parametrize("case", CALLBACK_ROWS)
def test_callback_exception(case):
    """A human call inside a recorded callback slot passes quiet hours (house: up to 22:00)."""
    k.check(case)
