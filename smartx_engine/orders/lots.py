"""Which lots a sell relieves: chosen when its order is recorded, sent to the custodian, followed by its fills.

A sell's proposal planned lots (``trades.lots``). When the order is recorded the choice is made
for the quantity ordered: the planned lots still open, in plan order, then the sleeve's other lots
by the account's lot method (:func:`~smartx_engine.tax.relief.relief_order`, at the trade's
estimated price). It is kept per trade (``order_trades.lots``: lot ids and shares, in relief
order) and, summed per acquired date in that order, is the order's "versus purchase" instruction
to the custodian (``orders.lots``, :class:`~smartx_engine.custody.LotInstruction`). Each fill
relieves its part from the same lots in the same order, so a custodian that follows the
instruction holds the same lots as the engine after a full fill.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ..custody import LotInstruction
from ..domain import Lot
from ..store import Store
from ..tax.relief import OpenLot, relief_order


def sleeve_lots(store: Store, sleeve_id: str, symbol: str) -> list[Lot]:
    return [Lot.from_row(r) for r in store.db.query(
        "select * from lots where sleeve_id = ? and symbol = ? order by lot_id", [sleeve_id, symbol])]


def choose(lots: Sequence[Lot], planned: Sequence[str], quantity: Decimal, price: Decimal, on: dt.date,
           account: Any) -> list[tuple[Lot, Decimal]]:
    """The lots to relieve for ``quantity`` and how much of each: the ``planned`` lot ids still
    open, in that order, then the rest by ``account``'s lot method."""
    open_ids = {lot.lot_id for lot in lots}
    first = [lot_id for lot_id in dict.fromkeys(planned) if lot_id in open_ids]
    rest = relief_order([OpenLot.from_lot(lot) for lot in lots if lot.lot_id not in first], price, on,
                        account.lot_method, (account.st_tax_rate, account.lt_tax_rate))
    by_id = {lot.lot_id: lot for lot in lots}
    chosen, left = [], quantity
    for lot_id in [*first, *(lot.lot_id for lot in rest)]:
        if not left:
            break
        taken = min(by_id[lot_id].quantity, left)
        chosen.append((by_id[lot_id], taken))
        left -= taken
    return chosen


def plan_json(chosen: Iterable[tuple[Lot, Decimal]]) -> str:
    """``order_trades.lots``: ``[{"lot_id", "quantity"}]`` in relief order."""
    return json.dumps([{"lot_id": lot.lot_id, "quantity": str(quantity)} for lot, quantity in chosen])


def planned_ids(plan: str | None) -> list[str]:
    return [part["lot_id"] for part in json.loads(plan or "[]")]


def instructions(chosen: Iterable[tuple[Lot, Decimal]]) -> list[LotInstruction]:
    """The custodian's instruction: shares per acquired date, dates in first-relieved order."""
    by_date: dict[dt.date, Decimal] = {}
    for lot, quantity in chosen:
        by_date[lot.acquired] = by_date.get(lot.acquired, Decimal(0)) + quantity
    return [LotInstruction(acquired, quantity) for acquired, quantity in by_date.items()]


def instructions_json(lots: Iterable[LotInstruction]) -> str:
    return json.dumps([{"acquired": i.acquired.isoformat(), "quantity": str(i.quantity)} for i in lots])


def instructions_of(text: str | None) -> tuple[LotInstruction, ...]:
    return tuple(LotInstruction(dt.date.fromisoformat(i["acquired"]), Decimal(i["quantity"]))
                 for i in json.loads(text or "[]"))
