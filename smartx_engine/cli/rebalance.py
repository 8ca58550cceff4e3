"""``smartx rebalance`` and ``smartx trades``: propose trades, then review them."""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import click

from ..domain import TradeStatus
from ..dsl.policyset import load_rules
from ..fixedpoint import PRICE, QUANTITY, round_money
from ..rebalance.monitor import ISSUES, monitor
from ..rebalance.monitor import as_json as monitor_json
from ..rebalance.review import approved_netting, decide, edit, stored_trades
from ..executors import Executor, executors
from ..rebalance.proposals import Proposals
from ..rebalance.runs import RunResult, rebalance
from . import Env, cli, pass_env
from .output import emit, json_option, jsonable, money, print_table, quantity
from .params import SHARES, USD
from .progress import progress_bar


def _trade_json(row: dict[str, Any]) -> dict[str, Any]:
    """A stored trade in the JSON shape of DESIGN.md."""
    qty, price = QUANTITY.to_decimal(row["quantity_e6"]), PRICE.to_decimal(row["est_price_e6"])
    return {
        "trade_id": row["trade_id"], "run_id": row["run_id"], "account_id": row["account_id"],
        "sleeve_id": row["sleeve_id"], "symbol": row["symbol"], "side": row["side"], "quantity": str(qty),
        "est_price": str(price), "est_value": str(round_money(qty * price)), "status": row["status"],
        "reasons": json.loads(row["reasons"]), "lots": json.loads(row["lots"]),
        "proposed_by": row["proposed_by"], "edited_by": row["edited_by"], "decided_by": row["decided_by"],
        "crossed_quantity": str(QUANTITY.to_decimal(row["crossed_e6"])), "note": row["note"],
    }


#: the trades a run prints in its table (all of them are in --json and `smartx trades list --run`)
TABLE_LIMIT = 200


def run_trade_texts(result: RunResult) -> Iterator[str]:
    """Each trade of a run as its JSON object's text (DESIGN: "Trade proposal JSON"), from the columns."""
    trades = result.trades if isinstance(result.trades, Proposals) else Proposals.of_proposed(result.trades)
    return trades.json_texts()


def run_trades_json(result: RunResult, limit: int | None = None) -> list[dict[str, Any]]:
    """The first ``limit`` (default: all) trades of a run as JSON objects."""
    return [json.loads(text) for text in itertools.islice(run_trade_texts(result), limit)]


def emit_run(as_json: bool, result: RunResult, title: str, summary: Callable[[], None]) -> None:
    """A run's trades: as one JSON list streamed as it is written, or as a table of the first
    :data:`TABLE_LIMIT` trades followed by ``summary``."""
    if as_json:
        out, texts, separator = sys.stdout, run_trade_texts(result), "\n  "
        out.write("[")
        while chunk := list(itertools.islice(texts, 10_000)):
            out.write(separator + ",\n  ".join(chunk))
            separator = ",\n  "
        out.write("]\n" if separator == "\n  " else "\n]\n")
        return
    shown = run_trades_json(result, TABLE_LIMIT)
    print_trades(title, shown)
    if len(result.trades) > len(shown):
        more = f"smartx trades list --run {result.run_id}" if result.run_id else "--json"
        click.echo(f"... and {len(result.trades) - len(shown):,} more trades (the first {len(shown)} shown; "
                   f"all of them: {more})")
    summary()


def harvest_summary(result: RunResult) -> str:
    """One line on a run's harvests: how many, the losses they realise and what that may save."""
    harvests = result.harvests
    return (f"{len(harvests)} harvest(s) realise {money(harvests.loss())} USD of losses "
            f"(estimated tax value {money(harvests.total_tax_value())} USD)")


#: reasons that change a trade after its target set it: shown in tables under the first reason
NOTES = ("gain budget:", "wash sale:", "nets with", "quantity edited", "model change")


def why(reasons: list[str]) -> str:
    """A trade's first reason, and the notes that changed it (every reason is in --json)."""
    return "\n".join(reasons[:1] + [r for r in reasons[1:] if r.startswith(NOTES)])


def print_trades(title: str, trades: list[dict[str, Any]]) -> None:
    print_table(title, ["trade", "sleeve", "symbol", "side", "quantity", "est value", "status", "why"],
                [(t["trade_id"] or "-", t["sleeve_id"], t["symbol"], t["side"], quantity(Decimal(t["quantity"])),
                  money(Decimal(t["est_value"])), t["status"], why(t["reasons"])) for t in trades],
                numeric=["quantity", "est value"], empty="no trades")


@cli.command(name="rebalance")
@click.option("--sleeve", "sleeves", multiple=True, help="A sleeve to rebalance (repeatable).")
@click.option("--account", help="Every sleeve of this account.")
@click.option("--household", help="Every sleeve of this household.")
@click.option("--all", "everything", is_flag=True, help="Every sleeve of the firm.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Prices and dates as of this day (default: today).")
@click.option("--raise-cash", nargs=2, type=(str, USD), default=None, metavar="ACCOUNT AMOUNT",
              help="Raise AMOUNT USD for a withdrawal, across the account's sleeves pro rata to their values.")
@click.option("--invest-cash", is_flag=True, help="Invest the cash of the sleeves in scope (a deposit): buys only.")
@click.option("--dry-run", is_flag=True, help="Show the trades without storing a run.")
@click.option("--executor", "executor_name", default="local", show_default=True, metavar="NAME",
              help="Where the run is computed: local (this process) or dask (split by household over a Dask "
                   "cluster); plugins may add others.")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="dask: the running Dask scheduler to compute on (start one with `dask scheduler`).")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="dask: start N local worker processes for the run (default: one per core).")
@json_option
@pass_env
def rebalance_command(env: Env, sleeves: tuple[str, ...], account: str | None, household: str | None,
                      everything: bool, as_of: dt.datetime | None, raise_cash: tuple[str, Decimal] | None,
                      invest_cash: bool, dry_run: bool, executor_name: str, scheduler: str | None,
                      workers: int | None, as_json: bool) -> None:
    """Propose the trades that bring triggered sleeves back to target, with their reasons.

    Every sleeve in scope is evaluated under its policy; those that triggered (and were not
    skipped) get trades: sells first, buys within the cash above the policy's floor, rounded down
    to whole (or fractional) shares, small trades dropped. The run and its proposals are stored
    for review (`smartx trades list`), superseding earlier proposals of the same sleeves.

    A withdrawal (--raise-cash) is split over the account's sleeves pro rata to their values;
    each sleeve trades to target on the value that stays invested, selling first (rounded up)
    so that its share is left in cash. --invest-cash buys toward target with a sleeve's cash
    above its floor, and sells nothing.

    The run is computed by an executor: `local` (the default) evaluates the whole book in this
    process; `dask` splits it by household (a household's accounts are never split, so wash sales
    and gain budgets see all they must) and computes the parts on a Dask cluster: one it starts on
    this machine (--workers N) or a running one (--scheduler tcp://HOST:PORT). Both give the same
    proposals, stored in one transaction once every part is back.

    \b
    Examples:
      smartx rebalance --all --dry-run
      smartx rebalance --account SCH-1001 --as-of 2026-11-20 --json
      smartx rebalance --raise-cash SCH-1001 25000
      smartx rebalance --sleeve SCH-1001-CORE --invest-cash
      smartx rebalance --all --executor dask --workers 4
      smartx rebalance --all --executor dask --scheduler tcp://10.0.0.5:8786
    """
    if not (sleeves or account or household or everything or raise_cash):
        raise click.UsageError("say which sleeves: --all, --sleeve ID, --account ID or --household ID")
    executor = _executor(executor_name, scheduler=scheduler, workers=workers)
    with progress_bar() as report:
        result = rebalance(env.store(), load_rules(env.rules_dir), as_of.date() if as_of else dt.date.today(),
                           sleeves=sleeves, account=account, household=household, raise_cash=raise_cash,
                           invest=invest_cash, dry_run=dry_run, progress=report, executor=executor)
    for sleeve_id, problem in result.problems.items():
        click.secho(f"warning: sleeve {sleeve_id} {problem}; it was not rebalanced", fg="yellow", err=True)
    for sleeve_id, shortfall in result.shortfalls.items():
        click.secho(f"warning: sleeve {sleeve_id} {shortfall}", fg="yellow", err=True)

    def summary() -> None:
        if result.harvests:
            click.echo(harvest_summary(result))
        click.echo(f"{result.sleeves_evaluated:,} sleeves evaluated, {result.sleeves_triggered:,} triggered, "
                   f"{len(result.trades):,} trades proposed as of {result.as_of}"
                   + (f"; review with `smartx trades list --run {result.run_id}`" if result.run_id else ""))
        click.echo(run_summary(result))

    emit_run(as_json, result, f"Run {result.run_id}" if result.run_id else "Dry run (nothing stored)", summary)


def run_summary(result: RunResult) -> str:
    """How long each phase of a run took, and where it was computed."""
    t = result.timings
    phases = ", ".join(f"{phase} {t[phase]:.2f} s" for phase in ("load", "compute", "store") if phase in t)
    return f"time: {phases} (executor {t.get('executor', 'local')})"


def _executor(name: str, **options: Any) -> Executor:
    """The executor named by --executor, with the options given to it (a usage error for one it does not take)."""
    executor = next(iter(executors(name).values()))  # NotFoundError, with a did-you-mean, for an unknown name
    given = sorted(option for option, value in options.items() if value is not None)
    if stray := [option for option in given if option not in executor.options]:
        flags = ", ".join(f"--{option}" for option in stray)
        takes = ", ".join(f"--{option}" for option in executor.options) or "no options"
        raise click.UsageError(f"{flags} does not apply to the {name} executor (it takes {takes}); "
                               f"use --executor dask to compute on a Dask cluster")
    return executor.with_options(**{option: options[option] for option in given})


@cli.group(name="trades")
def trades_group() -> None:
    """Review proposed trades: list, edit, approve, reject; see what approved trades net to."""


@trades_group.command(name="list")
@click.option("--status", type=click.Choice([s.value for s in TradeStatus]), help="Only trades in this status.")
@click.option("--run", "run_id", help="Only the trades of this run.")
@json_option
@pass_env
def trades_list(env: Env, status: str | None, run_id: str | None, as_json: bool) -> None:
    """Stored trades, newest run first."""
    trades = [_trade_json(row) for row in stored_trades(env.store(), status=status, run_id=run_id)]
    emit(as_json, trades, lambda: print_trades("Trades", trades))


def _chosen(env: Env, trade_ids: tuple[str, ...], run_id: str | None) -> list[str]:
    if bool(trade_ids) == bool(run_id):
        raise click.UsageError("give trade ids or --run RUN (not both)")
    if run_id:
        return [row["trade_id"] for row in stored_trades(env.store(), status="proposed", run_id=run_id)]
    return list(trade_ids)


@trades_group.command(name="approve")
@click.argument("trade_ids", nargs=-1)
@click.option("--run", "run_id", help="Approve every proposed trade of this run.")
@pass_env
def trades_approve(env: Env, trade_ids: tuple[str, ...], run_id: str | None) -> None:
    """Approve proposed trades (by id, or every proposed trade of a run)."""
    decided = decide(env.store(), _chosen(env, trade_ids, run_id), TradeStatus.APPROVED)
    click.echo(f"approved {len(decided)} trade(s)" + (f": {', '.join(decided)}" if len(decided) <= 10 else ""))


@trades_group.command(name="reject")
@click.argument("trade_ids", nargs=-1)
@click.option("--run", "run_id", help="Reject every proposed trade of this run.")
@click.option("--reason", required=True, help="Why, for the audit log.")
@pass_env
def trades_reject(env: Env, trade_ids: tuple[str, ...], run_id: str | None, reason: str) -> None:
    """Reject proposed trades, with a reason."""
    decided = decide(env.store(), _chosen(env, trade_ids, run_id), TradeStatus.REJECTED, note=reason)
    click.echo(f"rejected {len(decided)} trade(s)" + (f": {', '.join(decided)}" if len(decided) <= 10 else ""))


@trades_group.command(name="edit")
@click.argument("trade_id")
@click.option("--quantity", type=SHARES, required=True, help="The new quantity (up to 6 decimals).")
@json_option
@pass_env
def trades_edit(env: Env, trade_id: str, quantity: Decimal, as_json: bool) -> None:
    """Change a proposed trade's quantity.

    The new quantity is checked against the sleeve: a sell may not exceed what it holds (less
    its other live sells), and the sleeve's cash after all its live trades may not go below
    zero. A sell's lots are relieved again. With four-eyes approval on, whoever edits a trade
    cannot approve it.

    \b
    Example:
      smartx trades edit T-00000012 --quantity 40
    """
    trade = _trade_json(edit(env.store(), trade_id, quantity))

    def human() -> None:
        print_trades("Edited", [trade])
        click.echo(f"{trade['trade_id']}: {trade['reasons'][-1]}")

    emit(as_json, trade, human)


@trades_group.command(name="net")
@click.option("--account", "account_id", help="Only this account.")
@json_option
@pass_env
def trades_net(env: Env, account_id: str | None, as_json: bool) -> None:
    """What approved trades come to per account: crossings between sleeves and net orders.

    When sleeves of one account buy and sell the same security, the shares cross inside the
    account (the seller's lots move to the buyer, no sale) and the account sends one net order.

    \b
    Example:
      smartx trades net --account SCH-1001 --json
    """
    netting = approved_netting(env.store(), account_id)
    data = {"crossings": [{**jsonable(c), "amount": str(c.amount)} for c in netting.crossings],
            "orders": jsonable(list(netting.orders))}

    def human() -> None:
        print_table("Crossings inside accounts", ["account", "symbol", "from sleeve", "to sleeve", "quantity",
                                                   "value", "trades"],
                    [(c.account_id, c.symbol, c.from_sleeve, c.to_sleeve, quantity(c.quantity), money(c.amount),
                      f"{c.sell_trade_id} -> {c.buy_trade_id}") for c in netting.crossings],
                    numeric=["quantity", "value"], empty="no crossings")
        print_table("Net orders", ["account", "symbol", "side", "quantity", "trades"],
                    [(o.account_id, o.symbol, str(o.side), quantity(o.quantity), ", ".join(o.trade_ids))
                     for o in netting.orders], numeric=["quantity"], empty="no orders")

    emit(as_json, data, human)


@cli.command(name="monitor")
@click.option("--household", help="Only this household's sleeves.")
@click.option("--custodian", help="Only sleeves of accounts at this custodian.")
@click.option("--model", "model_id", help="Only sleeves following this model.")
@click.option("--issue", type=click.Choice(ISSUES), help="Only sleeves with this issue.")
@click.option("--sort", "sort_by", type=click.Choice(["drift", "cash", "value", "sleeve"]), default="drift",
              show_default=True, help="Order of the queue.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Prices and dates as of this day (default: today).")
@json_option
@pass_env
def monitor_command(env: Env, household: str | None, custodian: str | None, model_id: str | None,
                    issue: str | None, sort_by: str, as_of: dt.datetime | None, as_json: bool) -> None:
    """The desk's daily queue: sleeves out of tolerance, with high or low cash, flagged by a rule,
    never rebalanced, skipped, or without a policy.

    \b
    Examples:
      smartx monitor
      smartx monitor --custodian schwab --issue "high cash" --sort cash --json
    """
    items = [item for item in monitor(env.store(), load_rules(env.rules_dir), as_of.date() if as_of else dt.date.today())
             if (household is None or item.household_id == household)
             and (custodian is None or item.custodian == custodian)
             and (model_id is None or item.model_id == model_id) and (issue is None or issue in item.issues)]
    keys = {"drift": lambda i: -abs(i.worst_drift or 0.0), "cash": lambda i: -(i.cash_weight or 0.0),
            "value": lambda i: -i.value, "sleeve": lambda i: i.sleeve_id}
    items.sort(key=lambda i: (keys[sort_by](i), i.sleeve_id))
    emit(as_json, [monitor_json(i) for i in items], lambda: print_table(
        "Monitor", ["sleeve", "account", "household", "model", "policy", "value", "cash", "worst drift", "issues"],
        [(i.sleeve_id, i.account_id, i.household_id, i.model_id or "-", i.policy or "-", f"{i.value:,.2f}",
          f"{i.cash_weight:.2%}" if i.cash_weight is not None else "",
          f"{i.worst_symbol} {i.worst_drift:+.2%}" if i.worst_symbol else "",
          ", ".join(i.issues) + (f" ({'; '.join(i.notes)})" if i.notes else "")) for i in items],
        numeric=["value", "cash", "worst drift"], empty="nothing needs attention"))
