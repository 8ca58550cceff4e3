"""Lot relief (smartx_engine.tax.relief) follows docs/tax.md, "Lot relief".

Hand-computed cases for every method with its ties (the arithmetic is in the comments), the
rounding rules, the errors; cases re-expressed from independent sources (data/relief_cases.toml);
the docs' example; then properties over random lots.
"""

from __future__ import annotations

import datetime as dt
import doctest
import itertools
import json
import re
import tomllib
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartx_engine.domain import Term
from smartx_engine.errors import DataError
from smartx_engine.store import Store
from smartx_engine.tax import Method, OpenLot, Relief, relief_order, relieve

D = Decimal
DATA = Path(__file__).parent / "data" / "relief_cases.toml"
DOC = Path(__file__).parents[2] / "docs" / "tax.md"
SOLD = dt.date(2026, 6, 30)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def lot(lot_id: str, quantity: str, basis: str, acquired: str) -> OpenLot:
    return OpenLot(lot_id, D(quantity), D(basis), dt.date.fromisoformat(acquired))


def brief(reliefs: list[Relief]) -> list[tuple[str, Decimal, Decimal, Decimal, Decimal, Term]]:
    """(lot id, quantity, basis, proceeds, gain, term) of each relief."""
    return [(r.lot_id, r.quantity, r.cost_basis, r.proceeds, r.gain, r.term) for r in reliefs]


# Five lots with ties on every key, sold at 50.00 on 2026-06-30:
#   L-B  10 sh  400.00 (40.00/sh)  2024-01-10  long   (anniversary 2025-01-10 < sold)
#   L-A  10 sh  400.00 (40.00/sh)  2024-01-10  long   ties L-B on date and cost
#   L-C   5 sh  300.00 (60.00/sh)  2025-09-01  short  (anniversary 2026-09-01 > sold)
#   L-D   4 sh  240.00 (60.00/sh)  2024-05-01  long   ties L-C on cost
#   L-E   8 sh  360.00 (45.00/sh)  2025-09-01  short  ties L-C on date
TIES = [lot("L-B", "10", "400.00", "2024-01-10"), lot("L-A", "10", "400.00", "2024-01-10"),
        lot("L-C", "5", "300.00", "2025-09-01"), lot("L-D", "4", "240.00", "2024-05-01"),
        lot("L-E", "8", "360.00", "2025-09-01")]
LONG, SHORT = Term.LONG, Term.SHORT


# ---------------------------------------------------------------- each method, with its ties


def test_fifo_takes_the_oldest_first_and_same_day_lots_by_id():
    # order: 2024-01-10 (L-A, L-B by id), 2024-05-01 L-D, 2025-09-01 (L-C, L-E)
    assert [x.lot_id for x in relief_order(TIES, D(50), SOLD, Method.FIFO)] == ["L-A", "L-B", "L-D", "L-C", "L-E"]
    # 23 = 10 + 10 + 3: L-D partly, 240.00 x 3/4 = 180.00; proceeds 3 x 50 = 150.00
    assert brief(relieve(TIES, D(23), D("50.00"), SOLD, Method.FIFO)) == [
        ("L-A", 10, D("400.00"), D("500.00"), D("100.00"), LONG),
        ("L-B", 10, D("400.00"), D("500.00"), D("100.00"), LONG),
        ("L-D", 3, D("180.00"), D("150.00"), D("-30.00"), LONG),
    ]


def test_lifo_takes_the_newest_first_and_same_day_lots_by_id_ascending():
    # order: 2025-09-01 (L-C, L-E by id ascending), 2024-05-01 L-D, 2024-01-10 (L-A, L-B)
    assert [x.lot_id for x in relief_order(TIES, D(50), SOLD, "LIFO")] == ["L-C", "L-E", "L-D", "L-A", "L-B"]
    # 23 = 5 + 8 + 4 + 6: L-A partly, 400.00 x 6/10 = 240.00; proceeds 6 x 50 = 300.00
    assert brief(relieve(TIES, D(23), D("50.00"), SOLD, Method.LIFO)) == [
        ("L-C", 5, D("300.00"), D("250.00"), D("-50.00"), SHORT),
        ("L-E", 8, D("360.00"), D("400.00"), D("40.00"), SHORT),
        ("L-D", 4, D("240.00"), D("200.00"), D("-40.00"), LONG),
        ("L-A", 6, D("240.00"), D("300.00"), D("60.00"), LONG),
    ]


def test_hifo_takes_the_highest_cost_first_and_equal_costs_oldest_first():
    # 60.00: L-D (2024-05-01) before L-C (2025-09-01); 45.00: L-E; 40.00: L-A, L-B (same date: by id)
    assert [x.lot_id for x in relief_order(TIES, D(50), SOLD, Method.HIFO)] == ["L-D", "L-C", "L-E", "L-A", "L-B"]
    # 20 = 4 + 5 + 8 + 3: L-A partly, 400.00 x 3/10 = 120.00
    assert brief(relieve(TIES, D(20), D("50.00"), SOLD, Method.HIFO)) == [
        ("L-D", 4, D("240.00"), D("200.00"), D("-40.00"), LONG),
        ("L-C", 5, D("300.00"), D("250.00"), D("-50.00"), SHORT),
        ("L-E", 8, D("360.00"), D("400.00"), D("40.00"), SHORT),
        ("L-A", 3, D("120.00"), D("150.00"), D("30.00"), LONG),
    ]


def test_lofo_takes_the_lowest_cost_first_and_equal_costs_oldest_first():
    # 40.00: L-A, L-B (same date: by id); 45.00: L-E; 60.00: L-D (older) before L-C
    assert [x.lot_id for x in relief_order(TIES, D(50), SOLD, Method.LOFO)] == ["L-A", "L-B", "L-E", "L-D", "L-C"]
    # 23 = 10 + 10 + 3: L-E partly, 360.00 x 3/8 = 135.00; proceeds 150.00
    assert brief(relieve(TIES, D(23), D("50.00"), SOLD, Method.LOFO)) == [
        ("L-A", 10, D("400.00"), D("500.00"), D("100.00"), LONG),
        ("L-B", 10, D("400.00"), D("500.00"), D("100.00"), LONG),
        ("L-E", 3, D("135.00"), D("150.00"), D("15.00"), SHORT),
    ]


def test_cost_per_share_compares_exactly_not_by_total_basis():
    # 3 sh for 100.00 (33.333.../sh) against 1 sh for 33.33: the 3-share lot costs more per share
    lots = [lot("BIG", "3", "100.00", "2025-01-02"), lot("ONE", "1", "33.33", "2025-01-02")]
    assert [x.lot_id for x in relief_order(lots, D(30), SOLD, Method.HIFO)] == ["BIG", "ONE"]
    assert [x.lot_id for x in relief_order(lots, D(30), SOLD, Method.LOFO)] == ["ONE", "BIG"]


# ---------------------------------------------------------------- MIN_TAX

# Sold at 100.00 on 2026-06-30, rates 40% short-term, 20% long-term; g = gain per share.
MIXED = [
    lot("S1", "10", "1050.00", "2026-01-05"),  # short, g = -5
    lot("S2", "10", "1200.00", "2026-02-01"),  # short, g = -20
    lot("L1", "10", "1300.00", "2020-01-01"),  # long,  g = -30 (a larger loss, but long-term)
    lot("G1", "10", "900.00", "2021-01-01"),   # long,  g = +10, tax 10 x 0.20 = 2.00
    lot("G2", "10", "950.00", "2026-03-01"),   # short, g = +5,  tax  5 x 0.40 = 2.00 (ties G1)
    lot("G3", "10", "920.00", "2021-06-01"),   # long,  g = +8,  tax  8 x 0.20 = 1.60
    lot("G4", "10", "990.00", "2026-04-01"),   # short, g = +1,  tax  1 x 0.40 = 0.40
    lot("Z", "10", "1000.00", "2022-01-01"),   # long,  g = 0,   tax 0
]
RATES = (D("0.40"), D("0.20"))


def test_min_tax_takes_short_losses_then_long_losses_then_the_least_tax():
    # short-term losses, largest loss first: S2 (-20), S1 (-5); long-term losses: L1 (-30);
    # then by tax per share: Z 0, G4 0.40, G3 1.60, and G1 / G2 at 2.00: long-term G1 first
    order = relief_order(MIXED, D(100), SOLD, Method.MIN_TAX, RATES)
    assert [x.lot_id for x in order] == ["S2", "S1", "L1", "Z", "G4", "G3", "G1", "G2"]
    # 35 = 10 + 10 + 10 + 5 of Z (1000.00 x 5/10 = 500.00, proceeds 500.00, gain 0)
    assert brief(relieve(MIXED, D(35), D("100.00"), SOLD, "MIN_TAX", rates=RATES)) == [
        ("S2", 10, D("1200.00"), D("1000.00"), D("-200.00"), SHORT),
        ("S1", 10, D("1050.00"), D("1000.00"), D("-50.00"), SHORT),
        ("L1", 10, D("1300.00"), D("1000.00"), D("-300.00"), LONG),
        ("Z", 5, D("500.00"), D("500.00"), D("0.00"), LONG),
    ]


def test_min_tax_at_zero_rates_takes_long_term_gains_first_then_the_smallest_gain():
    # every gain's tax is 0: long-term Z (0), G3 (8), G1 (10), then short-term G4 (1), G2 (5)
    order = relief_order(MIXED, D(100), SOLD, Method.MIN_TAX, (D(0), D(0)))
    assert [x.lot_id for x in order] == ["S2", "S1", "L1", "Z", "G3", "G1", "G4", "G2"]


def test_min_tax_weighs_a_short_term_gain_against_a_long_term_one_by_rate():
    # at 100.00: SG short g = +5, tax 5 x 0.37 = 1.85; LG long g = +10, tax 10 x 0.20 = 2.00: SG first;
    # at a 45% short-term rate SG's tax is 2.25: LG first
    lots = [lot("LG", "1", "90.00", "2020-01-01"), lot("SG", "1", "95.00", "2026-01-01")]
    assert [x.lot_id for x in relief_order(lots, D(100), SOLD, "MIN_TAX", (D("0.37"), D("0.20")))] == ["SG", "LG"]
    assert [x.lot_id for x in relief_order(lots, D(100), SOLD, "MIN_TAX", (D("0.45"), D("0.20")))] == ["LG", "SG"]


def test_min_tax_ties_go_to_the_oldest_then_the_lowest_id():
    # the same cost per share and term: 2021 before 2022; same date: T-1 before T-2
    lots = [lot("T-2", "5", "450.00", "2022-01-01"), lot("T-1", "5", "450.00", "2022-01-01"),
            lot("T-9", "5", "450.00", "2021-01-01")]
    assert [x.lot_id for x in relief_order(lots, D(100), SOLD, Method.MIN_TAX, RATES)] == ["T-9", "T-1", "T-2"]


def test_min_tax_term_is_taken_on_the_sale_date():
    # A (bought 2025-06-30, g = +10) is short-term when sold on its anniversary 2026-06-30, tax
    # 10 x 0.40 = 4.00, after B (long, g = +12, 12 x 0.20 = 2.40); the day after it is long-term,
    # 10 x 0.20 = 2.00, before B
    lots = [lot("A", "1", "90.00", "2025-06-30"), lot("B", "1", "88.00", "2020-01-01")]
    assert [x.lot_id for x in relief_order(lots, D(100), dt.date(2026, 6, 30), "MIN_TAX", RATES)] == ["B", "A"]
    assert [x.lot_id for x in relief_order(lots, D(100), dt.date(2026, 7, 1), "MIN_TAX", RATES)] == ["A", "B"]


# ---------------------------------------------------------------- SPECIFIC


def test_specific_relieves_the_named_lots_in_the_order_named():
    # 2 of L-E (360.00 x 2/8 = 90.00), then all of L-D (240.00), at 50.00
    reliefs = relieve(TIES, D(6), D("50.00"), SOLD, Method.SPECIFIC, specific=[("L-E", D(2)), ("L-D", D(4))])
    assert brief(reliefs) == [("L-E", 2, D("90.00"), D("100.00"), D("10.00"), SHORT),
                              ("L-D", 4, D("240.00"), D("200.00"), D("-40.00"), LONG)]


@pytest.mark.parametrize(("specific", "quantity", "message"), [
    pytest.param([("L-F", D(1))], D(1), "no open lot 'L-F' to sell; did you mean `L-E`?", id="unknown lot"),
    pytest.param([("L-A", D(3))], D(5), "the named lots cover 3 shares, not the 5 sold", id="covers less"),
    pytest.param([("L-A", D(3)), ("L-B", D(3))], D(5), "the named lots cover 6 shares, not the 5 sold",
                 id="covers more"),
    pytest.param([("L-C", D(6))], D(6), "lot 'L-C' holds 5, cannot sell 6 of it", id="more than the lot"),
    pytest.param([("L-A", D(1)), ("L-A", D(1))], D(2), "lot 'L-A' is named twice", id="named twice"),
    pytest.param([("L-A", D(0))], D(0), "must be greater than zero", id="zero"),
    pytest.param([], D(1), "the named lots cover 0 shares, not the 1 sold", id="no lots named"),
])
def test_specific_refuses_what_does_not_name_the_sell_exactly(specific, quantity, message):
    with pytest.raises(DataError, match=re.escape(message)):
        relieve(TIES, quantity, D("50.00"), SOLD, Method.SPECIFIC, specific=specific)


def test_named_lots_need_the_specific_method_and_specific_has_no_order():
    with pytest.raises(DataError, match="lots are named only for SPECIFIC relief, not FIFO"):
        relieve(TIES, D(1), D(50), SOLD, Method.FIFO, specific=[("L-A", D(1))])
    with pytest.raises(DataError, match="SPECIFIC relief has no order of its own"):
        relief_order(TIES, D(50), SOLD, Method.SPECIFIC)


# ---------------------------------------------------------------- amounts


@pytest.mark.parametrize(("held", "basis", "taken", "expected"), [
    ("2", "100.01", "1", "50.00"),  # 100.01 x 1/2 = 50.005: half-even to the even cent, 50.00 (half-up: 50.01)
    ("2", "100.03", "1", "50.02"),  # 50.015 -> 50.02
    ("2", "0.01", "1", "0.00"),     # 0.005 -> 0.00
    ("2", "0.03", "1", "0.02"),     # 0.015 -> 0.02
    ("3", "100.00", "2", "66.67"),  # 100.00 x 2/3 = 66.666...: the whole product is rounded, not 2 x 33.33
    ("8", "0.10", "1", "0.01"),     # 0.0125 -> 0.01
    ("8", "0.30", "1", "0.04"),     # 0.0375 -> 0.04
])
def test_a_partial_lot_takes_its_pro_rata_basis_rounded_half_even(held, basis, taken, expected):
    [relief] = relieve([lot("L", held, basis, "2025-01-02")], D(taken), D(0), SOLD)
    assert relief.cost_basis == D(expected) and relief.gain == -D(expected)


def test_a_partial_basis_is_exact_beyond_decimal_precision():
    # 999,999,999.99 x 1/3 = 333,333,333.33 exactly, the remainder 0.003...: no 28-digit artefact;
    # 999,999,999.99 x 0.000001 / 999,999.999999 = 0.00100000000000... -> 0.00
    [relief] = relieve([lot("L", "3", "999999999.99", "2025-01-02")], D(1), D(0), SOLD)
    assert relief.cost_basis == D("333333333.33")
    [relief] = relieve([lot("L", "999999.999999", "999999999.99", "2025-01-02")], D("0.000001"), D(0), SOLD)
    assert relief.cost_basis == D("0.00")


@pytest.mark.parametrize(("quantity", "price", "proceeds"), [
    ("0.5", "10.01", "5.00"),   # 5.005 -> 5.00 (even)
    ("0.5", "10.03", "5.02"),   # 5.015 -> 5.02
    ("3", "33.333333", "100.00"),  # 99.999999 -> 100.00
])
def test_proceeds_are_quantity_times_price_rounded_half_even(quantity, price, proceeds):
    [relief] = relieve([lot("L", "10", "0.00", "2025-01-02")], D(quantity), D(price), SOLD)
    assert relief.proceeds == D(proceeds) and relief.gain == D(proceeds)


def test_a_full_lot_takes_its_whole_basis():
    # 3 shares for 100.00: sold at once the basis is 100.00, not 3 x 33.33 = 99.99
    lots = [lot("L", "3", "100.00", "2025-01-02"), lot("M", "1", "1.00", "2025-06-01")]
    first, second = relieve(lots, D(4), D("30.00"), SOLD)
    assert (first.lot_id, first.quantity, first.cost_basis) == ("L", 3, D("100.00"))
    assert (second.lot_id, second.cost_basis) == ("M", D("1.00"))
    # sold 1 then 2: 33.33, then what is left (66.67) whole
    [one] = relieve(lots[:1], D(1), D("30.00"), SOLD)
    rest = lot("L", "2", str(D("100.00") - one.cost_basis), "2025-01-02")
    [two] = relieve([rest], D(2), D("30.00"), SOLD)
    assert (one.cost_basis, two.cost_basis, one.cost_basis + two.cost_basis) == (D("33.33"), D("66.67"), D("100.00"))


@pytest.mark.parametrize(("acquired", "sold", "term"), [
    ("2025-03-10", "2026-03-10", SHORT),  # on the anniversary: still short
    ("2025-03-10", "2026-03-11", LONG),   # the day after
    ("2024-02-29", "2025-02-28", SHORT),  # 29 February: the anniversary is 28 February
    ("2024-02-29", "2025-03-01", LONG),
])
def test_the_term_is_long_after_the_anniversary(acquired, sold, term):
    [relief] = relieve([lot("L", "1", "1.00", acquired)], D(1), D(1), dt.date.fromisoformat(sold))
    assert relief.term is term


def test_as_json_is_the_trade_lots_shape_plus_proceeds():
    [relief] = relieve([lot("L-1", "4.5", "450.00", "2024-01-02")], D("1.5"), D("120.00"), SOLD)
    assert relief.as_json() == {"lot_id": "L-1", "quantity": "1.5", "cost_basis": "150.00", "acquired": "2024-01-02",
                                "term": "long", "proceeds": "180.00", "gain": "30.00"}


def test_a_sell_of_zero_relieves_nothing():
    assert relieve(TIES, D(0), D(50), SOLD, Method.HIFO) == []


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(("call", "message"), [
    pytest.param(lambda: relieve(TIES, D(38), D(50), SOLD), "cannot sell 38: the lots hold 37", id="oversell"),
    pytest.param(lambda: relieve([], D(1), D(50), SOLD), "cannot sell 1: the lots hold 0", id="no lots"),
    pytest.param(lambda: relieve(TIES, D(1), D(50), SOLD, "HIFI"), "unknown lot method 'HIFI'; did you mean `HIFO`?",
                 id="unknown method"),
    pytest.param(lambda: relieve(TIES, D(-1), D(50), SOLD), "cannot sell a negative quantity", id="negative"),
    pytest.param(lambda: relieve(TIES, D("0.0000001"), D(50), SOLD), "more than 6 decimal places",
                 id="too precise"),
    pytest.param(lambda: relieve(TIES, D(1), D(-1), SOLD), "a sell price must be a non-negative number",
                 id="negative price"),
    pytest.param(lambda: relieve([*TIES, TIES[0]], D(1), D(50), SOLD), "two open lots share the id 'L-B'",
                 id="duplicate ids"),
    pytest.param(lambda: relieve(TIES, D(1), D(50), SOLD, Method.MIN_TAX, rates=(D("1.5"), D(0))),
                 "a tax rate must be between 0 and 1", id="bad rate"),
])
def test_relief_refuses_with_a_clear_data_error(call, message):
    with pytest.raises(DataError, match=re.escape(message)):
        call()


def test_open_lots_are_checked_values():
    with pytest.raises(ValueError, match="greater than zero"):
        lot("L", "0", "1.00", "2025-01-02")
    with pytest.raises(ValueError, match="more than 2 decimal places"):
        lot("L", "1", "1.001", "2025-01-02")
    with pytest.raises(TypeError):
        OpenLot("L", 1.5, D(1), dt.date(2025, 1, 2))  # type: ignore[arg-type]  # never a float


def test_method_names_are_the_policy_lots_names():
    from smartx_engine.dsl.schema import LOT_METHODS

    assert {*LOT_METHODS, "SPECIFIC"} == {m.value for m in Method}
    assert relief_order(TIES, D(50), SOLD, "hifo") == relief_order(TIES, D(50), SOLD, Method.HIFO)


# ---------------------------------------------------------------- independent sources


def source_cases() -> list:
    return [pytest.param(case, id=case["name"]) for case in tomllib.loads(DATA.read_text())["case"]]


@pytest.mark.parametrize("case", source_cases())
def test_cases_from_independent_sources(case):
    assert case["source"].strip()
    lots = {x["id"]: lot(x["id"], x["quantity"], x["cost_basis"], x["acquired"]) for x in case["lots"]}
    sold, price = dt.date.fromisoformat(case["sold"]), D(case["price"])
    rates = tuple(D(r) for r in case.get("rates", ["0", "0"]))
    for sell in case["sell"]:
        quantity, specific = D(sell["quantity"]), [(lot_id, D(q)) for lot_id, q in sell.get("specific", [])]
        if "error" in sell:
            with pytest.raises(DataError, match=re.escape(sell["error"])):
                relieve(list(lots.values()), quantity, price, sold, case["method"], rates=rates, specific=specific)
            continue
        reliefs = relieve(list(lots.values()), quantity, price, sold, case["method"], rates=rates, specific=specific)
        assert len(reliefs) == len(sell["expect"]), [r.as_json() for r in reliefs]
        for relief, expected in zip(reliefs, sell["expect"], strict=True):
            actual = relief.as_json()
            assert (relief.lot_id, relief.quantity, relief.cost_basis) == (
                expected["lot_id"], D(expected["quantity"]), D(expected["cost_basis"])), actual
            for key in ("proceeds", "gain"):
                if key in expected:
                    assert getattr(relief, key) == D(expected[key]), (key, actual)
            if "term" in expected:
                assert relief.term == expected["term"], actual
        for relief in reliefs:  # what the sell leaves
            held = lots.pop(relief.lot_id)
            if relief.quantity < held.quantity:
                lots[held.lot_id] = OpenLot(held.lot_id, held.quantity - relief.quantity,
                                            held.cost_basis - relief.cost_basis, held.acquired)
    if "remaining" in case:
        left = relief_order(list(lots.values()), price, sold, Method.FIFO)
        assert [(x.lot_id, x.quantity) for x in left] == [(i, D(q)) for i, q in case["remaining"]]


# ---------------------------------------------------------------- the docs' example


def lot_relief_section() -> str:
    text = DOC.read_text()
    start = text.index("## Lot relief")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def test_the_docs_doctest_runs():
    blocks = re.findall(r"^```pycon\n(.*?)^```$", lot_relief_section(), re.MULTILINE | re.DOTALL)
    assert blocks
    for block in blocks:
        test = doctest.DocTestParser().get_doctest(block, {}, "docs/tax.md#lot-relief", str(DOC), 0)
        report: list[str] = []
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test, out=report.append)
        assert test.examples and runner.failures == 0, "".join(report)


def test_the_docs_example_table_is_what_relief_computes():
    section = lot_relief_section()
    lots = [lot(m[1], m[2], m[3].replace(",", ""), m[4]) for m in re.finditer(
        r"^\| (L-\d) \| (\d+) \| ([\d,.]+) \| [\d.]+ \| (\d{4}-\d\d-\d\d) \|", section, re.MULTILINE)]
    rows = re.findall(r"^\| (FIFO|LIFO|HIFO|LOFO|MIN_TAX) \| ([^|]+) \| ([-\d,.]+) \| ([-\d,.]+) \|$",
                      section, re.MULTILINE)
    assert len(lots) == 4 and len(rows) == 5
    for method, relieved, basis, gain in rows:
        reliefs = relieve(lots, D(150), D("250.00"), SOLD, method, rates=(D("0.37"), D("0.20")))
        assert ", ".join(f"{r.lot_id} {r.quantity}" for r in reliefs) == relieved.strip(), method
        assert sum(r.cost_basis for r in reliefs) == D(basis.replace(",", "")), method
        assert sum(r.gain for r in reliefs) == D(gain.replace(",", "")), method


# ---------------------------------------------------------------- the rebalancer


def rebalance_sells(smartx, book: Path, rules: Path, method: str) -> list[dict]:
    smartx("import", "book", str(book))
    rules.mkdir()
    (rules / "balanced.policy").write_text(
        f'policy "balanced" {{\n  applies to sleeve.model == "BAL-60-40"\n  trigger when true\n  lots {method}\n}}\n')
    trades = json.loads(smartx("--rules", str(rules), "rebalance", "--all", "--as-of", "2026-11-20",
                               "--dry-run", "--json").stdout)
    return [t for t in trades if t["side"] == "sell"]


@pytest.mark.parametrize(("method", "lt_rate", "first"), [
    ("FIFO", "0.15", "L-001"),
    ("LIFO", "0.15", "L-002"),
    ("HIFO", "0.15", "L-002"),
    ("LOFO", "0.15", "L-001"),
    # VTI at 312.45: L-002 (25.5 for 7,000.00, short) gains 37.94/sh, 35% -> 13.28 of tax a share;
    # L-001 (100 for 21,450.00, long) gains 97.95/sh, 15% -> 14.69: L-002 first; at a 10%
    # long-term rate L-001's tax is 9.80: L-001 first. So the account's rates are the ones used.
    ("MIN_TAX", "0.15", "L-002"),
    ("MIN_TAX", "0.10", "L-001"),
])
def test_the_rebalancer_relieves_by_the_policy_method_and_the_account_rates(
        smartx, db_path, book, tmp_path, method, lt_rate, first):
    lots = (book / "lots.csv").read_text().replace("VTI,25.5,8011.33,", "VTI,25.5,7000.00,")
    (book / "lots.csv").write_text(lots)
    accounts = (book / "accounts.csv").read_text().replace("joint,0.35,0.15,", f"joint,0.35,{lt_rate},")
    (book / "accounts.csv").write_text(accounts)
    sells = rebalance_sells(smartx, book, tmp_path / "rules", method)
    [vti] = [t for t in sells if (t["sleeve_id"], t["symbol"]) == ("SCH-1-CORE", "VTI")]
    assert vti["lots"][0]["lot_id"] == first
    held = [OpenLot.from_lot(x) for x in Store.open(db_path).lots(sleeve_id="SCH-1-CORE") if x.symbol == "VTI"]
    expected = relieve(held, D(vti["quantity"]), D(vti["est_price"]), dt.date(2026, 11, 20), method,
                       rates=(D("0.35"), D(lt_rate)))
    assert vti["lots"] == [r.as_json() for r in expected]
    for sell in sells:  # every stored lots entry keeps the trade JSON keys
        assert all(set(x) == {"lot_id", "quantity", "cost_basis", "acquired", "term", "proceeds", "gain"}
                   for x in sell["lots"])


# ---------------------------------------------------------------- properties

IDS = [f"L-{i:02d}" for i in range(12)]
ORDERED = [Method.FIFO, Method.LIFO, Method.HIFO, Method.LOFO, Method.MIN_TAX]


@st.composite
def open_lots(draw, min_size: int = 1) -> list[OpenLot]:
    ids = draw(st.lists(st.sampled_from(IDS), min_size=min_size, max_size=8, unique=True))
    dates = st.dates(dt.date(2023, 1, 1), dt.date(2026, 6, 30))
    # few distinct costs and dates, so ties are common
    return [OpenLot(lot_id,
                    D(draw(st.sampled_from([1, 3, 7, 1_000_000, 2_500_000, 123_456_789])))
                    .scaleb(-6) * draw(st.sampled_from([1, 10, 1000])),
                    D(draw(st.sampled_from([0, 1, 9_999, 10_000, 12_345, 333_333, 5_000_000]))).scaleb(-2),
                    draw(st.sampled_from([dt.date(2024, 1, 2), dt.date(2025, 7, 1)]) | dates))
            for lot_id in ids]


@st.composite
def sells(draw):
    lots = draw(open_lots())
    held = sum(x.quantity for x in lots)
    units = draw(st.integers(0, int(held.scaleb(6))))
    price = D(draw(st.integers(0, 100_000_000))).scaleb(-6)
    rates = (D(draw(st.integers(0, 50))).scaleb(-2), D(draw(st.integers(0, 50))).scaleb(-2))
    return lots, D(units).scaleb(-6), price, draw(st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31))), rates


@PROPERTY
@given(sells(), st.sampled_from(ORDERED))
def test_relief_sells_exactly_the_quantity_within_each_lot(sell, method):
    lots, quantity, price, sold, rates = sell
    reliefs = relieve(lots, quantity, price, sold, method, rates=rates)
    by_id = {x.lot_id: x for x in lots}
    assert sum((r.quantity for r in reliefs), D(0)) == quantity
    assert len({r.lot_id for r in reliefs}) == len(reliefs)
    for index, r in enumerate(reliefs):
        held = by_id[r.lot_id]
        assert 0 < r.quantity <= held.quantity and 0 <= r.cost_basis <= held.cost_basis
        assert r.acquired == held.acquired and r.term == held.term(sold)
        assert r.quantity == held.quantity or index == len(reliefs) - 1  # only the last is partial
        if r.quantity == held.quantity:
            assert r.cost_basis == held.cost_basis
        else:  # a plain reference: the exact product at 60 digits, rounded half-even once
            with localcontext(prec=60):
                assert r.cost_basis == (held.cost_basis * r.quantity / held.quantity).quantize(
                    D("0.01"), rounding=ROUND_HALF_EVEN)
        with localcontext(prec=60):
            assert r.proceeds == (r.quantity * price).quantize(D("0.01"), rounding=ROUND_HALF_EVEN)
        assert r.cost_basis == r.cost_basis.quantize(D("0.01")) and r.proceeds == r.proceeds.quantize(D("0.01"))
    # the gains add up to the proceeds less the relieved basis, to the cent
    assert sum((r.gain for r in reliefs), D(0)) == (sum((r.proceeds for r in reliefs), D(0))
                                                    - sum((r.cost_basis for r in reliefs), D(0)))


@PROPERTY
@given(sells(), st.sampled_from(ORDERED), st.randoms(use_true_random=False))
def test_relief_follows_its_order_whatever_the_input_order(sell, method, random):
    lots, quantity, price, sold, rates = sell
    order = relief_order(lots, price, sold, method, rates)
    assert sorted(x.lot_id for x in order) == sorted(x.lot_id for x in lots)  # a permutation
    assert len(order) == len(lots)
    reliefs = relieve(lots, quantity, price, sold, method, rates=rates)
    assert [r.lot_id for r in reliefs] == [x.lot_id for x in order[:len(reliefs)]]
    shuffled = list(lots)
    random.shuffle(shuffled)
    assert relief_order(shuffled, price, sold, method, rates) == order
    assert relieve(shuffled, quantity, price, sold, method, rates=rates) == reliefs


@PROPERTY
@given(sells())
def test_each_order_respects_its_rule(sell):
    lots, _, price, sold, rates = sell

    def pairs(method):
        order = relief_order(lots, price, sold, method, rates)
        return list(itertools.pairwise(order))

    for a, b in pairs(Method.FIFO):
        assert (a.acquired, a.lot_id) < (b.acquired, b.lot_id)
    for a, b in pairs(Method.LIFO):
        assert a.acquired > b.acquired or (a.acquired == b.acquired and a.lot_id < b.lot_id)
    for a, b in pairs(Method.HIFO):
        assert a.cost_per_share > b.cost_per_share or (
            a.cost_per_share == b.cost_per_share and (a.acquired, a.lot_id) < (b.acquired, b.lot_id))
    for a, b in pairs(Method.LOFO):
        assert a.cost_per_share < b.cost_per_share or (
            a.cost_per_share == b.cost_per_share and (a.acquired, a.lot_id) < (b.acquired, b.lot_id))

    def group(x: OpenLot) -> int:  # 0 short-term loss, 1 long-term loss, 2 the rest
        return 2 if price >= x.cost_per_share else int(x.term(sold) is Term.LONG)

    for a, b in pairs(Method.MIN_TAX):
        assert group(a) <= group(b)
        if group(a) == group(b) < 2:
            assert a.cost_per_share >= b.cost_per_share  # the larger loss per share first


@PROPERTY
@given(open_lots(), st.data())
def test_specific_relieves_what_is_named(lots, data):
    named = data.draw(st.lists(st.sampled_from(lots), unique_by=lambda x: x.lot_id, min_size=1))
    specific = [(x.lot_id, D(data.draw(st.integers(1, int(x.quantity.scaleb(6))))).scaleb(-6)) for x in named]
    quantity = sum((q for _, q in specific), D(0))
    reliefs = relieve(lots, quantity, D("10.00"), SOLD, Method.SPECIFIC, specific=specific)
    assert [(r.lot_id, r.quantity) for r in reliefs] == specific
