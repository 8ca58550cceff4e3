"""Table-driven policy tests (``smartx policy test``): run the cases, compare, report coverage.

The runner loads (and so validates) every policy of the directory, builds each case's book with
:meth:`Book.assemble`, evaluates it with the :class:`PolicySet`, compares the ``[case.expect]``
table with what happened, and reports which bands, triggers and rules some passing case fired.
The file format is in :mod:`smartx_engine.dsl.testcases`.
"""


from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..errors import Diagnostic, PolicyError
from . import ast, fmt
from .explain import explain_sleeve
from .policyset import BookEvaluation, PolicySet, load, policy_paths
from .validate import ResolvedPolicy

from .testcases import TEST_GLOB, TOLERANCE, Case, load_cases


@attrs.frozen
class Mismatch:
    """An expectation the evaluation did not meet."""

    key: str
    expected: Any
    actual: Any
    note: str | None = None  # why, when the actual value says too little

    def render(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.key}: expected {_show(self.expected)}, got {_show(self.actual)}{note}"


@attrs.frozen
class CaseResult:
    case: Case
    policy: str | None  # the policy the sleeve resolved to
    mismatches: tuple[Mismatch, ...]

    @property
    def passed(self) -> bool:
        return not self.mismatches


@attrs.frozen
class CoverageItem:
    """One band, trigger, rule or conditional lot statement of a policy, and the passing cases that fired it."""

    policy: str
    kind: str
    statement: str
    path: str
    line: int
    inherited_from: str | None
    cases: tuple[str, ...]

    @property
    def covered(self) -> bool:
        return bool(self.cases)


@attrs.frozen
class PolicyTestRun:
    """Every case's result, and the coverage of every policy by the passing cases."""

    results: tuple[CaseResult, ...]
    coverage: tuple[CoverageItem, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    @property
    def uncovered(self) -> list[CoverageItem]:
        return [c for c in self.coverage if not c.covered]

    @property
    def summary(self) -> str:
        failed, uncovered = len(self.failures), len(self.uncovered)
        return (f"{len(self.results)} cases: {len(self.results) - failed} passed, {failed} failed; "
                f"{len(self.coverage) - uncovered}/{len(self.coverage)} statements covered")

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": sum(r.passed for r in self.results), "failed": len(self.failures),
            "statements": len(self.coverage), "covered": len(self.coverage) - len(self.uncovered),
            "cases": [{"file": r.case.file, "line": r.case.line, "name": r.case.name, "policy": r.policy,
                       "passed": r.passed, "mismatches": [{"key": m.key, "expected": _plain(m.expected),
                                                           "actual": _plain(m.actual), "note": m.note,
                                                           "message": m.render()}
                                                          for m in r.mismatches]} for r in self.results],
            "coverage": [{"policy": c.policy, "kind": c.kind, "statement": c.statement, "at": f"{c.path}:{c.line}",
                          "inherited_from": c.inherited_from, "covered": c.covered, "cases": list(c.cases)}
                         for c in self.coverage],
        }


def suite_paths(target: Path) -> tuple[Path, list[Path]]:
    """The rules directory and the test files of ``target`` (a directory, or one test file in it)."""
    if target.is_file():
        return target.parent, [target]
    if not target.is_dir():
        raise PolicyError(f"no rules directory or test file at {target}")
    return target, sorted(target.glob(TEST_GLOB))


def run(target: Path) -> PolicyTestRun:
    """Load the policies of ``target``'s directory, then run its test files (raises PolicyError on bad input)."""
    rules_dir, files = suite_paths(target)
    paths = policy_paths(rules_dir)
    if not paths:
        raise PolicyError(f"no policy files (*.policy) in {rules_dir}")
    if not files:
        raise PolicyError(f"no policy tests ({TEST_GLOB}) in {rules_dir}")
    policies = load(paths)
    cases, problems = [], []
    for path in files:
        try:
            cases += load_cases(path, policies)
        except PolicyError as exc:
            problems += exc.diagnostics or [Diagnostic(str(path), 1, None, str(exc))]
    if problems:
        raise PolicyError(f"{len(problems)} problem{'s' * (len(problems) > 1)} in the policy tests", problems)
    results, fired = [], {}
    for case in cases:
        evaluation = policies.evaluate(case.book)
        result = check(case, evaluation)
        results.append(result)
        if result.passed:
            for key in fired_statements(evaluation):
                fired.setdefault(key, []).append(case.name)
    return PolicyTestRun(tuple(results), coverage(policies, fired))


def check(case: Case, evaluation: BookEvaluation) -> CaseResult:
    """Compare a case's expectations with the evaluation of its one-sleeve book."""
    report = explain_sleeve(evaluation, 0)
    mismatches = []
    if case.policy is not None and report["policy"] != case.policy:
        mismatches.append(Mismatch("policy", case.policy, report["policy"], report.get("problem")))
    if report["policy"] is None:
        problem = report["problem"]
        if "problem" in case.expect and case.expect["problem"] not in problem:
            mismatches.append(Mismatch("problem", case.expect["problem"], problem))
        if set(case.expect) - {"problem"} and case.policy is None:
            mismatches.append(Mismatch("policy", "a policy", None, problem))
        return CaseResult(case, None, tuple(mismatches))
    actual = observed(report)
    for key, expected in case.expect.items():
        if not _same(expected, actual[key]):
            mismatches.append(Mismatch(key, expected, actual[key]))
    return CaseResult(case, report["policy"], tuple(mismatches))


def observed(report: dict[str, Any]) -> dict[str, Any]:
    """What the policy decided for a sleeve, keyed like the expectations (from ``explain_sleeve``)."""
    cash, holdings = report["cash"], report["holdings"]
    return {
        "problem": None, "triggered": report["triggered"], "skipped": report["skipped"],
        "require_approval": report["require_approval"],
        "cash": "below_min" if cash["below_min"] else "above_max" if cash["above_max"] else "within",
        "out_of_band": {h["symbol"]: frozenset(h["out_of_band"].split(" and ")) for h in holdings if h["out_of_band"]},
        "triggers": frozenset(t["statement"].removeprefix("trigger when ") for t in report["triggers"] if t["fired"]),
        "rules": frozenset(r["name"] for r in report["rules"] if r["fired"]),
        "flags": frozenset(report["flags"]),
        "hold": frozenset(h["symbol"] for h in holdings if h["hold"]),
        "sell_to": {h["symbol"]: h["sell_to"] for h in holdings if h["sell_to"] is not None},
        "harvest": frozenset(report["lots"]["harvest"]),
        "avoid_short_term": frozenset(report["lots"]["avoid_short_term_gain"]),
    }


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(_same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, float) and isinstance(actual, float):
        return abs(expected - actual) <= TOLERANCE
    return expected == actual


def _plain(value: Any) -> Any:
    """A JSON-ready copy: sets become sorted lists."""
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in sorted(value.items())}
    return value


def _show(value: Any) -> str:
    if isinstance(value, (set, frozenset)):
        return "[" + ", ".join(_show(v) for v in sorted(value)) + "]" if value else "none"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_show(v)}" for k, v in sorted(value.items())) + "}" if value else "none"
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str):
        return repr(value) if " " in value or not value else value
    return str(value).lower() if isinstance(value, bool) else str(value)


# ---------------------------------------------------------------- coverage


def coverable(policy: ResolvedPolicy) -> list[ast.Statement]:
    """The statements of a resolved policy that can fire: bands, triggers, rules, conditional lot statements."""
    return [s for s in policy.statements if isinstance(s, (ast.Band, ast.Trigger, ast.Rule, ast.AvoidShortTerm))
            or isinstance(s, ast.Harvest) and s.condition is not None]


def fired_statements(evaluation: BookEvaluation) -> set[tuple[str, ast.Statement]]:
    """(policy, statement) for every coverable statement that fired somewhere in the evaluation."""
    fired = set()
    for name, result in evaluation.evaluations.items():
        policy = result.policy
        for i, band in enumerate(policy.bands):
            if ((result.band_abs == i) & result.out_abs).any() or ((result.band_rel == i) & result.out_rel).any():
                fired.add((name, band.statement))
        for statement, mask in (*result.triggers, *result.rules):
            if np.any(mask):
                fired.add((name, statement))
        for kind, mask in ((ast.Harvest, result.harvest), (ast.AvoidShortTerm, result.avoid_short_term)):
            statement = policy.resolved.first(kind)
            if statement is not None and mask.any():
                fired.add((name, statement))
    return fired


def coverage(policies: PolicySet, fired: dict[tuple[str, ast.Statement], list[str]]) -> tuple[CoverageItem, ...]:
    """Every coverable statement of every policy, with the passing cases that fired it."""
    items = []
    for name in policies.names:
        resolved = policies.compiled[name].resolved
        origin_of = {id(s): o for s, o in zip(resolved.statements, resolved.origins)}
        for statement in coverable(resolved):
            origin = origin_of[id(statement)]
            items.append(CoverageItem(
                policy=name, kind=_KINDS[type(statement)], statement=fmt.statement(statement),
                path=policies.checked.policies[origin].path, line=statement.span.line,
                inherited_from=origin if origin != name else None,
                cases=tuple(fired.get((name, statement), ())),
            ))
    return tuple(items)


_KINDS = {ast.Band: "band", ast.Trigger: "trigger", ast.Rule: "rule", ast.Harvest: "harvest",
          ast.AvoidShortTerm: "avoid"}
