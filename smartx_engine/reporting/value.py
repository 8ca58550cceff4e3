"""The value delivered to an account (or a household) over a period, in one place.

* tax alpha: the estimated tax saved by harvesting and by lot selection (:mod:`.taxalpha`);
* drift kept in check: the share of month-ends the sleeves were within their policies' bands,
  and the largest drift seen (:mod:`.drift`);
* trades avoided by bands: on those days, the trades a rebalance to target would have made;
* fees paid: the fees charged to the accounts in the period (their ``fee`` transactions).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import reduce
from typing import Any

import attrs

from ..dsl.policyset import PolicySet
from ..fixedpoint import MONEY
from ..store import Store
from .drift import BandRecord, band_history
from .history import History
from .taxalpha import NONE, TaxAlpha, tax_alpha


@attrs.frozen
class ValueDelivered:
    start: dt.date
    end: dt.date
    tax_alpha: TaxAlpha
    bands: tuple[BandRecord, ...]  # the sleeves with a target
    fees_paid: Decimal  # positive

    @property
    def observed(self) -> int:
        return sum(b.observed for b in self.bands)

    @property
    def share_within_bands(self) -> float | None:
        """The share of (sleeve, month-end) observations within every band."""
        return sum(b.within for b in self.bands) / self.observed if self.observed else None

    @property
    def largest_drift(self) -> float | None:
        return max((b.largest_drift for b in self.bands if b.observed), default=None)

    @property
    def trades_avoided(self) -> int:
        return sum(b.trades_avoided for b in self.bands)

    def as_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "tax_alpha": self.tax_alpha.as_json(),
                "share_within_bands": self.share_within_bands, "observations": self.observed,
                "largest_drift": self.largest_drift, "trades_avoided": self.trades_avoided,
                "fees_paid": str(self.fees_paid), "sleeves": [b.as_json() for b in self.bands]}


def value_delivered(store: Store, history: History, rows: Any, policies: PolicySet | None) -> ValueDelivered:
    """The value delivered to the sleeves ``rows`` of ``history`` (policies None: no band figures)."""
    accounts = sorted({history.sleeves[i].account_id for i in rows})
    alphas = tax_alpha(store, accounts, history.start, history.end)
    sleeve_ids = {history.sleeves[i].sleeve_id for i in rows}
    records = band_history(store, history, policies) if policies is not None else {}
    bands = tuple(r for sleeve_id, r in sorted(records.items()) if sleeve_id in sleeve_ids and r.observed)
    fees = -MONEY.to_decimal(int(history.fee_cents[rows].sum()))
    return ValueDelivered(history.start, history.end, reduce(lambda a, b: a + b, alphas.values(), NONE), bands, fees)
