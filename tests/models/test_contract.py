"""The model-feed contract kit: the in-memory FakeModelFeed passes it, and does what kernel tests rely on."""

import attrs
import pytest

from smartx_engine.errors import DataError
from smartx_engine.testing import FakeModelFeed, FeedWorld, ModelFeedContract, canonical, contract_versions


class TestFakeModelFeed(ModelFeedContract):
    @pytest.fixture
    def make_feed(self):
        def make(directory):
            feed = FakeModelFeed("fake")
            return FeedWorld(feed, publish=feed.publish)
        return make


def test_a_failed_read_fails_once():
    feed = FakeModelFeed("fake", [contract_versions()["growth-1"]])
    feed.fail_next_read("the drop directory is gone")
    with pytest.raises(DataError, match="drop directory"):
        feed.deliveries()
    assert [d.version for d in feed.deliveries()] == ["2024.01.15-1"]


def test_published_versions_carry_the_feeds_name_and_line_numbers():
    (delivery,) = FakeModelFeed("acme", [contract_versions()["growth-1"]]).deliveries()
    assert delivery.feed == "acme" and delivery.line == 2
    assert [line.line for line in delivery.lines] == [2, 3, 4, 5, 6]


def test_a_contract_that_compares_too_little_would_be_caught():
    """A feed that drops a band or changes a weight does not pass ``canonical``."""
    full = contract_versions()["growth-1"]
    banded = attrs.evolve(full, lines=[attrs.evolve(full.lines[0], max_weight=None), *full.lines[1:]])
    assert canonical(banded) != canonical(full)
    assert canonical(attrs.evolve(full, lines=full.lines[:-1], cash_weight="0.02")) == canonical(full)
