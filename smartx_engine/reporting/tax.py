"""The tax report: realised gains by term, losses harvested, wash-sale disallowed losses, per year.

Per account, from its realised sales of the calendar year (``realized``: each lot sold, with its
term, gain and the part of a loss a wash sale disallowed). Gains and losses are summed per term
as realised; ``disallowed`` is the loss a wash sale deferred into the replacement lots' basis,
``permanent`` the loss lost for good (the replacement was bought in an IRA or a Roth IRA); the
net of a term adds the disallowed losses back (they are not deductible this year). Losses
harvested are the losses of sales the engine proposed as harvests (their trade's first reason is a
``harvest:``), whatever their term. Tax-deferred and tax-exempt accounts (IRAs, Roth IRAs, ...)
are listed but left out of the household totals: their sales are not taxable events.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs

from ..domain import Registration, TaxTreatment
from ..fixedpoint import MONEY
from ..store import Store

ZERO = Decimal("0.00")


@attrs.frozen
class TaxFigures:
    """One account's (or a household's) realised figures of a year; losses are negative."""

    short_gains: Decimal = ZERO
    short_losses: Decimal = ZERO
    short_disallowed: Decimal = ZERO  # wash sales: short-term losses not deductible this year
    long_gains: Decimal = ZERO
    long_losses: Decimal = ZERO
    long_disallowed: Decimal = ZERO
    permanent: Decimal = ZERO  # of the disallowed, lost for good (the replacement was bought in an IRA)
    harvested: Decimal = ZERO  # losses of harvest sales (negative)
    sales: int = 0  # lots sold

    @property
    def disallowed(self) -> Decimal:
        return self.short_disallowed + self.long_disallowed

    @property
    def net_short(self) -> Decimal:
        """What counts for tax: gains and losses, less the losses a wash sale disallowed."""
        return self.short_gains + self.short_losses + self.short_disallowed

    @property
    def net_long(self) -> Decimal:
        return self.long_gains + self.long_losses + self.long_disallowed

    def __add__(self, other: TaxFigures) -> TaxFigures:
        return TaxFigures(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in attrs.fields(TaxFigures)})

    def as_json(self) -> dict[str, Any]:
        fields = {f.name: getattr(self, f.name) for f in attrs.fields(TaxFigures)}
        return {**{k: v if isinstance(v, int) else str(v) for k, v in fields.items()},
                "disallowed": str(self.disallowed), "net_short": str(self.net_short), "net_long": str(self.net_long)}


@attrs.frozen
class AccountTax:
    account_id: str
    household_id: str
    registration: str
    figures: TaxFigures

    @property
    def taxable(self) -> bool:
        return Registration(self.registration).tax_treatment == TaxTreatment.TAXABLE

    def as_json(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "household_id": self.household_id, "registration": self.registration,
                "taxable": self.taxable, **self.figures.as_json()}


@attrs.frozen
class TaxReport:
    year: int
    accounts: tuple[AccountTax, ...]

    def households(self) -> dict[str, TaxFigures]:
        """household_id -> the sum of its taxable accounts' figures."""
        totals: dict[str, TaxFigures] = {}
        for account in self.accounts:
            if account.taxable:
                totals[account.household_id] = totals.get(account.household_id, TaxFigures()) + account.figures
        return totals

    def as_json(self) -> dict[str, Any]:
        return {"year": self.year, "accounts": [a.as_json() for a in self.accounts],
                "households": [{"household_id": h, **f.as_json()} for h, f in sorted(self.households().items())]}


def tax_report(store: Store, year: int, *, account_ids: Iterable[str] | None = None) -> TaxReport:
    """The figures of ``year`` for ``account_ids`` (default: every account), by account."""
    accounts = [a for a in store.accounts() if account_ids is None or a.account_id in set(account_ids)]
    sums = {a.account_id: dict.fromkeys((f.name for f in attrs.fields(TaxFigures)), 0) for a in accounts}
    rows = store.db.query(
        """select r.account_id, r.term, r.gain_cents, r.disallowed_cents, r.permanent_cents,
                  coalesce(t.reasons like '["harvest:%', 0) as harvest
           from realized r left join trades t
             on t.trade_id = substr(r.transaction_id, 1, instr(r.transaction_id, '-F') - 1)
           where r.sold between ? and ?""", [f"{year:04d}-01-01", f"{year:04d}-12-31"])
    for r in rows:
        if r["account_id"] not in sums:
            continue
        s, gain, term = sums[r["account_id"]], r["gain_cents"], r["term"]
        s[f"{term}_{'gains' if gain > 0 else 'losses'}"] += gain
        s[f"{term}_disallowed"] += r["disallowed_cents"]
        s["permanent"] += r["permanent_cents"]
        s["harvested"] += min(gain, 0) if r["harvest"] else 0
        s["sales"] += 1
    return TaxReport(year, tuple(
        AccountTax(a.account_id, a.household_id, str(a.registration), TaxFigures(
            **{k: v if k == "sales" else MONEY.to_decimal(v) for k, v in sums[a.account_id].items()}))
        for a in accounts))
