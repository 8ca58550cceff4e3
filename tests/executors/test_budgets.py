"""The test firm's run: gain budgets trimmed over columns propose what the per-object reference proposes."""

from __future__ import annotations

import functools

from smartx_engine.rebalance import budget_columns, runs

from .conftest import AS_OF


def test_budgets_over_columns_propose_what_the_objects_do(firm, policies, monkeypatch):
    inputs = runs.read_inputs(firm, policies, AS_OF)
    cut = []
    monkeypatch.setattr(runs, "budget_cuts", lambda *args: cut.append(budget_columns.budget_cuts(*args)) or cut[-1])
    columns = list(runs.compute(inputs, policies).trades.json_texts())
    assert len(cut[0].row) > 0  # the firm's taxable balanced accounts are over their budget
    monkeypatch.setattr(runs._Run, "within_budgets", functools.partialmethod(runs._Run.within_budgets, by_objects=True))
    assert list(runs.compute(inputs, policies).trades.json_texts()) == columns
