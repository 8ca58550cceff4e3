"""``smartx cash``: record cash arriving in a sleeve."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import click

from ..rebalance.cash import deposit
from . import Env, cli, pass_env
from .output import emit, json_option
from .params import USD


@cli.group(name="cash")
def cash_group() -> None:
    """Cash movements of sleeves (deposits). Withdrawals: `smartx rebalance --raise-cash`."""


@cash_group.command(name="deposit")
@click.argument("sleeve_id")
@click.argument("amount", type=USD)
@click.option("--date", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day the cash arrived (default: today).")
@json_option
@pass_env
def cash_deposit(env: Env, sleeve_id: str, amount: Decimal, on: dt.datetime | None, as_json: bool) -> None:
    """Record a deposit of AMOUNT USD into SLEEVE_ID (a transaction, the sleeve's cash, the audit log).

    To invest it: `smartx rebalance --sleeve SLEEVE_ID --invest-cash`.

    \b
    Example:
      smartx cash deposit SCH-1001-CORE 25000 --date 2026-11-20
    """
    transaction = deposit(env.store(), sleeve_id, amount, on.date() if on else dt.date.today())
    emit(as_json, transaction, lambda: click.echo(
        f"deposited {amount:,} USD into {sleeve_id} ({transaction.transaction_id}); invest it with "
        f"`smartx rebalance --sleeve {sleeve_id} --invest-cash`"))
