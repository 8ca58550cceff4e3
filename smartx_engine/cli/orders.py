"""``smartx trades submit|sync`` and ``smartx orders list|show|cancel``: orders at the custodians."""

from __future__ import annotations

from typing import Any

import click

from ..domain import OrderStatus
from ..errors import NotFoundError
from ..custodians import custodians
from ..orders import cancel_order, order_json, order_rows, submit, sync_orders
from . import Env, cli, pass_env
from .output import emit, json_option, print_table
from .progress import progress_bar
from .rebalance import trades_group


@trades_group.command(name="submit")
@click.option("--run", "run_id", help="Only the approved trades of this run.")
@click.option("--block", is_flag=True, help="Aggregate the same security and side across accounts of a custodian "
                                             "that takes blocks, allocated back at the average price.")
@click.option("--custodian", help="Only orders at this custodian.")
@json_option
@pass_env
def trades_submit(env: Env, run_id: str | None, block: bool, custodian: str | None, as_json: bool) -> None:
    """Send approved trades to the custodians, exactly once.

    Approved trades are netted per account (sleeves crossing inside an account move lots, not
    money) and recorded as pending orders with client order ids before anything is sent. Orders
    an earlier run left pending are first looked up at the custodian: sent again only if it
    never received them. Accounts with an open reconciliation break are skipped.

    \b
    Examples:
      smartx trades submit
      smartx trades submit --run R-20261120-1 --block --json
    """
    store = env.store()
    with progress_bar() as report:
        result = submit(store, custodians(custodian), run_id=run_id, block=block, progress=report)
    orders = [order_json(r) for r in order_rows(store, client_order_ids=[
        *result.sent, *result.recovered, *result.still_pending])]
    data = {"sent": list(result.sent), "recovered": list(result.recovered), "pending": list(result.still_pending),
            "crossings": result.recording.crossed, "errors": list(result.errors),
            "skipped": [{"account_id": s.account_id, "trade_ids": list(s.trade_ids), "reason": s.reason}
                        for s in result.recording.skipped], "orders": orders}

    def human() -> None:
        print_orders("Orders", orders)
        click.echo(f"{len(result.sent)} order(s) sent, {len(result.recovered)} found already at the custodian, "
                   f"{len(result.still_pending)} pending, {result.recording.crossed} crossing(s) inside accounts")
        for skipped in result.recording.skipped:
            click.secho(f"skipped {skipped.account_id} ({len(skipped.trade_ids)} trade(s)): {skipped.reason}",
                        fg="yellow", err=True)
        for error in result.errors:
            click.secho(f"error: {error}", fg="red", err=True)

    emit(as_json, data, human)
    if result.errors:
        raise SystemExit(1)


@trades_group.command(name="sync")
@click.option("--custodian", help="Only orders at this custodian.")
@json_option
@pass_env
def trades_sync(env: Env, custodian: str | None, as_json: bool) -> None:
    """Poll the custodians for open orders' status and fills; apply each fill to lots and cash.

    Each fill is applied once, in one transaction: the sleeves' lots (sells relieve the lots their
    proposal planned), cash, realised gains and history.

    \b
    Example:
      smartx trades sync --json
    """
    store = env.store()
    with progress_bar() as report:
        result = sync_orders(store, custodians(custodian), progress=report)
    orders = [order_json(r) for r in order_rows(store, client_order_ids=result.changed)]
    data = {"orders_tracked": result.orders, "changed": orders, "unsent": list(result.unsent),
            "fills": [{"client_order_id": f.client_order_id, "execution_id": f.execution_id,
                       "account_id": f.account_id, "symbol": f.symbol, "side": str(f.side),
                       "quantity": str(f.quantity), "price": str(f.price), "trade_date": f.trade_date.isoformat(),
                       "trades": {t: str(q) for t, q in f.parts.items()}} for f in result.fills]}

    def human() -> None:
        print_orders("Orders that changed", orders)
        click.echo(f"{result.orders} open order(s) tracked, {len(result.fills)} fill(s) applied"
                   + (f", {len(result.unsent)} pending order(s) not at the custodian: `smartx trades submit` "
                      "sends them" if result.unsent else ""))

    emit(as_json, data, human)


@cli.group(name="orders")
def orders_group() -> None:
    """Orders sent to custodians: list, show, cancel."""


@orders_group.command(name="list")
@click.option("--status", type=click.Choice([s.value for s in OrderStatus]), help="Only orders in this status.")
@click.option("--account", "account_id", help="Only this account's orders.")
@click.option("--custodian", help="Only orders at this custodian.")
@click.option("--block", "block_id", help="Only the orders of this block (their share of it).")
@json_option
@pass_env
def orders_list(env: Env, status: str | None, account_id: str | None, custodian: str | None, block_id: str | None,
                as_json: bool) -> None:
    """Orders, oldest first, with their fills.

    \b
    Examples:
      smartx orders list --status partially_filled --json
      smartx orders list --block FIDELITY-20261120-1-B1
    """
    orders = [order_json(r) for r in order_rows(env.store(), status=status, account_id=account_id,
                                                custodian=custodian, block_id=block_id)]
    emit(as_json, orders, lambda: print_orders("Orders", orders))


@orders_group.command(name="show")
@click.argument("client_order_id")
@json_option
@pass_env
def orders_show(env: Env, client_order_id: str, as_json: bool) -> None:
    """One order: its trades, the lots a sell relieves, and every fill."""
    rows = order_rows(env.store(), client_order_ids=[client_order_id])
    if not rows:
        raise NotFoundError(f"no order {client_order_id}")
    order = order_json(rows[0])

    def human() -> None:
        print_orders(f"Order {client_order_id}", [order])
        print_table("Trades", ["trade", "quantity", "filled"],
                    [(t["trade_id"], t["quantity"], t["filled_quantity"]) for t in order["trades"]],
                    numeric=["quantity", "filled"])
        if order["lots"]:
            print_table("Versus purchase", ["acquired", "quantity"],
                        [(lot["acquired"], lot["quantity"]) for lot in order["lots"]], numeric=["quantity"])
        print_table("Fills", ["execution", "quantity", "price", "trade date"],
                    [(f["execution_id"], f["quantity"], f["price"], f["trade_date"]) for f in order["fills"]],
                    numeric=["quantity", "price"], empty="none yet")

    emit(as_json, order, human)


@orders_group.command(name="cancel")
@click.argument("client_order_id")
@json_option
@pass_env
def orders_cancel(env: Env, client_order_id: str, as_json: bool) -> None:
    """Ask the custodian to cancel an open order (what already filled stays filled)."""
    store = env.store()
    row = order_rows(store, client_order_ids=[client_order_id])
    custodian = row[0]["custodian"] if row else None
    order = order_json(cancel_order(store, custodians(custodian) if custodian else {}, client_order_id))
    emit(as_json, order, lambda: print_orders("Cancelled", [order]))


def print_orders(title: str, orders: list[dict[str, Any]]) -> None:
    print_table(title, ["order", "custodian", "account", "symbol", "side", "quantity", "filled", "avg price",
                        "status", "block", "message"],
                [(o["client_order_id"], o["custodian"], o["account_id"], o["symbol"], o["side"], o["quantity"],
                  o["filled_quantity"], o["average_price"], o["status"], o["block_id"], o["message"])
                 for o in orders], numeric=["quantity", "filled", "avg price"], empty="no orders")
