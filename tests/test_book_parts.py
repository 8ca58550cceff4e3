"""The parts of a book (``Book.parts``: each policy's sleeves, reading the book's holdings and lots
through their rows) hold exactly what ``Book.select`` copies for the same sleeves, chunk for chunk
and with holdings added; ``Rows`` reads like the array it stands for."""

from __future__ import annotations

import sys
from pathlib import Path

import attrs
import numpy as np
from hypothesis import given, settings, strategies as st

from smartx_engine.book import Book, LotRows, Rows
from smartx_engine.dsl.policyset import load_rules
from tests.dsl.test_chunks import columns
from tests.rebalance.test_generate import rebalance_books

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from synthetic import synthetic_book  # noqa: E402


def assert_same(found: Book, expected: Book) -> None:
    """Every field alike, whether an array, a view or read through Rows (lot ids as text)."""
    for field in attrs.fields(Book)[1:]:
        a, b = getattr(found, field.name), getattr(expected, field.name)
        if field.name == "lot_ids":
            assert found.lot_id_texts(slice(None)).tolist() == expected.lot_id_texts(slice(None)).tolist()
            continue
        a = np.asarray(a)
        assert a.dtype == b.dtype and a.shape == b.shape, field.name
        np.testing.assert_array_equal(a, b, err_msg=field.name)


@settings(max_examples=150, deadline=None)
@given(book=rebalance_books(max_sleeves=8), data=st.data())
def test_each_part_holds_what_select_copies(book, data):
    n = data.draw(st.integers(1, 4))
    owner = np.array(data.draw(st.lists(st.integers(-1, n - 1), min_size=book.n_sleeves, max_size=book.n_sleeves)))
    parts = book.parts(owner, n)
    assert len(parts) == n
    for code, part in enumerate(parts):
        expected = book.select(np.flatnonzero(owner == code))
        assert_same(part, expected)
        size = data.draw(st.integers(1, 3))
        for got, want in zip(part.chunks(size), expected.chunks(size), strict=True):
            assert_same(got, want)
        if part.n_sleeves:  # holdings added for some (sleeve, symbol) pairs, new or not
            pairs = data.draw(st.lists(st.tuples(st.integers(0, part.n_sleeves - 1),
                                                 st.integers(0, len(book.symbols) - 1)), max_size=4))
            sleeves, symbols = (np.array([p[i] for p in pairs], dtype=np.int64) for i in (0, 1))
            widened, moved, added = part.with_holdings(sleeves, symbols)
            reference = expected.with_holdings(sleeves, symbols)
            assert_same(widened, reference[0])
            np.testing.assert_array_equal(moved, reference[1])
            np.testing.assert_array_equal(added, reference[2])
            for got, want in zip(widened.chunks(2), reference[0].chunks(2), strict=True):
                assert_same(got, want)
            assert widened.digest() == reference[0].digest()


def test_the_policies_evaluate_the_same_over_parts_as_over_copies():
    book = synthetic_book(600, seed=5)
    policies = load_rules(ROOT / "rules")
    evaluation = policies.evaluate(book)
    assert len(evaluation.evaluations) > 1
    for name, result in evaluation.evaluations.items():
        assert result.book.indirect or result.book.n_sleeves == book.n_sleeves
        reference = policies.compiled[name].evaluate(book.select(result.sleeves), result.sleeves)
        assert_same(result.book, reference.book)
        got, want = columns(result), columns(reference)
        assert got.keys() == want.keys()
        for key in got:
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{name}: {key}")


def test_rows_read_like_the_rows_taken():
    column = np.array([10.0, 11.0, 12.0, 13.0, 14.0])
    rows = Rows(column, np.array([4, 1, 3], dtype=np.int32))
    taken = column[[4, 1, 3]]
    assert len(rows) == 3 and rows.shape == (3,) and rows.dtype == column.dtype
    assert rows[0] == 14.0 and rows[-1] == 13.0
    np.testing.assert_array_equal(rows[1:], taken[1:])
    np.testing.assert_array_equal(rows[np.array([True, False, True])], taken[[0, 2]])
    np.testing.assert_array_equal(rows * 2 + 1, taken * 2 + 1)
    np.testing.assert_array_equal(np.where(rows > 12, rows, 0.0), np.where(taken > 12, taken, 0.0))
    assert rows.sum() == taken.sum() and rows.tolist() == taken.tolist()
    added = rows.inserted(np.array([0, 3]), [1.5, 2.5], {})
    np.testing.assert_array_equal(np.asarray(added), np.insert(taken, [0, 3], [1.5, 2.5]))
    assert added[0] == 1.5 and added[1] == 14.0
    np.testing.assert_array_equal(added.taken(slice(0, 3))[:], np.insert(taken, [0, 3], [1.5, 2.5])[:3])
    ids = Rows(np.array([b"L1", b"L22", b"L333"]), np.array([2, 0]))
    assert ids[0] == b"L333" and ids[:].astype(str).tolist() == ["L333", "L1"]


def test_lot_rows_are_each_holdings_offset():
    holding = np.array([0, 0, 1, 3, 3, 3], dtype=np.int32)  # a part's lots: holding 2 has none
    offset = np.array([4, 7, 0, 10], dtype=np.int32)
    rows = LotRows(holding, offset)
    expected = np.arange(6) + offset[holding]
    assert len(rows) == 6 and rows[0] == 4 and rows[-1] == 15 and rows[2] == 9
    np.testing.assert_array_equal(rows[:], expected)
    np.testing.assert_array_equal(rows[1:5:2], expected[1:5:2])
    np.testing.assert_array_equal(rows[np.array([5, 0, -1])], expected[[5, 0, -1]])
    np.testing.assert_array_equal(rows[expected > 8], expected[expected > 8])
    np.testing.assert_array_equal(np.asarray(rows), expected)
    column = np.arange(100.0)
    np.testing.assert_array_equal(Rows(column, rows)[2:4], column[expected[2:4]])
