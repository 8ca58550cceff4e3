"""The version history in time: the version in force on a day, pending versions, book versions
effective from the start, and the migration that gave existing versions their dates."""

import datetime as dt
from decimal import Decimal

import pytest
import sqlite_utils

from smartx_engine.builtin.csv_book import CsvBookImporter
from smartx_engine.migrations import BOOK_EFFECTIVE_DATE, MIGRATIONS, migrate
from smartx_engine.models import (
    EFFECTIVE_MODEL_VERSIONS, diff_versions, effective_version, effective_versions, pending_versions, sync_models,
    version_record,
)
from smartx_engine.store import Store
from smartx_engine.testing import FakeModelFeed

from .conftest import CUSIPS, delivery, line

VTI, BND, VEA = CUSIPS["VTI"], CUSIPS["BND"], CUSIPS["VEA"]
D = dt.date.fromisoformat


@pytest.fixture
def fed(store):
    """ACME-GROWTH in three versions, effective 2026-11-23, 2026-12-01 and 2027-01-04."""
    sync_models(store, {"acme": FakeModelFeed("acme", [
        delivery(),
        delivery(version="2026.12.1", effective="2026-12-01", published="2026-11-30T10:00:00", change="DELTA",
                 previous="2026.11.1", lines=[line(VTI, "0.55", action="UPDATE"), line(VEA, "0.05", action="ADD")]),
        delivery(version="2027.1", effective="2027-01-04", published="2027-01-02T08:00:00",
                 lines=[line(VTI, "0.5"), line(VEA, "0.5")]),
    ])})
    return store


@pytest.mark.parametrize("day, version", [
    ("2026-11-22", None), ("2026-11-23", "2026.11.1"), ("2026-11-30", "2026.11.1"), ("2026-12-01", "2026.12.1"),
    ("2027-01-03", "2026.12.1"), ("2027-01-04", "2027.1"), ("2030-01-01", "2027.1"),
])
def test_the_version_in_force_on_a_day(fed, day, version):
    record = effective_version(fed, "ACME-GROWTH", D(day))
    assert (record and record.version) == version
    assert effective_versions(fed, D(day)).get("ACME-GROWTH") == version


@pytest.mark.parametrize("day, pending", [
    ("2026-11-22", ["2026.11.1", "2026.12.1", "2027.1"]), ("2026-12-01", ["2027.1"]), ("2027-01-04", []),
])
def test_pending_versions_are_those_coming_into_force_later(fed, day, pending):
    assert [r.version for r in pending_versions(fed, D(day))] == pending
    assert [r.version for r in pending_versions(fed, D(day), "ACME-GROWTH")] == pending
    assert pending_versions(fed, D(day), "BAL-60-40") == []


def test_book_versions_are_in_force_from_the_start(store):
    assert effective_versions(store, dt.date(1900, 1, 1)) == {"BAL-60-40": "2026.1", "GRO-80-20": "2026.1"}
    record = version_record(store, "BAL-60-40")
    assert record.effective_date == D(BOOK_EFFECTIVE_DATE) and record.feed is None
    assert record.change_type == "FULL" and record.received_at is not None


def test_a_book_version_imported_after_a_pending_one_is_in_force_and_nothing_is_pending(fed, tmp_path, cusip_book):
    with (cusip_book / "models.csv").open("a") as models:
        models.write("ACME-GROWTH,2026.99,VTI,0.98\nACME-GROWTH,2026.99,$CASH,0.02\n")
    fed.apply_book(CsvBookImporter().read(cusip_book))
    assert effective_versions(fed, D("2026-11-01"))["ACME-GROWTH"] == "2026.99"
    assert pending_versions(fed, D("2026-11-01")) == []


def test_the_effective_query_serves_joins_in_sql(fed):
    rows = fed.db.query(f"select * from ({EFFECTIVE_MODEL_VERSIONS}) order by model_id", {"as_of": "2026-12-15"})
    assert [(r["model_id"], r["version"]) for r in rows] == [
        ("ACME-GROWTH", "2026.12.1"), ("BAL-60-40", "2026.1"), ("GRO-80-20", "2026.1")]


def test_as_of_must_be_a_date(fed):
    with pytest.raises(TypeError):
        effective_version(fed, "ACME-GROWTH", dt.datetime(2026, 12, 1))


def test_diff_gives_each_move_and_the_largest(fed):
    diff = diff_versions(version_record(fed, "ACME-GROWTH", "2026.11.1"), version_record(fed, "ACME-GROWTH", "2027.1"))
    assert [(c.symbol, c.old, c.new, c.change, c.movement) for c in diff.changes] == [
        ("VEA", None, Decimal("0.5"), Decimal("0.5"), "added"),
        ("BND", Decimal("0.38"), None, Decimal("-0.38"), "removed"),
        ("VTI", Decimal("0.60"), Decimal("0.5"), Decimal("-0.10"), "changed"),
        ("$CASH", Decimal("0.02"), None, Decimal("-0.02"), "removed"),
    ]
    assert diff.largest.symbol == "VEA"
    same = version_record(fed, "ACME-GROWTH", "2027.1")
    assert diff_versions(same, same).largest is None


def test_the_migration_gives_existing_versions_book_defaults():
    db = sqlite_utils.Database(memory=True)
    migrate(db, upto=[fn.__name__ for fn in MIGRATIONS].index("m009_model_feeds"))
    db.execute("insert into models (model_id) values ('M')")
    db.execute("insert into model_versions (model_id, version, seq) values ('M', '1', 1)")
    db.execute("insert into model_weights (model_id, version, symbol, weight) values ('M', '1', '$CASH', '1')")
    store = Store(db)
    record = version_record(store, "M")
    assert (record.effective_date, record.change_type, record.feed, record.received_at) == (
        D(BOOK_EFFECTIVE_DATE), "FULL", None, None)
    assert record.lines[0].min_weight is None and record.lines[0].identifier is None
    with pytest.raises(Exception, match="UNIQUE"):
        db.execute("insert into securities (symbol, name, asset_class, price_e6, cusip)"
                   " values ('A', 'A', 'x', 1, '922908769'), ('B', 'B', 'x', 1, '922908769')")
