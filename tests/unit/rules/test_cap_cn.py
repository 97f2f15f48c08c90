"""Rule kind `cap` (China): per-day caps on the Shanghai P-date, rolling 168 h caps.

China caps count self and affiliate contacts and skip transactional events; a per-day cap
counts P-date D (00:00-24:00 CST = 16:00Z-16:00Z), a rolling cap counts (t - 168 h, t], so an
event exactly 168 h old no longer counts (SCENARIOS.md 3.6, 6, 7.5, 7.6). 2026-03-10 Tue,
03-13 Fri, 03-14 Sat, 03-15 Sun; 02-14 Sat is a make-up workday. Hand-computed.
"""

from __future__ import annotations

import pytest
import rules_kit as k
from rules_kit import ALLOW, SHA, row, want

B = k.cn()
LEGAL = {"collector": k.CNL}
BP = {"collector": k.CNL, "profile": "best_practice"}
CALL, CALL_M2 = k.attempt("call", "m1"), k.attempt("call", "m2")
SMS, EMAIL = k.attempt("sms", "m1", tpl={"rendered_length": 60}), k.attempt("email", "e1")
C3, U6 = "CN-CONNECTED-CALLS-3PD", "CN-UNANSWERED-6PN"
ATT, C7 = "CN-HOUSE-CALL-ATTEMPTS-PER-DAY", "CN-HOUSE-CALLS-7D"


def evs(*whens: str, **kw: object) -> list[k.Event]:
    return k.evs(*whens, tz=SHA, **kw)  # type: ignore[arg-type]


def sms(*whens: str, **kw: object) -> list[k.Event]:
    return evs(*whens, channel="sms", outcome="sms_sent", **kw)


def mail(*whens: str, **kw: object) -> list[k.Event]:
    return evs(*whens, channel="email", to="e1", outcome="email_sent", **kw)


CONV3 = [*evs("2026-03-10T09:05", "2026-03-10T11:40", outcome="conversation"),
         *evs("2026-03-10T10:20", outcome="conversation", party="affiliate")]  # fmt: skip
SIX_AT = tuple(f"2026-03-10T{h:02d}:00" for h in range(8, 14))
# Twelve call attempts 03-04..03-09 at 10:00 and 15:00; the oldest is 168 h old at 03-11 10:00.
TWELVE = evs(*(f"2026-03-0{d}T{h}:00" for d in range(4, 10) for h in (10, 15)))

LEGAL_ROWS = [
    row("3-conversations-incl-affiliate", B, CALL, "2026-03-10T14:00",
        want("defer", "2026-03-11T08:00", C3), **LEGAL, history=CONV3),
    row("voice-bot-conversations-count", B, CALL, "2026-03-10T14:00",
        want("defer", "2026-03-11T08:00", C3), **LEGAL,
        history=evs("2026-03-10T09:00", "2026-03-10T10:00", "2026-03-10T11:00",
            outcome="conversation", dialer="ai_voice")),
    row("per-person-across-numbers", B, CALL_M2, "2026-03-10T14:00",
        want("defer", "2026-03-11T08:00", C3), **LEGAL, history=CONV3),
    row("conversations-yesterday", B, CALL, "2026-03-11T08:00", ALLOW, **LEGAL,
        history=evs("2026-03-10T09:00", "2026-03-10T12:00", "2026-03-10T21:59",
            outcome="conversation")),
    # 16:00Z on 03-09 is 00:00 CST on 03-10: three conversations on the attempt's P-date.
    row("utc-midnight-is-cst-08:00", B, CALL, "2026-03-10T10:00",
        want("defer", "2026-03-11T08:00", C3), **LEGAL,
        history=evs("2026-03-09T16:00Z", "2026-03-09T17:00Z", "2026-03-10T01:00Z",
            outcome="conversation")),
    row("23:59-cst-is-yesterday", B, CALL, "2026-03-10T10:00", ALLOW, **LEGAL,
        history=evs("2026-03-09T15:59Z", "2026-03-09T17:00Z", "2026-03-10T01:00Z",
            outcome="conversation")),
    row("transactional-calls-skipped", B, CALL, "2026-03-10T14:00", ALLOW, **LEGAL,
        history=evs("2026-03-10T09:00", "2026-03-10T10:00", "2026-03-10T11:00",
            outcome="conversation", purpose="transactional")),
    row("6-unanswered-on-number", B, CALL, "2026-03-10T14:00",
        want("defer", "2026-03-11T08:00", U6), **LEGAL, history=evs(*SIX_AT)),
    row("6-unanswered-other-number", B, CALL, "2026-03-10T14:00", ALLOW, **LEGAL,
        history=evs(*SIX_AT, to="m2")),
    row("busy-and-affiliate-count", B, CALL, "2026-03-10T14:00",
        want("defer", "2026-03-11T08:00", U6), **LEGAL,
        history=[*evs(*SIX_AT[:3], outcome="busy"), *evs(*SIX_AT[3:], party="affiliate")]),
    row("5-unanswered-1-conversation", B, CALL, "2026-03-10T14:00", ALLOW, **LEGAL,
        history=[*evs(*SIX_AT[:5]), *evs(SIX_AT[5], outcome="conversation")]),
    row("house-caps-off-in-legal", B, EMAIL, "2026-03-10T15:00", ALLOW, **LEGAL,
        history=[*evs("2026-03-10T09:00", "2026-03-10T11:00", "2026-03-10T13:00"),
            *sms("2026-03-10T14:00"), *mail("2026-03-10T14:30")]),
]  # fmt: skip

HOUSE_ROWS = [
    row("workday-3-attempts", B, CALL, "2026-03-10T15:00", want("defer", "2026-03-11T09:00", ATT),
        **BP, history=evs("2026-03-10T09:00", "2026-03-10T11:00", "2026-03-10T13:00")),
    row("workday-2-attempts", B, CALL, "2026-03-10T15:00", ALLOW, **BP,
        history=evs("2026-03-10T09:00", "2026-03-10T13:00")),
    row("saturday-1-attempt", B, CALL, "2026-03-14T13:00", want("defer", "2026-03-15T10:00", ATT),
        **BP, history=evs("2026-03-14T10:00")),
    row("friday-3-then-saturday", B, CALL, "2026-03-13T15:00",
        want("defer", "2026-03-14T10:00", ATT), **BP,
        history=evs("2026-03-13T09:00", "2026-03-13T11:00", "2026-03-13T13:00")),
    row("sunday-1-then-monday", B, CALL, "2026-03-15T12:30", want("defer", "2026-03-16T09:00", ATT),
        **BP, history=evs("2026-03-15T10:00")),
    row("makeup-saturday-allows-3", B, CALL, "2026-02-14T12:00", ALLOW, **BP,
        history=evs("2026-02-14T09:30")),
    row("sms-not-a-call-attempt", B, CALL, "2026-03-10T15:00", ALLOW, **BP,
        history=[*evs("2026-03-10T09:00", "2026-03-10T11:00"), *sms("2026-03-10T12:00")]),
    row("12-calls-in-168h", B, CALL, "2026-03-11T09:59", want("defer", "2026-03-11T10:00", C7),
        **BP, history=TWELVE),
    row("12th-call-exactly-168h-old", B, CALL, "2026-03-11T10:00", ALLOW, **BP, history=TWELVE),
    row("affiliate-calls-in-168h", B, CALL, "2026-03-10T10:00",
        want("defer", "2026-03-11T10:00", C7), **BP,
        history=[*TWELVE[::2],
            *evs(*(f"2026-03-0{d}T15:00" for d in range(4, 10)), party="affiliate")]),
    row("sms-23:59-yesterday", B, SMS, "2026-03-11T10:00", ALLOW, **BP,
        history=sms("2026-03-10T23:59")),
    row("sms-00:00-today", B, SMS, "2026-03-11T10:00",
        want("defer", "2026-03-12T08:00", "CN-HOUSE-SMS-1PD"), **BP,
        history=sms("2026-03-11T00:00")),
    row("sms-15:59Z-yesterday", B, SMS, "2026-03-11T10:00", ALLOW, **BP,
        history=sms("2026-03-10T15:59Z")),
    row("sms-16:00Z-today", B, SMS, "2026-03-11T10:00",
        want("defer", "2026-03-12T08:00", "CN-HOUSE-SMS-1PD"), **BP,
        history=sms("2026-03-10T16:00Z")),
    row("receipt-sms-not-counted", B, SMS, "2026-03-11T10:00", ALLOW, **BP,
        history=sms("2026-03-11T09:00", purpose="transactional")),
    row("sms-3-in-168h-edge", B, SMS, "2026-03-13T10:00", ALLOW, **BP,
        history=sms("2026-03-06T10:00", "2026-03-09T10:00", "2026-03-11T10:00")),
    row("sms-3-in-168h-minute-before", B, SMS, "2026-03-13T09:59",
        want("defer", "2026-03-13T10:00", "CN-HOUSE-SMS-3P7D"), **BP,
        history=sms("2026-03-06T10:00", "2026-03-09T10:00", "2026-03-11T10:00")),
    # Four SMS in the window (facts may exceed a cap): both 03-06 SMS must leave it.
    row("sms-4-in-168h-two-drop-out", B, SMS, "2026-03-12T10:00",
        want("defer", "2026-03-13T12:00", "CN-HOUSE-SMS-3P7D"), **BP,
        history=sms("2026-03-06T10:00", "2026-03-06T12:00", "2026-03-09T10:00",
                    "2026-03-11T10:00")),
    row("affiliate-sms-count", B, SMS, "2026-03-12T10:00",
        want("defer", "2026-03-13T10:00", "CN-HOUSE-SMS-3P7D"), **BP,
        history=sms("2026-03-06T10:00", "2026-03-09T10:00", "2026-03-11T10:00", party="affiliate")),
    row("email-1-per-day", B, EMAIL, "2026-03-10T15:00",
        want("defer", "2026-03-11T08:00", "CN-HOUSE-EMAIL-1PD"), **BP,
        history=mail("2026-03-10T09:00")),
    row("email-3-in-168h", B, EMAIL, "2026-03-12T10:00",
        want("defer", "2026-03-13T10:00", "CN-HOUSE-EMAIL-3P7D"), **BP,
        history=mail("2026-03-06T10:00", "2026-03-08T10:00", "2026-03-09T10:00")),
    row("4-touches-then-email", B, EMAIL, "2026-03-10T15:00",
        want("defer", "2026-03-11T08:00", "CN-HOUSE-TOUCHES-PER-DAY"), **BP,
        history=[*evs("2026-03-10T09:00", "2026-03-10T11:00", "2026-03-10T13:00"),
            *sms("2026-03-10T14:00")]),
    row("4-touches-incl-affiliate-then-call", B, CALL, "2026-03-10T16:00",
        want("defer", "2026-03-11T09:00", "CN-HOUSE-TOUCHES-PER-DAY"), **BP,
        history=[*evs("2026-03-10T09:00", "2026-03-10T11:00"), *sms("2026-03-10T12:00"),
            *mail("2026-03-10T13:00", party="affiliate")]),
    row("receipt-not-capped", B,
        k.attempt("sms", "m1", purpose="transactional", tpl={"cls": "receipt"}), "2026-03-10T15:00",
        ALLOW, **BP, history=sms("2026-03-10T09:00")),
    row("transactional-not-a-touch", B, SMS, "2026-03-10T15:00", ALLOW, **BP,
        history=[*evs("2026-03-10T09:00", "2026-03-10T11:00", "2026-03-10T13:00"),
            *sms("2026-03-10T14:00", purpose="transactional")]),
]  # fmt: skip


@pytest.mark.parametrize("case", LEGAL_ROWS)
def test_cn_regulatory_caps(case):
    """GB/T 3 connected calls per person and CBA 6 unanswered attempts per number per P-date."""
    k.check(case)


@pytest.mark.parametrize("case", HOUSE_ROWS)
def test_cn_house_caps(case):
    """House caps: day-type attempts per day, rolling 168 h call/SMS/e-mail caps, touches/day."""
    k.check(case)
