"""A run's inputs split by household, and the results of the parts merged back into the run's.

Why households: wash sales look across a household's accounts (a harvest blocks its security in
every account of the household for the rest of the run), and crossings and gain budgets across an
account's sleeves. Everything a run decides about a sleeve depends only on its household's
sleeves, holdings, lots, recent trading and restrictions, plus firm-wide data that every part
carries whole (prices, model versions, the policies). So a household is never split, and a part
holds only its households' rows and their share of every per-account or per-household input.

What is not partition-local, and where it is handled:

- the book's digest (of the whole firm's book): computed once when the inputs are read, and
  carried by every part (:attr:`RunInputs.book_digest`);
- the order of the run's proposals (policy by policy over the whole book): each part gives each
  trade, harvest and problem an order key (:class:`~smartx_engine.rebalance.runs.Computed`) and
  :func:`merge` sorts by it, so the merged run lists them as the whole book's run does;
- the counts, the policies used, the settled sleeves and the shortfalls: summed or joined;
- a withdrawal (``--raise-cash``) goes to the part holding its account (to the first part when no
  part does, which then fails as the whole run would).

Households with no sleeve in scope are left out: nothing of theirs can change a sleeve in scope.
Policy functions from plugins must be row-wise (a sleeve's value from its own rows) for this to
hold; the built-in fields are.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from ..book import Book
from ..rebalance.harvest import Harvests
from ..rebalance.proposals import Proposals
from ..rebalance.runs import Computed, RunInputs, RunResult, TradeOrder


def household_parts(book: Book, n: int, in_scope: np.ndarray | None = None) -> list[np.ndarray]:
    """The sleeve indices (sorted) of at most ``n`` parts of whole households, of about equal size.

    Size is counted in holdings (plus one per sleeve). Households are taken in code order and cut
    where the running size crosses a multiple of the total over ``n``, so each part is within one
    household of its share. Households without a sleeve in ``in_scope`` (default: all in scope) are
    left out; with none in scope the list is empty.
    """
    n = max(1, int(n))
    household = book.account_household[book.sleeve_account].astype(np.int64) + 1  # 0: accounts without one
    n_households = len(book.households) + 1
    wanted = np.zeros(n_households, dtype=bool)
    wanted[household[np.ones(book.n_sleeves, dtype=bool) if in_scope is None else in_scope]] = True
    size = np.bincount(book.holding_sleeve, minlength=book.n_sleeves) + 1
    weight = np.bincount(household, weights=size, minlength=n_households)
    codes = np.flatnonzero(wanted)
    if not len(codes):
        return []
    w = weight[codes]
    start = np.cumsum(w) - w
    slot = np.minimum((start * n / w.sum()).astype(np.int64), n - 1)
    part_of = np.full(n_households, -1, dtype=np.int64)
    part_of[codes] = np.unique(slot, return_inverse=True)[1]  # numbered 0.. without gaps
    sleeve_part = part_of[household]
    order = np.argsort(sleeve_part, kind="stable")  # sleeve order within each part
    bounds = np.searchsorted(sleeve_part[order], np.arange(int(sleeve_part.max()) + 2))
    return [order[bounds[p]:bounds[p + 1]] for p in range(len(bounds) - 1)]


def partitions(inputs: RunInputs, n: int) -> list[RunInputs]:
    """``inputs`` split into at most ``n`` parts by household (never fewer than one part)."""
    parts = [sub_inputs(inputs, sleeves) for sleeves in household_parts(inputs.book, n, inputs.in_scope)]
    if not parts:
        parts = [sub_inputs(inputs, np.empty(0, dtype=np.int64))]
    if inputs.withdrawal and not any(p.withdrawal for p in parts):
        parts[0] = attrs.evolve(parts[0], withdrawal=inputs.withdrawal)  # fails there as the whole run would
    return parts


def sub_inputs(inputs: RunInputs, sleeves: np.ndarray) -> RunInputs:
    """The inputs of the given sleeves (whole households of them): their columns, as numpy arrays."""
    book = _with_accounts(inputs.book.select(sleeves))
    accounts = set(map(str, book.account_ids))
    households = set(map(str, book.households[book.account_household[book.account_household >= 0]]))
    sleeve_ids = set(map(str, book.sleeve_ids))
    return attrs.evolve(
        inputs, book=book, in_scope=inputs.in_scope[sleeves], recent=inputs.recent.of_households(households, accounts),
        restricted=frozenset(pair for pair in inputs.restricted if pair[0] in accounts),
        harvested_days={k: days for k, days in inputs.harvested_days.items() if k[0] in sleeve_ids},
        realized={a: gain for a, gain in inputs.realized.items() if a in accounts},
        withdrawal=inputs.withdrawal if inputs.withdrawal and inputs.withdrawal[0] in accounts else None)


def _with_accounts(book: Book) -> Book:
    """The book with only the accounts its sleeves belong to (every ``account_*`` column), renumbered."""
    accounts = np.unique(book.sleeve_account)
    columns = {f.name: getattr(book, f.name)[accounts] for f in attrs.fields(Book) if f.name.startswith("account_")}
    return attrs.evolve(book, **columns,
                        sleeve_account=np.searchsorted(accounts, book.sleeve_account).astype(book.sleeve_account.dtype))


def merge(parts: Sequence[Computed]) -> RunResult:
    """The run of the whole book from its parts' results (at least one): what :func:`compute` gives for it."""
    if not parts:
        raise ValueError("merge needs the result of at least one part")
    first = parts[0].result
    trades = Proposals.concat([p.result.trades for p in parts])
    keys = TradeOrder.concat([p.trade_keys for p in parts])
    sleeve_ids = np.asarray(trades.sleeves, dtype=str)[trades.sleeve]
    trades = trades.take(np.lexsort((keys.position, sleeve_ids, keys.policy, keys.step)))
    harvest_keys = [k for p in parts for k in p.harvest_keys]
    harvests = Harvests.concat([p.result.harvests for p in parts]).take(
        np.array(sorted(range(len(harvest_keys)), key=harvest_keys.__getitem__), dtype=np.int64))
    problems = sorted((k, s, p.result.problems[s]) for p in parts for k, s in p.problem_keys)
    policies = {name: digest for p in parts for name, digest in p.result.policies.items()}
    return RunResult(
        None, first.as_of, first.book_digest, dict(sorted(policies.items())),
        sum(p.result.sleeves_evaluated for p in parts), sum(p.result.sleeves_triggered for p in parts),
        {s: message for _, s, message in problems}, trades,
        shortfalls=dict(sorted(kv for p in parts for kv in p.result.shortfalls.items())),
        settled=dict(sorted(kv for p in parts for kv in p.result.settled.items())),
        harvests=harvests)
