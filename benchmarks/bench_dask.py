"""The ``dask`` executor on a LocalCluster of 1 and 2 workers against ``local``, part by part.

    python benchmarks/bench_dask.py [--sizes 10000,100000] [--workers 1,2] [--seed S] [--json PATH]

For each size a scratch copy of ``firm.py``'s firm is read once (``read_inputs``, the store side
of ``smartx rebalance --all``; timed), then the same inputs are computed (a dry run: nothing is
recorded) by

* ``local``: ``LocalExecutor().run``, the whole book in this process;
* ``dask`` with N workers: a ``LocalCluster`` of N worker processes of one thread each on
  127.0.0.1 (as ``--executor dask --workers N`` starts it; started and timed apart), then
  ``DaskExecutor(scheduler=...).run``: the split by household (``partitions``, 4 parts a worker),
  scatter, the parts computed on the workers, gathered, ``merge``. The scheduler's task stream
  gives each part's compute time on its worker; the executor's progress, when each part came back.

Then, for the paper estimate (``report.py``): the bytes a part ships (its inputs and its result,
pickled) and its compute time in this process, for two parts; and the scheduler's cost per task
(1,000 no-op tasks on the cluster). Every dask run is checked to propose the local run's trades.

The machine has 2 cores: with 2 workers, the driver (this process: scatter, gather, merge) shares
them with the workers, and so does the scheduler.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cloudpickle  # what Dask pickles with

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for _path in (str(ROOT), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

AS_OF = "2026-11-20"
NOOP_TASKS = 1000


def fingerprint(result) -> tuple[int, str]:
    """The number of proposals and a hash of each one's sleeve, symbol, side, quantity and reasons, in order."""
    digest = hashlib.sha256()
    for proposed in result.trades:
        t = getattr(proposed, "trade", proposed)
        digest.update(f"{t.sleeve_id}|{t.symbol}|{t.side}|{t.quantity}|{list(t.reasons)}\n".encode())
    return len(result.trades), digest.hexdigest()[:16]


def _timing(times: dict[str, float], label: str, fn):
    @functools.wraps(fn)
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            times[label] = times.get(label, 0.0) + time.perf_counter() - start
    return timed


def _noop(i: int) -> int:
    return i


def run_dask(inputs, policies, workers: int) -> dict[str, Any]:
    """A LocalCluster of ``workers`` processes, the executor's run on it, and the scheduler's cost per task."""
    from distributed import Client, LocalCluster, get_task_stream

    import smartx_engine.executors.dask as dask_executor
    from smartx_engine.executors.dask import PARTS_PER_WORKER, DaskExecutor

    started = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=":0", silence_logs=logging.CRITICAL)  # not the workers' goodbyes
    client = Client(cluster, set_as_default=False)
    start_seconds = time.perf_counter() - started
    times: dict[str, float] = {}
    marks: list[tuple[str, int, int, float]] = []
    saved = {name: getattr(dask_executor, name) for name in ("partitions", "merge") if hasattr(dask_executor, name)}
    for name, fn in saved.items():  # timed where the executor calls them (a name it lacks is not timed)
        setattr(dask_executor, name, _timing(times, name, fn))
    try:
        with get_task_stream(client) as stream:
            begun = time.perf_counter()
            result = DaskExecutor(scheduler=cluster.scheduler_address).run(
                inputs, policies, progress=lambda what, done, total: marks.append((what, done, total,
                                                                                   time.perf_counter() - begun)))
            run_seconds = time.perf_counter() - begun
        computes = [sum(s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute")
                    for task in stream.data if str(task["key"]).startswith("smartx-rebalance-part-")]
        begun = time.perf_counter()
        client.gather(client.map(_noop, range(NOOP_TASKS), pure=False))
        per_task = (time.perf_counter() - begun) / NOOP_TASKS
    finally:
        for name, fn in saved.items():
            setattr(dask_executor, name, fn)
        client.close()
        cluster.close()
    parts = [m for m in marks if m[0].startswith("computing")]
    submitted = parts[0][3] if parts else 0.0
    return {"workers": workers, "parts": PARTS_PER_WORKER * workers, "start": start_seconds, "run": run_seconds,
            "partitions": times.get("partitions", 0.0), "merge": times.get("merge", 0.0),
            "submitted": submitted, "part_done": [m[3] for m in parts[1:]], "part_compute": computes,
            "per_task": per_task, "result": fingerprint(result), "triggered": result.sleeves_triggered}


def shipped(inputs, policies, n_parts: int, sample: int = 2) -> dict[str, Any]:
    """Per part: sleeves and the pickled bytes of its inputs; for ``sample`` parts, the compute time in
    this process and the pickled bytes of the result."""
    from smartx_engine.executors.dask import compute_part
    from smartx_engine.executors.partition import partitions

    parts = partitions(inputs, n_parts)
    sleeves = [p.book.n_sleeves for p in parts]
    in_bytes = [len(cloudpickle.dumps(p, protocol=5)) for p in parts]
    compute, out_bytes, trades = [], [], []
    for part in parts[:sample]:
        start = time.perf_counter()
        done = compute_part(part, policies.sources)
        compute.append(time.perf_counter() - start)
        out_bytes.append(len(cloudpickle.dumps(done, protocol=5)))
        trades.append(len(done.result.trades))
    return {"parts": len(parts), "sleeves": sleeves, "in_bytes": in_bytes, "sample_sleeves": sleeves[:sample],
            "sample_compute": compute, "sample_out_bytes": out_bytes, "sample_trades": trades}


def measure(n: int, seed: int, workers: list[int], scratch: Path) -> dict[str, Any]:
    from firm import firm_store

    from smartx_engine.dsl.policyset import load_rules
    from smartx_engine.executors.local import LocalExecutor
    from smartx_engine.rebalance.runs import read_inputs
    from smartx_engine.store import Store

    db = scratch / "firm.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(f"{db}.book", ignore_errors=True)
    shutil.copyfile(firm_store(n, seed), db)
    policies = load_rules(ROOT / "rules")
    store = Store.open(db)
    start = time.perf_counter()
    inputs = read_inputs(store, policies, dt.date.fromisoformat(AS_OF))
    load = time.perf_counter() - start
    store.close()
    start = time.perf_counter()
    local = LocalExecutor().run(inputs, policies)
    local_seconds = time.perf_counter() - start
    expected, triggered = fingerprint(local), local.sleeves_triggered
    del local
    print(f"{n:,} sleeves: read_inputs {load:.1f} s, local {local_seconds:.1f} s, {expected[0]:,} proposals",
          file=sys.stderr, flush=True)
    out = {"sleeves": n, "load": load, "local": local_seconds, "trades": expected[0], "triggered": triggered,
           "dask": []}
    for w in workers:
        r = run_dask(inputs, policies, w)
        r["same_as_local"] = r.pop("result") == expected
        out["dask"].append(r)
        print(f"{n:,} sleeves, dask {w} worker(s): cluster {r['start']:.1f} s, run {r['run']:.1f} s "
              f"({r['parts']} parts, compute {sum(r['part_compute']):.1f} s in all), "
              f"{'same proposals as local' if r['same_as_local'] else 'PROPOSALS DIFFER FROM LOCAL'}",
              file=sys.stderr, flush=True)
    out["shipped"] = shipped(inputs, policies, max(workers) * 4)
    return out


def table(results: list[dict[str, Any]]) -> str:
    """The runs as Markdown: a column per size and executor."""
    columns = []
    for r in results:
        columns.append((f"{r['sleeves']:,}, local", r, None))
        columns += [(f"{r['sleeves']:,}, dask {d['workers']}w", r, d) for d in r["dask"]]

    def cell(r, d, what):
        if d is None:
            return {"compute": f"{r['local']:.1f} s", "parts": "1 (whole book)", "same": "(reference)"}.get(what, "-")
        c = d["part_compute"]
        return {
            "start": f"{d['start']:.1f} s",
            "compute": f"{d['run']:.1f} s",
            "split": f"{d['partitions']:.2f} s",
            "scatter": f"{max(0.0, d['submitted'] - d['partitions']):.2f} s",
            "parts": f"{len(c)} × {r['sleeves'] / max(len(c), 1):,.0f} sleeves",
            "part": f"{sum(c) / max(len(c), 1):.2f} s ({min(c, default=0):.2f}–{max(c, default=0):.2f})",
            "per_sleeve": f"{sum(c) / r['sleeves'] * 1e6:,.0f} µs",
            "merge": f"{d['merge']:.2f} s",
            "task": f"{d['per_task'] * 1e3:.1f} ms",
            "same": "yes" if d["same_as_local"] else "NO",
        }[what]

    rows = [("cluster start (LocalCluster + Client)", "start"),
            ("compute: `executor.run` (split, scatter, parts, gather, merge)", "compute"),
            ("&nbsp;&nbsp;split by household (`partitions`)", "split"), ("&nbsp;&nbsp;scatter + submit", "scatter"),
            ("&nbsp;&nbsp;merge on the driver", "merge"), ("parts", "parts"),
            ("compute per part on its worker (mean, min–max)", "part"), ("compute per sleeve on a worker", "per_sleeve"),
            ("scheduler, per no-op task", "task"), ("same proposals as local", "same")]
    lines = ["| | " + " | ".join(name for name, _, _ in columns) + " |", "| --- |" + " ---: |" * len(columns)]
    lines.append("| read_inputs (store side, once) | " + " | ".join(f"{r['load']:.1f} s" if d is None else "″"
                                                                    for _, r, d in columns) + " |")
    for label, what in rows:
        lines.append(f"| {label} | " + " | ".join(cell(r, d, what) for _, r, d in columns) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--sizes", default="10000,100000", help="comma-separated numbers of sleeves")
    args.add_argument("--workers", default="1,2", help="comma-separated numbers of Dask workers")
    args.add_argument("--seed", type=int, default=0)
    args.add_argument("--json", type=Path, help="also write the raw results here")
    options = args.parse_args(argv)
    workers = [int(w) for w in options.workers.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_dask_", dir=HERE / ".cache" if (HERE / ".cache").exists()
                                     else None) as directory:
        for n in (int(x) for x in options.sizes.split(",")):
            results.append(measure(n, options.seed, workers, Path(directory)))
            if options.json:
                options.json.write_text(json.dumps(results, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
