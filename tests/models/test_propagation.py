"""A new model version reaches the sleeves on its effective date: targets, model changes, realignment."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from smartx_engine.book import Book
from smartx_engine.cli import cli
from smartx_engine.models import sync_models
from smartx_engine.store import ModelChange
from smartx_engine.targets import assign_target, model_changes, parse_blend
from smartx_engine.testing import FakeModelFeed

from .conftest import CUSIPS, delivery, line

BEFORE, EFFECTIVE = dt.date(2026, 11, 20), dt.date(2026, 11, 23)


@pytest.fixture
def revised(store):
    """SCH-2-CORE rebalanced to GRO-80-20 2026.1; then the manager's 2026.2 (VTI +1%, VEA -1%) from the 23rd."""
    store.mark_rebalanced({"SCH-2-CORE": "2026.1"}, dt.date(2026, 11, 2))
    feed = FakeModelFeed("acme", [delivery(
        "GRO-80-20", "2026.2", [line(CUSIPS["VTI"], "0.61", action="UPDATE"), line(CUSIPS["VEA"], "0.18", action="UPDATE")],
        change="DELTA", previous="2026.1", cash="0.02", effective=EFFECTIVE.isoformat())])
    assert sync_models(store, {"acme": feed}).ok
    return store


def target(book: Book, sleeve: str, symbol: str) -> float:
    s = list(book.sleeve_ids).index(sleeve)
    (h,) = [h for h in range(book.n_holdings)
            if book.holding_sleeve[h] == s and book.symbols[book.holding_symbol[h]] == symbol]
    return float(book.holding_target[h])


def test_a_version_effective_later_waits_then_changes_the_target_and_marks_the_sleeve(revised):
    waiting = Book.from_store(revised, BEFORE)
    assert target(waiting, "SCH-2-CORE", "VTI") == 0.60 and not waiting.sleeve_model_changed.any()
    assert [c.sleeve_id for c in revised.model_changes(BEFORE)] == []
    book = Book.from_store(revised, EFFECTIVE)
    s = list(book.sleeve_ids).index("SCH-2-CORE")
    assert target(book, "SCH-2-CORE", "VTI") == 0.61
    assert bool(book.sleeve_model_changed[s]) and book.sleeve_model_change[s] == "GRO-80-20 2026.1 → 2026.2"
    assert book.sleeve_model_move[s] == pytest.approx(0.01)
    assert revised.latest_model_versions(BEFORE)["GRO-80-20"] == "2026.1"
    assert revised.latest_model_versions(EFFECTIVE)["GRO-80-20"] == "2026.2"


@pytest.mark.parametrize("threshold, realigned", [("0.50%", True), ("2%", False)])
def test_the_next_rebalance_says_model_change_and_realigns_past_the_threshold(revised, tmp_path, threshold, realigned):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "growth.policy").write_text(
        'policy "growth" {\n  applies to sleeve.model == "GRO-80-20"\n  rebalance to band\n'
        f'  drift band absolute 50%\n  realign on model change above {threshold}\n}}\n')

    def rebalance(as_of: dt.date) -> list[dict]:
        result = CliRunner().invoke(cli, ["--db", str(tmp_path / "firm.db"), "--rules", str(rules), "rebalance",
                                          "--sleeve", "SCH-2-CORE", "--as-of", as_of.isoformat(), "--dry-run", "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    assert rebalance(BEFORE) == []  # the new version is not in force yet, and no band breaks
    trades = rebalance(EFFECTIVE)
    if realigned:
        assert trades and all(any(r.startswith("model change GRO-80-20 2026.1 → 2026.2: realigned to target, "
                                               "largest weight move 1.00%") for r in t["reasons"]) for t in trades)
    else:
        assert trades == []  # within the threshold: the (wide) bands decide


def test_a_blend_sleeve_follows_each_of_its_models_versions(store):
    """SCH-1-CORE blends GRO-80-20 60% and BAL-60-40 40%: GRO's 2026.2 (VTI +1%, VEA -1%) moves its
    target by 0.6 x 1% = 0.60%; a model blended in since the last rebalance is a whole move."""
    assign_target(store, "SCH-1-CORE", parse_blend("GRO-80-20:0.6,BAL-60-40:0.4"))
    store.mark_rebalanced(["SCH-1-CORE"], dt.date(2026, 11, 2))
    assert store.model_changes(EFFECTIVE) == []
    feed = FakeModelFeed("acme", [delivery(
        "GRO-80-20", "2026.2", [line(CUSIPS["VTI"], "0.61", action="UPDATE"), line(CUSIPS["VEA"], "0.18", action="UPDATE")],
        change="DELTA", previous="2026.1", cash="0.02", effective=EFFECTIVE.isoformat())])
    assert sync_models(store, {"acme": feed}).ok
    assert store.model_changes(BEFORE) == []
    assert store.model_changes(EFFECTIVE) == [
        ModelChange("SCH-1-CORE", "GRO-80-20", "2026.1", "2026.2", dt.date(2026, 11, 2), Decimal("0.6"))]
    book = Book.from_store(store, EFFECTIVE)
    s = list(book.sleeve_ids).index("SCH-1-CORE")
    assert book.sleeve_model_change[s] == "GRO-80-20 2026.1 → 2026.2"
    assert book.sleeve_model_move[s] == pytest.approx(0.006)

    store.mark_rebalanced(["SCH-1-CORE"], EFFECTIVE)
    assert store.model_changes(EFFECTIVE) == []
    assign_target(store, "SCH-1-CORE", parse_blend("GRO-80-20:0.5,BAL-60-40:0.5"))  # a new blend: not rebalanced yet
    assert model_changes(store, EFFECTIVE) == {
        "SCH-1-CORE": ("BAL-60-40 (none) → 2026.1, GRO-80-20 (none) → 2026.2", 1.0)}
