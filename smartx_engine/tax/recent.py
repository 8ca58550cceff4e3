"""Each household's recent trading, as a rebalance run needs it for wash sales.

A run reads, per household, the losses realised in its taxable accounts in the last window
(table ``realized``) and the lots acquired recently in any of its accounts (table ``lots``), then
asks :mod:`.wash` which securities a purchase today would wash (:attr:`RecentTrading.blocked`)
and whether a proposed loss sale would itself be washed by a recent purchase.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from functools import cached_property

import attrs
import numpy as np

from ..domain import Registration, TaxTreatment
from ..fixedpoint import MONEY, QUANTITY
from ..bookread import gc_paused
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
    every household's :class:`Acquisition` values would take seconds for a large firm). Rows of a
    household keep the order they were read in."""

    def __init__(self, households: Sequence[str], bounds: np.ndarray, lot_ids: np.ndarray, account_ids: np.ndarray,
                 symbols: np.ndarray, acquired: np.ndarray, quantity_e6: np.ndarray, treatments: np.ndarray):
        self._households = list(households)  # sorted
        self._bounds = bounds                # rows of household i: bounds[i]:bounds[i + 1]
        self._columns = (lot_ids, account_ids, symbols, acquired, quantity_e6, treatments)
        self._made: dict[str, list[Acquisition]] = {}

    @classmethod
    def of(cls, rows: Sequence[tuple[str, str, str, str, int]], household_of: Mapping[str, str],
           treatment_of: Mapping[str, TaxTreatment]) -> RecentAcquisitions:
        """From (account_id, lot_id, symbol, acquired, quantity_e6) rows."""
        account, lot, symbol, acquired, quantity = zip(*rows) if rows else ((),) * 5
        household = list(map(household_of.__getitem__, account))
        households = sorted(set(household))
        index = {h: i for i, h in enumerate(households)}
        code = np.fromiter(map(index.__getitem__, household), dtype=np.int64, count=len(household))
        order = np.argsort(code, kind="stable")
        treatments = list(TaxTreatment)
        treatment = {t: i for i, t in enumerate(treatments)}
        return cls(households, np.searchsorted(code[order], np.arange(len(households) + 1)),
                   _text(lot)[order], _text(account)[order], _text(symbol)[order],
                   np.array(acquired, dtype="datetime64[D]")[order], np.array(quantity, dtype=np.int64)[order],
                   np.array([treatment[treatment_of[a]] for a in account], dtype=np.int8)[order])

    def __getitem__(self, household: str) -> list[Acquisition]:
        made = self._made.get(household)
        if made is None:
            i = bisect.bisect_left(self._households, household)
            if i == len(self._households) or self._households[i] != household:
                raise KeyError(household)
            rows = slice(int(self._bounds[i]), int(self._bounds[i + 1]))
            lot_ids, account_ids, symbols, acquired, quantity, treatment = (c[rows].tolist() for c in self._columns)
            treatments = list(TaxTreatment)
            made = self._made[household] = [
                Acquisition(lot_id, account_id, symbol, day, QUANTITY.to_decimal(q), treatments[t])
                for lot_id, account_id, symbol, day, q, t in zip(lot_ids, account_ids, symbols, acquired, quantity,
                                                                treatment)]
        return made

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
        part = RecentAcquisitions([self._households[i] for i in keep], np.r_[0, np.cumsum(counts)],
                                  *(c[rows] for c in self._columns))
        part._made = {h: made for h, made in self._made.items() if h in households}
        return part


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
    household_of = dict(zip(account_ids, households))
    treatment = {r: Registration(r).tax_treatment for r in set(registrations)}
    treatment_of = dict(zip(account_ids, map(treatment.__getitem__, registrations)))
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
    bought = q("select account_id, lot_id, symbol, acquired, quantity_e6 from lots where acquired between ? and ?"
               " order by acquired, rowid", [earliest, as_of.isoformat()]).fetchall()
    return RecentTrading(as_of, window_days, identical_groups(merged_groups(identical)), dict(losses),
                         RecentAcquisitions.of(bought, household_of, treatment_of), household_of, treatment_of)
