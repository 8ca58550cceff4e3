"""Reconciliation: where the engine's book and the custodian's disagree, as stored *breaks*.

Per linked account, after a sync has stored what the custodian reports:

- ``position``: the engine's quantity of a security (its lots summed over every sleeve of the
  account) differs from the custodian's;
- ``cash``: the engine's cash (the sleeves' cash summed) differs from the custodian's;
- ``lots``: the custodian reports lots, the position matches, but the lots per acquired date
  (quantity and cost basis) differ;
- ``unlinked``: the custodian did not report an account the store holds at it.

A break's id is ``{account_id}:{kind}:{symbol or $CASH}``, so the same difference found again is
the same break. Its ``engine`` and ``custodian`` columns hold the exact values as text. Statuses:
``open`` (new, or changed since it was acknowledged) → ``acknowledged`` (by an operator, with a
note; the values stay as they were) → ``resolved`` (no longer found). An account with an open
break is blocked from trading (:func:`blocked_accounts`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from ..domain import CASH_SYMBOL
from ..errors import ConflictError, NotFoundError, did_you_mean
from ..fixedpoint import MONEY, QUANTITY
from ..store import Store

KINDS = ("position", "cash", "lots", "unlinked")
STATUSES = ("open", "acknowledged", "resolved")
#: the statuses of a break still standing (``smartx custodians breaks`` shows these by default)
LIVE = ("open", "acknowledged")


@attrs.frozen
class Break:
    """A stored reconciliation break."""

    break_id: str
    account_id: str
    kind: str
    symbol: str | None
    engine: str
    custodian: str
    status: str
    found_at: str
    updated_at: str
    note: str | None
    acknowledged_by: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Break:
        return cls(**{field.name: row[field.name] for field in attrs.fields(cls)})


@attrs.frozen
class ReconcileResult:
    """What one reconciliation changed, by break id."""

    found: tuple[str, ...]  # every difference found (open or acknowledged now)
    opened: tuple[str, ...]  # new breaks, and resolved ones found again
    reopened: tuple[str, ...]  # acknowledged breaks whose values changed
    resolved: tuple[str, ...]  # live breaks no longer found
    open: int  # open breaks of the reconciled accounts, after

    @property
    def acknowledged(self) -> int:
        return len(self.found) - self.open


def break_id(account_id: str, kind: str, symbol: str | None = None) -> str:
    return f"{account_id}:{kind}:{symbol or CASH_SYMBOL}"


def quantity_text(units: int) -> str:
    """A quantity in millionths as exact plain text (``25.5``)."""
    return _plain(QUANTITY.to_decimal(units))


def money_text(cents: int) -> str:
    return str(MONEY.to_decimal(cents))


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _lots_text(lots: Mapping[str, tuple[int, int]]) -> str:
    """Lots per acquired date as ``2023-02-14 100 @ 21450.00; ...`` (empty: ``no lots``)."""
    return "; ".join(f"{day} {quantity_text(q)} @ {money_text(c)}" for day, (q, c) in sorted(lots.items())) or "no lots"


def _differences(store: Store, account_ids: list[str], missing: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Every difference between the engine and the custodian data stored for these accounts."""
    scope = json.dumps(account_ids)
    inside = "account_id in (select value from json_each(?))"
    engine_q: dict[str, dict[str, int]] = defaultdict(dict)
    for r in store.db.query(f"select account_id, symbol, sum(quantity_e6) as q from lots where {inside}"
                            " group by account_id, symbol", [scope]):
        if r["q"]:
            engine_q[r["account_id"]][r["symbol"]] = r["q"]
    custodian_q: dict[str, dict[str, int]] = defaultdict(dict)
    for r in store.db.query(f"select account_id, symbol, quantity_e6 as q from custodian_positions where {inside}",
                            [scope]):
        if r["q"]:
            custodian_q[r["account_id"]][r["symbol"]] = r["q"]
    engine_cash = {r["account_id"]: r["c"] for r in store.db.query(
        f"select account_id, sum(amount_cents) as c from cash where {inside} group by account_id", [scope])}
    custodian_cash = {r["account_id"]: r["cash_cents"] for r in store.db.query(
        f"select account_id, cash_cents from custodian_balances where {inside}", [scope])}
    engine_lots: dict[tuple[str, str], dict[str, tuple[int, int]]] = defaultdict(dict)
    for r in store.db.query(f"select account_id, symbol, acquired, sum(quantity_e6) as q, sum(cost_basis_cents) as c"
                            f" from lots where {inside} group by account_id, symbol, acquired", [scope]):
        engine_lots[r["account_id"], r["symbol"]][r["acquired"]] = (r["q"], r["c"])
    custodian_lots: dict[tuple[str, str], dict[str, tuple[int, int]]] = defaultdict(dict)
    reports_lots = set()
    for r in store.db.query(f"select account_id, symbol, acquired, sum(quantity_e6) as q, sum(cost_basis_cents) as c"
                            f" from custodian_lots where {inside} group by account_id, symbol, acquired", [scope]):
        reports_lots.add(r["account_id"])
        custodian_lots[r["account_id"], r["symbol"]][r["acquired"]] = (r["q"], r["c"])

    found: dict[str, dict[str, Any]] = {}

    def add(account_id: str, kind: str, symbol: str | None, engine: str, custodian: str) -> None:
        found[break_id(account_id, kind, symbol)] = {"account_id": account_id, "kind": kind, "symbol": symbol,
                                                     "engine": engine, "custodian": custodian}

    for account_id in account_ids:
        if account_id in missing:
            add(account_id, "unlinked", None, missing[account_id], "not reported")
            continue
        ours, theirs = engine_q[account_id], custodian_q[account_id]
        for symbol in sorted(ours.keys() | theirs.keys()):
            mine, other = ours.get(symbol, 0), theirs.get(symbol, 0)
            if mine != other:
                add(account_id, "position", symbol, quantity_text(mine), quantity_text(other))
            elif account_id in reports_lots:
                lots_mine, lots_other = engine_lots[account_id, symbol], custodian_lots[account_id, symbol]
                if lots_mine != lots_other:
                    add(account_id, "lots", symbol, _lots_text(lots_mine), _lots_text(lots_other))
        cash_mine, cash_other = engine_cash.get(account_id, 0), custodian_cash.get(account_id)
        if cash_other is not None and cash_mine != cash_other:
            add(account_id, "cash", None, money_text(cash_mine), money_text(cash_other))
    return found


def reconcile(store: Store, account_ids: Iterable[str], *, missing: Mapping[str, str] | None = None) -> ReconcileResult:
    """Compare the engine with the custodian data stored for ``account_ids`` and update their breaks.

    ``missing`` maps the accounts the custodian did not report to the number they were expected
    under: each gets an ``unlinked`` break and nothing else. Runs in the caller's transaction (or
    its own) and is not audited: the caller (a sync) audits.
    """
    account_ids = sorted(set(account_ids) | set(missing or {}))
    missing = dict(missing or {})
    now = store.clock().isoformat(timespec="seconds")
    with store.transaction():
        found = _differences(store, account_ids, missing)
        stored = {r["break_id"]: r for r in store.db.query(
            "select * from breaks where account_id in (select value from json_each(?))", [json.dumps(account_ids)])}
        opened, reopened, resolved = [], [], []
        for key, difference in found.items():
            row = stored.get(key)
            if row is None:
                store.db.table("breaks").insert({"break_id": key, **difference, "status": "open", "found_at": now,
                                                 "updated_at": now, "note": None, "acknowledged_by": None})
                opened.append(key)
            elif row["status"] == "resolved":
                store.db.table("breaks").update(key, {**difference, "status": "open", "found_at": now,
                                                      "updated_at": now, "note": None, "acknowledged_by": None})
                opened.append(key)
            elif (row["engine"], row["custodian"]) != (difference["engine"], difference["custodian"]):
                store.db.table("breaks").update(key, {"engine": difference["engine"],
                                                      "custodian": difference["custodian"], "status": "open",
                                                      "updated_at": now, "acknowledged_by": None})
                if row["status"] == "acknowledged":
                    reopened.append(key)
        for key, row in stored.items():
            if key not in found and row["status"] in LIVE:
                store.db.table("breaks").update(key, {"status": "resolved", "updated_at": now})
                resolved.append(key)
        still_open = store.db.execute(
            "select count(*) from breaks where status = 'open' and account_id in (select value from json_each(?))",
            [json.dumps(account_ids)]).fetchone()[0]
    return ReconcileResult(tuple(sorted(found)), tuple(opened), tuple(reopened), tuple(sorted(resolved)), still_open)


def stored_breaks(store: Store, *, statuses: Iterable[str] = LIVE, account_id: str | None = None) -> list[Break]:
    """The stored breaks in these statuses (of one account), by account, kind and symbol."""
    statuses = list(statuses)
    if unknown := sorted(set(statuses) - set(STATUSES)):
        raise NotFoundError(f"no break status {unknown[0]!r} (statuses: {', '.join(STATUSES)})")
    if account_id:
        store.account(account_id)
    rows = store.db.query(
        "select * from breaks where status in (select value from json_each(?))"
        + (" and account_id = ?" if account_id else "") + " order by account_id, kind, symbol",
        [json.dumps(statuses), *([account_id] if account_id else [])])
    return [Break.from_row(r) for r in rows]


def blocked_accounts(store: Store) -> set[str]:
    """The accounts with an open break: trading them is blocked until it is resolved or acknowledged."""
    return {r["account_id"] for r in store.db.query("select distinct account_id from breaks where status = 'open'")}


def acknowledge(store: Store, break_id: str, note: str) -> Break:
    """Acknowledge an open break (by ``store.actor``, with a note): its account may trade again.

    The break stays acknowledged while the same difference is found; if its values change it is
    reopened, and when the difference goes away it is resolved.
    """
    if not note or not note.strip():
        raise ConflictError("say why the break is acknowledged: a note is required")
    rows = list(store.db.query("select * from breaks where break_id = ?", [break_id]))
    if not rows:
        live = [r["break_id"] for r in store.db.query("select break_id from breaks where status = 'open'")]
        hint = did_you_mean(break_id, live)
        raise NotFoundError(f"no break {break_id!r}" + (f"; {hint}" if hint else "")
                            + "; see `smartx custodians breaks`")
    current = Break.from_row(rows[0])
    if current.status != "open":
        raise ConflictError(f"break {break_id} is {current.status}, not open; only open breaks are acknowledged")
    now = store.clock().isoformat(timespec="seconds")
    with store.transaction():
        store.db.table("breaks").update(break_id, {"status": "acknowledged", "note": note.strip(),
                                                   "acknowledged_by": store.actor, "updated_at": now})
        store.audit("custodians.break.acknowledge", break_id, account_id=current.account_id, kind=current.kind,
                    symbol=current.symbol, engine=current.engine, custodian=current.custodian, note=note.strip())
    return attrs.evolve(current, status="acknowledged", note=note.strip(), acknowledged_by=store.actor, updated_at=now)
