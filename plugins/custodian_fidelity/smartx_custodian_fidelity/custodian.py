"""The Fidelity custodian adapter: accounts and transactions through FDX, orders as Wealthscape files.

``FidelityCustodian`` is what the plugin registers (``register_custodians``). Fidelity has no
advisor trading API, so the adapter reads through FDX (:mod:`.fdx`) and trades through files
(:mod:`.files`):

* ``accounts()`` / ``transactions()``: FDX accounts, holdings with tax lots, investment transactions;
* ``submit()``: each batch of orders becomes ``orders_<batch>.csv`` and/or ``blocks_<batch>.csv``
  in the outbox, written once, atomically; a retry of a batch that is already there writes nothing;
* ``track()``: the result files in the inbox, matched by client order id;
* ``cancel()``: refused: a file-based order is cancelled in Wealthscape.

Settings (``plugin_settings("fidelity")``: the config file's ``[fidelity]`` table, overridden by
``SMARTX_FIDELITY_*``): ``fdx_url``, ``fdx_token``, ``outbox``, ``inbox``, ``block_account``.
Nothing is read (settings, disk, network) before the first call that needs it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from smartx_engine import (
    ConflictError, CustodianAccount, CustodianError, CustodianLot, CustodianPosition, CustodianTransaction,
    Execution, FeeDebit, FeeFile, OrderReport, OrderRequest, OrderStatus, Registration, SandboxSession, SmartxError,
    TransactionType, fee_file_csv, plugin_settings, round_money,
)

from . import files
from .files import Allocation, BlockOrder, ExecutionStatus, OrderLine

SETTINGS = ("fdx_url", "fdx_token", "outbox", "inbox", "block_account")

#: FDX accountType -> the engine's registration (others: None, the engine keeps its own)
REGISTRATIONS = {
    "BROKERAGEPRODUCT": Registration.TAXABLE, "TAXABLE": Registration.TAXABLE,
    "IRA": Registration.IRA, "ROTH": Registration.ROTH, "ROLLOVER": Registration.ROLLOVER_IRA,
    "SARSEP": Registration.SEP_IRA, "TRUST": Registration.TRUST, "UGMA": Registration.CUSTODIAL,
    "UTMA": Registration.CUSTODIAL, "401K": Registration.K401, "403B": Registration.B403,
    "529": Registration.PLAN_529,
}

#: FDX InvestmentTransactionType -> the engine's transaction type (others are skipped)
TRANSACTION_TYPES = {
    "PURCHASED": TransactionType.BUY, "SOLD": TransactionType.SELL,
    "DIVIDEND": TransactionType.DIVIDEND, "INTEREST": TransactionType.DIVIDEND,
    "FEE": TransactionType.FEE, "DEPOSIT": TransactionType.DEPOSIT, "WITHDRAWAL": TransactionType.WITHDRAWAL,
}

CASH_SUB_TYPES = frozenset({"CASH", "MONEYMARKET"})

_HELP = {
    "fdx_url": "the FDX API root, e.g. https://api.fi.com/fdx/v5",
    "outbox": "the directory order files are written to, for import into Wealthscape",
    "inbox": "the directory Fidelity's result files arrive in",
    "block_account": "the Wealthscape block account that block orders are placed in",
}


class FidelityCustodian:
    """The Fidelity adapter (see the module docstring).

    Every keyword given here wins over the settings; the ones not given are read from
    ``plugin_settings("fidelity", environ)`` on first use. ``client`` may be an FDX client to use
    instead of building one from ``fdx_url`` and ``fdx_token``.
    """

    name = "fidelity"
    supports_blocks = True

    def __init__(self, *, fdx_url: str | None = None, fdx_token: str | None = None,
                 outbox: str | Path | None = None, inbox: str | Path | None = None,
                 block_account: str | None = None, client: Any = None,
                 environ: Mapping[str, str] | None = None):
        given = dict(fdx_url=fdx_url, fdx_token=fdx_token, outbox=outbox, inbox=inbox, block_account=block_account)
        self._given = {k: str(v) for k, v in given.items() if v is not None}
        self._environ = environ
        self._settings: dict[str, str] | None = None
        self._client = client
        self._own_client = False

    def __repr__(self) -> str:
        return f"FidelityCustodian(outbox={self._given.get('outbox')!r}, inbox={self._given.get('inbox')!r})"

    # -- settings and the FDX client, on first use ----------------------------

    def setting(self, key: str) -> str | None:
        """A setting: the constructor's keyword, else the ``[fidelity]`` table or ``SMARTX_FIDELITY_<KEY>``."""
        if key in self._given:
            return self._given[key]
        if self._settings is None:
            self._settings = plugin_settings("fidelity", self._environ)
        return self._settings.get(key) or None

    def _required(self, key: str) -> str:
        value = self.setting(key)
        if not value:
            raise CustodianError(
                f"the Fidelity setting {key} is not set ({_HELP[key]}): set {key} in the [fidelity] table of "
                f"the smartx config file (SMARTX_CONFIG, default ~/.config/smartx/config.toml) or the "
                f"environment variable SMARTX_FIDELITY_{key.upper()}")
        return value

    @property
    def client(self) -> Any:
        """The FDX client, built on first use."""
        if self._client is None:
            from .fdx import FdxClient

            self._client = FdxClient(self._required("fdx_url"), token=self.setting("fdx_token"))
            self._own_client = True
        return self._client

    @property
    def outbox(self) -> Path:
        return Path(self._required("outbox"))

    @property
    def inbox(self) -> Path:
        return Path(self._required("inbox"))

    def close(self) -> None:
        """Close the FDX client if this adapter built it."""
        if self._own_client and self._client is not None:
            self._client.close()
            self._client, self._own_client = None, False

    def fee_deduction_file(self, debits: Sequence[FeeDebit], as_of: dt.date) -> FeeFile:
        """The file asking Fidelity to debit advisory fees. Fidelity's fee-file layout is given to
        Integration Xchange partners only (specs/fidelity.md), so this is the engine's generic layout
        until it is known."""
        return fee_file_csv(self.name, debits, as_of)

    @contextlib.contextmanager
    def sandbox(self, seed: Mapping[str, Any], directory: Path) -> Iterator[SandboxSession]:
        """A :class:`~.world.FidelityWorld` in ``directory``/fidelity serving ``seed``.

        The session's environment is the ``SMARTX_FIDELITY_*`` variables that point this plugin at
        its FDX sandbox, outbox and inbox; ``settle(trade_date)`` executes the files sent so far.
        """
        from .world import FidelityWorld

        with FidelityWorld(Path(directory) / "fidelity", seed) as world:
            yield SandboxSession(environment={f"SMARTX_FIDELITY_{key.upper()}": value
                                              for key, value in world.settings().items()},
                                 settle=world.execute)

    # -- reading --------------------------------------------------------------

    def accounts(self) -> list[CustodianAccount]:
        """Every open investment account, with its cash, positions and tax lots.

        Cash is the value (units x price) of the cash holdings: the core money-market position
        (``cashAccount: true`` or ``holdingSubType`` CASH/MONEYMARKET), which is not a position.
        An account without such a holding has its ``availableCashBalance`` as cash (0 if none).
        Lots are every holding's ``taxLots``, or None when a holding carries none.
        """
        found = []
        for descriptor in self.client.accounts():
            if (descriptor.status or "").upper() == "CLOSED":
                continue
            if descriptor.kind and "investment" not in descriptor.kind.lower():
                continue  # deposit, loan ... accounts are not managed
            found.append(_account(self.client.account(descriptor.account_id)))
        return found

    def transactions(self, account_number: str, start: dt.date, end: dt.date) -> list[CustodianTransaction]:
        """The account's POSTED transactions dated ``start`` to ``end`` (inclusive), of the mapped types.

        The date is the ``transactionTimestamp``'s (the posting time's when it has none). Types
        outside :data:`TRANSACTION_TYPES` (transfers, splits, reinvestments, journals ...) are
        skipped. ``amount`` is FDX's signed amount; ``quantity`` is the absolute number of units.
        """
        found = []
        for t in self.client.transactions(account_number, start, end + dt.timedelta(days=1)):
            kind = TRANSACTION_TYPES.get(t.transaction_type.upper())
            if kind is None or (t.status or "").upper() != "POSTED":
                continue
            day = (t.transacted or t.posted).date()
            if not start <= day <= end:
                continue
            found.append(CustodianTransaction(
                transaction_id=t.transaction_id, date=day, type=kind, amount=t.amount,
                symbol=t.symbol or t.security_id, quantity=None if t.units is None else abs(t.units),
                price=t.unit_price))
        return found

    # -- orders ---------------------------------------------------------------

    def submit(self, orders: Sequence[OrderRequest]) -> list[OrderReport]:
        """Write each batch's orders to the outbox once; one report per order, in order.

        Orders without a ``block_id`` go to ``orders_<batch>.csv``; the orders sharing a
        ``block_id`` become one block in the ``block_account``, with an allocation each, in
        ``blocks_<batch>.csv``. An order that does not fit Wealthscape's fields is REJECTED and not
        written. When a batch's file is already there (a retry), nothing is written to it: the
        orders found in it are reported SUBMITTED, and an order that is not in it (or differs) is a
        CustodianError, before anything is written.
        """
        orders = list(orders)
        ids = [o.client_order_id for o in orders]
        if len(set(ids)) != len(ids):
            raise CustodianError("the same client order id is submitted twice: "
                                 + ", ".join(sorted({i for i in ids if ids.count(i) > 1})))
        batches: dict[str, list[OrderRequest]] = {}
        for o in orders:
            batches.setdefault(o.batch_id, []).append(o)
        plans = [self._plan(batch, group) for batch, group in batches.items()]  # every check first
        reports: dict[str, OrderReport] = {}
        for plan in plans:
            reports.update(plan.execute())
        return [reports[i] for i in ids]

    def _plan(self, batch: str, orders: list[OrderRequest]) -> _BatchPlan:
        if not files._BATCH.match(batch):
            raise CustodianError(f"batch id {batch!r} cannot name an order file: use letters, digits, '-' and '_'")
        rejected: dict[str, str] = {}
        singles: list[OrderLine] = []
        blocks: dict[str, list[OrderRequest]] = {}
        for o in orders:
            if o.block_id is not None:
                blocks.setdefault(o.block_id, []).append(o)
                continue
            try:
                singles.append(OrderLine(o.client_order_id, o.account_number, o.side, o.quantity, o.symbol,
                                         lots=o.lots))
            except (ValueError, TypeError) as exc:
                rejected[o.client_order_id] = _unfit(exc)
        built = []
        if blocks:
            account = self._required("block_account")
            for block_id, members in blocks.items():
                block = _block(block_id, account, members, rejected)
                if block is not None:
                    built.append(block)
        plan = _BatchPlan(self.outbox, batch, singles, built, rejected)
        plan.check()
        return plan

    def track(self, orders: Sequence[OrderRequest]) -> dict[str, OrderReport | None]:
        """What Fidelity's result files say of each order; SUBMITTED when only the outbox has it;
        None when neither has it (never sent). A malformed inbox file is a DataError: nothing is read."""
        results = files.read_results(self.inbox) if self.inbox.is_dir() else files.InboxResults((), (), ())
        executions = {e.client_order_id: e for e in results.executions}
        allocations = {a.client_order_id: a for a in results.allocations}
        sent = _sent(self.outbox, {o.batch_id for o in orders})
        return {o.client_order_id: _report(o, sent, executions, allocations) for o in orders}

    def cancel(self, order: OrderRequest) -> OrderReport:
        """Refused: an order sent as a Wealthscape import file cannot be recalled from smartx."""
        what = f"order {order.client_order_id} ({order.side.value} {order.quantity} {order.symbol} in {order.account_number})"
        try:
            report = self.track([order])[order.client_order_id]
        except SmartxError:
            report = None
        if report is not None and report.status != OrderStatus.SUBMITTED:
            raise CustodianError(f"{what} already has a result from Fidelity ({report.status.value}): "
                                 "there is nothing left to cancel")
        where = f" ({report.custodian_order_id})" if report is not None else ""
        raise CustodianError(
            f"{what}{where} was sent to Fidelity as an import file and cannot be recalled from smartx: cancel it "
            "in Wealthscape, under Orders Unsent if it has not been sent yet, else under Open Orders; its "
            "result file will then report it expired")


# ---------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------


def _is_cash(holding: Any) -> bool:
    return holding.cash or (holding.holding_sub_type or "").upper() in CASH_SUB_TYPES


def _account(detail: Any) -> CustodianAccount:
    descriptor = detail.account
    cash_holdings = [h for h in detail.holdings if _is_cash(h)]
    if cash_holdings:
        cash = sum((_value(h) for h in cash_holdings), Decimal(0))
    else:
        cash = detail.available_cash if detail.available_cash is not None else Decimal(0)
    quantities: dict[str, Decimal] = {}
    prices: dict[str, Decimal | None] = {}
    lots: list[CustodianLot] | None = []
    for h in detail.holdings:
        if _is_cash(h):
            continue
        symbol = h.symbol or h.security_id
        sign = -1 if (h.position_type or "").upper() == "SHORT" else 1
        quantities[symbol] = quantities.get(symbol, Decimal(0)) + sign * h.units
        prices[symbol] = h.unit_price if h.unit_price is not None else prices.get(symbol)
        if lots is not None:
            if h.units and not h.tax_lots:
                lots = None
            else:
                lots.extend(CustodianLot(symbol, lot.quantity, lot.cost_basis, lot.acquired) for lot in h.tax_lots)
    positions = [CustodianPosition(s, q, prices[s]) for s, q in quantities.items()]
    registration = REGISTRATIONS.get((descriptor.account_type or "").upper())
    return CustodianAccount(number=descriptor.account_id, cash=cash, positions=positions, lots=lots,
                            name=descriptor.nickname or descriptor.product_name,
                            registration=None if registration is None else registration.value)


def _value(holding: Any) -> Decimal:
    if holding.unit_price is not None:
        return round_money(holding.units * holding.unit_price)
    if holding.market_value is not None:
        return holding.market_value
    return holding.units  # a money-market fund is worth $1 a unit


# ---------------------------------------------------------------------------
# Submitting
# ---------------------------------------------------------------------------


def _unfit(exc: Exception) -> str:
    return f"not sent: {exc} (Wealthscape's import file format)"


def _block(block_id: str, account: str, members: list[OrderRequest], rejected: dict[str, str]) -> BlockOrder | None:
    """The block of ``members``, or None when none of them can be sent (their reasons in ``rejected``)."""
    first = members[0]
    if any(m.symbol != first.symbol or m.side != first.side for m in members):
        for m in members:
            rejected[m.client_order_id] = f"not sent: block {block_id} mixes securities or sides"
        return None
    parts = []
    for m in members:
        try:
            parts.append((m, Allocation(m.client_order_id, m.account_number, m.quantity, lots=m.lots)))
        except (ValueError, TypeError) as exc:
            rejected[m.client_order_id] = _unfit(exc)
    if not parts:
        return None
    try:
        return BlockOrder(block_id, account, first.side, first.symbol, [a for _, a in parts])
    except (ValueError, TypeError) as exc:
        if "block_account" in str(exc):
            raise CustodianError(f"the Fidelity setting block_account {account!r} is not a Wealthscape "
                                 f"account number: {exc}") from None
        for m, _ in parts:
            rejected[m.client_order_id] = _unfit(exc)
        return None


def _order_key(line: OrderLine) -> tuple:
    return (line.client_order_id, line.account_number, line.side, line.quantity, line.symbol, line.limit_price,
            line.time_in_force, line.account_type, line.lots)


def _block_key(block: BlockOrder) -> tuple:
    return (block.block_id, block.block_account, block.side, block.symbol, block.limit_price, block.time_in_force,
            tuple(sorted((a.client_order_id, a.account_number, a.quantity, a.account_type, a.lots)
                         for a in block.allocations)))


class _BatchPlan:
    """The files of one batch: checked against what the outbox already holds, then written once."""

    def __init__(self, outbox: Path, batch: str, singles: list[OrderLine], blocks: list[BlockOrder],
                 rejected: dict[str, str]):
        self.outbox, self.batch, self.rejected = outbox, batch, rejected
        self.parts = [("orders", outbox / f"orders_{batch}.csv", singles),
                      ("blocks", outbox / f"blocks_{batch}.csv", blocks)]

    def check(self) -> None:
        """Raise if a file of this batch is there without exactly our orders in it."""
        for kind, path, ours in self.parts:
            if ours and path.exists():
                self._same(kind, path, ours)

    def _same(self, kind: str, path: Path, ours: list[Any]) -> None:
        """Each of our orders (or blocks) must be in the existing file, exactly as we would write it.

        The file may hold more: after a crash the engine resends only the orders that ``track``
        did not find, so a retry may carry part of a batch (or none of one of its two files)."""
        if kind == "orders":
            theirs, key = files.read_orders(path), _order_key
        else:
            theirs, key = files.read_blocks(path), _block_key
        held = set(map(key, theirs))
        strangers = [item for item in ours if key(item) not in held]
        if strangers:
            raise CustodianError(
                f"batch {self.batch} was already written to {path} with other orders "
                f"({', '.join(sorted(map(_ids, theirs))) or 'none'}) than this submission's "
                f"({', '.join(sorted(map(_ids, strangers)))}); a batch is written once: submit these orders in "
                "a new batch")

    def execute(self) -> dict[str, OrderReport]:
        reports = {cid: OrderReport(cid, None, OrderStatus.REJECTED, message=message)
                   for cid, message in self.rejected.items()}
        for kind, path, ours in self.parts:
            if ours and not path.exists():
                write = files.write_orders if kind == "orders" else files.write_blocks
                try:
                    write(self.outbox, self.batch, ours)
                except ConflictError:  # written by someone else meanwhile: it must be ours
                    self._same(kind, path, ours)
            for line in ours:
                for cid in _ids(line).split(", "):
                    reports[cid] = OrderReport(cid, f"{path.name}#{cid}", OrderStatus.SUBMITTED)
        return reports


def _ids(item: OrderLine | BlockOrder) -> str:
    if isinstance(item, BlockOrder):
        return ", ".join(a.client_order_id for a in item.allocations)
    return item.client_order_id


# ---------------------------------------------------------------------------
# Tracking
# ---------------------------------------------------------------------------


def _sent(outbox: Path, batches: set[str]) -> dict[str, tuple[str, OrderLine | Allocation, str | None]]:
    """client order id -> (outbox file name, its line, its block id) for the orders of ``batches``."""
    sent: dict[str, tuple[str, OrderLine | Allocation, str | None]] = {}
    for batch in batches:
        if not files._BATCH.match(batch):
            continue
        path = outbox / f"orders_{batch}.csv"
        if path.exists():
            sent.update((line.client_order_id, (path.name, line, None)) for line in files.read_orders(path))
        path = outbox / f"blocks_{batch}.csv"
        if path.exists():
            for block in files.read_blocks(path):
                sent.update((a.client_order_id, (path.name, a, block.block_id)) for a in block.allocations)
    return sent


def _outbox_name(result_file: str) -> str:
    """``executions_orders_X.csv`` / ``allocations_blocks_X.csv`` -> ``orders_X.csv`` / ``blocks_X.csv``."""
    return Path(result_file).name.split("_", 1)[1]


def _check(order: OrderRequest, row: Any, quantity: Decimal) -> None:
    """A result row must be for the order: its account, symbol and side, and (an execution) its
    quantity, or (an allocation) at most its quantity."""
    allocated = isinstance(row, files.AllocationResult)
    if (row.account_number, row.symbol, row.side) != (order.account_number, order.symbol, order.side) or (
            quantity > order.quantity if allocated else quantity != order.quantity):
        raise CustodianError(
            f"{row.file}:{row.line}: the result for order {order.client_order_id} is for "
            f"{row.side.value} {quantity} {row.symbol} in {row.account_number}, but the order is "
            f"{order.side.value} {order.quantity} {order.symbol} in {order.account_number}")


def _report(order: OrderRequest, sent: Mapping[str, Any], executions: Mapping[str, files.Execution],
            allocations: Mapping[str, files.AllocationResult]) -> OrderReport | None:
    cid = order.client_order_id
    allocation = allocations.get(cid)
    block_id = order.block_id or (sent[cid][2] if cid in sent else None) or (allocation and allocation.block_id)
    head = executions.get(block_id if block_id else cid)
    if cid in sent:
        custodian_id = f"{sent[cid][0]}#{cid}"
    elif head is not None:
        custodian_id = f"{_outbox_name(head.file)}#{cid}"
    else:
        custodian_id = order.custodian_order_id
    if head is None:
        return OrderReport(cid, custodian_id, OrderStatus.SUBMITTED) if cid in sent else None
    where = f"{Path(head.file).name} line {head.line}"
    subject = f"block {block_id}" if block_id else "the order"
    if not block_id:
        _check(order, head, head.quantity)
    if head.status is ExecutionStatus.REJECTED:
        return OrderReport(cid, custodian_id, OrderStatus.REJECTED,
                           message=f"Fidelity rejected {subject} ({where}); Wealthscape shows the reason")
    if head.status is ExecutionStatus.EXPIRED:
        return OrderReport(cid, custodian_id, OrderStatus.CANCELLED,
                           message=f"{subject} expired unfilled at the end of the day ({where})")
    if block_id:
        if allocation is None or allocation.block_id != block_id:
            if head.status is ExecutionStatus.PARTIAL:
                return OrderReport(cid, custodian_id, OrderStatus.CANCELLED,
                                   message=f"block {block_id} filled {head.filled_quantity} of {head.quantity} and "
                                           f"allocated nothing to this account; the rest of the day order expired "
                                           f"({where})")
            raise CustodianError(f"{head.file}:{head.line}: block {block_id} is filled but has no allocation "
                                 f"for order {cid}")
        _check(order, allocation, allocation.quantity)
        execution = Execution(Path(allocation.file).name, allocation.quantity, allocation.average_price,
                              allocation.trade_date)
    else:
        execution = Execution(Path(head.file).name, head.filled_quantity, head.average_price, head.trade_date)
    if execution.quantity >= order.quantity:
        return OrderReport(cid, custodian_id, OrderStatus.FILLED, [execution])
    return OrderReport(cid, custodian_id, OrderStatus.CANCELLED, [execution],
                       message=f"partially filled: {execution.quantity} of {order.quantity} at "
                               f"{execution.price}; the rest of the day order expired ({where})")
