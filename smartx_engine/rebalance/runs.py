"""Rebalance runs: evaluate the policies, generate trades, store them as proposals, in one transaction.

A run records its as-of date, the digest of the book it saw and the content digest of every
policy it used. A new run supersedes the still-proposed trades of the sleeves it proposes for
(they become ``cancelled``, noted with the run), so proposals never stack up.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs
import numpy as np

from ..book import Book
from ..domain import Side, Trade, TradeStatus
from ..dsl.policyset import PolicySet
from ..errors import ConflictError, NotFoundError
from ..fixedpoint import PRICE, QUANTITY
from ..store import Store, where
from .details import reasons, relieved_lots
from .generate import generate_trades


@attrs.frozen
class ProposedTrade:
    """A trade with what the review needs: its reasons and, for a sell, the lots it relieves."""

    trade: Trade
    lots: tuple[dict[str, Any], ...]


@attrs.frozen
class RunResult:
    run_id: str | None  # None for a dry run
    as_of: dt.date
    book_digest: str
    policies: dict[str, str]
    sleeves_evaluated: int
    sleeves_triggered: int
    problems: dict[str, str]
    trades: tuple[ProposedTrade, ...]


def _scope_mask(book: Book, store: Store, sleeves: Sequence[str], account: str | None,
                household: str | None) -> np.ndarray:
    """Which sleeves of the book the run proposes for (all of them without a scope)."""
    wanted = set(sleeves)
    for sleeve_id in wanted:
        store.sleeve(sleeve_id)  # a clear error for an unknown sleeve
    if account:
        wanted |= {s.sleeve_id for s in store.sleeves(store.account(account).account_id)}
    if household:
        store.household(household)
        wanted |= {s.sleeve_id for a in store.accounts(household) for s in store.sleeves(a.account_id)}
    if not (sleeves or account or household):
        return np.ones(book.n_sleeves, dtype=bool)
    return np.isin(book.sleeve_ids, list(wanted))


def rebalance(store: Store, policies: PolicySet, as_of: dt.date, *, sleeves: Sequence[str] = (),
              account: str | None = None, household: str | None = None, dry_run: bool = False) -> RunResult:
    """Propose the trades of every triggered sleeve in scope; store them unless ``dry_run``."""
    book = Book.from_store(store, as_of)
    in_scope = _scope_mask(book, store, sleeves, account, household)
    evaluation = policies.evaluate(book)
    prices = store.prices()
    accounts = book.account_ids[book.sleeve_account]
    proposed, triggered = [], 0
    for name, result in evaluation.evaluations.items():
        chosen = in_scope[result.sleeves]
        triggered += int((result.triggered & chosen).sum())
        trades = generate_trades(result)
        local_sleeves = result.book.holding_sleeve[trades.holding]
        symbols = result.book.symbols[result.book.holding_symbol[trades.holding]]
        why = reasons(trades)
        for row in np.flatnonzero(chosen[local_sleeves]):
            sleeve, symbol = int(result.sleeves[local_sleeves[row]]), str(symbols[row])
            trade = Trade(
                trade_id="T-PENDING", run_id="R-PENDING", account_id=str(accounts[sleeve]),
                sleeve_id=str(book.sleeve_ids[sleeve]), symbol=symbol, side=Side.BUY if trades.side[row] > 0 else Side.SELL,
                quantity=Decimal(repr(float(trades.quantity[row]))).quantize(QUANTITY.unit),
                est_price=prices[symbol], reasons=tuple(why[row]),
            )
            proposed.append(ProposedTrade(trade, tuple(relieved_lots(trades, row, as_of))))
    problems = {str(book.sleeve_ids[i]): p for i, p in evaluation.resolution.problems.items() if in_scope[i]}
    used = sorted({evaluation.resolution.names[c] for c in evaluation.resolution.policy_of[in_scope] if c >= 0})
    result = RunResult(None, as_of, book.digest(), {n: policies.digests[n] for n in used},
                       int(in_scope.sum()), triggered, problems, tuple(proposed))
    return result if dry_run else record_run(store, result)


def record_run(store: Store, result: RunResult) -> RunResult:
    """Store a run and its proposals in one transaction, superseding older proposals of the same sleeves."""
    db = store.db
    now = store.clock().isoformat(timespec="seconds")
    with store.transaction():
        run_id = f"R-{_next_number(db, 'runs', 'run_id'):06d}"
        db.table("runs").insert({
            "run_id": run_id, "as_of": result.as_of.isoformat(), "created_at": now, "actor": store.actor,
            "book_digest": result.book_digest, "policies": json.dumps(result.policies, sort_keys=True),
            "sleeves_evaluated": result.sleeves_evaluated, "sleeves_triggered": result.sleeves_triggered,
            "trades": len(result.trades), "problems": json.dumps(result.problems, sort_keys=True),
        })
        sleeves = sorted({p.trade.sleeve_id for p in result.trades})
        superseded = db.execute(
            "update trades set status = 'cancelled', note = ?, decided_at = ? where status = 'proposed'"
            " and sleeve_id in (select value from json_each(?))",
            [f"superseded by {run_id}", now, json.dumps(sleeves)]).rowcount
        first = _next_number(db, "trades", "trade_id")
        stored = [attrs.evolve(p, trade=attrs.evolve(p.trade, trade_id=f"T-{first + i:08d}", run_id=run_id))
                  for i, p in enumerate(result.trades)]
        db.conn.executemany(
            "insert into trades (trade_id, run_id, account_id, sleeve_id, symbol, side, quantity_e6, est_price_e6,"
            " status, reasons, lots, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(t.trade_id, run_id, t.account_id, t.sleeve_id, t.symbol, str(t.side), QUANTITY.to_int(t.quantity),
              PRICE.to_int(t.est_price), str(t.status), json.dumps(list(t.reasons)),
              json.dumps(list(p.lots), default=str), now) for p in stored for t in [p.trade]])
        store.audit("rebalance.run", run_id, as_of=result.as_of.isoformat(), book_digest=result.book_digest,
                    policies=result.policies, trades=len(stored), superseded=superseded,
                    sleeves_triggered=result.sleeves_triggered)
    return attrs.evolve(result, run_id=run_id, trades=tuple(stored))


def _next_number(db, table: str, key: str) -> int:
    row = db.execute(f"select max(cast(substr({key}, 3) as integer)) from {table}").fetchone()
    return (row[0] or 0) + 1


# ---------------------------------------------------------------- review


def stored_trades(store: Store, *, status: str | None = None, run_id: str | None = None,
                  trade_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Stored trades as rows for listing (newest run first, then by trade id)."""
    clause, params = where(status=status, run_id=run_id)
    if trade_ids:
        clause += (" and " if clause else "where ") + "trade_id in (select value from json_each(?))"
        params.append(json.dumps(list(trade_ids)))
    return list(store.db.query(f"select * from trades {clause} order by run_id desc, trade_id", params))


def decide(store: Store, trade_ids: Sequence[str], status: TradeStatus, note: str | None = None) -> list[str]:
    """Approve or reject proposed trades (only proposed ones); audited. Returns the ids decided."""
    rows = {r["trade_id"]: r for r in stored_trades(store, trade_ids=trade_ids)}
    if missing := [t for t in trade_ids if t not in rows]:
        raise NotFoundError(f"no trade {', '.join(missing)}")
    if not_proposed := [f"{t} ({rows[t]['status']})" for t in trade_ids if rows[t]["status"] != "proposed"]:
        raise ConflictError(f"only proposed trades can be decided: {', '.join(not_proposed)}")
    now = store.clock().isoformat(timespec="seconds")
    with store.transaction():
        store.db.execute(
            "update trades set status = ?, decided_by = ?, decided_at = ?, note = ?"
            " where trade_id in (select value from json_each(?))",
            [str(status), store.actor, now, note, json.dumps(list(trade_ids))])
        store.audit(f"trades.{'approve' if status == TradeStatus.APPROVED else 'reject'}", ",".join(trade_ids),
                    trades=list(trade_ids), note=note)
    return list(trade_ids)
