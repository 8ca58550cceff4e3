"""The client report filled from the store (Abel's household, tests/data/books/history), and its command."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from smartx_engine.cli import cli
from smartx_engine.reporting.clientdata import client_report

from .test_drift import POLICY, policies  # noqa: F401  (a fixture)

D = dt.date


@pytest.fixture
def report(history_store, policies):  # noqa: F811
    return client_report(history_store, "A-1", D(2026, 2, 1), D(2026, 2, 28), "2026-02", policies=policies,
                         firm_name="Harborview", generated_on=D(2026, 3, 2))


def test_the_value_change_and_holdings_at_the_periods_end(report):
    # 31 Jan 10,217.34; 28 Feb 11,107.34; a deposit of 1,000 and a withdrawal of 500
    assert (report.opening_value, report.closing_value, report.net_flows) == (
        Decimal("10217.34"), Decimal("11107.34"), Decimal("500.00"))
    assert (report.investment_gain, report.income, report.fees_paid, report.fees) == (
        Decimal("390.00"), Decimal("0.00"), Decimal("0.00"), ())
    holdings = {h.symbol: h for h in report.holdings}
    assert (holdings["AAA"].quantity, holdings["AAA"].price, holdings["AAA"].value) == (40, 112, Decimal("4480.00"))
    assert (holdings["AAA"].cost_basis, holdings["AAA"].unrealized_gain, holdings["AAA"].term) == (
        Decimal("4000.00"), Decimal("480.00"), "short")
    assert holdings["AAA"].target == Decimal("0.6")
    assert holdings["$CASH"].value == Decimal("4587.34") and holdings["$CASH"].target == Decimal("0.02")
    assert (report.gains.unrealized_short, report.gains.unrealized_long) == (Decimal("520.00"), Decimal("0.00"))
    assert {a.asset_class: (a.value, a.target) for a in report.allocation} == {
        "us_equity": (Decimal("4480.00"), Decimal("0.6")), "fixed_income": (Decimal("2040.00"), Decimal("0.38")),
        "cash": (Decimal("4587.34"), Decimal("0.02"))}
    assert [(s.sleeve_id, s.target_label, s.weight) for s in report.sleeves] == [("A-1-CORE", "M-60", Decimal(1))]


def test_performance_rows_growth_and_value_delivered(report):
    assert [r.label for r in report.performance] == ["2026-02", "Since inception"]
    period, since = report.performance
    assert period.start == D(2026, 2, 1) and since.start == D(2026, 1, 2) and not since.annualized
    assert period.portfolio_twr == pytest.approx((11367.34 - 1000) / 10217.34 * 11467.34 / 11367.34
                                                 * (10940.54 + 500) / 11467.34 * 11107.34 / 10940.54 - 1)
    assert report.growth[0].date == D(2026, 1, 2) and report.growth[-1].value == Decimal("11107.34")
    assert report.growth[-1].net_invested == Decimal("10500.00")
    assert report.value_delivered.drift_within_bands == 1.0 and report.value_delivered.trades_avoided == 2
    assert report.value_delivered.tax_alpha == 0 and report.value_delivered.tax_alpha_assumptions
    assert report.disclosures and report.firm_name == "Harborview"


def test_smartx_report_client_writes_html_and_pdf(history_store, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "wide.policy").write_text(POLICY)
    base = ["--db", str(tmp_path / "firm.db"), "--rules", str(rules)]
    assert CliRunner().invoke(cli, [*base, "settings", "set", "firm.name", "Harborview Wealth"]).exit_code == 0
    html = tmp_path / "a1.html"
    run = CliRunner().invoke(cli, [*base, "report", "client", "A-1", "--period", "2026-02", "-o", str(html)])
    assert run.exit_code == 0, run.output
    page = html.read_text()
    assert "Harborview Wealth" in page and all(f'id="{s}"' for s in ("summary", "performance", "holdings"))
    batch = CliRunner().invoke(cli, [*base, "report", "client", "--all", "--period", "2026-02", "--format", "pdf",
                                     "-o", str(tmp_path / "out"), "--json"])
    assert batch.exit_code == 0, batch.output
    data = json.loads(batch.output)
    assert [w["account_id"] for w in data["written"]] == ["A-1", "A-2"] and data["skipped"] == []
    assert (tmp_path / "out" / "A-2-2026-02.pdf").read_bytes().startswith(b"%PDF")
    usage = CliRunner().invoke(cli, [*base, "report", "client", "--period", "2026-02"])
    assert usage.exit_code == 2 and "ACCOUNT or --all" in usage.output
