"""The version history of models: every version kept, with its effective date, feed and bands.

A model's versions are ordered by ``seq`` (the order the engine stored them). The version **in
force** on a day is the one with the highest ``seq`` whose effective date is on or before that
day; versions effective later are **pending**. Versions from the CSV book are effective from
:data:`~smartx_engine.migrations.BOOK_EFFECTIVE_DATE` (0001-01-01), so they are in force at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs

from ..domain import CASH_SYMBOL, ModelVersion, ModelWeight
from ..errors import NotFoundError
from ..modelfeeds import ChangeType, IdentifierType
from ..store import EFFECTIVE_MODEL_VERSIONS, Store

#: every model's version in force on ``:as_of`` (ISO date): a query of ``model_id, version``


def _optional_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


@attrs.frozen
class VersionLine:
    """One security (``$CASH`` for cash) of a stored version: its weight, optional bands, and the
    identifier the manager gave it (None for versions from the CSV book)."""

    symbol: str
    weight: Decimal = attrs.field(converter=Decimal)
    min_weight: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    max_weight: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    identifier_type: IdentifierType | None = attrs.field(
        default=None, converter=attrs.converters.optional(IdentifierType))
    identifier: str | None = None

    @property
    def target(self) -> tuple[Decimal, Decimal | None, Decimal | None]:
        """What a version asks of this line: weight and bands (compared as numbers)."""
        return self.weight, self.min_weight, self.max_weight


@attrs.frozen
class VersionRecord:
    """One stored (or about to be stored) version of a model, whole: every line, cash included."""

    model_id: str
    version: str
    effective_date: dt.date
    lines: tuple[VersionLine, ...] = attrs.field(converter=lambda lines: tuple(sorted(lines, key=lambda x: x.symbol)))
    seq: int | None = None
    published_at: dt.datetime | None = None
    feed: str | None = None  # None: the CSV book
    change_type: ChangeType = attrs.field(default=ChangeType.FULL, converter=ChangeType)
    previous_version: str | None = None
    received_at: str | None = None

    @property
    def weights(self) -> dict[str, Decimal]:
        return {line.symbol: line.weight for line in self.lines}

    @property
    def cash_weight(self) -> Decimal:
        return sum((line.weight for line in self.lines if line.symbol == CASH_SYMBOL), Decimal(0))

    @property
    def content(self) -> tuple[dt.date, dict[str, tuple]]:
        """What makes two deliveries of a version the same: the effective date and every line's targets."""
        return self.effective_date, {line.symbol: line.target for line in self.lines}

    @property
    def newness(self) -> tuple[dt.date, dt.datetime]:
        """How versions of a model order in time: effective date, then publication (unknown: oldest)."""
        return self.effective_date, self.published_at or dt.datetime.min.replace(tzinfo=dt.timezone.utc)

    def model_version(self) -> ModelVersion:
        return ModelVersion(self.model_id, self.version, [ModelWeight(x.symbol, x.weight) for x in self.lines])


# ---------------------------------------------------------------- reads


def history(store: Store, model_id: str) -> list[VersionRecord]:
    """Every version of a model, oldest first (by ``seq``); empty for a model the store does not hold."""
    return _records(store, "where v.model_id = ?", [model_id])


def version_record(store: Store, model_id: str, version: str | None = None) -> VersionRecord:
    """One version of a model (the latest stored when ``version`` is None); NotFoundError if absent."""
    versions = store.model_versions(model_id)  # NotFoundError (with a did-you-mean) for an unknown model
    if not versions:
        raise NotFoundError(f"model {model_id} has no versions")
    if version is not None and version not in versions:
        raise NotFoundError(f"model {model_id} has no version {version!r} (it has {', '.join(versions)})")
    (record,) = _records(store, "where v.model_id = ? and v.version = ?", [model_id, version or versions[-1]])
    return record


def effective_version(store: Store, model_id: str, as_of: dt.date) -> VersionRecord | None:
    """The version of a model in force on ``as_of`` (None: no version is effective yet)."""
    effective = [r for r in history(store, model_id) if r.effective_date <= _day(as_of)]
    return effective[-1] if effective else None


def effective_versions(store: Store, as_of: dt.date) -> dict[str, str]:
    """Every model's version in force on ``as_of``; models with none effective yet are absent."""
    rows = store.db.query(EFFECTIVE_MODEL_VERSIONS + " order by model_id", {"as_of": _day(as_of).isoformat()})
    return {row["model_id"]: row["version"] for row in rows}


def pending_versions(store: Store, as_of: dt.date, model_id: str | None = None) -> list[VersionRecord]:
    """Versions that will come into force after ``as_of`` (of one model, or of all), oldest first:
    effective later than ``as_of`` and stored after the version in force."""
    day = _day(as_of)
    pending = []
    for model in [model_id] if model_id else store.model_ids():
        records = history(store, model)
        current = max((r.seq for r in records if r.effective_date <= day), default=0)
        pending += [r for r in records if r.effective_date > day and r.seq > current]
    return pending


def version_status(store: Store, record: VersionRecord, as_of: dt.date) -> str:
    """``in_force`` on ``as_of``, ``pending`` (in force later) or ``superseded``."""
    current = effective_version(store, record.model_id, as_of)
    if current is not None and current.version == record.version:
        return "in_force"
    if record.effective_date > as_of and (current is None or record.seq > current.seq):
        return "pending"
    return "superseded"


def _day(as_of: dt.date) -> dt.date:
    if not isinstance(as_of, dt.date) or isinstance(as_of, dt.datetime):
        raise TypeError(f"as_of must be a date, not {as_of!r}")
    return as_of


def _records(store: Store, where: str, params: list[Any]) -> list[VersionRecord]:
    versions = list(store.db.query(f"select * from model_versions v {where} order by v.model_id, v.seq", params))
    lines: dict[tuple[str, str], list[VersionLine]] = {}
    for row in store.db.query(
            f"select w.* from model_weights w join model_versions v using (model_id, version) {where}", params):
        lines.setdefault((row["model_id"], row["version"]), []).append(VersionLine(
            row["symbol"], row["weight"], row["min_weight"], row["max_weight"], row["identifier_type"],
            row["identifier"]))
    return [VersionRecord(
        model_id=v["model_id"], version=v["version"], effective_date=dt.date.fromisoformat(v["effective_date"]),
        lines=lines.get((v["model_id"], v["version"]), ()), seq=v["seq"],
        published_at=v["published_at"] and dt.datetime.fromisoformat(v["published_at"]), feed=v["feed"],
        change_type=v["change_type"], previous_version=v["previous_version"], received_at=v["received_at"],
    ) for v in versions]


# ---------------------------------------------------------------- writes


def add_version(store: Store, record: VersionRecord, *, source: str, model_name: str | None = None,
                manager: str | None = None) -> VersionRecord:
    """Store a new version (its model added, or renamed when ``model_name``/``manager`` are given)
    with the next ``seq``, in one transaction with its ``models.version`` audit record."""
    received = store.clock().isoformat(timespec="seconds")
    with store.transaction():
        store.db.execute("insert into models (model_id, name, manager) values (?, ?, ?) on conflict (model_id)"
                         " do update set name = coalesce(excluded.name, name), manager = coalesce(excluded.manager,"
                         " manager)", [record.model_id, model_name, manager])
        seq = store.db.execute("select coalesce(max(seq), 0) + 1 from model_versions where model_id = ?",
                               [record.model_id]).fetchone()[0]
        stored = attrs.evolve(record, seq=seq, received_at=received)
        store.db.table("model_versions").insert({
            "model_id": stored.model_id, "version": stored.version, "seq": seq,
            "effective_date": stored.effective_date.isoformat(),
            "published_at": stored.published_at and stored.published_at.isoformat(), "feed": stored.feed,
            "change_type": str(stored.change_type), "previous_version": stored.previous_version,
            "received_at": received})
        store.db.table("model_weights").insert_all(_weight_rows(stored))
        store.audit("models.version", f"{stored.model_id}@{stored.version}", feed=stored.feed, source=source,
                    seq=seq, effective_date=stored.effective_date, published_at=stored.published_at,
                    change_type=str(stored.change_type), previous_version=stored.previous_version,
                    weights={line.symbol: str(line.weight) for line in stored.lines})
    return stored


def _weight_rows(record: VersionRecord) -> Iterable[dict[str, Any]]:
    for line in record.lines:
        yield {"model_id": record.model_id, "version": record.version, "symbol": line.symbol,
               "weight": str(line.weight), "min_weight": _text(line.min_weight), "max_weight": _text(line.max_weight),
               "identifier_type": line.identifier_type and str(line.identifier_type), "identifier": line.identifier}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
