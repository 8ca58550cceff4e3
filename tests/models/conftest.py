"""The small book with CUSIPs, a store holding it, and model deliveries built tersely."""

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from smartx_engine import hookimpl
from smartx_engine.builtin.csv_book import CsvBookImporter
from smartx_engine.modelfeeds import ModelDelivery, ModelLine
from smartx_engine.plugins import get_plugin_manager
from smartx_engine.store import Store
from smartx_engine.testing import FakeModelFeed

from ..support import SMALL_BOOK

#: the small book's securities and their CUSIPs
CUSIPS = {"VTI": "922908769", "ITOT": "464287150", "BND": "921937835", "VEA": "921943858", "AAPL": "037833100"}
VEU = "922042775"  # a CUSIP the book does not know


def with_cusips(directory: Path) -> Path:
    """A copy of the small book whose securities.csv has a cusip column."""
    book = Path(shutil.copytree(SMALL_BOOK, directory))
    lines = (book / "securities.csv").read_text().splitlines()
    rows = [lines[0] + ",cusip"] + [f"{line},{CUSIPS[line.split(',')[0]]}" for line in lines[1:]]
    (book / "securities.csv").write_text("\n".join(rows) + "\n")
    return book


@pytest.fixture
def cusip_book(tmp_path: Path) -> Path:
    return with_cusips(tmp_path / "book")


@pytest.fixture
def store(tmp_path: Path, cusip_book: Path) -> Store:
    store = Store.create(tmp_path / "firm.db", actor="tester")
    store.apply_book(CsvBookImporter().read(cusip_book))
    return store


def line(identifier: str, weight: str | None, low: str | None = None, high: str | None = None, *,
         kind: str | None = None, action: str = "SET", ticker: str | None = None, at: int | None = None) -> ModelLine:
    """A model line: ``kind`` defaults to CASH for ``USD``, CUSIP for 9 characters, else TICKER."""
    kind = kind or ("CASH" if identifier == "USD" else "CUSIP" if len(identifier) == 9 else "TICKER")
    return ModelLine(kind, identifier, ticker, None if weight is None else Decimal(weight),
                     None if low is None else Decimal(low), None if high is None else Decimal(high), action, at)


def delivery(model_id: str = "ACME-GROWTH", version: str = "2026.11.1", lines=None, *, effective: str = "2026-11-23",
             published: str | None = "2026-11-20T21:00:00", change: str = "FULL", previous: str | None = None,
             cash: str | None = None, source: str = "drop/acme.csv", name: str | None = "Acme Growth",
             manager: str | None = "Acme Asset Mgmt") -> ModelDelivery:
    """A delivery of ACME-GROWTH: by default VTI 60%, BND 38%, cash 2%, lines numbered from 2."""
    lines = lines if lines is not None else [line(CUSIPS["VTI"], "0.60", "0.58", "0.62"),
                                             line(CUSIPS["BND"], "0.38"), line("USD", "0.02")]
    lines = [ln if ln.line is not None else attrs.evolve(ln, line=n) for n, ln in enumerate(lines, 2)]
    return ModelDelivery(
        feed="acme", source=source, model_id=model_id, version=version,
        effective_date=dt.date.fromisoformat(effective), change_type=change, lines=lines, model_name=name,
        manager=manager, previous_version=previous, cash_weight=None if cash is None else Decimal(cash),
        published_at=None if published is None else dt.datetime.fromisoformat(published).replace(tzinfo=dt.timezone.utc),
        line=2)


class FeedPlugin:
    """A plugin registering feeds."""

    def __init__(self, *feeds):
        self.feeds = feeds

    @hookimpl
    def register_model_feeds(self, register):
        for feed in self.feeds:
            register(feed)


@pytest.fixture
def acme():
    """A FakeModelFeed named ``acme``, registered as a plugin for the test only."""
    feed = FakeModelFeed("acme")
    pm = get_plugin_manager()
    pm.register(FeedPlugin(feed), name="test_model_feed_acme")
    yield feed
    pm.unregister(name="test_model_feed_acme")
