"""What a proposed trade needs beside its quantity: its reasons and the lots a sell relieves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np

from ..domain import anniversary
from ..dsl import ast, fmt
from ..dsl.frame import Frame
from ..fixedpoint import QUANTITY, round_money
from .generate import TradeSet


def _range(owners: np.ndarray, owner: int) -> tuple[int, int]:
    """The rows of ``owner`` in a sorted owner column (searched with the column's own dtype: no copy)."""
    keys = np.array([owner, owner + 1], dtype=owners.dtype)
    first, last = np.searchsorted(owners, keys)
    return int(first), int(last)


def _at(path: str, statement: ast.Statement) -> str:
    return f"{path}:{statement.span.line}"


def sleeve_reasons(trades: TradeSet, sleeve: int, frame: Frame, symbols: np.ndarray) -> list[str]:
    """Why a sleeve trades: its out-of-band holdings, fired triggers, cash limits and `sell to` rules."""
    evaluation = trades.evaluation
    book, policy = evaluation.book, evaluation.policy
    path = policy.resolved.path
    weight, target = frame.column("holding", "weight"), frame.column("holding", "target")
    first, last = _range(book.holding_sleeve, sleeve)  # the sleeve's holdings
    own = np.arange(first, last)
    reasons = []
    for h in own[evaluation.out_of_band[first:last]]:
        for kind, out, band in (("absolute", evaluation.out_abs, evaluation.band_abs),
                                ("relative", evaluation.out_rel, evaluation.band_rel)):
            if out[h]:
                statement = policy.bands[band[h]].statement
                reasons.append(f"{symbols[h]} {weight[h]:.2%} vs target {target[h]:.2%} breaks "
                               f"`{fmt.statement(statement)}` ({_at(path, statement)})")
    reasons += [f"`{fmt.statement(t)}` ({_at(path, t)})" for t, mask in evaluation.triggers if mask[sleeve]]
    cash_weight = frame.column("sleeve", "cash_weight")[sleeve]
    settings = policy.settings
    if evaluation.cash_low[sleeve]:
        reasons.append(f"cash {cash_weight:.2%} below the minimum {settings.cash_min:.2%}")
    if evaluation.cash_high[sleeve]:
        reasons.append(f"cash {cash_weight:.2%} above the maximum {settings.cash_max:.2%}")
    capped = evaluation.sell_rule[first:last]
    for index in np.unique(capped[capped >= 0]):
        rule = policy.rules[index][0]
        reasons.append(f"rule {rule.name.value!r} ({_at(path, rule)})")
    return reasons


def holding_reason(trades: TradeSet, row: int) -> str:
    """What set this trade's target weight."""
    evaluation = trades.evaluation
    policy, h = evaluation.policy, trades.holding[row]
    path = policy.resolved.path
    target = trades.target_weight[row]
    if evaluation.sell_rule[h] >= 0 and np.isclose(target, evaluation.sell_to[h]):
        rule = policy.rules[evaluation.sell_rule[h]][0]
        return f"sell to {target:.2%}: rule {rule.name.value!r} ({_at(path, rule)})"
    if policy.settings.rebalance_to == "band":
        return f"to the edge of its band, {target:.2%}"
    return f"to target {target:.2%}"


def reasons(trades: TradeSet) -> list[list[str]]:
    """Every trade's reasons: what set its target, then why its sleeve trades."""
    book = trades.evaluation.book
    frame = Frame(book)
    symbols = book.symbols[book.holding_symbol]
    sleeves = book.holding_sleeve[trades.holding]
    by_sleeve = {int(s): sleeve_reasons(trades, int(s), frame, symbols) for s in np.unique(sleeves)}
    return [[holding_reason(trades, row), *by_sleeve[int(sleeves[row])]] for row in range(len(trades))]


def _quantity(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(QUANTITY.unit)


def relieved_lots(trades: TradeSet, row: int, as_of: dt.date) -> list[dict[str, Any]]:
    """The lots a sell relieves, first in first out (oldest acquired first, ties by lot id)."""
    book = trades.evaluation.book
    if trades.side[row] > 0:
        return []
    h = trades.holding[row]
    first, last = _range(book.lot_holding, h)  # the holding's lots
    order = sorted(range(first, last), key=lambda i: (book.lot_acquired[i], str(book.lot_ids[i])))
    remaining, price, relieved = _quantity(trades.quantity[row]), Decimal(repr(float(trades.price[row]))), []
    for i in order:
        if remaining <= 0:
            break
        quantity = _quantity(book.lot_quantity[i])
        taken = min(quantity, remaining)
        basis = round_money(Decimal(repr(float(book.lot_cost[i]))) * taken / quantity)
        acquired = book.lot_acquired[i].astype(dt.date)
        relieved.append({
            "lot_id": str(book.lot_ids[i]), "quantity": taken, "cost_basis": basis, "acquired": acquired,
            "term": "long" if as_of > anniversary(acquired) else "short",
            "gain": round_money(taken * price) - basis,
        })
        remaining -= taken
    return relieved
