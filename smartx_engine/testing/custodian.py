"""The custodian contract suite: what every ``register_custodians`` adapter must do.

Subclass :class:`CustodianContract` and provide the fixture ``make_custodian``: a callable that
takes a seed (the shape :func:`contract_seed` returns) and gives a :class:`ContractWorld`, the
adapter talking to a fresh sandbox holding exactly those accounts and prices. ``settle`` makes
the sandbox execute what it has been sent (a file drop, an end of day); for custodians that fill
at once it does nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs
import pytest

from ..custody import Custodian, CustodianAccount, FeeDebit, FeeFile, OrderReport, OrderRequest, SandboxSession
from ..domain import OrderStatus, Side, TransactionType

Seed = Mapping[str, Any]


@attrs.frozen
class ContractWorld:
    """An adapter wired to a sandbox, and how to make the sandbox execute what it was sent."""

    custodian: Custodian
    settle: Callable[[], None] = lambda: None


def contract_seed() -> dict[str, Any]:
    """Two accounts and three prices: what the contract's sandboxes are seeded with.

    ``{"accounts": {NUMBER: {"cash": USD, "positions": {SYMBOL: QUANTITY}}}, "prices": {SYMBOL: USD}}``;
    every value is a decimal string.
    """
    return {
        "accounts": {
            "11112222": {"cash": "25000.00", "positions": {"VTI": "120", "AGG": "50"}},
            "33334444": {"cash": "8000.00", "positions": {"VTI": "10"}},
        },
        "prices": {"VTI": "250.00", "AGG": "98.00", "BND": "72.50"},
    }


_COUNTER = iter(range(1, 1_000_000))


def order(account: str, symbol: str, side: str, quantity: str, *, block_id: str | None = None,
          batch_id: str | None = None) -> OrderRequest:
    """A fresh order request (a new client order id each call)."""
    n = next(_COUNTER)
    return OrderRequest(client_order_id=f"CT-{n:06d}", account_number=account, symbol=symbol, side=Side(side),
                        quantity=Decimal(quantity), placed_at=dt.datetime.now(dt.timezone.utc),
                        batch_id=batch_id or f"CTB-{n:06d}", block_id=block_id)


def acknowledged(request: OrderRequest, report: OrderReport) -> OrderRequest:
    return attrs.evolve(request, custodian_order_id=report.custodian_order_id)


class CustodianContract:
    """The contract every custodian adapter passes; subclass it with a ``make_custodian`` fixture."""

    @pytest.fixture
    def make_custodian(self) -> Callable[[Seed], ContractWorld]:
        raise NotImplementedError("a CustodianContract subclass provides the make_custodian fixture")

    @pytest.fixture
    def world(self, make_custodian: Callable[[Seed], ContractWorld]) -> ContractWorld:
        return make_custodian(contract_seed())

    def _filled(self, world: ContractWorld, request: OrderRequest) -> OrderReport:
        (report,) = world.custodian.submit([request])
        world.settle()
        tracked = world.custodian.track([acknowledged(request, report)])[request.client_order_id]
        assert tracked is not None
        return tracked

    # ---------------------------------------------------------------- the adapter

    def test_it_is_a_custodian_with_a_name(self, world: ContractWorld) -> None:
        assert isinstance(world.custodian, Custodian)
        assert isinstance(world.custodian.name, str) and world.custodian.name
        assert isinstance(world.custodian.supports_blocks, bool)

    def test_its_fee_deduction_file_names_every_account_and_amount(self, world: ContractWorld) -> None:
        """``fee_deduction_file(debits, as_of)`` is optional; when offered, it gives a file that
        carries each debit's account number, amount and reference."""
        if not hasattr(world.custodian, "fee_deduction_file"):
            pytest.skip("this adapter writes no fee-deduction file (the engine's generic one is used)")
        numbers = sorted(contract_seed()["accounts"])
        debits = [FeeDebit(number, "2026Q3", dt.date(2026, 7, 1), dt.date(2026, 9, 30), Decimal(amount),
                           (("platform", None, Decimal("10.00")), ("advisor", None, Decimal(amount) - 10)),
                           f"2026Q3-{number}")
                  for number, amount in zip(numbers, ("1234.56", "98.70"))]
        file = world.custodian.fee_deduction_file(debits, dt.date(2026, 10, 2))
        assert isinstance(file, FeeFile) and file.filename and isinstance(file.content, bytes)
        text = file.content.decode("utf-8")
        for debit in debits:
            assert debit.account_number in text and f"{debit.amount:.2f}" in text and debit.reference in text

    def test_its_sandbox_session_points_the_registered_adapter_at_a_seeded_sandbox(
            self, world: ContractWorld, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """``sandbox(seed, directory)`` is optional (``smartx demo`` uses it); when given, the
        session's environment alone points the registered adapter at the seeded sandbox."""
        if not hasattr(world.custodian, "sandbox"):
            pytest.skip("this adapter has no sandbox for smartx demo")
        from ..custodians import custodians

        seed = contract_seed()
        with world.custodian.sandbox(seed, tmp_path) as session:
            assert isinstance(session, SandboxSession)
            monkeypatch.setenv("SMARTX_CONFIG", str(tmp_path / "no-config.toml"))
            for key, value in session.environment.items():
                monkeypatch.setenv(key, value)
            (adapter,) = custodians(world.custodian.name).values()
            held = {a.number: {p.symbol: p.quantity for p in a.positions if p.quantity} for a in adapter.accounts()}
            session.settle(dt.date.today())
        assert held == {n: {s: Decimal(q) for s, q in a["positions"].items()} for n, a in seed["accounts"].items()}

    # ---------------------------------------------------------------- reading

    def test_accounts_hold_exactly_the_seeded_cash_and_positions(self, world: ContractWorld) -> None:
        accounts = {a.number: a for a in world.custodian.accounts()}
        for number, seeded in contract_seed()["accounts"].items():
            account = accounts[number]
            assert isinstance(account, CustodianAccount)
            assert account.cash == Decimal(seeded["cash"]) and isinstance(account.cash, Decimal)
            held = {p.symbol: p.quantity for p in account.positions if p.quantity}
            assert held == {s: Decimal(q) for s, q in seeded["positions"].items()}

    # ---------------------------------------------------------------- orders

    def test_a_market_buy_is_acknowledged_then_filled(self, world: ContractWorld) -> None:
        request = order("11112222", "BND", "buy", "10")
        (report,) = world.custodian.submit([request])
        assert report.client_order_id == request.client_order_id
        assert report.custodian_order_id
        assert report.status in (OrderStatus.SUBMITTED, OrderStatus.FILLED)
        world.settle()
        tracked = world.custodian.track([acknowledged(request, report)])[request.client_order_id]
        assert tracked.status == OrderStatus.FILLED
        assert tracked.custodian_order_id == report.custodian_order_id
        assert tracked.filled_quantity == Decimal(10)
        assert all(e.price > 0 and isinstance(e.on, dt.date) for e in tracked.executions)
        assert len({e.execution_id for e in tracked.executions}) == len(tracked.executions)

    def test_tracking_again_reports_the_same_executions(self, world: ContractWorld) -> None:
        request = order("11112222", "BND", "buy", "4")
        first = self._filled(world, request)
        again = world.custodian.track([acknowledged(request, first)])[request.client_order_id]
        assert again.executions == first.executions

    def test_an_order_sent_but_never_acknowledged_is_found(self, world: ContractWorld) -> None:
        # After a crash or a lost answer the engine knows only what it recorded before sending.
        request = order("33334444", "AGG", "buy", "3")
        (report,) = world.custodian.submit([request])
        found = world.custodian.track([request])[request.client_order_id]
        assert found is not None
        assert found.custodian_order_id == report.custodian_order_id

    def test_an_order_never_sent_is_not_found(self, world: ContractWorld) -> None:
        world.custodian.submit([order("33334444", "AGG", "buy", "3")])
        never = order("33334444", "AGG", "buy", "3")
        assert world.custodian.track([never]) == {never.client_order_id: None}

    def test_a_sell_beyond_the_position_is_rejected(self, world: ContractWorld) -> None:
        tracked = self._filled(world, order("33334444", "VTI", "sell", "11"))
        assert tracked.status == OrderStatus.REJECTED
        assert tracked.filled_quantity == 0
        assert tracked.message

    def test_a_fill_shows_in_positions_cash_and_transactions(self, world: ContractWorld) -> None:
        before = {a.number: a for a in world.custodian.accounts()}["11112222"]
        tracked = self._filled(world, order("11112222", "AGG", "sell", "20"))
        after = {a.number: a for a in world.custodian.accounts()}["11112222"]
        assert {p.symbol: p.quantity for p in after.positions}["AGG"] == Decimal(30)
        proceeds = sum((e.quantity * e.price for e in tracked.executions), Decimal(0))
        assert abs(after.cash - before.cash - proceeds) <= Decimal("0.01") * len(tracked.executions)
        days = [e.on for e in tracked.executions]
        posted = world.custodian.transactions("11112222", min(days) - dt.timedelta(days=3),
                                              max(days) + dt.timedelta(days=3))
        sells = [t for t in posted if t.type == TransactionType.SELL and t.symbol == "AGG"]
        assert sum((t.quantity for t in sells), Decimal(0)) == Decimal(20)

    def test_a_block_fills_every_account_at_one_average_price(self, world: ContractWorld) -> None:
        if not world.custodian.supports_blocks:
            pytest.skip("this custodian takes no block orders")
        requests = [order("11112222", "BND", "buy", "30", block_id="BLK-CT-1", batch_id="CTB-BLOCK"),
                    order("33334444", "BND", "buy", "12", block_id="BLK-CT-1", batch_id="CTB-BLOCK")]
        reports = world.custodian.submit(requests)
        assert [r.client_order_id for r in reports] == [r.client_order_id for r in requests]
        world.settle()
        tracked = world.custodian.track([acknowledged(q, r) for q, r in zip(requests, reports)])
        averages = set()
        for request in requests:
            report = tracked[request.client_order_id]
            assert report.status == OrderStatus.FILLED and report.filled_quantity == request.quantity
            averages.add(sum(e.quantity * e.price for e in report.executions) / report.filled_quantity)
        assert len(averages) == 1
