"""The book as columns: every sleeve, holding and lot of the firm in numpy arrays, joined by index.

Rows are sorted so that each sleeve's holdings, and each holding's lots, are contiguous:
``holding_sleeve`` and ``lot_holding`` are non-decreasing. A *holding* is a (sleeve, security)
pair that the sleeve holds or that its model targets. Strings are integer codes into sorted
vocabularies. Money and quantities are float64 here, for analytics only; the store stays exact.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import weakref
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import attrs
import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from .domain import CASH_SYMBOL, Registration
from .store import Store


#: what a sleeve's target is made of (``sleeve.target_kind`` in policies)
TARGET_KINDS = ("blend", "custom", "model")


def _codes(values: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes into a sorted vocabulary (None becomes -1)."""
    vocab = np.array(sorted({v for v in values if v is not None}), dtype=object)
    index = {v: i for i, v in enumerate(vocab)}
    return np.array([index.get(v, -1) for v in values], dtype=np.int32), vocab


@attrs.frozen(eq=False)
class Book:
    """A snapshot of the firm for vectorised evaluation. Build with :meth:`assemble` or :meth:`from_store`."""

    as_of: dt.date
    # securities
    symbols: np.ndarray            # str, sorted
    symbol_asset_class: np.ndarray  # code into asset_classes
    asset_classes: np.ndarray
    symbol_price: np.ndarray       # float64
    # accounts
    account_ids: np.ndarray
    account_registration: np.ndarray  # code into registrations
    registrations: np.ndarray
    account_custodian: np.ndarray
    custodians: np.ndarray
    account_household: np.ndarray
    households: np.ndarray
    account_st_rate: np.ndarray
    account_lt_rate: np.ndarray
    # sleeves
    sleeve_ids: np.ndarray
    sleeve_account: np.ndarray     # index into account_ids
    sleeve_model: np.ndarray       # code into models (a model id, or a blend's or custom target's label), -1 without
    models: np.ndarray
    sleeve_policy: np.ndarray      # the explicitly assigned policy name, or None
    sleeve_cash: np.ndarray
    sleeve_cash_target: np.ndarray  # the target's cash weight (NaN without a target)
    sleeve_model_changed: np.ndarray = attrs.field(  # bool: its model has a newer version than it was rebalanced to
        kw_only=True, default=attrs.Factory(lambda book: np.zeros(len(book.sleeve_ids), dtype=bool), takes_self=True))
    sleeve_model_move: np.ndarray = attrs.field(  # the largest |weight change| since that version (0: none)
        kw_only=True, default=attrs.Factory(lambda book: np.zeros(len(book.sleeve_ids)), takes_self=True))
    sleeve_model_change: np.ndarray = attrs.field(  # "MODEL V1 → V2" for a changed model, else ""
        kw_only=True, default=attrs.Factory(lambda book: np.full(len(book.sleeve_ids), "", dtype=object),
                                            takes_self=True))
    sleeve_target_kind: np.ndarray = attrs.field(  # code into TARGET_KINDS, -1 without a target
        kw_only=True, default=attrs.Factory(lambda book: np.where(book.sleeve_model >= 0, TARGET_KINDS.index("model"),
                                                                  -1).astype(np.int8), takes_self=True))
    sleeve_target_note: np.ndarray = attrs.field(  # where a blend, custom or restricted target came from, else ""
        kw_only=True, default=attrs.Factory(lambda book: np.full(len(book.sleeve_ids), "", dtype=object),
                                            takes_self=True))
    # holdings
    holding_sleeve: np.ndarray
    holding_symbol: np.ndarray
    holding_quantity: np.ndarray
    holding_cost: np.ndarray
    holding_target: np.ndarray     # target weight; 0 when not in the target; NaN without a target
    holding_in_model: np.ndarray
    # lots
    lot_ids: np.ndarray            # text; read from the store, ASCII ids are bytes (``S``: a quarter of ``str``'s size)
    lot_holding: np.ndarray
    lot_quantity: np.ndarray
    lot_cost: np.ndarray
    lot_acquired: np.ndarray       # datetime64[D]: the holding period's start (wash-sale adjusted)

    @property
    def n_sleeves(self) -> int:
        return len(self.sleeve_ids)

    @property
    def n_holdings(self) -> int:
        return len(self.holding_sleeve)

    @property
    def n_lots(self) -> int:
        return len(self.lot_holding)

    @property
    def lot_sleeve(self) -> np.ndarray:
        """Each lot's sleeve (made on each use: not kept beside the book)."""
        return self.holding_sleeve[self.lot_holding]

    def lot_id(self, lot: int) -> str:
        """The id of lot ``lot``."""
        value = self.lot_ids[lot]
        return value.decode() if isinstance(value, bytes) else str(value)

    def lot_id_texts(self, lots: np.ndarray) -> np.ndarray:
        """The ids of ``lots`` (indices or a mask) as text (``str`` or ``object``), not bytes."""
        ids = self.lot_ids[lots]
        return ids.astype(str) if ids.dtype.kind == "S" else ids

    def digest(self) -> str:
        """A content hash of the snapshot, recorded with each run: the SHA-256 of ``as_of`` and, field
        by field, of its name, dtype (``text`` for strings, whether ``object`` or ``str``), shape and
        content hash (:func:`field_digest`). The content hashes of columns mapped from the lots'
        snapshot are known from when it was written."""
        fields = attrs.fields(type(self))[1:]
        arrays = [getattr(self, field.name) for field in fields]
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:  # hashlib and numpy let go of the GIL
            hashes = list(pool.map(field_digest, arrays))
        digest = hashlib.sha256(f"book\0{self.as_of}".encode())
        for field, array, content in zip(fields, arrays, hashes):
            kind = "text" if _is_text(array) else array.dtype.str
            digest.update(f"\0{field.name}\0{kind}\0{array.shape}\0{content}".encode())
        return digest.hexdigest()

    def chunk_bounds(self, size: int) -> list[tuple[int, int, int, int, int, int]]:
        """(first sleeve, end, first holding, end, first lot, end) of consecutive chunks of ``size`` sleeves."""
        bounds = np.arange(0, self.n_sleeves + size, size, dtype=self.holding_sleeve.dtype)
        bounds[-1] = self.n_sleeves
        holdings = np.searchsorted(self.holding_sleeve, bounds)
        lots = np.searchsorted(self.lot_holding, holdings.astype(self.lot_holding.dtype))
        return [tuple(int(x) for x in (*bounds[i:i + 2], *holdings[i:i + 2], *lots[i:i + 2]))
                for i in range(len(bounds) - 1)] or [(0, 0, 0, 0, 0, 0)]

    def chunks(self, size: int) -> Iterator[Book]:
        """Consecutive sub-books of about ``size`` sleeves each, made one at a time and sharing this book's
        memory (the rows of columns read through :class:`Rows` are taken then)."""
        if self.n_sleeves <= size and not self.indirect:
            yield self
            return
        for bounds in self.chunk_bounds(size):
            yield self.slice_rows(*bounds)

    @property
    def indirect(self) -> bool:
        """Whether some holding or lot column is read through :class:`Rows` (a part of a book, :meth:`parts`)."""
        return any(isinstance(getattr(self, name), Rows) for name in _ROW_COLUMNS)

    def slice_rows(self, s0: int, s1: int, h0: int, h1: int, l0: int, l1: int) -> Book:
        """The sub-book of sleeves ``s0:s1`` (whose holdings are ``h0:h1`` and lots ``l0:l1``), as views."""
        return self._rows(slice(s0, s1), slice(h0, h1), slice(l0, l1),
                          self.holding_sleeve[h0:h1] - self.holding_sleeve.dtype.type(s0),
                          self.lot_holding[l0:l1] - self.lot_holding.dtype.type(h0))

    def select(self, sleeves: np.ndarray) -> Book:
        """The sub-book of the given sleeve indices (sorted), with indices renumbered."""
        sleeves = np.asarray(sleeves, dtype=np.int64)
        sleeve_map = np.full(self.n_sleeves, -1, dtype=np.int64)
        sleeve_map[sleeves] = np.arange(len(sleeves))
        holdings = np.flatnonzero(sleeve_map[self.holding_sleeve] >= 0)
        holding_map = np.full(self.n_holdings, -1, dtype=np.int64)
        holding_map[holdings] = np.arange(len(holdings))
        lots = np.flatnonzero(holding_map[self.lot_holding] >= 0)
        return self._rows(sleeves, holdings, lots, sleeve_map[self.holding_sleeve[holdings]].astype(np.int32),
                          holding_map[self.lot_holding[lots]].astype(np.int32))

    def parts(self, owner: np.ndarray, n: int) -> list[Book]:
        """The sub-books of the sleeves of each code ``0 <= c < n`` of ``owner`` (per sleeve; -1: in none),
        indices renumbered, as :meth:`select` gives them, without copying the holdings and lots: their
        columns are this book's, read through their rows (:class:`Rows`; views where those are
        consecutive). Only the sleeves' columns and the two join columns are new."""
        owner = np.asarray(owner)
        if n == 1 and (owner == 0).all():
            return [self]
        rank = np.zeros(self.n_sleeves, dtype=np.int32)  # each sleeve's row in its part
        holding_owner = owner[self.holding_sleeve]
        index = np.int32 if max(self.n_holdings, self.n_lots) < 1 << 31 else np.int64  # row numbers
        lot_counts = np.bincount(self.lot_holding, minlength=self.n_holdings).astype(index)
        lot_starts = np.cumsum(lot_counts, dtype=index) - lot_counts
        found = []
        for code in range(n):
            sleeves = np.flatnonzero(owner == code)
            holdings = np.flatnonzero(holding_owner == code).astype(index)
            rank[sleeves] = np.arange(len(sleeves))
            counts = lot_counts[holdings]
            lot_holding = np.repeat(np.arange(len(holdings), dtype=np.int32), counts)
            lots = LotRows(lot_holding, lot_starts[holdings] - (np.cumsum(counts, dtype=index) - counts))
            columns = {field.name: getattr(self, field.name)[sleeves] for field in attrs.fields(type(self))
                       if field.name.startswith("sleeve_")}
            columns.update({name: _rows_of(getattr(self, name), holdings if name.startswith("holding_") else lots)
                            for name in _ROW_COLUMNS})
            found.append(attrs.evolve(self, **columns, holding_sleeve=rank[self.holding_sleeve[holdings]],
                                      lot_holding=lot_holding))
        return found

    def _rows(self, sleeves, holdings, lots, holding_sleeve: np.ndarray, lot_holding: np.ndarray) -> Book:
        """The book of some rows of each grain (every ``sleeve_*``, ``holding_*`` and ``lot_*`` column
        indexed alike), with the two join columns given renumbered."""
        rows = {"sleeve_": sleeves, "holding_": holdings, "lot_": lots}
        taken: dict[int, np.ndarray] = {}
        columns = {field.name: _take(getattr(self, field.name), rows[prefix], taken) for field in attrs.fields(type(self))
                   for prefix in rows if field.name.startswith(prefix)}
        return attrs.evolve(self, **{**columns, "holding_sleeve": holding_sleeve, "lot_holding": lot_holding})

    def holding_keys(self) -> np.ndarray:
        """``sleeve x number of symbols + symbol`` per holding: sorted, so holdings are found by search."""
        return self.holding_sleeve.astype(np.int64) * len(self.symbols) + self.holding_symbol

    def with_holdings(self, sleeves: np.ndarray, symbols: np.ndarray) -> tuple[Book, np.ndarray, np.ndarray]:
        """This book with empty holdings (quantity 0, target 0, not in the model) for new (sleeve, symbol) pairs
        (a part of a book keeps reading its holdings through their rows, the new ones beside them).

        Returns the new book, the new index of every old holding, and where the new ones went.
        """
        existing = self.holding_keys()  # sorted: membership by binary search
        keys = np.unique(sleeves.astype(np.int64) * len(self.symbols) + symbols)
        at = np.searchsorted(existing, keys)
        new = at == len(existing)
        new[~new] = existing[at[~new]] != keys[~new]
        keys, at = keys[new], at[new]
        old_to_new = np.arange(self.n_holdings) + np.searchsorted(at, np.arange(self.n_holdings), side="right")
        new_rows = at + np.arange(len(at))
        sleeve, symbol = keys // len(self.symbols), keys % len(self.symbols)
        target = np.where(self.sleeve_model[sleeve] >= 0, 0.0, np.nan)  # like any holding out of the model
        lot_holding = old_to_new[self.lot_holding].astype(self.lot_holding.dtype)
        book = attrs.evolve(
            self,
            holding_sleeve=np.insert(self.holding_sleeve, at, sleeve.astype(self.holding_sleeve.dtype)),
            **_inserted(self, at, holding_symbol=symbol.astype(self.holding_symbol.dtype), holding_quantity=0.0,
                        holding_cost=0.0, holding_target=target, holding_in_model=False),
            **_relinked(self, lot_holding, old_to_new, self.n_holdings + len(at)),
            lot_holding=lot_holding,
        )
        return book, old_to_new, new_rows

    # ------------------------------------------------------------------ construction

    @classmethod
    def assemble(
        cls, *, as_of: dt.date,
        securities: Sequence[tuple[str, str, float]],
        accounts: Sequence[tuple[str, str, str, str, float, float]],
        sleeves: Sequence[tuple[str, str, str | None, str | None, float]],
        models: dict[str, dict[str, float]],
        positions: Sequence[tuple[str, str, float, float]],
        lots: Sequence[tuple[str, str, str, float, float, dt.date]],
        model_changed: Collection[str] = (),
        model_changes: Mapping[str, tuple[str, float]] | None = None,
        targets: Mapping[str, Mapping[str, float]] | None = None,
        target_notes: Mapping[str, str] | None = None,
        target_kinds: Mapping[str, str] | None = None,
    ) -> Book:
        """Build a book from plain rows.

        ``securities``: (symbol, asset_class, price); ``accounts``: (account_id, registration,
        custodian, household_id, st_rate, lt_rate); ``sleeves``: (sleeve_id, account_id, model_id,
        policy, cash); ``models``: model_id -> {symbol: weight} with ``$CASH``; ``positions``:
        (sleeve_id, symbol, quantity, cost); ``lots``: (lot_id, sleeve_id, symbol, quantity, cost,
        acquired). Positions must equal the lots summed, when lots are given. ``model_changed``: the
        sleeves (each with a model) whose model has a newer version than the one they were last
        rebalanced to (see :meth:`Store.model_changes`); ``model_changes``: the same with, per sleeve,
        a label (``"GRO-80-20 2026.1 → 2026.2"``) and the largest weight move between the two versions.
        ``targets``: sleeve_id -> {symbol: weight} with ``$CASH``, a sleeve's own target in place of its
        model's weights (a blend, a custom allocation, restrictions; its ``model_id`` is then its label
        and need not be in ``models``); ``target_notes``: sleeve_id -> where such a target came from;
        ``target_kinds``: sleeve_id -> ``blend`` or ``custom`` (the default, for a sleeve with a target: ``model``).
        """
        securities = sorted(securities)
        symbols = np.array([s[0] for s in securities], dtype=object)
        symbol_index = {s: i for i, s in enumerate(symbols)}
        asset_class, asset_classes = _codes([s[1] for s in securities])
        accounts = sorted(accounts)
        account_index = {a[0]: i for i, a in enumerate(accounts)}
        registration, registrations = _codes([a[1] for a in accounts])
        custodian, custodians = _codes([a[2] for a in accounts])
        household, households = _codes([a[3] for a in accounts])
        sleeves = sorted(sleeves)
        sleeve_index = {s[0]: i for i, s in enumerate(sleeves)}
        model_code, model_vocab = _codes([s[2] for s in sleeves])
        targets = targets or {}
        if stray := set(targets) - {s[0] for s in sleeves if s[2]}:
            raise ValueError(f"targets names sleeves without a model or label: {', '.join(sorted(stray))}")
        weights = [(targets[s[0]] if s[0] in targets else models[s[2]]) if s[2] else None for s in sleeves]
        cash_target = np.array([w.get(CASH_SYMBOL, 0.0) if w is not None else np.nan for w in weights])
        model_changes = dict(model_changes or {})
        model_changed = set(model_changed) | set(model_changes)
        if stray := model_changed - {s[0] for s in sleeves if s[2]}:
            raise ValueError(f"model_changed names sleeves without a model: {', '.join(sorted(stray))}")

        held = {(sleeve_index[s], symbol_index[sym]): (q, c) for s, sym, q, c in positions}
        target = {(i, symbol_index[sym]): w for i, own in enumerate(weights) if own is not None
                  for sym, w in own.items() if sym != CASH_SYMBOL}
        keys = sorted(set(held) | set(target))
        holding_index = {k: i for i, k in enumerate(keys)}
        has_model = np.array([bool(sleeves[k[0]][2]) for k in keys], dtype=bool)
        lot_rows = sorted((holding_index[(sleeve_index[s], symbol_index[sym])], acquired, lot_id, q, c)
                          for lot_id, s, sym, q, c, acquired in lots)
        return cls(
            as_of=as_of,
            symbols=symbols, symbol_asset_class=asset_class, asset_classes=asset_classes,
            symbol_price=np.array([s[2] for s in securities], dtype=np.float64),
            account_ids=np.array([a[0] for a in accounts], dtype=object),
            account_registration=registration, registrations=registrations,
            account_custodian=custodian, custodians=custodians, account_household=household, households=households,
            account_st_rate=np.array([a[4] for a in accounts], dtype=np.float64),
            account_lt_rate=np.array([a[5] for a in accounts], dtype=np.float64),
            sleeve_ids=np.array([s[0] for s in sleeves], dtype=object),
            sleeve_account=np.array([account_index[s[1]] for s in sleeves], dtype=np.int32),
            sleeve_model=model_code, models=model_vocab,
            sleeve_policy=np.array([s[3] for s in sleeves], dtype=object),
            sleeve_cash=np.array([s[4] for s in sleeves], dtype=np.float64),
            sleeve_cash_target=cash_target,
            sleeve_model_changed=np.array([s[0] in model_changed for s in sleeves], dtype=bool),
            sleeve_model_move=np.array([model_changes.get(s[0], ("", 0.0))[1] for s in sleeves], dtype=np.float64),
            sleeve_model_change=np.array([model_changes.get(s[0], ("", 0.0))[0] for s in sleeves], dtype=object),
            sleeve_target_note=np.array([(target_notes or {}).get(s[0], "") for s in sleeves], dtype=object),
            sleeve_target_kind=np.array([TARGET_KINDS.index((target_kinds or {}).get(s[0], "model")) if s[2] else -1
                                         for s in sleeves], dtype=np.int8),
            holding_sleeve=np.array([k[0] for k in keys], dtype=np.int32),
            holding_symbol=np.array([k[1] for k in keys], dtype=np.int32),
            holding_quantity=np.array([held.get(k, (0.0, 0.0))[0] for k in keys], dtype=np.float64),
            holding_cost=np.array([held.get(k, (0.0, 0.0))[1] for k in keys], dtype=np.float64),
            holding_target=np.where(has_model, [target.get(k, 0.0) for k in keys], np.nan).astype(np.float64),
            holding_in_model=np.array([k in target for k in keys], dtype=bool),
            lot_ids=np.array([r[2] for r in lot_rows], dtype=object),
            lot_holding=np.array([r[0] for r in lot_rows], dtype=np.int32),
            lot_quantity=np.array([r[3] for r in lot_rows], dtype=np.float64),
            lot_cost=np.array([r[4] for r in lot_rows], dtype=np.float64),
            lot_acquired=np.array([r[1] for r in lot_rows], dtype="datetime64[D]"),
        )

    @classmethod
    def from_store(cls, store: Store, as_of: dt.date) -> Book:
        """Snapshot the store: current prices, every sleeve's effective target as of ``as_of`` (its model,
        blend or custom allocation with its account's restrictions; whether its model changed since its
        last rebalance), holding and lot."""
        from .bookread import read_book  # the store's columns straight into numpy (it imports this module)
        return read_book(store, as_of)


#: the holding and lot columns a part of a book reads through its rows (:meth:`Book.parts`)
_ROW_COLUMNS = ("holding_symbol", "holding_quantity", "holding_cost", "holding_target", "holding_in_model",
                "lot_ids", "lot_quantity", "lot_cost", "lot_acquired")


class Rows(NDArrayOperatorsMixin):
    """Some rows of a column, ``column[rows]``, without copying them: what is read of it is taken
    then (``x[key]`` is ``column[rows[key]]``); anything else (arithmetic, ``np.asarray``, ``.astype``
    ...) works on the rows taken whole. How a part of the book (:meth:`Book.parts`) shares the
    book's holdings and lots. Rows from ``len(column)`` on are those of ``extra`` (holdings added
    to a part: :meth:`Book.with_holdings`). With ``keep`` (a chunk's few rows), the rows taken whole
    are kept (read-only) for the next reads."""

    __slots__ = ("column", "rows", "extra", "keep", "kept")

    def __init__(self, column: np.ndarray, rows: np.ndarray | LotRows, extra: np.ndarray | None = None,
                 keep: bool = False):
        self.column, self.rows, self.extra, self.keep, self.kept = column, rows, extra, keep, None

    @property
    def dtype(self) -> np.dtype:
        return self.column.dtype

    @property
    def shape(self) -> tuple[int]:
        return (len(self.rows),)

    ndim = 1

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key):
        if self.kept is not None:
            return self.kept[key]
        at = self.rows[key]
        if self.extra is None:
            return self.column[at]
        n = len(self.column)
        if np.ndim(at) == 0:
            return self.column[at] if at < n else self.extra[at - n]
        added = at >= n
        values = np.empty(at.shape, dtype=self.dtype)
        values[~added] = self.column[at[~added]]
        values[added] = self.extra[at[added] - n]
        return values

    def taken(self, rows) -> Rows:
        """Some of these rows (``rows[rows]``), still without copying them."""
        return Rows(self.column, self.rows[rows], self.extra)

    def inserted(self, at: np.ndarray, values, rows: dict[int, np.ndarray]) -> Rows:
        """``np.insert(self, at, values)``, the new values kept in ``extra`` (``rows``: the row numbers
        inserted into so far, by the ``id`` of the ones before, for columns that share them)."""
        old = self.extra if self.extra is not None else np.zeros(0, dtype=self.dtype)
        first = len(self.column) + len(old)
        if id(self.rows) not in rows:
            rows[id(self.rows)] = np.insert(self.rows, at, np.arange(first, first + len(at), dtype=self.rows.dtype))
        values = np.broadcast_to(np.asarray(values, dtype=self.dtype), np.shape(at))
        return Rows(self.column, rows[id(self.rows)], np.concatenate([old, values]))

    def __iter__(self):
        return iter(self.__array__())

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        values = self[:]
        if self.keep and self.kept is None:
            values.flags.writeable = False
            self.kept = values
        return values if dtype is None else values.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(np.asarray(x) if isinstance(x, Rows) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __getattr__(self, name: str):  # the rest of an array's interface (size, astype, view, tolist ...)
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.__array__(), name)


class LotRows:
    """The rows in a book of the lots of a part of it (:meth:`Book.parts`), made when read: the part's
    lot ``i`` is the book's ``i + offset[holding[i]]`` (``holding``: the part's ``lot_holding``), since
    each holding's lots are consecutive in both. Four bytes a holding, not a lot."""

    __slots__ = ("holding", "offset")

    def __init__(self, holding: np.ndarray, offset: np.ndarray):
        self.holding, self.offset = holding, offset

    def __len__(self) -> int:
        return len(self.holding)

    def __getitem__(self, key):
        if isinstance(key, slice):
            index = np.arange(*key.indices(len(self.holding)), dtype=self.offset.dtype)
        elif np.ndim(key) == 0:
            index = range(len(self.holding))[key]
        else:
            key = np.asarray(key)
            index = np.flatnonzero(key) if key.dtype == bool else np.where(key < 0, key + len(self.holding), key)
        return index + self.offset[self.holding[index]]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        rows = self[:]
        return rows if dtype is None else rows.astype(dtype, copy=False)


def _rows_of(column: np.ndarray | Rows, rows: np.ndarray | LotRows) -> np.ndarray | Rows:
    """``column[rows]`` for sorted ``rows``: a view when they are consecutive, else :class:`Rows`."""
    if isinstance(column, Rows):
        if column.extra is not None:
            return column.taken(rows)
        column, rows = column.column, column.rows[rows]
    if not len(rows) or int(rows[-1]) - int(rows[0]) + 1 == len(rows):
        start = int(rows[0]) if len(rows) else 0
        return column[start:start + len(rows)]
    return Rows(column, rows)


def _take(column: np.ndarray | Rows, rows, taken: dict[int, np.ndarray]) -> np.ndarray | Rows:
    """``column[rows]``; but a column read through :class:`Rows` stays so for a slice of its rows (a
    chunk of a part of the book), each taken when first read and kept (a chunk reads only some);
    ``taken``: the row numbers sliced so far, by the ``id`` of those they came from."""
    if isinstance(column, Rows) and isinstance(rows, slice):
        if id(column.rows) not in taken:
            taken[id(column.rows)] = column.rows[rows]
        return Rows(column.column, taken[id(column.rows)], column.extra, keep=True)
    return column[rows]


def _relinked(book: Book, lot_holding: np.ndarray, old_to_new: np.ndarray, n_holdings: int) -> dict[str, Rows]:
    """The lot columns of ``book`` read through :class:`LotRows`, for its lots' new ``lot_holding``
    (holdings were inserted: ``old_to_new`` gives each old holding's new index of ``n_holdings``)."""
    columns = {name: getattr(book, name) for name in _ROW_COLUMNS if name.startswith("lot_")}
    linked: dict[int, LotRows] = {}
    for column in columns.values():
        if isinstance(column, Rows) and isinstance(column.rows, LotRows) and id(column.rows) not in linked:
            offset = np.zeros(n_holdings, dtype=column.rows.offset.dtype)
            offset[old_to_new] = column.rows.offset
            linked[id(column.rows)] = LotRows(lot_holding, offset)
    return {name: Rows(column.column, linked[id(column.rows)], column.extra) for name, column in columns.items()
            if isinstance(column, Rows) and id(column.rows) in linked}


def _inserted(book: Book, at: np.ndarray, **values) -> dict[str, np.ndarray | Rows]:
    """``np.insert(column, at, value)`` of each named column of ``book``; columns read through
    :class:`Rows` keep doing so (sharing their row numbers as they did)."""
    rows: dict[int, np.ndarray] = {}
    columns = {name: getattr(book, name) for name in values}
    return {name: column.inserted(at, values[name], rows) if isinstance(column, Rows) else
            np.insert(column, at, values[name]) for name, column in columns.items()}


#: content hashes known without reading the array: id -> (a weak reference to it, its field_digest)
_KNOWN_DIGESTS: dict[int, tuple[weakref.ref, str]] = {}


def field_digest(array: np.ndarray) -> str:
    """The SHA-256 of one column's content: text (``object`` or ``str`` arrays, and ``bytes`` ones of
    ASCII text) as the UTF-8 of its values joined by NUL (``"\\0".join(map(str, array))``, hashed a
    piece at a time), anything else as its bytes in C order. Known for a read-only column given to
    :func:`remember_digest`."""
    known = _KNOWN_DIGESTS.get(id(array))
    if known is not None and known[0]() is array and not array.flags.writeable:
        return known[1]
    digest = hashlib.sha256()
    if _is_text(array):
        _update_with_text(digest, np.asarray(array).reshape(-1))
    elif array.size:
        digest.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    return digest.hexdigest()


def remember_digest(array: np.ndarray, digest: str) -> None:
    """Record the :func:`field_digest` of a read-only column whose memory nothing can write (a column
    mapped read-only from the lots' snapshot, hashed when the snapshot was written), for as long as
    that array object lives."""
    if array.flags.writeable:
        raise ValueError("only the digest of a read-only array can be remembered")
    key = id(array)
    _KNOWN_DIGESTS[key] = (weakref.ref(array, lambda _, key=key: _KNOWN_DIGESTS.pop(key, None)), digest)


def _is_text(array: np.ndarray) -> bool:
    return array.dtype == object or array.dtype.kind in "US"


def _update_with_text(digest, array: np.ndarray, piece: int = 1 << 20) -> None:
    """``digest.update("\\0".join(map(str, array)).encode())``, a piece at a time (``bytes`` values
    decoded); an ASCII ``str`` or ``bytes`` array (the lot ids) is joined in numpy, without a Python
    string per element."""
    for start in range(0, len(array), piece):
        part = array[start:start + piece]
        if start:
            digest.update(b"\0")
        joined = _ascii_joined(part) if part.dtype.kind in "US" else None
        digest.update(joined if joined is not None else "\0".join(_strings(part)).encode())


def _strings(part: np.ndarray) -> list[str]:
    return [v.decode() for v in part.tolist()] if part.dtype.kind == "S" else list(map(str, part))


def _ascii_joined(part: np.ndarray) -> bytes | None:
    """``"\0".join(part).encode()`` for a ``str`` or ``bytes`` array that is ASCII without NUL inside,
    by numpy; else None."""
    unit = part.dtype.itemsize // max(np.dtype(f"{part.dtype.kind}1").itemsize, 1)  # characters
    if not len(part) or not unit:
        return None
    chars = np.ascontiguousarray(part).view(np.uint32 if part.dtype.kind == "U" else np.uint8).reshape(len(part), unit)
    if chars.max() >= 128:
        return None
    grid = np.zeros((len(part), unit + 1), dtype=np.uint8)
    grid[:, :unit] = chars
    lengths = np.count_nonzero(grid, axis=1)
    rows = np.arange(len(part))
    if (np.argmin(grid, axis=1) != lengths).any():  # a NUL inside an element
        return None
    keep = grid != 0
    keep[rows, lengths] = True  # the separator after each element
    return grid[keep].tobytes()[:-1]


def tax_treatment_codes(book: Book, sleeves: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per account (per sleeve, by its account, with ``sleeves``), a code into (taxable, tax_deferred, tax_exempt)."""
    vocab = np.array(["taxable", "tax_deferred", "tax_exempt"], dtype=object)
    by_registration = np.array([list(vocab).index(Registration(r).tax_treatment.value) for r in book.registrations],
                               dtype=np.int32)
    registration = book.account_registration[book.sleeve_account] if sleeves else book.account_registration
    return by_registration[registration], vocab
