"""Each household's recent trading, as a rebalance run needs it for wash sales.

A run reads, per household, the losses realised in its taxable accounts in the last window
(table ``realized``) and the lots acquired recently in any of its accounts (table ``lots``), then
asks :mod:`.wash` which securities a purchase today would wash (:attr:`RecentTrading.blocked`)
and whether a proposed loss sale would itself be washed by a recent purchase.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from functools import cached_property

import attrs
import numpy as np

from ..domain import Registration, TaxTreatment
from ..fixedpoint import MONEY, QUANTITY
from ..bookread import gc_paused, read_transaction
from ..store import Store
from .wash import Acquisition, Identical, LossSale, blocked_buys, identical_groups, recent_purchases


def merged_groups(groups: Iterable[Iterable[str]]) -> list[frozenset[str]]:
    """Groups of identical symbols with overlapping groups joined (policies may each name some)."""
    merged: list[set[str]] = []
    for group in map(set, groups):
        touching = [m for m in merged if m & group]
        for m in touching:
            group |= m
            merged.remove(m)
        merged.append(group)
    return [frozenset(g) for g in merged if len(g) > 1]


class RecentAcquisitions(Mapping[str, list[Acquisition]]):
    """household -> its recent acquisitions, each household's list made when it is first asked for,
    from columns read in one query (a run asks for the few households that sell at a loss; making
    every household's :class:`Acquisition` values would take seconds for a large firm). A
    household's rows are in the order they were acquired (then in the order they were stored)."""

    def __init__(self, households: Sequence[str], bounds: np.ndarray, accounts: Sequence[str],
                 symbols: Sequence[str], columns: tuple[np.ndarray, ...]):
        self._households = list(households)  # sorted
        self._bounds = bounds                # rows of household i: bounds[i]:bounds[i + 1]
        self._accounts, self._symbols = accounts, symbols  # what the account and symbol codes are
        self._columns = columns  # lot id, account code, symbol code, acquired, quantity_e6, treatment code
        self._made: dict[str, list[Acquisition]] = {}

    @classmethod
    def read(cls, store: Store, since: str, until: str, accounts: Sequence[str], households: Sequence[str],
             treatments: Sequence[TaxTreatment]) -> RecentAcquisitions:
        """The lots acquired from ``since`` to ``until``; ``accounts`` are every account, with each one's
        household and tax treatment."""
        (account, lot, symbol, acquired, quantity), order = _recent_lots(store, since, until)
        account_code = dict(zip(accounts, range(len(accounts))))
        account = np.fromiter(map(account_code.__getitem__, account), dtype=np.int32, count=len(account))
        symbols = sorted(set(symbol))
        symbol_code = {s: i for i, s in enumerate(symbols)}
        symbol = np.fromiter(map(symbol_code.__getitem__, symbol), dtype=np.int32, count=len(symbol))
        used = np.unique(account)  # the households, and treatments, of the accounts with recent lots
        vocabulary = sorted({households[i] for i in used.tolist()})
        household_code = {h: i for i, h in enumerate(vocabulary)}
        household = np.zeros(len(accounts), dtype=np.int64)
        household[used] = [household_code[households[i]] for i in used.tolist()]
        kinds = list(TaxTreatment)
        treatment = np.zeros(len(accounts), dtype=np.int8)
        treatment[used] = [kinds.index(treatments[i]) for i in used.tolist()]
        code = household[account]
        order = order[np.argsort(code[order], kind="stable")]  # by household, each by (acquired, rowid)
        return cls(vocabulary, np.searchsorted(code[order], np.arange(len(vocabulary) + 1)), accounts, symbols,
                   (_text(lot)[order], account[order], symbol[order], np.array(acquired, dtype="datetime64[D]")[order],
                    np.array(quantity, dtype=np.int64)[order], treatment[account][order]))

    def __getitem__(self, household: str) -> list[Acquisition]:
        made = self._made.get(household)
        if made is None:
            i = bisect.bisect_left(self._households, household)
            if i == len(self._households) or self._households[i] != household:
                raise KeyError(household)
            rows = slice(int(self._bounds[i]), int(self._bounds[i + 1]))
            kinds = list(TaxTreatment)
            made = self._made[household] = [
                Acquisition(lot_id, self._accounts[account], self._symbols[symbol], day, QUANTITY.to_decimal(q),
                            kinds[treatment])
                for lot_id, account, symbol, day, q, treatment in zip(*(c[rows].tolist() for c in self._columns))]
        return made

    def symbols_of(self, household: str) -> set[str]:
        """The symbols the household acquired (no :class:`Acquisition` values made)."""
        i = bisect.bisect_left(self._households, household)
        if i == len(self._households) or self._households[i] != household:
            return set()
        codes = self._columns[2][int(self._bounds[i]):int(self._bounds[i + 1])]
        return {self._symbols[c] for c in set(codes.tolist())}

    def symbols_of_each(self, households: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
        """:meth:`symbols_of` of each of ``households`` as columns: for every lot they acquired, the
        household's position in ``households``, the symbol's code into the list of symbols returned,
        and the lot id (no :class:`Acquisition` values made)."""
        query, row = self.rows(np.asarray(households, dtype=str))
        return query, self._columns[2][row].astype(np.int64), list(self._symbols), self._columns[0][row]

    def bought(self, households: np.ndarray, symbols: np.ndarray) -> np.ndarray:
        """Whether each household acquired each symbol (two columns of ids, pair by pair), over columns."""
        household = _codes_in(self._household_table, households)
        symbol = _codes_in(self._symbol_table, symbols)
        keys = household * max(len(self._symbols), 1) + symbol
        return (household >= 0) & (symbol >= 0) & (_codes_in(self._bought_keys, keys) >= 0)

    def rows(self, households: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every acquisition of each of ``households`` (ids): (index into ``households``, row) pairs, a
        household's rows in its order; read the rows with :attr:`columns`."""
        code = _codes_in(self._household_table, households)
        bounds = np.r_[self._bounds, 0]  # a household it does not know (-1) has none
        start = bounds[code]
        count = np.where(code >= 0, bounds[code + 1] - start, 0)
        row = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count - start, count)
        return np.repeat(np.arange(len(code)), count), row

    @property
    def columns(self) -> tuple[np.ndarray, ...]:
        """lot id, account code, symbol code (into :attr:`symbols`), acquired, quantity_e6 and treatment code, per row."""
        return self._columns

    @property
    def symbols(self) -> Sequence[str]:
        return self._symbols

    @cached_property
    def _household_table(self) -> np.ndarray:
        return _text(self._households)

    @cached_property
    def _symbol_table(self) -> np.ndarray:
        return _text(self._symbols)

    @cached_property
    def _bought_keys(self) -> np.ndarray:
        """household code x number of symbols + symbol code of every acquisition (sorted, unique)."""
        household = np.repeat(np.arange(len(self._households), dtype=np.int64), np.diff(self._bounds))
        return np.unique(household * max(len(self._symbols), 1) + self._columns[2])

    def __iter__(self) -> Iterator[str]:
        return iter(self._households)

    def __len__(self) -> int:
        return len(self._households)

    def __contains__(self, household: object) -> bool:
        i = bisect.bisect_left(self._households, household)
        return i < len(self._households) and self._households[i] == household

    def only(self, households: Collection[str]) -> RecentAcquisitions:
        """The acquisitions of these households only (each made on first use, as here)."""
        keep = [i for i, h in enumerate(self._households) if h in households]
        starts, ends = self._bounds[keep], self._bounds[np.array(keep, dtype=np.int64) + 1]
        counts = ends - starts
        rows = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        part = RecentAcquisitions([self._households[i] for i in keep], np.r_[0, np.cumsum(counts)], self._accounts,
                                  self._symbols, tuple(c[rows] for c in self._columns))
        part._made = {h: made for h, made in self._made.items() if h in households}
        return part


def _codes_in(table: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The index of each of ``values`` in the sorted ``table``, -1 where it is not there."""
    values = np.asarray(values, dtype=table.dtype if table.dtype.kind != "U" else str)
    if not len(table):
        return np.full(len(values), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(table, values), len(table) - 1)
    return np.where(table[at] == values, at, -1)


def _text(values: Sequence[str]) -> np.ndarray:
    """A compact ``str`` array of identifiers (no Python string kept per value)."""
    return np.array(values, dtype=str) if len(values) else np.zeros(0, dtype=str)


@attrs.frozen
class RecentTrading:
    """Per household: its recent loss sales and acquisitions, and what a purchase on ``as_of`` would wash."""

    as_of: dt.date
    window_days: int
    identical: Identical
    loss_sales: Mapping[str, list[LossSale]]
    acquisitions: Mapping[str, list[Acquisition]]  # a RecentAcquisitions from recent_trading: lists made when asked for
    household_of: Mapping[str, str]   # account id -> household id
    treatment_of: Mapping[str, TaxTreatment]

    @cached_property
    def blocked(self) -> dict[str, dict[str, dt.date]]:
        """household -> symbol -> the last day a purchase of it would wash a loss."""
        return {h: found for h in self.loss_sales if (found := blocked_buys(
            self.loss_sales[h], self.as_of, self.identical, self.window_days,
            acquisitions=self.acquisitions.get(h, [])))}

    def bought_symbols(self, household: str | None) -> set[str]:
        """The symbols the household acquired in the window (what a loss sale today may be washed by)."""
        if isinstance(self.acquisitions, RecentAcquisitions):
            return self.acquisitions.symbols_of(household) if household is not None else set()
        return {a.symbol for a in self.acquisitions.get(household, [])}

    def bought(self, households: np.ndarray, symbols: np.ndarray) -> np.ndarray:
        """Whether each household acquired each symbol in the window (two columns of ids, pair by pair)."""
        if isinstance(self.acquisitions, RecentAcquisitions):
            return self.acquisitions.bought(households, symbols)
        return np.array([s in self.bought_symbols(h) for h, s in zip(households, symbols)], dtype=bool)

    def washed_by_recent_buys_of(self, accounts: Sequence[str], symbols: Sequence[str],
                                 sold_lots: Sequence[Collection[str]]) -> list[Decimal]:
        """:meth:`washed_by_recent_buys` of each (account, symbol, lots sold) at once: over columns for
        the households with no loss sale to match first (then a sale's washed shares are those of
        the symbol, or an identical one, acquired in the window and not sold with it)."""
        found = [Decimal(0)] * len(accounts)
        simple = []
        for i, (account_id, symbol, sold) in enumerate(zip(accounts, symbols, sold_lots)):
            if self.treatment_of[account_id] != TaxTreatment.TAXABLE:
                continue
            if (isinstance(self.acquisitions, RecentAcquisitions)
                    and not any(s.sold <= self.as_of for s in self.loss_sales.get(self.household_of[account_id], []))):
                simple.append(i)
            else:
                found[i] = self.washed_by_recent_buys(account_id, symbol, sold)
        if not simple:
            return found
        query, row = self.acquisitions.rows(np.array([self.household_of[accounts[i]] for i in simple], dtype=str))
        lot, _, bought, acquired, quantity, _ = (c[row] for c in self.acquisitions.columns)
        group = np.array([min(self.identical(s)) for s in self.acquisitions.symbols], dtype=str)  # by symbol code
        wanted = np.array([min(self.identical(symbols[i])) for i in simple], dtype=str)
        since = np.datetime64(self.as_of - dt.timedelta(days=self.window_days), "D")
        match = np.flatnonzero((group[bought] == wanted[query])
                               & (acquired >= since) & (acquired <= np.datetime64(self.as_of, "D")))
        for q, lot_id, shares in zip(query[match].tolist(), lot[match].tolist(), quantity[match].tolist()):
            i = simple[q]
            if lot_id not in sold_lots[i]:
                found[i] += QUANTITY.to_decimal(shares)
        return found

    def bought_of_each(self, households: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
        """What each of ``households`` acquired in the window, as columns: for every lot, the household's
        position, the symbol's code into the list of symbols returned, and the lot id."""
        if isinstance(self.acquisitions, RecentAcquisitions):
            return self.acquisitions.symbols_of_each(households)
        bought = [(i, a) for i, h in enumerate(households) for a in self.acquisitions.get(h, [])]
        symbols = sorted({a.symbol for _, a in bought})
        return (np.array([i for i, _ in bought], dtype=np.int64),
                np.searchsorted(np.array(symbols, dtype=str), np.array([a.symbol for _, a in bought], dtype=str)),
                symbols, np.array([a.lot_id for _, a in bought], dtype=str))

    def washed_by_recent_buys(self, account_id: str, symbol: str, sold_lots: Iterable[str]) -> Decimal:
        """Shares bought in the window before ``as_of`` that would wash a loss sale of ``symbol`` today."""
        if self.treatment_of[account_id] != TaxTreatment.TAXABLE:
            return Decimal(0)
        household = self.household_of[account_id]
        return recent_purchases(self.acquisitions.get(household, []), symbol, self.as_of, self.identical,
                                self.window_days, loss_sales=self.loss_sales.get(household, []),
                                exclude_lots=sold_lots)

    def of_households(self, households: Collection[str], accounts: Collection[str] = ()) -> RecentTrading:
        """The recent trading of these households only (their accounts, and ``accounts`` besides)."""
        household_of = {a: h for a, h in self.household_of.items() if h in households}
        acquisitions = self.acquisitions
        return RecentTrading(
            self.as_of, self.window_days, self.identical,
            {h: sales for h, sales in self.loss_sales.items() if h in households},
            acquisitions.only(households) if isinstance(acquisitions, RecentAcquisitions)
            else {h: bought for h, bought in acquisitions.items() if h in households},
            household_of, {a: t for a, t in self.treatment_of.items() if a in household_of or a in accounts})


def recent_trading(store: Store, as_of: dt.date, *, identical: Iterable[Iterable[str]] = (),
                   window_days: int = 30) -> RecentTrading:
    """What the store knows of every household's trading in the ``window_days`` before ``as_of``."""
    with gc_paused():  # hundreds of thousands of row tuples at once
        return _recent_trading(store, as_of, identical=identical, window_days=window_days)


def _recent_trading(store: Store, as_of: dt.date, *, identical: Iterable[Iterable[str]],
                    window_days: int) -> RecentTrading:
    q = store.db.execute
    accounts = q("select account_id, household_id, registration from accounts").fetchall()
    account_ids, households, registrations = zip(*accounts) if accounts else ((),) * 3
    del accounts
    household_of = dict(zip(account_ids, households))
    treatment = {r: Registration(r).tax_treatment for r in set(registrations)}
    treatments = list(map(treatment.__getitem__, registrations))
    treatment_of = dict(zip(account_ids, treatments))
    since = (as_of - dt.timedelta(days=window_days)).isoformat()
    losses: dict[str, list[LossSale]] = defaultdict(list)
    for r in store.db.query("select * from realized where gain_cents < 0 and sold between ? and ?",
                            [since, as_of.isoformat()]):
        if treatment_of[r["account_id"]] == TaxTreatment.TAXABLE:
            losses[household_of[r["account_id"]]].append(LossSale(
                f"{r['transaction_id']}:{r['lot_id']}", r["account_id"], r["symbol"], dt.date.fromisoformat(r["sold"]),
                QUANTITY.to_decimal(r["quantity_e6"]), MONEY.to_decimal(-r["gain_cents"]),
                dt.date.fromisoformat(r["holding_from"]), r["lot_id"]))
    earliest = (as_of - dt.timedelta(days=2 * window_days)).isoformat()
    bought = RecentAcquisitions.read(store, earliest, as_of.isoformat(), account_ids, households, treatments)
    return RecentTrading(as_of, window_days, identical_groups(merged_groups(identical)), dict(losses), bought,
                         household_of, treatment_of)


def _recent_lots(store: Store, since: str, until: str) -> tuple[list[tuple], np.ndarray]:
    """The columns (account_id, lot_id, symbol, acquired, quantity_e6) of the lots acquired from
    ``since`` to ``until`` in rowid order, and the order of them by (acquired, rowid). Their rowids come from the
    index on ``acquired`` alone; the rows are then read in rowid order, so that the table (the
    biggest of the store, in no order of acquisition) is read front to back instead of a page at
    random for each lot."""
    q = store.db.execute
    with read_transaction(store):
        in_order = np.fromiter(itertools.chain.from_iterable(q(
            "select rowid from lots where acquired between ? and ? order by acquired, rowid", [since, until])),
            dtype=np.int64)
        rowids = np.sort(in_order)
        rows = q("select l.rowid, l.account_id, l.lot_id, l.symbol, l.acquired, l.quantity_e6 from json_each(?) j"
                 " join lots l on l.rowid = j.value", [json.dumps(rowids.tolist())]).fetchall()
    rowid, *columns = zip(*rows) if rows else ((),) * 6
    if not np.array_equal(np.array(rowid, dtype=np.int64), rowids):
        raise RuntimeError("the recent lots read by rowid are not those the index gave")
    return columns, np.searchsorted(rowids, in_order)
