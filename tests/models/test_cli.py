"""``smartx models sync|list|show|diff``, with a FakeModelFeed registered as a plugin."""

import json

import pytest

from smartx_engine.cli import cli
from smartx_engine.testing import FakeModelFeed

from .conftest import CUSIPS, VEU, delivery, line

VTI, BND, VEA = CUSIPS["VTI"], CUSIPS["BND"], CUSIPS["VEA"]
AS_OF = ("--as-of", "2026-12-15")


@pytest.fixture
def firm(smartx, cusip_book, acme):
    """The small book (with CUSIPs) imported, and ACME-GROWTH published in three versions on ``acme``:
    2026.11.1 (in force from 2026-11-23), a DELTA 2026.12.1 (from 2026-12-01), 2027.1 (pending until 2027-01-04)."""
    smartx("import", "book", str(cusip_book))
    acme.publish(delivery())
    acme.publish(delivery(version="2026.12.1", effective="2026-12-01", published="2026-11-30T10:00:00",
                          change="DELTA", previous="2026.11.1",
                          lines=[line(VTI, "0.55", "0.5", "0.6", action="UPDATE"), line(VEA, "0.05", action="ADD")]))
    acme.publish(delivery(version="2027.1", effective="2027-01-04", published="2027-01-02T08:00:00",
                          lines=[line(VTI, "0.5"), line(VEA, "0.48"), line("USD", "0.02")]))
    return smartx


def run_json(smartx, *args, expect=0):
    return json.loads(smartx(*args, "--json", expect=expect).output)


# ---------------------------------------------------------------- sync


def test_sync_stores_new_versions_then_skips_them(firm, acme):
    (feed,) = run_json(firm, "models", "sync", "--feed", "acme")
    assert feed["feed"] == "acme" and feed["error"] is None and feed["rejected"] == []
    assert [(v["model_id"], v["version"], v["effective_date"]) for v in feed["accepted"]] == [
        ("ACME-GROWTH", "2026.11.1", "2026-11-23"), ("ACME-GROWTH", "2026.12.1", "2026-12-01"),
        ("ACME-GROWTH", "2027.1", "2027-01-04")]
    (again,) = run_json(firm, "models", "sync", "--feed", "acme")
    assert again["accepted"] == [] and len(again["skipped"]) == 3
    output = firm("models", "sync", "--feed", "acme").output
    assert "Model sync" in output and "acme" in output


def test_sync_shows_accepted_versions_to_people(firm):
    output = firm("models", "sync", "--feed", "acme").output
    assert "acme: ACME-GROWTH 2026.12.1 accepted, effective 2026-12-01" in output


def test_a_rejected_version_exits_1_naming_file_line_and_field(firm, acme):
    acme.publish(delivery(model_id="ACME-INCOME", lines=[line(VEU, "0.98", ticker="VEU"), line("USD", "0.02")]))
    result = firm("models", "sync", "--feed", "acme", "--json", expect=1)
    (feed,) = json.loads(result.stdout)
    (rejected,) = feed["rejected"]
    assert rejected["model_id"] == "ACME-INCOME" and rejected["line"] == 2
    assert rejected["problems"] == [{"file": "drop/acme.csv", "line": 2, "field": "identifier",
                                     "message": "unknown CUSIP '922042775' (VEU)",
                                     "hint": "add the security to securities.csv with this cusip"}]
    assert len(feed["accepted"]) == 3  # the good versions are kept
    assert ("Error: 1 model version was rejected, and nothing of it was stored; ask the manager for a corrected"
            " version:\nacme: ACME-INCOME version 2026.11.1:\ndrop/acme.csv:2: error: unknown CUSIP '922042775' (VEU)"
            " (column identifier)") in result.stderr


def test_a_failing_feed_exits_1_with_its_reason(firm, acme):
    acme.fail_next_read("the drop directory /srv/models does not exist")
    result = firm("models", "sync", "--feed", "acme", expect=1)
    assert ("Error: acme: the drop directory /srv/models does not exist; nothing was stored from this feed"
            in result.stderr)


def test_an_unknown_feed_is_a_user_error(firm):
    assert "no model feed named 'acm'; did you mean `acme`?" in firm("models", "sync", "--feed", "acm", expect=1).output


def test_sync_without_feeds_says_how_to_get_one(smartx, imported, monkeypatch):
    monkeypatch.setattr("smartx_engine.cli.models.model_feeds", lambda name=None: {})
    assert "no model feed to sync: install a model-feed plugin" in smartx("models", "sync").output
    assert json.loads(smartx("models", "sync", "--json").output) == []


def test_sync_of_every_feed_skips_those_not_configured(firm, acme, monkeypatch):
    idle = FakeModelFeed("idle")
    idle.configured = False
    idle.fail_next_read("SMARTX_MODELS_URL is not set")
    monkeypatch.setattr("smartx_engine.cli.models.model_feeds", lambda name=None: {"acme": acme, "idle": idle})
    result = firm("models", "sync", "--json")
    assert [f["feed"] for f in json.loads(result.stdout)] == ["acme"]
    assert "note: the feed idle is not configured, so it was not synced" in result.stderr


# ---------------------------------------------------------------- list


def test_list_is_the_marketplace_view(firm):
    firm("models", "sync", "--feed", "acme")
    models = {m["model_id"]: m for m in run_json(firm, "models", "list", *AS_OF)}
    acme = models["ACME-GROWTH"]
    assert {k: acme[k] for k in ("name", "manager", "version", "effective_date", "feed", "latest", "pending",
                                 "versions", "securities", "cash_weight", "asset_classes", "sleeves")} == {
        "name": "Acme Growth", "manager": "Acme Asset Mgmt", "version": "2026.12.1", "effective_date": "2026-12-01",
        "feed": "acme", "latest": "2027.1", "pending": [{"version": "2027.1", "effective_date": "2027-01-04"}],
        "versions": ["2026.11.1", "2026.12.1", "2027.1"], "securities": 3, "cash_weight": "0.02",
        "asset_classes": {"cash": "0.02", "fixed_income": "0.38", "intl_equity": "0.05", "us_equity": "0.55"},
        "sleeves": 0}
    bal = models["BAL-60-40"]
    assert (bal["version"], bal["effective_date"], bal["feed"], bal["pending"]) == ("2026.1", "0001-01-01", None, [])
    later = {m["model_id"]: m for m in run_json(firm, "models", "list", "--as-of", "2027-01-04")}
    assert later["ACME-GROWTH"]["version"] == "2027.1" and later["ACME-GROWTH"]["pending"] == []
    output = firm("models", "list", *AS_OF).output
    assert "Acme Asset Mgmt" in output and "2027.1 from 2027-01-04" in output and "from the start" in output


# ---------------------------------------------------------------- show


def test_show_gives_the_version_in_force_with_bands_identifiers_and_provenance(firm):
    firm("models", "sync", "--feed", "acme")
    data = run_json(firm, "models", "show", "ACME-GROWTH", *AS_OF)
    assert {k: data[k] for k in ("version", "status", "effective_date", "published_at", "feed", "change_type",
                                 "previous_version", "manager")} == {
        "version": "2026.12.1", "status": "in_force", "effective_date": "2026-12-01",
        "published_at": "2026-11-30T10:00:00+00:00", "feed": "acme", "change_type": "DELTA",
        "previous_version": "2026.11.1", "manager": "Acme Asset Mgmt"}
    assert data["pending"] == [{"version": "2027.1", "effective_date": "2027-01-04"}]
    vti = data["weights"][0]
    assert {k: vti[k] for k in ("symbol", "weight", "min_weight", "max_weight", "identifier_type", "identifier",
                                "cusip")} == {
        "symbol": "VTI", "weight": "0.55", "min_weight": "0.5", "max_weight": "0.6", "identifier_type": "CUSIP",
        "identifier": VTI, "cusip": VTI}
    output = firm("models", "show", "ACME-GROWTH", *AS_OF).output
    assert "version 2026.12.1 from feed acme (DELTA on 2026.11.1), published 2026-11-30 10:00 UTC" in output
    assert "in force as of 2026-12-15 (effective 2026-12-01)" in output
    assert "50.00% to 60.00%" in output and f"CUSIP {VTI}" in output


@pytest.mark.parametrize("version, status", [("2026.11.1", "superseded"), ("2027.1", "pending")])
def test_show_says_whether_a_version_is_superseded_or_pending(firm, version, status):
    firm("models", "sync", "--feed", "acme")
    assert run_json(firm, "models", "show", "ACME-GROWTH", "--version", version, *AS_OF)["status"] == status


def test_show_a_book_version(firm):
    data = run_json(firm, "models", "show", "BAL-60-40", *AS_OF)
    assert (data["feed"], data["status"], data["weights"][0]["identifier"], data["weights"][0]["cusip"]) == (
        None, "in_force", None, VTI)
    output = firm("models", "show", "BAL-60-40", *AS_OF).output
    assert output.startswith("version 2026.1 from the CSV book; in force as of 2026-12-15 (effective from the start)")
    assert "band" not in output and VTI in output  # no empty band column; the security's CUSIP


# ---------------------------------------------------------------- diff


def test_diff_gives_each_move_and_the_largest(firm):
    firm("models", "sync", "--feed", "acme")
    data = run_json(firm, "models", "diff", "ACME-GROWTH", "2026.11.1", "2027.1")
    assert data["changes"] == [
        {"symbol": "VEA", "old_weight": None, "new_weight": "0.48", "change": "0.48", "movement": "added"},
        {"symbol": "BND", "old_weight": "0.38", "new_weight": None, "change": "-0.38", "movement": "removed"},
        {"symbol": "VTI", "old_weight": "0.60", "new_weight": "0.5", "change": "-0.10", "movement": "changed"},
        {"symbol": "$CASH", "old_weight": "0.02", "new_weight": "0.02", "change": "0.00", "movement": "unchanged"}]
    assert data["largest_move"] == {"symbol": "VEA", "change": "0.48"}
    assert (data["old_effective_date"], data["new_effective_date"]) == ("2026-11-23", "2027-01-04")
    output = firm("models", "diff", "ACME-GROWTH", "2026.11.1", "2027.1").output
    assert "largest move: VEA +48.00%" in output and "removed" in output


def test_diff_of_an_unknown_version_is_a_user_error(firm):
    assert "model BAL-60-40 has no version '2024.1'" in firm("models", "diff", "BAL-60-40", "2024.1", "2026.1",
                                                             expect=1).output


# ---------------------------------------------------------------- help


@pytest.mark.parametrize("command", ["sync", "list", "show", "diff"])
def test_help_teaches_with_examples(command):
    text = cli.commands["models"].commands[command].help
    assert "Examples:" in text and f"smartx models {command}" in text
