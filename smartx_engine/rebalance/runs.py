"""Rebalance runs: evaluate the policies, generate trades, store them as proposals, in one transaction.

A run records its as-of date, the digest of the book it saw and the content digest of every
policy it used. A new run supersedes the still-proposed trades of the sleeves it proposes for
(they become ``cancelled``, noted with the run), so proposals never stack up.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ..book import Book, tax_treatment_codes
from ..bookread import gc_paused
from ..domain import Side, Trade
from ..dsl.compile import PolicyEvaluation
from ..dsl.frame import Frame
from ..dsl.policyset import BookEvaluation, PolicySet, Resolution
from ..fixedpoint import MONEY, PRICE, QUANTITY, round_money
from ..plugins import call_event
from ..store import Store
from ..targets import restrictions
from .cash import cash_events, shortfalls
from .budget import SellContext, SleeveCash, Staged, budget_changes, relief_for
from .details import account_rates, book_decimal, reason_columns, sale_lots
from ..tax.recent import RecentTrading, recent_trading
from ..tax.reports import net_realized
from ..tax.relief import OpenLot, Relief
from .generate import Blocks, CashEvents, TradeSet, generate_trades
from .harvest import Harvest, SwapBack, harvests, swap_backs
from .lots import relieve_exact
from .netting import net
from .proposals import ProposedTrade, Proposals
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
    harvests: tuple[Harvest, ...] = ()


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
    policy: np.ndarray    # str
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
    run.blocks = Blocks.of(book, run.blocked, inputs.restricted)  # with this run's harvests
    for step, pairs in enumerate([harvested, swapped]):
        for name, result, pair in pairs:
            run.stage_pair(name, result, pair, step)
    for done, (name, result) in enumerate(() if inputs.harvest_only else evaluation.evaluations.items()):
        report(f"proposing trades ({name})", done, len(evaluation.evaluations))
        run.stage_rebalance(name, result)
    proposals, order = run.proposals()
    budgets = _budgets(book, evaluation.resolution, policies, in_scope)
    proposals, order = run.within_budgets(proposals, order, budgets, _sleeve_cash(book, evaluation, run.events))
    resolution = evaluation.resolution
    problems = sorted((0 if resolution.assigned[i] else 1, str(book.sleeve_ids[i]), p)
                      for i, p in resolution.problems.items() if in_scope[i])
    used = sorted(resolution.names[c] for c in np.unique(resolution.policy_of[in_scope]).tolist() if c >= 0)
    result = RunResult(None, as_of, inputs.book_digest, {n: policies.digests[n] for n in used},
                       int(in_scope.sum()), run.triggered, {s: p for _, s, p in problems},
                       with_crossings(proposals),
                       harvests=tuple(h for _, _, h in harvested),
                       shortfalls=shortfalls(book, run.events, run.cash_after),
                       settled={str(book.sleeve_ids[s]): run.version(s) for s in sorted(run.settled)})
    return Computed(result, order, tuple(run.harvest_keys), tuple((k, s) for k, s, _ in problems))


@attrs.define
class _Run:
    """A run in the making: its inputs, and the blocks of trades staged so far (each block with its
    order keys, and what trimming its sells to a gain budget would need)."""

    inputs: RunInputs
    events: CashEvents
    blocked: set[tuple[str, str]] = attrs.field(init=False)
    blocks: Blocks = attrs.field(factory=Blocks.none)
    staged: list[tuple[Proposals, int, str]] = attrs.field(factory=list)  # (block, step, policy)
    pairs: list[tuple[Trade, list[Relief], str | None, Harvest | SwapBack | None]] = attrs.field(factory=list)
    pairs_key: tuple[int, str] | None = None
    pair_sells: dict[int, Harvest | SwapBack] = attrs.field(factory=dict)  # row -> the pair of a staged pair's sell
    sources: list[tuple[int, TradeSet, np.ndarray]] = attrs.field(factory=list)  # (first row, trade set, its rows)
    harvest_keys: list[OrderKey] = attrs.field(factory=list)
    triggered: int = 0
    settled: set[int] = attrs.field(factory=set)
    cash_after: np.ndarray = attrs.field(init=False)
    rows: int = 0  # staged so far

    def __attrs_post_init__(self) -> None:
        self.blocked = {(h, s) for h, symbols in self.inputs.recent.blocked.items() for s in symbols}
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

    def harvests(self, evaluation: BookEvaluation, harvest_only: bool) -> tuple[list, list]:
        """The harvests, then the swap backs (of sleeves that do not harvest), of the sleeves in scope
        that do not rebalance (all of them with ``harvest_only``); each harvest blocks its security."""
        inputs = self.inputs

        def idle(result: PolicyEvaluation) -> np.ndarray:
            return inputs.in_scope[result.sleeves] & ~result.skip & (harvest_only | ~result.triggered)

        harvested = [(name, result, harvest) for name, result in evaluation.evaluations.items()
                     for harvest in harvests(result, idle(result), inputs.recent, self.blocked, inputs.prices,
                                             inputs.as_of, inputs.restricted)]
        self.harvest_keys = [(0, name, h.sell.sleeve_id, i) for i, (name, _, h) in enumerate(harvested)]
        harvesting = [int(r.sleeves[h.sleeve]) for _, r, h in harvested]
        swapped = [(name, result, swap) for name, result in evaluation.evaluations.items()
                   for swap in swap_backs(result, idle(result) & ~np.isin(result.sleeves, harvesting),
                                          inputs.harvested_days, self.blocked, inputs.prices, inputs.as_of,
                                          inputs.recent.window_days, inputs.restricted)]
        return harvested, swapped

    def stage_pair(self, name: str, result: PolicyEvaluation, pair: Harvest | SwapBack, step: int) -> None:
        """A sell of named lots and the buy its proceeds pay for."""
        if self.pairs_key != (step, name):
            self._stage_pairs()
            self.pairs_key = (step, name)
        version = self.version(int(result.sleeves[pair.sleeve]))
        self.pairs += [(pair.sell, list(pair.lots), version, pair), (pair.buy, [], version, None)]

    def _stage_pairs(self) -> None:
        """The pairs staged so far, as one block."""
        if self.pairs:
            step, name = self.pairs_key
            self.pair_sells.update({self.rows + i: p for i, (_, _, _, p) in enumerate(self.pairs) if p is not None})
            self._stage(Proposals.of_objects([(t, r, v) for t, r, v, _ in self.pairs]), step, name)
            self.pairs = []

    def _stage(self, block: Proposals, step: int, policy: str) -> None:
        self.staged.append((block, step, policy))
        self.rows += len(block)

    def stage_rebalance(self, name: str, result: PolicyEvaluation) -> None:
        """The trades of one policy's triggered sleeves in scope, with their reasons and lots, as columns."""
        self._stage_pairs()
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

    def proposals(self) -> tuple[Proposals, TradeOrder]:
        """Every trade staged, in staging order, with its order keys."""
        self._stage_pairs()
        sizes = [len(b) for b, _, _ in self.staged]
        order = TradeOrder(np.repeat(np.array([s for _, s, _ in self.staged], dtype=np.int8), sizes),
                           np.repeat(np.array([p for _, _, p in self.staged], dtype=str), sizes),
                           np.arange(sum(sizes), dtype=np.int64))
        return Proposals.concat([b for b, _, _ in self.staged]), order

    def sell_context(self, row: int) -> SellContext:
        """What trimming the sell staged in ``row`` to a gain budget needs: its lots and how they are relieved."""
        if (pair := self.pair_sells.get(row)) is not None:  # its named lots, whole shares
            lots = tuple(OpenLot(r.lot_id, r.quantity, r.cost_basis, r.acquired) for r in pair.lots)
            return SellContext(lots, relief_for("FIFO", (Decimal(0), Decimal(0)), pair.sell.est_price,
                                                self.inputs.as_of), Decimal(1))
        first, trades, rows = next(s for s in reversed(self.sources) if s[0] <= row)
        row = int(rows[row - first])
        settings = trades.evaluation.policy.settings
        price = PRICE.to_decimal(int(np.rint(trades.price[row] * 10 ** PRICE.places)))
        return SellContext(tuple(sale_lots(trades, row)), relief_for(settings.lot_method, account_rates(trades, row),
                                                                     price, self.inputs.as_of), settings.share_step)

    def within_budgets(self, proposals: Proposals, order: TradeOrder, budgets: dict[str, Decimal],
                       cash_of: Callable[[str], SleeveCash]) -> tuple[Proposals, TradeOrder]:
        """The proposals with the sells of every account over its gain budget trimmed (:mod:`.budget`).

        Only the trades of accounts whose sells would realise more than their budget leaves are made
        into objects and trimmed; the others stay columns, as they are."""
        book, realized = self.book, self.inputs.realized
        accounts = np.asarray(proposals.accounts, dtype=str)
        gains = np.zeros(len(accounts), dtype=np.int64)
        np.add.at(gains, proposals.account, proposals.lots.gain_per_trade(len(proposals)))
        index = {a: i for i, a in enumerate(accounts.tolist())}
        over = {a: b for a, b in budgets.items()
                if a in index and MONEY.to_decimal(int(gains[index[a]])) > b - realized.get(a, Decimal(0))}
        if not over:
            return proposals, order
        rows = np.flatnonzero(np.isin(np.asarray(book.account_ids, dtype=str), list(over)))
        rates = {str(book.account_ids[a]): (book_decimal(book.account_st_rate[a]), book_decimal(book.account_lt_rate[a]))
                 for a in rows.tolist()}
        sold = _rows_by(proposals.account, len(accounts), proposals.side < 0)
        sells = {a: sold(index[a]) for a in over}
        of_sleeve = _rows_by(proposals.sleeve, len(proposals.sleeves))
        sleeve_codes = {str(s): c for c, s in enumerate(proposals.sleeves)}
        changes = budget_changes(_StagedRows(self, proposals), sells, lambda s: of_sleeve(sleeve_codes[s]), over, {a: realized[a] for a in over if a in realized},
                                 rates, cash_of)
        changed = sorted((row, s) for row, s in changes.items() if s is not None)
        untouched = np.setdiff1d(np.arange(len(proposals)), np.fromiter(changes, dtype=np.int64, count=len(changes)))
        block = Proposals.of_objects([(t, r, proposals.model_version[row]) for row, (t, r, _) in changed])
        positions = np.concatenate([untouched, np.array([row for row, _ in changed], dtype=np.int64)])
        ordered = np.argsort(positions, kind="stable")
        return Proposals.concat([proposals.take(untouched), block]).take(ordered), order.take(positions[ordered])


def _rows_by(codes: np.ndarray, n_codes: int, where: np.ndarray | None = None) -> Callable[[int], list[int]]:
    """The rows (in order) of each code, among the rows ``where`` is true: found by one stable sort."""
    rows = np.flatnonzero(where) if where is not None else np.arange(len(codes))
    rows = rows[np.argsort(codes[rows], kind="stable")]
    bounds = np.searchsorted(codes[rows], np.arange(n_codes + 1))
    return lambda code: rows[bounds[code]:bounds[code + 1]].tolist()


class _StagedRows(dict):
    """Rows of a run's proposals as the budget pass reads them (trade, reliefs, sell context), made when first read."""

    def __init__(self, run: _Run, proposals: Proposals):
        super().__init__()
        self.run, self.proposals = run, proposals
        self.bounds = proposals.lots.bounds(len(proposals))

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
    """The loss sales of ``block`` that recent purchases in their household would wash, saying so."""
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
            continue  # nothing identical bought recently: nothing to wash (the exact check below is slower)
        washed = recent.washed_by_recent_buys(account, symbol, block.lots.lot_id[bounds[row]:bounds[row + 1]].tolist())
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
    """Each taxable account's yearly gain budget: the smallest of its sleeves' policies in scope."""
    treatment, names = tax_treatment_codes(book)
    taxable = names[treatment[book.sleeve_account]] == "taxable"
    budgets: dict[str, Decimal] = {}
    for code, name in enumerate(resolution.names):
        budget = policies.compiled[name].settings.gain_budget
        if budget is None:
            continue
        sleeves = np.flatnonzero((resolution.policy_of == code) & in_scope & taxable)
        for account_id in np.unique(book.account_ids[book.sleeve_account[sleeves]]):
            budgets[str(account_id)] = min(budgets.get(str(account_id), budget), budget)
    return budgets


def _sleeve_cash(book: Book, evaluation: BookEvaluation, events: CashEvents) -> Callable[[str], SleeveCash]:
    """The cash a sleeve's buys may use (asked only for the sleeves whose sells a budget cut)."""
    frame = Frame(book)  # its sleeve values are computed on first use, over whole columns

    def cash_of(sleeve_id: str) -> SleeveCash:
        sleeve = int(np.searchsorted(book.sleeve_ids, sleeve_id))  # sleeve ids are sorted
        settings = evaluation.of_sleeve(sleeve)[0].policy.settings
        value = frame.sleeve_value[sleeve] - events.withdraw[sleeve]
        floor = (settings.cash_min or 0.0) * value + events.withdraw[sleeve]
        return SleeveCash(round_money(Decimal(repr(float(book.sleeve_cash[sleeve])))),
                          round_money(Decimal(repr(float(floor)))), settings.share_step, settings.min_trade)
    return cash_of


def _harvested_days(store: Store, as_of: dt.date) -> dict[tuple[str, str], list[dt.date]]:
    """(sleeve id, symbol) -> the days of the last year it was sold at a loss (what a swap back undoes)."""
    days: dict[tuple[str, str], list[dt.date]] = {}
    for r in store.db.query("select distinct sleeve_id, symbol, sold from realized where gain_cents < 0 and sold"
                            " between ? and ?", [(as_of - dt.timedelta(days=365)).isoformat(), as_of.isoformat()]):
        days.setdefault((r["sleeve_id"], r["symbol"]), []).append(dt.date.fromisoformat(r["sold"]))
    return days


@attrs.frozen
class _Crossing:
    """What netting reads of a proposal (:class:`.netting.TradeLike`), named by its row."""

    trade_id: str
    account_id: str
    sleeve_id: str
    symbol: str
    side: Side
    quantity: Decimal
    est_price: Decimal


def with_crossings(proposals: Proposals) -> Proposals:
    """The proposals, each that would cross with another sleeve of its account saying so."""
    group = proposals.account.astype(np.int64) * len(proposals.symbols) + proposals.symbol
    both = np.intersect1d(group[proposals.side > 0], group[proposals.side < 0])  # buys and sells of one security
    staged = [_Crossing(f"P{row}", str(proposals.accounts[proposals.account[row]]), proposals.sleeve_id(row),
                        str(proposals.symbols[proposals.symbol[row]]), Side.BUY if proposals.side[row] > 0 else Side.SELL,
                        QUANTITY.to_decimal(int(proposals.quantity_e6[row])),
                        PRICE.to_decimal(int(proposals.price_e6[row])))
              for row in np.flatnonzero(np.isin(group, both)).tolist()]
    notes: dict[int, list[str]] = {}
    for c in net(staged).crossings:
        words = f"{c.quantity} shares cross inside {c.account_id} (lots move, no sale)"
        notes.setdefault(int(c.sell_trade_id[1:]), []).append(f"nets with {c.to_sleeve}'s buy: {words}")
        notes.setdefault(int(c.buy_trade_id[1:]), []).append(f"nets with {c.from_sleeve}'s sell: {words}")
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
