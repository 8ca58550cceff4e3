"""Fixtures of the executor tests: the demo firm in a store, its inputs, and one Dask cluster per module."""

import datetime as dt
import shutil
from pathlib import Path

import pytest

from smartx_engine.demo.firm import write_demo_book
from smartx_engine.demo.tax_household import write_tax_book
from smartx_engine.dsl.policyset import load_rules
from smartx_engine.importing import read_book, store_book
from smartx_engine.store import Store

RULES = Path(__file__).parents[2] / "rules"
AS_OF = dt.date(2026, 11, 20)


@pytest.fixture(scope="session")
def firm_db(tmp_path_factory) -> Path:
    """The demo firm (five households) and the tax household (harvests, wash sales, a gain budget), imported."""
    directory = tmp_path_factory.mktemp("firm")
    book = write_demo_book(directory / "book", as_of=AS_OF)
    tax = write_tax_book(directory / "tax-book", book.directory, AS_OF)
    store = Store.create(directory / "firm.db")
    store_book(store, read_book(book.directory))
    store_book(store, read_book(tax.directory))
    store.close()
    return directory / "firm.db"


@pytest.fixture
def firm(firm_db: Path, tmp_path: Path):
    """A private copy of the firm's store, free to write."""
    store = Store.open(shutil.copy(firm_db, tmp_path / "firm.db"))
    yield store
    store.close()


@pytest.fixture(scope="session")
def policies():
    return load_rules(RULES)


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes on the loopback, shared by a module's tests."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster:
        yield cluster
