"""Lot relief over whole columns: which lots every sell of a trade set relieves, at once.

The same orders as :mod:`smartx_engine.tax.relief` (docs/tax.md, "Lot relief"), in float64 for
analytics at scale: the lots of the sold holdings are sorted once by (holding, the method's key,
acquired, lot id), each sell takes them in that order up to its quantity (cumulative sums), the
last one partially. Lots ``avoid short term gains`` keeps are never relieved. The exact,
per-sell :func:`smartx_engine.tax.relieve` stays the authority for what is stored; tests hold the
two to the same lots and quantities.
"""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np

from ..domain import anniversary
from .generate import TradeSet


@attrs.frozen(eq=False)
class LotRelief:
    """One row per relieved lot: the trade (row of the trade set), the lot, the quantity and the gain."""

    trade: np.ndarray
    lot: np.ndarray
    quantity: np.ndarray
    gain: np.ndarray

    def gain_per_trade(self, n_trades: int) -> np.ndarray:
        return np.bincount(self.trade, weights=self.gain, minlength=n_trades)


def sort_keys(trades: TradeSet, lots: np.ndarray) -> np.ndarray:
    """The method's primary key for ``lots`` (smaller first); ties then go by acquired date and lot id."""
    evaluation = trades.evaluation
    book, settings = evaluation.book, evaluation.policy.settings
    method = settings.lot_method
    acquired = book.lot_acquired[lots].astype(np.int64).astype(np.float64)
    # per share of the basis in cents (as the exact relief has it), to 1e-9 so that float noise makes no order
    per_share = np.round(np.round(book.lot_cost[lots], 2) / book.lot_quantity[lots], 9)
    if method == "LIFO":
        return -acquired
    if method == "HIFO":
        return -per_share
    if method == "LOFO":
        return per_share
    if method == "MIN_TAX":
        price = book.symbol_price[book.holding_symbol[book.lot_holding[lots]]]
        gain = price - per_share
        account = book.sleeve_account[book.lot_sleeve[lots]]
        long_term = _long_term(book, lots)
        rate = np.where(long_term, book.account_lt_rate[account], book.account_st_rate[account])
        # losses first (short-term, then long-term; the largest loss first), then the least tax per share
        category = np.where(gain < 0, np.where(long_term, 1, 0), 2)
        within = np.where(gain < 0, gain, gain * rate - 1e-12 * long_term)
        return category * 1e12 + within
    return acquired  # FIFO


def _long_term(book, lots: np.ndarray) -> np.ndarray:
    """Whether a sale on the book's date of each lot is long-term (after its anniversary, domain.anniversary)."""
    dates, index = np.unique(book.lot_acquired[lots], return_inverse=True)
    return np.array([book.as_of > anniversary(d.astype(dt.date)) for d in dates], dtype=bool)[index]


def sort_within(groups: np.ndarray, keys: np.ndarray, small: int = 16) -> np.ndarray:
    """The order that sorts ``keys`` stably within each run of equal (non-decreasing) ``groups``.

    Groups of the same size up to ``small`` are sorted together as the rows of one matrix (most
    holdings have a few lots); the rest with one lexsort. Much faster than a lexsort of everything.
    """
    n = len(groups)
    if not n:
        return np.arange(0)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    sizes = np.diff(np.r_[starts, n])
    order = np.arange(n)
    for size in range(2, small + 1):
        first = starts[sizes == size]
        if len(first):
            rows = first[:, None] + np.arange(size)
            order[rows] = np.take_along_axis(rows, np.argsort(keys[rows], axis=1, kind="stable"), axis=1)
    large = np.repeat(sizes > small, sizes)
    if large.any():
        rows = np.flatnonzero(large)
        order[rows] = rows[np.lexsort((keys[rows], groups[rows]))]
    return order


def relieve_columns(trades: TradeSet) -> LotRelief:
    """The lots every sell of ``trades`` relieves, by its policy's ``lots`` method."""
    evaluation = trades.evaluation
    book = evaluation.book
    sells = np.flatnonzero(trades.side < 0)
    trade_of_holding = np.full(book.n_holdings, -1, dtype=np.int64)
    trade_of_holding[trades.holding[sells]] = sells
    lots = np.flatnonzero((trade_of_holding[book.lot_holding] >= 0) & ~evaluation.avoid_short_term)
    holding = book.lot_holding[lots]
    # lots are stored by (holding, acquired, lot id); a stable sort within each holding keeps that order for ties
    order = np.arange(len(lots)) if evaluation.policy.settings.lot_method == "FIFO" else \
        sort_within(holding, sort_keys(trades, lots))
    lots, holding = lots[order], holding[order]
    quantity = book.lot_quantity[lots]
    cumulative = np.cumsum(quantity)
    starts = np.flatnonzero(np.r_[True, holding[1:] != holding[:-1]]) if len(lots) else np.empty(0, np.int64)
    before = cumulative - quantity - np.repeat(np.r_[0.0, cumulative][starts], np.diff(np.r_[starts, len(lots)]))
    trade = trade_of_holding[holding]
    taken = np.clip(trades.quantity[trade] - before, 0.0, quantity)
    kept = taken > 0
    lots, trade, taken = lots[kept], trade[kept], taken[kept]
    price = trades.price[trade]
    gain = taken * price - book.lot_cost[lots] * taken / book.lot_quantity[lots]
    return LotRelief(trade, lots, taken, gain)
