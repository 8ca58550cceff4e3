"""Static checks of parsed policies: names, types and units, grains, enumerations, inheritance.

Every problem in every file is collected, each located and explained; then ``extends`` is resolved
statement by statement into effective policies. Nothing here evaluates anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

import attrs

from ..domain import symbol as check_symbol
from ..errors import Diagnostic, did_you_mean
from . import ast, fmt
from .functions import PolicyFunction
from .schema import (
    AGGREGATES, BAND_KINDS, BOOL, BUDGET_PERIODS, DATE, DAYS, FIELDS, FUNCTIONS, GRAIN_NAMES, LOT_METHODS, PLAIN,
    RATIO, REBALANCE_MODES, RESTRICT_SIDES, SHARE_MODES, STRING, UNITS, USD, WASH_SCOPES, Grain, Type,
)

#: statements a policy gives at most once; a child policy's replaces its parent's
SINGLETONS = (ast.Applies, ast.Rebalance, ast.Realign, ast.CashTarget, ast.MinTrade, ast.Shares, ast.Lots, ast.AvoidShortTerm,
              ast.GainBudget, ast.Harvest, ast.WashSale)
KEYWORDS = {ast.Applies: "applies to", ast.Rebalance: "rebalance to", ast.Realign: "realign on model change",
            ast.CashTarget: "target cash",
            ast.MinTrade: "min trade", ast.Shares: "shares", ast.Lots: "lots",
            ast.AvoidShortTerm: "avoid short term gains", ast.GainBudget: "gain budget", ast.Harvest: "harvest",
            ast.WashSale: "wash sale window"}
SLEEVE_ACTIONS = (ast.Skip, ast.Flag, ast.RequireApproval)
UNIT_WORDS = {"ratio": "%", "usd": " USD", "days": " days"}


def statement_key(node: ast.Statement) -> tuple:
    """What a child's statement overrides in its parent: the same key."""
    match node:
        case ast.Band():
            return ("band", node.kind.value, fmt.expr(node.where) if node.where is not None else None)
        case ast.Trigger():
            return ("trigger", fmt.expr(node.condition))
        case ast.Substitute():
            return ("substitute", node.symbol.value)
        case ast.Identical():
            return ("identical", tuple(sorted(s.value for s in node.symbols)))
        case ast.Restrict():
            return ("restrict", node.side.value)
        case ast.Rule():
            return ("rule", node.name.value)
    return (type(node).__name__,)


@attrs.frozen
class ResolvedPolicy:
    """A policy with its inheritance applied: every effective statement and where it came from."""

    name: str
    version: str | None
    path: str
    node: ast.Policy
    statements: tuple[ast.Statement, ...]
    origins: tuple[str, ...]  # the policy each statement was written in
    lineage: tuple[str, ...]  # this policy, its parent, ...

    def first(self, kind: type) -> ast.Statement | None:
        return next((s for s in self.statements if isinstance(s, kind)), None)

    def all(self, kind: type) -> list[ast.Statement]:
        return [s for s in self.statements if isinstance(s, kind)]


@attrs.frozen
class Checked:
    """The result of validation: effective policies by name and every diagnostic."""

    policies: dict[str, ResolvedPolicy]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


class Validator:
    """Checks policy files; collects diagnostics instead of stopping at the first."""

    def __init__(self, functions: dict[str, PolicyFunction] | None = None):
        self.functions = functions or {}
        self.diagnostics: list[Diagnostic] = []
        self.file: ast.PolicyFile | None = None

    # ------------------------------------------------------------ reporting

    def report(self, span: ast.Span, message: str, hint: str | None = None, severity: str = "error") -> None:
        lines = self.file.source.split("\n") if self.file else []  # lines as lark counts them
        snippet = lines[span.line - 1] if 0 < span.line <= len(lines) else None
        width = (span.end_column - span.column) if span.end_line == span.line else len(snippet or "") - span.column + 1
        self.diagnostics.append(Diagnostic(self.file.path if self.file else "<policy>", span.line, span.column,
                                           message, hint=hint, severity=severity, snippet=snippet, width=width))

    def warn(self, span: ast.Span, message: str, hint: str | None = None) -> None:
        self.report(span, message, hint, severity="warning")

    # ------------------------------------------------------------ files and policies

    def check(self, files: Sequence[ast.PolicyFile]) -> Checked:
        seen: dict[str, tuple[ast.PolicyFile, ast.Policy]] = {}
        for policy_file in files:
            self.file = policy_file
            for policy in policy_file.policies:
                name = policy.name.value
                if name in seen:
                    first_file, first = seen[name]
                    self.report(policy.name.span, f"policy {name!r} is defined twice",
                                hint=f"first defined at {first_file.path}:{first.span.line}")
                    continue
                seen[name] = (policy_file, policy)
                self.check_policy(policy)
        resolved = self.resolve(seen)
        return Checked(resolved, tuple(sorted(self.diagnostics, key=lambda d: (d.file, d.line, d.column or 0))))

    def check_policy(self, policy: ast.Policy) -> None:
        first_of: dict[type, ast.Statement] = {}
        rules: dict[str, ast.Rule] = {}
        for node in policy.statements:
            if isinstance(node, SINGLETONS):
                if type(node) in first_of:
                    self.report(node.span, f"`{KEYWORDS[type(node)]}` is given twice in policy {policy.name.value!r}",
                                hint=f"the first is on line {first_of[type(node)].span.line}; keep one")
                first_of.setdefault(type(node), node)
            if isinstance(node, ast.Rule):
                if node.name.value in rules:
                    self.report(node.name.span, f"rule {node.name.value!r} is defined twice in this policy",
                                hint=f"the first is on line {rules[node.name.value].span.line}; rule names are unique")
                rules.setdefault(node.name.value, node)
            self.check_statement(node)
        self.check_symbols(policy.statements)

    def resolve(self, seen: dict[str, tuple[ast.PolicyFile, ast.Policy]]) -> dict[str, ResolvedPolicy]:
        resolved: dict[str, ResolvedPolicy] = {}
        failed: set[str] = set()

        def resolve_one(name: str, chain: tuple[str, ...]) -> ResolvedPolicy | None:
            if name in resolved or name in failed:
                return resolved.get(name)
            result = resolve_from(name, chain)
            if result is None:
                failed.add(name)
            return result

        def resolve_from(name: str, chain: tuple[str, ...]) -> ResolvedPolicy | None:
            policy_file, policy = seen[name]
            self.file = policy_file
            statements, origins, lineage = list(policy.statements), [name] * len(policy.statements), (name,)
            if policy.extends is not None:
                parent_name = policy.extends.value
                if parent_name in chain or parent_name == name:
                    cycle = (*chain[chain.index(parent_name):], name, parent_name) if parent_name in chain \
                        else (name, name)
                    self.report(policy.extends.span, f"policy {name!r} extends itself: " + " -> ".join(cycle))
                    failed.update(cycle)
                    return None
                if parent_name not in seen:
                    self.report(policy.extends.span, f"policy {name!r} extends {parent_name!r}, which is not defined",
                                hint=did_you_mean(parent_name, seen) or "define it, or check the rules directory")
                    return None
                parent = resolve_one(parent_name, (*chain, name))
                self.file = policy_file
                if parent is None:
                    return None
                own = {statement_key(s) for s in policy.statements}
                kept = [(s, o) for s, o in zip(parent.statements, parent.origins) if statement_key(s) not in own]
                statements = [s for s, _ in kept] + statements
                origins = [o for _, o in kept] + origins
                lineage = (name, *parent.lineage)
            resolved[name] = ResolvedPolicy(name, policy.version.value if policy.version else None,
                                            policy_file.path, policy, tuple(statements), tuple(origins), lineage)
            return resolved[name]

        for name in seen:
            resolve_one(name, ())
        return resolved

    # ------------------------------------------------------------ statements

    def check_statement(self, node: ast.Statement) -> None:
        match node:
            case ast.Applies():
                self.condition(node.condition, Grain.SLEEVE, "applies to")
            case ast.Band():
                self.enum(node.kind, BAND_KINDS, "band kind")
                limit = self.amount(node.limit, RATIO, "a drift band")
                if limit is not None and limit <= 0:
                    self.report(node.limit.span, "a drift band must be above 0%")
                elif limit is not None and node.kind.value == "absolute" and limit >= 1:
                    self.warn(node.limit.span, "this band can never fire: a weight never drifts 100% from its target")
                if node.where is not None:
                    self.condition(node.where, Grain.HOLDING, "drift band ... for")
            case ast.Trigger():
                self.condition(node.condition, Grain.SLEEVE, "trigger when")
            case ast.Rebalance():
                self.enum(node.mode, REBALANCE_MODES, "rebalance mode")
            case ast.Realign():
                if node.threshold is not None:
                    self.amount(node.threshold, RATIO, "a model weight move", maximum=Decimal(1))
            case ast.CashTarget():
                values = [self.amount(q, RATIO, "a cash weight", maximum=Decimal(1)) if q else None
                          for q in (node.minimum, node.target, node.maximum)]
                low, target, high = values
                if target is not None and low is not None and low > target:
                    self.report(node.minimum.span, f"the cash minimum ({fmt.quantity(node.minimum)}) is above the "
                                f"target ({fmt.quantity(node.target)})", hint="min <= target <= max")
                if target is not None and high is not None and high < target:
                    self.report(node.maximum.span, f"the cash maximum ({fmt.quantity(node.maximum)}) is below the "
                                f"target ({fmt.quantity(node.target)})", hint="min <= target <= max")
            case ast.MinTrade():
                self.amount(node.amount, USD, "a minimum trade")
            case ast.Shares():
                self.enum(node.mode, SHARE_MODES, "share rounding")
                if node.mode.value == "whole" and node.decimals is not None:
                    self.report(node.span, "`shares whole` takes no number of decimals",
                                hint="write `shares whole` or `shares fractional 3`")
                if node.mode.value == "fractional" and not (node.decimals and 1 <= node.decimals <= 6):
                    self.report(node.span, "`shares fractional` needs the number of decimals, 1 to 6",
                                hint="e.g. `shares fractional 3`")
            case ast.Lots():
                self.enum(node.method, LOT_METHODS, "lot method")
            case ast.AvoidShortTerm():
                if node.condition is not None:
                    self.condition(node.condition, Grain.LOT, "avoid short term gains when")
            case ast.GainBudget():
                self.amount(node.amount, USD, "a gain budget")
                self.enum(node.period, BUDGET_PERIODS, "budget period")
            case ast.Harvest():
                if node.condition is not None:
                    self.condition(node.condition, Grain.LOT, "harvest when")
            case ast.WashSale():
                days = self.amount(node.window, DAYS, "a wash-sale window")
                self.enum(node.scope, WASH_SCOPES, "wash-sale scope")
                if days is not None and days < 30:
                    self.warn(node.window.span, "the wash-sale rule looks 30 days before and after a loss sale",
                              hint="a shorter window lets washed losses through")
            case ast.Restrict():
                self.enum(node.side, RESTRICT_SIDES, "restriction")
            case ast.Rule():
                grain = Grain.SLEEVE if isinstance(node.action, SLEEVE_ACTIONS) else Grain.HOLDING
                self.condition(node.condition, grain, f"rule {node.name.value!r}")
                if isinstance(node.action, ast.SellTo):
                    self.amount(node.action.weight, RATIO, "a weight", maximum=Decimal(1))

    def check_symbols(self, statements: Iterable[ast.Statement]) -> None:
        restricted_buys: set[str] = set()
        for node in statements:
            strings = {ast.Substitute: lambda n: (n.symbol, *n.alternatives), ast.Identical: lambda n: n.symbols,
                       ast.Restrict: lambda n: n.symbols}.get(type(node), lambda n: ())(node)
            for s in strings:
                try:
                    check_symbol(s.value)
                except ValueError as exc:
                    self.report(s.span, str(exc))
            if isinstance(node, ast.Restrict) and node.side.value == "buy":
                restricted_buys |= {s.value for s in node.symbols}
        for node in statements:
            if isinstance(node, ast.Substitute):
                for alternative in node.alternatives:
                    if alternative.value == node.symbol.value:
                        self.report(alternative.span, f"{alternative.value} cannot substitute for itself")
                    elif alternative.value in restricted_buys:
                        self.warn(alternative.span, f"{alternative.value} is restricted from buying, "
                                  "so it will never be bought as a substitute", hint="remove it from one of the two")

    def enum(self, name: ast.Name, allowed: Sequence[str], what: str) -> None:
        if name.value not in allowed:
            self.report(name.span, f"unknown {what} `{name.value}`",
                        hint=did_you_mean(name.value, allowed) or "one of: " + ", ".join(allowed))

    def amount(self, node: ast.Quantity, expected: Type, what: str, maximum: Decimal | None = None) -> Decimal | None:
        """The literal's value in its unit (a fraction for %), or None after reporting a wrong unit."""
        type_, factor = UNITS[node.unit]
        if type_ != expected and not (expected == DAYS and type_ == PLAIN):
            suggestion = f"{node.value}{UNIT_WORDS[expected.unit]}"
            self.report(node.span, f"{what} is {expected}, not {type_}", hint=f"write `{suggestion}`")
            return None
        value = node.value * factor
        if maximum is not None and value > maximum:
            self.report(node.span, f"{what} cannot be above {maximum * 100:.0f}%")
        return value

    # ------------------------------------------------------------ expressions

    def condition(self, node: ast.Expr, grain: Grain, clause: str) -> None:
        result = self.expr(node, grain)
        if result is None:
            return
        type_, expr_grain = result
        if type_ != BOOL:
            self.report(node.span, f"`{clause}` needs a condition, not {type_}",
                        hint="compare it with something, e.g. `holding.weight > 10%`")
        if expr_grain > grain:
            field = _finest_field(node, grain)
            at = field.span if field else node.span
            field_grain = FIELDS[(field.grain, field.name)].grain if field else expr_grain
            self.report(at, f"{fmt.expr(field) if field else 'this'} is per {field_grain.noun}, but `{clause}` "
                        f"needs a condition per {grain.noun}",
                        hint=f"wrap it in an aggregate: any(...), all(...) or count(...) > N over the "
                        f"{expr_grain.noun}s of each {grain.noun}")

    def expr(self, node: ast.Expr, context: Grain) -> tuple[Type, Grain] | None:
        """The type and grain of ``node``, or None after reporting why it has none."""
        match node:
            case ast.Quantity():
                return UNITS[node.unit][0], Grain.SCALAR
            case ast.String():
                return STRING, Grain.SCALAR
            case ast.Bool():
                return BOOL, Grain.SCALAR
            case ast.ListOf():
                return self.list_of(node)
            case ast.Field():
                return self.field(node)
            case ast.Negate():
                inner = self.expr(node.operand, context)
                if inner and inner[0].kind != "number":
                    self.report(node.span, f"cannot negate {inner[0]}")
                    return None
                return inner
            case ast.Not():
                inner = self.expr(node.operand, context)
                if inner and inner[0] != BOOL:
                    self.report(node.operand.span, f"`not` needs a condition, not {inner[0]}")
                    return None
                return inner and (BOOL, inner[1])
            case ast.BoolOp():
                results = [self.expr(operand, context) for operand in node.operands]
                for operand, result in zip(node.operands, results):
                    if result and result[0] != BOOL:
                        self.report(operand.span, f"`{node.op}` joins conditions, not {result[0]}")
                        return None
                if None in results:
                    return None
                return BOOL, max(grain for _, grain in results)
            case ast.Compare():
                return self.compare(node, context)
            case ast.Arith():
                return self.arith(node, context)
            case ast.Call():
                return self.call(node, context)
        raise TypeError(f"not an expression: {node!r}")

    def field(self, node: ast.Field) -> tuple[Type, Grain] | None:
        if node.grain not in GRAIN_NAMES:
            self.report(node.span, f"unknown name `{node.grain}`",
                        hint=did_you_mean(node.grain, GRAIN_NAMES) or "fields start with " + ", ".join(
                            f"{g}." for g in GRAIN_NAMES))
            return None
        spec = FIELDS.get((node.grain, node.name))
        if spec is None:
            names = [name for grain, name in FIELDS if grain == node.grain]
            self.report(node.span, f"`{node.grain}` has no field `{node.name}`",
                        hint=(f"did you mean `{node.grain}.{close}`?" if (close := _close(node.name, names))
                              else f"{node.grain} fields: " + ", ".join(names)))
            return None
        return spec.type, spec.grain

    def list_of(self, node: ast.ListOf) -> tuple[Type, Grain] | None:
        item_types = []
        for item in node.items:
            if not isinstance(item, (ast.Quantity, ast.String)):
                self.report(item.span, "list items are numbers or quoted strings")
                return None
            item_types.append(self.expr(item, Grain.SCALAR)[0])
        if len(set(item_types)) > 1:
            self.report(node.span, "a list mixes kinds of values", hint="keep all strings, or all numbers in one unit")
            return None
        return Type("list", item=item_types[0] if item_types else None), Grain.SCALAR

    def compare(self, node: ast.Compare, context: Grain) -> tuple[Type, Grain] | None:
        left, right = self.expr(node.left, context), self.expr(node.right, context)
        if left is None or right is None:
            return None
        (lt, lg), (rt, rg) = left, right
        grain = max(lg, rg)
        if node.op in ("in", "not in"):
            if rt.kind != "list":
                self.report(node.right.span, f"`{node.op}` needs a list on its right, e.g. [\"ira\", \"roth\"]")
                return None
            if rt.item is not None and not _comparable(lt, rt.item):
                self.report(node.span, f"cannot look for {lt} in {rt}")
                return None
            return BOOL, grain
        if lt == DATE and rt == STRING or rt == DATE and lt == STRING:
            literal = node.right if rt == STRING else node.left
            if not isinstance(literal, ast.String) or not _is_date(literal.value):
                self.report(literal.span, "a date is compared with a date written \"YYYY-MM-DD\"")
                return None
            return BOOL, grain
        if not _comparable(lt, rt):
            self.report(node.span, f"cannot compare {lt} with {rt}", hint=_unit_hint(node, lt, rt))
            return None
        if lt.kind == "list" or rt.kind == "list":
            self.report(node.span, f"`{node.op}` compares single values; a list goes on the right of `in`",
                        hint="e.g. `account.registration in [\"ira\", \"roth\"]`")
            return None
        if node.op not in ("==", "!=") and lt.kind not in ("number", "date"):
            self.report(node.span, f"`{node.op}` orders numbers and dates, not {lt.plural}",
                        hint=f"{lt.plural} compare with == and != only")
            return None
        return BOOL, grain

    def arith(self, node: ast.Arith, context: Grain) -> tuple[Type, Grain] | None:
        left, right = self.expr(node.left, context), self.expr(node.right, context)
        if left is None or right is None:
            return None
        (lt, lg), (rt, rg) = left, right
        if lt.kind != "number" or rt.kind != "number":
            self.report(node.span, f"`{node.op}` works on numbers, not {lt if lt.kind != 'number' else rt}")
            return None
        result = _arith_type(node.op, lt, rt)
        if result is None:
            self.report(node.span, f"cannot {_VERBS[node.op]} {lt} and {rt}", hint=_unit_hint(node, lt, rt))
            return None
        return result, max(lg, rg)

    def call(self, node: ast.Call, context: Grain) -> tuple[Type, Grain] | None:
        if node.name in AGGREGATES:
            return self.aggregate(node, context)
        if node.name == "abs":
            if len(node.args) != 1:
                self.report(node.span, "abs(...) takes one number")
                return None
            inner = self.expr(node.args[0], context)
            if inner and inner[0].kind != "number":
                self.report(node.args[0].span, f"abs(...) takes a number, not {inner[0]}")
                return None
            return inner
        function = self.functions.get(node.name)
        if function is None:
            known = [*AGGREGATES, *FUNCTIONS, *self.functions]
            self.report(node.span, f"unknown function `{node.name}`",
                        hint=did_you_mean(node.name, known) or "functions: " + ", ".join(sorted(known)))
            return None
        if len(node.args) != len(function.params):
            self.report(node.span, f"{node.name}(...) takes {len(function.params)} argument(s), "
                        f"not {len(node.args)}")
            return None
        grains = []
        for arg, param in zip(node.args, function.params):
            result = self.expr(arg, context)
            if result is None:
                return None
            if not _comparable(result[0], param):
                self.report(arg.span, f"{node.name}(...) takes {param} here, not {result[0]}")
                return None
            grains.append(result[1])
        return function.returns, max(grains, default=Grain.SCALAR)

    def aggregate(self, node: ast.Call, context: Grain) -> tuple[Type, Grain] | None:
        kind, result_type, _ = AGGREGATES[node.name]
        if len(node.args) != 1:
            self.report(node.span, f"{node.name}(...) takes one {'condition' if kind == 'bool' else 'number'}")
            return None
        if context == Grain.LOT:
            self.report(node.span, f"a per-lot clause has nothing finer to gather: write the condition "
                        f"without {node.name}(...)")
            return None
        inner = self.expr(node.args[0], Grain.LOT)
        if inner is None:
            return None
        type_, grain = inner
        if grain <= context:
            self.report(node.span, f"{node.name}(...) gathers the {Grain(context + 1).noun}s "
                        f"of each {context.noun}, but its argument is per {grain.noun}",
                        hint="aggregate a holding.* or lot.* expression, or drop the aggregate")
            return None
        if (kind == "bool") != (type_ == BOOL) or (kind == "number" and type_.kind != "number"):
            self.report(node.args[0].span, f"{node.name}(...) takes {'a condition' if kind == 'bool' else 'a number'}"
                        f", not {type_}")
            return None
        return result_type or type_, context


_VERBS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}


def _comparable(a: Type, b: Type) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "number":
        return a.unit == b.unit or {a.unit, b.unit} == {None, "days"}
    return True


def _arith_type(op: str, a: Type, b: Type) -> Type | None:
    if op in "+-":
        return (a if a.unit else b) if _comparable(a, b) else None
    if op == "*":
        if a.unit is None or b.unit is None:
            return a if b.unit is None else b
        units = {a.unit, b.unit}
        return USD if units == {"ratio", "usd"} else RATIO if units == {"ratio"} else None
    if b.unit is None:
        return a
    if a.unit == b.unit:
        return RATIO if a.unit == "usd" else PLAIN
    return None


def _unit_hint(node: ast.Compare | ast.Arith, a: Type, b: Type) -> str | None:
    """Suggest the unit a bare number literal is missing."""
    for literal, other in ((node.right, a), (node.left, b)):
        if isinstance(literal, ast.Quantity) and literal.unit is None and other.unit in UNIT_WORDS:
            return f"write `{literal.value}{UNIT_WORDS[other.unit]}`"
    return None


def _finest_field(node: ast.Expr, grain: Grain) -> ast.Field | None:
    """The first field finer than ``grain`` outside any aggregate, to point the caret at."""
    if isinstance(node, ast.Field):
        spec = FIELDS.get((node.grain, node.name))
        return node if spec and spec.grain > grain else None
    if isinstance(node, ast.Call) and node.name in AGGREGATES:
        return None
    return next((found for child in ast.children(node) if (found := _finest_field(child, grain))), None)


def _close(word: str, choices: Sequence[str]) -> str | None:
    hint = did_you_mean(word, choices)
    return hint.split("`")[1] if hint else None


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def validate(files: Sequence[ast.PolicyFile], functions: dict[str, PolicyFunction] | None = None) -> Checked:
    """Check parsed policy files together (``extends`` may cross files)."""
    return Validator(functions).check(files)
