"""Each household's recent trading, as a rebalance run needs it for wash sales.

A run reads, per household, the losses realised in its taxable accounts in the last window
(table ``realized``) and the lots acquired recently in any of its accounts (table ``lots``), then
asks :mod:`.wash` which securities a purchase today would wash (:attr:`RecentTrading.blocked`)
and whether a proposed loss sale would itself be washed by a recent purchase.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from functools import cached_property

import attrs

from ..domain import Registration, TaxTreatment
from ..fixedpoint import MONEY, QUANTITY
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


@attrs.frozen
class RecentTrading:
    """Per household: its recent loss sales and acquisitions, and what a purchase on ``as_of`` would wash."""

    as_of: dt.date
    window_days: int
    identical: Identical
    loss_sales: dict[str, list[LossSale]]
    acquisitions: dict[str, list[Acquisition]]
    household_of: dict[str, str]   # account id -> household id
    treatment_of: dict[str, TaxTreatment]

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


def recent_trading(store: Store, as_of: dt.date, *, identical: Iterable[Iterable[str]] = (),
                   window_days: int = 30) -> RecentTrading:
    """What the store knows of every household's trading in the ``window_days`` before ``as_of``."""
    accounts = {r["account_id"]: r for r in store.db.query("select account_id, household_id, registration from accounts")}
    household_of = {a: r["household_id"] for a, r in accounts.items()}
    treatment_of = {a: Registration(r["registration"]).tax_treatment for a, r in accounts.items()}
    since = (as_of - dt.timedelta(days=window_days)).isoformat()
    losses: dict[str, list[LossSale]] = defaultdict(list)
    for r in store.db.query("select * from realized where gain_cents < 0 and sold between ? and ?",
                            [since, as_of.isoformat()]):
        if treatment_of[r["account_id"]] == TaxTreatment.TAXABLE:
            losses[household_of[r["account_id"]]].append(LossSale(
                f"{r['transaction_id']}:{r['lot_id']}", r["account_id"], r["symbol"], dt.date.fromisoformat(r["sold"]),
                QUANTITY.to_decimal(r["quantity_e6"]), MONEY.to_decimal(-r["gain_cents"]),
                dt.date.fromisoformat(r["holding_from"]), r["lot_id"]))
    bought: dict[str, list[Acquisition]] = defaultdict(list)
    earliest = (as_of - dt.timedelta(days=2 * window_days)).isoformat()
    for r in store.db.query("select * from lots where acquired between ? and ?", [earliest, as_of.isoformat()]):
        bought[household_of[r["account_id"]]].append(Acquisition(
            r["lot_id"], r["account_id"], r["symbol"], dt.date.fromisoformat(r["acquired"]),
            QUANTITY.to_decimal(r["quantity_e6"]), treatment_of[r["account_id"]]))
    return RecentTrading(as_of, window_days, identical_groups(merged_groups(identical)), dict(losses), dict(bought),
                         household_of, treatment_of)
