"""Drift kept in check: the policies replayed on the sleeves as they were at each month's end."""

import datetime as dt

import pytest

from smartx_engine.dsl.policyset import load_rules
from smartx_engine.reporting.drift import band_history, book_on, observed_days
from smartx_engine.reporting.valuations import build_history

D = dt.date
POLICY = """policy "wide" {
  applies to sleeve.model == "M-60"
  drift band absolute 25%
  min trade 100 USD
}
"""


@pytest.fixture
def policies(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "wide.policy").write_text(POLICY)
    return load_rules(rules)


def test_month_ends_are_observed(history_store):
    h = build_history(history_store, D(2026, 1, 2), D(2026, 2, 20))
    assert observed_days(h) == [D(2026, 1, 31), D(2026, 2, 20)]
    assert observed_days(build_history(history_store, D(2026, 1, 2), D(2026, 2, 28))) == [D(2026, 1, 31),
                                                                                          D(2026, 2, 28)]


def test_a_past_day_is_rebuilt_from_the_history(history_store):
    book = book_on(history_store, build_history(history_store, D(2026, 1, 2), D(2026, 2, 28)), D(2026, 1, 31))
    assert list(book.sleeve_ids) == ["A-1-CORE", "A-2-CORE"] and book.sleeve_cash.tolist() == [2987.34, 500.0]
    assert sorted(zip(book.holding_sleeve.tolist(), book.symbols[book.holding_symbol], book.holding_quantity)) == [
        (0, "AAA", 50.0), (0, "BBB", 40.0), (1, "AAA", 0.0), (1, "BBB", 10.0)]
    assert book.symbol_price[list(book.symbols).index("AAA")] == 105.0  # the close of the 15th, carried


def test_bands_kept_largest_drift_and_trades_avoided(history_store, policies):
    h = build_history(history_store, D(2026, 1, 2), D(2026, 2, 28))
    records = band_history(history_store, h, policies)
    a1, a2 = records["A-1-CORE"], records["A-2-CORE"]
    # 31 Jan: AAA 5,250 / 10,217.34 = 51.38% (target 60%), BBB 1,980 / 10,217.34 = 19.38% (38%): within 25%
    # 28 Feb: AAA 4,480 / 11,107.34 = 40.33%, BBB 2,040 / 11,107.34 = 18.37%: within 25%
    assert (a1.policy, a1.observed, a1.within, a1.share_within) == ("wide", 2, 2, 1.0)
    assert a1.largest_drift == pytest.approx(0.60 - 4480 / 11107.34)
    # left alone both days, each with two holdings off target by more than 100 USD
    assert a1.trades_avoided == 4
    # the IRA holds no AAA: 60% off its target, out of band both days; it would have traded
    assert (a2.observed, a2.within, a2.trades_avoided, a2.largest_drift) == (2, 0, 0, pytest.approx(0.60))
