"""Lots rebuilt from a custodian's transactions (custodians that report no lots), and onboarding."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from smartx_engine.cli import cli
from smartx_engine.custodians import onboard, rebuild_lots, stored_breaks, sync
from smartx_engine.custody import CustodianTransaction
from smartx_engine.errors import ConflictError
from smartx_engine.fixedpoint import MONEY, QUANTITY
from smartx_engine.testing import FakeCustodian

from .conftest import AS_OF, small_book_seed

#: SCH-2's history at the custodian: it holds 60 VTI and 100 BND (small_book_seed)
HISTORY = [
    CustodianTransaction("101", dt.date(2022, 3, 1), "buy", "-20000.00", "VTI", "100", "200.00"),
    CustodianTransaction("102", dt.date(2023, 5, 2), "buy", "-7500.00", "BND", "100", "75.00"),
    CustodianTransaction("103", dt.date(2024, 1, 10), "buy", "-5010.00", "VTI", "20", "250.00"),  # 10 USD fees
    CustodianTransaction("104", dt.date(2025, 2, 3), "sell", "18000.00", "VTI", "60", "300.00"),
    CustodianTransaction("105", dt.date(2025, 2, 3), "deposit", "1000.00"),
]


@pytest.fixture
def newly_linked(store):
    """SCH-2 as an account just linked: the engine holds no lots of it; the custodian has its history."""
    store.db.execute("delete from lots where account_id = 'SCH-2'")
    store.db.execute("update accounts set lot_method = 'FIFO' where account_id = 'SCH-2'")
    return store


def synced(store, history):
    seed = small_book_seed()
    seed["accounts"]["SCH-2"]["transactions"] = history
    schwab = FakeCustodian(seed, name="schwab", today=AS_OF)
    sync(store, {"schwab": schwab}, as_of=AS_OF, since=dt.date(2020, 1, 1))
    return schwab


def test_a_complete_history_rebuilds_lots_matching_the_positions_and_onboards_them(newly_linked):
    schwab = synced(newly_linked, HISTORY)
    assert {b.break_id for b in stored_breaks(newly_linked)} == {"SCH-2:position:BND", "SCH-2:position:VTI"}
    rebuilt = rebuild_lots(newly_linked, "SCH-2")
    assert [(h.symbol, h.position, h.rebuilt, h.engine, h.complete) for h in rebuilt.holdings] == [
        ("BND", Decimal(100), Decimal(100), Decimal(0), True), ("VTI", Decimal(60), Decimal(60), Decimal(0), True)]
    # first in, first out: the sell of 60 takes them from the 2022 lot (basis 200.00 a share)
    assert [(lot.lot_id, lot.symbol, lot.quantity, lot.cost_basis, lot.acquired) for lot in rebuilt.lots] == [
        ("SCH-2:101", "VTI", Decimal(40), Decimal("8000.00"), dt.date(2022, 3, 1)),
        ("SCH-2:102", "BND", Decimal(100), Decimal("7500.00"), dt.date(2023, 5, 2)),
        ("SCH-2:103", "VTI", Decimal(20), Decimal("5010.00"), dt.date(2024, 1, 10))]
    (sale,) = rebuilt.sales
    assert (sale.quantity, sale.proceeds, sale.cost_basis, sale.gain) == (
        Decimal(60), Decimal("18000.00"), Decimal("12000.00"), Decimal("6000.00"))

    onboard(newly_linked, rebuilt)
    sleeve = newly_linked.sleeves("SCH-2")[0].sleeve_id
    assert {(r["lot_id"], r["sleeve_id"]) for r in newly_linked.db.query(
        "select lot_id, sleeve_id from lots where account_id = 'SCH-2'")} == {
        ("SCH-2:101", sleeve), ("SCH-2:102", sleeve), ("SCH-2:103", sleeve)}
    assert newly_linked.db.execute("select gain_cents from realized where account_id = 'SCH-2'").fetchall() == [
        (MONEY.to_int(Decimal(6000)),)]
    sync(newly_linked, {"schwab": schwab}, as_of=AS_OF)
    assert stored_breaks(newly_linked) == []  # the positions now reconcile
    with pytest.raises(ConflictError, match="already holds lots"):
        onboard(newly_linked, rebuild_lots(newly_linked, "SCH-2"))


def test_an_incomplete_history_is_shown_and_onboarding_refused_naming_the_security(newly_linked):
    synced(newly_linked, [t for t in HISTORY if t.symbol != "BND"])
    rebuilt = rebuild_lots(newly_linked, "SCH-2")
    assert [(h.symbol, h.rebuilt, h.position) for h in rebuilt.incomplete] == [("BND", Decimal(0), Decimal(100))]
    with pytest.raises(ConflictError, match=r"incomplete for BND \(rebuilt 0, held 100\)"):
        onboard(newly_linked, rebuilt)
    assert not newly_linked.db.execute("select count(*) from lots where account_id = 'SCH-2'").fetchone()[0]


def test_the_cli_shows_the_rebuild_and_onboards(newly_linked, tmp_path):
    synced(newly_linked, HISTORY)

    def smartx(*args, expect=0):
        result = CliRunner().invoke(cli, ["--db", str(tmp_path / "firm.db"), "custodians", "lots", *args])
        assert result.exit_code == expect, result.output
        return result.output

    shown = json.loads(smartx("SCH-2", "--json"))
    assert not shown["onboarded"] and all(h["complete"] for h in shown["holdings"])
    assert [lot["lot_id"] for lot in shown["lots"]] == ["SCH-2:101", "SCH-2:102", "SCH-2:103"]
    assert "stored 3 lot(s) and 1 realised sale(s) in SCH-2" in smartx("SCH-2", "--onboard")
    assert QUANTITY.to_decimal(newly_linked.db.execute(
        "select sum(quantity_e6) from lots where account_id = 'SCH-2' and symbol = 'VTI'").fetchone()[0]) == 60
    error = smartx("SCH-1", "--sleeve", "SCH-1-CORE", "--onboard", expect=1)
    assert "SCH-1 already holds lots" in error and "Traceback" not in error
