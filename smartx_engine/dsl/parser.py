"""Source text to AST: the LALR parser (built once per process) and syntax diagnostics.

Syntax errors read like a compiler's: where, what was expected in words (never a grammar-internal
terminal name), the line with a caret, and a "did you mean" when one small edit would parse.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from importlib import resources
from pathlib import Path

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..errors import Diagnostic, PolicyError, did_you_mean
from . import ast
from .transformer import ToAst

#: How terminals with a pattern are named in messages.
TERMINAL_WORDS = {
    "NUMBER": "a number",
    "INT": "a whole number",
    "STRING": 'a quoted string ("...")',
    "NAME": "a name",
    "COMPARE": "a comparison operator (==, !=, <, <=, >, >=)",
    "UNIT": "a unit (%, bps, USD, days)",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`",
    "$END": "the end of the file",
}
#: Tokens tried, in order, to repair a syntax error into a "did you mean".
REPAIRS = {"COMPARE": ">=", "UNIT": "%"}


def grammar_text() -> str:
    return resources.files("smartx_engine.dsl").joinpath("grammar.lark").read_text()


@functools.cache
def lark_parser() -> lark.Lark:
    """The LALR parser, built once per process and cached on disk in a private per-user directory."""
    text = grammar_text()
    options = dict(parser="lalr", propagate_positions=True, maybe_placeholders=True)
    cache = _cache_path(text)
    if cache is None:
        return lark.Lark(text, **options)
    return lark.Lark(text, cache=str(cache), **options)


def _cache_path(grammar: str) -> Path | None:
    """``$XDG_CACHE_HOME/smartx-engine/`` (mode 0700, owned by us), never a shared temp path."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "smartx-engine"
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = base.stat()
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            return None  # someone else's or shared: do not trust it
    except OSError:
        return None
    key = hashlib.sha256(f"{lark.__version__}\0{grammar}".encode()).hexdigest()[:16]
    return base / f"policy-grammar-{key}.lark-cache"


def parse(source: str, path: str = "<policy>") -> ast.PolicyFile:
    """Parse a policy file; raises :class:`PolicyError` with a located diagnostic on a syntax error."""
    try:
        tree = lark_parser().parse(source)
    except UnexpectedInput as exc:
        raise PolicyError(f"{path}: syntax error", [syntax_diagnostic(exc, source, path)]) from None
    return ast.PolicyFile(path, source, ToAst().transform(tree), comments(source))


def parse_file(path: str | Path) -> ast.PolicyFile:
    try:
        source = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the file ({exc.strerror})") from None
    return parse(source, str(path))


_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')


def comments(source: str) -> tuple[ast.Comment, ...]:
    """Every comment in ``source`` (a ``#`` inside a string is not one), for the formatter."""
    found = []
    for match in _STRING_OR_COMMENT.finditer(source):
        if match.group().startswith("#"):
            line = source.count("\n", 0, match.start()) + 1
            column = match.start() - (source.rfind("\n", 0, match.start()) + 1) + 1
            found.append(ast.Comment(match.group().rstrip(), line, column))
    return tuple(found)


# ---------------------------------------------------------------- syntax diagnostics


def syntax_diagnostic(exc: UnexpectedInput, source: str, path: str) -> Diagnostic:
    lines = source.splitlines() or [""]
    line = max(1, min(exc.line if exc.line > 0 else len(lines), len(lines)))
    snippet = lines[line - 1] if line <= len(lines) else ""
    if isinstance(exc, UnexpectedCharacters):
        char = source[exc.pos_in_stream] if exc.pos_in_stream < len(source) else ""
        hint = "strings use double quotes" if char == "'" else None
        return Diagnostic(path, line, exc.column, f"unexpected character `{char}`", hint=hint, snippet=snippet)
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        expected = _expected(exc)
        column = len(snippet) + 1
        hint = "close the policy with `}`" if "`}`" in expected else None
        return Diagnostic(path, len(lines), column, f"unexpected end of file; expected {_words(expected)}",
                          hint=hint, snippet=lines[-1])
    token = exc.token
    expected = _expected(exc)
    return Diagnostic(
        path, line, exc.column, f"expected {_words(expected)}, found `{token}`",
        hint=_repair_hint(exc, snippet), snippet=snippet, width=len(str(token)),
    )


STATEMENT_KEYWORDS = {"applies", "drift", "trigger", "rebalance", "target", "min", "shares", "lots", "avoid",
                      "gain", "harvest", "wash", "substitute", "identical", "restrict", "rule"}
OPERATORS = {"COMPARE", "ADD_OP", "MUL_OP", "and", "or", "in", "not"}
OPERANDS = {"NUMBER", "STRING", "NAME", "LPAR", "LSQB"}


def _expected(exc: UnexpectedInput) -> list[str]:
    """What the parser would have accepted, in words: statements and operators summarised."""
    names = set(getattr(exc, "accepts", None) or getattr(exc, "expected", None) or ())
    literals = {name: _terminal_literals().get(name) for name in names}
    statements = {n for n in names if literals[n] in STATEMENT_KEYWORDS}
    operators = {n for n in names if n in OPERATORS or literals[n] in OPERATORS}
    found = getattr(getattr(exc, "token", None), "type", None)
    words = []
    if operators and "COMPARE" in names and found in OPERANDS:
        words.append(TERMINAL_WORDS["COMPARE"])  # an operand after an operand: a comparison is missing
    elif operators:
        words.append("an operator")
    if statements:
        words.append("a statement")
    values = set()
    if {"NUMBER", "STRING", "NAME"} <= names:  # the start of an operand
        values = {n for n in names if n in OPERANDS or literals[n] in {"-", "true", "false"}}
        words.append("a value (a number, a quoted string, a field such as holding.weight, a list ...)")
    words += sorted(_word(n) for n in names - statements - operators - values)
    return words


@functools.cache
def _terminal_literals() -> dict[str, str]:
    return {t.name: t.pattern.value for t in lark_parser().terminals if isinstance(t.pattern, lark.lexer.PatternStr)}


def _word(terminal: str) -> str:
    if terminal in TERMINAL_WORDS:
        return TERMINAL_WORDS[terminal]
    literal = _terminal_literals().get(terminal)
    return f"`{literal}`" if literal is not None else terminal.lower()


def _words(words: list[str]) -> str:
    if len(words) <= 1:
        return words[0] if words else "something else"
    return ", ".join(words[:-1]) + " or " + words[-1]


def _repair_hint(exc: UnexpectedToken, snippet: str) -> str | None:
    """A 'did you mean' from the smallest edit that lets the parse go on."""
    accepts = exc.accepts or exc.expected
    token = exc.token
    keywords = {n: _terminal_literals()[n] for n in accepts
                if n in _terminal_literals() and _terminal_literals()[n].isalpha()}
    if token.type == "NAME" and (close := did_you_mean(str(token), keywords.values())):
        return close
    if "STRING" in accepts and token.type == "NAME":
        return f'did you mean `"{token}"`? (symbols, model names and messages are quoted)'
    candidates = [("COMPARE", ">=", " "), ("COMMA", ",", "")] + [(n, kw, " ") for n, kw in keywords.items()]
    start = exc.column - 1
    before = snippet[:start].rstrip()
    previous = before[before.rfind(" ") + 1:]
    word = re.match(r"\S*", snippet[start:]).group()
    for terminal, text, separator in candidates:
        if terminal in accepts and (len(keywords) == 1 or terminal not in keywords) and _continues(exc, terminal, text):
            return f"did you mean `{previous}{separator}{text} {word}`?"
    return None


def _continues(exc: UnexpectedToken, terminal: str, text: str) -> bool:
    """Whether inserting ``text`` as a ``terminal`` before the bad token lets the parser take it."""
    if exc.interactive_parser is None:
        return False
    parser = exc.interactive_parser.copy()
    try:
        parser.feed_token(lark.Token(terminal, text))
        parser.feed_token(exc.token)
    except UnexpectedInput:
        return False
    return True
