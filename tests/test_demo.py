"""`smartx demo`: a realistic firm, built deterministically, through the real import path."""

import datetime as dt
import os
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from smartx_engine.builtin.csv_book import CsvBookImporter
from smartx_engine.cli import cli
from smartx_engine.demo.firm import write_demo_book
from smartx_engine.dsl.policyset import load_rules
from smartx_engine.fixedpoint import round_money
from smartx_engine.reporting.drift import band_history
from smartx_engine.reporting.valuations import build_history
from smartx_engine.store import Store


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One run of `smartx demo`, shared by the tests that read what it printed and wrote: (output, directory)."""
    directory = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(cli, ["demo", "--dir", str(directory)])
    assert result.exit_code == 0, result.output
    return result.output, directory


def test_demo_builds_and_shows_the_firm(demo):
    output, directory = demo
    for section in ("Write a demo firm", "Import the book", "Accounts", "Sleeves and their targets",
                    "Models", "A multi-sleeve UMA", "against its target model", "Split a new sleeve",
                    "A household rebuilt from its trading history", "Move a sleeve to a new model"):
        assert section in output
    store = Store.open(directory / "smartx.db")
    assert store.sleeve("S-1004-ESG").model_id is None  # assigned BAL-60-40, then a blend (UMA construction)
    assert len(store.households()) >= 3
    registrations = {a.registration for a in store.accounts()}
    assert {"ira", "roth"} & registrations and {"taxable", "joint", "trust"} & registrations
    per_account = defaultdict(int)
    for sleeve in store.sleeves():
        per_account[sleeve.account_id] += 1
    assert max(per_account.values()) >= 2  # multi-sleeve UMAs
    assert len(store.model_versions("BAL-60-40")) == 2
    assert {a.account_id for a in store.accounts("HH-TAX")} == {"SCH-1007", "SCH-1008"}  # the tax household


def test_demo_syncs_models_from_the_managers_blends_and_realigns_on_a_revision(demo):
    output, directory = demo
    assert "files: DIV-INC 2026.4 accepted, effective 2026-10-15" in output  # Beacon's file drop
    assert "manager-api: REAL-ASSETS 2026.1 accepted, effective 2026-10-01" in output  # Acme's API
    assert "SMARTX_MODELS_TOKEN=****" in output
    assert "blend GRO-80-20:0.5,INC-30-70:0.3,REAL-ASSETS:0.2" in output and "in place of ITOT" in output
    assert "manager-api: GRO-80-20 2026.2 accepted, effective 2026-11-16" in output  # Acme's revision
    realigned = "model change GRO-80-20 2026.1 → 2026.2: realigned to target, largest weight move 4.00%"
    assert realigned in " ".join(output.replace("│", " ").split())
    store = Store.open(directory / "smartx.db")
    assert store.model_versions("GRO-80-20") == ["2026.1", "2026.2"]
    assert {v["feed"] for v in store.db.query("select feed from model_versions where feed is not null")} == {
        "files", "manager-api"}
    assert not any(key.startswith("SMARTX_MODELS_") for key in os.environ)


def test_demo_computes_the_same_run_on_a_dask_cluster(demo):
    output, _ = demo
    assert "The same run on a Dask cluster" in output and "the same proposals: yes" in output


def test_demo_syncs_trades_and_reconciles_at_both_custodians(demo):
    output, directory = demo
    for section in ("Start the custodians' loopback sandboxes", "Sync positions, lots, cash and transactions",
                    "The reconciliation report", "Send the approved trades to the custodians",
                    "The custodians execute", "The largest block", "lots after the fills", "Book the wire"):
        assert section in output
    assert "sandbox-app-secret" not in output and "SMARTX_SCHWAB_APP_SECRET=****" in output
    assert not any(key.startswith(("SMARTX_SCHWAB_", "SMARTX_FIDELITY_")) for key in os.environ)
    store = Store.open(directory / "smartx.db")
    orders = list(store.db.query("select * from orders"))
    assert {o["custodian"] for o in orders} == {"schwab", "fidelity"}
    assert {o["status"] for o in orders} == {"filled"}
    blocks = Counter(o["block_id"] for o in orders if o["block_id"])
    assert blocks and max(blocks.values()) >= 2 and all(b.startswith("FIDELITY-") for b in blocks)
    fills = store.db.execute("select count(*) from fills").fetchone()[0]
    assert fills >= len(orders)
    breaks = {b["break_id"]: b for b in store.db.query("select * from breaks")}
    assert [b["status"] for b in breaks.values()] == ["resolved"]  # the wire: acknowledged, booked, resolved
    (wire,) = breaks.values()
    assert wire["kind"] == "cash" and Decimal(wire["custodian"]) - Decimal(wire["engine"]) == 5000


def test_demo_runs_twice_in_the_same_place(tmp_path):
    for _ in range(2):
        result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path)])
        assert result.exit_code == 0, result.output


def test_demo_book_is_deterministic(tmp_path):
    first, second = write_demo_book(tmp_path / "a"), write_demo_book(tmp_path / "b")
    assert first.lots == second.lots
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name


def test_demo_history_is_consistent(tmp_path):
    """Cost bases come from the day's close; each sleeve's transactions add up to its cash."""
    write_demo_book(tmp_path / "book", as_of=dt.date(2026, 11, 20))
    store = Store.create(tmp_path / "firm.db")
    store.apply_book(CsvBookImporter().read(tmp_path / "book"))
    closes = {(r["symbol"], r["date"]): Decimal(r["close_e6"]) / 10**6
              for r in store.db.query("select * from prices")}
    lots = store.lots()
    assert any(lot.acquired > dt.date(2025, 11, 20) for lot in lots)  # some short-term lots
    for lot in lots:
        assert lot.cost_basis == round_money(lot.quantity * closes[(lot.symbol, lot.acquired.isoformat())])
    balances = defaultdict(Decimal)
    for t in store.transactions():
        balances[t.sleeve_id] += t.amount
    for cash in store.cash():
        assert balances[cash.sleeve_id] == cash.amount, cash.sleeve_id
    latest = {s.symbol: s.price for s in store.securities()}
    assert all(closes[(symbol, "2026-11-20")] == price for symbol, price in latest.items())


def test_demo_reports_performance_fees_tax_and_a_client_report(demo):
    output, directory = demo
    for section in ("Performance of SCH-1001 since inception", "The value delivered to SCH-1001",
                    "The tax report of 2026", "The fee run for 2026Q3", "invoice for 2026Q3, step by step",
                    "The client report of SCH-1001"):
        assert section in output
    assert "time-weighted (daily-linked)" in output and "tax alpha assumes" in output
    reports = directory / "reports"
    page = (reports / "SCH-1001-2026Q3.html").read_text(encoding="utf-8")
    assert "Harborview Wealth Partners" in page and 'id="performance"' in page and "Chen Family" in page
    assert (reports / "SCH-1001-2026Q3.pdf").read_bytes().startswith(b"%PDF")
    files = sorted(p.name.split("_")[1] for p in (directory / "fees").iterdir())
    assert files == ["fidelity", "schwab"]


def test_demo_history_is_that_of_managed_sleeves(tmp_path):
    """The sleeves were managed: the history rolls back from today's book over the whole price
    history, and the firm's policies replayed at each month-end find them within their bands."""
    as_of = dt.date(2026, 11, 20)
    write_demo_book(tmp_path / "book", as_of=as_of)
    store = Store.create(tmp_path / "firm.db")
    store.apply_book(CsvBookImporter().read(tmp_path / "book"))
    first = dt.date.fromisoformat(store.db.execute("select min(date) from prices").fetchone()[0])
    history = build_history(store, first, as_of)  # raises if a sleeve's transactions do not reconcile
    assert not history.opening_cents.any()  # every sleeve opened within the price history
    assert (history.cash_cents >= 0).all()  # and never overdrew its cash

    policies = load_rules(Path(__file__).parent.parent / "rules")
    records = band_history(store, build_history(store, dt.date(2024, 11, 1), dt.date(2026, 10, 31)), policies)
    managed = [r for r in records.values() if r.observed]
    assert len(managed) == 14 and all(r.observed == 24 for r in managed)
    assert sum(r.within for r in managed) / sum(r.observed for r in managed) >= 0.85
    assert min(r.within for r in managed) >= 18 and sum(r.trades_avoided for r in managed) > 100
    # the firm's last reviews were a month or three ago: on as_of, most sleeves are past a band
    today = band_history(store, build_history(store, as_of, as_of), policies)
    assert sum(not r.within for r in today.values() if r.observed) >= 7
    sold = {t.sleeve_id for t in store.transactions() if t.type == "sell"}
    assert sold >= {r.sleeve_id for r in managed}  # rebalances sold lots as well as bought
