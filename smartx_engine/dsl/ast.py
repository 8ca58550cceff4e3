"""The policy language's syntax tree: frozen attrs nodes, each with the source span it came from."""

from __future__ import annotations

from decimal import Decimal
from typing import Union

import attrs


@attrs.frozen
class Span:
    """Where a node is in its file: 1-based lines and columns, the end column exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


# ---------------------------------------------------------------- expressions


@attrs.frozen
class Quantity:
    """A number with an optional unit: ``%``, ``bps``, ``USD`` or ``days``."""

    value: Decimal
    unit: str | None
    span: Span


@attrs.frozen
class String:
    value: str
    span: Span


@attrs.frozen
class Bool:
    value: bool
    span: Span


@attrs.frozen
class ListOf:
    items: tuple[Expr, ...]
    span: Span


@attrs.frozen
class Field:
    """``grain.name``, e.g. ``holding.weight``."""

    grain: str
    name: str
    span: Span


@attrs.frozen
class Call:
    """A function call: an aggregate (``any``, ``sum`` ...) or a registered policy function."""

    name: str
    args: tuple[Expr, ...]
    span: Span


@attrs.frozen
class Negate:
    operand: Expr
    span: Span


@attrs.frozen
class Arith:
    op: str  # + - * /
    left: Expr
    right: Expr
    span: Span


@attrs.frozen
class Compare:
    op: str  # == != < <= > >= in "not in"
    left: Expr
    right: Expr
    span: Span


@attrs.frozen
class BoolOp:
    op: str  # and, or
    operands: tuple[Expr, ...]
    span: Span


@attrs.frozen
class Not:
    operand: Expr
    span: Span


Expr = Union[Quantity, String, Bool, ListOf, Field, Call, Negate, Arith, Compare, BoolOp, Not]


# ---------------------------------------------------------------- statements


@attrs.frozen
class Name:
    """A bare word that names an enumeration value (``HIFO``, ``absolute``, ``year``)."""

    value: str
    span: Span


@attrs.frozen
class Applies:
    condition: Expr
    span: Span


@attrs.frozen
class Band:
    kind: Name  # absolute | relative
    limit: Quantity
    where: Expr | None
    span: Span


@attrs.frozen
class Trigger:
    condition: Expr
    span: Span


@attrs.frozen
class Rebalance:
    mode: Name  # target | band
    span: Span


@attrs.frozen
class Realign:
    """``realign on model change [above Q]``: a new model version realigns the sleeve to target."""

    threshold: Quantity | None  # the largest weight move that must be exceeded; None: any change
    span: Span


@attrs.frozen
class CashTarget:
    target: Quantity
    minimum: Quantity | None
    maximum: Quantity | None
    span: Span


@attrs.frozen
class MinTrade:
    amount: Quantity
    span: Span


@attrs.frozen
class Shares:
    mode: Name  # whole | fractional
    decimals: int | None
    span: Span


@attrs.frozen
class Lots:
    method: Name
    span: Span


@attrs.frozen
class AvoidShortTerm:
    condition: Expr | None
    span: Span


@attrs.frozen
class GainBudget:
    amount: Quantity
    period: Name
    span: Span


@attrs.frozen
class Harvest:
    condition: Expr | None  # None: harvest never
    span: Span
    swap_back: bool = False  # buy the harvested security back once the wash-sale window is over


@attrs.frozen
class WashSale:
    window: Quantity
    scope: Name  # household | account
    span: Span


@attrs.frozen
class Substitute:
    symbol: String
    alternatives: tuple[String, ...]
    span: Span


@attrs.frozen
class Identical:
    symbols: tuple[String, ...]
    span: Span


@attrs.frozen
class Restrict:
    side: Name  # buy | sell
    symbols: tuple[String, ...]
    span: Span


@attrs.frozen
class Skip:
    span: Span


@attrs.frozen
class Hold:
    span: Span


@attrs.frozen
class Flag:
    message: String
    span: Span


@attrs.frozen
class SellTo:
    weight: Quantity
    span: Span


@attrs.frozen
class RequireApproval:
    span: Span


Action = Union[Skip, Hold, Flag, SellTo, RequireApproval]


@attrs.frozen
class Rule:
    name: String
    condition: Expr
    action: Action
    span: Span


Statement = Union[
    Applies, Band, Trigger, Rebalance, Realign, CashTarget, MinTrade, Shares, Lots, AvoidShortTerm, GainBudget,
    Harvest, WashSale, Substitute, Identical, Restrict, Rule,
]


# ---------------------------------------------------------------- files


@attrs.frozen
class Comment:
    text: str  # including the leading '#'
    line: int
    column: int


@attrs.frozen
class Policy:
    name: String
    version: String | None
    extends: String | None
    statements: tuple[Statement, ...]
    span: Span


@attrs.frozen
class PolicyFile:
    path: str
    source: str
    policies: tuple[Policy, ...]
    comments: tuple[Comment, ...]


def children(node: object) -> list[object]:
    """The nodes directly inside ``node`` (spans excluded)."""
    found = []
    for value in attrs.astuple(node, recurse=False):
        for child in value if isinstance(value, tuple) else (value,):
            if attrs.has(type(child)) and not isinstance(child, Span):
                found.append(child)
    return found


def walk(node: object):
    """``node`` and every node inside it, depth first."""
    yield node
    for child in children(node):
        yield from walk(child)
