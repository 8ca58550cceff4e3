"""How fast the policy language is: parser start-up, parse + validate, compiled and reference evaluation.

    python benchmarks/bench_policy.py [--sleeves N] [--reference-sleeves N] [--profile]

Runs on one core (the process is pinned to one CPU and numpy's thread pools to one thread), so
rates are per core. Prints each figure, then a table of results against the goals. ``--profile``
adds the top functions by own time (cProfile) of each measure that missed its goal.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # before numpy is imported

import argparse
import sys
import time
from pathlib import Path

import lark
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import pin_to_one_core, profile, timed
from synthetic import check_invariants, synthetic_book

from smartx_engine.dsl import parser as policy_parser
from smartx_engine.dsl.compile import compile_policy
from smartx_engine.dsl.frame import Frame
from smartx_engine.dsl.reference import decisions_of, differences, evaluate_reference
from smartx_engine.dsl.validate import validate

GOALS = {"parser": 0.050, "parse_validate": 0.005, "rate": 20e6}


def big_policy(rules: int = 163) -> str:
    """A policy file of about 200 lines written like rules/balanced.policy (about 10 tokens a
    line): settings, bands, triggers, many short rules and some long ones, and a child policy."""
    lines = ["# generated for the benchmark", 'policy "big" version "1" {',
             '  applies to sleeve.model in ["BAL-60-40", "GRO-80-20"] and account.registration == "taxable"',
             "  drift band absolute 5%", "  drift band relative 25%"]
    classes = ["us_equity", "intl_equity", "fixed_income", "real_estate", "commodities"]
    for i, asset_class in enumerate(classes):
        lines.append(f'  drift band absolute {i + 2}% for holding.asset_class == "{asset_class}"')
        lines.append(f'  drift band relative {10 + i}% for holding.asset_class == "{asset_class}" and holding.target > 1%')
    lines += ["  trigger when sleeve.cash_weight > 4%", "  trigger when sleeve.drift > 3% or sleeve.max_drift >= 6%",
              "  trigger when count(holding.drift_abs > 2%) >= 3 and today.month in [3, 6, 9, 12]",
              "  rebalance to target", "  target cash 2% min 1% max 4%", "  min trade 250 USD", "  shares whole",
              "  lots HIFO", "  avoid short term gains when lot.days_to_long_term <= 30",
              "  gain budget 5000 USD per year", "  harvest when lot.loss_pct >= 5% and lot.loss >= 1000 USD",
              "  wash sale window 30 days across household", '  substitute "VTI" with "ITOT", "SCHB"',
              '  restrict buy "XOM", "CVX"', '  restrict sell "AAPL"']
    short = ['holding.weight > {p}% then sell to 10%', 'sleeve.cash > {k}000 USD then flag "invest new money"',
             'today.month == 12 and today.day >= {d} then skip', 'holding.symbol == "X{i:04d}" then hold',
             'account.registration == "trust" and sleeve.value > {k}000 USD then require approval']
    long = ('holding.weight > {p}% and holding.symbol not in ["X{i:04d}", "VTI"] and any(lot.gain_pct < -{d}%)'
            ' then sell to 10%')
    for i in range(rules):
        template = long if i % 5 == 4 else short[i % len(short)]
        condition = template.format(i=i, p=10 + i % 7, k=i + 1, d=i % 11 + 1)
        lines.append(f'  rule "rule {i}" when {condition}')
    lines += ["}", "", 'policy "big-ira" extends "big" {', '  applies to account.registration in ["ira", "roth"]',
              "  lots FIFO", "  harvest never", "}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the measures


def measure_parser(repeat: int = 7) -> dict[str, float]:
    grammar = policy_parser.grammar_text()
    options = {"parser": "lalr", "propagate_positions": True, "maybe_placeholders": True}  # as parser.lark_parser
    fresh, _ = timed(lambda: lark.Lark(grammar, **options), repeat)
    policy_parser.lark_parser()  # the disk cache is written on the first call

    def cached():
        policy_parser.lark_parser.cache_clear()
        return policy_parser.lark_parser()

    from_cache, _ = timed(cached, repeat)
    print(f"(a) parser: fresh lark.Lark {fresh * 1e3:.1f} ms; lark_parser() from its disk cache "
          f"{from_cache * 1e3:.1f} ms (median of {repeat})")
    return {"fresh": fresh, "cached": from_cache}


def measure_parse_validate(repeat: int = 31) -> dict[str, float]:
    text = big_policy()
    policy_parser.lark_parser()
    parse_time, parsed = timed(lambda: policy_parser.parse(text, "big.policy"), repeat)
    validate_time, checked = timed(lambda: validate([parsed]), repeat)
    both, _ = timed(lambda: validate([policy_parser.parse(text, "big.policy")]), repeat)
    assert not checked.errors, [d.render() for d in checked.errors]
    compile_time, _ = timed(lambda: compile_policy(checked.policies["big"]), repeat)
    tokens = sum(1 for _ in policy_parser.lark_parser().lex(text))
    print(f"(b) a {text.count(chr(10))}-line policy file ({tokens:,} tokens): parse {parse_time * 1e3:.2f} ms, validate "
          f"{validate_time * 1e3:.2f} ms, both {both * 1e3:.2f} ms; compile {compile_time * 1e3:.2f} ms "
          f"(medians of {repeat})")
    return {"parse": parse_time, "validate": validate_time, "both": both, "lines": text.count("\n"), "text": text}


def balanced_policy():
    checked = validate([policy_parser.parse_file(ROOT / "rules" / "balanced.policy")])
    assert not checked.errors
    return checked.policies["balanced"]


def measure_compiled(book, repeat: int = 3) -> dict[str, float]:
    compiled = compile_policy(balanced_policy())
    seconds, evaluation = timed(lambda: compiled.evaluate(book), repeat)
    rate = book.n_holdings / seconds
    print(f"(c) compiled rules/balanced.policy over {book.n_sleeves:,} sleeves, {book.n_holdings:,} holdings, "
          f"{book.n_lots:,} lots: {seconds:.2f} s (median of {repeat}), {rate / 1e6:.1f} M holding-rows/s, "
          f"{int(evaluation.triggered.sum()):,} sleeves triggered")
    return {"seconds": seconds, "rate": rate}


def measure_reference(book, n_sleeves: int) -> dict[str, float]:
    policy = balanced_policy()
    subset = book.select(np.arange(min(n_sleeves, book.n_sleeves)))
    compiled = compile_policy(policy)
    compiled_seconds, evaluation = timed(lambda: compiled.evaluate(subset), 5)
    start = time.perf_counter()
    expected = evaluate_reference(policy, subset)
    seconds = time.perf_counter() - start
    found = differences(expected, decisions_of(evaluation, compiled.selects(Frame(subset))), limit=5)
    rate = subset.n_holdings / seconds
    compiled_rate = subset.n_holdings / compiled_seconds
    print(f"(d) reference over the first {subset.n_sleeves:,} sleeves ({subset.n_holdings:,} holdings): "
          f"{seconds:.2f} s, {rate / 1e3:.0f} k holding-rows/s; compiled on the same {compiled_seconds * 1e3:.0f} ms "
          f"({compiled_rate / 1e6:.1f} M/s); ratio {compiled_rate / rate:,.0f}x; "
          + ("the two agree on every decision" if not found else "DISAGREE:\n  " + "\n  ".join(found)))
    return {"seconds": seconds, "rate": rate, "compiled_rate": compiled_rate, "agree": not found}


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--sleeves", type=int, default=1_000_000)
    args.add_argument("--reference-sleeves", type=int, default=10_000)
    args.add_argument("--seed", type=int, default=0)
    args.add_argument("--profile", action="store_true", help="profile the measures that miss their goal")
    options = args.parse_args(argv)
    pin_to_one_core()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, lark {lark.__version__}, one core")

    parser = measure_parser()
    parsing = measure_parse_validate()
    start = time.perf_counter()
    book = synthetic_book(options.sleeves, seed=options.seed)
    built = time.perf_counter() - start
    check_invariants(book)
    print(f"    synthetic book of {book.n_sleeves:,} sleeves built in {built:.1f} s")
    evaluation = measure_compiled(book)
    reference = measure_reference(book, options.reference_sleeves)

    rows = [
        ("parser: fresh lark.Lark", f"{parser['fresh'] * 1e3:.1f} ms", "", ""),
        ("parser: lark_parser() from disk cache", f"{parser['cached'] * 1e3:.1f} ms", "<= 50 ms",
         parser["cached"] <= GOALS["parser"]),
        (f"parse + validate, {parsing['lines']} lines", f"{parsing['both'] * 1e3:.2f} ms", "<= 5 ms",
         parsing["both"] <= GOALS["parse_validate"]),
        (f"compiled evaluate, {book.n_sleeves:,} sleeves", f"{evaluation['seconds']:.2f} s", "", ""),
        ("compiled rate (holding-rows/s/core)", f"{evaluation['rate'] / 1e6:.1f} M", ">= 20 M",
         evaluation["rate"] >= GOALS["rate"]),
        (f"reference rate, {options.reference_sleeves:,} sleeves", f"{reference['rate'] / 1e3:.0f} k", "", ""),
        ("compiled / reference (same subset)", f"{reference['compiled_rate'] / reference['rate']:,.0f}x", "", ""),
        ("reference agrees with compiled", "yes" if reference["agree"] else "NO", "yes", reference["agree"]),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{width}}  {'result':>10}  {'goal':>9}  met")
    for name, result, goal, met in rows:
        print(f"{name:<{width}}  {result:>10}  {goal:>9}  {'' if met == '' else 'yes' if met else 'NO'}")

    if options.profile:
        if parser["cached"] > GOALS["parser"]:
            print("\nprofile: lark_parser() from its disk cache\n" + profile(
                lambda: (policy_parser.lark_parser.cache_clear(), policy_parser.lark_parser())))
        if parsing["both"] > GOALS["parse_validate"]:
            text = parsing["text"]
            print("\nprofile: parse + validate (x20)\n" + profile(
                lambda: [validate([policy_parser.parse(text, "big.policy")]) for _ in range(20)]))
        if evaluation["rate"] < GOALS["rate"]:
            compiled = compile_policy(balanced_policy())
            print("\nprofile: compiled evaluate\n" + profile(lambda: compiled.evaluate(book), top=25))


if __name__ == "__main__":
    main()
