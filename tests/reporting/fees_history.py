"""Building small Histories by hand for the fee tests: a few sleeves, values set per day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import attrs
import numpy as np

from smartx_engine.reporting.history import History, SleeveInfo

D = dt.date


@attrs.frozen
class Sleeve:
    """One sleeve's figures: ``value`` in USD cents, one number for every day or a list."""

    sleeve_id: str
    account_id: str
    household_id: str = "HH-1"
    value: int | Sequence[int] = 0
    holdings: Mapping[str, int | Sequence[int]] = attrs.field(factory=dict)  # symbol -> cents per day
    flows: Mapping[dt.date, int] = attrs.field(factory=dict)  # date -> cents (deposits +)
    opening: int = 0
    model_id: str | None = "GRO-80-20"
    manager: str | None = "Acme"
    target_kind: str | None = "model"


def steps_from(start: dt.date, changes: Mapping[dt.date, int], end: dt.date) -> list[int]:
    """A value per day from ``start`` to ``end``: each change date starts a new level (0 before the first)."""
    days, level, values = (end - start).days + 1, 0, []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        level = changes.get(day, level)
        values.append(level)
    return values


def history(start: dt.date, end: dt.date, sleeves: Sequence[Sleeve]) -> History:
    days = (end - start).days + 1
    symbols = sorted({s for sleeve in sleeves for s in sleeve.holdings})

    def row(value: int | Sequence[int]) -> np.ndarray:
        array = np.full(days, value, dtype=np.int64) if isinstance(value, int) else np.asarray(value, dtype=np.int64)
        assert array.shape == (days,), array.shape
        return array

    value = np.array([row(s.value) for s in sleeves], dtype=np.int64).reshape(len(sleeves), days)
    holding = np.zeros((len(sleeves), len(symbols), days), dtype=np.int64)
    flows = np.zeros((len(sleeves), days), dtype=np.int64)
    for i, sleeve in enumerate(sleeves):
        for symbol, cents in sleeve.holdings.items():
            holding[i, symbols.index(symbol)] = row(cents)
        for day, cents in sleeve.flows.items():
            flows[i, (day - start).days] = cents
    return History(
        start=start, end=end,
        sleeves=[SleeveInfo(s.sleeve_id, s.account_id, s.household_id, "taxable", s.model_id, s.manager, s.target_kind)
                 for s in sleeves],
        symbols=symbols,
        opening_cents=np.array([s.opening for s in sleeves], dtype=np.int64),
        value_cents=value, cash_cents=value - holding.sum(axis=1), flow_cents=flows,
        fee_cents=np.zeros_like(value), income_cents=np.zeros_like(value), holding_cents=holding,
    )
