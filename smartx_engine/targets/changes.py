"""Model changes since each sleeve's last rebalance: which versions, and how far the weights moved.

A sleeve rebalanced to version V1 of its model whose version in force is now V2 (see
:func:`~smartx_engine.store.Store.model_changes`) has a change labelled ``MODEL V1 → V2`` and a
*move*: the largest |weight change| of any security or cash between the two versions (a security
in one version only counts its whole weight). A sleeve rebalanced before its model had a version
on record has ``MODEL (none) → V2`` and a move of 100%. Policies read them as ``sleeve.model_changed``
and ``sleeve.model_move`` (``realign on model change above X%``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ..store import Store


def model_changes(store: Store, as_of: dt.date) -> dict[str, tuple[str, float]]:
    """sleeve_id -> (``"MODEL V1 → V2"``, the largest weight move) for every sleeve whose model changed."""
    moves: dict[tuple[str, str | None, str], float] = {}
    found = {}
    for change in store.model_changes(as_of):
        key = (change.model_id, change.rebalanced_version, change.latest_version)
        if key not in moves:
            moves[key] = _largest_move(store, *key)
        found[change.sleeve_id] = (f"{change.model_id} {change.rebalanced_version or '(none)'} → {change.latest_version}",
                                   moves[key])
    return found


def _largest_move(store: Store, model_id: str, old: str | None, new: str) -> float:
    if old is None:
        return 1.0
    before = {w.symbol: w.weight for w in store.model_version(model_id, old).weights}
    after = {w.symbol: w.weight for w in store.model_version(model_id, new).weights}
    return float(max((abs(after.get(s, Decimal(0)) - before.get(s, Decimal(0))) for s in before.keys() | after.keys()),
                     default=Decimal(0)))
