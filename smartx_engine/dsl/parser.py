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
    "MIN_TRADE": "`min trade`",
    "SWAP_BACK": "`swap back`",
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


#: hints for characters the language does not use
CHARACTER_HINTS = {
    "'": "strings use double quotes",
    '"': "this string is not closed on its line",
    "=": "compare with `==`",
    "&": "join conditions with `and`",
    "|": "join conditions with `or`",
    "!": "negate with `not`, or compare with `!=`",
}
#: hints for words people write for units and operators
WORD_HINTS = {
    "percent": "write `%` right after the number, e.g. `4%`",
    "pct": "write `%` right after the number, e.g. `4%`",
    "bp": "write `bps`, e.g. `300 bps`",
    "usd": "write `USD`, e.g. `250 USD`",
    "dollars": "write `USD`, e.g. `250 USD`",
    "day": "write `days`, e.g. `30 days`",
}
#: the words a bare name may be, after the keyword that introduces it
NAME_CHOICES = {
    "band": "a band kind (absolute or relative)",
    "to": "`target` or `band`",
    "lots": "a lot method (FIFO, LIFO, HIFO, LOFO, MIN_TAX)",
    "shares": "`whole` or `fractional`",
    "per": "a period (year)",
    "across": "`household` or `account`",
    "restrict": "`buy` or `sell`",
}


def syntax_diagnostic(exc: UnexpectedInput, source: str, path: str) -> Diagnostic:
    lines = [text.removesuffix("\r") for text in source.split("\n")]  # lark counts lines by "\n" only
    line = max(1, min(exc.line if exc.line > 0 else len(lines), len(lines)))
    snippet = lines[line - 1] if line <= len(lines) else ""
    if isinstance(exc, UnexpectedCharacters):
        char = source[exc.pos_in_stream] if exc.pos_in_stream < len(source) else ""
        return Diagnostic(path, line, exc.column, f"unexpected character `{char}`", hint=CHARACTER_HINTS.get(char),
                          snippet=snippet)
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        expected = _expected(exc, snippet)
        column = len(snippet) + 1
        hint = "close the policy with `}`" if "`}`" in expected else None
        return Diagnostic(path, line, column, f"unexpected end of file; expected {_words(expected)}",
                          hint=hint, snippet=snippet)  # just after the last token
    column, found = _found_word(exc, snippet)
    hint = _repair_hint(exc, snippet)
    if found.lower() in WORD_HINTS:
        hint = WORD_HINTS[found.lower()]
    elif found != str(exc.token) and found.endswith(str(exc.token)):  # a keyword matched the start of a word
        hint = f"did you mean `{found[:-len(str(exc.token))]}`? (`{found}` is not a word of the language)"
    return Diagnostic(path, line, column, f"expected {_words(_expected(exc, snippet))}, found `{found}`",
                      hint=hint, snippet=snippet, width=len(found))


def _found_word(exc: UnexpectedToken, snippet: str) -> tuple[int, str]:
    """Where the offending text starts and what it is: a whole word, even when a keyword matched its start."""
    start, token = exc.column - 1, str(exc.token)
    if token[:1].isalnum() or token[:1] == "_":
        while start > 0 and (snippet[start - 1].isalnum() or snippet[start - 1] == "_"):
            start -= 1
        return start + 1, re.match(r"\w+", snippet[start:]).group()
    return exc.column, token


STATEMENT_KEYWORDS = {"applies", "drift", "trigger", "rebalance", "realign", "target", "min", "shares", "lots", "avoid",
                      "gain", "harvest", "wash", "substitute", "identical", "restrict", "rule"}
OPERATORS = {"COMPARE", "ADD_OP", "MUL_OP", "and", "or", "in"}
OPERANDS = {"NUMBER", "STRING", "NAME", "LPAR", "LSQB"}


def _expected(exc: UnexpectedInput, snippet: str) -> list[str]:
    """What the parser would have accepted, in words: statements, operators and values summarised."""
    names = set(getattr(exc, "accepts", None) or getattr(exc, "expected", None) or ())
    literals = {name: _terminal_literals().get(name) for name in names}
    statements = {n for n in names if literals[n] in STATEMENT_KEYWORDS or n == "MIN_TRADE"}
    operators = {n for n in names if n in OPERATORS or literals[n] in OPERATORS
                 or (literals[n] == "not" and "COMPARE" in names)}  # after a value, `not` starts `not in`
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
        values = {n for n in names if n in OPERANDS or literals[n] in {"-", "true", "false", "not"}}
        words.append("a value (a number, a quoted string, a field such as holding.weight, a list ...)")
    rest = names - statements - operators - values
    previous = _previous_word(exc, snippet)
    if rest == {"NAME"} and previous in NAME_CHOICES:
        return [*words, NAME_CHOICES[previous]]
    return words + sorted(_word(n) for n in rest)


def _previous_word(exc: UnexpectedInput, snippet: str) -> str:
    before = snippet[: max(0, getattr(exc, "column", 1) - 1)].split()
    return before[-1] if before else ""


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


#: keywords tried first when one is missing (the ones that join parts of a statement)
JOINING_KEYWORDS = ("when", "then", "to", "with", "per", "across", "for")


def _repair_hint(exc: UnexpectedToken, snippet: str) -> str | None:
    """A 'did you mean' from the smallest edit that lets the parse go on."""
    accepts = exc.accepts or exc.expected
    token = exc.token
    literals = _terminal_literals()
    keywords = {n: literals[n] for n in accepts if n in literals and literals[n].isalpha()}
    start = exc.column - 1
    is_field = snippet[start + len(str(token)):start + len(str(token)) + 1] == "."
    if token.type == "NAME" and not is_field and (close := did_you_mean(str(token), keywords.values())):
        return close
    if "MIN_TRADE" in accepts and str(token) == "min":
        return "did you mean `min trade`?"
    if "STRING" in accepts and token.type == "NAME":
        return f'did you mean `"{token}"`? (symbols, model names and messages are quoted)'
    if set(accepts) <= {"LPAR", "DOT"}:
        return "write a field as grain.name, e.g. `sleeve.cash_weight`, or call a function, e.g. `any(...)`"
    joining = [(n, kw, " ") for n, kw in keywords.items() if kw in JOINING_KEYWORDS]
    single = [(n, kw, " ") for n, kw in keywords.items()] if len(keywords) == 1 else []
    candidates = [("COMMA", ",", ""), *joining, ("COMPARE", ">=", " "), *single]
    before = snippet[:start].rstrip()
    previous = before[before.rfind(" ") + 1:]
    word = re.match(r"\S*", snippet[start:]).group()
    for terminal, text, separator in candidates:
        if terminal in accepts and _continues(exc, terminal, text):
            return f"did you mean `{f'{previous}{separator}{text} {word}'.strip()}`?"
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
