"""What custodians say of orders, applied to the store: statuses, executions, cancels.

:func:`apply_report` is the one way a custodian's :class:`~smartx_engine.custody.OrderReport`
changes an order: each execution not applied yet is applied in its own transaction
(:mod:`~smartx_engine.orders.fills`), then the order's status, custodian id and message in
another. Trades of a rejected order become ``failed``, those of a cancelled one ``cancelled``
(unless part of them filled).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ..custody import Custodian, OrderReport
from ..domain import OrderStatus
from ..errors import ConflictError, NotFoundError
from ..plugins import call_event
from ..store import Store
from .fills import AppliedFill, apply_execution
from .records import OPEN, order_rows, request_of

Progress = Callable[[str, int, int], None]


@attrs.frozen
class Tracked:
    """What one round of tracking changed."""

    orders: int  # orders asked about
    changed: tuple[str, ...]  # client order ids whose status changed
    fills: tuple[AppliedFill, ...]
    unsent: tuple[str, ...]  # pending orders the custodian never received


def apply_report(store: Store, row: Mapping[str, Any], report: OrderReport) -> tuple[bool, list[AppliedFill]]:
    """Apply one report to the stored order ``row``: (whether its status changed, the fills applied)."""
    fills = [fill for e in report.executions if (fill := apply_execution(store, row, e)) is not None]
    status = row["status"] if report.status == OrderStatus.PENDING else str(report.status)
    now = store.clock().isoformat(timespec="seconds")
    with store.transaction():
        store.db.execute(
            "update orders set status = ?, custodian_order_id = coalesce(?, custodian_order_id),"
            " message = coalesce(?, message), updated_at = ? where client_order_id = ?",
            [status, report.custodian_order_id, report.message, now, row["client_order_id"]])
        outcome = {"rejected": "failed", "cancelled": "cancelled"}.get(status)
        if outcome:
            store.db.execute(
                "update trades set status = ? where status = 'submitted' and trade_id in"
                " (select trade_id from order_trades where client_order_id = ? and filled_e6 = 0)",
                [outcome, row["client_order_id"]])
        if status != row["status"]:
            store.audit("orders.status", row["client_order_id"], before=row["status"], after=status,
                        custodian_order_id=report.custodian_order_id, message=report.message)
    return status != row["status"], fills


def sync_orders(store: Store, custodians: Mapping[str, Custodian], *, only: Sequence[str] | None = None,
                progress: Progress | None = None) -> Tracked:
    """Ask each custodian about every open order (pending, submitted, partially filled) and apply its answers.

    A pending order the custodian never received stays pending (`smartx trades submit` sends it).
    """
    rows = [r for r in order_rows(store, status=[str(s) for s in OPEN])
            if r["custodian"] in custodians and (only is None or r["custodian"] in only)]
    changed, fills, unsent = [], [], []
    for done, (name, group) in enumerate(_by_custodian(rows).items()):
        if progress:
            progress(f"tracking {name} orders", done, len(rows))
        reports = custodians[name].track([request_of(r) for r in group])
        for row in group:
            report = reports.get(row["client_order_id"])
            if report is None:
                unsent.append(row["client_order_id"])
                continue
            moved, applied = apply_report(store, row, report)
            changed += [row["client_order_id"]] if moved else []
            fills += applied
    if fills:
        call_event("on_fills", fills=fills)
    return Tracked(len(rows), tuple(changed), tuple(fills), tuple(unsent))


def cancel_order(store: Store, custodians: Mapping[str, Custodian], client_order_id: str) -> Mapping[str, Any]:
    """Ask the custodian to cancel an open order; the order as it is afterwards."""
    rows = order_rows(store, client_order_ids=[client_order_id])
    if not rows:
        raise NotFoundError(f"no order {client_order_id}")
    row = rows[0]
    if row["status"] not in {str(s) for s in OPEN}:
        raise ConflictError(f"order {client_order_id} is {row['status']}; only open orders can be cancelled")
    if row["custodian"] not in custodians:
        raise NotFoundError(f"no custodian plugin is registered for {row['custodian']!r}")
    report = custodians[row["custodian"]].cancel(request_of(row))
    with store.transaction():
        store.audit("orders.cancel", client_order_id, status=report.status, message=report.message)
    apply_report(store, row, report)
    return order_rows(store, client_order_ids=[client_order_id])[0]


def _by_custodian(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["custodian"], []).append(row)
    return dict(sorted(groups.items()))

