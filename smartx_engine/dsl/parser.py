"""Source text to AST: the LALR parser (built once per process) and syntax diagnostics.

Syntax errors read like a compiler's: where, what was expected in words (never a grammar-internal
terminal name), the line with a caret, and a "did you mean" when one small edit would parse.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import tempfile
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
    comments: list[ast.Comment] = []
    parser = lark_parser()
    try:
        tree = parser.parse(source) if not _has_comment(source) else _parse_keeping_comments(source, comments)
    except UnexpectedInput as exc:
        raise PolicyError(f"{path}: syntax error", [syntax_diagnostic(exc, source, path)]) from None
    return ast.PolicyFile(path, source, ToAst().transform(tree), tuple(comments))


def parse_file(path: str | Path) -> ast.PolicyFile:
    try:
        source = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the file ({exc.strerror})") from None
    return parse(source, str(path))


def _has_comment(source: str) -> bool:
    return "#" in source


def _parse_keeping_comments(source: str, comments: list[ast.Comment]) -> lark.Tree:
    """Parse and collect the comments, which the formatter keeps."""
    parser = _comment_parser()
    tokens_seen: list[lark.Token] = []
    parser.options.lexer_callbacks["COMMENT"] = tokens_seen.append
    try:
        return parser.parse(source)
    finally:
        comments.extend(ast.Comment(str(t), t.line, t.column) for t in tokens_seen)


@functools.cache
def _comment_parser() -> lark.Lark:
    text = grammar_text()
    return lark.Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=True,
                     lexer_callbacks={"COMMENT": lambda token: None})


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


def _expected(exc: UnexpectedInput) -> list[str]:
    """What the parser would have accepted, in words, keywords first."""
    names = getattr(exc, "accepts", None) or getattr(exc, "expected", None) or set()
    words = sorted({_word(name) for name in names})
    return sorted(words, key=lambda w: (not w.startswith("`"), w))


@functools.cache
def _terminal_literals() -> dict[str, str]:
    return {t.name: t.pattern.value for t in lark_parser().terminals if isinstance(t.pattern, lark.lexer.PatternStr)}


def _word(terminal: str) -> str:
    if terminal in TERMINAL_WORDS:
        return TERMINAL_WORDS[terminal]
    literal = _terminal_literals().get(terminal)
    return f"`{literal}`" if literal is not None else terminal.lower()


def _words(words: list[str]) -> str:
    keywords = [w for w in words if w.startswith("`") and w[1:-1].isalpha()]
    if len(keywords) > 6:  # the start of a statement: say so rather than list every keyword
        others = [w for w in words if w not in keywords]
        return " or ".join(["a statement (" + ", ".join(k.strip("`") for k in keywords[:6]) + " ...)", *others])
    if len(words) <= 1:
        return words[0] if words else "something else"
    return ", ".join(words[:-1]) + " or " + words[-1]


def _repair_hint(exc: UnexpectedToken, snippet: str) -> str | None:
    """A 'did you mean' from the smallest edit that lets the parse go on."""
    accepts = exc.accepts or exc.expected
    token = exc.token
    keywords = [_terminal_literals()[n] for n in accepts if n in _terminal_literals()
                and _terminal_literals()[n].isalpha()]
    if token.type == "NAME" and (close := did_you_mean(str(token), keywords)):
        return close
    if "STRING" in accepts and token.type == "NAME":
        return f'did you mean `"{token}"`? (names of symbols, models and messages are quoted)'
    for terminal, text in REPAIRS.items():
        if terminal in accepts and _continues(exc, terminal, text):
            start = exc.column - 1
            before = snippet[:start].rstrip()
            fragment_start = max(before.rfind(" ") + 1, 0)
            end = start + len(str(token))
            fixed = f"{before[fragment_start:]} {text} {snippet[start:end]}" if terminal == "COMPARE" \
                else f"{snippet[fragment_start:start].rstrip()}{text}"
            return f"did you mean `{fixed.strip()}`?"
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
