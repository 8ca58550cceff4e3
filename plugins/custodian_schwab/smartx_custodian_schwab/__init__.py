"""Charles Schwab custodian: the Schwab Trader API (accounts, positions, transactions, orders) and its loopback sandbox.

An installable smartx plugin distribution, discovered through the `smartx` entry-point group.
It uses only smartx_engine's public API, exactly as a third party's plugin would.

Modules (imported on demand): :mod:`.client` (the Trader API client), :mod:`.answers` (its typed
answers), :mod:`.custodian` (``SchwabCustodian``, registered through ``register_custodians``),
:mod:`.sandbox` (the loopback sandbox) and :mod:`.commands` (``smartx schwab sandbox``, ``login``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smartx_engine import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    """Add ``smartx schwab`` (``sandbox``, ``login``); its module is imported only when used."""
    from .commands import schwab

    cli.add_command(schwab)


@hookimpl
def register_custodians(register: Callable[[Any], None]) -> None:
    """Register the Schwab adapter; it reads its settings and reaches Schwab only when first used."""
    from .custodian import SchwabCustodian

    register(SchwabCustodian.from_settings())
