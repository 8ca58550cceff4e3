"""Cash events: a withdrawal split pro rata and raised, a deposit recorded and invested."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartx_engine.book import Book
from smartx_engine.dsl.policyset import load_rules
from smartx_engine.errors import DataError
from smartx_engine.rebalance.cash import cash_events, pro_rata
from smartx_engine.store import Store

ROOT = Path(__file__).parents[2]


@given(amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e9"), places=2),
       weights=st.lists(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e8"), places=2),
                        min_size=1, max_size=8))
def test_pro_rata_adds_up_to_the_cent_and_stays_within_a_cent_of_the_exact_share(amount, weights):
    shares = pro_rata(amount, weights)
    assert sum(shares) == amount
    whole = sum(weights)
    assert all(abs(share - amount * w / whole) < Decimal("0.01") for share, w in zip(shares, weights))
    assert all(share == share.quantize(Decimal("0.01")) for share in shares)


def test_pro_rata_gives_the_leftover_cents_to_the_largest_remainders_then_in_order():
    # 100 / 3 = 33.333...: each gets 33.33 and one cent is left; equal remainders: the first gets it
    assert pro_rata(Decimal(100), [Decimal(1)] * 3) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    # 10 split 2:1: 6.666... and 3.333...: 6.66 + 3.33 = 9.99, the cent goes to the larger remainder (0.0066...)
    assert pro_rata(Decimal(10), [Decimal(2), Decimal(1)]) == [Decimal("6.67"), Decimal("3.33")]


def _book() -> Book:
    """One account with two model sleeves (worth 30,000 and 10,000) and a sleeve without a model."""
    return Book.assemble(
        as_of=dt.date(2026, 11, 20), securities=[("AAA", "us_equity", 100.0)],
        accounts=[("A", "taxable", "schwab", "H", 0.37, 0.2), ("B", "taxable", "schwab", "H", 0.37, 0.2)],
        sleeves=[("A-1", "A", "M", None, 0.0), ("A-2", "A", "M", None, 10000.0), ("A-3", "A", None, None, 500.0),
                 ("B-1", "B", "M", None, 5000.0)],
        models={"M": {"AAA": 0.9, "$CASH": 0.1}}, positions=[("A-1", "AAA", 300.0, 30000.0)], lots=[])


def test_a_withdrawal_is_split_over_the_sleeves_that_can_trade(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "p.policy").write_text('policy "p" {\n  applies to sleeve.model == "M"\n}\n')
    book = _book()
    evaluation = load_rules(rules).evaluate(book)
    in_scope = np.ones(book.n_sleeves, dtype=bool)
    events = cash_events(book, evaluation, in_scope, withdrawal=("A", Decimal("1000")))
    # A-1 30,000 and A-2 10,000 share it 3:1; A-3 has no model, B-1 is another account
    assert list(events.withdraw) == [750.0, 250.0, 0.0, 0.0] and not events.invest.any()
    with pytest.raises(DataError, match="cannot raise 40000.01 USD from account A: its sleeves that can trade"
                                        " are worth 40000.00 USD"):
        cash_events(book, evaluation, in_scope, withdrawal=("A", Decimal("40000.01")))
    invest = cash_events(book, evaluation, np.array([False, True, True, False]), invest=True)
    assert list(invest.invest) == [False, True, True, False] and not invest.withdraw.any()


# ---------------------------------------------------------------- through the command line


@pytest.fixture
def rules(rules: Path) -> Path:
    """The shared rules, with growth's bands too wide to trigger on their own."""
    (rules / "growth.policy").write_text(
        'policy "growth" {\n  applies to sleeve.model == "GRO-80-20"\n  drift band absolute 40%\n'
        '  target cash 2% min 1%\n}\n')
    return rules


def run(smartx, rules, *args, expect=0):
    return smartx("--rules", str(rules), *args, expect=expect)


def test_raise_cash_sells_enough_for_the_withdrawal(smartx, imported, rules):
    # SCH-2-CORE (growth, within its wide bands: no trades of its own) holds VTI 60 x 312.45 = 18,747
    # and BND 100 x 73.18 = 7,318, with 2,200.10 in cash
    assert json.loads(run(smartx, rules, "rebalance", "--account", "SCH-2", "--as-of", "2026-11-20",
                          "--dry-run", "--json").output) == []
    result = run(smartx, rules, "rebalance", "--raise-cash", "SCH-2", "10000", "--as-of", "2026-11-20", "--json")
    trades = json.loads(result.output)
    assert trades and {t["sleeve_id"] for t in trades} == {"SCH-2-CORE"}
    flow = sum(Decimal(t["est_value"]) * (1 if t["side"] == "sell" else -1) for t in trades)
    assert Decimal("2200.10") + flow >= Decimal(10000)
    assert all("raising 10,000.00 USD for a withdrawal (its pro-rata share)" in t["reasons"] for t in trades)
    assert "warning" not in result.stderr


def test_raise_cash_refuses_more_than_the_account_is_worth(smartx, imported, rules):
    result = run(smartx, rules, "rebalance", "--raise-cash", "SCH-2", "1000000", "--as-of", "2026-11-20", expect=1)
    assert "cannot raise 1000000 USD from account SCH-2" in result.output
    assert Store.open(imported).count("runs") == 0
    assert "more than 2 decimal places" in run(smartx, rules, "rebalance", "--raise-cash", "SCH-2", "10.001",
                                               expect=2).output


def test_a_deposit_is_recorded_and_invested_with_buys_only(smartx, imported, rules):
    out = run(smartx, rules, "cash", "deposit", "SCH-2-CORE", "20000", "--date", "2026-11-19").output
    assert "deposited 20,000 USD into SCH-2-CORE" in out
    store = Store.open(imported)
    (deposit,) = [t for t in store.transactions(sleeve_id="SCH-2-CORE") if t.type == "deposit"]
    assert deposit.amount == Decimal(20000) and deposit.date == dt.date(2026, 11, 19)
    assert store.cash(sleeve_id="SCH-2-CORE")[0].amount == Decimal("22200.10")
    assert store.audit_log()[0].action == "cash.deposit"
    trades = json.loads(run(smartx, rules, "rebalance", "--sleeve", "SCH-2-CORE", "--invest-cash",
                            "--as-of", "2026-11-20", "--json").output)
    assert trades and all(t["side"] == "buy" for t in trades)
    spent = sum(Decimal(t["est_value"]) for t in trades)
    assert spent <= Decimal("22200.10") and {t["symbol"] for t in trades} >= {"VEA"}
    assert all("investing its cash (buys only)" in t["reasons"] for t in trades)
    assert "a deposit must be positive" not in out
    assert "expected a positive amount" in run(smartx, rules, "cash", "deposit", "SCH-2-CORE", "0", expect=2).output
