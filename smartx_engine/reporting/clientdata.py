"""One account's client report for a period, filled from the store (rendered by :mod:`.client`).

What each part is, and where it comes from:

* value change: opening, deposits less withdrawals, income, fees and closing from the daily
  valuations (:mod:`.valuations`); the gain is closing - opening - net flows;
* sleeves: each sleeve's value at the period's end and its target's label;
* allocation: value per asset class (cash as ``cash``); the target weight of a class is the
  sleeves' targets weighted by their values, a sleeve without a target counting its own weights;
* performance: the quarter (the period), the year to date, one year and since inception, each the
  time-weighted return, its benchmark and the money-weighted return over the same span (an XIRR
  rate over the span, not per year, unless the row is annualised: since inception over a year);
* growth: the value, the net amount invested and a benchmark portfolio with the same flows,
  daily over the last year (or since inception);
* holdings: the lots held at the period's end (:mod:`.lots`) at its closes: quantity, value,
  weight, target, basis, unrealised gain and term;
* gains: the period's realised gains by term (wash-sale disallowed losses not deductible),
  the losses harvested, and the unrealised gains by term at its end;
* fees: the fees charged in the period (the account's ``fee`` transactions);
* value delivered: tax alpha, the share of month-ends within bands and the trades avoided
  (:mod:`.value`), and the fees paid.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import numpy as np

from ..domain import CASH_SYMBOL
from ..dsl.policyset import PolicySet
from ..fixedpoint import MONEY, WEIGHT, round_money
from ..store import Store
from ..targets import effective_targets
from .client import (
    AllocationRow, ClientReport, FeeLine, GainsSummary, GrowthPoint, HoldingRow, PerformanceRow, SleeveSummary,
    ValueDelivered,
)
from .lots import lots_on
from .performance import Performance, Scope, first_priced, inception, performance
from .valuations import build_history
from .value import value_delivered

CASH_CLASS = "cash"
DISCLOSURES = (
    "Returns are time-weighted: daily valuations, deposits and withdrawals at the end of the day, daily returns "
    "linked. They are net of fees and include income.",
    "The benchmark is the account's own targets (each sleeve's model, blend or custom allocation, with the "
    "account's restrictions), rebalanced daily and weighted by the sleeves' values; unmanaged sleeves are their "
    "own benchmark. It is a price return (without dividends), so part of a positive difference is income.",
    "The money-weighted return is the internal rate of return of the account's flows (Act/365F); it is a rate "
    "over the period shown, annualised only when the row says so.",
    "Returns over a year or more are annualised only where marked; shorter ones never are.",
    "Securities are valued at each day's close, or the last close before it.",
    "Tax figures are estimates for information, not tax advice; realised gains follow the lots relieved, "
    "with wash-sale disallowed losses deferred into the replacement lots.",
)


def client_report(store: Store, account_id: str, start: dt.date, end: dt.date, label: str, *,
                  policies: PolicySet | None, firm_name: str, generated_on: dt.date) -> ClientReport:
    """The client report of ``account_id`` for the period ``start``..``end`` (``label``: ``2026Q3``)."""
    account = store.account(account_id)
    scope = Scope("account", account.account_id)
    household = store.household(account.household_id)
    began, priced = inception(store, scope) or start, first_priced(store, scope)
    first = max(began, priced) if priced else began  # since inception, or since the prices allow
    history = build_history(store, min(first, start), end, sleeve_ids=scope.sleeve_ids(store))
    rows = scope.rows(history)
    period = performance(store, scope, start=start, end=end)
    closing = period.closing
    targets = effective_targets(store, end, [history.sleeves[i].sleeve_id for i in rows], strict=False)
    target_values = _target_values(history, rows, history.day(end), targets)
    holdings, unrealized = _holdings(store, history, rows, end, target_values if targets else None, closing)
    value = value_delivered(store, build_history(store, start, end, sleeve_ids=scope.sleeve_ids(store)),
                            np.arange(len(rows)), policies)
    fees = _fees(store, account.account_id, start, end)
    return ClientReport(
        firm_name=firm_name, account_id=account.account_id, account_name=account.name,
        household_name=household.name, registration=str(account.registration), custodian=account.custodian,
        period_label=label, period_start=start, period_end=end, generated_on=generated_on,
        opening_value=period.opening, closing_value=closing, net_flows=period.net_flows, income=period.income,
        fees_paid=-period.fees, investment_gain=period.gain,
        sleeves=_sleeves(store, history, rows, end, targets, closing),
        allocation=_allocation(store, holdings, target_values, closing),
        performance=_performance(store, scope, first, start, end, label, period, first == began),
        growth=_growth(store, scope, first, end), holdings=tuple(holdings),
        gains=_gains(store, account.account_id, start, end, -value.tax_alpha.harvested_losses, unrealized),
        fees=fees, value_delivered=ValueDelivered(
            tax_alpha=value.tax_alpha.total, tax_alpha_assumptions=value.tax_alpha.assumptions,
            drift_within_bands=value.share_within_bands, trades_avoided=value.trades_avoided if policies else None,
            fees_paid=-period.fees),
        disclosures=DISCLOSURES)


def _weight(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole).quantize(WEIGHT.unit) if whole else Decimal(0)


def _sleeves(store, history, rows, end, targets, closing) -> tuple[SleeveSummary, ...]:
    day = history.day(end)
    policies = {s.sleeve_id: s.policy for s in store.sleeves()}
    out = []
    for i in rows:
        sleeve_id = history.sleeves[i].sleeve_id
        value = MONEY.to_decimal(int(history.value_cents[i, day]))
        target = targets.get(sleeve_id)
        out.append(SleeveSummary(sleeve_id, target.label if target else "no target (unmanaged)",
                                 policies.get(sleeve_id), value, _weight(value, closing)))
    return tuple(out)


def _holdings(store, history, rows, end, target_value: dict[str, Decimal] | None, closing
              ) -> tuple[list[HoldingRow], dict[str, Decimal]]:
    """One row per security held (and cash) at the end of the period, with its lots' basis and term;
    and the unrealised gains by term, lot by lot."""
    day = history.day(end)
    securities = {s.symbol: s for s in store.securities()}
    closes = {symbol: Decimal(int(history.close_e6[j, day])) / 10**6 for j, symbol in enumerate(history.symbols)}
    lots, basis = defaultdict(list), defaultdict(Decimal)
    unrealized = {"short": Decimal(0), "long": Decimal(0)}
    for lot in lots_on(store, [history.sleeves[i].sleeve_id for i in rows], end):
        term = "long" if end > _anniversary(lot.holding_start) else "short"
        lots[lot.symbol].append(term)
        basis[lot.symbol] += lot.cost_basis
        unrealized[term] += round_money(lot.quantity * closes[lot.symbol]) - lot.cost_basis
    out = []
    for j, symbol in enumerate(history.symbols):
        quantity = int(history.quantity_e6[rows, j, day].sum())
        if quantity == 0:
            continue
        value = MONEY.to_decimal(int(history.holding_cents[rows, j, day].sum()))
        terms = set(lots[symbol])
        security = securities[symbol]
        known = symbol in basis
        out.append(HoldingRow(symbol, security.name, security.asset_class, Decimal(quantity) / 10**6, closes[symbol],
                              value, _weight(value, closing),
                              None if target_value is None else _weight(target_value.get(symbol, Decimal(0)), closing),
                              basis[symbol] if known else None, value - basis[symbol] if known else None,
                              (terms.pop() if len(terms) == 1 else "mixed") if terms else None))
    cash = MONEY.to_decimal(int(history.cash_cents[rows, day].sum()))
    out.sort(key=lambda h: -h.value)
    out.append(HoldingRow(CASH_SYMBOL, "Cash", CASH_CLASS, cash, Decimal(1), cash, _weight(cash, closing),
                          None if target_value is None else _weight(target_value.get(CASH_SYMBOL, Decimal(0)), closing),
                          None, None))
    return out, unrealized


def _anniversary(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _target_values(history, rows, day, targets) -> dict[str, Decimal]:
    """symbol -> the value the sleeves' targets give it (a sleeve without a target: its own holdings)."""
    values: dict[str, Decimal] = defaultdict(Decimal)
    for i in rows:
        sleeve_value = MONEY.to_decimal(int(history.value_cents[i, day]))
        target = targets.get(history.sleeves[i].sleeve_id)
        if target is None:
            for j, symbol in enumerate(history.symbols):
                values[symbol] += MONEY.to_decimal(int(history.holding_cents[i, j, day]))
            values[CASH_SYMBOL] += MONEY.to_decimal(int(history.cash_cents[i, day]))
        else:
            for w in target.weights:
                values[w.symbol] += sleeve_value * w.weight
    return values


def _allocation(store, holdings: list[HoldingRow], targets: dict[str, Decimal], closing: Decimal
                ) -> tuple[AllocationRow, ...]:
    """Value and weight per asset class, with the target weight of the class (securities not held included)."""
    if not closing:
        return ()
    classes = {s.symbol: s.asset_class for s in store.securities()} | {CASH_SYMBOL: CASH_CLASS}
    value: dict[str, Decimal] = defaultdict(Decimal)
    target: dict[str, Decimal] = defaultdict(Decimal)
    for h in holdings:
        value[h.asset_class] += h.value
    for symbol, amount in targets.items():
        target[classes[symbol]] += amount
    names = sorted(value.keys() | target.keys(), key=lambda name: (-value[name], name))
    return tuple(AllocationRow(name, value[name], _weight(value[name], closing), _weight(target[name], closing))
                 for name in names)


def _performance(store, scope, first, start, end, label, period: Performance, from_inception: bool
                 ) -> tuple[PerformanceRow, ...]:
    since_first = "Since inception" if from_inception else f"Since {first:%b %d, %Y} (prices)"
    spans = [(label, start, period), ("Year to date", dt.date(end.year, 1, 1), None),
             ("1 year", end - dt.timedelta(days=364), None), (since_first, first, None)]
    rows = []
    for name, since, known in spans:
        if since < first or (known is None and since == start):
            continue
        p = known or performance(store, scope, start=since, end=end, annualize=True)
        mwr = p.money_weighted
        if p.annualized and name == since_first:
            rows.append(PerformanceRow(name, since, end, p.annualized[0], p.annualized[1], mwr.rate, annualized=True))
        else:
            rows.append(PerformanceRow(name, since, end, p.twr, p.benchmark, mwr.period_return))
    return tuple(rows)


def _growth(store, scope, first, end) -> tuple[GrowthPoint, ...]:
    since = max(first, end - dt.timedelta(days=364))
    p = performance(store, scope, start=since, end=end)
    history = build_history(store, since, end, sleeve_ids=scope.sleeve_ids(store))
    flows = history.flow_cents[scope.rows(history)].sum(axis=0)
    invested = int(history.opening_cents[scope.rows(history)].sum()) + np.cumsum(flows)
    bench_daily = np.concatenate([[p.benchmark_growth[0]], p.benchmark_growth[1:] / p.benchmark_growth[:-1]]) - 1
    bench, value = [], float(history.opening_cents[scope.rows(history)].sum())
    for r, f in zip(bench_daily, flows):
        value = value * (1 + r) + f
        bench.append(value)
    return tuple(GrowthPoint(day, MONEY.to_decimal(int(v)), MONEY.to_decimal(int(i)),
                             round_money(Decimal(b) / 100) if p.benchmark is not None else None)
                 for day, v, i, b in zip(p.dates, p.values, invested, bench))


def _gains(store, account_id, start, end, harvested: Decimal, unrealized: dict[str, Decimal]) -> GainsSummary:
    """Realised by term in the period (a wash sale's disallowed loss is not a loss this year)."""
    rows = store.db.query("select term, sum(gain_cents + disallowed_cents) as allowed, sum(disallowed_cents) as washed"
                          " from realized where account_id = ? and sold between ? and ? group by term",
                          [account_id, start.isoformat(), end.isoformat()])
    realized = {r["term"]: (MONEY.to_decimal(r["allowed"]), MONEY.to_decimal(r["washed"])) for r in rows}
    none = (Decimal("0.00"), Decimal("0.00"))
    return GainsSummary(realized.get("short", none)[0], realized.get("long", none)[0], harvested,
                        sum((w for _, w in realized.values()), Decimal("0.00")), unrealized["short"],
                        unrealized["long"])


def _fees(store, account_id, start, end) -> tuple[FeeLine, ...]:
    rows = store.db.query("select date, amount_cents from transactions where account_id = ? and type = 'fee'"
                          " and date between ? and ? order by date", [account_id, start.isoformat(), end.isoformat()])
    return tuple(FeeLine("Advisory fee", f"charged {dt.date.fromisoformat(r['date']):%b %d, %Y}",
                         -MONEY.to_decimal(r["amount_cents"])) for r in rows)
