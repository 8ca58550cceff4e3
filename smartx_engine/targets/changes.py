"""Model changes since each sleeve's last rebalance: which versions, and how far the target moved.

A sleeve rebalanced to version V1 of its model whose version in force is now V2 (see
:func:`~smartx_engine.store.Store.model_changes`) has a change labelled ``MODEL V1 → V2`` and a
*move*: the largest |weight change| of any security or cash between the two versions (a security
in one version only counts its whole weight). A blend sleeve's changes are those of its models,
labelled one after the other; its move is the largest |change| of a security's blended weight,
each model's changes scaled by its share of the blend (restrictions and substitutions, applied on
top, are left out). A sleeve rebalanced before its model (or a model of its blend) had a version
on record has ``MODEL (none) → V2`` and a move of 100%. Policies read them as
``sleeve.model_changed`` and ``sleeve.model_move`` (``realign on model change above X%``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from ..store import ModelChange, Store


def model_changes(store: Store, as_of: dt.date) -> dict[str, tuple[str, float]]:
    """sleeve_id -> (``"MODEL V1 → V2"``, the largest weight move) for every sleeve whose target's models changed."""
    by_sleeve: dict[str, list[ModelChange]] = defaultdict(list)
    for change in store.model_changes(as_of):
        by_sleeve[change.sleeve_id].append(change)
    moves: dict[tuple[str, str | None, str], dict[str, Decimal] | None] = {}
    found = {}
    done: dict[tuple, tuple[str, float]] = {}  # sleeves with the same changes (most of them) share one result
    for sleeve_id, changes in by_sleeve.items():
        same = tuple((c.model_id, c.rebalanced_version, c.latest_version, c.share) for c in changes)
        if same not in done:
            done[same] = label_and_move(store, same, moves)
        found[sleeve_id] = done[same]
    return found


def label_and_move(store: Store, changes: Sequence[tuple[str, str | None, str, Decimal]],
                   moves: dict[tuple[str, str | None, str], dict[str, Decimal] | None]) -> tuple[str, float]:
    """``"MODEL V1 → V2"`` (one after the other) and the largest blended weight move of one sleeve's
    changes, each (model id, version rebalanced to or None, version in force, share); ``moves``
    keeps each model's weight changes between two versions, read once."""
    blended: dict[str, Decimal] = defaultdict(Decimal)
    whole = False
    for model_id, old, new, share in changes:
        key = (model_id, old, new)
        if key not in moves:
            moves[key] = _weight_changes(store, *key)
        if moves[key] is None:
            whole = True
            continue
        for symbol, moved in moves[key].items():
            blended[symbol] += share * moved
    move = 1.0 if whole else float(max((abs(m) for m in blended.values()), default=Decimal(0)))
    return ", ".join(f"{model_id} {old or '(none)'} → {new}" for model_id, old, new, _ in changes), move


def _weight_changes(store: Store, model_id: str, old: str | None, new: str) -> dict[str, Decimal] | None:
    """symbol -> new weight minus old weight (cash included); None without an old version."""
    if old is None:
        return None
    before = {w.symbol: w.weight for w in store.model_version(model_id, old).weights}
    after = {w.symbol: w.weight for w in store.model_version(model_id, new).weights}
    return {s: after.get(s, Decimal(0)) - before.get(s, Decimal(0)) for s in before.keys() | after.keys()}
