"""End to end: ``smartx rebalance --all`` on generated firms of 10k, 100k and 1M sleeves.

    python benchmarks/bench_e2e.py [--sizes 10000,100000,1000000] [--seed S] [--dry-run] [--profile N]

For each size, the firm of ``firm.py`` (built and cached under ``benchmarks/.cache/`` when
missing; not timed) is copied to a scratch store, and ``smartx --db COPY rebalance --all --as-of
2026-11-20 > file`` (the operator's nightly command: a table of the first trades and the run's
summary; ``--with-json`` adds ``--json``, every trade as JSON) runs in a fresh process under ``/usr/bin/time -v`` (wall time and peak
resident memory, the process's whole life: interpreter start, imports, the run and its output).
That process is the real CLI (``smartx_engine.cli.main``) with timers wrapped around the phases
of the run (a wrapper per phase function, nothing per row; see ``PHASES``), which it writes as
JSON beside the output. The parent prints a Markdown table per size, then the growth of each
phase between sizes (the exponent ``k`` of ``time ~ sleeves^k``).

Runs on both cores of the machine as the CLI would (numpy's pools are left alone), so figures
are end to end, not per core. ``--profile N`` instead cProfiles the CLI once at N sleeves and
prints the top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import math
import os
import pstats
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for _path in (str(ROOT), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

AS_OF = "2026-11-20"
#: run with --json (every trade written as JSON) rather than the table and summary (--with-json)
WITH_JSON = False
GOALS = {"total": 60.0, "peak": 8e9, "engine": 20.0}

#: (label, module, attribute): the functions timed in the child, in the order of a run. Labels
#: with a dot are parts of the phase before the dot (their time is inside it).
PHASES = [
    ("load", "smartx_engine.book:Book", "from_store"),
    ("load.effective_targets", "smartx_engine.bookread", "effective_targets"),
    ("load.effective_targets", "smartx_engine.bookread", "target_codes"),
    ("load.model_changes", "smartx_engine.bookread", "model_changes"),
    ("load.model_changes", "smartx_engine.bookread", "change_columns"),
    ("load.lots from SQLite", "smartx_engine.bookread", "_read_lots"),
    ("load.lots ordered", "smartx_engine.bookread", "_order_lots"),
    ("load.lots ordered", "smartx_engine.bookread", "_grouped"),
    ("load.lots from the snapshot", "smartx_engine.bookread", "_load_snapshot"),
    ("load.holdings", "smartx_engine.bookread", "_holdings"),
    ("load.snapshot written", "smartx_engine.bookread", "_write_snapshot"),
    ("policies", "smartx_engine.dsl.policyset", "load_rules"),
    ("scope", "smartx_engine.rebalance.runs", "_scope_mask"),
    ("evaluate", "smartx_engine.dsl.policyset:PolicySet", "evaluate"),
    ("cash events", "smartx_engine.rebalance.runs", "cash_events"),
    ("recent trading", "smartx_engine.rebalance.runs", "_recent_trading"),
    ("run inputs", "smartx_engine.rebalance.runs:_Run", "__attrs_post_init__"),
    ("harvests", "smartx_engine.rebalance.runs:_Run", "harvests"),
    ("blocks", "smartx_engine.rebalance.runs:Blocks", "of"),
    ("stage pairs", "smartx_engine.rebalance.runs:_Run", "stage_pairs"),
    ("stage trades", "smartx_engine.rebalance.runs:_Run", "stage_rebalance"),
    ("stage trades.generate_trades", "smartx_engine.rebalance.runs", "generate_trades"),
    ("stage trades.reasons", "smartx_engine.rebalance.runs", "reason_columns"),
    ("stage trades.lots relieved", "smartx_engine.rebalance.runs", "relieve_exact"),
    ("stage trades.wash warnings", "smartx_engine.rebalance.runs", "wash_warnings"),
    ("budgets", "smartx_engine.rebalance.runs", "_budgets"),
    ("realized gains", "smartx_engine.rebalance.runs", "net_realized"),
    ("gain budgets", "smartx_engine.rebalance.runs:_Run", "within_budgets"),
    ("digest", "smartx_engine.book:Book", "digest"),
    ("netting notes", "smartx_engine.rebalance.runs", "with_crossings"),
    ("shortfalls", "smartx_engine.rebalance.runs", "shortfalls"),
    ("record_run", "smartx_engine.rebalance.runs", "record_run"),
    ("output", "smartx_engine.cli.rebalance", "emit_run"),
]
#: the engine core: evaluation and trade generation (what bench_rebalance.py (a) times in memory)
ENGINE = ("evaluate", "cash events", "harvests", "blocks", "stage pairs", "stage trades", "budgets", "gain budgets",
          "netting notes", "shortfalls")
#: the store side: reading the book and the run's inputs, writing the proposals
STORE = ("load", "scope", "recent trading", "run inputs", "realized gains", "record_run")


# ---------------------------------------------------------------- the child: the CLI with phase timers


def _peak() -> int:
    """The process's peak resident memory so far, in bytes (``ru_maxrss``: VmHWM without reading
    /proc, which took 20 µs a call: timers around a function called 200,000 times cost seconds)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _install_timers(times: dict[str, float]) -> None:
    import importlib

    def timer(label: str, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            start, peak = time.perf_counter(), _peak()
            try:
                return fn(*args, **kwargs)
            finally:
                times[label] = times.get(label, 0.0) + time.perf_counter() - start
                if (grown := _peak() - peak) > 0:  # the process's peak memory rose during this phase
                    times[f"peak+ {label}"] = times.get(f"peak+ {label}", 0.0) + grown
        return timed

    for label, where, name in PHASES:
        module, _, owner = where.partition(":")
        target = importlib.import_module(module)
        if owner:
            target = getattr(target, owner)
        raw = target.__dict__.get(name) if owner else getattr(target, name, None)
        if raw is None:  # a phase this version of the engine does not have
            continue
        if isinstance(raw, classmethod):
            setattr(target, name, classmethod(timer(label, raw.__func__)))
        elif isinstance(raw, staticmethod):
            setattr(target, name, staticmethod(timer(label, raw.__func__)))
        else:
            setattr(target, name, timer(label, raw))


def child(times_path: str, argv: list[str]) -> None:
    """Run the CLI with phase timers; write the times (seconds) to ``times_path``."""
    started = time.perf_counter()
    times: dict[str, float] = {}
    _install_timers(times)
    from smartx_engine.cli import cli
    times["imports"] = time.perf_counter() - started
    code = 0
    try:
        cli.main(argv, prog_name="smartx", standalone_mode=False)
    except SystemExit as exc:
        code = exc.code or 0
    times["cli"] = time.perf_counter() - started
    Path(times_path).write_text(json.dumps(times))
    sys.stdout.flush()
    os._exit(code)  # skip tearing down the book's objects: the process ends anyway, as the CLI's would


def load_child(times_path: str, db: str) -> None:
    """``Book.from_store``, ``Book.digest`` and the run's recent trading alone (``--load-only``), timed by phase."""
    started = time.perf_counter()
    times: dict[str, float] = {}
    _install_timers(times)
    from smartx_engine.book import Book
    from smartx_engine.store import Store
    from smartx_engine.tax.recent import recent_trading
    times["imports"] = time.perf_counter() - started
    store, as_of = Store.open(db), __import__("datetime").date.fromisoformat(AS_OF)
    book = Book.from_store(store, as_of)
    book.digest()
    times["cli"] = time.perf_counter() - started  # the process wall below is start, imports, load and digest
    start = time.perf_counter()
    recent_trading(store, as_of)
    times["recent trading"] = time.perf_counter() - start
    times["counts"] = [book.n_sleeves, book.n_holdings, book.n_lots]
    Path(times_path).write_text(json.dumps(times))
    os._exit(0)


def measure_load(n: int, seed: int, scratch: Path) -> list[dict[str, Any]]:
    """``--load-only``: the book read in a fresh process without, then with, the lots' snapshot."""
    from firm import firm_store
    source = firm_store(n, seed)
    db = scratch / "load.db"  # a copy: opening a store migrates it, and the snapshot is written beside it
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(f"{db}.book", ignore_errors=True)
    shutil.copyfile(source, db)
    results = []
    for warm in (False, True):
        times_path = scratch / "times.json"
        command = ["/usr/bin/time", "-v", sys.executable, str(Path(__file__).resolve()), "_load", str(times_path),
                   str(db)]
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        stderr = done.stderr.decode(errors="replace")
        if done.returncode:
            raise SystemExit(f"Book.from_store failed at {n:,} sleeves:\n{stderr[-3000:]}")
        wall, peak = _time_v(stderr)
        times = json.loads(times_path.read_text())
        results.append({"sleeves": n, "wall": wall, "peak": peak, "times": times, "warm": warm})
        print(f"{n:,} sleeves, Book.from_store{' (snapshot)' if warm else ''}: {times['load']:.1f} s, digest "
              f"{times.get('digest', 0):.1f} s, peak {peak / 1e9:.2f} GB", file=sys.stderr, flush=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(f"{db}.book", ignore_errors=True)
    return results


def load_report(results: list[dict[str, Any]]) -> str:
    labels = list(dict.fromkeys(["load", *[label for label, _, _ in PHASES if label.startswith("load.")], "digest",
                                 "recent trading"]))
    lines = ["| phase | " + " | ".join(f"{r['sleeves']:,} sleeves" + (", snapshot" if r["warm"] else "")
                                      for r in results) + " |", "| --- |" + " ---: |" * len(results)]
    for label in labels:
        name = f"&nbsp;&nbsp;{label.split('.', 1)[1]}" if "." in label else label
        lines.append(f"| {name} | " + " | ".join(f"{r['times'].get(label, 0.0):.2f} s" for r in results) + " |")
    lines.append("| process wall (start, imports, load, digest, recent trading) | " + " | ".join(f"{r['wall']:.1f} s" for r in results)
                 + " |")
    lines.append("| peak memory (VmHWM) | " + " | ".join(f"{r['peak'] / 1e9:.2f} GB" for r in results) + " |")
    lines.append("| holdings, lots | " + " | ".join(f"{r['times']['counts'][1]:,}, {r['times']['counts'][2]:,}"
                                                   for r in results) + " |")
    return "\n".join(lines)


def profile_child(argv: list[str], top: int = 40) -> str:
    from smartx_engine.cli import cli
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        cli.main(argv, prog_name="smartx", standalone_mode=False)
    finally:
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


# ---------------------------------------------------------------- the parent


def _time_v(stderr: str) -> tuple[float, int]:
    """Wall seconds and peak RSS bytes from ``/usr/bin/time -v``."""
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", stderr)
    h, m, s = (float(x) if x else 0.0 for x in wall.groups())
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr).group(1)) * 1024
    return h * 3600 + m * 60 + s, peak


def measure(n: int, seed: int, dry_run: bool, scratch: Path, snapshot: Path | None = None) -> dict[str, Any]:
    """One run on a fresh copy of the firm; with ``snapshot``, that lots' snapshot is put beside it."""
    from firm import firm_store
    source = firm_store(n, seed)
    db = scratch / "firm.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(f"{db}.book", ignore_errors=True)
    shutil.copyfile(source, db)
    if snapshot is not None:
        shutil.copytree(snapshot, f"{db}.book")
    times_path, out_path = scratch / "times.json", scratch / "out.json"
    argv = ["--db", str(db), "--rules", str(ROOT / "rules"), "rebalance", "--all", "--as-of", AS_OF,
            *(["--json"] if WITH_JSON else []), *(["--dry-run"] if dry_run else [])]
    command = ["/usr/bin/time", "-v", sys.executable, str(Path(__file__).resolve()), "_child", str(times_path), *argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(out_path, "wb") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, env=env, text=False)
    stderr = done.stderr.decode(errors="replace")
    if done.returncode:
        raise SystemExit(f"smartx rebalance failed at {n:,} sleeves:\n{stderr[-3000:]}")
    wall, peak = _time_v(stderr)
    times = json.loads(times_path.read_text())
    import sqlite3
    with sqlite3.connect(db) as conn:
        run = conn.execute("select sleeves_evaluated, sleeves_triggered, trades from runs order by run_id desc"
                           " limit 1").fetchone() if not dry_run else None
        holdings, lots = conn.execute("select count(distinct sleeve_id || ' ' || symbol), count(*) from lots").fetchone() \
            if n <= 100_000 else (None, conn.execute("select count(*) from lots").fetchone()[0])
    result = {"sleeves": n, "wall": wall, "peak": peak, "times": times, "lots": lots,
              "output_bytes": out_path.stat().st_size, "run": run, "warm": snapshot is not None}
    if snapshot is None and Path(f"{db}.book").exists():  # kept for a warm run
        kept = scratch / "snapshot.book"
        shutil.rmtree(kept, ignore_errors=True)
        Path(f"{db}.book").rename(kept)
        result["snapshot"] = str(kept)
    return result


def measure_size(n: int, seed: int, dry_run: bool, scratch: Path) -> list[dict[str, Any]]:
    """The run at ``n`` sleeves, then (when it wrote a lots' snapshot) the same run with that snapshot."""
    runs = [measure(n, seed, dry_run, scratch)]
    if "snapshot" in runs[0]:
        runs.append(measure(n, seed, dry_run, scratch, Path(runs[0]["snapshot"])))
    for r in runs:
        print(f"{n:,} sleeves{' (snapshot)' if r['warm'] else ''}: {r['wall']:.1f} s end to end, "
              f"peak {r['peak'] / 1e9:.2f} GB", file=sys.stderr, flush=True)
    return runs


def _phase_rows(result: dict[str, Any]) -> list[tuple[str, float]]:
    times = result["times"]
    rows = [("interpreter start + imports", result["wall"] - times["cli"] + times["imports"])]
    for label, _, _ in PHASES:
        if label in times and label not in [r[0] for r in rows]:
            rows.append((label, times[label]))
    top = sum(t for label, t in rows if "." not in label)
    rows.append(("other (CLI, proposals as objects)", result["wall"] - top))
    return rows


def report(results: list[dict[str, Any]]) -> str:
    lines = []
    sizes = [r["sleeves"] for r in results]
    head = "| phase | " + " | ".join(f"{r['sleeves']:,} sleeves" + (", snapshot" if r.get("warm") else "")
                                     for r in results) + " |"
    lines += [head, "| --- |" + " ---: |" * len(sizes)]
    table = [dict(_phase_rows(r)) for r in results]
    labels = list(dict.fromkeys(label for t in table for label in t))
    for label in labels:
        name = f"&nbsp;&nbsp;{label.split('.', 1)[1]}" if "." in label else label
        lines.append(f"| {name} | " + " | ".join(f"{t.get(label, 0.0):.2f} s" for t in table) + " |")

    def total(r, names):
        return sum(r["times"].get(n, 0.0) for n in names)

    lines.append("| **end to end (wall)** | " + " | ".join(f"**{r['wall']:.1f} s**" for r in results) + " |")
    lines.append("| engine core (" + ", ".join(ENGINE) + ") | "
                 + " | ".join(f"{total(r, ENGINE):.1f} s" for r in results) + " |")
    lines.append("| store side (" + ", ".join(STORE) + ") | "
                 + " | ".join(f"{total(r, STORE):.1f} s" for r in results) + " |")
    lines.append("| peak memory (VmHWM) | " + " | ".join(f"{r['peak'] / 1e9:.2f} GB" for r in results) + " |")
    lines.append("| peak memory rose in (largest phases; nested phases count in their parent too) | " + " | ".join(
        ", ".join(f"{k[6:]} +{v / 1e9:.2f} GB" for k, v in sorted(
            ((k, v) for k, v in r["times"].items() if k.startswith("peak+ ")), key=lambda kv: -kv[1])[:4])
        for r in results) + " |")
    lines.append("| sleeves per second | " + " | ".join(f"{r['sleeves'] / r['wall']:,.0f}" for r in results) + " |")
    if all(r["run"] for r in results):
        lines.append("| sleeves triggered | " + " | ".join(f"{r['run'][1]:,}" for r in results) + " |")
        lines.append("| trades proposed | " + " | ".join(f"{r['run'][2]:,}" for r in results) + " |")
    lines.append("| lots | " + " | ".join(f"{r['lots']:,}" for r in results) + " |")
    lines.append(f"| output{' (--json)' if WITH_JSON else ''} | " + " | ".join(f"{r['output_bytes'] / 1e6:,.0f} MB" for r in results) + " |")
    if len([r for r in results if not r.get("warm")]) > 1:
        lines += ["", "Growth (runs without a snapshot): the exponent k of time ~ sleeves^k between consecutive sizes (1: linear).", ""]
        cold = [r for r in results if not r.get("warm")]
        table = [dict(_phase_rows(r)) for r in cold]
        pairs = list(zip(cold, cold[1:]))
        lines.append("| phase | " + " | ".join(f"{a['sleeves']:,} → {b['sleeves']:,}" for a, b in pairs) + " |")
        lines.append("| --- |" + " ---: |" * len(pairs))
        for label in [*labels[:-1], "end to end"]:
            cells = []
            for (a, b), ta, tb in zip(pairs, table, table[1:]):
                x, y = (a["wall"], b["wall"]) if label == "end to end" else (ta.get(label, 0), tb.get(label, 0))
                cells.append(f"{math.log(y / x) / math.log(b['sleeves'] / a['sleeves']):.2f}"
                             if x > 0.05 and y > 0 else "-")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine() -> str:
    import platform
    import sqlite3

    import numpy as np
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    memory = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    return (f"{os.cpu_count()} cores ({cpu}), {memory / 2**20:.0f} GB; Python {platform.python_version()}, "
            f"numpy {np.__version__}, SQLite {sqlite3.sqlite_version}")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_child":
        child(argv[1], argv[2:])
        return
    if argv and argv[0] == "_load":
        load_child(argv[1], argv[2])
        return
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated numbers of sleeves")
    args.add_argument("--seed", type=int, default=0)
    args.add_argument("--dry-run", action="store_true", help="rebalance --dry-run (no record_run)")
    args.add_argument("--profile", type=int, metavar="N", help="cProfile the CLI at N sleeves instead")
    args.add_argument("--json", type=Path, help="also write the raw results here")
    args.add_argument("--with-json", action="store_true", help="run rebalance --all --json (every trade as JSON)")
    args.add_argument("--load-only", action="store_true",
                      help="time Book.from_store (and the digest) alone, without and with the lots' snapshot")
    options = args.parse_args(argv)
    global WITH_JSON
    WITH_JSON = options.with_json
    with tempfile.TemporaryDirectory(prefix="bench_e2e_", dir=HERE / ".cache" if (HERE / ".cache").exists()
                                     else None) as directory:
        scratch = Path(directory)
        if options.profile:
            from firm import firm_store
            db = scratch / "firm.db"
            shutil.copyfile(firm_store(options.profile, options.seed), db)
            print(profile_child(["--db", str(db), "--rules", str(ROOT / "rules"), "rebalance", "--all", "--as-of",
                                 AS_OF, "--json", *(["--dry-run"] if options.dry_run else [])]), file=sys.stderr)
            return
        print(machine())
        if options.load_only:
            results = [r for n in options.sizes.split(",") for r in measure_load(int(n), options.seed, scratch)]
            if options.json:
                options.json.write_text(json.dumps(results, indent=1))
            print(f"\n`python benchmarks/bench_e2e.py {' '.join(argv)}`\n")
            print(load_report(results))
            return
        results = []
        for n in (int(x) for x in options.sizes.split(",")):
            results += measure_size(n, options.seed, options.dry_run, scratch)
            if options.json:
                options.json.write_text(json.dumps(results, indent=1))
    command = "python benchmarks/bench_e2e.py " + " ".join(argv)
    print(f"\n`{command.strip()}`\n")
    print(report(results))


if __name__ == "__main__":
    main()
