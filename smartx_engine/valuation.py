"""What sleeves and accounts are worth now, exactly, from lots, cash and current prices.

Market value of a position = quantity x current price, rounded half-even to the cent per position;
a sleeve's total is its positions plus its cash. Weights are value / total, to 6 decimals.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import attrs

from .domain import CASH_SYMBOL, Sleeve
from .fixedpoint import QUANTITY, round_money
from .store import Store
from .targets import EffectiveTarget, effective_targets

WEIGHT_PLACES = Decimal("0.000001")
ZERO_WEIGHT = Decimal(0).quantize(WEIGHT_PLACES)


@attrs.frozen
class HoldingValue:
    symbol: str
    quantity: Decimal
    price: Decimal
    market_value: Decimal
    cost_basis: Decimal
    lots: int
    weight: Decimal
    target: Decimal | None

    @property
    def unrealized_gain(self) -> Decimal:
        return self.market_value - self.cost_basis


@attrs.frozen
class SleeveValue:
    sleeve: Sleeve
    model_version: str | None
    holdings: tuple[HoldingValue, ...]
    cash: Decimal
    cash_weight: Decimal
    cash_target: Decimal | None
    target: EffectiveTarget | None = None  # its model, blend or custom allocation, with the account's restrictions

    @property
    def market_value(self) -> Decimal:
        return sum((h.market_value for h in self.holdings), Decimal(0))

    @property
    def total_value(self) -> Decimal:
        return self.market_value + self.cash


def _weight(value: Decimal, total: Decimal) -> Decimal:
    return (value / total).quantize(WEIGHT_PLACES) if total else ZERO_WEIGHT


def value_sleeves(store: Store, *, account_id: str | None = None, sleeve_id: str | None = None) -> list[SleeveValue]:
    """Valuations of the sleeves in scope, with each holding's weight and effective target (its
    model's, blend's or custom allocation's weight after the account's restrictions, to 10 decimals)."""
    prices = store.prices()
    positions = defaultdict(list)
    for position in store.positions(account_id=account_id, sleeve_id=sleeve_id):
        positions[position.sleeve_id].append(position)
    cash = {c.sleeve_id: c.amount for c in store.cash(account_id=account_id, sleeve_id=sleeve_id)}
    sleeves = [store.sleeve(sleeve_id)] if sleeve_id else store.sleeves(account_id)
    effective = effective_targets(store, sleeve_ids=[s.sleeve_id for s in sleeves])
    values = []
    for sleeve in sleeves:
        model = effective.get(sleeve.sleeve_id)
        target = {symbol: weight.normalize() for symbol, weight in model.as_dict().items()} if model else {}
        held = [(p, round_money(p.quantity * prices[p.symbol])) for p in positions[sleeve.sleeve_id]]
        cash_amount = cash.get(sleeve.sleeve_id, Decimal("0.00"))
        total = sum((v for _, v in held), Decimal(0)) + cash_amount
        holdings = [
            HoldingValue(p.symbol, p.quantity, prices[p.symbol], v, p.cost_basis, p.lots,
                         _weight(v, total), target.get(p.symbol, Decimal(0)) if model else None)
            for p, v in held
        ]
        held_symbols = {h.symbol for h in holdings}
        holdings += [  # in the target but not held
            HoldingValue(sym, QUANTITY.to_decimal(0), prices[sym], Decimal("0.00"), Decimal("0.00"), 0, ZERO_WEIGHT,
                         weight)
            for sym, weight in sorted(target.items()) if sym != CASH_SYMBOL and sym not in held_symbols
        ]
        values.append(SleeveValue(
            sleeve, model.version if model else None, tuple(sorted(holdings, key=lambda h: h.symbol)),
            cash_amount, _weight(cash_amount, total), target.get(CASH_SYMBOL, Decimal(0)) if model else None, model,
        ))
    return values
