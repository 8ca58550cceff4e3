"""Cash events: a withdrawal raised across an account's sleeves, a deposit recorded and invested.

A withdrawal is split over the account's sleeves that can trade (with a model and a policy),
pro rata to their values, to the cent: each share is rounded down and the cents left over go to
the sleeves with the largest remainders (ties: sleeve id order). Each sleeve then raises its
share as docs/rebalancing.md describes ("Cash events").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from ..book import Book
from ..domain import Transaction, TransactionType
from ..dsl.frame import Frame
from ..dsl.policyset import BookEvaluation
from ..errors import DataError
from ..fixedpoint import MONEY, apportion
from ..store import Store
from .generate import CashEvents


def pro_rata(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """``amount`` split in proportion to ``weights``, to the cent, adding up exactly (largest remainder)."""
    return apportion(amount, weights, MONEY.unit)


def cash_events(book: Book, evaluation: BookEvaluation, in_scope: np.ndarray, *,
                withdrawal: tuple[str, Decimal] | None = None, invest: bool = False) -> CashEvents:
    """Per sleeve of ``book``: the share of a withdrawal from one account, and whether to invest its cash."""
    events = CashEvents(np.zeros(book.n_sleeves), in_scope & invest)
    if withdrawal is None:
        return events
    account_id, amount = withdrawal
    if amount <= 0:
        raise DataError(f"the cash to raise must be positive, not {amount}")
    account = np.flatnonzero(book.account_ids == account_id)
    able = (book.sleeve_account == (account[0] if len(account) else -1)) & (book.sleeve_model >= 0)
    able &= evaluation.resolution.policy_of >= 0
    sleeves = np.flatnonzero(able)
    values = [Decimal(repr(float(v))).quantize(MONEY.unit) for v in Frame(book).sleeve_value[sleeves]]
    if not sleeves.size or sum(values) <= 0:
        raise DataError(f"account {account_id} has no sleeve with a model and a policy to raise cash from")
    if amount > sum(values):
        raise DataError(f"cannot raise {amount} USD from account {account_id}: its sleeves that can trade "
                        f"are worth {sum(values)} USD")
    events.withdraw[sleeves] = [float(share) for share in pro_rata(amount, values)]
    return events


def shortfalls(book: Book, events: CashEvents, cash_after: np.ndarray) -> dict[str, str]:
    """Sleeves whose trades leave less cash than their withdrawal asks for, in words."""
    short = np.flatnonzero((events.withdraw > 0) & (cash_after < events.withdraw - 0.005))
    return {str(book.sleeve_ids[s]): f"raises {cash_after[s]:,.2f} of the {events.withdraw[s]:,.2f} USD asked "
            "(restrictions, holds or skips keep the rest invested)" for s in short}


def deposit(store: Store, sleeve_id: str, amount: Decimal, on: dt.date) -> Transaction:
    """Record new cash arriving in a sleeve: a deposit transaction and the sleeve's cash, audited."""
    if amount <= 0:
        raise DataError(f"a deposit must be positive, not {amount}")
    sleeve = store.sleeve(sleeve_id)
    ordinal = store.db.execute("select count(*) from transactions where sleeve_id = ? and date = ? and type = ?",
                               [sleeve_id, on.isoformat(), "deposit"]).fetchone()[0] + 1
    transaction = Transaction(transaction_id=f"{sleeve_id}:{on.isoformat()}:deposit-{ordinal}",
                              account_id=sleeve.account_id, sleeve_id=sleeve_id, date=on,
                              type=TransactionType.DEPOSIT, amount=amount)
    with store.transaction():
        store.record_transaction(transaction)
        store.db.execute(
            "insert into cash (sleeve_id, account_id, amount_cents) values (?, ?, ?) on conflict (sleeve_id)"
            " do update set amount_cents = amount_cents + excluded.amount_cents",
            [sleeve_id, sleeve.account_id, MONEY.to_int(amount)])
        store.audit("cash.deposit", sleeve_id, amount=str(amount), date=on.isoformat(),
                    transaction_id=transaction.transaction_id)
    return transaction
