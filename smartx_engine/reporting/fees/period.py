"""Billing periods: a quarter (``2026Q3``) or a month (``2026-07``), each within one year."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import NamedTuple

from ...errors import DataError

_QUARTER = re.compile(r"(\d{4})-?[Qq]([1-4])$")
_MONTH = re.compile(r"(\d{4})-(\d{2})$")


class Period(NamedTuple):
    """A billing period: its first and last day (both billed) and its label."""

    start: dt.date
    end: dt.date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def year_days(self) -> int:
        """The days of the period's year: 366 in a leap year (the act/act denominator)."""
        return 366 if calendar.isleap(self.start.year) else 365

    @property
    def dates(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def previous(self) -> Period:
        """The period of the same kind just before: 2026Q2 for 2026Q3, 2026-06 for 2026-07."""
        return parse_period(_previous_label(self))


def parse_period(text: str) -> Period:
    """``2026Q3`` (also ``2026-Q3``, ``2026q3``) or ``2026-07``: its start, end and label."""
    text = text.strip()
    if found := _QUARTER.match(text):
        year, quarter = int(found.group(1)), int(found.group(2))
        first = 3 * quarter - 2
        start = dt.date(year, first, 1)
        end = dt.date(year, first + 2, calendar.monthrange(year, first + 2)[1])
        return Period(start, end, f"{year}Q{quarter}")
    if (found := _MONTH.match(text)) and 1 <= int(found.group(2)) <= 12:
        year, month = int(found.group(1)), int(found.group(2))
        return Period(dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1]),
                      f"{year}-{month:02d}")
    raise DataError(f"{text!r} is not a billing period: write a quarter such as 2026Q3 or a month such as 2026-07")


def _previous_label(period: Period) -> str:
    if "Q" in period.label:
        year, quarter = period.start.year, (period.start.month + 2) // 3
        return f"{year - 1}Q4" if quarter == 1 else f"{year}Q{quarter - 1}"
    before = period.start - dt.timedelta(days=1)
    return f"{before.year}-{before.month:02d}"
