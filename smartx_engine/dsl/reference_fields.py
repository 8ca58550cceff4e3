"""The reference evaluator's side of the book: plain Python rows and every field, as documented.

Part of the reference evaluator (:mod:`.reference`, whose docstring gives the conventions): the
book read into rows (:func:`sleeve_rows`), plain float arithmetic with IEEE 754's none and
infinities, and each field of :data:`schema.FIELDS` computed from the rows.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Iterable, Sequence

import attrs
import numpy as np

from ..book import TARGET_KINDS, Book
from ..domain import Registration
from . import ast

NONE = math.nan


# ---------------------------------------------------------------- the book as plain rows


@attrs.frozen
class LotRow:
    lot_id: str
    quantity: float
    cost: float
    acquired: dt.date


@attrs.frozen
class HoldingRow:
    symbol: str
    asset_class: str
    price: float
    quantity: float
    cost: float
    target: float          # none (nan) when the sleeve has no model
    in_model: bool
    lots: tuple[LotRow, ...]


@attrs.frozen
class AccountRow:
    account_id: str
    registration: str
    custodian: str
    household: str
    st_tax_rate: float
    lt_tax_rate: float


@attrs.frozen
class SleeveRow:
    index: int             # the sleeve's row in the book
    sleeve_id: str
    model: str             # "" without a model
    target_kind: str       # model, blend, custom; "" without a target
    cash: float
    cash_target: float     # none (nan) without a model
    model_changed: bool    # its model has a newer version than the one it was last rebalanced to
    model_move: float      # the largest |weight change| since that version (0 when unchanged)
    account: AccountRow
    holdings: tuple[HoldingRow, ...]


def _string(vocab: np.ndarray, code: int) -> str:
    return "" if code < 0 else str(vocab[code])


def sleeve_rows(book: Book) -> list[SleeveRow]:
    """Every sleeve of ``book`` with its account, holdings and lots, as plain Python values."""
    lots_of: dict[int, list[LotRow]] = {}
    for i in range(book.n_lots):
        acquired = dt.date.fromisoformat(str(book.lot_acquired[i]))
        lots_of.setdefault(int(book.lot_holding[i]), []).append(
            LotRow(book.lot_id(i), float(book.lot_quantity[i]), float(book.lot_cost[i]), acquired))
    holdings_of: dict[int, list[HoldingRow]] = {}
    for h in range(book.n_holdings):
        symbol = int(book.holding_symbol[h])
        holdings_of.setdefault(int(book.holding_sleeve[h]), []).append(HoldingRow(
            symbol=str(book.symbols[symbol]),
            asset_class=_string(book.asset_classes, int(book.symbol_asset_class[symbol])),
            price=float(book.symbol_price[symbol]),
            quantity=float(book.holding_quantity[h]), cost=float(book.holding_cost[h]),
            target=float(book.holding_target[h]), in_model=bool(book.holding_in_model[h]),
            lots=tuple(lots_of.get(h, ())),
        ))
    rows = []
    for s in range(book.n_sleeves):
        a = int(book.sleeve_account[s])
        account = AccountRow(
            account_id=str(book.account_ids[a]),
            registration=_string(book.registrations, int(book.account_registration[a])),
            custodian=_string(book.custodians, int(book.account_custodian[a])),
            household=_string(book.households, int(book.account_household[a])),
            st_tax_rate=float(book.account_st_rate[a]), lt_tax_rate=float(book.account_lt_rate[a]),
        )
        rows.append(SleeveRow(
            index=s, sleeve_id=str(book.sleeve_ids[s]), model=_string(book.models, int(book.sleeve_model[s])),
            target_kind=_string(np.array(TARGET_KINDS), int(book.sleeve_target_kind[s])),
            cash=float(book.sleeve_cash[s]), cash_target=float(book.sleeve_cash_target[s]),
            model_changed=bool(book.sleeve_model_changed[s]), model_move=float(book.sleeve_model_move[s]),
            account=account,
            holdings=tuple(holdings_of.get(s, ())),
        ))
    return rows


# ---------------------------------------------------------------- arithmetic on plain floats


def divide(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` as IEEE 754 has it: x / 0 is infinite (signed), 0 / 0 is none."""
    if denominator != 0 or math.isnan(denominator):
        return numerator / denominator
    if numerator == 0 or math.isnan(numerator):
        return NONE
    return math.copysign(math.inf, numerator) * math.copysign(1.0, denominator)


def largest(values: Sequence[float]) -> float:
    """The largest value; none when there are no values or one of them is none."""
    if not values or any(math.isnan(v) for v in values):
        return NONE
    return max(values)


def smallest(values: Sequence[float]) -> float:
    """The smallest value; none when there are no values or one of them is none."""
    if not values or any(math.isnan(v) for v in values):
        return NONE
    return min(values)


def total(values: Iterable[float]) -> float:
    """The sum, added up in row order from 0."""
    result = 0.0
    for value in values:
        result += value
    return result


def long_term_from(acquired: dt.date) -> dt.date:
    """The first day a sale is long-term: the day after the anniversary (29 Feb -> 28 Feb)."""
    year = acquired.year + 1
    day = min(acquired.day, calendar.monthrange(year, acquired.month)[1])
    return dt.date(year, acquired.month, day) + dt.timedelta(days=1)


# ---------------------------------------------------------------- the fields


@attrs.frozen
class Scope:
    """Where an expression is evaluated: the run's date, a sleeve, and maybe one holding and lot."""

    today: dt.date
    sleeve: SleeveRow
    holding: HoldingRow | None = None
    lot: LotRow | None = None

    def at_holding(self, holding: HoldingRow) -> Scope:
        return Scope(self.today, self.sleeve, holding, None)

    def at_lot(self, holding: HoldingRow, lot: LotRow) -> Scope:
        return Scope(self.today, self.sleeve, holding, lot)


def holding_value(holding: HoldingRow) -> float:
    return holding.quantity * holding.price


def sleeve_invested(sleeve: SleeveRow) -> float:
    """The value of the holdings."""
    return total(holding_value(h) for h in sleeve.holdings)


def sleeve_value(sleeve: SleeveRow) -> float:
    """Holdings at current prices plus cash."""
    return total(holding_value(h) for h in sleeve.holdings) + sleeve.cash


def weight(sleeve: SleeveRow, holding: HoldingRow) -> float:
    return divide(holding_value(holding), sleeve_value(sleeve))


def drift_abs(sleeve: SleeveRow, holding: HoldingRow) -> float:
    return abs(weight(sleeve, holding) - holding.target)


def drift_rel(sleeve: SleeveRow, holding: HoldingRow) -> float:
    """|weight - target| / target; with a target of 0, infinite if it has weight, else 0."""
    if holding.target > 0:
        return drift_abs(sleeve, holding) / holding.target
    if holding.target == 0:
        return math.inf if weight(sleeve, holding) > 0 else 0.0
    return NONE  # no model, no target, no drift


def cash_weight(sleeve: SleeveRow) -> float:
    return divide(sleeve.cash, sleeve_value(sleeve))


def today_field(name: str, today: dt.date):
    return {
        "date": lambda: today,
        "year": lambda: float(today.year),
        "quarter": lambda: float((today.month - 1) // 3 + 1),
        "month": lambda: float(today.month),
        "day": lambda: float(today.day),
        "weekday": lambda: float(today.isoweekday()),
    }[name]()


def sleeve_field(name: str, sleeve: SleeveRow):
    holdings = sleeve.holdings
    return {
        "id": lambda: sleeve.sleeve_id,
        "model": lambda: sleeve.model,
        "target_kind": lambda: sleeve.target_kind,
        "value": lambda: sleeve_value(sleeve),
        "invested": lambda: sleeve_invested(sleeve),
        "cash": lambda: sleeve.cash,
        "cash_weight": lambda: cash_weight(sleeve),
        "cash_target": lambda: sleeve.cash_target,
        "holdings": lambda: float(sum(1 for h in holdings if h.quantity > 0)),
        "drift": lambda: 0.5 * (total(drift_abs(sleeve, h) for h in holdings)
                                + abs(cash_weight(sleeve) - sleeve.cash_target)),
        "max_drift": lambda: largest([drift_abs(sleeve, h) for h in holdings]),
        "model_changed": lambda: sleeve.model_changed,
        "model_move": lambda: sleeve.model_move,
    }[name]()


def account_field(name: str, account: AccountRow):
    return {
        "id": lambda: account.account_id,
        "registration": lambda: account.registration,
        "tax_treatment": lambda: Registration(account.registration).tax_treatment.value,
        "custodian": lambda: account.custodian,
        "household": lambda: account.household,
        "st_tax_rate": lambda: account.st_tax_rate,
        "lt_tax_rate": lambda: account.lt_tax_rate,
    }[name]()


def holding_field(name: str, sleeve: SleeveRow, holding: HoldingRow):
    return {
        "symbol": lambda: holding.symbol,
        "asset_class": lambda: holding.asset_class,
        "weight": lambda: weight(sleeve, holding),
        "target": lambda: holding.target,
        "drift": lambda: weight(sleeve, holding) - holding.target,
        "drift_abs": lambda: drift_abs(sleeve, holding),
        "drift_rel": lambda: drift_rel(sleeve, holding),
        "value": lambda: holding_value(holding),
        "quantity": lambda: holding.quantity,
        "price": lambda: holding.price,
        "cost": lambda: holding.cost,
        "unrealized_gain": lambda: holding_value(holding) - holding.cost,
        "in_model": lambda: holding.in_model,
        "lots": lambda: float(len(holding.lots)),
    }[name]()


def lot_gain(holding: HoldingRow, lot: LotRow) -> float:
    return lot.quantity * holding.price - lot.cost


def lot_loss(holding: HoldingRow, lot: LotRow) -> float:
    """The loss as a positive amount, 0 for a gain."""
    gain = lot_gain(holding, lot)
    return -gain if gain < 0 else 0.0


def lot_term(today: dt.date, lot: LotRow) -> str:
    return "long" if today >= long_term_from(lot.acquired) else "short"


def lot_field(name: str, today: dt.date, holding: HoldingRow, lot: LotRow):
    return {
        "quantity": lambda: lot.quantity,
        "cost": lambda: lot.cost,
        "value": lambda: lot.quantity * holding.price,
        "acquired": lambda: lot.acquired,
        "age_days": lambda: float((today - lot.acquired).days),
        "days_to_long_term": lambda: float(max(0, (long_term_from(lot.acquired) - today).days)),
        "term": lambda: lot_term(today, lot),
        "gain": lambda: lot_gain(holding, lot),
        "loss": lambda: lot_loss(holding, lot),
        "gain_pct": lambda: lot_gain(holding, lot) / lot.cost if lot.cost > 0 else 0.0,
        "loss_pct": lambda: lot_loss(holding, lot) / lot.cost if lot.cost > 0 else 0.0,
    }[name]()


def field(node: ast.Field, scope: Scope):
    """The value of ``grain.name`` where ``scope`` stands."""
    if node.grain == "today":
        return today_field(node.name, scope.today)
    if node.grain == "sleeve":
        return sleeve_field(node.name, scope.sleeve)
    if node.grain == "account":
        return account_field(node.name, scope.sleeve.account)
    if node.grain == "holding":
        return holding_field(node.name, scope.sleeve, scope.holding)
    return lot_field(node.name, scope.today, scope.holding, scope.lot)
