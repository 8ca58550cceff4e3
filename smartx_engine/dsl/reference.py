"""A plain reference evaluator of the policy language: one sleeve, one holding, one lot at a time.

This is the oracle the compiled evaluator (:mod:`compile`) is tested against. It shares nothing
with it but the syntax tree, the schema and the literal units: the book is first read into plain
Python rows (:func:`~.reference_fields.sleeve_rows`, in :mod:`.reference_fields` with the
fields), then every field is computed as :data:`schema.FIELDS` and
``docs/policy-language.md`` document it, and every expression is evaluated by walking the tree
with Python floats, strings and dates. It is written to be read against the documentation, not
to be fast (about 20,000 holdings a second).

Conventions, where the documentation is terse:

* A missing number (*none*) is ``nan``: a holding's target, a sleeve's cash target and every
  drift without a model; a weight when the sleeve's value is 0; ``max``/``min`` over no rows.
  Arithmetic on none gives none, and ``==``, ``<``, ``<=``, ``>``, ``>=`` and ``in`` with none are
  false (so ``!=`` and ``not in`` are true), as IEEE 754 has it.
* Division follows IEEE 754 too: ``x / 0`` is infinite, ``0 / 0`` is none.
* A string that has no value (a sleeve without a model) is ``""``.
* ``lot.gain_pct`` and ``lot.loss_pct`` are 0 for a lot that cost nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
import numpy as np

from ..book import Book
from . import ast
from .functions import PolicyFunction
from .schema import AGGREGATES, FIELDS, UNITS, Grain
from .validate import SLEEVE_ACTIONS, ResolvedPolicy

if TYPE_CHECKING:
    from .compile import PolicyEvaluation

from .reference_fields import (
    NONE, Scope, SleeveRow, cash_weight, divide, drift_abs, drift_rel, field, largest, lot_gain, lot_loss, lot_term,
    smallest, sleeve_rows, total, weight,
)


# ---------------------------------------------------------------- expressions


def literal(node: ast.Quantity) -> float:
    """A number in its stored unit: 5% is 0.05, 300 bps is 0.03, 250 USD is 250.0."""
    return float(node.value * UNITS[node.unit][1])


def finest_grain(node: ast.Expr) -> Grain:
    """The finest grain of a field in ``node`` outside aggregates (an aggregate is as coarse as its place)."""
    if isinstance(node, ast.Field):
        return FIELDS[(node.grain, node.name)].grain
    if isinstance(node, ast.Call) and node.name in AGGREGATES:
        return Grain.SCALAR
    return max((finest_grain(child) for child in ast.children(node)), default=Grain.SCALAR)


def rows_of(scope: Scope, grain: Grain) -> list[Scope]:
    """The rows an aggregate gathers: the lots or holdings of the scope's holding or sleeve."""
    if grain == Grain.HOLDING:
        return [scope.at_holding(h) for h in scope.sleeve.holdings]
    holdings = (scope.holding,) if scope.holding is not None else scope.sleeve.holdings
    return [scope.at_lot(h, lot) for h in holdings for lot in h.lots]


def aggregate(name: str, values: list):
    if name == "any":
        return any(values)
    if name == "all":
        return all(values)
    if name == "count":
        return float(sum(1 for v in values if v))
    if name == "sum":
        return total(values)
    if name == "max":
        return largest(values)
    return smallest(values)


def compare(op: str, left, right) -> bool:
    if op in ("in", "not in"):
        found = any(left == item for item in right)
        return found if op == "in" else not found
    if isinstance(left, dt.date) and isinstance(right, str):
        right = dt.date.fromisoformat(right)
    if isinstance(right, dt.date) and isinstance(left, str):
        left = dt.date.fromisoformat(left)
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    return left >= right


def arithmetic(op: str, left: float, right: float) -> float:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    return divide(left, right)


def evaluate(node: ast.Expr, scope: Scope, functions: dict[str, PolicyFunction] | None = None):
    """The value of an expression where ``scope`` stands: a float, bool, string, date or list."""
    functions = functions or {}
    match node:
        case ast.Quantity():
            return literal(node)
        case ast.String():
            return node.value
        case ast.Bool():
            return node.value
        case ast.ListOf():
            return [evaluate(item, scope, functions) for item in node.items]
        case ast.Field():
            return field(node, scope)
        case ast.Negate():
            return -evaluate(node.operand, scope, functions)
        case ast.Not():
            return not evaluate(node.operand, scope, functions)
        case ast.BoolOp():
            values = [evaluate(operand, scope, functions) for operand in node.operands]
            return all(values) if node.op == "and" else any(values)
        case ast.Arith():
            return arithmetic(node.op, evaluate(node.left, scope, functions), evaluate(node.right, scope, functions))
        case ast.Compare():
            return compare(node.op, evaluate(node.left, scope, functions), evaluate(node.right, scope, functions))
        case ast.Call() if node.name in AGGREGATES:
            inner = node.args[0]
            rows = rows_of(scope, finest_grain(inner))
            return aggregate(node.name, [evaluate(inner, row, functions) for row in rows])
        case ast.Call() if node.name == "abs":
            return abs(evaluate(node.args[0], scope, functions))
        case ast.Call():
            args = [np.array([evaluate(arg, scope, functions)]) for arg in node.args]
            return functions[node.name].implementation(*args)[0].item()
    raise TypeError(f"not an expression: {node!r}")


# ---------------------------------------------------------------- decisions


@attrs.frozen
class LotDecision:
    lot_id: str
    harvest: bool
    avoid_short_term: bool


@attrs.frozen
class HoldingDecision:
    symbol: str
    limit_abs: float        # the chosen absolute band's limit, none (nan) without one
    limit_rel: float
    band_abs: int           # index of the chosen band among the policy's bands, -1 for none
    band_rel: int
    out_abs: bool
    out_rel: bool
    hold: bool
    sell_to: float          # the lowest cap of a `sell to` rule that fired, none (nan) for none
    rules: tuple[bool | None, ...]   # per rule of the policy: fired here (None: a sleeve rule)
    lots: tuple[LotDecision, ...]


@attrs.frozen
class SleeveDecision:
    index: int
    sleeve_id: str
    selected: bool          # the policy's `applies to` selects it (false without one)
    triggered: bool
    skip: bool
    require_approval: bool
    flags: tuple[str, ...]
    cash_low: bool
    cash_high: bool
    realign: bool                    # `realign on model change` fired
    triggers: tuple[bool, ...]       # per `trigger when`, in order
    rules: tuple[bool | None, ...]   # per rule of the policy: fired (None: a holding rule)
    holdings: tuple[HoldingDecision, ...]


def specificity(where: ast.Expr | None) -> int:
    """How specific a band's `for` is: the number of conditions joined by `and`, however they are
    parenthesised (`(A and B) and C` is 3, as `A and B and C`); 0 without `for`."""
    if where is None:
        return 0
    if isinstance(where, ast.BoolOp) and where.op == "and":
        return sum(specificity(operand) for operand in where.operands)
    return 1


def chosen_band(bands: list[tuple[int, ast.Band]], scope: Scope, kind: str,
                functions: dict[str, PolicyFunction]) -> int:
    """The index of the band of ``kind`` that governs this holding: the most specific one whose
    `for` holds (a band without `for` always holds); between equally specific ones, the later."""
    best, best_key = -1, None
    for index, band in bands:
        if band.kind.value != kind:
            continue
        if band.where is not None and not evaluate(band.where, scope, functions):
            continue
        key = (specificity(band.where), index)
        if best_key is None or key > best_key:
            best, best_key = index, key
    return best


def decide_sleeve(policy: ResolvedPolicy, sleeve: SleeveRow, today: dt.date,
                  functions: dict[str, PolicyFunction] | None = None) -> SleeveDecision:
    """Every decision ``policy`` makes for one sleeve."""
    functions = functions or {}
    here = Scope(today, sleeve)
    bands = list(enumerate(policy.all(ast.Band)))
    rules = policy.all(ast.Rule)
    is_sleeve_rule = [isinstance(rule.action, SLEEVE_ACTIONS) for rule in rules]
    applies = policy.first(ast.Applies)
    cash = policy.first(ast.CashTarget)
    avoid = policy.first(ast.AvoidShortTerm)
    harvest = policy.first(ast.Harvest)

    holdings = []
    for holding in sleeve.holdings:
        at = here.at_holding(holding)
        band_abs = chosen_band(bands, at, "absolute", functions)
        band_rel = chosen_band(bands, at, "relative", functions)
        limit_abs = literal(bands[band_abs][1].limit) if band_abs >= 0 else NONE
        limit_rel = literal(bands[band_rel][1].limit) if band_rel >= 0 else NONE
        fired = tuple(None if sleeve_rule else bool(evaluate(rule.condition, at, functions))
                      for rule, sleeve_rule in zip(rules, is_sleeve_rule))
        caps = [literal(rule.action.weight) for rule, hit in zip(rules, fired)
                if hit and isinstance(rule.action, ast.SellTo) and weight(sleeve, holding) > literal(rule.action.weight)]
        lots = []
        for lot in holding.lots:
            on_lot = here.at_lot(holding, lot)
            short_gain = lot_term(today, lot) == "short" and lot_gain(holding, lot) > 0
            avoids = avoid is not None and short_gain and (
                avoid.condition is None or bool(evaluate(avoid.condition, on_lot, functions)))
            harvests = (harvest is not None and harvest.condition is not None
                        and bool(evaluate(harvest.condition, on_lot, functions)) and lot_loss(holding, lot) > 0)
            lots.append(LotDecision(lot.lot_id, harvests, avoids))
        holdings.append(HoldingDecision(
            symbol=holding.symbol, limit_abs=limit_abs, limit_rel=limit_rel, band_abs=band_abs, band_rel=band_rel,
            out_abs=drift_abs(sleeve, holding) > limit_abs, out_rel=drift_rel(sleeve, holding) > limit_rel,
            hold=any(hit and isinstance(rule.action, ast.Hold) for rule, hit in zip(rules, fired)),
            sell_to=min(caps) if caps else NONE, rules=fired, lots=tuple(lots),
        ))

    rule_hits = tuple(bool(evaluate(rule.condition, here, functions)) if sleeve_rule else None
                      for rule, sleeve_rule in zip(rules, is_sleeve_rule))
    sleeve_rule_fired = [(rule, hit) for rule, hit in zip(rules, rule_hits) if hit]
    triggers = tuple(bool(evaluate(t.condition, here, functions)) for t in policy.all(ast.Trigger))
    realign_statement = policy.first(ast.Realign)
    realign = realign_statement is not None and sleeve.model_changed and (
        realign_statement.threshold is None or sleeve.model_move > literal(realign_statement.threshold))
    weight_of_cash = cash_weight(sleeve)
    cash_low = cash is not None and cash.minimum is not None and weight_of_cash < literal(cash.minimum)
    cash_high = cash is not None and cash.maximum is not None and weight_of_cash > literal(cash.maximum)
    skip = any(isinstance(rule.action, ast.Skip) for rule, _ in sleeve_rule_fired)
    wants_rebalance = (any(h.out_abs or h.out_rel for h in holdings) or cash_low or cash_high
                       or any(not math.isnan(h.sell_to) for h in holdings) or any(triggers) or realign)
    return SleeveDecision(
        index=sleeve.index, sleeve_id=sleeve.sleeve_id,
        selected=applies is not None and bool(evaluate(applies.condition, here, functions)),
        triggered=wants_rebalance and not skip, skip=skip,
        require_approval=any(isinstance(rule.action, ast.RequireApproval) for rule, _ in sleeve_rule_fired),
        flags=tuple(rule.action.message.value for rule, _ in sleeve_rule_fired if isinstance(rule.action, ast.Flag)),
        cash_low=cash_low, cash_high=cash_high, realign=realign, triggers=triggers, rules=rule_hits,
        holdings=tuple(holdings),
    )


def evaluate_reference(policy: ResolvedPolicy, book: Book,
                       functions: dict[str, PolicyFunction] | None = None) -> list[SleeveDecision]:
    """Every decision of ``policy`` for every sleeve of ``book``, computed plainly, sleeve by sleeve."""
    return [decide_sleeve(policy, sleeve, book.as_of, functions) for sleeve in sleeve_rows(book)]


# ---------------------------------------------------------------- comparing with the compiled evaluator


def decisions_of(evaluation: PolicyEvaluation, selected: np.ndarray | None = None) -> list[SleeveDecision]:
    """The compiled evaluator's decisions in the reference's shape (``selected``: its `applies to`)."""
    book = evaluation.book
    n_sleeves = book.n_sleeves
    rules = evaluation.rules
    selected = np.zeros(n_sleeves, dtype=bool) if selected is None else selected
    triggered = evaluation.triggered
    lots_of: dict[int, list[LotDecision]] = {}
    for i in range(book.n_lots):
        lots_of.setdefault(int(book.lot_holding[i]), []).append(
            LotDecision(book.lot_id(i), bool(evaluation.harvest[i]), bool(evaluation.avoid_short_term[i])))
    holdings_of: dict[int, list[HoldingDecision]] = {}
    sell_to = evaluation.sell_to
    for h in range(book.n_holdings):
        holdings_of.setdefault(int(book.holding_sleeve[h]), []).append(HoldingDecision(
            symbol=str(book.symbols[book.holding_symbol[h]]),
            limit_abs=float(evaluation.limit_abs[h]), limit_rel=float(evaluation.limit_rel[h]),
            band_abs=int(evaluation.band_abs[h]), band_rel=int(evaluation.band_rel[h]),
            out_abs=bool(evaluation.out_abs[h]), out_rel=bool(evaluation.out_rel[h]),
            hold=bool(evaluation.hold[h]), sell_to=float(sell_to[h]),
            rules=tuple(None if isinstance(rule.action, SLEEVE_ACTIONS) else bool(mask[h]) for rule, mask in rules),
            lots=tuple(lots_of.get(h, ())),
        ))
    return [SleeveDecision(
        index=s, sleeve_id=str(book.sleeve_ids[s]), selected=bool(selected[s]), triggered=bool(triggered[s]),
        skip=bool(evaluation.skip[s]), require_approval=bool(evaluation.require_approval[s]),
        flags=tuple(evaluation.flags(s)), cash_low=bool(evaluation.cash_low[s]), cash_high=bool(evaluation.cash_high[s]),
        realign=bool(evaluation.realign[s]),
        triggers=tuple(bool(mask[s]) for _, mask in evaluation.triggers),
        rules=tuple(bool(mask[s]) if isinstance(rule.action, SLEEVE_ACTIONS) else None for rule, mask in rules),
        holdings=tuple(holdings_of.get(s, ())),
    ) for s in range(n_sleeves)]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


def differences(expected: Sequence[SleeveDecision], actual: Sequence[SleeveDecision], limit: int = 20) -> list[str]:
    """Where two lists of decisions differ, as ``path: expected != actual`` lines (limits equal or both none)."""
    found: list[str] = []

    def walk(path: str, a, b) -> None:
        if len(found) >= limit:
            return
        if attrs.has(type(a)) and type(a) is type(b):
            for f in attrs.fields(type(a)):
                walk(f"{path}.{f.name}", getattr(a, f.name), getattr(b, f.name))
        elif isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                walk(f"{path}[{i}]", x, y)
        elif not _same(a, b):
            found.append(f"{path}: {a!r} != {b!r}")

    walk("", list(expected), list(actual))
    return found
