"""One exception hierarchy for the engine; the CLI turns these into messages (exit 1).

Anything that is not a :class:`SmartxError` reaching the CLI is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

import attrs


class SmartxError(Exception):
    """Base of every error an operator or a plugin author can cause and fix."""


class DiagnosedError(SmartxError):
    """An error that carries every located diagnostic found, rendered one after another."""

    def __init__(self, message: str, diagnostics: Sequence[Diagnostic] = ()):
        self.diagnostics = tuple(diagnostics)
        lines = [message, *(d.render() for d in self.diagnostics)]
        super().__init__("\n".join(lines))


class DataError(DiagnosedError):
    """Bad input data: a book, a custodian file, a model file."""


class NotFoundError(SmartxError):
    """A named thing (account, sleeve, model ...) does not exist."""


class ConflictError(SmartxError):
    """The request contradicts what the store already holds."""


class PolicyError(DiagnosedError):
    """A policy file that does not parse, validate or compile."""


class CustodianError(SmartxError):
    """A custodian refused a request or sent something the engine cannot use."""


class PluginError(SmartxError):
    """A plugin failed to load, broke the hook contract, or clashed with another plugin."""


class ExecutorError(SmartxError):
    """A batch executor cannot run: an unreachable cluster, options it does not take, workers that keep dying."""


class TargetError(SmartxError):
    """A sleeve's target cannot be built: a bad blend or allocation, or restrictions that leave nothing."""


@attrs.frozen
class Diagnostic:
    """One located problem in an input file: ``file:line:col: error: message``.

    With ``snippet`` (the source line), it renders like a compiler: the line, then a caret under
    the ``width`` characters at fault.
    """

    file: str
    line: int
    column: int | None
    message: str
    field: str | None = None
    hint: str | None = None
    severity: str = "error"
    snippet: str | None = None
    width: int = 1

    def render(self) -> str:
        where = f"{self.file}:{self.line}" + (f":{self.column}" if self.column else "")
        lines = [f"{where}: {self.severity}: {self.message}" + (f" (column {self.field})" if self.field else "")]
        if self.snippet is not None and self.column:
            lines.append(f"   | {self.snippet}")
            lines.append(f"   | {' ' * (self.column - 1)}{'^' * max(1, self.width)}")
        if self.hint:
            lines.append(f"   = help: {self.hint}")
        return "\n".join(lines)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean' hint for ``word`` among ``choices``, or None when nothing is close."""
    choices = list(choices)
    same_letters = [c for c in choices if c.lower() == word.lower() and c != word]
    close = same_letters or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def toml_diagnostic(file: str, source: str, exc: Exception) -> Diagnostic:
    """A TOML syntax error (``tomllib.TOMLDecodeError``) as a located diagnostic, with its line."""
    message = str(exc)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if not found:
        return Diagnostic(file, 1, None, message)
    line, column = int(found.group(1)), int(found.group(2))
    lines = source.splitlines()
    snippet = lines[line - 1] if 0 < line <= len(lines) else None
    return Diagnostic(file, line, column, message[:found.start()], snippet=snippet)
