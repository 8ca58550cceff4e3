"""Sync: read each feed's deliveries, judge each against the store, keep the accepted versions.

Feeds sync one after another, by name. A feed's ``deliveries()`` is read once; a feed that raises,
or delivers something that is not a :class:`~smartx_engine.ModelDelivery`, is reported with its
error and stores nothing, and the other feeds go on. Each delivery, in the feed's order, is judged
(:mod:`.validate`) against the store as it is then (so a DELTA may build on a version accepted
earlier in the same sync) and, when accepted, stored in one transaction with its ``models.version``
audit record. A rejected version stores nothing. The feed's optional ``acknowledge(model_id,
version, status, message)`` hears each accepted and rejected version (skipped ones were heard when
they were accepted); an acknowledgement that fails is reported and undoes nothing.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Mapping

import attrs

from ..errors import Diagnostic, SmartxError
from ..modelfeeds import ModelDelivery, ModelFeed
from ..store import Store
from .resolve import Catalog
from .validate import Judgement, Verdict, judge
from .versions import add_version, history

#: (what is being done, steps done, steps in all)
Progress = Callable[[str, int, int], None]


@attrs.frozen
class Outcome:
    """What became of one delivered version."""

    model_id: str
    version: str
    verdict: Verdict
    effective_date: dt.date
    source: str
    line: int | None = None
    problems: tuple[Diagnostic, ...] = ()
    acknowledge_error: str | None = None

    @property
    def message(self) -> str | None:
        return "\n".join(p.render() for p in self.problems) or None


@attrs.frozen
class FeedSync:
    """What the sync of one feed did (``error`` set: its deliveries could not be read)."""

    feed: str
    outcomes: tuple[Outcome, ...] = ()
    error: str | None = None

    def having(self, verdict: Verdict) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.verdict == verdict)

    @property
    def accepted(self) -> tuple[Outcome, ...]:
        return self.having(Verdict.ACCEPTED)

    @property
    def skipped(self) -> tuple[Outcome, ...]:
        return self.having(Verdict.SKIPPED)

    @property
    def rejected(self) -> tuple[Outcome, ...]:
        return self.having(Verdict.REJECTED)


@attrs.frozen
class ModelSyncResult:
    feeds: tuple[FeedSync, ...]

    @property
    def failed(self) -> tuple[FeedSync, ...]:
        return tuple(f for f in self.feeds if f.error)

    @property
    def rejected(self) -> tuple[Outcome, ...]:
        return tuple(o for f in self.feeds for o in f.rejected)

    @property
    def ok(self) -> bool:
        """Every feed read and every version accepted or skipped."""
        return not (self.failed or self.rejected)


def sync_models(store: Store, feeds: Mapping[str, ModelFeed], *, progress: Progress | None = None) -> ModelSyncResult:
    """Sync every feed of ``feeds`` (by name); ``progress(what, done, total)`` hears each version."""
    catalog = Catalog.from_store(store)
    return ModelSyncResult(tuple(_sync_feed(store, name, feeds[name], catalog, progress) for name in sorted(feeds)))


def _sync_feed(store: Store, name: str, feed: ModelFeed, catalog: Catalog, progress: Progress | None) -> FeedSync:
    report = progress or (lambda what, done, total: None)
    report(f"{name}: reading", 0, 1)
    try:
        deliveries = list(feed.deliveries())
    except Exception as exc:  # a plugin's failure, whatever it is, is its feed's and no other's
        return FeedSync(name, error=f"{name}: {_describe(exc)}; nothing was stored from this feed")
    if strays := [d for d in deliveries if not isinstance(d, ModelDelivery)]:
        return FeedSync(name, error=f"{name}: the feed delivered {type(strays[0]).__name__} values, not ModelDelivery"
                                    " (a bug in its plugin); nothing was stored from this feed")
    outcomes = []
    for done, delivery in enumerate(deliveries):
        report(f"{name}: {delivery.model_id} {delivery.version}", done, len(deliveries))
        judgement = _keep(store, delivery, catalog)
        outcomes.append(_acknowledged(feed, judgement))
    report(f"{name}: done", len(deliveries), len(deliveries))
    return FeedSync(name, tuple(outcomes))


def _keep(store: Store, delivery: ModelDelivery, catalog: Catalog) -> Judgement:
    """Judge ``delivery`` and store it when accepted, in one transaction."""
    try:
        with store.transaction():
            judgement = judge(delivery, catalog, history(store, delivery.model_id))
            if judgement.verdict == Verdict.ACCEPTED:
                add_version(store, judgement.record, source=delivery.source, model_name=delivery.model_name,
                            manager=delivery.manager)
    except sqlite3.IntegrityError as exc:
        return _refused(delivery, f"the database refused the version ({exc})")
    except (TypeError, ValueError, AttributeError) as exc:  # a delivery of the wrong shape: the plugin's bug
        return _refused(delivery, f"the delivery is malformed ({type(exc).__name__}: {exc}); a bug in the feed plugin")
    return judgement


def _refused(delivery: ModelDelivery, message: str) -> Judgement:
    problem = Diagnostic(delivery.source, delivery.line or 1, None, message)
    return Judgement(delivery, Verdict.REJECTED, problems=(problem,))


def _acknowledged(feed: ModelFeed, judgement: Judgement) -> Outcome:
    d = judgement.delivery
    error = None
    acknowledge = getattr(feed, "acknowledge", None)
    if acknowledge is not None and judgement.verdict != Verdict.SKIPPED:
        try:
            acknowledge(d.model_id, d.version, str(judgement.verdict), judgement.message)
        except Exception as exc:  # the version is stored (or not) whatever the manager hears
            error = _describe(exc)
    return Outcome(d.model_id, d.version, judgement.verdict, d.effective_date, d.source, d.line,
                   judgement.problems, error)


def _describe(exc: Exception) -> str:
    if isinstance(exc, SmartxError):
        return str(exc)
    return f"the feed failed unexpectedly ({type(exc).__name__}: {exc})"
