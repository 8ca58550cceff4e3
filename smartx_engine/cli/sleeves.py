"""``smartx sleeves``: the buckets accounts are split into, each with a target and a policy."""

from __future__ import annotations

from typing import Any

import click

from ..domain import Sleeve, identifier
from ..valuation import SleeveValue, value_sleeves
from . import Env, cli, pass_env
from .output import emit, json_option, money, percent, print_table, quantity


def sleeve_json(value: SleeveValue) -> dict[str, Any]:
    """The stable JSON shape of a sleeve and its holdings."""
    sleeve = value.sleeve
    return {
        "sleeve_id": sleeve.sleeve_id, "account_id": sleeve.account_id, "model_id": sleeve.model_id,
        "model_version": value.model_version, "policy": sleeve.policy,
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
        print_table("Sleeves", ["sleeve", "account", "model", "policy", "invested", "cash", "total"],
                    [(s["sleeve_id"], s["account_id"],
                      f"{s['model_id']} {s['model_version']}" if s["model_id"] else "-",
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
        target = f"model {sleeve.model_id} version {value.model_version}" if sleeve.model_id else "no target"
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
@click.option("--model", "model_id", help="New target model.")
@click.option("--policy", help="New policy name.")
@json_option
@pass_env
def sleeves_assign(env: Env, sleeve_id: str, model_id: str | None, policy: str | None, as_json: bool) -> None:
    """Set the target model and/or the policy of a sleeve.

    \b
    Example:
      smartx sleeves assign S-1001-CORE --model GRO-80-20 --policy growth
    """
    if not (model_id or policy):
        raise click.UsageError("give --model, --policy or both")
    for name in filter(None, (model_id, policy)):
        try:
            identifier(name)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    sleeve = env.store().assign_sleeve(sleeve_id, model_id=model_id, policy=policy)
    emit(as_json, sleeve, lambda: click.echo(
        f"sleeve {sleeve_id}: model {sleeve.model_id or '-'}, policy {sleeve.policy or '-'}"))
