"""Reading sleeve targets and account restrictions from the store (tables of migration m010).

A sleeve with a ``sleeve_targets`` row has a blend or a custom allocation; without one, its target
is its ``model_id`` (or it has none).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from decimal import Decimal

from ..domain import ModelWeight
from ..store import Store
from .spec import BlendComponent, Restriction, TargetKind, TargetSpec


def _in(column: str, values: Collection[str] | None) -> tuple[str, list[str]]:
    """A ``where`` clause keeping the rows whose ``column`` is one of ``values`` (None: every row)."""
    if values is None:
        return "", []
    return f"where {column} in (select value from json_each(?))", [json.dumps(sorted(values))]


def sleeve_targets(store: Store, sleeve_ids: Collection[str] | None = None) -> dict[str, tuple[str, TargetSpec]]:
    """sleeve_id -> (account_id, its target) for the sleeves (None: all) that have a target."""
    q = store.db.execute
    where, params = _in("sleeve_id", sleeve_ids)
    components: dict[str, list[BlendComponent]] = {}
    for sleeve_id, model_id, weight in q(f"select sleeve_id, model_id, weight from sleeve_blend_components {where}"
                                         " order by sleeve_id, position", params):
        components.setdefault(sleeve_id, []).append(BlendComponent(model_id, Decimal(weight)))
    allocations: dict[str, list[ModelWeight]] = {}
    for sleeve_id, symbol, weight in q(f"select sleeve_id, symbol, weight from sleeve_allocations {where}", params):
        allocations.setdefault(sleeve_id, []).append(ModelWeight(symbol, weight))
    kinds = dict(q(f"select sleeve_id, kind from sleeve_targets {where}", params))
    models: dict[str, TargetSpec] = {}  # one value per model, shared by its sleeves
    targets = {}
    for sleeve_id, account_id, model_id in q(f"select sleeve_id, account_id, model_id from sleeves {where}", params):
        kind = kinds.get(sleeve_id)
        if kind == TargetKind.BLEND:
            targets[sleeve_id] = account_id, TargetSpec.blend(components[sleeve_id])
        elif kind == TargetKind.CUSTOM:
            targets[sleeve_id] = account_id, TargetSpec.custom(allocations[sleeve_id])
        elif model_id:
            if model_id not in models:
                models[model_id] = TargetSpec.model(model_id)
            targets[sleeve_id] = account_id, models[model_id]
    return targets


def sleeve_target(store: Store, sleeve_id: str) -> TargetSpec | None:
    """One sleeve's target (None: it has none); NotFoundError for an unknown sleeve."""
    store.sleeve(sleeve_id)
    found = sleeve_targets(store, [sleeve_id]).get(sleeve_id)
    return found[1] if found else None


def restrictions(store: Store, account_ids: Collection[str] | None = None) -> dict[str, tuple[Restriction, ...]]:
    """account_id -> its restrictions in symbol order, for the accounts (None: all) that have any."""
    where, params = _in("account_id", account_ids)
    found: dict[str, list[Restriction]] = {}
    for row in store.db.query(f"select * from account_restrictions {where} order by account_id, symbol", params):
        found.setdefault(row["account_id"], []).append(Restriction.from_row(row))
    return {account_id: tuple(rows) for account_id, rows in found.items()}
