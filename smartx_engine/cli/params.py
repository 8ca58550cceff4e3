"""Click parameter types for exact values: money and quantities as Decimal, never float."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from ..fixedpoint import MONEY, QUANTITY, Scale


class Exact(click.ParamType):
    """A positive decimal with at most the scale's decimals (more is refused, never rounded)."""

    def __init__(self, scale: Scale, name: str) -> None:
        self.scale, self.name = scale, name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            number = self.scale.parse(str(value).replace(",", ""))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if number <= 0:
            self.fail(f"expected a positive {self.name}, got {value}", param, ctx)
        return number


USD = Exact(MONEY, "amount in USD")
SHARES = Exact(QUANTITY, "quantity")
