"""A run's proposals in the store: column chunks, written as ``trades`` rows once a sleeve's are decided.

A run of a million sleeves proposes millions of trades. Inserting a ``trades`` row for each (its
reasons and lots as JSON, into a table with three indexes) took over a minute at that size:
about 10 µs a row, most of it SQLite's own (docs/performance.md, "Recording a run"). So a run
stores its proposals as it computed them, the :class:`Proposals` columns, in chunks of
:data:`CHUNK` trades (``proposal_chunks``: one blob each, and the sleeves its trades are for).

A sleeve's trades in a run stay *pending* (in the chunks, not rows of ``trades``) until one of
them is approved, rejected or edited: then :func:`materialize` writes all of them as the rows
``record_run`` wrote before (from the same columns, by :meth:`Proposals.trade_rows`), and the
decision is made on those rows. Which pending trades are still proposed is kept per run
(``proposal_runs``: its sleeves whose pending trades are, with their count); those a later run
cancelled, per event (``proposal_cancels``: the sleeves, with the note and time a row would have
been given). ``stored_trades`` (review.py) reads rows and pending trades alike; everything after
a decision (netting, orders, fills, reports) has rows.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import attrs
import numpy as np

from .proposals import Proposals, ReliefColumns, json_items

#: trades per chunk (a trade read by its id unpacks its chunk: about 1 MB)
CHUNK = 16_384

#: the columns of a ``stored_trades`` row: those of ``trades`` in order (tests/rebalance/test_record.py
#: holds them to the table), then its run's actor and as-of
STORED_COLUMNS = ("trade_id", "run_id", "account_id", "sleeve_id", "symbol", "side", "quantity_e6", "est_price_e6",
                  "status", "reasons", "lots", "created_at", "decided_by", "decided_at", "note", "proposed_e6",
                  "edited_by", "edited_at", "model_version", "crossed_e6", "proposed_by", "as_of")

#: the columns ``record_run`` set, in the order of :meth:`Proposals.trade_rows`
ROW_COLUMNS = ("trade_id", "run_id", "account_id", "sleeve_id", "symbol", "side", "quantity_e6", "est_price_e6",
               "status", "reasons", "lots", "created_at", "model_version")

_MAGIC = b"smartx proposals 1\n"

#: the integer columns of a chunk and the dtype :class:`Proposals` holds them in (stored narrower when they fit)
_INTEGERS = {"quantity_e6": np.int64, "price_e6": np.int64, "sleeve": np.int32, "account": np.int32,
             "symbol": np.int32, "side": np.int8, "model_version": np.int32, "head": np.int32, "tail": np.int64,
             "lot_trade": np.int64, "lot_quantity_e6": np.int64, "lot_basis_cents": np.int64,
             "lot_acquired": np.int64, "lot_proceeds_cents": np.int64}


# ---------------------------------------------------------------- chunks as bytes


class Packer:
    """Packs the chunks of one run's proposals (:func:`unpack` reads them), each shared reason list's
    JSON made once for the run: the codes, numbers and lots as little-endian integer arrays (each
    in the narrowest dtype that holds it), the texts (each distinct one once) as JSON."""

    def __init__(self, proposals: Proposals):
        self.proposals = proposals
        self.tails: dict[tuple[str, ...], str] = {}

    def chunks(self, size: int | None = None) -> Iterator[tuple[int, int, list[str], bytes]]:
        """(first trade number, trades, sleeves, bytes) of each chunk of ``size`` trades (:data:`CHUNK`)."""
        for window in self.proposals.windows(size or CHUNK):
            sleeves, data = self.pack(window)
            yield window.first_number, len(window), sleeves, data

    def pack(self, p: Proposals) -> tuple[list[str], bytes]:
        """The window's sleeves (sorted) and its bytes."""
        sleeves, sleeve = _compact(p.sleeves, p.sleeve)
        accounts, account = _compact(p.accounts, p.account)
        symbols, symbol = _compact(p.symbols, p.symbol)
        versions, version = _dictionary(p.model_version.tolist())
        heads, head = _dictionary(p.head.tolist())
        used, inverse = np.unique(p.tail, return_inverse=True)
        distinct, tail = _dictionary([p.tails[i] for i in used.tolist()])
        texts = {"accounts": accounts, "symbols": symbols, "model_versions": versions, "heads": heads,
                 "notes": [[row, n] for row, n in p.notes.items()], "lot_ids": p.lots.lot_id.tolist()}
        tails = "[" + ", ".join(map(self.tail, distinct)) + "]"
        lots = p.lots
        arrays = {"quantity_e6": p.quantity_e6, "price_e6": p.price_e6, "sleeve": sleeve, "account": account,
                  "symbol": symbol, "side": p.side, "model_version": version, "head": head, "tail": tail[inverse],
                  "lot_trade": lots.trade, "lot_quantity_e6": lots.quantity_e6, "lot_basis_cents": lots.basis_cents,
                  "lot_acquired": lots.acquired.astype("datetime64[D]").view(np.int64),
                  "lot_proceeds_cents": lots.proceeds_cents, "lot_long_term": lots.long_term}
        arrays = dict(sorted(((name, _narrow(a)) for name, a in arrays.items()), key=lambda item: -item[1].itemsize))
        header = json.dumps({"texts": texts, "tails": len(tails.encode()),
                             "arrays": [[name, a.dtype.str, len(a)] for name, a in arrays.items()]}).encode()
        body = tails.encode()
        pad = b" " * (-(len(_MAGIC) + 8 + len(header) + len(body)) % 8)  # the arrays start aligned
        return sleeves, b"".join([_MAGIC, len(header).to_bytes(8, "little"), header, body, pad,
                                  *(a.tobytes() for a in arrays.values())])

    def tail(self, reasons: tuple[str, ...]) -> str:
        """``json.dumps(reasons)``, made once."""
        text = self.tails.get(reasons)
        if text is None:
            text = self.tails[reasons] = "[" + json_items(reasons) + "]"
        return text


def unpack(data: bytes, sleeves: list[str], run_id: str, first_number: int) -> Proposals:
    """The proposals of a chunk (its bytes and sleeves), as a recorded run's rows ``first_number`` on."""
    if not data.startswith(_MAGIC):
        raise ValueError("not a chunk of proposals")
    offset = len(_MAGIC) + 8
    size = int.from_bytes(data[len(_MAGIC):offset], "little")
    header = json.loads(data[offset:offset + size])
    offset += size
    tails = json.loads(data[offset:offset + header["tails"]])
    offset += header["tails"] + (-(offset + header["tails"]) % 8)
    arrays = {}
    for name, dtype, length in header["arrays"]:
        stored = np.frombuffer(data, dtype=np.dtype(dtype), count=length, offset=offset)
        offset += stored.nbytes
        arrays[name] = stored.astype(_INTEGERS[name]) if name in _INTEGERS else stored
    texts = header["texts"]
    lots = ReliefColumns(arrays["lot_trade"], np.array(texts["lot_ids"], dtype=str), arrays["lot_quantity_e6"],
                         arrays["lot_basis_cents"], arrays["lot_acquired"].view("datetime64[D]"),
                         arrays["lot_long_term"], arrays["lot_proceeds_cents"])
    return Proposals(np.array(sleeves, dtype=str), np.array(texts["accounts"], dtype=str),
                     np.array(texts["symbols"], dtype=str), arrays["sleeve"], arrays["account"], arrays["symbol"],
                     arrays["side"], arrays["quantity_e6"], arrays["price_e6"],
                     _objects(texts["model_versions"])[arrays["model_version"]], _objects(texts["heads"])[arrays["head"]],
                     arrays["tail"], tuple(tuple(t) for t in tails), {row: tuple(n) for row, n in texts["notes"]}, lots,
                     run_id, first_number)


def _compact(table: np.ndarray, codes: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The entries of ``table`` that ``codes`` use (in table order), and the codes into them."""
    if len(table) > 8 * len(codes):
        used, inverse = np.unique(codes, return_inverse=True)
    else:  # marked in a table-sized mask: no sort
        present = np.zeros(len(table), dtype=bool)
        present[codes] = True
        used, inverse = np.flatnonzero(present), (np.cumsum(present) - 1)[codes]
    return np.asarray(table, dtype=str)[used].tolist(), inverse


def _dictionary(values: Sequence[Any]) -> tuple[list[Any], np.ndarray]:
    """The distinct values (in order of first use) and each value's code into them."""
    distinct = list(dict.fromkeys(values))
    index = {v: i for i, v in enumerate(distinct)}
    return distinct, np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=len(values))


def _narrow(values: np.ndarray) -> np.ndarray:
    """Integers as little-endian in the narrowest of int8 to int64 that holds them all (others as they are)."""
    if values.dtype.kind not in "iu":
        return np.ascontiguousarray(values)
    low, high = (int(values.min()), int(values.max())) if len(values) else (0, 0)
    dtype = next(t for t in (np.int8, np.int16, np.int32, np.int64)
                 if np.iinfo(t).min <= low and high <= np.iinfo(t).max)
    return np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<"))


def _objects(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


# ---------------------------------------------------------------- recording a run


def record_proposals(db: Any, proposals: Proposals) -> None:
    """Store a recorded run's proposals: its chunks, and the sleeves it trades as still proposed."""
    run_id = proposals.run_id
    db.conn.executemany(
        "insert into proposal_chunks (first_trade, run_id, trades, sleeves, data) values (?, ?, ?, ?, ?)",
        ((first, run_id, trades, json.dumps(sleeves), data) for first, trades, sleeves, data in Packer(proposals).chunks()))
    if len(proposals):
        counts = np.bincount(proposals.sleeve, minlength=len(proposals.sleeves))
        traded = np.flatnonzero(counts)
        db.execute("insert into proposal_runs (run_id, proposed) values (?, ?)", [run_id, json.dumps(dict(zip(
            np.asarray(proposals.sleeves, dtype=str)[traded].tolist(), counts[traded].tolist())))])


def supersede(db: Any, run_id: str, sleeves: Sequence[str], now: str) -> int:
    """Cancel the still-proposed trades of ``sleeves`` (rows of ``trades``, and pending ones), noted
    with the run that supersedes them; how many."""
    note = f"superseded by {run_id}"
    cancelled = db.execute("update trades set status = 'cancelled', note = ?, decided_at = ? where status = 'proposed'"
                           " and sleeve_id in (select value from json_each(?))",
                           [note, now, json.dumps(list(sleeves))]).rowcount
    traded = set(sleeves)
    for run, proposed in db.execute("select run_id, proposed from proposal_runs").fetchall():
        pending = json.loads(proposed)
        if hit := sorted(traded.intersection(pending)):
            cancelled += sum(pending.pop(s) for s in hit)
            db.execute("insert into proposal_cancels (run_id, sleeves, note, decided_at) values (?, ?, ?, ?)",
                       [run, json.dumps(hit), note, now])
            _set_proposed(db, run, pending)
    return cancelled


def _set_proposed(db: Any, run_id: str, pending: dict[str, int]) -> None:
    if pending:
        db.execute("update proposal_runs set proposed = ? where run_id = ?", [json.dumps(pending), run_id])
    else:
        db.execute("delete from proposal_runs where run_id = ?", [run_id])


def next_trade_number(db: Any) -> int:
    """The number of the next trade id: after every ``trades`` row and every stored chunk."""
    (rows,) = db.execute("select max(cast(substr(trade_id, 3) as integer)) from trades").fetchone()
    (chunks,) = db.execute("select max(first_trade + trades) from proposal_chunks").fetchone()
    return max((rows or 0) + 1, chunks or 1)


# ---------------------------------------------------------------- reading pending trades


@attrs.frozen
class _Status:
    """What a ``trades`` row of a pending trade would say of its decision."""

    status: str
    note: str | None = None
    decided_at: str | None = None


_PROPOSED = _Status("proposed")


def pending_trades(db: Any, *, status: str | None = None, run_id: str | None = None,
                   trade_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The pending trades (of the given status, run and ids) as ``stored_trades`` rows
    (:data:`STORED_COLUMNS`), newest run first, then in trade order."""
    if status not in (None, "proposed", "cancelled"):
        return []
    pending = _Pending(db)
    rows = pending.rows(status, run_id, _numbers(trade_ids) if trade_ids else None)
    return [dict(zip(STORED_COLUMNS, (*row[:8], s.status, *row[9:12], None, s.decided_at, s.note, None, None, None,
                                      row[12], 0, actor, as_of)))
            for s, (actor, as_of), row in rows]


def materialize(db: Any, *, trade_ids: Sequence[str] = (), sleeve_id: str | None = None,
                decision: tuple[str, str, str, str | None] | None = None) -> set[str]:
    """Write the still-proposed pending trades of the sleeves of ``trade_ids`` (or of ``sleeve_id``) as
    rows of ``trades``, as ``record_run`` wrote them before, and take those sleeves off their runs'
    pending ones. With a ``decision`` (status, decided_by, decided_at, note), the rows of ``trade_ids``
    are written with it; the ids so written."""
    pending = _Pending(db)
    if sleeve_id is not None:
        groups = {(run, sleeve_id) for (run,) in db.execute(
            "select run_id from proposal_runs, json_each(proposed) where json_each.key = ?", [sleeve_id])}
    else:
        groups = {g for g in pending.groups(_numbers(trade_ids)) if pending.status(*g) is _PROPOSED}
    chosen = set(trade_ids) if decision is not None else set()
    decided = set()

    def row(made: tuple) -> tuple:
        if made[0] in chosen:
            decided.add(made[0])
            return (*made[:8], decision[0], *made[9:], *decision[1:])
        return (*made, None, None, None)

    columns = (*ROW_COLUMNS, "decided_by", "decided_at", "note")
    db.conn.executemany(f"insert into trades ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
                        (row(made) for _, _, made in pending.rows("proposed", None, None, groups)))
    for run, sleeves in itertools.groupby(sorted(groups), key=lambda g: g[0]):
        proposed = pending.state(run)[0]
        for _, sleeve in sleeves:
            proposed.pop(sleeve, None)
        _set_proposed(db, run, proposed)
    return decided


def _numbers(trade_ids: Iterable[str]) -> np.ndarray:
    """The numbers of trade ids ``T-<number>`` (sorted; other ids name no pending trade)."""
    return np.array(sorted({int(t[2:]) for t in trade_ids if t.startswith("T-") and t[2:].isdigit()}), dtype=np.int64)


class _Pending:
    """The store's pending trades: the chunks (each unpacked once, when first needed) and the status
    of their runs' sleeves (each run's read once, when first needed)."""

    def __init__(self, db: Any):
        self.db = db
        extents = db.execute("select first_trade, trades, run_id from proposal_chunks order by first_trade").fetchall()
        self.first = np.array([e[0] for e in extents], dtype=np.int64)
        self.size = np.array([e[1] for e in extents], dtype=np.int64)
        self.run = [e[2] for e in extents]
        self.with_status = {
            "proposed": {run for (run,) in db.execute("select run_id from proposal_runs")},
            "cancelled": {run for (run,) in db.execute("select distinct run_id from proposal_cancels")}}
        self.states: dict[str, tuple[dict[str, int], dict[str, _Status], tuple[str, str, str]]] = {}
        self.sleeves: dict[int, list[str]] = {}
        self.unpacked: dict[int, Proposals] = {}

    def state(self, run: str) -> tuple[dict[str, int], dict[str, _Status], tuple[str, str, str]]:
        """A run's sleeves still proposed (their pending trades), those cancelled, and its actor,
        as-of and time."""
        if run not in self.states:
            proposed = self.db.execute("select proposed from proposal_runs where run_id = ?", [run]).fetchone()
            cancelled: dict[str, _Status] = {}
            for sleeves, note, at in self.db.execute("select sleeves, note, decided_at from proposal_cancels"
                                                     " where run_id = ? order by rowid", [run]):
                status = _Status("cancelled", note, at)
                cancelled.update((s, status) for s in json.loads(sleeves))
            about = self.db.execute("select actor, as_of, created_at from runs where run_id = ?", [run]).fetchone()
            self.states[run] = (json.loads(proposed[0]) if proposed else {}, cancelled, tuple(about))
        return self.states[run]

    def status(self, run: str, sleeve: str) -> _Status | None:
        """The status of a sleeve's pending trades in a run (None: written as rows, or none)."""
        proposed, cancelled, _ = self.state(run)
        return _PROPOSED if sleeve in proposed else cancelled.get(sleeve)

    def chunk_sleeves(self, index: int) -> list[str]:
        """The sleeves a chunk's trades are for (sorted: its sleeve codes index them)."""
        if index not in self.sleeves:
            (sleeves,) = self.db.execute("select sleeves from proposal_chunks where first_trade = ?",
                                         [int(self.first[index])]).fetchone()
            self.sleeves[index] = json.loads(sleeves)
        return self.sleeves[index]

    def chunk(self, index: int) -> Proposals:
        """A chunk's proposals."""
        if index not in self.unpacked:
            first = int(self.first[index])
            (data,) = self.db.execute("select data from proposal_chunks where first_trade = ?", [first]).fetchone()
            self.unpacked[index] = unpack(data, self.chunk_sleeves(index), self.run[index], first)
        return self.unpacked[index]

    def holding(self, numbers: np.ndarray) -> np.ndarray:
        """The chunk of each number (-1: none)."""
        if not len(self.first):
            return np.full(len(numbers), -1)
        at = np.searchsorted(self.first, numbers, side="right") - 1
        return np.where((at >= 0) & (numbers < self.first[at.clip(min=0)] + self.size[at.clip(min=0)]), at, -1)

    def groups(self, numbers: np.ndarray) -> set[tuple[str, str]]:
        """(run, sleeve) of each trade numbered ``numbers`` (sorted)."""
        found = set()
        for index in np.unique(self.holding(numbers)).tolist():
            if index >= 0:
                codes = np.unique(self.chunk(index).sleeve[self.rows_of(index, numbers)])
                found |= {(self.run[index], self.chunk_sleeves(index)[c]) for c in codes.tolist()}
        return found

    def rows_of(self, index: int, numbers: np.ndarray) -> np.ndarray:
        """The rows of chunk ``index`` numbered ``numbers`` (sorted)."""
        first = self.first[index]
        return numbers[slice(*np.searchsorted(numbers, [first, first + self.size[index]]))] - first

    def rows(self, status: str | None, run_id: str | None, numbers: np.ndarray | None,
             groups: set[tuple[str, str]] | None = None) -> Iterator[tuple[_Status, tuple[str, str], tuple]]:
        """(status, the run's actor and as-of, the ``trades`` row ``record_run`` made) of each pending trade
        of the given status, run, numbers and (run, sleeve) groups, newest run first, then in trade order."""
        runs = set().union(*(runs for name, runs in self.with_status.items() if status in (None, name)))
        runs &= {run_id} if run_id is not None else runs
        runs &= {run for run, _ in groups} if groups is not None else runs
        chunks = range(len(self.first)) if numbers is None else np.unique(self.holding(numbers)).tolist()
        for index in sorted((i for i in chunks if i >= 0 and self.run[i] in runs), key=lambda i: (self.run[i], -i),
                            reverse=True):
            run = self.run[index]
            sleeves = self.chunk_sleeves(index)
            statuses = [self.status(run, s) for s in sleeves]
            wanted = np.array([s is not None and (status is None or s.status == status)
                               and (groups is None or (run, sleeve) in groups)
                               for s, sleeve in zip(statuses, sleeves)], dtype=bool)
            if not wanted.any():
                continue
            p = self.chunk(index)
            chosen = wanted[p.sleeve]
            if numbers is not None:
                numbered = np.zeros(len(p), dtype=bool)
                numbered[self.rows_of(index, numbers)] = True
                chosen &= numbered
            actor, as_of, created = self.state(run)[2]
            by_sleeve = dict(zip(sleeves, statuses))
            for start, stop in _ranges(chosen):
                for row in p.window(start, stop).trade_rows("proposed", created):
                    yield by_sleeve[row[3]], (actor, as_of), row


def _ranges(chosen: np.ndarray) -> list[tuple[int, int]]:
    """The (start, stop) of each run of true values."""
    edges = np.flatnonzero(np.diff(np.r_[False, chosen, False].astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))
