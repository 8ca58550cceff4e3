"""A generated firm's run: what the columns make of gain budgets, wash sales and crossings is what
the per-object code they replaced (kept here, and in test_crossings, as the references) makes."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import pytest

from smartx_engine.book import tax_treatment_codes
from smartx_engine.dsl.policyset import load_rules
from smartx_engine.fixedpoint import QUANTITY
from smartx_engine.rebalance import runs
from smartx_engine.rebalance.proposals import Proposals
from smartx_engine.store import Store
from smartx_engine.tax.recent import RecentTrading
from tests.rebalance.test_crossings import reference_with_crossings

ROOT = Path(__file__).resolve().parents[2]


def reference_wash_warnings(block: Proposals, recent: RecentTrading) -> dict[int, list[str]]:
    """The loss sales of ``block`` that recent purchases in their household would wash, one sale at a time."""
    gains = block.lots.gain_per_trade(len(block))
    bounds = block.lots.bounds(len(block))
    bought: dict[str | None, set[str]] = {}
    notes = {}
    for row in np.flatnonzero((block.side < 0) & (gains < 0)).tolist():
        account, symbol = str(block.accounts[block.account[row]]), str(block.symbols[block.symbol[row]])
        household = recent.household_of.get(account)
        if household not in bought:
            bought[household] = recent.bought_symbols(household)
        if not bought[household] & recent.identical(symbol):
            continue
        washed = recent.washed_by_recent_buys(account, symbol, block.lots.lot_id[bounds[row]:bounds[row + 1]].tolist())
        if washed:
            quantity = QUANTITY.to_decimal(int(block.quantity_e6[row]))
            notes[row] = [f"wash sale: {min(washed, quantity)} of these shares' loss would be disallowed ({washed} "
                          f"identical shares bought in the household in the last {recent.window_days} days)"]
    return notes


def reference_budgets(book, resolution, policies, in_scope) -> dict:
    """Each taxable account's yearly gain budget, policy by policy."""
    treatment, names = tax_treatment_codes(book)
    taxable = names[treatment[book.sleeve_account]] == "taxable"
    budgets = {}
    for code, name in enumerate(resolution.names):
        budget = policies.compiled[name].settings.gain_budget
        if budget is None:
            continue
        sleeves = np.flatnonzero((resolution.policy_of == code) & in_scope & taxable)
        for account_id in np.unique(book.account_ids[book.sleeve_account[sleeves]]):
            budgets[str(account_id)] = min(budgets.get(str(account_id), budget), budget)
    return budgets


@pytest.fixture(scope="module")
def firm(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from firm import AS_OF, firm_store
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    policies = load_rules(ROOT / "rules")
    store = Store.open(firm_store(2000, seed=5, cache=tmp_path_factory.mktemp("firm"), verbose=False))
    yield runs.read_inputs(store, policies, AS_OF), policies
    store.close()


def test_a_runs_budgets_wash_sales_and_crossings_are_the_references(firm, monkeypatch):
    inputs, policies = firm
    columns = runs.compute(inputs, policies).trades
    reasons = [r for row in range(len(columns)) for r in columns.reasons(row)]
    for start in ("gain budget: ", "wash sale: ", "nets with "):  # the firm has each
        assert any(r.startswith(start) for r in reasons), start
    monkeypatch.setattr(runs._Run, "within_budgets", functools.partialmethod(runs._Run.within_budgets, by_objects=True))
    monkeypatch.setattr(runs, "wash_warnings", reference_wash_warnings)
    monkeypatch.setattr(runs, "with_crossings", reference_with_crossings)
    assert list(runs.compute(inputs, policies).trades.json_texts()) == list(columns.json_texts())



def test_the_accounts_budgets_are_the_references(firm):
    inputs, policies = firm
    resolution = policies.resolve(inputs.book)
    for in_scope in (inputs.in_scope, np.arange(inputs.book.n_sleeves) % 3 == 0):
        found = runs._budgets(inputs.book, resolution, policies, in_scope)
        assert found == reference_budgets(inputs.book, resolution, policies, in_scope) and found
