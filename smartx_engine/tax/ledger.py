"""Lots rebuilt from a transaction history: buys open lots, sells close them, wash sales adjust them.

:func:`rebuild` replays a household's (or a firm's) buys and sells in order: by date, then in the
order given (a history lists a day's trades in the order they happened). A buy opens a lot (its
id is the transaction id; its basis the cash paid, fees included). A sell relieves the lots of its
sleeve and security by the lot it names, or else by its account's ``lot_method``
(:mod:`smartx_engine.tax.relief`), and its proceeds (the cash received) are shared among the
relieved lots by quantity, to the cent, the last lot taking what is left. Every relieved lot is a
:class:`ClosedLot`, a realised gain or loss.

A loss in a taxable account is then checked for wash sales against every acquisition of the
household (:mod:`smartx_engine.tax.wash`): each replacement share washes one loss share, in the
order the sales happened. A disallowed loss is added to the replacement lot's basis and the sold
shares' holding period to the lot's (``holding_from``), unless the replacement is in an IRA or
Roth, where it is lost for good. A replacement lot already partly sold keeps the adjustment on
what is left of it (the usual case, a replacement bought after the sale, is still whole). A lot
that replaces shares of several sales keeps one holding period, the earliest (a lot is one
holding period here; per-share periods would split it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

import attrs

from ..domain import Account, Lot, TaxTreatment, Term, Transaction, TransactionType
from ..errors import DataError
from ..fixedpoint import round_money
from .relief import Method, OpenLot, relieve
from .wash import Acquisition, LossSale, identical_groups, wash_sales


class HistoryError(DataError):
    """A transaction the history cannot replay (a sell of lots that are not there)."""

    def __init__(self, transaction_id: str, message: str):
        super().__init__(message)
        self.transaction_id = transaction_id


@attrs.frozen
class ClosedLot:
    """Shares of one lot sold by one transaction: a realised gain or loss."""

    transaction_id: str
    lot_id: str
    account_id: str
    sleeve_id: str
    symbol: str
    acquired: dt.date
    holding_from: dt.date
    sold: dt.date
    quantity: Decimal
    proceeds: Decimal
    cost_basis: Decimal
    term: Term
    disallowed: Decimal = Decimal(0)  # wash-sale loss disallowed (deferred into a replacement lot)
    permanent: Decimal = Decimal(0)   # of which lost for good (the replacement is in an IRA or Roth)

    @property
    def gain(self) -> Decimal:
        """Proceeds minus basis (negative: a loss), before wash-sale adjustments."""
        return self.proceeds - self.cost_basis

    @property
    def allowed(self) -> Decimal:
        """The gain or loss that counts for tax this year: the loss less what a wash sale disallowed."""
        return self.gain + self.disallowed


@attrs.frozen
class Ledger:
    lots: tuple[Lot, ...]          # open at the end of the history, wash-adjusted
    closed: tuple[ClosedLot, ...]  # in the order they were sold


def rebuild(transactions: Iterable[Transaction], accounts: Mapping[str, Account], *,
            identical: Iterable[Iterable[str]] = ()) -> Ledger:
    """Replay ``transactions`` of ``accounts`` (every account of each household they touch)."""
    history = sorted(enumerate(t for t in transactions if t.type.moves_shares), key=lambda p: (p[1].date, p[0]))
    for _, t in history:
        if t.type in (TransactionType.TRANSFER_IN, TransactionType.TRANSFER_OUT):
            raise HistoryError(t.transaction_id, f"a {t.type} between sleeves moves named lots, which a history of "
                                                 "transactions does not carry: give the book's lots.csv")
    open_lots: dict[str, Lot] = {}
    for _, t in history:
        if t.type == TransactionType.BUY:
            open_lots[t.transaction_id] = Lot(
                lot_id=t.transaction_id, account_id=t.account_id, sleeve_id=t.sleeve_id, symbol=t.symbol,
                quantity=t.quantity, cost_basis=-t.amount, acquired=t.date)
    acquisitions = [Acquisition(lot.lot_id, lot.account_id, lot.symbol, lot.acquired, lot.quantity,
                                accounts[lot.account_id].tax_treatment) for lot in open_lots.values()]
    household_of = {a.account_id: a.household_id for a in accounts.values()}
    group = identical_groups(identical)
    used: dict[str, Decimal] = defaultdict(Decimal)  # replacement shares already washing a loss
    lots = {lot_id: lot for lot_id, lot in open_lots.items()}
    alive: dict[str, Lot] = {}
    closed: list[ClosedLot] = []
    for _, t in history:
        if t.type == TransactionType.BUY:
            alive[t.transaction_id] = lots[t.transaction_id]
            continue
        legs = _sell(t, alive, accounts[t.account_id])
        sold_together = {leg.lot_id for leg in legs}  # shares sold by this very sale replace nothing
        for leg in legs:
            if leg.gain < 0 and accounts[t.account_id].tax_treatment == TaxTreatment.TAXABLE:
                leg = _wash(leg, [a for a in acquisitions if a.lot_id not in sold_together], household_of, group,
                            used, alive, lots)
            closed.append(leg)
    return Ledger(tuple(sorted(alive.values(), key=lambda lot: lot.lot_id)), tuple(closed))


def _sell(t: Transaction, alive: dict[str, Lot], account: Account) -> list[ClosedLot]:
    """Relieve the lots a sell closes; the lots left (shrunk or gone) are updated in ``alive``."""
    held = [lot for lot in alive.values() if lot.sleeve_id == t.sleeve_id and lot.symbol == t.symbol]
    candidates = [OpenLot(lot.lot_id, lot.quantity, lot.cost_basis, lot.holding_start) for lot in held]
    try:
        if t.lot_id:
            relieved = relieve(candidates, t.quantity, t.price, t.date, Method.SPECIFIC, specific=[(t.lot_id, t.quantity)])
        else:
            relieved = relieve(candidates, t.quantity, t.price, t.date, Method(account.lot_method),
                               rates=(account.st_tax_rate, account.lt_tax_rate))
    except DataError as exc:
        raise HistoryError(t.transaction_id, f"the sell of {t.quantity} {t.symbol} in {t.sleeve_id} on {t.date}: {exc}") from None
    shares = _shares(t.amount, [r.quantity for r in relieved])
    legs = []
    for part, proceeds in zip(relieved, shares):
        lot = alive[part.lot_id]
        left = lot.quantity - part.quantity
        if left:
            alive[lot.lot_id] = attrs.evolve(lot, quantity=left, cost_basis=lot.cost_basis - part.cost_basis,
                                             wash_adjustment=_share(lot.wash_adjustment, left, lot.quantity))
        else:
            del alive[lot.lot_id]
        legs.append(ClosedLot(t.transaction_id, lot.lot_id, t.account_id, t.sleeve_id, t.symbol, lot.acquired,
                              lot.holding_start, t.date, part.quantity, proceeds, part.cost_basis, part.term))
    return legs


def _wash(leg: ClosedLot, acquisitions: Sequence[Acquisition], household_of: Mapping[str, str], group,
          used: dict[str, Decimal], alive: dict[str, Lot], lots: dict[str, Lot]) -> ClosedLot:
    """The loss leg with what wash sales disallow; replacement lots adjusted, shares used up."""
    household = household_of[leg.account_id]
    candidates = [attrs.evolve(a, quantity=a.quantity - used[a.lot_id]) for a in acquisitions
                  if household_of[a.account_id] == household and a.quantity > used[a.lot_id]
                  and (a.lot_id in alive or a.acquired > leg.sold)]  # a lot closed before the sale replaces nothing
    sale = LossSale(f"{leg.transaction_id}:{leg.lot_id}", leg.account_id, leg.symbol, leg.sold, leg.quantity,
                    -leg.gain, leg.holding_from, leg.lot_id)
    disallowed = permanent = Decimal(0)
    for adjustment in wash_sales([sale], candidates, identical=group):
        used[adjustment.replacement_lot_id] += adjustment.quantity
        disallowed += adjustment.disallowed
        if adjustment.permanent:
            permanent += adjustment.disallowed
            continue
        lot_id = adjustment.replacement_lot_id
        target = alive.get(lot_id) or lots[lot_id]
        adjusted = attrs.evolve(target, cost_basis=target.cost_basis + adjustment.basis_added,
                                wash_adjustment=target.wash_adjustment + adjustment.basis_added,
                                holding_from=min(target.holding_start,
                                                 target.acquired - dt.timedelta(days=adjustment.holding_days_added)))
        lots[lot_id] = adjusted
        if lot_id in alive:
            alive[lot_id] = adjusted
    return attrs.evolve(leg, disallowed=disallowed, permanent=permanent)


def _shares(amount: Decimal, quantities: Sequence[Decimal]) -> list[Decimal]:
    """``amount`` shared by quantity, to the cent; the last share takes what is left."""
    whole = sum(quantities, Decimal(0))
    shares = [round_money(amount * q / whole) for q in quantities[:-1]]
    return [*shares, amount - sum(shares, Decimal(0))]


def _share(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    return round_money(amount * part / whole)
