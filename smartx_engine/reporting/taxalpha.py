"""Tax alpha: an estimate of the tax the engine saved a taxable account, with its assumptions.

Two parts, over the sales of a period:

* **Harvesting**: each loss realised by a harvest sale (its trade's first reason is ``harvest:``),
  less what a wash sale disallowed, times the account's rate of its term (short-term losses at
  the short-term rate): the tax those losses offset.
* **Lot selection (deferral)**: each sale the engine made (its trades' fills) against the same
  sale relieving the lots first in, first out, at the same price, on the same day: the tax FIFO
  would have cost minus the tax the chosen lots cost (gains and losses times the rate of their
  term). The lots held just before the sale are the lots open now plus what later sales took from
  them (:func:`.lots.lots_on`), so the comparison needs no snapshot.

Assumptions, stated with the figures: losses offset gains of the same year at the account's rates
(``accounts.st_tax_rate``, ``lt_tax_rate``); the saving is a deferral (a lower basis is taxed
later), not counted at present value; state taxes, the $3,000 ordinary-income limit and carried
forward losses are left out. Tax-deferred and tax-exempt accounts have no tax alpha.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs

from ..domain import Registration, TaxTreatment, Term
from ..fixedpoint import MONEY, PRICE, QUANTITY, round_money
from ..store import Store
from ..tax.relief import OpenLot, relieve
from .lots import lots_on

ASSUMPTIONS = (
    "harvested losses (less wash-sale disallowed amounts) offset gains of the same year at the account's "
    "short- or long-term rate",
    "lot selection is compared with first in, first out on the same sales, at the same prices",
    "savings are deferrals, not discounted; state taxes, the $3,000 ordinary-income limit and loss "
    "carry-forwards are left out",
)


@attrs.frozen
class TaxAlpha:
    """The estimated tax saved in one account (or a sum of accounts) over a period."""

    harvested_losses: Decimal  # allowed harvested losses (negative)
    harvesting: Decimal  # the tax they offset
    lot_selection: Decimal  # FIFO's tax minus the tax of the lots chosen
    sales_compared: int
    assumptions: tuple[str, ...] = ASSUMPTIONS

    @property
    def total(self) -> Decimal:
        return self.harvesting + self.lot_selection

    def __add__(self, other: TaxAlpha) -> TaxAlpha:
        return TaxAlpha(self.harvested_losses + other.harvested_losses, self.harvesting + other.harvesting,
                        self.lot_selection + other.lot_selection, self.sales_compared + other.sales_compared)

    def as_json(self) -> dict[str, Any]:
        return {"harvested_losses": str(self.harvested_losses), "harvesting": str(self.harvesting),
                "lot_selection": str(self.lot_selection), "total": str(self.total),
                "sales_compared": self.sales_compared, "assumptions": list(self.assumptions)}


NONE = TaxAlpha(Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), 0)


def tax_alpha(store: Store, account_ids: Iterable[str], start: dt.date, end: dt.date) -> dict[str, TaxAlpha]:
    """account_id -> its tax alpha from the sales of ``start`` to ``end`` (taxable accounts only)."""
    result = {}
    for account_id in account_ids:
        account = store.account(account_id)
        if Registration(account.registration).tax_treatment != TaxTreatment.TAXABLE:
            result[account_id] = NONE
            continue
        rates = {Term.SHORT: account.st_tax_rate, Term.LONG: account.lt_tax_rate}
        result[account_id] = _account(store, account_id, rates, start, end)
    return result


def _account(store: Store, account_id: str, rates: dict[Term, Decimal], start: dt.date, end: dt.date) -> TaxAlpha:
    rows = list(store.db.query(
        """select r.*, coalesce(t.reasons like '["harvest:%', 0) as harvest
           from realized r join trades t on t.trade_id = substr(r.transaction_id, 1, instr(r.transaction_id, '-F') - 1)
           where r.account_id = ? order by r.sold, r.transaction_id""", [account_id]))
    harvested = harvesting = selection = Decimal(0)
    sales: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if start.isoformat() <= r["sold"] <= end.isoformat():
            sales[r["transaction_id"]].append(r)
    for transaction_id, legs in sales.items():
        for leg in legs:
            if leg["harvest"] and leg["gain_cents"] < 0:
                allowed = MONEY.to_decimal(leg["gain_cents"] + leg["disallowed_cents"])
                harvested += allowed
                harvesting -= allowed * rates[Term(leg["term"])]
        chosen = sum((MONEY.to_decimal(g["gain_cents"]) * rates[Term(g["term"])] for g in legs), Decimal(0))
        selection += _fifo_tax(store, legs, rates) - chosen
    return TaxAlpha(round_money(harvested), round_money(harvesting), round_money(selection), len(sales))


def _fifo_tax(store: Store, legs: list[dict], rates: dict[Term, Decimal]) -> Decimal:
    """The tax of the same sale (quantity, proceeds, day) had it relieved the lots held then FIFO."""
    first = legs[0]
    sold = dt.date.fromisoformat(first["sold"])
    quantity = sum((QUANTITY.to_decimal(g["quantity_e6"]) for g in legs), Decimal(0))
    proceeds = sum((MONEY.to_decimal(g["proceeds_cents"]) for g in legs), Decimal(0))
    lots = [OpenLot(lot.lot_id, lot.quantity, lot.cost_basis, lot.holding_start)
            for lot in lots_on(store, [first["sleeve_id"]], sold, before=(first["sold"], first["transaction_id"]))
            if lot.symbol == first["symbol"]]
    price = (proceeds / quantity).quantize(PRICE.unit)
    return sum((relief.gain * rates[relief.term] for relief in relieve(lots, quantity, price, sold, "FIFO")),
               Decimal(0))
