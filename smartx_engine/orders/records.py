"""The stored orders: reading them back as rows and as the requests custodians are sent."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from ..custody import OrderRequest
from ..domain import OrderStatus
from ..fixedpoint import PRICE, QUANTITY
from ..store import Store, where
from .lots import instructions_of

#: orders the custodian may still act on (tracked by `smartx trades sync`)
OPEN = (OrderStatus.PENDING, OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)


def order_rows(store: Store, *, status: str | Sequence[str] | None = None, account_id: str | None = None,
               custodian: str | None = None, block_id: str | None = None,
               client_order_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Stored orders as rows with their trades and fills (oldest first)."""
    clause, params = where(account_id=account_id, custodian=custodian, block_id=block_id)
    conditions = [clause[len("where "):]] if clause else []
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        conditions.append("status in (select value from json_each(?))")
        params.append(json.dumps([str(s) for s in statuses]))
    if client_order_ids:
        conditions.append("client_order_id in (select value from json_each(?))")
        params.append(json.dumps(list(client_order_ids)))
    sql = "select * from orders" + (" where " + " and ".join(conditions) if conditions else "")
    rows = list(store.db.query(sql + " order by placed_at, client_order_id", params))
    for row in rows:
        row["trades"] = list(store.db.query(
            "select trade_id, quantity_e6, filled_e6 from order_trades where client_order_id = ? order by trade_id",
            [row["client_order_id"]]))
        row["fills"] = list(store.db.query(
            "select execution_id, quantity_e6, price_e6, trade_date from fills where client_order_id = ?"
            " order by rowid", [row["client_order_id"]]))
    return rows


def request_of(row: dict[str, Any]) -> OrderRequest:
    """The request a stored order stands for, as its custodian is (or was) sent it."""
    return OrderRequest(
        client_order_id=row["client_order_id"], account_number=row["account_number"], symbol=row["symbol"],
        side=row["side"], quantity=QUANTITY.to_decimal(row["quantity_e6"]),
        placed_at=dt.datetime.fromisoformat(row["placed_at"]), batch_id=row["batch_id"], block_id=row["block_id"],
        custodian_order_id=row["custodian_order_id"], lots=instructions_of(row["lots"]))


def order_json(row: dict[str, Any]) -> dict[str, Any]:
    """The stable JSON of an order (`smartx orders list --json`)."""
    filled = sum(f["quantity_e6"] for f in row["fills"])
    value = sum(f["quantity_e6"] * f["price_e6"] for f in row["fills"])
    average = PRICE.to_decimal(round(value / filled)) if filled else None
    return {
        "client_order_id": row["client_order_id"], "custodian_order_id": row["custodian_order_id"],
        "custodian": row["custodian"], "account_id": row["account_id"], "account_number": row["account_number"],
        "batch_id": row["batch_id"], "block_id": row["block_id"], "symbol": row["symbol"], "side": row["side"],
        "quantity": str(QUANTITY.to_decimal(row["quantity_e6"])), "status": row["status"],
        "filled_quantity": str(QUANTITY.to_decimal(row["filled_e6"])),
        "average_price": None if average is None else str(average),
        "message": row["message"], "placed_at": row["placed_at"], "updated_at": row["updated_at"],
        "trades": [{"trade_id": t["trade_id"], "quantity": str(QUANTITY.to_decimal(t["quantity_e6"])),
                    "filled_quantity": str(QUANTITY.to_decimal(t["filled_e6"]))} for t in row["trades"]],
        "lots": json.loads(row["lots"]),  # a sell's versus purchase instruction: [{"acquired", "quantity"}]
        "fills": [{"execution_id": f["execution_id"], "quantity": str(QUANTITY.to_decimal(f["quantity_e6"])),
                   "price": str(PRICE.to_decimal(f["price_e6"])), "trade_date": f["trade_date"]}
                  for f in row["fills"]],
    }
