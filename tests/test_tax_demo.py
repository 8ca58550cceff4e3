"""The demo's tax household (``smartx_engine.demo.tax_household``): a book without lots, rebuilt from
its trading history, on which every tax rule of the engine has work to do (docs/tax.md)."""

import csv
import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from smartx_engine.cli import cli
from smartx_engine.demo.firm import write_demo_book
from smartx_engine.demo.tax_household import write_tax_book

ROOT = Path(__file__).parent.parent
RULES = ROOT / "rules"
AS_OF = "2026-11-20"


def _run(db: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", str(db), "--rules", str(RULES), *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def _json(db: Path, *args: str):
    return json.loads(_run(db, *args, "--json"))


@pytest.fixture(scope="module")
def firm(tmp_path_factory):
    """The demo firm imported, with its state before the tax book; then the tax book imported."""
    root = tmp_path_factory.mktemp("tax-demo")
    db, firm_book = root / "smartx.db", root / "book"
    write_demo_book(firm_book)
    _run(db, "init")
    _run(db, "import", "book", str(firm_book))
    before = _firm_state(db)
    household = write_tax_book(root / "tax-book", firm_book)
    _run(db, "import", "book", str(household.directory))
    return db, household, before


def _firm_state(db: Path) -> dict:
    """What the firm's own households look like: the desk's queue, the proposals, the lots, the prices."""
    firm_accounts = {a["account_id"] for a in _json(db, "accounts", "list") if a["household_id"] != "HH-TAX"}
    return {
        "monitor": [s for s in _json(db, "monitor", "--as-of", AS_OF) if s["household_id"] != "HH-TAX"],
        "trades": [t for t in _json(db, "rebalance", "--all", "--as-of", AS_OF, "--dry-run")
                   if t["account_id"] in firm_accounts],
        "lots": {a: _json(db, "tax", "lots", "--account", a, "--as-of", AS_OF) for a in sorted(firm_accounts)},
        "accounts": sorted(firm_accounts),
    }


def test_importing_the_tax_book_changes_nothing_of_the_firm(firm):
    db, _, before = firm
    after = _firm_state(db)
    assert before["accounts"] and before["trades"] and before["monitor"]
    assert after == before


def test_the_tax_book_has_no_lots_and_its_cash_is_its_history(tmp_path):
    write_demo_book(tmp_path / "book")
    household = write_tax_book(tmp_path / "tax", tmp_path / "book")
    assert not (household.directory / "lots.csv").exists()
    for name in ("securities.csv", "models.csv"):
        assert (household.directory / name).read_bytes() == (tmp_path / "book" / name).read_bytes()
    balances = defaultdict(Decimal)
    with (household.directory / "transactions.csv").open() as handle:
        for row in csv.DictReader(handle):
            assert row["date"] < AS_OF
            balances[row["sleeve_id"]] += Decimal(row["amount"])
    with (household.directory / "cash.csv").open() as handle:
        cash = {row["sleeve_id"]: Decimal(row["amount"]) for row in csv.DictReader(handle)}
    assert cash == balances and all(amount >= 0 for amount in cash.values())


def test_the_tax_book_is_written_for_the_firms_date(tmp_path):
    write_demo_book(tmp_path / "book")
    with pytest.raises(ValueError, match="5 to 15 days before"):
        write_tax_book(tmp_path / "tax", tmp_path / "book", dt.date(2027, 1, 15))


def test_the_history_rebuilds_lots_realised_sales_and_a_wash_sale(firm):
    db, household, _ = firm
    lots = _json(db, "tax", "lots", "--account", household.taxable_account, "--as-of", AS_OF)
    washed = [lot for lot in lots if Decimal(lot["wash_adjustment"]) > 0]
    assert [(lot["symbol"], lot["wash_adjustment"], lot["holding_from"], lot["term"]) for lot in washed] == [
        ("VNQ", "830.00", "2019-06-24", "long")]
    realized = _json(db, "tax", "realized", "--household", household.household_id, "--year", "2026")
    sales = {(s["symbol"], s["sold"]): s for s in realized["sales"]}
    assert sales["BND", "2026-11-12"]["gain"] == "-1298.00" and sales["QQQ", "2026-04-15"]["gain"] == "3474.80"
    assert sales["VNQ", "2026-03-09"]["disallowed"] == "830.00"
    net = sum(Decimal(t["net"]) for t in realized["totals"].values())
    assert net == Decimal("2176.80")


def test_a_harvest_sells_the_loss_and_buys_the_substitute(firm):
    db, household, _ = firm
    trades = _json(db, "tax", "harvest", "--household", household.household_id, "--as-of", AS_OF, "--dry-run")
    assert [(t["sleeve_id"], t["side"], t["symbol"]) for t in trades] == [
        (household.growth_sleeve, "sell", "VEA"), (household.growth_sleeve, "buy", "IEFA")]
    assert trades[0]["reasons"][0].startswith("harvest: realises a loss of 1,761.00 USD")
    assert "through its substitute IEFA" in trades[1]["reasons"][0]


def test_the_household_rebalance_blocks_a_wash_sale_and_binds_the_gain_budget(firm):
    db, household, _ = firm
    trades = _json(db, "rebalance", "--household", household.household_id, "--as-of", AS_OF, "--dry-run")
    balanced = {(t["side"], t["symbol"]): t for t in trades if t["sleeve_id"] == household.balanced_sleeve}
    assert ("buy", "BND") not in balanced
    assert "in place of BND (a purchase would wash a recent loss)" in balanced["buy", "AGG"]["reasons"][0]
    vti = balanced["sell", "VTI"]
    assert any(r.startswith("gain budget: 25 of 82 sold (budget 5,000.00 USD per year for SCH-1007, "
                            "2,176.80 realised this year)") for r in vti["reasons"])
    gain = sum(Decimal(lot["gain"]) for lot in vti["lots"])
    harvest = next(t for t in trades if t["sleeve_id"] == household.growth_sleeve and t["side"] == "sell")
    loss = -sum(Decimal(lot["gain"]) for lot in harvest["lots"])
    assert Decimal("2176.80") + gain - loss <= 5000  # within the budget, the harvest making room


def test_the_transition_keeps_gains_within_the_budget(firm):
    db, household, _ = firm
    plan = _json(db, "transition", household.growth_sleeve, "--to-model", "INC-30-70", "--gain-budget", "2000",
                 "--as-of", AS_OF, "--dry-run")
    budget = plan["budget"]
    assert budget["applies"] and budget["binding"]
    assert Decimal(budget["year_to_date"]) == Decimal("2176.80") and Decimal(budget["left"]) >= 0
    assert plan["legacy"]


def test_the_demo_shows_tax_management(tmp_path):
    result = CliRunner().invoke(cli, ["--rules", str(RULES), "demo", "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    out = result.output
    for title in ("A household rebuilt from its trading history (no lots file)",
                  "Harvest losses, keeping the exposure through substitutes",
                  "Rebalance the household: a blocked wash sale and a binding gain budget",
                  "Move a sleeve to a new model within a gain budget"):
        assert title in out
    steps = out.split("\n== ")
    rebuilt, harvest, rebalance, transition = (next(s for s in steps if title in s) for title in (
        "rebuilt from its trading history", "Harvest losses", "Rebalance the household", "Move a sleeve"))
    assert "830.00" in rebuilt and "2019-06-24" in rebuilt  # the wash sale's adjustment and holding period
    assert "-1,298.00" in rebuilt and "3,474.80" in rebuilt
    assert "harvest: realises a loss of 1,761.00 USD" in harvest and "through its substitute IEFA" in harvest
    assert "harvest: realises a loss of 1,761.00 USD" in rebalance
    assert "in place of BND (a purchase would wash a recent loss)" in rebalance
    assert "gain budget: 25 of 82 sold (budget 5,000.00 USD per year for SCH-1007," in rebalance  # the table wraps
    assert "Transition of S-1007-GRO" in transition and "Gain budget" in transition
    assert "Legacy positions kept" in transition and "the budget binds" in transition
    assert "BND is not bought: a purchase would wash the household's recent loss" in transition
