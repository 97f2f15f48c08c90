"""Rule kind `window` (US/UK): quiet hours, multi-zone intersection, state and house windows.

Expected values are hand-computed from SCENARIOS.md 3.3-3.5 and 7.1-7.4; DST 2026: US 03-08
and 11-01, UK 03-29 and 10-25; Phoenix (MST, UTC-7) and Honolulu (HST, UTC-10) never change.
"""

from __future__ import annotations

import pytest
import rules_kit as k
from rules_kit import ALLOW, HNL, LA, LON, NY, PHX, row, want

NYB = k.us("NY", NY)
LAB = k.us("CA", LA)
HNLB = k.us("HI", HNL)
# Address in Phoenix, mobile area code in Los Angeles: Z = {Phoenix, LA}, P = Phoenix.
PHX_LA = k.borrower(
    "US", PHX, k.phone("m1", "mobile", LA, tcpa_consent=True, regf_text_ok=True), state="AZ"
)
# Address in Honolulu, mobile area code in New York: Z = {Honolulu, NY}, P = Honolulu.
HNL_NY = k.borrower(
    "US", HNL, k.phone("m1", "mobile", NY, tcpa_consent=True, regf_text_ok=True), state="HI"
)
# Address in California, mobile area code in New York (US-S06 shape): P = LA.
LA_NY = k.borrower(
    "US", LA, k.phone("m1", "mobile", NY, tcpa_consent=True, regf_text_ok=True), state="CA"
)
# Confirmed location overrides every phone zone: Z = {LA}, P = LA.
NY_AT_LA = k.us("NY", NY, confirmed=LA)
NY_SPOUSE_LA = k.us("NY", NY, k.phone("s9", "mobile", LA, owner="spouse"))
UKB = k.uk()
UK_PARIS = k.borrower("UK", LON, k.phone("m1", "mobile", "Europe/Paris"))
CALL, SMS, EMAIL, VM = (
    k.attempt("call", "m1"),
    k.attempt("sms", "m1"),
    k.attempt("email", "e1"),
    k.attempt("voicemail", "m1"),
)
Q = "FED-QH"

FED_QH_ROWS = [
    row("ny-07:59:59-half-open", NYB, CALL, "2026-06-02T07:59:59",
        want("defer", "2026-06-02T08:00", Q), utc="2026-06-02T12:00Z"),
    row("ny-08:00-inside", NYB, CALL, "2026-06-02T08:00", ALLOW),
    row("ny-20:59:59-inside", NYB, CALL, "2026-06-02T20:59:59", ALLOW),
    row("ny-21:00-next-morning", NYB, CALL, "2026-06-02T21:00",
        want("defer", "2026-06-03T08:00", Q), utc="2026-06-03T12:00Z"),
    # 11:30Z on 03-08 is 07:30 EDT (a stale EST offset would say 06:30).
    row("ny-spring-11:30Z=07:30EDT", NYB, CALL, "2026-03-08T11:30Z",
        want("defer", "2026-03-08T08:00", Q), utc="2026-03-08T12:00Z"),
    row("ny-spring-12:30Z=08:30EDT", NYB, CALL, "2026-03-08T12:30Z", ALLOW),
    # Fall back: 12:15Z = 07:15 EST -> 08:00 EST = 13:00Z.
    row("ny-fall-12:15Z=07:15EST", NYB, CALL, "2026-11-01T12:15Z",
        want("defer", "2026-11-01T08:00", Q), utc="2026-11-01T13:00Z"),
    # 10-31 21:30 EDT; the night spans the change, 08:00 EST = 13:00Z.
    row("ny-fall-night-across-change", NYB, SMS, "2026-11-01T01:30Z",
        want("defer", "2026-11-01T08:00", Q), utc="2026-11-01T13:00Z"),
    row("la-spring-14:30Z=07:30PDT", LAB, CALL, "2026-03-08T14:30Z",
        want("defer", "2026-03-08T08:00", Q), utc="2026-03-08T15:00Z"),
    row("la-spring-15:30Z=08:30PDT", LAB, CALL, "2026-03-08T15:30Z", ALLOW),
    row("la-fall-15:15Z=07:15PST", LAB, EMAIL, "2026-11-01T15:15Z",
        want("defer", "2026-11-01T08:00", Q), utc="2026-11-01T16:00Z"),
    # 10:30 EST = 07:30 PST; first instant inside both: 08:00 PST = 11:00 EST.
    row("la-address-ny-phone-winter", LA_NY, CALL, "2026-01-13T10:30",
        want("defer", "2026-01-13T08:00", Q), tz=NY, utc="2026-01-13T16:00Z"),
    # Phoenix+LA: winter window 09:00-21:00 MST (LA is an hour behind); summer 08:00-21:00.
    row("phx-la-winter-08:30MST", PHX_LA, CALL, "2026-01-13T08:30",
        want("defer", "2026-01-13T09:00", Q), utc="2026-01-13T16:00Z"),
    row("phx-la-summer-08:30MST", PHX_LA, CALL, "2026-06-02T08:30", ALLOW),
    row("phx-la-03-07-still-PST", PHX_LA, SMS, "2026-03-07T08:30",
        want("defer", "2026-03-07T09:00", Q), utc="2026-03-07T16:00Z"),
    row("phx-la-03-08-now-PDT", PHX_LA, SMS, "2026-03-08T08:30", ALLOW),
    row("phx-la-11-01-back-to-PST", PHX_LA, CALL, "2026-11-01T08:30",
        want("defer", "2026-11-01T09:00", Q), utc="2026-11-01T16:00Z"),
    row("hnl-07:59", HNLB, CALL, "2026-03-08T07:59", want("defer", "2026-03-08T08:00", Q),
        utc="2026-03-08T18:00Z"),
    # Honolulu+NY: summer window 08:00-15:00 HST (21:00 EDT), winter 08:00-16:00 HST.
    row("hnl-ny-summer-15:30HST", HNL_NY, CALL, "2026-06-02T15:30",
        want("defer", "2026-06-03T08:00", Q), utc="2026-06-03T18:00Z"),
    row("hnl-ny-winter-15:30HST", HNL_NY, CALL, "2026-01-13T15:30", ALLOW),
    row("hnl-ny-10-31-15:30=21:30EDT", HNL_NY, CALL, "2026-10-31T15:30",
        want("defer", "2026-11-01T08:00", Q), utc="2026-11-01T18:00Z"),
    row("hnl-ny-11-01-15:30=20:30EST", HNL_NY, CALL, "2026-11-01T15:30", ALLOW),
    # Only phones owned by the borrower add candidate zones: the spouse's LA phone does not.
    row("spouse-phone-zone-not-a-candidate", NY_SPOUSE_LA, CALL, "2026-06-02T10:30", ALLOW),
    # Confirmed location LA: 10:30 EDT = 07:30 PDT; NY zones no longer count.
    row("confirmed-la-07:30PDT", NY_AT_LA, CALL, "2026-06-02T10:30",
        want("defer", "2026-06-02T08:00", Q), tz=NY, utc="2026-06-02T15:00Z"),
    row("confirmed-la-23:30EDT=20:30PDT", NY_AT_LA, CALL, "2026-06-02T23:30", ALLOW, tz=NY),
]  # fmt: skip

UK = {"collector": k.UKF}
UK_QH_ROWS = [
    # 06:30Z on 03-29 = 07:30 BST -> 08:00 BST = 07:00Z.
    row("lon-spring-06:30Z=07:30BST", UKB, CALL, "2026-03-29T06:30Z",
        want("defer", "2026-03-29T08:00", "UK-QH"), utc="2026-03-29T07:00Z", **UK),
    row("lon-spring-07:30Z=08:30BST", UKB, CALL, "2026-03-29T07:30Z", ALLOW, **UK),
    # 10-24 21:30 BST; next morning is GMT: 08:00 GMT = 08:00Z.
    row("lon-fall-night-across-change", UKB, SMS, "2026-10-24T20:30Z",
        want("defer", "2026-10-25T08:00", "UK-QH"), utc="2026-10-25T08:00Z", **UK),
    row("lon-fall-07:30Z=07:30GMT", UKB, EMAIL, "2026-10-25T07:30Z",
        want("defer", "2026-10-25T08:00", "UK-QH"), utc="2026-10-25T08:00Z", **UK),
    row("lon-fall-20:59Z=20:59GMT", UKB, SMS, "2026-10-25T20:59Z", ALLOW, **UK),
    # London 20:30 BST = 21:30 CEST in Paris (a candidate zone) -> 08:00 BST next day.
    row("lon-paris-phone-intersection", UK_PARIS, CALL, "2026-06-02T20:30",
        want("defer", "2026-06-03T08:00", "UK-QH"), utc="2026-06-03T07:00Z", **UK),
    # SCENARIOS 7.3 lists call, SMS, e-mail for UK-QH, but CONC 7.9.4R bars any contact at an
    # unreasonable time: the pack holds voicemail drops to the same hours (contacts less).
    row("lon-voicemail-held-to-uk-qh", UKB, VM, "2026-06-02T07:00",
        want("defer", "2026-06-02T08:00", "UK-QH"), utc="2026-06-02T07:00Z", **UK),
]  # fmt: skip

MAB, WAB = k.us("MA", NY), k.us("WA", LA)
FP, BP = {"collector": k.FIRST}, {"profile": "best_practice"}
NY_LA_PHONE = k.us("NY", NY, k.phone("m9", "mobile", LA, tcpa_consent=True, regf_text_ok=True))
STATE_HOUSE_ROWS = [
    # First-party creditor: no FED-QH, so MA-QH alone shapes the call.
    row("ma-first-party-call-07:30", MAB, CALL, "2026-06-02T07:30",
        want("defer", "2026-06-02T08:00", "MA-QH"), **FP),
    row("ma-first-party-email-07:30", MAB, EMAIL, "2026-06-02T07:30", ALLOW, **FP),
    row("ma-first-party-sms-21:00", MAB, SMS, "2026-06-02T21:00",
        want("defer", "2026-06-03T08:00", "MA-QH"), **FP),
    row("ma-collector-call-07:30", MAB, CALL, "2026-06-02T07:30",
        want("defer", "2026-06-02T08:00", Q, "MA-QH")),
    row("wa-call-07:15", WAB, CALL, "2026-06-02T07:15",
        want("defer", "2026-06-02T08:00", Q, "WA-QH-RESIDENCE")),
    # 07:45 is inside WA [07:30, 21:00) but not inside FED-QH.
    row("wa-call-07:45", WAB, CALL, "2026-06-02T07:45", want("defer", "2026-06-02T08:00", Q)),
    row("wa-sms-07:15-calls-only", WAB, SMS, "2026-06-02T07:15",
        want("defer", "2026-06-02T08:00", Q)),
    row("wa-call-21:00", WAB, CALL, "2026-06-02T21:00",
        want("defer", "2026-06-03T08:00", Q, "WA-QH-RESIDENCE")),
    row("bp-call-20:29", NYB, CALL, "2026-06-02T20:29", ALLOW, **BP),
    row("bp-call-20:30", NYB, CALL, "2026-06-02T20:30",
        want("defer", "2026-06-03T08:00", "BP-CALL-LAST-DIAL"), **BP),
    row("bp-voicemail-20:45-not-listed", NYB, VM, "2026-06-02T20:45", ALLOW, **BP),
    row("bp-email-20:30", NYB, EMAIL, "2026-06-02T20:30", ALLOW, **BP),
    row("bp-sms-08:30", NYB, SMS, "2026-06-02T08:30",
        want("defer", "2026-06-02T09:00", "BP-SMS-WINDOW"), **BP),
    row("bp-sms-20:00", NYB, SMS, "2026-06-02T20:00",
        want("defer", "2026-06-03T09:00", "BP-SMS-WINDOW"), **BP),
    # 11:00 EDT = 08:00 PDT: FED-QH holds in LA, the SMS window opens at 09:00 PDT = 12:00 EDT.
    row("bp-sms-ny-la-intersection", NY_LA_PHONE, SMS, "2026-06-02T11:00",
        want("defer", "2026-06-02T12:00", "BP-SMS-WINDOW"), **BP),
    # Winter Phoenix+LA: 20:15 MST = 19:15 PST, inside every window.
    row("bp-phx-la-winter-20:15", PHX_LA, CALL, "2026-01-13T20:15", ALLOW, **BP),
    # Winter: SMS window [09:00, 20:00) PST = [10:00, 21:00) MST, intersected: 10:00-20:00 MST.
    row("bp-phx-la-winter-sms-09:30", PHX_LA, SMS, "2026-01-13T09:30",
        want("defer", "2026-01-13T10:00", "BP-SMS-WINDOW"), utc="2026-01-13T17:00Z", **BP),
    # 20:45 MST = 19:45 PST in winter: past the last dial in Phoenix -> 09:00 MST next day.
    row("bp-phx-la-winter-20:45", PHX_LA, CALL, "2026-01-13T20:45",
        want("defer", "2026-01-14T09:00", "BP-CALL-LAST-DIAL"), utc="2026-01-14T16:00Z", **BP),
]  # fmt: skip


@pytest.mark.parametrize("case", FED_QH_ROWS)
def test_fed_qh_in_every_candidate_zone(case):
    """FED-QH holds [08:00, 21:00) in every candidate zone, through DST, deferring exactly."""
    k.check(case)


@pytest.mark.parametrize("case", UK_QH_ROWS)
def test_uk_qh_london_clock_changes(case):
    """UK-QH follows the London clock across 2026-03-29 and 2026-10-25 in every candidate zone."""
    k.check(case)


@pytest.mark.parametrize("case", STATE_HOUSE_ROWS)
def test_state_and_best_practice_windows(case):
    """MA-QH, WA-QH-RESIDENCE, BP-CALL-LAST-DIAL and BP-SMS-WINDOW cover only their channels."""
    k.check(case)
