"""Gain budgets over columns trim exactly what the per-object reference (smartx_engine.rebalance.budget) trims."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartx_engine.domain import Trade
from smartx_engine.fixedpoint import MONEY, PRICE, QUANTITY
from smartx_engine.rebalance.budget import SellContext, SleeveCash, relief_for
from smartx_engine.rebalance.budget_columns import Accounts, Cuts, Sells, budget_cuts
from smartx_engine.rebalance.proposals import Proposals
from smartx_engine.tax.relief import OpenLot

DAY = dt.date(2026, 11, 20)
D = Decimal


@st.composite
def lots(draw, symbol: str, price: int):
    """A holding's lots: a few, each at a gain or a loss, long- or short-term."""
    result = []
    for i in range(draw(st.integers(1, 4))):
        quantity = draw(st.sampled_from([D(draw(st.integers(1, 60))), D(draw(st.integers(1, 60_000))) / 1000]))
        cost = draw(st.integers(price * 3, price * 15)) / D(10)  # a tenth of the price up to a half more
        basis = MONEY.to_decimal(draw(st.integers(0, 40)) + int(quantity * cost * 100))
        acquired = DAY - dt.timedelta(days=draw(st.sampled_from([30, 200, 364, 366, 900])))
        result.append(OpenLot(f"{symbol}-{i}", quantity, basis, acquired))
    return result


@st.composite
def books(draw):
    """Accounts over budget with their sleeves' sells (their lots relieved by a method) and buys, as
    (staged trades, budgets, realized, rates, each sleeve's cash)."""
    staged, budgets, realized, rates, cash = [], {}, {}, {}, {}
    for a in range(draw(st.integers(1, 3))):
        account = f"A{a}"
        budgets[account] = D(draw(st.integers(0, 4000)))
        realized[account] = MONEY.to_decimal(draw(st.integers(-100_000, 300_000)))
        rates[account] = draw(st.sampled_from([(D("0.35"), D("0.15")), (D("0.408"), D("0.238")),
                                               (D("0.30000000000000004"), D("0.2"))]))
        for s in range(draw(st.integers(1, 2))):
            sleeve = f"{account}-S{s}"
            method = draw(st.sampled_from(["FIFO", "LIFO", "HIFO", "LOFO", "MIN_TAX"]))
            step = draw(st.sampled_from([D(1), D("0.001")]))
            cash[sleeve] = SleeveCash(MONEY.to_decimal(draw(st.integers(0, 200_000))),
                                      MONEY.to_decimal(draw(st.integers(0, 50_000))), step,
                                      D(draw(st.sampled_from([0, 10, 100]))))
            for i in range(draw(st.integers(0, 4))):
                symbol, price = f"S{s}X{i}", draw(st.integers(5, 300))
                held = draw(lots(symbol, price))
                total = sum(lot.quantity for lot in held)
                quantity = max(QUANTITY.unit, (total * draw(st.integers(1, 100)) / 100).quantize(QUANTITY.unit))
                if draw(st.booleans()) and quantity >= step:
                    quantity = (quantity // step) * step  # in share steps, as most are
                for copy in range(draw(st.sampled_from([1, 1, 2]))):  # a copy: the same tax per dollar, a tie
                    own = tuple(OpenLot(f"{lot.lot_id}-{copy}", lot.quantity, lot.cost_basis, lot.acquired)
                                for lot in held)
                    context = SellContext(own, relief_for(method, rates[account], D(price), DAY), step)
                    trade = Trade(trade_id="T", run_id="R", account_id=account, sleeve_id=sleeve,
                                  symbol=f"{symbol}-{copy}", side="sell", quantity=quantity, est_price=D(price),
                                  reasons=("rebalance",))
                    staged.append((trade, context.relief(context.lots, quantity), context))
            for i in range(draw(st.integers(0, 3))):
                trade = Trade(trade_id="T", run_id="R", account_id=account, sleeve_id=sleeve, symbol=f"B{i}",
                              side="buy", quantity=D(draw(st.integers(1, 500))) * step * 7,
                              est_price=D(draw(st.integers(1, 30_000))) / 100, reasons=("to target",))
                staged.append((trade, [], None))
    return draw(st.permutations(staged)), budgets, realized, rates, cash


def cuts_of(book, regular: bool) -> dict:
    staged, budgets, realized, rates, cash = book
    proposals = Proposals.of_objects([(t, r, None) for t, r, _ in staged])
    ids = sorted(budgets)
    accounts = Accounts(ids, [budgets[a] for a in ids], [realized[a] for a in ids], [rates[a] for a in ids])
    sold = sorted((ids.index(t.account_id), row) for row, (t, _, c) in enumerate(staged) if c is not None)
    wholes = []
    for _, row in sold:
        trade, reliefs, context = staged[row]
        lot = next(lot for lot in context.lots if lot.lot_id == reliefs[-1].lot_id)
        wholes.append((QUANTITY.to_int(lot.quantity), MONEY.to_int(lot.cost_basis)))
    sells = Sells(np.array([r for _, r in sold], dtype=np.int64), np.array([a for a, _ in sold], dtype=np.int64),
                  np.array([PRICE.to_int(staged[r][0].est_price) for _, r in sold], dtype=np.int64),
                  np.array([QUANTITY.to_int(staged[r][2].step) for _, r in sold], dtype=np.int64),
                  np.array([w for w, _ in wholes], dtype=np.int64), np.array([b for _, b in wholes], dtype=np.int64))
    cuts = budget_cuts(proposals, accounts, sells, np.full(len(ids), regular), dict(enumerate(staged)),
                       lambda sleeves: [cash[s] for s in sleeves])
    assert isinstance(cuts, Cuts)
    lots = cuts.lots
    return {row: (q, note, [(str(lots.lot_id[i]), int(lots.quantity_e6[i]), int(lots.basis_cents[i]),
                             int(lots.proceeds_cents[i]), bool(lots.long_term[i]))
                            for i in np.flatnonzero(lots.trade == row)])
            for row, q, note in zip(cuts.row.tolist(), cuts.quantity_e6.tolist(), cuts.notes)}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(book=books())
def test_columns_cut_the_sells_and_rescale_the_buys_as_the_objects_do(book):
    assert cuts_of(book, regular=True) == cuts_of(book, regular=False)


@given(st.lists(st.tuples(st.integers(0, 10 ** 14), st.integers(1, 10 ** 14), st.integers(1, 10 ** 11 - 1),
                          st.integers(0, 10 ** 11), st.sampled_from([1, 1000, 10 ** 6])), min_size=1, max_size=10))
def test_floors_of_the_partial_lot_are_those_of_the_decimals(rows):
    from smartx_engine.fixedpoint import floor_to_step
    from smartx_engine.rebalance.budget_columns import _floor_steps

    rows = [(t, q, g, r % g, s) for t, q, g, r, s in rows]  # room less than the lot's gain, as where it is called
    taken, quantity, gain, room, step = (np.array(c, dtype=np.int64) for c in zip(*rows))
    decimals = [floor_to_step(QUANTITY.to_decimal(t) + QUANTITY.to_decimal(q) * MONEY.to_decimal(r)
                              / MONEY.to_decimal(g), QUANTITY.to_decimal(s)) for t, q, g, r, s in rows]
    assert _floor_steps(taken, quantity, room, gain, step).tolist() == [QUANTITY.to_int(d) for d in decimals]


@given(st.lists(st.tuples(st.integers(0, 10 ** 12), st.integers(0, 10 ** 15), st.integers(1, 10 ** 15)), min_size=1,
                max_size=10))
def test_a_part_of_a_basis_is_exact(rows):
    from smartx_engine.rebalance.budget_columns import _half_even
    from smartx_engine.rebalance.proposals import half_even

    rows = [(a, b % (d + 1), d) for a, b, d in rows]  # a part of a lot: shares taken up to its whole
    a, b, d = (np.array(c, dtype=np.int64) for c in zip(*rows))
    assert _half_even(a, b, d).tolist() == [half_even(x * y, z) for x, y, z in rows]
