"""Tax-loss harvesting: sell the lots a policy's `harvest when` marks, keep the exposure through a substitute.

For each holding with lots the policy marks for harvest (lots at a loss where its condition
holds) in a sleeve that harvests in this run (in scope, not skipped, not `hold` nor `restrict
sell`), the harvest:

1. takes the marked lots, most loss per share first (ties: acquired, then lot id);
2. leaves out as many shares as the household bought of the security (or an identical one) in the
   wash-sale window before today, since a loss on those would be washed: fewer shares are sold,
   or none;
3. needs the security's first allowed substitute (`substitute "X" with ...`: a priced security
   the policy does not `restrict buy`, not identical to X, not blocked in the household): without
   one, nothing is harvested, so that the sleeve never leaves the market;
4. sells those shares (the named lots) and buys the substitute with the proceeds, rounded down to
   the policy's share step; a harvest whose sell or buy is worth less than `min trade` is dropped;
5. blocks the security and its identical group from purchase in the household until the window
   ends, for the rest of the run (other sleeves buy substitutes instead; docs/rebalancing.md).

Every harvest reports the loss it realises and its estimated tax value at the account's rates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from decimal import Decimal

import attrs
import numpy as np

from ..domain import Side, Term, Trade
from ..dsl.compile import PolicyEvaluation
from ..fixedpoint import QUANTITY, floor_to_step
from ..tax.recent import RecentTrading
from ..tax.relief import OpenLot, Relief, relieve
from .details import book_decimal, open_lot, rows_of
from .generate import Blocks, holds_any, substitutes_of


@attrs.frozen
class Harvest:
    """One harvest: the loss sale and the substitute bought with its proceeds."""

    sleeve: int                  # index into the evaluation's book
    sell: Trade
    lots: tuple[Relief, ...]
    buy: Trade
    loss: Decimal                # positive
    tax_value: Decimal           # the tax the loss may save, at the account's rates by term
    blocked_until: dt.date


@attrs.frozen(eq=False)
class HarvestPlan:
    """The holdings that can harvest, over columns: their marked lots and their substitute."""

    holding: np.ndarray          # holdings with marked lots, a substitute, and no `hold` or `restrict sell`
    substitute: np.ndarray       # symbol code of each one's first allowed substitute
    marked: np.ndarray           # per lot of the book: marked for harvest in a harvesting sleeve
    quantity: np.ndarray         # per holding of ``holding``: the shares in its marked lots

    def __len__(self) -> int:
        return len(self.holding)


def harvest_plan(evaluation: PolicyEvaluation, harvesting: np.ndarray, blocks: Blocks,
                 identical: Callable[[str], frozenset[str]]) -> HarvestPlan:
    """Steps 1 and 3 of the module's rules over whole columns (``harvesting``: per sleeve of the evaluation)."""
    book, settings = evaluation.book, evaluation.policy.settings
    marked = evaluation.harvest & harvesting[book.lot_sleeve]
    holdings = np.unique(book.lot_holding[marked])
    allowed = ~evaluation.hold[holdings]
    if settings.restrict_sell:
        allowed &= ~holds_any(book, book.holding_symbol[holdings], settings.restrict_sell)
    holdings = holdings[allowed]
    substitute = substitutes_of(book, settings, blocks, holdings, identical)
    holdings, substitute = holdings[substitute >= 0], substitute[substitute >= 0]
    shares = np.bincount(book.lot_holding[marked], weights=book.lot_quantity[marked], minlength=book.n_holdings)
    return HarvestPlan(holdings, substitute, marked, shares[holdings])


def harvests(evaluation: PolicyEvaluation, harvesting: np.ndarray, recent: RecentTrading, blocked: set[tuple[str, str]],
             prices: dict[str, Decimal], as_of: dt.date,
             restricted: Collection[tuple[str, str]] = ()) -> list[Harvest]:
    """The harvests of ``evaluation``'s sleeves marked ``harvesting``; ``blocked`` (household, symbol)
    pairs grow with each harvest's block; ``restricted`` (account, symbol) pairs are never bought."""
    book, settings = evaluation.book, evaluation.policy.settings
    plan = harvest_plan(evaluation, harvesting, Blocks.of(book, blocked, restricted), recent.identical)
    found = []
    for h, code in zip(plan.holding, plan.substitute):
        sleeve, symbol = int(book.holding_sleeve[h]), str(book.symbols[book.holding_symbol[h]])
        account = int(book.sleeve_account[sleeve])
        account_id, household = str(book.account_ids[account]), str(book.households[book.account_household[account]])
        substitute = str(book.symbols[code])
        if (household, substitute) in blocked:  # blocked by a harvest earlier in this loop
            continue
        first, last = rows_of(book.lot_holding, int(h))
        lots = [open_lot(book, i) for i in range(first, last) if plan.marked[i]]
        rates = (book_decimal(book.account_st_rate[account]), book_decimal(book.account_lt_rate[account]))
        harvest = _harvest(lots, symbol, substitute, account_id, str(book.sleeve_ids[sleeve]), settings, recent,
                           prices, as_of, rates)
        if harvest is not None:
            found.append(attrs.evolve(harvest, sleeve=sleeve))
            blocked.update((household, s) for s in recent.identical(symbol))
    return found


def _harvest(lots: list[OpenLot], symbol: str, substitute: str, account_id: str, sleeve_id: str, settings,
             recent: RecentTrading, prices: dict[str, Decimal], as_of: dt.date,
             rates: tuple[Decimal, Decimal]) -> Harvest | None:
    price = prices[symbol]
    lots.sort(key=lambda lot: (-(lot.cost_basis / lot.quantity - price), lot.acquired, lot.lot_id))
    held = sum((lot.quantity for lot in lots), Decimal(0))
    washed = recent.washed_by_recent_buys(account_id, symbol, [lot.lot_id for lot in lots])
    quantity = (held - min(washed, held)).quantize(QUANTITY.unit)
    if quantity <= 0:
        return None
    specific, left = [], quantity
    for lot in lots:
        if left <= 0:
            break
        specific.append((lot.lot_id, min(lot.quantity, left)))
        left -= specific[-1][1]
    reliefs = relieve(lots, quantity, price, as_of, "SPECIFIC", specific=specific)
    proceeds = sum((r.proceeds for r in reliefs), Decimal(0))
    bought = _bought_with(proceeds, prices[substitute], settings)
    loss = -sum((r.gain for r in reliefs), Decimal(0))
    if loss <= 0 or not bought:
        return None
    tax_value = sum((-r.gain * (rates[0] if r.term == Term.SHORT else rates[1]) for r in reliefs), Decimal(0))
    until = as_of + dt.timedelta(days=recent.window_days)
    note = (f"harvest: realises a loss of {loss:,.2f} USD (estimated tax value {tax_value.quantize(Decimal('0.01')):,.2f} "
            f"USD at the account's rates)" + (f"; {washed:f} shares bought in the last {recent.window_days} days "
                                              "are left out, their loss would be washed" if washed else ""))
    sell = _pending(account_id, sleeve_id, symbol, Side.SELL, quantity, price, note)
    buy = _pending(account_id, sleeve_id, substitute, Side.BUY, bought, prices[substitute],
                   f"harvest: keeps the exposure of {symbol} through its substitute {substitute}; {symbol} "
                   f"is blocked from purchase in the household until {until}")
    return Harvest(-1, sell, tuple(reliefs), buy, loss, tax_value, until)


def _bought_with(proceeds: Decimal, price: Decimal, settings) -> Decimal:
    """The shares ``proceeds`` buy at ``price``, rounded down to the share step; 0 when the buy or the
    sale funding it is worth less than `min trade`."""
    bought = floor_to_step(proceeds / price, settings.share_step).quantize(QUANTITY.unit)
    return bought if bought > 0 and min(proceeds, bought * price) >= settings.min_trade else Decimal(0)


def _pending(account_id: str, sleeve_id: str, symbol: str, side: Side, quantity: Decimal, price: Decimal,
             reason: str) -> Trade:
    """A trade of a run not yet stored (the run gives it its ids)."""
    return Trade(trade_id="T-PENDING", run_id="R-PENDING", account_id=account_id, sleeve_id=sleeve_id, symbol=symbol,
                 side=side, quantity=quantity, est_price=price, reasons=(reason,))


@attrs.frozen
class SwapBack:
    """A harvest undone after its window: the substitute sold, the harvested security bought back."""

    sleeve: int
    sell: Trade
    lots: tuple[Relief, ...]
    buy: Trade


def swap_backs(evaluation: PolicyEvaluation, swapping: np.ndarray, harvested: dict[tuple[str, str], list[dt.date]],
               blocked: set[tuple[str, str]], prices: dict[str, Decimal], as_of: dt.date,
               window_days: int, restricted: Collection[tuple[str, str]] = ()) -> list[SwapBack]:
    """For a policy with `harvest when ... swap back`: in each sleeve marked ``swapping``, the
    substitute lots bought the day a security was harvested (``harvested``: (sleeve id, symbol) ->
    the days it was sold at a loss), once the wash-sale window after that day is over and the
    security is not blocked in the household nor restricted in the account (``restricted``: (account,
    symbol)), are sold and the security bought back with the proceeds (rounded down to the share
    step). Lots `avoid short term gains` keeps stay."""
    book, settings = evaluation.book, evaluation.policy.settings
    if not settings.harvest_swap_back:
        return []
    found = []
    for sleeve in np.flatnonzero(swapping):
        sleeve_id = str(book.sleeve_ids[sleeve])
        account = int(book.sleeve_account[sleeve])
        household, account_id = str(book.households[book.account_household[account]]), str(book.account_ids[account])
        first, last = rows_of(book.holding_sleeve, int(sleeve))
        held = {str(book.symbols[book.holding_symbol[h]]): h for h in range(first, last)}
        for symbol in sorted(settings.substitutes):
            days = [d for d in harvested.get((sleeve_id, symbol), []) if as_of > d + dt.timedelta(days=window_days)]
            if (not days or (household, symbol) in blocked or (account_id, symbol) in restricted
                    or prices.get(symbol, 0) <= 0):
                continue
            for substitute in settings.substitutes[symbol]:
                if substitute not in held:
                    continue
                lots_first, lots_last = rows_of(book.lot_holding, int(held[substitute]))
                lots = [open_lot(book, i) for i in range(lots_first, lots_last)
                        if book.lot_acquired[i].astype(dt.date) in days and not evaluation.avoid_short_term[i]]
                if lots:
                    swap = _swap(lots, symbol, substitute, str(book.account_ids[account]), sleeve_id, settings,
                                 prices, as_of, days)
                    if swap is not None:
                        found.append(attrs.evolve(swap, sleeve=int(sleeve)))
                    break
    return found


def _swap(lots: list[OpenLot], symbol: str, substitute: str, account_id: str, sleeve_id: str, settings,
          prices: dict[str, Decimal], as_of: dt.date, days: list[dt.date]) -> SwapBack | None:
    quantity = sum((lot.quantity for lot in lots), Decimal(0))
    reliefs = relieve(lots, quantity, prices[substitute], as_of, "SPECIFIC",
                      specific=[(lot.lot_id, lot.quantity) for lot in lots])
    bought = _bought_with(sum((r.proceeds for r in reliefs), Decimal(0)), prices[symbol], settings)
    if not bought:
        return None
    when = ", ".join(str(d) for d in sorted(days))
    sell = _pending(account_id, sleeve_id, substitute, Side.SELL, quantity.quantize(QUANTITY.unit),
                    prices[substitute], f"swap back: {substitute} stood in for {symbol}, harvested on {when}; "
                    "the wash-sale window is over")
    buy = _pending(account_id, sleeve_id, symbol, Side.BUY, bought, prices[symbol],
                   f"swap back: {symbol} bought back with the proceeds of {substitute}")
    return SwapBack(-1, sell, tuple(reliefs), buy)
