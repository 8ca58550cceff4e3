import datetime as dt
from pathlib import Path

import pytest

from smartx_engine.importing import read_book, store_book
from smartx_engine.store import Store
from smartx_engine.testing import FakeCustodian

from ..support import SMALL_BOOK

AS_OF = dt.date(2026, 11, 20)


def small_book_seed() -> dict:
    """What a custodian holding exactly the small book's Schwab accounts reports."""
    return {
        "accounts": {
            "SCH-1": {"cash": "1520.75", "positions": {"VTI": "125.5", "VEA": "300", "BND": "400", "AAPL": "150"}},
            "SCH-2": {"cash": "2200.10", "positions": {"VTI": "60", "BND": "100"}},
        },
        "prices": {"VTI": "312.45", "VEA": "51.62", "BND": "73.18", "AAPL": "229.87"},
    }


def small_book_lots() -> dict:
    """The small book's SCH-1 lots as a custodian that reports lots has them."""
    return {"VTI": [{"quantity": "100", "cost_basis": "21450.00", "acquired": "2023-02-14"},
                    {"quantity": "25.5", "cost_basis": "8011.33", "acquired": "2025-12-01"}],
            "VEA": [{"quantity": "300", "cost_basis": "16200.00", "acquired": "2024-06-03"}],
            "BND": [{"quantity": "400", "cost_basis": "29600.00", "acquired": "2022-03-01"}],
            "AAPL": [{"quantity": "150", "cost_basis": "18750.00", "acquired": "2019-08-20"}]}


@pytest.fixture
def store(tmp_path: Path):
    """A store holding the small book (SCH-1 and SCH-2 at schwab, FID-1 at fidelity)."""
    store = Store.create(tmp_path / "firm.db", actor="tester")
    store_book(store, read_book(SMALL_BOOK))
    yield store
    store.close()


@pytest.fixture
def schwab() -> FakeCustodian:
    """A fake Schwab that agrees with the small book."""
    return FakeCustodian(small_book_seed(), name="schwab", today=AS_OF)
