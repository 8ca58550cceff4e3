"""The wash-sale engine, :mod:`smartx_engine.tax.wash`.

Cases from 26 CFR §1.1091-1 and §1.1091-2, Rev. Rul. 56-602 and 2008-5 and IRS Publication 550
(tests/tax/data/wash_cases.toml), hand cases for each rule, the worked example of docs/tax.md,
the proposal helpers, and properties checked with hypothesis against a share-by-share reference.
"""

from __future__ import annotations

import datetime as dt
import doctest
import random
import re
import tomllib
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartx_engine.domain import TaxTreatment
from smartx_engine.fixedpoint import round_money
from smartx_engine.tax.wash import (
    Acquisition, LossSale, WashAdjustment, blocked_buys, identical_groups, recent_purchases, same_symbol,
    wash_sales,
)

DATA = Path(__file__).parent / "data" / "wash_cases.toml"
DOCS = Path(__file__).parents[2] / "docs" / "tax.md"
D = Decimal
DAY0 = dt.date(2026, 3, 2)


def day(offset: int) -> dt.date:
    return DAY0 + dt.timedelta(days=offset)


def sale(sale_id="S1", *, symbol="VTI", sold=DAY0, quantity="100", loss="1000.00", acquired=day(-200),
         lot_id="OLD", account_id="TAX") -> LossSale:
    return LossSale(sale_id, account_id, symbol, sold, D(quantity), D(loss), acquired, lot_id)


def buy(lot_id, acquired, quantity="100", *, symbol="VTI", account_id="TAX",
        treatment=TaxTreatment.TAXABLE) -> Acquisition:
    return Acquisition(lot_id, account_id, symbol, acquired, D(quantity), treatment)


def disallowed_by_sale(adjustments) -> dict[str, Decimal]:
    total: dict[str, Decimal] = defaultdict(Decimal)
    for a in adjustments:
        total[a.sale_id] += a.disallowed
    return dict(total)


def matched(adjustments) -> list[tuple[str, str, Decimal]]:
    return [(a.sale_id, a.replacement_lot_id, a.quantity) for a in adjustments]


# ---------------------------------------------------------------- cases from the primary texts


def _cases() -> list[dict]:
    cases = tomllib.loads(DATA.read_text(encoding="utf-8"))["case"]
    assert len({c["name"] for c in cases}) == len(cases)
    return cases


CASES = _cases()
TEST_ONLY = ("cost", "basis", "holding_from")


def test_every_case_names_its_source():
    assert len(CASES) >= 9
    assert all(c["source"].strip() and c["facts"].strip() for c in CASES)
    sources = " ".join(c["source"] for c in CASES)
    for source in ("1.1091-1(h), Example 1", "Example 2", "Example 3", "1.1091-2(a), Example 1",
                   "Publication 550", "Rev. Rul. 2008-5", "Rev. Rul. 56-602"):
        assert source in sources


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_cases_from_the_regulation_and_publication_550(case):
    sales = [LossSale(**{k: (D(v) if k in ("quantity", "loss") else v) for k, v in s.items()}) for s in case["sales"]]
    acquisitions = [Acquisition(**{k: (D(v) if k == "quantity" else v) for k, v in a.items() if k not in TEST_ONLY})
                    for a in case["acquisitions"]]
    adjustments = wash_sales(sales, acquisitions)

    expected = [WashAdjustment(**{k: (D(v) if k in ("quantity", "disallowed", "basis_added") else v)
                                  for k, v in e.items()}) for e in case["adjustments"]]
    assert adjustments == expected
    disallowed = disallowed_by_sale(adjustments)
    assert {s.sale_id: s.loss - disallowed.get(s.sale_id, D(0)) for s in sales} == \
        {k: D(v) for k, v in case["allowed"].items()}
    for a in case["acquisitions"]:
        mine = [x for x in adjustments if x.replacement_lot_id == a["lot_id"]]
        if "basis" in a:  # §1091(d): the basis of the old shares, moved by the price difference
            assert D(a["cost"]) + sum((x.basis_added for x in mine), D(0)) == D(a["basis"])
        if "holding_from" in a:  # §1223(3): the sold shares' holding period included
            start = min([a["acquired"], *(a["acquired"] - dt.timedelta(days=x.holding_days_added) for x in mine)])
            assert start == a["holding_from"]


# ---------------------------------------------------------------- hand cases


def test_no_acquisition_no_wash():
    assert wash_sales([sale()], []) == []


def test_partial_replacement_disallows_only_the_matching_part():
    [adjustment] = wash_sales([sale(quantity="100", loss="1000.00")], [buy("NEW", day(5), "40")])
    assert (adjustment.quantity, adjustment.disallowed, adjustment.basis_added) == (D(40), D("400.00"), D("400.00"))


def test_replacement_in_an_ira_disallows_the_loss_for_good():
    [adjustment] = wash_sales([sale()], [buy("IRA-1", day(3), account_id="IRA", treatment=TaxTreatment.TAX_DEFERRED)])
    assert adjustment.permanent and adjustment.replacement_account_id == "IRA"
    assert (adjustment.disallowed, adjustment.basis_added, adjustment.holding_days_added) == (D("1000.00"), D(0), 0)


def test_replacement_in_a_roth_disallows_the_loss_for_good():
    [adjustment] = wash_sales([sale()], [buy("ROTH-1", day(-3), account_id="ROTH", treatment=TaxTreatment.TAX_EXEMPT)])
    assert adjustment.permanent and (adjustment.disallowed, adjustment.basis_added) == (D("1000.00"), D(0))


def test_ira_replacement_still_uses_up_its_shares():
    ira = buy("IRA-1", day(-1), "60", account_id="IRA", treatment=TaxTreatment.TAX_DEFERRED)
    later = buy("TAX-1", day(2), "100")
    adjustments = wash_sales([sale()], [ira, later])
    assert matched(adjustments) == [("S1", "IRA-1", D(60)), ("S1", "TAX-1", D(40))]
    assert [a.permanent for a in adjustments] == [True, False]
    assert [a.disallowed for a in adjustments] == [D("600.00"), D("400.00")]


def test_purchase_before_the_sale_is_a_replacement():
    [adjustment] = wash_sales([sale(acquired=day(-100))], [buy("NEW", day(-10))])
    assert adjustment.replacement_lot_id == "NEW"
    # the sold shares' period (day -100 to day 0) is included, the overlap from day -10 not twice
    assert adjustment.holding_days_added == 90


def test_purchase_after_the_sale_tacks_the_whole_holding_period_on():
    [adjustment] = wash_sales([sale(acquired=day(-100))], [buy("NEW", day(10))])
    assert adjustment.holding_days_added == 100


@pytest.mark.parametrize(("offset", "washes"), [(-31, False), (-30, True), (0, True), (30, True), (31, False)])
def test_window_is_30_days_each_side_inclusive(offset, washes):
    assert bool(wash_sales([sale()], [buy("NEW", day(offset))])) is washes


def test_window_days_can_be_set():
    assert wash_sales([sale()], [buy("NEW", day(40))], window_days=45)
    assert not wash_sales([sale()], [buy("NEW", day(40))], window_days=35)


def test_identical_group_washes_a_different_symbol_only_when_grouped():
    vti_itot = identical_groups([["VTI", "ITOT"]])
    itot = [buy("NEW", day(5), symbol="ITOT")]
    assert wash_sales([sale()], itot) == []  # by default only the same symbol is identical
    assert matched(wash_sales([sale()], itot, identical=vti_itot)) == [("S1", "NEW", D(100))]
    assert wash_sales([sale()], [buy("NEW", day(5), symbol="BND")], identical=vti_itot) == []


def test_identical_groups():
    group = identical_groups([["VTI", "ITOT", "SCHB"], ["VOO", "IVV"]])
    assert group("ITOT") == frozenset({"VTI", "ITOT", "SCHB"})
    assert group("BND") == frozenset({"BND"}) == same_symbol("BND")
    assert identical_groups([["VTI", "ITOT"], ["ITOT", "VTI"]])("VTI") == frozenset({"VTI", "ITOT"})
    with pytest.raises(ValueError, match="ITOT is in two groups"):
        identical_groups([["VTI", "ITOT"], ["ITOT", "SCHB"]])
    with pytest.raises(ValueError):
        identical_groups([["not a symbol"]])


def test_multiple_loss_sales_are_processed_in_the_order_they_happened():
    first = sale("S-LATE-ID", sold=day(0), quantity="100", loss="100.00")
    second = sale("S-EARLY-ID", sold=day(5), quantity="100", loss="900.00", lot_id="OLD2")
    adjustments = wash_sales([second, first], [buy("NEW", day(10), "100")])
    assert matched(adjustments) == [("S-LATE-ID", "NEW", D(100))]  # the earlier sale takes the shares
    assert disallowed_by_sale(adjustments) == {"S-LATE-ID": D("100.00")}


def test_same_day_sales_are_taken_in_the_order_their_shares_were_acquired():
    # §1.1091-1(b): order of disposition within a day unknown -> order of original acquisition
    young = sale("A-YOUNG", acquired=day(-50), lot_id="YOUNG")
    old = sale("Z-OLD", acquired=day(-400), lot_id="ANCIENT")
    adjustments = wash_sales([young, old], [buy("NEW", day(3), "100")])
    assert matched(adjustments) == [("Z-OLD", "NEW", D(100))]


def test_replacement_shares_are_matched_in_the_order_acquired():
    lots = [buy("B", day(-5), "30"), buy("A", day(-5), "30"), buy("C", day(-20), "30"), buy("D", day(1), "30")]
    assert matched(wash_sales([sale()], lots)) == [("S1", "C", D(30)), ("S1", "A", D(30)), ("S1", "B", D(30)),
                                                   ("S1", "D", D(10))]


def test_a_replacement_share_washes_only_one_loss_share():
    sales = [sale("S1", sold=day(0)), sale("S2", sold=day(2), lot_id="OLD2")]
    adjustments = wash_sales(sales, [buy("NEW", day(5), "100")])
    assert matched(adjustments) == [("S1", "NEW", D(100))]  # nothing left to wash S2 (§1.1091-1(e))
    adjustments = wash_sales(sales, [buy("NEW", day(5), "150")])
    assert matched(adjustments) == [("S1", "NEW", D(100)), ("S2", "NEW", D(50))]


def test_the_lot_sold_is_never_its_own_replacement():
    # Rev. Rul. 56-602: 40 of a lot bought 10 days earlier sold at a loss; the 60 kept replace nothing
    lot = buy("LOT", day(-10), "100")
    assert wash_sales([sale(quantity="40", acquired=day(-10), lot_id="LOT")], [lot]) == []


def test_shares_sold_together_replace_nothing():
    # a whole position of two lots harvested on one day: the recent lot does not wash the old one
    old = sale("T1:OLD", acquired=day(-300), lot_id="OLD", quantity="100", loss="900.00")
    recent = sale("T1:RECENT", acquired=day(-10), lot_id="RECENT", quantity="10", loss="20.00")
    lots = [buy("OLD", day(-300)), buy("RECENT", day(-10), "10")]
    assert wash_sales([old, recent], lots) == []


def test_shares_sold_before_the_sale_replace_nothing():
    # A bought day -24 (within 30 days of B's sale) but sold at a loss on day -10, before B's sale
    a = sale("SA", sold=day(-10), acquired=day(-24), lot_id="A")
    b = sale("SB", sold=day(0), acquired=day(-45), lot_id="B")
    assert wash_sales([a, b], [buy("A", day(-24)), buy("B", day(-45))]) == []
    # bought before the sold shares but within the 61 days, and still held: a replacement
    [adjustment] = wash_sales([a], [buy("B", day(-40))])
    assert (adjustment.replacement_lot_id, adjustment.holding_days_added) == ("B", 0)


def test_a_replacement_sold_later_at_a_loss_is_a_chain():
    # A sold day 0, B bought day 5 replaces it; B sold at a (larger) loss day 10, C bought day 20 replaces B
    first = sale("SA", sold=day(0), lot_id="A")
    second = sale("SB", sold=day(10), acquired=day(5), lot_id="B", loss="1500.00")
    adjustments = wash_sales([first, second], [buy("B", day(5)), buy("C", day(20))])
    assert matched(adjustments) == [("SA", "B", D(100)), ("SB", "C", D(100))]
    assert [a.holding_days_added for a in adjustments] == [200, 5]


def test_parts_of_one_sale_add_up_exactly_to_the_cent():
    lots = [buy("A", day(1), "1"), buy("B", day(2), "1"), buy("C", day(3), "1")]
    adjustments = wash_sales([sale(quantity="3", loss="100.00")], lots)
    # cumulative rounding: 33.33, 66.67 - 33.33, 100.00 - 66.67
    assert [a.disallowed for a in adjustments] == [D("33.33"), D("33.34"), D("33.33")]
    assert sum(a.disallowed for a in adjustments) == D("100.00")


def test_rounding_is_half_even_on_the_running_total():
    adjustments = wash_sales([sale(quantity="8", loss="0.20")], [buy("A", day(1), "1"), buy("B", day(2), "2")])
    # 0.20 x 1/8 = 0.025 -> 0.02 (half-even); 0.20 x 3/8 = 0.075 -> 0.08; part two is 0.06
    assert [a.disallowed for a in adjustments] == [D("0.02"), D("0.06")]


def test_result_does_not_depend_on_input_order():
    sales = [sale("S1", sold=day(0)), sale("S2", sold=day(0), lot_id="OLD2", acquired=day(-300)),
             sale("S3", sold=day(7), lot_id="OLD3", quantity="55.5", loss="123.45")]
    lots = [buy("A", day(-3), "70"), buy("B", day(4), "70"), buy("C", day(4), "70.25", account_id="IRA",
                                                                 treatment=TaxTreatment.TAX_DEFERRED)]
    expected = wash_sales(sales, lots)
    assert len(expected) >= 4
    assert wash_sales(sales[::-1], lots[::-1]) == expected


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="greater than zero"):
        sale(loss="0.00")
    with pytest.raises(ValueError, match="greater than zero"):
        sale(quantity="-1")
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        sale(loss="1.005")
    with pytest.raises(TypeError):
        LossSale("S1", "TAX", "VTI", DAY0, 1.5, D("10.00"), day(-1), "L")
    with pytest.raises(ValueError, match="cannot be sold"):
        sale(acquired=day(1))
    with pytest.raises(TypeError):
        sale(sold=dt.datetime(2026, 3, 2))
    with pytest.raises(ValueError):
        buy("L1", day(0), treatment="pension")
    assert buy("L1", day(0), treatment="tax_exempt").treatment is TaxTreatment.TAX_EXEMPT
    with pytest.raises(ValueError, match="two loss sales have the sale_id 'S1'"):
        wash_sales([sale(), sale()], [])
    with pytest.raises(ValueError, match="two acquisitions have the lot_id 'A'"):
        wash_sales([sale()], [buy("A", day(1)), buy("A", day(2))])
    with pytest.raises(ValueError, match="window_days"):
        wash_sales([sale()], [], window_days=-1)


def test_positional_construction_matches_the_published_field_order():
    s = LossSale("T1:L1", "TAX", "VTI", DAY0, D(10), D("5.00"), day(-9), "L1")
    a = Acquisition("L2", "IRA", "VTI", day(1), D(10), TaxTreatment.TAX_DEFERRED)
    assert (s.sale_id, s.account_id, s.symbol, s.sold, s.quantity, s.loss, s.acquired, s.lot_id) == \
        ("T1:L1", "TAX", "VTI", DAY0, D(10), D("5.00"), day(-9), "L1")
    assert (a.lot_id, a.account_id, a.symbol, a.acquired, a.quantity, a.treatment) == \
        ("L2", "IRA", "VTI", day(1), D(10), TaxTreatment.TAX_DEFERRED)


# ---------------------------------------------------------------- the worked example of docs/tax.md


def worked_example():
    group = identical_groups([["VTI", "ITOT"]])
    harvest = LossSale("T9:A", "TAX", "VTI", dt.date(2026, 3, 2), D(300), D("1000.00"), dt.date(2025, 9, 2), "A")
    lots = [
        Acquisition("B", "IRA", "VTI", dt.date(2026, 2, 20), D(100), TaxTreatment.TAX_DEFERRED),
        Acquisition("C", "TAX", "ITOT", dt.date(2026, 3, 16), D(100), TaxTreatment.TAXABLE),
        Acquisition("D", "TAX", "VTI", dt.date(2026, 4, 2), D(100), TaxTreatment.TAXABLE),
    ]
    return harvest, lots, group


def wash_sales_section() -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("## Wash sales")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def test_the_docs_doctest_runs():
    blocks = re.findall(r"^```pycon\n(.*?)^```$", wash_sales_section(), re.MULTILINE | re.DOTALL)
    assert blocks
    for block in blocks:
        test = doctest.DocTestParser().get_doctest(block, {}, "docs/tax.md#wash-sales", str(DOCS), 0)
        runner = doctest.DocTestRunner()
        runner.run(test)
        assert runner.summarize(verbose=False).failed == 0


def test_worked_example_of_the_docs():
    harvest, lots, group = worked_example()
    adjustments = wash_sales([harvest], lots, identical=group)
    assert adjustments == [
        WashAdjustment("T9:A", "B", "IRA", D(100), D("333.33"), True, D(0), 0),
        WashAdjustment("T9:A", "C", "TAX", D(100), D("333.34"), False, D("333.34"), 181),
    ]
    assert harvest.loss - sum(a.disallowed for a in adjustments) == D("333.33")
    assert dt.date(2026, 3, 16) - dt.timedelta(days=181) == dt.date(2025, 9, 16)
    assert blocked_buys([harvest], dt.date(2026, 3, 2), group) == {"ITOT": dt.date(2026, 4, 1), "VTI": dt.date(2026, 4, 1)}
    assert recent_purchases(lots, "VTI", dt.date(2026, 3, 2), group) == D(100)

    section = wash_sales_section()
    rows = [f"| {a.replacement_lot_id} | {a.replacement_account_id} | {a.quantity} | {a.disallowed} | "
            f"{'yes' if a.permanent else 'no'} | {a.basis_added:.2f} | {a.holding_days_added} |" for a in adjustments]
    for row in rows:
        assert row in section, row
    for figure in ("333.33", "2025-09-16", "2026-04-01", "1,000.00"):
        assert figure in section, figure


# ---------------------------------------------------------------- proposals


def test_blocked_buys_blocks_the_symbol_and_its_group_through_day_30():
    group = identical_groups([["VTI", "ITOT"]])
    assert blocked_buys([sale()], day(0), group) == {"ITOT": day(30), "VTI": day(30)}
    assert blocked_buys([sale()], day(30)) == {"VTI": day(30)}
    assert blocked_buys([sale()], day(31)) == {}
    assert blocked_buys([sale(sold=day(5))], day(0)) == {}  # a sale after `on` is not yet made


def test_blocked_buys_takes_the_latest_end():
    sales = [sale("S1", sold=day(0)), sale("S2", sold=day(12), lot_id="OLD2")]
    assert blocked_buys(sales, day(20)) == {"VTI": day(42)}


def test_blocked_buys_frees_a_sale_already_replaced():
    replaced = [buy("NEW", day(-5), "100")]
    assert blocked_buys([sale()], day(10), acquisitions=replaced) == {}
    assert blocked_buys([sale()], day(10), acquisitions=[buy("NEW", day(-5), "99")]) == {"VTI": day(30)}
    # a purchase after `on` does not count yet
    assert blocked_buys([sale()], day(10), acquisitions=[buy("NEW", day(11), "100")]) == {"VTI": day(30)}


def test_recent_purchases_counts_the_last_30_days():
    lots = [buy("A", day(-31), "5"), buy("B", day(-30), "7"), buy("C", day(0), "11"), buy("D", day(1), "13"),
            buy("E", day(-3), "17", symbol="BND"), buy("F", day(-2), "19", account_id="IRA",
                                                            treatment=TaxTreatment.TAX_DEFERRED)]
    assert recent_purchases(lots, "VTI", day(0)) == D(7 + 11 + 19)
    assert recent_purchases(lots, "VTI", day(0), exclude_lots=["C"]) == D(7 + 19)
    assert recent_purchases(lots, "VTI", day(0), window_days=2) == D(11 + 19)
    assert recent_purchases(lots, "BND", day(0)) == D(17)
    assert recent_purchases(lots, "ITOT", day(0), identical_groups([["VTI", "ITOT"]])) == D(7 + 11 + 19)


def test_recent_purchases_already_used_by_earlier_losses_do_not_count():
    lots = [buy("A", day(-20), "60")]
    earlier = sale("S0", sold=day(-15), quantity="50", lot_id="OLD0")
    assert recent_purchases(lots, "VTI", day(0), loss_sales=[earlier]) == D(10)
    # nor do shares since sold at a loss
    sold = sale("SA", sold=day(-1), quantity="60", acquired=day(-20), lot_id="A")
    assert recent_purchases(lots, "VTI", day(0), loss_sales=[sold]) == D(0)


# ---------------------------------------------------------------- properties

SYMBOLS = ["AAA", "BBB", "CCC"]
GROUPS = identical_groups([["AAA", "BBB"]])


@st.composite
def households(draw):
    n_lots = draw(st.integers(0, 7))
    lots = []
    for i in range(n_lots):
        lots.append(Acquisition(
            f"L{i}", draw(st.sampled_from(["TAX", "TAX2", "IRA"])), draw(st.sampled_from(SYMBOLS)),
            DAY0 + dt.timedelta(days=draw(st.integers(0, 90))), D(draw(st.integers(1, 60))),
            draw(st.sampled_from(list(TaxTreatment)))))
    n_sales = draw(st.integers(0, 6))
    sales = []
    for i in range(n_sales):
        sold = DAY0 + dt.timedelta(days=draw(st.integers(0, 90)))
        own = [lot for lot in lots if lot.acquired <= sold]
        if own and draw(st.booleans()):
            lot = draw(st.sampled_from(own))
            lot_id, symbol, acquired = lot.lot_id, lot.symbol, lot.acquired
        else:
            lot_id, symbol = f"OLD{i}", draw(st.sampled_from(SYMBOLS))
            acquired = sold - dt.timedelta(days=draw(st.integers(0, 800)))
        sales.append(LossSale(f"S{i}", "TAX", symbol, sold, D(draw(st.integers(1, 60))),
                              D(draw(st.integers(1, 10**7))) / 100, acquired, lot_id))
    window = draw(st.sampled_from([30, 30, 5, 0]))
    return sales, lots, window


def reference(sales, lots, identical, window_days):
    """Share by share, written plainly: matched shares per (sale, lot), in the order matched."""
    shares = {lot.lot_id: ["unused"] * int(lot.quantity) for lot in lots}
    by_order = sorted(lots, key=lambda lot: (lot.acquired, lot.lot_id))
    out: list[tuple[str, str, Decimal]] = []
    gone: set[str] = set()
    for s in sorted(sales, key=lambda s: (s.sold, s.acquired, s.sale_id)):
        for other in sales:  # shares sold on or before this day are not there: used ones go first
            if other.sale_id not in gone and other.sold <= s.sold and other.lot_id in shares:
                gone.add(other.sale_id)
                left = int(other.quantity)
                for state in ("used", "unused"):
                    for k, share in enumerate(shares[other.lot_id]):
                        if left and share == state:
                            shares[other.lot_id][k] = "gone"
                            left -= 1
        need = int(s.quantity)
        for lot in by_order:
            if lot.lot_id == s.lot_id or lot.symbol not in identical(s.symbol):
                continue
            if abs((lot.acquired - s.sold).days) > window_days:
                continue
            taken = 0
            for k, share in enumerate(shares[lot.lot_id]):
                if need and share == "unused":
                    shares[lot.lot_id][k] = "used"
                    need -= 1
                    taken += 1
            if taken:
                out.append((s.sale_id, lot.lot_id, D(taken)))
    return out


@settings(max_examples=300, deadline=None)
@given(households())
def test_properties(household):
    sales, lots, window = household
    adjustments = wash_sales(sales, lots, identical=GROUPS, window_days=window)
    by_id = {s.sale_id: s for s in sales}
    lot_by_id = {lot.lot_id: lot for lot in lots}

    # the same matches as the share-by-share reference
    assert matched(adjustments) == reference(sales, lots, GROUPS, window)

    per_sale_qty: dict[str, Decimal] = defaultdict(Decimal)
    per_sale_loss: dict[str, Decimal] = defaultdict(Decimal)
    per_lot: dict[str, Decimal] = defaultdict(Decimal)
    for a in adjustments:
        s, lot = by_id[a.sale_id], lot_by_id[a.replacement_lot_id]
        per_sale_qty[a.sale_id] += a.quantity
        per_sale_loss[a.sale_id] += a.disallowed
        per_lot[a.replacement_lot_id] += a.quantity
        assert a.quantity > 0 and a.disallowed >= 0
        assert lot.lot_id != s.lot_id and lot.symbol in GROUPS(s.symbol)
        assert abs((lot.acquired - s.sold).days) <= window
        assert a.permanent == (lot.treatment != TaxTreatment.TAXABLE)
        assert a.basis_added == (D(0) if a.permanent else a.disallowed)
        assert 0 <= a.holding_days_added <= (s.sold - s.acquired).days
        assert abs(a.disallowed - s.loss * a.quantity / s.quantity) <= D("0.01")  # within a cent
    for s in sales:
        disallowed = per_sale_loss[s.sale_id]
        allowed = s.loss - disallowed
        assert disallowed + allowed == s.loss and 0 <= disallowed <= s.loss  # the loss is conserved
        assert per_sale_qty[s.sale_id] <= s.quantity
        assert disallowed == round_money(s.loss * per_sale_qty[s.sale_id] / s.quantity)  # the parts add up
        if per_sale_qty[s.sale_id] == s.quantity:
            assert disallowed == s.loss
    assert sum(per_sale_loss.values(), D(0)) <= sum((s.loss for s in sales), D(0))
    for lot_id, quantity in per_lot.items():
        assert quantity <= lot_by_id[lot_id].quantity

    shuffled_sales, shuffled_lots = sales[:], lots[:]
    random.Random(len(sales) * 31 + len(lots)).shuffle(shuffled_sales)
    random.Random(len(lots)).shuffle(shuffled_lots)
    shuffled_lots.reverse()
    assert wash_sales(shuffled_sales, shuffled_lots, identical=GROUPS, window_days=window) == adjustments


@settings(max_examples=200, deadline=None)
@given(households(), st.integers(0, 100))
def test_blocked_buys_agrees_with_wash_sales(household, offset):
    """A symbol is blocked on a day exactly when a purchase of it that day would wash a past loss."""
    sales, lots, window = household
    on = DAY0 + dt.timedelta(days=offset)
    bought = [lot for lot in lots if lot.acquired <= on]
    blocked = blocked_buys(sales, on, GROUPS, window, acquisitions=bought)
    for symbol in SYMBOLS:
        probe = Acquisition("PROBE", "TAX", symbol, on, D(10**6), TaxTreatment.TAXABLE)
        past = [s for s in sales if s.sold <= on]
        washes = any(a.replacement_lot_id == "PROBE" for a in wash_sales(past, [*bought, probe], identical=GROUPS,
                                                                           window_days=window))
        assert (symbol in blocked and on <= blocked[symbol]) == washes, symbol
