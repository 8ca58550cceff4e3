"""Sync: fetch what each custodian holds for the firm's accounts, store it, and reconcile.

For each adapter that serves accounts of the store (``accounts.custodian == adapter.name``), in
one transaction per custodian: the custodian's positions, lots and cash of the linked accounts
replace the ones stored before; securities get the custodian's prices, which are also kept as the
closes of ``as_of`` in the price history (a security the store does not know is added, named by
its symbol, asset class ``unclassified``); the accounts' transactions
from ``since`` to ``as_of`` are added (those already stored are kept); then the accounts are
reconciled (:mod:`.reconcile`) and the sync is recorded (``syncs``) and audited
(``custodians.sync``). Syncing twice stores nothing new the second time.

An account is *linked* when the custodian reports its number (``Account.custodian_number``).
Accounts the custodian reports that the store does not know are listed as ``unlinked`` (nothing
is stored for them); store accounts it does not report get an ``unlinked`` break. An adapter
that fails or sends malformed data (``CustodianError``, ``DataError``) aborts its custodian's sync
with nothing written; the other custodians still sync.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from ..custody import Custodian, CustodianAccount, CustodianTransaction
from ..domain import Account, security_symbol
from ..errors import CustodianError, DataError, NotFoundError
from ..fixedpoint import MONEY, PRICE, QUANTITY
from ..store import Store
from .reconcile import reconcile

#: (what is being done, steps done, steps in all)
Progress = Callable[[str, int, int], None]

#: a sync fetches transactions from this many days before the previous sync's as-of date
OVERLAP_DAYS = 7
#: ... or, for a custodian never synced, from this many days before the as-of date
FIRST_SYNC_DAYS = 90


@attrs.frozen
class CustodianSync:
    """What the sync of one custodian did (``error`` set: it failed and wrote nothing)."""

    custodian: str
    as_of: dt.date
    since: dt.date
    sync_id: int | None = None
    accounts: tuple[str, ...] = ()  # the store's accounts synced (linked), by account id
    positions: int = 0
    lots: int = 0
    transactions_added: int = 0
    securities_added: tuple[str, ...] = ()
    breaks_open: int = 0  # open breaks of the synced accounts after the sync
    breaks_acknowledged: int = 0
    breaks_opened: tuple[str, ...] = ()  # found this time (new, reopened or found again)
    breaks_resolved: tuple[str, ...] = ()
    unlinked: tuple[str, ...] = ()  # custodian account numbers the store does not know
    missing: tuple[str, ...] = ()  # store accounts the custodian did not report (each has a break)
    error: str | None = None


@attrs.frozen
class SyncResult:
    as_of: dt.date
    custodians: tuple[CustodianSync, ...]

    @property
    def failed(self) -> tuple[CustodianSync, ...]:
        return tuple(c for c in self.custodians if c.error)


@attrs.frozen
class _Checked:
    """A custodian account checked and in store units."""

    number: str
    cash_cents: int
    positions: dict[str, tuple[int, int | None]]  # symbol -> (quantity_e6, price_e6)
    lots: list[tuple[str, int, int, str]] | None  # (symbol, quantity_e6, cost_cents, acquired)


def last_syncs(store: Store) -> dict[str, dict[str, Any]]:
    """The latest sync of each custodian: ``{custodian: {sync_id, at, accounts, transactions_added, open_breaks}}``."""
    rows = store.db.query("select * from syncs where sync_id in (select max(sync_id) from syncs group by custodian)"
                          " order by custodian")
    return {r["custodian"]: r for r in rows}


def default_since(store: Store, custodian: str, as_of: dt.date) -> dt.date:
    """Where a sync's transactions start: a week before the last sync's as-of date, else 90 days back."""
    row = store.db.execute("select max(at) from syncs where custodian = ?", [custodian]).fetchone()
    since = (dt.date.fromisoformat(row[0][:10]) - dt.timedelta(days=OVERLAP_DAYS) if row and row[0]
             else as_of - dt.timedelta(days=FIRST_SYNC_DAYS))
    return min(since, as_of)


def sync(store: Store, adapters: Mapping[str, Custodian], *, as_of: dt.date, account_id: str | None = None,
         since: dt.date | None = None, progress: Progress | None = None) -> SyncResult:
    """Sync every custodian of ``adapters`` that serves accounts of the store (or only ``account_id``).

    ``since`` (default: :func:`default_since`) to ``as_of`` is the window of transactions fetched.
    ``progress(what, done, total)`` is called as accounts are fetched. A custodian that fails is
    reported with its ``error`` and writes nothing.
    """
    if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
        raise TypeError(f"as_of must be a date, not {as_of!r}")
    if since is not None and since > as_of:
        raise DataError(f"--since {since} is after --as-of {as_of}")
    accounts = store.accounts()
    if account_id is not None:
        account = store.account(account_id)
        if account.custodian not in adapters:
            raise NotFoundError(f"account {account_id} is held at {account.custodian}, and no adapter for"
                                f" {account.custodian} is registered (see `smartx custodians list`)")
    results = []
    for name in sorted(adapters):
        served = [a for a in accounts if a.custodian == name]
        scope = [a for a in served if account_id is None or a.account_id == account_id]
        if not scope:
            continue
        start = since or default_since(store, name, as_of)
        try:
            results.append(_sync_one(store, adapters[name], name, served, scope, as_of, start, progress))
        except (CustodianError, DataError) as exc:
            results.append(CustodianSync(name, as_of, start, error=f"{exc}; nothing was synced from {name}"))
    return SyncResult(as_of, tuple(results))


def _sync_one(store: Store, adapter: Custodian, name: str, served: Sequence[Account], scope: Sequence[Account],
              as_of: dt.date, since: dt.date, progress: Progress | None) -> CustodianSync:
    report = progress or (lambda what, done, total: None)
    report(f"{name}: accounts", 0, len(scope) + 1)
    checked: dict[str, _Checked] = {}
    for reported in adapter.accounts():
        account = _check_account(name, reported)
        if account.number in checked:
            raise CustodianError(f"custodian {name} reported account {account.number} twice")
        checked[account.number] = account
    known = {a.custodian_number for a in served}
    unlinked = tuple(sorted(n for n in checked if n not in known))
    linked = {a.account_id: checked[a.custodian_number] for a in scope if a.custodian_number in checked}
    missing = {a.account_id: a.custodian_number for a in scope if a.custodian_number not in checked}
    transactions: dict[str, list[dict[str, Any]]] = {}
    for done, (account_id, account) in enumerate(sorted(linked.items()), start=1):
        report(f"{name}: {account_id}", done, len(scope) + 1)
        transactions[account_id] = [_check_transaction(name, account_id, t)
                                    for t in adapter.transactions(account.number, since, as_of)]
    report(f"{name}: storing", len(scope), len(scope) + 1)

    ids = json.dumps(sorted(a.account_id for a in scope))
    with store.transaction():
        sync_id = store.db.table("syncs").insert({
            "custodian": name, "at": as_of.isoformat(), "accounts": len(linked), "transactions_added": 0,
            "open_breaks": 0}).last_pk
        for table in ("custodian_positions", "custodian_lots", "custodian_balances"):
            store.db.execute(f"delete from {table} where account_id in (select value from json_each(?))", [ids])
        positions = [{"account_id": aid, "symbol": s, "quantity_e6": q, "price_e6": p}
                     for aid, a in sorted(linked.items()) for s, (q, p) in sorted(a.positions.items())]
        lots = [{"account_id": aid, "seq": seq, "symbol": s, "quantity_e6": q, "cost_basis_cents": c, "acquired": d}
                for aid, a in sorted(linked.items()) for seq, (s, q, c, d) in enumerate(a.lots or (), start=1)]
        store.db.table("custodian_positions").insert_all(positions)
        store.db.table("custodian_lots").insert_all(lots)
        store.db.table("custodian_balances").insert_all(
            {"account_id": aid, "cash_cents": a.cash_cents, "synced_at": as_of.isoformat(), "sync_id": sync_id}
            for aid, a in sorted(linked.items()))
        securities_added = _update_securities(store, positions, as_of)
        rows = [row for rows in transactions.values() for row in rows]
        added = 0 if not rows else store.db.conn.executemany(
            "insert or ignore into custodian_transactions (account_id, transaction_id, date, type, symbol,"
            " quantity_e6, price_e6, amount_cents, order_id) values (:account_id, :transaction_id, :date, :type,"
            " :symbol, :quantity_e6, :price_e6, :amount_cents, :order_id)",
            rows).rowcount
        breaks = reconcile(store, linked, missing=missing)
        store.db.execute("update syncs set transactions_added = ?, open_breaks = ? where sync_id = ?",
                         [added, breaks.open, sync_id])
        result = CustodianSync(
            custodian=name, as_of=as_of, since=since, sync_id=sync_id, accounts=tuple(sorted(linked)),
            positions=len(positions), lots=len(lots), transactions_added=added, securities_added=securities_added,
            breaks_open=breaks.open, breaks_acknowledged=breaks.acknowledged,
            breaks_opened=breaks.opened + breaks.reopened, breaks_resolved=breaks.resolved, unlinked=unlinked,
            missing=tuple(sorted(missing)))
        store.audit("custodians.sync", name, **{k: v for k, v in attrs.asdict(result).items()
                                                 if k not in ("custodian", "error")})
    report(f"{name}: done", len(scope) + 1, len(scope) + 1)
    return result


def _update_securities(store: Store, positions: Sequence[Mapping[str, Any]], as_of: dt.date) -> tuple[str, ...]:
    """Set current prices from the custodian's, and record them as the closes of ``as_of`` in the
    price history; add the securities the store does not know."""
    prices: dict[str, int] = {}
    for row in positions:
        if row["price_e6"] is not None:
            prices.setdefault(row["symbol"], row["price_e6"])
    known = {r["symbol"] for r in store.db.query("select symbol from securities")}
    store.db.conn.executemany("update securities set price_e6 = ? where symbol = ? and price_e6 != ?",
                              [(p, s, p) for s, p in prices.items() if s in known])
    new = sorted(s for s in prices if s not in known)
    store.db.table("securities").insert_all(
        {"symbol": s, "name": s, "asset_class": "unclassified", "price_e6": prices[s]} for s in new)
    store.db.conn.executemany("insert or replace into prices (symbol, date, close_e6) values (?, ?, ?)",
                              [(s, as_of.isoformat(), p) for s, p in sorted(prices.items())])
    return tuple(new)


def _check_account(name: str, account: Any) -> _Checked:
    """A reported account in store units; CustodianError when the adapter sent something unusable."""
    if not isinstance(account, CustodianAccount):
        raise CustodianError(f"custodian {name} sent {type(account).__name__} where an account was expected")
    if not isinstance(account.number, str) or not account.number:
        raise CustodianError(f"custodian {name} sent an account without a number")
    where = f"custodian {name} sent account {account.number}:"
    positions: dict[str, tuple[int, int | None]] = {}
    lots = None
    try:
        cash = MONEY.to_int(account.cash)
        for p in account.positions:
            security_symbol(p.symbol)
            if p.symbol in positions:
                raise ValueError(f"{p.symbol} listed twice")
            if p.price is not None and p.price <= 0:
                raise ValueError(f"a price of {p.price} for {p.symbol}, not positive")
            positions[p.symbol] = (QUANTITY.to_int(p.quantity), None if p.price is None else PRICE.to_int(p.price))
        if account.lots is not None:
            lots = []
            for lot in account.lots:
                security_symbol(lot.symbol)
                if lot.quantity <= 0 or lot.cost_basis < 0:
                    raise ValueError(f"a lot of {lot.quantity} {lot.symbol} costing {lot.cost_basis}"
                                 " (a lot holds a positive quantity at a cost of 0 or more)")
                if not isinstance(lot.acquired, dt.date):
                    raise ValueError(f"a lot of {lot.symbol} acquired {lot.acquired!r}, which is not a date")
                lots.append((lot.symbol, QUANTITY.to_int(lot.quantity), MONEY.to_int(lot.cost_basis),
                             lot.acquired.isoformat()))
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise CustodianError(f"{where} {exc}") from None
    return _Checked(account.number, cash, positions, lots)


def _check_transaction(name: str, account_id: str, t: Any) -> dict[str, Any]:
    if not isinstance(t, CustodianTransaction):
        raise CustodianError(f"custodian {name} sent {type(t).__name__} where a transaction of {account_id}"
                             " was expected")
    try:
        if not isinstance(t.transaction_id, str) or not t.transaction_id:
            raise ValueError("no transaction id")
        if not isinstance(t.date, dt.date) or isinstance(t.date, dt.datetime):
            raise ValueError(f"its date {t.date!r} is not a date")
        if t.symbol is not None:
            security_symbol(t.symbol)
        return {"account_id": account_id, "transaction_id": t.transaction_id, "date": t.date.isoformat(),
                "type": str(t.type), "symbol": t.symbol,
                "quantity_e6": None if t.quantity is None else QUANTITY.to_int(t.quantity),
                "price_e6": None if t.price is None else PRICE.to_int(t.price),
                "amount_cents": MONEY.to_int(Decimal(t.amount)), "order_id": t.order_id}
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise CustodianError(f"custodian {name} sent transaction {t.transaction_id!r} of {account_id}: {exc}"
                             ) from None
