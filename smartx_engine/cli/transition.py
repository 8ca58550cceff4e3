"""``smartx transition``: move a sleeve to a new model within a gain budget (docs/tax.md)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import click

from ..fixedpoint import MONEY
from ..tax.transition import SoldLot, TransitionPlan, plan_transition, record_transition
from . import Env, cli, pass_env
from .output import emit, json_option, money, percent, print_table, quantity


class GainBudget(click.ParamType):
    """An amount in USD, 0 or more, with at most 2 decimals (never rounded)."""

    name = "USD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            amount = MONEY.parse(str(value).replace(",", ""))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if amount < 0:
            self.fail(f"a gain budget is 0 or more, not {value}", param, ctx)
        return amount


@cli.command(name="transition")
@click.argument("sleeve_id", metavar="SLEEVE")
@click.option("--to-model", "model_id", required=True, metavar="MODEL", help="The model to move to (its latest version).")
@click.option("--gain-budget", type=GainBudget(), default=None,
              help="The most net realised gain allowed this calendar year, what the account already realised "
                   "this year included (default: no limit, a full transition).")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Prices, terms and the year to date as of this day (default: today).")
@click.option("--dry-run", is_flag=True, help="Show the plan without storing anything.")
@json_option
@pass_env
def transition_command(env: Env, sleeve_id: str, model_id: str, gain_budget: Decimal | None,
                       as_of: dt.datetime | None, dry_run: bool, as_json: bool) -> None:
    """Move a sleeve to a new model without realising more gain than a budget allows.

    \b
    The plan, in order (docs/tax.md, "Tax-aware transitions"):
      1. holdings in the new model keep up to their target value;
      2. lots of the rest at a loss or at no gain are sold (their losses add room);
      3. lots at a gain are sold cheapest tax per dollar first, while the net gain of the
         year (what was realised year to date included) stays within --gain-budget;
      4. what is left is kept as legacy positions, with a plan to sell them in the
         following years within the same annual budget (at today's prices);
      5. the proceeds and the cash above the model's cash weight buy the model's
         securities, pro rata to their shortfall, in whole shares.
    Tax-deferred accounts (IRA, Roth ...) pay no tax: they move fully, whatever the budget.

    Without --dry-run the sleeve is assigned to the model and the trades are stored as a
    run of proposals, to review like any other (`smartx trades list --run R-...`).

    \b
    Examples:
      smartx transition SCH-1-LEGACY --to-model GRO-80-20 --gain-budget 5000 --dry-run
      smartx transition SCH-1-LEGACY --to-model GRO-80-20 --gain-budget 5000 --as-of 2026-11-20
      smartx transition SCH-2-CORE --to-model BAL-60-40 --json
    """
    store = env.store()
    plan = plan_transition(store, sleeve_id, model_id, as_of.date() if as_of else dt.date.today(), gain_budget)
    if not dry_run:
        plan = record_transition(store, plan)
    emit(as_json, plan.as_json(), lambda: _print(plan))


def _step(lot: SoldLot) -> str:
    if lot.step == "loss":
        return "2: no gain" if lot.relief.gain == 0 else "2: loss"
    return "3: gain"


def _print(plan: TransitionPlan) -> None:
    click.echo(f"Transition of {plan.sleeve_id} ({plan.account_id}, {plan.registration}) from "
               f"{plan.from_model or 'no model'} to {plan.model_id} {plan.model_version} as of {plan.as_of}: "
               f"value {money(plan.value)}, cash {money(plan.cash)}")
    print_table("Sells", ["symbol", "lot", "term", "quantity", "proceeds", "basis", "gain", "step"],
                [(s.symbol, lot.relief.lot_id, str(lot.relief.term), quantity(lot.relief.quantity),
                  money(lot.relief.proceeds), money(lot.relief.cost_basis), money(lot.relief.gain), _step(lot))
                 for s in plan.sells for lot in s.lots],
                numeric=["quantity", "proceeds", "basis", "gain"], empty="nothing to sell")
    print_table("Buys", ["symbol", "quantity", "price", "value", "target"],
                [(b.symbol, quantity(b.quantity), money(b.price), money(b.value), percent(b.target)) for b in plan.buys],
                numeric=["quantity", "price", "value", "target"], empty="nothing to buy")
    rates = {"short": plan.rates[0], "long": plan.rates[1]}
    print_table("Realised gains and estimated tax", ["term", "net gain", "rate", "tax"],
                [(term, money(plan.realized[term]), percent(rates[term]) if term in rates else "", money(plan.tax[term]))
                 for term in ("short", "long", "total")], numeric=["net gain", "rate", "tax"])
    budget = plan.budget
    if budget.applies:
        print_table("Gain budget", ["given", "year to date", "this plan", "left"],
                    [(money(budget.given), money(budget.year_to_date), money(budget.plan), money(budget.left))],
                    numeric=["given", "year to date", "this plan", "left"])
    print_table("Legacy positions kept", ["symbol", "quantity", "value", "basis", "unrealised", "lots"],
                [(p.symbol, quantity(p.quantity), money(p.value), money(p.cost_basis), money(p.unrealized),
                  ", ".join(r.lot_id for r in p.lots)) for p in plan.legacy],
                numeric=["quantity", "value", "basis", "unrealised"], empty="none")
    print_table("After the plan", ["symbol", "quantity", "value", "weight", "target"],
                [(h.symbol, "" if h.quantity is None else quantity(h.quantity), money(h.value), percent(h.weight),
                  percent(h.target)) for h in plan.holdings], numeric=["quantity", "value", "weight", "target"])
    if plan.tracking_after is not None:
        click.echo(f"Distance to the model (half the sum of |weight - target|): {percent(plan.tracking_before)} "
                   f"before, {percent(plan.tracking_after)} after")
    if plan.years:
        print_table(f"Multi-year plan (budget {money(budget.given)} a year, at prices of {plan.as_of})",
                    ["year", "sells", "proceeds", "net gain", "tax", "legacy left"],
                    [(y.year, "; ".join(f"{s.symbol} {quantity(s.quantity)}" for s in y.sells),
                      money(sum((s.proceeds for s in y.sells), Decimal(0))), money(y.realized["total"]),
                      money(y.tax["total"]), money(y.legacy_value)) for y in plan.years],
                    numeric=["proceeds", "net gain", "tax", "legacy left"])
    for note in plan.notes:
        click.echo(f"note: {note}")
    if plan.run_id:
        click.echo(f"{plan.sleeve_id} now follows {plan.model_id}; {len(plan.trade_ids)} trades proposed as run "
                   f"{plan.run_id}: review with `smartx trades list --run {plan.run_id}`")
    else:
        click.echo("Dry run: nothing stored")
