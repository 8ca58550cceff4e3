"""A run's proposed trades as columns: one row per trade, made into objects only where someone reads them.

A run of a million sleeves proposes millions of trades; a Python object per trade (Decimals,
reasons, lots) would cost more than computing them. :class:`Proposals` keeps them as numpy
columns (integer millionths of a share and of a dollar, cents), with their reasons as the reason
that set the trade's target (``head``), the reasons its sleeve trades (shared by the sleeve's
trades: ``tails``) and the notes added after (``notes``: wash sales, gain budgets, crossings),
and the lots each sell relieves as :class:`ReliefColumns`. It is a sequence of
:class:`ProposedTrade` (made on access), and writes its ``trades`` rows and JSON straight from the
columns. Amounts are exact: quantities in millionths, prices in millionths, money in cents.
"""

from __future__ import annotations

import abc
import bisect
import datetime as dt
import functools
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any, TypeVar, overload

import attrs
import numpy as np

from ..domain import Side, Term, Trade
from ..fixedpoint import MONEY, PRICE, QUANTITY
from ..tax.relief import Relief



Item = TypeVar("Item")


class Rows(Sequence[Item]):
    """A sequence whose items are made from rows of columns when read (``_row``); equal to any
    sequence of equal items."""

    @abc.abstractmethod
    def _row(self, row: int) -> Item:
        """Item ``row``, made from the columns."""

    @overload
    def __getitem__(self, index: int) -> Item: ...

    @overload
    def __getitem__(self, index: slice) -> list[Item]: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(len(self)))]
        return self._row(range(len(self))[index])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]


@attrs.frozen
class ProposedTrade:
    """A trade with what the review needs: its reasons, for a sell the lots it relieves, and the
    model version its sleeve was rebalanced toward."""

    trade: Trade
    lots: tuple[dict[str, Any], ...]
    model_version: str | None = None


def decimal_texts(units: np.ndarray, places: int) -> np.ndarray:
    """Integer units of ``10**-places`` as plain decimal texts, as ``format(Decimal, 'f')`` writes them
    (numpy strings)."""
    if not len(units):
        return np.empty(0, dtype=str)
    whole, fraction = np.divmod(np.abs(units), 10 ** places)
    text = _cat(whole.astype(str), ".", np.strings.zfill(fraction.astype(str), places))
    return np.where(units < 0, np.strings.add("-", text), text)


_PLAIN = re.compile(r'^[^"\\\x00-\x1f\x7f-\U0010ffff]*$')  # needs no JSON escape


def json_strings(values: np.ndarray, codes: np.ndarray | None = None) -> np.ndarray:
    """Each string as a JSON string literal (numpy strings), as ``json.dumps`` writes it; with
    ``codes``, those of ``values[codes]`` (each distinct one encoded once)."""
    if codes is not None:
        used, inverse = np.unique(codes, return_inverse=True)
        return json_strings(values[used])[inverse]
    values = np.asarray(values, dtype=str)
    if _PLAIN.match("".join(values.tolist())):
        return _cat('"', values, '"')
    return np.array([json.dumps(v) for v in values.tolist()], dtype=str)


def json_items(texts: Iterable[str]) -> str:
    """The strings as the items of a JSON list, as ``json.dumps`` writes them (``"a", "b"``)."""
    return ", ".join(map(encode_basestring_ascii, texts))


def _cat(*parts: np.ndarray | str) -> np.ndarray:
    """The element-wise concatenation of string columns and constants."""
    return functools.reduce(np.strings.add, parts)


def value_cents(quantity_e6: np.ndarray, price_e6: np.ndarray) -> np.ndarray:
    """quantity x price to the cent, half-even (``round_money``), exactly: int64 where the products fit,
    Python integers for the rows where they would not (the cents themselves always fit)."""
    per_cent = 10 ** (QUANTITY.places + PRICE.places - MONEY.places)
    large = quantity_e6 > 2 ** 62 // np.maximum(price_e6, 1)
    quotient, remainder = np.divmod(np.where(large, 0, quantity_e6) * price_e6, per_cent)
    cents = quotient + ((2 * remainder > per_cent) | ((2 * remainder == per_cent) & (quotient % 2 == 1)))
    for row in np.flatnonzero(large).tolist():
        cents[row] = half_even(int(quantity_e6[row]) * int(price_e6[row]), per_cent)
    return cents


def half_even(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half to even (non-negative Python integers)."""
    quotient, remainder = divmod(numerator, denominator)
    return quotient + (2 * remainder > denominator or (2 * remainder == denominator and quotient % 2))


@attrs.frozen(eq=False)
class ReliefColumns:
    """The lots sells relieve: one row per (trade, lot), grouped by trade in trade order, each
    trade's lots in relief order. Amounts as :func:`smartx_engine.tax.relieve` makes them."""

    trade: np.ndarray           # int64: the row of the trade in its proposals
    lot_id: np.ndarray          # str
    quantity_e6: np.ndarray     # int64: shares taken, in millionths
    basis_cents: np.ndarray     # int64: the basis given up
    acquired: np.ndarray        # datetime64[D]: the holding period's start
    long_term: np.ndarray       # bool
    proceeds_cents: np.ndarray  # int64

    @classmethod
    def empty(cls) -> ReliefColumns:
        return cls(np.empty(0, np.int64), np.empty(0, dtype="<U1"), np.empty(0, np.int64), np.empty(0, np.int64),
                   np.empty(0, "datetime64[D]"), np.empty(0, bool), np.empty(0, np.int64))

    @classmethod
    def of(cls, reliefs: Iterable[tuple[int, Relief]]) -> ReliefColumns:
        """Columns of (trade row, relief) pairs, in that order."""
        pairs = list(reliefs)
        if not pairs:
            return cls.empty()
        return cls(np.array([t for t, _ in pairs], np.int64), np.array([r.lot_id for _, r in pairs]),
                   np.array([QUANTITY.to_int(r.quantity) for _, r in pairs], np.int64),
                   np.array([MONEY.to_int(r.cost_basis) for _, r in pairs], np.int64),
                   np.array([r.acquired for _, r in pairs], "datetime64[D]"),
                   np.array([r.term == Term.LONG for _, r in pairs], bool),
                   np.array([MONEY.to_int(r.proceeds) for _, r in pairs], np.int64))

    def __len__(self) -> int:
        return len(self.trade)

    @property
    def gain_cents(self) -> np.ndarray:
        return self.proceeds_cents - self.basis_cents

    def gain_per_trade(self, n_trades: int) -> np.ndarray:
        """Each trade's realised gain in cents (0 for a buy), exactly."""
        gains = np.zeros(n_trades, dtype=np.int64)
        np.add.at(gains, self.trade, self.gain_cents)
        return gains

    def select(self, rows: np.ndarray | slice, trade: np.ndarray) -> ReliefColumns:
        """Rows ``rows`` (in that order), renumbered to trades ``trade``."""
        return ReliefColumns(trade, *(getattr(self, f.name)[rows] for f in attrs.fields(ReliefColumns)[1:]))

    @classmethod
    def concat(cls, parts: Sequence[ReliefColumns]) -> ReliefColumns:
        """The rows of ``parts`` one after the other (trade rows as they are)."""
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in attrs.fields(cls)))

    def grouped(self) -> ReliefColumns:
        """The rows grouped by trade, in trade order (stable: each trade's lots keep their order)."""
        order = np.argsort(self.trade, kind="stable")
        return self.select(order, self.trade[order])

    def bounds(self, n_trades: int) -> np.ndarray:
        """Where each trade's rows start (and, at ``n_trades``, where the last ends)."""
        return np.searchsorted(self.trade, np.arange(n_trades + 1))

    def reliefs(self, first: int, last: int) -> list[Relief]:
        """Rows ``first:last`` as exact :class:`Relief` objects."""
        return [Relief(str(self.lot_id[i]), QUANTITY.to_decimal(int(self.quantity_e6[i])),
                       MONEY.to_decimal(int(self.basis_cents[i])), self.acquired[i].astype(dt.date),
                       Term.LONG if self.long_term[i] else Term.SHORT, MONEY.to_decimal(int(self.proceeds_cents[i])),
                       MONEY.to_decimal(int(self.proceeds_cents[i] - self.basis_cents[i])))
                for i in range(first, last)]

    def json_lists(self, start: int, stop: int) -> list[str]:
        """The ``lots`` of trades ``start:stop`` as JSON texts (``Relief.as_json`` of each lot; ``[]`` for a buy)."""
        texts = ["[]"] * (stop - start)
        first, last = np.searchsorted(self.trade, [start, stop])
        if first == last:
            return texts
        rows = slice(first, last)
        proceeds, basis = self.proceeds_cents[rows], self.basis_cents[rows]
        entries = [f'{{"lot_id": {lot}, "quantity": "{q}", "cost_basis": "{b}", "acquired": "{a}", "term": "{t}", '
                   f'"proceeds": "{p}", "gain": "{g}"}}'
                   for lot, q, b, a, t, p, g in zip(*(column.tolist() for column in (
                       json_strings(self.lot_id[rows]), decimal_texts(self.quantity_e6[rows], QUANTITY.places),
                       decimal_texts(basis, MONEY.places), self.acquired[rows].astype(str),
                       np.where(self.long_term[rows], "long", "short"), decimal_texts(proceeds, MONEY.places),
                       decimal_texts(proceeds - basis, MONEY.places))))]
        trade = self.trade[rows] - start
        firsts = np.flatnonzero(np.r_[True, trade[1:] != trade[:-1]])
        for t, a, b in zip(trade[firsts].tolist(), firsts.tolist(), np.r_[firsts[1:], len(trade)].tolist()):
            texts[t] = "[" + ", ".join(entries[a:b]) + "]"
        return texts


def _codes(tables: Sequence[np.ndarray], codes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One table for several (table, codes) pairs, and the codes into it (sorted: code order is text order).

    The blocks of a run mostly share one table (the book's sleeve ids): each distinct table is
    mapped once, and when the widest is sorted and holds all the others it is the merged table."""
    unique = {id(t): t for t in tables}
    if len(unique) == 1:
        return tables[0], np.concatenate(codes)
    texts = {key: np.asarray(t, dtype=str) for key, t in unique.items()}
    merged = max(texts.values(), key=len)
    if not (np.all(merged[1:] > merged[:-1]) and all(_within(merged, t) for t in texts.values())):
        merged = np.unique(np.concatenate(list(texts.values())))
    mapped = {key: np.searchsorted(merged, t).astype(np.int32) for key, t in texts.items()}
    return merged, np.concatenate([mapped[id(t)][c] for t, c in zip(tables, codes)])


def _within(table: np.ndarray, values: np.ndarray) -> bool:
    """Whether every one of ``values`` is in ``table`` (sorted)."""
    if not len(values) or not len(table):
        return not len(values)
    return bool(np.all(table[np.searchsorted(table, values).clip(max=len(table) - 1)] == values))


@attrs.frozen(eq=False)
class Proposals(Rows[ProposedTrade]):
    """A run's trades, one row per trade; ``Proposals[i]`` is trade ``i`` as a :class:`ProposedTrade`."""

    sleeves: np.ndarray           # str: the table the ``sleeve`` codes index
    accounts: np.ndarray          # str
    symbols: np.ndarray           # str
    sleeve: np.ndarray            # int32 codes
    account: np.ndarray           # int32 codes
    symbol: np.ndarray            # int32 codes
    side: np.ndarray              # int8: +1 buy, -1 sell
    quantity_e6: np.ndarray       # int64: shares in millionths (QUANTITY)
    price_e6: np.ndarray          # int64: estimated price in millionths of a dollar (PRICE)
    model_version: np.ndarray     # object: the version of the sleeve's model rebalanced toward, or None
    head: np.ndarray              # object: the first reason (what set the trade's target)
    tail: np.ndarray              # int64: index into ``tails``
    tails: tuple[tuple[str, ...], ...]  # reasons shared by trades (why their sleeve trades)
    notes: dict[int, tuple[str, ...]]   # row -> reasons added after (wash sale, gain budget, crossings)
    lots: ReliefColumns
    run_id: str | None = None     # once recorded
    first_number: int | None = None  # trade ids are T-{first_number + row:08d} once recorded

    @classmethod
    def empty(cls) -> Proposals:
        return cls.of_objects([])

    @classmethod
    def of_objects(cls, items: Sequence[tuple[Trade, Sequence[Relief], str | None]]) -> Proposals:
        """Proposals of (trade, the lots a sell relieves, model version) objects, in that order."""
        trades = [t for t, _, _ in items]
        sleeves, sleeve = np.unique(np.array([t.sleeve_id for t in trades], dtype=str), return_inverse=True)
        accounts, account = np.unique(np.array([t.account_id for t in trades], dtype=str), return_inverse=True)
        symbols, symbol = np.unique(np.array([t.symbol for t in trades], dtype=str), return_inverse=True)
        tails = tuple(t.reasons[1:] for t in trades)
        return cls(sleeves, accounts, symbols, sleeve.astype(np.int32), account.astype(np.int32),
                   symbol.astype(np.int32), np.array([1 if t.side == Side.BUY else -1 for t in trades], np.int8),
                   np.array([QUANTITY.to_int(t.quantity) for t in trades], np.int64),
                   np.array([PRICE.to_int(t.est_price) for t in trades], np.int64),
                   np.array([v for _, _, v in items], dtype=object),
                   np.array([t.reasons[0] if t.reasons else None for t in trades], dtype=object),
                   np.arange(len(trades), dtype=np.int64), tails, {},
                   ReliefColumns.of((row, r) for row, (_, reliefs, _) in enumerate(items) for r in reliefs))

    @classmethod
    def of_proposed(cls, proposed: Sequence[ProposedTrade]) -> Proposals:
        """Proposals of :class:`ProposedTrade` objects (their lots in the JSON shape of ``Relief.as_json``)."""
        return cls.of_objects([(p.trade, [_relief(lot) for lot in p.lots], p.model_version) for p in proposed])

    @classmethod
    def concat(cls, parts: Sequence[Proposals]) -> Proposals:
        """The rows of ``parts`` one after the other."""
        parts = [p for p in parts if len(p)] or [cls.empty()]
        if len(parts) == 1:
            return parts[0]
        sizes = np.array([len(p) for p in parts])
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        tail_starts = np.cumsum([0] + [len(p.tails) for p in parts[:-1]])
        sleeves, sleeve = _codes([p.sleeves for p in parts], [p.sleeve for p in parts])
        accounts, account = _codes([p.accounts for p in parts], [p.account for p in parts])
        symbols, symbol = _codes([p.symbols for p in parts], [p.symbol for p in parts])
        relief = ReliefColumns.concat([attrs.evolve(p.lots, trade=p.lots.trade + s) for p, s in zip(parts, starts)])
        return cls(sleeves, accounts, symbols, sleeve, account, symbol,
                   *(np.concatenate([getattr(p, name) for p in parts])
                     for name in ("side", "quantity_e6", "price_e6", "model_version", "head")),
                   np.concatenate([p.tail + t for p, t in zip(parts, tail_starts)]),
                   tuple(t for p in parts for t in p.tails),
                   {row + int(s): n for p, s in zip(parts, starts) for row, n in p.notes.items()}, relief)

    def take(self, rows: np.ndarray) -> Proposals:
        """The given rows, in the given order (each at most once)."""
        rows = np.asarray(rows, dtype=np.int64)
        new_row = np.full(len(self) + 1, -1, dtype=np.int64)
        new_row[rows] = np.arange(len(rows))
        lot_trade = new_row[self.lots.trade]
        kept = np.flatnonzero(lot_trade >= 0)
        kept = kept[np.argsort(lot_trade[kept], kind="stable")]  # grouped by the new trade order
        notes = {int(new_row[r]): n for r, n in self.notes.items() if new_row[r] >= 0}
        return attrs.evolve(self, sleeve=self.sleeve[rows], account=self.account[rows], symbol=self.symbol[rows],
                            side=self.side[rows], quantity_e6=self.quantity_e6[rows], price_e6=self.price_e6[rows],
                            model_version=self.model_version[rows], head=self.head[rows], tail=self.tail[rows],
                            notes=notes, lots=self.lots.select(kept, lot_trade[kept]))

    def with_notes(self, notes: dict[int, Iterable[str]]) -> Proposals:
        """The proposals with reasons added after a row's own."""
        merged = dict(self.notes)
        for row, added in notes.items():
            merged[row] = (*merged.get(row, ()), *added)
        return attrs.evolve(self, notes=merged)

    def recorded(self, run_id: str, first_number: int) -> Proposals:
        return attrs.evolve(self, run_id=run_id, first_number=first_number)

    def window(self, start: int, stop: int, notes: dict[int, tuple[str, ...]] | None = None) -> Proposals:
        """Rows ``start:stop`` (views of the columns, the same tables), with their trade ids; ``notes``
        are theirs when the caller found them already (renumbered from ``start``)."""
        first, last = np.searchsorted(self.lots.trade, [start, stop]).tolist()
        if notes is None:
            notes = {row - start: n for row, n in self.notes.items() if start <= row < stop}
        rows = slice(start, stop)
        return attrs.evolve(self, sleeve=self.sleeve[rows], account=self.account[rows], symbol=self.symbol[rows],
                            side=self.side[rows], quantity_e6=self.quantity_e6[rows], price_e6=self.price_e6[rows],
                            model_version=self.model_version[rows], head=self.head[rows], tail=self.tail[rows],
                            notes=notes, lots=self.lots.select(slice(first, last), self.lots.trade[first:last] - start),
                            first_number=None if self.first_number is None else self.first_number + start)

    def windows(self, size: int) -> Iterator[Proposals]:
        """The rows as consecutive windows of ``size`` (:meth:`window`), the notes sorted out once."""
        noted = sorted(self.notes)
        for start in range(0, len(self), size):
            stop = min(start + size, len(self))
            rows = noted[bisect.bisect_left(noted, start):bisect.bisect_left(noted, stop)]
            yield self.window(start, stop, {row - start: self.notes[row] for row in rows})

    # ------------------------------------------------------------ reading rows

    def __len__(self) -> int:
        return len(self.side)

    def _row(self, row: int) -> ProposedTrade:
        return self._proposed(row, *np.searchsorted(self.lots.trade, [row, row + 1]).tolist())

    def __iter__(self) -> Iterator[ProposedTrade]:
        bounds = self.lots.bounds(len(self)).tolist()
        return (self._proposed(row, bounds[row], bounds[row + 1]) for row in range(len(self)))

    def _proposed(self, row: int, first: int, last: int) -> ProposedTrade:
        """Row ``row`` as objects, its lots rows ``first:last`` of ``lots``."""
        return ProposedTrade(self.trade(row), tuple(r.as_json() for r in self.lots.reliefs(first, last)),
                             self.model_version[row])

    def __repr__(self) -> str:
        return f"<Proposals: {len(self)} trades>"

    def trade_id(self, row: int) -> str:
        return "T-PENDING" if self.first_number is None else f"T-{self.first_number + row:08d}"

    def reasons(self, row: int) -> tuple[str, ...]:
        head = self.head[row]
        return (*(() if head is None else (head,)), *self.tails[self.tail[row]], *self.notes.get(row, ()))

    def sleeve_id(self, row: int) -> str:
        return str(self.sleeves[self.sleeve[row]])

    def trade(self, row: int) -> Trade:
        """Row ``row`` as a :class:`Trade`."""
        return Trade(trade_id=self.trade_id(row), run_id=self.run_id or "R-PENDING",
                     account_id=str(self.accounts[self.account[row]]), sleeve_id=self.sleeve_id(row),
                     symbol=str(self.symbols[self.symbol[row]]), side=Side.BUY if self.side[row] > 0 else Side.SELL,
                     quantity=QUANTITY.to_decimal(int(self.quantity_e6[row])),
                     est_price=PRICE.to_decimal(int(self.price_e6[row])), reasons=self.reasons(row))

    def traded_sleeves(self) -> list[str]:
        """The ids of the sleeves with a trade, sorted."""
        traded = np.bincount(self.sleeve, minlength=len(self.sleeves)) > 0
        return np.sort(np.asarray(self.sleeves, dtype=str)[traded]).tolist()

    def trade_rows(self, status: str, now: str) -> Iterator[tuple]:
        """The ``trades`` table's rows (trade_id, run_id, account_id, sleeve_id, symbol, side, quantity_e6,
        est_price_e6, status, reasons, lots, created_at, model_version), once recorded."""
        if self.run_id is None or self.first_number is None:
            raise ValueError("proposals get their rows once recorded")
        texts = _Texts(self)
        for start, stop in texts.chunks():
            rows = slice(start, stop)
            yield from zip(texts.trade_ids(start, stop).tolist(), itertools.repeat(self.run_id),
                           texts.accounts[self.account[rows]].tolist(), texts.sleeves[self.sleeve[rows]].tolist(),
                           texts.symbols[self.symbol[rows]].tolist(),
                           np.where(self.side[rows] > 0, "buy", "sell").tolist(), self.quantity_e6[rows].tolist(),
                           self.price_e6[rows].tolist(), itertools.repeat(status), texts.reasons(start, stop),
                           self.lots.json_lists(start, stop), itertools.repeat(now), self.model_version[rows].tolist())

    def json_texts(self) -> Iterator[str]:
        """Each trade as the text of its JSON object in ``smartx rebalance --json`` (DESIGN: "Trade proposal JSON")."""
        texts = _Texts(self)
        run_id = json.dumps(self.run_id)
        for start, stop in texts.chunks():
            rows = slice(start, stop)
            quantity, price = self.quantity_e6[rows], self.price_e6[rows]
            trade_ids = _cat('"', texts.trade_ids(start, stop), '"') if self.first_number is not None \
                else np.full(stop - start, "null")
            columns = (trade_ids, *(json_strings(table, codes[rows]) for table, codes in (
                           (texts.accounts, self.account), (texts.sleeves, self.sleeve), (texts.symbols, self.symbol))),
                       np.where(self.side[rows] > 0, "buy", "sell"),
                       decimal_texts(quantity, QUANTITY.places), decimal_texts(price, PRICE.places),
                       decimal_texts(value_cents(quantity, price), MONEY.places))
            for (trade_id, account, sleeve, symbol, side, q, p, v), reasons, lots in zip(
                    zip(*(c.tolist() for c in columns)), texts.reasons(start, stop), self.lots.json_lists(start, stop)):
                yield (f'{{"trade_id": {trade_id}, "run_id": {run_id}, "account_id": {account}, "sleeve_id": {sleeve}, '
                       f'"symbol": {symbol}, "side": "{side}", "quantity": "{q}", "est_price": "{p}", "est_value": "{v}", '
                       f'"status": "proposed", "reasons": {reasons}, "lots": {lots}}}')


class _Texts:
    """What writing proposals as text shares between chunks of rows: the tables, and each reason's
    JSON text, made when a row first needs it (a run's table shows 200 of its millions of trades)."""

    CHUNK = 20_000  # rows turned into text at a time (numpy strings are fixed-width: keep them small)
    FIRST = 250  # the first chunk's rows (then 4x more each time up to CHUNK): a table wants 200 trades

    def __init__(self, proposals: Proposals):
        self.proposals = proposals
        self.accounts, self.sleeves, self.symbols = (
            np.asarray(t, dtype=str) for t in (proposals.accounts, proposals.sleeves, proposals.symbols))
        self.noted = sorted(proposals.notes)  # rows with notes, found per chunk by bisection
        self.tails: dict[int, str] = {}
        self.heads: dict[str, str] = {}

    def chunks(self) -> Iterator[tuple[int, int]]:
        n, start, size = len(self.proposals), 0, self.FIRST
        while start < n:
            yield start, min(start + size, n)
            start, size = start + size, min(size * 4, self.CHUNK)

    def trade_ids(self, start: int, stop: int) -> np.ndarray:
        numbers = np.arange(start, stop, dtype=np.int64) + self.proposals.first_number
        return np.strings.add("T-", np.strings.zfill(numbers.astype(str), 8))

    def tail(self, index: int) -> str:
        """The JSON of the shared reasons ``tails[index]``, each after a comma."""
        tail = self.proposals.tails[index]
        text = self.tails[index] = ", " + json_items(tail) if tail else ""
        return text

    def reasons(self, start: int, stop: int) -> list[str]:
        """The reasons of rows ``start:stop`` as JSON lists."""
        p, heads, tails = self.proposals, self.heads, self.tails
        encoded = [heads.get(h) or heads.setdefault(h, json.dumps(h)) if h is not None else "" for h in
                   p.head[start:stop].tolist()]
        texts = ["[" + head + (tails[tail] if tail in tails else self.tail(tail)) + "]"
                 for head, tail in zip(encoded, p.tail[start:stop].tolist())]
        noted = self.noted[bisect.bisect_left(self.noted, start):bisect.bisect_left(self.noted, stop)]
        for row in noted + [start + i for i, h in enumerate(encoded) if not h]:
            texts[row - start] = json.dumps(list(p.reasons(row)))
        return texts


def _relief(entry: dict[str, Any]) -> Relief:
    """A lot of a proposal's ``lots`` (``Relief.as_json``) as a :class:`Relief`."""
    return Relief(entry["lot_id"], Decimal(entry["quantity"]), Decimal(entry["cost_basis"]),
                  dt.date.fromisoformat(entry["acquired"]), Term(entry["term"]), Decimal(entry["proceeds"]),
                  Decimal(entry["gain"]))
