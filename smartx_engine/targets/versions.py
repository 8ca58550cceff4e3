"""Which version of each model a target uses: the one place that decides it.

A model's version in effect on a date is the latest (by import order) whose effective date has
come (``store.EFFECTIVE_MODEL_VERSIONS``); a version published for a later date waits. Every
target, the Book and ``smartx sleeves target`` read model weights through
:func:`versions_in_effect`, with the date they work as of.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from ..domain import ModelVersion, ModelWeight
from ..store import Store, versions_query


def versions_in_effect(store: Store, as_of: dt.date | None = None,
                       model_ids: Collection[str] | None = None) -> dict[str, ModelVersion]:
    """model_id -> its version in effect on ``as_of`` (None: now), for ``model_ids`` (None: every model).

    With ``as_of`` None, each model's latest version. Models without a version in effect are absent.
    """
    weights: dict[tuple[str, str], list[ModelWeight]] = {}
    query, params = versions_query(as_of)
    rows = store.db.execute(
        f"select w.model_id, w.version, w.symbol, w.weight from model_weights w join ({query})"
        " using (model_id, version) order by w.model_id, w.symbol", params)
    for model_id, version, symbol, weight in rows:
        if model_ids is None or model_id in model_ids:
            weights.setdefault((model_id, version), []).append(ModelWeight(symbol, weight))
    return {model_id: ModelVersion(model_id, version, lines) for (model_id, version), lines in weights.items()}
