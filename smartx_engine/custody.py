"""The custodian contract: what a custodian adapter (``register_custodians``) exchanges with the engine.

An adapter is an object with these members (see :class:`Custodian`; docs/custodians.md):

- ``name``: the value of the ``custodian`` column of the accounts it serves (``schwab``);
- ``supports_blocks``: whether it takes block orders (orders sharing a ``block_id``);
- ``accounts()``: a :class:`CustodianAccount` snapshot of every account it can see;
- ``transactions(account_number, start, end)``: the account's :class:`CustodianTransaction` s;
- ``submit(orders)``: send :class:`OrderRequest` s; one :class:`OrderReport` each;
- ``track(orders)``: what the custodian knows of orders sent *or perhaps sent*: a report each, or
  ``None`` for an order it never received (then, and only then, may the engine send it again);
- ``cancel(order)``: ask to cancel an open order; its report.

Optionally, ``sandbox(seed, directory)``: a context manager that starts the plugin's loopback
sandbox holding ``seed`` (the shape of :func:`smartx_engine.testing.contract_seed`, lots included)
and yields a :class:`SandboxSession`; ``smartx demo`` uses it to trade against every custodian.

Optionally, ``fee_deduction_file(debits, as_of)``: the custodian's file that asks it to debit
advisory fees from accounts (:class:`FeeDebit` s, one per account) as a :class:`FeeFile`;
``smartx report fees --deduction-files DIR`` writes it. Without it, or until a custodian's own
layout is known, :func:`fee_file_csv` is the generic layout.

Adapters raise :class:`smartx_engine.CustodianError` for refusals and malformed answers, and
:class:`OrderOutcomeUnknown` when an order may or may not have reached the custodian (a timeout
or a dropped connection after the request left): the engine then asks ``track`` later and never
resends blindly. Money, quantities and prices are ``Decimal``, dates are dates.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Protocol, runtime_checkable

import attrs

from .domain import OrderStatus, Side, TransactionType
from .errors import CustodianError
from .fixedpoint import to_decimal


class OrderOutcomeUnknown(CustodianError):
    """An order may or may not have reached the custodian; ``track`` it before anything else."""


def _optional_decimal(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else to_decimal(value)


@attrs.frozen
class CustodianPosition:
    """One security held in an account at the custodian (long quantity)."""

    symbol: str
    quantity: Decimal = attrs.field(converter=to_decimal)
    price: Decimal | None = attrs.field(default=None, converter=_optional_decimal)  # last price, if given


@attrs.frozen
class CustodianLot:
    """An open tax lot as the custodian reports it (custodians that report lots)."""

    symbol: str
    quantity: Decimal = attrs.field(converter=to_decimal)
    cost_basis: Decimal = attrs.field(converter=to_decimal)
    acquired: dt.date


@attrs.frozen
class CustodianAccount:
    """An account as the custodian sees it now."""

    number: str  # the custodian's account number (``accounts.custodian_account``)
    cash: Decimal = attrs.field(converter=to_decimal)
    positions: tuple[CustodianPosition, ...] = attrs.field(converter=tuple)
    #: open lots, or None when the custodian reports none (Schwab: rebuilt from transactions)
    lots: tuple[CustodianLot, ...] | None = attrs.field(default=None, converter=attrs.converters.optional(tuple))
    name: str | None = None
    #: the engine's registration for the custodian's account type when it maps to one (``ira``)
    registration: str | None = None


@attrs.frozen
class CustodianTransaction:
    """One posted transaction; ``amount`` is its signed cash effect."""

    transaction_id: str  # the custodian's id, unique within the account
    date: dt.date
    type: TransactionType = attrs.field(converter=TransactionType)
    amount: Decimal = attrs.field(converter=to_decimal)
    symbol: str | None = None
    quantity: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    price: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    order_id: str | None = None  # the custodian's order it executes, if any


@attrs.frozen
class LotInstruction:
    """Relieve ``quantity`` shares of the lots acquired on ``acquired`` ("versus purchase")."""

    acquired: dt.date
    quantity: Decimal = attrs.field(converter=to_decimal)


@attrs.frozen
class OrderRequest:
    """An order the engine sends (or may have sent): one account, one security, one side.

    ``client_order_id`` is assigned and recorded by the engine before anything is sent; a custodian
    that carries client ids echoes it, others are matched by their fields and ``placed_at``.
    Orders sharing a ``block_id`` form one block (adapters with ``supports_blocks``), executed
    together and allocated back to each account at the block's average price. A sell's ``lots``
    say which lots the engine relieves, in order and adding up to ``quantity``: an adapter that
    can instruct the custodian (specific lots, versus purchase) sends them, so that the custodian's
    lots stay the engine's; the others leave the custodian's default method (a reconciliation break
    may follow).
    """

    client_order_id: str
    account_number: str
    symbol: str
    side: Side = attrs.field(converter=Side)
    quantity: Decimal = attrs.field(converter=to_decimal)
    placed_at: dt.datetime  # when the engine recorded the order (UTC); the start of its time window
    batch_id: str  # the submission it belongs to: one `smartx trades submit` per custodian
    block_id: str | None = None
    custodian_order_id: str | None = None  # once the custodian has acknowledged it
    lots: tuple[LotInstruction, ...] = attrs.field(default=(), converter=tuple)


@attrs.frozen
class Execution:
    """One fill of an order (or of one block allocation) at the custodian."""

    execution_id: str  # unique within the order
    quantity: Decimal = attrs.field(converter=to_decimal)
    price: Decimal = attrs.field(converter=to_decimal)
    on: dt.date  # trade date


@attrs.frozen
class OrderReport:
    """What the custodian says of one order: its status and every execution so far."""

    client_order_id: str
    custodian_order_id: str | None
    status: OrderStatus = attrs.field(converter=OrderStatus)
    executions: tuple[Execution, ...] = attrs.field(default=(), converter=tuple)
    message: str | None = None

    @property
    def filled_quantity(self) -> Decimal:
        return sum((e.quantity for e in self.executions), Decimal(0))


@attrs.frozen
class FeeDebit:
    """A fee to debit from one account for one billing period, split by payee."""

    account_number: str  # the custodian's number of the account
    period: str  # 2026Q3
    start: dt.date
    end: dt.date
    amount: Decimal  # > 0: the invoice's total
    splits: tuple[tuple[str, str | None, Decimal], ...]  # (payee, recipient, amount), adding up to amount
    reference: str  # unique per account, period and schedules: a custodian can refuse a second debit

    def __attrs_post_init__(self) -> None:
        if self.amount <= 0 or sum((a for _, _, a in self.splits), Decimal(0)) != self.amount:
            raise ValueError(f"fee debit {self.reference}: the amount must be positive and the splits add up to it")


@attrs.frozen
class FeeFile:
    """A file for a custodian: its name and bytes."""

    filename: str
    content: bytes
    media_type: str = "text/csv"


FEE_FILE_COLUMNS = ("account_number", "period", "start", "end", "amount", "platform", "manager", "advisor",
                    "manager_split", "reference")


def fee_file_csv(custodian: str, debits: Sequence[FeeDebit], as_of: dt.date) -> FeeFile:
    """The generic fee-deduction file: ``fees_<custodian>_<period>_<YYYYMMDD>.csv``, UTF-8 with a
    header (:data:`FEE_FILE_COLUMNS`), one row per debit, amounts with 2 decimals; ``manager_split``
    lists each manager's part (``Acme Asset Mgmt:604.93;Beacon Capital:302.47``)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FEE_FILE_COLUMNS)
    for d in debits:
        by_payee = {payee: sum((a for p, _, a in d.splits if p == payee), Decimal("0.00"))
                    for payee in ("platform", "manager", "advisor")}
        managers = ";".join(f"{recipient or 'manager'}:{a:.2f}" for p, recipient, a in d.splits if p == "manager" and a)
        writer.writerow([d.account_number, d.period, d.start.isoformat(), d.end.isoformat(), f"{d.amount:.2f}",
                         *(f"{by_payee[p]:.2f}" for p in ("platform", "manager", "advisor")), managers, d.reference])
    periods = sorted({d.period for d in debits}) or ["none"]
    return FeeFile(f"fees_{custodian}_{'-'.join(periods)}_{as_of:%Y%m%d}.csv", out.getvalue().encode("utf-8"))


@attrs.frozen
class SandboxSession:
    """A running sandbox: the environment that points the plugin at it, and how to make it execute."""

    environment: Mapping[str, str]  # SMARTX_<PLUGIN>_* variables, as an operator would export them
    settle: Callable[[dt.date], None]  # execute what was sent, as of a trade date (no-op: fills at once)


@runtime_checkable
class Custodian(Protocol):
    """What ``register_custodians`` registers (see the module docstring)."""

    name: str
    supports_blocks: bool

    def accounts(self) -> Sequence[CustodianAccount]: ...

    def transactions(self, account_number: str, start: dt.date, end: dt.date) -> Sequence[CustodianTransaction]: ...

    def submit(self, orders: Sequence[OrderRequest]) -> Sequence[OrderReport]: ...

    def track(self, orders: Sequence[OrderRequest]) -> Mapping[str, OrderReport | None]: ...

    def cancel(self, order: OrderRequest) -> OrderReport: ...


def allocate_pro_rata(total: Decimal, wanted: Mapping[str, Decimal], step: Decimal = Decimal(1)) -> dict[str, Decimal]:
    """Split ``total`` over ``wanted`` in proportion, in whole multiples of ``step``.

    Each key first gets ``floor(total x wanted / sum(wanted))`` steps; the steps left go one each
    to the largest remainders, ties to the key that sorts first. No key gets more than it wanted,
    and the parts add up to ``total`` exactly (``total`` must be a multiple of ``step`` and at most
    the sum wanted). Used to allocate a block's partial fill to its accounts and an account order's
    fill to the sleeves' trades (docs/custodians.md, "Allocation").
    """
    whole = sum(wanted.values(), Decimal(0))
    if total < 0 or total > whole:
        raise ValueError(f"cannot allocate {total} over {whole} wanted")
    if total % step:
        raise ValueError(f"{total} is not a multiple of the step {step}")
    if not total:
        return dict.fromkeys(wanted, Decimal(0))
    exact = {k: Fraction(total) * Fraction(w) / Fraction(whole) / Fraction(step) for k, w in wanted.items()}
    steps = {k: math.floor(x) for k, x in exact.items()}
    left = int(total / step) - sum(steps.values())
    room = [k for k in sorted(exact, key=lambda k: (-(exact[k] - steps[k]), k))
            if (steps[k] + 1) * step <= wanted[k]]
    for key in room[:left]:
        steps[key] += 1
    return {k: steps[k] * step for k in wanted}
