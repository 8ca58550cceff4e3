"""A whole book read from files, validated, ready to be stored in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .domain import (
    Account, CashBalance, Household, Lot, ModelVersion, PricePoint, Security, Sleeve, Transaction,
)


@attrs.frozen
class BookData:
    """Every value of a book; ``transactions`` and ``prices`` are None when not supplied.

    ``locations`` maps ``(kind, key)`` to ``(file, line)`` so that checks made against the store
    (such as an existing model version with other weights) can still name the line at fault.
    """

    source: str
    digest: str
    households: tuple[Household, ...]
    accounts: tuple[Account, ...]
    securities: tuple[Security, ...]
    model_versions: tuple[ModelVersion, ...]
    sleeves: tuple[Sleeve, ...]
    lots: tuple[Lot, ...]
    cash: tuple[CashBalance, ...]
    transactions: tuple[Transaction, ...] | None = None
    prices: tuple[PricePoint, ...] | None = None
    locations: Mapping[tuple[str, str], tuple[str, int]] = attrs.field(factory=dict)
    #: households whose name the book does not give: an existing name is kept
    unnamed_households: frozenset[str] = frozenset()
    #: realised sales (``tax.ledger.ClosedLot``) when the lots were rebuilt from the history
    realized: tuple[Any, ...] | None = None


@attrs.frozen
class ImportSummary:
    """What a book import stored."""

    source: str
    digest: str
    households: int
    accounts: int
    securities: int
    model_versions_added: int
    model_versions_unchanged: int
    sleeves: int
    lots: int
    cash: int
    transactions: int | None
    prices: int | None
