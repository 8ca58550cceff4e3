"""The trade generator follows docs/rebalancing.md, and agrees with the plain reference exactly.

The hand-computed cases below pin both implementations to the text (the arithmetic is in the
comments); the properties then hold the vectorised generator to the reference, trade for trade,
over random books and policies, and check the invariants the documentation lists.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartx_engine.book import Book
from smartx_engine.dsl.compile import PolicyEvaluation, compile_policy
from smartx_engine.dsl.policyset import check_sources
from smartx_engine.dsl.schema import Grain
from smartx_engine.rebalance.generate import Blocks, CashEvents, generate_trades
from smartx_engine.rebalance.reference import (
    SleevePlan,
    reference_plans,
    reference_trades,
    round_down,
)
from tests.dsl.test_reference import SECURITIES, acquired_dates, books, condition_at

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AS_OF = dt.date(2026, 6, 30)
PRICES = {"AAA": 100.0, "BBB": 50.0, "CCC": 10.0, "DDD": 20.0, "EEE": 30.0}
CLASSES = {"AAA": "us_equity", "BBB": "fixed_income", "CCC": "energy", "DDD": "intl_equity", "EEE": "us_equity"}


# ---------------------------------------------------------------- helpers


def policy_of(body: str, name: str = "p"):
    text = f'policy "{name}" {{\n' + "\n".join(f"  {line.strip()}" for line in body.strip().splitlines()) + "\n}\n"
    _, checked = check_sources([("rebalance.policy", text)], functions={})
    assert not checked.errors, text + "\n".join(d.render() for d in checked.errors)
    return compile_policy(checked.policies[name])


def book_of(sleeves, positions=(), models=None, prices=None) -> Book:
    """``sleeves``: (sleeve_id, model_id or None, cash); ``positions``: (sleeve_id, symbol, quantity)."""
    prices = {**PRICES, **(prices or {})}
    return Book.assemble(
        as_of=AS_OF, securities=[(s, CLASSES.get(s, "us_equity"), p) for s, p in prices.items()],
        accounts=[("A", "taxable", "schwab", "H", 0.37, 0.2)],
        sleeves=[(sleeve, "A", model, None, cash) for sleeve, model, cash in sleeves],
        models=models or {}, positions=[(s, sym, q, q * prices[sym]) for s, sym, q in positions], lots=[])


def one_sleeve(model: dict[str, float] | None, cash: float, positions: dict[str, float] = (), prices=None) -> Book:
    positions = dict(positions)
    return book_of([("S", "M" if model is not None else None, cash)],
                   [("S", symbol, quantity) for symbol, quantity in positions.items()],
                   {"M": model} if model is not None else {}, prices)


def trades(body: str, book: Book, events: CashEvents | None = None,
           blocks: Blocks | None = None) -> list[tuple[str, str, str, float]]:
    """The trades of ``body`` over ``book``: the generator's, checked equal to the reference's."""
    evaluation = policy_of(body).evaluate(book)
    generated = generate_trades(evaluation, events, blocks).rows()
    assert generated == reference_trades(evaluation, events, blocks)
    return generated


def events(withdraw: float = 0.0, invest: bool = False) -> CashEvents:
    """A cash event for the one sleeve of a ``one_sleeve`` book."""
    return CashEvents(np.array([withdraw]), np.array([invest]))


# ---------------------------------------------------------------- by hand

# Unless said otherwise: AAA 100 USD, BBB 50, CCC 10, DDD 20, EEE 30; one sleeve "S".
BASE_MODEL = {"AAA": 0.6, "BBB": 0.3, "$CASH": 0.1}


def test_rounding_down_is_robust_to_float_noise():
    assert round_down(2.9999999999999916, 0) == 3.0
    assert round_down(2.99, 0) == 2.0
    assert round_down(33.333333333333336, 2) == 33.33
    assert round_down(1999.9999999999995 / 100, 0) == 20.0


def test_to_target():
    # AAA 40 x 100 = 4000 (w 40%), BBB 100 x 50 = 5000 (50%), cash 1000: T = 10,000.
    # AAA: D = (60% - 40%) x 10,000 = 2000 -> buy 2000 / 100 = 20
    # BBB: D = (30% - 50%) x 10,000 = -2000 -> sell 2000 / 50 = 40, proceeds 2000
    # A = 1000 + 2000 - 0 = 3000 >= 2000 wanted: k = 1
    book = one_sleeve(BASE_MODEL, 1000.0, {"AAA": 40.0, "BBB": 100.0})
    assert trades("drift band absolute 5%", book) == [("S", "AAA", "buy", 20.0), ("S", "BBB", "sell", 40.0)]


def test_to_band_moves_to_the_nearest_edge_of_the_tightest_band():
    # Model AAA 50%, BBB 30%, CCC 10%, DDD 5%, cash 5%. Bands: absolute 5%, relative 20%.
    # L = min(5%, 20% x t): AAA min(5, 10) = 5 points, BBB min(5, 6) = 5, CCC min(5, 2) = 2, DDD min(5, 1) = 1.
    # T = 10,000: AAA 58 x 100 = 5800 (58%), BBB 40 x 50 = 2000 (20%), CCC 130 x 10 = 1300 (13%),
    #             DDD 30 x 20 = 600 (6%), cash 300 (3%).
    # AAA: |58 - 50| = 8 > 5 out: w* = 50 + 5 = 55%, D = -3% x 10,000 = -300 -> sell 3
    # BBB: |20 - 30| = 10 > 5 out: w* = 30 - 5 = 25%, D = 500 -> buy 500 / 50 = 10
    # CCC: 3 points < 5 absolute, but 3 / 10 = 30% > 20% relative: out; w* = 10 + 2 = 12%, D = -100 -> sell 10
    # DDD: 1 point, relative 1 / 5 = 20%, exactly on the edge: in band, w* = w: no trade
    # A = 300 + 300 + 100 = 700 >= 500 wanted: k = 1
    model = {"AAA": 0.5, "BBB": 0.3, "CCC": 0.1, "DDD": 0.05, "$CASH": 0.05}
    book = one_sleeve(model, 300.0, {"AAA": 58.0, "BBB": 40.0, "CCC": 130.0, "DDD": 30.0})
    body = "rebalance to band\ndrift band absolute 5%\ndrift band relative 20%"
    assert trades(body, book) == [("S", "AAA", "sell", 3.0), ("S", "BBB", "buy", 10.0), ("S", "CCC", "sell", 10.0)]


def test_to_band_sells_what_the_model_does_not_hold():
    # relative band on a target of 0: L = min(5%, 20% x 0) = 0, w* = 0 + 0 = 0: sell all 12.5 EEE (exactly,
    # though the policy trades whole shares). AAA 60 x 100 = 6000 of T = 10,000 is on target.
    # T = 6000 + 12.5 x 30 (375) + cash 3625 = 10,000
    model = {"AAA": 0.6, "$CASH": 0.4}
    book = one_sleeve(model, 3625.0, {"AAA": 60.0, "EEE": 12.5})
    body = "rebalance to band\ndrift band absolute 5%\ndrift band relative 20%"
    assert trades(body, book) == [("S", "EEE", "sell", 12.5)]


def test_to_band_uses_the_absolute_band_alone_when_it_is_the_only_one():
    # No relative band: L = 5 points. BBB at 50% (100 x 50 of 10,000), target 30%: w* = 35%, D = -1500, sell 30.
    # AAA 40%, target 60%: w* = 55%, D = 1500, buy 15. A = 1000 + 1500 = 2500.
    book = one_sleeve(BASE_MODEL, 1000.0, {"AAA": 40.0, "BBB": 100.0})
    assert trades("rebalance to band\ndrift band absolute 5%", book) == [
        ("S", "AAA", "buy", 15.0), ("S", "BBB", "sell", 30.0)]


def test_the_cash_floor_binds_and_buys_are_scaled():
    # Model AAA 30%, BBB 30%, CCC 30%, cash 10%; CCC is held ("keep"), so it funds nothing.
    # T = 10,000: AAA 10 x 100 = 1000 (10%), BBB 20 x 50 = 1000 (10%), CCC 700 x 10 = 7000 (70%), cash 1000.
    # Wanted: AAA (30% - 10%) x 10,000 = 2000, BBB 2000: 4000. Floor 5% x 10,000 = 500.
    # A = 1000 + 0 - 500 = 500: k = 500 / 4000 = 1/8.
    # AAA: 2000 / 8 = 250 -> 2.5 shares -> 2 (200); BBB: 250 / 50 = 5 (250). Cash after 1000 - 450 = 550 >= 500.
    model = {"AAA": 0.3, "BBB": 0.3, "CCC": 0.3, "$CASH": 0.1}
    book = one_sleeve(model, 1000.0, {"AAA": 10.0, "BBB": 20.0, "CCC": 700.0})
    body = 'target cash 10% min 5%\ntrigger when true\nrule "keep" when holding.symbol == "CCC" then hold'
    assert trades(body, book) == [("S", "AAA", "buy", 2.0), ("S", "BBB", "buy", 5.0)]


def test_no_buys_below_the_cash_floor():
    # Cash 400 of T = 10,000 is under the 5% floor (500): A = max(0, 400 - 500) = 0, nothing is bought.
    # AAA 50 x 100 = 5000, BBB 92 x 50 = 4600; model AAA 60%: wanted buy 1000.
    # BBB: (30% - 46%) x 10,000 = -1600 -> sell 32; then A = 400 + 1600 - 500 = 1500 >= 1000: AAA buys 10.
    # Without the sell ("restrict sell BBB"), A = 0 and nothing trades.
    book = one_sleeve(BASE_MODEL, 400.0, {"AAA": 50.0, "BBB": 92.0})
    assert trades("target cash 10% min 5%", book) == [("S", "AAA", "buy", 10.0), ("S", "BBB", "sell", 32.0)]
    assert trades('target cash 10% min 5%\nrestrict sell "BBB"', book) == []


@pytest.mark.parametrize(("minimum", "expected"), [
    # AAA: (40% - 42%) x 10,000 = -200 -> sell 2 (200); BBB: (30% - 28%) x 10,000 = 200 -> buy 4 (200);
    # CCC: (20% - 10%) x 10,000 = 1000 -> buy 100 (1000). T = 4200 + 2800 + 1000 + cash 2000.
    (250, [("S", "CCC", "buy", 100.0)]),  # 200 < 250: both small trades dropped
    (200, [("S", "AAA", "sell", 2.0), ("S", "BBB", "buy", 4.0), ("S", "CCC", "buy", 100.0)]),  # 200 is not < 200
])
def test_min_trade_drops_small_sells_and_buys(minimum, expected):
    model = {"AAA": 0.4, "BBB": 0.3, "CCC": 0.2, "$CASH": 0.1}
    book = one_sleeve(model, 2000.0, {"AAA": 42.0, "BBB": 56.0, "CCC": 100.0})
    assert trades(f"trigger when true\nmin trade {minimum} USD", book) == expected


def test_min_trade_applies_after_scaling_and_rounding():
    # As test_the_cash_floor_binds...: AAA wants 2000 and BBB 2000, scaled by 1/8 to 250 each:
    # AAA 2 shares (200), BBB 5 shares (250). A 225 minimum drops AAA (200 < 225) though it wanted 2000,
    # and its cash is not handed to BBB.
    model = {"AAA": 0.3, "BBB": 0.3, "CCC": 0.3, "$CASH": 0.1}
    book = one_sleeve(model, 1000.0, {"AAA": 10.0, "BBB": 20.0, "CCC": 700.0})
    body = ('target cash 10% min 5%\ntrigger when true\nrule "keep" when holding.symbol == "CCC" then hold\n'
            "min trade 225 USD")
    assert trades(body, book) == [("S", "BBB", "buy", 5.0)]


@pytest.mark.parametrize(("shares", "bought", "sold"), [
    # EEE: 50% of T = 2000 is 1000, 1000 / 30 = 33.33...; DDD (not in the model): w* = 0, all 2.5 sold exactly.
    ("shares whole", 33.0, 2.5),
    ("shares fractional 2", 33.33, 2.5),
    ("shares fractional 6", 33.333333, 2.5),
])
def test_whole_and_fractional_shares(shares, bought, sold):
    # T = 2.5 x 20 (50) + cash 1950 = 2000
    book = one_sleeve({"EEE": 0.5, "$CASH": 0.5}, 1950.0, {"DDD": 2.5})
    assert trades(f"trigger when true\n{shares}", book) == [("S", "DDD", "sell", sold), ("S", "EEE", "buy", bought)]


@pytest.mark.parametrize(("shares", "sold"), [("shares whole", 33.0), ("shares fractional 1", 33.3)])
def test_a_partial_sell_rounds_down(shares, sold):
    # EEE 100 x 30 = 3000 of T = 4000 (cash 1000), target 50%: D = (50% - 75%) x 4000 = -1000,
    # 1000 / 30 = 33.33... -> 33 or 33.3
    book = one_sleeve({"EEE": 0.5, "$CASH": 0.5}, 1000.0, {"EEE": 100.0})
    assert trades(f"trigger when true\n{shares}", book) == [("S", "EEE", "sell", sold)]


def test_sell_to_caps_the_weight():
    # Model AAA 20%, BBB 70%, cash 10%. T = 10,000: AAA 30 x 100 = 3000 (30%), BBB 120 x 50 = 6000 (60%), cash 1000.
    # "trim" fires on AAA (30% > 10%): w* = min(20%, 10%) = 10%, D = -2000 -> sell 20 (even though its
    # model weight is 20%). BBB: w* = 70%, D = 1000 -> buy 20. A = 1000 + 2000 = 3000.
    model = {"AAA": 0.2, "BBB": 0.7, "$CASH": 0.1}
    book = one_sleeve(model, 1000.0, {"AAA": 30.0, "BBB": 120.0})
    body = 'rule "trim" when holding.symbol == "AAA" then sell to 10%'  # no band: the rule alone triggers
    assert trades(body, book) == [("S", "AAA", "sell", 20.0), ("S", "BBB", "buy", 20.0)]
    # the lowest cap wins: 5% -> D = -2500, sell 25
    assert trades(body + '\nrule "trim more" when holding.weight > 25% and holding.target < 50% then sell to 5%', book) == [
        ("S", "AAA", "sell", 25.0), ("S", "BBB", "buy", 20.0)]
    # in band mode, without bands, the others keep their weight: only the cap trades
    assert trades(body + "\nrebalance to band", book) == [("S", "AAA", "sell", 20.0)]


def test_hold_keeps_a_holding_and_overrides_sell_to():
    # As test_to_target, with BBB held: BBB does not sell, so A = 1000 + 0 = 1000 for AAA's wanted 2000:
    # k = 1/2, AAA buys 1000 / 100 = 10. A `sell to` on BBB changes nothing: `hold` comes later.
    book = one_sleeve(BASE_MODEL, 1000.0, {"AAA": 40.0, "BBB": 100.0})
    body = 'drift band absolute 5%\nrule "keep" when holding.symbol == "BBB" then hold'
    assert trades(body, book) == [("S", "AAA", "buy", 10.0)]
    body += '\nrule "trim" when holding.symbol == "BBB" then sell to 10%'
    assert trades(body, book) == [("S", "AAA", "buy", 10.0)]


def test_restrict_buy_and_sell():
    # As test_to_target: AAA would buy 20, BBB sell 40.
    book = one_sleeve(BASE_MODEL, 1000.0, {"AAA": 40.0, "BBB": 100.0})
    # restrict buy AAA: w* = min(60%, 40%) = 40%: no buy; the proceeds stay in cash
    assert trades('drift band absolute 5%\nrestrict buy "AAA"', book) == [("S", "BBB", "sell", 40.0)]
    # restrict sell BBB: w* = max(30%, 50%) = 50%: no sell; A = 1000 < 2000 wanted: k = 1/2, AAA buys 10
    assert trades('drift band absolute 5%\nrestrict sell "BBB"', book) == [("S", "AAA", "buy", 10.0)]
    # a restricted symbol the sleeve only sells, or only buys, trades as usual
    assert trades('drift band absolute 5%\nrestrict buy "BBB"\nrestrict sell "AAA"', book) == [
        ("S", "AAA", "buy", 20.0), ("S", "BBB", "sell", 40.0)]


def test_restrict_buy_moves_the_weight_to_the_first_allowed_substitute():
    # As test_to_target: AAA (40%, target 60%) would buy 20. It is restricted: its 20% goes to DDD,
    # which the sleeve neither holds nor targets: w* = 20%, D = 2000 -> buy 2000 / 20 = 100 DDD.
    book = one_sleeve(BASE_MODEL, 1000.0, {"AAA": 40.0, "BBB": 100.0})
    body = 'drift band absolute 5%\nrestrict buy "AAA"\nsubstitute "AAA" with "DDD", "EEE"'
    assert trades(body, book) == [("S", "BBB", "sell", 40.0), ("S", "DDD", "buy", 100.0)]
    # DDD restricted too: the first allowed is EEE, 2000 / 30 = 66.67 -> 66
    assert trades(body.replace('"AAA"\n', '"AAA", "DDD"\n'), book) == [
        ("S", "BBB", "sell", 40.0), ("S", "EEE", "buy", 66.0)]
    # a substitute held already gets the weight on top of its own target: EEE 10 x 30 = 300, T = 10,300,
    # not in the model (t = 0): w* = 0 + (60% - 4000 / 10,300) = 21.17%, D = 2180 - 300 = 1880 -> 62.67 -> 62;
    # BBB: 30% x 10,300 = 3090 - 5000 = -1910 -> 38.2 -> sell 38
    held = one_sleeve(BASE_MODEL, 1000.0, {"AAA": 40.0, "BBB": 100.0, "EEE": 10.0})
    assert trades(body.replace('"AAA"\n', '"AAA", "DDD"\n'), held) == [
        ("S", "BBB", "sell", 38.0), ("S", "EEE", "buy", 62.0)]
    # no allowed substitute: the weight stays in cash
    assert trades('drift band absolute 5%\nrestrict buy "AAA", "DDD"\nsubstitute "AAA" with "DDD"', book) == [
        ("S", "BBB", "sell", 40.0)]


def test_a_buy_that_would_wash_a_recent_loss_goes_to_a_substitute_or_waits():
    # As test_to_target: AAA (40%, target 60%) would buy 20; the household sold AAA at a loss last week
    book = one_sleeve(BASE_MODEL, 1000.0, {"AAA": 40.0, "BBB": 100.0})
    blocked = Blocks.of(book, [("H", "AAA")])
    assert trades("drift band absolute 5%", book, blocks=blocked) == [("S", "BBB", "sell", 40.0)]  # waits: cash
    # with a substitute: its 20% buys DDD instead (2000 / 20 = 100), as for `restrict buy`
    body = 'drift band absolute 5%\nsubstitute "AAA" with "DDD", "EEE"'
    assert trades(body, book, blocks=blocked) == [("S", "BBB", "sell", 40.0), ("S", "DDD", "buy", 100.0)]
    # the substitute blocked too (identical, or sold at a loss as well): the next one, EEE (2000 / 30 -> 66)
    both = Blocks.of(book, [("H", "AAA"), ("H", "DDD")])
    assert trades(body, book, blocks=both) == [("S", "BBB", "sell", 40.0), ("S", "EEE", "buy", 66.0)]
    # another household's losses block nothing here
    assert trades(body, book, blocks=Blocks.of(book, [("H2", "AAA")])) == [
        ("S", "AAA", "buy", 20.0), ("S", "BBB", "sell", 40.0)]


def test_a_security_restricted_in_the_account_is_never_bought_even_as_a_substitute():
    # As above: AAA may not be bought (`restrict buy`); its first substitute DDD is restricted in account A
    # (an exclusion or substitution of its clients), so its 20% buys EEE (2000 / 30 -> 66)
    book = one_sleeve(BASE_MODEL, 1000.0, {"AAA": 40.0, "BBB": 100.0})
    body = 'drift band absolute 5%\nrestrict buy "AAA"\nsubstitute "AAA" with "DDD", "EEE"'
    restricted = Blocks.of(book, [], [("A", "DDD")])
    assert trades(body, book, blocks=restricted) == [("S", "BBB", "sell", 40.0), ("S", "EEE", "buy", 66.0)]
    assert list(restricted.restricted(book, np.array([0, 0]), np.array([3, 4]))) == [True, False]
    assert not restricted.washes(book, np.array([0]), np.array([3])).any()
    # another account's restriction changes nothing here
    assert trades(body, book, blocks=Blocks.of(book, [], [("B", "DDD")])) == [
        ("S", "BBB", "sell", 40.0), ("S", "DDD", "buy", 100.0)]


def test_to_band_trades_to_target_when_no_holding_is_out_of_band():
    # T = 10,000: AAA 57 x 100 (57%), BBB 54 x 50 (27%): within 5% of 60% and 30%; cash 1600 (16%) is above
    # the 15% maximum, so the sleeve triggers with no band to move to: it trades to target.
    # AAA: (60% - 57%) x 10,000 = 300 -> 3; BBB: 300 / 50 -> 6. Cash after 1000 = 10%.
    book = one_sleeve(BASE_MODEL, 1600.0, {"AAA": 57.0, "BBB": 54.0})
    body = "rebalance to band\ndrift band absolute 5%\ntarget cash 10% max 15%"
    assert trades(body, book) == [("S", "AAA", "buy", 3.0), ("S", "BBB", "buy", 6.0)]


def test_a_withdrawal_rebalances_the_value_that_stays_and_rounds_sells_up():
    # On target: AAA 60 x 100 = 6000 (60%), BBB 60 x 50 = 3000 (30%), cash 1000; bands do not trigger.
    book = one_sleeve(BASE_MODEL, 1000.0, {"AAA": 60.0, "BBB": 60.0})
    body = "drift band absolute 5%"
    assert trades(body, book) == []
    # withdraw 2000: T' = 8000; AAA 60% of 8000 = 4800: sell 1200 / 100 = 12; BBB 2400: sell 600 / 50 = 12.
    # Cash after 1000 + 1800 = 2800 = the 2000 withdrawn + 800 (10% of T').
    assert trades(body, book, events(2000.0)) == [("S", "AAA", "sell", 12.0), ("S", "BBB", "sell", 12.0)]
    # withdraw 2050: T' = 7950: AAA 4770, sell 1230 / 100 = 12.3 -> 13 (up); BBB 2385, sell 615 / 50 = 12.3 -> 13.
    # Cash after 1000 + 1950 = 2950 >= 2050.
    assert trades(body, book, events(2050.0)) == [("S", "AAA", "sell", 13.0), ("S", "BBB", "sell", 13.0)]
    # a skipped sleeve trades nothing, withdrawal or not
    assert trades(body + '\nrule "freeze" when true then skip', book, events(2000.0)) == []


def test_investing_a_deposit_buys_and_never_sells():
    # As test_to_target (AAA under target by 2000, BBB over by 2000), untriggered (10% bands):
    # investing buys AAA with the 1000 of cash only: k = 1000 / 2000, 10 shares; BBB is not sold.
    book = one_sleeve(BASE_MODEL, 1000.0, {"AAA": 40.0, "BBB": 100.0})
    assert trades("drift band absolute 25%", book) == []
    assert trades("drift band absolute 25%", book, events(invest=True)) == [("S", "AAA", "buy", 10.0)]


def test_avoiding_short_term_gains_keeps_those_lots():
    # As test_to_target: BBB (50%, target 30%) would sell 40 of its 100. 70 of them are in a lot bought
    # two months ago at 40 (now 50: a short-term gain): only the other 30 may be sold.
    book = Book.assemble(
        as_of=AS_OF, securities=[(s, CLASSES[s], p) for s, p in PRICES.items()],
        accounts=[("A", "taxable", "schwab", "H", 0.37, 0.2)], sleeves=[("S", "A", "M", None, 1000.0)],
        models={"M": BASE_MODEL}, positions=[("S", "AAA", 40.0, 4000.0), ("S", "BBB", 100.0, 4300.0)],
        lots=[("L1", "S", "BBB", 30.0, 1500.0, dt.date(2020, 1, 2)), ("L2", "S", "BBB", 70.0, 2800.0, dt.date(2026, 5, 1)),
              ("L3", "S", "AAA", 40.0, 4000.0, dt.date(2020, 1, 2))])
    assert trades("drift band absolute 5%", book) == [("S", "AAA", "buy", 20.0), ("S", "BBB", "sell", 40.0)]
    # A = 1000 + 30 x 50 = 2500 >= 2000: AAA still buys 20
    assert trades("drift band absolute 5%\navoid short term gains", book) == [
        ("S", "AAA", "buy", 20.0), ("S", "BBB", "sell", 30.0)]
    # only when it turns long-term within 30 days: L2 has 306 days to go, so it may be sold
    assert trades("drift band absolute 5%\navoid short term gains when lot.days_to_long_term <= 30", book) == [
        ("S", "AAA", "buy", 20.0), ("S", "BBB", "sell", 40.0)]


def test_skip_vetoes_the_trades():
    book = one_sleeve(BASE_MODEL, 1000.0, {"AAA": 40.0, "BBB": 100.0})
    assert trades('drift band absolute 5%\nrule "freeze" when true then skip', book) == []


def test_a_sleeve_without_a_model_never_trades():
    book = one_sleeve(None, 1000.0, {"AAA": 40.0, "BBB": 100.0})
    assert trades("trigger when true\ntarget cash 50% min 50%", book) == []  # cash low, but no model


def test_only_triggered_sleeves_trade_and_sleeves_do_not_share_cash():
    # S1 as test_to_target (out of its 5% bands). S2 is within them: AAA 58 x 100 = 5800, BBB 62 x 50 = 3100,
    # cash 1100 (T = 10,000: 58%, 31%): no trade. S3 is out of band but has no cash and nothing to sell:
    # AAA 40 x 100 = 4000, BBB 60 x 50 = 3000, CCC 300 x 10 = 3000 (30%, target 0): CCC sold (w* = 0) for 3000,
    # A = 3000; wanted AAA 2000 and nothing else (BBB at 30%): buys 20. S1's cash does not fund S3.
    book = book_of([("S1", "M", 1000.0), ("S2", "M", 1100.0), ("S3", "M", 0.0)],
                   [("S1", "AAA", 40.0), ("S1", "BBB", 100.0), ("S2", "AAA", 58.0), ("S2", "BBB", 62.0),
                    ("S3", "AAA", 40.0), ("S3", "BBB", 60.0), ("S3", "CCC", 300.0)],
                   {"M": BASE_MODEL})
    assert trades("drift band absolute 5%", book) == [
        ("S1", "AAA", "buy", 20.0), ("S1", "BBB", "sell", 40.0),
        ("S3", "AAA", "buy", 20.0), ("S3", "CCC", "sell", 300.0)]


def test_target_cash_rescales_the_model():
    # Model AAA 50%, BBB 40%, cash 10%; the policy's target cash is 5%: t = w x 95% / 90%.
    # AAA: 50% x 95 / 90 = 52.78%, of T = 9000 (all cash): 4750 -> 47.5 shares; BBB 42.22%: 3800 -> 76 shares.
    # Cash after: 9000 - 4750 - 3800 = 450 = 5% of 9000.
    book = one_sleeve({"AAA": 0.5, "BBB": 0.4, "$CASH": 0.1}, 9000.0)
    assert trades("trigger when true\ntarget cash 5%\nshares fractional 2", book) == [
        ("S", "AAA", "buy", 47.5), ("S", "BBB", "buy", 76.0)]
    # without target cash the model's 10% stays: AAA 4500 -> 45, BBB 3600 -> 72
    assert trades("trigger when true\nshares fractional 2", book) == [("S", "AAA", "buy", 45.0), ("S", "BBB", "buy", 72.0)]


def test_without_target_cash_the_target_is_the_model_weight():
    # "c is ... else the model's cash weight (so t is the model weight)": t = 53% exactly, not
    # 53% x 95% / 95% (which is 0.5299999999999999 in floats).
    # All cash, T = 1000: AAA 53% = 530 / 10 = 53 shares; BBB 42% = 420 / 50 = 8.4 shares.
    book = one_sleeve({"AAA": 0.53, "BBB": 0.42, "$CASH": 0.05}, 1000.0, prices={"AAA": 10.0})
    evaluation = policy_of("trigger when true\nshares fractional 6").evaluate(book)
    assert reference_trades(evaluation) == [("S", "AAA", "buy", 53.0), ("S", "BBB", "buy", 8.4)]
    assert generate_trades(evaluation).rows() == [("S", "AAA", "buy", 53.0), ("S", "BBB", "buy", 8.4)]
    assert list(generate_trades(evaluation).target_weight) == [0.53, 0.42]


def test_rounding_down_is_robust_to_noise_at_six_decimals():
    """Was: a fixed 1e-9 nudge is under float resolution once x * 10**N >= 2**24."""
    # As test_to_target: D = (60% - 40%) x 10,000 = 1999.9999999999995 in floats, / 100 = 19.999999999999996;
    # x 10**6 = 19999999.999999996, and + 1e-9 does not change it (its ulp is 3.7e-9): floor gives 19.999999.
    book = one_sleeve(BASE_MODEL, 1000.0, {"AAA": 40.0, "BBB": 100.0})
    evaluation = policy_of("drift band absolute 5%\nshares fractional 6").evaluate(book)
    expected = [("S", "AAA", "buy", 20.0), ("S", "BBB", "sell", 40.0)]
    assert reference_trades(evaluation) == expected and generate_trades(evaluation).rows() == expected


def test_target_weights_are_reported():
    # As test_to_band_moves...: the TradeSet carries each traded holding's w*.
    model = {"AAA": 0.5, "BBB": 0.3, "CCC": 0.1, "DDD": 0.05, "$CASH": 0.05}
    book = one_sleeve(model, 300.0, {"AAA": 58.0, "BBB": 40.0, "CCC": 130.0, "DDD": 30.0})
    evaluation = policy_of("rebalance to band\ndrift band absolute 5%\ndrift band relative 20%").evaluate(book)
    assert np.allclose(generate_trades(evaluation).target_weight, [0.55, 0.25, 0.12], rtol=0, atol=1e-12)


# ---------------------------------------------------------------- random books and policies


@st.composite
def rebalance_books(draw, max_sleeves: int = 4) -> Book:
    """Books with models that add up (about) to 100%, fractional quantities, and sleeves of every size."""
    as_of = dt.date(2026, 6, 30)
    chosen = draw(st.lists(st.sampled_from(SECURITIES), min_size=1, max_size=6, unique=True))
    prices = [0.5, 1.0, 3.0, 10.0, 25.25, 30.0, 70.0, 100.0, 199.99, 333.33]
    securities = [(symbol, asset_class, draw(st.sampled_from(prices))) for symbol, asset_class in chosen]
    price = {s: p for s, _, p in securities}
    models = {}
    for model in draw(st.lists(st.sampled_from(["M1", "M2", "M3"]), min_size=1, max_size=3, unique=True)):
        symbols = draw(st.lists(st.sampled_from(list(price)), min_size=0, max_size=5, unique=True))
        how = draw(st.sampled_from(["percent", "percent", "percent", "any", "all cash"]))
        if how == "any":  # weights of any sum, in steps a model would use
            weights = {s: draw(st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.25, 0.4, 0.6])) for s in symbols}
            weights["$CASH"] = draw(st.sampled_from([0.0, 0.02, 0.05]))
        elif how == "all cash" or not symbols:
            weights = {"$CASH": 1.0}
        else:  # whole percents adding up to 100, as models are written
            left = 100 - draw(st.sampled_from([0, 0, 2, 5, 10, 30]))
            weights = {"$CASH": (100 - left) / 100}
            for symbol in symbols[:-1]:
                percent = draw(st.integers(0, left))
                weights[symbol], left = percent / 100, left - percent
            weights[symbols[-1]] = left / 100
        models[model] = weights
    sleeves, positions, lots, model_changes = [], [], [], {}
    quantities = [0.0, 1.0, 2.5, 7.0, 10.0, 33.5, 100.0, 123.456789, 250.0, 1000.0, 0.1 + 0.2, 0.7 + 0.1]
    for i in range(draw(st.integers(1, max_sleeves))):
        sleeve = f"S{i}"
        model = draw(st.sampled_from([None, *models, *models]))
        if model and draw(st.booleans()):  # a newer version of its model since its last rebalance
            model_changes[sleeve] = (f"{model} v1 → v2", draw(st.sampled_from([0.0, 0.004, 0.006, 0.05])))
        sleeves.append((sleeve, "A0", model, None,
                        draw(st.sampled_from([0.0, 0.0, 0.01, 100.0, 1000.0, 2500.5, 10000.0, 150000.0]))))
        for symbol in draw(st.lists(st.sampled_from(list(price)), max_size=5, unique=True)):
            quantity = draw(st.sampled_from(quantities))
            cost = quantity * price[symbol] * draw(st.sampled_from([0.5, 0.9, 1.0, 1.25]))  # gains and losses
            if quantity and draw(st.booleans()):
                split = draw(st.sampled_from([1.0, 0.5, 0.3]))  # one lot, or two bought at different times
                first = round(quantity * split, 6)  # lots of whole millionths, adding up to the position
                for part, share in ((first, split), (round(quantity - first, 6), 1 - split)):
                    if part > 0:  # lot costs in whole cents, as the store keeps them
                        lots.append((f"L{len(lots)}", sleeve, symbol, part, round(cost * share, 2),
                                     draw(acquired_dates(as_of))))
            positions.append((sleeve, symbol, quantity, cost))
    return Book.assemble(as_of=as_of, securities=securities, accounts=[("A0", "taxable", "schwab", "H1", 0.37, 0.2)],
                         sleeves=sleeves, models=models, positions=positions, lots=lots, model_changes=model_changes)


HOLDING_CONDITIONS = ["holding.weight > 5%", "holding.weight > 20%", "not holding.in_model", "holding.drift_rel > 50%",
                      "holding.target >= 10%", 'holding.asset_class == "us_equity"', "holding.quantity > 10",
                      "holding.drift > 0%", "holding.drift < 0%"]


@st.composite
def rebalance_policies(draw, symbols: list[str] | None = None):
    """A policy exercising every trading setting: mode, bands, cash, min trade, shares, restrictions, rules."""
    symbols = symbols or [s for s, _ in SECURITIES]
    lines = [f"rebalance to {draw(st.sampled_from(['target', 'band']))}"]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["absolute", "relative"]))
        limit = draw(st.sampled_from(["5%", "300 bps", "1%", "0.5%", "25%", "50%"]))
        where = ""
        if draw(st.integers(0, 2)) == 0:
            where = f" for {draw(st.sampled_from(HOLDING_CONDITIONS))}"
        lines.append(f"drift band {kind} {limit}{where}")
    lines += draw(st.sampled_from([[], ["realign on model change"], ["realign on model change above 0.5%"]]))
    trigger = draw(st.sampled_from(["", "true", "random", "sleeve.cash_weight > 3%"]))
    if trigger == "random":
        lines.append(f"trigger when {draw(condition_at(Grain.SLEEVE, 1))}")
    elif trigger:
        lines.append(f"trigger when {trigger}")
    if draw(st.booleans()):
        low, target, high = sorted(draw(st.lists(st.sampled_from([0, 1, 2, 4, 5, 10, 30]), min_size=3, max_size=3)))
        lines.append(f"target cash {target}%" + draw(st.sampled_from(["", f" min {low}%"]))
                     + draw(st.sampled_from(["", f" max {high}%"])))
    lines.append(f"min trade {draw(st.sampled_from([0, 0, 1, 50, 250, 1000.5]))} USD")
    decimals = draw(st.sampled_from([0, 0, 1, 2, 3, 6]))
    lines.append("shares whole" if decimals == 0 else f"shares fractional {decimals}")
    for side in ("buy", "sell"):
        restricted = draw(st.lists(st.sampled_from(symbols), max_size=2, unique=True))
        if restricted:
            lines.append(f"restrict {side} " + ", ".join(f'"{s}"' for s in restricted))
    for symbol in draw(st.lists(st.sampled_from(symbols), max_size=2, unique=True)):
        alternatives = draw(st.lists(st.sampled_from(symbols), min_size=1, max_size=3, unique=True))
        lines.append(f'substitute "{symbol}" with ' + ", ".join(f'"{s}"' for s in alternatives if s != symbol)
                     if set(alternatives) - {symbol} else "")
    for i in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["hold", "sell to 10%", "sell to 1%", "sell to 0%", "sell to 30%"]))
        condition = draw(st.sampled_from(HOLDING_CONDITIONS + [f'holding.symbol == "{s}"' for s in symbols]))
        lines.append(f'rule "h{i}" when {condition} then {action}')
    lines.append(draw(st.sampled_from(["", "", "avoid short term gains",
                                       "avoid short term gains when lot.days_to_long_term <= 90"])))
    if draw(st.integers(0, 4)) == 0:
        lines.append(f'rule "s" when {draw(st.sampled_from(["sleeve.cash > 5000 USD", "sleeve.holdings >= 3"]))} then skip')
    return "\n".join(lines)


def evaluate_text(body: str, book: Book) -> PolicyEvaluation:
    return policy_of(body).evaluate(book)


def sleeve_of(book: Book, sleeve_id: str) -> int:
    return int(np.flatnonzero(book.sleeve_ids == sleeve_id)[0])


def holding_of(book: Book, sleeve_id: str, symbol: str) -> int:
    s, code = sleeve_of(book, sleeve_id), int(np.flatnonzero(book.symbols == symbol)[0])
    return int(np.flatnonzero((book.holding_sleeve == s) & (book.holding_symbol == code))[0])


def money_tolerance(plan: SleevePlan, rows) -> float:
    """Float noise allowed on cash sums: rounding nudges a quantity up by at most 1e-9 of a step (so a
    buy may cost up to 1e-9 x its price more than its wanted value), and sums lose ~1e-15 of their size."""
    prices = sum(h.holding.price for h in plan.holdings)
    return 1e-9 * (prices + 1.0) + 1e-12 * (abs(plan.value) + plan.sleeve.cash + plan.proceeds + 1.0)


def check_invariants(evaluation: PolicyEvaluation, rows, events: CashEvents | None = None,
                     blocks: Blocks | None = None) -> None:
    """The invariants of docs/rebalancing.md over the trades ``rows`` (either implementation's)."""
    plans = {plan.sleeve.sleeve_id: plan for plan in reference_plans(evaluation, events, blocks)}
    evaluation = generate_trades(evaluation, events, blocks).evaluation  # with the substitutes' holdings
    book, settings_ = evaluation.book, evaluation.policy.settings
    by_sleeve: dict[str, list] = {}
    for sleeve_id, symbol, side, quantity in rows:
        by_sleeve.setdefault(sleeve_id, []).append((symbol, side, quantity))
    for sleeve_id, trades_ in by_sleeve.items():
        plan = plans[sleeve_id]
        assert plan.trades, f"{sleeve_id} trades but did not trigger (or has no model)"
        assert len({s for s, _, _ in trades_}) == len(trades_), "one trade per holding"
        sells = buys = 0.0
        for symbol, side, quantity in trades_:
            h = holding_of(book, sleeve_id, symbol)
            held, price = float(book.holding_quantity[h]), float(book.symbol_price[book.holding_symbol[h]])
            assert quantity > 0
            assert not evaluation.hold[h], f"{symbol} is held"
            assert quantity * price >= float(settings_.min_trade)
            # a multiple of the share precision: n / 10**N is the float nearest to the decimal, as round() gives
            on_a_step = quantity == round(quantity, settings_.share_decimals if settings_.shares == "fractional" else 0)
            if side == "sell":
                assert symbol not in settings_.restrict_sell
                assert not (plan.sleeve.invest and not plan.sleeve.withdraw), "investing never sells"
                assert quantity <= held, f"sold {quantity} of {held} {symbol}"
                sellable = next(p.holding.sellable for p in plan.holdings if p.holding.symbol == symbol)
                assert quantity <= sellable, f"sold {quantity} {symbol}: lots with short-term gains kept"
                assert quantity in (held, sellable) or on_a_step, f"sold {quantity} {symbol}"
                sells += quantity * price
            else:
                assert symbol not in settings_.restrict_buy and symbol not in plan.sleeve.blocked
                assert on_a_step, f"bought {quantity} {symbol}"
                buys += quantity * price
        cash = float(book.sleeve_cash[sleeve_of(book, sleeve_id)])
        floor = (settings_.cash_min or 0.0) * plan.value + plan.sleeve.withdraw  # a withdrawal stays in cash
        tolerance = money_tolerance(plan, trades_)
        available = cash + sells - floor
        assert buys <= max(available, 0.0) + tolerance, f"{sleeve_id}: buys {buys} > available {available}"
        if cash >= floor:
            assert cash + sells - buys >= floor - tolerance, f"{sleeve_id}: cash after under the floor {floor}"


@st.composite
def cash_events(draw, book: Book) -> CashEvents | None:
    """No events, or per sleeve a withdrawal (any size, even the whole sleeve) and a deposit to invest."""
    if draw(st.booleans()):
        return None
    n = book.n_sleeves
    withdraw = draw(st.lists(st.sampled_from([0.0, 0.0, 0.0, 100.0, 1000.5, 5000.0, 1e6]), min_size=n, max_size=n))
    return CashEvents(np.array(withdraw), np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))))


@st.composite
def buy_blocks(draw, book: Book) -> Blocks | None:
    """No blocks, or some of the book's symbols blocked for its household (and one for another), and
    some restricted in its first account."""
    if draw(st.booleans()):
        return None
    symbols = draw(st.lists(st.sampled_from([str(s) for s in book.symbols]), max_size=3, unique=True))
    restricted = draw(st.lists(st.sampled_from([str(s) for s in book.symbols]), max_size=2, unique=True))
    return Blocks.of(book, [(str(book.households[0]), s) for s in symbols] + [("ELSEWHERE", "AAPL")],
                     [(str(book.account_ids[0]), s) for s in restricted] + [("ELSEWHERE", "AAPL")])


@PROPERTY
@given(body=rebalance_policies(), book=rebalance_books(), data=st.data())
def test_the_generator_agrees_with_the_reference(body, book, data):
    evaluation = evaluate_text(body, book)
    events_, blocks = data.draw(cash_events(book)), data.draw(buy_blocks(book))
    generated = generate_trades(evaluation, events_, blocks).rows()
    expected = reference_trades(evaluation, events_, blocks)
    assert generated == expected, body
    check_invariants(evaluation, expected, events_, blocks)


@PROPERTY
@given(body=rebalance_policies(symbols=[s for s, _ in SECURITIES]), book=books())
def test_the_generator_agrees_with_the_reference_on_the_policy_test_books(body, book):
    evaluation = evaluate_text(body, book)
    assert generate_trades(evaluation).rows() == reference_trades(evaluation), body
    check_invariants(evaluation, reference_trades(evaluation))


@PROPERTY
@given(book=rebalance_books(), cash=st.sampled_from(["", "target cash 5%", "target cash 2% min 1%",
                                                     "target cash 10% min 10% max 20%"]))
def test_to_target_ends_on_target_unless_the_buys_were_scaled(book, cash):
    body = f"rebalance to target\ntrigger when true\nshares fractional 6\n{cash}"
    evaluation = evaluate_text(body, book)
    rows = generate_trades(evaluation).rows()
    assert rows == reference_trades(evaluation)
    traded = {(s, symbol): (quantity if side == "buy" else -quantity) for s, symbol, side, quantity in rows}
    for plan in reference_plans(evaluation):
        if not plan.trades or plan.scaled:
            continue
        for h in plan.holdings:
            quantity = h.holding.quantity + traded.get((plan.sleeve.sleeve_id, h.holding.symbol), 0.0)
            after = quantity * h.holding.price / plan.value  # prices do not move, and cash only changes hands
            # 1e-6 of a share may be left over by rounding down: 1e-6 x price of the sleeve's value
            assert abs(after - h.target) <= 1e-4 + 1e-6 * h.holding.price / plan.value, (plan.sleeve, h)


@st.composite
def new_money(draw):
    """A sleeve of cash only, with a model of whole percents, and a policy that invests it."""
    symbols = draw(st.lists(st.sampled_from(list(PRICES)), min_size=1, max_size=4, unique=True))
    left = 100 - draw(st.sampled_from([0, 1, 2, 5, 10, 30]))
    model = {"$CASH": (100 - left) / 100}
    for symbol in symbols[:-1]:
        percent = draw(st.integers(0, left))
        model[symbol], left = percent / 100, left - percent
    model[symbols[-1]] = left / 100
    prices = {s: draw(st.sampled_from([1.0, 2.5, 10.0, 20.0, 50.0, 100.0, 25.25])) for s in symbols}
    book = one_sleeve(model, draw(st.sampled_from([1000.0, 2500.0, 10000.0, 12345.67, 100000.0])), prices=prices)
    shares = draw(st.sampled_from(["shares whole", "shares fractional 2", "shares fractional 6"]))
    cash = draw(st.sampled_from(["", "", "target cash 5%", "target cash 10% min 5%"]))
    return f"trigger when true\n{shares}\n{cash}", book


@PROPERTY
@given(case=new_money())
def test_new_money_is_invested_as_the_reference_does(case):
    body, book = case
    evaluation = evaluate_text(body, book)
    assert generate_trades(evaluation).rows() == reference_trades(evaluation), body


def test_chunked_generation_equals_a_single_pass(monkeypatch):
    """Large books are generated chunk by chunk; the trades must not depend on the chunking."""
    import sys
    from pathlib import Path

    from smartx_engine.rebalance import generate as generate_module

    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    from synthetic import synthetic_book

    book = synthetic_book(300, seed=5)
    symbols = list(book.symbols)
    evaluation = policy_of("drift band absolute 2%\ntarget cash 2% min 1%\nmin trade 100 USD\n"
                           f'restrict buy "{symbols[0]}"\nsubstitute "{symbols[0]}" with "{symbols[-1]}"').evaluate(book)
    rng = np.random.default_rng(5)
    events_ = CashEvents(np.where(rng.random(book.n_sleeves) < 0.1, 5000.0, 0.0), rng.random(book.n_sleeves) < 0.1)
    whole = generate_trades(evaluation, events_)
    monkeypatch.setattr(generate_module, "CHUNK_SLEEVES", 7)
    pieces = generate_trades(evaluation, events_)
    assert len(whole) > 100 and whole.rows() == pieces.rows()
    np.testing.assert_array_equal(whole.holding, pieces.holding)
    np.testing.assert_array_equal(whole.target_weight, pieces.target_weight)
