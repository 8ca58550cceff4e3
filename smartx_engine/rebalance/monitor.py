"""The desk's daily queue: every sleeve that needs attention, and why."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import numpy as np

from ..book import Book
from ..dsl.frame import Frame
from ..dsl.policyset import PolicySet
from ..store import Store

#: the order issues are listed in, most pressing first
ISSUES = ("no policy", "out of tolerance", "model change pending", "high cash", "low cash", "flagged",
          "never rebalanced", "skipped")


@attrs.frozen
class QueueItem:
    sleeve_id: str
    account_id: str
    household_id: str
    custodian: str
    model_id: str | None
    policy: str | None
    value: float
    cash_weight: float | None
    worst_symbol: str | None
    worst_drift: float | None  # weight - target of the holding furthest from its target
    issues: tuple[str, ...]
    notes: tuple[str, ...]     # flags and resolution problems, in words


def monitor(store: Store, policies: PolicySet, as_of: dt.date) -> list[QueueItem]:
    """Every sleeve with at least one issue, worst drift first."""
    book = Book.from_store(store, as_of)
    evaluation = policies.evaluate(book)
    frame = Frame(book)
    rebalanced = store.rebalance_marks()
    drift = frame.column("holding", "drift")  # NaN without a model
    worst = _worst_per_sleeve(book, np.nan_to_num(np.abs(drift), nan=-1.0))
    symbols = book.symbols[book.holding_symbol]
    values, cash_weights = frame.sleeve_value, frame.column("sleeve", "cash_weight")
    accounts = book.sleeve_account
    items = []
    for sleeve in range(book.n_sleeves):
        issues, notes, policy_name = [], [], None
        found = evaluation.of_sleeve(sleeve)
        if found is None:
            issues.append("no policy")
            notes.append(evaluation.resolution.problems[sleeve])
        else:
            result, row = found
            policy_name = result.policy.name
            if result.sleeve_out_of_band[row]:
                issues.append("out of tolerance")
            if result.cash_high[row]:
                issues.append("high cash")
            if result.cash_low[row]:
                issues.append("low cash")
            if flags := result.flags(row):
                issues.append("flagged")
                notes += flags
            if result.skip[row]:
                issues.append("skipped")
        sleeve_id = str(book.sleeve_ids[sleeve])
        if book.sleeve_model_changed[sleeve]:
            issues.append("model change pending")
            label = book.sleeve_model_change[sleeve]
            assigned = " ((none): assigned since its last rebalance)" if "(none)" in label else ""
            notes.append(f"model change {label}, largest move {book.sleeve_model_move[sleeve]:.2%}{assigned}")
        if book.sleeve_model[sleeve] >= 0 and sleeve_id not in rebalanced:
            issues.append("never rebalanced")
        if not issues:
            continue
        h = worst[sleeve]
        items.append(QueueItem(
            sleeve_id=sleeve_id, account_id=str(book.account_ids[accounts[sleeve]]),
            household_id=str(book.households[book.account_household[accounts[sleeve]]]),
            custodian=str(book.custodians[book.account_custodian[accounts[sleeve]]]),
            model_id=str(book.models[book.sleeve_model[sleeve]]) if book.sleeve_model[sleeve] >= 0 else None,
            policy=policy_name, value=float(values[sleeve]),
            cash_weight=None if np.isnan(cash_weights[sleeve]) else float(cash_weights[sleeve]),
            worst_symbol=str(symbols[h]) if h >= 0 and not np.isnan(drift[h]) else None,
            worst_drift=float(drift[h]) if h >= 0 and not np.isnan(drift[h]) else None,
            issues=tuple(sorted(issues, key=ISSUES.index)), notes=tuple(notes),
        ))
    return sorted(items, key=lambda i: (-abs(i.worst_drift or 0.0), i.sleeve_id))


def _worst_per_sleeve(book: Book, distance: np.ndarray) -> np.ndarray:
    """For each sleeve, the index of its holding furthest from target (-1 without holdings)."""
    worst = np.full(book.n_sleeves, -1, dtype=np.int64)
    order = np.lexsort((-distance, book.holding_sleeve))  # by sleeve, furthest first
    first = np.ones(len(order), dtype=bool)
    first[1:] = book.holding_sleeve[order][1:] != book.holding_sleeve[order][:-1]
    worst[book.holding_sleeve[order][first]] = order[first]
    return worst


def as_json(item: QueueItem) -> dict[str, Any]:
    """Stable keys; value to the cent and weights to 6 decimals, as text (from the analytics snapshot)."""
    data = attrs.asdict(item)
    data["value"] = f"{item.value:.2f}"
    for key in ("cash_weight", "worst_drift"):
        data[key] = None if data[key] is None else f"{data[key]:.6f}"
    return data
