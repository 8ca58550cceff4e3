"""How the client report writes numbers and dates (display only; the values stay exact).

Money has thousands separators and 2 decimals (``$1,234,567.89``); percentages 2 decimals
(``1.23%``); a negative number starts with a minus sign (U+2212, ``−$1,234.00``), which the
template also colours; a return that is not available is ``n/a``. Quantities drop trailing
zeros (``1,250.5``), prices keep at least 2 decimals.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

MINUS = "\u2212"
NOT_AVAILABLE = "n/a"
_CENT = Decimal("0.01")


def _signed(text: str, negative: bool, plus: bool) -> str:
    if negative:
        return MINUS + text
    return ("+" + text) if plus else text


def money(value: Decimal | None, *, plus: bool = False, cents: bool = True) -> str:
    """``$1,234.50``; ``−$1,234.50`` when negative; ``+$1,234.50`` with ``plus``."""
    if value is None:
        return NOT_AVAILABLE
    rounded = Decimal(value).quantize(_CENT if cents else Decimal(1), rounding=ROUND_HALF_EVEN)
    text = f"${abs(rounded):,.2f}" if cents else f"${abs(rounded):,.0f}"
    return _signed(text, rounded < 0, plus and rounded > 0)


def percent(value: float | Decimal | None, *, plus: bool = False) -> str:
    """A ratio as a percentage with 2 decimals: ``0.0123`` → ``1.23%``; ``None`` → ``n/a``."""
    if value is None:
        return NOT_AVAILABLE
    rounded = Decimal(repr(value) if isinstance(value, float) else value).scaleb(2).quantize(
        _CENT, rounding=ROUND_HALF_EVEN)
    if rounded == 0:
        rounded = abs(rounded)  # no "−0.00%"
    return _signed(f"{abs(rounded):,.2f}%", rounded < 0, plus and rounded > 0)


def quantity(value: Decimal) -> str:
    """``1250.500000`` → ``1,250.5``."""
    value = Decimal(value)
    text = f"{abs(value):,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return _signed(text, value < 0, False)


def price(value: Decimal) -> str:
    """At least 2 decimals: ``312.4`` → ``312.40``, ``0.123456`` → ``0.123456``."""
    value = Decimal(value).normalize()
    places = max(2, -value.as_tuple().exponent if value.as_tuple().exponent < 0 else 0)
    return f"{value:,.{places}f}"


def is_negative(value: Decimal | float | None) -> bool:
    return value is not None and value < 0


def long_date(day: dt.date) -> str:
    """``September 30, 2026``."""
    return f"{day:%B} {day.day}, {day.year}"


def short_date(day: dt.date) -> str:
    """``Sep 30, 2026``."""
    return f"{day:%b} {day.day}, {day.year}"


def period_range(start: dt.date, end: dt.date) -> str:
    """``July 1 – September 30, 2026`` (the year once when both dates share it)."""
    if start.year == end.year:
        return f"{start:%B} {start.day} \u2013 {long_date(end)}"
    return f"{long_date(start)} \u2013 {long_date(end)}"


def label(text: str) -> str:
    """An identifier-like name for display: ``us_equity`` → ``US equity``, ``bonds`` → ``Bonds``."""
    words = text.replace("_", " ").split()
    known = {"us": "US", "intl": "Intl", "em": "EM", "reit": "REIT", "reits": "REITs", "tips": "TIPS",
             "esg": "ESG", "ira": "IRA", "sep": "SEP", "hsa": "HSA", "401k": "401(k)", "403b": "403(b)"}
    shown = [known.get(w.lower(), w) for w in words]
    if shown and shown[0] == words[0]:
        shown[0] = shown[0][:1].upper() + shown[0][1:]
    return " ".join(shown)


FILTERS = {
    "money": money, "percent": percent, "quantity": quantity, "price": price, "long_date": long_date,
    "short_date": short_date, "label": label,
}
