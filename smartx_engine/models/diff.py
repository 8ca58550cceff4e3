"""What moved between two versions of a model: per security (cash included) the old and new weight."""

from __future__ import annotations

import enum
from decimal import Decimal

import attrs

from .versions import VersionRecord


class Movement(enum.StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


@attrs.frozen
class WeightChange:
    symbol: str
    old: Decimal | None  # None: not in the old version
    new: Decimal | None  # None: not in the new version

    @property
    def change(self) -> Decimal:
        """The new weight less the old (a missing weight counts as 0)."""
        return (self.new or Decimal(0)) - (self.old or Decimal(0))

    @property
    def movement(self) -> Movement:
        if self.old is None:
            return Movement.ADDED
        if self.new is None:
            return Movement.REMOVED
        return Movement.CHANGED if self.change else Movement.UNCHANGED


@attrs.frozen
class VersionDiff:
    model_id: str
    old_version: str
    new_version: str
    changes: tuple[WeightChange, ...]  # largest move first, then by symbol

    @property
    def largest(self) -> WeightChange | None:
        """The largest absolute move (None when no weight moved)."""
        return self.changes[0] if self.changes and self.changes[0].change else None


def diff_versions(old: VersionRecord, new: VersionRecord) -> VersionDiff:
    """Every symbol of either version, with its old and new weight."""
    before, after = old.weights, new.weights
    changes = [WeightChange(s, before.get(s), after.get(s)) for s in before.keys() | after.keys()]
    changes.sort(key=lambda c: (-abs(c.change), c.symbol))
    return VersionDiff(old.model_id, old.version, new.version, tuple(changes))
