"""``smartx demo``: build a realistic demo firm and walk through what the engine does."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from collections import Counter
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path

import click

from ..custodians import stored_breaks
from ..custody import SandboxSession
from ..modelfeeds import FeedSandboxSession
from ..demo.custody import custodian_sandboxes, shown
from ..demo.managers import GRO_REVISION, manager_sandboxes
from ..dsl import policytest
from ..dsl.policyset import load_rules
from ..executors import executors
from ..importing import read_book, store_book
from ..orders import order_rows
from ..rebalance.review import stored_trades
from ..rebalance.runs import rebalance as rebalance_run
from ..store import Store
from . import (
    Env, accounts, book, cash, cli, custodians, models, orders, policy, rebalance, report, settings, setup, sleeves,
    tax, transition,
)

DEMO_NEW_SLEEVE = ("S-1004-ESG", "SCH-1004")
#: the model the tax household's growth sleeve moves to, and the gain budget of the move
TRANSITION = ("INC-30-70", Decimal(2000))
#: a client wire the custodian holds before the book does: the first sync's cash break
WIRE = Decimal(5000)
#: the account the reporting steps report on, and the firm's name on its client report
REPORTED_ACCOUNT, FIRM_NAME = "SCH-1001", "Harborview Wealth Partners"
#: the new sleeve's blend of models (UMA construction): with the model synced from Acme's API, when it is there
BLEND, BOOK_BLEND = "GRO-80-20:0.5,INC-30-70:0.3,REAL-ASSETS:0.2", "GRO-80-20:0.6,INC-30-70:0.4"


@cli.command(name="demo")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default="smartx-demo",
              show_default=True, help="Where to write the demo book and its database (replaced).")
@click.pass_context
def demo(ctx: click.Context, directory: Path) -> None:
    """Build a demo firm in a fresh database and walk through it.

    Writes a CSV book (households, taxable and IRA accounts at two custodians, multi-sleeve UMAs,
    versioned models, lots with years of history and prices) into DIR/book, imports it into
    DIR/smartx.db, and shows each capability in turn. Then it imports a second book, DIR/tax-book:
    a household whose lots are rebuilt from its trading history (no lots file), and shows tax
    management on it: its lots and realised gains, a loss harvested into a substitute, a rebalance
    where a wash sale is blocked and the gain budget binds, and a move to a new model within a gain
    budget. Explore afterwards with `smartx --db DIR/smartx.db ...`.
    """
    from ..demo.firm import write_demo_book
    from ..demo.tax_household import write_tax_book

    book_dir, db_path = directory / "book", directory / "smartx.db"
    for stale in (db_path, db_path.with_name("smartx.db-wal"), db_path.with_name("smartx.db-shm")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(directory / "custodians", ignore_errors=True)  # the sandboxes' files: outbox, inbox, token
    rules_dir = ctx.find_object(Env).rules_dir
    ctx.obj = Env(db_path, rules_dir)
    numbers = itertools.count(1)

    def _step(title: str) -> None:
        click.secho(f"\n== {next(numbers)}. {title}", bold=True)

    _step("Write a demo firm as a CSV book")
    firm = write_demo_book(book_dir)
    click.echo(f"{book_dir}: {firm.households} households, {firm.accounts} accounts, {firm.sleeves} sleeves, "
               f"{firm.models} models, {firm.lots} lots, {firm.transactions} transactions, "
               f"{firm.prices} daily prices (as of {firm.as_of})")

    _step("Create the firm database")
    ctx.invoke(setup.setup_init)
    _step("Import the book (all or nothing; a second import of the same book changes nothing)")
    ctx.invoke(book.import_book, directory=book_dir)
    again = store_book(ctx.obj.store(), read_book(book_dir))
    click.echo(f"importing the same book again: {again.model_versions_added} model versions added, "
               f"{again.model_versions_unchanged} unchanged; the accounts keep exactly the same lots and cash")

    _step("Accounts")
    ctx.invoke(accounts.accounts_list)
    _step("Sleeves and their targets")
    ctx.invoke(sleeves.sleeves_list)
    _step("Models (every version kept)")
    ctx.invoke(models.models_list)
    managers = _model_feeds(ctx, directory, _step)

    store = ctx.obj.store()
    sessions, wire_account = _custodians_morning(ctx, store, directory, firm.as_of, _step)
    uma = _first_multi_sleeve_account(store)
    _step(f"A multi-sleeve UMA: {uma}")
    ctx.invoke(accounts.accounts_show, account_id=uma)
    core = store.sleeves(uma)[0].sleeve_id
    _step(f"A sleeve against its target model: {core}")
    ctx.invoke(sleeves.sleeves_show, sleeve_id=core)

    if rules_dir.is_dir():
        _step(f"Check the firm's policies ({rules_dir}) against every sleeve")
        ctx.invoke(policy.policy_check)
        _step("Run the policies' own table-driven tests (smartx policy test)")
        click.echo(policytest.run(rules_dir).summary)
        _step(f"Why {core} rebalances: the policy's bands, triggers and rules, as of {firm.as_of}")
        ctx.invoke(policy.policy_explain, sleeve_id=core, as_of=dt.datetime.combine(firm.as_of, dt.time()))
        _step(f"The desk's queue as of {firm.as_of}: sleeves that need attention (smartx monitor)")
        ctx.invoke(rebalance.monitor_command, as_of=dt.datetime.combine(firm.as_of, dt.time()))
        _step(f"Rebalance every sleeve as of {firm.as_of}: proposed trades with their reasons")
        ctx.invoke(rebalance.rebalance_command, everything=True, as_of=dt.datetime.combine(firm.as_of, dt.time()))
        _same_on_dask(ctx, store, firm.as_of, _step)
        proposed = stored_trades(store, status="proposed")
        if len(proposed) >= 2:
            _step("Review: approve one proposed trade, reject another")
            ctx.invoke(rebalance.trades_approve, trade_ids=(proposed[0]["trade_id"],))
            ctx.invoke(rebalance.trades_reject, trade_ids=(proposed[1]["trade_id"],), reason="waiting for the client's call")
        sells = [t for t in stored_trades(store, status="proposed") if t["side"] == "sell" and t["quantity_e6"] >= 2e6]
        if sells:
            _step("Edit a proposed sell to half its quantity (checked against the sleeve's holdings and cash)")
            half = Decimal(sells[0]["quantity_e6"] // 2_000_000)
            ctx.invoke(rebalance.trades_edit, trade_id=sells[0]["trade_id"], quantity=half)
        _step("Approve the rest of the run; what approved trades net to inside each account")
        ctx.invoke(rebalance.trades_approve, run_id=stored_trades(store)[0]["run_id"])
        ctx.invoke(rebalance.trades_net)
        if sessions:
            _trade_at_custodians(ctx, store, sessions, wire_account, firm.as_of, _step)
        as_of = dt.datetime.combine(firm.as_of, dt.time())
        _step(f"A withdrawal: raise 25,000 USD from {uma}, pro rata across its sleeves (dry run)")
        ctx.invoke(rebalance.rebalance_command, raise_cash=(uma, Decimal(25000)), as_of=as_of, dry_run=True)
        _step(f"A deposit of 50,000 USD lands in {core} and is invested, buying only (dry run)")
        ctx.invoke(cash.cash_deposit, sleeve_id=core, amount=Decimal(50000), on=as_of)
        ctx.invoke(rebalance.rebalance_command, sleeves=(core,), invest_cash=True, as_of=as_of, dry_run=True)
        _step("Four-eyes approval: from now on, whoever proposes or edits a trade cannot approve it")
        ctx.invoke(settings.settings_set, key="approvals.four_eyes", value="true")
        ctx.invoke(settings.settings_list)
    else:
        _step(f"Policies: no rules directory at {rules_dir}; run the demo from the repository or pass --rules")

    sleeve_id, account_id = DEMO_NEW_SLEEVE
    _step(f"Split a new sleeve off {account_id} and give it a target and a policy")
    ctx.invoke(sleeves.sleeves_create, sleeve_id=sleeve_id, account_id=account_id, model_id="GRO-80-20")
    ctx.invoke(sleeves.sleeves_assign, sleeve_id=sleeve_id, model_id="BAL-60-40", policy="balanced")
    blend = BLEND if "REAL-ASSETS" in store.model_ids() else BOOK_BLEND
    _step(f"UMA construction: {sleeve_id} follows a blend of models ({blend}), and {account_id} excludes a "
          "security and substitutes another")
    ctx.invoke(sleeves.sleeves_assign, sleeve_id=sleeve_id, blend=blend)
    ctx.invoke(accounts.accounts_restrict, account_id=account_id, excludes=("QQQ",), substitutes=("ITOT=VTI",),
               note="client: no single-sector tech fund; keeps VTI, held elsewhere at a low basis")
    ctx.invoke(sleeves.sleeves_target, sleeve_id=sleeve_id)

    as_of = dt.datetime.combine(firm.as_of, dt.time())
    _step("A household rebuilt from its trading history (no lots file): lots, realised gains and wash sales")
    household = write_tax_book(directory / "tax-book", book_dir, firm.as_of)
    click.echo(f"{household.directory}: household {household.household_id} ({household.household_name}), "
               f"{household.accounts} accounts, {household.sleeves} sleeves, {household.transactions} transactions "
               f"and no lots.csv: the import replays the history")
    ctx.invoke(book.import_book, directory=household.directory)
    ctx.invoke(tax.tax_lots, account_id=household.taxable_account, as_of=as_of)
    ctx.invoke(tax.tax_realized, household_id=household.household_id, year=firm.as_of.year)
    if rules_dir.is_dir():
        _step("Harvest losses, keeping the exposure through substitutes")
        ctx.invoke(tax.tax_harvest, household_id=household.household_id, as_of=as_of, dry_run=True)
        _step("Rebalance the household: a blocked wash sale and a binding gain budget")
        ctx.invoke(rebalance.rebalance_command, household=household.household_id, as_of=as_of, dry_run=True)
    model_id, budget = TRANSITION
    _step("Move a sleeve to a new model within a gain budget")
    ctx.invoke(transition.transition_command, sleeve_id=household.growth_sleeve, model_id=model_id,
               gain_budget=budget, as_of=as_of, dry_run=True)

    if rules_dir.is_dir() and "manager-api" in managers:
        _model_revision(ctx, store, managers["manager-api"], firm.as_of, _step)

    _reporting(ctx, directory, firm.as_of, household.household_id, _step)

    _step("Explore further")
    click.echo(f"  smartx --db {db_path} sleeves show {core}\n"
               f"  smartx --db {db_path} models show BAL-60-40 --version 2025.1\n"
               f"  smartx --db {db_path} accounts list --json\n"
               f"  smartx --db {db_path} policy explain --sleeve {core} --as-of {firm.as_of}\n"
               f"  smartx --db {db_path} trades list --status proposed --json\n"
               f"  smartx --db {db_path} policy explain --sleeve {household.growth_sleeve} --as-of {firm.as_of}\n"
               f"  smartx --db {db_path} tax lots --account {household.taxable_account} --as-of {firm.as_of} --json\n"
               f"  smartx --db {db_path} rebalance --household {household.household_id} --as-of {firm.as_of} "
               f"--dry-run --json\n"
               f"  smartx --db {db_path} rebalance --all --as-of {firm.as_of} --dry-run --executor dask --workers 2\n"
               f"  smartx --db {db_path} transition {household.growth_sleeve} --to-model {model_id} "
               f"--as-of {firm.as_of} --dry-run\n"
               f"  smartx --db {db_path} report performance {REPORTED_ACCOUNT} --start 2025-01-01 --end {firm.as_of} "
               f"--by month --json\n"
               f"  smartx --db {db_path} report client --all --period 2026Q3 --format pdf -o {directory}/reports\n"
               f"  smartx plugins list")


def _same_on_dask(ctx: click.Context, store: Store, as_of: dt.date, step: Callable[[str], None]) -> None:
    """The same run computed by the dask executor on a local cluster: the same proposals as in this process."""
    step("The same run on a Dask cluster (two local worker processes, the book split by household; "
         "`smartx rebalance --all --executor dask --scheduler tcp://HOST:PORT` for a real one)")
    policies = load_rules(ctx.find_object(Env).rules_dir)
    runs = {name: rebalance_run(store, policies, as_of, dry_run=True,
                                executor=executors(name)[name].with_options(**options))
            for name, options in (("local", {}), ("dask", {"workers": 2}))}
    keys = {name: [(t.trade.sleeve_id, t.trade.symbol, str(t.trade.side), t.trade.quantity) for t in run.trades]
            for name, run in runs.items()}
    click.echo(f"local: {len(keys['local'])} trades; dask: {len(keys['dask'])} trades; "
               f"the same proposals: {'yes' if keys['local'] == keys['dask'] else 'NO'}")


def _custodians_morning(ctx: click.Context, store: Store, directory: Path, as_of: dt.date,
                        step: Callable[[str], None]) -> tuple[dict[str, SandboxSession], str | None]:
    """Start the custodians' sandboxes (a wire at one Fidelity account not yet booked), sync,
    reconcile, acknowledge the break; the sessions and the account holding the wire."""
    wire_account = next((a.account_id for a in store.accounts() if a.custodian == "fidelity"), None)
    step(f"Start the custodians' loopback sandboxes, seeded with the firm's accounts (and a client wire of "
         f"{WIRE:,} USD at {wire_account} that the book has not seen)")
    sessions = ctx.with_resource(custodian_sandboxes(store, directory / "custodians",
                                                     unbooked_cash={wire_account: WIRE} if wire_account else {}))
    for name, session in sessions.items():
        click.echo(f"{name}: " + "  ".join(shown(session.environment)))
    if not sessions:
        click.echo("no installed custodian plugin offers a sandbox; install plugins/custodian_schwab and "
                   "plugins/custodian_fidelity")
        return sessions, None
    at = dt.datetime.combine(as_of, dt.time())
    step("Sync positions, lots, cash and transactions from the custodians, and reconcile with the book")
    ctx.invoke(custodians.custodians_sync, as_of=at)
    step("The reconciliation report: the wire is a cash break, and its account cannot trade until it is "
         "resolved or acknowledged")
    ctx.invoke(custodians.custodians_breaks)
    for item in stored_breaks(store, statuses=["open"]):
        ctx.invoke(custodians.custodians_ack, break_id=item.break_id,
                   note=f"client wire of {WIRE:,} USD received {as_of}; booked after today's trades")
    return sessions, wire_account


def _trade_at_custodians(ctx: click.Context, store: Store, sessions: Mapping[str, SandboxSession],
                         wire_account: str | None, as_of: dt.date, step: Callable[[str], None]) -> None:
    """Submit the approved trades (blocks at Fidelity), execute, apply fills, book the wire, sync clean."""
    step("Send the approved trades to the custodians, exactly once: net orders per account, one block per "
         "security and side at Fidelity (client order ids recorded before anything is sent)")
    ctx.invoke(orders.trades_submit, block=True)
    for session in sessions.values():
        session.settle(dt.date.today())  # the day the orders were sent; Schwab's sandbox fills at once
    step("The custodians execute (Fidelity's file drop returns executions and allocations); apply the fills "
         "to lots, cash and realised gains (smartx trades sync)")
    ctx.invoke(orders.trades_sync)
    blocks = Counter(r["block_id"] for r in order_rows(store) if r["block_id"])
    if blocks:
        block_id = blocks.most_common(1)[0][0]
        account_id = order_rows(store, block_id=block_id)[0]["account_id"]
        step(f"The largest block, allocated back to its accounts at its average price: {block_id}")
        ctx.invoke(orders.orders_list, block_id=block_id)
        step(f"{account_id}'s lots after the fills (sells relieved the lots the engine chose, and the custodian "
             "was told which: versus purchase)")
        ctx.invoke(tax.tax_lots, account_id=account_id)
    if wire_account:
        step(f"Book the wire into {wire_account} and sync again: the break is resolved, the book matches "
             "the custodians")
        ctx.invoke(cash.cash_deposit, sleeve_id=store.sleeves(wire_account)[0].sleeve_id, amount=WIRE,
                   on=dt.datetime.combine(as_of, dt.time()))
        ctx.invoke(custodians.custodians_sync)
        ctx.invoke(custodians.custodians_breaks, status="all")


def _model_feeds(ctx: click.Context, directory: Path, step: Callable[[str], None]) -> dict[str, FeedSandboxSession]:
    """Start the model managers' sandboxes (Acme's API, Beacon's file drop) and sync what they publish."""
    step("Model feeds: start the managers' loopback sandboxes (Acme Asset Mgmt's API, Beacon Capital's file "
         "drop) and sync the models they publish (checked, then kept whole; the managers hear the verdicts)")
    sessions = ctx.with_resource(manager_sandboxes(directory / "managers"))
    for name, session in sessions.items():
        click.echo(f"{name}: " + "  ".join(shown(session.environment)))
    if not sessions:
        click.echo("no installed model-feed plugin offers a sandbox; install plugins/models_thirdparty")
        return sessions
    ctx.invoke(models.models_sync)
    step("The model marketplace: every model, its manager, asset-class mix and the sleeves following it")
    ctx.invoke(models.models_list)
    return sessions


def _model_revision(ctx: click.Context, store: Store, acme: FeedSandboxSession, as_of: dt.date,
                    step: Callable[[str], None]) -> None:
    """Acme revises GRO-80-20 on its API: synced, compared, and the next rebalance of the sleeves on
    it realigning the one rebalanced to the old version (dry run)."""
    acme.publish(GRO_REVISION)
    step("Acme Asset Mgmt publishes a revision of GRO-80-20 on its API (a DELTA on 2026.1, in force from "
         f"{GRO_REVISION.effective_date}): sync it, keep every version, compare them")
    ctx.invoke(models.models_sync, name="manager-api")
    ctx.invoke(models.models_diff, model_id="GRO-80-20", old="2026.1", new="2026.2")
    following = tuple(s.sleeve_id for s in store.sleeves() if s.model_id == "GRO-80-20")
    changed = [c.sleeve_id for c in store.model_changes(as_of) if c.model_id == "GRO-80-20"]
    at = dt.datetime.combine(as_of, dt.time())
    step(f"The next rebalance of the GRO-80-20 sleeves follows 2026.2 (dry run): {', '.join(changed) or 'none'}, "
         "rebalanced to 2026.1 earlier, has a model change; a weight moved 4%, above its policy's "
         "`realign on model change above 2%`, so it is realigned to target; the others were never rebalanced, "
         "and their bands decide")
    ctx.invoke(rebalance.rebalance_command, sleeves=following, as_of=at, dry_run=True)
    if changed:
        step(f"Why {changed[0]} realigns: its policy, as of {as_of}")
        ctx.invoke(policy.policy_explain, sleeve_id=changed[0], as_of=at)


def _reporting(ctx: click.Context, directory: Path, as_of: dt.date, tax_household: str,
               step: Callable[[str], None]) -> None:
    """Performance, the value delivered, the tax report, a fee run with the custodians' deduction
    files, and a client report as HTML and PDF."""
    account, quarter = REPORTED_ACCOUNT, "2026Q3"
    at = dt.datetime.combine(as_of, dt.time())
    step(f"Performance of {account} since inception, against its benchmark (its sleeves' targets), by year")
    ctx.invoke(report.report_performance, account_id=account, end=at, by="year", annualize=True)
    step(f"The value delivered to {account} this year: tax alpha, drift kept within bands, trades avoided, fees")
    ctx.invoke(report.report_value, account_id=account, start=dt.datetime(as_of.year, 1, 1), end=at)
    step(f"The tax report of {as_of.year} for {tax_household}: realised gains by term, wash sales, harvests")
    ctx.invoke(report.report_tax, year=as_of.year, household_id=tax_household)
    schedules = ctx.find_object(Env).rules_dir / "fees.toml"
    if schedules.is_file():
        step(f"The fee run for {quarter} from {schedules}, and each custodian's fee-deduction file")
        ctx.invoke(report.report_fees, period=quarter, deductions_dir=directory / "fees")
        step(f"{account}'s invoice for {quarter}, step by step")
        ctx.invoke(report.report_fees, period=quarter, account_id=account)
    else:
        step(f"Fees: no fee schedules at {schedules}; run the demo from the repository or pass --rules")
    step(f"The client report of {account} for {quarter}: HTML and PDF, ready to hand to the client")
    ctx.invoke(settings.settings_set, key="firm.name", value=FIRM_NAME)
    for fmt in ("html", "pdf"):
        ctx.invoke(report.report_client, account_id=account, period=quarter, fmt=fmt,
                   output=directory / "reports" / f"{account}-{quarter}.{fmt}", generated_on=at)


def _first_multi_sleeve_account(store: Store) -> str:
    counts: dict[str, int] = {}
    for sleeve in store.sleeves():
        counts[sleeve.account_id] = counts.get(sleeve.account_id, 0) + 1
    return next((account for account, n in counts.items() if n > 1), next(iter(counts)))
