"""Which version of each model a target uses: the one place that decides it.

Today a model's version in effect is its latest imported one (``store.LATEST_MODEL_VERSIONS``).
To make targets "effective as of a date", change :func:`versions_in_effect` only: every target,
the Book and ``smartx sleeves target`` read model weights through it, and all of them pass the
date they work as of.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from ..domain import ModelVersion, ModelWeight
from ..store import LATEST_MODEL_VERSIONS, Store


def versions_in_effect(store: Store, as_of: dt.date | None = None,
                       model_ids: Collection[str] | None = None) -> dict[str, ModelVersion]:
    """model_id -> its version in effect on ``as_of`` (None: now), for ``model_ids`` (None: every model).

    ``as_of`` does not choose yet: every date gets each model's latest version. Models without a
    version are absent.
    """
    del as_of  # the latest version is in effect on every date until versions carry an effective date
    weights: dict[tuple[str, str], list[ModelWeight]] = {}
    rows = store.db.execute(
        f"select w.model_id, w.version, w.symbol, w.weight from model_weights w join ({LATEST_MODEL_VERSIONS})"
        " using (model_id, version) order by w.model_id, w.symbol")
    for model_id, version, symbol, weight in rows:
        if model_ids is None or model_id in model_ids:
            weights.setdefault((model_id, version), []).append(ModelWeight(symbol, weight))
    return {model_id: ModelVersion(model_id, version, lines) for (model_id, version), lines in weights.items()}
