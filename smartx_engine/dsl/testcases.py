"""The ``*.test.toml`` files of ``smartx policy test``: their format, read into checked cases.

Each ``[[case]]`` is a one-sleeve book and what the firm's policies should decide for it. The
runner loads (and so validates) every policy of the directory, builds each case's book with
:meth:`Book.assemble`, evaluates it with the :class:`PolicySet`, compares the ``[case.expect]``
table with what happened, and reports which bands, triggers and rules some passing case fired.

A file::

    as_of = 2026-11-20                      # default for every case
    [account]                               # defaults for every case's account
    registration = "taxable"                # also id, custodian, household, st_tax_rate, lt_tax_rate
    [securities]                            # asset class and price of every symbol used
    VTI = { asset_class = "us_equity", price = 100 }
    BND = { asset_class = "fixed_income", price = 100 }
    [models]                                # named models: symbol -> weight, "$CASH" included
    BAL = { VTI = 0.6, BND = 0.38, "$CASH" = 0.02 }

    [[case]]
    name = "equities rallied"
    assign = "balanced"                     # assign a policy by name (else `applies to` picks one)
    policy = "balanced"                     # the policy the sleeve must follow
    sleeve = { model = "BAL", cash = 2000 } # model: a name, "" for none, or inline weights; also id, and
                                            # model_changed = true: a newer model version since its last rebalance,
                                            # model_move = 0.01: its largest weight move (a fraction; default 0)
    holdings = [                            # symbol, quantity, optional cost, asset_class, price
      { symbol = "VTI", quantity = 700 },
      { symbol = "BND", quantity = 280 },
    ]
    lots = [                                # optional; a holding is then the sum of its lots
      { symbol = "VTI", quantity = 700, cost = 80000, acquired = 2024-03-01 },
    ]
    [case.expect]                           # every key optional; only the keys given are checked
    triggered = true
    out_of_band = { VTI = "absolute", BND = ["absolute", "relative"] }

Expectation keys (:data:`EXPECT_KEYS`): ``problem`` (part of the resolution problem when no
policy applies), ``triggered``, ``skipped``, ``require_approval``, ``cash`` (``below_min``,
``above_max`` or ``within``), ``out_of_band`` (symbol -> band kinds; the holdings not named must
be in band), ``triggers`` (fired trigger conditions), ``rules`` (fired rule names), ``flags``,
``hold`` (symbols), ``sell_to`` (symbol -> capped weight as a fraction), ``harvest`` and
``avoid_short_term`` (lot ids; a lot's id is ``id`` or ``SYMBOL-n``, n counting that symbol's
lots from 1). Lists are compared as sets, and exactly. New keys (such as expected ``trades``) are
added beside these, so files written today keep their meaning.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from ..book import Book
from ..domain import CASH_SYMBOL, parse_date, Registration, identifier, lower_name, security_symbol
from ..errors import Diagnostic, PolicyError, did_you_mean, toml_diagnostic
from . import ast, fmt
from .parser import parse
from .policyset import PolicySet

TEST_GLOB = "*.test.toml"
FILE_KEYS = ("as_of", "account", "securities", "models", "case")
CASE_KEYS = ("name", "policy", "assign", "as_of", "account", "sleeve", "holdings", "lots", "expect")
ACCOUNT_DEFAULTS = {"id": "A-TEST", "registration": "taxable", "custodian": "schwab", "household": "HH-TEST",
                    "st_tax_rate": 0.37, "lt_tax_rate": 0.20}
SLEEVE_KEYS = ("id", "model", "model_id", "cash", "model_changed", "model_move")
SECURITY_KEYS = ("asset_class", "price")
HOLDING_KEYS = ("symbol", "quantity", "cost", "asset_class", "price")
LOT_KEYS = ("id", "symbol", "quantity", "cost", "acquired")
EXPECT_KEYS = ("problem", "triggered", "skipped", "require_approval", "cash", "out_of_band", "triggers", "rules",
               "flags", "hold", "sell_to", "harvest", "avoid_short_term")
#: expectation keys kept for what the engine cannot decide yet
RESERVED = {"trades": "expected trades come with the rebalancer; this engine checks policy decisions only"}
CASH_STATES = ("below_min", "above_max", "within")
BAND_KINDS = ("absolute", "relative")
TOLERANCE = 1e-6  # for sums of weights, lots against holdings, and capped weights


class _Invalid(Exception):
    """A problem in a test file, turned into a located diagnostic by the loader."""


# ---------------------------------------------------------------- reading TOML values


class _Table:
    """A TOML table read key by key: unknown keys and wrong types are errors naming the key."""

    def __init__(self, data: Any, where: str, allowed: Iterable[str]):
        if not isinstance(data, dict):
            raise _Invalid(f"`{where}` must be a table, not {_kind(data)}")
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            key = unknown[0]
            hint = RESERVED.get(key) or did_you_mean(key, allowed) or "allowed: " + ", ".join(allowed)
            raise _Invalid(f"unknown key `{_join(where, key)}` ({hint})")
        self.data, self.where = data, where

    def get(self, key: str, check: Callable[[Any, str], Any], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise _Invalid(f"`{_join(self.where, key)}` is missing")
            return default
        return check(self.data[key], _join(self.where, key))


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array",
            dict: "a table", dt.date: "a date"}.get(type(value), type(value).__name__)


def _any(value: Any, where: str) -> Any:
    return value


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise _Invalid(f"`{where}` must be a table, not {_kind(value)}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"`{where}` must be a string, not {_kind(value)}")
    return value


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"`{where}` must be true or false, not {_kind(value)}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Invalid(f"`{where}` must be a number, not {_kind(value)}")
    if value < 0:
        raise _Invalid(f"`{where}` cannot be negative")
    return float(value)


def _fraction(value: Any, where: str) -> float:
    number = _number(value, where)
    if number > 1:
        raise _Invalid(f"`{where}` is a fraction from 0 to 1 (write 0.1 for 10%), not {value}")
    return number


def _date(value: Any, where: str) -> dt.date:
    if type(value) is dt.date:
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return parse_date(value)
    raise _Invalid(f"`{where}` must be a date (2026-11-20), not {value!r}")


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        raise _Invalid(f"`{where}` must be an array of strings, not {_kind(value)}")
    return [_string(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _tables(value: Any, where: str) -> list[dict]:
    if not isinstance(value, list):
        raise _Invalid(f"`{where}` must be an array of tables, not {_kind(value)}")
    return value


def _symbol(value: Any, where: str) -> str:
    try:
        return security_symbol(_string(value, where))
    except ValueError as exc:
        raise _Invalid(f"`{where}`: {exc}") from None


def _checked(check: Callable[[str], str]) -> Callable[[Any, str], str]:
    def read(value: Any, where: str) -> str:
        try:
            return check(_string(value, where))
        except ValueError as exc:
            raise _Invalid(f"`{where}`: {exc}") from None
    return read


def _registration(value: Any, where: str) -> str:
    text = _string(value, where)
    allowed = [r.value for r in Registration]
    if text not in allowed:
        hint = did_you_mean(text, allowed) or "one of: " + ", ".join(allowed)
        raise _Invalid(f"`{where}`: unknown registration {text!r} ({hint})")
    return text


# ---------------------------------------------------------------- cases


@attrs.frozen
class Case:
    """One test: a one-sleeve book, the policy it should follow, and what that policy should decide."""

    file: str
    line: int | None
    name: str
    policy: str | None   # the expected policy; None: not checked
    book: Book
    expect: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@attrs.frozen
class _FileContext:
    """What a test file gives every case: defaults, securities, models and the policy set."""

    as_of: dt.date | None
    account: dict[str, Any]
    securities: dict[str, tuple[str, float]]
    models: dict[str, dict[str, float]]
    policies: PolicySet


def load_cases(path: Path, policies: PolicySet) -> list[Case]:
    """The cases of one test file; raises PolicyError locating every bad case."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read the test file ({exc})") from None
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML", [toml_diagnostic(str(path), source, exc)]) from None
    try:
        top = _Table(data, "", FILE_KEYS)
        context = _FileContext(
            as_of=top.get("as_of", _date, None),
            account=_account(ACCOUNT_DEFAULTS, top.get("account", _any, {}), "account"),
            securities={_symbol(s, f"securities.{s}"): _security(spec, f"securities.{s}")
                        for s, spec in top.get("securities", _mapping, {}).items()},
            models={name: _weights(weights, f"models.{name}")
                    for name, weights in top.get("models", _mapping, {}).items()},
            policies=policies,
        )
        raw_cases = top.get("case", _tables)
    except _Invalid as exc:
        raise PolicyError(f"{path}: bad test file", [Diagnostic(str(path), _key_line(source, str(exc)), None,
                                                                str(exc))]) from None
    lines = _case_lines(source, len(raw_cases))
    cases, diagnostics = [], []
    for number, raw in enumerate(raw_cases):
        name = raw.get("name") if isinstance(raw, dict) and isinstance(raw.get("name"), str) else f"#{number + 1}"
        try:
            cases.append(_case(raw, context, str(path), lines[number]))
        except _Invalid as exc:
            diagnostics.append(Diagnostic(str(path), lines[number] or 1, None, f"case {name!r}: {exc}"))
    if diagnostics:
        raise PolicyError(f"{path}: {len(diagnostics)} bad case{'s' * (len(diagnostics) > 1)}", diagnostics)
    return cases


def _key_line(source: str, message: str) -> int:
    """The first line that writes the key a message names in backticks (``models.M``), else 1."""
    named = re.search(r"`([^`]+)`", message)
    key = re.escape(named.group(1).split(".")[-1]) if named else None
    for number, text in enumerate(source.splitlines(), 1):
        if key and re.match(rf'\s*(\[+[^\]]*)?"?{key}"?\s*(=|\])', text):
            return number
    return 1


def _case_lines(source: str, count: int) -> list[int | None]:
    """The line of each ``[[case]]`` header (None for all when cases are written another way)."""
    lines = [n for n, text in enumerate(source.splitlines(), 1) if re.match(r"\s*\[\[\s*case\s*\]\]", text)]
    return lines if len(lines) == count else [None] * count


def _account(base: dict[str, Any], data: Any, where: str) -> dict[str, Any]:
    table = _Table(data, where, ACCOUNT_DEFAULTS)
    readers = {"id": _checked(identifier), "registration": _registration, "custodian": _string,
               "household": _string, "st_tax_rate": _fraction, "lt_tax_rate": _fraction}
    return {**base, **{key: table.get(key, readers[key]) for key in table.data}}


def _security(data: Any, where: str) -> tuple[str, float]:
    table = _Table(data, where, SECURITY_KEYS)
    return table.get("asset_class", _checked(lower_name)), _price(table.get("price", _number), where)


def _price(value: float, where: str) -> float:
    if value <= 0:
        raise _Invalid(f"`{where}.price` must be above 0")
    return value


def _weights(data: Any, where: str) -> dict[str, float]:
    if not isinstance(data, dict):
        raise _Invalid(f"`{where}` must be a table of symbol = weight, not {_kind(data)}")
    weights = {}
    for symbol, weight in data.items():
        key = symbol if symbol == CASH_SYMBOL else _symbol(symbol, f"{where}.{symbol}")
        weights[key] = _fraction(weight, f"{where}.{symbol}")
    total = sum(weights.values())
    if abs(total - 1) > TOLERANCE:
        raise _Invalid(f"the weights of `{where}` sum to {total:g}, not 1 (cash is \"$CASH\")")
    return weights


def _case(data: Any, context: _FileContext, path: str, line: int | None) -> Case:
    """One ``[[case]]`` table: its book, built with :meth:`Book.assemble`, and its expectations."""
    table = _Table(data, "", CASE_KEYS)
    name = table.get("name", _string)
    names = context.policies.names
    policy = table.get("policy", _policy_name(names), None)
    assign = table.get("assign", _policy_name(names), None)
    as_of = table.get("as_of", _date, context.as_of)
    if as_of is None:
        raise _Invalid("`as_of` is missing (give it in the case or at the top of the file)")
    account = _account(context.account, table.get("account", _any, {}), "account")
    sleeve = _Table(table.get("sleeve", _any, {}), "sleeve", SLEEVE_KEYS)
    model_id, weights = _model(sleeve, context.models)
    securities = dict(context.securities)
    positions = _holdings(table.get("holdings", _tables, []), securities)
    lots = _lots(table.get("lots", _tables, []), positions)
    unknown = sorted(set(weights) - {CASH_SYMBOL} - set(securities))
    if unknown:
        raise _Invalid(f"model {model_id!r} holds {unknown[0]}, whose asset class and price are unknown "
                       "(add it under [securities])")
    sleeve_id = sleeve.get("id", _checked(identifier), "S-TEST")
    model_changed = sleeve.get("model_changed", _boolean, False)
    if model_changed and not model_id:
        raise _Invalid("`sleeve.model_changed` needs a model: a sleeve without one has no model version")
    model_move = sleeve.get("model_move", _fraction, 0.0)
    if model_move and not model_changed:
        raise _Invalid("`sleeve.model_move` needs `model_changed = true`: the move is the model change's")
    symbols = sorted(set(positions) | set(weights) - {CASH_SYMBOL})
    book = Book.assemble(
        as_of=as_of,
        securities=[(s, *securities[s]) for s in symbols],
        accounts=[(account["id"], account["registration"], account["custodian"], account["household"],
                   account["st_tax_rate"], account["lt_tax_rate"])],
        sleeves=[(sleeve_id, account["id"], model_id, assign, sleeve.get("cash", _number, 0.0))],
        models={model_id: weights} if model_id else {},
        positions=[(sleeve_id, s, q, q * securities[s][1] if c is None else c) for s, (q, c) in positions.items()],
        lots=[(lot_id, sleeve_id, s, q, c, acquired) for lot_id, s, q, c, acquired in lots],
        model_changes={sleeve_id: (f"{model_id} (before) → (now)", model_move)} if model_changed else None,
    )
    expect = _expect(table.get("expect", _any, {}), context.policies, symbols, {lot[0] for lot in lots})
    if policy is None and not expect:
        raise _Invalid("nothing to check: give `policy` or a [case.expect] table")
    return Case(path, line, name, policy, book, expect)


def _policy_name(names: tuple[str, ...]) -> Callable[[Any, str], str]:
    def read(value: Any, where: str) -> str:
        text = _string(value, where)
        if text not in names:
            raise _Invalid(f"`{where}`: no policy {text!r} in the rules "
                           f"({did_you_mean(text, names) or 'policies: ' + ', '.join(names)})")
        return text
    return read


def _model(sleeve: _Table, models: dict[str, dict[str, float]]) -> tuple[str | None, dict[str, float]]:
    """The sleeve's model id and weights: a named model, inline weights, or none."""
    model = sleeve.data.get("model", "")
    if isinstance(model, dict):
        return sleeve.get("model_id", _checked(identifier), "CUSTOM"), _weights(model, "sleeve.model")
    if "model_id" in sleeve.data:
        raise _Invalid("`sleeve.model_id` names inline weights; with a named model, leave it out")
    name = sleeve.get("model", _string, "")
    if not name:
        return None, {}
    if name not in models:
        raise _Invalid(f"`sleeve.model`: no model {name!r} under [models] "
                       f"({did_you_mean(name, models) or 'or give its weights inline'})")
    return name, models[name]


def _holdings(rows: list, securities: dict[str, tuple[str, float]]) -> dict[str, list[float | None]]:
    """symbol -> [quantity, cost] (None where the lots will say); registers inline securities."""
    positions: dict[str, list[float | None]] = {}
    for i, row in enumerate(rows):
        where = f"holdings[{i}]"
        table = _Table(row, where, HOLDING_KEYS)
        symbol = table.get("symbol", _symbol)
        if symbol in positions:
            raise _Invalid(f"`{where}`: {symbol} is held twice; one holding per symbol (its lots go under `lots`)")
        known = securities.get(symbol)
        asset_class = table.get("asset_class", _checked(lower_name), known[0] if known else None)
        price = table.get("price", _number, known[1] if known else None)
        if asset_class is None or price is None:
            missing = " and ".join(k for k, v in (("asset_class", asset_class), ("price", price)) if v is None)
            raise _Invalid(f"`{where}`: unknown symbol {symbol}: give its {missing} here or under [securities]")
        securities[symbol] = (asset_class, _price(price, where))
        positions[symbol] = [table.get("quantity", _number, None), table.get("cost", _number, None)]
    return positions


def _lots(rows: list, positions: dict[str, list[float | None]]) -> list[tuple[str, str, float, float, dt.date]]:
    """The lots, with the holdings' quantity and cost filled in from them (and checked against them)."""
    lots, counts, ids = [], dict.fromkeys(positions, 0), set()
    for i, row in enumerate(rows):
        where = f"lots[{i}]"
        table = _Table(row, where, LOT_KEYS)
        symbol = table.get("symbol", _symbol)
        if symbol not in positions:
            raise _Invalid(f"`{where}`: a lot of {symbol}, which is not among the holdings")
        counts[symbol] += 1
        lot_id = table.get("id", _checked(identifier), f"{symbol}-{counts[symbol]}")
        if lot_id in ids:
            raise _Invalid(f"`{where}`: lot id {lot_id!r} is used twice")
        ids.add(lot_id)
        lots.append((lot_id, symbol, table.get("quantity", _number), table.get("cost", _number),
                     table.get("acquired", _date)))
    for symbol, position in positions.items():
        mine = [lot for lot in lots if lot[1] == symbol]
        for index, what in ((0, "quantity"), (1, "cost")):
            total = sum(lot[2 + index] for lot in mine)
            if mine and position[index] is not None and abs(position[index] - total) > TOLERANCE:
                raise _Invalid(f"holding {symbol} has {what} {position[index]:g} but its lots sum to {total:g} "
                               f"(leave the holding's {what} out to take the lots' sum)")
            if mine:
                position[index] = total
        if position[0] is None:
            raise _Invalid(f"holding {symbol} has no quantity (give `quantity` or its lots)")
    return lots


# ---------------------------------------------------------------- expectations


def _expect(data: Any, policies: PolicySet, symbols: list[str], lot_ids: set[str]) -> dict[str, Any]:
    """The expectations, normalised for comparison; names, symbols and lots checked against what exists."""
    table = _Table(data, "expect", EXPECT_KEYS)
    statements = _statements_of(policies)
    readers: dict[str, Callable[[Any, str], Any]] = {
        "problem": _string, "triggered": _boolean, "skipped": _boolean, "require_approval": _boolean,
        "cash": _one_of(CASH_STATES),
        "out_of_band": _symbol_table(symbols, _band_kinds),
        "triggers": _known_set(_trigger_text, {fmt.expr(s.condition) for s in statements[ast.Trigger]},
                               "the condition of a trigger"),
        "rules": _known_set(_any, {s.name.value for s in statements[ast.Rule]}, "the name of a rule"),
        "flags": _known_set(_any, {s.action.message.value for s in statements[ast.Rule]
                                   if isinstance(s.action, ast.Flag)}, "the message of a flag rule"),
        "hold": _known_set(_any, set(symbols), "a symbol of this case"),
        "sell_to": _symbol_table(symbols, _fraction),
        "harvest": _known_set(_any, lot_ids, "a lot of this case"),
        "avoid_short_term": _known_set(_any, lot_ids, "a lot of this case"),
    }
    return {key: table.get(key, readers[key]) for key in EXPECT_KEYS if key in table.data}


def _statements_of(policies: PolicySet) -> dict[type, list[ast.Statement]]:
    found: dict[type, list[ast.Statement]] = {ast.Trigger: [], ast.Rule: []}
    for compiled in policies.compiled.values():
        for kind in found:
            found[kind] += compiled.resolved.all(kind)
    return found


def _one_of(allowed: tuple[str, ...]) -> Callable[[Any, str], str]:
    def read(value: Any, where: str) -> str:
        text = _string(value, where)
        if text not in allowed:
            raise _Invalid(f"`{where}` is one of {', '.join(allowed)}, not {text!r}")
        return text
    return read


def _band_kinds(value: Any, where: str) -> frozenset[str]:
    kinds = [value] if isinstance(value, str) else _strings(value, where)
    for kind in kinds:
        _one_of(BAND_KINDS)(kind, where)
    return frozenset(kinds)


def _symbol_table(symbols: list[str], read: Callable[[Any, str], Any]) -> Callable[[Any, str], dict[str, Any]]:
    def table(value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _Invalid(f"`{where}` must be a table of symbol = value, not {_kind(value)}")
        for symbol in value:
            if symbol not in symbols:
                raise _Invalid(f"`{where}.{symbol}`: {symbol} is neither held nor in the model of this case")
        return {symbol: read(item, f"{where}.{symbol}") for symbol, item in value.items()}
    return table


def _known_set(read: Callable[[Any, str], str], known: set[str], what: str) -> Callable[[Any, str], frozenset[str]]:
    def items(value: Any, where: str) -> frozenset[str]:
        found = []
        for i, item in enumerate(_strings(value, where)):
            text = read(item, f"{where}[{i}]")
            if text not in known:
                hint = did_you_mean(text, known) or (f"known: {', '.join(sorted(known))}" if known else "there is none")
                raise _Invalid(f"`{where}[{i}]`: {text!r} is not {what} ({hint})")
            found.append(text)
        return frozenset(found)
    return items


def _trigger_text(value: str, where: str) -> str:
    """A trigger condition in canonical form; ``trigger when`` in front is optional."""
    condition = value.strip().removeprefix("trigger when ").strip()
    try:
        statements = [s for p in parse(f'policy "t" {{\n  trigger when {condition}\n}}\n', where).policies
                      for s in p.statements]
    except PolicyError as exc:
        raise _Invalid(f"`{where}`: {condition!r} is not a condition ({exc.diagnostics[0].message})") from None
    if len(statements) != 1 or not isinstance(statements[0], ast.Trigger):
        raise _Invalid(f"`{where}`: {condition!r} is not one condition")
    return fmt.expr(statements[0].condition)


# ---------------------------------------------------------------- running
