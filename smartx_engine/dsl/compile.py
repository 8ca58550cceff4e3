"""Compiled policies: each expression becomes one numpy evaluation over whole columns.

``compile_policy`` turns a validated, resolved policy into closures over a :class:`Frame`; no
tree is walked per sleeve. ``CompiledPolicy.evaluate`` runs all of them on a book of sleeves that
follow the policy and returns every band, trigger, rule and lot decision, with what caused it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import cached_property
from typing import Any

import attrs
import numpy as np

from ..book import Book
from . import ast, fmt
from .frame import Categorical, Frame
from .functions import PolicyFunction
from .schema import AGGREGATES, UNITS, Grain
from .validate import SLEEVE_ACTIONS, ResolvedPolicy, Validator

Evaluator = Callable[[Frame], Any]
#: sleeves evaluated together, so that each temporary column of a chunk stays in cache
CHUNK_SLEEVES = 4096


@attrs.frozen
class CompiledExpr:
    grain: Grain
    fn: Evaluator

    def at(self, frame: Frame, grain: Grain) -> np.ndarray:
        """The value on every row of ``grain`` (a boolean column for conditions)."""
        value = self.fn(frame)
        if self.grain == Grain.SCALAR:
            return np.full(frame.size[grain], value)
        return frame.broadcast(value, self.grain, grain)


def _literal(node: ast.Quantity) -> float:
    """The literal in its unit's base (a fraction for % and bps), exact until the final float."""
    return float(node.value * UNITS[node.unit][1])


class ExprCompiler:
    """Compiles validated expressions; a coarser operand is broadcast onto the finer one's rows."""

    def __init__(self, functions: dict[str, PolicyFunction]):
        self.functions = functions
        self.types = Validator(functions)

    def compile(self, node: ast.Expr, context: Grain) -> CompiledExpr:
        grain = self.types.expr(node, context)[1]
        return CompiledExpr(grain, self._compile(node, context, grain))

    def _operand(self, node: ast.Expr, context: Grain, to: Grain) -> Evaluator:
        """An evaluator of ``node`` broadcast to grain ``to``."""
        inner = self.compile(node, context)
        if inner.grain == to or inner.grain == Grain.SCALAR:
            return inner.fn
        return lambda frame: frame.broadcast(inner.fn(frame), inner.grain, to)

    def _compile(self, node: ast.Expr, context: Grain, grain: Grain) -> Evaluator:
        match node:
            case ast.Quantity():
                value = _literal(node)
                return lambda frame: value
            case ast.String():
                return lambda frame, value=node.value: value
            case ast.Bool():
                return lambda frame, value=node.value: value
            case ast.ListOf():
                values = [item.value if isinstance(item, ast.String) else _literal(item) for item in node.items]
                return lambda frame: values
            case ast.Field():
                return lambda frame, g=node.grain, n=node.name: frame.column(g, n)
            case ast.Negate():
                operand = self._operand(node.operand, context, grain)
                return lambda frame: -operand(frame)
            case ast.Not():
                operand = self._operand(node.operand, context, grain)
                return lambda frame: np.logical_not(operand(frame))
            case ast.BoolOp():
                operands = [self._operand(o, context, grain) for o in node.operands]
                combine = np.logical_and if node.op == "and" else np.logical_or
                return lambda frame: _fold(combine, [o(frame) for o in operands])
            case ast.Arith():
                left, right = self._operand(node.left, context, grain), self._operand(node.right, context, grain)
                op = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[node.op]
                return lambda frame: _quietly(op, left(frame), right(frame))
            case ast.Compare():
                left, right = self._operand(node.left, context, grain), self._operand(node.right, context, grain)
                return lambda frame: compare(node.op, left(frame), right(frame))
            case ast.Call():
                return self._call(node, context, grain)
        raise TypeError(f"not an expression: {node!r}")

    def _call(self, node: ast.Call, context: Grain, grain: Grain) -> Evaluator:
        if node.name in AGGREGATES:
            inner = self.compile(node.args[0], Grain.LOT)
            how = node.name
            return lambda frame: frame.reduce(how, np.asarray(inner.fn(frame)), inner.grain, context)
        args = [self._operand(arg, context, grain) for arg in node.args]
        if node.name == "abs":
            return lambda frame: np.abs(args[0](frame))
        function = self.functions[node.name].implementation
        return lambda frame: function(*(np.broadcast_to(_plain(a(frame)), frame.size[grain]) for a in args))


def _plain(value: Any) -> Any:
    """What a plugin function receives: strings as text, not codes."""
    return value.strings() if isinstance(value, Categorical) else value


def _fold(combine, values: list) -> Any:
    result = values[0]
    for value in values[1:]:
        result = combine(result, value)
    return result


def _quietly(op, left, right):
    with np.errstate(divide="ignore", invalid="ignore"):
        return op(left, right)


def compare(op: str, left: Any, right: Any) -> Any:
    """Compare columns or literals: numbers, dates, or strings (as categorical codes)."""
    if op in ("in", "not in"):
        found = _isin(left, right)
        return found if op == "in" else np.logical_not(found)
    if isinstance(left, Categorical) or isinstance(right, Categorical):
        left, right = _codes_pair(left, right)
    elif isinstance(right, str) and np.asarray(left).dtype.kind == "M":
        right = np.datetime64(right, "D")
    elif isinstance(left, str) and np.asarray(right).dtype.kind == "M":
        left = np.datetime64(left, "D")
    return {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
            ">": np.greater, ">=": np.greater_equal}[op](left, right)


def _codes_pair(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, Categorical) and isinstance(right, str):
        return left.codes, left.code_of(right)
    if isinstance(right, Categorical) and isinstance(left, str):
        return right.code_of(left), right.codes
    if isinstance(left, Categorical) and isinstance(right, Categorical) and left.vocab is right.vocab:
        return left.codes, right.codes
    strings = [v.strings() if isinstance(v, Categorical) else v for v in (left, right)]
    return strings[0], strings[1]


def _isin(left: Any, items: list) -> Any:
    if isinstance(left, Categorical):
        codes = [code for code in (left.code_of(item) for item in items) if code != -2]  # -1 is ""
        return np.isin(left.codes, codes)
    if isinstance(left, str):
        return left in items
    return np.isin(left, items)


# ---------------------------------------------------------------- policies


@attrs.frozen
class Band:
    statement: ast.Band
    kind: str
    limit: float
    where: CompiledExpr | None
    specificity: int


@attrs.frozen
class Settings:
    """The policy's plain settings, read by the rebalancer and the tax engine."""

    rebalance_to: str = "target"
    realign: bool = False  # `realign on model change`: a new model version realigns to target
    realign_above: float | None = None  # ... when some weight moved more than this (None: any change)
    cash_target: float | None = None
    cash_min: float | None = None
    cash_max: float | None = None
    min_trade: Decimal = Decimal(0)
    shares: str = "whole"
    share_decimals: int = 0
    lot_method: str = "FIFO"
    gain_budget: Decimal | None = None
    wash_sale_days: int = 30
    harvest_swap_back: bool = False
    wash_sale_scope: str = "household"
    substitutes: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    identical: tuple[frozenset[str], ...] = ()
    restrict_buy: frozenset[str] = frozenset()
    restrict_sell: frozenset[str] = frozenset()

    @property
    def decimals(self) -> int:
        """The share precision trades round to: 0 for whole shares."""
        return self.share_decimals if self.shares == "fractional" else 0

    @property
    def share_step(self) -> Decimal:
        """The smallest quantity a trade moves by: 1, or 10**-N for `shares fractional N`."""
        return Decimal(1).scaleb(-self.decimals)


@attrs.frozen(eq=False)
class PolicyEvaluation:
    """Every decision of one policy over the sleeves that follow it (indices into ``book``)."""

    policy: CompiledPolicy
    book: Book
    sleeves: np.ndarray              # indices of these sleeves in the whole book
    band_abs: np.ndarray             # per holding: index into policy.bands, -1 where no band applies
    band_rel: np.ndarray
    out_abs: np.ndarray
    out_rel: np.ndarray
    triggers: tuple[tuple[ast.Trigger, np.ndarray], ...]  # per sleeve
    realign: np.ndarray              # per sleeve: `realign on model change` fired
    cash_low: np.ndarray
    cash_high: np.ndarray
    rules: tuple[tuple[ast.Rule, np.ndarray], ...]        # per sleeve or per holding, by action
    skip: np.ndarray
    require_approval: np.ndarray
    hold: np.ndarray                 # per holding
    sell_rule: np.ndarray            # per holding: index into policy.rules of the `sell to` that caps it, -1
    avoid_short_term: np.ndarray     # per lot
    harvest: np.ndarray              # per lot

    #: the grain of each per-row field (triggers are per sleeve; rules by their action)
    GRAINS = {"band_abs": Grain.HOLDING, "band_rel": Grain.HOLDING, "out_abs": Grain.HOLDING,
              "out_rel": Grain.HOLDING, "realign": Grain.SLEEVE, "cash_low": Grain.SLEEVE, "cash_high": Grain.SLEEVE, "skip": Grain.SLEEVE,
              "require_approval": Grain.SLEEVE, "hold": Grain.HOLDING, "sell_rule": Grain.HOLDING,
              "avoid_short_term": Grain.LOT, "harvest": Grain.LOT}

    def _columns(self) -> list[tuple[np.ndarray, Grain]]:
        """Every per-row array with its grain, in a fixed order."""
        return ([(getattr(self, name), grain) for name, grain in self.GRAINS.items()]
                + [(mask, Grain.SLEEVE) for _, mask in self.triggers]
                + [(mask, grain) for (_, mask), (_, _, grain) in zip(self.rules, self.policy.rules)])

    def slice_rows(self, s0: int, s1: int, h0: int, h1: int, l0: int, l1: int) -> PolicyEvaluation:
        """This evaluation restricted to a chunk of consecutive sleeves (see :meth:`Book.chunk_bounds`)."""
        rows = {Grain.SLEEVE: slice(s0, s1), Grain.HOLDING: slice(h0, h1), Grain.LOT: slice(l0, l1)}
        return PolicyEvaluation(
            policy=self.policy, book=self.book.slice_rows(s0, s1, h0, h1, l0, l1), sleeves=self.sleeves[s0:s1],
            triggers=tuple((t, mask[s0:s1]) for t, mask in self.triggers),
            rules=tuple((r, mask[rows[grain]]) for (r, mask), (_, _, grain) in zip(self.rules, self.policy.rules)),
            **{name: getattr(self, name)[rows[grain]] for name, grain in self.GRAINS.items()})

    def with_holdings(self, sleeves: np.ndarray, symbols: np.ndarray) -> PolicyEvaluation:
        """This evaluation over a book with empty holdings added (see :meth:`Book.with_holdings`).

        The new holdings took no part in the policy's decisions: no band, no rule, nothing fired.
        """
        book, old_to_new, new_rows = self.book.with_holdings(sleeves, symbols)
        if not len(new_rows):
            return self

        def widen(column: np.ndarray) -> np.ndarray:
            neutral = -1 if column.dtype.kind == "i" else False
            result = np.full(book.n_holdings, neutral, dtype=column.dtype)
            result[old_to_new] = column
            return result

        return attrs.evolve(
            self, book=book,
            rules=tuple((r, widen(mask) if grain == Grain.HOLDING else mask)
                        for (r, mask), (_, _, grain) in zip(self.rules, self.policy.rules)),
            **{name: widen(getattr(self, name)) for name, grain in self.GRAINS.items() if grain == Grain.HOLDING})

    @classmethod
    def gather(cls, parts: Iterator[tuple[Book, PolicyEvaluation]], book: Book) -> PolicyEvaluation:
        """One evaluation of ``book`` from the evaluations of its consecutive chunks, each copied in place."""
        sizes = {Grain.SLEEVE: book.n_sleeves, Grain.HOLDING: book.n_holdings, Grain.LOT: book.n_lots}
        starts = dict.fromkeys(sizes, 0)
        whole = None
        for chunk, part in parts:
            if whole is None:
                whole = attrs.evolve(
                    part, book=book, sleeves=np.arange(book.n_sleeves),
                    triggers=tuple((t, np.empty(book.n_sleeves, bool)) for t, _ in part.triggers),
                    rules=tuple((r, np.empty(sizes[grain], bool)) for r, _, grain in part.policy.rules),
                    **{name: np.empty(sizes[grain], getattr(part, name).dtype) for name, grain in cls.GRAINS.items()})
            for (target, grain), (source, _) in zip(whole._columns(), part._columns()):
                target[starts[grain]:starts[grain] + len(source)] = source
            starts = {Grain.SLEEVE: starts[Grain.SLEEVE] + chunk.n_sleeves,
                      Grain.HOLDING: starts[Grain.HOLDING] + chunk.n_holdings,
                      Grain.LOT: starts[Grain.LOT] + chunk.n_lots}
        return whole

    @cached_property
    def limit_abs(self) -> np.ndarray:
        """Per holding, the limit of the absolute band that applies (NaN for none)."""
        return self.policy.band_limits[self.band_abs]

    @cached_property
    def limit_rel(self) -> np.ndarray:
        return self.policy.band_limits[self.band_rel]

    @property
    def sell_to(self) -> np.ndarray:
        """Per holding, the weight a `sell to` rule caps it at (NaN for none); made on each use (not kept
        with the evaluation)."""
        return self.policy.rule_caps[self.sell_rule]

    @cached_property
    def out_of_band(self) -> np.ndarray:
        return self.out_abs | self.out_rel

    @property
    def sleeve_out_of_band(self) -> np.ndarray:
        frame_size = self.book.n_sleeves
        result = np.zeros(frame_size, dtype=bool)
        result[self.book.holding_sleeve[self.out_of_band]] = True
        return result

    @property
    def sell_to_fired(self) -> np.ndarray:
        result = np.zeros(self.book.n_sleeves, dtype=bool)
        result[self.book.holding_sleeve[self.sell_rule >= 0]] = True
        return result

    @property
    def triggered(self) -> np.ndarray:
        """Sleeves that should rebalance: a band, a trigger, a model change to realign to, the cash limits
        or a `sell to` rule fired."""
        fired = self.sleeve_out_of_band | self.realign | self.cash_low | self.cash_high | self.sell_to_fired
        for _, mask in self.triggers:
            fired = fired | mask
        return fired & ~self.skip

    def flags(self, sleeve: int) -> list[str]:
        return [rule.action.message.value for rule, mask in self.rules
                if isinstance(rule.action, ast.Flag) and mask[sleeve]]


@attrs.frozen(eq=False)
class CompiledPolicy:
    """A policy compiled once, evaluated many times."""

    resolved: ResolvedPolicy
    applies: CompiledExpr | None
    bands: tuple[Band, ...]
    triggers: tuple[tuple[ast.Trigger, CompiledExpr], ...]
    rules: tuple[tuple[ast.Rule, CompiledExpr, Grain], ...]
    avoid_short_term: CompiledExpr | None
    avoid_short_term_given: bool
    harvest: CompiledExpr | None
    settings: Settings

    @property
    def name(self) -> str:
        return self.resolved.name

    @cached_property
    def band_limits(self) -> np.ndarray:
        """Each band's limit, then NaN (what index -1, no band, picks)."""
        return np.array([b.limit for b in self.bands] + [np.nan])

    @cached_property
    def rule_caps(self) -> np.ndarray:
        """Each rule's `sell to` weight (NaN for other actions), then NaN for index -1."""
        return np.array([_literal(r.action.weight) if isinstance(r.action, ast.SellTo) else np.nan
                         for r, _, _ in self.rules] + [np.nan])

    def selects(self, frame: Frame) -> np.ndarray:
        """Which sleeves the policy's `applies to` selects (none when it has no selector)."""
        if self.applies is None:
            return np.zeros(frame.size[Grain.SLEEVE], dtype=bool)
        return self.applies.at(frame, Grain.SLEEVE)

    def evaluate(self, book: Book, sleeves: np.ndarray | None = None) -> PolicyEvaluation:
        """Every decision for ``book``, which holds only sleeves that follow this policy.

        Large books are evaluated in chunks of sleeves (every decision is local to its sleeve), so
        that the temporary columns stay small and in cache.
        """
        evaluation = PolicyEvaluation.gather(  # each chunk's columns are freed once copied
            ((chunk, self._evaluate(chunk)) for chunk in book.chunks(CHUNK_SLEEVES)), book)
        return attrs.evolve(evaluation, sleeves=np.arange(book.n_sleeves) if sleeves is None else sleeves)

    def _evaluate(self, book: Book) -> PolicyEvaluation:
        frame = Frame(book)
        n_sleeves, n_holdings, n_lots = (frame.size[g] for g in (Grain.SLEEVE, Grain.HOLDING, Grain.LOT))
        chosen, out = {}, {}
        for kind in ("absolute", "relative"):
            band = np.full(n_holdings, -1, dtype=np.int16)
            ordered = sorted((b.specificity, i) for i, b in enumerate(self.bands) if b.kind == kind)
            for _, i in ordered:  # more specific (then later) bands overwrite
                band[self.bands[i].where.at(frame, Grain.HOLDING) if self.bands[i].where else slice(None)] = i
            drift = frame.column("holding", "drift_abs" if kind == "absolute" else "drift_rel")
            with np.errstate(invalid="ignore"):
                out[kind] = drift > self.band_limits[band]
            chosen[kind] = band
        cash_weight = frame.column("sleeve", "cash_weight")
        s = self.settings
        cash_low = cash_weight < s.cash_min if s.cash_min is not None else np.zeros(n_sleeves, dtype=bool)
        cash_high = cash_weight > s.cash_max if s.cash_max is not None else np.zeros(n_sleeves, dtype=bool)
        triggers = tuple((statement, expr.at(frame, Grain.SLEEVE)) for statement, expr in self.triggers)
        realign = np.zeros(n_sleeves, dtype=bool)
        if s.realign:
            realign = frame.column("sleeve", "model_changed").copy()
            if s.realign_above is not None:
                realign &= frame.column("sleeve", "model_move") > s.realign_above
        rules = tuple((rule, expr.at(frame, grain)) for rule, expr, grain in self.rules)
        skip, approval = np.zeros(n_sleeves, dtype=bool), np.zeros(n_sleeves, dtype=bool)
        hold, cap, sell_rule = np.zeros(n_holdings, dtype=bool), np.full(n_holdings, np.inf), np.full(n_holdings, -1, np.int16)
        weight = frame.column("holding", "weight")
        for index, (rule, mask) in enumerate(rules):
            match rule.action:
                case ast.Skip():
                    skip |= mask
                case ast.RequireApproval():
                    approval |= mask
                case ast.Hold():
                    hold |= mask
                case ast.SellTo():  # the lowest cap wins
                    weight_cap = self.rule_caps[index]
                    lower = mask & (weight > weight_cap) & (weight_cap < cap)
                    cap[lower], sell_rule[lower] = weight_cap, index
        short = frame.short_term
        gains = frame.column("lot", "gain") > 0
        if self.avoid_short_term_given:
            condition = self.avoid_short_term.at(frame, Grain.LOT) if self.avoid_short_term else True
            avoid = short & gains & condition
        else:
            avoid = np.zeros(n_lots, dtype=bool)
        harvest = (self.harvest.at(frame, Grain.LOT) & (frame.column("lot", "loss") > 0) if self.harvest
                   else np.zeros(n_lots, dtype=bool))
        return PolicyEvaluation(
            policy=self, book=book, sleeves=np.arange(n_sleeves),
            band_abs=chosen["absolute"], band_rel=chosen["relative"],
            out_abs=out["absolute"], out_rel=out["relative"], triggers=triggers, realign=realign,
            cash_low=cash_low, cash_high=cash_high, rules=rules, skip=skip, require_approval=approval,
            hold=hold, sell_rule=sell_rule, avoid_short_term=avoid, harvest=harvest,
        )


def _specificity(where: ast.Expr | None) -> int:
    """How specific a band's `for` condition is: the number of conditions joined by `and` (at any depth)."""
    if where is None:
        return 0
    if isinstance(where, ast.BoolOp) and where.op == "and":
        return sum(_specificity(operand) for operand in where.operands)
    return 1


def _fraction(node: ast.Quantity | None) -> float | None:
    return None if node is None else _literal(node)


def settings_of(policy: ResolvedPolicy) -> Settings:
    """The plain settings of a resolved policy (defaults where it is silent)."""
    values: dict[str, Any] = {}
    substitutes, identical, restrict = {}, [], {"buy": frozenset(), "sell": frozenset()}
    for node in policy.statements:
        match node:
            case ast.Rebalance():
                values["rebalance_to"] = node.mode.value
            case ast.Realign():
                values.update(realign=True, realign_above=_fraction(node.threshold))
            case ast.CashTarget():
                values.update(cash_target=_fraction(node.target), cash_min=_fraction(node.minimum),
                              cash_max=_fraction(node.maximum))
            case ast.MinTrade():
                values["min_trade"] = node.amount.value
            case ast.Shares():
                values.update(shares=node.mode.value, share_decimals=node.decimals or 0)
            case ast.Lots():
                values["lot_method"] = node.method.value
            case ast.GainBudget():
                values["gain_budget"] = node.amount.value
            case ast.Harvest():
                values["harvest_swap_back"] = node.swap_back
            case ast.WashSale():
                values.update(wash_sale_days=int(node.window.value), wash_sale_scope=node.scope.value)
            case ast.Substitute():
                substitutes[node.symbol.value] = tuple(s.value for s in node.alternatives)
            case ast.Identical():
                identical.append(frozenset(s.value for s in node.symbols))
            case ast.Restrict():
                restrict[node.side.value] = frozenset(s.value for s in node.symbols)
    return Settings(**values, substitutes=substitutes, identical=tuple(identical),
                    restrict_buy=restrict["buy"], restrict_sell=restrict["sell"])


def compile_policy(policy: ResolvedPolicy, functions: dict[str, PolicyFunction] | None = None) -> CompiledPolicy:
    """Compile a validated policy (see :func:`smartx_engine.dsl.validate.validate`)."""
    compiler = ExprCompiler(functions or {})
    applies = policy.first(ast.Applies)
    avoid = policy.first(ast.AvoidShortTerm)
    harvest = policy.first(ast.Harvest)
    return CompiledPolicy(
        resolved=policy,
        applies=compiler.compile(applies.condition, Grain.SLEEVE) if applies else None,
        bands=tuple(Band(b, b.kind.value, _literal(b.limit),
                         compiler.compile(b.where, Grain.HOLDING) if b.where is not None else None,
                         _specificity(b.where)) for b in policy.all(ast.Band)),
        triggers=tuple((t, compiler.compile(t.condition, Grain.SLEEVE)) for t in policy.all(ast.Trigger)),
        rules=tuple((r, compiler.compile(r.condition, grain), grain) for r in policy.all(ast.Rule)
                    for grain in [Grain.SLEEVE if isinstance(r.action, SLEEVE_ACTIONS) else Grain.HOLDING]),
        avoid_short_term=compiler.compile(avoid.condition, Grain.LOT) if avoid and avoid.condition else None,
        avoid_short_term_given=avoid is not None,
        harvest=compiler.compile(harvest.condition, Grain.LOT) if harvest and harvest.condition else None,
        settings=settings_of(policy),
    )


def describe_band(band: Band) -> str:
    return fmt.statement(band.statement)
