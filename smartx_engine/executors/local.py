"""The ``local`` executor: the whole book in this process, vectorised (the reference result)."""

from __future__ import annotations

from typing import Any

import attrs

from ..dsl.policyset import PolicySet
from ..errors import ExecutorError
from ..rebalance.runs import Progress, RunInputs, RunResult, compute


@attrs.frozen
class LocalExecutor:
    """Computes the run in-process over whole columns: what every other executor must match."""

    name: str = "local"
    description: str = "in this process, the whole book at once (the default)"
    options: tuple[str, ...] = ()

    def with_options(self, **options: Any) -> LocalExecutor:
        if given := sorted(k for k, v in options.items() if v is not None):
            raise ExecutorError(f"the local executor takes no options (given: {', '.join(given)})")
        return self

    def run(self, inputs: RunInputs, policies: PolicySet, *, progress: Progress | None = None) -> RunResult:
        return compute(inputs, policies, progress)
