"""Gain budgets: sells trimmed cheapest tax first, the marginal one cut to fit, buys rescaled."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from smartx_engine.domain import Trade
from smartx_engine.rebalance.budget import SellContext, SleeveCash, gain, most_within, relief_for, rescale_buys, \
    trim_to_budget
from smartx_engine.tax.relief import OpenLot

DAY = dt.date(2026, 11, 20)
RATES = (Decimal("0.35"), Decimal("0.15"))
D = Decimal


def context(lots, price, method="FIFO", step=D(1)):
    return SellContext(tuple(lots), relief_for(method, RATES, D(price), DAY), step)


def sell(trade_id, quantity, price):
    return Trade(trade_id=trade_id, run_id="R", account_id="A", sleeve_id="S", symbol="XYZ", side="sell",
                 quantity=D(quantity), est_price=D(price))


def test_most_within_finds_the_most_shares_whose_gain_fits():
    # FIFO at 10: lot A 10 shares at 5 (gain 5 a share), then lot B 10 at 15 (loss 5 a share)
    lots = [OpenLot("A", D(10), D(50), dt.date(2020, 1, 2)), OpenLot("B", D(10), D(150), dt.date(2021, 1, 4))]
    c = context(lots, 10)
    assert most_within(c, D(20), D(20))[0] == D(20)   # all of it realises 50 - 50 = 0
    assert most_within(c, D(12), D(20))[0] == D(4)    # 4 of A (20); more of A is over, all of A then 2 of B is 40
    assert most_within(c, D(12), D(0))[0] == D(0)
    quantity, reliefs = most_within(c, D(20), D(-10))  # must realise a net loss of 10: impossible
    assert (quantity, reliefs) == (D(0), [])


def test_trim_keeps_the_cheapest_gains_and_cuts_the_marginal_one():
    # X: 100 shares at 100, basis 9,000 (gain 1,000 long-term: tax 150 on 10,000, 1.5 %)
    # Y: 60 shares at 100, basis 3,000 (gain 3,000 long-term: 450 on 6,000, 7.5 %)
    # Z: a loss of 500 (makes room). Room 2,000 + 500 = 2,500: X in full (1,000), Y cut to 1,500 of gain:
    # 50 a share -> 30 shares
    old = dt.date(2020, 1, 2)
    sells = [(sell("X", 100, 100), context([OpenLot("x", D(100), D(9000), old)], 100)),
             (sell("Y", 60, 100), context([OpenLot("y", D(60), D(3000), old)], 100)),
             (sell("Z", 10, 100), context([OpenLot("z", D(10), D(1500), old)], 100))]
    staged = [(t, c.relief(c.lots, t.quantity), c) for t, c in sells]
    changes = trim_to_budget(staged, D(2000), RATES)
    assert list(changes) == [1] and changes[1][0] == D(30) and gain(changes[1][1]) == D(1500)
    assert trim_to_budget(staged, D(3500), RATES) == {}  # 1,000 + 3,000 - 500 fits


@given(budget=st.integers(-2000, 6000), quantities=st.lists(st.integers(1, 80), min_size=1, max_size=4))
def test_the_trimmed_sells_stay_within_the_budget_when_they_can(budget, quantities):
    old = dt.date(2020, 1, 2)
    staged = []
    for i, q in enumerate(quantities):
        lots = [OpenLot(f"g{i}", D(q), D(q * 60), old), OpenLot(f"l{i}", D(5), D(5 * 130), old)]  # gains, then a loss
        c = context(lots, 100)
        t = sell(f"T{i}", q + 5, 100)
        staged.append((t, c.relief(c.lots, t.quantity), c))
    changes = trim_to_budget(staged, D(budget), RATES)
    after = [changes.get(i, (t.quantity, r))[1] for i, (t, r, _) in enumerate(staged)]
    total = sum(gain(r) for r in after)
    losses_only = sum(min(gain(r), D(0)) for _, r, _ in staged)
    assert total <= max(D(budget), losses_only) or not changes
    assert all(changes.get(i, (t.quantity,))[0] <= t.quantity for i, (t, _, _) in enumerate(staged))


def test_buys_are_scaled_down_to_the_cash_left():
    buys = [Trade(trade_id="B1", run_id="R", account_id="A", sleeve_id="S", symbol="AAA", side="buy", quantity=D(20),
                  est_price=D(100)),
            Trade(trade_id="B2", run_id="R", account_id="A", sleeve_id="S", symbol="BBB", side="buy", quantity=D(10),
                  est_price=D(50))]
    # wanted 2,500; cash 1,000 + proceeds 500 - floor 250 = 1,250: half: 10 AAA, 5 BBB
    assert rescale_buys(buys, D(500), SleeveCash(D(1000), D(250), D(1), D(0))) == [D(10), D(5)]
    # a 300 USD minimum drops BBB (250)
    assert rescale_buys(buys, D(500), SleeveCash(D(1000), D(250), D(1), D(300))) == [D(10), D(0)]
    assert rescale_buys(buys, D(5000), SleeveCash(D(0), D(0), D(1), D(0))) == [D(20), D(10)]


ACCOUNTS = "account_id,name,custodian,household_id,registration,st_tax_rate,lt_tax_rate\nTX,Brokerage,schwab,HH,joint,0.35,0.15\n"
SECURITIES = "symbol,name,asset_class,price\nXYZ,XYZ,us_equity,100\nABC,ABC,us_equity,50\n"
MODELS = "model_id,version,symbol,weight\nM,1,ABC,0.98\nM,1,$CASH,0.02\n"


def test_a_binding_budget_cuts_the_gain_sell_and_says_why(smartx, tmp_path: Path):
    # TX realised a 3,000 gain in March; its policy allows 5,000 a year: 2,000 left. Its model moved
    # out of XYZ (100 shares at 100, basis 40 a share: a 6,000 gain). 2,000 / 60 a share = 33 shares.
    book = tmp_path / "book"
    book.mkdir()
    for name, text in {"accounts.csv": ACCOUNTS, "securities.csv": SECURITIES, "models.csv": MODELS,
                       "sleeves.csv": "sleeve_id,account_id,model_id,policy\nTX-S,TX,M,p\n",
                       "cash.csv": "account_id,sleeve_id,amount\nTX,TX-S,0\n",
                       "transactions.csv": "account_id,sleeve_id,date,type,symbol,quantity,price,amount\n"
                                           "TX,TX-S,2020-01-02,buy,XYZ,100,40,-4000\n"
                                           "TX,TX-S,2020-01-02,buy,ABC,100,20,-2000\n"
                                           "TX,TX-S,2026-03-02,sell,ABC,100,50,5000\n"
                                           "TX,TX-S,2026-03-02,buy,ABC,40,50,-2000\n"}.items():
        (book / name).write_text(text)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "p.policy").write_text('policy "p" {\n  trigger when true\n  gain budget 5000 USD per year\n}\n')
    smartx("import", "book", str(book))
    trades = json.loads(smartx("--rules", str(rules), "rebalance", "--all", "--as-of", "2026-11-20", "--dry-run",
                               "--json").stdout)
    xyz = next(t for t in trades if t["symbol"] == "XYZ")
    assert (xyz["side"], xyz["quantity"]) == ("sell", "33.000000")
    assert sum(Decimal(lot["gain"]) for lot in xyz["lots"]) == Decimal("1980.00")
    assert xyz["reasons"][-1] == ("gain budget: 33 of 100 sold (budget 5,000.00 USD per year for TX, "
                                  "3,000.00 realised this year)")
    abc = next(t for t in trades if t["symbol"] == "ABC")  # no cash but the 3,300 of proceeds: 66 ABC at 50
    assert abc["side"] == "buy" and abc["quantity"] == "66.000000"
    assert "gain budget: bought less, the sells that fund it were cut" in abc["reasons"]
