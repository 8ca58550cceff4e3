"""Wealthscape-style order and block-allocation import files, and the result files that come back.

Outbox (written by the engine, imported into Wealthscape, where orders land in "Orders Unsent"):

* ``orders_<batch>.csv``, "Import Orders": columns A-H of the Wealthscape help page
  (Account Number(20), Account Type(1), Order Action(3), Quantity(10, up to 3 decimals),
  Symbol(30), Price Type(2), Time In Force(1), Stop/Limit Price(10)), then ``Client Order ID``
  and ``Versus Purchase``.
* ``blocks_<batch>.csv``, "Import Block Orders & Allocations": Account Number(20), Account Type(1),
  Order Action(3), Quantity(10), Symbol/CUSIP(14), Price Type, Time In Force, Stop/Limit Price, then
  ``Trade Type`` (``BLOCK`` for the block account's order, ``ALLOCATION`` for each end account),
  ``Block ID``, ``Client Order ID`` and ``Versus Purchase`` (allocations only).

``Versus Purchase`` is a sell's specific-lot instruction: ``YYYY-MM-DD:QUANTITY`` pairs joined by
``;`` (sell QUANTITY shares of the lots bought on that date, in that order), adding up to the
order's quantity; empty for the account's default method (first in, first out).

The columns after H are not public (the help page says "more columns follow"); ours carry the
engine's ids so that results can be matched to orders. Codes: Order Action ``B`` buy, ``S`` sell;
Price Type ``M`` market, ``L`` limit; Time In Force ``D`` day; Account Type ``1`` cash.

Inbox (execution results; the real layouts are partner-only, so these are ours, same spirit):

* ``executions_<outbox file stem>.csv``: EXECUTION_COLUMNS, one row per order or block.
* ``allocations_<outbox file stem>.csv``: ALLOCATION_COLUMNS, one row per end account of a block,
  at the block's average price.

Every file is written whole (to a temporary name, then renamed) and read whole: a malformed file
raises one :class:`smartx_engine.DataError` naming each bad file, line and column, and nothing is
returned. :mod:`.simulator` plays the custodian: it executes an outbox into an inbox.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import os
import re
import threading
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path

import attrs

from smartx_engine import (
    PRICE, QUANTITY, ConflictError, CsvFile, CsvRow, Diagnostic, Diagnostics, LotInstruction, Side,
)
from smartx_engine.csvfiles import ParseError, decimal, iso_date

ORDER_COLUMNS = ("Account Number", "Account Type", "Order Action", "Quantity", "Symbol", "Price Type",
                 "Time In Force", "Stop/Limit Price", "Client Order ID", "Versus Purchase")
BLOCK_COLUMNS = ("Account Number", "Account Type", "Order Action", "Quantity", "Symbol/CUSIP", "Price Type",
                 "Time In Force", "Stop/Limit Price", "Trade Type", "Block ID", "Client Order ID", "Versus Purchase")
EXECUTION_COLUMNS = ("Client Order ID", "Account Number", "Order Action", "Symbol", "Quantity",
                     "Filled Quantity", "Average Price", "Status", "Trade Date", "Settlement Date")
ALLOCATION_COLUMNS = ("Block ID", "Client Order ID", "Account Number", "Order Action", "Symbol", "Quantity",
                      "Average Price", "Trade Date", "Settlement Date")

ACTIONS = {Side.BUY: "B", Side.SELL: "S"}
SIDES = {code: side for side, code in ACTIONS.items()}
MARKET, LIMIT = "M", "L"
DAY = "D"
CASH_ACCOUNT = "1"
ORDER_QUANTITY_UNIT = Decimal("0.001")  # "up to 3 decimals"
_BATCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")


class ExecutionStatus(enum.StrEnum):
    FILLED = "filled"
    PARTIAL = "partial"
    REJECTED = "rejected"
    EXPIRED = "expired"


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


def _width(limit: int):
    def check(instance: object, attribute: attrs.Attribute, value: str) -> None:
        if not value or len(value) > limit or "," in value or "\n" in value:
            raise ValueError(f"{attribute.name} {value!r} must be 1 to {limit} characters, without commas")
    return check


def _order_quantity(instance: object, attribute: attrs.Attribute, value: Decimal) -> None:
    if value <= 0 or value != value.quantize(ORDER_QUANTITY_UNIT) or len(number_text(value)) > 10:
        raise ValueError(f"{attribute.name} {value} must be positive, with at most 3 decimals and 10 characters")


def _limit_price(instance: object, attribute: attrs.Attribute, value: Decimal | None) -> None:
    if value is not None and (value <= 0 or len(number_text(value)) > 10):
        raise ValueError(f"{attribute.name} {value} must be positive and at most 10 characters")


def _versus_purchase(instance: object, attribute: attrs.Attribute, value: tuple[LotInstruction, ...]) -> None:
    if not value:
        return
    if getattr(instance, "side", Side.SELL) is not Side.SELL:
        raise ValueError("only a sell names the lots it sells (Versus Purchase)")
    if sum((i.quantity for i in value), Decimal(0)) != instance.quantity:  # type: ignore[attr-defined]
        raise ValueError(f"the Versus Purchase lots add up to {sum(i.quantity for i in value)}, "
                         f"not the quantity {instance.quantity}")  # type: ignore[attr-defined]


def versus_purchase(text: str) -> tuple[LotInstruction, ...]:
    """Parse a ``Versus Purchase`` field (see the module docstring)."""
    lots = []
    for part in text.split(";"):
        acquired, _, quantity = part.partition(":")
        try:
            lots.append(LotInstruction(dt.date.fromisoformat(acquired.strip()), _positive_quantity(quantity.strip())))
        except (ValueError, ArithmeticError):
            raise ParseError(f"bad lot {part!r}", hint="YYYY-MM-DD:QUANTITY pairs joined by ';'") from None
    return tuple(lots)


def _lots_text(lots: Iterable[LotInstruction]) -> str:
    return ";".join(f"{i.acquired.isoformat()}:{number_text(i.quantity)}" for i in lots)


def _decimal(value: Decimal | str | None) -> Decimal | None:
    if isinstance(value, float):
        raise TypeError("quantities and prices are never floats; pass a Decimal or a string")
    return None if value is None else Decimal(value)


@attrs.frozen
class OrderLine:
    """One order of an "Import Orders" file."""

    client_order_id: str = attrs.field(validator=_width(40))
    account_number: str = attrs.field(validator=_width(20))
    side: Side = attrs.field(converter=Side)
    quantity: Decimal = attrs.field(converter=_decimal, validator=_order_quantity)
    symbol: str = attrs.field(validator=_width(30))
    limit_price: Decimal | None = attrs.field(default=None, converter=_decimal, validator=_limit_price)
    time_in_force: str = DAY
    account_type: str = CASH_ACCOUNT
    lots: tuple[LotInstruction, ...] = attrs.field(default=(), converter=tuple, validator=_versus_purchase)

    @property
    def price_type(self) -> str:
        return MARKET if self.limit_price is None else LIMIT


@attrs.frozen
class Allocation:
    """One end account's share of a block."""

    client_order_id: str = attrs.field(validator=_width(40))
    account_number: str = attrs.field(validator=_width(20))
    quantity: Decimal = attrs.field(converter=_decimal, validator=_order_quantity)
    account_type: str = CASH_ACCOUNT
    lots: tuple[LotInstruction, ...] = attrs.field(default=(), converter=tuple, validator=_versus_purchase)


@attrs.frozen
class BlockOrder:
    """A block in a block account (one security, one side) and its allocations to end accounts."""

    block_id: str = attrs.field(validator=_width(40))
    block_account: str = attrs.field(validator=_width(20))
    side: Side = attrs.field(converter=Side)
    symbol: str = attrs.field(validator=_width(14))
    allocations: tuple[Allocation, ...] = attrs.field(converter=tuple)
    limit_price: Decimal | None = attrs.field(default=None, converter=_decimal, validator=_limit_price)
    time_in_force: str = DAY

    def __attrs_post_init__(self) -> None:
        if not self.allocations:
            raise ValueError(f"block {self.block_id} has no allocations")
        _order_quantity(self, attrs.fields(BlockOrder).allocations, self.quantity)

    @property
    def quantity(self) -> Decimal:
        return sum((a.quantity for a in self.allocations), Decimal(0))

    @property
    def price_type(self) -> str:
        return MARKET if self.limit_price is None else LIMIT


@attrs.frozen
class Execution:
    """One row of an execution result file: what became of an order or a block."""

    file: str
    line: int
    client_order_id: str
    account_number: str
    side: Side
    symbol: str
    quantity: Decimal
    filled_quantity: Decimal
    average_price: Decimal | None
    status: ExecutionStatus
    trade_date: dt.date
    settlement_date: dt.date | None


@attrs.frozen
class AllocationResult:
    """One row of an allocation result file: an end account's share of a block's executions."""

    file: str
    line: int
    block_id: str
    client_order_id: str
    account_number: str
    side: Side
    symbol: str
    quantity: Decimal
    average_price: Decimal
    trade_date: dt.date
    settlement_date: dt.date


@attrs.frozen
class InboxResults:
    """Everything read from an inbox: every file, or (on any problem) nothing."""

    files: tuple[str, ...]
    executions: tuple[Execution, ...]
    allocations: tuple[AllocationResult, ...]


# ---------------------------------------------------------------------------
# Writing the outbox
# ---------------------------------------------------------------------------


def write_orders(outbox: Path, batch: str, orders: Iterable[OrderLine]) -> Path:
    """Write ``orders_<batch>.csv`` into ``outbox``; an existing batch is never overwritten."""
    rows = [[o.account_number, o.account_type, ACTIONS[o.side], number_text(o.quantity), o.symbol, o.price_type,
             o.time_in_force, number_text(o.limit_price), o.client_order_id, _lots_text(o.lots)] for o in orders]
    return write_csv(Path(outbox) / f"orders_{_batch(batch)}.csv", ORDER_COLUMNS, rows)


def write_blocks(outbox: Path, batch: str, blocks: Iterable[BlockOrder]) -> Path:
    """Write ``blocks_<batch>.csv``: each block's row, then one row per allocation."""
    rows = []
    for b in blocks:
        common = [ACTIONS[b.side]]
        rows.append([b.block_account, CASH_ACCOUNT, *common, number_text(b.quantity), b.symbol, b.price_type,
                     b.time_in_force, number_text(b.limit_price), "BLOCK", b.block_id, b.block_id, ""])
        rows.extend([a.account_number, a.account_type, *common, number_text(a.quantity), b.symbol, b.price_type,
                     b.time_in_force, number_text(b.limit_price), "ALLOCATION", b.block_id, a.client_order_id,
                     _lots_text(a.lots)] for a in b.allocations)
    return write_csv(Path(outbox) / f"blocks_{_batch(batch)}.csv", BLOCK_COLUMNS, rows)


def _batch(batch: str) -> str:
    if not _BATCH.match(batch):
        raise ValueError(f"batch name {batch!r} must be letters, digits, '-' and '_'")
    return batch


def number_text(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def write_csv(path: Path, header: Iterable[str], rows: list[list[str]]) -> Path:
    """Write a whole CSV file atomically; refuse to overwrite, even against a concurrent writer.

    The text goes to a temporary file (flushed to disk), which is then hard-linked to its name:
    linking fails if the name exists, so two writers of one batch cannot both succeed. Where hard
    links are not supported the file is renamed into place after an existence check.
    """
    if path.exists():
        raise ConflictError(f"{path} already exists; a batch is written once")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with tmp.open("x", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise ConflictError(f"{path} already exists; a batch is written once") from None
        except OSError:  # no hard links here: rename, after checking again
            if path.exists():
                raise ConflictError(f"{path} already exists; a batch is written once") from None
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# ---------------------------------------------------------------------------
# Reading files (outbox and inbox), whole or not at all
# ---------------------------------------------------------------------------


def _action(text: str) -> Side:
    try:
        return SIDES[text.upper()]
    except KeyError:
        raise ParseError(f"unknown order action {text!r}", hint="B (buy) or S (sell)") from None


def _status(text: str) -> ExecutionStatus:
    try:
        return ExecutionStatus(text.lower())
    except ValueError:
        raise ParseError(f"unknown status {text!r}",
                         hint="one of: " + ", ".join(s.value.upper() for s in ExecutionStatus)) from None


_quantity = decimal(QUANTITY, minimum=Decimal(0))
_positive_quantity = decimal(QUANTITY, minimum=Decimal(0), strict_minimum=True)
_price = decimal(PRICE, minimum=Decimal(0), strict_minimum=True)


def _rows(path: Path, columns: Iterable[str], diagnostics: Diagnostics) -> Iterator[CsvRow]:
    """The rows of ``path`` read by the kernel's CsvFile, after checking that the file does not end
    in the middle of a row; a truncated last row is reported once, as truncated, with its field."""
    columns = list(columns)
    truncated = _check_truncation(path, columns, diagnostics)
    file = CsvFile(path, str(path), columns, [], diagnostics)
    for row in file.rows():
        if row.line != truncated:
            yield row
    if truncated is not None:  # drop the kernel's "expected N fields" for the same line
        diagnostics.items[:] = [d for d in diagnostics.items
                                if not (d.file == str(path) and d.line == truncated and d.field is None
                                        and d.message.startswith(("expected ", "malformed CSV")))]


def _check_truncation(path: Path, columns: list[str], diagnostics: Diagnostics) -> int | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        diagnostics.add(Diagnostic(str(path), 1, None, f"cannot read the file: {exc.strerror}"))
        return None
    if not data or data.endswith(b"\n"):
        return None
    line = data.count(b"\n") + 1
    last = data.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")
    try:
        found = len(next(csv.reader([last], strict=True)))
    except csv.Error:
        found = 0
    if line > 1 and found < len(columns):
        diagnostics.add(Diagnostic(str(path), line, found + 1,
                                   "the file ends in the middle of a row: it looks truncated",
                                   field=columns[found], hint="ask for the file to be sent again"))
        return line
    return None


def read_executions(path: Path, diagnostics: Diagnostics) -> list[Execution]:
    """The rows of one execution result file; problems go to ``diagnostics``."""
    found = []
    for row in _rows(path, EXECUTION_COLUMNS, diagnostics):
        before = len(diagnostics.items)
        quantity = row.get("Quantity", _positive_quantity)
        filled = row.get("Filled Quantity", _quantity)
        price = row.get("Average Price", _price, required=False)
        status = row.get("Status", _status)
        trade_date = row.get("Trade Date", iso_date)
        settlement = row.get("Settlement Date", iso_date, required=False)
        values = (row.get("Client Order ID"), row.get("Account Number"), row.get("Order Action", _action),
                  row.get("Symbol"))
        if len(diagnostics.items) > before:
            continue
        if filled > quantity:
            row.error(f"filled {filled} is more than the order's {quantity}", field="Filled Quantity")
        elif status is ExecutionStatus.FILLED and filled != quantity:
            row.error(f"status FILLED but {filled} of {quantity} filled", field="Filled Quantity")
        elif status is ExecutionStatus.PARTIAL and not 0 < filled < quantity:
            row.error(f"status PARTIAL but {filled} of {quantity} filled", field="Filled Quantity")
        elif status in (ExecutionStatus.REJECTED, ExecutionStatus.EXPIRED) and filled:
            row.error(f"status {status.value.upper()} but {filled} filled", field="Filled Quantity")
        elif filled and price is None:
            row.error("missing value (an execution needs its average price)", field="Average Price")
        elif filled and settlement is None:
            row.error("missing value (an execution needs its settlement date)", field="Settlement Date")
        elif settlement is not None and settlement < trade_date:
            row.error(f"settlement {settlement} is before the trade date {trade_date}", field="Settlement Date")
        else:
            found.append(Execution(str(path), row.line, *values, quantity, filled, price, status, trade_date,
                                   settlement))
    return found


def read_allocations(path: Path, diagnostics: Diagnostics) -> list[AllocationResult]:
    """The rows of one allocation result file; problems go to ``diagnostics``."""
    found = []
    for row in _rows(path, ALLOCATION_COLUMNS, diagnostics):
        before = len(diagnostics.items)
        values = (row.get("Block ID"), row.get("Client Order ID"), row.get("Account Number"),
                  row.get("Order Action", _action), row.get("Symbol"), row.get("Quantity", _positive_quantity),
                  row.get("Average Price", _price), row.get("Trade Date", iso_date),
                  row.get("Settlement Date", iso_date))
        if len(diagnostics.items) == before:
            found.append(AllocationResult(str(path), row.line, *values))
    return found


def read_results(inbox: Path) -> InboxResults:
    """Every execution and allocation file in ``inbox``, checked together: all of them or a DataError."""
    inbox = Path(inbox)
    diagnostics = Diagnostics()
    execution_files = sorted(inbox.glob("executions_*.csv"))
    allocation_files = sorted(inbox.glob("allocations_*.csv"))
    executions = [e for path in execution_files for e in read_executions(path, diagnostics)]
    allocations = [a for path in allocation_files for a in read_allocations(path, diagnostics)]
    _check_ids(executions, diagnostics)
    _check_blocks(executions, allocations, diagnostics)
    diagnostics.raise_if_any(f"Fidelity result files in {inbox}")
    return InboxResults(tuple(str(p) for p in execution_files + allocation_files), tuple(executions),
                        tuple(allocations))


def _check_ids(executions: list[Execution], diagnostics: Diagnostics) -> None:
    first: dict[str, Execution] = {}
    for e in executions:
        if e.client_order_id in first:
            other = first[e.client_order_id]
            diagnostics.add(Diagnostic(e.file, e.line, EXECUTION_COLUMNS.index("Client Order ID") + 1,
                                       f"order {e.client_order_id} already has a result at {other.file}:{other.line}",
                                       field="Client Order ID"))
        else:
            first[e.client_order_id] = e


def _check_blocks(executions: list[Execution], allocations: list[AllocationResult],
                  diagnostics: Diagnostics) -> None:
    """Allocations of a block whose execution is in the inbox add up to its filled quantity."""
    by_id = {e.client_order_id: e for e in executions}
    blocks: dict[str, list[AllocationResult]] = {}
    for a in allocations:
        blocks.setdefault(a.block_id, []).append(a)
    for block_id, rows in blocks.items():
        block = by_id.get(block_id)
        total = sum((a.quantity for a in rows), Decimal(0))
        if block is not None and total != block.filled_quantity:
            diagnostics.add(Diagnostic(rows[0].file, rows[0].line, ALLOCATION_COLUMNS.index("Quantity") + 1,
                                       f"block {block_id} allocates {total} but {block.filled_quantity} "
                                       f"was filled ({block.file}:{block.line})", field="Quantity"))


def read_orders(path: Path) -> tuple[OrderLine, ...]:
    """An "Import Orders" file, whole, or a DataError."""
    diagnostics = Diagnostics()
    found = []
    for row in _rows(path, ORDER_COLUMNS, diagnostics):
        line = _order_line(row)
        if line is not None:
            found.append(line)
    diagnostics.raise_if_any(f"order file {path}")
    return tuple(found)


def read_blocks(path: Path) -> tuple[BlockOrder, ...]:
    """An "Import Block Orders & Allocations" file, whole, or a DataError."""
    diagnostics = Diagnostics()
    heads: dict[str, tuple[int, OrderLine]] = {}
    allocations: dict[str, list[Allocation]] = {}
    for row in _rows(path, BLOCK_COLUMNS, diagnostics):
        kind, block_id = row.get("Trade Type"), row.get("Block ID")
        line = _order_line(row, symbol="Symbol/CUSIP")
        if line is None or kind is None or block_id is None:
            continue
        if kind == "BLOCK":
            if block_id in heads:
                row.error(f"block {block_id} appears twice", field="Block ID")
            heads[block_id] = (row.line, line)
        elif kind == "ALLOCATION":
            if block_id not in heads:
                row.error(f"allocation before its block {block_id}", field="Block ID")
                continue
            allocations.setdefault(block_id, []).append(
                Allocation(line.client_order_id, line.account_number, line.quantity, line.account_type, line.lots))
        else:
            row.error(f"unknown trade type {kind!r}", field="Trade Type", hint="BLOCK or ALLOCATION")
    blocks = []
    for block_id, (line_no, head) in heads.items():
        parts = allocations.get(block_id, [])
        if sum((a.quantity for a in parts), Decimal(0)) != head.quantity:
            diagnostics.add(Diagnostic(str(path), line_no, BLOCK_COLUMNS.index("Quantity") + 1,
                                       f"block {block_id} is {head.quantity} but its allocations add up to "
                                       f"{sum((a.quantity for a in parts), Decimal(0))}", field="Quantity"))
            continue
        try:
            blocks.append(BlockOrder(block_id, head.account_number, head.side, head.symbol, parts,
                                     head.limit_price, head.time_in_force))
        except ValueError as exc:
            diagnostics.add(Diagnostic(str(path), line_no, None, str(exc)))
    diagnostics.raise_if_any(f"block file {path}")
    return tuple(blocks)


def _order_line(row: CsvRow, symbol: str = "Symbol") -> OrderLine | None:
    before = len(row.file.diagnostics.items)
    values = dict(client_order_id=row.get("Client Order ID"), account_number=row.get("Account Number"),
                  side=row.get("Order Action", _action), quantity=row.get("Quantity", _positive_quantity),
                  symbol=row.get(symbol), limit_price=row.get("Stop/Limit Price", _price, required=False),
                  time_in_force=row.get("Time In Force"), account_type=row.get("Account Type", required=False)
                  or "", lots=row.get("Versus Purchase", versus_purchase, required=False) or ())
    price_type = row.get("Price Type")
    if len(row.file.diagnostics.items) > before:
        return None
    if price_type not in (MARKET, LIMIT):
        row.error(f"unknown price type {price_type!r}", field="Price Type", hint="M (market) or L (limit)")
        return None
    if (price_type == LIMIT) != (values["limit_price"] is not None):
        row.error("a limit order needs a limit price, and only a limit order has one", field="Stop/Limit Price")
        return None
    try:
        return OrderLine(**values)
    except (ValueError, TypeError) as exc:
        row.error(str(exc))
        return None
