"""What a proposed trade needs beside its quantity: its reasons and the lots a sell relieves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import numpy as np

from ..book import Book
from ..dsl import ast, fmt
from ..dsl.compile import PolicyEvaluation
from ..dsl.frame import Frame
from ..fixedpoint import QUANTITY, round_money
from ..tax.relief import OpenLot, Relief, relieve
from .generate import Blocks, CashEvents, TradeSet, restricted_buys, substitutes_of


def rows_of(owners: np.ndarray, owner: int) -> tuple[int, int]:
    """The rows of ``owner`` in a sorted owner column (searched with the column's own dtype: no copy)."""
    keys = np.array([owner, owner + 1], dtype=owners.dtype)
    first, last = np.searchsorted(owners, keys)
    return int(first), int(last)


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


def sleeve_reasons(trades: TradeSet, sleeve: int, frame: Frame, events: CashEvents,
                   cite: Callable[[ast.Statement], str] | None = None) -> list[str]:
    """Why a sleeve trades: a cash event, its out-of-band holdings, fired triggers, cash limits, `sell to` rules."""
    evaluation = trades.evaluation
    book, policy = evaluation.book, evaluation.policy
    path = policy.resolved.path
    cite = cite or citation(path)
    weight, target = frame.column("holding", "weight"), frame.column("holding", "target")
    first, last = rows_of(book.holding_sleeve, sleeve)  # the sleeve's holdings
    own = np.arange(first, last)
    reasons = []
    if events.withdraw[sleeve] > 0:
        reasons.append(f"raising {events.withdraw[sleeve]:,.2f} USD for a withdrawal (its pro-rata share)")
    if events.invest[sleeve]:
        reasons.append("investing its cash (buys only)")
    for h in own[evaluation.out_of_band[first:last]]:
        for kind, out, band in (("absolute", evaluation.out_abs, evaluation.band_abs),
                                ("relative", evaluation.out_rel, evaluation.band_rel)):
            if out[h]:
                statement = policy.bands[band[h]].statement
                reasons.append(f"{book.symbols[book.holding_symbol[h]]} {weight[h]:.2%} vs target {target[h]:.2%} breaks {cite(statement)}")
    reasons += [cite(t) for t, mask in evaluation.triggers if mask[sleeve]]
    reasons += model_change_reasons(evaluation, sleeve)
    cash_weight = frame.column("sleeve", "cash_weight")[sleeve]
    settings = policy.settings
    if evaluation.cash_low[sleeve]:
        reasons.append(f"cash {cash_weight:.2%} below the minimum {settings.cash_min:.2%}")
    if evaluation.cash_high[sleeve]:
        reasons.append(f"cash {cash_weight:.2%} above the maximum {settings.cash_max:.2%}")
    capped = evaluation.sell_rule[first:last]
    for index in sorted(set(capped[capped >= 0].tolist())):
        rule = policy.rules[index][0]
        reasons.append(f"rule {rule.name.value!r} ({_at(path, rule)})")
    return reasons


def model_change_reasons(evaluation: PolicyEvaluation, sleeve: int) -> list[str]:
    """``model change MODEL V1 → V2``, and whether the policy realigns the sleeve for it."""
    book, policy = evaluation.book, evaluation.policy
    change = book.sleeve_model_change[sleeve]
    if not change:
        return []
    move = f"largest weight move {book.sleeve_model_move[sleeve]:.2%}"
    statement = policy.resolved.first(ast.Realign)
    if evaluation.realign[sleeve]:
        return [f"model change {change}: realigned to target, {move} (`{fmt.statement(statement)}`, "
                f"{_at(policy.resolved.path, statement)})"]
    return [f"model change {change}: {move}, " + ("within the realignment threshold: " if statement else "")
            + "its bands decide"]


def holding_reasons(trades: TradeSet, rows: np.ndarray, events: CashEvents,
                    replaced: dict[tuple[int, int], str]) -> np.ndarray:
    """What set each trade's target weight (and where its sleeve's target came from, when it is more
    than one model's weights), for ``rows`` of the trade set: one text per distinct reason, shared."""
    evaluation = trades.evaluation
    policy, book, path = evaluation.policy, evaluation.book, evaluation.policy.resolved.path
    holding, target = trades.holding[rows], trades.target_weight[rows]
    sleeve, symbol = book.holding_sleeve[holding], book.holding_symbol[holding]
    rule = evaluation.sell_rule[holding]
    by_rule = (rule >= 0) & np.isclose(target, evaluation.sell_to[holding])
    keys = sleeve.astype(np.int64) * len(book.symbols) + symbol
    in_place = (~by_rule & (trades.side[rows] > 0)
                & np.isin(keys, np.array([s * len(book.symbols) + c for s, c in replaced], dtype=np.int64)))
    band = (~by_rule & ~in_place & (policy.settings.rebalance_to == "band") & evaluation.sleeve_out_of_band[sleeve]
            & ~events.any[sleeve])
    notes, note = np.unique(np.asarray(book.sleeve_target_note[sleeve], dtype=str), return_inverse=True)
    kind = np.select([by_rule, in_place, band], [0, 1, 2], 3)
    parts = np.stack([kind, np.where(by_rule, rule, note.reshape(-1)), target]) if len(rows) else np.empty((3, 0))
    distinct, which = np.unique(parts.T, axis=0, return_inverse=True)

    def text(kind: int, code: int, target: float) -> str:
        origin = f" ({notes[code]})" if kind > 1 and notes[code] else ""
        if kind == 0:
            rule = policy.rules[code][0]
            return f"sell to {target:.2%}: rule {rule.name.value!r} ({_at(path, rule)})"
        if kind == 2:
            return f"to the edge of its band, {target:.2%}{origin}"
        return f"to target {target:.2%}{origin}"
    heads = np.array([text(int(k), int(c), t) for k, c, t in distinct], dtype=object)[which.reshape(-1)]
    for row in np.flatnonzero(in_place).tolist():
        heads[row] = f"to {target[row]:.2%}, in place of {replaced[int(sleeve[row]), int(symbol[row])]}"
    return heads


def _replaced(trades: TradeSet, sleeves: np.ndarray, blocks: Blocks) -> dict[tuple[int, int], str]:
    """(sleeve, substitute symbol code) -> the securities it stands in for, and why, in words."""
    book, settings = trades.evaluation.book, trades.evaluation.policy.settings
    if not settings.substitutes:
        return {}
    rows = np.concatenate([np.arange(*rows_of(book.holding_sleeve, int(s))) for s in sleeves] or [np.empty(0, int)])
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
    frame = Frame(book)
    traded, tail = np.unique(book.holding_sleeve[trades.holding[rows]], return_inverse=True)
    cite = citation(trades.evaluation.policy.resolved.path)
    tails = [tuple(sleeve_reasons(trades, s, frame, events, cite)) for s in traded.tolist()]
    replaced = _replaced(trades, traded, blocks or Blocks.none())
    return holding_reasons(trades, rows, events, replaced), tail.reshape(-1).astype(np.int64), tails


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
