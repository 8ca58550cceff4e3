"""Property tests of the policy language front end, with hypothesis.

(a) Arbitrary text and (b) mutated valid policies (characters and tokens of rules/*.policy and
of the examples in docs/policy-language.md deleted, duplicated, swapped or replaced) given to
parse + validate raise nothing but ``PolicyError``, and every diagnostic is located inside the
source (line >= 1, column >= 1, at most one past the end of its line) and names no
grammar-internal terminal.

(c) The formatter, on generated policies (random statements with random, fully parenthesised
expressions; random spacing, line breaks, comments and blank lines between the tokens):
``format(parse(x))`` parses, is idempotent, keeps every comment in order, and keeps the meaning:
the AST of the formatted text equals the original's, spans aside (``same_tree``), up to one
known rewrite: ``fmt`` flattens nested ``and``/``or`` of the same operator (see
``test_fmt_keeps_the_specificity_of_a_band`` below).

The last section pins what the fuzzing found: regression tests for the bugs fixed since, and
strict xfails for those still open (each will pass once fixed, and so fail the suite as a
reminder to drop its mark).

Each property runs 200 examples without a deadline; ``SMARTX_FUZZ_EXAMPLES=5000`` searches
harder.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartx_engine.dsl import ast
from smartx_engine.dsl.compile import _specificity
from smartx_engine.dsl.fmt import format_file
from smartx_engine.dsl.parser import _terminal_literals, parse
from smartx_engine.dsl.schema import AGGREGATES, FIELDS, LOT_METHODS
from smartx_engine.dsl.validate import validate
from smartx_engine.errors import PolicyError

from .test_diagnostics import leaks
from .test_docs_examples import BLOCKS, as_file

#: every property of this module; SMARTX_FUZZ_EXAMPLES=5000 searches harder
FUZZ = settings(max_examples=int(os.environ.get("SMARTX_FUZZ_EXAMPLES", "200")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

RULES = sorted((Path(__file__).parents[2] / "rules").glob("*.policy"))
CORPUS = [path.read_text() for path in RULES] + [
    as_file(b.text) for b in BLOCKS if b.info in ("policy", "policy-error", "policy-warning")]


# ---------------------------------------------------------------- (a) and (b): only PolicyError


def diagnose(source: str) -> None:
    """Parse and validate; every diagnostic must be located inside ``source``. Text that parses
    must also survive the formatter (see ``round_trip``)."""
    try:
        parsed = parse(source, "fuzz.policy")
    except PolicyError as exc:
        found = exc.diagnostics
        assert found, "a syntax error without a diagnostic"
    else:
        found = validate([parsed]).diagnostics
        round_trip(parsed)
    lines = source.split("\n")
    for d in found:
        where = f"{d.line}:{d.column} {d.message}"
        assert 1 <= d.line <= len(lines), where
        assert d.column is not None and 1 <= d.column <= len(lines[d.line - 1]) + 1, where
        assert d.severity in ("error", "warning")
        assert not leaks(f"{d.message} {d.hint or ''}"), where
        d.render()


VOCABULARY = [
    "policy", '"p"', '"q"', "version", '"1"', "extends", "{", "}", "applies", "to", "drift", "band", "absolute",
    "relative", "for", "trigger", "when", "rebalance", "target", "cash", "min", "max", "trade", "shares",
    "whole", "fractional", "lots", "HIFO", "avoid", "short", "term", "gains", "gain", "budget", "per", "year",
    "harvest", "never", "wash", "sale", "window", "across", "household", "substitute", "with", "identical",
    "restrict", "buy", "sell", "rule", "then", "skip", "hold", "flag", "require", "approval", "and", "or",
    "not", "in", "true", "false", "(", ")", "[", "]", ",", ".", "-", "+", "*", "/", "==", "!=", "<", "<=",
    ">", ">=", "%", "bps", "USD", "days", "0", "5", "2.5", "30", "100000", "holding", "sleeve", "lot",
    "account", "today", "weight", "cash_weight", "loss", "any", "count", "sum", "abs", '"VTI"', '"a\\"b"',
    "# comment\n", "\n", "'", "=", "&&", ";", "\t", "\f", "\r\n", "é", '"unterminated', "\\",
]


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_policy_errors(text: str):
    diagnose(text)


@FUZZ
@given(st.lists(st.sampled_from(VOCABULARY), max_size=60), st.lists(st.sampled_from([" ", "", "\n", "  "]),
                                                                     min_size=60, max_size=60))
def test_token_soup_raises_only_policy_errors(tokens: list[str], separators: list[str]):
    diagnose("".join(t + s for t, s in zip(tokens, separators)))


TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[<>=!]=|\s+|.', re.DOTALL)


def tokens(source: str) -> list[str]:
    return TOKEN.findall(source)


@st.composite
def mutated(draw, unit: str) -> str:
    """A corpus policy with a few edits, on characters or on tokens."""
    source = draw(st.sampled_from(CORPUS))
    pieces = list(source) if unit == "char" else tokens(source)
    for _ in range(draw(st.integers(1, 4))):
        if not pieces:
            break
        i = draw(st.integers(0, len(pieces) - 1))
        j = draw(st.integers(0, len(pieces) - 1))
        n = draw(st.integers(1, 3))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "insert"]))
        if kind == "delete":
            del pieces[i:i + n]
        elif kind == "duplicate":
            pieces[i:i] = pieces[j:j + n]
        elif kind == "swap":
            pieces[i], pieces[j] = pieces[j], pieces[i]
        else:
            new = draw(st.sampled_from(VOCABULARY) if unit == "token" else st.characters())
            pieces[i:i + (kind == "replace")] = [new]
    return "".join(pieces)


@FUZZ
@given(mutated("char"))
def test_mutated_characters_raise_only_policy_errors(source: str):
    diagnose(source)


@FUZZ
@given(mutated("token"))
def test_mutated_tokens_raise_only_policy_errors(source: str):
    diagnose(source)


def test_the_corpus_is_valid_policy_text():
    assert len(CORPUS) > 40
    for source in CORPUS:
        diagnose(source)


# ---------------------------------------------------------------- (c) the formatter


def plain(node):
    """``node`` as nested tuples, without spans, file paths, sources or comments."""
    if isinstance(node, tuple):
        return tuple(plain(item) for item in node)
    if attrs.has(type(node)) and not isinstance(node, ast.Span):
        return (type(node).__name__, *((f.name, plain(getattr(node, f.name))) for f in attrs.fields(type(node))
                                       if f.name not in ("span", "path", "source", "comments")))
    return node


def flatten(node):
    """``a and (b and c)`` as ``a and b and c``: the one rewrite fmt makes to a tree."""
    if isinstance(node, tuple):
        return tuple(flatten(item) for item in node)
    if isinstance(node, ast.BoolOp):
        operands = []
        for operand in node.operands:
            operand = flatten(operand)
            operands += operand.operands if isinstance(operand, ast.BoolOp) and operand.op == node.op else [operand]
        return attrs.evolve(node, operands=tuple(operands))
    if attrs.has(type(node)) and not isinstance(node, ast.Span):
        return attrs.evolve(node, **{f.name.lstrip("_"): flatten(getattr(node, f.name))
                                     for f in attrs.fields(type(node)) if f.name != "span"})
    return node


def same_tree(a: ast.PolicyFile, b: ast.PolicyFile) -> bool:
    return plain(flatten(a.policies)) == plain(flatten(b.policies))


KEYWORDS = {literal for literal in _terminal_literals().values() if literal.isalpha()} | {"bps", "USD", "days"}
NAMES = st.from_regex(r"\A[a-z][a-z0-9_]{0,8}\Z").filter(lambda n: n not in KEYWORDS)
SEPARATOR = st.sampled_from([" ", " ", " ", "  ", "\n    ", "\t", " # a note\n  ", ' # "quoted" #2\n'])


@st.composite
def numbers(draw) -> str:
    whole = str(draw(st.integers(0, 10**7)))
    # At most 6 decimals: str(Decimal("0.0000001")) is "1E-7" (see test_fmt_writes_small_numbers_in_full)
    fraction = draw(st.one_of(st.just(""), st.from_regex(r"\A\.[0-9]{1,6}\Z")))
    return whole + fraction


def quantity(unit=None):
    units = st.sampled_from(["%", " %", "bps", " bps", "USD", " USD", "days", ""]) if unit is None else st.just(unit)
    return st.builds(lambda n, u: [n + u], numbers(), units)


STRINGS = st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=12).map(
    lambda s: ['"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'])
FIELD = st.one_of(st.sampled_from(sorted(FIELDS)), st.tuples(NAMES, NAMES)).map(lambda f: [f[0], ".", f[1]])
LEAF = st.one_of(quantity(), STRINGS, st.sampled_from([["true"], ["false"]]), FIELD)


def paren(tokens_: list[str]) -> list[str]:
    return tokens_ if len(tokens_) == 1 else ["(", *tokens_, ")"]


def joined(parts: list[list[str]], separator: str) -> list[str]:
    return [token for i, part in enumerate(parts) for token in ([separator] if i else []) + part]


def _composite(children):
    two = st.tuples(children, children)
    return st.one_of(
        children.map(lambda e: ["(", *e, ")"]),
        children.map(lambda e: ["-", *paren(e)]),
        children.map(lambda e: ["not", *paren(e)]),
        st.builds(lambda ab, op: [*paren(ab[0]), op, *paren(ab[1])], two, st.sampled_from(["+", "-", "*", "/"])),
        st.builds(lambda ab, op: [*paren(ab[0]), *op.split(), *paren(ab[1])], two,
                  st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in"])),
        st.builds(lambda items, op: joined([paren(item) for item in items], op),
                  st.lists(children, min_size=2, max_size=4), st.sampled_from(["and", "or"])),
        st.builds(lambda name, args: [name, "(", *joined(args, ","), ")"],
                  st.one_of(st.sampled_from([*AGGREGATES, "abs"]), NAMES), st.lists(children, max_size=3)),
        st.lists(st.one_of(quantity(), STRINGS), max_size=4).map(lambda items: ["[", *joined(items, ","), "]"]),
    )


EXPR = st.recursive(LEAF, _composite, max_leaves=12)
ENUM = st.one_of(st.sampled_from([*LOT_METHODS, "absolute", "relative", "target", "band", "whole", "year",
                                  "household", "buy", "sell"]), NAMES)
SYMBOLS = st.lists(st.sampled_from(['"VTI"', '"ITOT"', '"BRK.B"', '"x"']), min_size=1, max_size=3).map(
    lambda items: joined([[s] for s in items], ","))
ACTION = st.one_of(st.sampled_from([["skip"], ["hold"], ["require", "approval"]]),
                   STRINGS.map(lambda s: ["flag", *s]), quantity("%").map(lambda q: ["sell", "to", *q]))

STATEMENT = st.one_of(
    EXPR.map(lambda e: ["applies", "to", *e]),
    st.builds(lambda kind, q, where: ["drift", "band", kind, *q, *(["for", *where] if where else [])],
              ENUM, quantity(), st.one_of(st.none(), EXPR)),
    EXPR.map(lambda e: ["trigger", "when", *e]),
    ENUM.map(lambda mode: ["rebalance", "to", mode]),
    st.builds(lambda t, lo, hi: ["target", "cash", *t, *(["min", *lo] if lo else []), *(["max", *hi] if hi else [])],
              quantity(), st.one_of(st.none(), quantity()), st.one_of(st.none(), quantity())),
    quantity().map(lambda q: ["min trade", *q]),  # one token (see test_min_trade_may_span_lines)
    st.builds(lambda mode, n: ["shares", mode, *([str(n)] if n is not None else [])],
              ENUM, st.one_of(st.none(), st.integers(0, 99))),
    ENUM.map(lambda m: ["lots", m]),
    st.one_of(st.none(), EXPR).map(lambda e: ["avoid", "short", "term", "gains", *(["when", *e] if e else [])]),
    st.builds(lambda q, p: ["gain", "budget", *q, "per", p], quantity(), ENUM),
    st.one_of(st.just(["harvest", "never"]), EXPR.map(lambda e: ["harvest", "when", *e])),
    st.builds(lambda q, s: ["wash", "sale", "window", *q, "across", s], quantity(), ENUM),
    st.builds(lambda s, alts: ["substitute", *s, "with", *alts], STRINGS, SYMBOLS),
    SYMBOLS.map(lambda s: ["identical", *s]),
    st.builds(lambda side, s: ["restrict", side, *s], ENUM, SYMBOLS),
    st.builds(lambda name, e, a: ["rule", *name, "when", *e, "then", *a], STRINGS, EXPR, ACTION),
)


@st.composite
def policy_files(draw) -> str:
    out = [draw(st.sampled_from(["", "# file comment\n", "\n\n# a\n\n# b\n"]))]

    def emit(tokens_: list[str]) -> None:
        for token in tokens_:
            out.append(token + draw(SEPARATOR))

    count = draw(st.integers(1, 3))
    for number in range(count):
        header = ["policy", f'"p{number}"']
        if draw(st.booleans()):
            header += ["version", draw(STRINGS)[0]]
        if number and draw(st.booleans()):
            header += ["extends", f'"p{number - 1}"']
        emit([*header, "{"])
        for statement in draw(st.lists(STATEMENT, max_size=6)):
            emit(statement)
            out.append(draw(st.sampled_from(["\n  ", "\n\n  ", "  # trailing\n  ", "\n  # own line\n  ", " "])))
        emit(["}"])
        endings = ["\n", "\n\n", "  # after\n", "\n# between\n\n", ""] + ["  # last"] * (number == count - 1)
        out.append(draw(st.sampled_from(endings)))
    return "".join(out)


def comments_in_order(original: ast.PolicyFile, formatted: str) -> bool:
    position = 0
    for comment in original.comments:
        position = formatted.find(comment.text, position)
        if position < 0:
            return False
        position += len(comment.text)
    return True


def round_trip(original: ast.PolicyFile) -> None:
    formatted = format_file(original)
    again = parse(formatted, "gen.policy")
    assert format_file(again) == formatted, "not idempotent"
    assert same_tree(original, again), "the formatted text means something else"
    assert comments_in_order(original, formatted), "a comment was lost or moved out of order"
    assert len(again.comments) <= len(original.comments)


@FUZZ
@given(policy_files())
def test_fmt_round_trips(source: str):
    round_trip(parse(source, "gen.policy"))


def test_fmt_round_trips_the_corpus():
    for text in CORPUS:
        try:
            original = parse(text)
        except PolicyError:
            continue
        formatted = format_file(original)
        assert same_tree(original, parse(formatted)) and format_file(parse(formatted)) == formatted


def test_same_tree_sees_a_changed_meaning():
    a = parse('policy "p" {\n  trigger when (1 - 2) - 3 > 0\n}\n')
    b = parse('policy "p" {\n  trigger when 1 - (2 - 3) > 0\n}\n')
    c = parse('policy "p" {  # a comment\n  trigger when ((1 - 2)) - 3 > 0\n}\n')
    assert not same_tree(a, b) and same_tree(a, c)
    nested = parse('policy "p" {\n  trigger when true and (false and true)\n}\n')
    flat = parse('policy "p" {\n  trigger when true and false and true\n}\n')
    assert plain(nested.policies) != plain(flat.policies) and same_tree(nested, flat)


# ---------------------------------------------------------------- bugs found, pinned


def test_fmt_writes_small_numbers_in_full():
    """Was: fmt.quantity wrote str(Decimal), so 0.0000001 became 1E-7, which does not parse."""
    source = 'policy "p" {\n  drift band absolute 0.0000001%\n  trigger when sleeve.cash > 0.00000000 USD\n}\n'
    parse(format_file(parse(source)))


def test_fmt_keeps_the_specificity_of_a_band():
    """Was: fmt flattens `(a and b) and c` and _specificity counted top-level operands only."""
    source = ('policy "p" {\n  drift band absolute 1% for (holding.weight > 1% and holding.target > 1%) '
              'and holding.in_model\n}\n')
    band = parse(source).policies[0].statements[0]
    formatted = parse(format_file(parse(source))).policies[0].statements[0]
    assert _specificity(band.where) == _specificity(formatted.where)


def test_min_trade_may_follow_target_cash():
    """Was: after `target cash X`, LALR(1) shifted `min` as the cash minimum."""
    statements = parse('policy "p" {\n  target cash 2%\n  min trade 250 USD\n}\n').policies[0].statements
    assert [type(s) for s in statements] == [ast.CashTarget, ast.MinTrade]


def test_min_trade_is_written_on_one_line():
    """`min trade` is one token (so `min` after `target cash` stays the minimum): split, it is an error."""
    with pytest.raises(PolicyError) as info:
        parse('policy "p" {\n  min  # the smallest\n    trade 250 USD\n}\n')
    assert info.value.diagnostics[0].hint == "did you mean `min trade`?"


def test_a_validation_snippet_is_the_line_of_the_diagnostic():
    """Was: the snippet came from source.splitlines(), which also splits at form feeds."""
    source = 'policy "p" {\f\n  lots HIFI\n}\n'
    (diagnostic,) = validate([parse(source)]).diagnostics
    assert diagnostic.snippet == source.split("\n")[diagnostic.line - 1]


def test_a_syntax_error_at_the_end_points_after_the_last_token():
    """Was: the line of the last line of the file with the column of the last token's line."""
    with pytest.raises(PolicyError) as caught:
        parse('policy "p" {\n  harvest never\n\n# no closing brace\n')
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.line, diagnostic.column, diagnostic.snippet) == (2, 16, "  harvest never")


def test_numbers_keep_their_value_through_fmt():
    source = 'policy "p" {\n  min trade 0250.50 USD\n  drift band absolute 5.000%\n}\n'
    statements = parse(format_file(parse(source))).policies[0].statements
    assert statements[0].amount.value == Decimal("250.50") and statements[1].limit.value == Decimal("5.000")
