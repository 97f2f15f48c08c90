"""Candidate time zones and the primary zone of a borrower (SCENARIOS.md 2.2, FED-TZ).

Z = {confirmed location} when the borrower told us where she is, otherwise the residence
zone(s) plus the zone of every phone she owns. An unknown residence location contributes every
zone of the country (FED-TZ-UNKNOWN: contact only when lawful everywhere it could be).
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as pn_timezone

from outreachd.core.model import Borrower, Country, Owner, Phone

COUNTRY_ZONES: dict[Country, tuple[str, ...]] = {
    Country.US: (
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Phoenix",
        "America/Los_Angeles",
        "America/Anchorage",
        "America/Adak",
        "Pacific/Honolulu",
        "America/Puerto_Rico",
        "Pacific/Guam",
        "Pacific/Pago_Pago",
    ),
    Country.UK: ("Europe/London",),
    Country.CN: ("Asia/Shanghai",),
}

_ET, _CT, _MT, _PT = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"
# States that span several zones list all of them; the first is the most populous.
STATE_ZONES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        [
            "CT",
            "DE",
            "DC",
            "GA",
            "ME",
            "MD",
            "MA",
            "NH",
            "NJ",
            "NY",
            "NC",
            "OH",
            "PA",
            "RI",
            "SC",
            "VT",
            "VA",
            "WV",
        ],
        (_ET,),
    ),
    **dict.fromkeys(["AL", "AR", "IL", "IA", "LA", "MN", "MS", "MO", "OK", "WI"], (_CT,)),
    **dict.fromkeys(["CO", "MT", "NM", "UT", "WY"], (_MT,)),
    **dict.fromkeys(["CA", "NV", "WA"], (_PT,)),
    "FL": (_ET, _CT),
    "IN": ("America/Indiana/Indianapolis", _CT),
    "KY": (_ET, _CT),
    "MI": ("America/Detroit", "America/Menominee"),
    "TN": (_CT, _ET),
    "KS": (_CT, _MT),
    "NE": (_CT, _MT),
    "ND": (_CT, _MT),
    "SD": (_CT, _MT),
    "TX": (_CT, _MT),
    "ID": ("America/Boise", _PT),
    "OR": (_PT, "America/Boise"),
    "AZ": ("America/Phoenix", _MT),
    "AK": ("America/Anchorage", "America/Adak"),
    "HI": ("Pacific/Honolulu",),
    "PR": ("America/Puerto_Rico",),
    "GU": ("Pacific/Guam",),
    "AS": ("Pacific/Pago_Pago",),
    "VI": ("America/St_Thomas",),
    "MP": ("Pacific/Saipan",),
}


def phone_zones(phone: Phone) -> tuple[str, ...]:
    """The zones a phone number indicates: its stated zone, else phonenumbers' prefix data
    (looked up already when the phone carries them)."""
    if phone.tz:
        return (phone.tz,)
    if phone.number_zones is not None:
        return phone.number_zones
    return number_zones(phone.number) if phone.number else ()


@lru_cache(maxsize=65536)
def number_zones(number: str) -> tuple[str, ...]:
    """The zones phonenumbers' prefix data gives for an E.164 number (memoised: pure).
    Every number a record holds is canonical E.164 (sources.records rejects any other); for
    those, the number is built without phonenumbers.parse, which is half the lookup's cost,
    and is exactly what the parse gives (tests/unit/test_zones.py)."""
    parsed = _canonical(number)
    if parsed is None:
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            return ()
    zones = pn_timezone.time_zones_for_number(parsed)
    return tuple(z for z in zones if z != pn_timezone.UNKNOWN_TIMEZONE)


def _canonical(number: str) -> phonenumbers.PhoneNumber | None:
    """The PhoneNumber of `+<country code><national number>` with no leading 0, built
    directly; None for anything else (parsed instead). Country calling codes are prefix-free
    (ITU-T E.164), so the first 1-3 digits that are one are the code. For a number that is
    not canonical (say +1 followed by a trunk prefix 1) the parse may strip digits where this
    does not; records never hold such numbers."""
    if number[:1] != "+" or not number[1:].isdigit() or number[1] == "0":
        return None
    for digits in (1, 2, 3):
        code = int(number[1 : 1 + digits])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = number[1 + digits :]
            if not 2 <= len(national) <= 17 or national[0] == "0":
                return None
            return phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return None


def residence_zones(borrower: Borrower) -> tuple[str, ...]:
    """The zones the residence indicates: explicit zone, else its state, else the country."""
    res = borrower.residence
    if res.tz:
        return (res.tz,)
    if res.state and res.state in STATE_ZONES:
        return STATE_ZONES[res.state]
    return COUNTRY_ZONES[res.country]


def primary_zone(borrower: Borrower) -> str:
    """P: the confirmed location, else the residence zone (first candidate if ambiguous)."""
    return borrower.confirmed_location_tz or residence_zones(borrower)[0]


def candidate_zones(borrower: Borrower) -> tuple[str, ...]:
    """Z: every zone the borrower may be in, sorted; the confirmed location overrides."""
    if borrower.confirmed_location_tz:
        return (borrower.confirmed_location_tz,)
    zones = set(residence_zones(borrower))
    for phone in borrower.phones:
        if phone.owner is Owner.BORROWER:
            zones.update(phone_zones(phone))
    return tuple(sorted(zones))
