import pytest

from smartx_engine.builtin.csv_book import CsvBookImporter
from smartx_engine.store import Store
from tests.support import DATA

HISTORY_BOOK = DATA / "books" / "history"


@pytest.fixture
def history_store(tmp_path):
    """Abel's household: a taxable account traded through January and February 2026 (deposits, buys, a
    dividend, a fee, a sell, a withdrawal) and an IRA; prices on a few days only."""
    store = Store.create(tmp_path / "firm.db", actor="tester")
    store.apply_book(CsvBookImporter().read(HISTORY_BOOK))
    return store
