"""The Book read from the store in columns: batched SQL reads straight into numpy, no row objects.

:func:`read_book` is what :meth:`Book.from_store` does; it gives exactly the book that
:meth:`Book.assemble` gives on the same rows (``tests/test_book_read.py`` holds the row-by-row
version as the reference), only without a Python tuple per lot or holding:

* the small tables (securities, accounts, sleeves with their model and cash) are read ordered by
  their key (SQLite's BINARY order of text is Python's order of ``str``), their strings coded by a
  dict of their few distinct values, with the cyclic garbage collector paused;
* targets and model changes come as columns (:mod:`.targets.columns`): a code per sleeve into
  the few distinct targets, each computed once;
* lots come in one query of four integers per lot (the sleeve's and the security's rowids packed
  into one, the holding-period start as days since 1970, quantity, cost), then their ids a piece at
  a time, all in rowid order and in one read transaction; they are ordered by (holding, start, lot
  id) with one stable argsort of a packed key (lot ids break the rare ties), and grouped into *held
  holdings* (a sleeve's symbol with lots) with their exact integer sums (``np.add.reduceat``);
* the held holdings are the holdings, with the targeted ones a sleeve holds no lot of inserted
  (few): each (target, symbol) is looked up in a small table, not searched among all holdings;
* the lot and held-holding columns, as the Book takes them, are kept beside the database (the
  *snapshot*, ``<db>.book/``) with the content hash of each, and mapped read-only while the lots
  have not changed (``book_epoch``): a warm read does nothing per lot.
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .domain import CASH_SYMBOL
from .targets.columns import SleeveRows, change_columns, target_codes

if TYPE_CHECKING:
    from .book import Book
    from .store import Store

#: julianday('1970-01-01'): SQLite gives a date's days since 1970 as julianday(d) - this, exactly
UNIX_EPOCH_JD = 2440587.5


def codes(values: Sequence[str | None] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes into a sorted vocabulary (None becomes -1), as ``book._codes`` gives them: by a
    dict of the few distinct values, not a sort of all of them."""
    vocab = sorted({v for v in set(values) if v is not None})
    index: dict = {v: i for i, v in enumerate(vocab)}
    index[None] = -1
    return (np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=len(values)),
            np.array(vocab, dtype=object))


def _floats(values: Sequence[str]) -> np.ndarray:
    """``float(v)`` of each of ``values`` (decimal text with few distinct values: tax rates)."""
    table = {v: float(v) for v in set(values)}
    return np.fromiter(map(table.__getitem__, values), dtype=np.float64, count=len(values))


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
    with gc_paused(), read_transaction(store):
        securities = q("select rowid, symbol, asset_class, price_e6 from securities order by symbol").fetchall()
        accounts = q("select account_id, registration, custodian, household_id, st_tax_rate, lt_tax_rate"
                     " from accounts order by account_id").fetchall()
        sleeves = q("select s.rowid, s.sleeve_id, s.account_id, s.policy, s.model_id, coalesce(c.amount_cents, 0)"
                    " from sleeves s left join cash c on c.sleeve_id = s.sleeve_id order by s.sleeve_id").fetchall()
        sleeve_rowid, sleeve_ids, sleeve_account, sleeve_policy, sleeve_model_id, sleeve_cash = (
            zip(*sleeves) if sleeves else ((),) * 6)
        del sleeves
        rows = SleeveRows(np.fromiter(sleeve_rowid, dtype=np.int64, count=len(sleeve_rowid)))
        distinct, target_of = target_codes(store, as_of, rows, sleeve_model_id)
        model_changed, model_move, model_change = change_columns(store, as_of, rows)
        lots = _lots(store, securities, rows.rowids, sleeve_ids)

        # -------------------------------------------------------- securities, accounts
        symbols = np.array([s[1] for s in securities], dtype=object)
        symbol_index = {s: i for i, s in enumerate(symbols)}
        asset_class, asset_classes = codes([s[2] for s in securities])
        account_ids, registration, custodian, household, st_rate, lt_rate = zip(*accounts) if accounts else ((),) * 6
        account_index = {a: i for i, a in enumerate(account_ids)}
        registration, registrations = codes(registration)
        custodian, custodians = codes(custodian)
        household, households = codes(household)

        # -------------------------------------------------------- sleeves and their targets
        n = len(sleeve_ids)
        has = target_of >= 0
        label_code, models = codes([t.label for t in distinct])
        sleeve_model = np.where(has, label_code[np.maximum(target_of, 0)] if distinct else -1, -1).astype(np.int32)
        weights = [{w.symbol: float(w.weight) for w in t.weights} for t in distinct]
        per_target = lambda values, missing, dtype: (  # noqa: E731: a per-target value spread over its sleeves
            np.where(has, np.array(values, dtype=dtype)[np.maximum(target_of, 0)] if distinct else missing, missing))
        cash_target = per_target([w.get(CASH_SYMBOL, 0.0) for w in weights], np.nan, np.float64)
        target_note = per_target([t.note for t in distinct], "", object).astype(object)
        target_kind = per_target([TARGET_KINDS.index(str(t.spec.kind)) for t in distinct], -1, np.int64).astype(np.int8)
        if (stray := np.flatnonzero(model_changed & ~has)).size:
            raise ValueError(f"model_changed names sleeves without a model: {sleeve_ids[stray[0]]}")
        table = TargetTable(weights, symbol_index)

        return Book(
            as_of=as_of,
            symbols=symbols, symbol_asset_class=asset_class, asset_classes=asset_classes,
            symbol_price=np.array([s[3] / 1e6 for s in securities], dtype=np.float64),
            account_ids=np.array(account_ids, dtype=object), account_registration=registration,
            registrations=registrations, account_custodian=custodian, custodians=custodians,
            account_household=household, households=households,
            account_st_rate=_floats(st_rate), account_lt_rate=_floats(lt_rate),
            sleeve_ids=np.array(sleeve_ids, dtype=object),
            sleeve_account=np.fromiter(map(account_index.__getitem__, sleeve_account), dtype=np.int32, count=n),
            sleeve_model=sleeve_model, models=models,
            sleeve_policy=np.array(sleeve_policy, dtype=object),
            sleeve_cash=np.fromiter(sleeve_cash, dtype=np.int64, count=n) / 100,
            sleeve_cash_target=cash_target.astype(np.float64),
            sleeve_model_changed=model_changed, sleeve_model_move=model_move, sleeve_model_change=model_change,
            sleeve_target_note=target_note, sleeve_target_kind=target_kind,
            **_holdings(lots, target_of, table, len(symbols)),
            lot_ids=lots.lot_ids, lot_quantity=lots.lot_quantity, lot_cost=lots.lot_cost,
            lot_acquired=lots.lot_acquired,
        )


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: reading a big book makes millions of row tuples and
    strings (no cycles), and each collection would walk them all again."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# ---------------------------------------------------------------- holdings: the held ones and the targeted ones


class TargetTable:
    """The distinct targets' weights by symbol index, to look up (target, symbol) pairs in bulk:
    target -1 (a sleeve without one) has no symbol and a weight of NaN for every symbol; a symbol
    not in a target weighs 0 there. Dense (a table of targets x symbols) while that is small, else
    sorted (target, symbol) keys searched."""

    #: the most cells of a dense table (targets x symbols)
    DENSE_CELLS = 1 << 24

    def __init__(self, weights: Sequence[dict[str, float]], symbol_index: dict[str, int]):
        self.n_symbols = n_symbols = max(len(symbol_index), 1)
        pairs = [sorted((symbol_index[s], x) for s, x in w.items() if s != CASH_SYMBOL) for w in weights]
        self.lengths = np.array([len(p) for p in pairs] + [0], dtype=np.int64)  # [-1]: no target
        self.starts = np.cumsum(self.lengths) - self.lengths
        self.symbols = np.array([s for p in pairs for s, _ in p], dtype=np.int64)
        self.weights = np.array([x for p in pairs for _, x in p], dtype=np.float64)
        self.keys = np.repeat(np.arange(len(pairs), dtype=np.int64), self.lengths[:-1]) * n_symbols + self.symbols
        self.dense = (len(pairs) + 1) * n_symbols <= self.DENSE_CELLS
        if self.dense:  # row 0: no target; row d + 1: target d
            rows = self.keys + n_symbols
            self.table = np.zeros((len(pairs) + 1) * n_symbols)
            self.table[:n_symbols] = np.nan
            self.table[rows] = self.weights
            self.member = np.zeros((len(pairs) + 1) * n_symbols, dtype=bool)
            self.member[rows] = True

    def lookup(self, target: np.ndarray, symbol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(whether in the target, the target weight) of each (target, symbol) pair."""
        if self.dense:
            cell = target.astype(np.intp)
            cell += 1
            cell *= self.n_symbols
            cell += symbol
            return self.member.take(cell), self.table.take(cell)
        key = target.astype(np.int64) * self.n_symbols + symbol
        at = np.minimum(np.searchsorted(self.keys, key), max(len(self.keys) - 1, 0))
        found = (self.keys[at] == key) if len(self.keys) else np.zeros(len(key), dtype=bool)
        weight = np.where(found, self.weights[at] if len(self.keys) else 0.0, np.where(target < 0, np.nan, 0.0))
        return found & (target >= 0), weight

    def expand(self, sleeves: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (sleeve, symbol, weight) of the given sleeves' targets, sleeve by sleeve, symbols in order."""
        counts = self.lengths[targets]
        sleeve = np.repeat(sleeves, counts)
        within = np.arange(len(sleeve), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        at = np.repeat(self.starts[targets], counts) + within
        return sleeve, self.symbols[at], self.weights[at]


def _holdings(lots: LotColumns, target_of: np.ndarray, table: TargetTable, n_symbols: int) -> dict[str, np.ndarray]:
    """The holdings (each sleeve's held ones and targeted ones, by sleeve then symbol) and each lot's.

    Nearly every targeted holding is also held: the held ones are the holdings, and only sleeves
    holding fewer of their target's symbols than it has get the others inserted. When none is
    inserted, the held columns are the holding columns as they are (mapped from the snapshot)."""
    held_sleeve, held_symbol, n_held = lots.held_sleeve, lots.held_symbol, len(lots.held_sleeve)
    held_target = target_of.astype(np.int32)[held_sleeve]
    in_target, held_weight = table.lookup(held_target, held_symbol)
    covered = np.bincount(held_sleeve[in_target], minlength=len(target_of))
    short = np.flatnonzero(covered < table.lengths[target_of])  # sleeves with targeted symbols they do not hold
    extra_sleeve, extra_symbol, extra_weight = table.expand(short, target_of[short])
    held_keys = held_sleeve.astype(np.int64) * n_symbols + held_symbol if len(short) else np.zeros(0, dtype=np.int64)
    extra_keys = extra_sleeve * n_symbols + extra_symbol
    at = np.searchsorted(held_keys, extra_keys)
    new = np.ones(len(extra_keys), dtype=bool)
    inside = at < n_held
    new[inside] = held_keys[at[inside]] != extra_keys[inside]
    if not new.any():
        return dict(holding_sleeve=held_sleeve, holding_symbol=held_symbol, holding_quantity=lots.held_quantity,
                    holding_cost=lots.held_cost, holding_target=held_weight, holding_in_model=in_target,
                    lot_holding=lots.lot_held)
    at = at[new]  # np.insert(held column, at, extra column) for each column, sharing where the rows go:
    moved = _steps(n_held, at)  # held holding i goes to i + this
    moved += np.arange(n_held, dtype=np.int32)
    added = at + np.arange(len(at))
    lot_holding = _steps(len(lots.lot_held), np.searchsorted(lots.lot_held, at.astype(lots.lot_held.dtype)))
    lot_holding += lots.lot_held

    def merged(held: np.ndarray, extra: np.ndarray | float | bool) -> np.ndarray:
        out = np.empty(n_held + len(at), dtype=held.dtype)
        out[moved] = held
        out[added] = extra
        return out

    return dict(holding_sleeve=merged(held_sleeve, extra_sleeve[new]), holding_symbol=merged(held_symbol, extra_symbol[new]),
                holding_quantity=merged(lots.held_quantity, 0.0), holding_cost=merged(lots.held_cost, 0.0),
                holding_target=merged(held_weight, extra_weight[new]), holding_in_model=merged(in_target, True),
                lot_holding=lot_holding)


def _steps(n: int, at: np.ndarray) -> np.ndarray:
    """For each i < n, how many of ``at`` are at most i (int32)."""
    steps = np.zeros(n + 1, dtype=np.int32)
    np.add.at(steps, at, 1)
    return np.cumsum(steps[:n], out=steps[:n])


# ---------------------------------------------------------------- the lots, from SQLite


class LotColumns(NamedTuple):
    """The lots in book order, and their *held holdings* (a sleeve's symbol with lots), as the Book takes them."""

    held_sleeve: np.ndarray    # int32: sleeve index, by sleeve then symbol
    held_symbol: np.ndarray    # int32: symbol index
    held_quantity: np.ndarray  # float64: its lots' quantity (the exact sum, then / 1e6)
    held_cost: np.ndarray      # float64: its lots' cost basis (the exact sum in cents, then / 100)
    lot_held: np.ndarray       # int32: each lot's held holding
    lot_quantity: np.ndarray   # float64
    lot_cost: np.ndarray       # float64
    lot_acquired: np.ndarray   # datetime64[D]: the holding-period start
    lot_ids: np.ndarray        # str, or bytes when ASCII


def _grouped(sleeve: np.ndarray, symbol: np.ndarray, day: np.ndarray, qty: np.ndarray, cost: np.ndarray,
             ids: np.ndarray, n_symbols: int) -> LotColumns:
    """The lot columns of :func:`_order_lots` (in book order) with their held holdings."""
    key = sleeve.astype(np.int64) * n_symbols + symbol
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, dtype=np.int64)
    del key
    runs = np.diff(first, append=len(sleeve))
    return LotColumns(
        held_sleeve=sleeve[first], held_symbol=symbol[first],
        held_quantity=(np.add.reduceat(qty, first) if len(first) else np.zeros(0, dtype=np.int64)) / 1e6,
        held_cost=(np.add.reduceat(cost, first) if len(first) else np.zeros(0, dtype=np.int64)) / 100,
        lot_held=np.repeat(np.arange(len(first), dtype=np.int32), runs),
        lot_quantity=qty / 1e6, lot_cost=cost / 100, lot_acquired=np.asarray(day, dtype=np.int64).view("datetime64[D]"),
        lot_ids=ids)


def _read_lots(store: Store, securities: list[tuple]) -> tuple[np.ndarray, int]:
    """Every lot in rowid order: an (n, 4) array of (sleeve rowid x M + security rowid, holding-period
    start in days since 1970, quantity_e6, cost_basis_cents), and M."""
    q = store.db.conn.execute
    scale = max((s[0] for s in securities), default=0) + 1
    lots = _column(q(
        "select s.rowid * ? + x.rowid, cast(julianday(coalesce(l.holding_from, l.acquired)) - ? as integer),"
        " l.quantity_e6, l.cost_basis_cents from lots l join sleeves s on s.sleeve_id = l.sleeve_id"
        " join securities x on x.symbol = l.symbol order by l.rowid", [scale, UNIX_EPOCH_JD]), np.int64, 4)
    return lots, scale


def _read_lot_ids(store: Store, order: np.ndarray, piece: int = 1 << 20) -> np.ndarray:
    """The lot ids, the lots (in rowid order) taken in ``order``: read a piece at a time and put in
    place, without a Python string kept per lot (50 M of them would take 3 GB); as ASCII ``bytes``
    (a quarter of a ``str`` array's size) unless some id is not ASCII."""
    n = len(order)
    to = np.empty(n, dtype=np.int32 if n < 1 << 31 else np.int64)  # where the lot of each rowid rank goes
    to[order] = np.arange(n, dtype=to.dtype)
    ids = np.zeros(0, dtype="S1")
    done = 0
    cursor = store.db.conn.execute("select lot_id from lots order by rowid")
    while rows := cursor.fetchmany(piece):
        part = _compact(np.array([r[0] for r in rows], dtype=str))
        if not done:
            ids = np.empty(n, dtype=part.dtype)
        elif part.dtype.kind != ids.dtype.kind or part.dtype.itemsize > ids.dtype.itemsize:  # widen
            chars = max(_chars(part.dtype), _chars(ids.dtype))
            ids = ids.astype(f"U{chars}") if "U" in (part.dtype.kind, ids.dtype.kind) else ids.astype(f"S{chars}")
        ids[to[done:done + len(part)]] = part
        done += len(part)
    if done != n:
        raise RuntimeError(f"read {done} lot ids for {n} lots")
    return ids


def _compact(texts: np.ndarray) -> np.ndarray:
    """A ``str`` array as ``bytes`` when it is ASCII (each character a byte, not four), else as it is."""
    try:
        return texts.astype(f"S{max(_chars(texts.dtype), 1)}")
    except UnicodeEncodeError:
        return texts


def _chars(dtype: np.dtype) -> int:
    return dtype.itemsize // (4 if dtype.kind == "U" else 1)


def _order_lots(lots: np.ndarray, scale: int, sleeve_rowids: np.ndarray, security_rowids: np.ndarray, n_symbols: int,
                read_ids: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, ...]:
    """Lots as (sleeve, symbol, day, quantity, cost, id) ordered by (sleeve, symbol, day, id); ids as str,
    from ``read_ids`` (the ids of the lots taken in a given order)."""
    if not len(lots):
        empty, index = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)
        return index, index, empty, empty, empty, np.zeros(0, dtype=str)
    sleeve_order = np.argsort(sleeve_rowids, kind="stable")
    security_order = np.argsort(security_rowids, kind="stable")
    sleeve = sleeve_order[np.searchsorted(sleeve_rowids, lots[:, 0] // scale, sorter=sleeve_order)]
    symbol = security_order[np.searchsorted(security_rowids, lots[:, 0] % scale, sorter=security_order)]
    key = sleeve.astype(np.int64) * n_symbols + symbol
    del sleeve, symbol
    day = lots[:, 1]
    low, span = int(day.min()), int(day.max()) - int(day.min()) + 1
    if int(key.max()) < (1 << 62) // span:
        order = np.argsort(key * span + (day - low), kind="stable")
    else:
        order = np.lexsort((day, key))
    key, day = key[order], day[order]
    ids = read_ids(order)
    same = np.flatnonzero((key[1:] == key[:-1]) & (day[1:] == day[:-1]))
    if len(same):  # lots of one holding from one day: by lot id
        runs = np.split(same, np.flatnonzero(np.diff(same) > 1) + 1)
        for run in runs:
            rows = np.arange(run[0], run[-1] + 2)
            by_id = rows[np.argsort(ids[rows], kind="stable")]
            order[rows] = order[by_id]
            ids[rows] = ids[by_id]
    return ((key // n_symbols).astype(np.int32), (key % n_symbols).astype(np.int32), day, lots[order, 2],
            lots[order, 3], ids)


# ---------------------------------------------------------------- the lots' snapshot beside the database

#: a store with fewer lots reads them from SQLite every time (a snapshot would not pay)
SNAPSHOT_MIN_LOTS = 1_000_000
SNAPSHOT_FORMAT = 3  # 3: lot ids as ASCII bytes


def _lots(store: Store, securities: list[tuple], sleeve_rowids: np.ndarray, sleeve_ids: Sequence[str]) -> LotColumns:
    """Every lot, in book order, with its held holding: read from the snapshot beside the database
    when it is that of the lots now (``book_epoch``), else from SQLite (then written as the snapshot,
    when there are at least SNAPSHOT_MIN_LOTS lots)."""
    q = store.db.conn.execute
    epoch = q("select lots from book_epoch").fetchone()[0]
    directory = snapshot_path(store)
    symbols = [s[1] for s in securities]
    if directory is not None:
        found = _load_snapshot(directory, epoch, sleeve_ids, symbols)
        if found is not None:
            return found
    lots, scale = _read_lots(store, securities)
    n_symbols = max(len(securities), 1)
    columns = _grouped(*_order_lots(lots, scale, sleeve_rowids, np.array([s[0] for s in securities], dtype=np.int64),
                                    n_symbols, lambda order: _read_lot_ids(store, order)), n_symbols)
    del lots
    if directory is not None and len(columns.lot_ids) >= SNAPSHOT_MIN_LOTS:
        _write_snapshot(directory, epoch, sleeve_ids, symbols, columns)
    return columns


def snapshot_path(store: Store) -> Path | None:
    """Where the lots' snapshot of this store is kept (None for a database in memory)."""
    file = store.db.conn.execute("pragma database_list").fetchone()[2]
    return Path(f"{file}.book") if file else None


def _load_snapshot(directory: Path, epoch: int, sleeve_ids: Sequence[str], symbols: Sequence[str]) -> LotColumns | None:
    """The snapshot's columns, memory-mapped read-only, their sleeves and symbols mapped to today's
    indices (when sleeves or securities were added since); None when there is none, or it is not of
    these lots. A column used as it is in the book keeps the content hash it was written with."""
    from .book import remember_digest
    try:
        meta = json.loads((directory / "meta.json").read_text())
        if meta.get("format") != SNAPSHOT_FORMAT or meta.get("epoch") != epoch:
            return None
        arrays = {name: np.asarray(np.load(directory / f"{name}.npy", mmap_mode="r"))
                  for name in ("sleeve_ids", "symbols", *LotColumns._fields)}
    except (OSError, ValueError):
        return None
    maps = []
    for vocab, now in ((arrays["sleeve_ids"], sleeve_ids), (arrays["symbols"], symbols)):
        now = np.array(now, dtype=str) if len(now) else np.zeros(0, dtype=str)
        if len(vocab) == len(now) and (vocab == now).all():
            maps.append(None)  # the same sleeves (securities): indices unchanged
            continue
        at = np.searchsorted(now, vocab) if len(now) else np.zeros(len(vocab), dtype=np.int64)
        if len(vocab) and (at.max() >= len(now) or (now[np.minimum(at, len(now) - 1)] != vocab).any()):
            return None  # a sleeve or security of the snapshot is gone: read again
        maps.append(at.astype(np.int32))
    columns = {name: arrays[name] for name in LotColumns._fields}
    for name, mapping in zip(("held_sleeve", "held_symbol"), maps):
        if mapping is not None:
            columns[name] = mapping[columns[name]]
    for name, digest in meta.get("digests", {}).items():
        if name in columns and columns[name] is arrays[name]:
            remember_digest(columns[name], digest)
    return LotColumns(**columns)


def _write_snapshot(directory: Path, epoch: int, sleeve_ids: Sequence[str], symbols: Sequence[str],
                    columns: LotColumns) -> None:
    """Write the snapshot next to the database (to a new directory, then renamed into place), with
    the content hash of each column; a snapshot that cannot be written is left out (it is a cache)."""
    from .book import field_digest
    partial = directory.with_name(f"{directory.name}.{os.getpid()}.partial")
    try:
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        np.save(partial / "sleeve_ids.npy", np.array(sleeve_ids, dtype=str))
        np.save(partial / "symbols.npy", np.array(symbols, dtype=str))
        for name, column in zip(LotColumns._fields, columns):
            np.save(partial / f"{name}.npy", column)
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            digests = dict(zip(LotColumns._fields, pool.map(field_digest, columns)))
        (partial / "meta.json").write_text(json.dumps({"format": SNAPSHOT_FORMAT, "epoch": epoch, "digests": digests}))
        shutil.rmtree(directory, ignore_errors=True)
        partial.rename(directory)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
