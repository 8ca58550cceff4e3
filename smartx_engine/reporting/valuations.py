"""Build a :class:`~.history.History` from the store: holdings and cash rolled back from today's.

The lots and cash in the store are the sleeves' state now. The state at the end of an earlier day
is now's minus the effect of every transaction dated after that day: a buy (or a transfer in from
another sleeve) added its quantity and took its amount, a sell (a transfer out) the reverse, a
deposit, dividend or fee moved cash only (``amount`` carries the sign of the cash effect). So a history needs the transactions since its first day, not since
each sleeve's inception; a rolled-back holding below zero means the transactions do not reconcile
with the lots, and is an error naming the sleeve, the security and the day.

Each security is valued at its close of the day, or the last close before it (weekends, holidays,
days after the last close); a holding on a day with no close yet is an error. A position's value is
``quantity x close`` computed exactly and rounded half-even to the cent; a sleeve's value is the sum
of its positions' values and its cash. Flows are deposits (+) and withdrawals (-); fees and
dividends are not flows: they are part of the return (returns are net of fees).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence

import numpy as np

from ..domain import TransactionType
from ..errors import DataError
from ..store import Store
from .history import History, SleeveInfo

#: a quantity in millionths times a close in millionths is in 10^-12 USD; a cent is 10^10 of them
UNITS_PER_CENT = 10**10
#: the transactions a history sums per day, besides their effect on holdings and cash
DAILY = {TransactionType.DEPOSIT: "flow", TransactionType.WITHDRAWAL: "flow", TransactionType.FEE: "fee",
         TransactionType.DIVIDEND: "income"}


def build_history(store: Store, start: dt.date, end: dt.date, *,
                  sleeve_ids: Collection[str] | None = None) -> History:
    """Daily end-of-day figures of ``sleeve_ids`` (default: every sleeve) from ``start`` to ``end``."""
    if end < start:
        raise DataError(f"the history ends ({end}) before it starts ({start})")
    sleeves = _sleeves(store, sleeve_ids)
    row_of = {s.sleeve_id: i for i, s in enumerate(sleeves)}
    scope = json.dumps(list(row_of))
    before = start - dt.timedelta(days=1)
    columns = (end - before).days + 1  # column 0: the day before start; then start .. end

    holdings = {(r["sleeve_id"], r["symbol"]): r["q"] for r in store.db.query(
        "select sleeve_id, symbol, sum(quantity_e6) as q from lots where sleeve_id in (select value from json_each(?))"
        " group by sleeve_id, symbol", [scope])}
    cash_now = np.zeros(len(sleeves), dtype=np.int64)
    for r in store.db.query("select sleeve_id, amount_cents from cash where sleeve_id in (select value from json_each(?))",
                            [scope]):
        cash_now[row_of[r["sleeve_id"]]] = r["amount_cents"]
    transactions = list(store.db.query(
        "select sleeve_id, date, type, symbol, quantity_e6, amount_cents from transactions"
        " where sleeve_id in (select value from json_each(?)) and date >= ? order by date",
        [scope, start.isoformat()]))
    for t in transactions:
        if TransactionType(t["type"]).moves_shares:
            holdings.setdefault((t["sleeve_id"], t["symbol"]), 0)
    pairs = sorted(holdings)
    symbols = sorted({symbol for _, symbol in pairs})
    pair_of = {pair: i for i, pair in enumerate(pairs)}
    symbol_of = {symbol: i for i, symbol in enumerate(symbols)}

    # Each transaction's effect, at the column of its day (past ``end``: a last, extra column).
    shares = np.zeros((len(pairs), columns + 1), dtype=np.int64)
    cash = np.zeros((len(sleeves), columns + 1), dtype=np.int64)
    daily = {kind: np.zeros((len(sleeves), columns + 1), dtype=np.int64) for kind in DAILY.values()}
    for t in transactions:
        kind, row = TransactionType(t["type"]), row_of[t["sleeve_id"]]
        column = min((dt.date.fromisoformat(t["date"]) - before).days, columns)
        cash[row, column] += t["amount_cents"]
        if kind.moves_shares:
            shares[pair_of[(t["sleeve_id"], t["symbol"])], column] += kind.share_sign * t["quantity_e6"]
        if kind in DAILY:
            daily[DAILY[kind]][row, column] += t["amount_cents"]
    quantities = np.array([holdings[p] for p in pairs], dtype=np.int64)[:, None] - _after(shares)
    cash_cents = cash_now[:, None] - _after(cash)
    _check_reconciled(quantities, pairs, before)

    closes = daily_closes(store, symbols, before, end)
    pair_symbol = np.array([symbol_of[s] for _, s in pairs], dtype=np.intp)
    pair_row = np.array([row_of[s] for s, _ in pairs], dtype=np.intp)
    values = _values(quantities, closes[pair_symbol] if pairs else np.zeros((0, columns), dtype=np.int64))
    missing = (quantities != 0) & (closes[pair_symbol] == 0) if pairs else np.zeros((0, columns), dtype=bool)
    if missing.any():
        p, c = (int(i) for i in np.argwhere(missing)[0])
        sleeve_id, symbol = pairs[p]
        raise DataError(f"no close for {symbol} on or before {before + dt.timedelta(days=c)}, when sleeve {sleeve_id}"
                        f" held it: add its price history (prices.csv) or start the history later")
    holding_cents = np.zeros((len(sleeves), len(symbols), columns), dtype=np.int64)
    shares_held = np.zeros((len(sleeves), len(symbols), columns), dtype=np.int64)
    np.add.at(holding_cents, (pair_row, pair_symbol), values)
    np.add.at(shares_held, (pair_row, pair_symbol), quantities)
    value_cents = holding_cents.sum(axis=1) + cash_cents
    return History(start, end, sleeves, symbols, value_cents[:, 0], value_cents[:, 1:], cash_cents[:, 1:],
                   daily["flow"][:, 1:columns], daily["fee"][:, 1:columns], daily["income"][:, 1:columns],
                   holding_cents[:, :, 1:], shares_held[:, :, 1:], closes[:, 1:])


def _after(effects: np.ndarray) -> np.ndarray:
    """For each column, the sum of the effects in the columns after it (the last column is only summed)."""
    later = np.cumsum(effects[:, ::-1], axis=1)[:, ::-1]
    return later[:, 1:]


def _check_reconciled(quantities: np.ndarray, pairs: list[tuple[str, str]], before: dt.date) -> None:
    negative = quantities < 0
    if negative.any():
        p = int(np.flatnonzero(negative.any(axis=1))[0])
        c = int(np.flatnonzero(negative[p])[-1])  # the last day it is negative: the transaction after it is wrong
        sleeve_id, symbol = pairs[p]
        raise DataError(f"sleeve {sleeve_id}'s transactions do not reconcile with its lots: rolled back from today's"
                        f" lots, it would hold a negative quantity of {symbol} on {before + dt.timedelta(days=c)}"
                        " (a buy the lots do not have, or a sell missing from the transactions, after that day)")


def daily_closes(store: Store, symbols: Sequence[str], first: dt.date, last: dt.date) -> np.ndarray:
    """[symbol, day] from ``first`` to ``last``: the close in millionths, or the last close before the
    day (0 before the first close)."""
    before, end, columns = first, last, (last - first).days + 1
    closes = np.zeros((len(symbols), columns), dtype=np.int64)
    for i, symbol in enumerate(symbols):
        last = store.db.execute("select close_e6 from prices where symbol = ? and date <= ? order by date desc limit 1",
                                [symbol, before.isoformat()]).fetchone()
        days = np.zeros(columns, dtype=np.int64)
        if last:
            days[0] = last[0]
        for date, close in store.db.execute("select date, close_e6 from prices where symbol = ? and date > ?"
                                            " and date <= ? order by date", [symbol, before.isoformat(), end.isoformat()]):
            days[(dt.date.fromisoformat(date) - before).days] = close
        closes[i] = _carried_forward(days)
    return closes


def _carried_forward(days: np.ndarray) -> np.ndarray:
    """Each zero replaced by the last nonzero before it (zeros before the first stay zero)."""
    index = np.where(days != 0, np.arange(len(days)), 0)
    np.maximum.accumulate(index, out=index)
    return days[index]


def _values(quantities: np.ndarray, closes: np.ndarray) -> np.ndarray:
    """quantity (millionths) x close (millionths) in cents, exact, rounded half-even."""
    product = quantities.astype(object) * closes.astype(object)
    cents, remainder = product // UNITS_PER_CENT, product % UNITS_PER_CENT
    up = (remainder * 2 > UNITS_PER_CENT) | ((remainder * 2 == UNITS_PER_CENT) & (cents % 2 == 1))
    return (cents + up).astype(np.int64)


def _sleeves(store: Store, sleeve_ids: Collection[str] | None) -> list[SleeveInfo]:
    rows = store.db.query(
        """select s.sleeve_id, s.account_id, a.household_id, a.registration, s.model_id, m.manager,
                  coalesce(t.kind, case when s.model_id is null then null else 'model' end) as kind
           from sleeves s join accounts a using (account_id) left join models m on m.model_id = s.model_id
           left join sleeve_targets t on t.sleeve_id = s.sleeve_id order by s.account_id, s.sleeve_id""")
    sleeves = [SleeveInfo(r["sleeve_id"], r["account_id"], r["household_id"], r["registration"], r["model_id"],
                          r["manager"], r["kind"]) for r in rows]
    if sleeve_ids is None:
        return sleeves
    wanted = set(sleeve_ids)
    for sleeve_id in sorted(wanted - {s.sleeve_id for s in sleeves}):
        store.sleeve(sleeve_id)  # NotFoundError, with a did-you-mean
    return [s for s in sleeves if s.sleeve_id in wanted]
