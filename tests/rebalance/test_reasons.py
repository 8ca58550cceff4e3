"""A run's reasons over columns are what the per-sleeve reference (the former per-object code) says."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from smartx_engine.dsl import ast, fmt
from smartx_engine.dsl.frame import Frame
from smartx_engine.rebalance.details import _at, _replaced, citation, reasons, rows_of
from smartx_engine.rebalance.generate import Blocks, CashEvents, generate_trades
from tests.rebalance.test_generate import (
    PROPERTY, buy_blocks, cash_events, evaluate_text, rebalance_books, rebalance_policies,
)


# ---------------------------------------------------------------- the reference: one sleeve, one row at a time


def sleeve_reasons(trades, sleeve, frame, events, cite) -> list[str]:
    """Why a sleeve trades: a cash event, its out-of-band holdings, fired triggers, cash limits, `sell to` rules."""
    evaluation = trades.evaluation
    book, policy = evaluation.book, evaluation.policy
    path = policy.resolved.path
    weight, target = frame.column("holding", "weight"), frame.column("holding", "target")
    first, last = rows_of(book.holding_sleeve, sleeve)
    own = np.arange(first, last)
    result = []
    if events.withdraw[sleeve] > 0:
        result.append(f"raising {events.withdraw[sleeve]:,.2f} USD for a withdrawal (its pro-rata share)")
    if events.invest[sleeve]:
        result.append("investing its cash (buys only)")
    for h in own[evaluation.out_of_band[first:last]]:
        for out, band in ((evaluation.out_abs, evaluation.band_abs), (evaluation.out_rel, evaluation.band_rel)):
            if out[h]:
                statement = policy.bands[band[h]].statement
                result.append(f"{book.symbols[book.holding_symbol[h]]} {weight[h]:.2%} vs target {target[h]:.2%} "
                              f"breaks {cite(statement)}")
    result += [cite(t) for t, mask in evaluation.triggers if mask[sleeve]]
    result += model_change_reasons(evaluation, sleeve)
    cash_weight = frame.column("sleeve", "cash_weight")[sleeve]
    settings = policy.settings
    if evaluation.cash_low[sleeve]:
        result.append(f"cash {cash_weight:.2%} below the minimum {settings.cash_min:.2%}")
    if evaluation.cash_high[sleeve]:
        result.append(f"cash {cash_weight:.2%} above the maximum {settings.cash_max:.2%}")
    capped = evaluation.sell_rule[first:last]
    for index in sorted(set(capped[capped >= 0].tolist())):
        rule = policy.rules[index][0]
        result.append(f"rule {rule.name.value!r} ({_at(path, rule)})")
    return result


def model_change_reasons(evaluation, sleeve) -> list[str]:
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


def holding_reasons(trades, rows, events, replaced) -> np.ndarray:
    """What set each trade's target weight: one text per distinct (kind, code, target) row."""
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


def reference_reasons(trades, events, blocks) -> list[list[str]]:
    book = trades.evaluation.book
    events = events or CashEvents.none(book.n_sleeves)
    frame, cite = Frame(book), citation(trades.evaluation.policy.resolved.path)
    rows = np.arange(len(trades))
    sleeves = book.holding_sleeve[trades.holding]
    replaced = _replaced(trades, np.unique(sleeves), blocks or Blocks.none())
    heads = holding_reasons(trades, rows, events, replaced)
    return [[h, *sleeve_reasons(trades, int(s), frame, events, cite)] for h, s in zip(heads, sleeves.tolist())]


# ---------------------------------------------------------------- the tests


@PROPERTY
@given(body=rebalance_policies(), book=rebalance_books(), data=st.data())
def test_the_reasons_over_columns_are_the_references(body, book, data):
    evaluation = evaluate_text(body, book)
    events, blocks = data.draw(cash_events(book)), data.draw(buy_blocks(book))
    trades = generate_trades(evaluation, events, blocks)
    assert reasons(trades, events, blocks) == reference_reasons(trades, events, blocks), body
