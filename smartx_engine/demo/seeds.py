"""Sandbox seeds from a firm's database: each custodian's accounts as the engine holds them.

The demo and the tests start the custodians' loopback sandboxes with exactly the engine's
positions (lots summed per account and security), cash (the sleeves' cash summed) and current
prices, in the shape of :func:`smartx_engine.testing.contract_seed`, so that a first sync
reconciles cleanly.
"""

from __future__ import annotations

from typing import Any

from ..fixedpoint import MONEY, PRICE, QUANTITY
from ..store import Store


def custodian_seed(store: Store, custodian: str) -> dict[str, Any]:
    """``{"accounts": {NUMBER: {"cash", "positions", "lots": {SYMBOL: [lot]}}}, "prices": {SYMBOL: PRICE}}`` for one custodian."""
    accounts: dict[str, Any] = {}
    for row in store.db.query("select account_id, coalesce(custodian_account, account_id) as number from accounts"
                              " where custodian = ? order by account_id", [custodian]):
        cash = store.db.execute("select coalesce(sum(amount_cents), 0) from cash where account_id = ?",
                                [row["account_id"]]).fetchone()[0]
        positions = {r["symbol"]: str(QUANTITY.to_decimal(r["q"])) for r in store.db.query(
            "select symbol, sum(quantity_e6) as q from lots where account_id = ? group by symbol order by symbol",
            [row["account_id"]])}
        lots: dict[str, list[dict[str, str]]] = {}
        for r in store.db.query("select * from lots where account_id = ? order by symbol, acquired, lot_id",
                                [row["account_id"]]):
            lots.setdefault(r["symbol"], []).append({"quantity": str(QUANTITY.to_decimal(r["quantity_e6"])),
                                                     "cost_basis": str(MONEY.to_decimal(r["cost_basis_cents"])),
                                                     "acquired": r["acquired"]})
        accounts[row["number"]] = {"cash": str(MONEY.to_decimal(cash)), "positions": positions, "lots": lots}
    prices = {r["symbol"]: format(PRICE.to_decimal(r["price_e6"]).normalize(), "f")
              for r in store.db.query("select symbol, price_e6 from securities order by symbol")}
    return {"accounts": accounts, "prices": prices}
