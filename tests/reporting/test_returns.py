"""Performance returns (smartx_engine.reporting.returns, .dietz, .irr).

Worked examples from independent sources (cited in each test's docstring, the arithmetic written
out), the conventions' edge cases and errors, then properties over random data: flows do not
change the time-weighted return, period linking equals daily linking, Modified Dietz without flows
is the simple return, XIRR agrees with closed forms and with a plain dense-grid reference.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartx_engine.errors import DataError
from smartx_engine.reporting.dietz import modified_dietz
from smartx_engine.reporting.irr import (
    GRID, LOWER, MULTIPLE_ROOTS, NO_SOLUTION, OK, UPPER, investor_cashflows, xirr, xnpv,
)
from smartx_engine.reporting.returns import (
    annualized, calendar_period, cumulative, daily_returns, link, period_returns,
)

D = Decimal
day = dt.date


def _days(start: dt.date, n: int) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range(n)]


# --- daily time-weighted returns -----------------------------------------------------------------

def test_daily_returns_worked_by_hand_with_a_deposit_and_a_withdrawal():
    """Opening 1,000; day 0 closes at 1,100 (no flow); day 1 closes at 1,650 after a 500 deposit;
    day 2 closes at 1,485 after a 200 withdrawal. Flows at the end of the day:

    r0 = 1100 / 1000 - 1                = 0.1
    r1 = (1650 - 500) / 1100 - 1        = 1150 / 1100 - 1 = 0.0454545...
    r2 = (1485 - (-200)) / 1650 - 1     = 1685 / 1650 - 1 = 0.0212121...
    TWR = 1.1 × 1150/1100 × 1685/1650 - 1 = 1.15 × 1685/1650 - 1 = 1937.75/1650 - 1 = 0.1743939...
    """
    r = daily_returns(1000.0, [1100.0, 1650.0, 1485.0], [0.0, 500.0, -200.0])
    np.testing.assert_allclose(r, [0.1, 50 / 1100, 35 / 1650], rtol=1e-14)
    assert link(r) == pytest.approx(1937.75 / 1650 - 1, rel=1e-14)
    assert cumulative(r)[-1] == pytest.approx(1937.75 / 1650, rel=1e-14)


def test_integer_cents_give_the_same_returns_as_float_dollars():
    cents = daily_returns(100_000, np.array([110_000, 165_000, 148_500]), np.array([0, 50_000, -20_000]))
    dollars = daily_returns(1000.0, [1100.0, 1650.0, 1485.0], [0.0, 500.0, -200.0])
    np.testing.assert_allclose(cents, dollars, rtol=1e-14)


def test_a_day_that_starts_at_zero_and_is_only_funded_has_zero_return():
    """Inception (0 → funded 1,000), a 10% day, emptied by a full withdrawal (1,100 out at the
    close: (0 + 1100) / 1100 - 1 = 0), a day at zero, refunded (500 in), then a 2% day."""
    values = [1000, 1100, 0, 0, 500, 510]
    flows = [1000, 0, -1100, 0, 500, 0]
    np.testing.assert_allclose(daily_returns(0, values, flows), [0, 0.1, 0, 0, 0, 0.02], atol=1e-15)


def test_a_deposit_into_an_empty_portfolio_is_invested_from_the_start_of_its_day():
    """Inception: 1,000 deposited, bought at 100, the close is 101: (1,010 / 1,000) - 1 = 1%; the
    next day 1,010 -> 1,030.2 is 2%. Refunded after being emptied: the same rule."""
    np.testing.assert_allclose(daily_returns(0, [1010, 1030.2], [1000, 0]), [0.01, 0.02], rtol=1e-14)
    np.testing.assert_allclose(daily_returns(100, [0, 495], [-100, 500]), [0, -0.01], rtol=1e-14)


def test_value_out_of_nothing_is_a_data_error_naming_the_day():
    with pytest.raises(DataError, match=r"day 2 starts at zero but ends at 5 .*1 more such day"):
        daily_returns(10, [10, 0, 5, 0, 7], [0, -10, 0, 0, 0])
    with pytest.raises(DataError, match=r"row 1, day 0 starts at zero"):
        daily_returns([100, 0], [[100, 100], [1, 1]], [[0, 0], [0, 0]])


def test_a_day_that_starts_below_zero_is_refused():
    with pytest.raises(DataError, match=r"day 1 starts below zero"):
        daily_returns(10, [-5, 0], [0, 0])


def test_shapes_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="shapes do not fit"):
        daily_returns(10, [10, 11], [0])
    with pytest.raises(ValueError, match="shapes do not fit"):
        daily_returns(10, [[10, 11]], [[0, 0]])  # 2-D needs one opening value per row
    with pytest.raises(DataError, match="finite"):
        daily_returns(10, [10, np.nan], [0, 0])


def _reference_daily_returns(opening, values, flows):
    """The convention written plainly, one day at a time."""
    out, start = [], opening
    for v, f in zip(values, flows):
        if start == 0:
            assert v - f == 0
            out.append(0.0)
        else:
            out.append((v - f) / start - 1)
        start = v
    return out


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.lists(st.tuples(st.integers(0, 10**6),
                                                                 st.integers(-10**6, 10**6)),
                                                       min_size=5, max_size=5)),
                min_size=1, max_size=6))
def test_whole_rows_at_once_equal_the_plain_reference_row_by_row(rows):
    # Flows chosen so that any day starting at zero is only funded: flow = value there.
    openings, values, flows = [], [], []
    for opening, days in rows:
        start, vs, fs = opening, [], []
        for value, flow in days:
            flow = value if start == 0 else flow
            vs.append(value)
            fs.append(flow)
            start = value
        openings.append(opening)
        values.append(vs)
        flows.append(fs)
    got = daily_returns(np.array(openings), np.array(values), np.array(flows))
    for i in range(len(rows)):
        np.testing.assert_allclose(got[i], _reference_daily_returns(openings[i], values[i], flows[i]),
                                   rtol=1e-13, atol=1e-13)


returns_strategy = st.lists(st.floats(-0.2, 0.2), min_size=1, max_size=60)


@given(returns_strategy, st.integers(1, 10**9), st.data())
def test_a_flow_invested_at_the_close_does_not_change_the_daily_returns(returns, opening, data):
    """A flow F at the end of day k, invested at that close, earns the portfolio's later returns:
    every later value rises by F × prod(1 + r_j, k < j <= i); the daily returns stay the same."""
    r = np.array(returns)
    values = opening * np.cumprod(1 + r)
    k = data.draw(st.integers(0, len(r) - 1), label="day")
    flow = data.draw(st.floats(-0.9, 5.0), label="share of the day's close") * values[k]
    with_flow = values.copy()
    with_flow[k:] += flow * np.cumprod(np.r_[1.0, 1 + r[k + 1:]])
    flows = np.zeros_like(values)
    flows[k] = flow
    np.testing.assert_allclose(daily_returns(opening, with_flow, flows), r, rtol=0, atol=1e-12)
    assert link(daily_returns(opening, with_flow, flows)) == pytest.approx(link(r), rel=1e-10, abs=1e-12)


@given(returns_strategy, st.lists(st.floats(-0.9, 3.0), min_size=60, max_size=60), st.integers(1, 10**9))
def test_flows_every_day_leave_the_twr_equal_to_the_flowless_one(returns, shares, opening):
    """Each day grows by r_i, then a flow of s_i × (its close before the flow) comes in or out."""
    r = np.array(returns)
    s = np.array(shares[:len(r)])
    values = opening * np.cumprod((1 + r) * (1 + s))
    before_flow = np.r_[opening, values[:-1]] * (1 + r)
    flows = before_flow * s
    assert link(daily_returns(opening, values, flows)) == pytest.approx(
        link(daily_returns(opening, opening * np.cumprod(1 + r), np.zeros_like(r))), rel=1e-10, abs=1e-12)


def test_link_and_cumulative_work_on_the_last_axis():
    r = np.array([[0.1, -0.1], [0.0, 0.5]])
    np.testing.assert_allclose(link(r), [1.1 * 0.9 - 1, 0.5])
    np.testing.assert_allclose(cumulative(r), [[1.1, 0.99], [1.0, 1.5]])
    assert link([]) == 0.0


# --- calendar periods ----------------------------------------------------------------------------

def test_period_returns_label_and_flag_partial_periods():
    dates = _days(day(2026, 6, 15), 108)  # 2026-06-15 .. 2026-09-30
    r = np.full(108, 0.001)
    months = period_returns(dates, r, "month")
    assert [(p.label, p.start, p.end, p.days, p.partial) for p in months] == [
        ("2026-06", day(2026, 6, 15), day(2026, 6, 30), 16, True),
        ("2026-07", day(2026, 7, 1), day(2026, 7, 31), 31, False),
        ("2026-08", day(2026, 8, 1), day(2026, 8, 31), 31, False),
        ("2026-09", day(2026, 9, 1), day(2026, 9, 30), 30, False),
    ]
    assert months[1].value == pytest.approx(1.001 ** 31 - 1, rel=1e-12)
    quarters = period_returns(dates, r, "quarter")
    assert [(p.label, p.days, p.partial) for p in quarters] == [("2026Q2", 16, True), ("2026Q3", 92, False)]
    (year,) = period_returns(dates, r, "year")
    assert (year.label, year.partial, year.value) == ("2026", True, pytest.approx(1.001 ** 108 - 1))


def test_period_returns_of_many_portfolios_are_arrays():
    dates = _days(day(2025, 12, 31), 2)
    (y2025, y2026) = period_returns(dates, np.array([[0.1, 0.2], [0.0, -0.5]]), "year")
    np.testing.assert_allclose(y2025.value, [0.1, 0.0])
    np.testing.assert_allclose(y2026.value, [0.2, -0.5])
    assert not y2026.value.flags.writeable


def test_calendar_periods_end_on_the_right_day():
    assert calendar_period(day(2024, 2, 10), "month") == ("2024-02", day(2024, 2, 1), day(2024, 2, 29))
    assert calendar_period(day(2026, 12, 5), "month") == ("2026-12", day(2026, 12, 1), day(2026, 12, 31))
    assert calendar_period(day(2026, 11, 5), "quarter") == ("2026Q4", day(2026, 10, 1), day(2026, 12, 31))
    assert calendar_period(day(2026, 1, 1), "year") == ("2026", day(2026, 1, 1), day(2026, 12, 31))


def test_period_returns_refuse_gaps_and_unknown_frequencies():
    with pytest.raises(ValueError, match="consecutive"):
        period_returns([day(2026, 1, 1), day(2026, 1, 3)], [0.0, 0.0], "month")
    with pytest.raises(ValueError, match="frequency"):
        period_returns([day(2026, 1, 1)], [0.0], "week")
    with pytest.raises(ValueError, match="one date per return"):
        period_returns([day(2026, 1, 1)], [0.0, 0.1], "month")
    assert period_returns([], [], "month") == ()


@given(st.dates(day(1990, 1, 1), day(2040, 1, 1)),
       st.lists(st.floats(-0.05, 0.05), min_size=1, max_size=800),
       st.sampled_from(["month", "quarter", "year"]))
def test_linking_period_returns_equals_linking_daily_returns(start, returns, frequency):
    dates = _days(start, len(returns))
    periods = period_returns(dates, returns, frequency)
    assert link([p.value for p in periods]) == pytest.approx(link(returns), rel=1e-9, abs=1e-12)
    assert sum(p.days for p in periods) == len(returns)
    assert periods[0].start == start and periods[-1].end == dates[-1]
    for a, b in zip(periods, periods[1:]):
        assert b.start == a.end + dt.timedelta(days=1) and a.label < b.label
    assert not any(p.partial for p in periods[1:-1])
    for p in periods:
        label, first, last = calendar_period(p.start, frequency)
        assert p.label == label and p.partial == ((p.start, p.end) != (first, last))


# --- annualising ---------------------------------------------------------------------------------

def test_annualized_only_over_a_year_or_more():
    assert annualized(0.21, 730) == pytest.approx(0.1, rel=1e-12)  # 1.21 ** (365/730) = 1.1
    assert annualized(0.05, 365) == pytest.approx(0.05, rel=1e-14)
    with pytest.raises(ValueError, match="only periods of a year"):
        annualized(0.05, 364)
    with pytest.raises(ValueError, match="below -100%"):
        annualized(-1.5, 400)


# --- Modified Dietz ------------------------------------------------------------------------------

def test_modified_dietz_wikipedia_two_year_example():
    """Wikipedia, "Modified Dietz method", section Example: a portfolio worth $100 at the beginning
    of the first year and $300 at the end of the second, with an inflow of $50 at the end of the
    first year; neither year a leap year. Its modified Dietz return is 120% (and its IRR 50% a
    year, checked below with XIRR).

    By hand, with 2025 and 2026: CD = 730; the flow at the end of 2025-12-31 is on day D = 365
    (2025-01-01 is day 1), weight w = (730 - 365) / 730 = 1/2.
    numerator = 300 - 100 - 50 = 150; denominator = 100 + 1/2 × 50 = 125; R = 150 / 125 = 1.2.
    """
    md = modified_dietz(D(100), D(300), [(day(2025, 12, 31), D(50))], day(2025, 1, 1), day(2026, 12, 31))
    assert md.calendar_days == 730
    assert (md.flows[0].day, md.flows[0].weight) == (365, Fraction(1, 2))
    assert (md.numerator, md.denominator, md.value, md.reason) == (D(150), D(125), 1.2, None)


def test_modified_dietz_fincyclopedia_one_month_example():
    """fincyclopedia.net, "Modified Dietz Return - an Example": BMV $500, EMV $600, a $60 flow on
    the 25th of a 30-day month; adjustment factor (30 - 25) / 30 = 0.1667, adjusted flow $10,
    return (600 - 500 - 60) / (500 + 10) = 7.84%.

    By hand, September 2026 (30 days): the flow at the end of 09-25 is day D = 25, w = 5/30 = 1/6;
    numerator = 40; denominator = 500 + 60/6 = 510; R = 40 / 510 = 0.0784313...
    """
    md = modified_dietz(D("500.00"), D("600.00"), [(day(2026, 9, 25), D("60.00"))],
                        day(2026, 9, 1), day(2026, 9, 30))
    assert (md.calendar_days, md.flows[0].day, md.flows[0].weight) == (30, 25, Fraction(1, 6))
    assert (md.numerator, md.denominator) == (D(40), D(510))
    assert md.value == pytest.approx(0.0784, abs=5e-5)
    assert md.value == float(Fraction(40, 510))


def test_modified_dietz_weights_a_first_day_flow_cd_minus_1_over_cd_and_a_last_day_flow_zero():
    """January (CD = 31): a 3,100 deposit at the end of Jan 1 (D = 1, w = 30/31) and a 620
    withdrawal at the end of Jan 31 (D = 31, w = 0). BMV 10,000, EMV 13,000.
    numerator = 13000 - 10000 - (3100 - 620) = 520
    denominator = 10000 + 30/31 × 3100 + 0 × (-620) = 10000 + 3000 = 13000; R = 0.04."""
    md = modified_dietz(10_000, 13_000, [(day(2026, 1, 1), 3100), (day(2026, 1, 31), -620)],
                        day(2026, 1, 1), day(2026, 1, 31))
    assert [(f.day, f.weight) for f in md.flows] == [(1, Fraction(30, 31)), (31, Fraction(0))]
    assert (md.numerator, md.denominator, md.value) == (D(520), D(13000), 0.04)


def test_modified_dietz_without_capital_has_no_value_and_says_why():
    funded_on_the_last_day = modified_dietz(0, 100, [(day(2026, 9, 30), 100)], day(2026, 9, 1), day(2026, 9, 30))
    assert funded_on_the_last_day.value is None
    assert "zero" in funded_on_the_last_day.reason and funded_on_the_last_day.numerator == 0
    drained = modified_dietz(100, 0, [(day(2026, 9, 1), -300)], day(2026, 9, 1), day(2026, 9, 30))
    assert drained.value is None and "negative" in drained.reason


def test_modified_dietz_refuses_inexact_money_and_flows_outside_the_period():
    with pytest.raises(TypeError, match="Decimal or an int"):
        modified_dietz(100.0, D(110), [], day(2026, 1, 1), day(2026, 1, 31))
    with pytest.raises(ValueError, match="outside the period"):
        modified_dietz(D(100), D(110), [(day(2026, 2, 1), D(5))], day(2026, 1, 1), day(2026, 1, 31))
    with pytest.raises(ValueError, match="before it starts"):
        modified_dietz(D(100), D(110), [], day(2026, 2, 1), day(2026, 1, 31))


money = st.integers(1, 10**12).map(lambda cents: D(cents).scaleb(-2))


@given(money, money, st.dates(day(2000, 1, 1), day(2030, 1, 1)), st.integers(0, 800))
def test_modified_dietz_without_flows_is_the_simple_return(bmv, emv, start, length):
    md = modified_dietz(bmv, emv, [], start, start + dt.timedelta(days=length))
    assert md.value == float((Fraction(emv) - Fraction(bmv)) / Fraction(bmv))


@given(money, money, money, st.integers(0, 800))
def test_a_flow_on_the_last_day_only_changes_the_gain(bmv, emv, flow, length):
    start = day(2026, 1, 1)
    end = start + dt.timedelta(days=length)
    md = modified_dietz(bmv, emv + flow, [(end, flow)], start, end)
    assert md.value == float((Fraction(emv) - Fraction(bmv)) / Fraction(bmv))


# --- XIRR ----------------------------------------------------------------------------------------

EXCEL_FLOWS = [(day(2008, 1, 1), -10000), (day(2008, 3, 1), 2750), (day(2008, 10, 30), 4250),
               (day(2009, 2, 15), 3250), (day(2009, 4, 1), 2750)]


def test_xirr_excel_documentation_example():
    """Microsoft Support, "XIRR function" (Excel), its example: -10,000 on 2008-01-01, 2,750 on
    2008-03-01, 4,250 on 2008-10-30, 3,250 on 2009-02-15, 2,750 on 2009-04-01 → 0.373362535
    (37.34%). Excel iterates until its result is accurate to 0.000001%, so it agrees to ~1e-8;
    the root itself is checked by the NPV there."""
    result = xirr(EXCEL_FLOWS)
    assert (result.status, result.roots) == (OK, (result.rate,))
    assert result.rate == pytest.approx(0.373362535, abs=5e-9)
    assert abs(xnpv(result.rate, EXCEL_FLOWS)) < 1e-8
    assert result.days == 456 and "37.3363%" in result.message


def test_xirr_does_not_depend_on_the_order_of_the_flows():
    shuffled = EXCEL_FLOWS[:]
    random.Random(7).shuffle(shuffled)
    assert xirr(shuffled).rate == pytest.approx(xirr(EXCEL_FLOWS).rate, rel=1e-12)


def test_xirr_of_the_wikipedia_dietz_example_is_50_percent():
    """Wikipedia, "Modified Dietz method": the same portfolio's IRR is 50% a year, since
    100 × 1.5² + 50 × 1.5 = 225 + 75 = 300. With 2025 and 2026 (no leap day) the exponents are
    exactly 2 and 1 (730/365 and 365/365); the opening value sits at the end of 2024-12-31."""
    flows = investor_cashflows(D(100), [(day(2025, 12, 31), D(50))], D(300), day(2025, 1, 1), day(2026, 12, 31))
    assert flows == [(day(2024, 12, 31), D(-100)), (day(2025, 12, 31), D(-50)), (day(2026, 12, 31), D(300))]
    result = xirr(flows)
    assert result.status == OK and result.rate == pytest.approx(0.5, rel=1e-12)
    assert result.period_return == pytest.approx(1.25, rel=1e-12)  # 1.5² - 1 over the two years


def test_xirr_with_flows_all_of_one_sign_has_no_solution():
    result = xirr([(day(2020, 1, 1), 100), (day(2021, 1, 1), 50), (day(2022, 1, 1), 0)])
    assert (result.status, result.rate, result.roots) == (NO_SOLUTION, None, ())
    assert "one sign" in result.message
    assert xirr([]).status == NO_SOLUTION
    same_day = xirr([(day(2020, 1, 1), -100), (day(2020, 1, 1), 100)])
    assert same_day.status == NO_SOLUTION and "one day" in same_day.message


def test_xirr_finds_both_roots_of_the_classic_minus_100_plus_230_minus_132():
    """-100, +230, -132 a year apart: -100 + 230/(1+r) - 132/(1+r)² = 0 ⇔ with x = 1 + r,
    100x² - 230x + 132 = 0, x = (230 ± √(52900 - 52800)) / 200 = (230 ± 10) / 200 → 1.1 or 1.2.
    2021 and 2022 have 365 days, so the exponents are exactly 1 and 2."""
    flows = [(day(2021, 1, 1), -100), (day(2022, 1, 1), 230), (day(2023, 1, 1), -132)]
    result = xirr(flows)
    assert result.status == MULTIPLE_ROOTS and result.rate is None
    assert result.roots == pytest.approx((0.1, 0.2), abs=1e-12)
    assert "10.0000%, 20.0000%" in result.message and "not unique" in result.message


def test_xirr_finds_two_roots_between_two_grid_points():
    """Two roots r1 < r2 near 5% inside one step of the grid, where the sign scan alone sees
    nothing: -(1 - (1 + r1)x)(1 - (1 + r2)x) with x = 1/(1 + r), i.e. flows a year apart of
    -1, (1 + r1) + (1 + r2), -(1 + r1)(1 + r2) (× 10^6, exact decimals)."""
    grid = np.expm1(np.linspace(np.log1p(LOWER), np.log1p(UPPER), GRID))
    k = np.searchsorted(grid, 0.05)
    r1 = round(grid[k] + 0.3 * (grid[k + 1] - grid[k]), 6)
    r2 = round(grid[k] + 0.7 * (grid[k + 1] - grid[k]), 6)
    assert grid[k] < r1 < r2 < grid[k + 1]
    a, b = D(str(r1)) + 1, D(str(r2)) + 1
    flows = [(day(2021, 1, 1), D(-10**6)), (day(2022, 1, 1), (a + b) * 10**6), (day(2023, 1, 1), -a * b * 10**6)]
    result = xirr(flows)
    assert result.status == MULTIPLE_ROOTS
    assert result.roots == pytest.approx((r1, r2), abs=1e-10)


def test_xirr_finds_a_root_where_the_npv_only_touches_zero():
    """-100 + 200x - 100x² = -100(1 - x)² ≤ 0 with x = 1/(1 + r): one double root at r = 0."""
    result = xirr([(day(2021, 1, 1), -100), (day(2022, 1, 1), 200), (day(2023, 1, 1), -100)])
    assert result.status == OK and result.rate == pytest.approx(0.0, abs=1e-7)
    near_miss = xirr([(day(2021, 1, 1), -100), (day(2022, 1, 1), 200), (day(2023, 1, 1), -101)])
    assert near_miss.status == NO_SOLUTION and "does not cross zero" in near_miss.message


def test_xirr_says_when_the_rate_lies_beyond_the_range_searched():
    doubled_in_ten_days = xirr([(day(2021, 1, 1), -100), (day(2021, 1, 11), 200)])  # 2^36.5 - 1
    assert doubled_in_ten_days.status == NO_SOLUTION and "above 10,000%" in doubled_in_ten_days.message
    lost_99_in_ten_days = xirr([(day(2021, 1, 1), -100), (day(2021, 1, 11), 1)])  # 0.01^36.5 - 1
    assert lost_99_in_ten_days.status == NO_SOLUTION and "below -99.99%" in lost_99_in_ten_days.message


@given(st.integers(1, 10**9), st.integers(1, 10**9), st.integers(1, 3650))
def test_xirr_of_two_flows_is_the_closed_form(paid, received, days):
    growth = 365 / days * np.log(received / paid)  # log(1 + r) of (received / paid) ** (365 / days)
    flows = [(day(2020, 1, 1), -paid), (day(2020, 1, 1) + dt.timedelta(days=days), received)]
    result = xirr(flows)
    if np.log1p(LOWER) + 1e-6 < growth < np.log1p(UPPER) - 1e-6:
        assert result.status == OK
        assert result.rate == pytest.approx(np.expm1(growth), rel=1e-9, abs=1e-12)
    elif not np.log1p(LOWER) <= growth <= np.log1p(UPPER):
        assert result.status == NO_SOLUTION and "outside the range" in result.message


def _reference_roots(flows) -> int:
    """Sign changes of the plain NPV on a grid 25 times finer than the engine's (a reference)."""
    origin = min(d for d, _ in flows)
    t = np.array([(d - origin).days / 365 for d, _ in flows])
    a = np.array([float(x) for _, x in flows])
    rates = np.expm1(np.linspace(np.log1p(LOWER), np.log1p(UPPER), 25 * GRID))
    with np.errstate(over="ignore", invalid="ignore"):
        npv = (a * np.exp(-np.log1p(rates)[:, None] * t)).sum(axis=1)
    s = np.sign(npv[np.isfinite(npv)])
    s = s[s != 0]
    return int((s[1:] != s[:-1]).sum())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.integers(-10**6, 10**6)), min_size=2, max_size=8))
def test_every_root_reported_is_a_root_and_none_is_missed(raw):
    flows = [(day(2020, 1, 1) + dt.timedelta(days=d), amount) for d, amount in raw]
    result = xirr(flows)
    scale = sum(abs(a) for _, a in flows)
    for r in result.roots:
        origin = min(d for d, _ in flows)
        years = [(d - origin).days / 365 for d, _ in flows]
        biggest = max((1 + r) ** -y for y in years)
        assert abs(xnpv(r, flows)) <= 1e-7 * scale * biggest
    assert (result.status == OK) == (result.rate is not None)
    if result.status == OK:
        assert result.roots == (result.rate,)
    # A crossing the reference sees is never missed (touching roots it may not see are extra).
    assert len(result.roots) >= _reference_roots(flows)
