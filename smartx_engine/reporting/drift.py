"""Drift kept in check: the firm's policies replayed on the sleeves as they were on past days.

On each observed day the sleeves' book is rebuilt from the history (the shares held, the cash and
the closes of that day, each sleeve's target in force that day) and evaluated by the policies,
exactly as a rebalance would have on that day. Lots and costs are not rebuilt, so rules about lots
or gains do not fire in this view; bands, cash limits and triggers on weights do. Per sleeve:

* **within bands**: the observed days on which no holding was out of its band;
* **largest drift**: the largest |weight - target| of any holding on any observed day;
* **trades avoided**: on the observed days the policy left a sleeve alone (nothing triggered),
  the holdings off target by at least its ``min trade`` (1 USD without one), which a rebalance
  to target on every observed day would have traded. The bands saved those trades.

The observed days are the last day of each calendar month in the period and the period's last day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs
import numpy as np

from ..book import Book
from ..dsl.frame import Frame
from ..dsl.policyset import PolicySet
from ..store import Store
from ..targets import effective_targets
from .history import History


@attrs.frozen
class BandRecord:
    """How one sleeve kept to its policy's bands over the observed days."""

    sleeve_id: str
    policy: str | None
    observed: int  # days evaluated with a target and a value
    within: int  # of which no holding was out of its band
    largest_drift: float
    trades_avoided: int

    @property
    def share_within(self) -> float | None:
        return self.within / self.observed if self.observed else None

    def as_json(self) -> dict[str, Any]:
        return {**attrs.asdict(self), "share_within": self.share_within}


def observed_days(history: History) -> list[dt.date]:
    """The last day of each month of the history, and its last day."""
    days = [d for d in history.dates if (d + dt.timedelta(days=1)).day == 1]
    return days if days and days[-1] == history.end else [*days, history.end]


def band_history(store: Store, history: History, policies: PolicySet,
                 days: Sequence[dt.date] | None = None) -> dict[str, BandRecord]:
    """sleeve_id -> its record over ``days`` (default: :func:`observed_days`)."""
    if history.quantity_e6 is None or history.close_e6 is None:
        raise ValueError("band_history needs a history with shares and closes (reporting.valuations.build_history)")
    counts = {s.sleeve_id: [None, 0, 0, 0.0, 0] for s in history.sleeves}  # policy, observed, within, drift, avoided
    for day in days if days is not None else observed_days(history):
        book = book_on(store, history, day)
        frame = Frame(book)
        evaluation = policies.evaluate(book)
        for name, result in evaluation.evaluations.items():
            _count(counts, name, result, frame)
    return {sleeve_id: BandRecord(sleeve_id, *values) for sleeve_id, values in counts.items()}


def _count(counts: dict[str, list], policy: str, result: Any, frame: Frame) -> None:
    whole = frame.book
    values = frame.sleeve_value[result.sleeves]
    drift = frame.drift_abs  # per holding of the whole book
    out = result.sleeve_out_of_band
    idle = ~result.triggered
    minimum = float(result.policy.settings.min_trade or Decimal(1))
    for row, sleeve in enumerate(result.sleeves):
        record = counts[str(whole.sleeve_ids[sleeve])]
        record[0] = policy
        if whole.sleeve_model[sleeve] < 0 or values[row] <= 0:
            continue
        holdings = np.flatnonzero(whole.holding_sleeve == sleeve)
        worst = np.nanmax(drift[holdings]) if len(holdings) else 0.0
        record[1] += 1
        record[2] += int(not out[row])
        record[3] = max(record[3], float(np.nan_to_num(worst)))
        if idle[row]:
            record[4] += int((np.nan_to_num(drift[holdings]) * values[row] >= minimum).sum())


def book_on(store: Store, history: History, day: dt.date) -> Book:
    """The book of the history's sleeves as they were at the end of ``day``."""
    column = history.day(day)
    q = store.db.execute
    closes = {symbol: history.close_e6[i, column] for i, symbol in enumerate(history.symbols)}
    securities = [(s, a, (closes.get(s) or p) / 1e6) for s, a, p in q("select symbol, asset_class, price_e6 from securities")]
    accounts = [(a, r, c, h, float(st), float(lt)) for a, r, c, h, st, lt in q(
        "select account_id, registration, custodian, household_id, st_tax_rate, lt_tax_rate from accounts")]
    ids = [s.sleeve_id for s in history.sleeves]
    targets = effective_targets(store, day, ids, strict=False)
    policies = dict(q("select sleeve_id, policy from sleeves"))
    sleeves = [(s.sleeve_id, s.account_id, targets[s.sleeve_id].label if s.sleeve_id in targets else None,
                policies.get(s.sleeve_id), history.cash_cents[i, column] / 100) for i, s in enumerate(history.sleeves)]
    positions = [(ids[i], history.symbols[j], history.quantity_e6[i, j, column] / 1e6, 0.0)
                 for i, j in zip(*np.nonzero(history.quantity_e6[:, :, column]))]
    return Book.assemble(as_of=day, securities=securities, accounts=accounts, sleeves=sleeves, models={},
                         positions=positions, lots=[],
                         targets={s: {w.symbol: float(w.weight) for w in t.weights} for s, t in targets.items()},
                         target_kinds={s: str(t.spec.kind) for s, t in targets.items()})
