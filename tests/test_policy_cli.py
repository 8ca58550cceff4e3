"""`smartx policy check|fmt|explain` through click's runner, against real files and a real book."""

import json
import shutil
from pathlib import Path

import pytest


ROOT = Path(__file__).parent.parent
BALANCED = ROOT / "rules" / "balanced.policy"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    shutil.copy(BALANCED, directory)
    (directory / "growth.policy").write_text(
        'policy "growth" {\n  applies to sleeve.model == "GRO-80-20"\n  drift band absolute 4%\n}\n')
    (directory / "legacy.policy").write_text(
        'policy "legacy" {\n  applies to sleeve.model == ""\n  rule "keep" when true then hold\n}\n')
    return directory


def test_check_reports_a_clean_library(smartx, rules):
    result = smartx("--rules", str(rules), "policy", "check", "--no-book")
    assert "4 policies in 3 file(s): 0 errors, 0 warnings" in result.output


def test_check_reports_every_error_at_once_and_exits_1(smartx, rules):
    (rules / "bad.policy").write_text('policy "bad" {\n  lots HIFI\n  trigger when holding.weight > 4%\n}\n')
    result = smartx("--rules", str(rules), "policy", "check", expect=1)
    assert "bad.policy:2:8: error: unknown lot method `HIFI`" in result.output
    assert "= help: did you mean `HIFO`?" in result.output
    assert "bad.policy:3:16: error: holding.weight is per holding" in result.output
    assert "2 errors" in result.output


def test_check_reports_a_syntax_error_with_a_caret(smartx, rules):
    (rules / "bad.policy").write_text('policy "bad" {\n  harvest when lot.loss 3%\n}\n')
    result = smartx("--rules", str(rules), "policy", "check", expect=1)
    assert "bad.policy:2:25: error: expected a comparison operator" in result.output
    assert "   |   harvest when lot.loss 3%\n   |                         ^" in result.output
    assert "did you mean `lot.loss >= 3%`?" in result.output


def test_check_resolves_every_sleeve_of_the_book(smartx, imported, rules):
    data = json.loads(smartx("--rules", str(rules), "policy", "check", "--json").output)
    # FID-1-CORE (balanced, taxable? no: trust) and SCH-1-CORE are assigned "balanced"; SCH-2-CORE is
    # assigned "growth"; SCH-1-LEGACY has no model, so `legacy` selects it.
    assert data["sleeves"] == []
    assert data["errors"] == 0 and data["policies"] == ["balanced", "balanced-ira", "growth", "legacy"]


def test_check_names_sleeves_that_resolve_to_no_policy(smartx, imported, rules):
    (rules / "legacy.policy").unlink()
    data = json.loads(smartx("--rules", str(rules), "policy", "check", "--json", expect=1).output)
    assert data["sleeves"] == [{"sleeve_id": "SCH-1-LEGACY", "problem":
                                "matches no policy's `applies to`; assign one with `smartx sleeves assign`"}]


def test_fmt_check_and_rewrite(smartx, rules):
    messy = rules / "messy.policy"
    messy.write_text('policy "messy"{\n# keep me\ntrigger when (sleeve.cash>4 USD)   # and me\n}\n')
    result = smartx("--rules", str(rules), "policy", "fmt", "--check", str(messy), expect=1)
    assert f"would reformat {messy}" in result.output
    smartx("--rules", str(rules), "policy", "fmt", str(messy))
    assert messy.read_text() == 'policy "messy" {\n  # keep me\n  trigger when sleeve.cash > 4 USD  # and me\n}\n'
    assert "all policy files are formatted" in smartx("policy", "fmt", "--check", str(messy)).output


def test_explain_shows_the_policy_bands_triggers_and_rules(smartx, imported, rules):
    data = json.loads(smartx("--rules", str(rules), "policy", "explain", "--sleeve", "SCH-1-CORE",
                             "--as-of", "2026-11-20", "--json").output)
    assert data["policy"] == "balanced" and data["resolved_by"] == "assigned to the sleeve"
    holdings = {h["symbol"]: h for h in data["holdings"]}
    # SCH-1-CORE: VTI 125.5 x 312.45 = 39212.48; VEA 300 x 51.62 = 15486.00; BND 400 x 73.18 = 29272.00;
    # cash 1520.75; total 85491.23. BND weight 29272 / 85491.23 = 34.24% vs 38% target: drift -3.76%,
    # beyond the 300 bps fixed-income band (the more specific band wins over the 5% one).
    assert holdings["BND"]["absolute_band"] == 0.03
    assert holdings["BND"]["absolute_band_from"] == 'drift band absolute 300 bps for holding.asset_class == "fixed_income"'
    assert holdings["BND"]["out_of_band"] == "absolute"
    assert holdings["VTI"]["absolute_band"] == 0.05 and holdings["VTI"]["out_of_band"] is None
    assert data["triggered"] is True
    assert "BND out of band: absolute" in data["reasons"]
    # VTI weight 39212.48 / 85491.23 = 45.87% > 15%, so "trim concentrated" caps it (and BND) at 10%
    trim = next(r for r in data["rules"] if r["name"] == "trim concentrated")
    assert trim["fired"] and trim["holdings"] == ["BND", "VEA", "VTI"]
    freeze = next(r for r in data["rules"] if r["name"] == "year-end freeze")
    assert freeze == {"name": "year-end freeze", "at": f"{rules / 'balanced.policy'}:25", "action": "skip",
                      "fired": False, "values": {"today.month": 11.0, "today.day": 20.0}}


def test_explain_a_year_end_freeze_skips_the_sleeve(smartx, imported, rules):
    data = json.loads(smartx("--rules", str(rules), "policy", "explain", "--sleeve", "SCH-1-CORE",
                             "--as-of", "2026-12-21", "--json").output)
    assert data["skipped"] is True and data["triggered"] is False
    assert data["reasons"] == ["rule 'year-end freeze': skip"]


def test_explain_a_large_cash_flag(smartx, imported, rules):
    data = json.loads(smartx("--rules", str(rules), "policy", "explain", "--sleeve", "FID-1-CORE",
                             "--as-of", "2026-11-20", "--json").output)
    assert data["flags"] == ["invest new money"]  # 125,000.00 cash > 100,000 USD
    assert any("above the maximum" in reason for reason in data["reasons"])


def test_explain_an_unresolved_sleeve(smartx, imported, rules):
    (rules / "legacy.policy").unlink()
    data = json.loads(smartx("--rules", str(rules), "policy", "explain", "--sleeve", "SCH-1-LEGACY", "--json").output)
    assert data["policy"] is None and "matches no policy" in data["problem"]


def test_explain_text_output(smartx, imported, rules):
    output = smartx("--rules", str(rules), "policy", "explain", "--sleeve", "SCH-1-CORE", "--as-of", "2026-11-20").output
    assert "SCH-1-CORE: policy balanced (assigned to the sleeve) - rebalances" in output
    assert "Holdings against their bands" in output


def test_explain_unknown_sleeve_is_a_user_error(smartx, imported, rules):
    assert "no sleeve 'NOPE'" in smartx("--rules", str(rules), "policy", "explain", "--sleeve", "NOPE", expect=1).output


@pytest.mark.parametrize("command", [["check"], ["fmt"], ["test"]])
def test_a_missing_rules_directory_is_a_user_error(smartx, tmp_path, command):
    result = smartx("--rules", str(tmp_path / "none"), "policy", *command, expect=1)
    assert "no rules directory" in result.output or "does not exist" in result.output


def test_a_missing_rules_directory_is_explained(smartx, imported, tmp_path):
    result = smartx("--rules", str(tmp_path / "none"), "policy", "explain", "--sleeve", "SCH-1-CORE", expect=1)
    assert "no rules directory" in result.output
