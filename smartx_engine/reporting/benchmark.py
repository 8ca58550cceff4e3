"""Each sleeve's benchmark: the daily return of its own target (a model, a blend, a custom allocation).

The benchmark holds the sleeve's effective target (its account's restrictions and substitutions
applied, cash included at 0% return) and rebalances to it at every close: day ``d``'s return is
``sum(weight x (close_d / close_d-1 - 1))`` with the weights of the target in force at the end of
day ``d-1``. A model version that comes into force on ``D`` so earns from ``D``'s close. Closes
are carried forward over days without one (a weekend earns 0). Closes carry no dividends: the
benchmark is a price return. A sleeve without a target, or whose target holds a security without
a close yet, has no benchmark that day (NaN).

An aggregate's benchmark (an account, a household) weighs its sleeves' benchmark returns by their
values at the end of the day before. A sleeve without a target (unmanaged assets, such as a legacy
sleeve) is its own benchmark: it earns its own return there, so that it neither helps nor hurts
the comparison (:func:`unmanaged_as_their_own`); a sleeve whose target lacks a close that day is
left out of the weights; a day that starts with nothing invested earns 0.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..domain import CASH_SYMBOL
from ..store import Store
from ..targets import effective_targets
from .history import History
from .returns import daily_returns
from .valuations import daily_closes


def benchmark_returns(store: Store, history: History) -> np.ndarray:
    """[sleeve, day] the daily return of each sleeve's target (NaN without one)."""
    before = history.start - dt.timedelta(days=1)
    sleeve_ids = [s.sleeve_id for s in history.sleeves]
    # the targets in force at the end of each day before a day of the history, where they change
    changes = sorted({before, *(dt.date.fromisoformat(r["effective_date"]) for r in store.db.query(
        "select distinct effective_date from model_versions where effective_date between ? and ?",
        [history.start.isoformat(), (history.end - dt.timedelta(days=1)).isoformat()]))})
    targets = [effective_targets(store, change, sleeve_ids, strict=False) for change in changes]
    symbols = sorted({w.symbol for t in targets for target in t.values() for w in target.weights} - {CASH_SYMBOL})
    closes = daily_closes(store, symbols, before, history.end).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        daily = np.where(closes[:, :-1] > 0, closes[:, 1:] / closes[:, :-1] - 1.0, np.nan)  # [symbol, day]
    column = {symbol: i for i, symbol in enumerate(symbols)}
    result = np.full((len(sleeve_ids), history.days), np.nan)
    for k, (change, in_force) in enumerate(zip(changes, targets)):
        first = (change - before).days  # the first day (column) these targets earn
        last = (changes[k + 1] - before).days if k + 1 < len(changes) else history.days
        weights = np.zeros((len(sleeve_ids), len(symbols)))
        has = np.zeros(len(sleeve_ids), dtype=bool)
        for row, sleeve_id in enumerate(sleeve_ids):
            if sleeve_id in in_force:
                has[row] = True
                for w in in_force[sleeve_id].weights:
                    if w.symbol != CASH_SYMBOL:
                        weights[row, column[w.symbol]] = float(w.weight)
        segment = daily[:, first:last]
        held = weights != 0
        earned = weights @ np.nan_to_num(segment)
        unknown = held.astype(np.float64) @ np.isnan(segment).astype(np.float64) > 0
        result[:, first:last] = np.where(has[:, None] & ~unknown, earned, np.nan)
    return result


def aggregate_benchmark(history: History, rows: np.ndarray, sleeve_returns: np.ndarray) -> np.ndarray:
    """[day] the benchmark of the sleeves ``rows`` together, weighted by their values the day before."""
    values = np.concatenate([history.opening_cents[rows, None], history.value_cents[rows, :-1]], axis=1)
    values = values.astype(np.float64)
    returns = sleeve_returns[rows]
    weights = np.where(np.isnan(returns), 0.0, np.maximum(values, 0.0))
    total = weights.sum(axis=0)
    empty = values.sum(axis=0) <= 0  # nothing invested at the start of the day: it earns 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(empty, 0.0, np.where(total > 0, (weights * np.nan_to_num(returns)).sum(axis=0) / total, np.nan))


def unmanaged_as_their_own(history: History, benchmark: np.ndarray) -> np.ndarray:
    """``benchmark`` with the rows of sleeves without a target replaced by their own daily returns."""
    unmanaged = np.array([s.target_kind is None for s in history.sleeves], dtype=bool)
    if not unmanaged.any():
        return benchmark
    filled = benchmark.copy()
    filled[unmanaged] = daily_returns(history.opening_cents[unmanaged], history.value_cents[unmanaged],
                                      history.flow_cents[unmanaged])
    return filled
