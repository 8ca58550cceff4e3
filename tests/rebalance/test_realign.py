"""`realign on model change [above X%]`: a new model version realigns a sleeve, or waits for its bands."""

import datetime as dt

import pytest

from smartx_engine.book import Book
from smartx_engine.dsl import ast, fmt
from smartx_engine.dsl.compile import compile_policy
from smartx_engine.dsl.policyset import check_sources
from smartx_engine.rebalance.details import reasons
from smartx_engine.rebalance.generate import generate_trades

from .test_generate import PRICES, policy_of

AS_OF = dt.date(2026, 6, 30)
MODEL = {"AAA": 0.5, "BBB": 0.48, "$CASH": 0.02}  # the new version; the sleeve holds the old 49 / 49 / 2


def book(move: float | None) -> Book:
    """S1 and S2 hold AAA 49% / BBB 49% / cash 2%; S1's model just moved AAA +1% and BBB -1% (``move``)."""
    sleeves = [("S1", "A", "M", None, 2000.0), ("S2", "A", "M", None, 2000.0)]
    positions = [(s, sym, q, q * PRICES[sym]) for s in ("S1", "S2") for sym, q in (("AAA", 490.0), ("BBB", 980.0))]
    return Book.assemble(
        as_of=AS_OF, securities=[(s, "us_equity", p) for s, p in PRICES.items()],
        accounts=[("A", "taxable", "schwab", "H", 0.37, 0.2)], sleeves=sleeves, models={"M": MODEL},
        positions=positions, lots=[], model_changes={} if move is None else {"S1": ("M 2026.1 → 2026.2", move)})


@pytest.mark.parametrize("statement, move, realigned", [
    ("", 0.01, []),  # no statement: a model change waits for the bands (2% here: none breaks)
    ("realign on model change", 0.01, ["S1"]),
    ("realign on model change", 0.0, ["S1"]),  # any new version
    ("realign on model change above 0.50%", 0.01, ["S1"]),
    ("realign on model change above 0.50%", 0.005, []),  # not more than the threshold
    ("realign on model change above 2%", 0.01, []),
])
def test_a_model_change_realigns_only_past_the_threshold(statement, move, realigned):
    policy = policy_of(f"rebalance to band\ndrift band absolute 2%\n{statement}")
    evaluation = policy.evaluate(book(move))
    assert [str(s) for s in evaluation.book.sleeve_ids[evaluation.realign]] == realigned
    assert list(evaluation.triggered) == [bool(realigned), False]
    trades = generate_trades(evaluation)
    if realigned:  # to target in full, although the policy rebalances to its bands
        assert sorted((str(evaluation.book.symbols[evaluation.book.holding_symbol[h]]), int(side))
                      for h, side in zip(trades.holding, trades.side)) == [("AAA", 1), ("BBB", -1)]
        first = reasons(trades)[0]
        assert f"model change M 2026.1 → 2026.2: realigned to target, largest weight move {move:.2%} " \
               f"(`{statement}`, rebalance.policy:4)" in first, first
    else:
        assert len(trades) == 0


def test_a_sleeve_traded_by_its_bands_says_its_model_changed():
    policy = policy_of("drift band absolute 0.5%\nrealign on model change above 2%")
    trades = generate_trades(policy.evaluate(book(0.01)))
    by_sleeve = {str(trades.evaluation.book.sleeve_ids[trades.evaluation.book.holding_sleeve[h]]): r
                 for h, r in zip(trades.holding, reasons(trades))}
    assert "model change M 2026.1 → 2026.2: largest weight move 1.00%, within the realignment threshold: " \
           "its bands decide" in by_sleeve["S1"]
    assert not any("model change" in r for r in by_sleeve["S2"])


def test_the_statement_is_checked_formatted_and_inherited():
    text = ('policy "parent" {\n  realign on model change above 0.5%\n}\n'
            'policy "child" extends "parent" {\n  realign on model change\n}\n'
            'policy "bad" {\n  realign on model change above 5 USD\n}\n')
    _, checked = check_sources([("r.policy", text)], functions={})
    (error,) = checked.errors
    assert "r.policy:8:" in error.render() and "a model weight move is a percentage, not an amount in USD" in error.render()
    child = compile_policy(checked.policies["child"])
    assert (child.settings.realign, child.settings.realign_above) == (True, None)  # the child's replaces the parent's
    parent = compile_policy(checked.policies["parent"])
    assert (parent.settings.realign, parent.settings.realign_above) == (True, 0.005)
    assert fmt.statement(parent.resolved.first(ast.Realign)) == "realign on model change above 0.5%"
