"""Submitting orders exactly once.

``submit`` first asks each custodian about the orders an earlier submission recorded but never
saw acknowledged (``pending``): one the custodian has is updated, never sent again; one it never
received is sent now, with its original client order id and batch. Then the approved trades are
netted and recorded as new pending orders (:mod:`~smartx_engine.orders.plan`), and every pending
order is sent, one batch per custodian. Each answer is stored as it comes
(:func:`~smartx_engine.orders.tracking.apply_report`); an order whose outcome the custodian could
not confirm stays pending for the next ``submit`` or ``sync``. So a crash or a lost answer at any
point leaves either a recorded order the custodian does not have (sent on the next run) or one it
has (found on the next run): never a second copy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from typing import Any

import attrs

from ..custody import Custodian, OrderReport
from ..domain import OrderStatus
from ..errors import CustodianError
from ..plugins import call_event
from ..store import Store
from .plan import Recording, record_orders
from .records import order_json, order_rows, request_of
from .tracking import apply_report

Progress = Callable[[str, int, int], None]


@attrs.frozen
class Submission:
    """What one ``submit`` did."""

    recording: Recording
    recovered: tuple[str, ...]  # pending orders found at the custodian (sent before, answer lost)
    sent: tuple[str, ...]  # orders sent by this run
    still_pending: tuple[str, ...]  # orders whose outcome is unknown: tracked on the next run
    errors: tuple[str, ...]  # custodians that refused a whole batch, with their message


def submit(store: Store, custodians: Mapping[str, Custodian], *, run_id: str | None = None, block: bool = False,
           only: Collection[str] | None = None, progress: Progress | None = None) -> Submission:
    """Reconcile pending orders, record the approved trades as orders, send what is pending."""
    chosen = {n: c for n, c in custodians.items() if only is None or n in only}
    recovered = _recover(store, chosen)
    recording = record_orders(store, chosen, run_id=run_id, block=block)
    pending = [r for r in order_rows(store, status="pending") if r["custodian"] in chosen]
    batches: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in pending:
        if row["client_order_id"] not in recovered:
            batches[(row["custodian"], row["batch_id"])].append(row)
    sent, errors = [], []
    for done, ((name, batch_id), rows) in enumerate(sorted(batches.items())):
        if progress:
            progress(f"sending batch {batch_id}", done, len(batches))
        try:
            reports = chosen[name].submit([request_of(r) for r in rows])
        except CustodianError as exc:  # nothing confirmed: the orders stay pending and are tracked next time
            errors.append(f"{name} batch {batch_id}: {exc}")
            continue
        by_id = {r.client_order_id: r for r in reports}
        for row in rows:
            report = by_id.get(row["client_order_id"])
            if report is not None:
                apply_report(store, row, report)
                sent += [] if report.status == OrderStatus.PENDING else [row["client_order_id"]]
    still = tuple(r["client_order_id"] for r in order_rows(store, status="pending") if r["custodian"] in chosen)
    if sent:
        call_event("on_orders_submitted", orders=[order_json(r) for r in order_rows(store, client_order_ids=sent)])
    return Submission(recording, tuple(recovered), tuple(sent), still, tuple(errors))


def _recover(store: Store, custodians: Mapping[str, Custodian]) -> set[str]:
    """Track the orders left pending by an earlier run; the ids the custodian turned out to have."""
    found: set[str] = set()
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in order_rows(store, status="pending"):
        if row["custodian"] in custodians:
            groups[row["custodian"]].append(row)
    for name, rows in sorted(groups.items()):
        reports: Mapping[str, OrderReport | None] = custodians[name].track([request_of(r) for r in rows])
        for row in rows:
            report = reports.get(row["client_order_id"])
            if report is not None and report.status != OrderStatus.PENDING:
                apply_report(store, row, report)
                found.add(row["client_order_id"])
    return found
