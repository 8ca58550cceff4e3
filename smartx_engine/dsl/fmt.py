"""The canonical text of a policy file: ``smartx policy fmt``. Comments are kept; it is idempotent.

Canonical form: two-space indentation, one statement per line, single spaces around operators,
``5%`` but ``300 bps``, two spaces before a trailing comment, at most one blank line between
statements (kept where the source had one), one blank line between policies.
"""

from __future__ import annotations

from . import ast

_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "compare": 4, "+": 5, "-": 5, "*": 6, "/": 6, "neg": 7}
INDENT = "  "


def quantity(node: ast.Quantity) -> str:
    number = format(node.value, "f")  # never exponent notation, which would not parse
    if node.unit is None:
        return number
    return f"{number}{node.unit}" if node.unit == "%" else f"{number} {node.unit}"


def string(node: ast.String) -> str:
    return '"' + node.value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _precedence(node: ast.Expr) -> int:
    if isinstance(node, ast.BoolOp):
        return _PRECEDENCE[node.op]
    if isinstance(node, ast.Not):
        return _PRECEDENCE["not"]
    if isinstance(node, ast.Compare):
        return _PRECEDENCE["compare"]
    if isinstance(node, ast.Arith):
        return _PRECEDENCE[node.op]
    if isinstance(node, ast.Negate):
        return _PRECEDENCE["neg"]
    return 9


def _child(node: ast.Expr, minimum: int) -> str:
    text = expr(node)
    return f"({text})" if _precedence(node) < minimum else text


def expr(node: ast.Expr) -> str:
    """An expression with the fewest parentheses that keep its meaning."""
    match node:
        case ast.Quantity():
            return quantity(node)
        case ast.String():
            return string(node)
        case ast.Bool():
            return "true" if node.value else "false"
        case ast.ListOf():
            return "[" + ", ".join(expr(item) for item in node.items) + "]"
        case ast.Field():
            return f"{node.grain}.{node.name}"
        case ast.Call():
            return f"{node.name}(" + ", ".join(expr(arg) for arg in node.args) + ")"
        case ast.Negate():
            return "-" + _child(node.operand, _PRECEDENCE["neg"])
        case ast.Not():
            return "not " + _child(node.operand, _PRECEDENCE["not"])
        case ast.BoolOp():
            level = _PRECEDENCE[node.op]
            return f" {node.op} ".join(_child(operand, level + 1) if isinstance(operand, ast.BoolOp)
                                       and operand.op != node.op else _child(operand, level)
                                       for operand in node.operands)
        case ast.Compare():
            level = _PRECEDENCE["compare"]
            return f"{_child(node.left, level + 1)} {node.op} {_child(node.right, level + 1)}"
        case ast.Arith():
            level = _PRECEDENCE[node.op]
            return f"{_child(node.left, level)} {node.op} {_child(node.right, level + 1)}"
    raise TypeError(f"not an expression: {node!r}")


def _strings(nodes: tuple[ast.String, ...]) -> str:
    return ", ".join(string(s) for s in nodes)


def action(node: ast.Action) -> str:
    match node:
        case ast.Skip():
            return "skip"
        case ast.Hold():
            return "hold"
        case ast.Flag():
            return f"flag {string(node.message)}"
        case ast.SellTo():
            return f"sell to {quantity(node.weight)}"
        case ast.RequireApproval():
            return "require approval"
    raise TypeError(f"not an action: {node!r}")


def statement(node: ast.Statement) -> str:
    """One statement on one line, without indentation."""
    match node:
        case ast.Applies():
            return f"applies to {expr(node.condition)}"
        case ast.Band():
            where = f" for {expr(node.where)}" if node.where is not None else ""
            return f"drift band {node.kind.value} {quantity(node.limit)}{where}"
        case ast.Trigger():
            return f"trigger when {expr(node.condition)}"
        case ast.Rebalance():
            return f"rebalance to {node.mode.value}"
        case ast.Realign():
            return "realign on model change" + (f" above {quantity(node.threshold)}" if node.threshold else "")
        case ast.CashTarget():
            limits = "".join(f" {word} {quantity(q)}" for word, q in (("min", node.minimum), ("max", node.maximum)) if q)
            return f"target cash {quantity(node.target)}{limits}"
        case ast.MinTrade():
            return f"min trade {quantity(node.amount)}"
        case ast.Shares():
            return f"shares {node.mode.value}" + (f" {node.decimals}" if node.decimals is not None else "")
        case ast.Lots():
            return f"lots {node.method.value}"
        case ast.AvoidShortTerm():
            return "avoid short term gains" + (f" when {expr(node.condition)}" if node.condition is not None else "")
        case ast.GainBudget():
            return f"gain budget {quantity(node.amount)} per {node.period.value}"
        case ast.Harvest():
            if node.condition is None:
                return "harvest never"
            return f"harvest when {expr(node.condition)}" + (" swap back" if node.swap_back else "")
        case ast.WashSale():
            return f"wash sale window {quantity(node.window)} across {node.scope.value}"
        case ast.Substitute():
            return f"substitute {string(node.symbol)} with {_strings(node.alternatives)}"
        case ast.Identical():
            return f"identical {_strings(node.symbols)}"
        case ast.Restrict():
            return f"restrict {node.side.value} {_strings(node.symbols)}"
        case ast.Rule():
            return f"rule {string(node.name)} when {expr(node.condition)} then {action(node.action)}"
    raise TypeError(f"not a statement: {node!r}")


def header(policy: ast.Policy) -> str:
    parts = [f"policy {string(policy.name)}"]
    if policy.version:
        parts.append(f"version {string(policy.version)}")
    if policy.extends:
        parts.append(f"extends {string(policy.extends)}")
    return " ".join(parts) + " {"


class _Writer:
    """Emits lines, placing each comment before, or trailing, the item it belongs to."""

    def __init__(self, comments: tuple[ast.Comment, ...]):
        self.pending = sorted(comments, key=lambda c: (c.line, c.column))
        self.lines: list[str] = []
        self.last_line = 0  # the last source line emitted

    def item(self, text: str, first_line: int, last_line: int, indent: str, *, blank_allowed: bool,
             comment_indent: str | None = None) -> None:
        leading = [c for c in self.pending if c.line < first_line]
        previous = self.last_line if blank_allowed else None
        for line, line_text in [(c.line, (indent if comment_indent is None else comment_indent) + c.text)
                                for c in leading] + [(first_line, None)]:
            if previous is not None and self.lines and line > previous + 1:
                self.lines.append("")
            if line_text is not None:
                self.lines.append(line_text)
            previous = line
        trailing = [c for c in self.pending if first_line <= c.line <= last_line]
        self.pending = [c for c in self.pending if c.line > last_line]
        suffix = "".join("  " + c.text for c in trailing)
        self.lines.append(indent + text + suffix)
        self.last_line = last_line

    def rest(self) -> None:
        if self.pending:
            if self.lines and self.pending[0].line > self.last_line + 1:
                self.lines.append("")
            self.lines.extend(c.text for c in self.pending)
            self.pending = []


def format_file(policy_file: ast.PolicyFile) -> str:
    """The canonical text of a parsed policy file."""
    writer = _Writer(policy_file.comments)
    for number, policy in enumerate(policy_file.policies):
        if number and writer.lines:
            writer.lines.append("")
        writer.item(header(policy), policy.span.line, policy.span.line, "", blank_allowed=number == 0)
        for index, node in enumerate(policy.statements):
            writer.item(statement(node), node.span.line, node.span.end_line, INDENT, blank_allowed=index > 0)
        writer.item("}", policy.span.end_line, policy.span.end_line, "", blank_allowed=False, comment_indent=INDENT)
    writer.rest()
    return "\n".join(writer.lines) + "\n" if writer.lines else ""
