"""``smartx report``: performance, fees, tax and client reports."""

from __future__ import annotations

import click

from ..reporting.tax import TaxFigures, tax_report
from . import Env, cli, pass_env
from .output import emit, json_option, money, print_table

TAX_COLUMNS = ["short gains", "short losses", "long gains", "long losses", "disallowed", "net short", "net long",
               "harvested"]


@cli.group(name="report")
def report_group() -> None:
    """Reports: performance, fees, realised gains and the client report.

    \b
    Examples:
      smartx report tax --year 2026 --household HH-CHEN
    """


def _tax_cells(f: TaxFigures) -> tuple[str, ...]:
    return tuple(money(v) for v in (f.short_gains, f.short_losses, f.long_gains, f.long_losses, f.disallowed,
                                    f.net_short, f.net_long, f.harvested))


@report_group.command(name="tax")
@click.option("--year", type=int, required=True, help="The calendar year of the sales.")
@click.option("--account", "account_id", help="Only this account.")
@click.option("--household", "household_id", help="Only the accounts of this household.")
@json_option
@pass_env
def report_tax(env: Env, year: int, account_id: str | None, household_id: str | None, as_json: bool) -> None:
    """Realised gains by term, wash-sale disallowed losses and losses harvested, per account and household.

    The net of a term is what counts for tax: gains plus losses, less the losses a wash sale
    disallowed (deferred into the replacement's basis). Harvested: the losses of sales proposed
    as tax-loss harvests. IRAs and other tax-advantaged accounts are listed, not totalled.
    """
    store = env.store()
    if account_id:
        accounts = [store.account(account_id).account_id]
    elif household_id:
        accounts = [a.account_id for a in store.accounts(store.household(household_id).household_id)]
    else:
        accounts = None
    report = tax_report(store, year, account_ids=accounts)

    def human() -> None:
        print_table(f"Realised in {year}, by account", ["account", "household", "registration", *TAX_COLUMNS],
                    [(a.account_id, a.household_id, a.registration + ("" if a.taxable else " (not taxable)"),
                      *_tax_cells(a.figures)) for a in report.accounts], numeric=TAX_COLUMNS)
        print_table(f"Realised in {year}, by household (taxable accounts)", ["household", *TAX_COLUMNS],
                    [(h, *_tax_cells(f)) for h, f in sorted(report.households().items())], numeric=TAX_COLUMNS,
                    empty="no taxable account")

    emit(as_json, report.as_json(), human)
