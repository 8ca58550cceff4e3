"""An in-memory custodian for unit tests: the engine's own and plugin authors'.

:class:`FakeCustodian` holds accounts (cash, positions and optionally lots), prices and posted
transactions in memory, and implements the :class:`smartx_engine.custody.Custodian` protocol:

- market orders fill at once at the fake's price (``auto_fill=False`` keeps them open until
  :meth:`FakeCustodian.execute`); a sell beyond the position, or an order for a security without
  a price, is rejected;
- every fill posts a buy or sell transaction and moves cash (and lots, for accounts seeded with
  lots: a buy adds a lot, a sell relieves the oldest first);
- ``track`` finds an order by its custodian order id, or, for an order sent but never
  acknowledged, by its client order id;
- :meth:`FakeCustodian.fail_next_submit` simulates a lost answer, and
  :meth:`FakeCustodian.fail_next_read` a custodian sending something the engine cannot use.

Its seed has the shape of :func:`smartx_engine.testing.contract_seed`, with two optional keys per
account: ``"lots"`` (``{SYMBOL: [{"quantity", "cost_basis", "acquired"}, ...]}``) and
``"transactions"`` (a list of :class:`~smartx_engine.custody.CustodianTransaction`)::

    fake = FakeCustodian(contract_seed(), name="schwab", today=date(2026, 11, 20))
    fake.set_position("11112222", "VTI", "119")       # make the custodian disagree with the book
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from ..custody import (
    CustodianAccount, CustodianLot, CustodianPosition, CustodianTransaction, Execution, OrderOutcomeUnknown,
    OrderReport, OrderRequest,
)
from ..domain import OrderStatus, Side, TransactionType
from ..errors import CustodianError
from ..fixedpoint import round_money, to_decimal

#: what :meth:`FakeCustodian.fail_next_submit` can simulate
SUBMIT_FAILURES = ("unknown", "lost", "raise")


@attrs.define
class _Account:
    number: str
    cash: Decimal
    positions: dict[str, Decimal]
    lots: list[CustodianLot] | None
    transactions: list[CustodianTransaction]
    name: str | None = None
    registration: str | None = None


@attrs.define
class _Order:
    request: OrderRequest
    custodian_order_id: str
    status: OrderStatus
    executions: list[Execution] = attrs.Factory(list)
    message: str | None = None

    def report(self) -> OrderReport:
        return OrderReport(self.request.client_order_id, self.custodian_order_id, self.status,
                           tuple(self.executions), self.message)


class FakeCustodian:
    """An in-memory custodian; see the module docstring."""

    def __init__(self, seed: Mapping[str, Any], name: str = "fake", supports_blocks: bool = True, *,
                 today: dt.date | None = None, auto_fill: bool = True) -> None:
        self.name = name
        self.supports_blocks = supports_blocks
        self.today = today or dt.date.today()
        self.auto_fill = auto_fill
        self.prices: dict[str, Decimal] = {s: to_decimal(p) for s, p in seed.get("prices", {}).items()}
        self._accounts: dict[str, _Account] = {}
        for number, spec in seed.get("accounts", {}).items():
            self.add_account(number, spec.get("cash", "0"), spec.get("positions", {}), lots=spec.get("lots"),
                             transactions=spec.get("transactions", ()), name=spec.get("name"),
                             registration=spec.get("registration"))
        self._orders: dict[str, _Order] = {}  # by client order id
        self._ids = itertools.count(1)
        self._submit_failure: str | None = None
        self._read_failures: dict[str, Exception] = {}
        #: every call made, as (method, first argument): for tests that check what was asked
        self.calls: list[tuple[str, Any]] = []

    # ------------------------------------------------------------------ arranging the world

    def add_account(self, number: str, cash: Decimal | str = "0", positions: Mapping[str, Any] | None = None, *,
                    lots: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                    transactions: Sequence[CustodianTransaction] = (), name: str | None = None,
                    registration: str | None = None) -> None:
        """Open an account (replacing one with that number)."""
        seeded_lots = None if lots is None else [
            CustodianLot(symbol, to_decimal(lot["quantity"]), to_decimal(lot["cost_basis"]),
                         _as_date(lot["acquired"]))
            for symbol, symbol_lots in lots.items() for lot in symbol_lots]
        self._accounts[number] = _Account(number, to_decimal(cash),
                                          {s: to_decimal(q) for s, q in (positions or {}).items()},
                                          seeded_lots, list(transactions), name, registration)

    def remove_account(self, number: str) -> None:
        """Close an account: the custodian no longer reports it."""
        del self._accounts[self._account(number).number]

    def set_cash(self, number: str, cash: Decimal | str) -> None:
        self._account(number).cash = to_decimal(cash)

    def set_position(self, number: str, symbol: str, quantity: Decimal | str) -> None:
        """Set a position's quantity (0 removes it); lots are left as they are."""
        account = self._account(number)
        account.positions[symbol] = to_decimal(quantity)
        if not account.positions[symbol]:
            del account.positions[symbol]

    def set_lots(self, number: str, lots: Sequence[CustodianLot] | None) -> None:
        """Replace the lots an account reports (None: it reports no lots)."""
        self._account(number).lots = None if lots is None else list(lots)

    def set_price(self, symbol: str, price: Decimal | str) -> None:
        self.prices[symbol] = to_decimal(price)

    def post(self, number: str, transaction: CustodianTransaction) -> None:
        """Post a transaction to an account's history (it moves no cash nor positions)."""
        self._account(number).transactions.append(transaction)

    def fail_next_submit(self, how: str = "unknown") -> None:
        """Make the next ``submit`` lose its answer.

        ``"unknown"``: the orders are accepted (and filled) but the reports say PENDING without a
        custodian order id, as when the answer was lost; ``"raise"``: the orders are accepted and
        ``submit`` raises :class:`~smartx_engine.custody.OrderOutcomeUnknown`; ``"lost"``: the
        orders never arrive and the reports say PENDING (``track`` then finds nothing).
        """
        if how not in SUBMIT_FAILURES:
            raise ValueError(f"fail_next_submit takes one of {', '.join(SUBMIT_FAILURES)}, not {how!r}")
        self._submit_failure = how

    def fail_next_read(self, method: str, error: Exception | None = None) -> None:
        """Make the next call of ``accounts`` or ``transactions`` raise ``error`` (a CustodianError)."""
        if method not in ("accounts", "transactions"):
            raise ValueError(f"fail_next_read takes 'accounts' or 'transactions', not {method!r}")
        self._read_failures[method] = error or CustodianError(f"{self.name} sent a malformed {method} answer")

    def execute(self) -> None:
        """Fill every open order at the current prices (with ``auto_fill=False``; a contract ``settle``)."""
        for order in list(self._orders.values()):
            if order.status == OrderStatus.SUBMITTED:
                self._fill(order)

    # ------------------------------------------------------------------ reading

    def accounts(self) -> list[CustodianAccount]:
        self.calls.append(("accounts", None))
        self._maybe_fail("accounts")
        return [CustodianAccount(
            number=a.number, cash=a.cash,
            positions=tuple(CustodianPosition(s, q, self.prices.get(s)) for s, q in sorted(a.positions.items()) if q),
            lots=None if a.lots is None else tuple(sorted(a.lots, key=lambda lot: (lot.symbol, lot.acquired))),
            name=a.name, registration=a.registration) for a in self._accounts.values()]

    def transactions(self, account_number: str, start: dt.date, end: dt.date) -> list[CustodianTransaction]:
        self.calls.append(("transactions", account_number))
        self._maybe_fail("transactions")
        account = self._account(account_number)
        return sorted((t for t in account.transactions if start <= t.date <= end),
                      key=lambda t: (t.date, t.transaction_id))

    # ------------------------------------------------------------------ orders

    def submit(self, orders: Sequence[OrderRequest]) -> list[OrderReport]:
        self.calls.append(("submit", [o.client_order_id for o in orders]))
        failure, self._submit_failure = self._submit_failure, None
        if failure == "lost":
            return [OrderReport(o.client_order_id, None, OrderStatus.PENDING, message="no answer") for o in orders]
        reports = []
        for request in orders:
            if request.client_order_id in self._orders:  # the same order again: the custodian refuses duplicates
                reports.append(self._orders[request.client_order_id].report())
                continue
            if request.block_id is not None and not self.supports_blocks:
                raise CustodianError(f"{self.name} takes no block orders (order {request.client_order_id})")
            order = _Order(request, f"{self.name.upper()}-{next(self._ids):06d}", OrderStatus.SUBMITTED)
            self._orders[request.client_order_id] = order
            if self.auto_fill:
                self._fill(order)
            reports.append(order.report())
        if failure == "raise":
            raise OrderOutcomeUnknown(f"{self.name}: the connection dropped after the orders were sent")
        if failure == "unknown":
            return [OrderReport(r.client_order_id, None, OrderStatus.PENDING, message="no answer") for r in reports]
        return reports

    def track(self, orders: Sequence[OrderRequest]) -> dict[str, OrderReport | None]:
        self.calls.append(("track", [o.client_order_id for o in orders]))
        by_custodian_id = {o.custodian_order_id: o for o in self._orders.values()}
        found: dict[str, OrderReport | None] = {}
        for request in orders:
            order = (by_custodian_id.get(request.custodian_order_id) if request.custodian_order_id
                     else self._orders.get(request.client_order_id))
            found[request.client_order_id] = order.report() if order else None
        return found

    def cancel(self, order: OrderRequest) -> OrderReport:
        self.calls.append(("cancel", order.client_order_id))
        known = self._orders.get(order.client_order_id)
        if known is None:
            raise CustodianError(f"{self.name} has no order {order.client_order_id}")
        if known.status == OrderStatus.SUBMITTED:
            known.status, known.message = OrderStatus.CANCELLED, "cancelled at the client's request"
        return known.report()

    def orders(self) -> list[OrderReport]:
        """Every order received, in the order they arrived."""
        return [o.report() for o in self._orders.values()]

    # ------------------------------------------------------------------ inside

    def _account(self, number: str) -> _Account:
        if number not in self._accounts:
            raise CustodianError(f"{self.name} has no account {number}")
        return self._accounts[number]

    def _maybe_fail(self, method: str) -> None:
        if method in self._read_failures:
            raise self._read_failures.pop(method)

    def _fill(self, order: _Order) -> None:
        request = order.request
        account = self._accounts.get(request.account_number)
        price = self.prices.get(request.symbol)
        held = account.positions.get(request.symbol, Decimal(0)) if account else Decimal(0)
        if account is None:
            order.status, order.message = OrderStatus.REJECTED, f"no account {request.account_number}"
        elif price is None:
            order.status, order.message = OrderStatus.REJECTED, f"no market for {request.symbol}"
        elif request.side == Side.SELL and request.quantity > held:
            order.status = OrderStatus.REJECTED
            order.message = f"sell of {request.quantity} {request.symbol} exceeds the position of {held}"
        if order.status == OrderStatus.REJECTED:
            return
        assert account is not None and price is not None
        quantity, amount = request.quantity, round_money(request.quantity * price)
        sign = 1 if request.side == Side.BUY else -1
        account.positions[request.symbol] = held + sign * quantity
        if not account.positions[request.symbol]:
            del account.positions[request.symbol]
        account.cash -= sign * amount
        if account.lots is not None:
            self._move_lots(account, request.symbol, sign * quantity, amount)
        n = next(self._ids)
        order.executions.append(Execution(f"X{n:06d}", quantity, price, self.today))
        order.status = OrderStatus.FILLED
        account.transactions.append(CustodianTransaction(
            transaction_id=f"T{n:06d}", date=self.today,
            type=TransactionType.BUY if sign > 0 else TransactionType.SELL, amount=-sign * amount,
            symbol=request.symbol, quantity=quantity, price=price, order_id=order.custodian_order_id))

    def _move_lots(self, account: _Account, symbol: str, change: Decimal, amount: Decimal) -> None:
        assert account.lots is not None
        if change > 0:
            account.lots.append(CustodianLot(symbol, change, amount, self.today))
            return
        left = -change
        kept = []
        for lot in sorted(account.lots, key=lambda lot: (lot.acquired, lot.symbol)):
            if lot.symbol != symbol or not left:
                kept.append(lot)
                continue
            taken = min(left, lot.quantity)
            left -= taken
            if taken < lot.quantity:
                rest = lot.quantity - taken
                kept.append(CustodianLot(symbol, rest, round_money(lot.cost_basis * rest / lot.quantity), lot.acquired))
        account.lots = kept


def _as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
