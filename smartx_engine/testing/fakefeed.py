"""An in-memory model feed for unit tests: the engine's own and plugin authors'.

:class:`FakeModelFeed` delivers what was published to it, in the order published, and records
the engine's acknowledgements::

    feed = FakeModelFeed("acme")
    feed.publish(delivery)                   # its feed becomes "acme"; lines get line numbers
    feed.fail_next_read("the SFTP server is down")
    feed.acks                                # [(model_id, version, status, message), ...]
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ..errors import DataError
from ..modelfeeds import ModelDelivery


class FakeModelFeed:
    """An in-memory model feed; see the module docstring."""

    def __init__(self, name: str = "fake", deliveries: Iterable[ModelDelivery] = ()) -> None:
        self.name = name
        self.configured = True  # set False to see `smartx models sync` skip the feed
        self.published: list[ModelDelivery] = []
        self.acks: list[tuple[str, str, str, str | None]] = []
        self._failure: Exception | None = None
        for delivery in deliveries:
            self.publish(delivery)

    def publish(self, delivery: ModelDelivery) -> ModelDelivery:
        """Offer ``delivery`` from now on, as this feed's (its ``feed`` set to this feed's name, and
        lines without a line number numbered from 2, as in a CSV file with a header)."""
        lines = [line if line.line is not None else attrs.evolve(line, line=n)
                 for n, line in enumerate(delivery.lines, start=2)]
        offered = attrs.evolve(delivery, feed=self.name, lines=lines,
                               line=delivery.line if delivery.line is not None else 2)
        self.published.append(offered)
        return offered

    def fail_next_read(self, message: str = "the feed could not be read", error: Exception | None = None) -> None:
        """Make the next :meth:`deliveries` raise ``error`` (default: a :class:`DataError` with ``message``)."""
        self._failure = error or DataError(message)

    def deliveries(self) -> list[ModelDelivery]:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        return list(self.published)

    def acknowledge(self, model_id: str, version: str, status: str, message: str | None) -> None:
        self.acks.append((model_id, version, status, message))
