"""Performance of a sleeve, an account or a household over a period: what ``smartx report performance`` shows.

From the daily valuations (:mod:`.valuations`): the time-weighted return (daily-linked, flows at
the end of the day, net of fees), against the benchmark (the targets' own return, :mod:`.benchmark`);
the Modified Dietz return of the period; the money-weighted return (XIRR, with no solution and
multiple roots reported as such); the linked returns of every calendar month, quarter and year
the period touches (partial ones marked). The period starts at the scope's inception (its first
transaction), or the first day every security it held has a price if that is later, unless told
otherwise. Returns over a year or more are annualised only when asked.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import attrs
import numpy as np

from ..errors import DataError
from ..fixedpoint import MONEY
from ..store import Store
from .benchmark import aggregate_benchmark, benchmark_returns, unmanaged_as_their_own
from .dietz import ModifiedDietz, modified_dietz
from .history import History
from .irr import Xirr, investor_cashflows, xirr
from .returns import FREQUENCIES, annualized, cumulative, daily_returns, link, period_returns
from .valuations import build_history


@attrs.frozen
class Scope:
    """What is measured: one sleeve, the sleeves of an account, or of a household."""

    kind: str  # sleeve, account or household
    ident: str

    @property
    def label(self) -> str:
        return f"{self.kind} {self.ident}"

    def rows(self, history: History) -> np.ndarray:
        return history.rows(**{f"{self.kind}_id": self.ident})

    def sleeve_ids(self, store: Store) -> list[str]:
        if self.kind == "sleeve":
            return [store.sleeve(self.ident).sleeve_id]
        if self.kind == "account":
            return [s.sleeve_id for s in store.sleeves(store.account(self.ident).account_id)]
        household = store.household(self.ident).household_id
        return [s.sleeve_id for a in store.accounts(household) for s in store.sleeves(a.account_id)]


@attrs.frozen
class PeriodRow:
    """The linked returns of one calendar period: the portfolio's and its benchmark's."""

    label: str
    start: dt.date
    end: dt.date
    partial: bool
    twr: float
    benchmark: float | None

    def as_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class Performance:
    scope: Scope
    start: dt.date
    end: dt.date
    inception: dt.date | None
    opening: Decimal
    closing: Decimal
    net_flows: Decimal
    income: Decimal
    fees: Decimal
    twr: float
    benchmark: float | None
    annualized: tuple[float, float | None] | None  # (twr, benchmark) per year, when asked and a year or more
    dietz: ModifiedDietz
    money_weighted: Xirr
    periods: dict[str, tuple[PeriodRow, ...]]  # month, quarter, year
    dates: tuple[dt.date, ...]
    growth: np.ndarray  # the growth of 1 at the end of each day
    benchmark_growth: np.ndarray
    values: np.ndarray  # end-of-day value, cents

    @property
    def gain(self) -> Decimal:
        """The investment gain: closing - opening - net flows (income and fees included)."""
        return self.closing - self.opening - self.net_flows

    @property
    def excess(self) -> float | None:
        return None if self.benchmark is None else self.twr - self.benchmark

    def as_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope.kind, "id": self.scope.ident, "start": self.start, "end": self.end,
            "inception": self.inception, "opening": self.opening, "closing": self.closing,
            "net_flows": self.net_flows, "income": self.income, "fees": self.fees, "gain": self.gain,
            "twr": self.twr, "benchmark": self.benchmark, "excess": self.excess,
            "annualized": None if self.annualized is None else
            {"twr": self.annualized[0], "benchmark": self.annualized[1]},
            "modified_dietz": {"value": self.dietz.value, "reason": self.dietz.reason,
                               "gain": self.dietz.numerator, "average_capital": self.dietz.denominator},
            "money_weighted": {"status": self.money_weighted.status, "rate": self.money_weighted.rate,
                               "roots": list(self.money_weighted.roots), "message": self.money_weighted.message},
            "periods": {k: [p.as_json() for p in rows] for k, rows in self.periods.items()},
        }


def inception(store: Store, scope: Scope) -> dt.date | None:
    """The day of the scope's first transaction (None: it has none)."""
    row = store.db.execute("select min(date) from transactions where sleeve_id in (select value from json_each(?))",
                           [json.dumps(scope.sleeve_ids(store))]).fetchone()
    return dt.date.fromisoformat(row[0]) if row[0] else None


def first_priced(store: Store, scope: Scope) -> dt.date | None:
    """The first day a history of the scope can start: the day after the first close of every
    security it held before that security had a close (None: no such security)."""
    sleeves = json.dumps(scope.sleeve_ids(store))
    row = store.db.execute(
        """select max(first) from (
             select held.symbol, min(held.since) as since, (select min(date) from prices p
                                                            where p.symbol = held.symbol) as first
             from (select symbol, acquired as since from lots where sleeve_id in (select value from json_each(:s))
                   union all select symbol, acquired from realized where sleeve_id in (select value from json_each(:s))
                   union all select symbol, date from transactions where sleeve_id in (select value from json_each(:s))
                   and type = 'buy') held group by held.symbol)
           where first is null or first > since""", {"s": sleeves}).fetchone()
    return dt.date.fromisoformat(row[0]) + dt.timedelta(days=1) if row and row[0] else None


def performance(store: Store, scope: Scope, *, start: dt.date | None = None, end: dt.date,
                annualize: bool = False) -> Performance:
    """The performance of ``scope`` from ``start`` (default: its inception) to ``end``."""
    first, priced = inception(store, scope), first_priced(store, scope)
    if start is None and first is None:
        raise DataError(f"{scope.label} has no transactions, so no inception: give the start of the period")
    if priced and (start or first) < priced:
        if start is not None:
            raise DataError(f"{scope.label} held securities before their first close: its history can start on "
                            f"{priced} at the earliest (give --start {priced} or later, or add the price history)")
        start = priced  # since inception, as far as the prices go
    start = start or first
    history = build_history(store, start, end, sleeve_ids=scope.sleeve_ids(store))
    rows = scope.rows(history)
    opening = int(history.opening_cents[rows].sum())
    values = history.value_cents[rows].sum(axis=0)
    flows = history.flow_cents[rows].sum(axis=0)
    daily = daily_returns(opening, values, flows)
    bench = aggregate_benchmark(history, rows, unmanaged_as_their_own(history, benchmark_returns(store, history)))
    dates = history.dates
    twr, bench_total = link(daily), _known(link(bench))
    periods = {f: tuple(PeriodRow(p.label, p.start, p.end, p.partial, float(p.value), _known(float(b.value)))
                        for p, b in zip(period_returns(dates, daily, f), period_returns(dates, bench, f)))
               for f in FREQUENCIES}
    flow_list = [(dates[i], MONEY.to_decimal(int(flows[i]))) for i in np.flatnonzero(flows)]
    opening_usd, closing_usd = MONEY.to_decimal(opening), MONEY.to_decimal(int(values[-1]))
    years = None
    if annualize and history.days >= 365:
        years = (annualized(twr, history.days), None if bench_total is None else annualized(bench_total, history.days))
    return Performance(
        scope, start, end, first, opening_usd, closing_usd, sum((a for _, a in flow_list), Decimal("0.00")),
        MONEY.to_decimal(int(history.income_cents[rows].sum())), MONEY.to_decimal(int(history.fee_cents[rows].sum())),
        twr, bench_total, years, modified_dietz(opening_usd, closing_usd, flow_list, start, end),
        xirr(investor_cashflows(opening_usd, flow_list, closing_usd, start, end)), periods, tuple(dates),
        cumulative(daily), cumulative(np.nan_to_num(bench)), values)


def _known(value: float) -> float | None:
    return None if np.isnan(value) else float(value)

