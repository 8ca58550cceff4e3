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
from collections.abc import Callable

import attrs
import numpy as np

from ..book import Book
from ..domain import anniversary
from ..errors import DataError
from ..fixedpoint import MONEY, PRICE, QUANTITY
from ..tax.relief import Relief
from .details import relieved_lots
from .generate import TradeSet
from .proposals import ReliefColumns, half_even, value_cents


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



def relieve_exact(trades: TradeSet, rows: np.ndarray, as_of: dt.date) -> ReliefColumns:
    """The lots the sells among ``rows`` of ``trades`` relieve, exactly as :func:`smartx_engine.tax.relieve`
    relieves them (same lots, order, quantities and cents), over columns; trades are numbered by
    their position in ``rows``. Every sell of a ``MIN_TAX`` policy is relieved by ``relieve`` itself
    (and those :func:`relieve_lots` cannot order exactly)."""
    book, method = trades.evaluation.book, trades.evaluation.policy.settings.lot_method
    rows = np.asarray(rows, dtype=np.int64)
    selling = trades.side[rows] < 0
    sells = np.flatnonzero(selling)  # positions in rows, by holding: their lots come in book order
    held = trades.holding[rows[sells]].astype(book.lot_holding.dtype)
    first = np.searchsorted(book.lot_holding, held)
    count = np.searchsorted(book.lot_holding, held, side="right") - first
    lots = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count - first, count)
    trade = np.repeat(sells, count)
    usable = ~trades.evaluation.avoid_short_term[lots]
    return relieve_lots(book, method, lots[usable], trade[usable],
                        np.rint(trades.quantity[rows] * 10 ** QUANTITY.places).astype(np.int64),
                        np.rint(trades.price[rows] * 10 ** PRICE.places).astype(np.int64), selling,
                        lambda i: relieved_lots(trades, int(rows[i]), as_of),
                        selling if method == "MIN_TAX" else None)


def relieve_lots(book: Book, method: str, lots: np.ndarray, trade: np.ndarray, quantity: np.ndarray,
                 price: np.ndarray, selling: np.ndarray, exact: Callable[[int], list[Relief]],
                 by_exact: np.ndarray | None = None) -> ReliefColumns:
    """The lots ``lots`` (rows of ``book``, grouped by ``trade`` in trade order, in book order within
    a trade) relieved by ``method`` up to each ``selling`` trade's ``quantity`` (millionths) at its
    ``price`` (millionths of a dollar), exactly as :func:`smartx_engine.tax.relieve` does.

    The book's floats stand for millionths of a share, cents and millionths of a dollar (a book
    read from the store), so they are read back as those integers. The sale order is the method's
    on exact keys: dates for FIFO and LIFO; for HIFO and LOFO the cost per share as the float
    nearest the exact ratio of cents to millionths, whose ties are checked exactly. A trade where
    two different costs meet in one float, and those ``by_exact`` marks, are relieved by
    ``exact(trade)`` instead (``MIN_TAX`` has no order here: mark all its trades).
    """
    lot_e6 = np.rint(book.lot_quantity[lots] * 10 ** QUANTITY.places).astype(np.int64)
    basis = np.rint(book.lot_cost[lots] * 10 ** MONEY.places).astype(np.int64)
    by_relieve = np.zeros(len(quantity), dtype=bool) if by_exact is None else by_exact.copy()
    if method in ("HIFO", "LOFO"):
        per_share = basis / lot_e6
        order = sort_within(trade, [-per_share if method == "HIFO" else per_share])
        lots, trade, lot_e6, basis, per_share = lots[order], trade[order], lot_e6[order], basis[order], per_share[order]
        tied = np.flatnonzero((trade[1:] == trade[:-1]) & (per_share[1:] == per_share[:-1])).tolist()
        by_relieve[[trade[i] for i in tied if int(basis[i]) * int(lot_e6[i + 1]) != int(basis[i + 1]) * int(lot_e6[i])]] = True
    elif method == "LIFO":
        order = sort_within(trade, [-book.lot_acquired[lots].astype(np.int64)])
        lots, trade, lot_e6, basis = lots[order], trade[order], lot_e6[order], basis[order]
    keep = ~by_relieve[trade]
    lots, trade, lot_e6, basis = lots[keep], trade[keep], lot_e6[keep], basis[keep]
    starts = np.flatnonzero(np.r_[True, trade[1:] != trade[:-1]]) if len(trade) else np.empty(0, np.int64)
    cumulative = np.cumsum(lot_e6)
    before = cumulative - lot_e6 - np.repeat(np.r_[0, cumulative][starts], np.diff(np.r_[starts, len(trade)]))
    taken = np.clip(quantity[trade] - before, 0, lot_e6)
    covered = np.zeros(len(quantity), dtype=np.int64)
    covered[trade[starts]] = np.add.reduceat(taken, starts) if len(starts) else []
    if len(short := np.flatnonzero(selling & ~by_relieve & (covered < quantity))):
        row = int(short[0])
        raise DataError(f"cannot sell {QUANTITY.to_decimal(int(quantity[row]))}: "
                        f"the lots hold {QUANTITY.to_decimal(int(lot_e6[trade == row].sum()))}")
    used = taken > 0
    lots, trade, lot_e6, basis, taken = lots[used], trade[used], lot_e6[used], basis[used], taken[used]
    partial = np.flatnonzero(taken < lot_e6)  # gives up basis x taken / quantity; a whole lot its whole basis
    basis[partial] = [half_even(b * t, q) for b, t, q in
                      zip(basis[partial].tolist(), taken[partial].tolist(), lot_e6[partial].tolist())]
    proceeds = value_cents(taken, price[trade])
    columns = ReliefColumns(trade, book.lot_id_texts(lots), taken, basis, book.lot_acquired[lots].astype("datetime64[D]"),
                            _long_term(book, lots), proceeds)
    if not by_relieve.any():
        return columns
    others = ReliefColumns.of((int(i), r) for i in np.flatnonzero(by_relieve & selling) for r in exact(int(i)))
    return ReliefColumns.concat([columns, others]).grouped()
