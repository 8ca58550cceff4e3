"""Review of proposed trades: list, edit, approve (four-eyes when configured), reject.

Approved trades are netted inside their accounts (:func:`approved_netting`): opposite trades of
one account in one security cross, and the account sends one net order per security
(docs/rebalancing.md, "Account netting"). The crossings are applied when the orders are booked.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from .. import settings
from ..domain import Side, Trade, TradeStatus
from ..errors import ConflictError, DataError, NotFoundError
from ..fixedpoint import PRICE, QUANTITY, round_money
from ..store import Store, where
from ..tax.relief import Method, OpenLot, relieve
from .netting import Netting, net
from .stored import materialize, pending_trades


def stored_trades(store: Store, *, status: str | None = None, run_id: str | None = None,
                  trade_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Stored trades as rows, with their run's proposer and as-of (newest run first, then by trade id):
    the rows of ``trades`` and the pending proposals of runs (:mod:`.stored`), alike."""
    clause, params = where(status=status, run_id=run_id)
    if trade_ids:
        clause += (" and " if clause else "where ") + "trade_id in (select value from json_each(?))"
        params.append(json.dumps(list(trade_ids)))
    rows = list(store.db.query(
        "select * from (select t.*, r.actor as proposed_by, r.as_of from trades t join runs r using (run_id))"
        f" {clause} order by run_id desc, trade_id", params))
    if pending := pending_trades(store.db, status=status, run_id=run_id, trade_ids=trade_ids):
        rows += pending
        rows.sort(key=lambda row: row["trade_id"])
        rows.sort(key=lambda row: row["run_id"], reverse=True)
    return rows


def _proposed(store: Store, trade_ids: Sequence[str], verb: str) -> dict[str, dict[str, Any]]:
    """The rows of ``trade_ids``; every one must exist and still be proposed."""
    rows = {r["trade_id"]: r for r in stored_trades(store, trade_ids=trade_ids)}
    if missing := [t for t in trade_ids if t not in rows]:
        raise NotFoundError(f"no trade {', '.join(missing)}")
    if not_proposed := [f"{t} ({rows[t]['status']})" for t in trade_ids if rows[t]["status"] != "proposed"]:
        raise ConflictError(f"only proposed trades can be {verb}: {', '.join(not_proposed)}")
    return rows


def decide(store: Store, trade_ids: Sequence[str], status: TradeStatus, note: str | None = None) -> list[str]:
    """Approve or reject proposed trades (only proposed ones); audited. Returns the ids decided.

    With ``approvals.four_eyes`` on, nobody approves a trade they proposed or last edited.
    """
    approving = status == TradeStatus.APPROVED
    now = store.clock().isoformat(timespec="seconds")
    with store.transaction():  # checked and written in one transaction: no decision on a stale read
        rows = _proposed(store, trade_ids, "decided")
        if approving and settings.get(store, "approvals.four_eyes"):
            own = [t for t in trade_ids if store.actor in (rows[t]["proposed_by"], rows[t]["edited_by"])]
            if own:
                raise ConflictError(f"four-eyes approval is on: {store.actor} proposed or edited {', '.join(own)}; "
                                    "another operator must approve them")
        decision = (str(status), store.actor, now, note)
        written = materialize(store.db, trade_ids=trade_ids, decision=decision)  # pending: rows, so decided
        store.db.execute(
            "update trades set status = ?, decided_by = ?, decided_at = ?, note = ?"
            " where trade_id in (select value from json_each(?))",
            [*decision, json.dumps([t for t in trade_ids if t not in written])])
        store.audit(f"trades.{'approve' if approving else 'reject'}", ",".join(trade_ids),
                    trades=list(trade_ids), note=note)
        if approving:
            _mark_rebalanced(store, rows.values())
    return list(trade_ids)


def _mark_rebalanced(store: Store, rows: Any) -> None:
    """The sleeves of approved trades were rebalanced to the model version their run proposed for."""
    by_date: dict[str, dict[str, str | None]] = {}
    for row in rows:
        by_date.setdefault(row["as_of"], {})[row["sleeve_id"]] = row["model_version"]
    for as_of, versions in by_date.items():
        store.mark_rebalanced(versions, dt.date.fromisoformat(as_of))


def _remaining(row: dict[str, Any]) -> Decimal:
    return QUANTITY.to_decimal(row["quantity_e6"] - row["crossed_e6"])


def approved_netting(store: Store, account_id: str | None = None) -> Netting:
    """The crossings and net orders of the approved trades not yet crossed (of one account, or all)."""
    rows = store.db.query("select * from trades where status = 'approved' and quantity_e6 > crossed_e6"
                          + (" and account_id = ?" if account_id else ""), [account_id] if account_id else [])
    return net(Trade(trade_id=r["trade_id"], run_id=r["run_id"], account_id=r["account_id"],
                     sleeve_id=r["sleeve_id"], symbol=r["symbol"], side=r["side"], quantity=_remaining(r),
                     est_price=PRICE.to_decimal(r["est_price_e6"])) for r in rows)


def edit(store: Store, trade_id: str, quantity: Decimal) -> dict[str, Any]:
    """Change a proposed trade's quantity, re-validated against the sleeve's holdings and cash; audited.

    A sell may not exceed what the sleeve holds less its other live sells of the security; the
    sleeve's cash after all its live trades (at their estimated prices) may not go below zero.
    """
    if quantity <= 0:
        raise DataError(f"{trade_id}: the quantity must be positive, not {quantity}")
    try:
        QUANTITY.check(quantity)
    except ValueError as exc:
        raise DataError(f"{trade_id}: {exc}") from None
    with store.transaction():  # validated and written in one transaction: no edit on a stale read
        row = _proposed(store, [trade_id], "edited")[trade_id]
        materialize(store.db, sleeve_id=row["sleeve_id"])  # the sleeve's live trades, as rows
        relieved = _validate_edit(store, row, quantity)
        old, new = (f"{q.normalize():f}" for q in (QUANTITY.to_decimal(row["quantity_e6"]), quantity))
        reasons = [*json.loads(row["reasons"]), f"quantity edited from {old} to {new} by {store.actor}"]
        store.db.execute(
            "update trades set quantity_e6 = ?, proposed_e6 = coalesce(proposed_e6, quantity_e6), lots = ?,"
            " reasons = ?, edited_by = ?, edited_at = ? where trade_id = ?",
            [QUANTITY.to_int(quantity), json.dumps(relieved, default=str), json.dumps(reasons), store.actor,
             store.clock().isoformat(timespec="seconds"), trade_id])
        store.audit("trades.edit", trade_id, before=old, after=new)
    return stored_trades(store, trade_ids=[trade_id])[0]


def _validate_edit(store: Store, row: dict[str, Any], quantity: Decimal) -> list[dict[str, Any]]:
    """Check ``quantity`` for the trade ``row`` against its sleeve's lots, cash and other live trades;
    the lots it relieves (none for a buy)."""
    trade_id, sleeve_id, symbol, side = row["trade_id"], row["sleeve_id"], row["symbol"], Side(row["side"])
    live = list(store.db.query(
        "select * from trades where sleeve_id = ? and status in ('proposed', 'approved') and trade_id != ?",
        [sleeve_id, trade_id]))
    lots = [lot for lot in store.lots(sleeve_id=sleeve_id) if lot.symbol == symbol]
    price = PRICE.to_decimal(row["est_price_e6"])
    if side is Side.SELL:
        held = sum((lot.quantity for lot in lots), Decimal(0))
        selling = sum((_remaining(r) for r in live if r["symbol"] == symbol and r["side"] == "sell"), Decimal(0))
        if quantity > held - selling:
            raise DataError(f"{trade_id}: cannot sell {quantity} {symbol}: {sleeve_id} holds {held}"
                            + (f", {selling} of them in other live sells" if selling else ""))
    cash = sum((c.amount for c in store.cash(sleeve_id=sleeve_id)), Decimal(0))
    flows = [(Side(r["side"]), _remaining(r), PRICE.to_decimal(r["est_price_e6"])) for r in live]
    after = cash + sum(round_money(q * p) * (1 if s is Side.SELL else -1) for s, q, p in [*flows, (side, quantity, price)])
    if after < 0:
        raise DataError(f"{trade_id}: {quantity} {symbol} would overdraw {sleeve_id} by {-after} USD "
                        f"(cash {cash} USD and its other live trades)")
    if side is Side.BUY:
        return []
    # FIFO: an edit has the store, not the rules directory, so not the sleeve's policy `lots` method.
    relieved = relieve([OpenLot.from_lot(lot) for lot in lots], quantity, price, dt.date.fromisoformat(row["as_of"]),
                       Method.FIFO)
    return [relief.as_json() for relief in relieved]
