"""The ``dask`` executor: the book split by household, the parts computed on a Dask cluster.

``smartx rebalance --all --executor dask`` starts a cluster of local worker processes on
127.0.0.1 (``--workers N``; one thread each), or connects to a running one
(``--scheduler tcp://HOST:PORT``). The run's inputs are read from the store here, split into
parts of whole households (:mod:`.partition`: columns of numpy arrays, never rows), scattered to
the workers, computed there by :func:`compute_part` and gathered here; the merged result is
stored by the caller in one transaction, so a run is stored whole or not at all.

Each part's task has a key made of its data's content hash and the policies' texts: submitting a
part twice (a retry) names the same task, and each part's result is taken once, so a retried task
cannot duplicate proposals. When a worker dies mid-run, Dask runs its tasks again on the others;
a part whose scattered data died with the worker (Dask cannot recompute scattered data) is
scattered again under a new key and resubmitted (up to ``attempts`` submissions in all); a part's
result is still taken once.

Dask is imported only when a run starts, so the command line stays quick to load.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ..dsl.policyset import PolicySet, load_sources
from ..errors import ExecutorError, SmartxError
from ..rebalance.runs import Computed, Progress, RunInputs, RunResult, computed
from .partition import merge, partitions

#: parts per worker: enough to balance uneven households and report progress, few enough to stay cheap
PARTS_PER_WORKER = 4
#: seconds to wait for a --scheduler to answer
CONNECT_TIMEOUT = 10.0


def compute_part(part: RunInputs, policy_sources: Sequence[tuple[str, str]]) -> Computed:
    """A part's result, on a worker: the policies are compiled there (once per worker and content)."""
    return computed(part, load_sources(policy_sources))


@attrs.frozen
class DaskExecutor:
    """Runs the parts of a book on a Dask cluster: a running one (``scheduler``) or a local one (``workers``)."""

    name: str = attrs.field(default="dask", init=False)
    description: str = attrs.field(default="split by household, computed on a Dask cluster (dask.distributed)",
                                   init=False)
    options: tuple[str, ...] = attrs.field(default=("scheduler", "workers"), init=False)
    scheduler: str | None = None        # tcp://HOST:PORT of a running scheduler
    workers: int | None = None          # local worker processes to start (default: one per core)
    parts: int | None = None            # how many parts (default: PARTS_PER_WORKER per worker)
    attempts: int = 3                   # submissions of a part whose data a dying worker lost
    connect_timeout: float = attrs.field(factory=lambda: CONNECT_TIMEOUT)  # seconds to reach the scheduler
    task: Callable[[RunInputs, Sequence[tuple[str, str]]], Computed] = compute_part  # tests wrap it

    def with_options(self, **options: Any) -> DaskExecutor:
        given = {k: v for k, v in options.items() if v is not None}
        if unknown := sorted(set(given) - set(self.options)):
            raise ExecutorError(f"the dask executor takes no {', '.join(unknown)} "
                                f"(it takes: {', '.join(self.options)})")
        if "scheduler" in given and "workers" in given:
            raise ExecutorError("give --scheduler (a running cluster) or --workers (a local one), not both")
        if given.get("workers") is not None and given["workers"] < 1:
            raise ExecutorError(f"--workers must be at least 1, not {given['workers']}")
        return attrs.evolve(self, **given)

    def run(self, inputs: RunInputs, policies: PolicySet, *, progress: Progress | None = None) -> RunResult:
        report = progress or (lambda *_: None)
        report("starting the Dask cluster" if self.scheduler is None else f"connecting to {self.scheduler}", 0, 1)
        client, cluster = self._connect()
        try:
            return self._run(client, inputs, policies, report)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    def _connect(self):
        from distributed import Client, LocalCluster

        if self.scheduler is not None:
            try:
                return Client(self.scheduler, timeout=self.connect_timeout, set_as_default=False), None
            except (OSError, TimeoutError, ValueError) as exc:
                raise ExecutorError(
                    f"cannot reach the Dask scheduler at {self.scheduler} ({exc}); is it running? Start one with "
                    "`dask scheduler` and workers with `dask worker ADDRESS`, or leave out --scheduler to start "
                    "workers on this machine") from None
        cluster = LocalCluster(n_workers=self.workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=":0")
        try:
            return Client(cluster, set_as_default=False), cluster
        except BaseException:
            cluster.close()
            raise

    def _run(self, client, inputs: RunInputs, policies: PolicySet, report: Progress) -> RunResult:
        from dask.base import tokenize
        from distributed import as_completed

        workers = max(1, len(client.scheduler_info().get("workers", {})))
        parts = partitions(inputs, self.parts or PARTS_PER_WORKER * workers)
        sources = policies.sources
        attempts = [0] * len(parts)
        index: dict[str, int] = {}
        queue = as_completed(loop=client.loop)

        def submit(i: int, data) -> None:
            key = f"smartx-rebalance-part-{tokenize(data.key, sources, self.task)}"
            future = client.submit(self.task, data, sources, key=key, pure=True)
            index[future.key], attempts[i] = i, attempts[i] + 1
            queue.add(future)

        for i, data in enumerate(client.scatter(parts, hash=True)):
            submit(i, data)
        results: dict[int, Computed] = {}
        what = f"computing {len(parts)} parts on {workers} Dask worker(s)"
        report(what, 0, len(parts))
        for future in queue:
            i = index.pop(future.key)
            if future.status == "finished":
                results.setdefault(i, future.result())  # once per part, whatever ran twice
                report(what, len(results), len(parts))
            elif future.status == "cancelled" and attempts[i] < self.attempts:  # its scattered data was lost
                submit(i, client.scatter(parts[i], hash=False))  # a new key: the client remembers the lost one
            else:
                self._failed(future, i)
        if sorted(results) != list(range(len(parts))):
            raise ExecutorError(f"the Dask cluster returned {len(results)} of the run's {len(parts)} parts")
        return merge([results[i] for i in range(len(parts))])

    @staticmethod
    def _failed(future, i: int):
        try:
            future.result()
        except SmartxError:
            raise  # the run's own error (a withdrawal too large ...), as the local executor raises it
        except Exception as exc:
            raise ExecutorError(f"part {i} of the run failed on the Dask cluster: {type(exc).__name__}: {exc}") from exc
        raise ExecutorError(f"part {i} of the run was cancelled on the Dask cluster")
