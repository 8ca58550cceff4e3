"""``smartx demo``: build a realistic demo firm and walk through what the engine does."""

from __future__ import annotations

from pathlib import Path

import click

from ..builtin.csv_book import CsvBookImporter
from ..store import Store
from . import Env, accounts, cli, models, pass_env, sleeves


@cli.command(name="demo")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default="smartx-demo",
              show_default=True, help="Where to write the demo book and its database (replaced).")
@click.pass_context
def demo(ctx: click.Context, directory: Path) -> None:
    """Build a demo firm in a fresh database and show it.

    Writes a CSV book (households, taxable and IRA accounts at two custodians, multi-sleeve UMAs,
    models, lots with years of history) into DIR, imports it into DIR/smartx.db, and prints what
    each step did. Explore afterwards with `smartx --db DIR/smartx.db ...`.
    """
    from ..demo.firm import write_demo_book

    book_dir = directory / "book"
    db_path = directory / "smartx.db"
    for stale in (db_path, db_path.with_name("smartx.db-wal"), db_path.with_name("smartx.db-shm")):
        stale.unlink(missing_ok=True)
    _step("1. Write a demo firm as a CSV book")
    firm = write_demo_book(book_dir)
    click.echo(f"{book_dir}: {firm.households} households, {firm.accounts} accounts, {firm.sleeves} sleeves, "
               f"{firm.models} models, {firm.lots} lots, {firm.transactions} transactions, "
               f"{firm.prices} daily prices (as of {firm.as_of})")

    _step("2. Create the firm database and import the book (all or nothing)")
    store = Store.create(db_path)
    summary = store.apply_book(CsvBookImporter().read(book_dir))
    click.echo(f"{db_path}: imported {summary.accounts} accounts, {summary.sleeves} sleeves, "
               f"{summary.lots} lots; digest {summary.digest[:12]}")
    again = store.apply_book(CsvBookImporter().read(book_dir))
    click.echo(f"re-import of the same book: {again.model_versions_added} new model versions, state unchanged")

    env = Env(db_path, Path("rules"))
    ctx.obj = env
    _step("3. Accounts")
    ctx.invoke(accounts.accounts_list)
    _step("4. Sleeves and their targets")
    ctx.invoke(sleeves.sleeves_list)
    _step("5. Models")
    ctx.invoke(models.models_list)
    first_uma = _first_multi_sleeve_account(store)
    _step(f"6. A multi-sleeve UMA: {first_uma}")
    ctx.invoke(accounts.accounts_show, account_id=first_uma)
    _step("Explore further")
    click.echo(f"  smartx --db {db_path} sleeves show {store.sleeves(first_uma)[0].sleeve_id}\n"
               f"  smartx --db {db_path} models show BAL-60-40 --json\n"
               f"  smartx --db {db_path} accounts list --json")


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def _first_multi_sleeve_account(store: Store) -> str:
    counts: dict[str, int] = {}
    for sleeve in store.sleeves():
        counts[sleeve.account_id] = counts.get(sleeve.account_id, 0) + 1
    return next((account for account, n in counts.items() if n > 1), next(iter(counts)))
