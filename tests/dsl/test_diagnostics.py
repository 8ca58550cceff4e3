"""Golden diagnostics: every message the policy parser and validator can give, rendered exactly.

Each ``tests/dsl/err/NAME.policy`` is read with ``parse_file`` from the repository root (so paths
in messages are ``tests/dsl/err/NAME.policy``), then validated on its own with ``FUNCTIONS`` (a
plugin function, ``round_lots``, for the messages about plugin calls). The rendered diagnostics
(``Diagnostic.render()``, one after another, one newline at the end) must equal
``NAME.expected``; a file that cannot be read gives the ``PolicyError``'s message instead.

To add a case, add ``NAME.policy`` and regenerate. When messages change on purpose, regenerate
every expected file and review the diff before committing:

    SMARTX_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/dsl/test_diagnostics.py

(With the variable set, the golden test writes ``NAME.expected`` instead of comparing.)

``test_every_message_has_a_golden_file`` reads the message templates of ``parser.py`` and
``validate.py`` and checks that each one is produced by some golden file, so a new message
needs a new case.
"""

from __future__ import annotations

import ast as pyast
import os
import re
from pathlib import Path

import numpy as np
import pytest

from smartx_engine.dsl import parser, validate as validate_module
from smartx_engine.dsl.functions import PolicyFunction
from smartx_engine.dsl.parser import parse_file
from smartx_engine.dsl.schema import FIELDS, USD
from smartx_engine.dsl.validate import validate
from smartx_engine.errors import PolicyError

ROOT = Path(__file__).parents[2]
ERR = Path(__file__).parent / "err"
CASES = sorted(p.name.removesuffix(".policy") for p in ERR.glob("*.policy"))
REGENERATE = os.environ.get("SMARTX_REGEN_GOLDEN") == "1"

FUNCTIONS = {
    "round_lots": PolicyFunction(name="round_lots", params=(USD,), returns=USD, doc="rounded down to $10,000",
                                 implementation=lambda value: np.floor(value / 10_000) * 10_000),
}


def output(name: str) -> tuple[str, list]:
    """The rendered diagnostics of one golden case, and the diagnostics themselves."""
    path = f"tests/dsl/err/{name}.policy"
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        parsed = parse_file(path)
    except PolicyError as exc:
        found = list(exc.diagnostics)
        text = "\n".join(d.render() for d in found) if found else str(exc)
        return text + "\n", found
    finally:
        os.chdir(cwd)
    found = list(validate([parsed], FUNCTIONS).diagnostics)
    return "".join(d.render() + "\n" for d in found), found


@pytest.mark.parametrize("name", CASES)
def test_golden_diagnostics(name: str):
    actual, _ = output(name)
    expected_path = ERR / f"{name}.expected"
    if REGENERATE:
        expected_path.write_text(actual, encoding="utf-8")
        return
    assert expected_path.exists(), f"no {expected_path.name}; run with SMARTX_REGEN_GOLDEN=1"
    assert actual == expected_path.read_text(encoding="utf-8")


def test_every_golden_case_has_a_diagnostic_and_every_expected_file_a_case():
    assert len(CASES) >= 100
    for name in CASES:
        assert output(name)[0].strip(), f"{name}.policy gets no diagnostic"
    orphans = {p.name.removesuffix(".expected") for p in ERR.glob("*.expected")} - set(CASES)
    assert not orphans


# ---------------------------------------------------------------- messages in words


def grammar_names() -> set[str]:
    """Names that only the grammar uses: terminals (``RBRACE``, ``LPAR``, ``__ANON_0``, ``$END``)
    and rules with an underscore (``or_test``), except those that are also field names."""
    lark = parser.lark_parser()
    terminals = {t.name for t in lark.terminals} | {"$END"}
    rules = {str(r.origin.name).lstrip("?") for r in lark.rules if "_" in str(r.origin.name)}
    return terminals | (rules - {name for _, name in FIELDS})


INTERNAL = grammar_names()


def leaks(text: str) -> set[str]:
    """Grammar-internal names in a message, outside the quoted source token (``found `AND` ``)."""
    text = re.sub(r"found `[^`]*`", "found", text)
    words = set(re.findall(r"\$?[A-Za-z_][A-Za-z0-9_]*", text))
    internal = {w for w in words & INTERNAL if w.isupper() or "_" in w or w.startswith("$")}
    return internal | {w for w in words if w.startswith("__")}


@pytest.mark.parametrize("name", CASES)
def test_messages_use_no_grammar_internal_names(name: str):
    _, found = output(name)
    for diagnostic in found:
        text = f"{diagnostic.message} {diagnostic.hint or ''}"
        assert not leaks(text), f"{name}: {text}"
        assert diagnostic.line >= 1 and diagnostic.column and diagnostic.column >= 1


def test_the_leak_check_catches_internal_names():
    assert leaks("expected RBRACE or __ANON_3 or $END") == {"RBRACE", "__ANON_3", "$END"}
    assert leaks("expected `or_test`, found `x`") == {"or_test"}
    assert not leaks("unknown lot method `HIFI`; did you mean `HIFO`? (USD, FIFO)")
    assert not leaks("expected an operator, found `AND`")
    assert not leaks("`sleeve` has no field `cahs`; did you mean `sleeve.cash_target`?")


# ---------------------------------------------------------------- every message has a case


def _templates(module) -> list[tuple[str, re.Pattern]]:
    """Each message literal given to Diagnostic(...) / report(...) / warn(...) / PolicyError(...)."""
    tree = pyast.parse(Path(module.__file__).read_text())
    found = []
    for node in pyast.walk(tree):
        if not isinstance(node, pyast.Call):
            continue
        name = node.func.attr if isinstance(node.func, pyast.Attribute) else getattr(node.func, "id", "")
        position = {"report": 1, "warn": 1, "Diagnostic": 3, "PolicyError": 0}.get(name)
        if position is None or len(node.args) <= position:
            continue
        message = node.args[position]
        if isinstance(message, (pyast.JoinedStr, pyast.Constant, pyast.BinOp)):
            found.append((pyast.unparse(message), _pattern(message)))
    return found


def _hint_templates(module) -> list[tuple[str, re.Pattern]]:
    """Each literal hint: ``hint=...`` arguments (either side of a conditional) and the strings
    that ``_repair_hint`` returns."""
    tree = pyast.parse(Path(module.__file__).read_text())
    candidates = []
    for node in pyast.walk(tree):
        if isinstance(node, pyast.keyword) and node.arg == "hint":
            candidates.append(node.value)
        if isinstance(node, pyast.FunctionDef) and node.name == "_repair_hint":
            candidates += [n.value for n in pyast.walk(node) if isinstance(n, pyast.Return) and n.value is not None]
    found = []
    while candidates:
        value = candidates.pop()
        if isinstance(value, (pyast.IfExp, pyast.BoolOp)):
            candidates += [value.body, value.orelse] if isinstance(value, pyast.IfExp) else value.values
        elif isinstance(value, (pyast.JoinedStr, pyast.BinOp)) or (
                isinstance(value, pyast.Constant) and isinstance(value.value, str)):
            found.append((pyast.unparse(value), _pattern(value)))
    return found


def _pattern(node) -> re.Pattern:
    def parts(n):
        if isinstance(n, pyast.Constant) and isinstance(n.value, str):
            return [re.escape(n.value)]
        if isinstance(n, pyast.JoinedStr):
            return [p for v in n.values for p in parts(v)]
        if isinstance(n, pyast.BinOp):
            return parts(n.left) + parts(n.right)
        return [".+?"]
    return re.compile("^" + "".join(parts(node)) + "$", re.DOTALL)


#: messages no golden file produces, and why
UNREACHABLE = {
    # amounts are literals, and a NUMBER has no sign
    "f'{what} cannot be negative'",
    # parse(): the summary of the PolicyError, not a diagnostic
    "f'{path}: syntax error'",
    # parse_file() of a file that does not exist: test_a_file_that_cannot_be_read_is_a_policy_error
    "f'{path}: cannot read the file ({exc.strerror})'",
}


def golden_messages() -> list[str]:
    messages = []
    for name in CASES:
        text, found = output(name)
        messages += [d.message for d in found] or [text.strip()]
    return messages


def golden_hints() -> list[str]:
    return [d.hint for name in CASES for d in output(name)[1] if d.hint]


def test_every_message_has_a_golden_file():
    messages = golden_messages()
    missing = []
    for module in (parser, validate_module):
        for source, pattern in _templates(module):
            if source not in UNREACHABLE and not any(pattern.match(m) for m in messages):
                missing.append(f"{module.__name__}: {source}")
    assert not missing, "messages without a golden case:\n" + "\n".join(missing)


def test_a_file_that_cannot_be_read_is_a_policy_error(tmp_path: Path):
    with pytest.raises(PolicyError, match=r"missing.policy: cannot read the file \(No such file or directory\)"):
        parse_file(tmp_path / "missing.policy")


def test_every_hint_has_a_golden_file():
    hints = golden_hints()
    missing = [f"{module.__name__}: {source}" for module in (parser, validate_module)
               for source, pattern in _hint_templates(module) if not any(pattern.match(h) for h in hints)]
    assert not missing, "hints without a golden case:\n" + "\n".join(missing)
