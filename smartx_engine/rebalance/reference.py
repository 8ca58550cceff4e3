"""A plain reference implementation of the trade generator: one sleeve, one holding at a time.

This is the oracle the vectorised generator (:mod:`generate`) is tested against. It follows
``docs/rebalancing.md`` step by step with Python floats: the policy's evaluation and the book are
first read into plain rows (:func:`sleeve_inputs`), then every sleeve is planned on its own
(:func:`plan_sleeve`). It is written to be read against the documentation, not to be fast.

Conventions, where the documentation is terse:

* Sums (the sleeve's value, the sell proceeds, the wanted buys) are added up in holding order
  from 0; the sleeve's value is the holdings' values summed, then the cash added.
* ``t = model weight x (1 - c) / (1 - model cash weight)`` is computed left to right, and only
  when the policy gives a ``target cash``; without one ``t`` is the model weight itself. With a
  ``target cash`` and an all-cash model (model cash weight 100%), every ``t`` is 0.
* ``L`` in ``rebalance to band`` uses the rescaled target ``t`` (the relative limit times ``t``);
  which holdings are out of band is the policy evaluation's decision (made against the model
  weights).
* A sleeve whose value is not above 0 gets no trades (its weights are undefined).
* Quantities are rounded down with ``floor(y + 1e-9 + 1e-12 |y|) / 10**N``, ``y = x * 10**N`` (N = 0 for whole shares),
  so float noise just under a whole step does not lose a step.
* A trade of quantity 0 (after rounding) is no trade; ``min trade`` compares the trade's value
  ``quantity x price`` (not rounded to the cent) with ``value < min trade``.
* Buys are scaled by ``k = min(1, A / wanted buys)``: each buy's value is ``D x k``, then divided
  by the price and rounded down.
* A withdrawal's sells round up with ``ceil(y - 1e-9 - 1e-12 |y|) / 10**N``.
* The weight moved off restricted holdings is added to their substitutes' ``w*`` in holding order.
* The empty holdings that substitutes need are added to the evaluation by the generator's own
  :func:`~smartx_engine.rebalance.generate.with_substitute_holdings` (a change of rows, not of
  arithmetic), so both implementations see the same holdings.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import attrs

from ..dsl import ast
from ..dsl.reference import literal
from ..dsl.reference_fields import divide, total
from .generate import Blocks, CashEvents, with_substitute_holdings

if TYPE_CHECKING:
    from ..dsl.compile import PolicyEvaluation, Settings

#: a trade as the generator's ``TradeSet.rows()`` gives it: (sleeve id, symbol, "buy"|"sell", quantity)
TradeRow = tuple[str, str, str, float]
#: the nudge that makes rounding down robust to float noise (see the module's conventions)
NUDGE, RELATIVE_NUDGE = 1e-9, 1e-12


# ---------------------------------------------------------------- the evaluation as plain rows


@attrs.frozen
class HoldingInput:
    index: int              # the holding's row in the evaluation's book
    symbol: str
    price: float
    quantity: float
    model_weight: float     # the model's weight (0 when not in the model; nan without a model)
    out_of_band: bool
    limit_abs: float | None  # the limit of the absolute band that applies, None without one
    limit_rel: float | None
    hold: bool
    sell_to: float | None   # the cap of the `sell to` rule that fired (the lowest), None for none
    avoided: float = 0.0    # shares in lots `avoid short term gains` keeps (summed in lot order)

    @property
    def sellable(self) -> float:
        return self.quantity - self.avoided


@attrs.frozen
class SleeveInput:
    index: int
    sleeve_id: str
    has_model: bool
    cash: float
    model_cash: float       # the model's cash weight (nan without a model)
    triggered: bool         # a band, a trigger, a realignment, the cash limits or a `sell to` fired, and no skip
    realign: bool           # `realign on model change` fired: to target, whatever the rebalance mode
    skipped: bool
    withdraw: float         # cash to raise for a withdrawal (0 for none)
    invest: bool            # invest the cash, buying only
    holdings: tuple[HoldingInput, ...]
    prices: dict[str, float]  # every security of the book: where substitutes are looked up
    blocked: frozenset[str] = frozenset()  # what it may not buy (a wash sale in its household, its account's restrictions)

    @property
    def evented(self) -> bool:
        """A cash event trades the sleeve whatever its policy decided (unless skipped)."""
        return (self.withdraw > 0 or self.invest) and not self.skipped

    @property
    def all_the_way(self) -> bool:
        """In `rebalance to band`, whether the sleeve trades to target instead of to its band edges."""
        return self.evented or self.realign or not any(h.out_of_band or h.sell_to is not None for h in self.holdings)


def _limit(evaluation: PolicyEvaluation, band: int) -> float | None:
    return None if band < 0 else float(evaluation.policy.bands[band].limit)


def _cap(evaluation: PolicyEvaluation, rule: int) -> float | None:
    if rule < 0:
        return None
    action = evaluation.policy.rules[rule][0].action
    assert isinstance(action, ast.SellTo)
    return literal(action.weight)


def sleeve_inputs(evaluation: PolicyEvaluation, events: CashEvents | None = None,
                  blocks: Blocks | None = None) -> list[SleeveInput]:
    """Every sleeve of the evaluation's book with its holdings and decisions, as plain Python values."""
    book = evaluation.book
    events = events or CashEvents.none(book.n_sleeves)
    blocks = blocks or Blocks.none()
    avoided: dict[int, float] = {}
    for lot in range(book.n_lots):
        if evaluation.avoid_short_term[lot]:
            h = int(book.lot_holding[lot])
            avoided[h] = avoided.get(h, 0.0) + float(book.lot_quantity[lot])
    prices = {str(symbol): float(price) for symbol, price in zip(book.symbols, book.symbol_price)}
    holdings_of: dict[int, list[HoldingInput]] = {}
    for h in range(book.n_holdings):
        symbol = int(book.holding_symbol[h])
        holdings_of.setdefault(int(book.holding_sleeve[h]), []).append(HoldingInput(
            index=h, symbol=str(book.symbols[symbol]), price=float(book.symbol_price[symbol]),
            quantity=float(book.holding_quantity[h]), model_weight=float(book.holding_target[h]),
            out_of_band=bool(evaluation.out_abs[h]) or bool(evaluation.out_rel[h]),
            limit_abs=_limit(evaluation, int(evaluation.band_abs[h])),
            limit_rel=_limit(evaluation, int(evaluation.band_rel[h])),
            hold=bool(evaluation.hold[h]), sell_to=_cap(evaluation, int(evaluation.sell_rule[h])),
            avoided=avoided.get(h, 0.0),
        ))
    sleeves = []
    for s in range(book.n_sleeves):
        holdings = tuple(holdings_of.get(s, ()))
        fired = (any(h.out_of_band for h in holdings) or bool(evaluation.cash_low[s])
                 or bool(evaluation.cash_high[s]) or any(h.sell_to is not None for h in holdings)
                 or any(bool(mask[s]) for _, mask in evaluation.triggers) or bool(evaluation.realign[s]))
        sleeves.append(SleeveInput(
            index=s, sleeve_id=str(book.sleeve_ids[s]), has_model=int(book.sleeve_model[s]) >= 0,
            cash=float(book.sleeve_cash[s]), model_cash=float(book.sleeve_cash_target[s]),
            triggered=fired and not bool(evaluation.skip[s]), realign=bool(evaluation.realign[s]),
            skipped=bool(evaluation.skip[s]),
            withdraw=float(events.withdraw[s]), invest=bool(events.invest[s]), holdings=holdings, prices=prices,
            blocked=blocks.symbols_of(book, int(book.account_household[book.sleeve_account[s]]),
                                      int(book.sleeve_account[s])),
        ))
    return sleeves


# ---------------------------------------------------------------- the plan of one sleeve


@attrs.frozen
class HoldingPlan:
    holding: HoldingInput
    weight: float           # w
    target: float           # t, rescaled for the cash target
    target_weight: float    # w*
    wanted: float           # D = (w* - w) x T
    side: str | None        # "buy", "sell", or None: no trade
    quantity: float         # 0.0 without a trade
    dropped: str | None     # why a wanted trade was not proposed: "rounding", "min trade"


@attrs.frozen
class SleevePlan:
    sleeve: SleeveInput
    trades: bool            # whether the sleeve trades at all (triggered, not skipped, with a model)
    value: float = 0.0      # T
    floor: float = 0.0
    proceeds: float = 0.0
    available: float = 0.0  # A
    wanted_buys: float = 0.0
    scale: float = 1.0      # k
    holdings: tuple[HoldingPlan, ...] = ()

    @property
    def scaled(self) -> bool:
        """Whether the buys were scaled down for want of cash."""
        return self.scale < 1.0

    def rows(self) -> list[TradeRow]:
        return [(self.sleeve.sleeve_id, p.holding.symbol, p.side, p.quantity) for p in self.holdings
                if p.side is not None]


def round_down(x: float, decimals: int) -> float:
    """``x`` rounded down to ``decimals`` decimals (0: whole shares), robust to float noise."""
    scale = float(10 ** decimals)
    scaled = x * scale
    return float(math.floor(scaled + NUDGE + RELATIVE_NUDGE * abs(scaled))) / scale


def round_up(x: float, decimals: int) -> float:
    scale = float(10 ** decimals)
    scaled = x * scale
    return float(math.ceil(scaled - NUDGE - RELATIVE_NUDGE * abs(scaled))) / scale


def sign(x: float) -> float:
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


def unrestricted_weight(settings: Settings, holding: HoldingInput, w: float, t: float, all_the_way: bool) -> float:
    """w* before `restrict buy`: the mode, then `sell to`, `hold`, `restrict sell`, each overriding the last."""
    if settings.rebalance_to == "band" and not all_the_way:
        if holding.out_of_band:
            limits = [holding.limit_abs] if holding.limit_abs is not None else []
            if holding.limit_rel is not None:
                limits.append(holding.limit_rel * t)
            w_star = max(0.0, t + sign(w - t) * min(limits))
        else:
            w_star = w
    else:
        w_star = t
    if holding.sell_to is not None:
        w_star = min(w_star, holding.sell_to)
    if holding.hold:
        w_star = w
    if holding.symbol in settings.restrict_sell:
        w_star = max(w_star, w)
    return w_star


def first_allowed_substitute(settings: Settings, symbol: str, prices: dict[str, float],
                             blocked: frozenset[str] = frozenset()) -> str | None:
    """The first substitute of ``symbol`` that is a known security with a price, not restricted, not blocked."""
    for alternative in settings.substitutes.get(symbol, ()):
        if (alternative in prices and prices[alternative] > 0 and alternative not in settings.restrict_buy
                and alternative not in blocked):
            return alternative
    return None


def plan_sleeve(settings: Settings, sleeve: SleeveInput) -> SleevePlan:
    """The trades of one sleeve, step by step as docs/rebalancing.md describes them."""
    if not ((sleeve.triggered or sleeve.evented) and sleeve.has_model):
        return SleevePlan(sleeve, trades=False)
    value = total(h.quantity * h.price for h in sleeve.holdings) + sleeve.cash - sleeve.withdraw
    if not value > 0:
        return SleevePlan(sleeve, trades=False, value=value)
    decimals = settings.decimals
    min_trade = float(settings.min_trade)

    # 1. the target weight of each holding, 2. the trade it wants
    steps = []
    for h in sleeve.holdings:
        w = divide(h.quantity * h.price, value)
        if settings.cash_target is None:
            t = h.model_weight
        elif sleeve.model_cash == 1:  # an all-cash model targets no security
            t = 0.0
        else:
            t = h.model_weight * (1 - settings.cash_target) / (1 - sleeve.model_cash)
        w_star = unrestricted_weight(settings, h, w, t, sleeve.all_the_way)
        restricted = h.symbol in settings.restrict_buy or h.symbol in sleeve.blocked  # 5. never bought
        steps.append([h, w, t, min(w_star, w) if restricted else w_star, w_star - w if restricted else 0.0])
    for h, w, t, w_star, moved in steps:  # 6. what a restricted holding does not buy, its substitute does
        substitute = first_allowed_substitute(settings, h.symbol, sleeve.prices, sleeve.blocked)
        for step in steps:
            if moved > 0 and step[0].symbol == substitute and not step[0].hold:
                step[3] += moved
    steps = [(h, w, t, w_star, (w_star - w) * value) for h, w, t, w_star, _ in steps]

    # 3. sells first (none when investing a deposit; a withdrawal rounds them up)
    trades: dict[int, tuple[str, float, str | None]] = {}
    for h, w, t, w_star, wanted in steps:
        if wanted < 0 and not (sleeve.invest and sleeve.withdraw == 0):
            rounded = (round_up if sleeve.withdraw > 0 else round_down)(-wanted / h.price, decimals)
            quantity = h.sellable if w_star == 0 else min(h.sellable, rounded)
            trades[h.index] = _kept("sell", quantity, h.price, min_trade)
    proceeds = total(trades[h.index][1] * h.price for h, *_ in steps
                     if h.index in trades and trades[h.index][0] == "sell")

    # 4. cash for buys
    floor = settings.cash_min * value if settings.cash_min is not None else 0.0
    available = max(0.0, sleeve.cash + proceeds - sleeve.withdraw - floor)

    # 5. buys, scaled to the cash available
    wanted_buys = total(wanted for *_, wanted in steps if wanted > 0)
    scale = min(1.0, available / wanted_buys) if wanted_buys > 0 else 1.0
    for h, w, t, w_star, wanted in steps:
        if wanted > 0:
            trades[h.index] = _kept("buy", round_down(wanted * scale / h.price, decimals), h.price, min_trade)

    plans = []
    for h, w, t, w_star, wanted in steps:
        side, quantity, dropped = trades.get(h.index, (None, 0.0, None))
        plans.append(HoldingPlan(h, w, t, w_star, wanted, side, quantity, dropped))
    return SleevePlan(sleeve, trades=True, value=value, floor=floor, proceeds=proceeds, available=available,
                      wanted_buys=wanted_buys, scale=scale, holdings=tuple(plans))


def _kept(side: str, quantity: float, price: float, min_trade: float) -> tuple[str | None, float, str | None]:
    """The trade, or no trade (with why) when it rounds to nothing or is worth less than `min trade`."""
    if not quantity > 0:
        return None, 0.0, "rounding"
    if quantity * price < min_trade:
        return None, 0.0, "min trade"
    return side, quantity, None


# ---------------------------------------------------------------- the whole evaluation


def reference_plans(evaluation: PolicyEvaluation, events: CashEvents | None = None,
                    blocks: Blocks | None = None) -> list[SleevePlan]:
    """The plan of every sleeve of the evaluation, in book order."""
    settings = evaluation.policy.settings
    return [plan_sleeve(settings, sleeve)
            for sleeve in sleeve_inputs(with_substitute_holdings(evaluation, blocks), events, blocks)]


def reference_trades(evaluation: PolicyEvaluation, events: CashEvents | None = None,
                     blocks: Blocks | None = None) -> list[TradeRow]:
    """Every proposed trade, by holding (as ``generate_trades(evaluation, events, blocks).rows()``)."""
    return [row for plan in reference_plans(evaluation, events, blocks) for row in plan.rows()]
