"""Account netting follows docs/rebalancing.md ("Account netting").

`net` is held to its invariants over random trades and pinned by hand-worked examples;
`apply_crossings` runs against a store holding the small book, where account SCH-1 gets a second
sleeve (SCH-1-LEGACY) holding VTI and BND beside SCH-1-CORE.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartx_engine.builtin.csv_book import CsvBookImporter
from smartx_engine.domain import Side, Trade
from smartx_engine.errors import ConflictError
from smartx_engine.fixedpoint import QUANTITY, round_money
from smartx_engine.rebalance.netting import (
    Crossing,
    NetOrder,
    apply_crossings,
    crossed_quantities,
    net,
    pro_rata_cents,
)
from smartx_engine.store import Store
from tests.support import SMALL_BOOK

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PRICES = {"VTI": Decimal("312.45"), "BND": Decimal("73.18")}
CORE, LEGACY = "SCH-1-CORE", "SCH-1-LEGACY"


def trade(trade_id, sleeve, side, quantity, symbol="VTI", account="SCH-1") -> Trade:
    return Trade(trade_id, "R-000001", account, sleeve, symbol, side, Decimal(quantity), PRICES[symbol])


def signed(side: Side | str, quantity: Decimal) -> Decimal:
    return quantity if Side(side) is Side.BUY else -quantity


# ---------------------------------------------------------------- net: examples


def test_opposite_trades_of_two_sleeves_cross_and_leave_the_net_order():
    netting = net([trade("T-1", CORE, "sell", "100"), trade("T-2", LEGACY, "buy", "60")])
    assert netting.crossings == (Crossing("SCH-1", "VTI", "T-1", "T-2", CORE, LEGACY, Decimal(60), PRICES["VTI"]),)
    assert netting.orders == (NetOrder("SCH-1", "VTI", "sell", Decimal(40), ("T-1", "T-2")),)
    assert crossed_quantities(netting) == {"T-1": 60, "T-2": 60}


def test_sells_cross_buys_greedily_in_sleeve_then_trade_order():
    trades = [trade("T-5", "B", "sell", "30"), trade("T-9", "A", "sell", "50"),  # A's sell goes first
              trade("T-2", "D", "buy", "40"), trade("T-3", "C", "buy", "60")]  # C's buy goes first
    netting = net(trades)
    assert [(c.sell_trade_id, c.buy_trade_id, c.quantity) for c in netting.crossings] == [
        ("T-9", "T-3", 50), ("T-5", "T-3", 10), ("T-5", "T-2", 20)]
    assert netting.orders == (NetOrder("SCH-1", "VTI", "buy", Decimal(20), ("T-2", "T-3", "T-5", "T-9")),)


def test_trade_id_breaks_ties_within_a_sleeve():
    netting = net([trade("T-2", "A", "sell", "5"), trade("T-1", "A", "sell", "5"), trade("T-3", "B", "buy", "7")])
    assert [(c.sell_trade_id, c.quantity) for c in netting.crossings] == [("T-1", 5), ("T-2", 2)]


def test_trades_that_cancel_out_send_no_order():
    netting = net([trade("T-1", "A", "sell", "12.345678"), trade("T-2", "B", "buy", "12.345678")])
    assert netting.orders == ()
    assert [c.quantity for c in netting.crossings] == [Decimal("12.345678")]


def test_one_sided_groups_give_orders_without_crossings_sorted_by_account_and_symbol():
    netting = net([trade("T-1", "Z", "buy", "3", account="ZZ"), trade("T-2", "A", "sell", "2", symbol="VTI"),
                   trade("T-3", "A", "sell", "1", symbol="BND"), trade("T-4", "B", "sell", "4", symbol="BND")])
    assert netting.crossings == ()
    assert [(o.account_id, o.symbol, o.side, o.quantity, o.trade_ids) for o in netting.orders] == [
        ("SCH-1", "BND", Side.SELL, 5, ("T-3", "T-4")), ("SCH-1", "VTI", Side.SELL, 2, ("T-2",)),
        ("ZZ", "VTI", Side.BUY, 3, ("T-1",))]


def test_trades_of_other_accounts_never_cross():
    netting = net([trade("T-1", "A", "sell", "10", account="X"), trade("T-2", "B", "buy", "10", account="Y")])
    assert netting.crossings == ()
    assert len(netting.orders) == 2


def test_a_trade_listed_twice_is_refused():
    with pytest.raises(ValueError, match="T-1"):
        net([trade("T-1", "A", "sell", "1"), trade("T-1", "A", "sell", "1")])


# ---------------------------------------------------------------- net: properties

quantities = st.one_of(st.integers(1, 200).map(Decimal), st.integers(1, 200_000_000).map(QUANTITY.to_decimal))


@st.composite
def trade_lists(draw) -> list[Trade]:
    specs = draw(st.lists(st.tuples(st.sampled_from(("A1", "A2")), st.sampled_from(("S1", "S2", "S3")),
                                    st.sampled_from(sorted(PRICES)), st.sampled_from(Side), quantities),
                          max_size=25))
    trades = [Trade(f"T-{i:04d}", "R-1", account, f"{account}-{sleeve}", symbol, side, quantity, PRICES[symbol])
              for i, (account, sleeve, symbol, side, quantity) in enumerate(specs)]
    return draw(st.permutations(trades))


@PROPERTY
@given(trade_lists())
def test_net_orders_carry_the_signed_sum_of_every_group(trades):
    netting = net(trades)
    wanted: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    ids: dict[tuple[str, str], list[str]] = defaultdict(list)
    for t in trades:
        wanted[(t.account_id, t.symbol)] += signed(t.side, t.quantity)
        ids[(t.account_id, t.symbol)].append(t.trade_id)
    sent = {(o.account_id, o.symbol): o for o in netting.orders}
    assert len(sent) == len(netting.orders)
    assert {k: signed(o.side, o.quantity) for k, o in sent.items()} == {k: v for k, v in wanted.items() if v}
    assert all(o.trade_ids == tuple(sorted(ids[k])) for k, o in sent.items())
    assert [(o.account_id, o.symbol) for o in netting.orders] == sorted(sent)


@PROPERTY
@given(trade_lists())
def test_crossings_pair_opposite_trades_of_one_account_and_symbol(trades):
    netting = net(trades)
    by_id = {t.trade_id: t for t in trades}
    for c in netting.crossings:
        sell, buy = by_id[c.sell_trade_id], by_id[c.buy_trade_id]
        assert (sell.side, buy.side) == (Side.SELL, Side.BUY)
        assert sell.account_id == buy.account_id == c.account_id
        assert sell.symbol == buy.symbol == c.symbol
        assert (c.from_sleeve, c.to_sleeve, c.price) == (sell.sleeve_id, buy.sleeve_id, sell.est_price)
        assert c.quantity > 0
    crossed = crossed_quantities(netting)
    assert all(crossed[i] <= by_id[i].quantity for i in crossed)
    sold: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    bought: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for i, quantity in crossed.items():
        t = by_id[i]
        (sold if t.side is Side.SELL else bought)[(t.account_id, t.symbol)] += quantity
    assert sold == bought


@PROPERTY
@given(trade_lists())
def test_netting_crosses_all_it_can_and_the_order_is_what_is_left(trades):
    netting = net(trades)
    crossed = crossed_quantities(netting)
    left: dict[tuple[str, str, Side], Decimal] = defaultdict(Decimal)
    for t in trades:
        left[(t.account_id, t.symbol, t.side)] += t.quantity - crossed.get(t.trade_id, 0)
    for o in netting.orders:
        opposite = Side.BUY if o.side is Side.SELL else Side.SELL
        assert left.pop((o.account_id, o.symbol, o.side)) == o.quantity
        assert left.pop((o.account_id, o.symbol, opposite), 0) == 0
    assert not any(left.values())  # groups without an order are crossed completely


@PROPERTY
@given(trade_lists(), st.randoms())
def test_netting_does_not_depend_on_the_order_of_its_input(trades, random):
    shuffled = list(trades)
    random.shuffle(shuffled)
    assert net(shuffled) == net(trades)


# ---------------------------------------------------------------- pro-rata basis


@PROPERTY
@given(st.integers(0, 10**13), st.integers(1, 10**12), st.integers(1, 10**12))
def test_pro_rata_basis_is_the_exact_half_even_share(cents, part, whole):
    assert pro_rata_cents(cents, part, whole) == round(Fraction(cents * part, whole))  # round: half-even


def test_pro_rata_basis_agrees_with_round_money():
    for basis, moved, quantity in [("0.05", "1", "2"), ("0.07", "1", "2"), ("8011.33", "10", "25.5"),
                                   ("21450.00", "60", "100")]:
        expected = round_money(Decimal(basis) * Decimal(moved) / Decimal(quantity))
        cents = pro_rata_cents(int(Decimal(basis) * 100), QUANTITY.to_int(Decimal(moved)),
                               QUANTITY.to_int(Decimal(quantity)))
        assert Decimal(cents) / 100 == expected


# ---------------------------------------------------------------- apply_crossings: the store

BOOK_LOTS = [  # beside the small book's SCH-1-CORE lots L-001 (VTI 100) and L-002 (VTI 25.5)
    "L-101,SCH-1,SCH-1-LEGACY,VTI,40,9000.01,2020-01-02",
    "L-102,SCH-1,SCH-1-LEGACY,BND,2,0.05,2021-01-04",
]


@pytest.fixture(scope="module")
def two_sleeve_book(tmp_path_factory):
    """The small book with SCH-1-LEGACY holding VTI and BND and 50,000.00 in cash."""
    directory = Path(shutil.copytree(SMALL_BOOK, tmp_path_factory.mktemp("netting") / "book"))
    with open(directory / "lots.csv", "a") as lots:
        lots.write("\n".join(BOOK_LOTS) + "\n")
    cash = directory / "cash.csv"
    cash.write_text(cash.read_text().replace("SCH-1,SCH-1-LEGACY,0", "SCH-1,SCH-1-LEGACY,50000.00"))
    return CsvBookImporter().read(directory)


@pytest.fixture
def store(tmp_path, two_sleeve_book):
    store = Store.create(tmp_path / "firm.db", actor="tester")
    store.apply_book(two_sleeve_book)
    yield store
    store.close()


def lots_of(store, sleeve):
    return {lot.lot_id: (lot.symbol, lot.quantity, lot.cost_basis, lot.acquired.isoformat())
            for lot in store.lots(sleeve_id=sleeve)}


def cash_of(store, sleeve):
    return {c.sleeve_id: c.amount for c in store.cash(account_id="SCH-1")}.get(sleeve)


def account_totals(store, account="SCH-1"):
    """Shares and basis per symbol, and cash, of the whole account (crossings never change them)."""
    positions: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for p in store.positions(account_id=account):
        positions[p.symbol][0] += p.quantity
        positions[p.symbol][1] += p.cost_basis
    return dict(positions), sum(c.amount for c in store.cash(account_id=account))


def snapshot(store):
    return {table: list(store.db.query(f"select * from {table} order by 1")) for table in ("lots", "cash", "audit")}


def crossing(quantity, from_sleeve=CORE, to_sleeve=LEGACY, symbol="VTI", sell="T-1", buy="T-2"):
    return Crossing("SCH-1", symbol, sell, buy, from_sleeve, to_sleeve, Decimal(quantity), PRICES[symbol])


FIFO_CORE = [{"lot_id": "L-001", "quantity": "100.000000"}, {"lot_id": "L-002", "quantity": "25.500000"}]


def test_the_issue_example_splits_the_last_relieved_lot_and_moves_cash(store):
    netting = net([trade("T-1", CORE, "sell", "100"), trade("T-2", LEGACY, "buy", "60")])
    before = account_totals(store)
    summary = apply_crossings(store, netting.crossings, {"T-1": [{"lot_id": "L-001", "quantity": Decimal(100)}]})

    assert lots_of(store, CORE)["L-001"] == ("VTI", 40, Decimal("8580.00"), "2023-02-14")  # sold at the custodian
    assert lots_of(store, LEGACY)["L-001/SCH-1-LEGACY"] == ("VTI", 60, Decimal("12870.00"), "2023-02-14")
    assert cash_of(store, CORE) == Decimal("1520.75") + Decimal("18747.00")  # 60 x 312.45
    assert cash_of(store, LEGACY) == Decimal("50000.00") - Decimal("18747.00")
    assert account_totals(store) == before
    [move] = summary.lot_moves
    assert (move.lot_id, move.moved_lot_id, move.quantity, move.cost_basis, move.split) == (
        "L-001", "L-001/SCH-1-LEGACY", 60, Decimal("12870.00"), True)
    assert summary.cash_changes == {CORE: Decimal("18747.00"), LEGACY: Decimal("-18747.00")}


def test_crossed_shares_come_from_the_end_of_the_relief_list(store):
    before = account_totals(store)
    apply_crossings(store, [crossing("30")], {"T-1": FIFO_CORE})
    # L-002 (last relieved) moves whole and keeps its id; 4.5 of L-001 follow.
    assert lots_of(store, LEGACY)["L-002"] == ("VTI", Decimal("25.5"), Decimal("8011.33"), "2025-12-01")
    assert lots_of(store, LEGACY)["L-001/SCH-1-LEGACY"] == ("VTI", Decimal("4.5"), Decimal("965.25"), "2023-02-14")
    assert lots_of(store, CORE)["L-001"] == ("VTI", Decimal("95.5"), Decimal("20484.75"), "2023-02-14")
    assert "L-002" not in lots_of(store, CORE)
    assert account_totals(store) == before


def test_a_split_keeps_the_exact_basis_rounding_half_even(store):
    apply_crossings(store, [crossing("10")], {"T-1": FIFO_CORE})
    moved = lots_of(store, LEGACY)["L-002/SCH-1-LEGACY"]
    kept = lots_of(store, CORE)["L-002"]
    assert moved[1:3] == (10, Decimal("3141.70"))  # 8011.33 x 10 / 25.5 = 3141.698...
    assert kept[1:3] == (Decimal("15.5"), Decimal("4869.63"))
    # a tie: 0.05 x 1 / 2 = 0.025 rounds to the even cent, 0.02
    apply_crossings(store, [crossing("1", LEGACY, CORE, "BND", "T-3", "T-4")],
                    {"T-3": [{"lot_id": "L-102", "quantity": "2"}]})
    assert lots_of(store, CORE)["L-102/SCH-1-CORE"] == ("BND", 1, Decimal("0.02"), "2021-01-04")
    assert lots_of(store, LEGACY)["L-102"] == ("BND", 1, Decimal("0.03"), "2021-01-04")


def test_several_crossings_of_one_sell_walk_back_through_its_lots(store):
    netting = net([trade("T-1", CORE, "sell", "125.5"), trade("T-2", LEGACY, "buy", "20"),
                   trade("T-3", LEGACY, "buy", "10")])
    summary = apply_crossings(store, netting.crossings, {"T-1": FIFO_CORE})
    assert [(m.lot_id, m.moved_lot_id, m.quantity) for m in summary.lot_moves] == [
        ("L-002", "L-002/SCH-1-LEGACY", 20), ("L-002", "L-002", Decimal("5.5")),
        ("L-001", "L-001/SCH-1-LEGACY", Decimal("4.5"))]
    assert sum(lot[2] for i, lot in lots_of(store, LEGACY).items() if i.startswith("L-002")) == Decimal("8011.33")


def test_a_taken_lot_id_gets_a_number(store):
    relief = {"T-1": [{"lot_id": "L-001", "quantity": "100"}]}
    apply_crossings(store, [crossing("10")], relief)
    apply_crossings(store, [crossing("10")], relief)
    apply_crossings(store, [crossing("10")], relief)
    assert {"L-001/SCH-1-LEGACY", "L-001/SCH-1-LEGACY/2", "L-001/SCH-1-LEGACY/3"} <= set(lots_of(store, LEGACY))
    assert lots_of(store, CORE)["L-001"][1] == 70


def test_each_crossing_is_audited(store):
    netting = net([trade("T-1", CORE, "sell", "125.5"), trade("T-2", LEGACY, "buy", "20"),
                   trade("T-3", LEGACY, "buy", "10")])
    apply_crossings(store, netting.crossings, {"T-1": FIFO_CORE})
    records = [r for r in reversed(store.audit_log()) if r.action == "trades.cross"]
    assert [(r.subject, r.actor, r.details["buy_trade_id"], r.details["quantity"], r.details["amount"])
            for r in records] == [("SCH-1", "tester", "T-2", "20", "6249.00"),
                                  ("SCH-1", "tester", "T-3", "10", "3124.50")]
    assert [m["moved_lot_id"] for m in records[1].details["lots"]] == ["L-002", "L-001/SCH-1-LEGACY"]
    assert records[0].details["from_sleeve"] == CORE and records[0].details["to_sleeve"] == LEGACY


def test_a_seller_without_a_cash_row_gets_one(store):
    store.db.execute("delete from cash where sleeve_id = ?", [CORE])
    apply_crossings(store, [crossing("2")], {"T-1": FIFO_CORE})
    assert cash_of(store, CORE) == Decimal("624.90")


def test_a_crossing_within_one_sleeve_moves_nothing(store):
    before = snapshot(store)
    summary = apply_crossings(store, [crossing("5", CORE, CORE)], {"T-1": FIFO_CORE})
    assert summary.lot_moves == () and summary.crossings[0].amount == 0
    after = snapshot(store)
    assert (after["lots"], after["cash"]) == (before["lots"], before["cash"])
    assert len(after["audit"]) == len(before["audit"]) + 1


@pytest.mark.parametrize(("crossings", "lots", "message"), [
    pytest.param([crossing("10")], {}, "does not list enough relieved lots", id="no relieved lots"),
    pytest.param([crossing("60")], {"T-1": [{"lot_id": "L-001", "quantity": "50"}]},
                 "does not list enough relieved lots", id="too few relieved lots"),
    pytest.param([crossing("10")], {"T-1": [{"lot_id": "L-101", "quantity": "40"}]},
                 "lot L-101 holds 40.000000 VTI in sleeve SCH-1-LEGACY", id="lot of another sleeve"),
    pytest.param([crossing("10")], {"T-1": [{"lot_id": "L-999", "quantity": "40"}]},
                 "lot L-999 is no longer in the store", id="lot gone"),
    pytest.param([crossing("7", LEGACY, CORE, sell="T-3", buy="T-4")],
                 {"T-3": [{"lot_id": "L-101", "quantity": "40"}]},
                 "sleeve SCH-1-CORE holds 1520.75 in cash, not the 2187.15", id="buyer short of cash"),
    pytest.param([crossing("10", CORE, "SCH-2-CORE")], {"T-1": FIFO_CORE},
                 "sleeve SCH-2-CORE is not a sleeve of account SCH-1", id="sleeve of another account"),
    pytest.param([crossing("10"), crossing("1", LEGACY, CORE, "BND", "T-3", "T-4")],
                 {"T-1": FIFO_CORE, "T-3": [{"lot_id": "L-101", "quantity": "40"}]},
                 "lot L-101 holds 40.000000 VTI", id="second crossing fails"),
])
def test_a_crossing_that_cannot_be_applied_writes_nothing(store, crossings, lots, message):
    before = snapshot(store)
    with pytest.raises(ConflictError, match=message):
        apply_crossings(store, crossings, lots)
    assert snapshot(store) == before


def test_a_lot_smaller_than_its_relief_is_refused(store):
    store.db.execute("update lots set quantity_e6 = 50000000 where lot_id = 'L-001'")
    before = snapshot(store)
    with pytest.raises(ConflictError, match="lot L-001 holds 50.000000 VTI"):
        apply_crossings(store, [crossing("60")], {"T-1": [{"lot_id": "L-001", "quantity": "100"}]})
    assert snapshot(store) == before


def test_a_failure_while_writing_rolls_everything_back(store, monkeypatch):
    before = snapshot(store)
    calls = []

    def audit(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return Store.audit(store, *args, **kwargs)

    monkeypatch.setattr(store, "audit", audit)
    netting = net([trade("T-1", CORE, "sell", "125.5"), trade("T-2", LEGACY, "buy", "20"),
                   trade("T-3", LEGACY, "buy", "10")])
    with pytest.raises(RuntimeError):
        apply_crossings(store, netting.crossings, {"T-1": FIFO_CORE})
    assert snapshot(store) == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 30_000_000).map(QUANTITY.to_decimal), min_size=1, max_size=4))
def test_any_crossing_keeps_the_account_and_every_lot_basis_whole(two_sleeve_book, buys):
    store = Store.create(":memory:", actor="tester")
    store.apply_book(two_sleeve_book)
    before = account_totals(store)
    original = {lot.lot_id: lot for lot in store.lots(account_id="SCH-1")}
    netting = net([trade("T-0", CORE, "sell", "125.5")]
                  + [trade(f"T-{i + 1}", LEGACY, "buy", q) for i, q in enumerate(buys)])
    apply_crossings(store, netting.crossings, {"T-0": FIFO_CORE})
    assert account_totals(store) == before
    after = store.lots(account_id="SCH-1")
    for lot_id, lot in original.items():  # each original lot and its split-off parts add up to it
        family = [x for x in after if x.lot_id == lot_id or x.lot_id.startswith(lot_id + "/")]
        assert sum(x.quantity for x in family) == lot.quantity
        assert sum(x.cost_basis for x in family) == lot.cost_basis
        assert {x.acquired for x in family} == {lot.acquired}
    moved = sum(x.quantity for x in after if x.sleeve_id == LEGACY and x.symbol == "VTI") - 40
    assert moved == sum(crossed_quantities(netting)[f"T-{i + 1}"] for i in range(len(buys)))


def test_a_crossing_is_in_both_sleeves_histories_as_a_transfer(store):
    netting = net([trade("T-1", CORE, "sell", "100"), trade("T-2", LEGACY, "buy", "60")])
    apply_crossings(store, netting.crossings, {"T-1": [{"lot_id": "L-001", "quantity": Decimal(100)}]})
    moved = {(t.transaction_id, t.sleeve_id, str(t.type), t.symbol, t.quantity, t.amount)
             for t in store.transactions() if t.transaction_id.startswith("X-")}
    assert moved == {("X-T-1-T-2-out", CORE, "transfer_out", "VTI", 60, Decimal("18747.00")),
                     ("X-T-1-T-2-in", LEGACY, "transfer_in", "VTI", 60, Decimal("-18747.00"))}
    # so each sleeve's history rolls back from its new lots and cash to what it held before
    from smartx_engine.reporting.valuations import build_history
    store.db.execute("insert or replace into prices select symbol, '2026-11-20', price_e6 from securities")
    today = store.clock().date()
    history = build_history(store, today, today, sleeve_ids=[CORE, LEGACY])
    vti = history.symbols.index("VTI")
    before = {s.sleeve_id: int(history.quantity_e6[i, vti, 0]) for i, s in enumerate(history.sleeves)}
    opening_core = history.opening_cents[history.rows(sleeve_id=CORE)[0]]
    assert before == {CORE: 65_500_000, LEGACY: 100_000_000}  # after: CORE 125.5 - 60, LEGACY 40 + 60
    assert opening_core > 0
