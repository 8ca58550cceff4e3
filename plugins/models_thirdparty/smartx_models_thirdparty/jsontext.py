"""JSON text with exact numbers: every number read as a ``Decimal``, every ``Decimal`` written as its digits."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_NUMBER = re.compile(r'"\\u0000([^"]*)"')


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def loads(text: str | bytes) -> Any:
    """Parse JSON; numbers become Decimal (never float); NaN and Infinity are refused (ValueError)."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant)


def dumps(value: Any) -> bytes:
    """JSON with each Decimal written as a plain number (its exact digits)."""
    def default(item: Any) -> Any:
        if isinstance(item, Decimal) and item.is_finite():
            return "\u0000" + format(item, "f")
        raise TypeError(f"cannot write {item!r} as JSON")

    return _NUMBER.sub(r"\1", json.dumps(value, default=default)).encode()
