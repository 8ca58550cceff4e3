"""Performance of Abel's taxable account (tests/data/books/history), every figure worked by hand."""

import datetime as dt
import json
import math
from decimal import Decimal

import pytest
from click.testing import CliRunner

from smartx_engine.cli import cli
from smartx_engine.errors import DataError
from smartx_engine.reporting.performance import Scope, performance

D = dt.date

# End-of-day values of A-1 on the days something changed (the rest carry the day before):
# 01-02 deposit 10,000, 50 AAA @ 100             -> 10,000.00 (flow +10,000)
# 01-05 40 BBB @ 50; AAA closes 101.50           -> 5,075 + 2,000 + 3,000 = 10,075.00
# 01-15 dividend 12.34; AAA 105                  -> 5,250 + 2,000 + 3,012.34 = 10,262.34
# 01-30 BBB 49.50                                -> 5,250 + 1,980 + 3,012.34 = 10,242.34
# 01-31 fee -25                                  -> 10,217.34
# 02-02 deposit 1,000; AAA 108                   -> 5,400 + 1,980 + 3,987.34 = 11,367.34 (flow +1,000)
# 02-10 sell 10 AAA @ 110                        -> 4,400 + 1,980 + 5,087.34 = 11,467.34
# 02-20 withdrawal -500; AAA 109.33              -> 4,373.20 + 1,980 + 4,587.34 = 10,940.54 (flow -500)
# 02-27 AAA 112, BBB 51                          -> 4,480 + 2,040 + 4,587.34 = 11,107.34
DAILY = [10075.00 / 10000.00, 10262.34 / 10075.00, 10242.34 / 10262.34, 10217.34 / 10242.34,
         (11367.34 - 1000) / 10217.34, 11467.34 / 11367.34, (10940.54 + 500) / 11467.34, 11107.34 / 10940.54]
TWR = math.prod(DAILY) - 1


def test_time_weighted_return_links_the_daily_returns_with_end_of_day_flows(history_store):
    p = performance(history_store, Scope("account", "A-1"), end=D(2026, 2, 28))
    assert (p.start, p.inception) == (D(2026, 1, 2), D(2026, 1, 2))  # the first transaction
    assert (p.opening, p.closing, p.net_flows) == (Decimal("0.00"), Decimal("11107.34"), Decimal("10500.00"))
    assert (p.income, p.fees, p.gain) == (Decimal("12.34"), Decimal("-25.00"), Decimal("607.34"))
    assert p.twr == pytest.approx(TWR, abs=1e-12)
    jan = math.prod(DAILY[:4]) - 1
    (january, february) = p.periods["month"]
    assert (january.label, january.partial, february.label, february.partial) == ("2026-01", True, "2026-02", False)
    assert january.twr == pytest.approx(jan, abs=1e-12)
    assert (1 + january.twr) * (1 + february.twr) - 1 == pytest.approx(p.twr, abs=1e-12)
    assert p.growth[-1] == pytest.approx(1 + TWR)


def test_modified_dietz_weighs_each_flow_by_the_days_it_was_invested(history_store):
    p = performance(history_store, Scope("account", "A-1"), start=D(2026, 1, 2), end=D(2026, 2, 28))
    # CD = 58 days; flows at the end of their day: 10,000 on day 1 (57/58), 1,000 on day 32 (26/58),
    # -500 on day 50 (8/58). (11,107.34 - 0 - 10,500) / (0 + (570,000 + 26,000 - 4,000) / 58)
    assert p.dietz.calendar_days == 58
    assert p.dietz.value == pytest.approx(607.34 / (592_000 / 58), abs=1e-12)


def test_the_money_weighted_return_zeroes_the_investors_flows(history_store):
    p = performance(history_store, Scope("account", "A-1"), end=D(2026, 2, 28))
    assert p.money_weighted.status == "ok"
    r = p.money_weighted.rate
    flows = [(D(2026, 1, 2), -10000), (D(2026, 2, 2), -1000), (D(2026, 2, 20), 500), (D(2026, 2, 28), 11107.34)]
    npv = sum(amount / (1 + r) ** ((day - D(2026, 1, 2)).days / 365) for day, amount in flows)
    assert abs(npv) < 1e-6 and 0.3 < r < 0.6  # about 5.9% in 57 days


def test_the_benchmark_is_the_model_rebalanced_daily(history_store):
    p = performance(history_store, Scope("sleeve", "A-1-CORE"), start=D(2026, 1, 6), end=D(2026, 1, 31))
    # M-60 from the 6th: AAA 60% 101.50 -> 105 on the 15th, BBB 38% 50 -> 49.50 on the 30th
    assert p.benchmark == pytest.approx((1 + 0.60 * (105 / 101.5 - 1)) * (1 + 0.38 * (49.5 / 50 - 1)) - 1)
    assert p.excess == pytest.approx(p.twr - p.benchmark)


def test_annualised_only_when_asked_and_over_a_year(history_store):
    p = performance(history_store, Scope("household", "HH-ABEL"), end=D(2026, 2, 28), annualize=True)
    assert p.annualized is None  # 58 days


def test_a_scope_without_transactions_needs_a_start(history_store):
    history_store.db.execute("delete from transactions where sleeve_id = 'A-2-CORE'")
    with pytest.raises(DataError, match="account A-2 has no transactions"):
        performance(history_store, Scope("account", "A-2"), end=D(2026, 2, 28))


def test_smartx_report_performance(history_store, tmp_path):
    db = str(tmp_path / "firm.db")
    run = CliRunner().invoke(cli, ["--db", db, "report", "performance", "A-1", "--end", "2026-02-28", "--json"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.output)
    assert data["scope"] == "account" and data["closing"] == "11107.34" and data["twr"] == pytest.approx(TWR)
    assert [p["label"] for p in data["periods"]["quarter"]] == ["2026Q1"]
    assert data["money_weighted"]["status"] == "ok"
    table = CliRunner().invoke(cli, ["--db", db, "report", "performance", "--sleeve", "A-1-CORE", "--end",
                                     "2026-02-28", "--by", "month"])
    assert table.exit_code == 0 and "2026-01 *" in table.output and f"{TWR:+.2%}" in table.output
    both = CliRunner().invoke(cli, ["--db", db, "report", "performance", "A-1", "--sleeve", "A-1-CORE"])
    assert both.exit_code == 2 and "give one of" in both.output


def test_a_history_starts_once_every_security_held_has_a_close(history_store):
    from smartx_engine.reporting.performance import first_priced
    assert first_priced(history_store, Scope("account", "A-1")) is None  # each bought on or after its first close
    history_store.db.execute("insert into lots (lot_id, account_id, sleeve_id, symbol, quantity_e6, cost_basis_cents,"
                             " acquired) values ('L-OLD', 'A-1', 'A-1-CORE', 'AAA', 1000000, 9000, '2025-06-01')")
    assert first_priced(history_store, Scope("household", "HH-ABEL")) == D(2026, 1, 3)  # AAA's first close + 1
    history_store.db.execute("insert into transactions values ('X-0', 'A-1', 'A-1-CORE', '2025-06-01', 'buy', 'AAA',"
                             " 1000000, 90000000, -9000, null)")
    p = performance(history_store, Scope("account", "A-1"), end=D(2026, 1, 31))
    assert (p.inception, p.start) == (D(2025, 6, 1), D(2026, 1, 3))  # as far back as the prices go
    with pytest.raises(DataError, match="can start on 2026-01-03 at the earliest"):
        performance(history_store, Scope("account", "A-1"), start=D(2025, 12, 1), end=D(2026, 1, 31))
