"""Daily valuations of sleeves over a date range: what performance, fees and reports read.

A :class:`History` covers every calendar day from ``start`` to ``end`` (weekends and holidays
included: they carry the last close forward). Its figures are end of day, in integer cents,
per sleeve: the market value (securities at the day's close, or the last close before it, plus
cash), the cash, the external flows (deposits +, withdrawals -), the fees charged (negative) and
the income received (dividends) that day, and each security's value. ``opening_cents`` is the
value at the end of the day before ``start``. Accounts and households are sums of their sleeves'
rows (:meth:`History.rows`). A history built from the store also has the shares held and the
closes used, so that a day's book can be rebuilt (:mod:`.drift`).
"""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    array.setflags(write=False)
    return array


@attrs.frozen
class SleeveInfo:
    """Who a sleeve of a history belongs to, and what it follows (on ``end``)."""

    sleeve_id: str
    account_id: str
    household_id: str
    registration: str
    model_id: str | None = None  # the sleeve's model; None for a blend, a custom target or none
    manager: str | None = None  # its model's manager, when known
    target_kind: str | None = None  # model, blend or custom; None without a target


@attrs.frozen
class History:
    """End-of-day figures per sleeve (rows) and calendar day (columns), in integer cents."""

    start: dt.date
    end: dt.date
    sleeves: tuple[SleeveInfo, ...] = attrs.field(converter=tuple)
    symbols: tuple[str, ...] = attrs.field(converter=tuple)
    opening_cents: np.ndarray = attrs.field(converter=_read_only)  # [sleeve]: end of the day before start
    value_cents: np.ndarray = attrs.field(converter=_read_only)  # [sleeve, day]: securities + cash
    cash_cents: np.ndarray = attrs.field(converter=_read_only)  # [sleeve, day]
    flow_cents: np.ndarray = attrs.field(converter=_read_only)  # [sleeve, day]: deposits +, withdrawals -
    fee_cents: np.ndarray = attrs.field(converter=_read_only)  # [sleeve, day]: fees charged, negative
    income_cents: np.ndarray = attrs.field(converter=_read_only)  # [sleeve, day]: dividends received
    holding_cents: np.ndarray = attrs.field(converter=_read_only)  # [sleeve, symbol, day]: each security's value
    quantity_e6: np.ndarray | None = attrs.field(default=None)  # [sleeve, symbol, day]: shares, millionths
    close_e6: np.ndarray | None = attrs.field(default=None)  # [symbol, day]: the close used, millionths

    def __attrs_post_init__(self) -> None:
        days, n = self.days, len(self.sleeves)
        for name in ("value_cents", "cash_cents", "flow_cents", "fee_cents", "income_cents"):
            if getattr(self, name).shape != (n, days):
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, not {(n, days)}")
        if self.opening_cents.shape != (n,) or self.holding_cents.shape != (n, len(self.symbols), days):
            raise ValueError("opening_cents or holding_cents has the wrong shape")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def dates(self) -> list[dt.date]:
        """Every calendar day from start to end."""
        return [self.start + dt.timedelta(days=i) for i in range(self.days)]

    def day(self, date: dt.date) -> int:
        """The column of ``date`` (ValueError outside the history)."""
        index = (date - self.start).days
        if not 0 <= index < self.days:
            raise ValueError(f"{date} is outside the history ({self.start} to {self.end})")
        return index

    def rows(self, *, sleeve_id: str | None = None, account_id: str | None = None,
             household_id: str | None = None) -> np.ndarray:
        """The row indices of one sleeve, the sleeves of one account, or of one household."""
        return np.array([i for i, s in enumerate(self.sleeves)
                         if sleeve_id in (None, s.sleeve_id) and account_id in (None, s.account_id)
                         and household_id in (None, s.household_id)], dtype=np.intp)
