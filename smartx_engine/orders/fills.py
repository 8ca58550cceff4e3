"""Fills: one execution of an order applied to the sleeves' lots, cash and realised gains, in one transaction.

An execution of an account order is split over the order's trades (one per sleeve) pro rata to
what each still wants (:func:`~smartx_engine.custody.allocate_pro_rata`: whole shares when every
trade is in whole shares, else millionths; largest remainder, ties to the first trade id). Then:

- a **sell** relieves the sleeve's lots chosen when the order was recorded (:mod:`.lots`), in
  that order, as far as they are still open, then the others by the account's lot method; each part
  becomes a ``realized`` row (term, proceeds, basis, gain); the sleeve's cash grows by the proceeds;
- a **buy** opens a lot ``{trade_id}-F{n}`` (n: the order's n-th execution) acquired on the trade
  date at ``quantity x price`` rounded half-even to the cent; the sleeve's cash pays for it (a fill
  above the estimate may leave a debit);
- a ``transactions`` row per trade part, the ``fills`` row (its primary key makes a second
  application of the same execution impossible), the order's and trades' filled quantities and
  statuses, and an ``orders.fill`` audit record.

An execution price is kept to 6 decimals (half-even) like every stored price.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import attrs

from ..custody import Execution, allocate_pro_rata
from ..domain import Lot, Side, Transaction, TransactionType
from ..errors import ConflictError
from ..fixedpoint import MONEY, PRICE, QUANTITY, round_money
from ..store import Store
from ..tax.relief import Method, OpenLot, Relief, relieve
from .lots import choose, planned_ids, sleeve_lots


@attrs.frozen
class AppliedFill:
    """One execution as applied: the order, the execution and what each trade got."""

    client_order_id: str
    account_id: str
    symbol: str
    side: Side
    execution_id: str
    quantity: Decimal
    price: Decimal
    trade_date: dt.date
    parts: Mapping[str, Decimal]  # trade id -> shares


@attrs.frozen
class _Sale:
    """A realised part of a sell, in the shape of ``realized`` rows (tax.ledger.ClosedLot's fields)."""

    transaction_id: str
    lot_id: str
    account_id: str
    sleeve_id: str
    symbol: str
    acquired: dt.date
    holding_from: dt.date
    sold: dt.date
    quantity: Decimal
    proceeds: Decimal
    cost_basis: Decimal
    gain: Decimal
    term: str
    disallowed: Decimal = Decimal(0)
    permanent: Decimal = Decimal(0)


def applied(store: Store, client_order_id: str, execution_id: str) -> bool:
    return bool(list(store.db.query("select 1 from fills where client_order_id = ? and execution_id = ?",
                                    [client_order_id, execution_id])))


def apply_execution(store: Store, order: Mapping[str, Any], execution: Execution) -> AppliedFill | None:
    """Apply one execution of a stored order, in one transaction; None if it was applied before."""
    price = execution.price.quantize(PRICE.unit, ROUND_HALF_EVEN)
    client_order_id = order["client_order_id"]
    with store.transaction():
        if applied(store, client_order_id, execution.execution_id):
            return None
        trades = list(store.db.query(
            "select t.trade_id, t.sleeve_id, t.lots, o.lots as plan, o.quantity_e6, o.filled_e6 from order_trades o"
            " join trades t using (trade_id) where o.client_order_id = ? order by t.trade_id", [client_order_id]))
        wanted = {t["trade_id"]: QUANTITY.to_decimal(t["quantity_e6"] - t["filled_e6"]) for t in trades}
        if execution.quantity > sum(wanted.values(), Decimal(0)):
            raise ConflictError(f"order {client_order_id}: execution {execution.execution_id} fills "
                                f"{execution.quantity}, more than the order has left; nothing was applied")
        step = Decimal(1) if all(q == q.to_integral_value() for q in wanted.values()) and \
            execution.quantity == execution.quantity.to_integral_value() else QUANTITY.unit
        parts = {k: v for k, v in allocate_pro_rata(execution.quantity, wanted, step).items() if v}
        n = store.db.execute("select count(*) from fills where client_order_id = ?", [client_order_id]).fetchone()[0] + 1
        side = Side(order["side"])
        account = store.account(order["account_id"])
        for trade in trades:
            part = parts.get(trade["trade_id"])
            if not part:
                continue
            reference = f"{trade['trade_id']}-F{n}"
            if side is Side.SELL:
                _sell(store, account, trade, order["symbol"], part, price, execution.on, reference)
            else:
                _buy(store, account.account_id, trade, order["symbol"], part, price, execution.on, reference)
            store.db.execute("update order_trades set filled_e6 = filled_e6 + ? where client_order_id = ? and trade_id = ?",
                             [QUANTITY.to_int(part), client_order_id, trade["trade_id"]])
        store.db.table("fills").insert({
            "client_order_id": client_order_id, "execution_id": execution.execution_id,
            "quantity_e6": QUANTITY.to_int(execution.quantity), "price_e6": PRICE.to_int(price),
            "trade_date": execution.on.isoformat(), "applied_at": store.clock().isoformat(timespec="seconds")})
        store.db.execute("update orders set filled_e6 = filled_e6 + ?, updated_at = ? where client_order_id = ?",
                         [QUANTITY.to_int(execution.quantity), store.clock().isoformat(timespec="seconds"),
                          client_order_id])
        _trade_statuses(store, client_order_id)
        fill = AppliedFill(client_order_id, order["account_id"], order["symbol"], side, execution.execution_id,
                           execution.quantity, price, execution.on, parts)
        store.audit("orders.fill", client_order_id, execution_id=execution.execution_id, quantity=execution.quantity,
                    price=price, trade_date=execution.on, parts=parts)
    return fill


def _trade_statuses(store: Store, client_order_id: str) -> None:
    """Trades wholly filled (crossed shares count) are filled; those filled in part, partially filled."""
    store.db.execute(
        """update trades set status = case
               when (select sum(filled_e6) from order_trades o where o.trade_id = trades.trade_id)
                    + crossed_e6 >= quantity_e6 then 'filled' else 'partially_filled' end
           where trade_id in (select trade_id from order_trades where client_order_id = ? and filled_e6 > 0)""",
        [client_order_id])


def _sell(store: Store, account: Any, trade: Mapping[str, Any], symbol: str, quantity: Decimal, price: Decimal,
          on: dt.date, reference: str) -> None:
    lots = sleeve_lots(store, trade["sleeve_id"], symbol)
    planned = planned_ids(trade["plan"]) or planned_ids(trade["lots"])
    chosen = [(lot.lot_id, taken) for lot, taken in choose(lots, planned, quantity, price, on, account)]
    reliefs = relieve([OpenLot.from_lot(lot) for lot in lots], quantity, price, on, Method.SPECIFIC, specific=chosen)
    by_id = {lot.lot_id: lot for lot in lots}
    for relief in reliefs:
        lot = by_id[relief.lot_id]
        if relief.quantity == lot.quantity:
            store.db.execute("delete from lots where lot_id = ?", [lot.lot_id])
        else:
            store.db.execute("update lots set quantity_e6 = ?, cost_basis_cents = ? where lot_id = ?",
                             [QUANTITY.to_int(lot.quantity - relief.quantity),
                              MONEY.to_int(lot.cost_basis - relief.cost_basis), lot.lot_id])
        store.add_realized([_sale(reference, lot, relief, on)])
    proceeds = sum((r.proceeds for r in reliefs), Decimal(0))
    _cash_and_history(store, account.account_id, trade["sleeve_id"], reference, TransactionType.SELL, symbol,
                      quantity, price, proceeds, on)


def _sale(reference: str, lot: Lot, relief: Relief, on: dt.date) -> _Sale:
    return _Sale(reference, lot.lot_id, lot.account_id, lot.sleeve_id, lot.symbol, lot.acquired, lot.holding_start,
                 on, relief.quantity, relief.proceeds, relief.cost_basis, relief.gain,
                 str(lot.term(on)))


def _buy(store: Store, account_id: str, trade: Mapping[str, Any], symbol: str, quantity: Decimal, price: Decimal,
         on: dt.date, reference: str) -> None:
    cost = round_money(quantity * price)
    store.add_lots([Lot(reference, account_id, trade["sleeve_id"], symbol, quantity, cost, on)])
    _cash_and_history(store, account_id, trade["sleeve_id"], reference, TransactionType.BUY, symbol, quantity, price,
                      -cost, on)


def _cash_and_history(store: Store, account_id: str, sleeve_id: str, reference: str, kind: TransactionType,
                      symbol: str, quantity: Decimal, price: Decimal, amount: Decimal, on: dt.date) -> None:
    store.db.execute("update cash set amount_cents = amount_cents + ? where sleeve_id = ?",
                     [MONEY.to_int(amount), sleeve_id])
    store.record_transaction(Transaction(reference, account_id, sleeve_id, on, kind, amount, symbol, quantity, price))
