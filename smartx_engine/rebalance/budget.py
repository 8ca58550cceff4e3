"""Gain budgets: a run's sells trimmed so that an account's net realised gain stays within its budget.

A policy's `gain budget AMOUNT USD per year` caps the net capital gain an account (a taxable one)
realises in a calendar year, counting what it realised so far this year (table ``realized``).
When an account's proposed sells would realise more, the run keeps its loss sells (they make
room), then its gain sells cheapest in tax first (estimated tax per dollar sold, the account's
rates by term; ties in proposal order), each in full while it fits; the first that does not fit
is cut to the most shares that fit (in whole share steps, its lots relieved in the policy's
order), and the rest to the most shares that realise no more than what is left (often none).
The buys of a sleeve whose sells were cut are then scaled down together to the cash they still
have (as in docs/rebalancing.md, step 5). Sleeves of one account under policies with different
budgets use the smallest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

import attrs

from ..domain import Term, Trade
from ..fixedpoint import QUANTITY, floor_to_step, round_money
from ..tax.relief import OpenLot, Relief, relieve


@attrs.frozen
class SellContext:
    """What trimming a sell needs: its lots (sale order decided by ``relief``) and share step."""

    lots: tuple[OpenLot, ...]
    relief: Callable[[Sequence[OpenLot], Decimal], list[Relief]]
    step: Decimal             # 1 for whole shares, 0.01 for `shares fractional 2` ...


@attrs.frozen
class SleeveCash:
    """What rescaling a sleeve's buys needs."""

    cash: Decimal             # now
    floor: Decimal            # kept in cash: the policy's minimum, plus a withdrawal's share
    step: Decimal
    min_trade: Decimal


def gain(reliefs: Sequence[Relief]) -> Decimal:
    return sum((r.gain for r in reliefs), Decimal(0))


def tax_cost(reliefs: Sequence[Relief], rates: tuple[Decimal, Decimal]) -> Decimal:
    """Estimated tax of the reliefs (losses count as negative tax) at the (short, long) rates."""
    return sum((r.gain * (rates[0] if r.term == Term.SHORT else rates[1]) for r in reliefs), Decimal(0))


def cost_per_dollar(reliefs: Sequence[Relief], rates: tuple[Decimal, Decimal]) -> Decimal:
    """Estimated tax per dollar sold: what orders an account's gain sells (the cheapest kept first)."""
    return tax_cost(reliefs, rates) / sum((r.proceeds for r in reliefs), Decimal(0))


def cut_note(quantity: Decimal, of: Decimal, budget: Decimal, account_id: str, realized: Decimal) -> str:
    """What a sell cut to fit its account's budget says."""
    return (f"gain budget: {quantity.normalize():f} of {of.normalize():f} sold (budget {budget:,.2f} USD per year "
            f"for {account_id}, {realized:,.2f} realised this year)")


#: what a buy scaled down after its sleeve's sells were cut says
BOUGHT_LESS = "gain budget: bought less, the sells that fund it were cut"


def scaled_down(quantity: Decimal, available: Decimal, wanted: Decimal, step: Decimal) -> Decimal:
    """A buy's quantity scaled by ``available / wanted``, rounded down to the share step."""
    return floor_to_step(quantity * (available / wanted), step)


def most_within(context: SellContext, quantity: Decimal, room: Decimal) -> tuple[Decimal, list[Relief]]:
    """The most shares (≤ ``quantity``, in steps) whose relief realises at most ``room``, with that relief."""
    best = Decimal(0)
    for lots in _prefixes(context, quantity):  # each relief prefix ends at a lot boundary
        taken = sum((r.quantity for r in lots[:-1]), Decimal(0))
        before, last = gain(lots[:-1]), lots[-1]
        if before + last.gain <= room:  # the whole of this lot fits
            best = max(best, taken + last.quantity)
        elif last.gain > 0 and before <= room:  # part of a gain lot fits
            best = max(best, taken + last.quantity * (room - before) / last.gain)
    best = floor_to_step(best, context.step)
    while best > 0 and gain(context.relief(context.lots, best)) > room:  # rounding of the cents
        best -= context.step
    return best, (context.relief(context.lots, best) if best > 0 else [])


def _prefixes(context: SellContext, quantity: Decimal) -> list[list[Relief]]:
    full = context.relief(context.lots, quantity)
    return [full[:i + 1] for i in range(len(full))]


def trim_to_budget(sells: Sequence[tuple[Trade, list[Relief], SellContext]], room: Decimal,
                   rates: tuple[Decimal, Decimal]) -> dict[int, tuple[Decimal, list[Relief]]]:
    """For one account: the sells (by index) whose quantity must change to realise at most ``room``."""
    total = sum((gain(r) for _, r, _ in sells), Decimal(0))
    if total <= room:
        return {}
    room -= sum((gain(r) for _, r, _ in sells if gain(r) <= 0), Decimal(0))  # losses make room
    gains = [i for i, (_, r, _) in enumerate(sells) if gain(r) > 0]
    gains.sort(key=lambda i: (cost_per_dollar(sells[i][1], rates), i))
    changed = {}
    for i in gains:
        trade, reliefs, context = sells[i]
        if gain(reliefs) <= room:
            room -= gain(reliefs)
            continue
        quantity, kept = most_within(context, trade.quantity, max(room, Decimal(0)))
        changed[i] = (quantity, kept)
        room -= gain(kept)
    return changed


def rescale_buys(buys: Sequence[Trade], sells_proceeds: Decimal, sleeve: SleeveCash) -> list[Decimal]:
    """The buys' quantities scaled down together to the cash available (rounded down, small ones dropped)."""
    available = max(sleeve.cash + sells_proceeds - sleeve.floor, Decimal(0))
    wanted = sum((t.est_value for t in buys), Decimal(0))
    if wanted <= available:
        return [t.quantity for t in buys]
    quantities = []
    for t in buys:
        q = scaled_down(t.quantity, available, wanted, sleeve.step)
        quantities.append(q if q > 0 and round_money(q * t.est_price) >= sleeve.min_trade else Decimal(0))
    return quantities


def relief_for(method: str, rates: tuple[Decimal, Decimal], price: Decimal, as_of: dt.date):
    """The relief function of a policy's lot method at a price."""
    def relief(lots: Sequence[OpenLot], quantity: Decimal) -> list[Relief]:
        return relieve(lots, quantity, price, as_of, method, rates=rates)
    return relief


#: a proposal as the budget pass reads it: the trade, a sell's reliefs, a sell's context (None for buys)
Staged = tuple[Trade, list[Relief], SellContext | None]


def apply_budgets(staged: Sequence[Staged], budgets: dict[str, Decimal], realized: dict[str, Decimal],
                  rates: dict[str, tuple[Decimal, Decimal]], cash_of: Callable[[str], SleeveCash]) -> list[Staged]:
    """The proposals with every budgeted account's sells trimmed to its budget and its buys rescaled.

    ``budgets``: the yearly budget of each (taxable) account that has one; ``realized``: its net
    realised gain so far this year. A trade cut to nothing is dropped.
    """
    sells: dict[str, list[int]] = {}  # each account's sells, found in one pass (an account's trims touch only its own)
    of_sleeve: dict[str, list[int]] = {}
    for i, (t, _, c) in enumerate(staged):
        of_sleeve.setdefault(t.sleeve_id, []).append(i)
        if c is not None and t.account_id in budgets:
            sells.setdefault(t.account_id, []).append(i)
    changes = budget_changes(staged, sells, of_sleeve.__getitem__, budgets, realized, rates, cash_of)
    return [changes.get(i, s) for i, s in enumerate(staged) if changes.get(i, s) is not None]


def budget_changes(staged: Mapping[int, Staged] | Sequence[Staged], sells: dict[str, list[int]],
                   trades_of: Callable[[str], list[int]], budgets: dict[str, Decimal], realized: dict[str, Decimal],
                   rates: dict[str, tuple[Decimal, Decimal]], cash_of: Callable[[str], SleeveCash]
                   ) -> dict[int, Staged | None]:
    """What :func:`apply_budgets` changes, by index in ``staged`` (None: dropped); reads only the sells
    of the budgeted accounts (``sells``: their indices by account) and the trades of the sleeves
    whose sells were cut (``trades_of``: a sleeve's indices)."""
    changes: dict[int, Staged | None] = {}
    cut_sleeves: dict[str, None] = {}
    for account_id, budget in budgets.items():
        room = budget - realized.get(account_id, Decimal(0))
        indices = sells.get(account_id, [])
        for position, (quantity, reliefs) in trim_to_budget([staged[i] for i in indices], room,
                                                            rates[account_id]).items():
            i = indices[position]
            trade, _, context = staged[i]
            note = cut_note(quantity, trade.quantity, budget, account_id, realized.get(account_id, Decimal(0)))
            changes[i] = (attrs.evolve(trade, quantity=quantity.quantize(QUANTITY.unit), reasons=(*trade.reasons, note)),
                          reliefs, context) if quantity else None
            cut_sleeves[trade.sleeve_id] = None
    for sleeve_id in cut_sleeves:
        own = [(i, changes.get(i, staged[i])) for i in trades_of(sleeve_id)]
        own = [(i, s) for i, s in own if s is not None]
        proceeds = sum((s[0].est_value for _, s in own if s[2] is not None), Decimal(0))
        buys = [(i, s[0]) for i, s in own if s[2] is None]
        for (i, trade), quantity in zip(buys, rescale_buys([t for _, t in buys], proceeds, cash_of(sleeve_id))):
            if quantity != trade.quantity:
                changes[i] = (attrs.evolve(trade, quantity=quantity.quantize(QUANTITY.unit),
                                           reasons=(*trade.reasons, BOUGHT_LESS)), [], None) if quantity else None
    return changes
