from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartx_engine.fixedpoint import MONEY, PRICE, QUANTITY, round_money, to_decimal


def test_money_is_stored_as_integer_cents():
    assert MONEY.to_int(Decimal("1234.56")) == 123456
    assert MONEY.to_decimal(123456) == Decimal("1234.56")


def test_quantities_keep_six_decimals():
    assert QUANTITY.to_int(Decimal("20.5")) == 20_500_000
    assert QUANTITY.to_decimal(1) == Decimal("0.000001")


@pytest.mark.parametrize("text", ["1.001", "0.005"])
def test_more_decimals_than_the_scale_are_rejected_not_rounded(text):
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        MONEY.parse(text)


@pytest.mark.parametrize("text", ["abc", "1e3", "NaN", "Infinity", ""])
def test_non_numbers_are_rejected(text):
    with pytest.raises(ValueError):
        PRICE.parse(text)


def test_floats_never_become_money():
    with pytest.raises(TypeError):
        to_decimal(0.1)


def test_round_money_is_half_even():
    assert round_money(Decimal("39212.475")) == Decimal("39212.48")
    assert round_money(Decimal("0.125")) == Decimal("0.12")
    assert round_money(Decimal("-0.135")) == Decimal("-0.14")


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_integer_round_trip_is_exact(units):
    for scale in (MONEY, QUANTITY, PRICE):
        assert scale.to_int(scale.to_decimal(units)) == units
        assert scale.to_int(scale.parse(str(scale.to_decimal(units)))) == units
