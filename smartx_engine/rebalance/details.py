"""What a proposed trade needs beside its quantity: its reasons and the lots a sell relieves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import numpy as np

from ..book import Book
from ..dsl import ast, fmt
from ..dsl.compile import CompiledPolicy, PolicyEvaluation
from ..fixedpoint import QUANTITY, round_money
from ..tax.relief import OpenLot, Relief, relieve
from .generate import Blocks, CashEvents, TradeSet, restricted_buys, substitutes_of


def rows_of(owners: np.ndarray, owner: int) -> tuple[int, int]:
    """The rows of ``owner`` in a sorted owner column (searched with the column's own dtype: no copy)."""
    keys = np.array([owner, owner + 1], dtype=owners.dtype)
    first, last = np.searchsorted(owners, keys)
    return int(first), int(last)


def spans(first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The indices ``first[i]:last[i]`` of every ``i``, one ``i`` after the other; the ``i`` of each; the counts."""
    count = (last - first).astype(np.int64)
    return (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count - first, count),
            np.repeat(np.arange(len(count)), count), count)


def rows_of_each(owners: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`rows_of` of each of ``keys``, one after the other (see :func:`spans`)."""
    keys = np.asarray(keys).astype(owners.dtype)
    return spans(np.searchsorted(owners, keys), np.searchsorted(owners, keys, side="right"))


def distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values (sorted) and each value's index among them: by runs when ``values`` are
    sorted (a run's sleeves, holdings), else as :func:`numpy.unique` finds them."""
    if len(values) and np.all(values[1:] >= values[:-1]):
        new = np.r_[True, values[1:] != values[:-1]]
        return values[new], np.cumsum(new) - 1
    found, index = np.unique(values, return_inverse=True)
    return found, index.reshape(-1)


def dense_codes(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`distinct` of integer ``keys`` in ``range(size)``: by marking them (no sort) when that
    range is not much larger than the keys."""
    if size > 8 * len(keys) + 1024:
        return distinct(keys)
    seen = np.zeros(size, dtype=bool)
    seen[keys] = True
    return np.flatnonzero(seen), (np.cumsum(seen) - 1)[keys]


def joined_runs(joined: np.ndarray) -> list[tuple[int, int]]:
    """The runs of items each joined to the next (``joined[i]``: item ``i`` is joined to item ``i + 1``),
    as (first, last) bounds of the items."""
    at = np.flatnonzero(joined)
    if not len(at):
        return []
    breaks = np.flatnonzero(np.diff(at) > 1)
    starts, ends = np.r_[at[0], at[breaks + 1]], np.r_[at[breaks], at[-1]]
    return list(zip(starts.tolist(), (ends + 2).tolist()))


def _at(path: str, statement: ast.Statement) -> str:
    return f"{path}:{statement.span.line}"


def citation(path: str) -> Callable[[ast.Statement], str]:
    """```statement`` (path:line)`` of a policy's statements, each written once."""
    written: dict[int, str] = {}

    def cite(statement: ast.Statement) -> str:
        text = written.get(id(statement))
        if text is None:
            text = written[id(statement)] = f"`{fmt.statement(statement)}` ({_at(path, statement)})"
        return text
    return cite


#: the texts of 0.00% to 100.00%, by hundredths of a percent
_PERCENTS = [f"{i // 100}.{i % 100:02d}%" for i in range(10001)]


def percent_texts(values: np.ndarray) -> list[str]:
    """Each float as ``f"{value:.2%}"`` writes it, looked up by its hundredths of a percent.

    Python's format multiplies the float by 100 and rounds that exactly (half to even); the float
    product times 100 is within 10**-11 of the exact one up to 100%, so its nearest integer is the
    rounding wherever it is not within a millionth of a half. Those, negatives, values past 100%
    and NaN are formatted by Python."""
    with np.errstate(invalid="ignore", over="ignore"):
        percent = np.asarray(values, dtype=np.float64) * 100.0
        hundredths = percent * 100.0
        rounded = np.rint(hundredths)
        looked_up = (np.abs(hundredths - rounded) < 0.5 - 1e-6) & (rounded <= 10000) & ~np.signbit(percent)
    texts = [_PERCENTS[i] for i in np.where(looked_up, rounded, 0).astype(np.int64).tolist()]
    for i in np.flatnonzero(~looked_up).tolist():
        texts[i] = f"{values[i]:.2%}"
    return texts


def sleeve_values(book: Book, sleeves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The holdings of ``sleeves`` (see :func:`rows_of_each`: the rows, and each one's sleeve among
    ``sleeves``), their values, and the sleeves' values, as the policies' frame computes them (the
    holdings' values summed in holding order, then the cash added), for those sleeves only."""
    holdings, owner, _ = rows_of_each(book.holding_sleeve, sleeves)
    value = book.holding_quantity[holdings] * book.symbol_price[book.holding_symbol[holdings]]
    return holdings, owner, value, np.bincount(owner, weights=value, minlength=len(sleeves)) + book.sleeve_cash[sleeves]


def sleeve_reason_lists(trades: TradeSet, sleeves: np.ndarray, events: CashEvents,
                        cite: Callable[[ast.Statement], str] | None = None) -> list[tuple[str, ...]]:
    """Why each of ``sleeves`` (sorted) trades, in this order: a cash event, its out-of-band holdings
    (by holding, the absolute band first), fired triggers, a model change, cash limits, `sell to` rules.

    Made over columns: each kind of reason for every sleeve at once (the numbers formatted as
    columns), then put in order by (sleeve, kind, place within the kind)."""
    evaluation = trades.evaluation
    book, policy = evaluation.book, evaluation.policy
    path, settings = policy.resolved.path, policy.settings
    cite = cite or citation(path)
    keys: list[np.ndarray] = []  # per kind: (sleeve position, kind, place within the kind) of each text
    texts: list[str] = []

    def add(at: np.ndarray, kind: int, within: np.ndarray | int, made: list[str]) -> None:
        keys.append(np.stack([at, np.full(len(at), kind), np.broadcast_to(within, at.shape)]).astype(np.int64))
        texts.extend(made)

    withdraw = np.flatnonzero(events.withdraw[sleeves] > 0)
    add(withdraw, 0, 0, [f"raising {w:,.2f} USD for a withdrawal (its pro-rata share)"
                         for w in events.withdraw[sleeves[withdraw]]])
    invest = np.flatnonzero(events.invest[sleeves])
    add(invest, 1, 0, ["investing its cash (buys only)"] * len(invest))
    holding, owner, value, sleeve_value = sleeve_values(book, sleeves)
    with np.errstate(divide="ignore", invalid="ignore"):  # as the frame divides (NaN for an empty sleeve)
        weight, cash_weight = value / sleeve_value[owner], book.sleeve_cash[sleeves] / sleeve_value
    target = book.holding_target[holding]
    for side, (out, band) in enumerate(((evaluation.out_abs, evaluation.band_abs),
                                        (evaluation.out_rel, evaluation.band_rel))):
        rows = np.flatnonzero(out[holding])
        h = holding[rows]
        cites = {b: cite(policy.bands[b].statement) for b in np.unique(band[h]).tolist()}
        add(owner[rows], 2, 2 * rows + side,
            [f"{s} {w} vs target {t} breaks {cites[b]}" for s, w, t, b in
             zip(book.symbols[book.holding_symbol[h]].tolist(), percent_texts(weight[rows]),
                 percent_texts(target[rows]), band[h].tolist())])
    for i, (trigger, mask) in enumerate(evaluation.triggers):
        fired = np.flatnonzero(mask[sleeves])
        add(fired, 3, i, [cite(trigger)] * len(fired))
    add(*_model_changes(evaluation, sleeves))
    for kind, (fired, words, limit) in enumerate(((evaluation.cash_low, "below the minimum", settings.cash_min),
                                                  (evaluation.cash_high, "above the maximum", settings.cash_max))):
        at = np.flatnonzero(fired[sleeves])
        add(at, 5 + kind, 0, [f"cash {w} {words} {limit:.2%}" for w in percent_texts(cash_weight[at])])
    capped = np.flatnonzero(evaluation.sell_rule[holding] >= 0)
    n_rules = max(len(policy.rules), 1)
    pairs = distinct(np.sort(owner[capped].astype(np.int64) * n_rules + evaluation.sell_rule[holding[capped]]))[0]
    rules = {r: f"rule {policy.rules[r][0].name.value!r} ({_at(path, policy.rules[r][0])})"
             for r in np.unique(pairs % n_rules).tolist()}
    add(pairs // n_rules, 7, pairs % n_rules, [rules[r] for r in (pairs % n_rules).tolist()])
    at, kind, within = np.concatenate(keys, axis=1)
    # one key: each kind's texts come sorted, so a merge sort of their runs puts them in order
    order = np.argsort((at * 8 + kind) * (int(within.max(initial=0)) + 1) + within, kind="stable")
    ordered = np.array(texts, dtype=object)[order].tolist()
    bounds = np.searchsorted(at[order], np.arange(len(sleeves) + 1)).tolist()
    return [tuple(ordered[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _model_changes(evaluation: PolicyEvaluation, sleeves: np.ndarray) -> tuple[np.ndarray, int, int, list[str]]:
    """``model change MODEL V1 → V2`` of each of ``sleeves`` whose model changed, and whether the policy
    realigns it: (their positions, the kind's place among a sleeve's reasons, 0, the texts)."""
    book, policy = evaluation.book, evaluation.policy
    changes = book.sleeve_model_change[sleeves]
    at = np.flatnonzero(np.array([bool(c) for c in changes.tolist()], dtype=bool))
    statement = policy.resolved.first(ast.Realign)
    realigned = f"(`{fmt.statement(statement)}`, {_at(policy.resolved.path, statement)})" if statement else ""
    texts = []
    for change, move, realign in zip(changes[at].tolist(), percent_texts(book.sleeve_model_move[sleeves[at]]),
                                     evaluation.realign[sleeves[at]].tolist()):
        if realign:
            texts.append(f"model change {change}: realigned to target, largest weight move {move} {realigned}")
        else:
            texts.append(f"model change {change}: largest weight move {move}, "
                         + ("within the realignment threshold: " if statement else "") + "its bands decide")
    return at, 4, 0, texts


def holding_reasons(trades: TradeSet, rows: np.ndarray, events: CashEvents, replaced: dict[tuple[int, int], str],
                    traded: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """What set each trade's target weight (and where its sleeve's target came from, when it is more
    than one model's weights), for ``rows`` of the trade set (``traded``: their sleeves, sorted;
    ``owner``: each row's among them): one text per distinct reason, shared."""
    if not len(rows):
        return np.empty(0, dtype=object)
    policy, book = trades.evaluation.policy, trades.evaluation.book
    kind, rule, sleeve, symbol, target = head_kinds(trades, rows, events, replaced)
    codes: dict[str, int] = {}  # the sleeves' target notes, numbered
    note = np.array([codes.setdefault(n, len(codes)) for n in book.sleeve_target_note[traded].tolist()],
                    dtype=np.int64)[owner]
    notes = list(codes)
    code = np.where(kind == 0, rule, note)
    if np.any(np.signbit(target) & (target == 0)):  # -0.0 shares a text with 0.0 as numpy's unique of rows finds it
        distinct, which = np.unique(np.stack([kind, code, target]).T, axis=0, return_inverse=True)
        kinds, codes_, targets = distinct.T
    else:  # the distinct (kind, code, target) by integer keys, the targets by their bits
        values, value = np.unique(target.view(np.int64), return_inverse=True)
        n_codes = max(len(notes), len(policy.rules), 1)
        present, which = dense_codes((kind * n_codes + code) * len(values) + value.reshape(-1),
                                     4 * n_codes * len(values))
        kinds, codes_ = np.divmod(present // len(values), n_codes)
        targets = values.view(np.float64)[present % len(values)]
    heads = np.array([head_text(policy, notes, k, c, t) for k, c, t in
                      zip(kinds.astype(np.int64).tolist(), codes_.astype(np.int64).tolist(), targets.tolist())],
                     dtype=object)[which.reshape(-1)]
    for row in np.flatnonzero(kind == 1).tolist():
        heads[row] = f"to {target[row]:.2%}, in place of {replaced[int(sleeve[row]), int(symbol[row])]}"
    return heads


def head_kinds(trades: TradeSet, rows: np.ndarray, events: CashEvents, replaced: dict[tuple[int, int], str]
               ) -> tuple[np.ndarray, ...]:
    """What set the target of each of ``rows``: its kind (0: a `sell to` rule, 1: in place of a
    security it stands in for, 2: the edge of its band, 3: its target), the rule, and the rows'
    sleeves, symbols and target weights."""
    evaluation = trades.evaluation
    policy, book = evaluation.policy, evaluation.book
    holding, target = trades.holding[rows], trades.target_weight[rows].astype(np.float64)
    sleeve, symbol = book.holding_sleeve[holding], book.holding_symbol[holding]
    rule = evaluation.sell_rule[holding]
    by_rule = (rule >= 0) & np.isclose(target, evaluation.sell_to[holding])
    keys = sleeve.astype(np.int64) * len(book.symbols) + symbol
    in_place = (~by_rule & (trades.side[rows] > 0)
                & np.isin(keys, np.array([s * len(book.symbols) + c for s, c in replaced], dtype=np.int64)))
    band = (~by_rule & ~in_place & (policy.settings.rebalance_to == "band") & evaluation.sleeve_out_of_band[sleeve]
            & ~events.any[sleeve])
    return np.select([by_rule, in_place, band], [0, 1, 2], 3), rule, sleeve, symbol, target


def head_text(policy: CompiledPolicy, notes: list[str], kind: int, code: int, target: float) -> str:
    """The text of a head of :func:`head_kinds`'s ``kind`` (``code``: its rule, or its sleeve's note in ``notes``)."""
    origin = f" ({notes[code]})" if kind > 1 and notes[code] else ""
    if kind == 0:
        rule = policy.rules[code][0]
        return f"sell to {target:.2%}: rule {rule.name.value!r} ({_at(policy.resolved.path, rule)})"
    if kind == 2:
        return f"to the edge of its band, {target:.2%}{origin}"
    return f"to target {target:.2%}{origin}"


def _replaced(trades: TradeSet, sleeves: np.ndarray, blocks: Blocks) -> dict[tuple[int, int], str]:
    """(sleeve, substitute symbol code) -> the securities it stands in for, and why, in words."""
    book, settings = trades.evaluation.book, trades.evaluation.policy.settings
    if not settings.substitutes:
        return {}
    rows, _, _ = rows_of_each(book.holding_sleeve, sleeves)
    rows = rows[restricted_buys(trades.evaluation, blocks, rows)]
    washes = blocks.washes(book, book.holding_sleeve[rows], book.holding_symbol[rows])
    restricted = blocks.restricted(book, book.holding_sleeve[rows], book.holding_symbol[rows])
    path = trades.evaluation.policy.resolved.path
    replaced: dict[tuple[int, int], list[str]] = {}
    for h, substitute, wash, account in zip(rows, substitutes_of(book, settings, blocks, rows), washes, restricted):
        if substitute >= 0:
            why = ("restricted in its account" if account else "a purchase would wash a recent loss" if wash
                   else f"`restrict buy`, {path}")
            replaced.setdefault((int(book.holding_sleeve[h]), int(substitute)), []).append(
                f"{book.symbols[book.holding_symbol[h]]} ({why})")
    return {key: ", ".join(symbols) for key, symbols in replaced.items()}


def reason_columns(trades: TradeSet, rows: np.ndarray, events: CashEvents | None = None,
                   blocks: Blocks | None = None) -> tuple[np.ndarray, np.ndarray, list[tuple[str, ...]]]:
    """The reasons of ``rows`` of the trade set as columns: what set each one's target (a text per
    row, shared), and the index into the list of its sleeve's reasons (why the sleeve trades)."""
    book = trades.evaluation.book
    events = events or CashEvents.none(book.n_sleeves)
    traded, tail = distinct(book.holding_sleeve[trades.holding[rows]])
    cite = citation(trades.evaluation.policy.resolved.path)
    tails = sleeve_reason_lists(trades, traded, events, cite)
    replaced = _replaced(trades, traded, blocks or Blocks.none())
    tail = tail.reshape(-1).astype(np.int64)
    return holding_reasons(trades, rows, events, replaced, traded, tail), tail, tails


def reasons(trades: TradeSet, events: CashEvents | None = None, blocks: Blocks | None = None) -> list[list[str]]:
    """Every trade's reasons: what set its target, then why its sleeve trades."""
    head, tail, tails = reason_columns(trades, np.arange(len(trades)), events, blocks)
    return [[h, *tails[t]] for h, t in zip(head, tail)]


def book_quantity(value: float) -> Decimal:
    """A float64 quantity of the book as the Decimal it stands for, to the millionth."""
    return Decimal(repr(float(value))).quantize(QUANTITY.unit)


def book_decimal(value: float) -> Decimal:
    """A float64 of the book as the Decimal it was written as (its shortest repr)."""
    return Decimal(repr(float(value)))


def open_lot(book: Book, lot: int) -> OpenLot:
    """Lot ``lot`` of the book as exact relief reads it (basis to the cent)."""
    return OpenLot(book.lot_id(lot), book_quantity(book.lot_quantity[lot]),
                   round_money(book_decimal(book.lot_cost[lot])), book.lot_acquired[lot].astype(dt.date))


def sale_lots(trades: TradeSet, row: int) -> list[OpenLot]:
    """The lots a sell of the trade set may relieve: the holding's, less those `avoid short term gains` keeps."""
    book = trades.evaluation.book
    first, last = rows_of(book.lot_holding, trades.holding[row])  # the holding's lots
    return [open_lot(book, i) for i in range(first, last) if not trades.evaluation.avoid_short_term[i]]


def account_rates(trades: TradeSet, row: int) -> tuple[Decimal, Decimal]:
    """The (short-term, long-term) tax rates of the trade's account."""
    book = trades.evaluation.book
    account = book.sleeve_account[book.holding_sleeve[trades.holding[row]]]
    return book_decimal(book.account_st_rate[account]), book_decimal(book.account_lt_rate[account])


def relieved_lots(trades: TradeSet, row: int, as_of: dt.date) -> list[Relief]:
    """The lots a sell of the trade set relieves: by the policy's ``lots`` method, with the
    account's short- and long-term rates for ``MIN_TAX`` (:func:`smartx_engine.tax.relieve`);
    lots the policy's `avoid short term gains` marks are never sold."""
    if trades.side[row] > 0:
        return []
    return relieve(sale_lots(trades, row), book_quantity(trades.quantity[row]), book_decimal(trades.price[row]), as_of,
                   trades.evaluation.policy.settings.lot_method, rates=account_rates(trades, row))
