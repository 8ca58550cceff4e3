"""`smartx sleeves assign --blend|--allocation`, `smartx sleeves target`, `smartx accounts restrict|restrictions`:
stored, audited, all or nothing; the Book and the rebalancer follow the effective target."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from smartx_engine.book import Book
from smartx_engine.store import Store

BLEND = "BAL-60-40:0.6,GRO-80-20:0.4"  # VTI 0.42/0.6, VEA 0.18/0.19, BND 0.38/0.19, cash 0.02/0.02


def as_json(smartx, *args, expect=0):
    return json.loads(smartx(*args, "--json", expect=expect).output)


def target_weights(smartx, sleeve_id):
    return {w["symbol"]: w["weight"] for w in as_json(smartx, "sleeves", "target", sleeve_id)["weights"]}


def test_a_blend_is_assigned_stored_and_shown_with_its_sources(imported, smartx):
    assigned = as_json(smartx, "sleeves", "assign", "SCH-1-CORE", "--blend", BLEND)
    assert assigned["model_id"] is None and assigned["target"]["kind"] == "blend"
    assert assigned["target"]["components"] == [{"model_id": "BAL-60-40", "weight": "0.6"},
                                                {"model_id": "GRO-80-20", "weight": "0.4"}]
    target = as_json(smartx, "sleeves", "target", "SCH-1-CORE")
    assert target["kind"] == "blend" and target["label"] == BLEND and target["total"] == "1"
    assert target["models"] == [{"model_id": "BAL-60-40", "version": "2026.1"},
                                {"model_id": "GRO-80-20", "version": "2026.1"}]
    weights = {w["symbol"]: w for w in target["weights"]}
    assert {s: w["weight"] for s, w in weights.items()} == {"$CASH": "0.02", "BND": "0.304", "VEA": "0.184",
                                                            "VTI": "0.492"}
    assert weights["VTI"]["sources"] == [
        {"kind": "blend", "weight": "0.252", "model_id": "BAL-60-40", "version": "2026.1", "blend_weight": "0.6",
         "model_weight": "0.42"},
        {"kind": "blend", "weight": "0.24", "model_id": "GRO-80-20", "version": "2026.1", "blend_weight": "0.4",
         "model_weight": "0.6"}]
    shown = as_json(smartx, "sleeves", "show", "SCH-1-CORE")
    assert shown["target"] == BLEND and shown["target_kind"] == "blend" and shown["cash_target"] == "0.02"
    assert {h["symbol"]: h["target"] for h in shown["holdings"]} == {"BND": "0.304", "VEA": "0.184", "VTI": "0.492"}
    human = smartx("sleeves", "target", "SCH-1-CORE").output
    assert "60% x 42% in BAL-60-40 v2026.1" in human and "0.492" in human


def test_assigning_is_audited_with_the_targets_before_and_after(imported, smartx, db_path):
    smartx("sleeves", "assign", "SCH-1-CORE", "--blend", BLEND)
    smartx("sleeves", "assign", "SCH-1-CORE", "--model", "GRO-80-20")
    store = Store.open(db_path)
    to_model, to_blend = store.audit_log(2)
    assert to_blend.action == to_model.action == "sleeve.assign"
    assert to_blend.details["target_before"] == {"kind": "model", "label": "BAL-60-40", "model_id": "BAL-60-40"}
    assert to_blend.details["target_after"]["label"] == BLEND and to_blend.details["after"]["model_id"] is None
    assert to_model.details["target_before"]["label"] == BLEND
    assert to_model.details["after"]["model_id"] == "GRO-80-20"
    assert store.count("sleeve_targets") == store.count("sleeve_blend_components") == 0  # the blend is gone


def test_a_custom_allocation_is_assigned_and_shown(imported, smartx):
    assigned = as_json(smartx, "sleeves", "assign", "SCH-1-LEGACY", "--allocation", "AAPL:0.5,VTI:0.48,$CASH:0.02",
                       "--policy", "balanced")
    assert assigned["policy"] == "balanced" and assigned["target"]["label"] == "(custom)"
    assert target_weights(smartx, "SCH-1-LEGACY") == {"$CASH": "0.02", "AAPL": "0.5", "VTI": "0.48"}
    listed = {s["sleeve_id"]: s for s in as_json(smartx, "sleeves", "list")}
    assert listed["SCH-1-LEGACY"]["target"] == "(custom)" and listed["SCH-1-LEGACY"]["target_kind"] == "custom"
    assert listed["SCH-2-CORE"]["target"] == "GRO-80-20" and listed["SCH-2-CORE"]["target_kind"] == "model"


def test_restrictions_apply_to_every_sleeve_target_of_the_account(imported, smartx, db_path):
    smartx("sleeves", "assign", "SCH-1-CORE", "--blend", BLEND)
    after = as_json(smartx, "accounts", "restrict", "SCH-1", "--exclude", "VEA", "--substitute", "VTI=ITOT",
                    "--note", "ESG")
    assert after == [
        {"account_id": "SCH-1", "symbol": "VEA", "kind": "exclude", "replacement": None, "note": "ESG"},
        {"account_id": "SCH-1", "symbol": "VTI", "kind": "substitute", "replacement": "ITOT", "note": "ESG"}]
    target = as_json(smartx, "sleeves", "target", "SCH-1-CORE")
    # VTI 0.492 -> ITOT; VEA 0.184 pro rata over BND 0.304 and ITOT 0.492
    assert {w["symbol"]: w["weight"] for w in target["weights"]} == {
        "$CASH": "0.02", "BND": "0.3742713568", "ITOT": "0.6057286432"}
    assert target["total"] == "1"
    assert [(r["symbol"], r["kind"], r["weight"]) for r in target["removed"]] == [
        ("VEA", "exclude", "0.184"), ("VTI", "substitute", "0.492")]
    itot = next(w for w in target["weights"] if w["symbol"] == "ITOT")
    assert [(s["kind"], s.get("symbol")) for s in itot["sources"]] == [("substitute", "VTI"),
                                                                      ("redistributed", "VEA")]
    assert len(target["restrictions"]) == 2
    assert as_json(smartx, "accounts", "restrictions", "SCH-1") == after
    assert as_json(smartx, "accounts", "restrictions") == after  # every account's
    assert as_json(smartx, "accounts", "show", "SCH-1")["restrictions"] == after
    record = Store.open(db_path).audit_log(1)[0]
    assert record.action == "account.restrict" and record.subject == "SCH-1"
    assert record.details["before"] == [] and len(record.details["after"]) == 2
    assert as_json(smartx, "accounts", "restrict", "SCH-1", "--remove", "VEA", "--remove", "VTI") == []
    assert target_weights(smartx, "SCH-1-CORE")["VTI"] == "0.492"


def test_the_book_and_the_rebalancer_follow_a_blended_restricted_target(imported, smartx, db_path, rules):
    smartx("sleeves", "create", "SCH-1-UMA", "--account", "SCH-1", "--policy", "balanced")
    smartx("cash", "deposit", "SCH-1-UMA", "100000.00", "--date", "2026-11-20")
    smartx("sleeves", "assign", "SCH-1-UMA", "--blend", BLEND)
    smartx("accounts", "restrict", "SCH-1", "--exclude", "VEA")
    book = Book.from_store(Store.open(db_path), dt.date(2026, 11, 20))
    s = list(book.sleeve_ids).index("SCH-1-UMA")
    assert book.models[book.sleeve_model[s]] == BLEND and book.sleeve_cash_target[s] == 0.02
    rows = book.holding_sleeve == s
    targets = dict(zip(book.symbols[book.holding_symbol[rows]], book.holding_target[rows]))
    assert targets == pytest.approx({"BND": 0.304 + 0.184 * 0.304 / 0.796, "VTI": 0.492 + 0.184 * 0.492 / 0.796})
    assert "VEA excluded → redistributed" in book.sleeve_target_note[s]

    trades = as_json(smartx, "--rules", str(rules), "rebalance", "--sleeve", "SCH-1-UMA", "--as-of", "2026-11-20",
                     "--dry-run")
    assert {t["symbol"] for t in trades} == {"BND", "VTI"} and all(t["side"] == "buy" for t in trades)
    for t in trades:  # bought to the blended target (the policy's 2% target cash), to a whole share
        wanted = Decimal(str(targets[t["symbol"]])) * Decimal("100000.00")
        assert wanted - Decimal(t["est_price"]) <= Decimal(t["est_value"]) <= wanted
        assert t["reasons"][0].startswith("to target ")
        assert ("(blend: 60% BAL-60-40 v2026.1, 40% GRO-80-20 v2026.1; VEA excluded → redistributed)"
                in t["reasons"][0])


def test_a_policy_selects_a_blend_by_its_label(imported, smartx, tmp_path):
    smartx("sleeves", "create", "SCH-2-UMA", "--account", "SCH-2")  # no policy named: `applies to` decides
    smartx("sleeves", "assign", "SCH-2-UMA", "--blend", BLEND)
    rules = tmp_path / "uma-rules"
    rules.mkdir()
    (rules / "uma.policy").write_text(f'policy "uma" {{\n  applies to sleeve.model == "{BLEND}"\n'
                                      '  drift band absolute 1%\n}\n')
    (rules / "growth.policy").write_text('policy "growth" {\n  applies to sleeve.model == "GRO-80-20"\n'
                                         '  drift band absolute 4%\n}\n')
    explained = as_json(smartx, "--rules", str(rules), "policy", "explain", "--sleeve", "SCH-2-UMA",
                        "--as-of", "2026-11-20")
    assert explained["policy"] == "uma"
    smartx("sleeves", "create", "SCH-2-OWN", "--account", "SCH-2")
    smartx("sleeves", "assign", "SCH-2-OWN", "--allocation", "VTI:0.98,$CASH:0.02")
    (rules / "own.policy").write_text('policy "own" {\n  applies to sleeve.target_kind == "custom"\n'
                                      '  drift band absolute 2%\n}\n')
    explained = as_json(smartx, "--rules", str(rules), "policy", "explain", "--sleeve", "SCH-2-OWN",
                        "--as-of", "2026-11-20")
    assert explained["policy"] == "own"


def test_bad_assignments_and_restrictions_change_nothing(imported, smartx, db_path):
    before = Store.open(db_path).audit_log(1)[0].audit_id
    assert "no model 'GRO-80'" in smartx("sleeves", "assign", "SCH-1-CORE", "--blend", "GRO-80:0.5,BAL-60-40:0.5",
                                         expect=1).output
    assert "no security 'VTX'; did you mean `VTI`?" in smartx(
        "sleeves", "assign", "SCH-1-CORE", "--allocation", "VTX:1", expect=1).output
    assert "sum to 0.9, not exactly 1" in smartx("sleeves", "assign", "SCH-1-CORE", "--blend",
                                                 "GRO-80-20:0.5,BAL-60-40:0.4", expect=2).output
    assert "give one target" in smartx("sleeves", "assign", "SCH-1-CORE", "--model", "GRO-80-20", "--blend",
                                       BLEND, expect=2).output
    smartx("sleeves", "assign", "SCH-1-LEGACY", "--allocation", "AAPL:0.98,$CASH:0.02")
    middle = Store.open(db_path).audit_log(1)[0].audit_id
    # SCH-1-LEGACY would have no security left: nothing is stored, not even the exclusion of VEA
    out = smartx("accounts", "restrict", "SCH-1", "--exclude", "VEA", "--exclude", "AAPL", expect=1).output
    assert "sleeve SCH-1-LEGACY (account SCH-1, target (custom))" in out and "exclude every security" in out
    assert "a replacement cannot be restricted itself" in smartx(
        "accounts", "restrict", "SCH-1", "--substitute", "VTI=ITOT", "--exclude", "ITOT", expect=1).output
    assert "has no restriction on AAPL" in smartx("accounts", "restrict", "SCH-1", "--remove", "AAPL", expect=1).output
    assert "no security 'VTX'" in smartx("accounts", "restrict", "SCH-1", "--exclude", "VTX", expect=1).output
    assert "SYMBOL=REPLACEMENT" in smartx("accounts", "restrict", "SCH-1", "--substitute", "VTI", expect=2).output
    assert "$CASH is not a security" in smartx("accounts", "restrict", "SCH-1", "--exclude", "$CASH", expect=2).output
    assert "no account 'SCH-9'" in smartx("accounts", "restrict", "SCH-9", "--exclude", "VTI", expect=1).output
    store = Store.open(db_path)
    assert store.count("account_restrictions") == 0
    assert store.audit_log(1)[0].audit_id == middle == before + 1


def test_excluding_into_an_impossible_target_is_refused_when_assigning(imported, smartx):
    smartx("accounts", "restrict", "SCH-1", "--exclude", "AAPL")
    out = smartx("sleeves", "assign", "SCH-1-LEGACY", "--allocation", "AAPL:0.98,$CASH:0.02", expect=1).output
    assert "exclude every security" in out
    assert as_json(smartx, "sleeves", "target", "SCH-1-LEGACY")["kind"] is None


def test_a_book_import_sets_the_model_of_the_sleeves_it_lists(imported, smartx, db_path):
    smartx("sleeves", "assign", "SCH-1-CORE", "--blend", BLEND)
    from tests.support import SMALL_BOOK
    smartx("import", "book", str(SMALL_BOOK))
    assert as_json(smartx, "sleeves", "target", "SCH-1-CORE")["label"] == "BAL-60-40"
    assert Store.open(db_path).count("sleeve_targets") == 0
