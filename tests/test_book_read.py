"""``Book.from_store`` (columns straight into numpy, ``bookread.py``) gives exactly the book that the
row-by-row reading through ``Book.assemble`` gave: on the small book, the demo firm, a synthetic
firm of ``benchmarks/firm.py``, and stores with blends, custom targets, restrictions and model changes."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import attrs
import numpy as np
import pytest

from smartx_engine import bookread
from smartx_engine.book import Book
from smartx_engine.store import Store
from smartx_engine.targets import effective_targets, model_changes

from .support import SMALL_BOOK

ROOT = Path(__file__).resolve().parents[1]


def reference_from_store(store: Store, as_of: dt.date) -> Book:
    """The row-by-row ``Book.from_store`` this replaced (kept here only as the reference)."""
    q = store.db.execute
    securities = [(s, a, p / 1e6) for s, a, p in q("select symbol, asset_class, price_e6 from securities")]
    accounts = [(a, r, c, h, float(st), float(lt)) for a, r, c, h, st, lt in q(
        "select account_id, registration, custodian, household_id, st_tax_rate, lt_tax_rate from accounts")]
    effective = effective_targets(store, as_of)
    floats: dict[int, dict[str, float]] = {}
    for target in effective.values():
        if id(target) not in floats:
            floats[id(target)] = {w.symbol: float(w.weight) for w in target.weights}
    sleeves = [(s, a, effective[s].label if s in effective else None, p, (cash or 0) / 100) for s, a, p, cash in q(
        "select s.sleeve_id, s.account_id, s.policy, c.amount_cents from sleeves s"
        " left join cash c on c.sleeve_id = s.sleeve_id")]
    lots = [(lot_id, s, sym, qty / 1e6, cost / 100, dt.date.fromisoformat(acquired)) for lot_id, s, sym, qty, cost,
            acquired in q("select lot_id, sleeve_id, symbol, quantity_e6, cost_basis_cents,"
                          " coalesce(holding_from, acquired) from lots")]
    positions = [(s, sym, qty / 1e6, cost / 100) for s, sym, qty, cost in q(
        "select sleeve_id, symbol, sum(quantity_e6), sum(cost_basis_cents) from lots group by sleeve_id, symbol")]
    return Book.assemble(as_of=as_of, securities=securities, accounts=accounts, sleeves=sleeves,
                         models={}, positions=positions, lots=lots,
                         model_changes=model_changes(store, as_of),
                         targets={s: floats[id(t)] for s, t in effective.items()},
                         target_notes={s: t.note for s, t in effective.items() if t.note},
                         target_kinds={s: str(t.spec.kind) for s, t in effective.items()})


def assert_same_book(found: Book, expected: Book) -> None:
    for field in attrs.fields(Book):
        a, b = getattr(found, field.name), getattr(expected, field.name)
        if field.name == "as_of":
            assert a == b
            continue
        if field.name == "lot_ids":  # ASCII bytes (or str), mapped from the snapshot, not 50 M Python objects
            assert a.dtype.kind in "SU" and found.lot_id_texts(slice(None)).tolist() == b.tolist()
            assert [found.lot_id(i) for i in range(len(a))] == b.tolist()
            continue
        assert a.dtype == b.dtype, (field.name, a.dtype, b.dtype)
        assert a.shape == b.shape, (field.name, a.shape, b.shape)
        if a.dtype.kind == "f":
            np.testing.assert_array_equal(a, b, err_msg=field.name)  # NaN where NaN, and equal bits elsewhere
        else:
            assert (a == b).all() if len(a) else True, field.name
    assert found.digest() == expected.digest()


def test_the_small_book(imported):
    store = Store.open(imported)
    for as_of in (dt.date(2026, 11, 20), dt.date(2020, 1, 2)):
        assert_same_book(Book.from_store(store, as_of), reference_from_store(store, as_of))


def test_an_empty_store(tmp_path):
    store = Store.create(tmp_path / "empty.db")
    assert_same_book(Book.from_store(store, dt.date(2026, 11, 20)), reference_from_store(store, dt.date(2026, 11, 20)))


def test_blends_custom_targets_restrictions_and_model_changes(smartx, imported):
    store = Store.open(imported)
    sleeves = [s.sleeve_id for s in store.sleeves()]
    models = store.model_ids()
    accounts = [a.account_id for a in store.accounts()]
    store.mark_rebalanced(sleeves[:3], dt.date(2026, 6, 30))
    assert len(models) >= 2
    smartx("sleeves", "assign", sleeves[0], "--blend", f"{models[0]}:0.6,{models[1]}:0.4")
    held = [p.symbol for p in store.positions(sleeve_id=sleeves[1])]
    smartx("sleeves", "assign", sleeves[1], "--allocation", f"{held[0]}:0.5,{held[-1]}:0.48,$CASH:0.02")
    symbol = store.model_version(models[0]).weights[1].symbol
    smartx("accounts", "restrict", accounts[0], "--exclude", symbol)
    for as_of in (dt.date(2026, 11, 20), dt.date(2030, 1, 1)):
        assert_same_book(Book.from_store(store, as_of), reference_from_store(store, as_of))


def test_lots_of_one_holding_and_day_are_ordered_by_id(imported):
    store = Store.open(imported)
    lot = store.lots()[0]
    rows = [attrs.evolve(lot, lot_id=f"{lot.lot_id}-{suffix}") for suffix in ("z", "b", "m")]
    with store.transaction():
        store.add_lots(rows)
    assert_same_book(Book.from_store(store, dt.date(2026, 11, 20)), reference_from_store(store, dt.date(2026, 11, 20)))


def test_a_synthetic_firm(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from firm import AS_OF, firm_store
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    store = Store.open(firm_store(300, seed=3, cache=tmp_path, verbose=False))
    book = Book.from_store(store, AS_OF)
    assert book.n_lots > 10_000 and book.sleeve_model_changed.any()
    assert_same_book(book, reference_from_store(store, AS_OF))


def test_the_demo_firm(tmp_path):
    from click.testing import CliRunner

    from smartx_engine.cli import cli
    directory = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--dir", str(directory)])
    assert result.exit_code == 0, result.output
    store = Store.open(next(directory.glob("*.db")))
    for as_of in (dt.date(2026, 11, 20), dt.date(2027, 6, 1)):
        assert_same_book(Book.from_store(store, as_of), reference_from_store(store, as_of))


def test_the_lots_snapshot_is_used_while_the_lots_do_not_change(imported, monkeypatch, smartx):
    monkeypatch.setattr(bookread, "SNAPSHOT_MIN_LOTS", 0)
    store = Store.open(imported)
    as_of = dt.date(2026, 11, 20)
    first = Book.from_store(store, as_of)
    assert (bookread.snapshot_path(store) / "meta.json").exists()
    read = bookread._read_lots
    monkeypatch.setattr(bookread, "_read_lots", lambda *a: pytest.fail("read SQLite with a valid snapshot"))
    assert_same_book(Book.from_store(store, as_of), reference_from_store(store, as_of))
    smartx("sleeves", "create", "AAA-NEW", "--account", store.accounts()[0].account_id)  # a sleeve, no lots
    store.mark_rebalanced([store.sleeves()[0].sleeve_id], as_of)  # sleeves change: the lots do not
    assert_same_book(Book.from_store(store, as_of), reference_from_store(store, as_of))
    monkeypatch.setattr(bookread, "_read_lots", read)
    lot = store.lots()[0]
    with store.transaction():  # any change of a lot makes it stale
        store.db.execute("update lots set quantity_e6 = quantity_e6 + 1 where lot_id = ?", [lot.lot_id])
    assert_same_book(Book.from_store(store, as_of), reference_from_store(store, as_of))
    assert first.digest() != Book.from_store(store, as_of).digest()
    with store.transaction():
        store.db.execute("delete from lots where lot_id = ?", [lot.lot_id])
    assert_same_book(Book.from_store(store, as_of), reference_from_store(store, as_of))


def test_the_snapshot_maps_sleeves_and_securities_added_since(imported, monkeypatch, smartx):
    monkeypatch.setattr(bookread, "SNAPSHOT_MIN_LOTS", 0)
    store = Store.open(imported)
    as_of = dt.date(2026, 11, 20)
    Book.from_store(store, as_of)  # writes the snapshot
    monkeypatch.setattr(bookread, "_read_lots", lambda *a: pytest.fail("read SQLite with a valid snapshot"))
    with store.transaction():  # a security sorting first, and a sleeve with a model and no lots
        store.db.execute("insert into securities (symbol, name, asset_class, price_e6) values ('AAAA', 'A', 'equity', 1)")
    model = store.model_ids()[0]
    smartx("sleeves", "create", "AAA-NEW", "--account", store.accounts()[0].account_id, "--model", model)
    book = Book.from_store(store, as_of)
    assert_same_book(book, reference_from_store(store, as_of))
    new = list(book.sleeve_ids).index("AAA-NEW")
    assert book.holding_in_model[book.holding_sleeve == new].all() and (book.holding_sleeve == new).sum() > 1


def test_targets_looked_up_without_a_dense_table(imported, monkeypatch, smartx):
    monkeypatch.setattr(bookread.TargetTable, "DENSE_CELLS", 0)
    store = Store.open(imported)
    sleeves, models = [s.sleeve_id for s in store.sleeves()], store.model_ids()
    smartx("sleeves", "assign", sleeves[0], "--blend", f"{models[0]}:0.5,{models[1]}:0.5")
    smartx("sleeves", "create", "AAA-NEW", "--account", store.accounts()[0].account_id, "--model", models[0])
    smartx("sleeves", "create", "AAA-NONE", "--account", store.accounts()[0].account_id)
    for as_of in (dt.date(2026, 11, 20), dt.date(2030, 1, 1)):
        assert_same_book(Book.from_store(store, as_of), reference_from_store(store, as_of))


def test_the_digest_changes_with_any_field_and_reuses_the_snapshots_hashes(imported, monkeypatch):
    from smartx_engine import book as book_module
    monkeypatch.setattr(bookread, "SNAPSHOT_MIN_LOTS", 0)
    store = Store.open(imported)
    as_of = dt.date(2026, 11, 20)
    Book.from_store(store, as_of)  # writes the snapshot, with its columns' hashes
    book = Book.from_store(store, as_of)  # the columns mapped from it
    for name in ("lot_ids", "lot_quantity", "lot_cost", "lot_acquired"):  # (holdings too, when all are held)
        assert id(getattr(book, name)) in book_module._KNOWN_DIGESTS, name
        assert not getattr(book, name).flags.writeable
    digest = book.digest()
    assert digest == reference_from_store(store, as_of).digest()
    for field in attrs.fields(Book)[1:]:
        array = getattr(book, field.name)
        if not len(array):
            continue
        changed = array.copy()  # a writeable copy: its hash is computed, not remembered
        if changed.dtype == object or changed.dtype.kind in "US":
            changed[0] = "x" if changed[0] not in ("x", b"x") else "y"
        elif changed.dtype.kind == "b":
            changed[0] = not changed[0]
        elif changed.dtype.kind == "M":
            changed[0] += 1
        else:
            changed[0] = changed[0] + 1 if np.isfinite(changed[0]) else 0
        assert attrs.evolve(book, **{field.name: changed}).digest() != digest, field.name
        assert attrs.evolve(book, **{field.name: array.copy()}).digest() == digest, field.name
    assert attrs.evolve(book, as_of=dt.date(2026, 11, 21)).digest() != digest
    with pytest.raises(ValueError):
        book_module.remember_digest(np.zeros(3), "0" * 64)


def test_lot_ids_are_read_a_piece_at_a_time_into_their_order(imported):
    store = Store.open(imported)
    lot = store.lots()[0]
    with store.transaction():  # ids longer than the first pieces' (the array widens)
        store.add_lots([attrs.evolve(lot, lot_id=f"{lot.lot_id}-{'x' * n}") for n in (3, 12)])
    ids = [r[0] for r in store.db.execute("select lot_id from lots order by rowid")]
    order = np.random.default_rng(1).permutation(len(ids))
    found = bookread._read_lot_ids(store, order, piece=2)
    assert found.dtype.kind == "S" and found.astype(str).tolist() == [ids[i] for i in order]  # ASCII: as bytes
    assert_same_book(Book.from_store(store, dt.date(2026, 11, 20)), reference_from_store(store, dt.date(2026, 11, 20)))
    with store.transaction():  # an id that is not ASCII (written around the domain's checks), in a later piece
        store.db.execute("update lots set lot_id = lot_id || '-é' where rowid = (select max(rowid) from lots)")
    ids = [r[0] for r in store.db.execute("select lot_id from lots order by rowid")]
    order = np.random.default_rng(2).permutation(len(ids))
    found = bookread._read_lot_ids(store, order, piece=2)
    assert found.dtype.kind == "U" and found.tolist() == [ids[i] for i in order]
    assert_same_book(Book.from_store(store, dt.date(2026, 11, 20)), reference_from_store(store, dt.date(2026, 11, 20)))


def test_a_target_that_cannot_be_built_is_refused_as_sleeve_by_sleeve(imported):
    from smartx_engine.errors import TargetError
    store = Store.open(imported)
    early = dt.date(2026, 11, 20)
    with store.transaction():  # one model's every version takes effect later
        store.db.execute("update model_versions set effective_date = '2030-01-01' where model_id = ?",
                         [store.model_ids()[-1]])
    with pytest.raises(TargetError) as expected:
        effective_targets(store, early)
    with pytest.raises(TargetError) as found:
        Book.from_store(store, early)
    assert str(found.value) == str(expected.value) and "sleeve" in str(found.value)
