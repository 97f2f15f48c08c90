"""Rule kind `promise_to_pay`: CN-HOUSE-PTP (house layer, collection purpose only).

Nothing before P-date `pay_by`; on `pay_by` only SMS, from 09:00; normal from the next day
(SCENARIOS.md 7.6). The day-type windows still apply: 2026-03-13 Fri workday, 03-14 Sat and
03-15 Sun weekend (calls/SMS/e-mail from 10:00), 02-14 Sat make-up workday, 02-15..02-23
Spring Festival blackout. Hand-computed.
"""

from __future__ import annotations

import pytest
import rules_kit as k
from rules_kit import ALLOW, row, want

B = k.cn()
BP = {"collector": k.CNL, "profile": "best_practice"}
CALL, EMAIL = k.attempt("call", "m1"), k.attempt("email", "e1")
SMS = k.attempt("sms", "m1", tpl={"rendered_length": 64})
RECEIPT = k.attempt("sms", "m1", purpose="transactional", tpl={"cls": "receipt"})
PTP = "CN-HOUSE-PTP"


def _p(recorded_on: str, pay_by: str) -> dict[str, object]:
    return {**BP, "flags": k.flags(promise_to_pay=k.ptp(recorded_on, pay_by))}


FRI = _p("2026-03-09", "2026-03-13")
SUN = _p("2026-03-09", "2026-03-15")

ROWS = [
    row("sms-before-pay-by", B, SMS, "2026-03-10T10:00", want("defer", "2026-03-13T09:00", PTP),
        utc="2026-03-13T01:00Z", **FRI),
    # Calls only from the day after pay_by: Saturday, weekend call window from 10:00.
    row("call-before-pay-by", B, CALL, "2026-03-10T10:00", want("defer", "2026-03-14T10:00", PTP),
        **FRI),
    row("email-before-pay-by", B, EMAIL, "2026-03-10T10:00", want("defer", "2026-03-14T10:00", PTP),
        **FRI),
    row("sms-on-pay-by-08:30", B, SMS, "2026-03-13T08:30", want("defer", "2026-03-13T09:00", PTP),
        **FRI),
    row("sms-on-pay-by-09:00", B, SMS, "2026-03-13T09:00", ALLOW, **FRI),
    row("sms-on-pay-by-20:59", B, SMS, "2026-03-13T20:59", ALLOW, **FRI),
    row("call-on-pay-by", B, CALL, "2026-03-13T10:00", want("defer", "2026-03-14T10:00", PTP),
        **FRI),
    row("second-sms-on-pay-by", B, SMS, "2026-03-13T10:00",
        want("defer", "2026-03-14T10:00", "CN-HOUSE-SMS-1PD"),
        history=k.evs("2026-03-13T09:00", channel="sms", outcome="sms_sent", tz=k.SHA), **FRI),
    row("call-day-after", B, CALL, "2026-03-14T10:00", ALLOW, **FRI),
    row("receipt-during-promise", B, RECEIPT, "2026-03-10T10:00", ALLOW, **FRI),
    row("legal-profile-ignores-promise", B, CALL, "2026-03-10T10:00", ALLOW, collector=k.CNL,
        flags=FRI["flags"]),
    # pay_by on Sunday: PTP allows SMS from 09:00, the weekend SMS window from 10:00.
    # 51 days ahead is inside the 60-day horizon; 71 days ahead is not (SCENARIOS.md 3.7).
    row("pay-by-51-days-ahead", B, SMS, "2026-03-10T10:00", want("defer", "2026-04-30T09:00", PTP),
        **_p("2026-03-09", "2026-04-30")),
    row("pay-by-71-days-ahead", B, CALL, "2026-03-10T10:00",
        want("block", None, "NO-SLOT-WITHIN-HORIZON", PTP), **_p("2026-03-09", "2026-05-20")),
    row("sunday-pay-by-sms", B, SMS, "2026-03-10T10:00", want("defer", "2026-03-15T10:00", PTP),
        **SUN),
    row("sunday-pay-by-call-monday", B, CALL, "2026-03-10T10:00",
        want("defer", "2026-03-16T09:00", PTP), **SUN),
    # pay_by Fri 02-13; the next day 02-14 is a make-up workday (calls from 09:00).
    row("next-day-is-makeup-workday", B, CALL, "2026-02-11T10:00",
        want("defer", "2026-02-14T09:00", PTP), **_p("2026-02-10", "2026-02-13")),
    # pay_by 02-20 falls in the blackout: the courtesy SMS waits for 02-24.
    row("pay-by-inside-blackout", B, SMS, "2026-02-11T10:00",
        want("defer", "2026-02-24T08:00", PTP), **_p("2026-02-10", "2026-02-20")),
]  # fmt: skip


@pytest.mark.parametrize("case", ROWS)
def test_promise_to_pay(case):
    """Before pay_by nothing, on pay_by only SMS from 09:00, from the next day normal rules."""
    k.check(case)
