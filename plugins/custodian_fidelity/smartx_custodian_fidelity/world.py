"""A whole Fidelity in a box, for tests and the demo: the FDX sandbox, an outbox, an inbox, a simulator.

::

    with FidelityWorld(tmp_path, contract_seed()) as world:
        custodian = world.custodian()             # a FidelityCustodian wired to this world
        custodian.submit([...])                   # order files land in world.outbox
        world.execute(dt.date(2026, 1, 9))        # Fidelity executes them: results in world.inbox,
        custodian.track([...])                    # and the fills posted to the FDX data,
        custodian.accounts()                      # so FDX shows the new positions, lots, cash
        custodian.transactions(number, start, end)  # and PURCHASED/SOLD transactions

``execute`` runs :func:`.simulator.simulate` with the quantities the FDX data holds (a sell of more
than is held is REJECTED) and the world's ``partial`` fill fractions, then posts every fill of the
new result files into the FDX sandbox's data: the position's units, a new tax lot for a buy, lots
relieved for a sell as its ``Versus Purchase`` instruction says (then first in, first out), the
core cash position, and an FDX transaction.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from smartx_engine import Diagnostics, LotInstruction, Side, round_money

from . import files
from .custodian import FidelityCustodian
from .simulator import simulate
from .sandbox import DEFAULT_LOT_DATE, FdxSandbox, core_holding, security_holding, tax_lot

DEFAULT_BLOCK_ACCOUNT = "Z99999999"


class FidelityWorld:
    """The FDX sandbox (serving ``seed``), ``root/outbox`` and ``root/inbox``, and ``execute``.

    ``seed`` has the contract seed shape (see :func:`.sandbox.data_from_seed`, which also takes
    optional account types and lots). ``partial`` maps a symbol to the fraction of each order in
    it that fills (whole shares, rounded down); it may be changed between executions. The server
    starts at once; ``stop()`` (or leaving the ``with`` block) stops it.
    """

    def __init__(self, root: Path, seed: Mapping[str, Any], *, block_account: str = DEFAULT_BLOCK_ACCOUNT,
                 partial: Mapping[str, Decimal] | None = None, lot_date: dt.date = DEFAULT_LOT_DATE,
                 page_size: int = 50):
        root = Path(root)
        self.outbox, self.inbox = root / "outbox", root / "inbox"
        self.outbox.mkdir(parents=True, exist_ok=True)
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.prices = {symbol: Decimal(price) for symbol, price in seed.get("prices", {}).items()}
        self.block_account = block_account
        self.partial: dict[str, Decimal] = dict(partial or {})
        self.sandbox = FdxSandbox.from_seed(seed, lot_date=lot_date, page_size=page_size).start()
        self._custodians: list[FidelityCustodian] = []

    @property
    def fdx_url(self) -> str:
        return self.sandbox.base_url

    def settings(self) -> dict[str, str]:
        """The ``[fidelity]`` settings that point an adapter at this world."""
        return {"fdx_url": self.fdx_url, "outbox": str(self.outbox), "inbox": str(self.inbox),
                "block_account": self.block_account}

    def custodian(self) -> FidelityCustodian:
        """A :class:`FidelityCustodian` wired to this world (closed by ``stop``)."""
        custodian = FidelityCustodian(**self.settings(), environ={})
        self._custodians.append(custodian)
        return custodian

    def stop(self) -> None:
        for custodian in self._custodians:
            custodian.close()
        self.sandbox.stop()

    def __enter__(self) -> FidelityWorld:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- Fidelity's day --------------------------------------------------------

    def holdings(self) -> dict[tuple[str, str], Decimal]:
        """The quantity of every (account, symbol) the FDX data holds (cash excluded)."""
        return {(a["accountId"], h["symbol"]): h["units"] for a in self.sandbox.data["accounts"]
                for h in a["holdings"] if not h.get("cashAccount")}

    def execute(self, trade_date: dt.date) -> list[Path]:
        """Execute the outbox files without results; post their fills to FDX; the result files written."""
        written = simulate(self.outbox, self.inbox, self.prices, trade_date=trade_date,
                                 holdings=self.holdings(), partial=self.partial)
        diagnostics = Diagnostics()
        lots = self._versus_purchase()
        fills: list[tuple[str, str, Side, str, Decimal, Decimal, dt.date, dt.date, tuple[LotInstruction, ...]]] = []
        for path in written:
            if path.name.startswith("executions_orders_"):
                fills.extend((f"{path.stem}-{e.line}", e.account_number, e.side, e.symbol, e.filled_quantity,
                              e.average_price, e.trade_date, e.settlement_date, lots.get(e.client_order_id, ()))
                             for e in files.read_executions(path, diagnostics) if e.filled_quantity)
            elif path.name.startswith("allocations_"):
                fills.extend((f"{path.stem}-{a.line}", a.account_number, a.side, a.symbol, a.quantity,
                              a.average_price, a.trade_date, a.settlement_date, lots.get(a.client_order_id, ()))
                             for a in files.read_allocations(path, diagnostics))
        diagnostics.raise_if_any("the simulator's own result files")
        data = copy.deepcopy(self.sandbox.data)
        for fill in fills:
            _post(data, *fill)
        self.sandbox.data = data  # swapped whole: the server never serves a half-posted state
        return written

    def _versus_purchase(self) -> dict[str, tuple[LotInstruction, ...]]:
        """Each order's and allocation's specific-lot instruction, from the outbox files."""
        found = {o.client_order_id: o.lots for path in self.outbox.glob("orders_*.csv") for o in files.read_orders(path)}
        found.update((a.client_order_id, a.lots) for path in self.outbox.glob("blocks_*.csv")
                     for b in files.read_blocks(path) for a in b.allocations)
        return found


def _post(data: dict[str, Any], transaction_id: str, account_id: str, side: Side, symbol: str, quantity: Decimal,
          price: Decimal, trade_date: dt.date, settlement: dt.date, lots: Sequence[LotInstruction] = ()) -> None:
    """Post one fill into FDX data: units, tax lots (relieved versus purchase, then FIFO), core cash,
    a transaction."""
    account = next(a for a in data["accounts"] if a["accountId"] == account_id)
    holdings = account["holdings"]
    holding = next((h for h in holdings if h.get("symbol") == symbol and not h.get("cashAccount")), None)
    if holding is None:
        holding = security_holding(account_id, symbol, Decimal(0), price, [])
        holdings.insert(len([h for h in holdings if not h.get("cashAccount")]), holding)
    amount = round_money(quantity * price)
    if side is Side.BUY:
        holding["units"] += quantity
        holding["taxLots"].append(tax_lot(trade_date, quantity, amount))
        cash_change = -amount
    else:
        holding["units"] -= quantity
        _relieve(holding["taxLots"], quantity, lots)
        cash_change = amount
    holding.update(currentUnitPrice=price, marketValue=holding["units"] * price)
    if not holding["units"]:
        holdings.remove(holding)
    core = next((h for h in holdings if h.get("cashAccount")), None)
    if core is None:
        core = core_holding(account_id, Decimal(0))
        holdings.append(core)
    core["units"] += cash_change
    core["marketValue"] = core["units"]
    account["availableCashBalance"] = account.get("availableCashBalance", Decimal(0)) + cash_change
    verb = "BOUGHT" if side is Side.BUY else "SOLD"
    data["transactions"].setdefault(account_id, []).append({
        "accountId": account_id, "transactionId": f"t-{transaction_id}",
        "postedTimestamp": f"{trade_date.isoformat()}T21:00:00Z",
        "transactionTimestamp": f"{trade_date.isoformat()}T15:30:00Z",
        "description": f"YOU {verb} {symbol}", "status": "POSTED",
        "transactionType": "PURCHASED" if side is Side.BUY else "SOLD", "symbol": symbol,
        "units": quantity if side is Side.BUY else -quantity, "unitPrice": price, "amount": cash_change,
        "commission": Decimal(0), "fees": Decimal(0), "subAccountSec": "CASH", "subAccountFund": "CASH",
        "settlementTimestamp": f"{settlement.isoformat()}T00:00:00Z"})


def _relieve(lots: list[dict[str, Any]], quantity: Decimal, instructions: Sequence[LotInstruction] = ()) -> None:
    """Relieve ``quantity`` from ``lots``: the instructed shares of each acquired date first, in the
    instruction's order, then the oldest lots; a partly sold lot keeps its cost pro rata."""
    lots.sort(key=lambda lot: lot["originalPurchaseDate"])
    left = quantity
    for instruction in instructions:
        wanted = min(instruction.quantity, left)
        left -= wanted - _take(lots, wanted, instruction.acquired.isoformat())
    _take(lots, left)


def _take(lots: list[dict[str, Any]], quantity: Decimal, acquired: str | None = None) -> Decimal:
    """Relieve up to ``quantity`` from ``lots`` (only those bought on ``acquired`` when given),
    oldest first; what could not be taken."""
    left = quantity
    for lot in list(lots):
        if not left:
            break
        if acquired is not None and lot["originalPurchaseDate"] != acquired:
            continue
        take = min(left, lot["quantity"])
        if take == lot["quantity"]:
            lots.remove(lot)
        else:
            remaining = lot["quantity"] - take
            lot["costBasis"] = round_money(lot["costBasis"] * remaining / lot["quantity"])
            lot["quantity"] = remaining
        left -= take
    return left
