"""Judging a model delivery against what the engine holds: accepted whole, skipped, or rejected whole.

Every problem names the delivery's source (file or URL), line and field. The rules (docs/models.md):

- each line's action fits the change type (FULL: ``SET``; DELTA: ``ADD``, ``UPDATE``, ``REMOVE``);
- identifiers resolve to the engine's securities (:mod:`.resolve`), each identifier and each
  security once per version;
- weights and bands are fractions from 0 to 1 with at most 10 decimals, ``min <= weight <= max``;
  a REMOVE has none;
- cash is explicit (a CASH line or ``cash_weight``; both given must agree), never implied: the
  whole version, cash included, sums to 1 within :data:`~smartx_engine.domain.FEED_WEIGHT_TOLERANCE`
  and is stored exactly as delivered;
- the effective date is not before the day the version was published (UTC);
- a DELTA applies only on top of the latest version the engine holds (:mod:`.delta`);
- a new version is newer than the latest held (effective date, then publication time); a version
  already held is skipped when its contents are the same, and rejected when they differ.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from decimal import Decimal

import attrs

from ..csvfiles import ParseError
from ..domain import CASH_SYMBOL, FEED_WEIGHT_TOLERANCE, identifier
from ..errors import Diagnostic
from ..fixedpoint import WEIGHT
from ..modelfeeds import ChangeType, IdentifierType, LineAction, ModelDelivery, ModelLine
from .delta import apply_delta
from .resolve import CASH_IDENTIFIER, Catalog
from .versions import VersionLine, VersionRecord

FULL_ACTIONS = {LineAction.SET}
DELTA_ACTIONS = {LineAction.ADD, LineAction.UPDATE, LineAction.REMOVE}
ASK_FOR_A_FULL = "the engine cannot rebuild the version from this DELTA; ask the manager to send it as a FULL version"


class Verdict(enum.StrEnum):
    ACCEPTED = "accepted"  # a new version, to be stored
    SKIPPED = "skipped"  # held already, with the same contents
    REJECTED = "rejected"  # nothing of it may be stored


@attrs.frozen
class Judgement:
    """What the engine makes of one delivery; ``record`` is the whole version (None when rejected)."""

    delivery: ModelDelivery
    verdict: Verdict
    record: VersionRecord | None = None
    problems: tuple[Diagnostic, ...] = ()

    @property
    def message(self) -> str | None:
        """Every problem, rendered one per line (None when there is none)."""
        return "\n".join(p.render() for p in self.problems) or None


def judge(delivery: ModelDelivery, catalog: Catalog, held: Sequence[VersionRecord]) -> Judgement:
    """Judge ``delivery`` given the securities (``catalog``) and the versions held of its model
    (``held``, oldest first)."""
    return _Judge(delivery, catalog, held).run()


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A timestamp in UTC (a naive one is taken to be UTC already)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


class _Judge:
    def __init__(self, delivery: ModelDelivery, catalog: Catalog, held: Sequence[VersionRecord]):
        self.d = delivery
        self.catalog = catalog
        self.held = {r.version: r for r in held}
        self.latest = held[-1] if held else None
        self.problems: list[Diagnostic] = []

    def fault(self, line: ModelLine | None, message: str, field: str, hint: str | None = None) -> None:
        where = (line.line if line is not None else None) or self.d.line or 1
        self.problems.append(Diagnostic(self.d.source, where, None, message, field=field, hint=hint))

    def rejected(self) -> Judgement:
        return Judgement(self.d, Verdict.REJECTED, problems=tuple(self.problems))

    def run(self) -> Judgement:
        d = self.d
        self._names()
        full = ChangeType(d.change_type) == ChangeType.FULL
        resolved = self._lines(FULL_ACTIONS if full else DELTA_ACTIONS)
        self._cash(resolved)
        self._dates()
        if self.problems:
            return self.rejected()
        record = self._whole(resolved) if full else self._delta(resolved)
        if record is None or self.problems:
            return self.rejected()
        if (held := self.held.get(d.version)) is not None:
            if held.content == record.content:
                return Judgement(d, Verdict.SKIPPED, held)
            self.fault(None, f"model {d.model_id} version {d.version} is already held with other contents",
                       "version", "a version never changes; publish the change as a new version")
            return self.rejected()
        self._newer(record)
        self._sums_to_one(record)
        return self.rejected() if self.problems else Judgement(d, Verdict.ACCEPTED, record)

    # ---------------------------------------------------------------- the delivery itself

    def _names(self) -> None:
        for field in ("model_id", "version"):
            try:
                identifier(getattr(self.d, field))
            except ValueError as exc:
                self.fault(None, str(exc), field)

    def _lines(self, actions: set[LineAction]) -> list[tuple[ModelLine, VersionLine]]:
        """Each line checked and resolved to a symbol."""
        resolved = []
        identifiers: dict[tuple[str, str], int | None] = {}
        symbols: dict[str, ModelLine] = {}
        for line in self.d.lines:
            action = LineAction(line.action)
            if action not in actions:
                kind, allowed = ("FULL", "SET") if actions == FULL_ACTIONS else ("DELTA", "ADD, UPDATE or REMOVE")
                self.fault(line, f"a {kind} version's lines are {allowed}, not {action}", "action",
                           "send ADD, UPDATE and REMOVE lines in a DELTA" if kind == "FULL" else None)
            key = (str(line.identifier_type), line.identifier)
            if key in identifiers:
                self.fault(line, f"{key[0]} {key[1]} appears twice in this version", "identifier",
                           f"first on line {identifiers[key]}" if identifiers[key] else None)
                continue
            identifiers[key] = line.line
            try:
                symbol = self.catalog.resolve(line)
            except ParseError as exc:
                self.fault(line, str(exc), "identifier", exc.hint)
                continue
            if symbol in symbols:
                first = symbols[symbol]
                where = f" (line {first.line})" if first.line else ""
                self.fault(line, f"{symbol} is in this version twice: as {line.identifier_type} {line.identifier}"
                           f" and as {first.identifier_type} {first.identifier}{where}", "identifier",
                           "each security appears once in a version")
                continue
            symbols[symbol] = line
            if self._weights_fit(line, action):
                resolved.append((line, VersionLine(symbol, line.weight if line.weight is not None else 0,
                                                   line.min_weight, line.max_weight, line.identifier_type,
                                                   line.identifier)))
        return resolved

    def _weights_fit(self, line: ModelLine, action: LineAction) -> bool:
        before = len(self.problems)
        if action == LineAction.REMOVE:
            for field in ("weight", "min_weight", "max_weight"):
                if getattr(line, field) is not None:
                    self.fault(line, f"a REMOVE has no {field}", field, "leave it empty")
            return len(self.problems) == before
        if line.weight is None:
            self.fault(line, "missing weight", "weight")
            return False
        for field in ("weight", "min_weight", "max_weight"):
            self._fraction(line, field, getattr(line, field))
        if len(self.problems) == before:
            if line.min_weight is not None and line.weight < line.min_weight:
                self.fault(line, f"the weight {line.weight} is below its min_weight {line.min_weight}", "min_weight")
            if line.max_weight is not None and line.weight > line.max_weight:
                self.fault(line, f"the weight {line.weight} is above its max_weight {line.max_weight}", "max_weight")
        return len(self.problems) == before

    def _fraction(self, line: ModelLine | None, field: str, value: Decimal | None) -> None:
        if value is None:
            return
        if not value.is_finite() or not 0 <= value <= 1:
            self.fault(line, f"{field} {value} must be between 0 and 1", field,
                       "weights are fractions: 0.25 for 25%")
            return
        try:
            WEIGHT.check(value)
        except ValueError as exc:
            self.fault(line, str(exc), field)

    def _cash(self, resolved: list[tuple[ModelLine, VersionLine]]) -> None:
        """``cash_weight`` is a fraction and agrees with the CASH line, when both are given."""
        given = self.d.cash_weight
        self._fraction(None, "cash_weight", given)
        for line, result in resolved:
            if result.symbol == CASH_SYMBOL and given is not None:
                weight = None if line.action == LineAction.REMOVE else line.weight
                if weight != given:
                    self.fault(line, f"cash_weight {given} disagrees with the CASH line's weight {weight}",
                               "cash_weight", "give the cash weight once, or the same in both places")

    def _dates(self) -> None:
        effective, published = self.d.effective_date, self.d.published_at
        if not isinstance(effective, dt.date) or isinstance(effective, dt.datetime):
            self.fault(None, f"the effective date {effective!r} is not a date", "effective_date")
            return
        if published is not None and not isinstance(published, dt.datetime):
            self.fault(None, f"published_at {published!r} is not a timestamp", "published_at")
            return
        published = utc(published)
        if published is not None and effective < published.date():
            self.fault(None, f"the effective date {self.d.effective_date} is before the version was published"
                       f" ({published.date()} UTC)", "effective_date",
                       "a version takes effect on or after the day it is published")

    # ---------------------------------------------------------------- the whole version

    def _record(self, lines: dict[str, VersionLine], resolved: list[tuple[ModelLine, VersionLine]]) -> VersionRecord:
        """The version from its lines; ``cash_weight`` sets the cash when no CASH line came with it."""
        d = self.d
        if d.cash_weight is not None and not any(result.symbol == CASH_SYMBOL for _, result in resolved):
            lines[CASH_SYMBOL] = VersionLine(CASH_SYMBOL, d.cash_weight, identifier_type=IdentifierType.CASH,
                                             identifier=CASH_IDENTIFIER)
        return VersionRecord(d.model_id, d.version, d.effective_date, lines.values(), published_at=utc(d.published_at),
                             feed=d.feed, change_type=d.change_type, previous_version=d.previous_version)

    def _whole(self, resolved: list[tuple[ModelLine, VersionLine]]) -> VersionRecord:
        return self._record({result.symbol: result for _, result in resolved}, resolved)

    def _delta(self, resolved: list[tuple[ModelLine, VersionLine]]) -> VersionRecord | None:
        d = self.d
        previous = d.previous_version
        if not previous:
            self.fault(None, "a DELTA names the version it changes (previous_version)", "previous_version",
                       ASK_FOR_A_FULL)
            return None
        if d.version in self.held:  # delivered again: rebuilt on the base it was accepted on
            base = self.held.get(previous)
        elif self.latest is None:
            self.fault(None, f"a DELTA on version {previous}, but the engine holds no version of model {d.model_id}",
                       "previous_version", ASK_FOR_A_FULL)
            return None
        elif previous != self.latest.version:
            self.fault(None, f"a DELTA on version {previous}, but the engine's latest version of model {d.model_id}"
                       f" is {self.latest.version}", "previous_version", ASK_FOR_A_FULL)
            return None
        else:
            base = self.latest
        if base is None:
            self.fault(None, f"model {d.model_id} version {d.version} is already held, and its base {previous} is not",
                       "previous_version")
            return None
        lines = apply_delta({line.symbol: line for line in base.lines}, base.version, resolved,
                            lambda line, message, field, hint: self.fault(line, message, field, hint))
        return self._record(lines, resolved)

    def _newer(self, record: VersionRecord) -> None:
        latest = self.latest
        if latest is not None and record.newness <= latest.newness:
            when = f"effective {latest.effective_date}" + (f", published {latest.published_at:%Y-%m-%d %H:%M} UTC"
                                                           if latest.published_at else "")
            self.fault(None, f"version {record.version} (effective {record.effective_date}) is not newer than"
                       f" {latest.version} ({when}), the latest version the engine holds of model {record.model_id}",
                       "effective_date", "versions of a model move forward: a later effective date, or the same"
                       " date published later")

    def _sums_to_one(self, record: VersionRecord) -> None:
        total = sum((line.weight for line in record.lines), Decimal(0))
        if abs(total - 1) > FEED_WEIGHT_TOLERANCE:
            self.fault(None, f"the weights of model {record.model_id} version {record.version} sum to {total},"
                       " not 1 (cash included)", "weight",
                       f"weights are fractions (0.25 for 25%) and include cash, a CASH line or cash_weight: cash is"
                       f" never implied; they must sum to 1 within {FEED_WEIGHT_TOLERANCE}")
