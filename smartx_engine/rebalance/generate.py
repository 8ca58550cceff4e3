"""Trade generation over whole columns: target weights, sells first, buys within the cash, rounding.

Implements docs/rebalancing.md for every sleeve of one policy evaluation at once; the plain
per-sleeve reference (``rebalance/reference.py``) implements the same text and the tests hold the
two to identical trades.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs
import numpy as np

from ..book import Book
from ..dsl.compile import CHUNK_SLEEVES, PolicyEvaluation, Settings
from ..dsl.frame import Frame

#: added before rounding down (absolute, and relative to the scaled quantity), so that float noise
#: such as 2.9999999999999996 still rounds to 3; far below any share step, so it never overspends
NUDGE, RELATIVE_NUDGE = 1e-9, 1e-12


def round_down(values: np.ndarray, decimals: int) -> np.ndarray:
    """Round quantities down to ``decimals`` places (0: whole shares)."""
    scale = 10.0 ** decimals
    scaled = values * scale
    return np.floor(scaled + NUDGE + RELATIVE_NUDGE * np.abs(scaled)) / scale


def round_up(values: np.ndarray, decimals: int) -> np.ndarray:
    """Round quantities up to ``decimals`` places, robust to float noise just above a step."""
    scale = 10.0 ** decimals
    scaled = values * scale
    return np.ceil(scaled - NUDGE - RELATIVE_NUDGE * np.abs(scaled)) / scale


@attrs.frozen(eq=False)
class CashEvents:
    """What the operator asked of each sleeve beside its policy: cash to raise, new cash to invest."""

    withdraw: np.ndarray  # USD to leave in cash for a withdrawal (0: none)
    invest: np.ndarray    # bool: invest the cash above the floor, buying only

    @classmethod
    def none(cls, n_sleeves: int) -> CashEvents:
        return cls(np.zeros(n_sleeves), np.zeros(n_sleeves, dtype=bool))

    @property
    def any(self) -> np.ndarray:
        """Sleeves with an event: they trade whether or not their policy triggered."""
        return (self.withdraw > 0) | self.invest

    def take(self, rows: np.ndarray | slice) -> CashEvents:
        return CashEvents(self.withdraw[rows], self.invest[rows])


@attrs.frozen(eq=False)
class TradeSet:
    """The proposed trades of one policy evaluation, one row per trade, ordered by holding."""

    evaluation: PolicyEvaluation
    holding: np.ndarray        # index into evaluation.book's holdings
    side: np.ndarray           # +1 buy, -1 sell
    quantity: np.ndarray       # rounded down to the policy's share precision
    price: np.ndarray
    target_weight: np.ndarray  # the holding's w*

    def __len__(self) -> int:
        return len(self.holding)

    @property
    def value(self) -> np.ndarray:
        return self.quantity * self.price

    def rows(self) -> list[tuple[str, str, str, float]]:
        """(sleeve id, symbol, "buy" | "sell", quantity) of every trade."""
        book = self.evaluation.book
        sleeves = book.sleeve_ids[book.holding_sleeve[self.holding]]
        symbols = book.symbols[book.holding_symbol[self.holding]]
        return [(str(sleeve), str(symbol), "buy" if side > 0 else "sell", float(quantity))
                for sleeve, symbol, side, quantity in zip(sleeves, symbols, self.side, self.quantity)]


@attrs.frozen(eq=False)
class Blocks:
    """Securities a household may not buy now (a purchase would wash a recent loss), and securities
    an account never buys (its restrictions: excluded or substituted in its targets)."""

    keys: np.ndarray  # household code x number of symbols + symbol code, sorted and unique
    account_keys: np.ndarray = attrs.field(factory=lambda: np.empty(0, dtype=np.int64))  # account code x ... + symbol

    @classmethod
    def none(cls) -> Blocks:
        return cls(np.empty(0, dtype=np.int64))

    @classmethod
    def of(cls, book: Book, pairs: Iterable[tuple[str, str]], accounts: Iterable[tuple[str, str]] = ()) -> Blocks:
        """Blocks for (household id, symbol) ``pairs`` and (account id, symbol) restrictions; those the book
        does not know are left out."""
        symbols = {str(s): i for i, s in enumerate(book.symbols)}

        def keys(owners: np.ndarray, wanted: Iterable[tuple[str, str]]) -> np.ndarray:
            wanted = [(o, s) for o, s in wanted if s in symbols]
            named = {o for o, _ in wanted}  # few of the owners: only theirs are indexed
            index = {o: i for i, o in enumerate(owners.tolist()) if o in named} if named else {}
            return np.unique(np.array([index[o] * len(book.symbols) + symbols[s] for o, s in wanted if o in index],
                                      dtype=np.int64))
        return cls(keys(book.households, pairs), keys(book.account_ids, accounts))

    def with_washes(self, keys: np.ndarray) -> Blocks:
        """These blocks and the household ``keys`` (household code x number of symbols + symbol code)."""
        return Blocks(np.union1d(self.keys, keys), self.account_keys)

    def household_keys(self, book: Book, sleeves: np.ndarray) -> np.ndarray:
        """Each sleeve's household code x number of symbols (add a symbol code to get a key)."""
        return book.account_household[book.sleeve_account[sleeves]].astype(np.int64) * len(book.symbols)

    def blocked(self, book: Book, sleeves: np.ndarray, symbols: np.ndarray) -> np.ndarray:
        """Whether each (sleeve, symbol code) pair may not be bought: washed or restricted."""
        return self.washes(book, sleeves, symbols) | self.restricted(book, sleeves, symbols)

    def washes(self, book: Book, sleeves: np.ndarray, symbols: np.ndarray) -> np.ndarray:
        """Whether each (sleeve, symbol code) pair is blocked in its household (a wash sale)."""
        return _member(self.keys, len(book.symbols), self.household_keys(book, sleeves), symbols)

    def restricted(self, book: Book, sleeves: np.ndarray, symbols: np.ndarray) -> np.ndarray:
        """Whether each (sleeve, symbol code) pair is restricted in its account."""
        owners = book.sleeve_account[sleeves].astype(np.int64) * len(book.symbols)
        return _member(self.account_keys, len(book.symbols), owners, symbols)

    def symbols_of(self, book: Book, household: int, account: int | None = None) -> frozenset[str]:
        """The symbols one household (by code) may not buy, with those its ``account`` restricts."""
        n = len(book.symbols)
        found = {str(book.symbols[k % n]) for k in self.keys if k // n == household}
        found |= {str(book.symbols[k % n]) for k in self.account_keys if account is not None and k // n == account}
        return frozenset(found)


def _member(keys: np.ndarray, n_symbols: int, owners: np.ndarray, symbols: np.ndarray) -> np.ndarray:
    """Whether each ``owner key + symbol`` is one of the sorted ``keys``."""
    result = np.zeros(len(symbols), dtype=bool)
    if not keys.size:
        return result
    rows = np.flatnonzero(np.isin(symbols, keys % n_symbols))  # a blocked symbol at all
    wanted = owners[rows] + symbols[rows]
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)  # sorted keys: binary search
    result[rows] = keys[at] == wanted
    return result


def substitute_table(book: Book, settings: Settings,
                     identical: Callable[[str], frozenset[str]] | None = None) -> np.ndarray:
    """Per symbol code, the codes of its allowed substitutes in the policy's order (-1 pads).

    Allowed: a security of the book, with a price, that the policy does not `restrict buy` (and,
    given ``identical``, not identical to the symbol it stands in for).
    """
    index = {str(symbol): i for i, symbol in enumerate(book.symbols)}
    allowed = {index[symbol]: [index[a] for a in alternatives
                               if a in index and a not in settings.restrict_buy and book.symbol_price[index[a]] > 0
                               and (identical is None or a not in identical(symbol))]
               for symbol, alternatives in settings.substitutes.items() if symbol in index}
    width = max((len(a) for a in allowed.values()), default=0)
    table = np.full((len(book.symbols), max(width, 1)), -1, dtype=np.int64)
    for code, alternatives in allowed.items():
        table[code, :len(alternatives)] = alternatives
    return table


def substitutes_of(book: Book, settings: Settings, blocks: Blocks, rows: np.ndarray,
                   identical: Callable[[str], frozenset[str]] | None = None) -> np.ndarray:
    """For holdings ``rows``, the code of their first allowed substitute not blocked in their household (-1)."""
    candidates = substitute_table(book, settings, identical)[book.holding_symbol[rows]]
    sleeves = book.holding_sleeve[rows]
    ok = (candidates >= 0) & ~blocks.blocked(
        book, np.repeat(sleeves, candidates.shape[1]), candidates.ravel()).reshape(candidates.shape)
    first = np.argmax(ok, axis=1)
    return np.where(ok.any(axis=1), candidates[np.arange(len(rows)), first], -1)


def holds_any(book: Book, codes: np.ndarray, symbols: Iterable[str]) -> np.ndarray:
    """Whether each symbol code is one of ``symbols`` (compared as integer codes: fast)."""
    wanted = np.flatnonzero(np.isin(book.symbols, list(symbols)))  # over the vocabulary only
    return np.isin(codes, wanted.astype(codes.dtype))


def restricted_buys(evaluation: PolicyEvaluation, blocks: Blocks, rows: np.ndarray | None = None) -> np.ndarray:
    """Per holding (of ``rows``, or all): never bought (`restrict buy`, or a purchase that would wash a recent loss)."""
    book, settings = evaluation.book, evaluation.policy.settings
    sleeves, symbols = (book.holding_sleeve, book.holding_symbol) if rows is None else \
        (book.holding_sleeve[rows], book.holding_symbol[rows])
    restricted = blocks.blocked(book, sleeves, symbols)
    if settings.restrict_buy:
        restricted |= holds_any(book, symbols, settings.restrict_buy)
    return restricted


def with_substitute_holdings(evaluation: PolicyEvaluation, blocks: Blocks | None = None) -> PolicyEvaluation:
    """The evaluation with an empty holding for the first allowed substitute of every restricted target.

    A sleeve whose model targets a security it may not buy buys its substitute instead; the
    substitute needs a holding row even when the sleeve neither holds nor targets it.
    """
    book, settings = evaluation.book, evaluation.policy.settings
    blocks = blocks or Blocks.none()
    if not settings.substitutes:
        return evaluation
    rows = np.flatnonzero(holds_any(book, book.holding_symbol, settings.substitutes) & (book.holding_target > 0))
    rows = rows[restricted_buys(evaluation, blocks, rows)]
    substitute = substitutes_of(book, settings, blocks, rows)
    return evaluation.with_holdings(book.holding_sleeve[rows[substitute >= 0]], substitute[substitute >= 0])


def target_weights(evaluation: PolicyEvaluation, weight: np.ndarray, full: np.ndarray,
                   blocks: Blocks | None = None) -> np.ndarray:
    """Each holding's target weight w* (steps 0 to 6 of docs/rebalancing.md).

    ``weight`` is each holding's weight in the value that stays invested; ``full`` marks the
    sleeves that trade all the way to target whatever the policy's `rebalance to`.
    """
    book, settings = evaluation.book, evaluation.policy.settings
    model_cash = book.sleeve_cash_target[book.holding_sleeve]
    cash_target = model_cash if settings.cash_target is None else settings.cash_target
    if settings.cash_target is None:  # the model's own weights
        target = book.holding_target
    else:  # rescaled to leave exactly the policy's cash target
        with np.errstate(divide="ignore", invalid="ignore"):
            target = np.where(model_cash < 1, book.holding_target * (1 - cash_target) / (1 - model_cash), 0.0)
    if settings.rebalance_to == "band":
        limit = np.fmin(evaluation.limit_abs, evaluation.limit_rel * target)
        edge = np.maximum(target + np.sign(weight - target) * limit, 0.0)
        wanted = np.where(full[book.holding_sleeve], target, np.where(evaluation.out_of_band, edge, weight))
    else:
        wanted = target
    wanted = np.fmin(wanted, evaluation.sell_to)  # NaN (no cap) leaves it as it is
    wanted = np.where(evaluation.hold, weight, wanted)
    if settings.restrict_sell:
        wanted = np.where(holds_any(book, book.holding_symbol, settings.restrict_sell), np.maximum(wanted, weight),
                          wanted)
    blocks = blocks or Blocks.none()
    restricted = restricted_buys(evaluation, blocks)
    if restricted.any():
        capped = np.where(restricted, np.minimum(wanted, weight), wanted)
        wanted = _to_substitutes(evaluation, blocks, wanted - capped, capped)
    return wanted


def _to_substitutes(evaluation: PolicyEvaluation, blocks: Blocks, moved: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``wanted`` with the weight ``moved`` off restricted holdings added to their first allowed
    substitute (unless a `hold` rule keeps that one as it is)."""
    book, settings = evaluation.book, evaluation.policy.settings
    rows = np.flatnonzero(moved > 0)
    substitute = substitutes_of(book, settings, blocks, rows)
    rows, substitute = rows[substitute >= 0], substitute[substitute >= 0]
    keys = book.holding_keys()
    wanted_keys = book.holding_sleeve[rows].astype(np.int64) * len(book.symbols) + substitute
    found = np.minimum(np.searchsorted(keys, wanted_keys), len(keys) - 1)
    # absent only without with_substitute_holdings: stays in cash
    present = (keys[found] == wanted_keys) & ~evaluation.hold[found]
    np.add.at(wanted, found[present], moved[rows[present]])
    return wanted


def generate_trades(evaluation: PolicyEvaluation, events: CashEvents | None = None,
                    blocks: Blocks | None = None) -> TradeSet:
    """The trades that bring every triggered, unskipped sleeve with a model to its target.

    ``events`` (per sleeve of the evaluation) adds withdrawals and deposits to invest; ``blocks``
    the securities households may not buy (wash sales), bought through substitutes. A large
    book is worked through in chunks of sleeves (every trade depends on its sleeve only), so that
    the temporary columns stay small.
    """
    blocks = blocks or Blocks.none()
    evaluation = with_substitute_holdings(evaluation, blocks)
    events = events or CashEvents.none(evaluation.book.n_sleeves)
    bounds = evaluation.book.chunk_bounds(CHUNK_SLEEVES)
    if len(bounds) == 1:
        return _generate(evaluation, events, blocks)
    parts = [(b[2], _generate(evaluation.slice_rows(*b), events.take(slice(b[0], b[1])), blocks)) for b in bounds]
    return TradeSet(evaluation, np.concatenate([first + part.holding for first, part in parts]),
                    *(np.concatenate([getattr(part, name) for _, part in parts])
                      for name in ("side", "quantity", "price", "target_weight")))


def _generate(evaluation: PolicyEvaluation, events: CashEvents, blocks: Blocks) -> TradeSet:
    book, settings = evaluation.book, evaluation.policy.settings
    frame = Frame(book)
    sleeve_of = book.holding_sleeve
    decimals = settings.decimals
    min_trade = float(settings.min_trade)
    price, held = frame.price, book.holding_quantity
    total = frame.sleeve_value - events.withdraw  # the value that stays invested
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = frame.value / total[sleeve_of]
    evented = events.any & ~evaluation.skip
    full = evented | evaluation.realign | ~(evaluation.sleeve_out_of_band | evaluation.sell_to_fired)  # see the docs
    wanted = target_weights(evaluation, weight, full, blocks)
    trading = ((evaluation.triggered | evented) & (total > 0))[sleeve_of] & ~np.isnan(book.holding_target)
    change = np.where(trading, (wanted - weight) * total[sleeve_of], 0.0)
    change = np.nan_to_num(change)

    # sells first: never more than the lots a sale may use (not those `avoid short term gains`
    # keeps); all of them when the target is 0; a withdrawal rounds its sells up so that it
    # raises the whole amount
    selling = (change < 0) & ~(events.invest & (events.withdraw == 0))[sleeve_of]
    rounded = np.where((events.withdraw > 0)[sleeve_of], round_up(-change / price, decimals),
                       round_down(-change / price, decimals))
    avoided = np.bincount(book.lot_holding, weights=np.where(evaluation.avoid_short_term, book.lot_quantity, 0.0),
                          minlength=book.n_holdings)
    sellable = held - avoided
    sell = np.where(selling & (wanted == 0), sellable, np.minimum(sellable, rounded))
    sell = np.where(selling & (sell * price >= min_trade), sell, 0.0)
    proceeds = np.bincount(sleeve_of, weights=sell * price, minlength=book.n_sleeves)

    # buys within the cash above the floor and the withdrawal, scaled down together when short
    floor = (settings.cash_min or 0.0) * total
    available = np.maximum(book.sleeve_cash + proceeds - events.withdraw - floor, 0.0)
    buying = change > 0
    wanted_buys = np.bincount(sleeve_of, weights=np.where(buying, change, 0.0), minlength=book.n_sleeves)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(wanted_buys > available, available / wanted_buys, 1.0)
    buy = np.where(buying, round_down(scale[sleeve_of] * change / price, decimals), 0.0)
    buy = np.where(buy * price >= min_trade, buy, 0.0)

    holdings = np.flatnonzero((sell > 0) | (buy > 0))
    sides = np.where(sell[holdings] > 0, -1, 1).astype(np.int8)
    quantities = np.where(sides < 0, sell[holdings], buy[holdings])
    return TradeSet(evaluation, holdings, sides, quantities, price[holdings], wanted[holdings])
