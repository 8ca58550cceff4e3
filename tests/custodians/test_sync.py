"""Sync with the FakeCustodian: what is stored, the breaks found, and their lifecycle."""

import datetime as dt
from decimal import Decimal

import pytest

from smartx_engine.custodians import (
    acknowledge, blocked_accounts, last_syncs, link_account, stored_breaks, sync,
)
from smartx_engine.custody import CustodianLot, CustodianTransaction
from smartx_engine.errors import ConflictError, CustodianError, DataError, NotFoundError
from smartx_engine.testing import FakeCustodian

from .conftest import AS_OF, small_book_lots, small_book_seed


def dump(store, *tables):
    """The rows of tables, without the id of the sync that last saw a balance (it is the latest sync)."""
    return {t: [{k: v for k, v in row.items() if k != "sync_id" or t == "syncs"}
                for row in store.db.query(f"select * from {t} order by 1, 2")] for t in tables}


SYNCED = ("custodian_positions", "custodian_lots", "custodian_balances", "custodian_transactions", "breaks",
          "securities")


def live(store):
    return {b.break_id: (b.status, b.engine, b.custodian) for b in stored_breaks(store)}


def test_a_clean_sync_stores_what_the_custodian_holds_and_finds_no_break(store, schwab):
    schwab.post("SCH-1", CustodianTransaction("D1", AS_OF - dt.timedelta(days=3), "deposit", "500.00"))
    result = sync(store, {"schwab": schwab}, as_of=AS_OF)
    (one,) = result.custodians
    assert one.custodian == "schwab" and one.error is None
    assert one.accounts == ("SCH-1", "SCH-2")
    assert (one.positions, one.lots, one.transactions_added) == (6, 0, 1)
    assert (one.breaks_open, one.unlinked, one.missing) == (0, (), ())
    assert one.since == AS_OF - dt.timedelta(days=90)
    assert stored_breaks(store) == [] and blocked_accounts(store) == set()
    rows = {(r["account_id"], r["symbol"]): r["quantity_e6"] for r in store.db.query("select * from custodian_positions")}
    assert rows[("SCH-1", "VTI")] == 125_500_000
    assert [r["cash_cents"] for r in store.db.query("select * from custodian_balances order by 1")] == [152075, 220010]
    assert store.audit_log(1)[0].action == "custodians.sync"
    assert last_syncs(store)["schwab"]["at"] == AS_OF.isoformat()


def test_the_custodians_prices_are_kept_as_the_closes_of_the_sync_day(store, schwab):
    later = AS_OF + dt.timedelta(days=7)
    sync(store, {"schwab": schwab}, as_of=later)
    closes = {r["symbol"]: r["close_e6"] for r in store.db.query("select * from prices where date = ?",
                                                                  [later.isoformat()])}
    current = {r["symbol"]: r["price_e6"] for r in store.db.query("select * from securities")}
    assert closes and closes == {symbol: current[symbol] for symbol in closes}
    assert {"VTI", "BND"} <= set(closes)


def test_a_custodian_without_accounts_in_the_store_is_left_alone(store, schwab):
    other = FakeCustodian(small_book_seed(), name="acme", today=AS_OF)
    result = sync(store, {"schwab": schwab, "acme": other}, as_of=AS_OF)
    assert [c.custodian for c in result.custodians] == ["schwab"]
    assert other.calls == []


def test_syncing_twice_changes_nothing_the_second_time(store, schwab):
    schwab.set_position("SCH-2", "BND", "90")
    schwab.post("SCH-1", CustodianTransaction("D1", AS_OF, "deposit", "500.00"))
    sync(store, {"schwab": schwab}, as_of=AS_OF)
    before = dump(store, *SYNCED)
    again = sync(store, {"schwab": schwab}, as_of=AS_OF).custodians[0]
    assert dump(store, *SYNCED) == before
    assert again.transactions_added == 0 and again.breaks_opened == () and again.breaks_resolved == ()
    assert again.since == AS_OF - dt.timedelta(days=7)  # a week before the last sync


def test_a_position_difference_is_an_open_break_that_blocks_the_account(store, schwab):
    schwab.set_position("SCH-2", "BND", "90")
    schwab.set_position("SCH-2", "VXUS", "5")  # a security the engine does not hold
    result = sync(store, {"schwab": schwab}, as_of=AS_OF).custodians[0]
    assert live(store) == {"SCH-2:position:BND": ("open", "100", "90"),
                           "SCH-2:position:VXUS": ("open", "0", "5")}
    assert result.breaks_open == 2
    assert blocked_accounts(store) == {"SCH-2"}


def test_a_cash_difference_is_a_break(store, schwab):
    schwab.set_cash("SCH-1", "1620.75")
    sync(store, {"schwab": schwab}, as_of=AS_OF)
    assert live(store) == {"SCH-1:cash:$CASH": ("open", "1520.75", "1620.75")}


def test_lots_are_compared_when_the_custodian_reports_them_and_the_position_matches(store, schwab):
    lots = small_book_lots()
    lots["VTI"][1]["cost_basis"] = "8000.00"
    lots["BND"] = [{"quantity": "400", "cost_basis": "29600.00", "acquired": "2022-03-02"}]
    schwab.add_account("SCH-1", "1520.75", small_book_seed()["accounts"]["SCH-1"]["positions"], lots=lots)
    schwab.set_position("SCH-1", "AAPL", "149")  # a position break hides its lots
    sync(store, {"schwab": schwab}, as_of=AS_OF)
    assert live(store) == {
        "SCH-1:lots:BND": ("open", "2022-03-01 400 @ 29600.00", "2022-03-02 400 @ 29600.00"),
        "SCH-1:lots:VTI": ("open", "2023-02-14 100 @ 21450.00; 2025-12-01 25.5 @ 8011.33",
                           "2023-02-14 100 @ 21450.00; 2025-12-01 25.5 @ 8000.00"),
        "SCH-1:position:AAPL": ("open", "150", "149"),
    }


def test_matching_lots_give_no_break(store, schwab):
    schwab.add_account("SCH-1", "1520.75", small_book_seed()["accounts"]["SCH-1"]["positions"],
                       lots=small_book_lots())
    result = sync(store, {"schwab": schwab}, as_of=AS_OF).custodians[0]
    assert result.lots == 5 and live(store) == {}


def test_a_break_is_resolved_when_the_difference_goes_away(store, schwab):
    schwab.set_cash("SCH-1", "1620.75")
    sync(store, {"schwab": schwab}, as_of=AS_OF)
    schwab.set_cash("SCH-1", "1520.75")
    result = sync(store, {"schwab": schwab}, as_of=AS_OF).custodians[0]
    assert result.breaks_resolved == ("SCH-1:cash:$CASH",)
    assert live(store) == {} and blocked_accounts(store) == set()
    (resolved,) = stored_breaks(store, statuses=["resolved"])
    assert resolved.break_id == "SCH-1:cash:$CASH"


def test_an_acknowledged_break_unblocks_its_account_and_stays_acknowledged(store, schwab):
    schwab.set_cash("SCH-1", "1620.75")
    sync(store, {"schwab": schwab}, as_of=AS_OF)
    acked = acknowledge(store, "SCH-1:cash:$CASH", "deposit in transit")
    assert (acked.status, acked.acknowledged_by, acked.note) == ("acknowledged", "tester", "deposit in transit")
    assert blocked_accounts(store) == set()
    assert store.audit_log(1)[0].action == "custodians.break.acknowledge"
    sync(store, {"schwab": schwab}, as_of=AS_OF)
    assert live(store) == {"SCH-1:cash:$CASH": ("acknowledged", "1520.75", "1620.75")}


def test_an_acknowledged_break_whose_values_change_is_reopened(store, schwab):
    schwab.set_cash("SCH-1", "1620.75")
    sync(store, {"schwab": schwab}, as_of=AS_OF)
    acknowledge(store, "SCH-1:cash:$CASH", "deposit in transit")
    schwab.set_cash("SCH-1", "1720.75")
    result = sync(store, {"schwab": schwab}, as_of=AS_OF).custodians[0]
    assert result.breaks_opened == ("SCH-1:cash:$CASH",)
    assert live(store) == {"SCH-1:cash:$CASH": ("open", "1520.75", "1720.75")}
    assert blocked_accounts(store) == {"SCH-1"}


def test_a_resolved_break_found_again_is_open_again(store, schwab):
    schwab.set_cash("SCH-1", "1620.75")
    sync(store, {"schwab": schwab}, as_of=AS_OF)
    schwab.set_cash("SCH-1", "1520.75")
    sync(store, {"schwab": schwab}, as_of=AS_OF)
    schwab.set_cash("SCH-1", "1620.75")
    sync(store, {"schwab": schwab}, as_of=AS_OF)
    assert live(store) == {"SCH-1:cash:$CASH": ("open", "1520.75", "1620.75")}


def test_acknowledging_needs_an_open_break_and_a_note(store, schwab):
    schwab.set_cash("SCH-1", "1620.75")
    sync(store, {"schwab": schwab}, as_of=AS_OF)
    with pytest.raises(NotFoundError, match="did you mean `SCH-1:cash:\\$CASH`"):
        acknowledge(store, "SCH-1:cash:$CSH", "typo")
    with pytest.raises(ConflictError, match="note"):
        acknowledge(store, "SCH-1:cash:$CASH", " ")
    acknowledge(store, "SCH-1:cash:$CASH", "ok")
    with pytest.raises(ConflictError, match="acknowledged, not open"):
        acknowledge(store, "SCH-1:cash:$CASH", "again")


def test_accounts_unknown_to_the_store_are_reported_not_stored(store, schwab):
    schwab.add_account("99990000", "10.00", {"VTI": "1"})
    result = sync(store, {"schwab": schwab}, as_of=AS_OF).custodians[0]
    assert result.unlinked == ("99990000",)
    assert live(store) == {}
    assert store.db.execute("select count(*) from custodian_balances").fetchone()[0] == 2


def test_a_store_account_the_custodian_does_not_report_gets_an_unlinked_break(store, schwab):
    schwab.remove_account("SCH-2")
    schwab.add_account("7777-2", "2200.10", {"VTI": "60", "BND": "100"})
    result = sync(store, {"schwab": schwab}, as_of=AS_OF).custodians[0]
    assert (result.missing, result.unlinked, result.accounts) == (("SCH-2",), ("7777-2",), ("SCH-1",))
    assert live(store) == {"SCH-2:unlinked:$CASH": ("open", "SCH-2", "not reported")}
    link_account(store, "SCH-2", "7777-2")
    result = sync(store, {"schwab": schwab}, as_of=AS_OF).custodians[0]
    assert result.breaks_resolved == ("SCH-2:unlinked:$CASH",) and result.unlinked == ()
    assert live(store) == {}


def test_a_number_already_linked_at_the_custodian_is_refused(store):
    with pytest.raises(ConflictError, match="already linked to SCH-1"):
        link_account(store, "SCH-2", "SCH-1")
    link_account(store, "FID-1", "SCH-1")  # another custodian: fine
    with pytest.raises(DataError, match="not a valid id"):
        link_account(store, "SCH-2", "no spaces")
    assert store.account("FID-1").custodian_number == "SCH-1"


@pytest.mark.parametrize("breakage", ["accounts", "transactions", "price", "quantity"])
def test_a_failing_adapter_writes_nothing(store, schwab, breakage):
    sync(store, {"schwab": schwab}, as_of=AS_OF)
    schwab.set_cash("SCH-1", "1.00")
    schwab.post("SCH-1", CustodianTransaction("D9", AS_OF, "deposit", "5.00"))
    before = dump(store, *SYNCED, "syncs", "audit")
    if breakage in ("accounts", "transactions"):
        schwab.fail_next_read(breakage, CustodianError("schwab answered 502"))
    elif breakage == "price":
        schwab.set_price("VTI", "312.4500001")
    else:
        schwab.set_position("SCH-2", "BND", "-1.0000001")
    result = sync(store, {"schwab": schwab}, as_of=AS_OF)
    (failed,) = result.failed
    assert "nothing was synced from schwab" in failed.error
    assert dump(store, *SYNCED, "syncs", "audit") == before


def test_prices_update_securities_and_new_securities_are_added(store, schwab):
    schwab.set_price("VTI", "320.00")
    schwab.set_price("VXUS", "61.50")
    schwab.set_position("SCH-1", "VXUS", "2")
    result = sync(store, {"schwab": schwab}, as_of=AS_OF).custodians[0]
    assert result.securities_added == ("VXUS",)
    prices = store.prices()
    assert prices["VTI"] == Decimal("320.000000") and prices["VXUS"] == Decimal("61.500000")
    (vxus,) = [s for s in store.securities() if s.symbol == "VXUS"]
    assert (vxus.name, vxus.asset_class) == ("VXUS", "unclassified")


def test_one_account_and_a_given_window(store, schwab):
    schwab.post("SCH-2", CustodianTransaction("OLD", dt.date(2026, 1, 2), "deposit", "1.00"))
    schwab.post("SCH-2", CustodianTransaction("NEW", dt.date(2026, 11, 1), "deposit", "1.00"))
    result = sync(store, {"schwab": schwab}, as_of=AS_OF, account_id="SCH-2", since=dt.date(2026, 1, 1))
    (one,) = result.custodians
    assert one.accounts == ("SCH-2",) and one.transactions_added == 2 and one.since == dt.date(2026, 1, 1)
    assert ("transactions", "SCH-1") not in schwab.calls
    with pytest.raises(NotFoundError, match="no adapter for fidelity"):
        sync(store, {"schwab": schwab}, as_of=AS_OF, account_id="FID-1")


def test_progress_is_reported(store, schwab):
    seen = []
    sync(store, {"schwab": schwab}, as_of=AS_OF, progress=lambda what, done, total: seen.append((done, total)))
    assert seen[-1] == (3, 3)
