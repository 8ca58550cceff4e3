"""What the tax CLI and reports read: open lots with their unrealised gains, realised sales by year."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs

from ..domain import Lot, Term
from ..fixedpoint import MONEY, QUANTITY, round_money

CENTS = Decimal("0.00")  # sums start at zero cents, so that an empty sum prints as 0.00
from ..store import Store
from .ledger import ClosedLot


@attrs.frozen
class OpenLotView:
    """An open lot as of a date: wash-adjusted basis, term if sold that day, value and unrealised gain."""

    lot: Lot
    term: Term
    price: Decimal
    value: Decimal

    @property
    def unrealized(self) -> Decimal:
        return self.value - self.lot.cost_basis

    def as_json(self) -> dict[str, Any]:
        lot = self.lot
        return {"lot_id": lot.lot_id, "account_id": lot.account_id, "sleeve_id": lot.sleeve_id,
                "symbol": lot.symbol, "quantity": str(lot.quantity), "acquired": lot.acquired.isoformat(),
                "holding_from": lot.holding_start.isoformat(), "cost_basis": str(lot.cost_basis),
                "wash_adjustment": str(lot.wash_adjustment), "term": str(self.term), "price": str(self.price),
                "value": str(self.value), "unrealized_gain": str(self.unrealized)}


def open_lots(store: Store, account_id: str, as_of: dt.date) -> list[OpenLotView]:
    """The account's open lots, by sleeve, symbol and holding period."""
    store.account(account_id)  # a clear error for an unknown account
    prices = store.prices()
    lots = sorted(store.lots(account_id=account_id), key=lambda lot: (lot.sleeve_id, lot.symbol, lot.holding_start,
                                                                       lot.lot_id))
    return [OpenLotView(lot, lot.term(as_of), prices[lot.symbol], round_money(lot.quantity * prices[lot.symbol]))
            for lot in lots]


def realized(store: Store, account_ids: Sequence[str], year: int) -> list[ClosedLot]:
    """The sales of ``year`` in these accounts, in the order they happened."""
    rows = store.db.query(
        "select * from realized where account_id in (select value from json_each(?)) and sold between ? and ?"
        " order by sold, transaction_id, lot_id", [json.dumps(list(account_ids)), f"{year:04d}-01-01", f"{year:04d}-12-31"])
    return [ClosedLot(
        transaction_id=r["transaction_id"], lot_id=r["lot_id"], account_id=r["account_id"], sleeve_id=r["sleeve_id"],
        symbol=r["symbol"], acquired=dt.date.fromisoformat(r["acquired"]),
        holding_from=dt.date.fromisoformat(r["holding_from"]), sold=dt.date.fromisoformat(r["sold"]),
        quantity=QUANTITY.to_decimal(r["quantity_e6"]), proceeds=MONEY.to_decimal(r["proceeds_cents"]),
        cost_basis=MONEY.to_decimal(r["cost_basis_cents"]), term=Term(r["term"]),
        disallowed=MONEY.to_decimal(r["disallowed_cents"]), permanent=MONEY.to_decimal(r["permanent_cents"]),
    ) for r in rows]


def net_realized(store: Store, account_ids: Sequence[str], as_of: dt.date) -> dict[str, Decimal]:
    """Each account's net realised gain of ``as_of``'s year up to ``as_of`` (what counts for tax:
    gains and losses after wash-sale adjustments); accounts without sales are left out."""
    totals: dict[str, Decimal] = {}
    for sale in realized(store, account_ids, as_of.year):
        if sale.sold <= as_of:
            totals[sale.account_id] = totals.get(sale.account_id, CENTS) + sale.allowed
    return totals


def closed_json(c: ClosedLot) -> dict[str, Any]:
    return {"transaction_id": c.transaction_id, "lot_id": c.lot_id, "account_id": c.account_id,
            "sleeve_id": c.sleeve_id, "symbol": c.symbol, "acquired": c.acquired.isoformat(),
            "holding_from": c.holding_from.isoformat(), "sold": c.sold.isoformat(), "quantity": str(c.quantity),
            "proceeds": str(c.proceeds), "cost_basis": str(c.cost_basis), "gain": str(c.gain), "term": str(c.term),
            "disallowed": str(c.disallowed), "permanent": str(c.permanent), "allowed": str(c.allowed)}


def totals(sales: Sequence[ClosedLot]) -> dict[str, dict[str, Decimal]]:
    """Per term: gains, losses, disallowed wash-sale losses and the net that counts for tax."""
    result = {}
    for term in Term:
        own = [c for c in sales if c.term == term]
        result[str(term)] = {
            "gains": sum((c.gain for c in own if c.gain > 0), CENTS),
            "losses": sum((c.gain for c in own if c.gain < 0), CENTS),
            "disallowed": sum((c.disallowed for c in own), CENTS),
            "net": sum((c.allowed for c in own), CENTS),
        }
    return result
