import sqlite3
from decimal import Decimal

import pytest
import sqlite_utils

from smartx_engine.builtin.csv_book import CsvBookImporter
from smartx_engine.domain import Sleeve
from smartx_engine.errors import ConflictError, NotFoundError
from smartx_engine.migrations import MIGRATIONS, applied, migrate
from smartx_engine.store import Store

from .support import SMALL_BOOK


def test_migrations_build_the_schema_from_a_blank_database():
    db = sqlite_utils.Database(memory=True)
    assert migrate(db) == [fn.__name__ for fn in MIGRATIONS]
    assert {"accounts", "sleeves", "lots", "cash", "transactions", "prices", "audit"} <= set(db.table_names())
    assert migrate(db) == []  # applied once only


def test_migrations_are_listed_in_the_order_of_their_numbers():
    names = [fn.__name__ for fn in MIGRATIONS]
    assert names == sorted(names) and len({name[:4] for name in names}) == len(names)


@pytest.mark.parametrize("upto", range(1, len(MIGRATIONS)))
def test_migrations_upgrade_every_older_schema(upto):
    db = sqlite_utils.Database(memory=True)
    migrate(db, upto=upto)
    assert len(applied(db)) == upto
    Store(db)  # opening the store applies the rest
    assert applied(db) == [fn.__name__ for fn in MIGRATIONS]


def test_open_refuses_a_missing_database(tmp_path):
    with pytest.raises(NotFoundError, match="smartx init"):
        Store.open(tmp_path / "nope.db")


def test_the_database_uses_wal_and_foreign_keys(tmp_path):
    store = Store.create(tmp_path / "x.db")
    assert store.db.journal_mode == "wal"
    assert store.db.execute("pragma foreign_keys").fetchone()[0] == 1


@pytest.fixture
def store(tmp_path):
    store = Store.create(tmp_path / "firm.db", actor="tester")
    store.apply_book(CsvBookImporter().read(SMALL_BOOK))
    return store


def test_book_round_trips_exactly(store):
    lots = {lot.lot_id: lot for lot in store.lots()}
    assert lots["L-002"].quantity == Decimal("25.5")
    assert lots["L-002"].cost_basis == Decimal("8011.33")
    assert str(lots["L-002"].acquired) == "2025-12-01"
    assert store.model_versions("BAL-60-40") == ["2025.1", "2026.1"]
    assert store.model_version("BAL-60-40").as_dict()["VEA"] == Decimal("0.18")
    assert store.model_version("BAL-60-40", "2025.1").as_dict()["VEA"] == Decimal("0.15")
    positions = {(p.sleeve_id, p.symbol): p for p in store.positions()}
    assert positions[("SCH-1-CORE", "VTI")].quantity == Decimal("125.5")
    assert positions[("SCH-1-CORE", "VTI")].cost_basis == Decimal("29461.33")
    assert positions[("SCH-1-CORE", "VTI")].lots == 2
    buys = [t for t in store.transactions(sleeve_id="FID-1-CORE") if t.type == "buy"]
    assert [(t.symbol, t.price, t.amount) for t in buys] == [
        ("ITOT", Decimal("110"), Decimal("-27500.00")), ("BND", Decimal("72.2469"), Decimal("-36123.45"))]


def test_money_is_stored_as_integers(store):
    row = store.db.execute("select quantity_e6, cost_basis_cents from lots where lot_id = 'L-002'").fetchone()
    assert row == (25_500_000, 801_133)


def test_every_write_is_audited_with_its_actor(store):
    store.create_sleeve(Sleeve("SCH-1-ESG", "SCH-1", "GRO-80-20", "growth"))
    store.assign_sleeve("SCH-1-ESG", model_id="BAL-60-40")
    actions = [(r.action, r.actor) for r in store.audit_log()]
    assert actions == [("sleeve.assign", "tester"), ("sleeve.create", "tester"), ("book.import", "tester")]
    assert store.audit_log()[0].details["after"]["model_id"] == "BAL-60-40"


def test_the_audit_log_is_append_only(store):
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("update audit set actor = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("delete from audit")


def test_a_failed_write_leaves_nothing_behind(store):
    before = store.count("sleeves"), store.count("audit")
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.db.table("sleeves").insert({"sleeve_id": "X", "account_id": "SCH-1"})
            store.audit("sleeve.create", "X")
            raise RuntimeError("crash in the middle")
    assert (store.count("sleeves"), store.count("audit")) == before


def test_create_sleeve_checks_its_references(store):
    with pytest.raises(NotFoundError, match="no account 'SCH-9'"):
        store.create_sleeve(Sleeve("S-NEW", "SCH-9"))
    with pytest.raises(NotFoundError, match="no model"):
        store.create_sleeve(Sleeve("S-NEW", "SCH-1", "NOPE"))
    with pytest.raises(ConflictError, match="already exists"):
        store.create_sleeve(Sleeve("SCH-1-CORE", "SCH-1"))
    created = store.create_sleeve(Sleeve("S-NEW", "SCH-1"))
    assert store.sleeve("S-NEW") == created
    assert [c.amount for c in store.cash(sleeve_id="S-NEW")] == [Decimal("0.00")]


def test_unknown_names_get_a_did_you_mean(store):
    with pytest.raises(NotFoundError, match="did you mean `SCH-1-CORE`"):
        store.sleeve("SCH-1-COR")


def test_the_database_enforces_its_own_invariants(store):
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute("update lots set quantity_e6 = -1 where lot_id = 'L-001'")
    with pytest.raises(sqlite3.IntegrityError):  # a lot in a sleeve of another account
        store.db.execute("update lots set sleeve_id = 'SCH-2-CORE' where lot_id = 'L-001'")
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute("update lots set acquired = '2024-02-30' where lot_id = 'L-001'")


def test_trades_of_an_m003_database_survive_the_review_migration():
    from smartx_engine import settings
    from smartx_engine.rebalance.review import stored_trades

    db = sqlite_utils.Database(memory=True)
    names = [fn.__name__ for fn in MIGRATIONS]
    migrate(db, upto=names.index("m003_runs_and_trades") + 1)
    assert "settings" not in db.table_names() and "edited_by" not in db["trades"].columns_dict
    for table, row in [
        ("households", {"household_id": "H-1", "name": "Doe"}),
        ("accounts", {"account_id": "A-1", "name": "Doe", "custodian": "schwab", "household_id": "H-1",
                      "registration": "taxable", "st_tax_rate": "0.37", "lt_tax_rate": "0.2"}),
        ("securities", {"symbol": "VTI", "name": "Total market", "asset_class": "equity", "price_e6": 250_000_000}),
        ("sleeves", {"sleeve_id": "S-1", "account_id": "A-1"}),
        ("runs", {"run_id": "R-000001", "as_of": "2026-11-20", "created_at": "2026-11-20T10:00:00+00:00",
                  "actor": "alice", "book_digest": "d", "policies": "{}", "sleeves_evaluated": 1,
                  "sleeves_triggered": 1, "trades": 1, "problems": "{}"}),
        ("trades", {"trade_id": "T-00000001", "run_id": "R-000001", "account_id": "A-1", "sleeve_id": "S-1",
                    "symbol": "VTI", "side": "buy", "quantity_e6": 2_000_000, "est_price_e6": 250_000_000,
                    "status": "proposed", "reasons": '["to target 60.00%"]', "lots": "[]",
                    "created_at": "2026-11-20T10:00:00+00:00"}),
    ]:
        db[table].insert(row)
    store = Store(db, actor="bob")
    assert applied(db) == names
    (trade,) = stored_trades(store)
    assert (trade["quantity_e6"], trade["status"], trade["proposed_by"]) == (2_000_000, "proposed", "alice")
    assert (trade["edited_by"], trade["edited_at"], trade["proposed_e6"], trade["crossed_e6"]) == (None, None, None, 0)
    assert settings.get(store, "approvals.four_eyes") is False
    settings.set_value(store, "approvals.four_eyes", "on")
    assert db["settings"].get("approvals.four_eyes")["updated_by"] == "bob"
