"""The custodians' loopback sandboxes for ``smartx demo``, seeded with the demo firm's own accounts.

Every registered custodian adapter that offers a sandbox (``adapter.sandbox(seed, directory)``,
see :mod:`smartx_engine.custody`) gets one, seeded with exactly the engine's positions, lots and
cash at that custodian (:func:`~smartx_engine.demo.seeds.custodian_seed`), plus any cash the
demo puts at the custodian behind the book's back. While the sandboxes run, ``os.environ``
points the plugins at them, the way an operator's ``SMARTX_<PLUGIN>_*`` variables would, and
``SMARTX_CONFIG`` names a file that does not exist, so an operator's own configuration (real
credentials) is never used by the demo. Everything is restored on exit.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path

from ..custodians import custodians
from ..custody import SandboxSession
from ..store import Store
from .seeds import custodian_seed

#: environment variables whose values are never printed
SECRET_MARKERS = ("SECRET", "TOKEN", "APP_KEY", "PASSWORD")


@contextlib.contextmanager
def custodian_sandboxes(store: Store, directory: Path, *, unbooked_cash: Mapping[str, Decimal] | None = None,
                        ) -> Iterator[dict[str, SandboxSession]]:
    """Start a sandbox per custodian holding accounts of ``store``; the sessions by custodian name.

    ``unbooked_cash`` maps account ids to cash the custodian holds beyond the book (a wire the
    book has not seen yet): the first sync finds it as a cash break.
    """
    directory.mkdir(parents=True, exist_ok=True)
    extra = _by_custodian(store, unbooked_cash or {})
    with contextlib.ExitStack() as stack:
        sessions: dict[str, SandboxSession] = {}
        for name, adapter in custodians().items():
            seed = custodian_seed(store, name)
            if not hasattr(adapter, "sandbox") or not seed["accounts"]:
                continue
            for number, amount in extra.get(name, {}).items():
                account = seed["accounts"][number]
                account["cash"] = str(Decimal(account["cash"]) + amount)
            sessions[name] = stack.enter_context(adapter.sandbox(seed, directory))
        variables = {key: value for session in sessions.values() for key, value in session.environment.items()}
        stack.enter_context(environment({**variables, "SMARTX_CONFIG": str(directory / "no-config.toml")}))
        yield sessions


def shown(environment: Mapping[str, str]) -> list[str]:
    """``KEY=value`` lines for the operator, secrets masked."""
    return [f"{key}={'****' if any(m in key for m in SECRET_MARKERS) and not key.endswith('_FILE') else value}"
            for key, value in sorted(environment.items())]


def _by_custodian(store: Store, cash: Mapping[str, Decimal]) -> dict[str, dict[str, Decimal]]:
    extra: dict[str, dict[str, Decimal]] = {}
    for account_id, amount in cash.items():
        account = store.account(account_id)
        extra.setdefault(account.custodian, {})[account.custodian_number] = amount
    return extra


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set, restored on exit."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
