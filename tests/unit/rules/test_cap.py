"""Rule kind `cap` (US federal, best practice, NYC): calendar-day windows [D-(n-1), D] in P.

REGF-7IN7 counts conversation, no_answer, voicemail_*, answered_hangup, third_party_answered
(never busy, not_in_service, network_fail), per person and per debt, self only; direct
consent to the collector covers given_on..given_on+6 (SCENARIOS.md 6, 7.1). 2026-06-07 and
2026-11-01 are Sundays (legal profile: no day ban). Expected values are computed by hand.
"""

from __future__ import annotations

import pytest
import rules_kit as k
from rules_kit import ALLOW, LA, NY, evs, row, want

NYB, LAB = k.us("NY", NY), k.us("CA", LA)
CALL, SMS, EMAIL = k.attempt("call", "m1"), k.attempt("sms", "m1"), k.attempt("email", "e1")
VM = k.attempt("voicemail", "m1")
R7 = "REGF-7IN7"
# Seven counted calls 06-02 (x2) .. 06-07: the 06-02 pair leaves the window on D = 06-09.
SEVEN_AT = ("2026-06-02T10:00", "2026-06-02T14:00", *(f"2026-06-0{d}T10:00" for d in range(3, 8)))
SEVEN = evs(*SEVEN_AT)
SIX = SEVEN[1:]
# Seven calls 06-01 (x3), 06-02 (x2), 06-03, 06-04.
EARLY = evs(
    *(f"2026-06-01T{h:02d}:00" for h in (9, 12, 15)),
    *("2026-06-02T10:00", "2026-06-02T15:00", "2026-06-03T10:00", "2026-06-04T10:00"),
)
# Seven calls 06-01 (x2), 06-02 (x2), 06-03 (x2), 06-04 (x1): on D = 06-08 five remain.
BEFORE_05 = evs(*(f"2026-06-0{d}T{h}:00" for d in (1, 2, 3) for h in (10, 15)), "2026-06-04T10:00")
# Seven calls that never count: busy x3, not_in_service x2, network_fail x2.
NOT_CONNECTED = [
    *evs("2026-06-02T10:00", "2026-06-03T10:00", "2026-06-04T10:00", outcome="busy"),
    *evs("2026-06-05T10:00", "2026-06-06T10:00", outcome="not_in_service"),
    *evs("2026-06-07T10:00", "2026-06-07T14:00", outcome="network_fail"),
]
# Seven counted calls with every other counted outcome, 06-02 (x2) .. 06-07.
MIXED_COUNTED = [
    *evs("2026-06-02T10:00", "2026-06-02T14:00", outcome="voicemail_no_message"),
    *evs("2026-06-03T10:00", "2026-06-04T10:00", outcome="answered_hangup"),
    *evs("2026-06-05T10:00", outcome="third_party_answered"),
    *evs("2026-06-06T10:00", "2026-06-07T10:00"),
]
ON_0607 = evs(*(f"2026-06-07T{h}:00" for h in range(10, 17)))
ON_0608 = evs(*(f"2026-06-08T{h}:00" for h in range(10, 17)))


def _c(*consents: k.DirectConsent) -> k.Flags:
    return k.flags(direct_consents=list(consents))


REGF_ROWS = [
    row("8th-counted-call", NYB, CALL, "2026-06-08T10:00", want("defer", "2026-06-09T08:00", R7),
        history=SEVEN),
    row("6-counted-plus-busy", NYB, CALL, "2026-06-08T10:00", ALLOW,
        history=[*SIX, *evs("2026-06-03T15:00", outcome="busy")]),
    row("never-count-outcomes", NYB, CALL, "2026-06-08T10:00", ALLOW, history=NOT_CONNECTED),
    row("mixed-counted-outcomes", NYB, CALL, "2026-06-08T10:00",
        want("defer", "2026-06-09T08:00", R7), history=MIXED_COUNTED),
    row("affiliate-calls-not-counted", NYB, CALL, "2026-06-08T10:00", ALLOW,
        history=evs(*SEVEN_AT, party="affiliate")),
    row("other-debt", NYB, k.attempt("call", "m1", debts=["D2"]), "2026-06-08T10:00", ALLOW,
        history=SEVEN),
    row("multi-debt-event-counts-for-each", NYB, k.attempt("call", "m1", debts=["D2"]),
        "2026-06-08T10:00", want("defer", "2026-06-09T08:00", R7),
        history=evs(*SEVEN_AT, debts=("D1", "D2"))),
    row("multi-debt-attempt", NYB, k.attempt("call", "m1", debts=["D2", "D1"]), "2026-06-08T10:00",
        want("defer", "2026-06-09T08:00", R7), history=SEVEN),
    row("voicemail-drops-count-as-calls", NYB, CALL, "2026-06-08T10:00",
        want("defer", "2026-06-09T08:00", R7),
        history=evs(*SEVEN_AT, channel="voicemail", outcome="voicemail_lcm")),
    row("voicemail-attempt-is-a-call", NYB, VM, "2026-06-08T10:00",
        want("defer", "2026-06-09T08:00", R7), history=SEVEN),
    row("sms-not-capped", NYB, SMS, "2026-06-08T10:00", ALLOW, history=SEVEN),
    row("other-number-same-person", NYB, k.attempt("call", "w1"), "2026-06-08T10:00",
        want("defer", "2026-06-09T08:00", R7), history=SEVEN),
    # Calls at 20:30 PDT on 06-02 are 03:30Z on 06-03: P-date 06-02, outside [06-03, 06-09].
    row("la-window-edge-at-local-midnight", LAB, CALL, "2026-06-09T08:00", ALLOW,
        history=evs(*["2026-06-02T20:30"] * 7, tz=LA)),
    row("la-window-edge-day-before", LAB, CALL, "2026-06-08T20:00",
        want("defer", "2026-06-09T08:00", R7), utc="2026-06-09T15:00Z",
        history=evs(*["2026-06-02T20:30"] * 7, tz=LA)),
    # 7 calls on Mon 10-26; window [10-26, 11-01] full; Monday 11-02 08:00 EST = 13:00Z.
    row("ny-window-across-fall-back", NYB, CALL, "2026-11-01T10:00",
        want("defer", "2026-11-02T08:00", R7), utc="2026-11-02T13:00Z",
        history=evs(*(f"2026-10-26T{h}:00" for h in range(10, 17)))),
    # Consent 05-27 covers 05-27..06-02: the five calls of 06-01/06-02 are not counted.
    row("consent-excludes-covered-calls", NYB, CALL, "2026-06-05T10:00", ALLOW, history=EARLY,
        flags=_c(k.consent("2026-05-27"))),
    row("consent-to-creditor-covers-nothing", NYB, CALL, "2026-06-05T10:00",
        want("defer", "2026-06-08T08:00", R7), history=EARLY,
        flags=_c(k.consent("2026-05-27", "creditor"))),
    row("attempt-on-covered-date-exempt", NYB, CALL, "2026-06-05T10:00", ALLOW, history=BEFORE_05,
        flags=_c(k.consent("2026-06-05"))),
    # Consent 06-01 covers 06-01..06-07: seven calls on day 7 are excluded, on day 8 counted.
    row("consent-day-7-calls-excluded", NYB, CALL, "2026-06-08T10:00", ALLOW, history=ON_0607,
        flags=_c(k.consent("2026-06-01"))),
    row("consent-day-8-calls-counted", NYB, CALL, "2026-06-08T17:00",
        want("defer", "2026-06-15T08:00", R7), history=ON_0608, flags=_c(k.consent("2026-06-01"))),
    row("consent-for-other-debt", NYB, CALL, "2026-06-05T10:00",
        want("defer", "2026-06-08T08:00", R7), history=BEFORE_05,
        flags=_c(k.consent("2026-06-05", debts=["D2"]))),
    row("consent-of-spouse", NYB, CALL, "2026-06-05T10:00", want("defer", "2026-06-08T08:00", R7),
        history=BEFORE_05, flags=_c(k.consent("2026-06-05", person=k.Owner.SPOUSE))),
]  # fmt: skip

LANDLINE = k.attempt("call", "l1", dialer="prerecorded")
TC = "TCPA-PRERECORDED-RESIDENTIAL-3IN30"
FP = {"collector": k.FIRST}
NY_L1_CONSENT = k.borrower(
    "US", NY, k.phone("l1", "landline_home", NY, tcpa_consent=True), state="NY"
)
THREE = ("2026-06-01T10:00", "2026-06-08T10:00", "2026-06-15T10:00")
TCPA_ROWS = [
    # First-party creditor in NY: no hour window, so the defer lands on local midnight 07-01.
    row("4th-prerecorded-in-30d", NYB, LANDLINE, "2026-06-20T10:00",
        want("defer", "2026-07-01T00:00", TC), utc="2026-07-01T04:00Z",
        history=evs(*THREE, to="l1", outcome="busy", dialer="prerecorded"), **FP),
    row("ai-voice-calls-count", NYB, k.attempt("call", "l1", dialer="ai_voice"), "2026-06-20T10:00",
        want("defer", "2026-07-01T00:00", TC), history=evs(*THREE, to="l1", dialer="ai_voice"),
        **FP),
    row("prerecorded-voicemail-drop-is-a-call", NYB,
        k.attempt("voicemail", "l1", dialer="prerecorded"), "2026-06-20T10:00",
        want("defer", "2026-07-01T00:00", TC),
        history=evs(*THREE, to="l1", outcome="voicemail_lcm", dialer="prerecorded"), **FP),
    row("landline-with-consent", NY_L1_CONSENT, LANDLINE, "2026-06-20T10:00", ALLOW,
        history=evs(*THREE, to="l1", dialer="prerecorded"), **FP),
    row("manual-attempt-not-covered", NYB, k.attempt("call", "l1"), "2026-06-20T10:00", ALLOW,
        history=evs(*THREE, to="l1", dialer="prerecorded"), **FP),
    row("manual-calls-not-counted", NYB, LANDLINE, "2026-06-20T10:00", ALLOW,
        history=evs(*THREE, to="l1"), **FP),
]  # fmt: skip

BP = {"profile": "best_practice"}
NYC = k.us("NY", NY, city="NYC")
PENDING = {"enable_pending": True}
MIXED = [
    k.ev("2026-06-01T10:00", "call", "m1", "busy"),
    k.ev("2026-06-02T10:00", "sms", "m1", "sms_sent"),
    k.ev("2026-06-03T10:00", "email", "e1", "email_sent"),
]
HOUSE_NYC_ROWS = [
    row("bp-3rd-call-attempt-today", NYB, CALL, "2026-06-02T18:00",
        want("defer", "2026-06-03T08:00", "BP-CALLS-PER-DAY"),
        history=[*evs("2026-06-02T09:00"), *evs("2026-06-02T13:30", to="w1", outcome="busy")],
        **BP),
    row("bp-calls-yesterday-evening", NYB, CALL, "2026-06-02T08:00", ALLOW,
        history=evs("2026-06-01T16:00", "2026-06-01T20:15"), **BP),
    # 3 SMS 06-01..06-03; D = 06-07 is a Sunday anyway; D = 06-08 holds 2 -> 09:00.
    row("bp-4th-sms-in-7-days", NYB, SMS, "2026-06-04T10:00",
        want("defer", "2026-06-08T09:00", "BP-SMS-PER-WEEK"),
        history=evs("2026-06-01T10:00", "2026-06-02T10:00", "2026-06-03T10:00", channel="sms",
            outcome="sms_sent"), **BP),
    row("bp-spouse-sms-other-person", NYB, SMS, "2026-06-04T10:00", ALLOW,
        history=evs("2026-06-01T10:00", "2026-06-02T10:00", "2026-06-03T10:00", channel="sms",
            to="s1", outcome="sms_sent"), **BP),
    row("bp-4th-email-in-7-days", NYB, EMAIL, "2026-06-04T10:00",
        want("defer", "2026-06-08T08:00", "BP-EMAIL-PER-WEEK"),
        history=[*evs("2026-06-01T10:00", "2026-06-02T10:00", channel="email", to="e1",
                outcome="email_sent"),
            *evs("2026-06-03T10:00", channel="email", to="e3", outcome="email_sent")], **BP),
    row("nyc-4th-attempt-any-channel", NYC, CALL, "2026-06-04T10:00",
        want("defer", "2026-06-08T08:00", "NYC-3-ATTEMPTS-IN-7"), history=MIXED, **PENDING),
    row("nyc-pending-off", NYC, CALL, "2026-06-04T10:00", ALLOW, history=MIXED),
]  # fmt: skip


@pytest.mark.parametrize("case", REGF_ROWS)
def test_regf_7in7(case):
    """REGF-7IN7 counts only connected calls per person and debt in 7 P-dates, minus consent."""
    k.check(case)


@pytest.mark.parametrize("case", TCPA_ROWS)
def test_tcpa_prerecorded_3in30(case):
    """TCPA caps prerecorded/AI calls to a residential landline at 3 per 30 days without consent."""
    k.check(case)


@pytest.mark.parametrize("case", HOUSE_NYC_ROWS)
def test_best_practice_and_nyc_caps(case):
    """BP per-day/per-week caps count per person; the pending NYC cap only with enable_pending."""
    k.check(case)
