"""CUSIPs: checked by their check digit, given in securities.csv, unique, and moved by a ticker change."""

import pytest

from smartx_engine.builtin.csv_book import CsvBookImporter
from smartx_engine.domain import Security, cusip
from smartx_engine.errors import DataError

from .conftest import CUSIPS


@pytest.mark.parametrize("value", [*CUSIPS.values(), "922042775", "38259P508", "G0176J109"])
def test_real_cusips_pass(value):
    assert cusip(value) == value


@pytest.mark.parametrize("value, message", [
    ("922908768", "its check digit should be 9, not 8"),
    ("92290876", "is not a CUSIP"),
    ("922908769X", "is not a CUSIP"),
    ("vti000000", "is not a CUSIP"),
])
def test_a_bad_cusip_is_refused(value, message):
    with pytest.raises(ValueError, match=message):
        cusip(value)


def test_the_book_stores_cusips_and_securities_read_them_back(store):
    assert {s.symbol: s.cusip for s in store.securities()} == CUSIPS


def test_a_bad_or_duplicate_cusip_names_its_line_and_column(cusip_book):
    path = cusip_book / "securities.csv"
    path.write_text(path.read_text().replace("922908769", "922908768").replace("037833100", "921937835"))
    with pytest.raises(DataError) as caught:
        CsvBookImporter().read(cusip_book)
    message = str(caught.value)
    assert "securities.csv:2:5: error: '922908768' is not a valid CUSIP: its check digit should be 9" in message
    assert "securities.csv:6:5: error: duplicate cusip 921937835 (column cusip)" in message
    assert "first defined on line 4" in message


def test_a_ticker_change_moves_the_cusip_and_an_empty_cusip_keeps_the_stored_one(store, cusip_book):
    path = cusip_book / "securities.csv"
    text = path.read_text().replace(",037833100", ",").replace(",922908769", ",")  # VTI now trades as VTI2
    path.write_text(text + "VTI2,Vanguard Total Stock Market ETF,us_equity,312.45,922908769\n")
    store.apply_book(CsvBookImporter().read(cusip_book))
    held = {s.symbol: s.cusip for s in store.securities()}
    assert held["VTI2"] == "922908769" and held["VTI"] is None
    assert held["AAPL"] == "037833100"


def test_a_security_is_built_with_or_without_a_cusip():
    assert Security("VTI", "Vanguard", "us_equity", "1").cusip is None
    with pytest.raises(ValueError, match="check digit"):
        Security("VTI", "Vanguard", "us_equity", "1", cusip="922908760")
