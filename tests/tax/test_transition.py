"""Tax-aware model transitions (`smartx transition`, smartx_engine.tax.transition), against plans
computed by hand on a small book, and the worked example of docs/tax.md, "Tax-aware transitions".

The book (lots rebuilt from its history, so that the year's realised gains are known): sleeve S1
of a taxable account (37% short-term, 20% long-term) follows OLD-MODEL on 2026-06-30 and holds

    lot              symbol  shares  basis     value at today's price   gain    term   tax cost per $
    S1:2023-05-01:1  VTI       40    6,000.00  12,000.00 (300.00)     +6,000    long   (kept: in the new model)
    S1:2024-01-10:1  OLD1     100    6,000.00   5,000.00 (50.00)      -1,000    long
    S1:2024-03-01:1  OLD1     100    3,000.00   5,000.00              +2,000    long   20 x 20% / 50 = 0.080
    S1:2026-02-02:1  OLD1      50    2,000.00   2,500.00                +500    short  10 x 37% / 50 = 0.074
    S1:2024-04-01:1  OLD2     200    2,000.00   4,000.00 (20.00)      +2,000    long   10 x 20% / 20 = 0.100
    S1:2025-02-03:1  OLD2     100    2,000.00   2,000.00                   0    long

and 1,500.00 cash: 32,000.00 in all. XYZ sold in 2025 (+150, not this year) and on 2026-03-02
(+400: the year to date). NEW-70-30 is VTI 50%, BND 30%, VEA 18%, cash 2%. Sleeve I1 of an IRA
holds the same lots and cash.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from smartx_engine.errors import SmartxError
from smartx_engine.store import Store
from smartx_engine.tax.transition import MAX_YEARS, plan_transition, record_transition

DOC = Path(__file__).parents[2] / "docs" / "tax.md"
AS_OF = "2026-06-30"

ACCOUNTS = """account_id,name,custodian,household_id,registration,st_tax_rate,lt_tax_rate
TX-1,Lee Brokerage,schwab,HH-LEE,individual,{st},{lt}
IRA-1,Lee IRA,schwab,HH-LEE,ira,{st},0.20
"""
SECURITIES = """symbol,name,asset_class,price
VTI,Vanguard Total Stock Market ETF,us_equity,300.00
BND,Vanguard Total Bond Market ETF,fixed_income,70.00
VEA,Vanguard FTSE Developed Markets ETF,intl_equity,50.00
OLD1,Old Fund One,us_equity,50.00
OLD2,Old Fund Two,us_equity,20.00
XYZ,XYZ Corp,us_equity,10.00
"""
MODELS = """model_id,version,symbol,weight
OLD-MODEL,2024.1,OLD1,0.40
OLD-MODEL,2024.1,OLD2,0.30
OLD-MODEL,2024.1,VTI,0.28
OLD-MODEL,2024.1,$CASH,0.02
NEW-70-30,2026.1,VTI,0.50
NEW-70-30,2026.1,BND,0.30
NEW-70-30,2026.1,VEA,0.18
NEW-70-30,2026.1,$CASH,0.02
LOW-VTI,2026.1,VTI,0.25
LOW-VTI,2026.1,BND,0.73
LOW-VTI,2026.1,$CASH,0.02
"""
SLEEVES = "sleeve_id,account_id,model_id,policy\nS1,TX-1,OLD-MODEL,\nS2,TX-1,OLD-MODEL,\nI1,IRA-1,OLD-MODEL,\n"
CASH = "account_id,sleeve_id,amount\nTX-1,S1,1500.00\nTX-1,S2,0\nIRA-1,I1,1500.00\n"
BUYS = """{sleeve},2023-05-01,buy,VTI,40,150,-6000.00
{sleeve},2024-01-10,buy,OLD1,100,60,-6000.00
{sleeve},2024-03-01,buy,OLD1,100,30,-3000.00
{sleeve},2024-04-01,buy,OLD2,200,10,-2000.00
{sleeve},2025-02-03,buy,OLD2,100,20,-2000.00
{sleeve},2026-02-02,buy,OLD1,50,40,-2000.00
"""
HISTORY = ("account_id,sleeve_id,date,type,symbol,quantity,price,amount\n"
           + BUYS.format(sleeve="TX-1,S1") + BUYS.format(sleeve="IRA-1,I1")
           + "TX-1,S1,2025-01-06,buy,XYZ,100,5,-500.00\n"
           "TX-1,S1,2025-07-01,sell,XYZ,50,8,400.00\n"     # +150 in 2025: not this year
           "TX-1,S1,2026-03-02,sell,XYZ,50,13,650.00\n"    # +400 this year, before the plan
           "TX-1,S1,2026-09-01,buy,XYZ,300,5,-1500.00\n"
           "TX-1,S1,2027-01-15,sell,XYZ,300,10,3000.00\n"  # +1,500 in 2027
           "TX-1,S2,2024-04-01,buy,OLD2,10.5,10,-105.00\n")  # a fractional lot, +10 a share

L1, L2, L3 = "S1:2024-01-10:1", "S1:2024-03-01:1", "S1:2026-02-02:1"   # OLD1: loss, long gain, short gain
B1, B2 = "S1:2024-04-01:1", "S1:2025-02-03:1"                       # OLD2: long gain, no gain
V1 = "S1:2023-05-01:1"                                               # VTI
LOT_KEYS = {"lot_id", "quantity", "cost_basis", "acquired", "term", "proceeds", "gain"}


def write_book(directory: Path, st_rate: str = "0.37", lt_rate: str = "0.20") -> Path:
    directory.mkdir()
    files = {"accounts.csv": ACCOUNTS.format(st=st_rate, lt=lt_rate), "securities.csv": SECURITIES, "models.csv": MODELS,
             "sleeves.csv": SLEEVES, "cash.csv": CASH, "transactions.csv": HISTORY}
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


@pytest.fixture
def book(smartx, tmp_path):
    smartx("import", "book", str(write_book(tmp_path / "book")))


def transition(smartx, *args: str, sleeve: str = "S1", model: str = "NEW-70-30", as_of: str = AS_OF,
               dry_run: bool = True) -> dict:
    result = smartx("transition", sleeve, "--to-model", model, "--as-of", as_of, "--json",
                    *(["--dry-run"] if dry_run else []), *args)
    return json.loads(result.output)


def _q(text: str) -> str:
    """A quantity without trailing zeros: 100.000000 -> 100."""
    return f"{Decimal(text).normalize():f}"


def sold(plan: dict) -> list[tuple[str, str, str, str]]:
    """(lot, quantity, gain, term) of every lot sold, trade by trade."""
    return [(lot["lot_id"], _q(lot["quantity"]), lot["gain"], lot["term"])
            for t in plan["trades"] if t["side"] == "sell" for lot in t["lots"]]


def buys(plan: dict) -> dict[str, tuple[str, str]]:
    return {t["symbol"]: (_q(t["quantity"]), t["est_value"])
            for t in plan["trades"] if t["side"] == "buy"}


# ---------------------------------------------------------------- hand-computed plans


def test_a_binding_budget_sells_losses_first_then_the_cheapest_gains(smartx, book):
    plan = transition(smartx, "--gain-budget", "1400")
    # room: 1,400 - 400 (year to date) = 1,000; the loss of L1 adds 1,000 and B2 is at no gain: 2,000.
    # Gains by tax cost per dollar: L3 (0.074, +500, whole) then L2 (0.080): 1,500 of room left buys
    # 75 of its 100 shares at +20 each; B1 (0.100) does not fit
    assert sold(plan) == [(L1, "100", "-1000.00", "long"), (L3, "50", "500.00", "short"),
                          (L2, "75", "1500.00", "long"), (B2, "100", "0.00", "long")]
    assert plan["realized"] == {"short": "500.00", "long": "500.00", "total": "1000.00"}
    assert plan["tax"] == {"short": "185.00", "long": "100.00", "total": "285.00"}
    assert plan["budget"] == {"given": "1400.00", "applies": True, "year_to_date": "400.00", "plan": "1000.00",
                              "left": "0.00", "binding": True}
    # 1,500 cash + 13,250 proceeds - 640 (2% of 32,000) = 14,110 for 19,360 of shortfall: 72.88% of each
    # VTI 4,000 -> 2,915.29 -> 9 shares; BND 9,600 -> 6,996.69 -> 99; VEA 5,760 -> 4,198.02 -> 83
    assert buys(plan) == {"BND": ("99", "6930.00"), "VEA": ("83", "4150.00"), "VTI": ("9", "2700.00")}
    assert (plan["value"], plan["proceeds"], plan["spent"], plan["cash_after"]) == (
        "32000.00", "13250.00", "13780.00", "970.00")
    assert [(p["symbol"], p["quantity"], p["value"], p["unrealized_gain"], [lot["lot_id"] for lot in p["lots"]])
            for p in plan["legacy"]] == [("OLD1", "25.000000", "1250.00", "500.00", [L2]),
                                         ("OLD2", "200.000000", "4000.00", "2000.00", [B1])]
    # after: VTI 14,700, BND 6,930, VEA 4,150, OLD1 1,250, OLD2 4,000, cash 970 of 32,000
    assert plan["tracking"] == {"before": "0.605000", "after": "0.174375"}
    reasons = {t["symbol"]: t["reasons"] for t in plan["trades"]}
    assert reasons["OLD1"][:2] == ["transition to NEW-70-30: OLD1 is not in the model",
                                   f"transition to NEW-70-30: sell loss lot {L1} (-1,000.00)"]
    assert reasons["OLD1"][2].startswith("transition: gain within the budget")
    assert reasons["VEA"][0] == "transition to NEW-70-30: buy to target 18.00%"


def test_holdings_in_the_new_model_keep_up_to_their_target(smartx, book):
    for budget in ([], ["--gain-budget", "0"], ["--gain-budget", "1400"]):
        plan = transition(smartx, *budget)
        assert V1 not in [lot for lot, *_ in sold(plan)]  # VTI 37.5% is below its 50% target: kept whole
        assert "VTI" not in [p["symbol"] for p in plan["legacy"]]
        vti = next(h for h in plan["holdings_after"] if h["symbol"] == "VTI")
        assert Decimal(vti["quantity"]) >= 40


def test_a_model_security_above_target_sells_only_its_excess(smartx, book):
    # LOW-VTI: VTI 25% of 32,000 = 8,000, floor(8,000 / 300) = 26 shares kept, 14 sold (+150 each, long)
    plan = transition(smartx, model="LOW-VTI")
    vti = next(t for t in plan["trades"] if t["symbol"] == "VTI" and t["side"] == "sell")
    assert [(lot["lot_id"], lot["quantity"], lot["gain"]) for lot in vti["lots"]] == [(V1, "14.000000", "2100.00")]
    assert vti["reasons"][0] == "transition to LOW-VTI: VTI 37.50% above its target 25.00%"
    assert next(h for h in plan["holdings_after"] if h["symbol"] == "VTI")["quantity"] == "26.000000"
    assert "VTI" not in buys(plan)


def test_losses_add_room_even_to_a_zero_budget(smartx, book):
    # 400 realised already: room -400; L1's loss lifts it to 600: L3 (+500) whole, then 5 shares of L2 (+100)
    plan = transition(smartx, "--gain-budget", "0")
    assert sold(plan) == [(L1, "100", "-1000.00", "long"), (L3, "50", "500.00", "short"),
                          (L2, "5", "100.00", "long"), (B2, "100", "0.00", "long")]
    assert plan["budget"]["plan"] == "-400.00" and plan["budget"]["left"] == "0.00"


def test_the_tax_cost_per_dollar_decides_between_terms(smartx, tmp_path):
    # at 45% short-term L3 costs 10 x 45% / 50 = 0.090 a dollar, more than L2's 0.080: L2 goes first and
    # takes the whole 2,000 of room
    smartx("import", "book", str(write_book(tmp_path / "book", st_rate="0.45")))
    plan = transition(smartx, "--gain-budget", "1400")
    assert sold(plan) == [(L1, "100", "-1000.00", "long"), (L2, "100", "2000.00", "long"),
                          (B2, "100", "0.00", "long")]
    assert plan["tax"] == {"short": "0.00", "long": "200.00", "total": "200.00"}


def test_at_equal_tax_cost_long_term_goes_first_then_the_oldest(smartx, tmp_path):
    # rates of 0: every gain costs 0 a dollar; long-term L2 (2024-03-01) and B1 (2024-04-01) before
    # short-term L3. Room: 2,400 - 400 + 1,000 = 3,000: L2 whole (+2,000), then 100 of B1 (+1,000)
    smartx("import", "book", str(write_book(tmp_path / "book", st_rate="0", lt_rate="0")))
    plan = transition(smartx, "--gain-budget", "2400")
    assert sold(plan) == [(L1, "100", "-1000.00", "long"), (L2, "100", "2000.00", "long"),
                          (B2, "100", "0.00", "long"), (B1, "100", "1000.00", "long")]
    assert plan["tax"]["total"] == "0.00" and [p["symbol"] for p in plan["legacy"]] == ["OLD1", "OLD2"]


def test_without_a_budget_the_transition_is_full(smartx, book):
    plan = transition(smartx)
    assert sorted(lot for lot, *_ in sold(plan)) == sorted([L1, L2, L3, B1, B2])
    assert plan["realized"] == {"short": "500.00", "long": "3000.00", "total": "3500.00"}
    assert plan["tax"] == {"short": "185.00", "long": "600.00", "total": "785.00"}
    assert plan["budget"] == {"given": None, "applies": False, "year_to_date": "400.00", "plan": "0.00",
                              "left": None, "binding": False}
    # 1,500 + 18,500 - 640 = 19,360, the whole shortfall: 4,000 / 300, 9,600 / 70, 5,760 / 50 rounded down
    assert buys(plan) == {"BND": ("137", "9590.00"), "VEA": ("115", "5750.00"), "VTI": ("13", "3900.00")}
    assert plan["cash_after"] == "760.00" and plan["legacy"] == []
    # off by 100 (VTI), 10 (BND), 10 (VEA) and 120 (cash) of 32,000: 240 / 32,000 / 2
    assert plan["tracking"]["after"] == "0.003750"
    assert plan["multi_year"]["years"] == [] and plan["multi_year"]["complete"] is True


def test_a_tax_deferred_account_transitions_fully_without_tax(smartx, book):
    plan = transition(smartx, "--gain-budget", "0", sleeve="I1")
    assert plan["tax_deferred"] is True
    assert len(sold(plan)) == 5 and plan["legacy"] == []
    assert plan["tax"] == {"short": "0.00", "long": "0.00", "total": "0.00"}
    assert plan["realized"]["total"] == "3500.00"  # economic gains, not taxed
    assert plan["budget"]["applies"] is False and plan["budget"]["binding"] is False
    assert plan["multi_year"]["years"] == []
    assert any("tax-deferred" in note for note in plan["notes"])


@pytest.mark.parametrize("budget", [None, "0", "350", "400", "1000", "1400", "2999.99", "100000"])
@pytest.mark.parametrize("sleeve", ["S1", "I1"])
def test_plan_totals_add_up_and_never_overspend(smartx, book, budget, sleeve):
    plan = transition(smartx, *(["--gain-budget", budget] if budget else []), sleeve=sleeve)
    lots = [lot for t in plan["trades"] if t["side"] == "sell" for lot in t["lots"]]
    assert all(set(lot) == LOT_KEYS for lot in lots)
    for term in ("short", "long"):
        assert Decimal(plan["realized"][term]) == sum((Decimal(lot["gain"]) for lot in lots if lot["term"] == term),
                                                      Decimal(0))
    assert Decimal(plan["realized"]["total"]) == sum((Decimal(lot["gain"]) for lot in lots), Decimal(0))
    for lot in lots:
        assert Decimal(lot["gain"]) == Decimal(lot["proceeds"]) - Decimal(lot["cost_basis"])
    for t in plan["trades"]:
        if t["side"] == "sell":
            assert Decimal(t["quantity"]) == sum((Decimal(lot["quantity"]) for lot in t["lots"]), Decimal(0))
    proceeds = sum((Decimal(lot["proceeds"]) for lot in lots), Decimal(0))
    spent = sum((Decimal(t["est_value"]) for t in plan["trades"] if t["side"] == "buy"), Decimal(0))
    cash = Decimal(plan["cash"])
    assert proceeds - spent >= -cash
    assert Decimal(plan["cash_after"]) == cash + proceeds - spent
    assert Decimal(plan["cash_after"]) >= Decimal("0.02") * Decimal(plan["value"])  # never below the model's cash
    gains_sold = any(Decimal(lot["gain"]) > 0 for lot in lots)
    if plan["budget"]["applies"] and gains_sold:
        assert Decimal(plan["budget"]["left"]) >= 0
    if sleeve == "I1" or budget is None:
        assert plan["legacy"] == []


def test_the_multi_year_plan_ends_when_the_legacy_is_gone(smartx, book):
    plan = transition(smartx, "--gain-budget", "1400")
    years = plan["multi_year"]["years"]
    # 2027: L2's 25 shares (+500), then 90 of B1 (+900); 2028: B1's last 110 (+1,100)
    assert [(y["year"], y["on"], [(lot["lot_id"], lot["quantity"], lot["gain"]) for s in y["sells"]
                                  for lot in s["lots"]], y["realized"]["total"], y["tax"]["total"],
             y["legacy_value_after"]) for y in years] == [
        (2027, "2027-06-30", [(L2, "25.000000", "500.00"), (B1, "90.000000", "900.00")], "1400.00", "280.00",
         "2200.00"),
        (2028, "2028-06-30", [(B1, "110.000000", "1100.00")], "1100.00", "220.00", "0.00")]
    assert plan["multi_year"]["complete"] is True and plan["multi_year"]["budget"] == "1400.00"
    # all the legacy is sold: the years' sells add up to it
    legacy = {p["symbol"]: Decimal(p["quantity"]) for p in plan["legacy"]}
    for symbol, quantity in legacy.items():
        assert quantity == sum((Decimal(s["quantity"]) for y in years for s in y["sells"] if s["symbol"] == symbol),
                               Decimal(0))


def test_the_multi_year_plan_stops_after_ten_years_or_when_stuck(smartx, book):
    # 350: the plan leaves 78 of L2 (+1,560) and 199 of B1 (+1,990): 3,550 of gains at 350 a year
    plan = transition(smartx, "--gain-budget", "350")
    assert len(plan["multi_year"]["years"]) == MAX_YEARS == 10
    assert plan["multi_year"]["complete"] is False
    assert plan["multi_year"]["years"][-1]["legacy_value_after"] != "0.00"
    assert any("after 10 years" in note for note in plan["notes"])
    # a budget of 0 can never sell another share of a gain
    stuck = transition(smartx, "--gain-budget", "0")
    assert stuck["legacy"] and stuck["multi_year"]["years"] == [] and stuck["multi_year"]["complete"] is False
    assert any("cannot sell one share" in note for note in stuck["notes"])


def test_only_this_years_sales_up_to_the_as_of_date_count(smartx, book):
    # on 2026-03-01 the +400 sale of 2026-03-02 has not happened yet (and 2025's +150 never counts)
    assert transition(smartx, "--gain-budget", "1000", as_of="2026-03-01")["budget"]["year_to_date"] == "0.00"
    assert transition(smartx, "--gain-budget", "1000", as_of="2026-12-31")["budget"]["year_to_date"] == "400.00"


def test_losses_are_sold_even_when_the_year_is_already_over_the_budget(smartx, book):
    # in 2027 the account realised +1,500 by 2027-02-01: a budget of 0 leaves -1,500 of room, and
    # the loss of L1 (-1,000) is still taken; no gain fits
    plan = transition(smartx, "--gain-budget", "0", as_of="2027-02-01")
    assert plan["budget"]["year_to_date"] == "1500.00"
    assert sold(plan) == [(L1, "100", "-1000.00", "long"), (B2, "100", "0.00", "long")]
    assert plan["budget"]["left"] == "-500.00" and plan["multi_year"]["complete"] is False


@pytest.mark.parametrize(("budget", "shares", "gain"), [("505", "10.5", "105.00"), ("504.99", "10", "100.00"),
                                                         ("409.99", "0", None)])
def test_a_fractional_lot_is_sold_whole_or_in_whole_shares(smartx, book, budget, shares, gain):
    # S2 holds 10.5 OLD2 bought at 10 (+10 a share); 400 realised this year: the room is budget - 400
    plan = transition(smartx, "--gain-budget", budget, sleeve="S2")
    assert sold(plan) == ([("S2:2024-04-01:1", shares, gain, "long")] if gain else [])
    assert [p["quantity"] for p in plan["legacy"]] == ([] if shares == "10.5" else [f"{10.5 - int(shares):.6f}"])


# ---------------------------------------------------------------- storing the plan


def test_a_dry_run_stores_nothing(smartx, book, db_path):
    store = Store.open(db_path)
    before = (store.count("runs"), store.count("trades"), store.count("audit"))
    plan = transition(smartx, "--gain-budget", "1400")
    assert plan["run_id"] is None and all(t["trade_id"] is None for t in plan["trades"])
    assert (store.count("runs"), store.count("trades"), store.count("audit")) == before
    assert store.sleeve("S1").model_id == "OLD-MODEL"


def test_a_stored_plan_is_a_run_of_proposals_and_moves_the_sleeve(smartx, book, db_path):
    plan = transition(smartx, "--gain-budget", "1400", dry_run=False)
    run_id = plan["run_id"]
    assert re.fullmatch(r"R-\d{6}", run_id)
    listed = json.loads(smartx("trades", "list", "--run", run_id, "--json").output)
    assert [(t["trade_id"], t["symbol"], t["side"], t["quantity"], t["status"]) for t in listed] == [
        (t["trade_id"], t["symbol"], t["side"], f"{Decimal(t['quantity']):.6f}", "proposed") for t in plan["trades"]]
    sells = {t["symbol"]: t for t in listed if t["side"] == "sell"}
    assert [lot["lot_id"] for lot in sells["OLD1"]["lots"]] == [L1, L3, L2]
    assert all(set(lot) == LOT_KEYS for t in sells.values() for lot in t["lots"])
    assert sells["OLD2"]["reasons"] == ["transition to NEW-70-30: OLD2 is not in the model",
                                        f"transition to NEW-70-30: sell lot {B2} at no gain"]
    store = Store.open(db_path)
    assert store.sleeve("S1").model_id == "NEW-70-30"
    actions = [r.action for r in store.audit_log(limit=3)]
    assert actions == ["transition.plan", "rebalance.run", "sleeve.assign"]
    record = store.audit_log(limit=1)[0]
    assert (record.subject, record.details["run_id"], record.details["gain_budget"]) == ("S1", run_id, "1400.00")
    # the proposals go through review like any other
    smartx("trades", "approve", "--run", run_id)
    assert {t["status"] for t in json.loads(smartx("trades", "list", "--run", run_id, "--json").output)} == {"approved"}


def test_storing_is_one_transaction(tmp_path):
    store = Store.create(tmp_path / "firm.db", actor="tester")
    from smartx_engine.builtin.csv_book import CsvBookImporter

    store.apply_book(CsvBookImporter().read(write_book(tmp_path / "book")))
    plan = plan_transition(store, "S1", "NEW-70-30", dt.date(2026, 6, 30), Decimal(1400))
    audit = store.audit

    def failing(action, *args, **kwargs):
        if action == "transition.plan":
            raise RuntimeError("the disk is full")
        return audit(action, *args, **kwargs)

    store.audit = failing
    with pytest.raises(RuntimeError):
        record_transition(store, plan)
    assert (store.count("runs"), store.count("trades")) == (0, 0)
    assert store.sleeve("S1").model_id == "OLD-MODEL"
    store.audit = audit
    stored = record_transition(store, plan)
    assert stored.run_id == "R-000001" and len(stored.trade_ids) == len(plan.sells) + len(plan.buys) == 5


# ---------------------------------------------------------------- errors and help


def test_unknown_sleeve_or_model_is_a_clear_error(smartx, book):
    result = smartx("transition", "S9", "--to-model", "NEW-70-30", "--as-of", AS_OF, expect=1)
    assert "no sleeve 'S9'" in result.output
    result = smartx("transition", "S1", "--to-model", "NEW-70-3", "--as-of", AS_OF, expect=1)
    assert "no model 'NEW-70-3'" in result.output and "NEW-70-30" in result.output


@pytest.mark.parametrize(("budget", "message"), [("-5", "0 or more"), ("12.345", "more than 2 decimal places"),
                                                 ("lots", "expected a number")])
def test_a_bad_budget_is_a_usage_error(smartx, book, budget, message):
    result = smartx("transition", "S1", "--to-model", "NEW-70-30", "--gain-budget", budget, expect=2)
    assert message in result.output


def test_a_negative_budget_is_refused_by_the_api(smartx, book, db_path):
    with pytest.raises(SmartxError, match="0 or more"):
        plan_transition(Store.open(db_path), "S1", "NEW-70-30", dt.date(2026, 6, 30), Decimal(-1))


def test_the_help_teaches_with_an_example(smartx):
    text = smartx("transition", "--help").output
    assert "Examples:" in text and "--gain-budget" in text and "smartx transition" in text


def test_the_human_output_shows_the_plan(smartx, book):
    text = smartx("transition", "S1", "--to-model", "NEW-70-30", "--gain-budget", "1400", "--as-of", AS_OF,
                  "--dry-run").output
    for words in ("Sells", "Buys", "Legacy positions kept", "Multi-year plan", "17.44% after", "Dry run"):
        assert words in text


# ---------------------------------------------------------------- the worked example of docs/tax.md


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Tax-aware transitions")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def _table(section: str, first_header: str) -> list[list[str]]:
    """The rows of the markdown table whose header starts with ``first_header``."""
    lines = section.splitlines()
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_header:
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip().strip("|").split("|")])
            return rows
    raise AssertionError(f"no table starting with {first_header!r} in docs/tax.md")


def _num(text: str) -> str:
    return text.replace(",", "").replace("+", "")


def test_the_worked_example_of_the_docs(smartx, book):
    section = _section()
    # the book the example shows is the one of this test
    assert [(r[0], r[1], r[2], _num(r[3]), r[4]) for r in _table(section, "lot")] == [
        (V1, "VTI", "40", "6000.00", "2023-05-01"), (L1, "OLD1", "100", "6000.00", "2024-01-10"),
        (L2, "OLD1", "100", "3000.00", "2024-03-01"), (L3, "OLD1", "50", "2000.00", "2026-02-02"),
        (B1, "OLD2", "200", "2000.00", "2024-04-01"), (B2, "OLD2", "100", "2000.00", "2025-02-03")]
    assert "--gain-budget 1400" in section and "--as-of 2026-06-30" in section
    plan = transition(smartx, "--gain-budget", "1400")
    sells = [(lot["lot_id"], _q(lot["quantity"]), lot["proceeds"], lot["cost_basis"],
              lot["gain"], lot["term"]) for t in plan["trades"] if t["side"] == "sell" for lot in t["lots"]]
    assert sorted((r[1], r[3], _num(r[4]), _num(r[5]), _num(r[6]), r[7]) for r in _table(section, "step")) \
        == sorted(sells)
    assert {r[0]: (r[1], _num(r[3])) for r in _table(section, "buy")} == buys(plan)
    totals = {r[0]: [_num(c) for c in r[1:]] for r in _table(section, "")}
    assert totals["realised gain"] == [plan["realized"][k] for k in ("short", "long", "total")]
    assert totals["estimated tax"] == [plan["tax"][k] for k in ("short", "long", "total")]
    budget = plan["budget"]
    assert [_num(c) for c in _table(section, "budget given")[0]] == [
        budget["given"], budget["year_to_date"], budget["plan"], budget["left"]]
    assert [(r[0], _num(r[1]), _num(r[2])) for r in _table(section, "legacy")] == [
        (p["symbol"], _q(p["quantity"]), p["unrealized_gain"]) for p in plan["legacy"]]
    tracking = _table(section, "tracking before")[0]
    assert [Decimal(c.rstrip("%")) / 100 for c in tracking] == [Decimal(plan["tracking"][k])
                                                                 for k in ("before", "after")]
    assert [(int(r[0]), r[1], _num(r[2]), _num(r[3])) for r in _table(section, "year")] == [
        (y["year"], "; ".join(f"{lot['lot_id']} {_q(lot['quantity'])}" for s in y["sells"]
                              for lot in s["lots"]), y["realized"]["total"], y["tax"]["total"])
        for y in plan["multi_year"]["years"]]
