"""The file-drop simulator: Fidelity's side of the order files, for tests and the demo.

:func:`simulate` executes the outbox files that have no results yet and writes their execution
and allocation result files into the inbox (see :mod:`.files` for the layouts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

from smartx_engine import Side, allocate_pro_rata

from .files import (
    ACTIONS, ALLOCATION_COLUMNS, EXECUTION_COLUMNS, OrderLine, number_text, read_blocks, read_orders, write_csv,
)



def settlement_date(trade_date: dt.date) -> dt.date:
    """T+1 on business days (weekends skipped; holidays are not modelled)."""
    day = trade_date + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


Holdings = Mapping[tuple[str, str], Decimal]


def simulate(outbox: Path, inbox: Path, prices: Mapping[str, Decimal], *, trade_date: dt.date,
             holdings: Holdings | None = None, partial: Mapping[str, Decimal] | None = None) -> list[Path]:
    """Execute every outbox file that has no results yet; returns the result files written.

    Deterministic: a market order fills in full at ``prices[symbol]``; a limit order fills in full
    when that price is at or better than its limit, else it EXPIRES unfilled; a symbol without a
    price is REJECTED. A block executes like an order in its block account, then every allocation
    gets its share at the block's average price. Settlement is :func:`settlement_date`.

    ``holdings`` (optional), the quantity each ``(account, symbol)`` holds: a sell of more than is
    held is REJECTED (a block, when any of its allocations sells more than its account holds), and
    fills update the quantities as files are executed in order. ``partial`` (optional) maps a
    symbol to the fraction of each order (or block) in it that fills: the filled quantity is that
    fraction of the order rounded down to whole shares; the order is PARTIAL (the rest of the day
    order expires), or EXPIRED when nothing is left, or FILLED when the fraction is 1. A partially
    filled block is allocated with :func:`smartx_engine.allocate_pro_rata` in whole shares
    (largest remainders first, ties to the client order id that sorts first); an allocation that
    gets nothing has no allocation row.
    """
    outbox, inbox = Path(outbox), Path(inbox)
    settle = settlement_date(trade_date)
    held = None if holdings is None else dict(holdings)
    partial = partial or {}
    written = []
    for path in sorted(outbox.glob("orders_*.csv")):
        target = inbox / f"executions_{path.stem}.csv"
        if target.exists():
            continue
        rows = []
        for o in read_orders(path):
            short = _short(held, o.side, o.symbol, [(o.account_number, o.quantity)])
            status, filled, price = _fill(o, prices, partial, short)
            _move(held, o.side, o.symbol, [(o.account_number, filled)])
            rows.append(_result_row(o, status, filled, price, trade_date, settle))
        written.append(write_csv(target, EXECUTION_COLUMNS, rows))
    for path in sorted(outbox.glob("blocks_*.csv")):
        target = inbox / f"executions_{path.stem}.csv"
        if target.exists():
            continue
        blocks = read_blocks(path)
        executions, allocations = [], []
        for b in blocks:
            head = OrderLine(b.block_id, b.block_account, b.side, b.quantity, b.symbol, b.limit_price)
            short = _short(held, b.side, b.symbol, [(a.account_number, a.quantity) for a in b.allocations])
            status, filled, price = _fill(head, prices, partial, short)
            executions.append(_result_row(head, status, filled, price, trade_date, settle))
            if not filled:
                continue
            shares = ({a.client_order_id: a.quantity for a in b.allocations} if filled == b.quantity else
                      allocate_pro_rata(filled, {a.client_order_id: a.quantity for a in b.allocations}))
            _move(held, b.side, b.symbol, [(a.account_number, shares[a.client_order_id]) for a in b.allocations])
            allocations.extend([b.block_id, a.client_order_id, a.account_number, ACTIONS[b.side], b.symbol,
                                number_text(shares[a.client_order_id]), number_text(price), trade_date.isoformat(),
                                settle.isoformat()]
                               for a in b.allocations if shares[a.client_order_id])
        # allocations first: a reader that sees the execution file also sees its allocations
        written.append(write_csv(inbox / f"allocations_{path.stem}.csv", ALLOCATION_COLUMNS, allocations))
        written.append(write_csv(target, EXECUTION_COLUMNS, executions))
    return written


def _short(held: dict[tuple[str, str], Decimal] | None, side: Side, symbol: str,
           sells: list[tuple[str, Decimal]]) -> bool:
    """Whether a sell asks more than an account holds (only when holdings are modelled)."""
    if held is None or side is not Side.SELL:
        return False
    return any(quantity > held.get((account, symbol), Decimal(0)) for account, quantity in sells)


def _move(held: dict[tuple[str, str], Decimal] | None, side: Side, symbol: str,
          fills: list[tuple[str, Decimal]]) -> None:
    if held is None:
        return
    sign = 1 if side is Side.BUY else -1
    for account, quantity in fills:
        held[(account, symbol)] = held.get((account, symbol), Decimal(0)) + sign * quantity


def _fill(order: OrderLine, prices: Mapping[str, Decimal], partial: Mapping[str, Decimal],
          short: bool) -> tuple[str, Decimal, Decimal | None]:
    """(status, filled quantity, price) of one order or block."""
    price = prices.get(order.symbol)
    if price is None or short:
        return "REJECTED", Decimal(0), None
    if order.limit_price is not None:
        marketable = price <= order.limit_price if order.side is Side.BUY else price >= order.limit_price
        if not marketable:
            return "EXPIRED", Decimal(0), None
    fraction = partial.get(order.symbol)
    if fraction is None or fraction >= 1:
        return "FILLED", order.quantity, price
    filled = (order.quantity * fraction).to_integral_value(rounding=ROUND_FLOOR)
    if filled <= 0:
        return "EXPIRED", Decimal(0), None
    return "PARTIAL", filled, price


def _result_row(order: OrderLine, status: str, filled: Decimal, price: Decimal | None, trade_date: dt.date,
                settle: dt.date) -> list[str]:
    return [order.client_order_id, order.account_number, ACTIONS[order.side], order.symbol, number_text(order.quantity),
            number_text(filled) if filled else "0", number_text(price) if filled else "", status,
            trade_date.isoformat(), settle.isoformat() if filled else ""]
