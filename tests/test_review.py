"""Reviewing proposals: edit (re-validated), four-eyes approval, settings, netting on approval."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from smartx_engine.store import Store

ROOT = Path(__file__).parent.parent
AS_OF = "2026-11-20"


def run(smartx, rules, *args, expect=0, actor="alice"):
    return smartx("--rules", str(rules), *args, expect=expect, env={"SMARTX_ACTOR": actor})


def proposals(smartx, rules, *scope):
    run(smartx, rules, "rebalance", *(scope or ("--all",)), "--as-of", AS_OF)
    return json.loads(run(smartx, rules, "trades", "list", "--status", "proposed", "--json").output)


def test_editing_a_trade_revalidates_and_relieves_lots_again(smartx, imported, rules):
    trades = proposals(smartx, rules)
    sell = next(t for t in trades if t["side"] == "sell" and t["sleeve_id"] == "SCH-1-CORE" and t["symbol"] == "VTI")
    edited = json.loads(run(smartx, rules, "trades", "edit", sell["trade_id"], "--quantity", "110", "--json").output)
    # VTI lots of SCH-1-CORE: L-001 100 (2023-02-14) then L-002 25.5: 110 takes all of L-001 and 10 of L-002
    assert edited["quantity"] == "110.000000" and edited["edited_by"] == "alice"
    assert [(lot["lot_id"], Decimal(lot["quantity"])) for lot in edited["lots"]] == [("L-001", 100), ("L-002", 10)]
    assert edited["reasons"][-1] == f"quantity edited from {Decimal(sell['quantity']).normalize():f} to 110 by alice"
    assert "cannot sell 125.500001 VTI: SCH-1-CORE holds 125.500000" in run(
        smartx, rules, "trades", "edit", sell["trade_id"], "--quantity", "125.500001", expect=1).output
    assert "more than 6 decimal places" in run(
        smartx, rules, "trades", "edit", sell["trade_id"], "--quantity", "1.0000001", expect=2).output
    buy = next(t for t in trades if t["side"] == "buy")
    result = run(smartx, rules, "trades", "edit", buy["trade_id"], "--quantity", "100000", expect=1)
    assert f"{buy['trade_id']}: 100000 {buy['symbol']} would overdraw {buy['sleeve_id']} by" in result.output
    run(smartx, rules, "trades", "reject", buy["trade_id"], "--reason", "no")
    assert f"only proposed trades can be edited: {buy['trade_id']} (rejected)" in run(
        smartx, rules, "trades", "edit", buy["trade_id"], "--quantity", "1", expect=1).output
    (record,) = [r for r in Store.open(imported).audit_log() if r.action == "trades.edit"]
    assert (record.actor, record.subject) == ("alice", sell["trade_id"])
    assert record.details == {"before": f"{Decimal(sell['quantity']).normalize():f}", "after": "110"}


def test_four_eyes_approval_needs_another_operator(smartx, imported, rules):
    trades = proposals(smartx, rules, "--account", "SCH-2")
    listed = json.loads(run(smartx, rules, "settings", "list", "--json").output)
    assert {s["key"]: s["value"] for s in listed} == {"approvals.four_eyes": False, "firm.name": "Your Advisory Firm"}
    assert "approvals.four_eyes = true" in run(smartx, rules, "settings", "set", "approvals.four_eyes", "yes").output
    first, second = trades[0]["trade_id"], trades[1]["trade_id"]
    refused = run(smartx, rules, "trades", "approve", first, expect=1)
    assert f"four-eyes approval is on: alice proposed or edited {first}" in refused.output
    run(smartx, rules, "trades", "edit", second, "--quantity", "1", actor="bob")
    assert f"bob proposed or edited {second}" in run(smartx, rules, "trades", "approve", second, expect=1,
                                                     actor="bob").output
    run(smartx, rules, "trades", "approve", first, actor="bob")
    run(smartx, rules, "trades", "reject", second, "--reason", "proposer may always reject")
    statuses = {t["trade_id"]: (t["status"], t["decided_by"])
                for t in json.loads(run(smartx, rules, "trades", "list", "--json").output)}
    assert statuses[first] == ("approved", "bob") and statuses[second] == ("rejected", "alice")
    run(smartx, rules, "settings", "unset", "approvals.four_eyes")
    assert "approvals.four_eyes" in Store.open(imported).audit_log()[0].subject


def test_settings_are_checked(smartx, imported, rules):
    assert "no setting 'approvals.four_eye'; did you mean `approvals.four_eyes`?" in run(
        smartx, rules, "settings", "set", "approvals.four_eye", "true", expect=1).output
    assert "no setting 'colour' (known: approvals.four_eyes, firm.name)" in run(
        smartx, rules, "settings", "unset", "colour", expect=1).output
    assert "approvals.four_eyes: expected true or false (or yes/no, on/off, 1/0), got 'maybe'" in run(
        smartx, rules, "settings", "set", "approvals.four_eyes", "maybe", expect=1).output
    assert Store.open(imported).db["settings"].count == 0  # nothing stored on a refusal


def test_settings_list_shows_who_set_what_and_unset_restores_the_default(smartx, imported, rules):
    def listed():
        rows = json.loads(run(smartx, rules, "settings", "list", "--json").output)
        return next(row for row in rows if row["key"] == "approvals.four_eyes")

    assert listed() == {"key": "approvals.four_eyes", "type": "bool", "value": False, "default": False,
                        "set": False, "updated_by": None, "help": listed()["help"]}
    run(smartx, rules, "settings", "set", "approvals.four_eyes", "on", actor="carol")
    assert (listed()["value"], listed()["set"], listed()["updated_by"]) == (True, True, "carol")
    assert re.search(r"approvals\.four_eyes\W+true\W+false\W+carol\W", run(smartx, rules, "settings", "list").output)
    assert "back to its default (false)" in run(smartx, rules, "settings", "unset", "approvals.four_eyes").output
    assert (listed()["value"], listed()["set"], listed()["updated_by"]) == (False, False, None)
    actions = [(r.action, r.subject, r.actor) for r in Store.open(imported).audit_log(limit=2)]
    assert actions == [("settings.unset", "approvals.four_eyes", "alice"),
                       ("settings.set", "approvals.four_eyes", "carol")]
    assert "approvals.four_eyes (bool, default false)" in run(smartx, rules, "settings", "set", "--help").output
    run(smartx, rules, "settings", "set", "firm.name", "  Harborview Wealth Partners ")
    firm = next(r for r in json.loads(run(smartx, rules, "settings", "list", "--json").output) if r["key"] == "firm.name")
    assert (firm["type"], firm["value"]) == ("text", "Harborview Wealth Partners")
    assert "firm.name: expected some text" in run(smartx, rules, "settings", "set", "firm.name", " ", expect=1).output


def test_other_live_sells_count_against_what_a_sleeve_holds(smartx, imported, rules):
    first = next(t for t in proposals(smartx, rules) if t["sleeve_id"] == "SCH-1-CORE" and t["symbol"] == "VTI")
    assert first["side"] == "sell"
    run(smartx, rules, "trades", "approve", first["trade_id"])
    again = next(t for t in proposals(smartx, rules) if t["sleeve_id"] == "SCH-1-CORE" and t["symbol"] == "VTI")
    assert again["side"] == "sell" and again["trade_id"] != first["trade_id"]
    room = Decimal("125.5") - Decimal(first["quantity"])
    refused = run(smartx, rules, "trades", "edit", again["trade_id"], "--quantity", str(room + Decimal("0.000001")),
                  expect=1).output
    assert f"holds 125.500000, {first['quantity']} of them in other live sells" in refused
    edited = json.loads(run(smartx, rules, "trades", "edit", again["trade_id"], "--quantity", str(room),
                            "--json").output)
    assert Decimal(edited["quantity"]) == room and sum(Decimal(lot["quantity"]) for lot in edited["lots"]) == room


def test_edit_refuses_what_the_cli_would_never_send(smartx, imported, rules):
    from smartx_engine.errors import DataError, NotFoundError
    from smartx_engine.rebalance.review import edit

    (trade, *_) = proposals(smartx, rules)
    store = Store.open(imported, actor="alice")
    with pytest.raises(DataError, match="more than 6 decimal places"):
        edit(store, trade["trade_id"], Decimal("1.0000001"))
    with pytest.raises(DataError, match="must be positive"):
        edit(store, trade["trade_id"], Decimal(0))
    with pytest.raises(NotFoundError, match="no trade T-99999999"):
        edit(store, "T-99999999", Decimal(1))
    assert [r.action for r in store.audit_log(limit=1)] == ["rebalance.run"]  # nothing written


def test_approved_opposite_trades_of_one_account_net(smartx, imported, rules):
    # SCH-1-LEGACY (AAPL only, no cash) follows GRO-80-20: it sells AAPL and buys VTI; SCH-1-CORE
    # (balanced) sells VTI: the two cross inside SCH-1
    balanced = rules / "balanced.policy"  # without its gain budget, which would keep CORE's VTI gains
    balanced.write_text(balanced.read_text().replace("gain budget 5000 USD per year", ""))
    run(smartx, rules, "sleeves", "assign", "SCH-1-LEGACY", "--model", "GRO-80-20", "--policy", "growth")
    trades = proposals(smartx, rules, "--account", "SCH-1")
    sell = next(t for t in trades if t["sleeve_id"] == "SCH-1-CORE" and t["symbol"] == "VTI")
    buy = next(t for t in trades if t["sleeve_id"] == "SCH-1-LEGACY" and t["symbol"] == "VTI")
    assert sell["side"] == "sell" and buy["side"] == "buy"
    crossed = min(Decimal(sell["quantity"]), Decimal(buy["quantity"]))
    assert f"nets with SCH-1-LEGACY's buy: {crossed} shares cross inside SCH-1 (lots move, no sale)" in sell["reasons"]
    assert json.loads(run(smartx, rules, "trades", "net", "--json").output) == {"crossings": [], "orders": []}
    run(smartx, rules, "trades", "approve", "--run", "R-000001")
    netting = json.loads(run(smartx, rules, "trades", "net", "--account", "SCH-1", "--json").output)
    # every security both sleeves trade crosses (the trim rule sells CORE's BND, VEA and VTI)
    assert {c["symbol"] for c in netting["crossings"]} == {"BND", "VEA", "VTI"}
    crossing = next(c for c in netting["crossings"] if c["symbol"] == "VTI")
    assert crossing["from_sleeve"] == "SCH-1-CORE" and crossing["to_sleeve"] == "SCH-1-LEGACY"
    assert Decimal(crossing["quantity"]) == crossed
    vti = next(o for o in netting["orders"] if o["symbol"] == "VTI")
    net_quantity = abs(Decimal(buy["quantity"]) - Decimal(sell["quantity"]))
    assert Decimal(vti["quantity"]) == net_quantity and sorted(vti["trade_ids"]) == sorted(
        [sell["trade_id"], buy["trade_id"]])
    assert {o["symbol"] for o in netting["orders"]} == {t["symbol"] for t in trades} - (
        {"VTI"} if not net_quantity else set())
    # approval marks the sleeves rebalanced: neither is "never rebalanced" any more
    queue = json.loads(run(smartx, rules, "monitor", "--as-of", AS_OF, "--json").output)
    assert not [i for i in queue if i["account_id"] == "SCH-1" and "never rebalanced" in i["issues"]]


def test_plugins_hear_of_every_stored_run(smartx, imported, rules):
    from smartx_engine import hookimpl
    from smartx_engine.plugins import get_plugin_manager

    heard = []

    class Listener:
        @hookimpl
        def on_run_completed(self, run):
            heard.append((run.run_id, len(run.trades)))

    manager = get_plugin_manager()
    listener = Listener()
    manager.register(listener)
    try:
        run(smartx, rules, "rebalance", "--all", "--as-of", AS_OF, "--dry-run")
        trades = proposals(smartx, rules)
    finally:
        manager.unregister(listener)
    assert heard == [("R-000001", len(trades))]  # the dry run stored nothing, so told nothing


def test_a_buy_may_spend_only_what_its_sleeve_has_left_after_its_other_live_trades(smartx, imported, rules):
    from smartx_engine.fixedpoint import round_money

    trades = proposals(smartx, rules)
    buy = max((t for t in trades if t["side"] == "buy"), key=lambda t: Decimal(t["est_value"]))
    others = [t for t in trades if t["sleeve_id"] == buy["sleeve_id"] and t["trade_id"] != buy["trade_id"]]
    assert others  # the buy shares its sleeve's cash with other trades
    (cash,) = [c.amount for c in Store.open(imported).cash(sleeve_id=buy["sleeve_id"])]
    left = cash + sum(Decimal(t["est_value"]) * (1 if t["side"] == "sell" else -1) for t in others)
    price = Decimal(buy["est_price"])
    most = (left / price).to_integral_value(rounding="ROUND_FLOOR")
    over = round_money((most + 1) * price) - left
    refused = run(smartx, rules, "trades", "edit", buy["trade_id"], "--quantity", str(most + 1), expect=1).output
    assert f"would overdraw {buy['sleeve_id']} by {over} USD (cash {cash} USD and its other live trades)" in refused
    edited = json.loads(run(smartx, rules, "trades", "edit", buy["trade_id"], "--quantity", str(most), "--json").output)
    assert Decimal(edited["quantity"]) == most and edited["lots"] == []
