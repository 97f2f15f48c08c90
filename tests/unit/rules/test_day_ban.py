"""Rule kind `day_ban`: BP-NO-SUNDAY-HOLIDAY (US) and CN-HOUSE-SPRING-FESTIVAL (China).

US federal holidays 2026 (SCENARIOS.md 5.1) include the observed Friday 07-03 for Saturday
07-04; both DST dates (03-08, 11-01) are Sundays. Day bans read the P-date, never the UTC date.
China: Spring Festival blackout 2026-02-15..02-23; the 2027 fail-closed estimate of 5.3 for
lunar_new_year 2027-02-06 is 02-04..02-12 (02-13 is a Saturday). Hand-computed.
"""

from __future__ import annotations

import pytest
import rules_kit as k
from rules_kit import ALLOW, HNL, NY, row, want

NYB, HNLB = k.us("NY", NY), k.us("HI", HNL)
HNL_NY = k.borrower(
    "US", HNL, k.phone("m1", "mobile", NY, tcpa_consent=True, regf_text_ok=True), state="HI"
)
CALL, SMS, EMAIL = k.attempt("call", "m1"), k.attempt("sms", "m1"), k.attempt("email", "e1")
BP = {"profile": "best_practice"}
BAN, LAST, Q = "BP-NO-SUNDAY-HOLIDAY", "BP-CALL-LAST-DIAL", "FED-QH"

US_ROWS = [
    row("sunday-call", NYB, CALL, "2026-06-07T10:00", want("defer", "2026-06-08T08:00", BAN), **BP),
    row("sunday-sms-opens-09:00", NYB, SMS, "2026-06-07T10:00",
        want("defer", "2026-06-08T09:00", BAN), **BP),
    row("sunday-email-not-banned", NYB, EMAIL, "2026-06-07T10:00", ALLOW, **BP),
    # Calendar bans cover voicemail only where the rule lists it (SCENARIOS.md 6).
    row("sunday-voicemail-not-listed", NYB, k.attempt("voicemail", "m1"), "2026-06-07T10:00", ALLOW,
        **BP),
    row("sunday-call-legal-profile", NYB, CALL, "2026-06-07T10:00", ALLOW),
    # Observed Fri 07-03, actual Sat 07-04, then Sunday 07-05: first free day Mon 07-06.
    row("observed-07-03", NYB, CALL, "2026-07-03T10:00", want("defer", "2026-07-06T08:00", BAN),
        **BP),
    row("actual-07-04-saturday", NYB, SMS, "2026-07-04T10:00",
        want("defer", "2026-07-06T09:00", BAN), **BP),
    row("07-02-after-last-dial", NYB, CALL, "2026-07-02T20:30",
        want("defer", "2026-07-06T08:00", LAST), **BP),
    row("new-year-thu", NYB, CALL, "2026-01-01T10:00", want("defer", "2026-01-02T08:00", BAN),
        **BP),
    row("mlk-01-19", NYB, CALL, "2026-01-19T10:00", want("defer", "2026-01-20T08:00", BAN), **BP),
    row("washington-02-16", NYB, SMS, "2026-02-16T10:00", want("defer", "2026-02-17T09:00", BAN),
        **BP),
    row("sunday-before-memorial-day", NYB, CALL, "2026-05-24T10:00",
        want("defer", "2026-05-26T08:00", BAN), **BP),
    row("juneteenth-fri", NYB, CALL, "2026-06-19T10:00", want("defer", "2026-06-20T08:00", BAN),
        **BP),
    row("labor-09-07", NYB, CALL, "2026-09-07T10:00", want("defer", "2026-09-08T08:00", BAN), **BP),
    row("columbus-10-12", NYB, CALL, "2026-10-12T10:00", want("defer", "2026-10-13T08:00", BAN),
        **BP),
    row("veterans-11-11", NYB, SMS, "2026-11-11T10:00", want("defer", "2026-11-12T09:00", BAN),
        **BP),
    row("thanksgiving-11-26", NYB, CALL, "2026-11-26T10:00", want("defer", "2026-11-27T08:00", BAN),
        **BP),
    row("christmas-fri-saturday-free", NYB, CALL, "2026-12-25T10:00",
        want("defer", "2026-12-26T08:00", BAN), **BP),
    row("ordinary-saturday", NYB, CALL, "2026-06-06T10:00", ALLOW, **BP),
    # DST Sundays: Monday 08:00 EDT = 12:00Z; Monday 08:00 EST = 13:00Z.
    row("spring-forward-sunday", NYB, CALL, "2026-03-08T10:00",
        want("defer", "2026-03-09T08:00", BAN), utc="2026-03-09T12:00Z", **BP),
    row("sat-20:30-across-spring-forward", NYB, CALL, "2026-03-07T20:30",
        want("defer", "2026-03-09T08:00", LAST), utc="2026-03-09T12:00Z", **BP),
    row("fall-back-sunday", NYB, CALL, "2026-11-01T10:00", want("defer", "2026-11-02T08:00", BAN),
        utc="2026-11-02T13:00Z", **BP),
    # Saturday 15:00 HST is Sunday 01:00Z: the P-date (Saturday) decides.
    row("hnl-saturday-while-utc-sunday", HNLB, CALL, "2026-06-06T15:00", ALLOW, **BP),
    # Sunday 21:30 HST is Monday 07:30Z; banned and after hours -> Monday 08:00 HST = 18:00Z.
    row("hnl-sunday-while-utc-monday", HNLB, CALL, "2026-06-07T21:30",
        want("defer", "2026-06-08T08:00", BAN, LAST, Q), utc="2026-06-08T18:00Z", **BP),
    # Saturday 20:00 HST = Sunday 02:00 EDT: NY windows fail, the P-date is not a Sunday;
    # the next lawful instant skips Sunday in P: Monday 08:00 HST (14:00 EDT).
    row("hnl-ny-saturday-night", HNL_NY, CALL, "2026-06-06T20:00",
        want("defer", "2026-06-08T08:00", LAST, Q), utc="2026-06-08T18:00Z", **BP),
]  # fmt: skip

B = k.cn()
CN_BP = {"collector": k.CNL, "profile": "best_practice"}
Y27 = {**CN_BP, "calendars": k.CAL_2027}
CALL_CN, SMS_CN = k.attempt("call", "m1"), k.attempt("sms", "m1", tpl={"rendered_length": 60})
RECEIPT = k.attempt("sms", "m1", purpose="transactional", tpl={"cls": "receipt"})
SF, HOUSE = "CN-HOUSE-SPRING-FESTIVAL", "CN-HOUSE-WINDOW"

CN_ROWS = [
    row("chuxi-02-16-sms", B, SMS_CN, "2026-02-16T10:00", want("defer", "2026-02-24T08:00", SF),
        utc="2026-02-24T00:00Z", **CN_BP),
    row("first-day-02-15-call", B, CALL_CN, "2026-02-15T10:00",
        want("defer", "2026-02-24T09:00", SF), **CN_BP),
    # Make-up Saturday 02-14 SMS window ends 21:00; the blackout follows.
    row("makeup-02-14-sms-21:30", B, SMS_CN, "2026-02-14T21:30",
        want("defer", "2026-02-24T08:00", HOUSE), **CN_BP),
    row("last-day-02-23-23:59", B, SMS_CN, "2026-02-23T23:59",
        want("defer", "2026-02-24T08:00", SF, "CN-QUIET-HOURS"), **CN_BP),
    row("02-24-08:00-free", B, SMS_CN, "2026-02-24T08:00", ALLOW, **CN_BP),
    row("blackout-is-house-only", B, SMS_CN, "2026-02-20T10:00", ALLOW, collector=k.CNL),
    row("receipt-during-blackout-08:30", B, RECEIPT, "2026-02-16T08:30", ALLOW, **CN_BP),
    # 2027 not published: estimate 02-04..02-12, Saturdays/Sundays weekend.
    row("2027-02-05-sms", B, SMS_CN, "2027-02-05T10:00", want("defer", "2027-02-13T10:00", SF),
        utc="2027-02-13T02:00Z", **Y27),
    row("2027-02-04-call-first-day", B, CALL_CN, "2027-02-04T10:00",
        want("defer", "2027-02-13T10:00", SF), **Y27),
    row("2027-02-12-call-last-day", B, CALL_CN, "2027-02-12T10:00",
        want("defer", "2027-02-13T10:00", SF), **Y27),
    row("2027-02-03-call-workday", B, CALL_CN, "2027-02-03T10:00", ALLOW, **Y27),
    row("2027-02-03-call-20:30", B, CALL_CN, "2027-02-03T20:30",
        want("defer", "2027-02-13T10:00", HOUSE), **Y27),
    row("2027-02-13-sms-09:00-weekend", B, SMS_CN, "2027-02-13T09:00",
        want("defer", "2027-02-13T10:00", HOUSE), **Y27),
    row("2027-blackout-legal", B, SMS_CN, "2027-02-05T10:00", ALLOW, collector=k.CNL,
        calendars=k.CAL_2027),
]  # fmt: skip


@pytest.mark.parametrize("case", US_ROWS)
def test_us_sunday_and_federal_holidays(case):
    """BP-NO-SUNDAY-HOLIDAY bans calls and SMS on P-date Sundays and federal holidays."""
    k.check(case)


@pytest.mark.parametrize("case", CN_ROWS)
def test_cn_spring_festival_blackout(case):
    """CN-HOUSE-SPRING-FESTIVAL stops collection on blackout dates, estimated for 2027."""
    k.check(case)
