"""Rebalance runs: evaluate the policies, generate trades, store them as proposals, in one transaction.

A run records its as-of date, the digest of the book it saw and the content digest of every
policy it used. A new run supersedes the still-proposed trades of the sleeves it proposes for
(they become ``cancelled``, noted with the run), so proposals never stack up.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ..book import Book, tax_treatment_codes
from ..bookread import gc_paused
from ..domain import TaxTreatment
from ..dsl.compile import PolicyEvaluation
from ..dsl.policyset import BookEvaluation, PolicySet, Resolution
from ..fixedpoint import MONEY, PRICE, QUANTITY, round_money
from ..plugins import call_event
from ..store import Store
from ..targets import restrictions
from .cash import cash_events, shortfalls
from .budget import SellContext, SleeveCash, Staged, relief_for
from .budget_columns import Accounts, CashOf, Sells, budget_cuts, regular_sells, whole_lots
from .details import account_rates, book_decimal, joined_runs, reason_columns, sale_lots, sleeve_values, spans
from ..tax.recent import RecentTrading, recent_trading
from ..tax.reports import net_realized
from ..tax.relief import OpenLot
from .generate import Blocks, CashEvents, TradeSet, generate_trades
from .harvest import Harvests, SwapBack, blocked_by, harvests, swap_backs
from .lots import relieve_exact
from .netting import cross_columns
from .proposals import ProposedTrade, Proposals, decimal_texts
from .stored import next_trade_number, record_proposals, supersede

if TYPE_CHECKING:
    from ..executors import Executor


@attrs.frozen
class RunResult:
    run_id: str | None  # None for a dry run
    as_of: dt.date
    book_digest: str
    policies: dict[str, str]
    sleeves_evaluated: int
    sleeves_triggered: int
    problems: dict[str, str]
    trades: Sequence[ProposedTrade]  # a Proposals (columns) from a run; objects from elsewhere (transitions)
    shortfalls: dict[str, str] = attrs.field(factory=dict)  # withdrawals a sleeve could not raise in full
    settled: dict[str, str | None] = attrs.field(factory=dict)  # triggered sleeves with nothing to trade: version
    timings: dict[str, Any] = attrs.field(factory=dict, eq=False)  # seconds per phase (load, compute, store), executor
    harvests: Harvests = attrs.field(factory=Harvests.empty)


def _scope_mask(book: Book, store: Store, sleeves: Sequence[str], account: str | None,
                household: str | None) -> np.ndarray:
    """Which sleeves of the book the run proposes for (all of them without a scope)."""
    wanted = set(sleeves)
    for sleeve_id in wanted:
        store.sleeve(sleeve_id)  # a clear error for an unknown sleeve
    if account:
        wanted |= {s.sleeve_id for s in store.sleeves(store.account(account).account_id)}
    if household:
        store.household(household)
        wanted |= {s.sleeve_id for a in store.accounts(household) for s in store.sleeves(a.account_id)}
    if not (sleeves or account or household):
        return np.ones(book.n_sleeves, dtype=bool)
    return np.isin(book.sleeve_ids, list(wanted))


#: reports a run's progress: (what it is doing, steps done, steps in all)
Progress = Callable[[str, int, int], None]


@attrs.frozen(eq=False)
class RunInputs:
    """Everything a run reads from the store, read once: a store-free value that pickles (columns, dicts).

    :func:`compute` turns it into a :class:`RunResult` without touching the store, so an executor may
    compute it here, or split it by household (:func:`smartx_engine.executors.partition.partitions`)
    and compute the parts elsewhere. Per-account and per-household fields hold what the book's
    sleeves need; a partition holds only its own households' share of each.
    """

    book: Book
    in_scope: np.ndarray                  # bool per sleeve of ``book``: the run proposes for it
    book_digest: str                      # of the whole firm's book (a partition keeps its whole's)
    recent: RecentTrading                 # the households' recent loss sales and purchases (wash sales)
    prices: dict[str, Decimal]            # symbol -> current price, every security
    versions: dict[str, str]              # model id -> the version in force on ``as_of``
    restricted: frozenset[tuple[str, str]]  # (account, symbol): never bought (its restrictions)
    harvested_days: dict[tuple[str, str], list[dt.date]]  # (sleeve, symbol) -> loss sales of the year
    realized: dict[str, Decimal]          # account -> net gain realised this year (accounts with a gain budget)
    withdrawal: tuple[str, Decimal] | None = None  # (account, USD) to raise
    invest: bool = False
    harvest_only: bool = False

    @property
    def as_of(self) -> dt.date:
        return self.book.as_of


def read_inputs(store: Store, policies: PolicySet, as_of: dt.date, *, sleeves: Sequence[str] = (),
                account: str | None = None, household: str | None = None,
                raise_cash: tuple[str, Decimal] | None = None, invest: bool = False,
                harvest_only: bool = False) -> RunInputs:
    """Read what a run of ``rebalance`` (same arguments) needs from the store: the only step that does."""
    book = Book.from_store(store, as_of)
    in_scope = _scope_mask(book, store, sleeves, account or (raise_cash[0] if raise_cash else None), household)
    budgeted = _budgets(book, policies.resolve(book), policies, in_scope)
    return RunInputs(
        book=book, in_scope=in_scope, book_digest=book.digest(), recent=_recent_trading(store, policies, as_of),
        prices=store.prices(), versions=store.latest_model_versions(as_of),
        restricted=frozenset((a, r.symbol) for a, rows in restrictions(store).items() for r in rows),
        harvested_days=_harvested_days(store, as_of), realized=net_realized(store, list(budgeted), as_of),
        withdrawal=raise_cash, invest=invest, harvest_only=harvest_only)


def rebalance(store: Store, policies: PolicySet, as_of: dt.date, *, sleeves: Sequence[str] = (),
              account: str | None = None, household: str | None = None, raise_cash: tuple[str, Decimal] | None = None,
              invest: bool = False, harvest_only: bool = False, dry_run: bool = False,
              progress: Progress | None = None, executor: Executor | None = None) -> RunResult:
    """Propose the trades of every triggered sleeve in scope; store them unless ``dry_run``.

    Sleeves in scope that do not rebalance harvest the losses their policy marks first
    (:mod:`.harvest`); with ``harvest_only`` every sleeve in scope harvests and none rebalances.
    ``raise_cash`` (account id, USD) raises a withdrawal across that account's sleeves; ``invest``
    invests the cash of every sleeve in scope, buying only. Gain budgets then trim the sells
    (:mod:`.budget`).

    The run reads the store (:func:`read_inputs`), has ``executor`` compute it (default: the
    ``local`` executor, in this process; see :mod:`smartx_engine.executors`), then stores the whole
    run in one transaction (:func:`record_run`).
    """
    report = progress or (lambda *_: None)
    clock = time.perf_counter()
    report("loading the book", 0, 1)
    inputs = read_inputs(store, policies, as_of, sleeves=sleeves, account=account, household=household,
                         raise_cash=raise_cash, invest=invest, harvest_only=harvest_only)
    if executor is None:
        from ..executors.local import LocalExecutor
        executor = LocalExecutor()
    timings = {"load": time.perf_counter() - clock}
    result = executor.run(inputs, policies, progress=report)
    timings["compute"] = time.perf_counter() - clock - timings["load"]
    if not dry_run:
        report("storing the proposals", 0, 1)
        result = record_run(store, result)
        timings["store"] = time.perf_counter() - clock - timings["load"] - timings["compute"]
    return attrs.evolve(result, timings={**timings, "executor": executor.name})


def compute(inputs: RunInputs, policies: PolicySet, progress: Progress | None = None) -> RunResult:
    """The run's result from its inputs alone (no store): what ``rebalance`` proposes and stores."""
    return computed(inputs, policies, progress).result


#: the order of a harvest in a run: (step, policy, sleeve id, position); see :class:`Computed`
OrderKey = tuple[int, str, str, int]


@attrs.frozen(eq=False)
class TradeOrder:
    """The order keys of a run's trades as columns (with each trade's sleeve id: see :class:`Computed`)."""

    step: np.ndarray      # int8
    policy: np.ndarray    # int16: the policy's place among the policy set's names (sorted: codes sort as names do)
    position: np.ndarray  # int64: the trade's place among those its part staged

    def take(self, rows: np.ndarray) -> TradeOrder:
        return TradeOrder(self.step[rows], self.policy[rows], self.position[rows])

    @classmethod
    def concat(cls, parts: Sequence[TradeOrder]) -> TradeOrder:
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in attrs.fields(cls)))


@attrs.frozen
class Computed:
    """A run's result with the order key of each of its trades, harvests and problems.

    A run lists the harvests' sells and buys first (step 0, policy by policy, sleeve by sleeve),
    then the swap backs (1), then the rebalances (2); the problems of sleeves that name an unknown
    policy before those of sleeves no policy (or several) selects. The keys are increasing in a
    run, and one sleeve's items all come from the partition of its household, so sorting the items
    of several partitions by key gives the order of the whole book's run.
    """

    result: RunResult
    trade_keys: TradeOrder                # of each trade of ``result.trades``
    harvest_keys: tuple[OrderKey, ...]
    problem_keys: tuple[tuple[int, str], ...]


def computed(inputs: RunInputs, policies: PolicySet, progress: Progress | None = None) -> Computed:
    """:func:`compute`, with the order keys that merging partitions needs (the cyclic garbage collector
    paused: a run makes millions of objects that live until it ends, which it would walk again and again)."""
    with gc_paused():
        return _computed(inputs, policies, progress)


def _computed(inputs: RunInputs, policies: PolicySet, progress: Progress | None = None) -> Computed:
    report = progress or (lambda *_: None)
    book, as_of, in_scope = inputs.book, inputs.as_of, inputs.in_scope
    report("evaluating the policies", 0, 1)
    evaluation = policies.evaluate(book)
    run = _Run(inputs, cash_events(book, evaluation, in_scope, withdrawal=inputs.withdrawal, invest=inputs.invest))
    harvested, swapped = run.harvests(evaluation, inputs.harvest_only)
    run.stage_pairs(harvested, swapped)
    harvests = Harvests.concat([h for _, _, h in harvested])
    resolution, evaluations = evaluation.resolution, dict(evaluation.evaluations)
    del evaluation, harvested, swapped  # so that each policy's evaluation goes once its trades (which keep theirs) are staged
    for done, name in enumerate(() if inputs.harvest_only else list(evaluations)):
        report(f"proposing trades ({name})", done, len(evaluations))
        run.stage_rebalance(name, evaluations.pop(name))
    proposals, order = run.proposals(resolution.names)
    budgets = _budgets(book, resolution, policies, in_scope)
    proposals, order = run.within_budgets(proposals, order, budgets, _sleeve_cash(book, resolution, policies, run.events))
    problems = sorted((0 if resolution.assigned[i] else 1, str(book.sleeve_ids[i]), p)
                      for i, p in resolution.problems.items() if in_scope[i])
    used = sorted(resolution.names[c] for c in np.unique(resolution.policy_of[in_scope]).tolist() if c >= 0)
    result = RunResult(None, as_of, inputs.book_digest, {n: policies.digests[n] for n in used},
                       int(in_scope.sum()), run.triggered, {s: p for _, s, p in problems},
                       with_crossings(proposals),
                       harvests=harvests,
                       shortfalls=shortfalls(book, run.events, run.cash_after),
                       settled={str(book.sleeve_ids[s]): run.version(s) for s in sorted(run.settled)})
    return Computed(result, order, tuple(run.harvest_keys), tuple((k, s) for k, s, _ in problems))


@attrs.define
class _Run:
    """A run in the making: its inputs, and the blocks of trades staged so far (each block with its
    order keys, and what trimming its sells to a gain budget would need)."""

    inputs: RunInputs
    events: CashEvents
    blocks: Blocks = attrs.field(factory=Blocks.none)  # what households may not buy (with the run's harvests)
    staged: list[tuple[Proposals, int, str]] = attrs.field(factory=list)  # (block, step, policy)
    pair_blocks: list[tuple[int, Proposals]] = attrs.field(factory=list)  # (first row, block) of harvests, swap backs
    sources: list[tuple[int, TradeSet, np.ndarray]] = attrs.field(factory=list)  # (first row, trade set, its rows)
    harvest_keys: list[OrderKey] = attrs.field(factory=list)
    triggered: int = 0
    settled: set[int] = attrs.field(factory=set)
    cash_after: np.ndarray = attrs.field(init=False)
    rows: int = 0  # staged so far

    def __attrs_post_init__(self) -> None:
        self.cash_after = self.inputs.book.sleeve_cash.copy()

    @property
    def book(self) -> Book:
        return self.inputs.book

    def version(self, sleeve: int) -> str | None:
        """The version of the sleeve's model in force on the run's date (what its trades rebalance it to)."""
        code = int(self.book.sleeve_model[sleeve])
        return None if code < 0 else self.model_versions[code]

    @functools.cached_property
    def model_versions(self) -> list[str | None]:
        """The version in force of each model of the book, by code."""
        return [self.inputs.versions.get(str(m)) for m in self.book.models]

    def harvests(self, evaluation: BookEvaluation, harvest_only: bool
                 ) -> tuple[list[tuple[str, PolicyEvaluation, Harvests]], list[tuple[str, PolicyEvaluation, SwapBack]]]:
        """The harvests (per policy), then the swap backs (of sleeves that do not harvest), of the sleeves
        in scope that do not rebalance (all of them with ``harvest_only``); each harvest blocks its
        security, so ``blocks`` ends with the run's."""
        inputs, book = self.inputs, self.book
        recent = inputs.recent

        def idle(result: PolicyEvaluation) -> np.ndarray:
            return inputs.in_scope[result.sleeves] & ~result.skip & (harvest_only | ~result.triggered)

        self.blocks = Blocks.of(book, ((h, s) for h, symbols in recent.blocked.items() for s in symbols),
                                inputs.restricted)
        harvested = []
        for name, result in evaluation.evaluations.items():
            found = harvests(result, idle(result), recent, self.blocks, inputs.prices, inputs.as_of)
            if len(found):
                self.blocks = self.blocks.with_washes(blocked_by(book, found, recent.identical))
            harvested.append((name, result, self._in_book(result, found)))
        harvesting = np.concatenate([result.sleeves[h.sleeve] for _, result, h in harvested] or [np.empty(0, int)])
        names = [name for name, _, h in harvested for _ in range(len(h))]
        self.harvest_keys = list(zip(itertools.repeat(0), names, book.sleeve_ids[harvesting].tolist(),
                                     range(len(names))))
        swapped = [(name, result, swap) for name, result in evaluation.evaluations.items()
                   for swap in swap_backs(result, idle(result) & ~np.isin(result.sleeves, harvesting),
                                          inputs.harvested_days, self.blocks, inputs.prices, inputs.as_of,
                                          recent.window_days)]
        return harvested, swapped

    def _in_book(self, result: PolicyEvaluation, found: Harvests) -> Harvests:
        """A policy's harvests with their pairs' sleeves in the whole book, and their models' versions."""
        sleeves = result.sleeves[found.pairs.sleeve]
        versions = np.array([*self.model_versions, None], dtype=object)[self.book.sleeve_model[sleeves]]
        return attrs.evolve(found, pairs=attrs.evolve(found.pairs, sleeves=self.book.sleeve_ids,
                                                      sleeve=sleeves.astype(np.int32), model_version=versions))

    def stage_pairs(self, harvested: list[tuple[str, PolicyEvaluation, Harvests]],
                    swapped: list[tuple[str, PolicyEvaluation, SwapBack]]) -> None:
        """The harvests' pairs, then the swap backs' (a sell of named lots and the buy its proceeds pay
        for), a block per policy."""
        for name, _, found in harvested:
            self._stage_pair_block(found.pairs, 0, name)
        for name, swaps in itertools.groupby(swapped, key=lambda item: item[0]):
            pairs = []
            for _, result, swap in swaps:
                version = self.version(int(result.sleeves[swap.sleeve]))
                pairs += [(swap.sell, list(swap.lots), version), (swap.buy, [], version)]
            self._stage_pair_block(Proposals.of_objects(pairs), 1, name)

    def _stage_pair_block(self, block: Proposals, step: int, policy: str) -> None:
        if len(block):
            self.pair_blocks.append((self.rows, block))
            self._stage(block, step, policy)

    def _stage(self, block: Proposals, step: int, policy: str) -> None:
        self.staged.append((block, step, policy))
        self.rows += len(block)

    def stage_rebalance(self, name: str, result: PolicyEvaluation) -> None:
        """The trades of one policy's triggered sleeves in scope, with their reasons and lots, as columns."""
        book, inputs = self.book, self.inputs
        chosen = inputs.in_scope[result.sleeves]
        self.triggered += int((result.triggered & chosen).sum())
        events = self.events.take(result.sleeves)
        trades = generate_trades(result, events, self.blocks)
        local_book = trades.evaluation.book  # with the holdings substitutes need
        local_sleeves = local_book.holding_sleeve[trades.holding]
        quiet = result.triggered & chosen & (local_book.sleeve_model >= 0)
        quiet[local_sleeves] = False
        self.settled.update(int(s) for s in result.sleeves[quiet])
        np.add.at(self.cash_after, result.sleeves[local_sleeves], -trades.side * trades.value)
        rows = np.flatnonzero(chosen[local_sleeves])
        sleeve = result.sleeves[local_sleeves[rows]]
        symbol = local_book.holding_symbol[trades.holding[rows]]
        head, tail, tails = reason_columns(trades, rows, events, self.blocks)
        prices = np.array([PRICE.to_int(inputs.prices[str(s)]) for s in local_book.symbols], dtype=np.int64)
        versions = np.array([*self.model_versions, None], dtype=object)
        block = Proposals(
            book.sleeve_ids, book.account_ids, local_book.symbols, sleeve.astype(np.int32),
            book.sleeve_account[sleeve].astype(np.int32), symbol.astype(np.int32), trades.side[rows].astype(np.int8),
            np.rint(trades.quantity[rows] * 10 ** QUANTITY.places).astype(np.int64), prices[symbol],
            versions[book.sleeve_model[sleeve]], head, tail, tuple(tails), {},
            relieve_exact(trades, rows, inputs.as_of))
        self.sources.append((self.rows, trades, rows))
        self._stage(block.with_notes(wash_warnings(block, inputs.recent)), 2, name)

    def proposals(self, names: Sequence[str]) -> tuple[Proposals, TradeOrder]:
        """Every trade staged, in staging order, with its order keys (``names``: the policy set's, sorted);
        the staged blocks are let go (their trades are now in the one block returned)."""
        staged, self.staged = self.staged, []
        sizes = [len(b) for b, _, _ in staged]
        code = {name: i for i, name in enumerate(names)}
        order = TradeOrder(np.repeat(np.array([s for _, s, _ in staged], dtype=np.int8), sizes),
                           np.repeat(np.array([code[p] for _, _, p in staged], dtype=np.int16), sizes),
                           np.arange(sum(sizes), dtype=np.int64))
        return Proposals.concat([b for b, _, _ in staged]), order

    def sell_context(self, row: int) -> SellContext:
        """What trimming the sell staged in ``row`` to a gain budget needs: its lots and how they are relieved."""
        for first, block in self.pair_blocks:
            if first <= row < first + len(block):  # a harvest's or swap back's sell: its named lots, whole shares
                at = np.searchsorted(block.lots.trade, [row - first, row - first + 1]).tolist()
                lots = tuple(OpenLot(r.lot_id, r.quantity, r.cost_basis, r.acquired) for r in block.lots.reliefs(*at))
                price = PRICE.to_decimal(int(block.price_e6[row - first]))
                return SellContext(lots, relief_for("FIFO", (Decimal(0), Decimal(0)), price, self.inputs.as_of),
                                   Decimal(1))
        first, trades, rows = next(s for s in reversed(self.sources) if s[0] <= row)
        row = int(rows[row - first])
        settings = trades.evaluation.policy.settings
        price = PRICE.to_decimal(int(np.rint(trades.price[row] * 10 ** PRICE.places)))
        return SellContext(tuple(sale_lots(trades, row)), relief_for(settings.lot_method, account_rates(trades, row),
                                                                     price, self.inputs.as_of), settings.share_step)

    def within_budgets(self, proposals: Proposals, order: TradeOrder, budgets: dict[str, Decimal],
                       cash_of: CashOf, by_objects: bool = False) -> tuple[Proposals, TradeOrder]:
        """The proposals with the sells of every account over its gain budget trimmed (:mod:`.budget`).

        Only the accounts whose sells would realise more than their budget leaves are trimmed, over
        columns (:mod:`.budget_columns`; the few it leaves, and all with ``by_objects``, as objects)."""
        book, realized = self.book, self.inputs.realized
        gain = proposals.lots.gain_per_trade(len(proposals))
        gains = np.zeros(len(proposals.accounts), dtype=np.int64)
        np.add.at(gains, proposals.account, gain)
        selling = np.zeros(len(proposals.accounts), dtype=bool)  # only an account that sells at a gain is trimmed
        selling[proposals.account[gain > 0]] = True
        selling = np.flatnonzero(selling)
        codes = [c for a, c, g in zip(np.asarray(proposals.accounts[selling], dtype=str).tolist(), selling.tolist(),
                                      gains[selling].tolist())  # gains in cents: over when above 100 x the room
                 if a in budgets and g > (budgets[a] - realized.get(a, Decimal(0))).scaleb(MONEY.places)]
        if not codes:
            return proposals, order
        over = [str(proposals.accounts[c]) for c in codes]
        rows = np.searchsorted(book.account_ids, over)  # account ids are sorted
        over_budget = Accounts(over, [budgets[a] for a in over], [realized.get(a, Decimal(0)) for a in over],
                               [(book_decimal(book.account_st_rate[r]), book_decimal(book.account_lt_rate[r]))
                                for r in rows.tolist()])
        number = np.full(len(proposals.accounts), -1, dtype=np.int64)
        number[codes] = np.arange(len(over))
        sold = np.flatnonzero((proposals.side < 0) & (number[proposals.account] >= 0))
        sold = sold[np.argsort(number[proposals.account[sold]], kind="stable")]
        last_lots = proposals.lots.lot_id[np.maximum(np.searchsorted(proposals.lots.trade, sold + 1) - 1, 0)]
        price, step, whole, whole_basis, named = self.sell_terms(sold, last_lots)
        sells = Sells(sold, number[proposals.account[sold]], price, step, whole, whole_basis)
        irregular = np.bincount(sells.account[~regular_sells(proposals, sells, named)], minlength=len(over)) > 0
        whole_cents = np.array([r == r.quantize(MONEY.unit) for r in over_budget.room()], dtype=bool)
        regular = ~irregular & whole_cents & (not by_objects)
        cuts = budget_cuts(proposals, over_budget, sells, regular, _StagedRows(self, proposals), cash_of)
        proposals, kept = cuts.applied(proposals)
        return proposals, order.take(kept)

    def sell_terms(self, rows: np.ndarray, last_lots: np.ndarray) -> tuple[np.ndarray, ...]:
        """Of each sell staged in ``rows``: the price its lots are relieved at (millionths), its share
        step (millionths), the quantity (millionths) and basis (cents) of the whole of ``last_lots``
        (its relief's last lot), and whether it sells a pair's named lots (whose others are not read)."""
        price, whole, basis = (np.zeros(len(rows), dtype=np.int64) for _ in range(3))
        step = np.full(len(rows), QUANTITY.to_int(Decimal(1)), dtype=np.int64)
        for first, trades, source in self.sources:
            at = np.flatnonzero((rows >= first) & (rows < first + len(source)))
            local = source[rows[at] - first]
            price[at] = np.rint(trades.price[local] * 10 ** PRICE.places)
            step[at] = QUANTITY.to_int(trades.evaluation.policy.settings.share_step)
            whole[at], basis[at] = whole_lots(trades.evaluation.book, trades.holding[local], last_lots[at])
        named = np.zeros(len(rows), dtype=bool)
        for first, block in self.pair_blocks:
            named |= (rows >= first) & (rows < first + len(block))
        return price, step, whole, basis, named


class _StagedRows(dict):
    """Rows of a run's proposals as the budget pass reads them (trade, reliefs, sell context), made when first read."""

    def __init__(self, run: _Run, proposals: Proposals):
        super().__init__()
        self.run, self.proposals = run, proposals

    @functools.cached_property
    def bounds(self) -> np.ndarray:
        return self.proposals.lots.bounds(len(self.proposals))

    def __missing__(self, row: int) -> Staged:
        p = self.proposals
        staged = self[row] = (p.trade(row), p.lots.reliefs(self.bounds[row], self.bounds[row + 1]),
                              _LaterContext(self.run, row) if p.side[row] < 0 else None)
        return staged


class _LaterContext:
    """A staged sell's :class:`SellContext`, made when trimming first reads it (most sells are never cut)."""

    def __init__(self, run: _Run, row: int):
        self.run, self.row = run, row

    @functools.cached_property
    def context(self) -> SellContext:
        return self.run.sell_context(self.row)

    def __getattr__(self, name: str):
        return getattr(self.context, name)


def wash_warnings(block: Proposals, recent: RecentTrading) -> dict[int, list[str]]:
    """The loss sales of ``block`` that recent purchases in their household would wash, saying so.

    Only a sale in a taxable account whose household bought the security (or an identical one) in
    the window, in a lot it does not sell itself, is checked exactly (the exact check is slower);
    those are found over columns."""
    gains = block.lots.gain_per_trade(len(block))
    rows = np.flatnonzero((block.side < 0) & (gains < 0))
    accounts, account = np.unique(block.account[rows], return_inverse=True)
    account, account_ids = account.reshape(-1), np.asarray(block.accounts[accounts], dtype=str).tolist()
    numbers: dict[str, int] = {}  # the households, numbered (-1: none, or not taxable: nothing to wash)
    household = np.array([-1 if (h := recent.household_of.get(a)) is None
                          or recent.treatment_of.get(a) != TaxTreatment.TAXABLE else numbers.setdefault(h, len(numbers))
                          for a in account_ids], dtype=np.int64)[account]
    # a purchase washes a sale when of a security identical to it: the same first symbol of their identical groups
    bought_by, bought, symbols, bought_lots = recent.bought_of_each(list(numbers))
    sold = np.asarray(block.symbols[block.symbol[rows]], dtype=str)
    named = sorted({*symbols, *sold.tolist()})
    groups = np.unique([min(recent.identical(s)) for s in named], return_inverse=True)[1].reshape(-1)
    size = len(named) + 1
    bought = bought_by * size + groups[np.searchsorted(named, symbols).astype(np.int64)][bought]
    sales = np.flatnonzero(household >= 0)
    key = household[sales] * size + groups[np.searchsorted(named, sold[sales])]
    by_key = np.argsort(bought, kind="stable")
    purchases, sale, _ = spans(np.searchsorted(bought[by_key], key), np.searchsorted(bought[by_key], key, side="right"))
    first, last = np.searchsorted(block.lots.trade, [rows, rows + 1])
    own, of_sale, _ = spans(first[sales], last[sales])  # the lots each sale sells: none of them washes it
    others = ~np.isin(np.strings.add(sale.astype(str), np.strings.add(":", bought_lots[by_key[purchases]])),
                      np.strings.add(of_sale.astype(str), np.strings.add(":", block.lots.lot_id[own].astype(str))))
    notes = {}
    for i in np.unique(sales[sale[others]]).tolist():
        row, lo, hi = int(rows[i]), int(first[i]), int(last[i])
        washed = recent.washed_by_recent_buys(account_ids[account[i]], str(block.symbols[block.symbol[row]]),
                                              block.lots.lot_id[lo:hi].tolist())
        if washed:
            quantity = QUANTITY.to_decimal(int(block.quantity_e6[row]))
            notes[row] = [f"wash sale: {min(washed, quantity)} of these shares' loss would be disallowed ({washed} "
                          f"identical shares bought in the household in the last {recent.window_days} days)"]
    return notes


def _recent_trading(store: Store, policies: PolicySet, as_of: dt.date) -> RecentTrading:
    """The households' recent losses and purchases, with the policies' identical groups and longest window."""
    settings = [policy.settings for policy in policies.compiled.values()]
    return recent_trading(store, as_of, identical=[g for s in settings for g in s.identical],
                          window_days=max((s.wash_sale_days for s in settings), default=30))


def _budgets(book: Book, resolution: Resolution, policies: PolicySet, in_scope: np.ndarray) -> dict[str, Decimal]:
    """Each taxable account's yearly gain budget: the smallest of its sleeves' policies in scope
    (found over columns: each sleeve's budget by its rank among the policies' amounts)."""
    treatment, names = tax_treatment_codes(book)
    taxable = names[treatment[book.sleeve_account]] == "taxable"
    budget_of = [policies.compiled[name].settings.gain_budget for name in resolution.names]
    amounts = sorted({b: b for b in reversed(budget_of) if b is not None}.values())  # equal ones: the first policy's
    if not amounts:
        return {}
    none = len(amounts)
    rank = np.array([none if b is None else amounts.index(b) for b in budget_of] + [none])  # -1: no policy
    smallest = np.full(len(book.account_ids), none)
    np.minimum.at(smallest, book.sleeve_account, np.where(in_scope & taxable, rank[resolution.policy_of], none))
    accounts = np.flatnonzero(smallest < none)
    return dict(zip(book.account_ids[accounts].tolist(), [amounts[r] for r in smallest[accounts].tolist()]))


def _sleeve_cash(book: Book, resolution: Resolution, policies: PolicySet, events: CashEvents) -> CashOf:
    """The cash the buys of some sleeves may use (asked only for the sleeves whose sells a budget cut)."""
    def cash_of(sleeve_ids: Sequence[str]) -> list[SleeveCash]:
        sleeves = np.searchsorted(book.sleeve_ids, sleeve_ids)  # sleeve ids are sorted
        values = sleeve_values(book, sleeves)[3] - events.withdraw[sleeves]
        cash = []
        for sleeve, value, code in zip(sleeves.tolist(), values, resolution.policy_of[sleeves].tolist()):
            settings = policies.compiled[resolution.names[code]].settings
            floor = (settings.cash_min or 0.0) * value + events.withdraw[sleeve]
            cash.append(SleeveCash(round_money(Decimal(repr(float(book.sleeve_cash[sleeve])))),
                                   round_money(Decimal(repr(float(floor)))), settings.share_step, settings.min_trade))
        return cash
    return cash_of


def _harvested_days(store: Store, as_of: dt.date) -> dict[tuple[str, str], list[dt.date]]:
    """(sleeve id, symbol) -> the days of the last year it was sold at a loss (what a swap back undoes)."""
    days: dict[tuple[str, str], list[dt.date]] = {}
    for r in store.db.query("select distinct sleeve_id, symbol, sold from realized where gain_cents < 0 and sold"
                            " between ? and ?", [(as_of - dt.timedelta(days=365)).isoformat(), as_of.isoformat()]):
        days.setdefault((r["sleeve_id"], r["symbol"]), []).append(dt.date.fromisoformat(r["sold"]))
    return days


def with_crossings(proposals: Proposals) -> Proposals:
    """The proposals, each that would cross with another sleeve of its account saying so (:func:`.netting.net`'s
    crossings: each (account, security)'s sells and buys taken in (sleeve id, trade id ``P<row>``) order)."""
    group = proposals.account.astype(np.int64) * len(proposals.symbols) + proposals.symbol
    rows = np.argsort(group, kind="stable")  # a merge sort: the rows come mostly by account, each sleeve by symbol
    new = np.r_[True, group[rows[1:]] != group[rows[:-1]]] if len(rows) else np.empty(0, bool)
    run = np.cumsum(new) - 1
    buying, selling = np.zeros(len(rows), dtype=bool), np.zeros(len(rows), dtype=bool)
    buying[run[proposals.side[rows] > 0]] = True
    selling[run[proposals.side[rows] < 0]] = True
    rows = rows[(buying & selling)[run]]  # the trades of a security an account both buys and sells, by group
    codes, sleeve = np.unique(proposals.sleeve[rows], return_inverse=True)
    rank = np.argsort(np.argsort(np.asarray(proposals.sleeves[codes], dtype=str)))[sleeve.reshape(-1)]
    order = np.lexsort((rank, group[rows]))  # then by sleeve id; a sleeve's own rows by row: P10 comes before P9
    rows = rows[order]
    rank = rank[order]
    for first, last in joined_runs((group[rows[1:]] == group[rows[:-1]]) & (rank[1:] == rank[:-1])):
        rows[first:last] = sorted(rows[first:last].tolist(), key=lambda row: f"P{row}")
    sell, buy, quantity = cross_columns(group[rows], proposals.side[rows], proposals.quantity_e6[rows])
    sell, buy = rows[sell], rows[buy]
    notes: dict[int, list[str]] = {}
    for s, b, q, account, seller, buyer in zip(
            sell.tolist(), buy.tolist(), decimal_texts(quantity, QUANTITY.places).tolist(),
            np.asarray(proposals.accounts[proposals.account[sell]], dtype=str).tolist(),
            np.asarray(proposals.sleeves[proposals.sleeve[sell]], dtype=str).tolist(),
            np.asarray(proposals.sleeves[proposals.sleeve[buy]], dtype=str).tolist()):
        words = f"{q} shares cross inside {account} (lots move, no sale)"
        notes.setdefault(s, []).append(f"nets with {buyer}'s buy: {words}")
        notes.setdefault(b, []).append(f"nets with {seller}'s sell: {words}")
    return proposals.with_notes(notes)


def record_run(store: Store, result: RunResult) -> RunResult:
    """Store a run and its proposals in one transaction, superseding older proposals of the same sleeves.

    The proposals are stored as the run computed them, in column chunks (:mod:`.stored`); a sleeve's
    become rows of ``trades`` when one of its trades is decided."""
    db = store.db
    now = store.clock().isoformat(timespec="seconds")
    proposals = result.trades if isinstance(result.trades, Proposals) else Proposals.of_proposed(result.trades)
    with store.transaction(), gc_paused():
        run_id = f"R-{_next_number(db, 'runs', 'run_id'):06d}"
        db.table("runs").insert({
            "run_id": run_id, "as_of": result.as_of.isoformat(), "created_at": now, "actor": store.actor,
            "book_digest": result.book_digest, "policies": json.dumps(result.policies, sort_keys=True),
            "sleeves_evaluated": result.sleeves_evaluated, "sleeves_triggered": result.sleeves_triggered,
            "trades": len(proposals), "problems": json.dumps(result.problems, sort_keys=True),
        })
        superseded = supersede(db, run_id, proposals.traded_sleeves(), now)
        stored = proposals.recorded(run_id, next_trade_number(db))
        record_proposals(db, stored)
        store.mark_rebalanced(result.settled, result.as_of)
        store.audit("rebalance.run", run_id, as_of=result.as_of.isoformat(), book_digest=result.book_digest,
                    policies=result.policies, trades=len(stored), superseded=superseded,
                    sleeves_triggered=result.sleeves_triggered, on_target=sorted(result.settled))
    recorded = attrs.evolve(result, run_id=run_id, trades=stored)
    call_event("on_run_completed", run=recorded)
    return recorded


def _next_number(db, table: str, key: str) -> int:
    row = db.execute(f"select max(cast(substr({key}, 3) as integer)) from {table}").fetchone()
    return (row[0] or 0) + 1
