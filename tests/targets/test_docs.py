"""docs/models.md, "UMA construction": its example is the engine's output and the messages it
quotes are the engine's."""

import json
import re
from pathlib import Path

import pytest

from smartx_engine.domain import ModelVersion, ModelWeight
from smartx_engine.errors import TargetError
from smartx_engine.targets import Restriction, RestrictionKind, TargetSpec, effective_target, parse_allocation, \
    parse_blend

DOC = Path(__file__).parents[2] / "docs" / "models.md"
RULES = Path(__file__).parents[2] / "rules"


def section() -> str:
    return DOC.read_text().split("## UMA construction\n", 1)[1].split("\n## ", 1)[0]


def example(prompt: str) -> list[str]:
    """The lines a ``$ smartx ...`` of the section prints, as the doc shows them."""
    block = section().split(f"$ {prompt}\n", 1)[1]
    return block.split("\n$ ", 1)[0].split("\n```", 1)[0].splitlines()


def cells(line: str) -> list[str]:
    borders = set("━┏┓┗┛┡┩└┘─┳┻╇┴")
    return [c.strip() for c in re.split(r"[│┃]| {2,}", line) if c.strip() and set(c.strip()) - borders]


def test_the_restriction_example_is_the_engine_output(imported, smartx):
    smartx("sleeves", "assign", "SCH-1-CORE", "--blend", "BAL-60-40:0.6,GRO-80-20:0.4")
    restrict = "smartx accounts restrict SCH-1 --exclude VEA --substitute VTI=ITOT --note 'ESG sleeve of the Riveras'"
    out = smartx("accounts", "restrict", "SCH-1", "--exclude", "VEA", "--substitute", "VTI=ITOT",
                 "--note", "ESG sleeve of the Riveras").output
    assert out.splitlines() == example(restrict)
    shown = smartx("sleeves", "target", "SCH-1-CORE").output.splitlines()
    documented = example("smartx sleeves target SCH-1-CORE")
    assert shown[:2] == documented[:2]
    rows = [cells(line) for line in shown[2:] if cells(line) and not cells(line)[0] == "symbol"]
    assert rows == [cells(line) for line in documented[3:]]


def test_the_reason_examples_are_the_engine_output(imported, smartx):
    smartx("sleeves", "assign", "SCH-1-CORE", "--blend", "BAL-60-40:0.6,GRO-80-20:0.4")
    smartx("accounts", "restrict", "SCH-1", "--exclude", "VEA", "--substitute", "VTI=ITOT")
    trades = json.loads(smartx("--rules", str(RULES), "rebalance", "--sleeve", "SCH-1-CORE", "--as-of", "2026-11-20",
                               "--dry-run", "--json").output)
    first = {t["symbol"]: t["reasons"][0] for t in trades}
    text = section()
    vea = text.split("sells VEA with\n\n```\n", 1)[1].split("\n```", 1)[0]
    assert first["VEA"] == vea
    assert f"buys ITOT `{first['ITOT']}`" in text


def quoted_errors() -> list[str]:
    return [m for m in re.findall(r"\(`([^`]+)`\)", section()) if " " in m]


GRO = ModelVersion("GRO-80-20", "1", [ModelWeight("VTI", "0.98"), ModelWeight("$CASH", "0.02")])


def engine_messages() -> str:
    found = []
    for attempt in (lambda: parse_blend("GRO-80-20:0.6,INC-30-70:0.3"), lambda: parse_blend("GRO-80-20:1"),
                    lambda: parse_allocation("VTI:0.98,:0.02"),
                    lambda: effective_target(TargetSpec.model("GRO-80-20"), {"GRO-80-20": GRO}, [
                        Restriction("A", "VTI", RestrictionKind.SUBSTITUTE, "ESGV"),
                        Restriction("A", "ESGV", RestrictionKind.EXCLUDE)])):
        with pytest.raises(TargetError) as caught:
            attempt()
        found.append(str(caught.value))
    return "\n".join(found)


def test_every_message_the_section_quotes_is_given(imported, smartx):
    given = engine_messages()
    given += smartx("sleeves", "assign", "SCH-1-CORE", "--allocation", "VTX:1", expect=1).output
    smartx("sleeves", "assign", "SCH-1-LEGACY", "--allocation", "AAPL:0.98,$CASH:0.02")
    given += smartx("accounts", "restrict", "SCH-1", "--exclude", "AAPL", expect=1).output
    examples = quoted_errors()
    assert len(examples) >= 4
    for quoted in examples:
        pattern = r"\s*".join(".*".join(re.escape(part) for part in word.split("...")) for word in quoted.split())
        assert re.search(pattern, given, re.S), quoted
