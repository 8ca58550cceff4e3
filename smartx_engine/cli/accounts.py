"""``smartx accounts``: the custodial accounts of the firm."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import click

from ..errors import TargetError
from ..targets import Restriction, RestrictionKind, parse_substitution, restrict, restrictions
from ..valuation import value_sleeves
from . import Env, cli, pass_env
from .output import emit, json_option, money, percent, price, print_table, quantity
from .sleeves import sleeve_json, target_text


@cli.group(name="accounts")
def accounts_group() -> None:
    """List and inspect accounts (linked from custodians or imported from a book)."""


@accounts_group.command(name="list")
@click.option("--household", help="Only this household's accounts.")
@click.option("--custodian", help="Only accounts held at this custodian.")
@json_option
@pass_env
def accounts_list(env: Env, household: str | None, custodian: str | None, as_json: bool) -> None:
    """Every account with its household, registration, sleeves and value."""
    store = env.store()
    names = {h.household_id: h.name for h in store.households()}
    sleeves = defaultdict(list)
    for value in value_sleeves(store):
        sleeves[value.sleeve.account_id].append(value)
    accounts = [a for a in store.accounts(household)
                if custodian is None or a.custodian == custodian]
    data = []
    for account in accounts:
        own = sleeves[account.account_id]
        market = sum((v.market_value for v in own), Decimal("0.00"))
        cash = sum((v.cash for v in own), Decimal("0.00"))
        data.append({
            "account_id": account.account_id, "name": account.name, "custodian": account.custodian,
            "household_id": account.household_id, "household_name": names[account.household_id],
            "registration": account.registration, "tax_treatment": account.tax_treatment,
            "st_tax_rate": account.st_tax_rate, "lt_tax_rate": account.lt_tax_rate,
            "sleeves": [v.sleeve.sleeve_id for v in own],
            "market_value": market, "cash": cash, "total_value": market + cash,
        })

    def human() -> None:
        print_table("Accounts", ["account", "name", "household", "custodian", "registration", "sleeves",
                                 "invested", "cash", "total"],
                    [(a["account_id"], a["name"], a["household_name"], a["custodian"], a["registration"],
                      len(a["sleeves"]), money(a["market_value"]), money(a["cash"]), money(a["total_value"]))
                     for a in data], numeric=["sleeves", "invested", "cash", "total"],
                    empty="no accounts yet; load some with `smartx import book DIR`")

    emit(as_json, data, human)


@accounts_group.command(name="show")
@click.argument("account_id")
@json_option
@pass_env
def accounts_show(env: Env, account_id: str, as_json: bool) -> None:
    """One account: its details, its sleeves and what each holds."""
    store = env.store()
    account = store.account(account_id)
    household = store.household(account.household_id)
    values = value_sleeves(store, account_id=account_id)
    data = {
        "account_id": account.account_id, "name": account.name, "custodian": account.custodian,
        "household_id": account.household_id, "household_name": household.name,
        "registration": account.registration, "tax_treatment": account.tax_treatment, "st_tax_rate": account.st_tax_rate,
        "lt_tax_rate": account.lt_tax_rate,
        "total_value": sum((v.total_value for v in values), Decimal("0.00")),
        "sleeves": [sleeve_json(v) for v in values],
        "restrictions": [r.as_json() for r in restrictions(store, [account_id]).get(account_id, ())],
    }

    def human() -> None:
        click.echo(f"{account.account_id}  {account.name}")
        click.echo(f"  household {household.name} ({household.household_id}) · custodian {account.custodian} · "
                   f"{account.registration}, {account.tax_treatment.replace('_', '-')} · tax rates "
                   f"{percent(account.st_tax_rate)} short / {percent(account.lt_tax_rate)} long")
        click.echo(f"  total value {money(data['total_value'])} in {len(values)} sleeve(s)")
        if data["restrictions"]:
            click.echo("  restrictions: " + "; ".join(restriction_text(r) for r in data["restrictions"]))
        for value in values:
            print_table(
                f"{value.sleeve.sleeve_id}: target {target_text(value.target and value.target.label)} · policy "
                f"{value.sleeve.policy or '-'} · value {money(value.total_value)}",
                ["symbol", "quantity", "price", "value", "cost basis", "lots", "weight"],
                [(h.symbol, quantity(h.quantity), price(h.price), money(h.market_value), money(h.cost_basis),
                  h.lots, percent(h.weight)) for h in value.holdings if h.quantity]
                + [("cash", "", "", money(value.cash), "", "", percent(value.cash_weight))],
                numeric=["quantity", "price", "value", "cost basis", "lots", "weight"])

    emit(as_json, data, human)


@accounts_group.command(name="restrict")
@click.argument("account_id")
@click.option("--exclude", "excludes", multiple=True, metavar="SYMBOL",
              help="Never target SYMBOL in this account's sleeves; its weight goes pro rata to the other "
                   "securities. Repeatable.")
@click.option("--substitute", "substitutes", multiple=True, metavar="SYMBOL=REPLACEMENT",
              help="Target REPLACEMENT instead of SYMBOL (its whole weight moves). Repeatable.")
@click.option("--remove", "removes", multiple=True, metavar="SYMBOL",
              help="Lift the restriction on SYMBOL. Repeatable.")
@click.option("--note", help="Why (kept with the restrictions added), e.g. 'ESG: no fossil fuels'.")
@json_option
@pass_env
def accounts_restrict(env: Env, account_id: str, excludes: tuple[str, ...], substitutes: tuple[str, ...],
                      removes: tuple[str, ...], note: str | None, as_json: bool) -> None:
    """Exclude or substitute securities in every sleeve target of an account (all or nothing, audited).

    Restrictions apply on top of each sleeve's model, blend or custom allocation, whenever its
    target is built: an excluded security's weight is shared pro rata among the target's other
    securities (not cash); a substituted one's weight moves to its replacement. The rebalancer then
    sells what the target no longer holds. A change that would leave a sleeve's target with no
    security is refused.

    \b
    Examples:
      smartx accounts restrict SCH-1001 --exclude XOM --exclude CVX --note 'ESG: no fossil fuels'
      smartx accounts restrict SCH-1001 --substitute VTI=ESGV
      smartx accounts restrict SCH-1001 --remove XOM
      smartx sleeves target SCH-1001-CORE          (the targets they make)
    """
    try:
        add = [Restriction(account_id, symbol, RestrictionKind.EXCLUDE, note=note) for symbol in excludes]
        add += [parse_substitution(text, account_id, note) for text in substitutes]
    except TargetError as exc:
        raise click.BadParameter(str(exc)) from None
    if not (add or removes):
        raise click.UsageError("give --exclude, --substitute or --remove")
    after = restrict(env.store(), account_id, add, removes)
    data = [r.as_json() for r in after]
    emit(as_json, data, lambda: click.echo(
        f"account {account_id}: " + ("; ".join(restriction_text(r) for r in data) or "no restrictions")))


@accounts_group.command(name="restrictions")
@click.argument("account_id", required=False)
@json_option
@pass_env
def accounts_restrictions(env: Env, account_id: str | None, as_json: bool) -> None:
    """The exclusions and substitutions of one account (every account's without ACCOUNT_ID).

    \b
    Example:
      smartx accounts restrictions SCH-1001 --json
    """
    store = env.store()
    if account_id:
        store.account(account_id)
    data = [r.as_json() for rows in restrictions(store, [account_id] if account_id else None).values() for r in rows]

    def human() -> None:
        print_table("Restrictions", ["account", "symbol", "restriction", "note"],
                    [(r["account_id"], r["symbol"], "excluded" if r["kind"] == "exclude" else f"→ {r['replacement']}",
                      r["note"] or "") for r in data],
                    empty="none; add one with `smartx accounts restrict ACCOUNT --exclude SYMBOL`")

    emit(as_json, data, human)


def restriction_text(r: dict) -> str:
    return f"{r['symbol']} excluded" if r["kind"] == "exclude" else f"{r['symbol']} → {r['replacement']}"
