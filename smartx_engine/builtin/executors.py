"""The built-in batch executors (``register_executors``): ``local`` and ``dask``."""

from __future__ import annotations

from ..hookspecs import Register, hookimpl


@hookimpl
def register_executors(register: Register) -> None:
    from ..executors.dask import DaskExecutor  # dask itself is imported only when a run starts
    from ..executors.local import LocalExecutor

    register(LocalExecutor())
    register(DaskExecutor())
