"""Every sleeve's effective target and model changes as columns, for the Book.

:func:`target_codes` and :func:`change_columns` give, for every sleeve of the store at once, what
:func:`.effective.effective_targets` and :func:`.changes.model_changes` give sleeve by sleeve, without
a dict entry or an object per sleeve: a sleeve that follows its model, in an account without
restrictions (nearly all of them), is coded by its model with numpy, and each model's target is
computed once; only sleeves with their own target (a blend, a custom allocation) or in a
restricted account go through the per-sleeve functions. Model changes are grouped in SQL by
(model, version rebalanced to, version in force), with the sleeves of each group as one list of
rowids; blends (several changes a sleeve) are put together sleeve by sleeve.
Sleeves are named by their ``rowid``; ``tests/test_book_read.py`` checks both against the
per-sleeve functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from ..errors import TargetError
from ..store import Store, versions_query
from .changes import label_and_move
from .compute import EffectiveTarget, effective_target
from .effective import effective_targets
from .spec import TargetSpec
from .versions import versions_in_effect


class SleeveRows:
    """Where each sleeve, named by its rowid, is in a given order of the sleeves (the book's)."""

    def __init__(self, rowids: np.ndarray):
        self.rowids = np.asarray(rowids, dtype=np.int64)
        self._order = np.argsort(self.rowids, kind="stable")
        self._sorted = self.rowids[self._order]

    def __len__(self) -> int:
        return len(self.rowids)

    def positions(self, rowids: np.ndarray | Sequence[int]) -> np.ndarray:
        """The position of each of ``rowids`` (sleeves that must be among them)."""
        rowids = np.asarray(rowids, dtype=np.int64)
        at = np.searchsorted(self._sorted, rowids)
        if len(rowids) and (at.max() >= len(self._sorted) or (self._sorted[at] != rowids).any()):
            raise ValueError("a sleeve read in the same transaction is missing from the book's sleeves")
        return self._order[at]


def target_codes(store: Store, as_of: dt.date | None, sleeves: SleeveRows,
                 model_ids: Sequence[str | None]) -> tuple[list[EffectiveTarget], np.ndarray]:
    """The distinct effective targets on ``as_of`` and, per sleeve (``sleeves``, with each one's
    ``model_id`` in the same order: every sleeve of the store), the index of its own among them, -1
    without a target. Raises the :class:`TargetError` of ``effective_targets(store, as_of)`` when a
    target cannot be built."""
    q = store.db.execute
    special = q("select s.rowid, s.sleeve_id from sleeve_targets t join sleeves s on s.sleeve_id = t.sleeve_id"
                " union select s.rowid, s.sleeve_id from (select distinct account_id from account_restrictions) r"
                " join sleeves s on s.account_id = r.account_id").fetchall()
    vocabulary = sorted({m for m in set(model_ids) if m})
    index = {m: i for i, m in enumerate(vocabulary)}
    index[None] = index[""] = -1
    code = np.fromiter(map(index.__getitem__, model_ids), dtype=np.int64, count=len(model_ids))
    at = sleeves.positions([r for r, _ in special])
    code[at] = -1  # their own target, below
    used = np.unique(code[code >= 0])
    renumber = np.full(len(vocabulary) + 1, -1, dtype=np.int64)  # [-1] stays -1
    renumber[used] = np.arange(len(used))
    code = renumber[code]
    plain = [vocabulary[i] for i in used.tolist()]
    try:
        versions = versions_in_effect(store, as_of, plain)
        targets = [effective_target(TargetSpec.model(m), versions) for m in plain]
        found = effective_targets(store, as_of, [s for _, s in special]) if special else {}
    except TargetError:
        effective_targets(store, as_of)  # raises it naming the sleeve, as the per-sleeve reading would
        raise
    distinct: dict[int, int] = {}
    for i, (_, sleeve_id) in zip(at.tolist(), special):
        target = found.get(sleeve_id)
        if target is not None:
            if id(target) not in distinct:
                distinct[id(target)] = len(targets)
                targets.append(target)
            code[i] = distinct[id(target)]
    return targets, code


def change_columns(store: Store, as_of: dt.date, sleeves: SleeveRows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sleeve (in the order of ``sleeves``): whether its target's models changed since its last
    rebalance, the largest weight move, and the label (``"MODEL V1 → V2"``, else ""); what
    ``model_changes(store, as_of)`` gives sleeve by sleeve."""
    versions, params = versions_query(as_of)
    q = store.db.execute
    groups = q(f"""select s.model_id, s.rebalanced_version, l.version, group_concat(s.rowid) from sleeves s
                   join ({versions}) l on l.model_id = s.model_id where s.rebalanced_on is not null
                   and (s.rebalanced_version is null or s.rebalanced_version != l.version) group by 1, 2, 3""",
               params).fetchall()
    blended = q(f"""select s.rowid, c.model_id, c.rebalanced_version, l.version, c.weight
                    from sleeve_blend_components c join sleeves s using (sleeve_id)
                    join ({versions}) l on l.model_id = c.model_id where s.rebalanced_on is not null
                    and (c.rebalanced_version is null or c.rebalanced_version != l.version)""", params).fetchall()
    n = len(sleeves)
    changed, move, label = np.zeros(n, dtype=bool), np.zeros(n), np.full(n, "", dtype=object)
    moves: dict = {}
    members = [np.array(rowids.split(","), dtype=np.int64) for *_, rowids in groups]
    own: dict[int, list[tuple[str, str | None, str, Decimal]]] = {}  # sleeves with more than one change
    for rowid, *change in blended:
        own.setdefault(rowid, []).append((change[0], change[1], change[2], Decimal(change[3])))
    if own:
        several = np.array(sorted(own), dtype=np.int64)
        for (model_id, old, new, _), rowids in zip(groups, members):
            for rowid in rowids[np.isin(rowids, several)].tolist():
                own[rowid].append((model_id, old, new, Decimal(1)))
    for (model_id, old, new, _), rowids in zip(groups, members):
        rowids = rowids[~np.isin(rowids, list(own))] if own else rowids
        at = sleeves.positions(rowids)
        changed[at] = True
        label[at], move[at] = label_and_move(store, [(model_id, old, new, Decimal(1))], moves)
    done: dict[tuple, tuple[str, float]] = {}
    for rowid, changes in own.items():
        same = tuple(sorted(changes, key=lambda c: c[0]))
        if same not in done:
            done[same] = label_and_move(store, same, moves)
        at = sleeves.positions([rowid])[0]
        changed[at] = True
        label[at], move[at] = done[same]
    return changed, move, label
