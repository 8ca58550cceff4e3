"""Exact money and quantities: Decimal in code, scaled integers in the store.

Conventions (also in docs/conventions.md):

- money (cash, cost basis, amounts): USD with 2 decimals, stored as integer cents;
- quantities (shares, units): 6 decimals, stored as integer millionths;
- unit prices: 6 decimals, stored as integer millionths of a dollar;
- model weights: fractions with up to 10 decimals, stored as exact decimal text;
- a value with more decimals than its scale allows is rejected, never silently rounded;
- computed money (quantity x price) is rounded half-even to the cent by :func:`round_money`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation
from fractions import Fraction

import attrs


@attrs.frozen
class Scale:
    """A fixed number of decimal places and its integer representation."""

    name: str
    places: int

    @property
    def unit(self) -> Decimal:
        return Decimal(1).scaleb(-self.places)

    def parse(self, text: str) -> Decimal:
        """Parse ``text`` as a plain decimal number with at most ``places`` decimals."""
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            raise ValueError(f"expected a number, got {text!r}") from None
        if not value.is_finite() or "e" in text.lower():
            raise ValueError(f"expected a plain decimal number, got {text!r}")
        self.check(value)
        return value

    def check(self, value: Decimal) -> Decimal:
        """Return ``value`` if it fits the scale exactly, else raise ValueError."""
        if value != value.quantize(self.unit, rounding=ROUND_HALF_EVEN):
            raise ValueError(
                f"{value} has more than {self.places} decimal places, the precision of a {self.name}"
            )
        return value

    def to_int(self, value: Decimal) -> int:
        """The exact integer count of units in ``value``."""
        return int(self.check(value).scaleb(self.places))

    def to_decimal(self, units: int) -> Decimal:
        """The Decimal value of an integer count of units."""
        return Decimal(units).scaleb(-self.places).quantize(self.unit)


MONEY = Scale("money amount", 2)
QUANTITY = Scale("quantity", 6)
PRICE = Scale("price", 6)
WEIGHT = Scale("weight", 10)
CENT = MONEY.unit


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded down to a whole number of ``step`` (a share step: 1, 0.01 ...)."""
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def apportion(total: Decimal, shares: Sequence[Decimal | Fraction], unit: Decimal) -> list[Decimal]:
    """``total`` split in proportion to ``shares`` in whole ``unit``s, adding up to ``total`` exactly.

    Largest remainder: each part first gets ``floor(total x share / sum of shares)`` units, then
    the units left over go one each to the largest remainders, ties to the earlier part. Computed
    exactly (fractions); shares are 0 or more with a positive sum, ``total`` a multiple of ``unit``.
    """
    whole = sum((Fraction(s) for s in shares), Fraction(0))
    if whole <= 0 or any(s < 0 for s in shares):
        raise ValueError("apportion needs shares of 0 or more with a positive sum")
    exact = [Fraction(total) * Fraction(s) / whole / Fraction(unit) for s in shares]
    units = [math.floor(x) for x in exact]
    left = int(Fraction(total) / Fraction(unit)) - sum(units)
    for i in sorted(range(len(exact)), key=lambda i: (-(exact[i] - units[i]), i))[:left]:
        units[i] += 1
    return [(u * unit).quantize(unit) for u in units]


def round_money(value: Decimal) -> Decimal:
    """Round a computed amount half-even to the cent (banker's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Accept Decimal, int or a decimal string (never a float) as a Decimal."""
    if isinstance(value, float):
        raise TypeError("money and quantities are never floats; pass a Decimal or a string")
    return value if isinstance(value, Decimal) else Decimal(value)
