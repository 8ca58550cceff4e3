"""The tax lots a sleeve held at the end of a past day, rolled back from today's.

A lot open now was held then with its whole quantity if it was acquired by then, plus whatever
sales after that day took from it; a lot closed since was held with what those later sales took.
Each lot keeps its cost per share, so its basis then is in proportion. Sales are the realised
sales (``realized``), recorded when a fill or a book's history relieved the lot.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection
from decimal import Decimal

import attrs

from ..fixedpoint import MONEY, QUANTITY
from ..store import Store


@attrs.frozen
class HeldLot:
    lot_id: str
    sleeve_id: str
    symbol: str
    quantity: Decimal
    cost_basis: Decimal
    holding_start: dt.date  # the holding period's start (a wash-sale replacement's adjusted date)


def lots_on(store: Store, sleeve_ids: Collection[str], day: dt.date, *,
            before: tuple[str, str] | None = None) -> list[HeldLot]:
    """The lots of ``sleeve_ids`` held at the end of ``day`` (with ``before`` = (sold day, transaction
    id): just before that sale instead, counting the sales of ``day`` from it on as later)."""
    scope, last = json.dumps(sorted(sleeve_ids)), day.isoformat()
    held: dict[str, list] = {}
    for r in store.db.query("select lot_id, sleeve_id, symbol, quantity_e6, cost_basis_cents,"
                            " coalesce(holding_from, acquired) as start from lots"
                            " where sleeve_id in (select value from json_each(?)) and acquired <= ?", [scope, last]):
        held[r["lot_id"]] = [r["sleeve_id"], r["symbol"], r["quantity_e6"], r["cost_basis_cents"], r["start"]]
    for r in store.db.query("select * from realized where sleeve_id in (select value from json_each(?))"
                            " and acquired <= ? and sold >= ?", [scope, last, last]):
        if (r["sold"], r["transaction_id"]) < (before or (last, "\uffff")):
            continue  # sold by then
        entry = held.setdefault(r["lot_id"], [r["sleeve_id"], r["symbol"], 0, 0, r["holding_from"]])
        entry[2] += r["quantity_e6"]
        entry[3] += r["cost_basis_cents"]
    return [HeldLot(lot_id, sleeve, symbol, QUANTITY.to_decimal(q), MONEY.to_decimal(c), dt.date.fromisoformat(start))
            for lot_id, (sleeve, symbol, q, c, start) in sorted(held.items()) if q > 0]
