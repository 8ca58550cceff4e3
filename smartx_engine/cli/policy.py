"""``smartx policy``: check, format, test and explain the firm's policies."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import click

from ..book import Book
from ..dsl import policytest
from ..dsl.explain import explain_sleeve
from ..dsl.fmt import format_file
from ..dsl.parser import parse_file
from ..dsl.policyset import check_sources, load_rules, policy_paths
from ..dsl.schema import FIELDS
from ..errors import NotFoundError, PolicyError
from . import Env, cli, pass_env
from .output import emit, json_option, print_table

as_of_option = click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                            help="Evaluate as of this date (default: today).")


def _as_of(value: dt.datetime | None) -> dt.date:
    return value.date() if value else dt.date.today()


def _targets(env: Env, paths: tuple[Path, ...]) -> list[Path]:
    if not paths and not env.rules_dir.is_dir():
        raise PolicyError(f"no rules directory at {env.rules_dir}; point --rules (or SMARTX_RULES) at your policies")
    files = [f for p in (paths or (env.rules_dir,)) for f in policy_paths(p)]
    if not files:
        raise PolicyError(f"no policy files in {', '.join(map(str, paths or (env.rules_dir,)))}")
    return files


@cli.group(name="policy")
def policy_group() -> None:
    """Check, format, test and explain policy files (the rules directory, --rules)."""


@policy_group.command(name="check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--book/--no-book", default=True, show_default=True,
              help="Also check the policies against the sleeves in --db, when it exists.")
@json_option
@pass_env
def policy_check(env: Env, paths: tuple[Path, ...], book: bool, as_json: bool) -> None:
    """Report every error and warning in the policies at once.

    PATHS are policy files or directories (default: the rules directory). With a database, also
    checks that every sleeve resolves to exactly one policy and that every selector selects some
    sleeve. Exits 1 when there is an error.

    \b
    Example:
      smartx policy check rules/
    """
    files = _targets(env, paths)
    parsed, checked = check_sources([(str(f), f.read_text(encoding="utf-8")) for f in files])
    diagnostics = list(checked.diagnostics)
    sleeve_problems: dict[str, str] = {}
    if book and not checked.errors and env.db_path.exists():
        policies = load_rules(env.rules_dir) if not paths else None
        if policies is not None:
            snapshot = Book.from_store(env.store(), dt.date.today())
            diagnostics += policies.book_diagnostics(snapshot)
            resolution = policies.resolve(snapshot)
            sleeve_problems = {snapshot.sleeve_ids[i]: p for i, p in resolution.problems.items()}
    errors = sum(d.severity == "error" for d in diagnostics) + len(sleeve_problems)
    warnings = sum(d.severity == "warning" for d in diagnostics)
    data = {"files": [str(f) for f in files], "policies": sorted(checked.policies), "errors": errors,
            "warnings": warnings, "diagnostics": [d.render() for d in diagnostics],
            "sleeves": [{"sleeve_id": s, "problem": p} for s, p in sleeve_problems.items()]}

    def human() -> None:
        for diagnostic in diagnostics:
            click.secho(diagnostic.render(), fg="red" if diagnostic.severity == "error" else "yellow", err=True)
        for sleeve_id, problem in sleeve_problems.items():
            click.secho(f"error: sleeve {sleeve_id} {problem}", fg="red", err=True)
        count = len(checked.policies)
        click.echo(f"{count} polic{'ies' if count != 1 else 'y'} in {len(files)} file(s): "
                   f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")

    emit(as_json, data, human)
    if errors:
        raise SystemExit(1)


@policy_group.command(name="fmt")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a file is not formatted.")
@pass_env
def policy_fmt(env: Env, paths: tuple[Path, ...], check: bool) -> None:
    """Rewrite policy files in the canonical format (comments are kept).

    \b
    Examples:
      smartx policy fmt                 format the rules directory
      smartx policy fmt --check rules/  in CI: fail when a file needs formatting
    """
    changed = []
    for path in _targets(env, paths):
        parsed = parse_file(path)
        formatted = format_file(parsed)
        if formatted != parsed.source:
            changed.append(path)
            if not check:
                path.write_text(formatted, encoding="utf-8")
    verb = "would reformat" if check else "reformatted"
    for path in changed:
        click.echo(f"{verb} {path}")
    click.echo(f"{len(changed)} file(s) {verb}" if changed else "all policy files are formatted")
    if check and changed:
        raise SystemExit(1)


@policy_group.command(name="test")
@click.argument("target", required=False, type=click.Path(exists=True, path_type=Path))
@json_option
@pass_env
def policy_test(env: Env, target: Path | None, as_json: bool) -> None:
    """Run the table-driven policy tests (*.test.toml) and report coverage.

    TARGET is a rules directory (default: the rules directory) or one test file in it. Its
    policies are loaded and validated first, so a broken policy fails the run. Each case is a
    one-sleeve book and what the policies should decide for it. Exits 1 when a case fails.

    \b
    Examples:
      smartx policy test                          every test in the rules directory
      smartx policy test rules/growth.test.toml   one file
    """
    result = policytest.run(target or env.rules_dir)
    emit(as_json, result.to_json(), lambda: _print_test_run(result))
    if not result.passed:
        raise SystemExit(1)


def _print_test_run(result: policytest.PolicyTestRun) -> None:
    for file, group in itertools.groupby(result.results, key=lambda r: r.case.file):
        click.echo(file)
        for case in group:
            if case.passed:
                click.echo(f"  {click.style('PASS', fg='green')}  {case.case.name}")
                continue
            click.echo(f"  {click.style('FAIL', fg='red')}  {case.case.name}  ({case.case.where})")
            for mismatch in case.mismatches:
                click.echo(f"          {mismatch.render()}")
    for policy, items in itertools.groupby(result.coverage, key=lambda c: c.policy):
        items = list(items)
        covered = sum(item.covered for item in items)
        print_table(f"Coverage of {policy}: {covered}/{len(items)} statements fired by a passing case",
                    ["", "statement", "at", "fired by"],
                    [("ok" if item.covered else "UNCOVERED", item.statement, f"{item.path}:{item.line}",
                      (item.cases[0] + (f" (+{len(item.cases) - 1})" if len(item.cases) > 1 else ""))
                      if item.covered else "") for item in items],
                    empty="no bands, triggers or rules")
    click.secho(result.summary, fg="red" if result.failures else "yellow" if result.uncovered else "green")


@policy_group.command(name="explain")
@click.option("--sleeve", "sleeve_id", required=True, help="The sleeve to explain.")
@as_of_option
@json_option
@pass_env
def policy_explain(env: Env, sleeve_id: str, as_of: dt.datetime | None, as_json: bool) -> None:
    """Explain which policy applies to a sleeve, and every band, trigger and rule it evaluated.

    \b
    Example:
      smartx policy explain --sleeve S-1001-CORE --as-of 2026-11-20
    """
    store = env.store()
    store.sleeve(sleeve_id)  # a clear error for an unknown sleeve
    policies = load_rules(env.rules_dir)
    snapshot = Book.from_store(store, _as_of(as_of))
    index = int(list(snapshot.sleeve_ids).index(sleeve_id)) if sleeve_id in snapshot.sleeve_ids else None
    if index is None:
        raise NotFoundError(f"no sleeve {sleeve_id!r}")
    report = explain_sleeve(policies.evaluate(snapshot), index)
    emit(as_json, report, lambda: _print_explanation(report))


def _print_explanation(report: dict) -> None:
    if report["policy"] is None:
        click.echo(report["problem"])
        return
    state = "skipped" if report["skipped"] else "rebalances" if report["triggered"] else "within tolerance"
    click.echo(f"{report['sleeve_id']}: policy {report['policy']} ({report['resolved_by']}) - {state}")
    for reason in report["reasons"]:
        click.echo(f"  - {reason}")
    for flag in report["flags"]:
        click.echo(f"  ! flag: {flag}")
    if report["require_approval"]:
        click.echo("  ! trades need approval")
    print_table("Holdings against their bands",
                ["symbol", "weight", "target", "drift", "abs band", "rel band", "out of band", "rule"],
                [(h["symbol"], _pct(h["weight"]), _pct(h["target"]), _pct(h["drift"]), _pct(h["absolute_band"]),
                  _pct(h["relative_band"]), h["out_of_band"] or "",
                  "hold" if h["hold"] else f"sell to {_pct(h['sell_to'])}" if h["sell_to"] is not None else "")
                 for h in report["holdings"]],
                numeric=["weight", "target", "drift", "abs band", "rel band"])
    change = report["model_change"]
    if change["change"]:
        how = ("realign to target" if change["realign"] else
               f"within `{change['statement']}`: the bands decide" if change["statement"] else
               "no `realign on model change`: the bands decide")
        click.echo(f"model change {change['change']}: largest weight move {_pct(change['largest_move'])}; {how}")
    cash = report["cash"]
    click.echo(f"cash {_pct(cash['weight'])} (target {_pct(cash['target'])}, min {_pct(cash['min'])}, "
               f"max {_pct(cash['max'])})")
    print_table("Triggers and rules", ["statement", "at", "fired", "values"],
                [(t["statement"], t["at"], "yes" if t["fired"] else "no", _values(t["values"]))
                 for t in report["triggers"]]
                + [(f"rule {r['name']!r} then {r['action']}", r["at"], "yes" if r["fired"] else "no",
                    _values(r.get("values", {})) or ", ".join(r.get("holdings", [])))
                   for r in report["rules"]], empty="no triggers or rules")
    lots = report["lots"]
    if lots["harvest"] or lots["avoid_short_term_gain"]:
        click.echo(f"lots to harvest: {', '.join(lots['harvest']) or '-'}; "
                   f"short-term gains to avoid: {', '.join(lots['avoid_short_term_gain']) or '-'}")


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.2%}"


def _values(values: dict) -> str:
    """``field = value`` pairs, each number shown in its field's unit."""
    shown = []
    for name, value in values.items():
        unit = FIELDS[tuple(name.split("."))].type.unit if isinstance(value, float) else None
        text = (_pct(value) if unit == "ratio" else f"{value:,.2f} USD" if unit == "usd"
                else f"{value:g}" if isinstance(value, float) else str(value))
        shown.append(f"{name} = {text}")
    return ", ".join(shown)
