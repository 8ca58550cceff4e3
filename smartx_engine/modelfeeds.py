"""The model feed contract: what ``register_model_feeds`` plugins deliver, and how the engine reads it.

A model manager publishes versions of its models. A **feed** (a plugin's adapter) reads them from
wherever the manager puts them (a directory of CSV files, an HTTP endpoint of JSON change notices)
and hands the engine :class:`ModelDelivery` values, one per model version, parsed but not judged:
the engine validates each against the store (weights, unique and known identifiers, versions
monotonic per model, a DELTA's base version, dates) and keeps or rejects it whole.

A delivery is either

* ``FULL``: every line of the version (``action`` ``SET``), cash included as a line whose
  ``identifier_type`` is ``CASH`` (or left to ``cash_weight``); or
* ``DELTA``: changes on top of ``previous_version``: lines with ``action`` ``ADD``, ``UPDATE`` or
  ``REMOVE`` (a REMOVE has no weight), and ``cash_weight`` the new cash weight.

Every delivery and line says where it came from (``source``, ``line``), so that an error names the
file (or URL), the line and the field. Feeds parse strictly: a file or notice that cannot be read
raises :class:`smartx_engine.DataError` naming each problem, and nothing of it is delivered.
Weights are fractions (``0.42`` is 42%) as ``Decimal``; dates are dates.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

import attrs

from .fixedpoint import to_decimal


class ChangeType(enum.StrEnum):
    FULL = "FULL"
    DELTA = "DELTA"


class LineAction(enum.StrEnum):
    SET = "SET"  # a line of a FULL version
    ADD = "ADD"
    UPDATE = "UPDATE"
    REMOVE = "REMOVE"


class IdentifierType(enum.StrEnum):
    CUSIP = "CUSIP"
    TICKER = "TICKER"
    CASH = "CASH"  # the cash line (identifier ``USD``)


def _optional_decimal(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else to_decimal(value)


@attrs.frozen
class ModelLine:
    """One security (or cash) of a model version, or one change of a DELTA."""

    identifier_type: IdentifierType = attrs.field(converter=IdentifierType)
    identifier: str
    ticker: str | None = None  # as the manager gives it; CUSIP is preferred because tickers change
    weight: Decimal | None = attrs.field(default=None, converter=_optional_decimal)  # None only for REMOVE
    min_weight: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    max_weight: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    action: LineAction = attrs.field(default=LineAction.SET, converter=LineAction)
    line: int | None = None  # where in ``ModelDelivery.source`` (a CSV line, a JSON change's position)


@attrs.frozen
class ModelDelivery:
    """One version of one model, as a manager delivered it."""

    feed: str  # the feed's name
    source: str  # the file path or URL it was read from
    model_id: str
    version: str
    effective_date: dt.date
    change_type: ChangeType = attrs.field(converter=ChangeType)
    lines: tuple[ModelLine, ...] = attrs.field(converter=tuple)
    model_name: str | None = None
    manager: str | None = None
    published_at: dt.datetime | None = None  # UTC
    previous_version: str | None = None  # a DELTA's base
    cash_weight: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    line: int | None = None  # the first line of the version in ``source``


@attrs.frozen
class FeedSandboxSession:
    """A running loopback model manager (see ``ModelFeed.sandbox``)."""

    environment: Mapping[str, str]  # SMARTX_<PLUGIN>_* variables that point the feed at it
    publish: Callable[[ModelDelivery], None]  # the manager publishes one more version


@runtime_checkable
class ModelFeed(Protocol):
    """What ``register_model_feeds`` registers: ``name`` and ``deliveries()``.

    ``deliveries()`` returns every version the feed offers now, oldest first per model (the
    engine skips those it holds already). It may also offer ``acknowledge(model_id, version,
    status, message)``: the engine calls it after judging a delivery (``status`` ``accepted`` or
    ``rejected``), so that the manager knows its version was received and validated. And it may
    offer ``configured`` (a bool, read without touching the network): False when the operator has
    not set the feed up, so that ``smartx models sync`` without ``--feed`` skips it, saying so,
    instead of failing on it.

    For the demo and for tests it may offer ``sandbox(deliveries, directory)``: a context manager
    that starts a loopback manager publishing ``deliveries`` (oldest first per model), keeping any
    files it needs under ``directory``, and yields a :class:`FeedSandboxSession`. With the
    session's ``environment`` set, a new instance of the feed (built without arguments, as the
    plugin registers it) reads from that manager.
    """

    name: str

    def deliveries(self) -> Sequence[ModelDelivery]: ...
