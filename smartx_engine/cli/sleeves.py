"""``smartx sleeves``: the buckets accounts are split into, each with a target and a policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import click

from ..domain import Sleeve, identifier
from ..errors import TargetError
from ..targets import (
    RestrictionKind, TargetKind, TargetSpec, assign_target, effective_targets, parse_allocation, parse_blend,
    restrictions,
)
from ..targets.spec import weight_text
from ..valuation import SleeveValue, value_sleeves
from . import Env, cli, pass_env
from .output import emit, json_option, money, percent, print_table, quantity


def sleeve_json(value: SleeveValue) -> dict[str, Any]:
    """The stable JSON shape of a sleeve and its holdings (``target``: the model id, a blend's or a
    custom allocation's label, or None; ``target_kind``: model, blend, custom or None)."""
    sleeve, target = value.sleeve, value.target
    return {
        "sleeve_id": sleeve.sleeve_id, "account_id": sleeve.account_id, "model_id": sleeve.model_id,
        "model_version": value.model_version, "policy": sleeve.policy,
        "target": target and target.label, "target_kind": target and str(target.spec.kind),
        "market_value": value.market_value, "cash": value.cash, "total_value": value.total_value,
        "cash_weight": value.cash_weight, "cash_target": value.cash_target,
        "holdings": [
            {"symbol": h.symbol, "quantity": h.quantity, "price": h.price, "market_value": h.market_value,
             "cost_basis": h.cost_basis, "unrealized_gain": h.unrealized_gain, "lots": h.lots,
             "weight": h.weight, "target": h.target}
            for h in value.holdings
        ],
    }


@cli.group(name="sleeves")
def sleeves_group() -> None:
    """Split accounts into sleeves and give each a target model and a policy."""


@sleeves_group.command(name="list")
@click.option("--account", "account_id", help="Only this account's sleeves.")
@click.option("--model", "model_id", help="Only sleeves following this model.")
@json_option
@pass_env
def sleeves_list(env: Env, account_id: str | None, model_id: str | None, as_json: bool) -> None:
    """Every sleeve with its account, target, policy and value."""
    values = [v for v in value_sleeves(env.store(), account_id=account_id)
              if model_id is None or v.sleeve.model_id == model_id]
    data = [{k: v for k, v in sleeve_json(value).items() if k != "holdings"} for value in values]

    def human() -> None:
        print_table("Sleeves", ["sleeve", "account", "target", "policy", "invested", "cash", "total"],
                    [(s["sleeve_id"], s["account_id"], target_text(s["target"], s["model_version"]),
                      s["policy"] or "-", money(s["market_value"]), money(s["cash"]), money(s["total_value"]))
                     for s in data], numeric=["invested", "cash", "total"], empty="no sleeves")

    emit(as_json, data, human)


@sleeves_group.command(name="show")
@click.argument("sleeve_id")
@json_option
@pass_env
def sleeves_show(env: Env, sleeve_id: str, as_json: bool) -> None:
    """One sleeve: each holding's weight against the target model's weight."""
    (value,) = value_sleeves(env.store(), sleeve_id=sleeve_id)
    data = sleeve_json(value)

    def human() -> None:
        sleeve = value.sleeve
        target = value.target.note or f"model {sleeve.model_id} version {value.model_version}" if value.target \
            else "no target"
        click.echo(f"{sleeve.sleeve_id} in account {sleeve.account_id}: {target}, "
                   f"policy {sleeve.policy or '-'}, value {money(value.total_value)}")
        print_table(None, ["symbol", "quantity", "value", "unrealized", "weight", "target", "drift"],
                    [(h.symbol, quantity(h.quantity), money(h.market_value), money(h.unrealized_gain),
                      percent(h.weight), percent(h.target),
                      percent(h.weight - h.target) if h.target is not None else "")
                     for h in value.holdings]
                    + [("cash", "", money(value.cash), "", percent(value.cash_weight), percent(value.cash_target),
                        percent(value.cash_weight - value.cash_target) if value.cash_target is not None else "")],
                    numeric=["quantity", "value", "unrealized", "weight", "target", "drift"])

    emit(as_json, data, human)


@sleeves_group.command(name="create")
@click.argument("sleeve_id")
@click.option("--account", "account_id", required=True, help="The account the sleeve belongs to.")
@click.option("--model", "model_id", help="Target model (latest version).")
@click.option("--policy", help="Policy name from the rules directory.")
@json_option
@pass_env
def sleeves_create(env: Env, sleeve_id: str, account_id: str, model_id: str | None, policy: str | None,
                   as_json: bool) -> None:
    """Add an empty sleeve SLEEVE_ID to an account.

    \b
    Example:
      smartx sleeves create SCH-1001-ESG --account SCH-1001 --model BAL-60-40 --policy balanced
    """
    try:
        sleeve = Sleeve(sleeve_id, account_id, model_id, policy)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    env.store().create_sleeve(sleeve)
    emit(as_json, sleeve, lambda: click.echo(f"created sleeve {sleeve_id} in account {account_id}"))


@sleeves_group.command(name="assign")
@click.argument("sleeve_id")
@click.option("--model", "model_id", help="Target one model (its version in effect).")
@click.option("--blend", help="Target a blend of models: MODEL:WEIGHT,... with weights above 0 summing to 1.")
@click.option("--allocation", help="Target a custom allocation: SYMBOL:WEIGHT,... summing to 1, $CASH included.")
@click.option("--policy", help="New policy name.")
@json_option
@pass_env
def sleeves_assign(env: Env, sleeve_id: str, model_id: str | None, blend: str | None, allocation: str | None,
                   policy: str | None, as_json: bool) -> None:
    """Set the target (a model, a blend of models or a custom allocation) and/or the policy of a sleeve.

    The account's restrictions (`smartx accounts restrict`) apply on top of the target; see the
    result with `smartx sleeves target SLEEVE_ID`.

    \b
    Examples:
      smartx sleeves assign S-1001-CORE --model GRO-80-20 --policy growth
      smartx sleeves assign S-1001-CORE --blend GRO-80-20:0.6,INC-30-70:0.4
      smartx sleeves assign S-1001-CORE --allocation 'VTI:0.58,BND:0.40,$CASH:0.02'
    (single quotes keep the shell from expanding $CASH)
    """
    given = [name for name, value in (("--model", model_id), ("--blend", blend), ("--allocation", allocation))
             if value is not None]
    if len(given) > 1:
        raise click.UsageError(f"give one target: {' or '.join(given)}, not both")
    if not (given or policy):
        raise click.UsageError("give --model, --blend or --allocation, and/or --policy")
    if policy is not None:
        _option(identifier, policy, "--policy")
    target = None
    if model_id is not None:
        target = _option(TargetSpec.model, model_id, "--model")
    elif blend is not None:
        target = _option(parse_blend, blend, "--blend")
    elif allocation is not None:
        target = _option(parse_allocation, allocation, "--allocation")
    sleeve, target = assign_target(env.store(), sleeve_id, target, policy)
    data = {**attrs.asdict(sleeve), "target": target and target.as_json()}
    emit(as_json, data, lambda: click.echo(
        f"sleeve {sleeve_id}: target {target_text(target and target.label)}, policy {sleeve.policy or '-'}"))


@sleeves_group.command(name="target")
@click.argument("sleeve_id")
@json_option
@pass_env
def sleeves_target(env: Env, sleeve_id: str, as_json: bool) -> None:
    """The effective target of a sleeve and where each weight came from.

    Its model (the version in effect), blend or custom allocation, with its account's exclusions
    and substitutions applied; weights exact, summing to 1.

    \b
    Example:
      smartx sleeves target S-1001-CORE --json
    """
    store = env.store()
    sleeve = store.sleeve(sleeve_id)
    target = effective_targets(store, sleeve_ids=[sleeve_id]).get(sleeve_id)
    own = restrictions(store, [sleeve.account_id]).get(sleeve.account_id, ())
    data = {"sleeve_id": sleeve_id, "account_id": sleeve.account_id,
            **(target.as_json() if target else {"kind": None, "label": None, "weights": [], "removed": []}),
            "restrictions": [r.as_json() for r in own]}

    def human() -> None:
        if target is None:
            click.echo(f"{sleeve_id} has no target; give it one with `smartx sleeves assign {sleeve_id} --model M`")
            return
        versions = ", ".join(f"{m} v{v}" for m, v in target.versions)
        what = {TargetKind.MODEL: f"model {target.label} v{target.version}",
                TargetKind.BLEND: f"blend {target.label} ({versions})"}.get(target.spec.kind, "custom allocation")
        click.echo(f"{sleeve_id} in account {sleeve.account_id}: {what}")
        if own:
            click.echo(f"  restrictions of {sleeve.account_id}: " + "; ".join(map(str, own)))
        print_table(None, ["symbol", "weight", "target", "from"],
                    [(w.symbol, weight_text(w.weight), percent(w.weight),
                      "; ".join(f"{source} ({percent(source.weight)})" for source in w.sources))
                     for w in target.weights]
                    + [(r.symbol, "", "removed", f"{r.restriction}" + (" (redistributed pro rata)" if
                        r.restriction.kind is RestrictionKind.EXCLUDE else "") + f", was {percent(r.weight)}")
                       for r in target.removed],
                    numeric=["weight", "target"])

    emit(as_json, data, human)


def target_text(label: str | None, version: str | None = None) -> str:
    """A target for a table cell: ``BAL-60-40 2026.1``, a blend's label, ``(custom)`` or ``-``."""
    if label is None:
        return "-"
    return f"{label} {version}" if version else label


def _option(parse: Callable[[str], Any], value: str, name: str) -> Any:
    """``parse(value)``, its complaint a usage error naming the option."""
    try:
        return parse(value)
    except (ValueError, TargetError) as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None
