"""Lot relief over columns agrees with the exact per-sell relief (smartx_engine.tax.relieve)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartx_engine.rebalance.details import relieved_lots
from smartx_engine.rebalance.generate import generate_trades
from smartx_engine.rebalance.lots import relieve_columns
from tests.rebalance.test_generate import evaluate_text, rebalance_books


@pytest.mark.parametrize("method", ["FIFO", "LIFO", "HIFO", "LOFO", "MIN_TAX"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=rebalance_books(), avoid=st.sampled_from(["", "avoid short term gains"]))
def test_columns_relieve_the_lots_the_exact_relief_does(method, book, avoid):
    evaluation = evaluate_text(f"trigger when true\nshares fractional 3\nlots {method}\n{avoid}", book)
    trades = generate_trades(evaluation)
    columns = relieve_columns(trades)
    lots = trades.evaluation.book.lot_ids
    for row in np.flatnonzero(trades.side < 0):
        held = trades.evaluation.book.lot_holding == trades.holding[row]
        if not held.any():
            continue  # a position without lots
        exact = [(r.lot_id, r.quantity, r.gain) for r in relieved_lots(trades, row, book.as_of)]
        mine = [(str(lots[lot]), q, g) for lot, q, g in zip(columns.lot[columns.trade == row],
                                                            columns.quantity[columns.trade == row],
                                                            columns.gain[columns.trade == row])]
        assert [lot for lot, _, _ in mine] == [lot for lot, _, _ in exact], (method, trades.price[row], trades.quantity[row], book.symbol_price, book.holding_symbol, book.lot_cost, book.lot_quantity)
        for (_, q, g), (_, eq, eg) in zip(mine, exact):
            assert abs(Decimal(repr(float(q))) - eq) <= Decimal("0.000002")
            assert abs(Decimal(repr(float(g))) - eg) <= Decimal("0.02") + abs(eg) * Decimal("1e-9")


@given(sizes=st.lists(st.integers(1, 20), min_size=0, max_size=30), data=st.data())
def test_sorting_within_groups_equals_a_stable_lexsort(sizes, data):
    from smartx_engine.rebalance.lots import sort_within

    groups = np.repeat(np.arange(len(sizes)), sizes)
    keys = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, -3.0]), min_size=len(groups),
                                       max_size=len(groups))), dtype=float)
    np.testing.assert_array_equal(sort_within(groups, [keys], small=8), np.lexsort((keys, groups)))


@pytest.mark.parametrize("method", ["FIFO", "LIFO", "HIFO", "LOFO", "MIN_TAX"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(book=rebalance_books(), avoid=st.sampled_from(["", "avoid short term gains"]), data=st.data())
def test_exact_columns_relieve_exactly_what_relieve_does(method, book, avoid, data):
    from smartx_engine.rebalance.lots import relieve_exact

    evaluation = evaluate_text(f"trigger when true\nshares fractional 3\nlots {method}\n{avoid}", book)
    trades = generate_trades(evaluation)
    with_lots = [row for row in range(len(trades))
                 if trades.side[row] > 0 or (trades.evaluation.book.lot_holding == trades.holding[row]).any()]
    rows = np.array(data.draw(st.lists(st.sampled_from(with_lots), unique=True).map(sorted)) if with_lots else [],
                    dtype=np.int64)
    columns = relieve_exact(trades, rows, book.as_of)
    bounds = columns.bounds(len(rows))
    for i, row in enumerate(rows):
        assert columns.reliefs(bounds[i], bounds[i + 1]) == relieved_lots(trades, int(row), book.as_of)
