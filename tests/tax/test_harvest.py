"""Tax-loss harvesting: marked lots sold, the exposure kept through a substitute, wash sales respected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

AS_OF = "2026-11-20"
ACCOUNTS = """account_id,name,custodian,household_id,registration,st_tax_rate,lt_tax_rate
TX,Lee Brokerage,schwab,HH,joint,0.35,0.15
IRA,Lee IRA,schwab,HH,ira,0.35,0.15
"""
SECURITIES = ("symbol,name,asset_class,price\nXYZ,XYZ Corp,us_equity,8.00\nQQQ,Invesco QQQ,us_equity,10.00\n"
              "VTI,Vanguard Total,us_equity,10.00\nABC,ABC Corp,us_equity,20.00\n")
MODELS = "model_id,version,symbol,weight\nM,1,XYZ,0.5\nM,1,ABC,0.4\nM,1,$CASH,0.1\n"
SLEEVES = "sleeve_id,account_id,model_id,policy\nTX-S,TX,M,p\nIRA-S,IRA,M,p\n"
HISTORY = ("account_id,sleeve_id,date,type,symbol,quantity,price,amount\n"
           "TX,TX-S,2026-01-05,buy,XYZ,100,10,-1000\n"
           "TX,TX-S,2026-01-05,buy,ABC,30,20,-600\n"
           "IRA,IRA-S,2026-01-05,buy,ABC,10,20,-200\n")
POLICY = """policy "p" {{
  drift band absolute 30%
  harvest when lot.loss >= 100 USD
  substitute "XYZ" with "QQQ", "VTI"
  {extra}
}}
"""


@pytest.fixture
def firm(smartx, tmp_path: Path):
    def build(extra_history: str = "", policy: str = "", ira_cash: str = "0") -> Path:
        book = tmp_path / "book"
        book.mkdir()
        files = {"accounts.csv": ACCOUNTS, "securities.csv": SECURITIES, "models.csv": MODELS, "sleeves.csv": SLEEVES,
                 "cash.csv": f"account_id,sleeve_id,amount\nTX,TX-S,200\nIRA,IRA-S,{ira_cash}\n",
                 "transactions.csv": HISTORY + extra_history}
        for name, text in files.items():
            (book / name).write_text(text)
        rules = tmp_path / "rules"
        rules.mkdir()
        (rules / "p.policy").write_text(POLICY.format(extra=policy))
        smartx("import", "book", str(book))
        return rules
    return build


def harvest(smartx, rules: Path, *args: str) -> list[dict]:
    return json.loads(smartx("--rules", str(rules), "tax", "harvest", "--as-of", AS_OF, "--dry-run", "--json",
                             *args).stdout)


def test_a_harvest_sells_the_loss_and_buys_the_substitute(smartx, firm):
    # XYZ: 100 shares bought at 10, now 8: a 200 short-term loss (tax value 200 x 35% = 70).
    # Proceeds 800 buy 80 QQQ at 10. ABC (no loss) is not touched; the IRA's ABC neither.
    rules = firm()
    sell, buy = harvest(smartx, rules)
    assert (sell["symbol"], sell["side"], sell["quantity"]) == ("XYZ", "sell", "100.000000")
    assert [(lot["lot_id"], lot["gain"], lot["term"]) for lot in sell["lots"]] == [("TX-S:2026-01-05:1", "-200.00", "short")]
    assert sell["reasons"][0] == "harvest: realises a loss of 200.00 USD (estimated tax value 70.00 USD at the account's rates)"
    assert (buy["symbol"], buy["side"], buy["quantity"]) == ("QQQ", "buy", "80.000000")
    assert buy["reasons"][0] == ("harvest: keeps the exposure of XYZ through its substitute QQQ; XYZ is blocked from "
                                 "purchase in the household until 2026-12-20")
    out = smartx("--rules", str(rules), "tax", "harvest", "--as-of", AS_OF).output
    assert "1 harvest(s) realise 200.00 USD of losses (estimated tax value 70.00 USD)" in out


def test_shares_a_recent_purchase_would_wash_are_left_out(smartx, firm):
    # the household's IRA bought 40 XYZ ten days ago: only 60 are harvested (a 120 loss), 48 QQQ bought
    rules = firm("IRA,IRA-S,2026-11-10,buy,XYZ,40,8,-320\n")
    sell, buy = harvest(smartx, rules)
    assert sell["quantity"] == "60.000000" and buy["quantity"] == "48.000000"
    assert "40.000000 shares bought in the last 30 days are left out, their loss would be washed" in sell["reasons"][0]


def test_no_substitute_no_harvest_and_an_identical_one_is_no_substitute(smartx, firm, tmp_path):
    rules = firm(policy='identical "XYZ", "QQQ"')
    sell, buy = harvest(smartx, rules)
    assert buy["symbol"] == "VTI"  # QQQ is identical to XYZ (it would wash the loss): the next one
    (rules / "p.policy").write_text(POLICY.replace('  substitute "XYZ" with "QQQ", "VTI"\n', "").format(extra=""))
    assert harvest(smartx, rules) == []


def test_the_harvested_security_is_blocked_for_the_household_in_the_same_run(smartx, firm):
    # The IRA (cash 1,000, model M: XYZ 50%) triggers and would buy XYZ; the taxable sleeve's harvest
    # blocks it, so the IRA buys the first substitute that is not blocked: QQQ
    rules = firm(ira_cash="1000", policy="trigger when account.tax_treatment == \"tax_deferred\"")
    trades = json.loads(smartx("--rules", str(rules), "rebalance", "--all", "--as-of", AS_OF, "--dry-run",
                               "--json").stdout)
    by = {(t["sleeve_id"], t["symbol"]): t for t in trades}
    assert by[("TX-S", "XYZ")]["side"] == "sell" and ("IRA-S", "XYZ") not in by
    assert by[("IRA-S", "QQQ")]["side"] == "buy"
    assert "in place of XYZ (a purchase would wash a recent loss)" in by[("IRA-S", "QQQ")]["reasons"][0]


SWAP_HISTORY = ("account_id,sleeve_id,date,type,symbol,quantity,price,amount\n"
                "TX,TX-S,2026-01-05,buy,XYZ,100,10,-1000\n"
                "TX,TX-S,2026-01-05,buy,ABC,30,20,-600\n"
                "TX,TX-S,{harvested},sell,XYZ,100,7,700\n"     # the harvest: a 300 loss
                "TX,TX-S,{harvested},buy,QQQ,70,10,-700\n")    # and its substitute


@pytest.mark.parametrize(("harvested", "swaps"), [("2026-10-01", True), ("2026-10-25", False)])
def test_swap_back_after_the_window(smartx, tmp_path, harvested, swaps):
    # harvested 2026-10-01: 50 days before the run, the window is over: QQQ (70 at 10 = 700) goes back
    # to XYZ (87 at 8 = 696). Harvested 2026-10-25: 26 days, still inside: nothing yet (XYZ is blocked).
    book = tmp_path / "book"
    book.mkdir()
    files = {"accounts.csv": ACCOUNTS, "securities.csv": SECURITIES, "models.csv": MODELS, "sleeves.csv": SLEEVES,
             "cash.csv": "account_id,sleeve_id,amount\nTX,TX-S,0\nIRA,IRA-S,0\n",
             "transactions.csv": SWAP_HISTORY.format(harvested=harvested)}
    for name, text in files.items():
        (book / name).write_text(text)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "p.policy").write_text(POLICY.replace("harvest when lot.loss >= 100 USD",
                                                   "harvest when lot.loss >= 100 USD swap back").format(extra=""))
    smartx("import", "book", str(book))
    trades = harvest(smartx, rules)
    if not swaps:
        assert trades == []
        return
    sell, buy = trades
    assert (sell["symbol"], sell["side"], sell["quantity"]) == ("QQQ", "sell", "70.000000")
    assert sell["reasons"][0] == ("swap back: QQQ stood in for XYZ, harvested on 2026-10-01; the wash-sale window "
                                  "is over")
    assert (buy["symbol"], buy["side"], buy["quantity"]) == ("XYZ", "buy", "87.000000")
    # without `swap back` the substitute stays
    (rules / "p.policy").write_text(POLICY.format(extra=""))
    assert harvest(smartx, rules) == []
