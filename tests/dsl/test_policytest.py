"""`smartx policy test`: table-driven policy tests, their errors, coverage, and the rules library."""

import datetime as dt
import itertools
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from smartx_engine.book import Book
from smartx_engine.cli import cli
from smartx_engine.dsl import policytest, testcases
from smartx_engine.dsl.fmt import format_file
from smartx_engine.dsl.parser import parse_file
from smartx_engine.dsl.policyset import load, policy_paths
from smartx_engine.errors import PolicyError

RULES = Path(__file__).parents[2] / "rules"

#: a small suite against balanced.policy: 100,000 USD sleeves at 100 USD a share
HEADER = """\
as_of = 2026-11-20
[securities]
VTI = { asset_class = "us_equity", price = 100 }
VEA = { asset_class = "intl_equity", price = 100 }
BND = { asset_class = "fixed_income", price = 100 }
[models]
BAL = { VTI = 0.40, VEA = 0.20, BND = 0.38, "$CASH" = 0.02 }
"""
# VTI 46%: +6 > 5 -> absolute; BND 32%: -6 > 3 -> absolute; VEA on target. Cash 2%.
DRIFTED = """
[[case]]
name = "drifted"
assign = "balanced"
sleeve = { model = "BAL", cash = 2000 }
holdings = [{ symbol = "VTI", quantity = 460 }, { symbol = "VEA", quantity = 200 }, { symbol = "BND", quantity = 320 }]
[case.expect]
triggered = true
out_of_band = { VTI = "absolute", BND = "absolute" }
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """A rules directory holding balanced.policy and nothing else yet."""
    directory = tmp_path / "rules"
    directory.mkdir()
    shutil.copy(RULES / "balanced.policy", directory)
    return directory


def write(directory: Path, text: str, name: str = "balanced.test.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def smartx(rules: Path, *args: str):
    return CliRunner().invoke(cli, ["--rules", str(rules), "policy", "test", *args])


# ---------------------------------------------------------------- the rules library


def test_the_rules_library_passes_with_full_coverage():
    run = policytest.run(RULES)
    assert [r.case.name for r in run.failures] == []
    assert [(c.policy, c.statement) for c in run.uncovered] == []
    assert {c.policy for c in run.coverage} == {"balanced", "balanced-ira", "direct-index", "growth", "income",
                                                "ira", "legacy", "tax-managed"}
    # every suite has cases that trigger and cases that do not
    for _, results in itertools.groupby(run.results, key=lambda r: r.case.file):
        expected = {r.case.expect.get("triggered") for r in results}
        assert {True, False} <= expected


def test_every_policy_file_has_a_test_suite():
    policies = {p.name.removesuffix(".policy") for p in RULES.glob("*.policy")}
    suites = {p.name.removesuffix(".test.toml") for p in RULES.glob("*.test.toml")}
    assert policies == suites


def test_the_rules_library_is_formatted_except_balanced_which_stays_as_written():
    unformatted = [p.name for p in policy_paths(RULES) if format_file(parse_file(p)) != p.read_text()]
    assert unformatted in ([], ["balanced.policy"])


def test_no_two_policies_select_the_same_sleeve():
    """Every model (or none) in every registration: at most one `applies to` selects it."""
    models = {"BAL-60-40": {"VTI": 1.0}, "GRO-80-20": {"VTI": 1.0}, "INC-30-70": {"VTI": 1.0},
              "DI-US-LARGE": {"VTI": 1.0}, "": {}}
    registrations = ["taxable", "joint", "trust", "ira", "rollover_ira", "inherited_ira", "roth", "hsa"]
    combos = list(itertools.product(models, registrations))
    book = Book.assemble(
        as_of=dt.date(2026, 11, 20), securities=[("VTI", "us_equity", 100.0)],
        accounts=[(f"A{i}", r, "schwab", "HH", 0.37, 0.2) for i, (_, r) in enumerate(combos)],
        sleeves=[(f"S{i}", f"A{i}", m or None, None, 1000.0) for i, (m, _) in enumerate(combos)],
        models={m: w for m, w in models.items() if m}, positions=[], lots=[])
    policies = load(policy_paths(RULES))
    resolution = policies.resolve(book)
    several = [(combos[i], p) for i, p in resolution.problems.items() if "several" in p]
    assert several == []
    chosen = {combos[int(s[1:])]: resolution.names[c] for s, c in zip(book.sleeve_ids, resolution.policy_of) if c >= 0}
    assert chosen[("BAL-60-40", "taxable")] == "balanced"
    assert chosen[("BAL-60-40", "roth")] == "balanced-ira"
    assert chosen[("GRO-80-20", "ira")] == "growth"
    assert chosen[("INC-30-70", "joint")] == chosen[("INC-30-70", "roth")] == "income"
    assert chosen[("", "joint")] == chosen[("", "ira")] == "legacy"
    assert ("DI-US-LARGE", "taxable") not in chosen  # direct-index and ira are assigned by name


# ---------------------------------------------------------------- results and diffs


def test_a_passing_suite(rules):
    write(rules, HEADER + DRIFTED)
    run = policytest.run(rules)
    assert run.passed and [r.policy for r in run.results] == ["balanced"]


def test_the_documented_example_passes(rules):
    doc = testcases.__doc__
    write(rules, textwrap.dedent(doc[doc.index("A file::") + len("A file::"):doc.index("Expectation keys")]))
    run = policytest.run(rules)
    assert run.passed and [r.case.name for r in run.results] == ["equities rallied"]


def test_a_wrong_expectation_fails_with_a_readable_diff(rules):
    wrong = DRIFTED.replace('BND = "absolute" }', 'BND = "relative" }\nflags = ["invest new money"]')
    path = write(rules, HEADER + wrong)
    run = policytest.run(rules)
    assert not run.passed
    (failure,) = run.failures
    assert failure.case.where == f"{path}:9"
    assert [m.render() for m in failure.mismatches] == [
        "out_of_band: expected {BND = [relative], VTI = [absolute]}, got {BND = [absolute], VTI = [absolute]}",
        "flags: expected ['invest new money'], got none",
    ]


def test_an_unexpected_policy_is_a_mismatch(rules):
    write(rules, HEADER + DRIFTED.replace('assign = "balanced"', 'account = { registration = "roth" }\n'
                                          'policy = "balanced-ira"'))
    (result,) = policytest.run(rules).results
    assert [m.render() for m in result.mismatches] == [
        "policy: expected balanced-ira, got none (sleeve S-TEST matches no policy's `applies to`; "
        "assign one with `smartx sleeves assign`)"]


def test_lots_make_the_holding(rules):
    write(rules, HEADER + """
[[case]]
name = "lots"
policy = "balanced"
sleeve = { model = "BAL", cash = 2000 }
holdings = [{ symbol = "VTI" }, { symbol = "VEA", quantity = 200 }, { symbol = "BND", quantity = 380, cost = 40000 }]
lots = [
  { symbol = "VTI", quantity = 300, cost = 24000, acquired = 2023-06-01 },
  { symbol = "VTI", id = "late", quantity = 100, cost = 11000, acquired = 2026-01-05 },
]
[case.expect]
harvest = []
avoid_short_term = []
""")
    (case,) = policytest.load_cases(rules / "balanced.test.toml", load(policy_paths(rules)))
    book = case.book
    assert list(book.symbols[book.holding_symbol]) == ["BND", "VEA", "VTI"]
    assert list(book.holding_quantity) == [380, 200, 400]
    assert list(book.holding_cost) == [40000, 20000, 35000]  # VEA: bought at today's price
    assert list(book.lot_ids) == ["VTI-1", "late"]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("text", "where", "message"), [
    ('as_of = 2026-11-20\n[[case]]\nname = "x"\nholdings = [{ symbol = "VTI", quantity = 1 ]\n',
     ":4:44:", "error: Unclosed inline table"),
    (HEADER + '[[case]]\nname = "typo"\npolcy = "balanced"\n',
     ":8:", "case 'typo': unknown key `polcy` (did you mean `policy`?)"),
    (HEADER + '[[case]]\nname = "type"\nsleeve = { cash = "lots" }\npolicy = "balanced"\n',
     ":8:", "case 'type': `sleeve.cash` must be a number, not a string"),
    (HEADER + '[[case]]\nname = "symbol"\npolicy = "balanced"\nholdings = [{ symbol = "AAPL", quantity = 1 }]\n',
     ":8:", "case 'symbol': `holdings[0]`: unknown symbol AAPL: give its asset_class and price here or under "
     "[securities]"),
    (HEADER + '[[case]]\nname = "lots"\npolicy = "balanced"\nholdings = [{ symbol = "VTI", quantity = 10 }]\n'
     'lots = [{ symbol = "VTI", quantity = 9, cost = 900, acquired = 2025-01-02 }]\n',
     ":8:", "case 'lots': holding VTI has quantity 10 but its lots sum to 9"),
    (HEADER + '[[case]]\nname = "rule"\nsleeve = { model = "BAL" }\n[case.expect]\nrules = ["trim concentratd"]\n',
     ":8:", "`expect.rules[0]`: 'trim concentratd' is not the name of a rule (did you mean `trim concentrated`?)"),
    (HEADER + '[[case]]\nname = "assign"\nassign = "balanced_ira"\n',
     ":8:", "no policy 'balanced_ira' in the rules (did you mean `balanced-ira`?)"),
    (HEADER.replace("0.38", "0.30") + '[[case]]\nname = "x"\npolicy = "balanced"\n',
     ":7:", "the weights of `models.BAL` sum to 0.92, not 1"),
    (HEADER + '[[case]]\nname = "later"\npolicy = "balanced"\n[case.expect]\ntrades = []\n',
     ":8:", "unknown key `expect.trades` (expected trades come with the rebalancer"),
])
def test_a_bad_test_file_gives_a_located_error(rules, text, where, message):
    path = write(rules, text)
    with pytest.raises(PolicyError) as raised:
        policytest.run(rules)
    rendered = str(raised.value)
    assert f"{path}{where}" in rendered and message in rendered


def test_every_bad_case_is_reported_at_once(rules):
    write(rules, HEADER + '[[case]]\nname = "a"\n\n[[case]]\nname = "b"\nassign = "nope"\n')
    with pytest.raises(PolicyError) as raised:
        policytest.run(rules)
    assert [(d.line, d.message.split(":")[0]) for d in raised.value.diagnostics] == [(8, "case 'a'"), (11, "case 'b'")]


def test_a_broken_policy_fails_the_run(rules):
    write(rules, HEADER + DRIFTED)
    write(rules, 'policy "broken" {\n  drift band absolut 5%\n}\n', "broken.policy")
    with pytest.raises(PolicyError) as raised:
        policytest.run(rules)
    assert "broken.policy:2:14: error: unknown band kind `absolut`" in str(raised.value)


def test_a_directory_without_tests_is_an_error(rules):
    with pytest.raises(PolicyError, match=r"no policy tests \(\*\.test\.toml\)"):
        policytest.run(rules)


# ---------------------------------------------------------------- coverage


def test_coverage_reports_the_statements_no_passing_case_fired(rules):
    failing = DRIFTED.replace('"drifted"', '"failing"').replace("cash = 2000", "cash = 150000").replace(
        "triggered = true", "triggered = false")  # fires "large cash" but fails
    write(rules, HEADER + DRIFTED + failing)
    run = policytest.run(rules)
    assert [r.case.name for r in run.failures] == ["failing"]
    coverage = {(c.policy, c.statement): c for c in run.coverage}
    large_cash = coverage[("balanced", 'rule "large cash" when sleeve.cash > 100000 USD then flag "invest new money"')]
    assert not large_cash.covered and large_cash.line == 26 and large_cash.inherited_from is None
    assert coverage[("balanced", "drift band absolute 5%")].cases == ("drifted",)
    assert coverage[("balanced", 'drift band absolute 300 bps for holding.asset_class == "fixed_income"')].covered
    assert not coverage[("balanced", "drift band relative 25%")].covered
    inherited = coverage[("balanced-ira", "drift band absolute 5%")]
    assert inherited.inherited_from == "balanced" and not inherited.covered  # no balanced-ira case
    assert len(run.uncovered) == len(run.coverage) - 3  # absolute, fixed income band, trim concentrated


# ---------------------------------------------------------------- the command


def test_the_command_passes_and_prints_coverage(rules):
    write(rules, HEADER + DRIFTED)
    result = smartx(rules)
    assert result.exit_code == 0, result.output
    assert "PASS  drifted" in result.output
    assert "UNCOVERED" in result.output and "1 cases: 1 passed, 0 failed; 3/17 statements covered" in result.output


def test_the_command_fails_on_a_mismatch_with_the_diff(rules):
    write(rules, HEADER + DRIFTED.replace("triggered = true", "triggered = false"))
    result = smartx(rules)
    assert result.exit_code == 1
    assert "FAIL  drifted" in result.output and "triggered: expected false, got true" in result.output


def test_the_command_reports_bad_input_without_a_traceback(rules):
    write(rules, "[[case]\n")
    result = smartx(rules)
    assert result.exit_code == 1
    assert "balanced.test.toml:1:" in result.output and "Traceback" not in result.output


def test_the_command_runs_one_file_and_prints_json(rules):
    path = write(rules, HEADER + DRIFTED)
    write(rules, "this is not toml", "other.test.toml")  # not read: only the named file runs
    result = smartx(rules, str(path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["passed"], data["failed"], data["covered"], data["statements"]) == (1, 0, 3, 17)
    assert data["cases"][0] == {"file": str(path), "line": 9, "name": "drifted", "policy": "balanced",
                                "passed": True, "mismatches": []}
    assert {"policy", "kind", "statement", "at", "inherited_from", "covered", "cases"} == set(data["coverage"][0])


def test_the_command_runs_the_rules_library():
    result = CliRunner().invoke(cli, ["--rules", str(RULES), "policy", "test"])
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output and "UNCOVERED" not in result.output
