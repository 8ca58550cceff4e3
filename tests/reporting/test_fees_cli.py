"""smartx report fees: the firm's schedules over the store's history, invoices and deduction files."""

import csv
import io
import json
from decimal import Decimal

from click.testing import CliRunner

from smartx_engine.cli import cli
from smartx_engine.custody import FeeDebit, fee_file_csv

SCHEDULES = """default = "flat"

[schedules.flat]
timing = "arrears"
basis = "period_end"
day_count = "act/365"

[schedules.flat.advisor]
rate = "1%"
"""


def run(tmp_path, *args):
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "fees.toml").write_text(SCHEDULES)
    return CliRunner().invoke(cli, ["--db", str(tmp_path / "firm.db"), "--rules", str(rules), "report", "fees", *args])


def test_an_invoice_per_account_on_the_period_end_value(history_store, tmp_path):
    result = run(tmp_path, "--period", "2026-02", "--json", "--deduction-files", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    invoices = {i["account_id"]: i for i in data["invoices"]}
    # A-1 on 28 Feb: 11,107.34 x 1% x 28/365 = 8.5206... -> 8.52; A-2: 1,010.00 x 1% x 28/365 -> 0.77
    assert invoices["A-1"]["total"] == "8.52" and invoices["A-1"]["billed_days"] == 28
    assert invoices["A-2"]["total"] == "0.77" and data["total"] == "9.29"
    (written,) = data["deduction_files"]
    assert written["custodian"] == "schwab"
    rows = list(csv.DictReader(open(written["path"], encoding="utf-8")))
    assert [(r["account_number"], r["amount"], r["advisor"]) for r in rows] == [("A-1", "8.52", "8.52"),
                                                                                 ("A-2", "0.77", "0.77")]
    assert rows[0]["reference"].startswith("2026-02-A-1-")


def test_one_invoice_step_by_step(history_store, tmp_path):
    result = run(tmp_path, "--period", "2026-02", "--account", "A-1")
    assert result.exit_code == 0, result.output
    assert "Invoice 2026-02, A-1 (schedule flat)" in result.output and "8.52" in result.output
    table = run(tmp_path, "--period", "2026-02", "--household", "HH-ABEL")
    assert table.exit_code == 0 and "total" in table.output and "9.29" in table.output
    bad = run(tmp_path, "--period", "2026Q5")
    assert bad.exit_code == 1 and "2026Q5" in bad.output


def test_the_generic_fee_file_splits_each_debit_by_payee():
    import datetime as dt
    debit = FeeDebit("44171001", "2026Q3", dt.date(2026, 7, 1), dt.date(2026, 9, 30), Decimal("907.40"),
                     (("platform", None, Decimal("100.00")), ("manager", "Acme Asset Mgmt", Decimal("604.93")),
                      ("manager", "Beacon Capital", Decimal("202.47"))), "2026Q3-SCH-1001-abc")
    file = fee_file_csv("schwab", [debit], dt.date(2026, 10, 2))
    assert file.filename == "fees_schwab_2026Q3_20261002.csv"
    (row,) = csv.DictReader(io.StringIO(file.content.decode()))
    assert (row["platform"], row["manager"], row["advisor"]) == ("100.00", "807.40", "0.00")
    assert row["manager_split"] == "Acme Asset Mgmt:604.93;Beacon Capital:202.47"
