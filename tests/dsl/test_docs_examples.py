"""The policy language reference (docs/policy-language.md) is checked: its examples, and that it
covers the whole language.

Conventions for the examples, by the info string of each fenced block:

- ```policy: parses and validates with no diagnostic at all (no error and no warning).
- ```policy-error: produces at least one error. ```policy-warning: produces warnings and no error.
  Either one is followed directly (only blank lines between) by a ```text block that holds the
  exact rendered diagnostics (``Diagnostic.render()``, one after another) of the example, whose
  path is ``example.policy``. When the text block does not start with ``example.policy:``, the
  ``example.policy:LINE:COLUMN: `` prefix is dropped from the actual output before comparing, so
  fragments show ``error: ...``. Trailing spaces are ignored.
- A block whose first word (after comments and blank lines) is ``policy`` is a whole file,
  checked alone: a policy that extends another carries its parent in the same block. Any other
  block is a fragment, checked as ``policy "example" {\\n<block>\\n}``, so its first line is line 2.
- ```python blocks that define ``register_policy_functions`` are run, and the functions they
  register are known to every policy example (the plugin-function section).
- The "Every check" table: each row is an example (a one-line fragment, or a one-line whole file,
  in a code span) and its first diagnostic as ``severity: message`` (in a double-backtick span).
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from pathlib import Path

import attrs
import pytest

from smartx_engine.book import Book
from smartx_engine.dsl import ast, fmt, parser, schema
from smartx_engine.dsl.compile import Settings, compile_policy
from smartx_engine.dsl.parser import parse
from smartx_engine.dsl.validate import KEYWORDS, validate
from smartx_engine.errors import Diagnostic, PolicyError

DOC = Path(__file__).parents[2] / "docs" / "policy-language.md"
PATH = "example.policy"
LOCATION = re.compile(r"^example\.policy:\d+(:\d+)?: ", re.MULTILINE)


@attrs.frozen
class Block:
    info: str
    text: str
    line: int  # of the opening fence, 1-based
    end: int  # of the closing fence


def blocks(markdown: str) -> list[Block]:
    found, lines, index = [], markdown.split("\n"), 0
    while index < len(lines):
        opening = re.match(r"^```(\S*)\s*$", lines[index])
        if not opening:
            index += 1
            continue
        close = next(i for i in range(index + 1, len(lines)) if lines[i].rstrip() == "```")
        found.append(Block(opening.group(1), "\n".join(lines[index + 1:close]), index + 1, close + 1))
        index = close + 1
    return found


DOC_TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = blocks(DOC_TEXT)
POLICY_BLOCKS = [b for b in BLOCKS if b.info == "policy"]
FAILING_BLOCKS = [b for b in BLOCKS if b.info in ("policy-error", "policy-warning")]


def is_whole_file(text: str) -> bool:
    meaningful = [line for line in text.split("\n") if line.strip() and not line.strip().startswith("#")]
    return bool(meaningful) and re.match(r"\s*policy\b", meaningful[0]) is not None


def as_file(text: str) -> str:
    return text if is_whole_file(text) else f'policy "example" {{\n{text}\n}}\n'


def doc_functions() -> dict:
    """The policy functions registered by the doc's plugin example."""
    functions: dict = {}
    for block in BLOCKS:
        if block.info == "python" and "register_policy_functions" in block.text:
            namespace: dict = {}
            exec(compile(block.text, f"{DOC}:{block.line}", "exec"), namespace)  # noqa: S102 - our own doc
            namespace["register_policy_functions"](lambda f: functions.__setitem__(f.name, f))
    return functions


FUNCTIONS = doc_functions()


def diagnostics(text: str) -> list[Diagnostic]:
    try:
        parsed = parse(as_file(text), PATH)
    except PolicyError as exc:
        return list(exc.diagnostics)
    return list(validate([parsed], FUNCTIONS).diagnostics)


def rendered(found: list[Diagnostic], with_location: bool) -> str:
    text = "\n".join(d.render() for d in found)
    text = text if with_location else LOCATION.sub("", text)
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _id(block: Block) -> str:
    return f"line{block.line}"


# ---------------------------------------------------------------- examples


def test_the_doc_has_examples():
    assert len(POLICY_BLOCKS) >= 25 and len(FAILING_BLOCKS) >= 10
    assert FUNCTIONS, "the plugin example registers no function"


@pytest.mark.parametrize("block", POLICY_BLOCKS, ids=_id)
def test_policy_example_is_valid(block: Block):
    found = diagnostics(block.text)
    assert not found, f"docs/policy-language.md:{block.line}:\n" + rendered(found, True)


def expected_output(block: Block) -> Block:
    """The ```text block right after a failing example."""
    following = [b for b in BLOCKS if b.line > block.end]
    assert following, f"line {block.line}: no ```text block follows"
    after = following[0]
    between = DOC_TEXT.split("\n")[block.end:after.line - 1]
    assert after.info == "text" and all(not line.strip() for line in between), (
        f"line {block.line}: a {block.info} block must be followed directly by a ```text block")
    return after


@pytest.mark.parametrize("block", FAILING_BLOCKS, ids=_id)
def test_failing_example_gives_the_stated_diagnostics(block: Block):
    expected = expected_output(block).text.rstrip("\n")
    found = diagnostics(block.text)
    severities = {d.severity for d in found}
    if block.info == "policy-error":
        assert "error" in severities, f"line {block.line}: no error"
    else:
        assert severities == {"warning"}, f"line {block.line}: expected warnings only, got {severities}"
    expected = "\n".join(line.rstrip() for line in expected.split("\n"))
    assert rendered(found, expected.startswith(f"{PATH}:")) == expected


# ---------------------------------------------------------------- the table of every check


def check_rows() -> list[tuple[int, str, str]]:
    lines = DOC_TEXT.split("\n")
    start = lines.index("### Every check")
    rows = []
    for number, line in enumerate(lines[start:], start + 1):
        if line.startswith("#") and number > start + 1:
            break
        match = re.match(r"^\| `([^`]+)` \| `` (.+) `` \|$", line)
        if match:
            rows.append((number, match.group(1), match.group(2)))
    return rows


CHECK_ROWS = check_rows()


def test_the_check_table_covers_the_checks():
    assert len(CHECK_ROWS) >= 50


@pytest.mark.parametrize(("line", "example", "message"), CHECK_ROWS, ids=[f"line{r[0]}" for r in CHECK_ROWS])
def test_check_table_row(line: int, example: str, message: str):
    found = diagnostics(example)
    assert found, f"line {line}: `{example}` gets no diagnostic"
    assert f"{found[0].severity}: {found[0].message}" == message


# ---------------------------------------------------------------- coverage of the language


def code_words() -> set[str]:
    """Every word inside code: fenced blocks and inline code spans."""
    code = [b.text for b in BLOCKS] + re.findall(r"`+([^`]+)`+", DOC_TEXT)
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", "\n".join(code)))


WORDS = code_words()


def field_rows() -> dict[str, tuple[str, str]]:
    rows = {}
    for match in re.finditer(r"^\| `(\w+)\.(\w+)` \| ([^|]+) \| ([^|]+) \|", DOC_TEXT, re.MULTILINE):
        rows[f"{match.group(1)}.{match.group(2)}"] = (match.group(3).strip(), match.group(4).strip())
    return rows


def type_words(type_: schema.Type) -> str:
    return re.sub(r"^an? ", "", str(type_))


def test_every_field_has_a_row_with_its_grain_and_type():
    rows = field_rows()
    for (grain, name), spec in schema.FIELDS.items():
        key = f"{grain}.{name}"
        assert key in rows, f"no row for {key}"
        assert rows[key] == (spec.grain.noun, type_words(spec.type)), key
    stale = set(rows) - {f"{g}.{n}" for g, n in schema.FIELDS}
    assert not stale, f"rows for fields that do not exist: {stale}"


def test_every_aggregate_and_function_is_documented():
    for name in [*schema.AGGREGATES, *schema.FUNCTIONS]:
        assert f"`{name}(" in DOC_TEXT, name
    assert "register_policy_functions" in DOC_TEXT and "PolicyFunction" in DOC_TEXT


def test_every_keyword_of_the_grammar_is_documented():
    keywords = {literal for literal in parser._terminal_literals().values() if literal.isalpha()}
    assert {"policy", "applies", "harvest", "never", "approval"} <= keywords
    assert keywords - WORDS == set()


STATEMENTS = {
    ast.Applies: "applies to", ast.Band: "drift band", ast.Trigger: "trigger when", ast.Rebalance: "rebalance to",
    ast.Realign: "realign on model change",
    ast.CashTarget: "target cash", ast.MinTrade: "min trade", ast.Shares: "shares", ast.Lots: "lots",
    ast.AvoidShortTerm: "avoid short term gains", ast.GainBudget: "gain budget", ast.Harvest: "harvest when",
    ast.WashSale: "wash sale window", ast.Substitute: "substitute", ast.Identical: "identical",
    ast.Restrict: "restrict", ast.Rule: "rule",
}
ACTIONS = {ast.Skip: "skip", ast.Hold: "hold", ast.Flag: "flag", ast.SellTo: "sell to",
           ast.RequireApproval: "require approval"}


def test_every_statement_and_action_is_documented():
    assert set(STATEMENTS) == set(typing.get_args(ast.Statement))
    assert set(ACTIONS) == set(typing.get_args(ast.Action))
    headings = re.findall(r"^### (.+)$", DOC_TEXT, re.MULTILINE)
    for form in STATEMENTS.values():
        assert form.split()[0] in " ".join(headings), f"no section for `{form}`"
    for form in [*STATEMENTS.values(), *ACTIONS.values(), *KEYWORDS.values(), "harvest never"]:
        assert f"`{form}" in DOC_TEXT, form


def enumerations() -> dict[str, tuple[str, ...]]:
    return {name: value for name, value in vars(schema).items()
            if isinstance(value, tuple) and value and all(isinstance(v, str) for v in value)}


def test_every_enumeration_value_is_documented():
    found = enumerations()
    assert {"BAND_KINDS", "LOT_METHODS", "WASH_SCOPES", "RESTRICT_SIDES"} <= set(found)
    for name, values in found.items():
        for value in values:
            assert f"`{value}`" in DOC_TEXT, f"{name}: {value}"
    for value in [*schema.GRAIN_NAMES, *(u for u in schema.UNITS if u)]:
        assert value in WORDS or f"`{value}`" in DOC_TEXT or f"{value}`" in DOC_TEXT, value


def test_the_defaults_table_matches_the_compiler():
    lines = DOC_TEXT.split("\n")
    start = lines.index("## Defaults")
    table = {}
    for line in lines[start:]:
        if line.startswith("## ") and line != "## Defaults":
            break
        if match := re.match(r"^\| `([^`|]+)`[^|]* \| (.+) \|$", line):
            table[match.group(1)] = match.group(2)
    settings = Settings()
    assert f"`{settings.rebalance_to}`" in table["rebalance to"]
    assert f"`{settings.min_trade} USD`" in table["min trade"]
    assert f"`{settings.shares}`" in table["shares"]
    assert f"`{settings.lot_method}`" in table["lots"]
    assert f"`{settings.wash_sale_days} days across {settings.wash_sale_scope}`" in table["wash sale window"]
    assert settings.gain_budget is None and "no budget" in table["gain budget"]
    assert settings.cash_min is None and settings.cash_max is None and "no minimum" in table["target cash"]
    assert not (settings.substitutes or settings.identical or settings.restrict_buy or settings.restrict_sell)


def test_the_inheritance_example_resolves_as_described():
    (block,) = [b for b in POLICY_BLOCKS if 'policy "core-ira"' in b.text]
    checked = validate([parse(block.text, PATH)])
    resolved = checked.policies["core-ira"]
    assert [fmt.statement(s) for s in resolved.statements] == [
        'drift band absolute 2% for holding.asset_class == "fixed_income"',
        "trigger when sleeve.cash_weight > 5%",
        'applies to sleeve.model == "CORE" and account.tax_treatment != "taxable"',
        "drift band absolute 3%",
        "trigger when sleeve.drift > 3%",
        "lots FIFO",
        'restrict buy "XOM", "CVX"',
    ]
    assert resolved.origins == ("core",) * 2 + ("core-ira",) * 5


def test_the_band_example_behaves_as_described():
    """"Drift bands in detail": a bond with a 4% target gets the 1% band, one with 10% the 3% band,
    an equity the 5% band; the bond at 10% is out of band 2.6 points off (its relative band)."""
    (block,) = [b for b in POLICY_BLOCKS if "holding.target < 5%" in b.text]
    policy = validate([parse(as_file(block.text), PATH)]).policies["example"]
    book = Book.assemble(
        as_of=dt.date(2026, 11, 20),
        securities=[("BND", "fixed_income", 1.0), ("SHY", "fixed_income", 1.0), ("VTI", "us_equity", 1.0)],
        accounts=[("A", "taxable", "schwab", "H", 0.3, 0.15)],
        sleeves=[("S", "A", "M", None, 0.0)],
        models={"M": {"SHY": 0.04, "BND": 0.10, "VTI": 0.86}},
        positions=[("S", "SHY", 40.0, 40.0), ("S", "BND", 126.0, 126.0), ("S", "VTI", 834.0, 834.0)], lots=[],
    )
    result = compile_policy(policy).evaluate(book)
    symbols = list(book.symbols[book.holding_symbol])
    limits = dict(zip(symbols, result.limit_abs.round(6)))
    assert limits == {"SHY": 0.01, "BND": 0.03, "VTI": 0.05}
    out = dict(zip(symbols, zip(result.out_abs, result.out_rel)))
    assert out == {"SHY": (False, False), "BND": (False, True), "VTI": (False, False)}
    assert result.triggered.tolist() == [True]
