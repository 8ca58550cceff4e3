"""Wash sales in rebalance runs: buys a recent loss forbids go to a substitute; washed losses say so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

AS_OF = "2026-11-20"
ACCOUNTS = """account_id,name,custodian,household_id,registration,st_tax_rate,lt_tax_rate
TX-1,Lee Brokerage,schwab,HH-LEE,individual,0.35,0.15
IRA-1,Lee IRA,schwab,HH-LEE,ira,0.35,0.15
"""
SECURITIES = ("symbol,name,asset_class,price\nXYZ,XYZ Corp,us_equity,8.00\nQQQ,Invesco QQQ,us_equity,10.00\n"
              "ABC,ABC Corp,us_equity,20.00\n")
MODELS = "model_id,version,symbol,weight\nM,1,XYZ,0.5\nM,1,ABC,0.4\nM,1,$CASH,0.1\nZ,1,ABC,0.9\nZ,1,$CASH,0.1\n"
SLEEVES = "sleeve_id,account_id,model_id,policy\nTX-1-S,TX-1,{model},p\nIRA-1-S,IRA-1,,\n"
CASH = "account_id,sleeve_id,amount\nTX-1,TX-1-S,{cash}\nIRA-1,IRA-1-S,0\n"
HEADER = "account_id,sleeve_id,date,type,symbol,quantity,price,amount\n"


def book(directory: Path, transactions: str, model: str = "M", cash: str = "1000") -> Path:
    directory.mkdir()
    files = {"accounts.csv": ACCOUNTS, "securities.csv": SECURITIES, "models.csv": MODELS,
             "sleeves.csv": SLEEVES.format(model=model), "cash.csv": CASH.format(cash=cash),
             "transactions.csv": HEADER + transactions}
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


@pytest.fixture
def policy_dir(tmp_path: Path):
    def write(extra: str = "") -> Path:
        directory = tmp_path / "rules"
        directory.mkdir(exist_ok=True)
        (directory / "p.policy").write_text(f'policy "p" {{\n  trigger when true\n{extra}}}\n')
        return directory
    return write


def propose(smartx, rules: Path) -> list[dict]:
    return json.loads(smartx("--rules", str(rules), "rebalance", "--all", "--as-of", AS_OF, "--dry-run",
                             "--json").stdout)


LOSS_LAST_WEEK = ("TX-1,TX-1-S,2026-01-05,buy,XYZ,100,10,-1000\n"
                  "TX-1,TX-1-S,2026-11-10,sell,XYZ,100,7.50,750\n"
                  "TX-1,TX-1-S,2026-11-12,buy,ABC,20,20,-400\n")


def test_a_buy_that_would_wash_last_weeks_loss_buys_the_substitute(smartx, tmp_path, policy_dir):
    # XYZ was sold at a 250 loss on 2026-11-10: buying it back before 2026-12-11 would wash it.
    # T = 400 (ABC) + 1000 cash = 1400; XYZ's 50% (700) goes to QQQ instead: 70 shares at 10
    smartx("import", "book", str(book(tmp_path / "book", LOSS_LAST_WEEK)))
    trades = propose(smartx, policy_dir('  substitute "XYZ" with "QQQ"\n'))
    assert {t["symbol"] for t in trades} == {"ABC", "QQQ"}
    qqq = next(t for t in trades if t["symbol"] == "QQQ")
    assert (qqq["side"], qqq["quantity"]) == ("buy", "70.000000")
    assert qqq["reasons"][0] == "to 50.00%, in place of XYZ (a purchase would wash a recent loss)"
    # without a substitute the purchase waits: XYZ stays in cash
    assert "XYZ" not in {t["symbol"] for t in propose(smartx, policy_dir())}


def test_the_block_ends_after_the_window(smartx, tmp_path, policy_dir):
    old_loss = LOSS_LAST_WEEK.replace("2026-11-10", "2026-10-20")  # 31 days before the run
    smartx("import", "book", str(book(tmp_path / "book", old_loss)))
    assert "XYZ" in {t["symbol"] for t in propose(smartx, policy_dir('  substitute "XYZ" with "QQQ"\n'))}


def test_an_identical_group_blocks_its_other_members(smartx, tmp_path, policy_dir):
    smartx("import", "book", str(book(tmp_path / "book", LOSS_LAST_WEEK)))
    rules = policy_dir('  substitute "XYZ" with "QQQ", "ABC"\n  identical "XYZ", "QQQ"\n')
    symbols = {t["symbol"]: t for t in propose(smartx, rules)}
    assert "QQQ" not in symbols and "XYZ" not in symbols  # QQQ is identical to XYZ: ABC gets the weight
    assert "in place of XYZ" in symbols["ABC"]["reasons"][0]


def test_a_loss_sale_that_a_recent_purchase_would_wash_says_so(smartx, tmp_path, policy_dir):
    # TX-1 holds XYZ at a loss (bought at 10, now 8) and its new model (Z) has none: it sells it.
    # The household's IRA bought XYZ 10 days ago: the loss would be washed (for good, in an IRA).
    history = ("TX-1,TX-1-S,2026-01-05,buy,XYZ,100,10,-1000\n"
               "IRA-1,IRA-1-S,2026-11-10,buy,XYZ,40,8,-320\n")
    smartx("import", "book", str(book(tmp_path / "book", history, model="Z")))
    sell = next(t for t in propose(smartx, policy_dir()) if t["symbol"] == "XYZ")
    assert sell["side"] == "sell" and sell["quantity"] == "100.000000"
    assert sell["reasons"][-1] == ("wash sale: 40.000000 of these shares' loss would be disallowed "
                                   "(40.000000 identical shares bought in the household in the last 30 days)")
