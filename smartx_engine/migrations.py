"""Versioned schema migrations, applied in order, each once, each in its own transaction.

Add a migration by appending a decorated function; never edit one that has shipped.
Money is stored as integer cents (``*_cents``), quantities and prices as integer millionths
(``*_e6``), dates as ISO ``YYYY-MM-DD`` text, tax rates and model weights as exact decimal text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


def applied(db: sqlite_utils.Database) -> list[str]:
    """Names of the migrations already applied to ``db``."""
    if "_smartx_migrations" not in db.table_names():
        return []
    return [row["name"] for row in db.query("select name from _smartx_migrations order by rowid")]


def migrate(db: sqlite_utils.Database, upto: int | None = None) -> list[str]:
    """Apply pending migrations (the first ``upto`` only, when given); the names applied."""
    db.execute(
        "create table if not exists _smartx_migrations (name text primary key, applied_at text not null)"
    )
    done = set(applied(db))
    ran = []
    for fn in MIGRATIONS[:upto]:
        if fn.__name__ in done:
            continue
        with db.atomic():
            fn(db)
            db.execute(
                "insert into _smartx_migrations (name, applied_at) values (?, ?)",
                [fn.__name__, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")],
            )
        ran.append(fn.__name__)
    return ran


def _run(db: sqlite_utils.Database, script: str) -> None:
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


@migration
def m001_book(db: sqlite_utils.Database) -> None:
    """Households, accounts, securities, models, sleeves, lots, cash, transactions, prices."""
    _run(db, """
    create table households (
        household_id text primary key,
        name text not null
    ) strict;
    create table accounts (
        account_id text primary key,
        name text not null,
        custodian text not null,
        household_id text not null references households (household_id),
        registration text not null,
        st_tax_rate text not null,
        lt_tax_rate text not null
    ) strict;
    create index accounts_household on accounts (household_id);
    create table securities (
        symbol text primary key,
        name text not null,
        asset_class text not null,
        price_e6 integer not null check (price_e6 > 0)
    ) strict;
    create table models (
        model_id text primary key,
        name text,
        manager text
    ) strict;
    create table model_versions (
        model_id text not null references models (model_id),
        version text not null,
        seq integer not null,
        primary key (model_id, version),
        unique (model_id, seq)
    ) strict;
    create table model_weights (
        model_id text not null,
        version text not null,
        symbol text not null,
        weight text not null,
        primary key (model_id, version, symbol),
        foreign key (model_id, version) references model_versions (model_id, version)
    ) strict;
    create table sleeves (
        sleeve_id text primary key,
        account_id text not null references accounts (account_id),
        model_id text references models (model_id),
        policy text,
        unique (account_id, sleeve_id)
    ) strict;
    create table lots (
        lot_id text primary key,
        account_id text not null,
        sleeve_id text not null,
        symbol text not null references securities (symbol),
        quantity_e6 integer not null check (quantity_e6 > 0),
        cost_basis_cents integer not null check (cost_basis_cents >= 0),
        acquired text not null check (acquired = date(julianday(acquired))),
        foreign key (account_id, sleeve_id) references sleeves (account_id, sleeve_id)
    ) strict;
    create index lots_sleeve on lots (sleeve_id, symbol);
    create index lots_account on lots (account_id);
    create table cash (
        sleeve_id text primary key,
        account_id text not null,
        amount_cents integer not null check (amount_cents >= 0),
        foreign key (account_id, sleeve_id) references sleeves (account_id, sleeve_id)
    ) strict;
    create table transactions (
        transaction_id text primary key,
        account_id text not null,
        sleeve_id text not null,
        date text not null check (date = date(julianday(date))),
        type text not null,
        symbol text references securities (symbol),
        quantity_e6 integer,
        price_e6 integer,
        amount_cents integer not null,
        foreign key (account_id, sleeve_id) references sleeves (account_id, sleeve_id)
    ) strict;
    create index transactions_sleeve_date on transactions (sleeve_id, date);
    create index transactions_account on transactions (account_id);
    create table prices (
        symbol text not null references securities (symbol),
        date text not null check (date = date(julianday(date))),
        close_e6 integer not null check (close_e6 > 0),
        primary key (symbol, date)
    ) strict, without rowid
    """)


@migration
def m002_audit(db: sqlite_utils.Database) -> None:
    """The append-only audit log: who did what, when, to what."""
    _run(db, """
    create table audit (
        audit_id integer primary key,
        at text not null,
        actor text not null,
        action text not null,
        subject text,
        details text not null
    ) strict;
    create trigger audit_no_update before update on audit
    begin select raise(abort, 'the audit log is append-only'); end;
    create trigger audit_no_delete before delete on audit
    begin select raise(abort, 'the audit log is append-only'); end
    """)


@migration
def m003_runs_and_trades(db: sqlite_utils.Database) -> None:
    """Rebalance runs and the trades they propose, with their review."""
    _run(db, """
    create table runs (
        run_id text primary key,
        as_of text not null check (as_of = date(julianday(as_of))),
        created_at text not null,
        actor text not null,
        book_digest text not null,
        policies text not null,
        sleeves_evaluated integer not null,
        sleeves_triggered integer not null,
        trades integer not null,
        problems text not null
    ) strict;
    create table trades (
        trade_id text primary key,
        run_id text not null references runs (run_id),
        account_id text not null,
        sleeve_id text not null,
        symbol text not null references securities (symbol),
        side text not null check (side in ('buy', 'sell')),
        quantity_e6 integer not null check (quantity_e6 > 0),
        est_price_e6 integer not null check (est_price_e6 > 0),
        status text not null,
        reasons text not null,
        lots text not null,
        created_at text not null,
        decided_by text,
        decided_at text,
        note text,
        foreign key (account_id, sleeve_id) references sleeves (account_id, sleeve_id)
    ) strict;
    create index trades_sleeve_status on trades (sleeve_id, status);
    create index trades_run on trades (run_id)
    """)


@migration
def m004_review(db: sqlite_utils.Database) -> None:
    """Firm settings; trades remember edits, the model version proposed for, and shares crossed in the account."""
    _run(db, """
    create table settings (
        key text primary key,
        value text not null,
        updated_at text not null,
        updated_by text not null
    ) strict;
    alter table trades add column proposed_e6 integer;
    alter table trades add column edited_by text;
    alter table trades add column edited_at text;
    alter table trades add column model_version text;
    alter table trades add column crossed_e6 integer not null default 0 check (crossed_e6 >= 0)
    """)


@migration
def m005_sleeve_rebalanced(db: sqlite_utils.Database) -> None:
    """The model version each sleeve was last rebalanced to, and as of when (NULL: never rebalanced)."""
    _run(db, """
    alter table sleeves add column rebalanced_version text;
    alter table sleeves add column rebalanced_on text
        check (rebalanced_on is null or rebalanced_on = date(julianday(rebalanced_on)))
    """)


@migration
def m006_tax_lots(db: sqlite_utils.Database) -> None:
    """Lots from history: account lot methods, wash-sale adjusted lots, named-lot sells, realised sales."""
    _run(db, """
    alter table accounts add column lot_method text not null default 'FIFO'
        check (lot_method in ('FIFO', 'LIFO', 'HIFO', 'LOFO', 'MIN_TAX'));
    alter table lots add column holding_from text
        check (holding_from is null or holding_from = date(julianday(holding_from)));
    alter table lots add column wash_adjustment_cents integer not null default 0 check (wash_adjustment_cents >= 0);
    alter table transactions add column lot_id text;
    create table realized (
        transaction_id text not null,
        lot_id text not null,
        account_id text not null references accounts (account_id),
        sleeve_id text not null,
        symbol text not null references securities (symbol),
        acquired text not null check (acquired = date(julianday(acquired))),
        holding_from text not null check (holding_from = date(julianday(holding_from))),
        sold text not null check (sold = date(julianday(sold))),
        quantity_e6 integer not null check (quantity_e6 > 0),
        proceeds_cents integer not null,
        cost_basis_cents integer not null,
        gain_cents integer not null,
        term text not null check (term in ('short', 'long')),
        disallowed_cents integer not null default 0 check (disallowed_cents >= 0),
        permanent_cents integer not null default 0 check (permanent_cents >= 0),
        primary key (transaction_id, lot_id)
    ) strict;
    create index realized_account_sold on realized (account_id, sold)
    """)


@migration
def m007_custodians_and_orders(db: sqlite_utils.Database) -> None:
    """Custodian links, synced positions and transactions, reconciliation breaks, orders and fills.

    A sleeve's cash may now go below zero: a buy that fills above its estimate debits the sleeve,
    as the custodian debits the account (the rebalancer then raises cash).
    """
    _run(db, """
    alter table accounts add column custodian_account text;
    create unique index accounts_custodian_account on accounts (custodian, custodian_account);
    create table cash_new (
        sleeve_id text primary key,
        account_id text not null,
        amount_cents integer not null,
        foreign key (account_id, sleeve_id) references sleeves (account_id, sleeve_id)
    ) strict;
    insert into cash_new select sleeve_id, account_id, amount_cents from cash;
    drop table cash;
    alter table cash_new rename to cash;
    create table syncs (
        sync_id integer primary key,
        custodian text not null,
        at text not null,
        accounts integer not null,
        transactions_added integer not null,
        open_breaks integer not null
    ) strict;
    create table custodian_positions (
        account_id text not null references accounts (account_id),
        symbol text not null,
        quantity_e6 integer not null,
        price_e6 integer,
        primary key (account_id, symbol)
    ) strict;
    create table custodian_lots (
        account_id text not null references accounts (account_id),
        seq integer not null,
        symbol text not null,
        quantity_e6 integer not null,
        cost_basis_cents integer not null,
        acquired text not null check (acquired = date(julianday(acquired))),
        primary key (account_id, seq)
    ) strict;
    create table custodian_balances (
        account_id text primary key references accounts (account_id),
        cash_cents integer not null,
        synced_at text not null,
        sync_id integer not null references syncs (sync_id)
    ) strict;
    create table custodian_transactions (
        account_id text not null references accounts (account_id),
        transaction_id text not null,
        date text not null check (date = date(julianday(date))),
        type text not null,
        symbol text,
        quantity_e6 integer,
        price_e6 integer,
        amount_cents integer not null,
        order_id text,
        primary key (account_id, transaction_id)
    ) strict;
    create table breaks (
        break_id text primary key,
        account_id text not null references accounts (account_id),
        kind text not null check (kind in ('position', 'cash', 'lots', 'unlinked')),
        symbol text,
        engine text not null,
        custodian text not null,
        status text not null check (status in ('open', 'acknowledged', 'resolved')),
        found_at text not null,
        updated_at text not null,
        note text,
        acknowledged_by text
    ) strict;
    create index breaks_account_status on breaks (account_id, status);
    create table orders (
        client_order_id text primary key,
        batch_id text not null,
        block_id text,
        custodian text not null,
        account_id text not null references accounts (account_id),
        account_number text not null,
        symbol text not null references securities (symbol),
        side text not null check (side in ('buy', 'sell')),
        quantity_e6 integer not null check (quantity_e6 > 0),
        status text not null,
        custodian_order_id text,
        filled_e6 integer not null default 0 check (filled_e6 >= 0 and filled_e6 <= quantity_e6),
        message text,
        placed_at text not null,
        updated_at text not null
    ) strict;
    create index orders_status on orders (status);
    create index orders_account on orders (account_id);
    create table order_trades (
        client_order_id text not null references orders (client_order_id),
        trade_id text not null references trades (trade_id),
        quantity_e6 integer not null check (quantity_e6 > 0),
        filled_e6 integer not null default 0 check (filled_e6 >= 0 and filled_e6 <= quantity_e6),
        primary key (client_order_id, trade_id)
    ) strict;
    create index order_trades_trade on order_trades (trade_id);
    create table fills (
        client_order_id text not null references orders (client_order_id),
        execution_id text not null,
        quantity_e6 integer not null check (quantity_e6 > 0),
        price_e6 integer not null check (price_e6 > 0),
        trade_date text not null check (trade_date = date(julianday(trade_date))),
        applied_at text not null,
        primary key (client_order_id, execution_id)
    ) strict
    """)


@migration
def m008_order_lot_instructions(db: sqlite_utils.Database) -> None:
    """Which lots a sell relieves, decided when the order is recorded: per trade (lot ids, for the
    fills) and per order (acquired dates, the "versus purchase" instruction sent to the custodian)."""
    _run(db, """
    alter table order_trades add column lots text not null default '[]';
    alter table orders add column lots text not null default '[]';
    """)


#: the effective date of model versions that carry none (from the CSV book, or stored before
#: m009): the first day there is, so that they are in force at any as-of date
BOOK_EFFECTIVE_DATE = "0001-01-01"


@migration
def m009_model_feeds(db: sqlite_utils.Database) -> None:
    """Third-party model feeds. Securities get a CUSIP (9 characters, unique when set). Model
    versions get their effective date (versions without one, from the CSV book: 0001-01-01,
    in force from the start), when the manager published them (UTC), the feed they came from
    (NULL: the CSV book), FULL or DELTA, the version a DELTA applied to, and when the engine
    received them. Model weights get optional min/max bands (exact decimal text) and the
    identifier the manager gave (NULL: the CSV book)."""
    _run(db, f"""
    alter table securities add column cusip text check (cusip is null or length(cusip) = 9);
    create unique index securities_cusip on securities (cusip) where cusip is not null;
    alter table model_versions add column effective_date text not null default '{BOOK_EFFECTIVE_DATE}'
        check (effective_date = date(julianday(effective_date)));
    alter table model_versions add column published_at text;
    alter table model_versions add column feed text;
    alter table model_versions add column change_type text not null default 'FULL'
        check (change_type in ('FULL', 'DELTA'));
    alter table model_versions add column previous_version text;
    alter table model_versions add column received_at text;
    create index model_versions_effective on model_versions (model_id, effective_date);
    alter table model_weights add column min_weight text;
    alter table model_weights add column max_weight text;
    alter table model_weights add column identifier_type text
        check (identifier_type is null or identifier_type in ('CUSIP', 'TICKER', 'CASH'));
    alter table model_weights add column identifier text
    """)


@migration
def m010_sleeve_targets(db: sqlite_utils.Database) -> None:
    """Sleeve targets beyond one model (a blend of models, a custom allocation) and per-account
    restrictions (exclusions, substitutions). A sleeve without a ``sleeve_targets`` row follows
    ``sleeves.model_id`` (kind ``model``), or has no target; a blend or custom sleeve has no
    ``model_id``. Weights are exact decimal text, as in ``model_weights``."""
    _run(db, """
    create table sleeve_targets (
        sleeve_id text primary key references sleeves (sleeve_id),
        kind text not null check (kind in ('blend', 'custom'))
    ) strict;
    create table sleeve_blend_components (
        sleeve_id text not null references sleeve_targets (sleeve_id) on delete cascade,
        position integer not null check (position >= 0),
        model_id text not null references models (model_id),
        weight text not null,
        primary key (sleeve_id, model_id),
        unique (sleeve_id, position)
    ) strict;
    create table sleeve_allocations (
        sleeve_id text not null references sleeve_targets (sleeve_id) on delete cascade,
        symbol text not null,
        weight text not null,
        primary key (sleeve_id, symbol)
    ) strict;
    create table account_restrictions (
        account_id text not null references accounts (account_id),
        symbol text not null references securities (symbol),
        kind text not null check (kind in ('exclude', 'substitute')),
        replacement text references securities (symbol),
        note text,
        primary key (account_id, symbol),
        check ((kind = 'substitute') = (replacement is not null)),
        check (replacement is null or replacement != symbol)
    ) strict
    """)


@migration
def m011_blend_rebalanced_versions(db: sqlite_utils.Database) -> None:
    """The version of each blended model a blend sleeve was last rebalanced to (as
    ``sleeves.rebalanced_version`` records it for a sleeve on one model); null: assigned since."""
    db.execute("alter table sleeve_blend_components add column rebalanced_version text")


@migration
def m012_book_reads(db: sqlite_utils.Database) -> None:
    """What reading the book at scale needs. Indexes for the recent-trading window (lots acquired,
    losses realised by date). ``book_epoch``: one row whose ``lots`` changes (to a random value) with
    every insert, update or delete of a lot, so that a columnar snapshot of the lots kept beside
    the database (``bookread.py``) knows whether it is still the database's."""
    _run(db, """
    create index lots_acquired on lots (acquired);
    create index realized_sold on realized (sold);
    create table book_epoch (
        id integer primary key check (id = 1),
        lots integer not null
    ) strict;
    insert into book_epoch (id, lots) values (1, random());
    create trigger book_epoch_lot_insert after insert on lots
    begin update book_epoch set lots = random() where id = 1; end;
    create trigger book_epoch_lot_update after update on lots
    begin update book_epoch set lots = random() where id = 1; end;
    create trigger book_epoch_lot_delete after delete on lots
    begin update book_epoch set lots = random() where id = 1; end
    """)


@migration
def m013_proposal_chunks(db: sqlite_utils.Database) -> None:
    """A run's proposals as it computed them (``rebalance/stored.py``): ``proposal_chunks``, its trades
    numbered ``first_trade`` on as one blob of columns, and the sleeves they are for (JSON);
    ``proposal_runs``, the sleeves of a run whose pending trades are still proposed (JSON: sleeve ->
    trades); ``proposal_cancels``, sleeves of a run whose pending trades a later run cancelled, with
    the note and time. A sleeve's trades in a run become rows of ``trades`` when one is decided."""
    _run(db, """
    create table proposal_chunks (
        first_trade integer primary key,
        run_id text not null references runs (run_id),
        trades integer not null check (trades > 0),
        sleeves text not null,
        data blob not null
    ) strict;
    create index proposal_chunks_run on proposal_chunks (run_id);
    create table proposal_runs (
        run_id text primary key references runs (run_id),
        proposed text not null
    ) strict;
    create table proposal_cancels (
        run_id text not null references runs (run_id),
        sleeves text not null,
        note text not null,
        decided_at text not null
    ) strict;
    create index proposal_cancels_run on proposal_cancels (run_id)
    """)
