"""Trade generation over whole columns: target weights, sells first, buys within the cash, rounding.

Implements docs/rebalancing.md for every sleeve of one policy evaluation at once; the plain
per-sleeve reference (``rebalance/reference.py``) implements the same text and the tests hold the
two to identical trades.
"""

from __future__ import annotations

import attrs
import numpy as np

from ..dsl.compile import CHUNK_SLEEVES, PolicyEvaluation
from ..dsl.frame import Frame

#: added before rounding down (absolute, and relative to the scaled quantity), so that float noise
#: such as 2.9999999999999996 still rounds to 3; far below any share step, so it never overspends
NUDGE, RELATIVE_NUDGE = 1e-9, 1e-12


def round_down(values: np.ndarray, decimals: int) -> np.ndarray:
    """Round quantities down to ``decimals`` places (0: whole shares)."""
    scale = 10.0 ** decimals
    scaled = values * scale
    return np.floor(scaled + NUDGE + RELATIVE_NUDGE * np.abs(scaled)) / scale


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


def target_weights(evaluation: PolicyEvaluation, frame: Frame) -> np.ndarray:
    """Each holding's target weight w* (steps 0 to 5 of docs/rebalancing.md)."""
    book, settings = evaluation.book, evaluation.policy.settings
    weight = frame.column("holding", "weight")
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
        wanted = np.where(evaluation.out_of_band, edge, weight)
    else:
        wanted = target
    wanted = np.fmin(wanted, evaluation.sell_to)  # NaN (no cap) leaves it as it is
    wanted = np.where(evaluation.hold, weight, wanted)
    symbols = book.symbols[book.holding_symbol]
    if settings.restrict_sell:
        wanted = np.where(np.isin(symbols, list(settings.restrict_sell)), np.maximum(wanted, weight), wanted)
    if settings.restrict_buy:
        wanted = np.where(np.isin(symbols, list(settings.restrict_buy)), np.minimum(wanted, weight), wanted)
    return wanted


def generate_trades(evaluation: PolicyEvaluation) -> TradeSet:
    """The trades that bring every triggered, unskipped sleeve with a model to its target.

    A large book is worked through in chunks of sleeves (every trade depends on its sleeve only),
    so that the temporary columns stay small.
    """
    bounds = evaluation.book.chunk_bounds(CHUNK_SLEEVES)
    if len(bounds) == 1:
        return _generate(evaluation)
    parts = [(b[2], _generate(evaluation.slice_rows(*b))) for b in bounds]
    return TradeSet(evaluation, np.concatenate([first + part.holding for first, part in parts]),
                    *(np.concatenate([getattr(part, name) for _, part in parts])
                      for name in ("side", "quantity", "price", "target_weight")))


def _generate(evaluation: PolicyEvaluation) -> TradeSet:
    book, settings = evaluation.book, evaluation.policy.settings
    frame = Frame(book)
    sleeve_of = book.holding_sleeve
    decimals = settings.share_decimals if settings.shares == "fractional" else 0
    min_trade = float(settings.min_trade)
    wanted = target_weights(evaluation, frame)
    weight, price, held = frame.column("holding", "weight"), frame.price, book.holding_quantity
    total = frame.sleeve_value
    trading = evaluation.triggered[sleeve_of] & ~np.isnan(book.holding_target)
    change = np.where(trading, (wanted - weight) * total[sleeve_of], 0.0)
    change = np.nan_to_num(change)

    # sells first: never more than held; the whole holding when its target is 0
    selling = change < 0
    sell = np.where(selling & (wanted == 0), held, round_down(np.minimum(held, -change / price), decimals))
    sell = np.where(selling & (sell * price >= min_trade), sell, 0.0)
    proceeds = np.bincount(sleeve_of, weights=sell * price, minlength=book.n_sleeves)

    # buys within the cash above the floor, scaled down together when short
    floor = (settings.cash_min or 0.0) * total
    available = np.maximum(book.sleeve_cash + proceeds - floor, 0.0)
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
