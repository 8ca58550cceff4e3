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


def sort_keys(trades: TradeSet, lots: np.ndarray) -> list[np.ndarray]:
    """The method's keys for ``lots``, most significant first (smaller first); ties then go by
    acquired date and lot id."""
    evaluation = trades.evaluation
    book, method = evaluation.book, evaluation.policy.settings.lot_method
    if method in ("FIFO", "LIFO"):
        acquired = book.lot_acquired[lots].astype(np.int64).astype(np.float64)
        return [acquired if method == "FIFO" else -acquired]
    # per share of the basis (whole cents in a book from the store, as the exact relief has it), to
    # 1e-9 so that float noise makes no order
    per_share = np.round(np.round(book.lot_cost[lots], 2) / book.lot_quantity[lots], 9)
    if method == "HIFO":
        return [-per_share]
    if method == "LOFO":
        return [per_share]
    price = book.symbol_price[book.holding_symbol[book.lot_holding[lots]]]
    gain = price - per_share
    account = book.sleeve_account[book.lot_sleeve[lots]]
    long_term = _long_term(book, lots)
    rate = np.where(long_term, book.account_lt_rate[account], book.account_st_rate[account])
    # MIN_TAX: losses first (short-term, then long-term; the largest loss first), then the least tax
    # per share (at equal tax long-term first, then the smaller gain)
    loss = gain < 0
    category = np.where(loss, long_term.astype(np.int8), 2)
    return [category, np.where(loss, gain, np.round(gain * rate, 12)), np.where(loss, 0, ~long_term),
            np.where(loss, 0.0, gain)]


def _long_term(book, lots: np.ndarray) -> np.ndarray:
    """Whether a sale on the book's date of each lot is long-term (after its anniversary, domain.anniversary)."""
    dates, index = np.unique(book.lot_acquired[lots], return_inverse=True)
    return np.array([book.as_of > anniversary(d.astype(dt.date)) for d in dates], dtype=bool)[index]


def sort_within(groups: np.ndarray, keys: list[np.ndarray], small: int = 16) -> np.ndarray:
    """The order that sorts by ``keys`` (most significant first) stably within each run of equal
    (non-decreasing) ``groups``.

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
            order[rows] = np.take_along_axis(rows, np.lexsort([k[rows] for k in reversed(keys)], axis=-1), axis=1)
    large = np.repeat(sizes > small, sizes)
    if large.any():
        rows = np.flatnonzero(large)
        order[rows] = rows[np.lexsort([*(k[rows] for k in reversed(keys)), groups[rows]])]
    return order


def relieve_columns(trades: TradeSet) -> LotRelief:
    """The lots every sell of ``trades`` relieves, by its policy's ``lots`` method."""
    evaluation = trades.evaluation
    book = evaluation.book
    sells = np.flatnonzero(trades.side < 0)  # by holding, so their lots are consecutive ranges in order
    first = np.searchsorted(book.lot_holding, trades.holding[sells].astype(book.lot_holding.dtype))
    count = np.searchsorted(book.lot_holding, trades.holding[sells].astype(book.lot_holding.dtype), side="right") - first
    lots = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count - first, count)
    trade = np.repeat(sells, count)
    usable = ~evaluation.avoid_short_term[lots]
    lots, trade = lots[usable], trade[usable]
    # lots are stored by (holding, acquired, lot id); a stable sort within each sell keeps that order for ties
    if evaluation.policy.settings.lot_method != "FIFO":
        order = sort_within(trade, sort_keys(trades, lots))
        lots, trade = lots[order], trade[order]
    quantity = book.lot_quantity[lots]
    cumulative = np.cumsum(quantity)
    starts = np.flatnonzero(np.r_[True, trade[1:] != trade[:-1]]) if len(lots) else np.empty(0, np.int64)
    before = cumulative - quantity - np.repeat(np.r_[0.0, cumulative][starts], np.diff(np.r_[starts, len(lots)]))
    taken = np.clip(trades.quantity[trade] - before, 0.0, quantity)
    kept = taken > 5e-7  # half a millionth of a share: float noise of the running sums, not a relief
    lots, trade, taken = lots[kept], trade[kept], taken[kept]
    gain = taken * (trades.price[trade] - book.lot_cost[lots] / book.lot_quantity[lots])
    return LotRelief(trade, lots, taken, gain)
