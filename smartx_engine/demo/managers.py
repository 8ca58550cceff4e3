"""The model managers of ``smartx demo``: what they publish, and their loopback sandboxes.

Two managers deliver models to the demo firm through the model feeds that plugins register:
Acme Asset Mgmt (the firm's GRO-80-20 and INC-30-70) publishes on its API (feed ``manager-api``)
a new model, Real Assets, and later a revision of GRO-80-20 (a DELTA); Beacon Capital drops a
file of its Dividend Income model where the firm reads files (feed ``files``). Every feed that
offers a sandbox (``feed.sandbox(deliveries, directory)``, see :class:`smartx_engine.ModelFeed`)
gets one, seeded with its manager's first versions; while they run, ``os.environ`` points the
feeds at them, as an operator's ``SMARTX_MODELS_*`` variables would.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path

from ..modelfeeds import FeedSandboxSession, ModelDelivery, ModelLine
from ..models.registry import model_feeds
from .custody import environment
from .firm import SECURITIES

CUSIPS = {symbol: cusip for symbol, _, _, _, cusip in SECURITIES}
ACME, BEACON = "Acme Asset Mgmt", "Beacon Capital"


def _line(symbol: str, weight: str | None, band: str | None = None, action: str = "SET") -> ModelLine:
    w, b = (None if value is None else Decimal(value) for value in (weight, band))
    return ModelLine("CUSIP", CUSIPS[symbol], symbol, w, None if b is None else w - b, None if b is None else w + b,
                     action)


def _version(feed: str, model_id: str, name: str, manager: str, version: str, effective: str, published: str,
             lines: list[ModelLine], **delta: str) -> ModelDelivery:
    return ModelDelivery(feed, f"{manager} (demo)", model_id, version, dt.date.fromisoformat(effective),
                         "DELTA" if delta else "FULL", lines, model_name=name, manager=manager,
                         published_at=dt.datetime.fromisoformat(published), cash_weight=Decimal("0.02"), **delta)


#: feed name -> what its manager has published when the demo starts
PUBLISHED = {
    "manager-api": [_version(
        "manager-api", "REAL-ASSETS", "Real Assets", ACME, "2026.1", "2026-10-01", "2026-09-28T21:00:00+00:00",
        [_line("VNQ", "0.40", "0.03"), _line("GLD", "0.25", "0.02"), _line("TIP", "0.33", "0.03")])],
    "files": [_version(
        "files", "DIV-INC", "Dividend Income", BEACON, "2026.4", "2026-10-15", "2026-10-10T14:30:00+00:00",
        [_line("SCHD", "0.50", "0.03"), _line("LQD", "0.25", "0.02"), _line("VTEB", "0.23", "0.02")])],
}
#: Acme's revision of GRO-80-20, published on its API later in the demo: in force from 2026-11-16
GRO_REVISION = _version(
    "manager-api", "GRO-80-20", "Growth 80/20", ACME, "2026.2", "2026-11-16", "2026-11-13T22:05:00+00:00",
    [_line("ITOT", "0.46", action="UPDATE"), _line("VEA", "0.16", action="UPDATE"),
     _line("VWO", "0.06", action="UPDATE"), _line("VNQ", "0.04", "0.01", action="ADD"),
     _line("GLD", None, action="REMOVE")], previous_version="2026.1")


@contextlib.contextmanager
def manager_sandboxes(directory: Path,
                      published: Mapping[str, list[ModelDelivery]] = PUBLISHED) -> Iterator[dict[str, FeedSandboxSession]]:
    """Start a sandbox for every registered feed that offers one and has versions in ``published``;
    the sessions by feed name, with their environment set until the end."""
    directory.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        sessions = {name: stack.enter_context(feed.sandbox(published[name], directory))
                    for name, feed in model_feeds().items() if hasattr(feed, "sandbox") and name in published}
        variables = {key: value for session in sessions.values() for key, value in session.environment.items()}
        stack.enter_context(environment({**variables, "SMARTX_CONFIG": str(directory / "no-config.toml")}))
        yield sessions
