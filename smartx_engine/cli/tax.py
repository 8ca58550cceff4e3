"""``smartx tax``: open lots with their wash-sale adjustments, and realised gains by year."""

from __future__ import annotations

import datetime as dt

import click

from ..dsl.policyset import load_rules
from ..rebalance.runs import rebalance
from ..tax.reports import closed_json, open_lots, realized, totals
from . import Env, cli, pass_env
from .output import emit, json_option, money, print_table, quantity
from .rebalance import emit_run, harvest_summary


@cli.group(name="tax")
def tax_group() -> None:
    """Tax lots and realised gains.

    \b
    Examples:
      smartx tax lots --account SCH-1001 --as-of 2026-11-20
      smartx tax realized --household HH-CHEN --year 2026 --json
    """


@tax_group.command(name="lots")
@click.option("--account", "account_id", required=True, help="The account whose open lots to show.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Term and value as of this day (default: today).")
@json_option
@pass_env
def tax_lots(env: Env, account_id: str, as_of: dt.datetime | None, as_json: bool) -> None:
    """Open lots: basis (with wash-sale adjustments), holding period, term and unrealised gain."""
    lots = open_lots(env.store(), account_id, as_of.date() if as_of else dt.date.today())
    emit(as_json, [v.as_json() for v in lots], lambda: print_table(
        f"Open lots of {account_id}", ["lot", "sleeve", "symbol", "quantity", "held from", "basis", "wash adj.",
                                       "term", "value", "unrealised"],
        [(v.lot.lot_id, v.lot.sleeve_id, v.lot.symbol, quantity(v.lot.quantity), v.lot.holding_start.isoformat(),
          money(v.lot.cost_basis), money(v.lot.wash_adjustment) if v.lot.wash_adjustment else "", str(v.term),
          money(v.value), money(v.unrealized)) for v in lots],
        numeric=["quantity", "basis", "wash adj.", "value", "unrealised"], empty="no open lots"))


@tax_group.command(name="realized")
@click.option("--account", "account_id", help="One account.")
@click.option("--household", "household_id", help="Every account of a household.")
@click.option("--year", type=int, required=True, help="The calendar year of the sales.")
@json_option
@pass_env
def tax_realized(env: Env, account_id: str | None, household_id: str | None, year: int, as_json: bool) -> None:
    """Realised gains and losses of a year, lot by lot, with wash-sale disallowed losses.

    Sales are known here when the lots were rebuilt from a transaction history (a book with
    transactions.csv and no lots.csv).
    """
    if bool(account_id) == bool(household_id):
        raise click.UsageError("give --account ID or --household ID")
    store = env.store()
    accounts = [store.account(account_id).account_id] if account_id else \
        [a.account_id for a in store.accounts(store.household(household_id).household_id)]
    sales = realized(store, accounts, year)
    summary = totals(sales)
    data = {"year": year, "accounts": accounts, "sales": [closed_json(c) for c in sales],
            "totals": {term: {k: str(v) for k, v in values.items()} for term, values in summary.items()}}

    def human() -> None:
        print_table(f"Realised in {year}", ["sold", "account", "symbol", "lot", "quantity", "proceeds", "basis",
                                            "gain", "term", "disallowed"],
                    [(c.sold.isoformat(), c.account_id, c.symbol, c.lot_id, quantity(c.quantity), money(c.proceeds),
                      money(c.cost_basis), money(c.gain), str(c.term), money(c.disallowed) if c.disallowed else "")
                     for c in sales], numeric=["quantity", "proceeds", "basis", "gain", "disallowed"],
                    empty="no sales")
        print_table("Totals", ["term", "gains", "losses", "disallowed", "net"],
                    [(term, *(money(v) for v in values.values())) for term, values in summary.items()],
                    numeric=["gains", "losses", "disallowed", "net"])

    emit(as_json, data, human)


@tax_group.command(name="harvest")
@click.option("--household", "household_id", help="Only this household's sleeves (default: every sleeve).")
@click.option("--account", "account_id", help="Only this account's sleeves.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Prices and dates as of this day (default: today).")
@click.option("--dry-run", is_flag=True, help="Show the harvests without storing a run.")
@json_option
@pass_env
def tax_harvest(env: Env, household_id: str | None, account_id: str | None, as_of: dt.datetime | None,
                dry_run: bool, as_json: bool) -> None:
    """A harvest-only run: sell the lots each policy's `harvest when` marks, buy their substitutes.

    Nothing else is rebalanced. A harvest leaves out shares whose loss a recent purchase would
    wash, needs an allowed substitute (so the sleeve stays invested) and blocks the security from
    purchase in the household for the wash-sale window. Proposals go through review like any run.

    \b
    Examples:
      smartx tax harvest --dry-run
      smartx tax harvest --household HH-CHEN --as-of 2026-11-20 --json
    """
    result = rebalance(env.store(), load_rules(env.rules_dir), as_of.date() if as_of else dt.date.today(),
                       account=account_id, household=household_id, harvest_only=True, dry_run=dry_run)
    emit_run(as_json, result, f"Harvest run {result.run_id}" if result.run_id else "Harvest dry run (nothing stored)",
             lambda: click.echo(harvest_summary(result)))
