"""``smartx custodians``: the custodian adapters, syncing from them, and reconciliation breaks."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import attrs
import click

from ..custodians import (
    acknowledge, blocked_accounts, custodians, last_syncs, link_account, onboard, rebuild_lots, stored_breaks, sync,
)
from ..custodians.reconcile import LIVE, STATUSES
from ..errors import CustodianError, SmartxError
from ..orders import sync_orders
from ..store import Store
from . import Env, cli, pass_env
from .output import emit, json_option, jsonable, print_table
from .progress import progress_bar

DATE = click.DateTime(formats=["%Y-%m-%d"])


@cli.group(name="custodians")
def custodians_group() -> None:
    """Sync accounts from custodians and reconcile them with the book.

    A sync fetches each custodian's positions, lots, cash and transactions for the firm's
    accounts, and compares them with the engine's lots and cash: every difference is a *break*.
    An account with an open break cannot trade until the break is resolved (the difference goes
    away) or acknowledged (`smartx custodians ack`).

    \b
    A day at the desk:
      smartx custodians list                   adapters, linked accounts, last syncs
      smartx custodians sync                   sync every custodian
      smartx custodians breaks                 what disagrees, and which accounts are blocked
      smartx custodians ack ID --note TEXT     accept a known difference (a deposit in transit)
      smartx custodians lots ACCOUNT           lots rebuilt from the custodian's trades (Schwab)
    """


@custodians_group.command(name="list", short_help="Adapters, the accounts linked to each, last syncs.")
@json_option
@pass_env
def custodians_list(env: Env, as_json: bool) -> None:
    """The custodian adapters, the accounts linked to each, and their last sync.

    A custodian whose accounts are in the database but whose plugin is not installed is listed
    as not registered: its accounts cannot be synced.
    """
    store = env.store()
    adapters = custodians()
    served = defaultdict(list)
    for account in store.accounts():
        served[account.custodian].append(account)
    syncs = last_syncs(store)
    open_breaks = defaultdict(int)
    for b in stored_breaks(store, statuses=["open"]):
        open_breaks[b.account_id] += 1
    data = []
    for name in sorted(adapters.keys() | served.keys()):
        adapter = adapters.get(name)
        last = syncs.get(name)
        data.append({
            "custodian": name, "registered": adapter is not None,
            "supports_blocks": None if adapter is None else bool(adapter.supports_blocks),
            "accounts": [{"account_id": a.account_id, "number": a.custodian_number} for a in served[name]],
            "open_breaks": sum(open_breaks[a.account_id] for a in served[name]),
            "last_sync": None if last is None else {
                "sync_id": last["sync_id"], "as_of": last["at"], "accounts": last["accounts"],
                "transactions_added": last["transactions_added"], "open_breaks": last["open_breaks"]},
        })

    def human() -> None:
        print_table("Custodians", ["custodian", "adapter", "blocks", "accounts", "last sync", "open breaks"],
                    [(c["custodian"], "registered" if c["registered"] else "not installed",
                      "" if c["supports_blocks"] is None else ("yes" if c["supports_blocks"] else "no"),
                      ", ".join(a["account_id"] if a["number"] == a["account_id"] else f"{a['account_id']} ({a['number']})"
                                for a in c["accounts"]) or "-",
                      c["last_sync"]["as_of"] if c["last_sync"] else "never", c["open_breaks"]) for c in data],
                    numeric=["open breaks"],
                    empty="no custodian adapters registered and no accounts; install a custodian plugin")

    emit(as_json, data, human)


@custodians_group.command(name="sync", short_help="Fetch from custodians and reconcile.")
@click.option("--custodian", "name", help="Only this custodian (default: every registered one).")
@click.option("--account", "account_id", help="Only this account.")
@click.option("--since", type=DATE, default=None,
              help="Fetch transactions from this day (default: a week before the last sync, else 90 days back).")
@click.option("--as-of", type=DATE, default=None, help="The day the sync is for (default: today).")
@json_option
@pass_env
def custodians_sync(env: Env, name: str | None, account_id: str | None, since: dt.datetime | None,
                    as_of: dt.datetime | None, as_json: bool) -> None:
    """Fetch positions, lots, cash and transactions from custodians, and reconcile.

    Each custodian syncs in one transaction: what it reports for the linked accounts replaces
    what the last sync stored, its prices become the current prices, new transactions are added,
    and the accounts are reconciled against the book. Syncing again changes nothing unless the
    custodian or the book changed. A custodian that fails writes nothing (exit 1), the others
    still sync. Open orders are tracked first (`smartx trades sync`), so that fills done at the
    custodian are in the book before it is compared.

    An account is linked when the custodian reports its number (`smartx custodians link`; by
    default the account id). Accounts the custodian reports that the database does not know are
    listed as unlinked; database accounts it does not report get an `unlinked` break.

    \b
    Examples:
      smartx custodians sync
      smartx custodians sync --custodian schwab --as-of 2026-11-20 --json
      smartx custodians sync --account SCH-1001 --since 2026-01-01
    """
    store = env.store()
    adapters = custodians(name)
    if account_id:
        custodian = store.account(account_id).custodian
        if name and custodian != name:
            raise CustodianError(f"account {account_id} is held at {custodian}, not {name}")
        adapters = custodians(custodian)
    day = as_of.date() if as_of else dt.date.today()
    with progress_bar() as report:
        fills, tracking_errors = _track_open_orders(store, adapters, report)
        result = sync(store, adapters, as_of=day, account_id=account_id, since=since.date() if since else None,
                      progress=report)
    if not (name or account_id):
        orphans = sorted({a.custodian for a in store.accounts()} - adapters.keys())
        for custodian in orphans:
            click.secho(f"warning: no adapter is registered for {custodian}, so its accounts were not synced;"
                        " install its plugin (see `smartx plugins list`)", fg="yellow", err=True)
    data = [{**_sync_json(c), "fills_applied": fills.get(c.custodian, 0)} for c in result.custodians]

    def human() -> None:
        print_table(f"Sync as of {day}", ["custodian", "fills applied", "accounts", "positions", "transactions added",
                                          "open breaks", "resolved", "unlinked custodian accounts", "result"],
                    [(c["custodian"], c["fills_applied"], len(c["accounts"]), c["positions"], c["transactions_added"],
                      c["breaks_open"], len(c["breaks_resolved"]), ", ".join(c["unlinked"]) or "-",
                      "failed" if c["error"] else "ok") for c in data],
                    numeric=["fills applied", "accounts", "positions", "transactions added", "open breaks",
                             "resolved"],
                    empty="nothing to sync: no database account is held at a registered custodian")
        if any(c["breaks_open"] for c in data):
            click.echo("Open breaks block trading of their accounts; see `smartx custodians breaks`.")

    emit(as_json, data, human)
    if result.failed or tracking_errors:
        raise CustodianError("\n".join([*tracking_errors, *(c.error for c in result.failed if c.error)]))


def _track_open_orders(store: Store, adapters: dict[str, Any], report: Any) -> tuple[dict[str, int], list[str]]:
    """Apply the fills of open orders before the snapshot, so that trades done at the custodian are
    in the book and not breaks: the fills applied per custodian, and the errors of those that failed."""
    fills, errors = {}, []
    for name, adapter in adapters.items():
        try:
            fills[name] = len(sync_orders(store, {name: adapter}, progress=report).fills)
        except SmartxError as exc:
            fills[name] = 0
            errors.append(f"{name}: open orders could not be tracked, so their fills may show as breaks: {exc}")
    return fills, errors


def _sync_json(c: Any) -> dict[str, Any]:
    return jsonable({field.name: getattr(c, field.name) for field in attrs.fields(type(c))})


def _break_json(b: Any) -> dict[str, Any]:
    return jsonable(b)


@custodians_group.command(name="breaks", short_help="The reconciliation report: breaks.")
@click.option("--status", type=click.Choice([*STATUSES, "all"]), default=None,
              help="Only breaks in this status (default: open and acknowledged).")
@click.option("--account", "account_id", help="Only this account's breaks.")
@json_option
@pass_env
def custodians_breaks(env: Env, status: str | None, account_id: str | None, as_json: bool) -> None:
    """The reconciliation report: where the book and the custodians disagree.

    \b
    Kinds of break (engine value vs custodian value):
      position   the quantity of a security (the account's lots over all its sleeves)
      cash       the account's cash (its sleeves' cash summed)
      lots       quantity and cost per acquired date, when the custodian reports lots
      unlinked   the custodian did not report the account (link it: `smartx custodians link`)
    \b
    Statuses: open (blocks trading the account), acknowledged (accepted with a note; reopened if
    the values change), resolved (no longer found by a sync).

    \b
    Examples:
      smartx custodians breaks
      smartx custodians breaks --status all --account SCH-1001 --json
    """
    store = env.store()
    statuses = LIVE if status is None else STATUSES if status == "all" else (status,)
    breaks = stored_breaks(store, statuses=statuses, account_id=account_id)
    data = [_break_json(b) for b in breaks]

    def human() -> None:
        print_table("Breaks", ["break", "status", "engine", "custodian", "found", "note"],
                    [(b.break_id, b.status, b.engine, b.custodian, b.found_at[:10],
                      f"{b.note} ({b.acknowledged_by})" if b.acknowledged_by else b.note) for b in breaks],
                    empty="no breaks")
        blocked = sorted(blocked_accounts(store) & ({account_id} if account_id else {b.account_id for b in breaks}))
        if blocked:
            click.echo(f"Blocked from trading until resolved or acknowledged: {', '.join(blocked)}")

    emit(as_json, data, human)


@custodians_group.command(name="ack", short_help="Accept an open break, with a note.")
@click.argument("break_id")
@click.option("--note", required=True, help="Why the difference is accepted, for the audit log.")
@json_option
@pass_env
def custodians_ack(env: Env, break_id: str, note: str, as_json: bool) -> None:
    """Acknowledge an open break: the difference is known, the account may trade again.

    The break stays acknowledged while syncs find the same values; if they change it is open
    again, and when the difference goes away it is resolved.

    \b
    Example:
      smartx custodians ack 'SCH-1001:cash:$CASH' --note "deposit in transit, posts Monday"
    """
    store = env.store()
    done = acknowledge(store, break_id, note)

    def human() -> None:
        still = [b for b in stored_breaks(store, statuses=["open"], account_id=done.account_id)]
        click.echo(f"acknowledged {done.break_id}; " + (
            f"{done.account_id} still has {len(still)} open break(s)" if still
            else f"{done.account_id} may trade again"))

    emit(as_json, _break_json(done), human)


@custodians_group.command(name="link", short_help="Set an account's number at its custodian.")
@click.argument("account_id")
@click.argument("number")
@pass_env
def custodians_link(env: Env, account_id: str, number: str) -> None:
    """Set the number an account is known by at its custodian.

    Until linked, an account is looked for under its own id. A number already linked to another
    account at the same custodian is refused. The next sync resolves the account's `unlinked` break.

    \b
    Example:
      smartx custodians link SCH-1001 8765-4321
    """
    account = link_account(env.store(), account_id, number)
    click.echo(f"{account.account_id} is {account.custodian} account {account.custodian_number}")


@custodians_group.command(name="lots", short_help="Rebuild an account's lots from the custodian's transactions.")
@click.argument("account_id")
@click.option("--sleeve", "sleeve_id", help="The sleeve the lots go to (default: the account's only sleeve).")
@click.option("--onboard", "store_them", is_flag=True,
              help="Store the rebuilt lots, sales and trades (only into an account that holds no lots yet).")
@json_option
@pass_env
def custodians_lots(env: Env, account_id: str, sleeve_id: str | None, store_them: bool, as_json: bool) -> None:
    """Rebuild an account's lots from the buys and sells its custodian reported.

    For custodians that report positions but no tax lots (Schwab): the synced transactions are
    replayed by the account's lot method (wash sales inside the account adjust the lots), and the
    rebuilt lots are checked against the custodian's positions. A security whose lots fall short
    was held before the first transaction synced: sync with an earlier --since. With --onboard the
    lots, the realised sales and the trades are stored in one sleeve of a newly linked account.

    \b
    Examples:
      smartx custodians sync --account SCH-1009 --since 2015-01-01
      smartx custodians lots SCH-1009
      smartx custodians lots SCH-1009 --sleeve S-1009-CORE --onboard
    """
    store = env.store()
    rebuilt = rebuild_lots(store, account_id, sleeve_id)
    if store_them:
        onboard(store, rebuilt)
    data = {"account_id": account_id, "onboarded": store_them, "transactions": len(rebuilt.transactions),
            "holdings": [{"symbol": h.symbol, "position": str(h.position), "rebuilt": str(h.rebuilt),
                          "engine": str(h.engine), "complete": h.complete} for h in rebuilt.holdings],
            "lots": [jsonable(lot) for lot in rebuilt.lots], "sales": len(rebuilt.sales)}

    def human() -> None:
        print_table(f"{account_id}: {len(rebuilt.transactions)} custodian trades replayed",
                    ["symbol", "custodian position", "rebuilt lots", "engine lots", "history"],
                    [(h.symbol, h.position, h.rebuilt, h.engine, "complete" if h.complete else "incomplete")
                     for h in rebuilt.holdings], numeric=["custodian position", "rebuilt lots", "engine lots"],
                    empty="no positions and no trades synced")
        print_table("Rebuilt lots", ["lot", "symbol", "quantity", "acquired", "basis"],
                    [(lot.lot_id, lot.symbol, lot.quantity, lot.acquired, lot.cost_basis) for lot in rebuilt.lots],
                    numeric=["quantity", "basis"], empty="none")
        if store_them:
            click.echo(f"stored {len(rebuilt.lots)} lot(s) and {len(rebuilt.sales)} realised sale(s) in {account_id}")
        elif rebuilt.incomplete:
            click.echo("Incomplete histories: sync with an earlier --since before onboarding.")

    emit(as_json, data, human)
