"""The model-feed contract suite: what every ``register_model_feeds`` feed must do.

Subclass :class:`ModelFeedContract` and provide the fixture ``make_feed``: a callable that takes
an empty directory (a fresh one for each test) and gives a :class:`FeedWorld`, the feed and
``publish(delivery)``, which makes the feed offer that version in its own format (a file dropped
where the feed reads, a notice posted to the sandbox manager it polls)::

    class TestAcmeFileFeed(ModelFeedContract):
        @pytest.fixture
        def make_feed(self):
            def make(directory):
                return FeedWorld(AcmeFileFeed(directory), publish=lambda d: write_acme_file(directory, d))
            return make

A fixture that starts a server yields ``make`` and stops what it started afterwards. ``publish``
is only given well-formed versions: the contract checks that a feed reads back what was
published, not how versions are judged (the engine does that, see docs/models.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from ..modelfeeds import (
    ChangeType, FeedSandboxSession, IdentifierType, LineAction, ModelDelivery, ModelFeed, ModelLine,
)


@attrs.frozen
class FeedWorld:
    """A feed, and how to make it offer a version (``publish(delivery)``)."""

    feed: ModelFeed
    publish: Callable[[ModelDelivery], None]


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)


def _line(kind: str, identifier: str, ticker: str | None, weight: str | None, low: str | None = None,
          high: str | None = None, action: LineAction = LineAction.SET) -> ModelLine:
    return ModelLine(IdentifierType(kind), identifier, ticker, None if weight is None else Decimal(weight),
                     None if low is None else Decimal(low), None if high is None else Decimal(high), action)


def contract_versions() -> dict[str, ModelDelivery]:
    """The versions the contract publishes, by name: ``growth-1`` (FULL: CUSIP, TICKER and CASH
    lines, bands), ``growth-2`` (a DELTA on it: UPDATE, ADD, REMOVE and a new ``cash_weight``),
    ``income-1`` and ``income-2`` (FULL versions of a second model)."""
    growth = dict(feed="contract", source="contract", model_id="CT-GROWTH", model_name="Contract Growth",
                  manager="Contract Asset Mgmt")
    income = dict(feed="contract", source="contract", model_id="CT-INCOME", model_name="Contract Income",
                  manager="Contract Asset Mgmt")
    return {
        "growth-1": ModelDelivery(
            **growth, version="2024.01.15-1", effective_date=dt.date(2024, 1, 16), change_type=ChangeType.FULL,
            published_at=_utc("2024-01-15T22:05:00"),
            lines=[_line("CUSIP", "922908769", "VTI", "0.4000", "0.3800", "0.4200"),
                   _line("CUSIP", "921937835", "BND", "0.3800", "0.3600", "0.4000"),
                   _line("CUSIP", "464287200", "IVV", "0.1600", "0.1500", "0.1700"),
                   _line("TICKER", "VXUS", "VXUS", "0.0400"),
                   _line("CASH", "USD", "$CASH", "0.0200")]),
        "growth-2": ModelDelivery(
            **growth, version="2024.04.01-1", effective_date=dt.date(2024, 4, 2), change_type=ChangeType.DELTA,
            published_at=_utc("2024-04-01T21:30:00"), previous_version="2024.01.15-1", cash_weight=Decimal("0.03"),
            lines=[_line("CUSIP", "922908769", "VTI", "0.4100", "0.3900", "0.4300", action=LineAction.UPDATE),
                   _line("CUSIP", "922042775", "VEU", "0.1800", "0.1700", "0.1900", action=LineAction.ADD),
                   _line("CUSIP", "464287200", "IVV", None, action=LineAction.REMOVE),
                   _line("TICKER", "VXUS", "VXUS", None, action=LineAction.REMOVE)]),
        "income-1": ModelDelivery(
            **income, version="2024.1", effective_date=dt.date(2024, 1, 16), change_type=ChangeType.FULL,
            published_at=_utc("2024-01-15T23:00:00"),
            lines=[_line("CUSIP", "921937835", "BND", "0.7000", "0.6500", "0.7500"),
                   _line("CUSIP", "922908769", "VTI", "0.2500"),
                   _line("CASH", "USD", "$CASH", "0.0500")]),
        "income-2": ModelDelivery(
            **income, version="2024.2", effective_date=dt.date(2024, 7, 1), change_type=ChangeType.FULL,
            published_at=_utc("2024-06-28T16:00:00"),
            lines=[_line("CUSIP", "921937835", "BND", "0.6500", "0.6000", "0.7000"),
                   _line("CUSIP", "922908769", "VTI", "0.3000"),
                   _line("CASH", "USD", "$CASH", "0.0500")]),
    }


def canonical(delivery: ModelDelivery) -> dict[str, Any]:
    """What a round trip through a feed must keep: the model and version, the dates, the change,
    every security line (identifier, action, weight, bands) and the cash weight, whether a CASH
    line or ``cash_weight`` carries it. Lines are compared as a set; weights as numbers."""
    cash = [line.weight for line in delivery.lines if line.identifier_type == IdentifierType.CASH]
    return {
        "model_id": delivery.model_id, "version": delivery.version, "effective_date": delivery.effective_date,
        "change_type": ChangeType(delivery.change_type),
        "previous_version": delivery.previous_version if delivery.change_type == ChangeType.DELTA else None,
        "lines": sorted((str(line.identifier_type), line.identifier, str(line.action), line.weight, line.min_weight,
                         line.max_weight) for line in delivery.lines if line.identifier_type != IdentifierType.CASH),
        "cash": delivery.cash_weight if delivery.cash_weight is not None else (cash[0] if cash else None),
    }


def _same_or_absent(delivered: Any, published: Any) -> bool:
    return delivered is None or delivered == published


class ModelFeedContract:
    """The contract every model feed passes; subclass it with a ``make_feed`` fixture."""

    @pytest.fixture
    def make_feed(self) -> Callable[[Path], FeedWorld]:
        raise NotImplementedError("a ModelFeedContract subclass provides the make_feed fixture")

    @pytest.fixture
    def world(self, make_feed: Callable[[Path], FeedWorld], tmp_path: Path) -> FeedWorld:
        directory = tmp_path / "model-feed"
        directory.mkdir()
        return make_feed(directory)

    @staticmethod
    def _publish(world: FeedWorld, *names: str) -> list[ModelDelivery]:
        versions = contract_versions()
        for name in names:
            world.publish(versions[name])
        return [versions[name] for name in names]

    @staticmethod
    def _of(deliveries: Sequence[ModelDelivery], model_id: str) -> list[ModelDelivery]:
        return [d for d in deliveries if d.model_id == model_id]

    # ---------------------------------------------------------------- the feed

    def test_it_is_a_model_feed_with_a_name(self, world: FeedWorld) -> None:
        assert isinstance(world.feed, ModelFeed)
        assert isinstance(world.feed.name, str) and world.feed.name

    def test_a_fresh_feed_delivers_nothing(self, world: FeedWorld) -> None:
        assert list(world.feed.deliveries()) == []

    # ---------------------------------------------------------------- what comes back

    def test_a_full_version_is_delivered_back_as_published(self, world: FeedWorld) -> None:
        (published,) = self._publish(world, "growth-1")
        (delivered,) = world.feed.deliveries()
        assert isinstance(delivered, ModelDelivery)
        assert canonical(delivered) == canonical(published)
        assert all(line.action == LineAction.SET for line in delivered.lines)
        assert delivered.feed == world.feed.name
        assert isinstance(delivered.source, str) and delivered.source
        assert all(isinstance(line.line, int) and line.line >= 1 for line in delivered.lines)
        tickers = {line.identifier: line.ticker for line in published.lines}
        assert all(_same_or_absent(line.ticker, tickers[line.identifier]) for line in delivered.lines
                   if line.identifier_type != IdentifierType.CASH)
        assert _same_or_absent(delivered.model_name, published.model_name)
        assert _same_or_absent(delivered.manager, published.manager)
        assert _same_or_absent(delivered.published_at, published.published_at)

    def test_a_delta_is_delivered_with_its_previous_version_and_actions(self, world: FeedWorld) -> None:
        full, delta = self._publish(world, "growth-1", "growth-2")
        delivered = world.feed.deliveries()
        assert [canonical(d) for d in delivered] == [canonical(full), canonical(delta)]
        assert delivered[1].previous_version == full.version
        removed = [line for line in delivered[1].lines if line.action == LineAction.REMOVE]
        assert {line.identifier for line in removed} == {"464287200", "VXUS"}
        assert all(line.weight is None for line in removed)

    def test_deliveries_are_oldest_first_per_model(self, world: FeedWorld) -> None:
        self._publish(world, "growth-1", "income-1", "growth-2", "income-2")
        delivered = world.feed.deliveries()
        assert [d.version for d in self._of(delivered, "CT-GROWTH")] == ["2024.01.15-1", "2024.04.01-1"]
        assert [d.version for d in self._of(delivered, "CT-INCOME")] == ["2024.1", "2024.2"]

    def test_deliveries_are_repeatable(self, world: FeedWorld) -> None:
        self._publish(world, "growth-1", "income-1", "growth-2")
        first = list(world.feed.deliveries())
        assert list(world.feed.deliveries()) == first
        assert len(first) == 3

    def test_weights_are_decimals_and_dates_are_dates(self, world: FeedWorld) -> None:
        self._publish(world, "growth-1", "growth-2")
        for delivery in world.feed.deliveries():
            assert type(delivery.effective_date) is dt.date
            if delivery.published_at is not None:
                assert isinstance(delivery.published_at, dt.datetime) and delivery.published_at.utcoffset() is not None
            assert delivery.cash_weight is None or isinstance(delivery.cash_weight, Decimal)
            for line in delivery.lines:
                for value in (line.weight, line.min_weight, line.max_weight):
                    assert value is None or isinstance(value, Decimal)

    def test_a_feed_set_up_for_the_contract_is_configured(self, world: FeedWorld) -> None:
        """``configured`` is optional; when offered, it is a bool, and true for a feed the world set up."""
        if not hasattr(world.feed, "configured"):
            pytest.skip("this feed does not say whether it is configured")
        assert world.feed.configured is True

    def test_acknowledge_takes_the_engines_judgement(self, world: FeedWorld) -> None:
        """``acknowledge(model_id, version, status, message)`` is optional; when offered, it takes
        both judgements of a delivered version without raising."""
        if not hasattr(world.feed, "acknowledge"):
            pytest.skip("this feed takes no acknowledgements")
        self._publish(world, "growth-1", "income-1")
        world.feed.acknowledge("CT-GROWTH", "2024.01.15-1", "accepted", None)
        world.feed.acknowledge("CT-INCOME", "2024.1", "rejected",
                               "contract:3: error: unknown CUSIP '921937835' (column identifier)")

    # ---------------------------------------------------------------- the sandbox

    def test_its_sandbox_publishes_its_seed_then_revisions(self, world: FeedWorld, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
        """``sandbox(deliveries, directory)`` is optional; when offered, a new instance of the feed,
        with the session's environment set, delivers the seed and then what the session publishes."""
        if not hasattr(world.feed, "sandbox"):
            pytest.skip("this feed offers no sandbox")
        versions = contract_versions()
        directory = tmp_path / "sandbox"
        directory.mkdir()
        monkeypatch.setenv("SMARTX_CONFIG", str(directory / "no-config.toml"))  # no operator's settings
        with world.feed.sandbox([versions["growth-1"], versions["income-1"]], directory) as session:
            assert isinstance(session, FeedSandboxSession)
            for key, value in session.environment.items():
                assert key.startswith("SMARTX_") and isinstance(value, str)
                monkeypatch.setenv(key, value)
            feed = type(world.feed)()
            assert [canonical(d) for d in feed.deliveries()] == [canonical(versions["growth-1"]),
                                                                  canonical(versions["income-1"])]
            session.publish(versions["growth-2"])
            assert [canonical(d) for d in self._of(type(world.feed)().deliveries(), "CT-GROWTH")] == [
                canonical(versions["growth-1"]), canonical(versions["growth-2"])]
