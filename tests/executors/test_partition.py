"""Splitting a run by household: a household is never split, and the parts' results merge into the whole's."""

import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartx_engine.book import Book
from smartx_engine.executors.partition import household_parts, merge, partitions
from smartx_engine.rebalance.runs import RunInputs, compute, computed, read_inputs
from smartx_engine.tax.recent import RecentTrading
from smartx_engine.domain import Registration

from .conftest import AS_OF

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
from synthetic import synthetic_book  # noqa: E402


def households_of(book: Book, sleeves: np.ndarray) -> np.ndarray:
    return book.account_household[book.sleeve_account[sleeves]]


@st.composite
def books(draw) -> tuple[Book, np.ndarray]:
    """A book of random households, accounts and sleeves (ids in no particular household order), and a scope."""
    n_households = draw(st.integers(1, 12))
    n_accounts = draw(st.integers(1, 25))
    n_sleeves = draw(st.integers(0, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    symbols = ["AAA", "BBB", "CCC", "DDD"]
    accounts = [(f"A{i:03d}", "taxable", "schwab", f"H{int(h):02d}", 0.3, 0.15)
                for i, h in enumerate(rng.integers(0, n_households, n_accounts))]
    sleeves = [(f"S{int(rng.integers(0, 10**6)):06d}-{i}", accounts[int(rng.integers(0, n_accounts))][0], "M", None,
                0.0) for i in range(n_sleeves)]
    positions = [(s[0], sym, 10.0, 100.0) for s in sleeves for sym in symbols if rng.random() < rng.random()]
    book = Book.assemble(as_of=AS_OF, securities=[(s, "us_equity", 10.0) for s in symbols], accounts=accounts,
                         sleeves=sleeves, models={"M": {"AAA": 0.5, "$CASH": 0.5}}, positions=positions, lots=[])
    in_scope = rng.random(book.n_sleeves) < draw(st.sampled_from([0.0, 0.3, 1.0]))
    return book, in_scope


@settings(max_examples=150, deadline=None)
@given(books(), st.integers(1, 9))
def test_partitioning_never_splits_a_household(drawn, n):
    book, in_scope = drawn
    parts = household_parts(book, n, in_scope)
    assert len(parts) <= n
    seen = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    assert len(np.unique(seen)) == len(seen)  # each sleeve in one part at most
    for part in parts:
        assert len(part) and np.all(np.diff(part) > 0)  # sorted, not empty
    owner = {int(h): p for p, part in enumerate(parts) for h in households_of(book, part)}
    for p, part in enumerate(parts):  # every sleeve of a household is in its household's one part
        assert all(owner[int(h)] == p for h in households_of(book, part))
    wanted = np.isin(households_of(book, np.arange(book.n_sleeves)), households_of(book, np.flatnonzero(in_scope)))
    np.testing.assert_array_equal(np.sort(seen), np.flatnonzero(wanted))


def test_parts_are_of_about_equal_size():
    book = synthetic_book(2000, seed=4)
    parts = household_parts(book, 8)
    assert len(parts) == 8
    holdings = np.bincount(book.holding_sleeve, minlength=book.n_sleeves) + 1
    sizes = np.array([holdings[p].sum() for p in parts])
    household = households_of(book, np.arange(book.n_sleeves))
    largest = np.bincount(household, weights=holdings).max()
    assert sizes.max() - sizes.min() <= 2 * largest
    assert sizes.sum() == holdings.sum()


def test_a_part_holds_only_its_households_rows(firm, policies):
    inputs = read_inputs(firm, policies, AS_OF)
    parts = partitions(inputs, 3)
    assert 1 < len(parts) <= 3
    assert sum(p.book.n_sleeves for p in parts) == inputs.book.n_sleeves
    assert sum(p.book.n_lots for p in parts) == inputs.book.n_lots
    for part in parts:
        accounts = set(map(str, part.book.account_ids))
        assert set(map(str, part.book.account_ids[part.book.sleeve_account])) == accounts  # only its accounts
        households = set(map(str, part.book.households[part.book.account_household]))
        assert set(part.recent.loss_sales) <= households and set(part.recent.acquisitions) <= households
        assert {a for a, _ in part.restricted} <= accounts and set(part.realized) <= accounts
        assert {s for s, _ in part.harvested_days} <= set(map(str, part.book.sleeve_ids))
        assert part.book_digest == inputs.book_digest and part.prices == inputs.prices
        for array in (part.book.sleeve_cash, part.book.holding_quantity, part.book.lot_quantity):
            assert isinstance(array, np.ndarray)  # columns travel, not rows


SCOPES = [{}, {"harvest_only": True}, {"household": "HH-TAX"}, {"sleeves": ["S-1001-CORE", "S-2003-INC"]},
          {"raise_cash": ("SCH-1007", Decimal(10000))}, {"invest": True}]


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: ",".join(s) or "all")
def test_merging_the_parts_gives_the_whole_books_run(firm, policies, scope):
    inputs = read_inputs(firm, policies, AS_OF, **scope)
    whole = computed(inputs, policies)
    order, trades = whole.trade_keys, whole.result.trades
    keys = list(zip(order.step.tolist(), order.policy.tolist(), [trades.sleeve_id(i) for i in range(len(trades))],
                    order.position.tolist()))
    assert keys == sorted(keys)  # the keys follow the run's own order
    for n in (1, 2, 3, 5, 40):
        merged = merge([computed(part, policies) for part in partitions(inputs, n)])
        assert merged == whole.result  # trades in the same order, counts, harvests, problems ...
        assert list(merged.problems) == list(whole.result.problems)


def test_the_firm_run_exercises_what_partitioning_must_keep_together(firm, policies):
    result = compute(read_inputs(firm, policies, AS_OF), policies)
    reasons = [r for p in result.trades for r in p.trade.reasons]
    assert result.harvests and any(r.startswith("gain budget:") for r in reasons)
    assert any(r.startswith("nets with") for r in reasons)


def synthetic_inputs(book: Book) -> RunInputs:
    """A synthetic book's inputs as a store without history would give them."""
    household_of = {str(a): str(book.households[h]) for a, h in zip(book.account_ids, book.account_household)}
    treatment = {str(a): Registration(str(book.registrations[r])).tax_treatment
                 for a, r in zip(book.account_ids, book.account_registration)}
    recent = RecentTrading(book.as_of, 30, lambda symbol: frozenset({symbol}), {}, {}, household_of, treatment)
    return RunInputs(book=book, in_scope=np.ones(book.n_sleeves, dtype=bool), book_digest="synthetic",
                     recent=recent, prices={str(s): Decimal(repr(float(p))) for s, p in zip(book.symbols,
                                                                                            book.symbol_price)},
                     versions={}, restricted=frozenset(), harvested_days={}, realized={})


def test_merging_the_parts_of_a_larger_generated_book_gives_the_whole_books_run(policies):
    inputs = synthetic_inputs(synthetic_book(300, seed=11, as_of=AS_OF))
    whole = compute(inputs, policies)
    assert len(whole.trades) > 100
    assert merge([computed(part, policies) for part in partitions(inputs, 7)]) == whole
