"""Phone zones: for every canonical E.164 number (the only kind a record holds), the
parse-free lookup gives exactly what phonenumbers.parse and its prefix data give."""

from __future__ import annotations

import phonenumbers
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from phonenumbers import timezone as pn_timezone

from outreachd.core import zones

CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_E164 = phonenumbers.PhoneNumberFormat.E164


def _reference(number: str) -> tuple[str, ...]:
    """The lookup with phonenumbers.parse (what number_zones did before)."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return ()
    found = pn_timezone.time_zones_for_number(parsed)
    return tuple(z for z in found if z != pn_timezone.UNKNOWN_TIMEZONE)


def _is_canonical(number: str) -> bool:
    """What sources.records requires of a number: it parses and formats back to itself."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(number, None), _E164) == number
    except phonenumbers.NumberParseException:
        return False


@settings(max_examples=4000)
@given(code=st.sampled_from(CODES), national=st.text("0123456789", min_size=2, max_size=17))
@example(code=1, national="2125550123")  # New York
@example(code=1, national="3105550123")  # Los Angeles
@example(code=1, national="8005550123")  # toll free: the whole country code's zones
@example(code=44, national="2071234567")  # London
@example(code=86, national="13800138000")  # China mobile
@example(code=39, national="0612345678")  # Italy keeps its leading 0: parsed
@example(code=1, national="12125550123")  # a trunk 1 after +1: not canonical
def test_canonical_numbers_match_the_parse(code: int, national: str) -> None:
    number = f"+{code}{national}"
    assume(_is_canonical(number))
    built = zones._canonical(number)
    assert built is None or built == phonenumbers.parse(number, None)
    zones.number_zones.cache_clear()
    assert zones.number_zones(number) == _reference(number)


def test_the_fast_path_is_taken_for_plain_numbers() -> None:
    for number in ("+12125550123", "+442071234567", "+8613800138000"):
        assert zones._canonical(number) == phonenumbers.parse(number, None)
    for number in ("+390612345678", "+1 212 555 0123", "12125550123", "+", "+0123"):
        assert zones._canonical(number) is None


def test_known_zones() -> None:
    assert zones.number_zones("+12125550123") == ("America/New_York",)
    assert zones.number_zones("+13105550123") == ("America/Los_Angeles",)
    assert zones.number_zones("+442071234567") == ("Europe/London",)
    assert zones.number_zones("+8613800138000") == ("Asia/Shanghai",)
    assert len(zones.number_zones("+18005550123")) > 5  # toll free: no single place
    assert zones.number_zones("not a number") == ()
