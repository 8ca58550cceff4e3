"""Account netting: sleeves of one account crossing a security internally (docs/rebalancing.md).

When sleeves of one account trade one security in opposite directions, the account sends one net
order and the crossed shares move between the sleeves without a sale: the seller's lots (cost
basis, acquired date) go to the buyer, who pays the seller in cash at the sell's estimated price.
:func:`net` matches the trades (pure); :func:`apply_crossings` moves lots and cash in the store.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

import attrs
import numpy as np

from ..domain import Lot, Side, Transaction, TransactionType
from ..errors import ConflictError
from ..fixedpoint import MONEY, PRICE, QUANTITY, Scale, round_money, to_decimal
from ..store import Store


class TradeLike(Protocol):
    """What netting reads of a trade (:class:`smartx_engine.domain.Trade` has it)."""

    trade_id: str
    account_id: str
    sleeve_id: str
    symbol: str
    side: Side | str
    quantity: Decimal
    est_price: Decimal


def _positive(scale: Scale):
    def check(instance: Any, attribute: attrs.Attribute, value: Decimal) -> None:
        if value <= 0:
            raise ValueError(f"{attribute.name} must be greater than zero, got {value}")
        scale.check(value)

    return check


@attrs.frozen
class Crossing:
    """``quantity`` shares of ``symbol`` move from the selling sleeve to the buying sleeve at ``price``."""

    account_id: str
    symbol: str
    sell_trade_id: str
    buy_trade_id: str
    from_sleeve: str
    to_sleeve: str
    quantity: Decimal = attrs.field(converter=to_decimal, validator=_positive(QUANTITY))
    price: Decimal = attrs.field(converter=to_decimal, validator=_positive(PRICE))

    @property
    def amount(self) -> Decimal:
        """The cash the buying sleeve pays the selling sleeve: quantity x price, half-even to the cent."""
        return round_money(self.quantity * self.price)


@attrs.frozen
class NetOrder:
    """What the account sends the custodian for one security: the net of ``trade_ids``."""

    account_id: str
    symbol: str
    side: Side = attrs.field(converter=Side)
    quantity: Decimal = attrs.field(converter=to_decimal, validator=_positive(QUANTITY))
    trade_ids: tuple[str, ...] = attrs.field(converter=tuple)


@attrs.frozen
class Netting:
    """What :func:`net` makes of a set of trades: the crossings and the orders left to send."""

    crossings: tuple[Crossing, ...] = attrs.field(converter=tuple)
    orders: tuple[NetOrder, ...] = attrs.field(converter=tuple)


# ---------------------------------------------------------------- matching


def _matching_order(trade: TradeLike) -> tuple[str, str]:
    return (trade.sleeve_id, trade.trade_id)


def net(trades: Iterable[TradeLike]) -> Netting:
    """Cross opposite trades of each (account, symbol) and leave one net order per group.

    Sells and buys are each taken in (sleeve_id, trade_id) order; each sell crosses greedily with
    the buys in turn, ``min(left of the sell, left of the buy)`` at a time, at the sell's
    ``est_price``. The net order is ``|sum of buys - sum of sells|`` on the larger side; none when
    that is zero. Orders come sorted by (account, symbol).
    """
    groups: dict[tuple[str, str], list[TradeLike]] = defaultdict(list)
    seen: set[str] = set()
    for trade in trades:
        if trade.trade_id in seen:
            raise ValueError(f"trade {trade.trade_id} is listed twice")
        seen.add(trade.trade_id)
        groups[(trade.account_id, trade.symbol)].append(trade)
    crossings: list[Crossing] = []
    orders: list[NetOrder] = []
    for account_id, symbol in sorted(groups):
        group = groups[(account_id, symbol)]
        sells = sorted((t for t in group if Side(t.side) is Side.SELL), key=_matching_order)
        buys = sorted((t for t in group if Side(t.side) is Side.BUY), key=_matching_order)
        crossings += _cross(sells, buys)
        balance = sum((t.quantity for t in buys), Decimal(0)) - sum((t.quantity for t in sells), Decimal(0))
        if balance:
            orders.append(NetOrder(account_id, symbol, Side.BUY if balance > 0 else Side.SELL, abs(balance),
                                   sorted(t.trade_id for t in group)))
    return Netting(crossings, orders)


def _cross(sells: Sequence[TradeLike], buys: Sequence[TradeLike]) -> Iterable[Crossing]:
    """Greedy crossings of one group's sells against its buys, both in matching order."""
    buy_left = [b.quantity for b in buys]
    b = 0
    for sell in sells:
        left = sell.quantity
        while left and b < len(buys):
            quantity = min(left, buy_left[b])
            buy = buys[b]
            yield Crossing(sell.account_id, sell.symbol, sell.trade_id, buy.trade_id,
                           sell.sleeve_id, buy.sleeve_id, quantity, sell.est_price)
            left -= quantity
            buy_left[b] -= quantity
            if not buy_left[b]:
                b += 1


def cross_columns(group: np.ndarray, side: np.ndarray, quantity: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`net`'s crossings over columns, for trades sorted by ``group`` (each group's in matching
    order) with their ``side`` (+1 buy, -1 sell) and ``quantity`` (integers, above 0): the row of
    the sell and of the buy of every crossing, and its quantity, in the order ``net`` makes them.

    The greedy crossing is the overlap of the sells' and the buys' running totals: each group is
    laid on one line (after the groups before it), and every stretch between two consecutive
    totals (up to the smaller of the group's two sums) is one crossing of the sell and the buy
    whose totals span it."""
    sells, buys = np.flatnonzero(side < 0), np.flatnonzero(side > 0)
    if not len(sells) or not len(buys):
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    number = np.cumsum(np.r_[True, group[1:] != group[:-1]]) - 1  # the groups, numbered in order
    sold, bought = np.zeros(number[-1] + 1, dtype=np.int64), np.zeros(number[-1] + 1, dtype=np.int64)
    np.add.at(sold, number[sells], quantity[sells])
    np.add.at(bought, number[buys], quantity[buys])
    length = np.maximum(sold, bought)
    start = np.cumsum(length) - length
    end = start + np.minimum(sold, bought)  # where the group's crossings end
    sell_ends = start[number[sells]] + _running(quantity[sells], number[sells])
    buy_ends = start[number[buys]] + _running(quantity[buys], number[buys])
    points = np.sort(np.concatenate([start, end, sell_ends[sell_ends < end[number[sells]]],
                                     buy_ends[buy_ends < end[number[buys]]]]))
    points = points[np.r_[True, points[1:] != points[:-1]]]
    low, high = points[:-1], points[1:]
    crossing = low < end[np.searchsorted(start, low, side="right") - 1]
    low, high = low[crossing], high[crossing]
    return (sells[np.searchsorted(sell_ends, low, side="right")], buys[np.searchsorted(buy_ends, low, side="right")],
            high - low)


def _running(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The running totals of ``values`` within each run of equal ``group``."""
    total = np.cumsum(values)
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    return total - np.repeat(total[first] - values[first], np.diff(np.r_[first, len(values)]))


def crossed_quantities(netting: Netting) -> dict[str, Decimal]:
    """The quantity each crossed trade (sell or buy) fills internally, by trade id."""
    crossed: dict[str, Decimal] = defaultdict(Decimal)
    for c in netting.crossings:
        crossed[c.sell_trade_id] += c.quantity
        crossed[c.buy_trade_id] += c.quantity
    return dict(crossed)


# ---------------------------------------------------------------- applying crossings


@attrs.frozen
class LotMove:
    """Shares of a lot given to another sleeve, with their share of the basis and the same acquired date."""

    lot_id: str  # the lot the shares came from
    moved_lot_id: str  # the lot holding them in ``to_sleeve``: ``lot_id`` when the whole lot moved
    from_sleeve: str
    to_sleeve: str
    quantity: Decimal
    cost_basis: Decimal

    @property
    def split(self) -> bool:
        return self.moved_lot_id != self.lot_id


@attrs.frozen
class AppliedCrossing:
    """One crossing as applied: the lots it moved and the cash it cost the buying sleeve."""

    crossing: Crossing
    lots: tuple[LotMove, ...]
    amount: Decimal  # cash paid by ``to_sleeve`` to ``from_sleeve``


@attrs.frozen
class CrossingSummary:
    """What :func:`apply_crossings` moved, crossing by crossing."""

    crossings: tuple[AppliedCrossing, ...]

    @property
    def lot_moves(self) -> tuple[LotMove, ...]:
        return tuple(move for applied in self.crossings for move in applied.lots)

    @property
    def cash_changes(self) -> dict[str, Decimal]:
        """The net change of each sleeve's cash (they add up to zero)."""
        changes: dict[str, Decimal] = defaultdict(Decimal)
        for applied in self.crossings:
            changes[applied.crossing.from_sleeve] += applied.amount
            changes[applied.crossing.to_sleeve] -= applied.amount
        return dict(changes)


def pro_rata_cents(cents: int, part: int, whole: int) -> int:
    """``cents x part / whole`` rounded half-even to the cent, computed exactly on integers.

    The exact form of ``round_money(basis x moved / quantity)`` for a basis in cents and
    quantities in any one integer unit.
    """
    quotient, remainder = divmod(cents * part, whole)
    return quotient + (2 * remainder > whole or (2 * remainder == whole and quotient % 2 == 1))


def apply_crossings(store: Store, crossings: Sequence[Crossing],
                    lots_by_trade: Mapping[str, Sequence[Mapping[str, Any]]]) -> CrossingSummary:
    """Move each crossing's shares and cash between its sleeves, all in one transaction.

    ``lots_by_trade`` gives each sell trade's relieved lots (``lot_id``, ``quantity``) in relief
    order. The part still sold at the custodian relieves the first of them; the crossed part takes
    the last ones, walking back from the end of the list across the sell's crossings in the order
    given. A lot moved whole changes sleeve; a lot moved in part is split, the moved shares
    becoming lot ``{lot_id}/{to_sleeve}`` (``/2``, ``/3`` ... when taken) with their pro-rata basis
    (:func:`pro_rata_cents`) and the same acquired date. The buying sleeve pays
    :attr:`Crossing.amount` to the selling sleeve. A crossing within one sleeve moves nothing.

    Everything is checked before anything is written: a sell without enough relieved lots, a lot
    no longer in the selling sleeve or smaller than what moves, a sleeve outside the account or a
    sleeve left with negative cash raise :class:`ConflictError` and leave the store unchanged.
    Each crossing appends a ``trades.cross`` audit record and, between two sleeves, a
    ``transfer_out`` and a ``transfer_in`` transaction (dated today) to their histories.
    """
    with store.transaction():
        plan = _Plan(store, lots_by_trade)
        applied = [plan.cross(c) for c in crossings]
        plan.write()
        on = store.clock().date()
        for a in applied:
            for transaction in _transfers(store, a, on):
                store.record_transaction(transaction)
            store.audit("trades.cross", a.crossing.account_id, **_audit_details(a))
    return CrossingSummary(tuple(applied))


def _transfers(store: Store, applied: AppliedCrossing, on: dt.date) -> list[Transaction]:
    """A crossing between two sleeves in their histories: shares out of one and into the other, the cash
    the other way (``X-<sell trade>-<buy trade>[-N]-out`` and ``-in``; ``-2``, ``-3`` ... when the two
    trades cross again)."""
    c = applied.crossing
    if c.from_sleeve == c.to_sleeve:
        return []
    ident = f"X-{c.sell_trade_id}-{c.buy_trade_id}"
    crossed = store.db.execute("select count(*) from transactions where transaction_id = ? or transaction_id like ?",
                               [f"{ident}-out", f"{ident}-%-out"]).fetchone()[0]
    ident += f"-{crossed + 1}" if crossed else ""
    return [Transaction(f"{ident}-out", c.account_id, c.from_sleeve, on, TransactionType.TRANSFER_OUT, applied.amount,
                        c.symbol, c.quantity, c.price),
            Transaction(f"{ident}-in", c.account_id, c.to_sleeve, on, TransactionType.TRANSFER_IN, -applied.amount,
                        c.symbol, c.quantity, c.price)]


def _audit_details(applied: AppliedCrossing) -> dict[str, Any]:
    return {**attrs.asdict(applied.crossing), "amount": applied.amount,
            "lots": [attrs.asdict(move) for move in applied.lots]}


class _Plan:
    """The lots and cash the crossings leave, worked out in memory from the store's current rows."""

    def __init__(self, store: Store, lots_by_trade: Mapping[str, Sequence[Mapping[str, Any]]]):
        self.store = store
        self.lots_by_trade = lots_by_trade
        self.cursor: dict[str, tuple[int, Decimal]] = {}  # sell trade -> (relief entry, shares left in it)
        self.before: dict[str, Lot] = {}  # store rows read, by lot id
        self.lots: dict[str, Lot] = {}  # their state after the crossings, and the new lots
        self.parents: dict[str, str] = {}  # new lot id -> the lot it was split from
        self.cash: dict[str, Decimal] = defaultdict(Decimal)  # change per sleeve
        self.accounts: dict[str, str] = {}  # sleeve -> its account

    def cross(self, crossing: Crossing) -> AppliedCrossing:
        for sleeve in (crossing.from_sleeve, crossing.to_sleeve):
            if self._account_of(sleeve) != crossing.account_id:
                raise ConflictError(f"sleeve {sleeve} is not a sleeve of account {crossing.account_id}")
        moves = []
        left = crossing.quantity
        while left:
            lot_id, available = self._next_relieved(crossing)
            taken = min(left, available)
            if crossing.from_sleeve != crossing.to_sleeve:
                moves.append(self._move(crossing, lot_id, taken))
            self.cursor[crossing.sell_trade_id] = (self.cursor[crossing.sell_trade_id][0], available - taken)
            left -= taken
        amount = crossing.amount if crossing.from_sleeve != crossing.to_sleeve else Decimal("0.00")
        self.cash[crossing.from_sleeve] += amount
        self.cash[crossing.to_sleeve] -= amount
        return AppliedCrossing(crossing, tuple(moves), amount)

    def _next_relieved(self, crossing: Crossing) -> tuple[str, Decimal]:
        """The next relieved lot from the end of the sell's list and the shares of it not yet crossed."""
        trade_id = crossing.sell_trade_id
        relieved = self.lots_by_trade.get(trade_id) or ()
        index, available = self.cursor.get(trade_id, (len(relieved), Decimal(0)))
        while not available:
            index -= 1
            if index < 0:
                raise ConflictError(
                    f"sell {trade_id} does not list enough relieved lots to cross {crossing.quantity} "
                    f"{crossing.symbol} to {crossing.to_sleeve}; nothing was moved")
            available = to_decimal(relieved[index]["quantity"])
        self.cursor[trade_id] = (index, available)
        return str(relieved[index]["lot_id"]), available

    def _move(self, crossing: Crossing, lot_id: str, quantity: Decimal) -> LotMove:
        lot = self._lot(lot_id)
        where = (lot.account_id, lot.sleeve_id, lot.symbol)
        if where != (crossing.account_id, crossing.from_sleeve, crossing.symbol) or lot.quantity < quantity:
            raise ConflictError(
                f"sell {crossing.sell_trade_id}: lot {lot_id} holds {lot.quantity} {lot.symbol} in sleeve "
                f"{lot.sleeve_id}, not {quantity} {crossing.symbol} in sleeve {crossing.from_sleeve}; "
                "nothing was moved")
        if quantity == lot.quantity:
            self.lots[lot_id] = attrs.evolve(lot, sleeve_id=crossing.to_sleeve)
            return LotMove(lot_id, lot_id, crossing.from_sleeve, crossing.to_sleeve, quantity, lot.cost_basis)
        basis = MONEY.to_decimal(pro_rata_cents(
            MONEY.to_int(lot.cost_basis), QUANTITY.to_int(quantity), QUANTITY.to_int(lot.quantity)))
        moved_id = self._free_id(f"{lot_id}/{crossing.to_sleeve}")
        self.lots[lot_id] = attrs.evolve(lot, quantity=lot.quantity - quantity, cost_basis=lot.cost_basis - basis)
        self.lots[moved_id] = attrs.evolve(lot, lot_id=moved_id, sleeve_id=crossing.to_sleeve,
                                           quantity=quantity, cost_basis=basis)
        self.parents[moved_id] = self.parents.get(lot_id, lot_id)
        return LotMove(lot_id, moved_id, crossing.from_sleeve, crossing.to_sleeve, quantity, basis)

    def _lot(self, lot_id: str) -> Lot:
        if lot_id not in self.lots:
            rows = list(self.store.db.query("select * from lots where lot_id = ?", [lot_id]))
            if not rows:
                raise ConflictError(f"lot {lot_id} is no longer in the store; nothing was moved")
            self.before[lot_id] = self.lots[lot_id] = Lot.from_row(rows[0])
        return self.lots[lot_id]

    def _free_id(self, base: str) -> str:
        candidate, n = base, 1
        while candidate in self.lots or list(self.store.db.query("select 1 from lots where lot_id = ?", [candidate])):
            n += 1
            candidate = f"{base}/{n}"
        return candidate

    def _account_of(self, sleeve_id: str) -> str | None:
        if sleeve_id not in self.accounts:
            rows = list(self.store.db.query("select account_id from sleeves where sleeve_id = ?", [sleeve_id]))
            self.accounts[sleeve_id] = rows[0]["account_id"] if rows else None
        return self.accounts[sleeve_id]

    def _cash_after(self) -> dict[str, int]:
        """Each touched sleeve's cash in cents after the crossings; refuses a negative balance."""
        touched = json.dumps(sorted(self.cash))
        held = {r["sleeve_id"]: r["amount_cents"] for r in self.store.db.query(
            "select sleeve_id, amount_cents from cash where sleeve_id in (select value from json_each(?))", [touched])}
        after = {}
        for sleeve, change in sorted(self.cash.items()):
            after[sleeve] = held.get(sleeve, 0) + MONEY.to_int(change)
            if after[sleeve] < 0:
                raise ConflictError(
                    f"sleeve {sleeve} holds {MONEY.to_decimal(held.get(sleeve, 0))} in cash, not the "
                    f"{-change} its crossings cost; nothing was moved")
        return after

    def write(self) -> None:
        """Write the planned lots and cash (call inside the transaction, after every crossing is planned)."""
        cash = self._cash_after()
        db = self.store.db
        for lot_id, parent in self.parents.items():  # new lots copy their parent's row, then take their values
            db.execute("insert into lots (lot_id, account_id, sleeve_id, symbol, quantity_e6, cost_basis_cents,"
                       " acquired) select ?, account_id, sleeve_id, symbol, quantity_e6, cost_basis_cents,"
                       " acquired from lots where lot_id = ?", [lot_id, parent])
        for lot_id, lot in self.lots.items():
            if lot != self.before.get(lot_id):
                db.execute("update lots set sleeve_id = ?, quantity_e6 = ?, cost_basis_cents = ? where lot_id = ?",
                           [lot.sleeve_id, QUANTITY.to_int(lot.quantity), MONEY.to_int(lot.cost_basis), lot_id])
        db.table("cash").upsert_all(
            [{"sleeve_id": sleeve, "account_id": self.accounts[sleeve], "amount_cents": cents}
             for sleeve, cents in cash.items()], pk="sleeve_id")
