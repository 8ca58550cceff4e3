"""The engine's trades-to-target step against the per-sleeve reference and a portfolio library, on the same sleeves.

    python benchmarks/bench_library.py [--sleeves 10000] [--seed S] [--json PATH]

The sleeves are the firm's of ``firm.py`` (N sleeves; the cached store is copied and read with
``Book.from_store``, not timed). Two policies are evaluated over every sleeve, whatever their
``applies to`` (as in ``bench_rebalance.py``):

* ``to-target`` (``TO_TARGET`` below): every sleeve with a value triggers and trades to its
  model's weights, cash included, in whole shares; no bands, cash target, minimum, restriction or
  tax statement: a fixed-weights policy. On its evaluation, four implementations of one step:

  (a) the engine: ``generate_trades``, vectorised over the whole book (median of 5);
  (b) the reference: ``reference_trades``, plain Python, a sleeve and a holding at a time;
  (c) cvxportfolio, when installed (``pip install -r benchmarks/requirements.txt``): per sleeve,
      ``FixedWeights(target).execute(dollars, None, t)`` (its holdings in USD and cash last; no
      market data server) gives the dollar trades ``u``, rounded to whole shares as the engine
      rounds them (down; a sell to a zero target sells the whole holding);
  (d) the issue's "equivalent numpy loop": per sleeve, weights, target dollars, trades, rounded
      the same way (median of 3).

  The per-sleeve inputs of (c) and (d) (a pandas Series, or numpy arrays, per sleeve) are built
  before their timers; (b) reads the evaluation into its rows inside its timer, as it always does.
* ``balanced`` (``rules/balanced.policy``: bands, target cash, min trade, restrictions,
  substitutes, short-term lots kept): (a) against (b) only, the ratio of the ≥ 50× goal.

Checked: (a) and (b) give identical trades under both policies; the dollar trades of (c) and (d)
before rounding are the reference's wanted trades ``D = (w* - w) x T`` (to a micro-dollar); their
whole shares equal the engine's except where the engine scales buys down to the cash that its
rounded-down sells raise (a fixed-weights policy trades ``u`` whatever the cash).

Pinned to one core with numpy's pools at one thread (as ``bench_rebalance.py``): rates per core.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before numpy is imported

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for _path in (str(ROOT), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from measure import pin_to_one_core, timed  # noqa: E402

from smartx_engine.book import Book  # noqa: E402
from smartx_engine.dsl import parser as policy_parser  # noqa: E402
from smartx_engine.dsl.compile import CompiledPolicy, compile_policy  # noqa: E402
from smartx_engine.dsl.validate import validate  # noqa: E402
from smartx_engine.rebalance.generate import generate_trades  # noqa: E402
from smartx_engine.rebalance.reference import reference_plans, reference_trades  # noqa: E402
from smartx_engine.store import Store  # noqa: E402

AS_OF = "2026-11-20"
TO_TARGET = """policy "to-target" version "bench" {
  trigger when sleeve.value > 0 USD
  rebalance to target
  shares whole
}
"""
CASH = "USDOLLAR"  # cvxportfolio's default cash key


def compiled(text: str, name: str, path: str) -> CompiledPolicy:
    checked = validate([policy_parser.parse(text, path)])
    assert not checked.errors, [d.render() for d in checked.errors]
    return compile_policy(checked.policies[name])


def firm_book(n: int, seed: int) -> Book:
    """The book of ``firm.py``'s firm of ``n`` sleeves, read from a scratch copy of its cached store."""
    import datetime as dt

    from firm import firm_store
    with tempfile.TemporaryDirectory(prefix="bench_library_") as directory:
        db = Path(directory) / "firm.db"
        shutil.copyfile(firm_store(n, seed), db)
        store = Store.open(db)
        book = Book.from_store(store, dt.date.fromisoformat(AS_OF))
        store.close()
    return book


# ---------------------------------------------------------------- the per-sleeve inputs of (c) and (d)


def sleeve_arrays(book: Book) -> list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray, float]]:
    """Per sleeve with a model: (sleeve, first holding, quantities, prices, target weights, cash)."""
    bounds = np.searchsorted(book.holding_sleeve, np.arange(book.n_sleeves + 1))
    price = book.symbol_price[book.holding_symbol]
    return [(s, int(bounds[s]), book.holding_quantity[bounds[s]:bounds[s + 1]], price[bounds[s]:bounds[s + 1]],
             book.holding_target[bounds[s]:bounds[s + 1]], float(book.sleeve_cash[s]))
            for s in range(book.n_sleeves) if book.sleeve_model[s] >= 0]


def whole_shares(wanted: np.ndarray, quantity: np.ndarray, price: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Signed whole shares of dollar trades, rounded as the engine rounds them (down; a sell to a zero
    target sells the holding)."""
    shares = np.floor(np.abs(wanted) / price + 1e-9)
    sells = np.where(target == 0, quantity, np.minimum(quantity, shares))
    return np.where(wanted < 0, -sells, np.where(wanted > 0, shares, 0.0))


def numpy_loop(sleeves) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(d): per sleeve, weights -> target dollars -> trades -> whole shares."""
    dollars_of, shares_of = [], []
    for _, _, quantity, price, target, cash in sleeves:
        dollars = quantity * price
        value = dollars.sum() + cash
        wanted = (target - dollars / value) * value
        dollars_of.append(wanted)
        shares_of.append(whole_shares(wanted, quantity, price, target))
    return dollars_of, shares_of


def cvxportfolio_inputs(book: Book, sleeves) -> list[tuple[Any, Any]]:
    """Per sleeve, its holdings in USD (cash last) and its target weights, as cvxportfolio takes them."""
    import pandas as pd
    symbols = book.symbols[book.holding_symbol].astype(str)
    out = []
    for s, first, quantity, price, target, cash in sleeves:
        index = pd.Index([*symbols[first:first + len(quantity)], CASH])
        out.append((pd.Series(np.append(quantity * price, cash), index=index),
                    pd.Series(np.append(target, book.sleeve_cash_target[s]), index=index)))
    return out


def cvxportfolio_loop(inputs, sleeves) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(c): per sleeve, ``FixedWeights(target).execute`` -> dollar trades -> whole shares."""
    import cvxportfolio as cvx
    import pandas as pd
    t = pd.Timestamp(AS_OF)
    dollars_of, shares_of = [], []
    for (holdings, target), (_, _, quantity, price, weights, _) in zip(inputs, sleeves):
        u, _, _ = cvx.FixedWeights(target).execute(holdings, None, t=t)
        wanted = u.to_numpy()[:-1]
        dollars_of.append(wanted)
        shares_of.append(whole_shares(wanted, quantity, price, weights))
    return dollars_of, shares_of


# ---------------------------------------------------------------- agreement


def engine_shares(book: Book, trades) -> np.ndarray:
    """The engine's signed quantity per holding of the book (0 where it does not trade)."""
    shares = np.zeros(book.n_holdings)
    shares[trades.holding] = trades.side * trades.quantity
    return shares


def agreement(sleeves, dollars_of, shares_of, wanted: np.ndarray, engine: np.ndarray) -> dict[str, Any]:
    """How a per-sleeve loop's dollars compare with the reference's D, and its shares with the engine's."""
    rows = np.concatenate([np.arange(first, first + len(q)) for _, first, q, *_ in sleeves])
    dollars, shares = np.concatenate(dollars_of), np.concatenate(shares_of)
    differ = shares != engine[rows]
    sleeves_differ = len(np.unique(np.searchsorted([first for _, first, *_ in sleeves], rows[differ], "right")))
    return {"holdings": len(rows), "max_dollar_difference": float(np.abs(dollars - wanted[rows]).max()),
            "trades": int((shares != 0).sum()), "engine_trades": int((engine[rows] != 0).sum()),
            "shares_differ": int(differ.sum()), "sleeves_differ": sleeves_differ,
            "differ_are_buys_scaled_down": bool(np.all((engine[rows][differ] >= 0) & (shares[differ] >= engine[rows][differ])))}


def measure(n: int, seed: int) -> dict[str, Any]:
    book = firm_book(n, seed)
    result: dict[str, Any] = {"sleeves": book.n_sleeves, "holdings": book.n_holdings, "source": "firm.py"}
    print(f"the firm of {book.n_sleeves:,} sleeves ({book.n_holdings:,} holdings, {book.n_lots:,} lots) "
          f"from firm.py, read with Book.from_store (not timed); one core", file=sys.stderr)

    # balanced: the engine against the reference, the goal's ratio
    balanced = compiled((ROOT / "rules" / "balanced.policy").read_text(), "balanced", "rules/balanced.policy")
    evaluation = balanced.evaluate(book)
    engine_seconds, trades = timed(lambda: generate_trades(evaluation), 5)
    reference_seconds, expected = timed(lambda: reference_trades(evaluation))
    result["balanced"] = {"engine": engine_seconds, "reference": reference_seconds, "trades": len(trades),
                          "identical": expected == trades.rows()}
    del expected

    # to-target: the engine, the reference, cvxportfolio and the numpy loop
    evaluation = compiled(TO_TARGET, "to-target", "to-target.policy").evaluate(book)
    engine_seconds, trades = timed(lambda: generate_trades(evaluation), 5)
    reference_seconds, expected = timed(lambda: reference_trades(evaluation))
    wanted = np.zeros(book.n_holdings)
    for plan in reference_plans(evaluation):
        for p in plan.holdings:
            wanted[p.holding.index] = p.wanted
    sleeves = sleeve_arrays(book)
    engine = engine_shares(book, trades)
    numpy_seconds, (dollars_of, shares_of) = timed(lambda: numpy_loop(sleeves), 3)
    to_target = {"engine": engine_seconds, "reference": reference_seconds, "trades": len(trades),
                 "identical": expected == trades.rows(), "traded_sleeves": len(sleeves),
                 "numpy": numpy_seconds, "numpy_agreement": agreement(sleeves, dollars_of, shares_of, wanted, engine)}
    try:
        import cvxportfolio
    except ImportError:
        to_target["library"] = None
    else:
        inputs = cvxportfolio_inputs(book, sleeves)
        library_seconds, (dollars_of, shares_of) = timed(lambda: cvxportfolio_loop(inputs, sleeves))
        to_target.update(library=f"cvxportfolio {cvxportfolio.__version__}", library_seconds=library_seconds,
                         library_agreement=agreement(sleeves, dollars_of, shares_of, wanted, engine))
    result["to_target"] = to_target
    return result


def table(r: dict[str, Any]) -> str:
    """The results as Markdown: times, ratios (each time over the engine's), agreement."""
    t, b = r["to_target"], r["balanced"]
    library = t.get("library")
    rows = [
        ("(a) engine: `generate_trades` (median of 5)", f"{t['engine'] * 1e3:,.1f} ms", f"{b['engine'] * 1e3:,.1f} ms"),
        ("(b) reference: `reference_trades`", f"{t['reference']:,.2f} s", f"{b['reference']:,.2f} s"),
        (f"(c) {library}: `FixedWeights(...).execute` per sleeve" if library else
         "(c) cvxportfolio: not installed (`pip install -r benchmarks/requirements.txt`)",
         f"{t['library_seconds']:,.2f} s" if library else "-", "-"),
        ("(d) numpy loop per sleeve (median of 3)", f"{t['numpy']:,.2f} s", "-"),
        ("**reference ÷ engine** (times)", f"**{t['reference'] / t['engine']:,.0f}×**", f"**{b['reference'] / b['engine']:,.0f}×**"),
        ("**library ÷ engine** (times)", f"**{t['library_seconds'] / t['engine']:,.0f}×**" if library else "-", "-"),
        ("**numpy loop ÷ engine** (times)", f"**{t['numpy'] / t['engine']:,.0f}×**", "-"),
        ("trades (engine)", f"{t['trades']:,}", f"{b['trades']:,}"),
        ("engine = reference, trade for trade", "yes" if t["identical"] else "NO", "yes" if b["identical"] else "NO"),
    ]
    for key, name in (("library_agreement", "library"), ("numpy_agreement", "numpy loop")):
        a = t.get(key)
        if a:
            rows.append((f"{name}: dollar trades before rounding vs the reference's D (max difference)",
                         f"{a['max_dollar_difference']:.1e} USD", "-"))
            rows.append((f"{name}: whole shares ≠ engine's (holdings / sleeves)",
                         f"{a['shares_differ']:,} / {a['sleeves_differ']:,}"
                         + (" (buys the engine scaled down to its cash)" if a["differ_are_buys_scaled_down"] else ""),
                         "-"))
    lines = [f"| {r['sleeves']:,} sleeves ({r['holdings']:,} holdings) of the firm ({r['source']}) | `to-target` | `balanced` |",
             "| --- | ---: | ---: |", *(f"| {a} | {b_} | {c} |" for a, b_, c in rows)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--sleeves", type=int, default=10_000, help="the firm's size (firm.py)")
    args.add_argument("--seed", type=int, default=0)
    args.add_argument("--json", type=Path, help="also write the results here")
    options = args.parse_args(argv)
    pin_to_one_core()
    result = measure(options.sleeves, options.seed)
    if options.json:
        options.json.write_text(json.dumps(result, indent=1))
    print(table(result))


if __name__ == "__main__":
    main()
