"""Changing a sleeve's target and an account's restrictions.

Each change is checked first (the models and securities exist; every target it touches can still
be built), then written in one transaction with its audit record: nothing partial.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..domain import CASH_SYMBOL, Sleeve
from ..errors import NotFoundError, TargetError, did_you_mean
from ..store import Store
from .compute import check_restrictions
from .effective import targets_of
from .records import restrictions, sleeve_target, sleeve_targets
from .spec import Restriction, TargetKind, TargetSpec
from .versions import versions_in_effect


def assign_target(store: Store, sleeve_id: str, target: TargetSpec | None = None,
                  policy: str | None = None) -> tuple[Sleeve, TargetSpec | None]:
    """Give a sleeve a new target (a model, a blend or a custom allocation) and/or policy; audited
    ``sleeve.assign`` with the targets before and after. Returns the sleeve and its target."""
    if target is None and policy is None:
        raise TargetError("give a target (a model, a blend or an allocation), a policy or both")
    sleeve = store.sleeve(sleeve_id)
    before = sleeve_target(store, sleeve_id)
    if target is None:
        return store.assign_sleeve(sleeve_id, policy=policy), before
    _check_known(store, target)
    own = restrictions(store, [sleeve.account_id]).get(sleeve.account_id, ())
    targets_of({sleeve_id: (sleeve.account_id, target)}, versions_in_effect(store, None, target.model_ids),
               {sleeve.account_id: own})
    details = {"target_before": before and before.as_json(), "target_after": target.as_json()}
    with store.transaction():
        if target.kind is not TargetKind.MODEL:
            _write_target(store, sleeve_id, target)
        updated = store.assign_sleeve(sleeve_id, model_id=target.model_ids[0] if target.kind is TargetKind.MODEL
                                      else None, policy=policy, own_target=target.kind is not TargetKind.MODEL,
                                      details=details)
    return updated, target


def restrict(store: Store, account_id: str, add: Sequence[Restriction] = (),
             remove: Sequence[str] = ()) -> tuple[Restriction, ...]:
    """Add (or replace) and remove restrictions of one account, all or nothing; audited
    ``account.restrict`` with the restrictions before and after. Returns the account's restrictions."""
    store.account(account_id)
    if not (add or remove):
        raise TargetError("give --exclude, --substitute or --remove")
    symbols = [r.symbol for r in add] + list(remove)
    if twice := sorted({s for s in symbols if symbols.count(s) > 1}):
        raise TargetError(f"{', '.join(twice)} is given twice; one change per symbol")
    securities = set(store.prices())
    for r in add:
        for symbol in filter(None, (r.symbol, r.replacement)):
            if symbol not in securities:
                hint = did_you_mean(symbol, securities)
                raise NotFoundError(f"no security {symbol!r}" + (f"; {hint}" if hint else ""))
    before = restrictions(store, [account_id]).get(account_id, ())
    current = {r.symbol: r for r in before}
    for symbol in remove:
        if symbol not in current:
            raise NotFoundError(f"account {account_id} has no restriction on {symbol}"
                                + (f" (it has {', '.join(current)})" if current else ""))
        del current[symbol]
    current.update({r.symbol: r for r in add})
    after = tuple(current[s] for s in sorted(current))
    check_restrictions(after)
    specs = sleeve_targets(store, [s.sleeve_id for s in store.sleeves(account_id)])
    targets_of(specs, versions_in_effect(store, None, {m for _, spec in specs.values() for m in spec.model_ids}),
               {account_id: after})
    with store.transaction():
        store.db.conn.executemany("delete from account_restrictions where account_id = ? and symbol = ?",
                                  [(account_id, s) for s in symbols])
        store.db.table("account_restrictions").insert_all(
            [{"account_id": r.account_id, "symbol": r.symbol, "kind": str(r.kind), "replacement": r.replacement,
              "note": r.note} for r in add])
        store.audit("account.restrict", account_id, before=[r.as_json() for r in before],
                    after=[r.as_json() for r in after])
    return after


def _check_known(store: Store, target: TargetSpec) -> None:
    """Every model of the target has a version; every symbol of a custom allocation is a security or cash."""
    for model_id in target.model_ids:
        if not store.model_versions(model_id):  # an unknown model: NotFoundError, with a did-you-mean
            raise NotFoundError(f"model {model_id} has no versions")
    securities = set(store.prices())
    for line in target.allocation:
        if line.symbol != CASH_SYMBOL and line.symbol not in securities:
            hint = did_you_mean(line.symbol, securities)
            raise NotFoundError(f"no security {line.symbol!r}" + (f"; {hint}" if hint else "")
                                + "; import it in a book's securities.csv first")


def _write_target(store: Store, sleeve_id: str, target: TargetSpec) -> None:
    """Replace the sleeve's blend or custom rows (in the caller's transaction)."""
    store.db.execute("delete from sleeve_targets where sleeve_id = ?", [sleeve_id])
    store.db.table("sleeve_targets").insert({"sleeve_id": sleeve_id, "kind": str(target.kind)})
    store.db.table("sleeve_blend_components").insert_all(
        [{"sleeve_id": sleeve_id, "position": i, "model_id": c.model_id, "weight": str(c.weight)}
         for i, c in enumerate(target.components)])
    store.db.table("sleeve_allocations").insert_all(
        [{"sleeve_id": sleeve_id, "symbol": w.symbol, "weight": str(w.weight)} for w in target.allocation])
