"""Book.assemble takes per-sleeve targets beside model weights."""

import datetime as dt

import numpy as np
import pytest

from smartx_engine.book import Book

ROWS = dict(
    as_of=dt.date(2026, 11, 20),
    securities=[("VTI", "us_equity", 300.0), ("BND", "fixed_income", 70.0), ("ESGV", "us_equity", 100.0)],
    accounts=[("A", "taxable", "schwab", "H", 0.37, 0.2)],
    models={"M": {"VTI": 0.6, "BND": 0.38, "$CASH": 0.02}},
    positions=[("S1", "VTI", 10.0, 3000.0)], lots=[],
)


def test_a_sleeve_target_replaces_its_model_weights_and_a_label_needs_no_model():
    book = Book.assemble(
        sleeves=[("S1", "A", "M", None, 0.0), ("S2", "A", "M:0.5,N:0.5", None, 0.0), ("S3", "A", None, None, 0.0)],
        targets={"S1": {"ESGV": 0.6, "BND": 0.38, "$CASH": 0.02}, "S2": {"BND": 0.95, "$CASH": 0.05}},
        target_notes={"S1": "model M v1; VTI → ESGV"}, **ROWS)
    rows = {(book.sleeve_ids[s], book.symbols[y]): (t, m) for s, y, t, m in
            zip(book.holding_sleeve, book.holding_symbol, book.holding_target, book.holding_in_model)}
    assert rows[("S1", "VTI")] == (0.0, False) and rows[("S1", "ESGV")] == (0.6, True)
    assert rows[("S2", "BND")] == (0.95, True)
    assert list(book.models[book.sleeve_model[:2]]) == ["M", "M:0.5,N:0.5"] and book.sleeve_model[2] == -1
    assert np.allclose(book.sleeve_cash_target[:2], [0.02, 0.05]) and np.isnan(book.sleeve_cash_target[2])
    assert list(book.sleeve_target_note) == ["model M v1; VTI → ESGV", "", ""]
    assert list(book.select(np.array([0])).sleeve_target_note) == ["model M v1; VTI → ESGV"]


def test_a_target_for_a_sleeve_without_a_label_is_refused():
    with pytest.raises(ValueError, match="targets names sleeves without a model or label: S3"):
        Book.assemble(sleeves=[("S3", "A", None, None, 0.0)], targets={"S3": {"BND": 1.0}}, **ROWS)


def test_policies_see_what_a_target_is_made_of():
    from smartx_engine.dsl.frame import Frame
    book = Book.assemble(
        sleeves=[("S1", "A", "M", None, 0.0), ("S2", "A", "M:0.5,N:0.5", None, 0.0), ("S3", "A", None, None, 0.0)],
        targets={"S2": {"BND": 0.95, "$CASH": 0.05}}, target_kinds={"S2": "blend"}, **ROWS)
    assert list(Frame(book).column("sleeve", "target_kind").strings()) == ["model", "blend", ""]
