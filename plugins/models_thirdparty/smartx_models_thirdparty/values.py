"""Field values shared by the CSV files and the JSON notices: weights, timestamps, enumerations.

Each parser returns the value or raises :class:`smartx_engine.csvfiles.ParseError` (a
``ValueError`` with an optional hint), so that :meth:`smartx_engine.CsvRow.get` and the JSON
reader locate the problem the same way.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from smartx_engine import ChangeType, IdentifierType, LineAction
from smartx_engine.csvfiles import ParseError

E = TypeVar("E", bound=enum.StrEnum)

WEIGHT_PLACES = 10  # the engine keeps model weights with up to 10 decimals
CASH_IDENTIFIER = "USD"
CASH_TICKER = "$CASH"


def check_weight(value: Decimal) -> Decimal:
    """``value`` if it is a finite number with at most 10 decimals, else ParseError."""
    if not value.is_finite():
        raise ParseError(f"{value} is not a number")
    if value != value.quantize(Decimal(1).scaleb(-WEIGHT_PLACES)):
        raise ParseError(f"{value} has more than {WEIGHT_PLACES} decimal places",
                         hint="weights are fractions with at most 10 decimals, e.g. 0.4200 for 42%")
    return value


def weight(text: str) -> Decimal:
    """A weight written as a plain decimal fraction (``0.42``), at most 10 decimals."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ParseError(f"{text!r} is not a number", hint="write weights as fractions, e.g. 0.4200 for 42%") from None
    if "e" in text.lower() or not value.is_finite():
        raise ParseError(f"{text!r} is not a plain decimal number", hint="write weights as fractions, e.g. 0.4200")
    return check_weight(value)


def timestamp(text: str) -> dt.datetime:
    """An ISO 8601 timestamp with a time zone, as UTC."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ParseError(f"{text!r} is not a timestamp", hint="e.g. 2024-01-15T22:05:00Z") from None
    if value.tzinfo is None:
        raise ParseError(f"{text!r} has no time zone", hint="e.g. 2024-01-15T22:05:00Z")
    return value.astimezone(dt.timezone.utc)


def timestamp_text(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def choice(enum_type: type[E], what: str, allowed: Iterable[E] | None = None) -> Callable[[str], E]:
    """A parser for one of ``allowed`` (default: every member) of an upper-case enumeration."""
    allowed = tuple(enum_type if allowed is None else allowed)

    def parse(text: str) -> E:
        for member in allowed:
            if text.upper() == member.value:
                return member
        raise ParseError(f"unknown {what} {text!r}", hint="one of: " + ", ".join(m.value for m in allowed))

    return parse


identifier_type = choice(IdentifierType, "identifier_type")
change_type = choice(ChangeType, "change_type")
delta_action = choice(LineAction, "action", (LineAction.ADD, LineAction.UPDATE, LineAction.REMOVE))


def weight_text(value: Decimal) -> str:
    """A weight as plain decimal text (never an exponent)."""
    return format(value, "f")
