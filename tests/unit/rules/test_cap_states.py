"""Rule kind `cap` (US states): Massachusetts number classes, Washington person-or-spouse.

MA counts conversation, voicemail_*, answered_hangup, third_party_answered and sms_sent per
debt; residence class = landline_home/mobile/personal (2 per 7 days), other class = work/other
(2 per 30 days). WA counts conversation, voicemail_lcm, sms_sent, email_sent with borrower or
spouse (3 per 7 days) and communications to work numbers (1 per 7 days). First-party creditors
have no FED-QH, so MA-QH [08:00, 21:00) is their window. Hand-computed from SCENARIOS.md 7.2.
"""

from __future__ import annotations

import pytest
import rules_kit as k
from rules_kit import ALLOW, LA, NY, evs, row, want

MAB, WAB = k.us("MA", NY), k.us("WA", LA)
FP = {"collector": k.FIRST}
CALL_M1, SMS_M1, CALL_W1 = k.attempt("call", "m1"), k.attempt("sms", "m1"), k.attempt("call", "w1")
R7, R30 = "MA-2IN7-RESIDENCE-CELL", "MA-2IN30-OTHER-NUMBERS"
W3, WW = "WA-3-PER-WEEK-ANY-FORM", "WA-WORKPLACE-1-PER-WEEK"


def _e(when: str, channel: str, to: str, outcome: str, tz: str = NY) -> k.Event:
    return k.ev(when, channel, to, outcome, tz)


MA_ROWS = [
    # Landline voicemail + mobile SMS are one class: 06-01 leaves the window on D = 06-08.
    row("ma-landline-and-mobile-one-class", MAB, CALL_M1, "2026-06-05T10:00",
        want("defer", "2026-06-08T08:00", R7),
        history=[_e("2026-06-01T10:00", "call", "l1", "voicemail_no_message"),
            _e("2026-06-03T10:00", "sms", "m1", "sms_sent")], **FP),
    row("ma-sms-attempt-capped-too", MAB, SMS_M1, "2026-06-03T10:00",
        want("defer", "2026-06-08T08:00", R7),
        history=[_e("2026-06-01T10:00", "call", "l1", "conversation"),
            _e("2026-06-02T10:00", "call", "m1", "answered_hangup")], **FP),
    row("ma-no-answer-not-counted", MAB, CALL_M1, "2026-06-03T10:00", ALLOW,
        history=evs("2026-06-01T10:00", "2026-06-02T10:00"), **FP),
    row("ma-busy-not-counted", MAB, CALL_M1, "2026-06-03T10:00", ALLOW,
        history=evs("2026-06-01T10:00", "2026-06-02T10:00", outcome="busy"), **FP),
    row("ma-work-events-other-class", MAB, CALL_M1, "2026-06-05T10:00", ALLOW,
        history=evs("2026-06-01T10:00", "2026-06-03T10:00", to="w1", outcome="voicemail_lcm"),
        **FP),
    row("ma-other-debt", MAB, k.attempt("call", "m1", debts=["D2"]), "2026-06-05T10:00", ALLOW,
        history=evs("2026-06-01T10:00", "2026-06-03T10:00", outcome="voicemail_lcm"), **FP),
    row("ma-email-not-capped", MAB, k.attempt("email", "e1"), "2026-06-05T10:00", ALLOW,
        history=evs("2026-06-01T10:00", "2026-06-03T10:00", channel="sms", outcome="sms_sent"),
        **FP),
    # Attempt about D1 and D2: D1 (06-01, 06-02) clears on 06-09, D2 (06-03, 06-04) on 06-10.
    row("ma-each-debt-of-the-attempt", MAB, k.attempt("call", "m1", debts=["D1", "D2"]),
        "2026-06-05T10:00", want("defer", "2026-06-10T08:00", R7), **FP, history=[
            *evs("2026-06-01T10:00", "2026-06-02T10:00", outcome="voicemail_lcm", debts=("D1",)),
            *evs("2026-06-03T10:00", "2026-06-04T10:00", outcome="voicemail_lcm", debts=("D2",))]),
    # Work class, 30 days: 06-11 leaves [D-29, D] on D = 07-11, but 06-10 already on 07-10.
    row("ma-work-2-in-30", MAB, CALL_W1, "2026-07-09T10:00", want("defer", "2026-07-10T08:00", R30),
        history=evs("2026-06-10T10:00", "2026-06-11T10:00", to="w1", outcome="voicemail_lcm"),
        **FP),
    # Third-party collector in MA: FED-QH and MA caps together.
    row("ma-collector-cap-and-hours", MAB, CALL_M1, "2026-06-05T21:00",
        want("defer", "2026-06-08T08:00", R7, "FED-QH", "MA-QH"),
        history=evs("2026-06-01T10:00", "2026-06-03T10:00", to="l1", outcome="voicemail_lcm")),
]  # fmt: skip

SPOUSE_CONV = _e("2026-06-01T10:00", "call", "s1", "conversation", LA)
SMS_SENT = _e("2026-06-02T10:00", "sms", "m1", "sms_sent", LA)
MAIL_SENT = _e("2026-06-03T10:00", "email", "e1", "email_sent", LA)
WA_ROWS = [
    row("wa-spouse-conversation-counts", WAB, k.attempt("email", "e1"), "2026-06-04T10:00",
        want("defer", "2026-06-08T08:00", W3), utc="2026-06-08T15:00Z",
        history=[SPOUSE_CONV, SMS_SENT, MAIL_SENT]),
    row("wa-attempt-to-spouse-counts-borrower", WAB, k.attempt("sms", "s1"), "2026-06-04T10:00",
        want("defer", "2026-06-08T08:00", W3),
        history=[_e("2026-06-01T10:00", "call", "m1", "voicemail_lcm", LA), SMS_SENT, MAIL_SENT]),
    row("wa-no-answer-not-counted", WAB, k.attempt("email", "e1"), "2026-06-04T10:00", ALLOW,
        history=evs("2026-06-01T10:00", "2026-06-02T10:00", "2026-06-03T10:00", tz=LA)),
    row("wa-voicemail-no-message-not-counted", WAB, k.attempt("email", "e1"), "2026-06-04T10:00",
        ALLOW,
        history=[*evs("2026-06-01T10:00", outcome="voicemail_no_message", tz=LA), SMS_SENT,
            MAIL_SENT]),
    row("wa-work-phone-1-per-week", WAB, CALL_W1, "2026-06-03T10:00",
        want("defer", "2026-06-08T08:00", WW),
        history=evs("2026-06-01T10:00", to="w1", outcome="voicemail_lcm", tz=LA)),
    row("wa-work-then-mobile-unaffected", WAB, CALL_M1, "2026-06-03T10:00", ALLOW,
        history=evs("2026-06-01T10:00", to="w1", outcome="voicemail_lcm", tz=LA)),
    row("wa-mobile-then-work-not-counted", WAB, CALL_W1, "2026-06-03T10:00", ALLOW,
        history=evs("2026-06-01T10:00", outcome="voicemail_lcm", tz=LA)),
    row("wa-employer-email-1-per-week", WAB, k.attempt("email", "e3"), "2026-06-03T10:00",
        want("defer", "2026-06-08T08:00", WW),
        history=[_e("2026-06-01T10:00", "email", "e3", "email_sent", LA)]),
]  # fmt: skip


@pytest.mark.parametrize("case", MA_ROWS)
def test_massachusetts_caps(case):
    """MA caps count listed outcomes per debt and per number class in calendar-day windows."""
    k.check(case)


@pytest.mark.parametrize("case", WA_ROWS)
def test_washington_caps(case):
    """WA caps count borrower and spouse together, and work-number communications alone."""
    k.check(case)
