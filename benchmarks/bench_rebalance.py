"""How fast the rebalancer is: the vectorised engine in memory, against the reference, and through SQLite.

    python benchmarks/bench_rebalance.py [--sleeves N] [--reference-sleeves N] [--store-sleeves N] [--profile]

(a) ``rules/balanced.policy`` compiled, evaluated over the synthetic book (``synthetic.py``) and
    ``generate_trades`` on its evaluation, in memory: the time of each phase, the trades, sleeves
    per second and the peak resident memory of the process (``resource.getrusage``).
(b) ``generate_trades`` against the plain ``reference_trades`` on the same first sleeves, and
    whether the two give identical trades (and the whole book's trades of those sleeves too).
(d) The same book tax-unaware (``balanced`` without its tax statements) and tax-managed (HIFO lot
    relief of every sell over columns, harvest selection, household wash-sale blocks), and the ratio.
(c) A smaller firm written to a SQLite store: ``Book.from_store``, the proposals
    (``rebalance(..., dry_run=True)``) and ``record_run``, each with rows per second, measured at
    two sizes in fresh processes and extrapolated to a million sleeves.

Runs on one core (the process, and the processes it starts, are pinned to one CPU and numpy's
thread pools to one thread), so rates are per core. Prints each figure, then a table of results
against the goals. ``--profile`` adds the top functions by own time (cProfile) of each measure that
missed its goal, and of the store phases.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before numpy is imported

import argparse
import contextlib
import math
import multiprocessing
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import pin_to_one_core, profile, timed
from synthetic import check_invariants, synthetic_book

from smartx_engine.book import Book
from smartx_engine.dsl import parser as policy_parser
from smartx_engine.dsl.compile import CompiledPolicy, compile_policy
from smartx_engine.dsl.policyset import load
from smartx_engine.dsl.validate import validate
from smartx_engine.rebalance.generate import Blocks, TradeSet, generate_trades
from smartx_engine.rebalance.harvest import harvest_plan
from smartx_engine.rebalance.lots import relieve_columns
from smartx_engine.rebalance.reference import reference_trades
from smartx_engine.rebalance.runs import rebalance, record_run
from smartx_engine.store import Store
from smartx_engine.tax.wash import same_symbol

POLICY_FILE = ROOT / "rules" / "balanced.policy"
GOALS = {"end_to_end": 20.0, "peak_rss": 8e9, "ratio": 50.0, "tax_ratio": 2.0}
FIRM = 1_000_000  # the size the store figures are extrapolated to
GB, MB = 1e9, 1e6


def peak_rss() -> int:
    """The peak resident memory of this process so far, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def reset_peak() -> None:
    """Restart this process's high-water mark (Linux: /proc/self/clear_refs) for :func:`peak_since_reset`."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def peak_since_reset() -> int:
    """The peak resident memory since :func:`reset_peak` (VmHWM), in bytes; getrusage's peak without /proc.

    A process spawned by a large one reports that one's peak through getrusage (the high-water mark
    outlives fork + exec), so the fresh processes of (c) read VmHWM instead."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return peak_rss()


def rss() -> int:
    """The resident memory of this process now, in bytes (the peak where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_rss()


def balanced() -> CompiledPolicy:
    checked = validate([policy_parser.parse_file(POLICY_FILE)])
    assert not checked.errors, [d.render() for d in checked.errors]
    return compile_policy(checked.policies["balanced"])


def trade_differences(expected: list[tuple], found: list[tuple], limit: int = 5,
                      decimals: int | None = None) -> tuple[int, list[str]]:
    """How many (sleeve, symbol) trades differ between two lists of trade rows, and the first few;
    with ``decimals``, quantities are compared rounded to that many decimals."""
    if decimals is not None:
        expected, found = ([(s, sym, side, round(q, decimals)) for s, sym, side, q in rows] for rows in (expected, found))
    if expected == found:
        return 0, []
    a = {(s, sym): (side, q) for s, sym, side, q in expected}
    b = {(s, sym): (side, q) for s, sym, side, q in found}
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    if not keys:  # the same trades in another order
        return 1, ["the same trades in a different order"]
    return len(keys), [f"{s} {sym}: expected {a.get((s, sym))}, got {b.get((s, sym))}" for s, sym in keys[:limit]]


# ---------------------------------------------------------------- (a) the engine in memory


def measure_engine(book: Book) -> dict[str, Any]:
    rss_book = rss()
    compile_seconds, compiled = timed(balanced)
    evaluate_seconds, evaluation = timed(lambda: compiled.evaluate(book))
    triggered = int(evaluation.triggered.sum())
    generate_seconds, trades = timed(lambda: generate_trades(evaluation))
    peak = peak_rss()
    sells = int((trades.side < 0).sum())
    trading = len(np.unique(book.holding_sleeve[trades.holding]))
    end_to_end = compile_seconds + evaluate_seconds + generate_seconds
    print(f"(a) rules/balanced.policy over {book.n_sleeves:,} sleeves ({book.n_holdings:,} holdings, "
          f"{book.n_lots:,} lots): compile {compile_seconds * 1e3:.0f} ms, evaluate {evaluate_seconds:.2f} s, "
          f"generate_trades {generate_seconds:.2f} s; end to end {end_to_end:.2f} s, "
          f"{book.n_sleeves / end_to_end / 1e3:.0f} k sleeves/s")
    print(f"    {triggered:,} sleeves triggered, {trading:,} trade; {len(trades):,} trades "
          f"({len(trades) - sells:,} buys, {sells:,} sells); RSS with the book {rss_book / GB:.2f} GB, "
          f"peak {peak / GB:.2f} GB")
    return {"compile": compile_seconds, "evaluate": evaluate_seconds, "generate": generate_seconds,
            "end_to_end": end_to_end, "rate": book.n_sleeves / end_to_end, "triggered": triggered,
            "trades": len(trades), "sells": sells, "peak": peak, "rss_book": rss_book, "trade_set": trades}


# ---------------------------------------------------------------- (d) tax-managed against tax-unaware

TAX_STATEMENTS = ("lots ", "avoid short term", "gain budget", "harvest ", "wash sale")


def unaware() -> CompiledPolicy:
    """rules/balanced.policy without its tax statements (lots, short-term gains, budget, harvest, wash sales)."""
    text = "\n".join(line for line in POLICY_FILE.read_text().splitlines()
                     if not line.strip().startswith(TAX_STATEMENTS))
    checked = validate([policy_parser.parse(text, str(POLICY_FILE))])
    assert not checked.errors, [d.render() for d in checked.errors]
    return compile_policy(checked.policies["balanced"])


def measure_tax(book: Book, seed: int) -> dict[str, Any]:
    """The same book rebalanced tax-unaware, then tax-managed: HIFO lot relief of every sell (over
    columns), harvest selection in the sleeves that do not rebalance, and household wash-sale
    blocks (1 % of households, each with a recent loss in one security) on every buy."""
    def plain():
        evaluation = unaware().evaluate(book)
        return generate_trades(evaluation)

    rng = np.random.default_rng(seed)
    households = rng.choice(len(book.households), size=max(1, len(book.households) // 100), replace=False)
    blocks = Blocks.of(book, [(str(book.households[h]), str(book.symbols[rng.integers(len(book.symbols))]))
                              for h in households])

    def managed():
        evaluation = balanced().evaluate(book)
        plan = harvest_plan(evaluation, ~evaluation.triggered & ~evaluation.skip, blocks, same_symbol)
        trades = generate_trades(evaluation, None, blocks)
        return plan, trades, relieve_columns(trades)

    plain_seconds, trades = timed(plain, 3)  # medians of 3: the first call of each may pay for earlier garbage
    managed_seconds, (plan, taxed, relief) = timed(managed, 3)
    ratio = managed_seconds / plain_seconds
    gains = relief.gain_per_trade(len(taxed))
    print(f"(d) tax-unaware (balanced without its tax statements) {plain_seconds:.2f} s, {len(trades):,} trades; "
          f"tax-managed {managed_seconds:.2f} s: {len(taxed):,} trades, {len(relief.lot):,} lots relieved HIFO "
          f"(est. net gain {gains.sum() / 1e6:,.1f} M USD), {len(plan):,} harvests, {len(blocks.keys):,} blocked "
          f"(household, security) pairs; {ratio:.2f}x the tax-unaware run (medians of 3)")
    return {"plain": plain_seconds, "managed": managed_seconds, "ratio": ratio}


# ---------------------------------------------------------------- (b) the engine against the reference


def measure_reference(book: Book, n_sleeves: int, whole: TradeSet | None) -> dict[str, Any]:
    compiled = balanced()
    subset = book.select(np.arange(min(n_sleeves, book.n_sleeves)))
    evaluation = compiled.evaluate(subset)
    engine_seconds, trades = timed(lambda: generate_trades(evaluation), 5)
    rows_seconds, rows = timed(trades.rows, 3)
    reference_seconds, expected = timed(lambda: reference_trades(evaluation))
    count, shown = trade_differences(expected, rows)
    ratio = reference_seconds / engine_seconds
    consistent = None
    if whole is not None:  # the whole book's trades of these sleeves (a prefix of its holdings)
        end = np.searchsorted(whole.holding, np.searchsorted(book.holding_sleeve, subset.n_sleeves))
        consistent = (np.array_equal(whole.holding[:end], trades.holding) and np.array_equal(whole.side[:end], trades.side)
                      and np.array_equal(whole.quantity[:end], trades.quantity))
    print(f"(b) the first {subset.n_sleeves:,} sleeves ({subset.n_holdings:,} holdings, {len(rows):,} trades): "
          f"generate_trades {engine_seconds * 1e3:.1f} ms (median of 5; .rows() {rows_seconds * 1e3:.0f} ms more), "
          f"reference_trades {reference_seconds:.2f} s; engine {ratio:,.0f}x faster; "
          + ("identical trades" if not count else f"{count:,} TRADES DIFFER:\n  " + "\n  ".join(shown)))
    if consistent is not None:
        print("    the whole book's trades of these sleeves are " + ("the same" if consistent else "NOT THE SAME"))
    return {"sleeves": subset.n_sleeves, "engine": engine_seconds, "reference": reference_seconds, "ratio": ratio,
            "identical": not count, "differences": count, "consistent": consistent}


# ---------------------------------------------------------------- (c) through SQLite, in fresh processes


def write_store(store: Store, book: Book) -> int:
    """The synthetic book as store rows (money in cents, quantities and prices in millionths), in one
    transaction; every sleeve is assigned the policy ``balanced`` by name. Returns the rows written."""
    conn = store.db.conn
    accounts = book.account_ids.tolist()
    models = np.append(book.models, None)  # code -1: no model
    sleeve_accounts = book.account_ids[book.sleeve_account].tolist()
    tables: list[tuple[str, list[str], Any]] = [
        ("households", ["household_id", "name"], ((h, h) for h in book.households.tolist())),
        ("accounts", ["account_id", "name", "custodian", "household_id", "registration", "st_tax_rate", "lt_tax_rate"],
         zip(accounts, accounts, book.custodians[book.account_custodian].tolist(),
             book.households[book.account_household].tolist(), book.registrations[book.account_registration].tolist(),
             map(str, book.account_st_rate.tolist()), map(str, book.account_lt_rate.tolist()))),
        ("securities", ["symbol", "name", "asset_class", "price_e6"],
         zip(book.symbols.tolist(), book.symbols.tolist(), book.asset_classes[book.symbol_asset_class].tolist(),
             np.rint(book.symbol_price * 1e6).astype(np.int64).tolist())),
    ]
    used = [(code, str(name)) for code, name in enumerate(book.models) if (book.sleeve_model == code).any()]
    weights = []
    for code, model in used:  # a model's weights, read off its first sleeve (synthetic weights have 3 decimals)
        first = int(np.flatnonzero(book.sleeve_model == code)[0])
        start, end = np.searchsorted(book.holding_sleeve, [first, first + 1])
        rows = start + np.flatnonzero(book.holding_in_model[start:end])
        weights += [(model, "1", str(symbol), f"{weight:.3f}") for symbol, weight in
                    zip(book.symbols[book.holding_symbol[rows]], book.holding_target[rows])]
        weights.append((model, "1", "$CASH", f"{book.sleeve_cash_target[first]:.3f}"))
    tables += [
        ("models", ["model_id"], ((m,) for _, m in used)),
        ("model_versions", ["model_id", "version", "seq"], ((m, "1", 1) for _, m in used)),
        ("model_weights", ["model_id", "version", "symbol", "weight"], weights),
        ("sleeves", ["sleeve_id", "account_id", "model_id", "policy"],
         zip(book.sleeve_ids.tolist(), sleeve_accounts, models[book.sleeve_model].tolist(),
             ["balanced"] * book.n_sleeves)),
        ("cash", ["sleeve_id", "account_id", "amount_cents"],
         zip(book.sleeve_ids.tolist(), sleeve_accounts, np.rint(book.sleeve_cash * 100).astype(np.int64).tolist())),
    ]
    lot_sleeve = book.lot_sleeve
    tables.append(("lots", ["lot_id", "account_id", "sleeve_id", "symbol", "quantity_e6", "cost_basis_cents", "acquired"],
                   zip((f"L{i:09d}" for i in book.lot_ids.tolist()),
                       book.account_ids[book.sleeve_account[lot_sleeve]].tolist(), book.sleeve_ids[lot_sleeve].tolist(),
                       book.symbols[book.holding_symbol[book.lot_holding]].tolist(),
                       np.rint(book.lot_quantity * 1e6).astype(np.int64).tolist(),
                       np.rint(book.lot_cost * 100).astype(np.int64).tolist(),
                       np.datetime_as_string(book.lot_acquired, unit="D").tolist())))
    written = 0
    with store.transaction():
        for table, columns, rows in tables:
            written += conn.executemany(f"insert into {table} ({', '.join(columns)}) values "
                                        f"({', '.join('?' * len(columns))})", rows).rowcount
    return written


def store_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def write_firm(path: str, n_sleeves: int, seed: int) -> dict[str, Any]:
    """In a fresh process: a synthetic firm written to a new store, and its trades computed in memory."""
    book = synthetic_book(n_sleeves, seed=seed)
    trades = generate_trades(balanced().evaluate(book)).rows()
    store = Store.create(path, actor="bench_rebalance")
    seconds, written = timed(lambda: write_store(store, book))
    store.close()
    return {"write": seconds, "written": written, "lots": book.n_lots, "as_of": book.as_of, "trades": trades,
            "bytes": store_size(Path(path))}


def read_firm(path: str, as_of, with_profile: bool) -> dict[str, Any]:
    """In a fresh process: Book.from_store, the trades of the book it gives, a dry run and record_run."""
    store = Store.open(path, actor="bench_rebalance")
    policies = load([POLICY_FILE])
    reset_peak()
    before = rss()
    from_store, book = timed(lambda: Book.from_store(store, as_of))
    from_store_peak = peak_since_reset() - before
    rows_read = (len(book.symbols) + len(book.account_ids) + book.n_sleeves + book.n_lots
                 + store.db.execute("select count(*) from model_weights").fetchone()[0]
                 + len(np.unique(book.lot_holding)))  # the positions: lots summed per sleeve and symbol
    trades = generate_trades(balanced().evaluate(book)).rows()
    del book
    before = rss()
    dry_run, result = timed(lambda: rebalance(store, policies, as_of, dry_run=True))
    held = rss() - before  # the proposals held in memory (Python objects)
    size = store_size(Path(path))
    record, stored = timed(lambda: record_run(store, result))
    written = len(stored.trades)
    out = {"from_store": from_store, "from_store_peak": from_store_peak, "rows_read": rows_read,
           "trades": trades, "dry_run": dry_run, "proposals_held": held, "proposed": len(result.trades),
           "problems": len(result.problems), "triggered": result.sleeves_triggered, "record": record,
           "stored": written, "bytes_per_trade": (store_size(Path(path)) - size) / max(written, 1)}
    if with_profile:
        out["profiles"] = {
            "Book.from_store": profile(lambda: Book.from_store(store, as_of)),
            "rebalance(dry_run=True)": profile(lambda: rebalance(store, policies, as_of, dry_run=True)),
            "record_run (a second run, superseding the first)": profile(lambda: record_run(store, result)),
        }
    store.close()
    return out


def in_fresh_process(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a new interpreter (spawned: it inherits no memory, and this process's CPU)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def measure_store_size(n_sleeves: int, seed: int, with_profile: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench_rebalance_") as directory:
        path = str(Path(directory) / "firm.db")
        wrote = in_fresh_process(write_firm, path, n_sleeves, seed)
        read = in_fresh_process(read_firm, path, wrote["as_of"], with_profile)
    # to the store's precision: the synthetic book's holding quantities are float sums of its lots
    # (528.2470000000001), the store's are exact, and a whole-holding sell sells the quantity held
    count, shown = trade_differences(wrote["trades"], read["trades"], decimals=6)
    noise, _ = trade_differences(wrote["trades"], read["trades"])
    proposals = read["dry_run"] - read["from_store"]  # the dry run reads the store again
    result = {**wrote, **read, "sleeves": n_sleeves, "proposals": proposals, "differences": count, "shown": shown,
              "noise": noise}
    del result["trades"]
    print(f"(c) a firm of {n_sleeves:,} sleeves ({wrote['lots']:,} lots): written in {wrote['write']:.1f} s "
          f"({wrote['written'] / wrote['write'] / 1e3:.0f} k rows/s, {wrote['bytes'] / MB:.0f} MB); "
          f"Book.from_store {read['from_store']:.2f} s ({read['rows_read'] / read['from_store'] / 1e3:.0f} k rows/s, "
          f"+{read['from_store_peak'] / MB:.0f} MB at peak)")
    print(f"    rebalance(dry_run=True) {read['dry_run']:.1f} s: {read['proposed']:,} proposals "
          f"({read['proposed'] / max(proposals, 1e-9) / 1e3:.1f} k/s beyond from_store, "
          f"{read['proposals_held'] / MB:.0f} MB held); record_run {read['record']:.1f} s "
          f"({read['stored'] / read['record'] / 1e3:.1f} k trades/s, {read['bytes_per_trade']:.0f} bytes/trade on disk); "
          + ("the store's book gives the same trades as the synthetic book (to the millionth"
             + (f"; {noise:,} whole-holding sells differ below it)" if noise else ")") if not count else
             f"{count:,} TRADES DIFFER after the store round trip:\n  " + "\n  ".join(shown))
          + (f"; {read['problems']:,} sleeves unresolved" if read["problems"] else ""))
    return result


def extrapolate(small: dict[str, Any], large: dict[str, Any], key: str) -> tuple[float, float]:
    """``key`` at FIRM sleeves by a power law through the two sizes (exponent at least 1), and the exponent."""
    n1, n2, t1, t2 = small["sleeves"], large["sleeves"], small[key], large[key]
    exponent = max(1.0, math.log(t2 / t1) / math.log(n2 / n1)) if t1 > 0 and t2 > 0 and n2 > n1 else 1.0
    return t2 * (FIRM / n2) ** exponent, exponent


def measure_store(n_sleeves: int, seed: int, with_profile: bool) -> dict[str, Any]:
    small_n = max(1, n_sleeves // 4)
    small = measure_store_size(small_n, seed, with_profile)
    large = measure_store_size(n_sleeves, seed, False)
    scale = FIRM / large["sleeves"]
    projected = {key: extrapolate(small, large, key) for key in ("from_store", "proposals", "record")}
    projected["from_store_peak"] = (large["from_store_peak"] * scale, 1.0)
    projected["proposals_held"] = (large["proposals_held"] * scale, 1.0)
    projected["bytes"] = (large["bytes_per_trade"] * large["stored"] * scale, 1.0)
    print(f"    EXTRAPOLATED to {FIRM:,} sleeves (power law through {small_n:,} and {n_sleeves:,} sleeves; "
          "memory and disk linearly): "
          + ", ".join(f"{label} {projected[key][0] / unit:,.0f}{suffix} (exponent {projected[key][1]:.2f})"
                      for label, key, unit, suffix in (("Book.from_store", "from_store", 1, " s"),
                                                       ("proposals", "proposals", 1, " s"),
                                                       ("record_run", "record", 1, " s")))
          + f"; from_store +{projected['from_store_peak'][0] / GB:.0f} GB at peak, proposals "
            f"{projected['proposals_held'][0] / GB:.0f} GB held, trades {projected['bytes'][0] / GB:.0f} GB on disk")
    return {"small": small, "large": large, "projected": projected}


# ---------------------------------------------------------------- the run


def profile_misses(book: Book, engine: dict[str, Any], reference: dict[str, Any]) -> list[tuple[str, str]]:
    """cProfile of (a) and (b) where they miss their goals."""
    profiles, compiled = [], balanced()
    if engine["end_to_end"] > GOALS["end_to_end"] or engine["peak"] > GOALS["peak_rss"]:
        profiles.append(("evaluate + generate_trades", profile(lambda: generate_trades(compiled.evaluate(book)), 25)))
    if reference["ratio"] < GOALS["ratio"]:
        evaluation = compiled.evaluate(book.select(np.arange(reference["sleeves"])))
        profiles.append((f"generate_trades, {reference['sleeves']:,} sleeves (x20)",
                         profile(lambda: [generate_trades(evaluation) for _ in range(20)])))
    return profiles


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--sleeves", type=int, default=1_000_000, help="(a): the in-memory book")
    args.add_argument("--reference-sleeves", type=int, default=10_000, help="(b): the first sleeves of that book")
    args.add_argument("--store-sleeves", type=int, default=20_000,
                      help="(c): the stored firm (also measured at a quarter of it); 0 skips (c)")
    args.add_argument("--seed", type=int, default=0)
    args.add_argument("--profile", action="store_true", help="profile the measures that miss their goal, and (c)")
    options = args.parse_args(argv)
    pin_to_one_core()
    import sqlite3
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, SQLite {sqlite3.sqlite_version}, one core")

    start = time.perf_counter()
    book = synthetic_book(options.sleeves, seed=options.seed)
    built = time.perf_counter() - start
    check_invariants(book)
    print(f"    synthetic book of {book.n_sleeves:,} sleeves built in {built:.1f} s (not timed below)")
    engine = measure_engine(book)
    reference = measure_reference(book, options.reference_sleeves, engine.pop("trade_set"))
    tax = measure_tax(book, options.seed)
    profiles = profile_misses(book, engine, reference) if options.profile else []
    n_sleeves = book.n_sleeves
    del book  # (c) runs in fresh processes
    store = measure_store(options.store_sleeves, options.seed, options.profile) if options.store_sleeves > 0 else None

    yes_no = {True: "yes", False: "NO", None: "-"}
    rows = [
        (f"(a) evaluate, {n_sleeves:,} sleeves", f"{engine['evaluate']:.2f} s", "", ""),
        ("(a) generate_trades", f"{engine['generate']:.2f} s", "", ""),
        ("(a) end to end (compile + evaluate + generate)", f"{engine['end_to_end']:.2f} s", "<= 20 s",
         engine["end_to_end"] <= GOALS["end_to_end"]),
        ("(a) sleeves/s/core", f"{engine['rate'] / 1e3:.0f} k", "", ""),
        ("(a) trades generated", f"{engine['trades']:,}", "", ""),
        ("(a) peak RSS (getrusage, with the book)", f"{engine['peak'] / GB:.2f} GB", "<= 8 GB",
         engine["peak"] <= GOALS["peak_rss"]),
        (f"(b) reference / engine, {reference['sleeves']:,} sleeves", f"{reference['ratio']:,.0f}x", ">= 50x",
         reference["ratio"] >= GOALS["ratio"]),
        ("(b) identical trades", yes_no[reference["identical"]], "yes", reference["identical"]),
        ("(b) whole book's trades = subset's", yes_no[reference["consistent"]], "yes",
         "" if reference["consistent"] is None else reference["consistent"]),
        (f"(d) tax-unaware run, {n_sleeves:,} sleeves", f"{tax['plain']:.2f} s", "", ""),
        ("(d) tax-managed run (HIFO, harvest, wash sales)", f"{tax['managed']:.2f} s", "", ""),
        ("(d) tax-managed / tax-unaware", f"{tax['ratio']:.2f}x", "<= 2x", tax["ratio"] <= GOALS["tax_ratio"]),
    ]
    if store:
        large, projected = store["large"], store["projected"]
        n = f"{large['sleeves']:,} sleeves"
        rows += [
            (f"(c) write the store (setup), {n}", f"{large['write']:.1f} s",
             f"{large['written'] / large['write'] / 1e3:.0f} k rows/s", ""),
            (f"(c) Book.from_store, {n}", f"{large['from_store']:.2f} s",
             f"{large['rows_read'] / large['from_store'] / 1e3:.0f} k rows/s", ""),
            (f"(c) proposals (dry run - from_store), {n}", f"{large['proposals']:.1f} s",
             f"{large['proposed'] / large['proposals'] / 1e3:.1f} k trades/s", ""),
            (f"(c) record_run, {large['stored']:,} trades", f"{large['record']:.1f} s",
             f"{large['stored'] / large['record'] / 1e3:.1f} k trades/s", ""),
            ("(c) store round trip gives the same trades", yes_no[not large["differences"]], "yes",
             not large["differences"] and not store["small"]["differences"]),
            (f"EXTRAPOLATED: Book.from_store, {FIRM:,} sleeves", f"{projected['from_store'][0]:,.0f} s",
             f"+{projected['from_store_peak'][0] / GB:.0f} GB", ""),
            (f"EXTRAPOLATED: proposals, {FIRM:,} sleeves", f"{projected['proposals'][0]:,.0f} s",
             f"{projected['proposals_held'][0] / GB:.0f} GB held", ""),
            (f"EXTRAPOLATED: record_run, {FIRM:,} sleeves", f"{projected['record'][0]:,.0f} s",
             f"{projected['bytes'][0] / GB:.0f} GB disk", ""),
        ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{width}}  {'result':>12}  {'goal / rate':>20}  met")
    for name, result, goal, met in rows:
        print(f"{name:<{width}}  {result:>12}  {goal:>20}  {'' if met == '' else 'yes' if met else 'NO'}")

    if store and options.profile:
        profiles += [(f"{name}, {store['small']['sleeves']:,} sleeves", text)
                     for name, text in store["small"]["profiles"].items()]
    for name, text in profiles:
        print(f"\nprofile: {name}\n{text}")


if __name__ == "__main__":
    main()
