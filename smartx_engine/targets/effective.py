"""Every sleeve's effective target from the store: its target, the models' versions in effect, its
account's restrictions (:func:`.compute.effective_target`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence

from ..domain import ModelVersion
from ..errors import TargetError
from ..store import Store
from .compute import EffectiveTarget, effective_target
from .records import restrictions, sleeve_targets
from .spec import Restriction, TargetSpec
from .versions import versions_in_effect


def effective_targets(store: Store, as_of: dt.date | None = None,
                      sleeve_ids: Collection[str] | None = None, *, strict: bool = True) -> dict[str, EffectiveTarget]:
    """sleeve_id -> its effective target on ``as_of``, for the sleeves (None: all) that have a target.

    Sleeves with the same target and the same account restrictions share one computed value.
    ``strict=False`` leaves out the sleeves whose target cannot be built that day (a model with no
    version in force yet, as on a past day) instead of raising.
    """
    specs = sleeve_targets(store, sleeve_ids)
    by_account = restrictions(store, {account_id for account_id, _ in specs.values()})
    versions = versions_in_effect(store, as_of, {m for _, spec in specs.values() for m in spec.model_ids})
    return targets_of(specs, versions, by_account, strict=strict)


def targets_of(specs: Mapping[str, tuple[str, TargetSpec]], versions: Mapping[str, ModelVersion],
               by_account: Mapping[str, Sequence[Restriction]], *, strict: bool = True) -> dict[str, EffectiveTarget]:
    """The effective target of each sleeve of ``specs`` (sleeve_id -> (account_id, target)); a target
    that cannot be built raises :class:`TargetError` naming its sleeve (``strict=False``: is left out)."""
    computed: dict[tuple[TargetSpec, tuple[Restriction, ...]], EffectiveTarget] = {}
    targets = {}
    for sleeve_id, (account_id, spec) in specs.items():
        key = (spec, tuple(by_account.get(account_id, ())))
        if key not in computed:
            try:
                computed[key] = effective_target(spec, versions, key[1])
            except TargetError as exc:
                if not strict:
                    continue
                raise TargetError(f"sleeve {sleeve_id} (account {account_id}, target {spec.label}): {exc}; "
                                  f"see `smartx accounts restrictions {account_id}`") from None
        targets[sleeve_id] = computed[key]
    return targets
