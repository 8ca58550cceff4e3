"""A new model version as a trigger: the store records the version each sleeve was last rebalanced
to, the Book and the policy language see `sleeve.model_changed`, and the desk's queue shows a
"model change pending"."""

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

from smartx_engine.book import Book
from smartx_engine.builtin.csv_book import CsvBookImporter
from smartx_engine.dsl.compile import compile_policy
from smartx_engine.dsl.frame import Frame
from smartx_engine.dsl.policyset import check_sources
from smartx_engine.dsl.reference import decisions_of, differences, evaluate_reference
from smartx_engine.errors import DataError, NotFoundError
from smartx_engine.migrations import MIGRATIONS, migrate
from smartx_engine.store import ModelChange, RebalanceMark, Store

from .support import SMALL_BOOK

ROOT = Path(__file__).parent.parent
AS_OF = dt.date(2026, 11, 20)
GRO_2026_2 = "".join(f"GRO-80-20,2026.2,{symbol},{weight}\n"
                     for symbol, weight in (("VTI", "0.55"), ("VEA", "0.24"), ("BND", "0.19"), ("$CASH", "0.02")))


@pytest.fixture
def store(tmp_path):
    store = Store.create(tmp_path / "firm.db", actor="tester")
    store.apply_book(CsvBookImporter().read(SMALL_BOOK))
    return store


def newer_book(tmp_path: Path) -> Path:
    """The small book with a second version of GRO-80-20 (the model of SCH-2-CORE)."""
    book = Path(shutil.copytree(SMALL_BOOK, tmp_path / "newer"))
    with (book / "models.csv").open("a", encoding="utf-8") as models:
        models.write(GRO_2026_2)
    return book


# ---------------------------------------------------------------- the store


def test_the_migration_adds_empty_rebalance_columns_to_existing_sleeves():
    db = sqlite_utils.Database(memory=True)
    migrate(db, upto=[fn.__name__ for fn in MIGRATIONS].index("m005_sleeve_rebalanced"))
    db.execute("insert into households values ('H', 'H')")
    db.execute("insert into accounts values ('A', 'A', 'schwab', 'H', 'taxable', '0.3', '0.15')")
    db.execute("insert into sleeves (sleeve_id, account_id) values ('S', 'A')")
    store = Store(db)
    assert db.execute("select rebalanced_version, rebalanced_on from sleeves").fetchall() == [(None, None)]
    assert store.rebalance_marks() == {} and store.model_changes() == []


def test_mark_rebalanced_records_the_latest_version_unless_told(store):
    assert store.latest_model_versions() == {"BAL-60-40": "2026.1", "GRO-80-20": "2026.1"}
    audits = store.count("audit")
    assert store.mark_rebalanced(["SCH-1-CORE", "SCH-1-LEGACY"], AS_OF) == {"SCH-1-CORE": "2026.1",
                                                                            "SCH-1-LEGACY": None}
    assert store.mark_rebalanced({"FID-1-CORE": "2025.1"}, dt.date(2026, 1, 5)) == {"FID-1-CORE": "2025.1"}
    assert store.rebalance_marks() == {
        "FID-1-CORE": RebalanceMark("FID-1-CORE", "2025.1", dt.date(2026, 1, 5)),
        "SCH-1-CORE": RebalanceMark("SCH-1-CORE", "2026.1", AS_OF),
        "SCH-1-LEGACY": RebalanceMark("SCH-1-LEGACY", None, AS_OF),
    }
    assert store.model_changes() == [ModelChange("FID-1-CORE", "BAL-60-40", "2025.1", "2026.1", dt.date(2026, 1, 5))]
    assert store.count("audit") == audits  # the caller audits


def test_mark_rebalanced_checks_what_it_is_given(store):
    with pytest.raises(NotFoundError, match="did you mean `SCH-1-CORE`"):
        store.mark_rebalanced(["SCH-1-COR"], AS_OF)
    with pytest.raises(NotFoundError, match="no version '1999.1'"):
        store.mark_rebalanced({"SCH-1-CORE": "1999.1"}, AS_OF)
    with pytest.raises(DataError, match="SCH-1-LEGACY has no model"):
        store.mark_rebalanced({"SCH-1-LEGACY": "2026.1"}, AS_OF)
    with pytest.raises(TypeError, match="must be a date"):
        store.mark_rebalanced(["SCH-1-CORE"], dt.datetime(2026, 11, 20, 9, 30))
    assert store.rebalance_marks() == {}


def test_mark_rebalanced_joins_the_callers_transaction(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.mark_rebalanced(["SCH-1-CORE"], AS_OF)
            store.audit("rebalance.approve", "SCH-1-CORE")
            raise RuntimeError("crash before the commit")
    assert store.rebalance_marks() == {}


def test_a_new_model_version_is_a_change_and_a_reimport_keeps_the_marks(store, tmp_path):
    store.mark_rebalanced(["SCH-1-CORE", "SCH-2-CORE"], AS_OF)
    assert store.model_changes() == []
    store.apply_book(CsvBookImporter().read(newer_book(tmp_path)))
    assert store.rebalance_marks()["SCH-1-CORE"] == RebalanceMark("SCH-1-CORE", "2026.1", AS_OF)
    assert store.model_changes() == [ModelChange("SCH-2-CORE", "GRO-80-20", "2026.1", "2026.2", AS_OF)]
    store.mark_rebalanced(["SCH-2-CORE"], AS_OF + dt.timedelta(days=1))
    assert store.model_changes() == []


# ---------------------------------------------------------------- the Book


def test_the_book_knows_which_sleeves_await_a_new_model_version(store):
    before = Book.from_store(store, AS_OF)
    assert not before.sleeve_model_changed.any()
    store.mark_rebalanced({"SCH-1-CORE": "2026.1", "FID-1-CORE": "2025.1"}, AS_OF)
    book = Book.from_store(store, AS_OF)
    changed = dict(zip(book.sleeve_ids, book.sleeve_model_changed))
    assert changed == {"FID-1-CORE": True, "SCH-1-CORE": False, "SCH-1-LEGACY": False, "SCH-2-CORE": False}
    assert book.digest() != before.digest()
    fid = list(book.sleeve_ids).index("FID-1-CORE")
    assert list(book.select(np.array([fid])).sleeve_model_changed) == [True]
    chunks = book.chunks(1)
    assert [bool(c.sleeve_model_changed[0]) for c in chunks] == list(book.sleeve_model_changed)


def test_assemble_refuses_a_model_change_without_a_model():
    rows = {"as_of": AS_OF, "securities": [("VTI", "us_equity", 100.0)],
            "accounts": [("A", "taxable", "schwab", "H", 0.3, 0.15)], "models": {"M": {"VTI": 1.0}},
            "positions": [], "lots": []}
    sleeves = [("S", "A", None, None, 0.0), ("T", "A", "M", None, 0.0)]
    assert list(Book.assemble(**rows, sleeves=sleeves).sleeve_model_changed) == [False, False]
    assert list(Book.assemble(**rows, sleeves=sleeves, model_changed=["T"]).sleeve_model_changed) == [False, True]
    with pytest.raises(ValueError, match="without a model: S"):
        Book.assemble(**rows, sleeves=sleeves, model_changed=["S"])


# ---------------------------------------------------------------- the policy language


def test_a_model_change_triggers_in_the_compiled_and_the_reference_evaluators(store):
    store.mark_rebalanced({"SCH-1-CORE": "2026.1", "SCH-1-LEGACY": None, "FID-1-CORE": "2025.1"}, AS_OF)
    book = Book.from_store(store, AS_OF)
    text = 'policy "p" {\n  trigger when sleeve.model_changed\n  rule "r" when not sleeve.model_changed then hold\n}\n'
    _, checked = check_sources([("p.policy", text)], functions={})
    assert not checked.errors
    policy = checked.policies["p"]
    compiled = compile_policy(policy)
    actual = decisions_of(compiled.evaluate(book), compiled.selects(Frame(book)))
    expected = evaluate_reference(policy, book)
    assert differences(expected, actual) == []
    assert {d.sleeve_id: d.triggers for d in actual} == {
        "FID-1-CORE": (True,), "SCH-1-CORE": (False,), "SCH-1-LEGACY": (False,), "SCH-2-CORE": (False,)}


# ---------------------------------------------------------------- the desk's queue


def test_the_monitor_shows_a_pending_model_change(smartx, imported, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)

    def queue(*args):
        items = json.loads(smartx("--rules", str(rules), "monitor", "--as-of", "2026-11-20", "--json", *args).output)
        return {i["sleeve_id"]: i for i in items}

    assert "never rebalanced" in queue()["SCH-2-CORE"]["issues"]
    Store.open(imported).mark_rebalanced(["SCH-1-CORE", "SCH-2-CORE"], AS_OF)
    before = queue()
    assert not any("model change pending" in i["issues"] for i in before.values())
    assert "never rebalanced" not in before.get("SCH-2-CORE", {"issues": []})["issues"]
    assert "never rebalanced" in before["FID-1-CORE"]["issues"]

    smartx("import", "book", str(newer_book(tmp_path)))
    after = queue()
    sch2 = after["SCH-2-CORE"]
    assert "model change pending" in sch2["issues"] and "never rebalanced" not in sch2["issues"]
    # 2026.1 -> 2026.2: VTI 0.60 -> 0.55, the largest move
    assert "model change GRO-80-20 2026.1 → 2026.2, largest move 5.00%" in sch2["notes"]
    assert "model change pending" not in after["SCH-1-CORE"]["issues"]  # BAL-60-40 has no new version
    assert list(queue("--issue", "model change pending")) == ["SCH-2-CORE"]
