"""Lots rebuilt from a transaction history, through `smartx import book`: relief, realised sales, wash sales."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from smartx_engine.store import Store

ACCOUNTS = """account_id,name,custodian,household_id,registration,st_tax_rate,lt_tax_rate,lot_method
TX-1,Lee Brokerage,schwab,HH-LEE,individual,0.35,0.15,{method}
IRA-1,Lee IRA,schwab,HH-LEE,ira,0.35,0.15,
OTHER-1,Someone Else,schwab,HH-OTHER,individual,0.35,0.15,
"""
SECURITIES = "symbol,name,asset_class,price\nXYZ,XYZ Corp,us_equity,9.00\nABC,ABC Corp,us_equity,20.00\n"
SLEEVES = "sleeve_id,account_id,model_id,policy\nTX-1-S,TX-1,,\nIRA-1-S,IRA-1,,\nOTHER-1-S,OTHER-1,,\n"
CASH = "account_id,sleeve_id,amount\nTX-1,TX-1-S,0\nIRA-1,IRA-1-S,0\nOTHER-1,OTHER-1-S,0\n"
HEADER = "account_id,sleeve_id,date,type,symbol,quantity,price,amount,lot_id\n"


def write_book(directory: Path, transactions: str, method: str = "FIFO") -> Path:
    directory.mkdir()
    files = {"accounts.csv": ACCOUNTS.format(method=method), "securities.csv": SECURITIES,
             "models.csv": "model_id,version,symbol,weight\n", "sleeves.csv": SLEEVES, "cash.csv": CASH,
             "transactions.csv": HEADER + transactions}
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def imported(smartx, tmp_path, transactions, method="FIFO"):
    smartx("import", "book", str(write_book(tmp_path / "book", transactions, method)))


def lots(smartx, account="TX-1"):
    return json.loads(smartx("tax", "lots", "--account", account, "--as-of", "2026-11-20", "--json").output)


def realized(smartx, year=2026, account="TX-1"):
    return json.loads(smartx("tax", "realized", "--account", account, "--year", str(year), "--json").output)


def test_pub_550_wash_sale_example(smartx, tmp_path):
    # IRS Publication 550, "Wash Sales", example 1: you buy 100 shares of X for $1,000, sell them for $750
    # and within 30 days buy 100 shares of the same stock for $800: the $250 loss is disallowed and the
    # new shares' basis is $800 + $250 = $1,050 (their holding period includes the old shares')
    imported(smartx, tmp_path, "TX-1,TX-1-S,2025-06-02,buy,XYZ,100,10,-1000,\n"
                               "TX-1,TX-1-S,2026-03-02,sell,XYZ,100,7.50,750,\n"
                               "TX-1,TX-1-S,2026-03-20,buy,XYZ,100,8,-800,\n")
    (sale,) = realized(smartx)["sales"]
    assert (sale["gain"], sale["disallowed"], sale["allowed"]) == ("-250.00", "250.00", "0.00")
    (lot,) = lots(smartx)
    assert (lot["cost_basis"], lot["wash_adjustment"], lot["acquired"]) == ("1050.00", "250.00", "2026-03-20")
    # held 2025-06-02 .. 2026-03-02 (273 days) before: the new lot's holding period starts 273 days earlier
    assert lot["holding_from"] == "2025-06-20" and lot["term"] == "long"


def test_partial_replacement_disallows_only_the_matching_part(smartx, tmp_path):
    # 100 sold at a 250 loss, 50 bought back: half the loss (125) is disallowed, half allowed
    imported(smartx, tmp_path, "TX-1,TX-1-S,2026-01-05,buy,XYZ,100,10,-1000,\n"
                               "TX-1,TX-1-S,2026-03-02,sell,XYZ,100,7.50,750,\n"
                               "TX-1,TX-1-S,2026-03-20,buy,XYZ,50,8,-400,\n")
    (sale,) = realized(smartx)["sales"]
    assert (sale["disallowed"], sale["allowed"], sale["term"]) == ("125.00", "-125.00", "short")
    assert [(lot["quantity"], lot["cost_basis"]) for lot in lots(smartx)] == [("50.000000", "525.00")]
    totals = realized(smartx)["totals"]["short"]
    assert totals == {"gains": "0.00", "losses": "-250.00", "disallowed": "125.00", "net": "-125.00"}


def test_a_repurchase_in_the_households_ira_loses_the_loss_for_good(smartx, tmp_path):
    imported(smartx, tmp_path, "TX-1,TX-1-S,2026-01-05,buy,XYZ,100,10,-1000,\n"
                               "TX-1,TX-1-S,2026-03-02,sell,XYZ,100,7.50,750,\n"
                               "IRA-1,IRA-1-S,2026-02-20,buy,XYZ,100,8,-800,\n"
                               "OTHER-1,OTHER-1-S,2026-03-03,buy,XYZ,100,8,-800,\n")  # another household: no wash
    (sale,) = realized(smartx)["sales"]
    assert (sale["disallowed"], sale["permanent"], sale["allowed"]) == ("250.00", "250.00", "0.00")
    (ira_lot,) = lots(smartx, "IRA-1")
    assert (ira_lot["cost_basis"], ira_lot["wash_adjustment"]) == ("800.00", "0.00")  # no basis adjustment


def test_account_lot_method_and_named_lots(smartx, tmp_path):
    history = ("TX-1,TX-1-S,2024-01-02,buy,ABC,10,10,-100,\n"      # lot 1: 10/share
               "TX-1,TX-1-S,2024-02-01,buy,ABC,10,30,-300,\n"      # lot 2: 30/share
               "TX-1,TX-1-S,2024-03-01,buy,ABC,10,20,-200,\n"      # lot 3: 20/share
               "TX-1,TX-1-S,2026-05-04,sell,ABC,15,25,375,\n")
    imported(smartx, tmp_path, history, method="HIFO")
    # HIFO: all of lot 2 (30/share), then 5 of lot 3 (20/share): basis 300 + 100, proceeds 250 + 125
    sales = realized(smartx)["sales"]
    assert [(s["lot_id"], s["quantity"], s["proceeds"], s["cost_basis"], s["gain"]) for s in sales] == [
        ("TX-1-S:2024-02-01:1", "10.000000", "250.00", "300.00", "-50.00"),
        ("TX-1-S:2024-03-01:1", "5.000000", "125.00", "100.00", "25.00")]
    assert all(s["term"] == "long" for s in sales)
    named = history.replace("2026-05-04,sell,ABC,15,25,375,", "2026-05-04,sell,ABC,5,25,125,TX-1-S:2024-01-02:1")
    smartx("import", "book", str(write_book(tmp_path / "named", named)))
    (sale,) = realized(smartx)["sales"]
    assert (sale["lot_id"], sale["gain"]) == ("TX-1-S:2024-01-02:1", "75.00")


def test_a_sell_of_shares_the_history_does_not_have_is_refused_with_its_line(smartx, tmp_path, db_path):
    book = write_book(tmp_path / "book", "TX-1,TX-1-S,2026-01-05,buy,XYZ,10,10,-100,\n"
                                         "TX-1,TX-1-S,2026-03-02,sell,XYZ,11,7.50,82.50,\n")
    result = smartx("import", "book", str(book), expect=1)
    assert "transactions.csv:3: the sell of 11 XYZ in TX-1-S on 2026-03-02" in result.output
    assert "nothing was imported" in result.output
    assert Store.open(db_path).count("accounts") == 0


@pytest.mark.parametrize(("column", "value", "message"), [
    ("lot_method", "FIFOO", "unknown lot method 'FIFOO'"),
])
def test_a_bad_lot_method_is_named(smartx, tmp_path, column, value, message):
    book = write_book(tmp_path / "book", "TX-1,TX-1-S,2026-01-05,buy,XYZ,10,10,-100,\n", method=value)
    result = smartx("import", "book", str(book), expect=1)
    assert "accounts.csv:2" in result.output and message in result.output and column in result.output


def test_proceeds_are_shared_by_quantity_to_the_cent(smartx, tmp_path):
    # 3 lots of 1 share sold together for 10.00: 3.33 + 3.33 + 3.34 (the last takes what is left)
    imported(smartx, tmp_path, "TX-1,TX-1-S,2026-01-05,buy,XYZ,1,9,-9,\n"
                               "TX-1,TX-1-S,2026-01-06,buy,XYZ,1,9,-9,\n"
                               "TX-1,TX-1-S,2026-01-07,buy,XYZ,1,9,-9,\n"
                               "TX-1,TX-1-S,2026-06-01,sell,XYZ,3,3.333333,10,\n")
    sales = realized(smartx)["sales"]
    assert [s["proceeds"] for s in sales] == ["3.33", "3.33", "3.34"]
    assert sum(Decimal(s["proceeds"]) for s in sales) == Decimal(10)


def test_a_transfer_between_sleeves_cannot_be_replayed_without_the_lots(smartx, tmp_path, db_path):
    book = write_book(tmp_path / "book", "TX-1,TX-1-S,2026-01-05,buy,XYZ,10,10,-100,\n"
                                         "TX-1,TX-1-S,2026-03-02,transfer_out,XYZ,4,9,36,\n")
    result = smartx("import", "book", str(book), expect=1)
    assert "transactions.csv:3: a transfer_out between sleeves moves named lots" in result.output
    assert "give the book's lots.csv" in result.output and Store.open(db_path).count("accounts") == 0
