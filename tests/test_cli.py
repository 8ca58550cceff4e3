"""The command line through click's runner: outputs, --json, exit codes, no tracebacks."""

import json

import pytest

from smartx_engine.cli import cli


def test_help_teaches_the_first_steps(smartx):
    output = smartx("--help").output
    for command in ("smartx demo", "smartx init", "smartx import book DIR", "Exit codes"):
        assert command in output


def test_version(smartx):
    assert smartx("--version").output.startswith("smartx, version ")


def test_init_creates_then_reports_up_to_date(tmp_path, smartx):
    db = tmp_path / "new.db"
    assert "created" in smartx("--db", str(db), "init").output
    assert "up to date" in smartx("--db", str(db), "init").output


def test_commands_on_a_missing_database_explain_what_to_do(tmp_path, smartx):
    result = smartx("--db", str(tmp_path / "missing.db"), "accounts", "list", expect=1)
    assert "no database at" in result.output and "smartx init" in result.output


def test_accounts_list_table_is_readable(imported, smartx):
    output = smartx("accounts", "list").output
    assert "Rivera Joint Taxable" in output and "119,971.73" in output


def test_accounts_list_filters(imported, smartx):
    rivera = json.loads(smartx("accounts", "list", "--household", "HH-RIVERA", "--json").output)
    assert [a["account_id"] for a in rivera] == ["SCH-1", "SCH-2"]
    fidelity = json.loads(smartx("accounts", "list", "--custodian", "fidelity", "--json").output)
    assert [a["account_id"] for a in fidelity] == ["FID-1"]


def test_accounts_show_lists_sleeves_and_holdings(imported, smartx):
    data = json.loads(smartx("accounts", "show", "SCH-1", "--json").output)
    assert data["total_value"] == "119971.73"
    assert [s["sleeve_id"] for s in data["sleeves"]] == ["SCH-1-CORE", "SCH-1-LEGACY"]
    legacy = data["sleeves"][1]["holdings"]
    assert legacy == [{"symbol": "AAPL", "quantity": "150.000000", "price": "229.870000",
                       "market_value": "34480.50", "cost_basis": "18750.00", "unrealized_gain": "15730.50",
                       "lots": 1, "weight": "1.000000", "target": None}]
    assert "SCH-1-LEGACY" in smartx("accounts", "show", "SCH-1").output


def test_sleeves_show_compares_weights_with_the_target(imported, smartx):
    data = json.loads(smartx("sleeves", "show", "SCH-2-CORE", "--json").output)
    holdings = {h["symbol"]: h for h in data["holdings"]}
    # VTI 60 x 312.45 = 18747.00; BND 100 x 73.18 = 7318.00; cash 2200.10; total 28265.10
    assert holdings["VTI"]["market_value"] == "18747.00"
    assert holdings["VTI"]["weight"] == "0.663256"  # 18747 / 28265.10 = 0.66325610...
    assert holdings["VTI"]["target"] == "0.6"
    assert holdings["VEA"] == {"symbol": "VEA", "quantity": "0.000000", "price": "51.620000", "market_value": "0.00",
                               "cost_basis": "0.00", "unrealized_gain": "0.00", "lots": 0, "weight": "0.000000",
                               "target": "0.19"}  # in the target, not held
    assert data["cash_target"] == "0.02"
    assert "drift" in smartx("sleeves", "show", "SCH-2-CORE").output


def test_sleeves_create_and_assign(imported, smartx):
    smartx("sleeves", "create", "SCH-1-ESG", "--account", "SCH-1", "--model", "GRO-80-20")
    assigned = json.loads(smartx("sleeves", "assign", "SCH-1-ESG", "--policy", "growth", "--json").output)
    assert assigned == {"sleeve_id": "SCH-1-ESG", "account_id": "SCH-1", "model_id": "GRO-80-20", "policy": "growth",
                        "target": {"kind": "model", "label": "GRO-80-20", "model_id": "GRO-80-20"}}
    listed = json.loads(smartx("sleeves", "list", "--account", "SCH-1", "--json").output)
    assert [s["sleeve_id"] for s in listed] == ["SCH-1-CORE", "SCH-1-ESG", "SCH-1-LEGACY"]
    following = json.loads(smartx("sleeves", "list", "--model", "GRO-80-20", "--json").output)
    assert [s["sleeve_id"] for s in following] == ["SCH-1-ESG", "SCH-2-CORE"]


@pytest.mark.parametrize("args, code, message", [
    (["sleeves", "assign", "SCH-1-CORE"], 2, "give --model, --blend or --allocation, and/or --policy"),
    (["sleeves", "assign", "SCH-1-CORE", "--model", "GRO-80"], 1, "no model 'GRO-80'; did you mean `GRO-80-20`?"),
    (["sleeves", "create", "bad id", "--account", "SCH-1"], 2, "not a valid id"),
    (["sleeves", "assign", "SCH-1-CORE", "--policy", "bad name"], 2, "not a valid id"),
    (["sleeves", "create", "S-X", "--account", "SCH-9"], 1, "no account 'SCH-9'"),
    (["sleeves", "show", "NOPE"], 1, "no sleeve 'NOPE'"),
    (["models", "show", "BAL-60-40", "--version", "1999"], 1, "has no version '1999'"),
    (["accounts", "frobnicate"], 2, "No such command"),
    (["import", "book", "/does/not/exist"], 2, "does not exist"),
])
def test_errors_have_meaningful_exit_codes_and_no_traceback(imported, smartx, args, code, message):
    result = smartx(*args, expect=code)
    assert message in result.output
    assert "Traceback" not in result.output


def test_models_list_shows_mix_and_followers(imported, smartx):
    models = {m["model_id"]: m for m in json.loads(smartx("models", "list", "--json").output)}
    bal = models["BAL-60-40"]
    assert bal["version"] == "2026.1" and bal["versions"] == ["2025.1", "2026.1"]
    assert bal["asset_classes"] == {"cash": "0.02", "fixed_income": "0.38", "intl_equity": "0.18", "us_equity": "0.42"}
    assert bal["sleeves"] == 2 and bal["assets"] == "279098.73"  # 85491.23 + 193607.50


def test_models_show_a_version(imported, smartx):
    data = json.loads(smartx("models", "show", "BAL-60-40", "--version", "2025.1", "--json").output)
    assert [(w["symbol"], w["weight"]) for w in data["weights"]] == [
        ("VTI", "0.45"), ("BND", "0.38"), ("VEA", "0.15"), ("$CASH", "0.02")]
    assert "Vanguard FTSE Developed Markets ETF" in smartx("models", "show", "BAL-60-40").output


def test_import_with_an_unknown_format_names_the_installed_ones(imported, smartx, tmp_path):
    result = smartx("import", "book", str(tmp_path), "--format", "orion", expect=1)
    assert "no book importer 'orion'; installed: csv" in result.output


def test_plugins_list_shows_builtins(smartx):
    plugins = {p["name"]: p for p in json.loads(smartx("plugins", "list", "--json").output)}
    builtin = plugins["smartx_engine.builtin.csv_book"]
    assert builtin["distribution"] == "smartx-engine"
    assert builtin["hooks"] == ["register_book_importers"]


def test_every_command_has_help_with_a_summary():
    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    for path, command in walk(cli, ["smartx"]):
        assert command.help and command.help.strip(), f"{' '.join(path)} has no help"


def test_every_listing_takes_json():
    listings = [cli.commands[g].commands[c] for g, c in [
        ("accounts", "list"), ("accounts", "show"), ("sleeves", "list"), ("sleeves", "show"),
        ("models", "list"), ("models", "show"), ("plugins", "list"), ("import", "book")]]
    for command in listings:
        assert "--json" in {opt for p in command.params for opt in p.opts}, command.name
