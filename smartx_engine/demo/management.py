"""How the demo firm managed its sleeves: a day-by-day simulation that writes their history.

A managed sleeve opens with a deposit invested at its model's target weights at that day's
closes. Then, every business day until the firm's last review:

* the client's deposits are invested and withdrawals raised by a rebalance to target;
* at each quarter end the sleeve is paid dividends (its asset class's yield, a quarter of it, on
  the shares held) and charged the advisory fee (0.25 % of its positions);
* at each weekly review (Fridays) the sleeve is rebalanced to target when a holding has drifted
  past its band, or cash past its limits (:data:`BANDS`: the numbers of the firm's policies in
  ``rules/``, checked here without the policy language); income sleeves also at the first review
  of each quarter, and balanced sleeves are left alone from 20 December to the year's end, as
  their policies say.

A rebalance trades whole shares at the day's close towards the target in force that day (a model
version applies from its date), skips trades below the policy's minimum, sells before it buys
and keeps the cash target. Sells relieve lots highest cost first in taxable accounts and first in,
first out in IRAs (the policies' ``lots`` settings); a lot partly sold keeps the rest. After the
last review (a month or three before ``as_of``) nothing is rebalanced: the sleeve drifts, and a
withdrawal then is paid by selling its largest holding alone. Money is ``Decimal`` (cents rounded
half-even), shares whole; floats only weigh the holdings against the bands.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import NamedTuple

import attrs

from .market import ASSET_CLASS, Market, dividend_yield, money, quarter_ends

CASH = "$CASH"
QUARTERLY_FEE = Decimal("0.0025")  # 1 % a year, billed on positions at each quarter end


@attrs.frozen
class Bands:
    """A policy's drift bands, cash limits and smallest trade, as its ``rules/*.policy`` file states them.

    ``by_class`` replaces the absolute and relative band for an asset class, ``taxable_by_class``
    the same in taxable accounts only. ``quarterly``: also rebalanced at the first review of January,
    April, July and October (income's trigger); ``year_end_freeze``: no review from 20 December
    (balanced's rule).
    """

    absolute: float
    relative: float
    cash: tuple[float, float]
    min_trade: Decimal
    by_class: Mapping[str, tuple[float, float]] = attrs.field(factory=dict)
    taxable_by_class: Mapping[str, tuple[float, float]] = attrs.field(factory=dict)
    quarterly: bool = False
    year_end_freeze: bool = False

    def limits(self, symbol: str, taxable: bool) -> tuple[float, float]:
        """The absolute and relative band of a holding of ``symbol``."""
        asset_class = ASSET_CLASS[symbol]
        if taxable and asset_class in self.taxable_by_class:
            return self.taxable_by_class[asset_class]
        return self.by_class.get(asset_class, (self.absolute, self.relative))


_BALANCED = Bands(0.05, 0.25, (0.01, 0.04), Decimal(250), by_class={"fixed_income": (0.03, 0.25)},
                  year_end_freeze=True)
#: policy name -> its bands (balanced.policy, growth.policy (extends ira.policy), income.policy)
BANDS = {
    "balanced": _BALANCED,
    "balanced-ira": _BALANCED,
    "growth": Bands(0.06, 0.35, (0.01, 0.05), Decimal(100)),
    "income": Bands(0.04, 0.20, (0.01, 0.05), Decimal(500), taxable_by_class={"municipal": (0.04, 0.10)},
                    quarterly=True),
}


@attrs.frozen
class SleeveSpec:
    """A sleeve and what its history depends on: its model, its account's taxes, its first day."""

    sleeve_id: str
    account_id: str
    model_id: str
    policy: str
    taxable: bool
    start: int


@attrs.define
class Lot:
    """Shares of one security bought on business day ``day``; ``quantity`` is what is still held."""

    symbol: str
    day: int
    quantity: Decimal


class Flow(NamedTuple):
    """One movement of cash in a sleeve on business day ``day``; ``amount`` is signed."""

    day: int
    type: str
    amount: Decimal
    symbol: str = ""
    quantity: Decimal | None = None
    price: Decimal | None = None


@attrs.frozen
class Plan:
    """What happens to a managed sleeve beyond its management: the client's money and the last review.

    ``deposits`` and ``withdrawals`` are (day, fraction of the sleeve's value) pairs, invested or
    raised by a rebalance before ``freeze`` (the first day without reviews); ``uninvested`` are
    (day, amount) deposits left in cash.
    """

    opening: Decimal
    freeze: int
    deposits: tuple[tuple[int, float], ...] = ()
    withdrawals: tuple[tuple[int, float], ...] = ()
    uninvested: tuple[tuple[int, Decimal], ...] = ()


class Sleeve:
    """A sleeve's lots, cash and transactions as the simulation goes."""

    def __init__(self, spec: SleeveSpec, market: Market):
        self.spec, self.market = spec, market
        self.cash = Decimal(0)
        self.lots: dict[str, list[Lot]] = {}
        self.flows: list[Flow] = []

    def shares(self, symbol: str) -> Decimal:
        return sum((lot.quantity for lot in self.lots.get(symbol, ())), Decimal(0))

    def held(self) -> dict[str, Decimal]:
        """symbol -> shares held, for the securities held."""
        return {s: n for s in sorted(self.lots) if (n := self.shares(s))}

    def positions(self, day: int) -> Decimal:
        """The value of the positions at ``day``'s closes, exact."""
        return sum((n * self.market.close(s, day) for s, n in self.held().items()), Decimal(0))

    def value(self, day: int) -> Decimal:
        return self.positions(day) + self.cash

    def move(self, day: int, type_: str, amount: Decimal, symbol: str = "") -> None:
        """Cash in (+) or out (-): a deposit, withdrawal, dividend or fee."""
        amount = money(amount)
        if amount:
            self.cash += amount
            self.flows.append(Flow(day, type_, amount, symbol))

    def buy(self, day: int, symbol: str, quantity: Decimal) -> None:
        price = self.market.close(symbol, day)
        amount = money(quantity * price)
        self.cash -= amount
        self.lots.setdefault(symbol, []).append(Lot(symbol, day, quantity))
        self.flows.append(Flow(day, "buy", -amount, symbol, quantity, price))

    def sell(self, day: int, symbol: str, quantity: Decimal) -> None:
        """Sell ``quantity`` shares, relieving lots highest cost first (taxable) or oldest first (IRA)."""
        price = self.market.close(symbol, day)
        lots = self.lots[symbol]
        if self.spec.taxable:
            order = sorted(lots, key=lambda lot: (-self.market.close(symbol, lot.day), lot.day))
        else:
            order = sorted(lots, key=lambda lot: lot.day)
        left = quantity
        for lot in order:
            relieved = min(left, lot.quantity)
            lot.quantity -= relieved
            left -= relieved
            if not left:
                break
        if left:
            raise AssertionError(f"{self.spec.sleeve_id} sells {quantity} {symbol} but holds less")
        self.lots[symbol] = [lot for lot in lots if lot.quantity]
        if not self.lots[symbol]:
            del self.lots[symbol]
        amount = money(quantity * price)
        self.cash += amount
        self.flows.append(Flow(day, "sell", amount, symbol, quantity, price))

    def income_and_fee(self, day: int) -> None:
        """A quarter's dividends on the shares held, then the quarter's advisory fee on the positions."""
        for symbol, n in self.held().items():
            self.move(day, "dividend", n * self.market.close(symbol, day) * dividend_yield(symbol) / 4, symbol)
        fee = money(self.positions(day) * QUARTERLY_FEE)
        if fee > self.cash:
            self.raise_cash(day, fee - self.cash)
        self.move(day, "fee", -fee)

    def raise_cash(self, day: int, amount: Decimal) -> None:
        """Raise ``amount`` in cash by selling the largest holding alone (no rebalance): the cash
        already there stays. Without a holding, the client deposits it."""
        held = self.held()
        if not held:
            self.move(day, "deposit", _round_up(amount, 1000))
            return
        symbol = max(held, key=lambda s: (held[s] * self.market.close(s, day), s))
        price = self.market.close(symbol, day)
        self.sell(day, symbol, min(held[symbol], (amount / price).to_integral_value(rounding=ROUND_CEILING)))


class Manager:
    """Runs a managed sleeve's simulation: ``target(day)`` gives the weights in force (cash included)."""

    def __init__(self, sleeve: Sleeve, target: Callable[[int], Mapping[str, Decimal]], bands: Bands):
        self.sleeve, self.target, self.bands = sleeve, target, bands
        self.rebalances: list[int] = []

    def run(self, plan: Plan) -> Sleeve:
        sleeve, market = self.sleeve, self.sleeve.market
        start = sleeve.spec.start
        quarter_end = set(quarter_ends(market.days))
        deposits, withdrawals = dict(plan.deposits), dict(plan.withdrawals)
        uninvested = dict(plan.uninvested)
        sleeve.move(start, "deposit", plan.opening)
        self.rebalance(start)
        for day in range(start + 1, market.last + 1):
            reviewing = day < plan.freeze
            if day in deposits:
                sleeve.move(day, "deposit", _round(sleeve.value(day) * Decimal(deposits[day]), 1000))
                if reviewing:
                    self.rebalance(day)
            if day in withdrawals:
                amount = _round(sleeve.value(day) * Decimal(withdrawals[day]), 1000)
                if reviewing:
                    self.rebalance(day, reserve=amount)
                else:
                    sleeve.raise_cash(day, amount)
                sleeve.move(day, "withdrawal", -amount)
            if day in uninvested:
                sleeve.move(day, "deposit", uninvested[day])
            if day in quarter_end:
                sleeve.income_and_fee(day)
            if reviewing and self.review(day):
                self.rebalance(day)
        return sleeve

    def review(self, day: int) -> bool:
        """Whether the weekly review of ``day`` (a Friday) rebalances the sleeve."""
        date = self.sleeve.market.days[day]
        if date.weekday() != 4 or (self.bands.year_end_freeze and date.month == 12 and date.day >= 20):
            return False
        return (self.bands.quarterly and date.month % 3 == 1 and date.day <= 7) or self.out_of_bands(day)

    def weights(self, day: int) -> tuple[dict[str, float], float]:
        """The holdings' weights (securities held or in the target) and the cash weight, at ``day``."""
        sleeve, market = self.sleeve, self.sleeve.market
        values = {s: float(n) * market.floats[s][day] for s, n in sleeve.held().items()}
        total = sum(values.values()) + float(sleeve.cash)
        symbols = set(values) | {s for s in self.target(day) if s != CASH}
        return {s: values.get(s, 0.0) / total for s in symbols}, float(sleeve.cash) / total

    def out_of_bands(self, day: int) -> bool:
        """Whether a holding is past its band or the cash past its limits, against the target in force."""
        weights, cash = self.weights(day)
        target = self.target(day)
        low, high = self.bands.cash
        if not low <= cash <= high:
            return True
        for symbol, weight in weights.items():
            goal = float(target.get(symbol, 0))
            absolute, relative = self.bands.limits(symbol, self.sleeve.spec.taxable)
            drift = abs(weight - goal)
            if drift > absolute or (drift > relative * goal if goal else weight > 0):
                return True
        return False

    def rebalance(self, day: int, reserve: Decimal = Decimal(0)) -> None:
        """Trade to the target in force on ``day`` (whole shares), keeping ``reserve`` in cash beyond it."""
        sleeve, market = self.sleeve, self.sleeve.market
        target = self.target(day)
        total = sleeve.value(day) - reserve
        held = sleeve.held()
        trades = {}
        for symbol in sorted(set(held) | {s for s in target if s != CASH}):
            price = market.close(symbol, day)
            wanted = (target.get(symbol, Decimal(0)) * total / price).to_integral_value(rounding=ROUND_HALF_EVEN)
            delta = wanted - held.get(symbol, Decimal(0))
            if delta and (wanted == 0 or abs(delta) * price >= self.bands.min_trade):
                trades[symbol] = delta
        for symbol, delta in trades.items():
            if delta < 0:
                sleeve.sell(day, symbol, -delta)
        buys = sorted(((s, d) for s, d in trades.items() if d > 0), key=lambda t: -t[1] * market.close(t[0], day))
        for symbol, delta in buys:
            price = market.close(symbol, day)
            affordable = ((sleeve.cash - reserve) / price).to_integral_value(rounding=ROUND_FLOOR)
            if (quantity := min(delta, affordable)) > 0 and quantity * price >= self.bands.min_trade:
                sleeve.buy(day, symbol, quantity)
        self.rebalances.append(day)


def _round(value: Decimal, step: int) -> Decimal:
    """``value`` rounded half-even to a multiple of ``step`` dollars (at least one step)."""
    return max((value / step).to_integral_value(rounding=ROUND_HALF_EVEN), Decimal(1)) * step


def _round_up(value: Decimal, step: int) -> Decimal:
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def log_uniform(u: float, low: float, high: float) -> float:
    """A value between ``low`` and ``high``, evenly spread on a log scale, from ``u`` in [0, 1)."""
    return math.exp(math.log(low) + u * (math.log(high) - math.log(low)))


def day_on_or_after(days: tuple[dt.date, ...], date: dt.date) -> int:
    """The number of the first business day on or after ``date``."""
    return bisect.bisect_left(days, date)
