"""docs/models.md is checked: every error message its validation table and DELTA section quote is
one the engine gives (``...`` stands for any text)."""

import re
from pathlib import Path

from .conftest import CUSIPS, delivery, line
from .test_validate import BAD, accept, delta, judged

DOC = Path(__file__).parents[2] / "docs" / "models.md"


def section(title: str) -> str:
    return DOC.read_text().split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def spans(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", re.sub(r"`{2}", "", text.replace("\n  ", " ")))


def quoted() -> list[str]:
    """The messages quoted in the example column of the validation table, and in the DELTA section."""
    rows = [row.rsplit("|", 2)[1] for row in section("Validation").splitlines() if row.startswith("| ")]
    table = [s for row in rows[1:] for s in spans(row)]
    return table + [s for s in spans(section("DELTA versions")) if "version 2026" in s or s.startswith("= help")]


def messages(store) -> str:
    """Every message the examples of the doc come from."""
    found = [judged(store, delivery(lines=lines, **changes)).message for lines, changes, _ in BAD.values()]
    found.append(judged(store, delivery(lines=[line(CUSIPS["VTI"], "0.60"), line("922042775", "0.38", ticker="VEU"),
                                               line("USD", "0.02")])).message)
    accept(store, delivery())
    found += [judged(store, delivery(version="2026.11.2", effective="2026-11-22")).message,
              judged(store, delivery(lines=[line(CUSIPS["VTI"], "0.59"), line(CUSIPS["BND"], "0.39"),
                                            line("USD", "0.02")])).message,
              judged(store, delta(line(CUSIPS["VTI"], "0.6", action="UPDATE"), previous="2026.10.1")).message,
              judged(store, delta(line(CUSIPS["BND"], "0.38", action="ADD"))).message,
              judged(store, delta(line(CUSIPS["VEA"], "0.38", action="UPDATE"))).message]
    return "\n".join(m for m in found if m)


def test_every_message_the_doc_quotes_is_given(store):
    given = messages(store)
    examples = quoted()
    assert len(examples) > 15
    for example in examples:
        pattern = ".*".join(re.escape(part) for part in example.split("..."))
        assert re.search(pattern, given, re.S), example
