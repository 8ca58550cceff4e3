"""Links: the number an account has at its custodian (``accounts.custodian_account``)."""

from __future__ import annotations

import attrs

from ..domain import Account, identifier
from ..errors import ConflictError, DataError
from ..store import Store


def link_account(store: Store, account_id: str, number: str) -> Account:
    """Set the number ``account_id`` is known by at its custodian; the account as it is now.

    Refused when another account at the same custodian already has that number (an account
    without a number is known by its id). Audited as ``custodians.link``.
    """
    account = store.account(account_id)
    try:
        identifier(number)
    except ValueError as exc:
        raise DataError(f"cannot link {account_id}: {exc}") from None
    taken = [a.account_id for a in store.accounts()
             if a.custodian == account.custodian and a.account_id != account_id and a.custodian_number == number]
    if taken:
        raise ConflictError(f"{account.custodian} account {number} is already linked to {taken[0]};"
                            f" link {taken[0]} to its own number first")
    linked = attrs.evolve(account, custodian_account=number)
    if linked == account:
        return account
    with store.transaction():
        store.db.execute("update accounts set custodian_account = ? where account_id = ?", [number, account_id])
        store.audit("custodians.link", account_id, custodian=account.custodian,
                    before=account.custodian_account, after=number)
    return linked
