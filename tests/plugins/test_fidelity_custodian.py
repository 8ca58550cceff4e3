"""The Fidelity custodian adapter: the custodian contract, then what is Fidelity's own."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

import smartx_custodian_fidelity
from smartx_custodian_fidelity.custodian import FidelityCustodian
from smartx_custodian_fidelity.files import OrderLine, read_blocks, read_orders, write_orders
from smartx_custodian_fidelity.sandbox import FdxSandbox
from smartx_custodian_fidelity.sandbox import seed as sandbox_seed
from smartx_custodian_fidelity.world import FidelityWorld
from smartx_engine import (
    MONEY, QUANTITY, Custodian, CustodianError, CustodianLot, DataError, Execution, LotInstruction, OrderRequest,
    OrderStatus, Side,
)
from smartx_engine.plugins import registered
from smartx_engine.testing import ContractWorld, CustodianContract, contract_seed

TRADE_DATE = dt.date(2026, 1, 9)  # a Friday: settles Monday


class TestFidelityCustodian(CustodianContract):
    @pytest.fixture
    def make_custodian(self, tmp_path, request):
        def make(seed):
            world = FidelityWorld(tmp_path / "fidelity", seed)
            request.addfinalizer(world.stop)
            return ContractWorld(world.custodian(), settle=lambda: world.execute(TRADE_DATE))
        return make


# ---------------------------------------------------------------------------
# Fidelity's own
# ---------------------------------------------------------------------------


def _order(account, symbol, side, quantity, *, batch="B-1", block_id=None, cid=None):
    _order.n += 1
    return OrderRequest(client_order_id=cid or f"F-{_order.n:05d}", account_number=account, symbol=symbol,
                        side=Side(side), quantity=Decimal(quantity),
                        placed_at=dt.datetime(2026, 1, 9, 14, 0, tzinfo=dt.timezone.utc), batch_id=batch,
                        block_id=block_id)


_order.n = 0


@pytest.fixture
def world(tmp_path):
    with FidelityWorld(tmp_path / "fidelity", contract_seed()) as world:
        yield world


@pytest.fixture
def custodian(world):
    return world.custodian()


@pytest.fixture
def fdx():
    with FdxSandbox() as sandbox:  # the spec's example data
        yield sandbox


def _outbox_state(world):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(world.outbox.iterdir())}


# -- registration and settings ------------------------------------------------


def test_registering_reads_no_settings_and_opens_no_connection(monkeypatch, tmp_path):
    broken = tmp_path / "config.toml"
    broken.write_text("[fidelity\n")
    monkeypatch.setenv("SMARTX_CONFIG", str(broken))
    registered = []
    smartx_custodian_fidelity.register_custodians(registered.append)
    (custodian,) = registered
    assert isinstance(custodian, Custodian)
    assert (custodian.name, custodian.supports_blocks) == ("fidelity", True)
    with pytest.raises(DataError, match="config.toml"):  # the settings are read on first use
        custodian.accounts()


def test_the_adapter_is_registered_through_the_hook():
    assert isinstance(registered("register_custodians", "custodian")["fidelity"], FidelityCustodian)


def test_settings_come_from_the_config_table_and_the_environment(fdx, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[fidelity]\nfdx_url = "http://127.0.0.1:9/nowhere"\noutbox = "{tmp_path / "out"}"\n'
                      'block_account = "Z11111111"\n')
    custodian = FidelityCustodian(environ={"SMARTX_CONFIG": str(config), "SMARTX_FIDELITY_FDX_URL": fdx.base_url})
    assert custodian.setting("outbox") == str(tmp_path / "out")
    assert custodian.setting("block_account") == "Z11111111"
    assert {a.number for a in custodian.accounts()} == {"5426873", "7719302"}  # the variable won
    assert fdx.requests


def test_a_missing_setting_names_the_table_and_the_variable(tmp_path):
    custodian = FidelityCustodian(environ={"SMARTX_CONFIG": str(tmp_path / "none.toml")})
    with pytest.raises(CustodianError, match=r"fdx_url is not set .*\[fidelity\].*SMARTX_FIDELITY_FDX_URL"):
        custodian.accounts()
    with pytest.raises(CustodianError, match="SMARTX_FIDELITY_OUTBOX"):
        custodian.submit([_order("11112222", "VTI", "buy", "1")])


# -- reading through FDX --------------------------------------------------------


def test_accounts_carry_tax_lots_registration_and_the_core_position_as_cash(fdx):
    custodian = FidelityCustodian(fdx_url=fdx.base_url, environ={})
    accounts = {a.number: a for a in custodian.accounts()}
    assert set(accounts) == {"5426873", "7719302"}  # the closed trust account is left out
    brokerage, roth = accounts["5426873"], accounts["7719302"]
    assert brokerage.registration == "taxable" and roth.registration == "roth"
    # SPAXX (cashAccount, MONEYMARKET) is cash at units x price, not a position
    assert brokerage.cash == Decimal("3602.49")
    assert [(p.symbol, p.quantity, p.price) for p in brokerage.positions] == [("VTI", Decimal(200), Decimal("239.10"))]
    assert brokerage.lots == (CustodianLot("VTI", Decimal(120), Decimal("23412.00"), dt.date(2021, 3, 2)),
                              CustodianLot("VTI", Decimal(80), Decimal("16854.40"), dt.date(2023, 10, 27)))
    assert roth.cash == Decimal("0.10")  # no core position: the available cash balance
    assert roth.lots == (CustodianLot("AGG", Decimal("105.5"), Decimal("10663.02"), dt.date(2022, 6, 13)),)


@pytest.mark.parametrize(("fdx_type", "registration"), [
    ("ROLLOVER", "rollover_ira"), ("IRA", "ira"), ("TRUST", "trust"), ("TAXABLE", "taxable"), ("UTMA", "custodial"),
    ("KEOGH", None)])
def test_account_types_map_to_registrations(tmp_path, fdx_type, registration):
    seed = {"accounts": {"55556666": {"cash": "10.00", "positions": {}, "type": fdx_type}}, "prices": {}}
    with FidelityWorld(tmp_path, seed) as world:
        (account,) = world.custodian().accounts()
    assert account.registration == registration
    assert account.positions == () and account.lots == ()


def test_transactions_map_fdx_types_and_keep_posted_ones_in_the_dates(fdx):
    data = sandbox_seed()
    data["transactions"]["5426873"] += [
        {"accountId": "5426873", "transactionId": "t-pending", "postedTimestamp": "2024-01-19T21:00:00Z",
         "transactionTimestamp": "2024-01-19T13:00:00Z", "status": "PENDING", "transactionType": "WITHDRAWAL",
         "amount": Decimal("-100")},
        {"accountId": "5426873", "transactionId": "t-split", "postedTimestamp": "2024-01-19T21:00:00Z",
         "transactionTimestamp": "2024-01-19T13:00:00Z", "status": "POSTED", "transactionType": "SPLIT",
         "symbol": "VTI", "units": Decimal(200), "amount": Decimal(0)},
        {"accountId": "5426873", "transactionId": "t-wd", "postedTimestamp": "2024-01-19T21:00:00Z",
         "transactionTimestamp": "2024-01-19T13:00:00Z", "status": "POSTED", "transactionType": "WITHDRAWAL",
         "amount": Decimal("-250.00")},
        {"accountId": "5426873", "transactionId": "t-int", "postedTimestamp": "2024-01-19T21:00:00Z",
         "transactionTimestamp": "2024-01-19T13:00:00Z", "status": "POSTED", "transactionType": "INTEREST",
         "amount": Decimal("1.25")}]
    with FdxSandbox(data) as sandbox:
        custodian = FidelityCustodian(fdx_url=sandbox.base_url, environ={})
        every = custodian.transactions("5426873", dt.date(2024, 1, 1), dt.date(2024, 1, 31))
        some = custodian.transactions("5426873", dt.date(2024, 1, 12), dt.date(2024, 1, 16))
    assert [(t.transaction_id, t.date, t.type.value, t.amount, t.symbol, t.quantity, t.price) for t in every] == [
        ("t-9001", dt.date(2024, 1, 10), "buy", Decimal("-16854.40"), "VTI", Decimal(80), Decimal("210.68")),
        ("t-9002", dt.date(2024, 1, 12), "dividend", Decimal("173.37"), "VTI", None, None),
        ("t-9003", dt.date(2024, 1, 16), "fee", Decimal("-31.07"), None, None, None),
        ("t-9004", dt.date(2024, 1, 18), "sell", Decimal("2430.13"), "VTI", Decimal("10.125"), Decimal("240.0133")),
        ("t-9005", dt.date(2024, 1, 19), "deposit", Decimal("5000.00"), None, None, None),
        ("t-wd", dt.date(2024, 1, 19), "withdrawal", Decimal("-250.00"), None, None, None),
        ("t-int", dt.date(2024, 1, 19), "dividend", Decimal("1.25"), None, None, None),
    ]  # the PENDING withdrawal and the SPLIT are skipped
    assert [t.transaction_id for t in some] == ["t-9002", "t-9003"]  # by transactionTimestamp's date


# -- submitting: files, widths, exactly once ------------------------------------


def test_orders_and_blocks_of_a_batch_go_to_its_two_files(world, custodian):
    single = _order("11112222", "VTI", "sell", "5", batch="B-7")
    blocked = [_order("11112222", "BND", "buy", "30", batch="B-7", block_id="BLK-1"),
               _order("33334444", "BND", "buy", "12", batch="B-7", block_id="BLK-1")]
    reports = custodian.submit([blocked[0], single, blocked[1]])
    assert [(r.client_order_id, r.status, r.custodian_order_id) for r in reports] == [
        (blocked[0].client_order_id, OrderStatus.SUBMITTED, f"blocks_B-7.csv#{blocked[0].client_order_id}"),
        (single.client_order_id, OrderStatus.SUBMITTED, f"orders_B-7.csv#{single.client_order_id}"),
        (blocked[1].client_order_id, OrderStatus.SUBMITTED, f"blocks_B-7.csv#{blocked[1].client_order_id}"),
    ]
    assert sorted(_outbox_state(world)) == ["blocks_B-7.csv", "orders_B-7.csv"]
    (block,) = read_blocks(world.outbox / "blocks_B-7.csv")
    assert (block.block_id, block.block_account, block.quantity) == ("BLK-1", world.block_account, Decimal(42))
    assert [(a.account_number, a.quantity) for a in block.allocations] == [("11112222", 30), ("33334444", 12)]


def test_a_retried_batch_writes_nothing_and_reports_what_was_sent(world, custodian):
    orders = [_order("11112222", "VTI", "sell", "5", batch="B-R"),
              _order("11112222", "BND", "buy", "3", batch="B-R", block_id="BLK-R"),
              _order("33334444", "BND", "buy", "2", batch="B-R", block_id="BLK-R")]
    first = custodian.submit(orders)
    before = _outbox_state(world)
    again = world.custodian().submit(list(reversed(orders)))  # after a crash: a new process, same batch
    assert _outbox_state(world) == before
    assert [(r.client_order_id, r.status, r.custodian_order_id) for r in reversed(again)] == [
        (r.client_order_id, r.status, r.custodian_order_id) for r in first]


def test_a_retry_after_a_crash_between_the_two_files_writes_only_the_missing_one(world, custodian):
    single = _order("11112222", "VTI", "sell", "5", batch="B-C")
    blocked = _order("33334444", "BND", "buy", "2", batch="B-C", block_id="BLK-C")
    write_orders(world.outbox, "B-C", [OrderLine(single.client_order_id, "11112222", Side.SELL, "5", "VTI")])
    reports = custodian.submit([single, blocked])
    assert [r.status for r in reports] == [OrderStatus.SUBMITTED, OrderStatus.SUBMITTED]
    assert sorted(_outbox_state(world)) == ["blocks_B-C.csv", "orders_B-C.csv"]


def test_a_batch_id_reused_for_other_orders_is_refused(world, custodian):
    custodian.submit([_order("11112222", "VTI", "sell", "5", batch="B-X")])
    before = _outbox_state(world)
    with pytest.raises(CustodianError, match=r"batch B-X was already written to .*orders_B-X.csv with other orders"):
        custodian.submit([_order("11112222", "VTI", "sell", "6", batch="B-X"),
                          _order("33334444", "AGG", "buy", "1", batch="B-Y")])
    assert _outbox_state(world) == before  # not even the other batch was written


def test_a_quantity_wealthscape_cannot_take_is_rejected_and_not_written(world, custodian):
    fine = _order("11112222", "VTI", "buy", "2", batch="B-W")
    too_fine = _order("11112222", "VTI", "buy", "1.2345", batch="B-W")
    too_big = _order("11112222", "VTI", "buy", "12345678901", batch="B-W")
    reports = custodian.submit([fine, too_fine, too_big])
    assert [r.status for r in reports] == [OrderStatus.SUBMITTED, OrderStatus.REJECTED, OrderStatus.REJECTED]
    assert "at most 3 decimals" in reports[1].message and reports[1].custodian_order_id is None
    assert [line.client_order_id for line in read_orders(world.outbox / "orders_B-W.csv")] == [fine.client_order_id]
    assert custodian.track([too_fine]) == {too_fine.client_order_id: None}  # never sent: the engine knows
    alone = custodian.submit([_order("11112222", "VTI", "buy", "0.0001", batch="B-V")])
    assert alone[0].status == OrderStatus.REJECTED and not (world.outbox / "orders_B-V.csv").exists()


def test_blocks_need_a_block_account(tmp_path, world):
    custodian = FidelityCustodian(fdx_url=world.fdx_url, outbox=world.outbox, inbox=world.inbox, environ={})
    with pytest.raises(CustodianError, match="block_account is not set"):
        custodian.submit([_order("11112222", "VTI", "buy", "1", batch="B-A"),
                          _order("11112222", "BND", "buy", "1", batch="B-A", block_id="BLK-A")])
    assert list(world.outbox.iterdir()) == []


# -- tracking --------------------------------------------------------------------


def test_a_malformed_inbox_file_fails_the_whole_track(world, custodian):
    good = _order("11112222", "VTI", "buy", "1", batch="B-G")
    bad = _order("11112222", "AGG", "buy", "1", batch="B-H")
    custodian.submit([good])
    custodian.submit([bad])
    world.execute(TRADE_DATE)
    results = world.inbox / "executions_orders_B-H.csv"
    results.write_text(results.read_text().replace(",98,", ",abc,"))
    with pytest.raises(DataError) as caught:
        custodian.track([good, bad])
    message = str(caught.value)
    assert "executions_orders_B-H.csv:2:" in message and "Average Price" in message
    assert "nothing was imported" in message


def test_a_partial_fill_expires_the_rest_of_the_day_order(world, custodian):
    world.partial["VTI"] = Decimal("0.5")
    request = _order("11112222", "VTI", "buy", "9", batch="B-P")
    custodian.submit([request])
    world.execute(TRADE_DATE)
    report = custodian.track([request])[request.client_order_id]
    assert report.status == OrderStatus.CANCELLED
    assert report.executions == (Execution("executions_orders_B-P.csv", Decimal(4), Decimal("250.00"), TRADE_DATE),)
    assert "partially filled: 4 of 9" in report.message and "expired" in report.message
    vti = {p.symbol: p.quantity for p in _account(custodian, "11112222").positions}["VTI"]
    assert vti == Decimal(124)


def test_a_partial_block_fill_is_allocated_pro_rata_in_whole_shares(world, custodian):
    world.partial["BND"] = Decimal("0.7")  # 42 asked, 29 filled
    requests = [_order("11112222", "BND", "buy", "30", batch="B-PB", block_id="BLK-P"),
                _order("33334444", "BND", "buy", "12", batch="B-PB", block_id="BLK-P")]
    custodian.submit(requests)
    world.execute(TRADE_DATE)
    tracked = custodian.track(requests)
    # 30 x 29/42 = 20.71 and 12 x 29/42 = 8.29: 20 and 8, and the share left goes to the larger remainder
    got = [tracked[r.client_order_id] for r in requests]
    assert [r.filled_quantity for r in got] == [Decimal(21), Decimal(8)]
    assert [r.status for r in got] == [OrderStatus.CANCELLED, OrderStatus.CANCELLED]
    assert all(e.price == Decimal("72.50") and e.execution_id == "allocations_blocks_B-PB.csv"
               for r in got for e in r.executions)
    assert all("expired" in r.message for r in got)
    assert {p.symbol: p.quantity for p in _account(custodian, "33334444").positions}["BND"] == Decimal(8)


def test_an_account_given_all_it_asked_of_a_partial_block_is_filled(world, custodian):
    world.partial["BND"] = Decimal("0.98")  # 42 asked, 41 filled: 29.29 -> 29, 11.71 -> 11 + 1 = 12
    requests = [_order("11112222", "BND", "buy", "30", batch="B-PF", block_id="BLK-F"),
                _order("33334444", "BND", "buy", "12", batch="B-PF", block_id="BLK-F")]
    custodian.submit(requests)
    world.execute(TRADE_DATE)
    tracked = custodian.track(requests)
    assert [(tracked[r.client_order_id].status, tracked[r.client_order_id].filled_quantity) for r in requests] == [
        (OrderStatus.CANCELLED, Decimal(29)), (OrderStatus.FILLED, Decimal(12))]


def test_a_block_selling_more_than_one_account_holds_is_rejected_whole(world, custodian):
    requests = [_order("11112222", "VTI", "sell", "20", batch="B-S", block_id="BLK-S"),
                _order("33334444", "VTI", "sell", "11", batch="B-S", block_id="BLK-S")]
    custodian.submit(requests)
    world.execute(TRADE_DATE)
    tracked = custodian.track(requests)
    assert {r.status for r in tracked.values()} == {OrderStatus.REJECTED}
    assert "block BLK-S" in tracked[requests[0].client_order_id].message


def test_an_expired_limit_is_cancelled_with_a_message(world, custodian):
    line = OrderLine("LIM-1", "11112222", Side.BUY, "1", "VTI", limit_price="200")
    write_orders(world.outbox, "B-L", [line])
    world.execute(TRADE_DATE)
    report = custodian.track([_order("11112222", "VTI", "buy", "1", batch="B-L", cid="LIM-1")])["LIM-1"]
    assert report.status == OrderStatus.CANCELLED and "expired" in report.message
    assert report.custodian_order_id == "orders_B-L.csv#LIM-1"


#: one account holding VTI in two lots, the newer one first
TWO_LOTS = {"accounts": {"77778888": {"cash": "1000.00", "positions": {"VTI": "150"},
                                      "lots": {"VTI": [
                                          {"acquired": "2021-05-03", "quantity": "50", "cost_basis": "10000.00"},
                                          {"acquired": "2019-02-01", "quantity": "100", "cost_basis": "15000.00"}]}}},
            "prices": {"VTI": "250.00"}}


def test_fills_post_lots_fifo_cash_and_transactions_to_fdx(tmp_path):
    with FidelityWorld(tmp_path, TWO_LOTS) as world:
        custodian = world.custodian()
        sell = _order("77778888", "VTI", "sell", "130", batch="B-F1")
        custodian.submit([sell])
        world.execute(TRADE_DATE)
        buy = _order("77778888", "VTI", "buy", "4", batch="B-F2")
        custodian.submit([buy])
        world.execute(TRADE_DATE + dt.timedelta(days=3))
        account = _account(custodian, "77778888")
        posted = custodian.transactions("77778888", TRADE_DATE, TRADE_DATE + dt.timedelta(days=3))
    assert account.lots == (CustodianLot("VTI", Decimal(20), Decimal("4000.00"), dt.date(2021, 5, 3)),
                            CustodianLot("VTI", Decimal(4), Decimal("1000.00"), TRADE_DATE + dt.timedelta(days=3)))
    assert account.cash == Decimal("1000.00") + Decimal("32500.00") - Decimal("1000.00")
    assert [(t.type.value, t.quantity, t.price, t.amount, t.date) for t in posted] == [
        ("sell", Decimal(130), Decimal("250.00"), Decimal("32500.00"), TRADE_DATE),
        ("buy", Decimal(4), Decimal("250.00"), Decimal("-1000.00"), TRADE_DATE + dt.timedelta(days=3))]


def test_a_sell_versus_purchase_relieves_the_lots_it_names_first(tmp_path):
    with FidelityWorld(tmp_path, TWO_LOTS) as world:
        custodian = world.custodian()
        sell = attrs.evolve(_order("77778888", "VTI", "sell", "70", batch="B-V1"),
                            lots=[LotInstruction(dt.date(2021, 5, 3), "50"), LotInstruction(dt.date(2019, 2, 1), "20")])
        custodian.submit([sell])
        world.execute(TRADE_DATE)
        account = _account(custodian, "77778888")
    assert account.lots == (CustodianLot("VTI", Decimal(80), Decimal("12000.00"), dt.date(2019, 2, 1)),)


# -- cancelling --------------------------------------------------------------------


def test_cancel_is_refused_with_where_to_cancel_in_wealthscape(world, custodian):
    request = _order("11112222", "VTI", "buy", "1", batch="B-K")
    custodian.submit([request])
    with pytest.raises(CustodianError) as caught:
        custodian.cancel(request)
    message = str(caught.value)
    assert request.client_order_id in message and "orders_B-K.csv" in message
    assert "Orders Unsent" in message and "Open Orders" in message and "Traceback" not in message
    world.execute(TRADE_DATE)
    with pytest.raises(CustodianError, match="already has a result from Fidelity \\(filled\\)"):
        custodian.cancel(request)


def _account(custodian, number):
    return next(a for a in custodian.accounts() if a.number == number)


def test_a_result_for_another_order_is_an_error(world, custodian):
    request = _order("11112222", "VTI", "buy", "3", batch="B-M")
    custodian.submit([request])
    world.execute(TRADE_DATE)
    other = attrs.evolve(request, quantity=Decimal(4))
    with pytest.raises(CustodianError, match=r"executions_orders_B-M.csv:2: the result for order .* is for buy 3 VTI"):
        custodian.track([other])


def test_the_engine_resending_only_the_orders_of_a_missing_file_gets_them_written(world, custodian):
    # A crash after orders_B-E.csv: the engine finds its single order (SUBMITTED), the block's
    # orders not (None), and resends those alone in the same batch.
    single = _order("11112222", "VTI", "sell", "5", batch="B-E")
    blocked = [_order("11112222", "BND", "buy", "3", batch="B-E", block_id="BLK-E"),
               _order("33334444", "BND", "buy", "2", batch="B-E", block_id="BLK-E")]
    write_orders(world.outbox, "B-E", [OrderLine(single.client_order_id, "11112222", Side.SELL, "5", "VTI")])
    found = custodian.track([single, *blocked])
    assert found[single.client_order_id].status == OrderStatus.SUBMITTED
    assert [found[o.client_order_id] for o in blocked] == [None, None]
    reports = custodian.submit(blocked)
    assert [r.custodian_order_id for r in reports] == [f"blocks_B-E.csv#{o.client_order_id}" for o in blocked]
    assert sorted(_outbox_state(world)) == ["blocks_B-E.csv", "orders_B-E.csv"]
    assert custodian.submit([single])[0].status == OrderStatus.SUBMITTED  # a part of a written file


# -- through the engine's order pipeline -------------------------------------------


def test_the_engine_sends_once_then_syncs_fills_that_match_fdx(smartx, imported, rules, tmp_path):
    from smartx_engine.demo.seeds import custodian_seed
    from smartx_engine.orders import order_rows, submit, sync_orders
    from smartx_engine.store import Store

    smartx("--rules", str(rules), "rebalance", "--all", "--as-of", "2026-11-20")
    smartx("trades", "approve", "--run", "R-000001")
    store = Store.open(imported)
    with FidelityWorld(tmp_path / "fidelity", custodian_seed(store, "fidelity")) as world:
        custodians = {"fidelity": world.custodian()}
        first = submit(store, custodians, only=["fidelity"], block=False)
        orders = [o for o in order_rows(store) if o["custodian"] == "fidelity"]
        assert orders and sorted(first.sent) == sorted(o["client_order_id"] for o in orders)
        assert {o["status"] for o in orders} == {"submitted"}
        written = _outbox_state(world)
        again = submit(store, custodians, only=["fidelity"], block=False)
        assert not again.sent and _outbox_state(world) == written
        world.execute(TRADE_DATE)
        tracked = sync_orders(store, custodians)
        assert tracked.fills
        assert {o["status"] for o in order_rows(store) if o["custodian"] == "fidelity"} == {"filled"}
        held = {a.number: a for a in custodians["fidelity"].accounts()}
        for account in store.accounts():
            if account.custodian != "fidelity":
                continue
            fdx = held[account.custodian_number or account.account_id]
            in_store = {r["symbol"]: QUANTITY.to_decimal(r["q"]) for r in store.db.query(
                "select symbol, sum(quantity_e6) as q from lots where account_id = ? group by symbol having q != 0",
                [account.account_id])}
            assert in_store == {p.symbol: p.quantity for p in fdx.positions if p.quantity}
            cash = store.db.execute("select sum(amount_cents) from cash where account_id = ?",
                                    [account.account_id]).fetchone()[0]
            assert MONEY.to_decimal(cash) == fdx.cash


def test_blocks_sold_versus_purchase_leave_fidelity_with_the_engines_lots(smartx, db_path, tmp_path):
    """The demo firm's sells relieve lots other than the oldest (first in, first out would differ)."""
    from smartx_engine.custodians import stored_breaks, sync
    from smartx_engine.demo.firm import write_demo_book
    from smartx_engine.demo.seeds import custodian_seed
    from smartx_engine.orders import order_rows, submit, sync_orders
    from smartx_engine.store import Store

    firm = write_demo_book(tmp_path / "book")
    smartx("init")
    smartx("import", "book", str(tmp_path / "book"))
    rules = Path(__file__).parents[2] / "rules"
    smartx("--rules", str(rules), "rebalance", "--all", "--as-of", firm.as_of.isoformat())
    smartx("trades", "approve", "--run", "R-000001")
    store = Store.open(db_path)
    with FidelityWorld(tmp_path / "fidelity", custodian_seed(store, "fidelity")) as world:
        custodians = {"fidelity": world.custodian()}
        submit(store, custodians, only=["fidelity"], block=True)
        sells = [o for o in order_rows(store) if o["custodian"] == "fidelity" and o["side"] == "sell"]
        assert sells and all(o["lots"] != "[]" for o in sells)
        world.execute(TRADE_DATE)
        sync_orders(store, custodians)
        result = sync(store, custodians, as_of=TRADE_DATE)
    assert not result.failed
    assert stored_breaks(store, statuses=["open"]) == []


def test_custodians_sync_applies_the_fills_of_open_orders_before_it_compares(smartx, imported, rules, tmp_path):
    import json

    from smartx_engine.demo.seeds import custodian_seed
    from smartx_engine.store import Store

    smartx("--rules", str(rules), "rebalance", "--all", "--as-of", "2026-11-20")
    smartx("trades", "approve", "--run", "R-000001")
    with FidelityWorld(tmp_path / "fidelity", custodian_seed(Store.open(imported), "fidelity")) as world:
        env = {"SMARTX_CONFIG": str(tmp_path / "none.toml"),
               **{f"SMARTX_FIDELITY_{k.upper()}": v for k, v in world.settings().items()}}
        smartx("trades", "submit", "--custodian", "fidelity", env=env)
        world.execute(TRADE_DATE)
        (synced,) = json.loads(smartx("custodians", "sync", "--custodian", "fidelity", "--as-of",
                                      TRADE_DATE.isoformat(), "--json", env=env).output)
    assert synced["fills_applied"] > 0 and synced["breaks_open"] == 0
