"""Fee-deduction files: a fee run's invoices as the debits each custodian is asked to make.

One :class:`~smartx_engine.custody.FeeDebit` per invoice with a positive total, addressed by the
custodian's account number, split by payee (the manager's part by manager), with a reference
unique to the account, the period and the schedules (``<period>-<account>-<digest[:12]>``), so that
a custodian can refuse a file sent twice. Each custodian's debits go into its adapter's
``fee_deduction_file`` when it offers one, else into the generic layout (:func:`fee_file_csv`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from ..custodians import custodians
from ..custody import FeeDebit, FeeFile, fee_file_csv
from ..store import Store
from .fees import FeeRun


def fee_debits(store: Store, run: FeeRun) -> dict[str, list[FeeDebit]]:
    """custodian -> the debits of the run's invoices at that custodian, by account."""
    debits: dict[str, list[FeeDebit]] = defaultdict(list)
    for invoice in sorted(run.invoices, key=lambda i: i.account_id):
        if invoice.total <= 0:
            continue
        account = store.account(invoice.account_id)
        debits[account.custodian].append(FeeDebit(
            account.custodian_number, run.period.label, run.period.start, run.period.end, invoice.total,
            tuple((c.payee.value, c.recipient, c.amount) for c in invoice.charges if c.amount),
            f"{run.period.label}-{account.account_id}-{run.schedules_digest[:12]}"))
    return dict(debits)


def deduction_files(store: Store, run: FeeRun, as_of: dt.date) -> dict[str, FeeFile]:
    """custodian -> its fee-deduction file for the run (its adapter's layout, or the generic one)."""
    adapters = custodians()
    files = {}
    for custodian, debits in sorted(fee_debits(store, run).items()):
        adapter = adapters.get(custodian)
        write = getattr(adapter, "fee_deduction_file", None)
        files[custodian] = write(debits, as_of) if write else fee_file_csv(custodian, debits, as_of)
    return files
