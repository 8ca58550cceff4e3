"""Turns lark's parse tree into the frozen AST of :mod:`smartx_engine.dsl.ast`."""

from __future__ import annotations

import re
from decimal import Decimal

from lark import Token, Transformer, v_args

from . import ast

_ESCAPE = re.compile(r"\\(.)")  # inside a string, a backslash makes the next character literal

def span_of(meta_or_token) -> ast.Span:
    return ast.Span(meta_or_token.line, meta_or_token.column, meta_or_token.end_line, meta_or_token.end_column)


def _join(first: ast.Span, last: ast.Span) -> ast.Span:
    return ast.Span(first.line, first.column, last.end_line, last.end_column)


def _name(token: Token) -> ast.Name:
    return ast.Name(str(token), span_of(token))


@v_args(meta=True)
class ToAst(Transformer):
    """One method per grammar rule; every node gets the span of the text it came from."""

    # ------------------------------------------------------------ policies

    def start(self, meta, policies):
        return tuple(policies)

    def policy(self, meta, children):
        name, *rest = children
        header = dict(c for c in rest if isinstance(c, tuple))  # ("version" | "extends", String)
        statements = tuple(c for c in rest if not isinstance(c, tuple))
        return ast.Policy(self._string(name), header.get("version"), header.get("extends"), statements,
                          span_of(meta))

    def version(self, meta, children):
        return ("version", self._string(children[0]))

    def extends(self, meta, children):
        return ("extends", self._string(children[0]))

    # ------------------------------------------------------------ statements

    def applies(self, meta, children):
        return ast.Applies(children[0], span_of(meta))

    def band(self, meta, children):
        kind, limit, where = children
        return ast.Band(_name(kind), limit, where, span_of(meta))

    def band_for(self, meta, children):
        return children[0]

    def trigger(self, meta, children):
        return ast.Trigger(children[0], span_of(meta))

    def rebalance(self, meta, children):
        return ast.Rebalance(_name(children[0]), span_of(meta))

    def realign(self, meta, children):
        return ast.Realign(children[0], span_of(meta))

    def cash_target(self, meta, children):
        target, minimum, maximum = children
        return ast.CashTarget(target, minimum, maximum, span_of(meta))

    def cash_min(self, meta, children):
        return children[0]

    cash_max = cash_min

    def min_trade(self, meta, children):
        return ast.MinTrade(children[-1], span_of(meta))

    def shares(self, meta, children):
        mode, decimals = children
        return ast.Shares(_name(mode), None if decimals is None else int(decimals), span_of(meta))

    def lots(self, meta, children):
        return ast.Lots(_name(children[0]), span_of(meta))

    def avoid_short_term(self, meta, children):
        return ast.AvoidShortTerm(children[0], span_of(meta))

    def gain_budget(self, meta, children):
        return ast.GainBudget(children[0], _name(children[1]), span_of(meta))

    def harvest_when(self, meta, children):
        return ast.Harvest(children[0], span_of(meta), swap_back=children[1] is not None)

    def harvest_never(self, meta, children):
        return ast.Harvest(None, span_of(meta))

    def wash_sale(self, meta, children):
        return ast.WashSale(children[0], _name(children[1]), span_of(meta))

    def substitute(self, meta, children):
        return ast.Substitute(children[0], children[1], span_of(meta))

    def identical(self, meta, children):
        return ast.Identical(children[0], span_of(meta))

    def restrict(self, meta, children):
        return ast.Restrict(_name(children[0]), children[1], span_of(meta))

    def rule(self, meta, children):
        name, condition, action = children
        return ast.Rule(name, condition, action, span_of(meta))

    def skip(self, meta, children):
        return ast.Skip(span_of(meta))

    def hold(self, meta, children):
        return ast.Hold(span_of(meta))

    def flag(self, meta, children):
        return ast.Flag(children[0], span_of(meta))

    def sell_to(self, meta, children):
        return ast.SellTo(children[0], span_of(meta))

    def require_approval(self, meta, children):
        return ast.RequireApproval(span_of(meta))

    def strings(self, meta, children):
        return tuple(children)

    # ------------------------------------------------------------ expressions

    def or_(self, meta, children):
        return ast.BoolOp("or", tuple(children), span_of(meta))

    def and_(self, meta, children):
        return ast.BoolOp("and", tuple(children), span_of(meta))

    def not_(self, meta, children):
        return ast.Not(children[0], span_of(meta))

    def compare(self, meta, children):
        left, op, right = children
        return ast.Compare(str(op), left, right, span_of(meta))

    def in_(self, meta, children):
        return ast.Compare("in", children[0], children[1], span_of(meta))

    def not_in(self, meta, children):
        return ast.Compare("not in", children[0], children[1], span_of(meta))

    def arith(self, meta, children):
        left, op, right = children
        return ast.Arith(str(op), left, right, span_of(meta))

    def neg(self, meta, children):
        return ast.Negate(children[0], span_of(meta))

    def true(self, meta, children):
        return ast.Bool(True, span_of(meta))

    def false(self, meta, children):
        return ast.Bool(False, span_of(meta))

    def list(self, meta, children):
        return ast.ListOf(tuple(c for c in children if c is not None), span_of(meta))

    def field(self, meta, children):
        grain, name = children
        return ast.Field(str(grain), str(name), _join(span_of(grain), span_of(name)))

    def call(self, meta, children):
        name, *args = children
        return ast.Call(str(name), tuple(a for a in args if a is not None), span_of(meta))

    def quantity(self, meta, children):
        number, unit = children
        return ast.Quantity(Decimal(str(number)), None if unit is None else str(unit), span_of(meta))

    def string(self, meta, children):
        return self._string(children[0])

    @staticmethod
    def _string(token) -> ast.String:
        if isinstance(token, ast.String):
            return token
        return ast.String(_ESCAPE.sub(r"\1", str(token)[1:-1]), span_of(token))
