"""A DELTA applied on top of its base version, giving the whole new version.

``ADD`` brings in a security the base does not hold, ``UPDATE`` replaces a held line whole
(weight and bands: bands it does not give are dropped), ``REMOVE`` drops a held line. Cash is
set, not added: an ``ADD`` or ``UPDATE`` of the CASH line, or the delivery's ``cash_weight``,
gives the new cash weight whether the base held cash or not; a ``REMOVE`` of it leaves no cash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..domain import CASH_SYMBOL
from ..modelfeeds import LineAction, ModelLine
from .versions import VersionLine

#: report(line, message, field, hint): a change that cannot apply
Fault = Callable[[ModelLine, str, str, str], None]


def apply_delta(base: Mapping[str, VersionLine], base_version: str,
                changes: Sequence[tuple[ModelLine, VersionLine]], fault: Fault) -> dict[str, VersionLine]:
    """``base`` (symbol -> line) with ``changes`` (each delivered line and what it resolves to) applied."""
    lines = dict(base)
    for change, resolved in changes:
        symbol, action = resolved.symbol, LineAction(change.action)
        held = symbol in lines
        if symbol == CASH_SYMBOL:
            if action == LineAction.REMOVE:
                lines.pop(symbol, None)
            else:
                lines[symbol] = resolved
        elif action == LineAction.ADD and held:
            fault(change, f"ADD {symbol}, but version {base_version} already holds it", "action",
                  "change the weight of a security the model holds with UPDATE")
        elif action in (LineAction.UPDATE, LineAction.REMOVE) and not held:
            fault(change, f"{action} {symbol}, but version {base_version} does not hold it", "action",
                  "bring a new security into the model with ADD")
        elif action == LineAction.REMOVE:
            del lines[symbol]
        else:
            lines[symbol] = resolved
    return lines
