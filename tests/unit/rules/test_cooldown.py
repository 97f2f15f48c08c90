"""Rule kind `cooldown`: REGF-POST-CONVERSATION (12 CFR 1006.14(b)(2)(i)(B)).

A conversation or inbound_conversation with a person about a debt on P-date C (day 1) stops
calls (voicemail drops included) to that person about that debt while C <= D <= C+6; day 8
is free from local midnight. Direct consent given to the collector exempts an attempt on a
covered P-date. Calendar days, not 7 x 24 h: the DST rows tell them apart. Hand-computed.
"""

from __future__ import annotations

import pytest
import rules_kit as k
from rules_kit import ALLOW, HNL, LA, NY, row, want

NYB, LAB = k.us("NY", NY), k.us("CA", LA)
HNLB = k.us("HI", HNL)
CALL, VM, SMS = k.attempt("call", "m1"), k.attempt("voicemail", "m1"), k.attempt("sms", "m1")
PC, Q = "REGF-POST-CONVERSATION", "FED-QH"
CONV = [k.ev("2026-06-02T11:00", "call", "m1", "conversation")]
INBOUND = [k.ev("2026-06-02T11:00", "call", "m1", "inbound_conversation", initiator="consumer")]


def _c(*consents: k.DirectConsent) -> k.Flags:
    return k.flags(direct_consents=list(consents))


ROWS = [
    row("day-1-later-same-day", NYB, CALL, "2026-06-02T15:00",
        want("defer", "2026-06-09T08:00", PC), history=CONV),
    row("day-7", NYB, CALL, "2026-06-08T10:00", want("defer", "2026-06-09T08:00", PC),
        history=CONV),
    row("day-8-08:00", NYB, CALL, "2026-06-09T08:00", ALLOW, history=CONV),
    # Day 7 at 23:59 both rules fail; on day 8 at 07:59 only FED-QH: the cooldown ended at 00:00.
    row("day-7-23:59", NYB, CALL, "2026-06-08T23:59", want("defer", "2026-06-09T08:00", PC, Q),
        history=CONV),
    row("day-8-07:59", NYB, CALL, "2026-06-09T07:59", want("defer", "2026-06-09T08:00", Q),
        history=CONV),
    row("inbound-conversation-triggers", NYB, CALL, "2026-06-05T10:00",
        want("defer", "2026-06-09T08:00", PC), history=INBOUND),
    row("voicemail-drop-is-a-call", NYB, VM, "2026-06-05T10:00",
        want("defer", "2026-06-09T08:00", PC), history=CONV),
    row("sms-not-covered", NYB, SMS, "2026-06-05T10:00", ALLOW, history=CONV),
    row("other-debt", NYB, k.attempt("call", "m1", debts=["D2"]), "2026-06-05T10:00", ALLOW,
        history=CONV),
    row("conversation-about-both-debts", NYB, k.attempt("call", "m1", debts=["D2"]),
        "2026-06-05T10:00", want("defer", "2026-06-09T08:00", PC),
        history=[k.ev("2026-06-02T11:00", "call", "m1", "conversation", debts=("D1", "D2"))]),
    row("spouse-conversation-other-person", NYB, CALL, "2026-06-05T10:00", ALLOW,
        history=[k.ev("2026-06-02T11:00", "call", "s1", "conversation")]),
    row("other-number-same-person", NYB, k.attempt("call", "w1"), "2026-06-05T10:00",
        want("defer", "2026-06-09T08:00", PC), history=CONV),
    row("affiliate-conversation-not-counted", NYB, CALL, "2026-06-05T10:00", ALLOW,
        history=[k.ev("2026-06-02T11:00", "call", "m1", "conversation", party="affiliate")]),
    row("no-answer-does-not-trigger", NYB, CALL, "2026-06-05T10:00", ALLOW,
        history=[k.ev("2026-06-02T11:00", "call", "m1", "no_answer")]),
    row("consent-exempts-covered-date", NYB, CALL, "2026-06-05T10:00", ALLOW, history=CONV,
        flags=_c(k.consent("2026-06-04"))),
    row("consent-to-creditor-no-exemption", NYB, CALL, "2026-06-05T10:00",
        want("defer", "2026-06-09T08:00", PC), history=CONV,
        flags=_c(k.consent("2026-06-04", "creditor"))),
    # Consent 05-27 covers 05-27..06-02 only; the attempt on 06-05 is not covered.
    row("consent-expired", NYB, CALL, "2026-06-05T10:00", want("defer", "2026-06-09T08:00", PC),
        history=CONV, flags=_c(k.consent("2026-05-27"))),
    # Consent for D2 only leaves the D1 attempt in the cooldown.
    row("consent-for-other-debt", NYB, CALL, "2026-06-05T10:00",
        want("defer", "2026-06-09T08:00", PC), history=CONV,
        flags=_c(k.consent("2026-06-04", debts=["D2"]))),
    # 20:00 PDT on 06-02 is 03:00Z on 06-03: day 1 is the P-date 06-02, day 8 is 06-09.
    row("la-p-date-not-utc-date", LAB, CALL, "2026-06-09T08:00", ALLOW,
        history=[k.ev("2026-06-02T20:00", "call", "m1", "conversation", LA)]),
    row("la-day-7-evening", LAB, CALL, "2026-06-08T20:00", want("defer", "2026-06-09T08:00", PC),
        utc="2026-06-09T15:00Z",
        history=[k.ev("2026-06-02T20:00", "call", "m1", "conversation", LA)]),
    # Conversation Tue 10-27 10:00 EDT; day 8 = 11-03. 168 h later would be 11-03 09:00 EST.
    row("ny-fall-back-day-8-08:00-EST", NYB, CALL, "2026-11-03T08:00", ALLOW,
        history=[k.ev("2026-10-27T10:00", "call", "m1", "conversation")]),
    row("ny-fall-back-day-7", NYB, CALL, "2026-11-02T20:00", want("defer", "2026-11-03T08:00", PC),
        utc="2026-11-03T13:00Z", history=[k.ev("2026-10-27T10:00", "call", "m1", "conversation")]),
    # Conversation Mon 03-02 10:00 EST; day 8 = 03-09 at 08:00 EDT = 12:00Z.
    row("ny-spring-forward-day-8", NYB, CALL, "2026-03-09T07:00",
        want("defer", "2026-03-09T08:00", Q), utc="2026-03-09T12:00Z",
        history=[k.ev("2026-03-02T10:00", "call", "m1", "conversation")]),
    # Honolulu: conversation 06-02 16:00 HST = 06-03 02:00Z; day 8 is 06-09 HST.
    row("hnl-day-7", HNLB, CALL, "2026-06-08T10:00", want("defer", "2026-06-09T08:00", PC),
        utc="2026-06-09T18:00Z",
        history=[k.ev("2026-06-02T16:00", "call", "m1", "conversation", HNL)]),
    # Event logged in LA time 21:30 PDT = 00:30 EDT 06-03: day 1 is the NY P-date 06-03.
    row("event-tz-differs-from-p", NYB, CALL, "2026-06-09T10:00",
        want("defer", "2026-06-10T08:00", PC),
        history=[k.ev("2026-06-02T21:30", "call", "m1", "inbound_conversation", LA,
                initiator="consumer")]),
    # Confirmed location LA: P = LA, 22:00 PDT on 06-02 stays day 1 = 06-02.
    row("confirmed-location-p-date", k.us("NY", NY, confirmed=LA), CALL, "2026-06-09T08:00", ALLOW,
        history=[k.ev("2026-06-02T22:00", "call", "m1", "inbound_conversation", LA,
                initiator="consumer")]),
    # Conversation Sun 05-31: days 1-7 end 06-06; best practice also skips Sunday 06-07.
    row("cooldown-then-sunday-ban", NYB, CALL, "2026-06-02T15:00",
        want("defer", "2026-06-08T08:00", PC), profile="best_practice",
        history=[k.ev("2026-05-31T11:00", "call", "m1", "conversation")]),
    row("first-party-no-regf", NYB, CALL, "2026-06-05T10:00", ALLOW, history=CONV,
        collector=k.FIRST),
]  # fmt: skip


@pytest.mark.parametrize("case", ROWS)
def test_regf_post_conversation_cooldown(case):
    """No call for P-dates C..C+6 after a conversation on C with that person about that debt."""
    k.check(case)
