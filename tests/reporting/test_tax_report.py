"""The tax report: realised figures by term per account and household, with harvests and wash sales."""

import datetime as dt
import json
from decimal import Decimal

from click.testing import CliRunner

from smartx_engine.cli import cli
from smartx_engine.domain import Term
from smartx_engine.reporting.tax import tax_report
from smartx_engine.tax.ledger import ClosedLot

D = dt.date


def sale(transaction_id, account_id, lot_id, sold, proceeds, basis, term, disallowed="0", permanent="0",
         acquired=D(2026, 1, 2)):
    return ClosedLot(transaction_id, lot_id, account_id, f"{account_id}-CORE", "AAA", acquired, acquired, sold,
                     Decimal(10), Decimal(proceeds), Decimal(basis), Term(term), Decimal(disallowed), Decimal(permanent))


def trade(store, trade_id, reason):
    store.db.execute("insert or ignore into runs values ('R-000001', '2026-03-01', '2026-03-01T10:00:00', 'tester',"
                     " 'digest', '{}', 1, 1, 2, '[]')")
    store.db.execute("insert into trades (trade_id, run_id, account_id, sleeve_id, symbol, side, quantity_e6,"
                     " est_price_e6, status, reasons, lots, created_at) values (?, 'R-000001', 'A-1', 'A-1-CORE', 'AAA',"
                     " 'sell', 10000000, 100000000, 'filled', ?, '[]', '2026-03-01T10:00:00')",
                     [trade_id, json.dumps([reason])])


def sales(store):
    trade(store, "T-00000001", "to target 60.00%")
    trade(store, "T-00000002", "harvest: realises a loss of 200.00 USD (estimated tax value 70.00 USD)")
    with store.transaction():
        store.add_realized([
            sale("T-00000001-F1", "A-1", "L-1", D(2026, 2, 10), "1100.00", "1000.00", "short"),  # +100 short
            sale("T-00000002-F1", "A-1", "L-1", D(2026, 3, 2), "800.00", "1000.00", "short"),  # -200 short, a harvest
            # -300 long, of which 120 disallowed by a wash sale (deferred into the replacement)
            sale("X-3", "A-1", "L-2", D(2026, 4, 1), "700.00", "1000.00", "long", "120.00", acquired=D(2024, 1, 2)),
            sale("X-4", "A-2", "L-3", D(2026, 4, 1), "550.00", "500.00", "short"),  # the IRA: +50, not taxable
            sale("X-5", "A-1", "L-2", D(2025, 12, 31), "2000.00", "1000.00", "long"),  # another year
        ])


def test_figures_by_term_with_harvests_and_wash_sales(history_store):
    sales(history_store)
    report = tax_report(history_store, 2026)
    a1, a2 = report.accounts
    f = a1.figures
    assert (f.short_gains, f.short_losses, f.long_gains, f.long_losses) == (
        Decimal("100.00"), Decimal("-200.00"), Decimal("0.00"), Decimal("-300.00"))
    assert (f.short_disallowed, f.long_disallowed, f.disallowed) == (0, Decimal("120.00"), Decimal("120.00"))
    assert f.net_short == Decimal("-100.00")  # 100 - 200
    assert f.net_long == Decimal("-180.00")  # -300 + 120 not deductible this year
    assert f.harvested == Decimal("-200.00") and f.sales == 3
    assert a1.taxable and not a2.taxable and a2.figures.short_gains == Decimal("50.00")
    assert report.households() == {"HH-ABEL": f}  # the IRA is left out of the household's totals
    assert tax_report(history_store, 2025).accounts[0].figures.long_gains == Decimal("1000.00")
    assert tax_report(history_store, 2026, account_ids=["A-2"]).accounts == (a2,)


def test_smartx_report_tax(history_store, tmp_path):
    sales(history_store)
    run = CliRunner().invoke(cli, ["--db", str(tmp_path / "firm.db"), "report", "tax", "--year", "2026", "--json"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.output)
    assert data["year"] == 2026 and [a["account_id"] for a in data["accounts"]] == ["A-1", "A-2"]
    assert data["accounts"][0]["net_long"] == "-180.00" and data["accounts"][0]["harvested"] == "-200.00"
    assert data["households"] == [{"household_id": "HH-ABEL", **{k: v for k, v in data["accounts"][0].items()
                                                                 if k not in ("account_id", "household_id",
                                                                              "registration", "taxable")}}]
    table = CliRunner().invoke(cli, ["--db", str(tmp_path / "firm.db"), "report", "tax", "--year", "2026",
                                     "--household", "HH-ABEL"])
    assert table.exit_code == 0 and "ira (not taxable)" in table.output and "-180.00" in table.output
    unknown = CliRunner().invoke(cli, ["--db", str(tmp_path / "firm.db"), "report", "tax", "--year", "2026",
                                       "--household", "HH-ABLE"])
    assert unknown.exit_code == 1 and "did you mean" in unknown.output
