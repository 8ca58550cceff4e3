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
from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, Decimal

import attrs
import numpy as np

from ..book import Book
from ..domain import Side, Trade
from ..dsl.compile import PolicyEvaluation
from ..fixedpoint import MONEY, PRICE, QUANTITY, floor_to_step
from ..tax.recent import RecentTrading
from ..tax.relief import OpenLot, Relief, relieve
from .details import book_decimal, open_lot, rows_of
from .generate import Blocks, holds_any, substitutes_of
from .lots import relieve_lots
from .proposals import Proposals, ReliefColumns, Rows

CENT = Decimal("0.01")


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

    holding: np.ndarray     # holdings with marked lots, a substitute, and no `hold` or `restrict sell`
    substitute: np.ndarray  # symbol code of each one's first allowed substitute
    lots: np.ndarray        # their marked lots (rows of the book), holding by holding, in book order
    row: np.ndarray         # per lot of ``lots``: its holding's index in ``holding``

    def __len__(self) -> int:
        return len(self.holding)


def harvest_plan(evaluation: PolicyEvaluation, harvesting: np.ndarray, blocks: Blocks,
                 identical: Callable[[str], frozenset[str]]) -> HarvestPlan:
    """Steps 1 and 3 of the module's rules over whole columns (``harvesting``: per sleeve of the evaluation)."""
    book, settings = evaluation.book, evaluation.policy.settings
    lots = np.flatnonzero(evaluation.harvest)
    lots = lots[harvesting[book.holding_sleeve[book.lot_holding[lots]]]]
    held = book.lot_holding[lots]  # non-decreasing: lots are stored by holding
    holdings = held[np.r_[True, held[1:] != held[:-1]]] if len(held) else held
    allowed = ~evaluation.hold[holdings]
    if settings.restrict_sell:
        allowed &= ~holds_any(book, book.holding_symbol[holdings], settings.restrict_sell)
    holdings = holdings[allowed]
    substitute = substitutes_of(book, settings, blocks, holdings, identical)
    holdings, substitute = holdings[substitute >= 0], substitute[substitute >= 0]
    row = np.minimum(np.searchsorted(holdings, held), max(len(holdings) - 1, 0))
    kept = np.flatnonzero(holdings[row] == held) if len(holdings) else np.empty(0, np.int64)
    return HarvestPlan(holdings, substitute, lots[kept], row[kept])


@attrs.frozen(eq=False)
class Harvests(Rows[Harvest]):
    """Harvests as columns: harvest ``i`` sells row ``2i`` of ``pairs`` and buys row ``2i + 1``;
    ``Harvests[i]`` makes it as a :class:`Harvest`."""

    pairs: Proposals
    sleeve: np.ndarray         # int64: index into the evaluation's book
    loss_cents: np.ndarray     # int64, positive
    tax_value: np.ndarray      # object: Decimal
    blocked_until: np.ndarray  # datetime64[D]

    @classmethod
    def empty(cls) -> Harvests:
        return cls(Proposals.empty(), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, dtype=object),
                   np.empty(0, "datetime64[D]"))

    def __len__(self) -> int:
        return len(self.sleeve)

    def _row(self, i: int) -> Harvest:
        first, last = np.searchsorted(self.pairs.lots.trade, [2 * i, 2 * i + 1]).tolist()
        return Harvest(int(self.sleeve[i]), self.pairs.trade(2 * i), tuple(self.pairs.lots.reliefs(first, last)),
                       self.pairs.trade(2 * i + 1), MONEY.to_decimal(int(self.loss_cents[i])), self.tax_value[i],
                       self.blocked_until[i].astype(dt.date))

    def __repr__(self) -> str:
        return f"<Harvests: {len(self)}>"

    def loss(self) -> Decimal:
        """The losses they realise, in all."""
        return MONEY.to_decimal(sum(self.loss_cents.tolist()))

    def total_tax_value(self) -> Decimal:
        return sum(self.tax_value.tolist(), Decimal(0))

    def take(self, rows: np.ndarray) -> Harvests:
        """The given harvests, in the given order."""
        rows = np.asarray(rows, dtype=np.int64)
        return Harvests(self.pairs.take(np.stack([2 * rows, 2 * rows + 1], axis=1).ravel()), self.sleeve[rows],
                        self.loss_cents[rows], self.tax_value[rows], self.blocked_until[rows])

    @classmethod
    def concat(cls, parts: Sequence[Harvests]) -> Harvests:
        parts = [p for p in parts if len(p)] or [cls.empty()]
        return cls(Proposals.concat([p.pairs for p in parts]),
                   *(np.concatenate([getattr(p, f.name) for p in parts]) for f in attrs.fields(cls)[1:]))


def harvests(evaluation: PolicyEvaluation, harvesting: np.ndarray, recent: RecentTrading, blocks: Blocks,
             prices: dict[str, Decimal], as_of: dt.date) -> Harvests:
    """The harvests of ``evaluation``'s sleeves marked ``harvesting``, in the order of its holdings;
    ``blocks``: what households may not buy (recent losses, earlier harvests) and accounts never buy.

    Over columns: every holding of the plan is sold as the module says (its lots relieved exactly,
    :func:`.lots.relieve_lots`), then the harvests that can be made are made in order, except one
    whose substitute an earlier one in its household blocked (:func:`_unblocked`): the only step
    that depends on the harvests before it.
    """
    book, settings = evaluation.book, evaluation.policy.settings
    plan = harvest_plan(evaluation, harvesting, blocks, recent.identical)
    sale = _Sale.of(evaluation, plan, recent, prices, as_of)
    group = _groups(book, recent.identical)
    made = np.flatnonzero(sale.possible)
    made = made[_unblocked(sale.household[made], group[sale.symbol[made]], group[plan.substitute[made]],
                           len(book.symbols))]
    return sale.harvests(made, plan.substitute, settings, recent.window_days, as_of)


def blocked_by(book: Book, found: Harvests, identical: Callable[[str], frozenset[str]]) -> np.ndarray:
    """The household keys (as :class:`.generate.Blocks` has them) the harvests block: each harvested
    security and those identical to it, in its household (step 5)."""
    sold = found.pairs.symbol[0::2].astype(np.int64)
    household = book.account_household[found.pairs.account[0::2]].astype(np.int64) * len(book.symbols)
    group = _groups(book, identical)
    keys = [household + sold]
    for code in np.flatnonzero(np.bincount(group, minlength=len(group))[group] > 1).tolist():  # groups of several
        rows = np.flatnonzero((group[sold] == group[code]) & (sold != code))
        keys.append(household[rows] + code)
    return np.unique(np.concatenate(keys))


def _groups(book: Book, identical: Callable[[str], frozenset[str]]) -> np.ndarray:
    """Per symbol code of the book, the code of its group of identical symbols (its first member's)."""
    group = np.arange(len(book.symbols))
    index = {str(s): i for i, s in enumerate(book.symbols)}
    for code, symbol in enumerate(index):
        members = [index[s] for s in identical(symbol) if s in index]
        group[code] = min(members, default=code)
    return group


def _unblocked(household: np.ndarray, sold: np.ndarray, substitute: np.ndarray, n_symbols: int) -> np.ndarray:
    """Which harvests (in order, each possible on its own) are made: not one whose substitute's group
    (``substitute``) an earlier one made in its household sold (``sold``: group codes).

    Only the households where an earlier harvest sold what a later one would buy are walked in order.
    """
    blocking = household.astype(np.int64) * n_symbols + sold
    needs = household.astype(np.int64) * n_symbols + substitute
    made = np.ones(len(needs), dtype=bool)
    if not len(needs):
        return made
    keys, first = np.unique(blocking, return_index=True)
    at = np.minimum(np.searchsorted(keys, needs), len(keys) - 1)
    maybe = (keys[at] == needs) & (first[at] < np.arange(len(needs)))
    if maybe.any():
        blocked: set[int] = set()
        walked = np.flatnonzero(np.isin(household, household[maybe]))
        for row, need, block in zip(walked.tolist(), needs[walked].tolist(), blocking[walked].tolist()):
            if need in blocked:
                made[row] = False
            else:
                blocked.add(block)
    return made


@attrs.frozen(eq=False)
class _Sale:
    """Steps 2 and 4 of the module's rules for every holding of a plan, over columns (a row per holding)."""

    book: Book
    plan: HarvestPlan
    household: np.ndarray      # code
    account: np.ndarray        # code
    symbol: np.ndarray         # code
    quantity: np.ndarray       # millionths sold (0: none)
    washed: dict[int, Decimal]  # row -> shares a recent purchase would wash (rows with some)
    relief: ReliefColumns      # trades numbered by row
    prices: np.ndarray         # per symbol code: millionths of a dollar (0 where not needed)
    bought: np.ndarray         # millionths of the substitute bought (0: none)
    possible: np.ndarray       # bool: a harvest, if its substitute is not blocked by an earlier one

    @classmethod
    def of(cls, evaluation: PolicyEvaluation, plan: HarvestPlan, recent: RecentTrading, prices: dict[str, Decimal],
           as_of: dt.date) -> _Sale:
        book, settings = evaluation.book, evaluation.policy.settings
        n, lots, row = len(plan), plan.lots, plan.row
        sleeve = book.holding_sleeve[plan.holding]
        account = book.sleeve_account[sleeve]
        symbol = book.holding_symbol[plan.holding]
        table = np.zeros(len(book.symbols), dtype=np.int64)
        for code in np.unique(np.r_[symbol, plan.substitute]).tolist():
            table[code] = PRICE.to_int(prices[str(book.symbols[code])])
        held = np.zeros(n, dtype=np.int64)
        np.add.at(held, row, np.rint(book.lot_quantity[lots] * 10 ** QUANTITY.places).astype(np.int64))
        bounds = np.searchsorted(row, np.arange(n + 1))

        def of_row(r: int) -> np.ndarray:  # a row's marked lots
            return lots[bounds[r]:bounds[r + 1]]
        washed = _washed(book, recent, of_row, account, symbol)
        quantity = held.copy()
        for r, shares in washed.items():
            total = QUANTITY.to_decimal(int(held[r]))
            quantity[r] = QUANTITY.to_int((total - min(shares, total)).quantize(QUANTITY.unit))
        selling = quantity > 0
        relief = relieve_lots(book, "HIFO", lots, row, quantity, table[symbol], selling,
                              lambda r: _named_relief(book, of_row(r), int(quantity[r]), prices, symbol[r], as_of),
                              _beyond_floats(book, lots, row, n))
        proceeds, basis = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        np.add.at(proceeds, relief.trade, relief.proceeds_cents)
        np.add.at(basis, relief.trade, relief.basis_cents)
        bought = _bought(proceeds, table[plan.substitute], settings)
        return cls(book, plan, book.account_household[account], account, symbol, quantity, washed, relief, table,
                   bought, selling & (basis > proceeds) & (bought > 0))

    def harvests(self, made: np.ndarray, substitute: np.ndarray, settings, window_days: int,
                 as_of: dt.date) -> Harvests:
        """The harvests of rows ``made``, with their pairs."""
        book, relief = self.book, self.relief
        position = np.full(len(self.quantity), -1, dtype=np.int64)
        position[made] = np.arange(len(made))
        kept = np.flatnonzero(position[relief.trade] >= 0)
        lots = relief.select(kept, 2 * position[relief.trade[kept]])
        loss = np.zeros(len(made), dtype=np.int64)
        np.add.at(loss, lots.trade // 2, -lots.gain_cents)
        tax_value, tax_cents = _tax_values(book, lots, self.account[made])
        until = as_of + dt.timedelta(days=window_days)
        symbols = [str(s) for s in book.symbols]
        heads = np.empty(2 * len(made), dtype=object)
        heads[0::2] = [
            f"harvest: realises a loss of {_usd(cents)} USD (estimated tax value {_usd(tax)} USD at the account's rates)"
            + (f"; {self.washed[row]:f} shares bought in the last {window_days} days are left out, their loss would "
               "be washed" if self.washed.get(row) else "")
            for row, cents, tax in zip(made.tolist(), loss.tolist(), tax_cents)]
        keeps: dict[tuple[int, int], str] = {}
        heads[1::2] = [keeps.get((s, b)) or keeps.setdefault((s, b), (
            f"harvest: keeps the exposure of {symbols[s]} through its substitute {symbols[b]}; {symbols[s]} "
            f"is blocked from purchase in the household until {until}"))
            for s, b in zip(self.symbol[made].tolist(), substitute[made].tolist())]

        def pair(sell: np.ndarray, buy: np.ndarray) -> np.ndarray:
            return np.stack([sell, buy], axis=1).ravel()
        symbol = pair(self.symbol[made], substitute[made]).astype(np.int32)
        pairs = Proposals(
            book.sleeve_ids, book.account_ids, book.symbols,
            np.repeat(book.holding_sleeve[self.plan.holding[made]], 2).astype(np.int32),
            np.repeat(self.account[made], 2).astype(np.int32), symbol, np.tile(np.array([-1, 1], np.int8), len(made)),
            pair(self.quantity[made], self.bought[made]), self.prices[symbol], np.full(2 * len(made), None, object),
            heads, np.zeros(2 * len(made), dtype=np.int64), ((),), {}, lots)
        return Harvests(pairs, book.holding_sleeve[self.plan.holding[made]].astype(np.int64), loss, tax_value,
                        np.full(len(made), np.datetime64(until, "D")))


def _washed(book: Book, recent: RecentTrading, lots_of: Callable[[int], np.ndarray], account: np.ndarray,
            symbol: np.ndarray) -> dict[int, Decimal]:
    """Step 2: per row, the shares its household bought of the security (or an identical one) in the
    window that a loss sale today would wash (rows with some); counted where the household bought one."""
    symbols = [str(s) for s in book.symbols]
    group = {code: sorted(recent.identical(symbols[code])) for code in np.unique(symbol).tolist()}
    members = [group[code] for code in symbol.tolist()]
    households = np.asarray(book.households[book.account_household[account]], dtype=str)
    sizes = np.array([len(m) for m in members], dtype=np.int64)
    bought = recent.bought(np.repeat(households, sizes), np.array([s for m in members for s in m], dtype=str))
    rows = np.flatnonzero(np.add.reduceat(bought.astype(np.int64), np.cumsum(sizes) - sizes)).tolist() \
        if len(sizes) else []
    washed = recent.washed_by_recent_buys_of([str(book.account_ids[account[r]]) for r in rows],
                                             [symbols[symbol[r]] for r in rows],
                                             [set(book.lot_id_texts(lots_of(r)).tolist()) for r in rows])
    return {r: shares for r, shares in zip(rows, washed) if shares}


def _beyond_floats(book: Book, lots: np.ndarray, row: np.ndarray, n: int) -> np.ndarray:
    """Rows whose lots' cents or millionths are so large that the float cost per share, or the
    28-digit Decimal one of :func:`_named_relief`, could tell different costs apart differently:
    those are relieved by :func:`_named_relief` itself."""
    largest = np.zeros(n)
    np.maximum.at(largest, row, np.maximum(book.lot_cost[lots] * 100, book.lot_quantity[lots] * 1e6))
    return largest ** 2 >= 1e26


def _named_relief(book: Book, lots: np.ndarray, quantity: int, prices: dict[str, Decimal], symbol: int,
                  as_of: dt.date) -> list[Relief]:
    """Steps 1 and 4 for one holding, with objects: the marked lots, most loss per share first (ties:
    acquired, then lot id), named in that order up to ``quantity`` (millionths)."""
    price = prices[str(book.symbols[symbol])]
    marked = sorted((open_lot(book, int(i)) for i in lots),
                    key=lambda lot: (-(lot.cost_basis / lot.quantity - price), lot.acquired, lot.lot_id))
    specific, left = [], QUANTITY.to_decimal(quantity)
    for lot in marked:
        if left <= 0:
            break
        specific.append((lot.lot_id, min(lot.quantity, left)))
        left -= specific[-1][1]
    return relieve(marked, QUANTITY.to_decimal(quantity), price, as_of, "SPECIFIC", specific=specific)


def _bought(proceeds: np.ndarray, price: np.ndarray, settings) -> np.ndarray:
    """Step 4 over columns: millionths of shares ``proceeds`` (cents) buy at ``price`` (millionths),
    rounded down to the share step; 0 when the buy or the sale funding it is worth less than
    `min trade`. Exact (Python integers where int64 could overflow)."""
    step = 10 ** (QUANTITY.places - settings.decimals)  # the share step, in millionths
    per_cent = 10 ** (QUANTITY.places + PRICE.places - MONEY.places)  # millionths x millionths of a dollar per cent
    floor = int((settings.min_trade * 10 ** (QUANTITY.places + PRICE.places)).to_integral_value(ROUND_CEILING))
    large = proceeds >= np.iinfo(np.int64).max // per_cent
    bought = np.zeros(len(proceeds), dtype=np.int64)
    for rows, dtype in ((np.flatnonzero(~large), np.int64), (np.flatnonzero(large), object)):
        value, unit = proceeds[rows].astype(dtype) * per_cent, price[rows].astype(dtype)  # value in 1e-12 dollars
        shares = value // (unit * step) * step
        bought[rows] = np.where((shares > 0) & (value >= floor) & (shares * unit >= floor), shares, 0)
    return bought


def _tax_values(book: Book, lots: ReliefColumns, account: np.ndarray) -> tuple[np.ndarray, list[tuple[int, bool]]]:
    """Each harvest's tax value, its lots' losses at the account's rate by term, as the Decimal sum
    of the reference (same value and exponent), and that to the cent (half even) as (cents, negative).

    ``lots``: the harvests' lots, harvest ``i``'s numbered ``2i`` (each has some). Rates are the
    Decimals the book's floats were written as; sums are integers of their smallest unit, or
    Decimal sums where they could pass int64 (or 28 digits)."""
    n, harvest = len(account), lots.trade // 2
    rates = np.where(lots.long_term, book.account_lt_rate[account[harvest]], book.account_st_rate[account[harvest]])
    values, where = np.unique(rates, return_inverse=True)
    decimals = [book_decimal(v) for v in values.tolist()]
    exponent = np.array([d.as_tuple().exponent for d in decimals] or [0], dtype=np.int64)
    unit = int(exponent.min())  # of every rate: terms are integers of 10 ** (unit - 2) dollars
    coefficient = [int(d.scaleb(-unit)) for d in decimals]
    scaled = np.array([c if c < 2 ** 62 else 0 for c in coefficient] or [0], dtype=np.int64)[where.reshape(-1)]
    terms = -lots.gain_cents
    bound = np.zeros(n)
    np.add.at(bound, harvest, np.abs(terms) * scaled.astype(float))
    exact = (bound >= 2.0 ** 62) | (max(coefficient, default=0) >= 2 ** 62) | (not 0 <= -unit <= 18)
    tax = np.zeros(n, dtype=np.int64)
    np.add.at(tax, harvest, np.where(exact[harvest], 0, terms * scaled))
    own = np.zeros(n, dtype=np.int64)  # each sum's exponent (+ 2): its rates' smallest
    np.minimum.at(own, harvest, exponent[where.reshape(-1)])
    found = np.array([Decimal(t // 10 ** (e - unit)).scaleb(e - MONEY.places) for t, e in zip(tax.tolist(), own.tolist())],
                     dtype=object)
    divisor = 10 ** min(max(-unit, 0), 18)  # per cent
    whole, part = np.divmod(np.abs(tax), divisor)
    cents = list(zip((whole + ((2 * part > divisor) | ((2 * part == divisor) & (whole % 2 == 1)))).tolist(),
                     (tax < 0).tolist()))
    bounds = lots.bounds(2 * n)
    for i in np.flatnonzero(exact).tolist():
        found[i] = sum((-r.gain * book_decimal(rate) for rate, r in zip(rates[bounds[2 * i]:bounds[2 * i + 1]].tolist(),
                                                                        lots.reliefs(bounds[2 * i], bounds[2 * i + 1]))),
                       Decimal(0))
        cents[i] = (int(found[i].quantize(CENT).scaleb(MONEY.places)), found[i].is_signed())
    return found, cents


def _usd(cents: int | tuple[int, bool]) -> str:
    """Cents as ``format(Decimal, ",.2f")`` writes the amount (``(cents, negative)`` keeps a ``-0.00``)."""
    cents, negative = cents if isinstance(cents, tuple) else (cents, cents < 0)
    whole, part = divmod(abs(cents), 100)
    return f"{'-' if negative else ''}{whole:,}.{part:02d}"


def _bought_with(proceeds: Decimal, price: Decimal, settings) -> Decimal:
    """The shares ``proceeds`` buy at ``price``, rounded down to the share step; 0 when the buy or the
    sale funding it is worth less than `min trade` (:func:`_bought`, for one swap back)."""
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
               blocks: Blocks, prices: dict[str, Decimal], as_of: dt.date, window_days: int) -> list[SwapBack]:
    """For a policy with `harvest when ... swap back`: in each sleeve marked ``swapping``, the
    substitute lots bought the day a security was harvested (``harvested``: (sleeve id, symbol) ->
    the days it was sold at a loss), once the wash-sale window after that day is over and the
    security is not blocked in the household nor restricted in the account (``blocks``), are sold
    and the security bought back with the proceeds (rounded down to the share step). Lots `avoid
    short term gains` keeps stay."""
    book, settings = evaluation.book, evaluation.policy.settings
    if not settings.harvest_swap_back:
        return []
    code = {str(s): i for i, s in enumerate(book.symbols)}
    with_days = {sleeve_id for sleeve_id, _ in harvested}
    sleeves = np.flatnonzero(swapping)
    found = []
    for sleeve in sleeves[[s in with_days for s in book.sleeve_ids[sleeves].tolist()]].tolist():
        sleeve_id = str(book.sleeve_ids[sleeve])
        account = int(book.sleeve_account[sleeve])
        first, last = rows_of(book.holding_sleeve, int(sleeve))
        held = {str(book.symbols[book.holding_symbol[h]]): h for h in range(first, last)}
        for symbol in sorted(settings.substitutes):
            days = [d for d in harvested.get((sleeve_id, symbol), []) if as_of > d + dt.timedelta(days=window_days)]
            if (not days or symbol not in code or prices.get(symbol, 0) <= 0
                    or blocks.blocked(book, np.array([sleeve]), np.array([code[symbol]]))[0]):
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
