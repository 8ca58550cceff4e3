"""Fidelity custodian: FDX account data, Wealthscape-style order and allocation files, and a loopback sandbox.

An installable smartx plugin distribution, discovered through the `smartx` entry-point group.
It uses only smartx_engine's public API, exactly as a third party's plugin would.

Modules (imported on demand, so that loading the plugin stays cheap):

* :mod:`.fdx`: an FDX Core API reader (accounts, holdings with tax lots, transactions);
* :mod:`.sandbox`: a loopback FDX server with seeded data, pagination and fault injection;
* :mod:`.files`: Wealthscape-style order and block-allocation files and result files;
* :mod:`.simulator`: the file-drop simulator that executes an outbox into an inbox;
* :mod:`.custodian`: ``FidelityCustodian``, the adapter registered through ``register_custodians``;
* :mod:`.world`: ``FidelityWorld``, the FDX sandbox plus an outbox, an inbox and the simulator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smartx_engine import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    """Add ``smartx fidelity`` (``sandbox``, ``simulate``); its module is imported only when used."""
    from .commands import fidelity

    cli.add_command(fidelity)


@hookimpl
def register_custodians(register: Callable[[Any], None]) -> None:
    """Register the Fidelity adapter; it reads its settings and reaches FDX only when first used."""
    from .custodian import FidelityCustodian

    register(FidelityCustodian())
