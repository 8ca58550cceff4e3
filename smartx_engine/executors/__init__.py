"""Batch executors: where a rebalance run's computation happens (``register_executors``).

A run reads the store once (:func:`~smartx_engine.rebalance.runs.read_inputs`), an executor turns
those inputs into the run's result, and the run is stored in one transaction
(:func:`~smartx_engine.rebalance.runs.record_run`). ``local`` computes the whole book in this
process; ``dask`` splits it by household (:mod:`.partition`) and computes the parts on a Dask
cluster. Every executor gives the same result as ``local``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..plugins import chosen, registered

if TYPE_CHECKING:
    from ..dsl.policyset import PolicySet
    from ..rebalance.runs import Progress, RunInputs, RunResult


class Executor(Protocol):
    """What ``register_executors`` registers.

    ``name`` is its ``--executor``; ``options`` the keyword options :meth:`with_options` takes
    (their CLI flags are ``--NAME``: ``scheduler``, ``workers`` ...); ``run`` computes a run's
    result from its inputs, without the store, reporting ``progress(what, done, total)``.
    """

    name: str
    description: str
    options: tuple[str, ...]

    def with_options(self, **options: Any) -> Executor: ...

    def run(self, inputs: RunInputs, policies: PolicySet, *, progress: Progress | None = None) -> RunResult: ...


def executors(name: str | None = None) -> dict[str, Executor]:
    """The registered executors by name; with ``name``, only that one (NotFoundError, with a hint, when absent)."""
    return chosen(registered("register_executors", "executor"), name, "executor", "executor")
