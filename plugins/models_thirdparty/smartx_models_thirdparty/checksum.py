"""The weights a version makes, and the ``checksum_sum_of_weights`` a manager sends with it.

A FULL version's weights are its lines; a DELTA's are its base version's with the changes
applied. A notice's checksum is the sum of the weights of the version it makes, cash included,
written with as many decimals as the manager likes: it matches when the exact sum, rounded
(half-even) to the checksum's decimals, equals it.
"""

from __future__ import annotations

from decimal import Decimal

from smartx_engine import ChangeType, IdentifierType, LineAction, ModelDelivery, ModelLine

Weights = dict[tuple[str, str], Decimal]


def _key(line: ModelLine) -> tuple[str, str]:
    return (IdentifierType.CASH.value, "") if line.identifier_type is IdentifierType.CASH else (
        line.identifier_type.value, line.identifier)


def weights_after(base: Weights | None, delivery: ModelDelivery) -> Weights | None:
    """Every weight of the version ``delivery`` makes, cash included; None for a DELTA on an unknown base.

    A FULL version is its lines (and ``cash_weight``); a DELTA is ``base`` with its changes applied
    (and ``cash_weight`` replacing the cash weight when given).
    """
    if delivery.change_type is ChangeType.DELTA:
        if base is None:
            return None
        weights = dict(base)
    else:
        weights = {}
    for line in delivery.lines:
        if line.action is LineAction.REMOVE:
            weights.pop(_key(line), None)
        elif line.weight is not None:
            weights[_key(line)] = line.weight
    if delivery.cash_weight is not None:
        weights[(IdentifierType.CASH.value, "")] = delivery.cash_weight
    return weights


def rounded_sum(weights: Weights, checksum: Decimal) -> Decimal:
    """The sum of ``weights``, rounded half-even to as many decimals as ``checksum`` has."""
    places = max(0, -int(checksum.as_tuple().exponent))
    return sum(weights.values(), Decimal(0)).quantize(Decimal(1).scaleb(-places))
