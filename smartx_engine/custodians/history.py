"""An account's lots rebuilt from the custodian's transactions, for custodians that report no lots.

Schwab's retail API reports positions but no tax lots. The buys and sells a sync stored for an
account (``custodian_transactions``) are replayed by the tax ledger
(:func:`smartx_engine.tax.ledger.rebuild`): a buy opens a lot (its basis the cash paid, fees
included; its id ``{account}:{custodian transaction id}``), a sell relieves lots by the account's
lot method, and wash sales inside the account adjust them. The rebuilt lots are then checked
against the custodian's positions: a security whose lots do not add up to the position has an
incomplete history (it was held before the first transaction synced: sync with an earlier
``--since``).

:func:`onboard` stores the rebuilt lots, the realised sales and the buys and sells themselves in
one sleeve of an account that holds no lots yet (an account just linked), in one transaction; it
refuses while any security's history is incomplete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

import attrs

from ..domain import Lot, Transaction, TransactionType
from ..errors import ConflictError, DataError
from ..fixedpoint import MONEY, PRICE, QUANTITY
from ..store import Store
from ..tax.ledger import ClosedLot, HistoryError, rebuild


@attrs.frozen
class Holding:
    """One security: the custodian's position against the lots its transactions rebuild."""

    symbol: str
    position: Decimal  # the custodian's, at the last sync
    rebuilt: Decimal  # the rebuilt lots' total
    engine: Decimal  # the engine's lots' total

    @property
    def complete(self) -> bool:
        return self.rebuilt == self.position


@attrs.frozen
class RebuiltLots:
    account_id: str
    transactions: tuple[Transaction, ...]  # the buys and sells replayed, in the given sleeve
    lots: tuple[Lot, ...]
    sales: tuple[ClosedLot, ...]
    holdings: tuple[Holding, ...]

    @property
    def incomplete(self) -> tuple[Holding, ...]:
        return tuple(h for h in self.holdings if not h.complete)


def rebuild_lots(store: Store, account_id: str, sleeve_id: str | None = None) -> RebuiltLots:
    """Replay the synced buys and sells of ``account_id`` into lots of ``sleeve_id`` (default: its only sleeve)."""
    account = store.account(account_id)
    sleeve_id = sleeve_id or _only_sleeve(store, account_id)
    if store.sleeve(sleeve_id).account_id != account_id:
        raise ConflictError(f"sleeve {sleeve_id} is not a sleeve of {account_id}")
    transactions = tuple(_transaction(account_id, sleeve_id, row) for row in store.db.query(
        "select * from custodian_transactions where account_id = ? and type in ('buy', 'sell')"
        " order by date, rowid", [account_id]))
    try:
        ledger = rebuild(transactions, {account_id: account})
    except HistoryError as exc:
        raise DataError(f"the custodian's transactions of {account_id} cannot be replayed: {exc} "
                        "(the history is incomplete: sync with an earlier --since)") from None
    rebuilt = _totals((lot.symbol, lot.quantity) for lot in ledger.lots)
    position = _totals((r["symbol"], QUANTITY.to_decimal(r["quantity_e6"])) for r in store.db.query(
        "select symbol, quantity_e6 from custodian_positions where account_id = ?", [account_id]))
    engine = _totals((r["symbol"], QUANTITY.to_decimal(r["quantity_e6"])) for r in store.db.query(
        "select symbol, quantity_e6 from lots where account_id = ?", [account_id]))
    holdings = tuple(Holding(s, position.get(s, Decimal(0)), rebuilt.get(s, Decimal(0)), engine.get(s, Decimal(0)))
                     for s in sorted(rebuilt.keys() | position.keys()))
    return RebuiltLots(account_id, transactions, ledger.lots, ledger.closed, holdings)


def onboard(store: Store, rebuilt: RebuiltLots) -> None:
    """Store the rebuilt lots, sales and transactions; refused if the account holds lots or a history is incomplete."""
    with store.transaction():
        if store.db.execute("select count(*) from lots where account_id = ?", [rebuilt.account_id]).fetchone()[0]:
            raise ConflictError(f"{rebuilt.account_id} already holds lots; lots are rebuilt only into an account "
                                "that holds none (a newly linked account)")
        if rebuilt.incomplete:
            raise ConflictError(
                f"the custodian's history of {rebuilt.account_id} is incomplete for "
                + ", ".join(f"{h.symbol} (rebuilt {h.rebuilt.normalize():f}, held {h.position.normalize():f})"
                            for h in rebuilt.incomplete)
                + ": sync with an earlier --since (smartx custodians sync --account ... --since YYYY-MM-DD)")
        for transaction in rebuilt.transactions:
            store.record_transaction(transaction)
        store.add_lots(rebuilt.lots)
        store.add_realized(rebuilt.sales)
        store.audit("custodians.onboard", rebuilt.account_id, lots=len(rebuilt.lots), sales=len(rebuilt.sales),
                    transactions=len(rebuilt.transactions))


def _only_sleeve(store: Store, account_id: str) -> str:
    sleeves = [s.sleeve_id for s in store.sleeves(account_id)]
    if len(sleeves) != 1:
        raise ConflictError(f"{account_id} has {len(sleeves)} sleeves ({', '.join(sleeves) or 'none'}); "
                            "say which one the lots go to with --sleeve")
    return sleeves[0]


def _transaction(account_id: str, sleeve_id: str, row: dict) -> Transaction:
    try:
        return Transaction(
            transaction_id=f"{account_id}:{row['transaction_id']}", account_id=account_id, sleeve_id=sleeve_id,
            date=dt.date.fromisoformat(row["date"]), type=TransactionType(row["type"]),
            amount=MONEY.to_decimal(row["amount_cents"]), symbol=row["symbol"],
            quantity=None if row["quantity_e6"] is None else QUANTITY.to_decimal(row["quantity_e6"]),
            price=None if row["price_e6"] is None else PRICE.to_decimal(row["price_e6"]))
    except ValueError as exc:
        raise DataError(f"custodian transaction {row['transaction_id']} of {account_id} cannot be replayed: {exc}"
                        ) from None


def _totals(pairs: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for symbol, quantity in pairs:
        if quantity:
            totals[symbol] = totals.get(symbol, Decimal(0)) + quantity
    return totals
