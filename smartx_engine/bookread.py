"""The Book read from the store in columns: batched SQL reads straight into numpy, no row objects.

:func:`read_book` is what :meth:`Book.from_store` does; it gives exactly the book that
:meth:`Book.assemble` gives on the same rows (``tests/test_book_read.py`` holds the row-by-row
version as the reference), only without a Python tuple per lot or holding:

* the small tables (securities, accounts, sleeves with their cash) are read ordered by their key
  (SQLite's BINARY order of text is Python's order of ``str``), their strings coded with
  ``np.unique``;
* targets are computed once per distinct target (sleeves share a few models), then spread over
  their sleeves with ``np.repeat``: the target holdings come out sorted without a sort;
* lots come in one query of four integers per lot (the sleeve's and the security's rowids packed
  into one, the holding-period start as days since 1970, quantity, cost) plus one of their ids,
  all in rowid order and in one read transaction; they are ordered by (holding, start, lot id)
  with one stable argsort of a packed key (lot ids break the rare ties), positions are their exact
  integer sums (``np.add.reduceat``), and held and targeted holdings merge by a sort of two
  sorted runs.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .domain import CASH_SYMBOL
from .targets import effective_targets, model_changes

if TYPE_CHECKING:
    from .book import Book
    from .store import Store

#: julianday('1970-01-01'): SQLite gives a date's days since 1970 as julianday(d) - this, exactly
UNIX_EPOCH_JD = 2440587.5


def codes(values: Sequence[str | None] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes into a sorted vocabulary (None becomes -1), as ``book._codes`` gives them."""
    values = np.asarray(values, dtype=object)
    present = np.array([v is not None for v in values], dtype=bool) if len(values) else np.zeros(0, dtype=bool)
    vocab, inverse = np.unique(values[present], return_inverse=True)
    code = np.full(len(values), -1, dtype=np.int32)
    code[present] = inverse.reshape(-1)
    return code, vocab.astype(object)


@contextmanager
def read_transaction(store: Store) -> Iterator[None]:
    """Every read inside sees the same state of the database (one transaction, unless the caller's)."""
    conn = store.db.conn
    if conn.in_transaction:
        yield
        return
    conn.execute("begin")
    try:
        yield
    finally:
        conn.execute("commit")


def _column(cursor, dtype, width: int = 1) -> np.ndarray:
    """The rows of ``cursor`` (``width`` integers each) as one array, without a tuple kept per row."""
    flat = np.fromiter(itertools.chain.from_iterable(cursor), dtype=dtype)
    return flat.reshape(-1, width) if width > 1 else flat


def read_book(store: Store, as_of: dt.date) -> Book:
    from .book import TARGET_KINDS, Book

    q = store.db.conn.execute
    with read_transaction(store):
        securities = q("select rowid, symbol, asset_class, price_e6 from securities order by symbol").fetchall()
        accounts = q("select account_id, registration, custodian, household_id, st_tax_rate, lt_tax_rate"
                     " from accounts order by account_id").fetchall()
        sleeves = q("select s.rowid, s.sleeve_id, s.account_id, s.policy, c.amount_cents from sleeves s"
                    " left join cash c on c.sleeve_id = s.sleeve_id order by s.sleeve_id").fetchall()
        effective = effective_targets(store, as_of)
        changes = model_changes(store, as_of)
        lot_columns = _lots(store, securities, sleeves)

    # ------------------------------------------------------------ securities, accounts
    symbols = np.array([s[1] for s in securities], dtype=object)
    symbol_index = {s: i for i, s in enumerate(symbols)}
    asset_class, asset_classes = codes([s[2] for s in securities])
    account_ids = np.array([a[0] for a in accounts], dtype=object)
    account_index = {a: i for i, a in enumerate(account_ids)}
    registration, registrations = codes([a[1] for a in accounts])
    custodian, custodians = codes([a[2] for a in accounts])
    household, households = codes([a[3] for a in accounts])

    # ------------------------------------------------------------ sleeves and their targets
    n = len(sleeves)
    sleeve_ids = np.array([s[1] for s in sleeves], dtype=object)
    sleeve_index = {s: i for i, s in enumerate(sleeve_ids)}
    target_of = np.full(n, -1, dtype=np.int64)  # a code into `distinct`: sleeves share their target's value
    distinct: list = []
    seen: dict[int, int] = {}
    for i, sleeve_id in enumerate(sleeve_ids):
        target = effective.get(sleeve_id)
        if target is not None:
            code = seen.get(id(target))
            if code is None:
                code = seen[id(target)] = len(distinct)
                distinct.append(target)
            target_of[i] = code
    has = target_of >= 0
    label_code, models = codes([t.label for t in distinct])
    sleeve_model = np.where(has, label_code[np.maximum(target_of, 0)] if distinct else -1, -1).astype(np.int32)
    weights = [{w.symbol: float(w.weight) for w in t.weights} for t in distinct]
    per_target = lambda values, missing, dtype: (  # noqa: E731: a per-target value spread over its sleeves
        np.where(has, np.array(values, dtype=dtype)[np.maximum(target_of, 0)] if distinct else missing, missing))
    cash_target = per_target([w.get(CASH_SYMBOL, 0.0) for w in weights], np.nan, np.float64)
    target_note = per_target([t.note for t in distinct], "", object).astype(object)
    target_kind = per_target([TARGET_KINDS.index(str(t.spec.kind)) for t in distinct], -1, np.int64).astype(np.int8)
    model_changed = np.zeros(n, dtype=bool)
    model_move = np.zeros(n)
    model_change = np.full(n, "", dtype=object)
    for sleeve_id, (label, move) in changes.items():
        i = sleeve_index.get(sleeve_id)
        if i is None or not has[i]:
            raise ValueError(f"model_changed names sleeves without a model: {sleeve_id}")
        model_changed[i], model_move[i], model_change[i] = True, move, label

    # the target holdings, sleeve by sleeve, each target's symbols in symbol order (sorted keys)
    n_symbols = max(len(symbols), 1)
    target_symbols, target_weights = [], []
    for w in weights:
        pairs = sorted((symbol_index[s], x) for s, x in w.items() if s != CASH_SYMBOL)
        target_symbols.append(np.array([p[0] for p in pairs], dtype=np.int64))
        target_weights.append(np.array([p[1] for p in pairs], dtype=np.float64))
    lengths = np.array([len(s) for s in target_symbols], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    flat_symbols = np.concatenate(target_symbols) if distinct else np.zeros(0, dtype=np.int64)
    flat_weights = np.concatenate(target_weights) if distinct else np.zeros(0)
    counts = np.where(has, lengths[np.maximum(target_of, 0)] if distinct else 0, 0)
    target_sleeve = np.repeat(np.arange(n, dtype=np.int64), counts)
    within = np.arange(len(target_sleeve), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    at = starts[target_of[target_sleeve]] + within if len(target_sleeve) else within
    target_keys = target_sleeve * n_symbols + flat_symbols[at]
    target_values = flat_weights[at]

    # ------------------------------------------------------------ lots, positions, holdings
    lot_sleeve, lot_symbol, lot_day, lot_qty, lot_cost, lot_ids = lot_columns
    lot_key = lot_sleeve.astype(np.int64) * n_symbols + lot_symbol
    del lot_sleeve, lot_symbol, lot_columns
    starts_run = np.empty(len(lot_key), dtype=bool)  # a lot that starts a holding (lots come sorted)
    if len(lot_key):
        starts_run[0] = True
        np.not_equal(lot_key[1:], lot_key[:-1], out=starts_run[1:])
    first = np.flatnonzero(starts_run)
    held_keys = lot_key[first]
    del lot_key
    held_qty = np.add.reduceat(lot_qty, first) if len(first) else np.zeros(0, dtype=np.int64)
    held_cost = np.add.reduceat(lot_cost, first) if len(first) else np.zeros(0, dtype=np.int64)
    lot_run = np.cumsum(starts_run, dtype=np.int64)  # each lot's held holding, counted from 1
    del starts_run, first
    lot_run -= 1
    keys = np.concatenate([held_keys, target_keys])
    keys.sort(kind="stable")  # two sorted runs: a merge
    keys = keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys
    held_at = np.searchsorted(keys, held_keys)
    target_at = np.searchsorted(keys, target_keys)
    holding_sleeve = (keys // n_symbols).astype(np.int32)
    holding_quantity = np.zeros(len(keys))
    holding_quantity[held_at] = held_qty / 1e6
    holding_cost = np.zeros(len(keys))
    holding_cost[held_at] = held_cost / 100
    holding_target = np.where(has[holding_sleeve], 0.0, np.nan) if len(keys) else np.zeros(0)
    holding_target[target_at] = target_values
    holding_in_model = np.zeros(len(keys), dtype=bool)
    holding_in_model[target_at] = True

    return Book(
        as_of=as_of,
        symbols=symbols, symbol_asset_class=asset_class, asset_classes=asset_classes,
        symbol_price=np.array([s[3] / 1e6 for s in securities], dtype=np.float64),
        account_ids=account_ids, account_registration=registration, registrations=registrations,
        account_custodian=custodian, custodians=custodians, account_household=household, households=households,
        account_st_rate=np.array([float(a[4]) for a in accounts], dtype=np.float64),
        account_lt_rate=np.array([float(a[5]) for a in accounts], dtype=np.float64),
        sleeve_ids=sleeve_ids,
        sleeve_account=np.array([account_index[s[2]] for s in sleeves], dtype=np.int32),
        sleeve_model=sleeve_model, models=models,
        sleeve_policy=np.array([s[3] for s in sleeves], dtype=object),
        sleeve_cash=np.array([(s[4] or 0) / 100 for s in sleeves], dtype=np.float64),
        sleeve_cash_target=cash_target.astype(np.float64),
        sleeve_model_changed=model_changed, sleeve_model_move=model_move, sleeve_model_change=model_change,
        sleeve_target_note=target_note, sleeve_target_kind=target_kind,
        holding_sleeve=holding_sleeve,
        holding_symbol=(keys % n_symbols).astype(np.int32),
        holding_quantity=holding_quantity, holding_cost=holding_cost,
        holding_target=holding_target, holding_in_model=holding_in_model,
        lot_ids=lot_ids,
        lot_holding=held_at.astype(np.int32)[lot_run] if len(lot_run) else np.zeros(0, dtype=np.int32),
        lot_quantity=lot_qty / 1e6,
        lot_cost=lot_cost / 100,
        lot_acquired=np.asarray(lot_day, dtype=np.int64).view("datetime64[D]"),
    )


def _read_lots(store: Store, securities: list[tuple]) -> tuple[np.ndarray, np.ndarray, int]:
    """Every lot in rowid order: an (n, 4) array of (sleeve rowid x M + security rowid, holding-period
    start in days since 1970, quantity_e6, cost_basis_cents), the lot ids, and M."""
    q = store.db.conn.execute
    scale = max((s[0] for s in securities), default=0) + 1
    lots = _column(q(
        "select s.rowid * ? + x.rowid, cast(julianday(coalesce(l.holding_from, l.acquired)) - ? as integer),"
        " l.quantity_e6, l.cost_basis_cents from lots l join sleeves s on s.sleeve_id = l.sleeve_id"
        " join securities x on x.symbol = l.symbol order by l.rowid", [scale, UNIX_EPOCH_JD]), np.int64, 4)
    lot_ids = np.array([r[0] for r in q("select lot_id from lots order by rowid")], dtype=object)
    return lots, lot_ids, scale


def _order_lots(lots: np.ndarray, lot_ids: np.ndarray, scale: int, sleeve_rowids: np.ndarray,
                security_rowids: np.ndarray, n_symbols: int) -> tuple[np.ndarray, ...]:
    """Lots as (sleeve, symbol, day, quantity, cost, id) ordered by (sleeve, symbol, day, id); ids as str."""
    if not len(lots):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, empty, np.zeros(0, dtype=str)
    sleeve_order = np.argsort(sleeve_rowids, kind="stable")
    security_order = np.argsort(security_rowids, kind="stable")
    sleeve = sleeve_order[np.searchsorted(sleeve_rowids, lots[:, 0] // scale, sorter=sleeve_order)]
    symbol = security_order[np.searchsorted(security_rowids, lots[:, 0] % scale, sorter=security_order)]
    key = sleeve.astype(np.int64) * n_symbols + symbol
    day = lots[:, 1]
    low, span = int(day.min()), int(day.max()) - int(day.min()) + 1
    if int(key.max()) < (1 << 62) // span:
        order = np.argsort(key * span + (day - low), kind="stable")
    else:
        order = np.lexsort((day, key))
    key, day = key[order], day[order]
    ids = lot_ids[order]
    same = np.flatnonzero((key[1:] == key[:-1]) & (day[1:] == day[:-1]))
    if len(same):  # lots of one holding from one day: by lot id
        runs = np.split(same, np.flatnonzero(np.diff(same) > 1) + 1)
        for run in runs:
            rows = np.arange(run[0], run[-1] + 2)
            by_id = rows[np.argsort(ids[rows].astype(str), kind="stable")]
            order[rows] = order[by_id]
            ids[rows] = ids[by_id]
    return ((key // n_symbols).astype(np.int32), (key % n_symbols).astype(np.int32), day, lots[order, 2],
            lots[order, 3], ids.astype(str))


# ---------------------------------------------------------------- the lots, and their snapshot beside the database

#: a store with fewer lots reads them from SQLite every time (a snapshot would not pay)
SNAPSHOT_MIN_LOTS = 1_000_000
SNAPSHOT_FORMAT = 1
_COLUMNS = ("lot_sleeve", "lot_symbol", "lot_day", "lot_qty", "lot_cost", "lot_ids")


def _lots(store: Store, securities: list[tuple], sleeves: list[tuple]) -> tuple[np.ndarray, ...]:
    """Every lot as (sleeve index, symbol index, holding-period start in days since 1970, quantity_e6,
    cost_basis_cents, lot id), ordered by (sleeve, symbol, start, lot id); ids are a ``str`` array.

    Read from the snapshot beside the database when it is that of the lots now (``book_epoch``),
    else from SQLite (then written as the snapshot, when there are at least SNAPSHOT_MIN_LOTS lots).
    """
    q = store.db.conn.execute
    epoch = q("select lots from book_epoch").fetchone()[0]
    directory = snapshot_path(store)
    sleeve_ids = [s[1] for s in sleeves]
    symbols = [s[1] for s in securities]
    if directory is not None:
        found = _load_snapshot(directory, epoch, sleeve_ids, symbols)
        if found is not None:
            return found
    lots, lot_ids, scale = _read_lots(store, securities)
    columns = _order_lots(lots, lot_ids, scale, np.array([s[0] for s in sleeves], dtype=np.int64),
                          np.array([s[0] for s in securities], dtype=np.int64), max(len(securities), 1))
    del lots, lot_ids
    if directory is not None and len(columns[0]) >= SNAPSHOT_MIN_LOTS:
        _write_snapshot(directory, epoch, sleeve_ids, symbols, columns)
    return columns


def snapshot_path(store: Store) -> Path | None:
    """Where the lots' snapshot of this store is kept (None for a database in memory)."""
    file = store.db.conn.execute("pragma database_list").fetchone()[2]
    return Path(f"{file}.book") if file else None


def _load_snapshot(directory: Path, epoch: int, sleeve_ids: list[str], symbols: list[str]) -> tuple | None:
    """The snapshot's lot columns with their sleeves and symbols mapped to today's indices; None when
    there is none, or it is not of these lots."""
    try:
        meta = json.loads((directory / "meta.json").read_text())
        if meta.get("format") != SNAPSHOT_FORMAT or meta.get("epoch") != epoch:
            return None
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r")
                  for name in ("sleeve_ids", "symbols", *_COLUMNS)}
    except (OSError, ValueError):
        return None
    maps = []
    for vocab, now in ((arrays["sleeve_ids"], sleeve_ids), (arrays["symbols"], symbols)):
        now = np.array(now, dtype=object)
        vocab = np.asarray(vocab).astype(object)
        at = np.searchsorted(now, vocab) if len(now) else np.zeros(len(vocab), dtype=np.int64)
        if len(vocab) and (at.max() >= len(now) or (now[np.minimum(at, len(now) - 1)] != vocab).any()):
            return None  # a sleeve or security of the snapshot is gone: read again
        maps.append(at.astype(np.int32))
    sleeve_map, symbol_map = maps
    return (sleeve_map[arrays["lot_sleeve"]], symbol_map[arrays["lot_symbol"]], np.asarray(arrays["lot_day"]),
            np.asarray(arrays["lot_qty"]), np.asarray(arrays["lot_cost"]), arrays["lot_ids"])


def _write_snapshot(directory: Path, epoch: int, sleeve_ids: list[str], symbols: list[str],
                    columns: tuple[np.ndarray, ...]) -> None:
    """Write the snapshot next to the database (to a new directory, then renamed into place); a
    snapshot that cannot be written is left out (it is a cache)."""
    partial = directory.with_name(f"{directory.name}.{os.getpid()}.partial")
    try:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        np.save(partial / "sleeve_ids.npy", np.array(sleeve_ids, dtype=str))
        np.save(partial / "symbols.npy", np.array(symbols, dtype=str))
        for name, column in zip(_COLUMNS, columns):
            np.save(partial / f"{name}.npy", column)
        (partial / "meta.json").write_text(json.dumps({"format": SNAPSHOT_FORMAT, "epoch": epoch}))
        shutil.rmtree(directory, ignore_errors=True)
        partial.rename(directory)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
