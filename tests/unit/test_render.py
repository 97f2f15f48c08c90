"""Money in messages: the fast formatter must be babel's format_currency, character for
character (babel is the oracle), for every locale and currency a deployment may use."""

from __future__ import annotations

from decimal import Decimal

import babel.numbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreachd.render import money

LOCALES = ("en-US", "en-GB", "zh-CN", "de-DE", "fr-FR")  # the last two take babel's path
CURRENCIES = ("USD", "GBP", "CNY", "EUR", "JPY", "KWD")  # 2, 0 and 3 fraction digits


@given(
    amount=st.decimals(min_value=0, max_value=10**10, places=4, allow_nan=False),
    locale=st.sampled_from(LOCALES),
    currency=st.sampled_from(CURRENCIES),
)
def test_money_is_babel(amount: Decimal, locale: str, currency: str) -> None:
    expected = babel.numbers.format_currency(amount, currency, locale=locale.replace("-", "_"))
    assert money(amount, currency, locale) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "text"),
    [
        ("1280.5", "USD", "en-US", "$1,280.50"),
        ("1280.50", "GBP", "en-GB", "£1,280.50"),
        ("1280.50", "CNY", "zh-CN", "¥1,280.50"),
        ("0.125", "USD", "en-US", "$0.12"),  # half-even, as babel rounds
        ("0.135", "USD", "en-US", "$0.14"),
        ("1234567.891", "JPY", "en-US", "¥1,234,568"),
        ("-5", "USD", "en-US", "-$5.00"),  # never a balance, but babel's answer all the same
    ],
)
def test_money_examples(amount: str, currency: str, locale: str, text: str) -> None:
    assert money(amount, currency, locale) == text
