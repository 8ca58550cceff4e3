"""The firm's policies, loaded from the rules directory, compiled once, resolved against a book.

Every sleeve follows exactly one policy: the one assigned to it by name, else the one whose
``applies to`` selects it. A sleeve that names an unknown policy, or that no selector or more than
one selects, is reported and left out of evaluation: never a silent pick.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import attrs
import numpy as np

from ..book import Book
from ..errors import Diagnostic, PolicyError, did_you_mean
from . import ast
from .compile import CompiledPolicy, PolicyEvaluation, compile_policy
from .frame import Frame
from .functions import PolicyFunction, policy_functions
from .parser import parse, parse_file
from .validate import Checked, validate

@attrs.frozen
class Resolution:
    """Which policy each sleeve follows (an index into ``names``, -1 when unresolved) and why."""

    names: tuple[str, ...]
    policy_of: np.ndarray
    assigned: np.ndarray  # True where the sleeve names its policy, False where a selector chose it
    problems: dict[int, str]


@attrs.frozen(eq=False)
class BookEvaluation:
    book: Book
    resolution: Resolution
    evaluations: dict[str, PolicyEvaluation]

    def of_sleeve(self, index: int) -> tuple[PolicyEvaluation, int] | None:
        """The evaluation covering sleeve ``index`` and its row in it."""
        code = self.resolution.policy_of[index]
        if code < 0:
            return None
        evaluation = self.evaluations[self.resolution.names[code]]
        return evaluation, int(np.searchsorted(evaluation.sleeves, index))


@attrs.frozen(eq=False)
class PolicySet:
    files: tuple[ast.PolicyFile, ...]
    checked: Checked
    compiled: dict[str, CompiledPolicy]
    digests: dict[str, str]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.compiled))

    @property
    def sources(self) -> tuple[tuple[str, str], ...]:
        """The (path, text) of every policy file: what :func:`load_sources` compiles again."""
        return tuple((f.path, f.source) for f in self.files)

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.checked.diagnostics if d.severity == "warning"]

    def resolve(self, book: Book) -> Resolution:
        names = self.names
        frame = Frame(book)
        selected = np.stack([self.compiled[n].selects(frame) for n in names]) if names else \
            np.zeros((0, book.n_sleeves), dtype=bool)
        policy_of = np.full(book.n_sleeves, -1, dtype=np.int32)
        assigned = np.not_equal(book.sleeve_policy, None).astype(bool)
        problems: dict[int, str] = {}
        index = {n: i for i, n in enumerate(names)}
        for i in np.flatnonzero(assigned):
            name = book.sleeve_policy[i]
            if name in index:
                policy_of[i] = index[name]
            else:
                hint = did_you_mean(name, names)
                problems[int(i)] = f"is assigned policy {name!r}, which is not defined" + (f"; {hint}" if hint else "")
        matches = selected.sum(axis=0)
        unique = ~assigned & (matches == 1)
        policy_of[unique] = np.argmax(selected[:, unique], axis=0)
        for i in np.flatnonzero(~assigned & (matches != 1)):
            chosen = [n for n, row in zip(names, selected) if row[i]]
            problems[int(i)] = ("matches no policy's `applies to`; assign one with `smartx sleeves assign`"
                                if not chosen else f"matches several policies ({', '.join(chosen)}); "
                                "narrow their `applies to` or assign one")
        return Resolution(names, policy_of, assigned, problems)

    def evaluate(self, book: Book) -> BookEvaluation:
        """Resolve every sleeve, then evaluate each policy over its own sleeves at once (its part of the
        book: :meth:`Book.parts`)."""
        resolution = self.resolve(book)
        evaluations = {}
        parts = book.parts(resolution.policy_of, len(resolution.names))  # sharing the book's holdings and lots
        for code, (name, own) in enumerate(zip(resolution.names, parts)):
            if own.n_sleeves:
                evaluations[name] = self.compiled[name].evaluate(own, np.flatnonzero(resolution.policy_of == code))
        return BookEvaluation(book, resolution, evaluations)

    def book_diagnostics(self, book: Book) -> list[Diagnostic]:
        """Warnings for policies that select no sleeve of the book (assigned ones excepted)."""
        resolution = self.resolve(book)
        used = {resolution.names[c] for c in resolution.policy_of if c >= 0}
        frame = Frame(book)
        found = []
        for name, compiled in self.compiled.items():
            applies = compiled.resolved.first(ast.Applies)
            if name not in used and applies is not None and not compiled.selects(frame).any():
                source = next(f for f in self.files if f.path == compiled.resolved.path).source.split("\n")
                span = applies.span
                found.append(Diagnostic(compiled.resolved.path, span.line, span.column,
                                        f"policy {name!r} selects no sleeve of the book", severity="warning",
                                        snippet=source[span.line - 1], width=len(source[span.line - 1]) - span.column + 1,
                                        hint="check its `applies to` against `smartx sleeves list`"))
        return found


def policy_paths(target: Path) -> list[Path]:
    """The policy files of a directory (``*.policy``, sorted), or the file itself."""
    if target.is_dir():
        return sorted(target.glob("*.policy"))
    return [target]


def check_sources(sources: Sequence[tuple[str, str]], functions: dict[str, PolicyFunction] | None = None
                  ) -> tuple[list[ast.PolicyFile], Checked]:
    """Parse and validate (path, text) pairs; syntax errors are collected with the rest."""
    files, diagnostics = [], []
    for path, text in sources:
        try:
            files.append(parse(text, path))
        except PolicyError as exc:
            diagnostics.extend(exc.diagnostics)
    checked = validate(files, functions if functions is not None else policy_functions())
    return files, attrs.evolve(checked, diagnostics=tuple(diagnostics) + checked.diagnostics)


def load(paths: Sequence[Path]) -> PolicySet:
    """Load, check and compile policy files; raises PolicyError listing every error.

    Compiled once per content: loading the same sources again returns the cached set.
    """
    return load_sources(tuple((str(path), parse_file(path).source) for path in paths))


def load_sources(sources: Sequence[tuple[str, str]]) -> PolicySet:
    """Check and compile policies given as (path, text) pairs, like :func:`load` (and sharing its cache).

    How a policy set travels to another process (a Dask worker): as its :attr:`PolicySet.sources`,
    compiled again there once per content (compiled policies hold closures, which do not pickle).
    """
    sources = tuple((str(path), text) for path, text in sources)
    functions = policy_functions()
    key = (sources, tuple(sorted(functions.items(), key=lambda item: item[0])))
    if key not in _COMPILED:
        if len(_COMPILED) >= 16:
            _COMPILED.clear()
        _COMPILED[key] = _compile(sources, functions)
    return _COMPILED[key]


_COMPILED: dict[tuple, PolicySet] = {}


def _compile(sources: tuple[tuple[str, str], ...], functions: dict[str, PolicyFunction]) -> PolicySet:
    files, checked = check_sources(sources, functions)
    if checked.errors:
        count = len(checked.errors)
        raise PolicyError(f"{count} error{'s' * (count > 1)} in the policies", checked.errors)
    compiled = {name: compile_policy(policy, functions) for name, policy in checked.policies.items()}
    text = {f.path: f.source for f in files}
    digests = {name: hashlib.sha256("\0".join(text[checked.policies[p].path] for p in policy.lineage).encode()
                                    ).hexdigest()[:16] for name, policy in checked.policies.items()}
    return PolicySet(tuple(files), checked, compiled, digests)


def load_rules(rules_dir: Path) -> PolicySet:
    """The policies of the rules directory."""
    if not rules_dir.is_dir():
        raise PolicyError(f"no rules directory at {rules_dir}; point --rules (or SMARTX_RULES) at your policies")
    return load(policy_paths(rules_dir))
