"""The plugin contract: every hook a plugin may implement.

Register hooks receive a ``register`` callback and call it once per thing they provide; the
kernel checks each registration and refuses two plugins registering the same name. Hooks are
called with keyword arguments and only ever gain new ones: never renamed, never removed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pluggy

if TYPE_CHECKING:
    import click

hookspec = pluggy.HookspecMarker("smartx")
hookimpl = pluggy.HookimplMarker("smartx")

Register = Callable[[Any], None]

# ---------------------------------------------------------------------------
# Book import
# ---------------------------------------------------------------------------


@hookspec
def register_book_importers(register: Register) -> None:
    """Register book importers (``smartx import book DIR --format NAME``).

    Call ``register(importer)`` once per importer. An importer has ``name: str`` (its
    ``--format``), ``description: str`` and ``read(path: pathlib.Path) -> BookData``, which reads the
    whole book or raises :class:`smartx_engine.DataError` naming every bad file, line and column.
    Returns nothing.
    """


# ---------------------------------------------------------------------------
# Custodians
# ---------------------------------------------------------------------------


@hookspec
def register_custodians(register: Register) -> None:
    """Register custodian adapters (Schwab, Fidelity, ...).

    Call ``register(custodian)`` once per adapter, a :class:`smartx_engine.Custodian`:
    ``custodian.name`` is the value of the ``custodian`` column of accounts it serves;
    ``supports_blocks`` says whether it takes block orders; ``accounts()`` gives every account's
    cash, positions and (where the custodian has them) lots; ``transactions(number, start, end)``
    the posted history; ``submit(orders)`` one ``OrderReport`` per ``OrderRequest`` (``pending``
    when the outcome is unknown, never a blind resend); ``track(orders)`` a report per order, or
    ``None`` for one the custodian never received; ``cancel(order)`` a report. Registering must not
    touch the network: build clients on first use. Returns nothing. Contract tests:
    ``smartx_engine.testing.CustodianContract``.
    """


# ---------------------------------------------------------------------------
# Model feeds
# ---------------------------------------------------------------------------


@hookspec
def register_model_feeds(register: Register) -> None:
    """Register model feeds: sources of third-party models and their versions.

    Call ``register(feed)`` once per feed, a :class:`smartx_engine.ModelFeed`: ``feed.name``
    identifies it in ``smartx models sync --feed``; ``deliveries()`` gives a
    :class:`smartx_engine.ModelDelivery` per version it offers now (FULL or DELTA), oldest first
    per model, parsed strictly but not judged (the engine does that); optionally
    ``acknowledge(model_id, version, status, message)`` and ``configured``. Registering must not
    touch the network. Returns nothing. Contract tests: ``smartx_engine.testing.ModelFeedContract``.
    """


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


@hookspec
def register_reporters(register: Register) -> None:
    """Register reports for ``smartx report NAME``.

    Call ``register(reporter)`` once per report; ``reporter.name`` is the report's name and
    ``reporter.formats`` the output formats it renders. Returns nothing.
    """


# ---------------------------------------------------------------------------
# Policy language extensions
# ---------------------------------------------------------------------------


@hookspec
def register_policy_functions(register: Register) -> None:
    """Register functions that policy files may call.

    Call ``register(function)`` once per function; ``function.name`` is how policies call it.
    Functions are typed (the validator checks calls) and vectorised (they take and return whole
    numpy columns). Returns nothing.
    """


# ---------------------------------------------------------------------------
# Execution
# ---------------------------------------------------------------------------


@hookspec
def register_executors(register: Register) -> None:
    """Register batch executors for ``smartx rebalance --executor NAME`` (``local``, ``dask``).

    Call ``register(executor)`` once per executor, a :class:`smartx_engine.executors.Executor`:
    ``executor.name`` is its ``--executor``; ``options`` the names of the options it takes (each
    the CLI flag ``--NAME``), which ``with_options(**options)`` applies, returning a configured
    executor (an ``ExecutorError`` for options it cannot use); ``run(inputs, policies, progress=)``
    computes a run's :class:`RunResult` from its :class:`RunInputs` without the store (the caller
    stores it in one transaction) and must equal what ``local`` computes. Registering must not
    start a cluster or import heavy libraries: do that in ``run``. Returns nothing.
    """


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands or groups to the ``smartx`` command line with ``@cli.command()``.

    Called once, before the command line is parsed. Returns nothing.
    """


# ---------------------------------------------------------------------------
# Events (notifications; their return values are ignored)
# ---------------------------------------------------------------------------


@hookspec
def on_book_imported(summary: Any) -> None:
    """Called after a book import commits, with its ``ImportSummary``."""


@hookspec
def on_run_completed(run: Any) -> None:
    """Called after a rebalance run and its proposals are stored, with the run's summary (a
    ``RunResult``; its ``trades`` are a sequence of ``ProposedTrade`` kept as columns, each made
    when read: a run of millions of trades is cheap to hand over and costly to walk)."""


@hookspec
def on_orders_submitted(orders: Any) -> None:
    """Called after orders are acknowledged by a custodian, with the list of orders."""


@hookspec
def on_fills(fills: Any) -> None:
    """Called after fills are applied to lots and cash, with the list of fills."""
