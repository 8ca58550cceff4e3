"""The benchmark: the daily return of each sleeve's own target, rebalanced at every close."""

import datetime as dt
import math

import numpy as np
import pytest

from smartx_engine.models import sync_models
from smartx_engine.modelfeeds import ModelDelivery, ModelLine
from smartx_engine.reporting.benchmark import aggregate_benchmark, benchmark_returns, unmanaged_as_their_own
from smartx_engine.reporting.valuations import build_history
from smartx_engine.testing import FakeModelFeed
from smartx_engine.errors import TargetError
from smartx_engine.targets import assign_target, effective_targets, parse_allocation, parse_blend

D = dt.date


def test_a_model_sleeve_earns_its_models_weighted_returns(history_store):
    h = build_history(history_store, D(2026, 1, 2), D(2026, 1, 31))
    bench = benchmark_returns(history_store, h)
    core = h.rows(sleeve_id="A-1-CORE")[0]
    assert math.isnan(bench[core, h.day(D(2026, 1, 2))])  # AAA's first close: no return before it
    assert math.isnan(bench[core, h.day(D(2026, 1, 5))])  # BBB has no close before the 5th
    assert bench[core, h.day(D(2026, 1, 6))] == 0.0  # no new close
    # M-60: AAA 60% (101.50 -> 105.00 on the 15th), BBB 38% (50.00 -> 49.50 on the 30th), cash 2% earns 0
    assert bench[core, h.day(D(2026, 1, 15))] == pytest.approx(0.60 * (105.00 / 101.50 - 1))
    assert bench[core, h.day(D(2026, 1, 30))] == pytest.approx(0.38 * (49.50 / 50.00 - 1))


def test_a_new_version_earns_from_the_close_of_its_effective_day(history_store):
    feed = FakeModelFeed("acme", [ModelDelivery(
        "acme", "drop", "M-60", "2026.2", D(2026, 1, 15), "FULL",
        [ModelLine("TICKER", "AAA", weight="0.20"), ModelLine("TICKER", "BBB", weight="0.78"),
         ModelLine("CASH", "USD", weight="0.02")])])
    assert sync_models(history_store, {"acme": feed}).ok
    h = build_history(history_store, D(2026, 1, 2), D(2026, 1, 31))
    bench = benchmark_returns(history_store, h)[h.rows(sleeve_id="A-1-CORE")[0]]
    assert bench[h.day(D(2026, 1, 15))] == pytest.approx(0.60 * (105.00 / 101.50 - 1))  # still 2026.1 that day
    assert bench[h.day(D(2026, 1, 30))] == pytest.approx(0.78 * (49.50 / 50.00 - 1))  # 2026.2 since the 15th's close


def test_custom_targets_and_sleeves_without_one(history_store):
    assign_target(history_store, "A-2-CORE", parse_allocation("BBB:0.5,$CASH:0.5"))
    history_store.db.execute("update sleeves set model_id = null where sleeve_id = 'A-1-CORE'")
    h = build_history(history_store, D(2026, 1, 29), D(2026, 1, 31))
    bench = benchmark_returns(history_store, h)
    assert np.isnan(bench[h.rows(sleeve_id="A-1-CORE")[0]]).all()
    assert bench[h.rows(sleeve_id="A-2-CORE")[0], h.day(D(2026, 1, 30))] == pytest.approx(0.5 * -0.01)


def test_an_aggregate_weighs_its_sleeves_by_their_values_the_day_before(history_store):
    h = build_history(history_store, D(2026, 1, 29), D(2026, 1, 31))
    bench = benchmark_returns(history_store, h)
    rows = h.rows(household_id="HH-ABEL")
    day = h.day(D(2026, 1, 30))
    # end of the 29th: A-1 50 AAA x 105 + 40 BBB x 50 + cash 3,012.34 = 10,262.34; A-2 10 x 50 + 500 = 1,000
    a1, a2 = (float(h.value_cents[r, day - 1]) for r in rows)
    assert (a1, a2) == (1_026_234.0, 100_000.0)
    expected = (a1 * bench[rows[0], day] + a2 * bench[rows[1], day]) / (a1 + a2)
    assert aggregate_benchmark(h, rows, bench)[day] == pytest.approx(expected)
    empty = build_history(history_store, D(2026, 1, 1), D(2026, 1, 2))
    assert aggregate_benchmark(empty, empty.rows(), benchmark_returns(history_store, empty))[0] == 0.0


def test_a_sleeve_without_a_target_is_its_own_benchmark(history_store):
    history_store.db.execute("update sleeves set model_id = null where sleeve_id = 'A-2-CORE'")
    h = build_history(history_store, D(2026, 1, 29), D(2026, 1, 31))
    bench = unmanaged_as_their_own(h, benchmark_returns(history_store, h))
    a2 = h.rows(sleeve_id="A-2-CORE")[0]
    # its own return on the 30th: 10 BBB 50.00 -> 49.50 with 500 cash: 995 / 1,000 - 1
    assert bench[a2, h.day(D(2026, 1, 30))] == pytest.approx(995 / 1000 - 1)
    assert bench[h.rows(sleeve_id="A-1-CORE")[0], h.day(D(2026, 1, 30))] == pytest.approx(0.38 * -0.01)


def test_a_blend_of_a_model_not_yet_in_force_has_no_benchmark_until_it_is(history_store):
    feed = FakeModelFeed("acme", [ModelDelivery(
        "acme", "drop", "NEW", "2026.1", D(2026, 1, 20), "FULL",
        [ModelLine("TICKER", "BBB", weight="0.98"), ModelLine("CASH", "USD", weight="0.02")])])
    assert sync_models(history_store, {"acme": feed}).ok
    assign_target(history_store, "A-2-CORE", parse_blend("M-60:0.5,NEW:0.5"))
    with pytest.raises(TargetError, match="A-2-CORE"):
        effective_targets(history_store, D(2026, 1, 15))
    assert "A-2-CORE" not in effective_targets(history_store, D(2026, 1, 15), strict=False)
    h = build_history(history_store, D(2026, 1, 15), D(2026, 1, 31))
    bench = benchmark_returns(history_store, h)[h.rows(sleeve_id="A-2-CORE")[0]]
    assert np.isnan(bench[h.day(D(2026, 1, 20))])  # NEW comes into force on the 20th: it earns from its close
    # from the 21st: 50% M-60 (BBB 38%) + 50% NEW (BBB 98%) = BBB 68%
    assert bench[h.day(D(2026, 1, 30))] == pytest.approx(0.68 * -0.01)
