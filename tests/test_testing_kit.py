"""The testing kit: the in-memory FakeCustodian passes the custodian contract, and does what its tests rely on."""

import datetime as dt
from decimal import Decimal

import pytest

from smartx_engine.custody import CustodianLot, OrderOutcomeUnknown
from smartx_engine.domain import OrderStatus
from smartx_engine.errors import CustodianError
from smartx_engine.testing import ContractWorld, CustodianContract, FakeCustodian, contract_seed
from smartx_engine.testing.custodian import order

TODAY = dt.date(2026, 11, 20)


class TestFakeCustodian(CustodianContract):
    @pytest.fixture
    def make_custodian(self):
        return lambda seed: ContractWorld(FakeCustodian(seed, today=TODAY))


class TestFakeCustodianFillingLater(CustodianContract):
    @pytest.fixture
    def make_custodian(self):
        def make(seed):
            fake = FakeCustodian(seed, name="later", supports_blocks=False, today=TODAY, auto_fill=False)
            return ContractWorld(fake, settle=fake.execute)
        return make


@pytest.fixture
def fake() -> FakeCustodian:
    return FakeCustodian(contract_seed(), today=TODAY)


def test_a_lost_answer_reports_pending_but_the_order_was_taken(fake):
    fake.fail_next_submit("unknown")
    request = order("11112222", "BND", "buy", "2")
    (report,) = fake.submit([request])
    assert report.status == OrderStatus.PENDING and report.custodian_order_id is None
    found = fake.track([request])[request.client_order_id]
    assert found.status == OrderStatus.FILLED and found.custodian_order_id
    (next_report,) = fake.submit([order("11112222", "BND", "buy", "1")])
    assert next_report.status == OrderStatus.FILLED  # only the next submit loses its answer


def test_an_order_lost_on_the_way_is_not_found(fake):
    fake.fail_next_submit("lost")
    request = order("11112222", "BND", "buy", "2")
    assert fake.submit([request])[0].status == OrderStatus.PENDING
    assert fake.track([request]) == {request.client_order_id: None}


def test_a_dropped_connection_raises_after_taking_the_order(fake):
    fake.fail_next_submit("raise")
    request = order("11112222", "BND", "buy", "2")
    with pytest.raises(OrderOutcomeUnknown):
        fake.submit([request])
    assert fake.track([request])[request.client_order_id].status == OrderStatus.FILLED


def test_an_unknown_failure_mode_is_refused(fake):
    with pytest.raises(ValueError, match="unknown, lost, raise"):
        fake.fail_next_submit("timeout")


def test_a_buy_moves_cash_positions_and_lots_and_posts_a_transaction(fake):
    fake.set_lots("33334444", [CustodianLot("VTI", Decimal(10), Decimal("2000.00"), dt.date(2024, 1, 2))])
    fake.submit([order("33334444", "VTI", "buy", "2")])
    fake.submit([order("33334444", "VTI", "sell", "4")])
    account = {a.number: a for a in fake.accounts()}["33334444"]
    assert account.cash == Decimal("8000.00") - 500 + 1000
    assert {p.symbol: p.quantity for p in account.positions} == {"VTI": Decimal(8)}
    assert account.lots == (CustodianLot("VTI", Decimal(6), Decimal("1200.00"), dt.date(2024, 1, 2)),
                            CustodianLot("VTI", Decimal(2), Decimal("500.00"), TODAY))
    posted = fake.transactions("33334444", TODAY, TODAY)
    assert [(t.type, t.amount) for t in posted] == [("buy", Decimal("-500.00")), ("sell", Decimal("1000.00"))]


def test_orders_left_open_can_be_cancelled():
    fake = FakeCustodian(contract_seed(), today=TODAY, auto_fill=False)
    request = order("11112222", "BND", "buy", "2")
    (report,) = fake.submit([request])
    assert report.status == OrderStatus.SUBMITTED
    assert fake.cancel(request).status == OrderStatus.CANCELLED
    fake.execute()
    assert fake.track([request])[request.client_order_id].status == OrderStatus.CANCELLED


def test_a_security_without_a_price_is_rejected(fake):
    (report,) = fake.submit([order("11112222", "ZZZ", "buy", "1")])
    assert report.status == OrderStatus.REJECTED and "ZZZ" in report.message


def test_reads_can_be_made_to_fail_once(fake):
    fake.fail_next_read("transactions")
    with pytest.raises(CustodianError):
        fake.transactions("11112222", TODAY, TODAY)
    assert fake.transactions("11112222", TODAY, TODAY) == []
