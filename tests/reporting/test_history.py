"""Daily valuations rolled back from today's lots and cash through the transactions (see
tests/data/books/history for the trades; every figure below is worked by hand)."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from smartx_engine.domain import Transaction, TransactionType
from smartx_engine.errors import DataError, NotFoundError
from smartx_engine.reporting.valuations import _values, build_history

D = dt.date


def figures(history, account_id, day):
    rows, i = history.rows(account_id=account_id), history.day(day)
    return tuple(int(a[rows, i].sum()) for a in (history.value_cents, history.cash_cents, history.flow_cents,
                                                 history.fee_cents, history.income_cents))


def test_each_day_is_valued_at_its_close_or_the_last_one_before_it(history_store):
    h = build_history(history_store, D(2026, 1, 2), D(2026, 2, 28))
    assert h.days == 58 and h.dates[0] == D(2026, 1, 2) and h.dates[-1] == D(2026, 2, 28)
    assert int(h.opening_cents.sum()) == 0  # nothing held before the first deposit
    # the deposit of 10,000 and 50 AAA bought at 100: 5,000 in AAA and 5,000 cash
    assert figures(h, "A-1", D(2026, 1, 2)) == (1_000_000, 500_000, 1_000_000, 0, 0)
    assert figures(h, "A-1", D(2026, 1, 3)) == (1_000_000, 500_000, 0, 0, 0)  # a Saturday: Friday's close
    # 50 AAA x 101.50 = 5,075 + 40 BBB x 50 = 2,000 + cash 3,000
    assert figures(h, "A-1", D(2026, 1, 5)) == (1_007_500, 300_000, 0, 0, 0)
    assert figures(h, "A-1", D(2026, 1, 15))[4] == 1_234  # the dividend
    # 50 AAA x 105 (15 Jan) = 5,250 + 40 BBB x 49.50 = 1,980 + cash 3,000 + 12.34 - 25 = 2,987.34
    assert figures(h, "A-1", D(2026, 1, 31)) == (1_021_734, 298_734, 0, -2_500, 0)
    # after the sell of 10 AAA (+1,100), a deposit (+1,000) and the withdrawal (-500):
    # 40 AAA x 109.33 = 4,373.20 + 1,980 + cash 4,587.34
    assert figures(h, "A-1", D(2026, 2, 20)) == (1_094_054, 458_734, -50_000, 0, 0)
    # today's lots and cash: 40 x 112 + 40 x 51 + 4,587.34
    assert figures(h, "A-1", D(2026, 2, 28)) == (1_110_734, 458_734, 0, 0, 0)
    aaa = h.symbols.index("AAA")
    assert int(h.holding_cents[h.rows(sleeve_id="A-1-CORE")[0], aaa, h.day(D(2026, 2, 20))]) == 437_320


def test_a_later_start_opens_with_the_value_of_the_day_before(history_store):
    h = build_history(history_store, D(2026, 2, 1), D(2026, 2, 28))
    rows = h.rows(household_id="HH-ABEL")
    # 31 Jan: A-1 10,217.34; A-2 10 BBB x 49.50 + 500 cash = 995
    assert int(h.opening_cents[rows].sum()) == 1_021_734 + 99_500
    assert [s.sleeve_id for s in h.sleeves] == ["A-1-CORE", "A-2-CORE"]
    assert h.sleeves[1].registration == "ira" and h.sleeves[0].model_id == "M-60"
    assert h.sleeves[0].target_kind == "model"


def test_a_history_of_some_sleeves(history_store):
    h = build_history(history_store, D(2026, 1, 5), D(2026, 1, 6), sleeve_ids=["A-2-CORE"])
    assert [s.sleeve_id for s in h.sleeves] == ["A-2-CORE"]
    assert h.value_cents.tolist() == [[100_000, 100_000]] and h.flow_cents.tolist() == [[100_000, 0]]
    with pytest.raises(NotFoundError, match="did you mean"):
        build_history(history_store, D(2026, 1, 5), D(2026, 1, 6), sleeve_ids=["A-2-COR"])


def test_transactions_that_do_not_reconcile_with_the_lots_are_an_error(history_store):
    history_store.record_transaction(Transaction("X-1", "A-1", "A-1-CORE", D(2026, 1, 6), TransactionType.BUY,
                                                 Decimal("-2500.00"), "BBB", Decimal(50), Decimal(50)))
    with pytest.raises(DataError, match="A-1-CORE's transactions do not reconcile with its lots: .* negative "
                                        "quantity of BBB on 2026-01-05"):
        build_history(history_store, D(2026, 1, 2), D(2026, 1, 31))
    build_history(history_store, D(2026, 1, 7), D(2026, 1, 31))  # the history after it is sound


def test_a_holding_without_a_close_yet_is_an_error(history_store):
    history_store.db.execute("delete from prices where symbol = 'AAA' and date = '2026-01-02'")
    with pytest.raises(DataError, match="no close for AAA on or before 2026-01-02, when sleeve A-1-CORE held it"):
        build_history(history_store, D(2026, 1, 1), D(2026, 1, 31))


def test_an_end_before_the_start_is_an_error(history_store):
    with pytest.raises(DataError, match="ends"):
        build_history(history_store, D(2026, 2, 1), D(2026, 1, 31))


def test_values_are_exact_and_rounded_half_even_to_the_cent():
    quantities = np.array([[500_000, 1_500_000, 2_500_000, 3]], dtype=np.int64)  # 0.5, 1.5, 2.5 shares; 3e-6
    closes = np.array([[10_000, 10_000, 10_000, 10_000_000_000]], dtype=np.int64)  # 0.01 USD; 10,000 USD
    # 0.005 -> 0.00, 0.015 -> 0.02, 0.025 -> 0.02 (half to even), 0.03 -> 0.03
    assert _values(quantities, closes).tolist() == [[0, 2, 2, 3]]
    big = np.array([[10**13]], dtype=np.int64)  # 10 million shares at 10,000 USD: beyond int64 if multiplied
    assert _values(big, np.array([[10**10]], dtype=np.int64)).tolist() == [[10**13]]
