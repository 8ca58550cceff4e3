"""Harvests over columns make exactly the harvests of the per-holding loop they replaced, kept here as
the reference: same trades, lots, reasons, losses and tax values (to the Decimal's exponent), and the
same securities blocked in each household afterwards, policy after policy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import attrs
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from smartx_engine.book import Book
from smartx_engine.domain import Registration, Side, Term, Trade
from smartx_engine.fixedpoint import MONEY, PRICE, QUANTITY, floor_to_step
from smartx_engine.rebalance.details import book_decimal, open_lot, rows_of
from smartx_engine.rebalance.generate import Blocks, holds_any, substitutes_of
from smartx_engine.rebalance.harvest import (
    Harvest, Harvests, _bought, _tax_values, _usd, blocked_by, harvests,
)
from smartx_engine.rebalance.proposals import ReliefColumns
from smartx_engine.tax.recent import RecentAcquisitions, RecentTrading
from smartx_engine.tax.relief import Relief, relieve
from smartx_engine.tax.wash import Acquisition, LossSale, identical_groups
from tests.rebalance.test_generate import policy_of

AS_OF = dt.date(2026, 11, 20)
WINDOW = 30
PRICES = {"VTI": 10.0, "ITOT": 8.0, "SCHB": 25.25, "GOOG": 99.99, "GOOGL": 333.33, "BND": 1.0, "AGG": 70.0}
SUBSTITUTES = ['substitute "VTI" with "ITOT", "SCHB"', 'substitute "ITOT" with "SCHB", "VTI"',
               'substitute "SCHB" with "VTI", "ITOT"', 'substitute "GOOG" with "GOOGL", "VTI"',
               'substitute "GOOGL" with "GOOG", "ITOT"', 'substitute "BND" with "AGG"', 'substitute "AGG" with "BND"']


# ---------------------------------------------------------------- the reference: the loop as it was


def reference_harvests(evaluation, harvesting, recent, blocked, prices, as_of, restricted=()) -> list[Harvest]:
    """The harvests one at a time with objects; ``blocked`` (household, symbol) pairs grow with each."""
    book, settings = evaluation.book, evaluation.policy.settings
    marked = evaluation.harvest & harvesting[book.lot_sleeve]
    holdings = np.unique(book.lot_holding[marked])
    holdings = holdings[~evaluation.hold[holdings]]
    if settings.restrict_sell:
        holdings = holdings[~holds_any(book, book.holding_symbol[holdings], settings.restrict_sell)]
    substitutes = substitutes_of(book, settings, Blocks.of(book, blocked, restricted), holdings, recent.identical)
    found = []
    for h, code in zip(holdings[substitutes >= 0], substitutes[substitutes >= 0]):
        sleeve, symbol = int(book.holding_sleeve[h]), str(book.symbols[book.holding_symbol[h]])
        account = int(book.sleeve_account[sleeve])
        account_id, household = str(book.account_ids[account]), str(book.households[book.account_household[account]])
        substitute = str(book.symbols[code])
        if (household, substitute) in blocked:  # blocked by a harvest earlier in this loop
            continue
        first, last = rows_of(book.lot_holding, int(h))
        lots = [open_lot(book, i) for i in range(first, last) if marked[i]]
        rates = (book_decimal(book.account_st_rate[account]), book_decimal(book.account_lt_rate[account]))
        harvest = _reference_harvest(lots, symbol, substitute, account_id, str(book.sleeve_ids[sleeve]), settings,
                                     recent, prices, as_of, rates)
        if harvest is not None:
            found.append(attrs.evolve(harvest, sleeve=sleeve))
            blocked.update((household, s) for s in recent.identical(symbol))
    return found


def _reference_harvest(lots, symbol, substitute, account_id, sleeve_id, settings, recent, prices, as_of, rates):
    price = prices[symbol]
    lots.sort(key=lambda lot: (-(lot.cost_basis / lot.quantity - price), lot.acquired, lot.lot_id))
    held = sum((lot.quantity for lot in lots), Decimal(0))
    washed = recent.washed_by_recent_buys(account_id, symbol, [lot.lot_id for lot in lots])
    quantity = (held - min(washed, held)).quantize(QUANTITY.unit)
    if quantity <= 0:
        return None
    specific, left = [], quantity
    for lot in lots:
        if left <= 0:
            break
        specific.append((lot.lot_id, min(lot.quantity, left)))
        left -= specific[-1][1]
    reliefs = relieve(lots, quantity, price, as_of, "SPECIFIC", specific=specific)
    proceeds = sum((r.proceeds for r in reliefs), Decimal(0))
    bought = _reference_bought(proceeds, prices[substitute], settings)
    loss = -sum((r.gain for r in reliefs), Decimal(0))
    if loss <= 0 or not bought:
        return None
    tax_value = sum((-r.gain * (rates[0] if r.term == Term.SHORT else rates[1]) for r in reliefs), Decimal(0))
    until = as_of + dt.timedelta(days=recent.window_days)
    note = (f"harvest: realises a loss of {loss:,.2f} USD (estimated tax value {tax_value.quantize(Decimal('0.01')):,.2f} "
            f"USD at the account's rates)" + (f"; {washed:f} shares bought in the last {recent.window_days} days "
                                              "are left out, their loss would be washed" if washed else ""))

    def pending(symbol, side, quantity, price, reason):
        return Trade(trade_id="T-PENDING", run_id="R-PENDING", account_id=account_id, sleeve_id=sleeve_id,
                     symbol=symbol, side=side, quantity=quantity, est_price=price, reasons=(reason,))
    sell = pending(symbol, Side.SELL, quantity, price, note)
    buy = pending(substitute, Side.BUY, bought, prices[substitute],
                  f"harvest: keeps the exposure of {symbol} through its substitute {substitute}; {symbol} "
                  f"is blocked from purchase in the household until {until}")
    return Harvest(-1, sell, tuple(reliefs), buy, loss, tax_value, until)


def _reference_bought(proceeds: Decimal, price: Decimal, settings) -> Decimal:
    bought = floor_to_step(proceeds / price, settings.share_step).quantize(QUANTITY.unit)
    return bought if bought > 0 and min(proceeds, bought * price) >= settings.min_trade else Decimal(0)


# ---------------------------------------------------------------- generated firms


def columnar(acquisitions: dict[str, list[Acquisition]]) -> RecentAcquisitions:
    """The acquisitions as the columns ``recent_trading`` reads them into (each household's by date)."""
    households = sorted(acquisitions)
    rows = [(h, a) for h in households for a in sorted(acquisitions[h], key=lambda a: a.acquired)]
    accounts = sorted({a.account_id for _, a in rows})
    symbols = sorted({a.symbol for _, a in rows})
    kinds = [a.treatment for _, a in rows]
    counts = [len(acquisitions[h]) for h in households]
    return RecentAcquisitions(households, np.r_[0, np.cumsum(counts)].astype(np.int64), accounts, symbols, (
        np.array([a.lot_id for _, a in rows], dtype=str),
        np.array([accounts.index(a.account_id) for _, a in rows], dtype=np.int32),
        np.array([symbols.index(a.symbol) for _, a in rows], dtype=np.int32),
        np.array([a.acquired for _, a in rows], "datetime64[D]"),
        np.array([QUANTITY.to_int(a.quantity) for _, a in rows], dtype=np.int64),
        np.array([list(type(k)).index(k) for k in kinds], dtype=np.int8)))


@st.composite
def firms(draw):
    """A book of a few households (taxable accounts and IRAs), lots at losses and gains (equal costs per
    share, now and then a huge lot), two policies' bodies, the households' recent trading, blocks."""
    symbols = list(PRICES)
    accounts, sleeves, positions, lots = [], [], [], []
    for h in range(draw(st.integers(1, 2))):
        for a in range(draw(st.integers(1, 2))):
            account = f"A{h}{a}"
            registration = draw(st.sampled_from(["taxable", "joint", "ira"]))
            accounts.append((account, registration, "schwab", f"H{h}",
                             draw(st.sampled_from([0.37, 0.1 + 0.2, 0.0, 0.35])), draw(st.sampled_from([0.2, 0.238, 0.15]))))
            for s in range(draw(st.integers(1, 3))):
                sleeve = f"S{h}{a}{s}"
                sleeves.append((sleeve, account, None, None, 0.0))
                for symbol in draw(st.lists(st.sampled_from(symbols), min_size=2, max_size=5, unique=True)):
                    total_q = total_c = 0.0
                    for _ in range(draw(st.integers(1, 3))):
                        quantity = draw(st.sampled_from([1.0, 2.5, 10.0, 100.0, 33.333333, 1e7]))
                        per_share = PRICES[symbol] * draw(st.sampled_from([0.5, 0.5, 0.8, 0.8, 0.95, 1.0, 1.25]))
                        cost = round(quantity * per_share, 2)
                        lots.append((f"L{len(lots)}", sleeve, symbol, quantity, cost,
                                     AS_OF - dt.timedelta(days=draw(st.sampled_from([0, 30, 31, 200, 400, 400, 800])))))
                        total_q, total_c = total_q + quantity, total_c + cost
                    positions.append((sleeve, symbol, total_q, total_c))
    book = Book.assemble(as_of=AS_OF, securities=[(s, "us_equity", p) for s, p in PRICES.items()], accounts=accounts,
                         sleeves=sleeves, models={}, positions=positions, lots=lots)
    if draw(st.booleans()):  # lot ids as the store reads them: ASCII bytes
        book = attrs.evolve(book, lot_ids=book.lot_ids.astype("S"))
    bodies = []
    for _ in range(2):
        lines = [draw(st.sampled_from(["harvest when lot.loss >= 1 USD", "harvest when true",
                                       "harvest when lot.loss_pct >= 10%"])),
                 draw(st.sampled_from(["shares whole", "shares fractional 2", "shares fractional 6"])),
                 f"min trade {draw(st.sampled_from([0, 10, 500]))} USD", *SUBSTITUTES]
        lines += draw(st.lists(st.sampled_from(['identical "GOOGL", "GOOG"', 'restrict buy "SCHB"',
                                                'restrict sell "BND"']), unique=True))
        bodies.append("\n".join(lines))
    household_of = {a[0]: a[3] for a in accounts}
    treatment_of = {a[0]: Registration(a[1]).tax_treatment for a in accounts}
    acquisitions: dict[str, list[Acquisition]] = {}
    for lot_id, sleeve, symbol, quantity, _, acquired in lots:  # the book's recent lots, as the store has them
        account = next(s[1] for s in sleeves if s[0] == sleeve)
        if (AS_OF - acquired).days <= 2 * WINDOW and quantity < 1e7:
            acquisitions.setdefault(household_of[account], []).append(Acquisition(
                lot_id, account, symbol, acquired, QUANTITY.to_decimal(round(quantity * 1e6)), treatment_of[account]))
    for i, (account, symbol, days) in enumerate(draw(st.lists(st.tuples(
            st.sampled_from([a[0] for a in accounts]), st.sampled_from(symbols), st.sampled_from([0, 5, 30, 31, 45])),
            max_size=4))):
        acquisitions.setdefault(household_of[account], []).append(Acquisition(
            f"X{i}", account, symbol, AS_OF - dt.timedelta(days=days), Decimal("40.500000"), treatment_of[account]))
    loss_sales = {}
    for i, (account, symbol, days) in enumerate(draw(st.lists(st.tuples(
            st.sampled_from([a[0] for a in accounts]), st.sampled_from(symbols), st.sampled_from([0, 10, 40])),
            max_size=2))):
        sold = AS_OF - dt.timedelta(days=days)
        loss_sales.setdefault(household_of[account], []).append(LossSale(
            f"T{i}:Z{i}", account, symbol, sold, Decimal(3), Decimal(50), sold - dt.timedelta(days=90), f"Z{i}"))
    groups = [["GOOGL", "GOOG"]] if any("identical" in b for b in bodies) else []
    recent = RecentTrading(AS_OF, WINDOW, identical_groups(groups), loss_sales,
                           columnar(acquisitions) if draw(st.booleans()) else acquisitions, household_of, treatment_of)
    blocked = {(h, s) for h, found in recent.blocked.items() for s in found}
    blocked |= set(draw(st.lists(st.tuples(st.sampled_from(["H0", "H1", "NOWHERE"]), st.sampled_from([*symbols, "ZZZ"])),
                                 max_size=2)))
    restricted = set(draw(st.lists(st.tuples(st.sampled_from([a[0] for a in accounts]), st.sampled_from(symbols)),
                                   max_size=2)))
    harvesting = np.array(draw(st.lists(st.sampled_from([True, True, False]), min_size=len(sleeves),
                                        max_size=len(sleeves))), dtype=bool)
    return book, bodies, recent, blocked, restricted, harvesting


# ---------------------------------------------------------------- the columns against the reference


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(firm=firms(), split=st.booleans())
def test_columns_make_the_harvests_the_loop_made(firm, split):
    book, bodies, recent, blocked, restricted, harvesting = firm
    prices = {s: PRICE.to_decimal(round(p * 1e6)) for s, p in PRICES.items()}
    groups = [np.arange(book.n_sleeves)[::2], np.arange(book.n_sleeves)[1::2]] if split else [np.arange(book.n_sleeves)]
    blocks = Blocks.of(book, blocked, restricted)
    for body, sleeves in zip(bodies, groups):
        evaluation = policy_of(body).evaluate(book.select(sleeves))
        expected = reference_harvests(evaluation, harvesting[sleeves], recent, blocked, prices, AS_OF, restricted)
        found = harvests(evaluation, harvesting[sleeves], recent, blocks, prices, AS_OF)
        assert list(found) == expected
        assert [str(h.tax_value) for h in found] == [str(h.tax_value) for h in expected]
        assert found.loss() == sum((h.loss for h in expected), Decimal(0))
        blocks = blocks.with_washes(blocked_by(book, found, recent.identical))
        np.testing.assert_array_equal(blocks.keys, Blocks.of(book, blocked, restricted).keys)


def test_a_harvest_that_blocks_a_later_ones_substitute_in_the_household_is_made_first():
    # S0 harvests VTI into ITOT; S1 would harvest ITOT into SCHB (not blocked), S2 SCHB into VTI: VTI is
    # blocked by S0's harvest, so S2's is not made (its next substitute is not tried: the plan chose VTI)
    lots = [("L0", "S0", "VTI", 10.0, 200.0), ("L1", "S1", "ITOT", 10.0, 160.0), ("L2", "S2", "SCHB", 10.0, 500.0)]
    book = Book.assemble(as_of=AS_OF, securities=[(s, "us_equity", p) for s, p in PRICES.items()],
                         accounts=[("A", "taxable", "schwab", "H", 0.35, 0.15)],
                         sleeves=[(s, "A", None, None, 0.0) for s in ("S0", "S1", "S2")], models={},
                         positions=[(s, sym, q, c) for _, s, sym, q, c in lots],
                         lots=[(*lot, AS_OF - dt.timedelta(days=100)) for lot in lots])
    recent = RecentTrading(AS_OF, WINDOW, identical_groups([]), {}, {}, {"A": "H"}, {"A": Registration.TAXABLE.tax_treatment})
    evaluation = policy_of("harvest when lot.loss >= 1 USD\n" + "\n".join(SUBSTITUTES)).evaluate(book)
    prices = {s: PRICE.to_decimal(round(p * 1e6)) for s, p in PRICES.items()}
    found = harvests(evaluation, np.ones(3, dtype=bool), recent, Blocks.none(), prices, AS_OF)
    assert [(h.sell.symbol, h.buy.symbol) for h in found] == [("VTI", "ITOT"), ("ITOT", "SCHB")]
    assert list(found) == reference_harvests(evaluation, np.ones(3, dtype=bool), recent, set(), prices, AS_OF)
    assert found.take(np.array([1, 0])) == list(found)[::-1]
    assert Harvests.concat([Harvests.empty(), found]) == list(found)


# ---------------------------------------------------------------- the exact integer steps


@given(cents=st.integers(-10 ** 15, 10 ** 15), negative=st.booleans())
def test_cents_are_written_as_a_decimal_formats_them(cents, negative):
    value = MONEY.to_decimal(cents)
    assert _usd(cents) == f"{value:,.2f}"
    if cents == 0 and negative:
        assert _usd((0, True)) == f"{Decimal('-0.001').quantize(Decimal('0.01')):,.2f}"


@settings(max_examples=300)
@given(proceeds=st.integers(0, 10 ** 15), price=st.integers(10 ** 4, 10 ** 12), decimals=st.integers(0, 6),
       min_trade=st.sampled_from(["0", "10", "250.5", "0.000001"]))
def test_shares_bought_are_those_of_the_decimal_division(proceeds, price, decimals, min_trade):
    assume(proceeds * 10 ** 10 // price < 2 ** 62)  # shares a quantity column holds
    policy = SimpleNamespace(decimals=decimals, share_step=Decimal(1).scaleb(-decimals), min_trade=Decimal(min_trade))
    expected = _reference_bought(MONEY.to_decimal(proceeds), PRICE.to_decimal(price), policy)
    found = _bought(np.array([proceeds], dtype=np.int64), np.array([price], dtype=np.int64), policy)
    assert QUANTITY.to_decimal(int(found[0])) == expected


@settings(max_examples=300)
@given(gains=st.lists(st.lists(st.integers(-10 ** 17, 10 ** 17), min_size=1, max_size=3), min_size=1, max_size=4),
       rates=st.lists(st.sampled_from([0.35, 0.0, 0.1 + 0.2, 0.238, 1e-20, 0.37, 1.0]), min_size=2, max_size=2),
       terms=st.data())
def test_tax_values_are_the_decimal_sums(gains, rates, terms):
    book = Book.assemble(as_of=AS_OF, securities=[("VTI", "us_equity", 10.0)],
                         accounts=[("A", "taxable", "schwab", "H", *rates)], sleeves=[], models={}, positions=[], lots=[])
    rows = [(2 * i, g, terms.draw(st.booleans())) for i, harvest in enumerate(gains) for g in harvest]
    lots = ReliefColumns.of((t, Relief(f"L{j}", Decimal(1), Decimal(0), AS_OF, Term.LONG if long else Term.SHORT,
                                       MONEY.to_decimal(g), MONEY.to_decimal(g))) for j, (t, g, long) in enumerate(rows))
    found, cents = _tax_values(book, lots, np.zeros(len(gains), dtype=np.int64))
    st_rate, lt_rate = (book_decimal(r) for r in rates)
    for i, value in enumerate(found):
        expected = sum((-MONEY.to_decimal(g) * (lt_rate if long else st_rate) for t, g, long in rows if t == 2 * i),
                       Decimal(0))
        assert str(value) == str(expected)
        assert _usd(cents[i]) == f"{expected.quantize(Decimal('0.01')):,.2f}"


@given(rows=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 4)), max_size=40))
def test_only_a_harvest_whose_substitute_an_earlier_one_made_sold_is_left_out(rows):
    from smartx_engine.rebalance.harvest import _unblocked

    household, sold, substitute = (np.array(column, dtype=np.int64).reshape(-1) for column in zip(*rows)) \
        if rows else (np.empty(0, np.int64),) * 3
    blocked, expected = set(), []
    for h, s, b in rows:  # the loop: each harvest made blocks what it sold in its household
        expected.append((h, b) not in blocked)
        if expected[-1]:
            blocked.add((h, s))
    assert _unblocked(household, sold, substitute, 5).tolist() == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(firm=firms())
def test_shares_washed_counted_over_columns_are_those_of_each_sale(firm):
    book, _, recent, *_ = firm
    objects = {h: list(recent.acquisitions[h]) for h in recent.acquisitions}
    plain, columns = attrs.evolve(recent, acquisitions=objects), attrs.evolve(recent, acquisitions=columnar(objects))
    sales = [(str(book.account_ids[book.sleeve_account[book.holding_sleeve[h]]]),
              str(book.symbols[book.holding_symbol[h]]), set(book.lot_id_texts(slice(*rows_of(book.lot_holding, h))).tolist()))
             for h in range(book.n_holdings)]
    expected = [plain.washed_by_recent_buys(*sale) for sale in sales]
    for trading in (plain, columns):
        found = trading.washed_by_recent_buys_of(*zip(*sales)) if sales else []
        assert [str(w) for w in found] == [str(w) for w in expected]
    households = np.array([recent.household_of[a] for a, _, _ in sales] + ["NOWHERE"], dtype=str)
    symbols = np.array([s for _, s, _ in sales] + ["VTI"], dtype=str)
    np.testing.assert_array_equal(columns.bought(households, symbols), plain.bought(households, symbols))
