"""Tax-aware model transitions: move a sleeve to a new model without realising more gain than a budget allows.

:func:`plan_transition` plans the move of one sleeve to the latest version of a model (its
weights with the account's restrictions applied: docs/models.md, "UMA construction");
:func:`record_transition` assigns the sleeve to the model and stores the plan's trades as a
rebalance run, for review like any other. The rules (docs/tax.md, "Tax-aware transitions"):

1. **Keep what overlaps.** ``V`` is the sleeve's value (lots at today's prices, plus cash) and a
   security's target value ``weight x V``. A security of the new model keeps up to its target:
   all of it when it is at or below target, else ``floor(target value / price)`` shares (all
   it holds when that is more). The rest of a model security, and every share of a security not
   in the model, is **sellable**.
2. **Losses first.** Lots of sellable shares at a loss or at no gain (gain per share ``<= 0``)
   are sold, whatever the budget: their losses add to its room.
3. **Then gains, cheapest first.** Lots at a gain are sold in order of their **tax cost per
   dollar sold**, ``g x rate / price`` (``g`` the gain per share, ``rate`` the account's rate of
   the lot's term), smallest first; at equal cost long-term before short-term, then by
   ``acquired`` (the holding period's start) and lot id. Step 2 uses the same order (a loss has a
   negative cost: the largest saving per dollar first). A lot is sold whole when its gain fits
   in the room left (``budget - net gain realised this year - net gain of the plan so far``), else
   trimmed to the whole shares that fit (none when one share does not), and the next lot is
   still tried. A lot is sold in whole shares, except that the exact quantity a security has to
   shed is sold as it is (fractional only when the holding is).
4. What stays unsold of the sellable shares is kept as **legacy positions**.
5. **Buys.** The proceeds plus the cash above the model's cash weight (``cash + proceeds -
   cash weight x V``) buy the model's securities, each for its shortfall (``target value -
   value kept``), pro rata to the shortfalls when the cash does not cover them all, rounded
   down to whole shares so that no buy spends more than its share (never overspend).

Without a budget, or in a tax-deferred account (no tax: the budget does not apply), every
sellable share is sold: a full transition. Amounts are exact: each lot's proceeds and (for a part
of a lot) basis are rounded half-even to the cent as :func:`~smartx_engine.tax.relief.relieve`
does; weights are exact fractions, printed to 6 decimals. With a budget that binds, the
multi-year plan sells the legacy positions in the following calendar years by the same order
with the same annual budget, at today's prices and with each lot's term on that year's
anniversary of ``as_of``, until nothing is left (or a year can sell nothing) or
:data:`MAX_YEARS` years.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from ..domain import CASH_SYMBOL, TaxTreatment, Term
from ..errors import DataError
from ..fixedpoint import CENT, MONEY, QUANTITY, round_money, to_decimal
from ..rebalance.runs import ProposedTrade, RunResult, record_run
from ..store import Store
from ..targets import TargetSpec, effective_target, restrictions
from .recent import recent_trading
from .relief import OpenLot, Relief, relieve
from .reports import net_realized
from .transition_plan import (
    CENTS, Budget, Buy, Holding, LegacyPosition, PlanYear, Sell, SoldLot, TransitionPlan, exact_weight, terms_json,
    text,
)

#: how many following calendar years the multi-year plan looks ahead
MAX_YEARS = 10




@attrs.frozen
class _Candidate:
    symbol: str
    lot: OpenLot


def plan_transition(store: Store, sleeve_id: str, model_id: str, as_of: dt.date,
                    gain_budget: Decimal | None = None) -> TransitionPlan:
    """Plan the move of a sleeve to the latest version of ``model_id`` as of ``as_of`` (see the module
    docstring for the rules). ``gain_budget``: the most net realised gain of ``as_of``'s calendar
    year, what was realised year to date included (None: no limit). Reads only."""
    if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
        raise TypeError(f"as_of must be a date, not {as_of!r}")
    budget_given = _budget(gain_budget)
    sleeve = store.sleeve(sleeve_id)
    model = store.model_version(model_id)
    account = store.account(sleeve.account_id)
    prices = store.prices()
    target = effective_target(TargetSpec.model(model_id), {model_id: model},  # with the account's restrictions
                              restrictions(store, [account.account_id]).get(account.account_id, ()))
    targets = {w.symbol: w.weight for w in target.weights if w.symbol != CASH_SYMBOL}
    cash_weight = target.cash_weight
    if missing := sorted(s for s in targets if s not in prices):
        raise DataError(f"model {model_id} {model.version} lists {', '.join(missing)} without a price; "
                        "import the securities first")
    deferred = account.tax_treatment is not TaxTreatment.TAXABLE
    rates = (Decimal(0), Decimal(0)) if deferred else (account.st_tax_rate, account.lt_tax_rate)
    lots = store.lots(sleeve_id=sleeve_id)
    candidates = [_Candidate(lot.symbol, OpenLot(lot.lot_id, lot.quantity, lot.cost_basis, lot.holding_start))
                  for lot in lots]
    cash = sum((c.amount for c in store.cash(sleeve_id=sleeve_id)), CENTS)
    held: dict[str, Decimal] = {}
    for c in candidates:
        held[c.symbol] = held.get(c.symbol, Decimal(0)) + c.lot.quantity
    value = sum((Fraction(q) * Fraction(prices[s]) for s, q in held.items()), Fraction(cash))
    sellable = {}
    for symbol, quantity in held.items():
        if symbol not in targets:
            sellable[symbol] = quantity
        else:
            keep = min(quantity, Decimal(math.floor(Fraction(targets[symbol]) * value / Fraction(prices[symbol]))))
            sellable[symbol] = quantity - keep
    year_to_date = CENTS if deferred else net_realized(store, [account.account_id], as_of).get(account.account_id, CENTS)
    applies = budget_given is not None and not deferred
    room = budget_given - year_to_date if applies else None

    weights = _weights(held, cash, prices, value)
    describe = _Describe(model_id, targets, weights, applies, deferred)
    sold, left, caps = _select(candidates, dict(sellable), prices, as_of, rates, room, describe)
    sells = _sells(sold, prices, describe)
    realized_net = _net(sold)
    kept = {s: held[s] - sum((x.relief.quantity for x in sold if x.symbol == s), Decimal(0)) for s in held}
    proceeds = sum((s.proceeds for s in sells), CENTS)
    blocked = recent_trading(store, as_of).blocked.get(account.household_id, {})
    buys, covered = _buys({s: w for s, w in targets.items() if s not in blocked}, cash_weight, kept, prices,
                          value, cash + proceeds, model_id)
    cash_after = cash + proceeds - sum((b.value for b in buys), CENTS)
    legacy = _legacy(left, caps, prices, as_of, rates)
    after = dict(kept)
    for b in buys:
        after[b.symbol] = after.get(b.symbol, Decimal(0)) + b.quantity
    holdings, tracking_after = _after(after, cash_after, prices, targets, cash_weight)
    tracking_before = _tracking(weights, targets, cash_weight)
    binding = applies and bool(legacy)
    years: tuple[PlanYear, ...] = ()
    complete = not legacy
    if binding:
        years, complete = _multi_year(left, caps, prices, as_of, rates, budget_given, describe)
    notes = _notes(deferred, budget_given, binding, legacy, years, complete, covered, as_of)
    notes += [f"{symbol} is not bought: a purchase would wash the household's recent loss (blocked through {until}); "
              "its weight waits in cash" for symbol, until in blocked.items() if symbol in targets]
    return TransitionPlan(
        sleeve_id=sleeve.sleeve_id, account_id=account.account_id, from_model=sleeve.model_id, model_id=model_id,
        model_version=model.version, as_of=as_of, registration=str(account.registration), tax_deferred=deferred,
        rates=rates, value=round_money(_dec(value)), cash=cash, sells=tuple(sells), buys=tuple(buys),
        realized=realized_net, tax=_tax(realized_net, rates),
        budget=Budget(budget_given, applies, year_to_date, realized_net["total"] if applies else CENTS, binding),
        legacy=tuple(legacy), cash_after=cash_after, holdings=tuple(holdings),
        tracking_before=tracking_before, tracking_after=tracking_after, years=years, complete=complete,
        notes=tuple(notes), digest=_digest(sleeve_id, model_id, model.version, as_of, lots, cash, prices, held,
                                           targets, year_to_date, budget_given),
    )


def _budget(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    try:
        value = to_decimal(value)
        if not value.is_finite():
            raise ValueError(f"{value} is not a number")
        MONEY.check(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"the gain budget must be an amount in USD with at most 2 decimals: {exc}") from None
    if value < 0:
        raise DataError(f"the gain budget must be 0 or more, not {value}")
    return value.quantize(CENT)


def _dec(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)



def _weights(held: Mapping[str, Decimal], cash: Decimal, prices: Mapping[str, Decimal],
             value: Fraction) -> dict[str, Fraction]:
    """Exact weights of each security and of cash (empty for a sleeve worth nothing)."""
    if value <= 0:
        return {}
    weights = {s: Fraction(q) * Fraction(prices[s]) / value for s, q in held.items() if q}
    weights[CASH_SYMBOL] = Fraction(cash) / value
    return weights


def _tracking(weights: Mapping[str, Fraction], targets: Mapping[str, Decimal], cash_weight: Decimal) -> Decimal | None:
    """Half the sum of |weight - target| over securities and cash (``sleeve.drift``); None for an empty sleeve."""
    if not weights:
        return None
    wanted = {**{s: Fraction(w) for s, w in targets.items()}, CASH_SYMBOL: Fraction(cash_weight)}
    total = sum((abs(weights.get(s, Fraction(0)) - wanted.get(s, Fraction(0))) for s in weights.keys() | wanted.keys()),
                Fraction(0))
    return exact_weight(total / 2)


@attrs.frozen
class _Describe:
    """Words for the reasons of a plan's trades."""

    model_id: str
    targets: Mapping[str, Decimal]
    weights: Mapping[str, Fraction]
    budget: bool
    deferred: bool

    def sell(self, symbol: str) -> str:
        if symbol not in self.targets:
            return f"transition to {self.model_id}: {symbol} is not in the model"
        weight = exact_weight(self.weights.get(symbol, Fraction(0)))
        return f"transition to {self.model_id}: {symbol} {weight:.2%} above its target {self.targets[symbol]:.2%}"

    def lot(self, relief: Relief, step: str, year: int | None = None) -> str:
        when = f" in {year}" if year else ""
        if step == "loss":
            if relief.gain == 0:
                return f"transition to {self.model_id}: sell lot {relief.lot_id} at no gain"
            return f"transition to {self.model_id}: sell loss lot {relief.lot_id} ({relief.gain:,.2f})"
        if self.deferred:
            return f"transition: tax-deferred account, no tax: lot {relief.lot_id} (+{relief.gain:,.2f})"
        if self.budget:
            return f"transition: gain within the budget{when}: lot {relief.lot_id} (+{relief.gain:,.2f}, {relief.term})"
        return f"transition: no gain budget: lot {relief.lot_id} (+{relief.gain:,.2f}, {relief.term})"


def _order_key(c: _Candidate, price: Decimal, on: dt.date, rates: tuple[Decimal, Decimal]) -> tuple:
    """Losses and lots at no gain first, then gains; each by tax cost per dollar sold, long-term
    before short-term at equal cost, then the holding period's start and lot id."""
    gain = Fraction(price) - c.lot.cost_per_share
    long = c.lot.term(on) is Term.LONG
    cost = gain * Fraction(rates[1] if long else rates[0]) / Fraction(price)
    return (int(gain > 0), cost, int(not long), c.lot.acquired, c.lot.lot_id)


def _part(lot: OpenLot, quantity: Decimal, price: Decimal, on: dt.date) -> Relief:
    """What selling ``quantity`` of ``lot`` at ``price`` on ``on`` realises (relief rounding)."""
    (relief,) = relieve([lot], quantity, price, on, "SPECIFIC", specific=[(lot.lot_id, quantity)])
    return relief


def _fit(lot: OpenLot, take: Decimal, price: Decimal, on: dt.date, room: Decimal) -> Decimal:
    """The most of ``take`` shares of a gain lot whose gain fits in ``room``: all of them, or whole shares."""
    if _part(lot, take, price, on).gain <= room:
        return take
    gain_per_share = Fraction(price) - lot.cost_per_share
    whole = math.floor(take)
    shares = max(0, min(whole, math.floor(Fraction(room) / gain_per_share))) if room > 0 else 0
    while shares > 0 and _part(lot, Decimal(shares), price, on).gain > room:  # a cent of rounding
        shares -= 1
    while shares + 1 <= whole and _part(lot, Decimal(shares + 1), price, on).gain <= room:
        shares += 1
    return Decimal(shares).quantize(QUANTITY.unit)


def _select(candidates: Sequence[_Candidate], caps: dict[str, Decimal], prices: Mapping[str, Decimal], on: dt.date,
            rates: tuple[Decimal, Decimal], room: Decimal | None, describe: _Describe,
            year: int | None = None) -> tuple[list[SoldLot], list[_Candidate], dict[str, Decimal]]:
    """Sell lots in the plan's order within ``caps`` (sellable shares per symbol) and ``room`` (None:
    no limit). Returns the lots sold, the lots left (shrunk by partial sales) and the caps left."""
    ordered = sorted(candidates, key=lambda c: _order_key(c, prices[c.symbol], on, rates))
    sold, left = [], []
    for c in ordered:
        price, take = prices[c.symbol], min(c.lot.quantity, caps.get(c.symbol, Decimal(0)))
        if take > 0:
            gain_lot = Fraction(price) > c.lot.cost_per_share
            if gain_lot and room is not None:
                take = _fit(c.lot, take, price, on, room)
        if take <= 0:
            left.append(c)
            continue
        relief = _part(c.lot, take, price, on)
        step = "gain" if Fraction(price) > c.lot.cost_per_share else "loss"
        sold.append(SoldLot(c.symbol, relief, step, describe.lot(relief, step, year)))
        caps[c.symbol] -= take
        if room is not None:
            room -= relief.gain
        if take < c.lot.quantity:
            left.append(_Candidate(c.symbol, OpenLot(c.lot.lot_id, c.lot.quantity - take,
                                                     c.lot.cost_basis - relief.cost_basis, c.lot.acquired)))
    return sold, left, caps


def _sells(sold: Sequence[SoldLot], prices: Mapping[str, Decimal], describe: _Describe) -> list[Sell]:
    """One sell per security (by symbol), its lots in the order chosen."""
    sells = []
    for symbol in sorted({s.symbol for s in sold}):
        lots = tuple(s for s in sold if s.symbol == symbol)
        sells.append(Sell(symbol, prices[symbol], lots, (describe.sell(symbol), *(lot.reason for lot in lots))))
    return sells


def _net(sold: Iterable[SoldLot]) -> dict[str, Decimal]:
    result = {str(term): sum((s.relief.gain for s in sold if s.relief.term is term), CENTS) for term in Term}
    result["total"] = result["short"] + result["long"]
    return result


def _tax(net: Mapping[str, Decimal], rates: tuple[Decimal, Decimal]) -> dict[str, Decimal]:
    """Each term's net gain x its rate, to the cent (negative: a saving)."""
    tax = {"short": round_money(net["short"] * rates[0]), "long": round_money(net["long"] * rates[1])}
    tax["total"] = tax["short"] + tax["long"]
    return tax


def _buys(targets: Mapping[str, Decimal], cash_weight: Decimal, kept: Mapping[str, Decimal],
          prices: Mapping[str, Decimal], value: Fraction, cash: Decimal,
          model_id: str) -> tuple[list[Buy], Fraction | None]:
    """Buys toward target with the cash above the model's cash weight, pro rata to the shortfalls,
    in whole shares each within its share of the cash. Also: the part of the shortfall the cash
    covers (None: all of it)."""
    available = Fraction(cash) - Fraction(cash_weight) * value
    shortfall = {s: Fraction(w) * value - Fraction(kept.get(s, 0)) * Fraction(prices[s]) for s, w in targets.items()}
    shortfall = {s: v for s, v in shortfall.items() if v > 0}
    total = sum(shortfall.values(), Fraction(0))
    if available <= 0 or total <= 0:
        return [], (Fraction(0) if total > 0 else None)
    factor = min(Fraction(1), available / total)
    buys = []
    for symbol in sorted(shortfall):
        share, price = shortfall[symbol] * factor, prices[symbol]
        shares = math.floor(share / Fraction(price))
        while shares > 0 and round_money(Decimal(shares) * price) > share:
            shares -= 1
        if shares > 0:
            reasons = [f"transition to {model_id}: buy to target {targets[symbol]:.2%}"]
            if factor < 1:
                reasons.append(f"transition: pro rata, the cash covers {exact_weight(factor):.2%} of the shortfall")
            buys.append(Buy(symbol, Decimal(shares).quantize(QUANTITY.unit), price, targets[symbol], tuple(reasons)))
    return buys, (factor if factor < 1 else None)


def _legacy(left: Sequence[_Candidate], caps: Mapping[str, Decimal], prices: Mapping[str, Decimal], on: dt.date,
            rates: tuple[Decimal, Decimal]) -> list[LegacyPosition]:
    """The sellable shares left, by symbol: the lots they would come from, in the plan's order."""
    remaining = dict(caps)
    parts: dict[str, list[Relief]] = {}
    for c in sorted(left, key=lambda c: _order_key(c, prices[c.symbol], on, rates)):
        take = min(c.lot.quantity, remaining.get(c.symbol, Decimal(0)))
        if take > 0:
            parts.setdefault(c.symbol, []).append(_part(c.lot, take, prices[c.symbol], on))
            remaining[c.symbol] -= take
    return [LegacyPosition(s, prices[s], tuple(parts[s])) for s in sorted(parts)]


def _after(quantities: Mapping[str, Decimal], cash: Decimal, prices: Mapping[str, Decimal],
           targets: Mapping[str, Decimal], cash_weight: Decimal) -> tuple[list[Holding], Decimal | None]:
    """The sleeve after the plan: each security and cash with weight and target, and the tracking."""
    value = sum((Fraction(q) * Fraction(prices[s]) for s, q in quantities.items()), Fraction(cash))
    weights = _weights(quantities, cash, prices, value)
    symbols = sorted({s for s, q in quantities.items() if q} | {s for s, w in targets.items() if w})
    holdings = [Holding(s, quantities.get(s, Decimal(0)), round_money(quantities.get(s, Decimal(0)) * prices[s]),
                        exact_weight(weights.get(s, Fraction(0))), targets.get(s, Decimal(0))) for s in symbols]
    holdings.append(Holding(CASH_SYMBOL, None, cash, exact_weight(weights.get(CASH_SYMBOL, Fraction(0))), cash_weight))
    return holdings, _tracking(weights, targets, cash_weight)


def _year_day(as_of: dt.date, years: int) -> dt.date:
    """``as_of`` ``years`` later (29 February becomes 28 February)."""
    try:
        return as_of.replace(year=as_of.year + years)
    except ValueError:
        return as_of.replace(year=as_of.year + years, day=28)


def _multi_year(left: Sequence[_Candidate], caps: Mapping[str, Decimal], prices: Mapping[str, Decimal],
                as_of: dt.date, rates: tuple[Decimal, Decimal], budget: Decimal,
                describe: _Describe) -> tuple[tuple[PlanYear, ...], bool]:
    """The legacy positions sold in the following years, each within the whole annual budget."""
    years, pool, caps = [], list(left), dict(caps)
    for k in range(1, MAX_YEARS + 1):
        on = _year_day(as_of, k)
        sold, pool, caps = _select(pool, caps, prices, on, rates, budget, describe, on.year)
        if not sold:
            break  # the budget cannot sell one share of what is left: later years cannot either
        net = _net(sold)
        left_value = sum((p.value for p in _legacy(pool, caps, prices, on, rates)), CENTS)
        years.append(PlanYear(on.year, on, tuple(_sells(sold, prices, describe)), net, _tax(net, rates), left_value))
        if not any(caps.values()):
            break
    return tuple(years), not any(caps.values())


def _notes(deferred: bool, budget: Decimal | None, binding: bool, legacy: Sequence[LegacyPosition],
           years: Sequence[PlanYear], complete: bool, covered: Fraction | None, as_of: dt.date) -> list[str]:
    notes = []
    if deferred:
        notes.append("tax-deferred account: no tax on the sales" + (", the gain budget does not apply" if budget
                     is not None else "") + "; a full transition")
    elif budget is None:
        notes.append("no gain budget: a full transition")
    if binding:
        notes.append(f"the budget binds: {len(legacy)} legacy position(s) kept; the multi-year plan sells them "
                     f"in the following years at today's prices (as of {as_of}), each lot's term taken on that "
                     "year's anniversary of the as-of date")
        if years and complete:
            notes.append(f"the legacy positions are gone by {years[-1].year}")
        elif not complete:
            notes.append("the multi-year plan does not finish: " + (
                "the budget cannot sell one share of what is left" if len(years) < MAX_YEARS
                else f"something is left after {MAX_YEARS} years"))
    if covered is not None:
        notes.append(f"the cash covers {exact_weight(covered):.2%} of the model's shortfall: buys are pro rata")
    return notes


def _digest(sleeve_id: str, model_id: str, version: str, as_of: dt.date, lots: Sequence[Any], cash: Decimal,
            prices: Mapping[str, Decimal], held: Mapping[str, Decimal], targets: Mapping[str, Decimal],
            year_to_date: Decimal, budget: Decimal | None) -> str:
    """A content hash of what the plan read (recorded as the run's book digest)."""
    seen = {"sleeve": sleeve_id, "model": [model_id, version], "as_of": as_of.isoformat(), "cash": str(cash),
            "lots": [[lot.lot_id, lot.symbol, str(lot.quantity), str(lot.cost_basis), lot.holding_start.isoformat()]
                     for lot in lots],
            "prices": {s: str(prices[s]) for s in sorted(held.keys() | targets.keys())},
            "year_to_date": str(year_to_date), "budget": None if budget is None else str(budget)}
    return "transition:" + hashlib.sha256(json.dumps(seen, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------- storing


def record_transition(store: Store, plan: TransitionPlan) -> TransitionPlan:
    """Assign the sleeve to the plan's model and store its trades as a rebalance run of proposals,
    audited as ``transition.plan``, all in one transaction. Returns the plan with its run and trade ids."""
    proposals = tuple(ProposedTrade(trade, tuple(lots), plan.model_version)
                      for trade, lots in zip(plan.trades(), plan.trade_lots()))
    result = RunResult(run_id=None, as_of=plan.as_of, book_digest=plan.digest, policies={}, sleeves_evaluated=1,
                       sleeves_triggered=1, problems={}, trades=proposals)
    with store.transaction():
        store.assign_sleeve(plan.sleeve_id, model_id=plan.model_id)
        recorded = record_run(store, result)
        stored = attrs.evolve(plan, run_id=recorded.run_id,
                              trade_ids=tuple(p.trade.trade_id for p in recorded.trades))
        store.audit("transition.plan", plan.sleeve_id, run_id=recorded.run_id, from_model=plan.from_model,
                    model_id=plan.model_id, model_version=plan.model_version, as_of=plan.as_of.isoformat(),
                    gain_budget=text(plan.budget.given), year_to_date=text(plan.budget.year_to_date),
                    realized=terms_json(plan.realized), tax=terms_json(plan.tax), trades=list(stored.trade_ids),
                    legacy=[p.symbol for p in plan.legacy], years=len(plan.years), digest=plan.digest)
    return stored
