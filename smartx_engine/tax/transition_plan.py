"""What a tax-aware transition plan holds and how it reads as JSON (see :mod:`.transition`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from ..domain import Side, Trade
from ..fixedpoint import round_money
from .relief import Relief

#: weights and tracking are printed with this many decimals (exact fractions inside)
WEIGHT_PLACES = Decimal("0.000001")
CENTS = Decimal("0.00")


def exact_weight(value: Fraction) -> Decimal:
    """An exact fraction as a weight printed to 6 decimals (half-even)."""
    return Decimal(round(value * 1_000_000)).scaleb(-6).quantize(WEIGHT_PLACES)


def text(value: Decimal | None) -> str | None:
    """A decimal as exact text (None stays None)."""
    return None if value is None else f"{value:f}"


def terms_json(values: Mapping[str, Decimal]) -> dict[str, str]:
    return {k: f"{v:f}" for k, v in values.items()}

@attrs.frozen
class SoldLot:
    """One lot's part of a transition sell: ``step`` is ``loss`` (a loss or no gain, sold first) or
    ``gain`` (sold within the budget)."""

    symbol: str
    relief: Relief
    step: str
    reason: str


@attrs.frozen
class Sell:
    """The sell of one security: its lots in the order the plan chose them."""

    symbol: str
    price: Decimal
    lots: tuple[SoldLot, ...]
    reasons: tuple[str, ...]

    @property
    def quantity(self) -> Decimal:
        return sum((lot.relief.quantity for lot in self.lots), Decimal(0))

    @property
    def proceeds(self) -> Decimal:
        return sum((lot.relief.proceeds for lot in self.lots), CENTS)

    @property
    def cost_basis(self) -> Decimal:
        return sum((lot.relief.cost_basis for lot in self.lots), CENTS)

    @property
    def gain(self) -> Decimal:
        return sum((lot.relief.gain for lot in self.lots), CENTS)


@attrs.frozen
class Buy:
    symbol: str
    quantity: Decimal
    price: Decimal
    target: Decimal  # the model weight
    reasons: tuple[str, ...]

    @property
    def value(self) -> Decimal:
        return round_money(self.quantity * self.price)


@attrs.frozen
class LegacyPosition:
    """Sellable shares of one security the plan keeps; ``lots`` are the parts of lots they are, in
    the order they would be sold, each with what selling it at today's price would realise."""

    symbol: str
    price: Decimal
    lots: tuple[Relief, ...]

    @property
    def quantity(self) -> Decimal:
        return sum((r.quantity for r in self.lots), Decimal(0))

    @property
    def value(self) -> Decimal:
        return sum((r.proceeds for r in self.lots), CENTS)

    @property
    def cost_basis(self) -> Decimal:
        return sum((r.cost_basis for r in self.lots), CENTS)

    @property
    def unrealized(self) -> Decimal:
        return self.value - self.cost_basis


@attrs.frozen
class Budget:
    """The gain budget: the most net realised gain of the calendar year, what was realised before
    the plan (year to date) and what the plan realises. ``applies`` is false without a budget and
    in a tax-deferred account."""

    given: Decimal | None
    applies: bool
    year_to_date: Decimal
    plan: Decimal
    binding: bool  # some sellable shares are kept because of the budget

    @property
    def left(self) -> Decimal | None:
        return self.given - self.year_to_date - self.plan if self.applies and self.given is not None else None


@attrs.frozen
class Holding:
    """A security (or ``$CASH``) of the sleeve after the plan, with its weight and target."""

    symbol: str
    quantity: Decimal | None  # None for cash
    value: Decimal
    weight: Decimal
    target: Decimal


@attrs.frozen
class PlanYear:
    """One following year of the multi-year plan."""

    year: int
    on: dt.date
    sells: tuple[Sell, ...]
    realized: dict[str, Decimal]
    tax: dict[str, Decimal]
    legacy_value: Decimal  # what is left of the legacy positions after this year, at today's prices


@attrs.frozen
class TransitionPlan:
    """What moving a sleeve to a model does: trades, gains, tax, budget, legacy and what is left to do."""

    sleeve_id: str
    account_id: str
    from_model: str | None
    model_id: str
    model_version: str
    as_of: dt.date
    registration: str
    tax_deferred: bool
    rates: tuple[Decimal, Decimal]  # (short-term, long-term) used for tax; 0 in tax-deferred accounts
    value: Decimal
    cash: Decimal
    sells: tuple[Sell, ...]
    buys: tuple[Buy, ...]
    realized: dict[str, Decimal]  # short, long, total: net gains of the plan's sells
    tax: dict[str, Decimal]
    budget: Budget
    legacy: tuple[LegacyPosition, ...]
    cash_after: Decimal
    holdings: tuple[Holding, ...]  # after the plan
    tracking_before: Decimal | None
    tracking_after: Decimal | None
    years: tuple[PlanYear, ...]
    complete: bool  # nothing sellable is left after the plan and its following years
    notes: tuple[str, ...]
    digest: str
    run_id: str | None = None
    trade_ids: tuple[str, ...] = ()

    @property
    def proceeds(self) -> Decimal:
        return sum((s.proceeds for s in self.sells), CENTS)

    @property
    def spent(self) -> Decimal:
        return sum((b.value for b in self.buys), CENTS)

    def trades(self) -> list[Trade]:
        """The plan's trades, sells then buys (ids ``T-PENDING`` until stored)."""
        trades = []
        for i, (side, order) in enumerate([(Side.SELL, s) for s in self.sells] + [(Side.BUY, b) for b in self.buys]):
            trade_id = self.trade_ids[i] if self.trade_ids else "T-PENDING"
            trades.append(Trade(trade_id=trade_id, run_id=self.run_id or "R-PENDING", account_id=self.account_id,
                                sleeve_id=self.sleeve_id, symbol=order.symbol, side=side, quantity=order.quantity,
                                est_price=order.price, reasons=order.reasons))
        return trades

    def trade_lots(self) -> list[list[dict[str, str]]]:
        """Each trade's ``lots`` in the JSON shape of rebalance proposals (sells only)."""
        return [[lot.relief.as_json() for lot in s.lots] for s in self.sells] + [[] for _ in self.buys]

    def as_json(self) -> dict[str, Any]:
        """The stable JSON shape of ``smartx transition --json`` (decimals as strings)."""
        trades = [{"trade_id": t.trade_id if self.run_id else None, "run_id": self.run_id,
                   "account_id": t.account_id, "sleeve_id": t.sleeve_id, "symbol": t.symbol, "side": str(t.side),
                   "quantity": text(t.quantity), "est_price": text(t.est_price), "est_value": text(t.est_value),
                   "status": str(t.status), "reasons": list(t.reasons), "lots": lots}
                  for t, lots in zip(self.trades(), self.trade_lots())]
        budget = self.budget
        return {
            "run_id": self.run_id, "sleeve_id": self.sleeve_id, "account_id": self.account_id,
            "from_model": self.from_model, "model_id": self.model_id, "model_version": self.model_version,
            "as_of": self.as_of.isoformat(), "registration": self.registration, "tax_deferred": self.tax_deferred,
            "rates": {"short": text(self.rates[0]), "long": text(self.rates[1])},
            "value": text(self.value), "cash": text(self.cash), "proceeds": text(self.proceeds), "spent": text(self.spent),
            "cash_after": text(self.cash_after), "trades": trades,
            "realized": terms_json(self.realized), "tax": terms_json(self.tax),
            "budget": {"given": text(budget.given), "applies": budget.applies, "year_to_date": text(budget.year_to_date),
                       "plan": text(budget.plan), "left": text(budget.left), "binding": budget.binding},
            "legacy": [_legacy_json(p) for p in self.legacy],
            "holdings_after": [{"symbol": h.symbol, "quantity": text(h.quantity), "value": text(h.value),
                                "weight": text(h.weight), "target": text(exact_weight(Fraction(h.target)))} for h in self.holdings],
            "tracking": {"before": text(self.tracking_before), "after": text(self.tracking_after)},
            "multi_year": {
                "budget": text(budget.given) if self.years else None, "prices_as_of": self.as_of.isoformat(),
                "complete": self.complete,
                "years": [{"year": y.year, "on": y.on.isoformat(),
                           "sells": [{"symbol": s.symbol, "quantity": text(s.quantity), "est_price": text(s.price),
                                      "proceeds": text(s.proceeds), "gain": text(s.gain),
                                      "lots": [lot.relief.as_json() for lot in s.lots]} for s in y.sells],
                           "realized": terms_json(y.realized), "tax": terms_json(y.tax),
                           "legacy_value_after": text(y.legacy_value)} for y in self.years]},
            "notes": list(self.notes),
        }


def _legacy_json(p: LegacyPosition) -> dict[str, Any]:
    return {"symbol": p.symbol, "quantity": text(p.quantity), "price": text(p.price), "value": text(p.value),
            "cost_basis": text(p.cost_basis), "unrealized_gain": text(p.unrealized),
            "lots": [{"lot_id": r.lot_id, "quantity": text(r.quantity), "cost_basis": text(r.cost_basis),
                      "acquired": r.acquired.isoformat(), "term": str(r.term), "value": text(r.proceeds),
                      "unrealized_gain": text(r.gain)} for r in p.lots]}


# ---------------------------------------------------------------- planning
