"""The value delivered, assembled: tax alpha, bands kept, trades avoided, fees paid."""

import datetime as dt
import json
from decimal import Decimal

from click.testing import CliRunner

from smartx_engine.cli import cli
from smartx_engine.reporting.valuations import build_history
from smartx_engine.reporting.value import value_delivered

from .test_drift import POLICY, policies  # noqa: F401  (a fixture)

D = dt.date


def test_value_delivered_to_a_household(history_store, policies):  # noqa: F811
    h = build_history(history_store, D(2026, 1, 2), D(2026, 2, 28))
    value = value_delivered(history_store, h, h.rows(household_id="HH-ABEL"), policies)
    assert value.fees_paid == Decimal("25.00")  # A-1's fee of 31 January
    assert value.tax_alpha.total == 0 and value.tax_alpha.sales_compared == 0
    # A-1 within its bands at both month-ends, A-2 at neither (see test_drift)
    assert (value.observed, value.share_within_bands, value.trades_avoided) == (4, 0.5, 4)
    assert value.largest_drift == 0.60
    assert value_delivered(history_store, h, h.rows(sleeve_id="A-1-CORE"), policies).share_within_bands == 1.0
    assert value_delivered(history_store, h, h.rows(), None).bands == ()


def test_smartx_report_value(history_store, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "wide.policy").write_text(POLICY)
    args = ["--db", str(tmp_path / "firm.db"), "--rules", str(rules), "report", "value", "A-1", "--start", "2026-01-02",
            "--end", "2026-02-28"]
    run = CliRunner().invoke(cli, [*args, "--json"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.output)
    assert (data["scope"], data["fees_paid"], data["share_within_bands"], data["observations"]) == (
        "account", "25.00", 1.0, 2)
    assert data["tax_alpha"]["assumptions"] and data["sleeves"][0]["sleeve_id"] == "A-1-CORE"
    table = CliRunner().invoke(cli, args)
    assert table.exit_code == 0 and "100% of 2" in table.output and "tax alpha assumes" in table.output
    no_rules = CliRunner().invoke(cli, ["--db", str(tmp_path / "firm.db"), "--rules", str(tmp_path / "none"),
                                        "report", "value", "A-1", "--start", "2026-01-02", "--end", "2026-02-28"])
    assert no_rules.exit_code == 0 and "not evaluated" in no_rules.output
