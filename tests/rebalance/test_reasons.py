"""A run's reasons over columns are what the per-sleeve reference (the former per-object code) says."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from smartx_engine.dsl import ast, fmt
from smartx_engine.dsl.frame import Frame
from smartx_engine.rebalance.details import (
    _at, _replaced, citation, head_kinds, head_text, percent_texts, reasons, rows_of,
)
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
    """What set each trade's target weight: one text per distinct (kind, code, target) row, as numpy finds them."""
    policy, book = trades.evaluation.policy, trades.evaluation.book
    kind, rule, sleeve, symbol, target = head_kinds(trades, rows, events, replaced)
    notes, note = np.unique(np.asarray(book.sleeve_target_note[sleeve], dtype=str), return_inverse=True)
    parts = np.stack([kind, np.where(kind == 0, rule, note.reshape(-1)), target]) if len(rows) else np.empty((3, 0))
    distinct, which = np.unique(parts.T, axis=0, return_inverse=True)
    heads = np.array([head_text(policy, notes, int(k), int(c), t) for k, c, t in distinct],
                     dtype=object)[which.reshape(-1)]
    for row in np.flatnonzero(kind == 1).tolist():
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


@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-2, 2),
                          st.integers(-10 ** 6, 10 ** 6).map(lambda i: i / 10 ** 5),
                          st.sampled_from([0.0, -0.0, 0.125, 0.000125, 0.00005, 1e-9, -1e-9, 0.1 + 0.2, 1.0, 1.00005])),
                max_size=30))
def test_percent_texts_are_what_python_formats(values):
    assert percent_texts(np.array(values, dtype=np.float64)) == [f"{v:.2%}" for v in values]
