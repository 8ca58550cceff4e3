"""From approved trades to recorded orders: netting, crossings, blocks, client order ids.

Approved trades not yet ordered are netted per account (:func:`~smartx_engine.rebalance.netting.net`):
opposite trades of one account in one security cross inside the account (lots and cash move
between its sleeves, no sale), and the rest becomes one net order per account and security.
With ``block=True``, net orders of the same security and side in two or more accounts of one
custodian that takes blocks share a ``block_id`` and are executed together.

Everything is recorded in one transaction *before* anything is sent: each order gets its client
order id (``{batch_id}-{n}``, n from 1 in (account, symbol) order) and status ``pending``, a sell
the lots it relieves (:mod:`.lots`: its "versus purchase" instruction), and its trades become
``submitted``. A crash after this point leaves pending orders that
:func:`~smartx_engine.orders.submit.submit` and :func:`~smartx_engine.orders.tracking.sync_orders`
reconcile with the custodian before anything is sent again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Any

import attrs

from ..custodians.reconcile import blocked_accounts
from ..domain import Lot, Side, Trade
from ..fixedpoint import PRICE, QUANTITY
from ..rebalance.netting import NetOrder, apply_crossings, crossed_quantities, net
from ..store import Store
from .lots import choose, instructions, instructions_json, plan_json, planned_ids, sleeve_lots


@attrs.frozen
class Skipped:
    """Approved trades left waiting, and why (an open reconciliation break, no custodian plugin)."""

    account_id: str
    trade_ids: tuple[str, ...]
    reason: str


@attrs.frozen
class RecordedBatch:
    """The orders one submission recorded for one custodian."""

    custodian: str
    batch_id: str
    client_order_ids: tuple[str, ...]
    blocks: int


@attrs.frozen
class Recording:
    batches: tuple[RecordedBatch, ...]
    crossed: int  # crossings applied inside accounts
    skipped: tuple[Skipped, ...]


def _approved(store: Store, run_id: str | None) -> list[dict[str, Any]]:
    return list(store.db.query(
        "select t.*, a.custodian, coalesce(a.custodian_account, a.account_id) as account_number"
        " from trades t join accounts a using (account_id)"
        " where t.status = 'approved' and t.quantity_e6 > t.crossed_e6"
        + (" and t.run_id = ?" if run_id else "") + " order by t.trade_id", [run_id] if run_id else []))


def record_orders(store: Store, custodians: Mapping[str, Any], *, run_id: str | None = None, block: bool = False,
                  only: Collection[str] | None = None) -> Recording:
    """Net the approved trades (of ``run_id``, or all) into orders and record them, in one transaction.

    ``custodians`` maps names to adapters (their ``supports_blocks`` matters); ``only`` limits the
    custodians ordered for. Trades of accounts with an open break, or whose custodian has no adapter,
    are skipped and left approved.
    """
    with store.transaction():
        rows = _approved(store, run_id)
        blocked = blocked_accounts(store)
        skipped: dict[tuple[str, str], list[str]] = defaultdict(list)
        ready = []
        for row in rows:
            if only is not None and row["custodian"] not in only:
                continue
            if row["account_id"] in blocked:
                skipped[(row["account_id"], "the account has an open reconciliation break "
                                            "(`smartx custodians breaks`)")].append(row["trade_id"])
            elif row["custodian"] not in custodians:
                skipped[(row["account_id"], f"no custodian plugin is registered for {row['custodian']!r}")].append(
                    row["trade_id"])
            else:
                ready.append(row)
        netting = net(_trade(r) for r in ready)
        by_id = {r["trade_id"]: r for r in ready}
        crossed = {t: QUANTITY.to_int(q) for t, q in crossed_quantities(netting).items()}
        if netting.crossings:
            apply_crossings(store, netting.crossings, {t: json.loads(r["lots"]) for t, r in by_id.items()
                                                       if r["side"] == "sell"})
            for trade_id, quantity in crossed.items():
                store.db.execute("update trades set crossed_e6 = crossed_e6 + ?,"
                                 " status = case when crossed_e6 + ? >= quantity_e6 then 'filled' else status end"
                                 " where trade_id = ?", [quantity, quantity, trade_id])
        left = {t: r["quantity_e6"] - r["crossed_e6"] - crossed.get(t, 0) for t, r in by_id.items()}
        batches = _record(store, custodians, netting.orders, by_id, left, block)
        store.audit("orders.record", None, batches=[attrs.asdict(b) for b in batches],
                    crossings=len(netting.crossings), skipped=[attrs.asdict(s) for s in _skipped(skipped)])
    return Recording(tuple(batches), len(netting.crossings), _skipped(skipped))


def _skipped(skipped: Mapping[tuple[str, str], list[str]]) -> tuple[Skipped, ...]:
    return tuple(Skipped(account, tuple(ids), reason) for (account, reason), ids in sorted(skipped.items()))


def _trade(row: Mapping[str, Any]) -> Trade:
    return Trade(trade_id=row["trade_id"], run_id=row["run_id"], account_id=row["account_id"],
                 sleeve_id=row["sleeve_id"], symbol=row["symbol"], side=row["side"],
                 quantity=QUANTITY.to_decimal(row["quantity_e6"] - row["crossed_e6"]),
                 est_price=PRICE.to_decimal(row["est_price_e6"]))


def _record(store: Store, custodians: Mapping[str, Any], orders: tuple[NetOrder, ...],
            rows: Mapping[str, Mapping[str, Any]], left: Mapping[str, int], block: bool) -> list[RecordedBatch]:
    now = store.clock()
    stamp = now.isoformat(timespec="microseconds")
    by_custodian: dict[str, list[NetOrder]] = defaultdict(list)
    for order in orders:
        by_custodian[rows[order.trade_ids[0]]["custodian"]].append(order)
    batches = []
    for custodian, group in sorted(by_custodian.items()):
        batch_id = _batch_id(store, custodian, now)
        blocks = _blocks(group) if block and custodians[custodian].supports_blocks else {}
        ids = []
        for n, order in enumerate(group, start=1):
            client_order_id = f"{batch_id}-{n}"
            first = rows[order.trade_ids[0]]
            members = [t for t in order.trade_ids if rows[t]["side"] == str(order.side) and left[t] > 0]
            selling = order.side is Side.SELL
            chosen = {t: _relief(store, rows[t], left[t], now.date()) for t in members} if selling else {}
            store.db.table("orders").insert({
                "client_order_id": client_order_id, "batch_id": batch_id,
                "block_id": blocks.get((order.symbol, order.side)) and f"{batch_id}-B{blocks[(order.symbol, order.side)]}",
                "custodian": custodian, "account_id": order.account_id, "account_number": first["account_number"],
                "symbol": order.symbol, "side": str(order.side), "quantity_e6": QUANTITY.to_int(order.quantity),
                "status": "pending", "placed_at": stamp, "updated_at": stamp,
                "lots": instructions_json(instructions(part for t in members for part in chosen.get(t, ())))})
            store.db.table("order_trades").insert_all(
                {"client_order_id": client_order_id, "trade_id": t, "quantity_e6": left[t],
                 "lots": plan_json(chosen.get(t, ()))} for t in members)
            store.db.execute("update trades set status = 'submitted' where trade_id in (select value from json_each(?))"
                             " and status = 'approved'", [json.dumps(list(order.trade_ids))])
            ids.append(client_order_id)
        batches.append(RecordedBatch(custodian, batch_id, tuple(ids), len(set(blocks.values()))))
    return batches


def _relief(store: Store, row: Mapping[str, Any], quantity_e6: int, on: dt.date) -> list[tuple[Lot, Decimal]]:
    """The lots a sell trade's order relieves (:mod:`.lots`)."""
    return choose(sleeve_lots(store, row["sleeve_id"], row["symbol"]), planned_ids(row["lots"]),
                  QUANTITY.to_decimal(quantity_e6), PRICE.to_decimal(row["est_price_e6"]), on,
                  store.account(row["account_id"]))


def _batch_id(store: Store, custodian: str, now: dt.datetime) -> str:
    """``{CUSTODIAN}-{YYYYMMDD}-{n}``: n counts this custodian's batches of the day from 1."""
    prefix = f"{custodian.upper()}-{now:%Y%m%d}-"
    n = store.db.execute("select count(distinct batch_id) from orders where batch_id like ?", [prefix + "%"]).fetchone()[0]
    return f"{prefix}{n + 1}"


def _blocks(orders: list[NetOrder]) -> dict[tuple[str, Side], int]:
    """Block numbers for the (symbol, side) pairs ordered in two accounts or more."""
    counts: dict[tuple[str, Side], int] = defaultdict(int)
    for order in orders:
        counts[(order.symbol, order.side)] += 1
    shared = sorted(k for k, n in counts.items() if n > 1)
    return {key: number for number, key in enumerate(shared, start=1)}

