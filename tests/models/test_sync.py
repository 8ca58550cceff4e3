"""sync_models: accepted versions stored whole with their history and audit, re-syncs idempotent,
rejections and failing feeds reported without stopping the others, managers acknowledged."""

import datetime as dt
from decimal import Decimal

import attrs
import pytest

from smartx_engine.errors import NotFoundError, PluginError
from smartx_engine.models import Verdict, history, model_feeds, sync_models
from smartx_engine.plugins import get_plugin_manager
from smartx_engine.testing import FakeModelFeed

from .conftest import CUSIPS, VEU, FeedPlugin, delivery, line

VTI, BND, VEA = CUSIPS["VTI"], CUSIPS["BND"], CUSIPS["VEA"]


def change(version="2026.12.1", previous="2026.11.1", effective="2026-12-01", *lines, **kwargs):
    return delivery(version=version, change="DELTA", previous=previous, effective=effective,
                    published="2026-11-30T10:00:00", lines=list(lines or [line(VTI, "0.59", action="UPDATE")]),
                    cash=kwargs.pop("cash", "0.03"), **kwargs)


def counts(store):
    return store.count("model_versions"), store.count("model_weights"), store.count("audit")


def test_accepted_versions_are_stored_whole_audited_and_acknowledged(store):
    feed = FakeModelFeed("acme", [delivery(), change()])
    result = sync_models(store, {"acme": feed})
    (synced,) = result.feeds
    assert result.ok and [o.version for o in synced.accepted] == ["2026.11.1", "2026.12.1"]
    assert store.model_versions("ACME-GROWTH") == ["2026.11.1", "2026.12.1"]
    assert store.model_version("ACME-GROWTH").as_dict() == {
        "VTI": Decimal("0.59"), "BND": Decimal("0.38"), "$CASH": Decimal("0.03")}
    row = next(store.db.query("select * from models where model_id = 'ACME-GROWTH'"))
    assert (row["name"], row["manager"]) == ("Acme Growth", "Acme Asset Mgmt")
    version = next(store.db.query("select * from model_versions where version = '2026.12.1'"))
    assert {k: version[k] for k in ("seq", "effective_date", "published_at", "feed", "change_type",
                                    "previous_version")} == {
        "seq": 2, "effective_date": "2026-12-01", "published_at": "2026-11-30T10:00:00+00:00", "feed": "acme",
        "change_type": "DELTA", "previous_version": "2026.11.1"}
    weights = {r["symbol"]: r for r in store.db.query("select * from model_weights where version = '2026.11.1'")}
    assert (weights["VTI"]["weight"], weights["VTI"]["min_weight"], weights["VTI"]["max_weight"]) == (
        "0.60", "0.58", "0.62")
    (audit,) = [a for a in store.audit_log() if a.action == "models.version" and a.subject == "ACME-GROWTH@2026.12.1"]
    assert audit.details["feed"] == "acme" and audit.details["source"] == "drop/acme.csv"
    assert audit.details["weights"] == {"$CASH": "0.03", "BND": "0.38", "VTI": "0.59"}
    assert feed.acks == [("ACME-GROWTH", "2026.11.1", "accepted", None),
                         ("ACME-GROWTH", "2026.12.1", "accepted", None)]


def test_syncing_again_stores_nothing_and_acknowledges_nothing(store):
    feed = FakeModelFeed("acme", [delivery(), change()])
    sync_models(store, {"acme": feed})
    before, acks = counts(store), len(feed.acks)
    (synced,) = sync_models(store, {"acme": feed}).feeds
    assert [o.verdict for o in synced.outcomes] == [Verdict.SKIPPED, Verdict.SKIPPED]
    assert counts(store) == before and len(feed.acks) == acks


def test_every_version_is_kept_and_each_reads_back(store):
    feed = FakeModelFeed("acme", [delivery(), change(),
                                  delivery(version="2027.1", effective="2027-01-04", published="2027-01-02T08:00:00",
                                           lines=[line(VTI, "0.5"), line(VEA, "0.5")])])
    sync_models(store, {"acme": feed})
    assert [(r.version, r.seq, r.change_type) for r in history(store, "ACME-GROWTH")] == [
        ("2026.11.1", 1, "FULL"), ("2026.12.1", 2, "DELTA"), ("2027.1", 3, "FULL")]
    assert store.model_version("ACME-GROWTH", "2026.11.1").as_dict()["VTI"] == Decimal("0.60")
    assert store.model_version("ACME-GROWTH").as_dict() == {"VTI": Decimal("0.5"), "VEA": Decimal("0.5")}


def test_a_rejected_version_stores_nothing_and_a_delta_on_it_is_rejected_too(store):
    bad = delivery(lines=[line(VTI, "0.60"), line(VEU, "0.38", ticker="VEU"), line("USD", "0.02")])
    other = delivery(model_id="ACME-INCOME", lines=[line(BND, "0.9"), line("USD", "0.1")])
    feed = FakeModelFeed("acme", [bad, change(), other])
    before = counts(store)
    result = sync_models(store, {"acme": feed})
    (synced,) = result.feeds
    assert not result.ok and [o.version for o in result.rejected] == ["2026.11.1", "2026.12.1"]
    assert [o.model_id for o in synced.accepted] == ["ACME-INCOME"]
    assert counts(store)[0] == before[0] + 1
    with pytest.raises(NotFoundError):
        store.model_versions("ACME-GROWTH")
    first, second = synced.rejected
    assert "drop/acme.csv:3: error: unknown CUSIP '922042775' (VEU) (column identifier)" in first.message
    assert "the engine holds no version of model ACME-GROWTH" in second.message
    assert feed.acks[0] == ("ACME-GROWTH", "2026.11.1", "rejected", first.message)


def test_a_feed_that_fails_is_reported_and_the_others_sync(store):
    broken, fine = FakeModelFeed("broken", [delivery()]), FakeModelFeed("fine", [delivery(model_id="FINE")])
    broken.fail_next_read("the SFTP server refused the login")
    result = sync_models(store, {"fine": fine, "broken": broken})
    assert [f.feed for f in result.failed] == ["broken"]
    assert result.failed[0].error == "broken: the SFTP server refused the login; nothing was stored from this feed"
    assert store.model_versions("FINE") == ["2026.11.1"]


def test_a_feed_that_breaks_unexpectedly_or_delivers_junk_is_reported(store):
    crashing = FakeModelFeed("crashing")
    crashing.fail_next_read(error=KeyError("model_id"))
    junk = FakeModelFeed("junk")
    junk.published.append({"model_id": "X"})
    result = sync_models(store, {"crashing": crashing, "junk": junk})
    assert [f.error for f in result.failed] == [
        "crashing: the feed failed unexpectedly (KeyError: 'model_id'); nothing was stored from this feed",
        "junk: the feed delivered dict values, not ModelDelivery (a bug in its plugin); nothing was stored from this feed"]


def test_an_acknowledgement_that_fails_is_reported_and_the_version_kept(store):
    class Deaf(FakeModelFeed):
        def acknowledge(self, model_id, version, status, message):
            raise ConnectionError("the manager's ack endpoint is down")

    (synced,) = sync_models(store, {"deaf": Deaf("deaf", [delivery()])}).feeds
    (outcome,) = synced.accepted
    assert outcome.acknowledge_error == ("the feed failed unexpectedly (ConnectionError: the manager's ack endpoint"
                                         " is down)")
    assert store.model_versions("ACME-GROWTH") == ["2026.11.1"]


def test_progress_hears_each_version(store):
    heard = []
    sync_models(store, {"acme": FakeModelFeed("acme", [delivery(), change()])},
                progress=lambda what, done, total: heard.append((what, done, total)))
    assert ("acme: ACME-GROWTH 2026.12.1", 1, 2) in heard and heard[-1] == ("acme: done", 2, 2)


def test_a_version_summing_within_the_feed_tolerance_is_stored_and_read_exactly(store):
    sync_models(store, {"acme": FakeModelFeed("acme", [delivery(lines=[line(VTI, "0.60005"), line(BND, "0.38"),
                                                                      line("USD", "0.02")])])})
    assert store.model_version("ACME-GROWTH").as_dict()["VTI"] == Decimal("0.60005")


# ---------------------------------------------------------------- the registry


def test_model_feeds_finds_registered_feeds_by_name(acme):
    assert model_feeds()["acme"] is acme
    assert model_feeds("acme") == {"acme": acme}
    with pytest.raises(NotFoundError, match=r"no model feed named 'acm'; did you mean `acme`\?"):
        model_feeds("acm")


def test_a_registered_feed_without_deliveries_is_a_plugin_error():
    class NotAFeed:
        name = "nope"

    pm = get_plugin_manager()
    pm.register(FeedPlugin(NotAFeed()), name="test_not_a_feed")
    try:
        with pytest.raises(PluginError, match="'nope' has no deliveries"):
            model_feeds()
    finally:
        pm.unregister(name="test_not_a_feed")


def test_effective_dates_are_dates_in_the_outcomes(store):
    (synced,) = sync_models(store, {"acme": FakeModelFeed("acme", [delivery()])}).feeds
    assert synced.outcomes[0].effective_date == dt.date(2026, 11, 23)


def test_a_delivery_of_the_wrong_shape_is_rejected_not_a_crash(store):
    odd = attrs.evolve(delivery(), effective_date=dt.datetime(2026, 11, 23, 9, 0))
    broken = attrs.evolve(delivery(model_id="BROKEN"), lines=[object()])
    (synced,) = sync_models(store, {"acme": FakeModelFeed("acme", [odd])}).feeds
    assert "the effective date datetime.datetime(2026, 11, 23, 9, 0) is not a date (column effective_date)" in (
        synced.rejected[0].message)
    feed = FakeModelFeed("acme")
    feed.published.append(broken)
    (synced,) = sync_models(store, {"acme": feed}).feeds
    assert "the delivery is malformed (AttributeError" in synced.rejected[0].message
