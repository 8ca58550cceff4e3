"""The CSV book importer: exact results, precise errors, all or nothing, idempotent."""

import json
from pathlib import Path

import pytest

from smartx_engine.builtin.csv_book import CsvBookImporter
from smartx_engine.errors import DataError
from smartx_engine.store import Store

from .support import DATA, SMALL_BOOK

EXPECTED = DATA / "expected"


def edit(book: Path, name: str, old: str, new: str) -> None:
    path = book / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def import_error(book: Path) -> str:
    with pytest.raises(DataError) as info:
        CsvBookImporter().read(book)
    return str(info.value)


def dump(db_path: Path) -> list[str]:
    return list(Store.open(db_path).db.conn.iterdump())


def test_accounts_list_json_shows_the_book_exactly(imported, smartx):
    data = json.loads(smartx("accounts", "list", "--json").output)
    assert data == json.loads((EXPECTED / "small-accounts.json").read_text())


def test_sleeves_list_json_shows_the_book_exactly(imported, smartx):
    data = json.loads(smartx("sleeves", "list", "--json").output)
    assert data == json.loads((EXPECTED / "small-sleeves.json").read_text())


def test_reimporting_the_same_book_changes_nothing(imported, smartx):
    # (book_epoch marks that the lots were rewritten, for the book's snapshot: not data)
    before = [line for line in dump(imported) if not line.startswith(("INSERT INTO \"audit\"", "INSERT INTO \"book_epoch\""))]
    result = json.loads(smartx("import", "book", str(SMALL_BOOK), "--json").output)
    assert result["model_versions_added"] == 0 and result["model_versions_unchanged"] == 3
    after = [line for line in dump(imported) if not line.startswith(("INSERT INTO \"audit\"", "INSERT INTO \"book_epoch\""))]
    assert after == before


def test_a_book_replaces_the_holdings_of_the_accounts_it_names(imported, smartx, book):
    edit(book, "lots.csv", "L-009,FID-1,FID-1-CORE,BND,500,", "L-010,FID-1,FID-1-CORE,BND,400,")
    smartx("import", "book", str(book))
    lots = {lot.lot_id: lot.quantity for lot in Store.open(imported).lots(account_id="FID-1")}
    assert lots == {"L-008": 250, "L-010": 400}


@pytest.mark.parametrize("name, old, new, expected", [
    ("lots.csv", "L-003,SCH-1,", "L-003,SCH-9,",
     "lots.csv:4:2: error: unknown account 'SCH-9' (column account_id)"),
    ("models.csv", "GRO-80-20,2026.1,BND,0.19", "GRO-80-20,2026.1,BND,0.18",
     "models.csv:10:4: error: the weights of model GRO-80-20 version 2026.1 sum to 0.99, not 1 (column weight)"),
    ("lots.csv", "L-006,SCH-2,SCH-2-CORE,VTI,60,", "L-006,SCH-2,SCH-2-CORE,VTI,-60,",
     "lots.csv:7:5: error: -60 must be greater than 0 (column quantity)"),
    ("lots.csv", "7900.00,2021-05-10", "7900.00,2021-05-32",
     "lots.csv:8:7: error: '2021-05-32' is not a date (column acquired)\n   = help: write dates as YYYY-MM-DD"),
    ("lots.csv", "L-009,", "L-008,",
     "lots.csv:10:1: error: duplicate lot L-008 (column lot_id)\n   = help: first defined on line 9"),
    ("lots.csv", "L-006,SCH-2,SCH-2-CORE", "L-006,SCH-2,SCH-1-CORE",
     "lots.csv:7:3: error: sleeve SCH-1-CORE belongs to account SCH-1, not SCH-2 (column sleeve_id)"),
    ("accounts.csv", "Ana Rivera IRA,schwab,HH-RIVERA,ira,", "Ana Rivera IRA,schwab,HH-RIVERA,iar,",
     "accounts.csv:3:5: error: unknown registration 'iar' (column registration)\n   = help: did you mean `ira`?"),
    ("lots.csv", "SCH-1-CORE,VEA,", "SCH-1-CORE,VEAX,",
     "lots.csv:4:4: error: unknown symbol 'VEAX' (column symbol)\n   = help: did you mean `VEA`?"),
    ("lots.csv", "8011.33", "8011.333",
     "lots.csv:3:6: error: 8011.333 has more than 2 decimal places, the precision of a money amount (column cost_basis)"),
    ("cash.csv", "account_id,sleeve_id,amount", "account_id,sleeve_id,amont",
     "cash.csv:1:3: error: unknown column 'amont'\n   = help: did you mean `amount`?"),
    ("cash.csv", "account_id,sleeve_id,amount", "account_id,sleeve_id",
     "cash.csv:1: error: missing column amount"),
    ("cash.csv", "SCH-2,SCH-2-CORE,2200.10", "SCH-2,SCH-2-CORE,2200.10,extra",
     "cash.csv:4: error: expected 3 fields like the header, found 4"),
    ("cash.csv", "SCH-2,SCH-2-CORE,2200.10", "SCH-2,SCH-2-CORE,-2200.10",
     "cash.csv:4:3: error: -2200.10 must be at least 0 (column amount)"),
    ("cash.csv", "SCH-2,SCH-2-CORE,2200.10", "SCH-2,SCH-2-CORE,",
     "cash.csv:4:3: error: missing value (column amount)"),
    ("transactions.csv", "buy,BND,400,74.00,-29600.00", "buy,BND,400,74.00,29600.00",
     "transactions.csv:3: error: the amount of a buy must be negative, got 29600.00"),
    ("transactions.csv", "2023-02-14,buy,", "2023-02-14,purchase,",
     "transactions.csv:4:4: error: unknown transaction type 'purchase' (column type)\n   = help: one of: buy, sell"),
    ("models.csv", "BAL-60-40,2025.1,VEA,0.15", "BAL-60-40,2025.1,VEA,1.15",
     "models.csv:3:4: error: 1.15 must be at most 1 (column weight)"),
    ("models.csv", "GRO-80-20,2026.1,VEA,0.19", "GRO-80-20,2026.1,VTI,0.19",
     "models.csv:11:3: error: duplicate model line GRO-80-20 2026.1 VTI (column symbol)"),
    ("sleeves.csv", "SCH-2-CORE,SCH-2,GRO-80-20", "SCH-2-CORE,SCH-2,GRO-80-30",
     "sleeves.csv:4:3: error: unknown model 'GRO-80-30' (column model_id)\n   = help: did you mean `GRO-80-20`?"),
    ("prices.csv", "VTI,2026-11-20,312.45", "VTI,2026-11-19,312.45",
     "prices.csv:3:2: error: duplicate price VTI 2026-11-19 (column date)"),
    ("securities.csv", "AAPL,Apple Inc.,us_equity,229.87", "$CASH,Cash,us_equity,1",
     "securities.csv:6:1: error: $CASH is cash, not a security; cash goes in cash.csv (column symbol)"),
    ("lots.csv", "7900.00,2021-05-10", "7900.00,2021-W19-1",
     "lots.csv:8:7: error: '2021-W19-1' is not a date (column acquired)"),
    ("transactions.csv", "2022-03-01,deposit,,,,100000.00", "2022-03-01,deposit,,10,,100000.00",
     "transactions.csv:2: error: a deposit moves cash only; leave quantity and price empty"),
    ("securities.csv", "AAPL,Apple Inc.,us_equity,229.87", "AAPL,Apple Inc.,US Equity,229.87",
     "securities.csv:6:3: error: 'US Equity' must be a lower-case name like 'us_equity' (column asset_class)"),
])
def test_each_kind_of_bad_book_is_rejected_with_its_location(book, name, old, new, expected):
    edit(book, name, old, new)
    message = import_error(book)
    assert f"{book / name}:{expected.split(':', 1)[1]}" in message
    assert "nothing was imported" in message


def test_reimport_keeps_sleeves_the_book_does_not_list_and_their_zero_cash(imported, smartx):
    smartx("sleeves", "create", "SCH-1-ESG", "--account", "SCH-1")
    smartx("import", "book", str(SMALL_BOOK))
    store = Store.open(imported)
    assert [c.amount for c in store.cash(sleeve_id="SCH-1-ESG")] == [0]
    assert {s.sleeve_id for s in store.sleeves()} == {c.sleeve_id for c in store.cash()}


def test_household_names_are_kept_when_a_book_omits_them(imported, smartx, book):
    text = (book / "accounts.csv").read_text().replace(",Rivera Household", ",")
    (book / "accounts.csv").write_text(text.replace(",Okafor Family\n", ",\n"))
    smartx("import", "book", str(book))
    assert Store.open(imported).household("HH-RIVERA").name == "Rivera Household"


def test_a_household_is_named_once_and_later_rows_may_leave_it_blank(book, tmp_path):
    edit(book, "accounts.csv", "ira,0.35,0.15,Rivera Household", "ira,0.35,0.15,")
    store = Store.create(tmp_path / "x.db")
    store.apply_book(CsvBookImporter().read(book))
    assert store.household("HH-RIVERA").name == "Rivera Household"


def test_every_problem_is_reported_at_once(book):
    edit(book, "lots.csv", "L-003,SCH-1,", "L-003,SCH-9,")
    edit(book, "cash.csv", "SCH-2,SCH-2-CORE,2200.10", "SCH-2,SCH-2-CORE,-1")
    message = import_error(book)
    assert message.splitlines()[0].endswith("2 problems found, nothing was imported")


def test_a_missing_file_is_named(book):
    (book / "sleeves.csv").unlink()
    assert "missing sleeves.csv" in import_error(book)


def test_a_file_that_is_not_utf8_is_rejected(book):
    (book / "securities.csv").write_bytes("symbol,name,asset_class,price\nVTI,Caf\xe9,us_equity,1\n".encode("latin-1"))
    assert "securities.csv:1: error: the file is not UTF-8 text" in import_error(book)


def test_a_bad_book_leaves_the_database_unchanged(imported, smartx, book):
    before = dump(imported)
    edit(book, "lots.csv", "L-003,SCH-1,", "L-003,SCH-9,")
    result = smartx("import", "book", str(book), expect=1)
    assert "lots.csv:4:2: error: unknown account 'SCH-9'" in result.output
    assert dump(imported) == before


def test_a_changed_model_version_is_refused_whole_after_other_writes(imported, smartx, book):
    """Model versions are immutable; the refusal comes mid-transaction and rolls everything back."""
    before = dump(imported)
    edit(book, "securities.csv", "VTI,Vanguard Total Stock Market ETF,us_equity,312.45",
         "VTI,Vanguard Total Stock Market ETF,us_equity,399.99")
    edit(book, "models.csv", "GRO-80-20,2026.1,VTI,0.6\nGRO-80-20,2026.1,VEA,0.19",
         "GRO-80-20,2026.1,VTI,0.59\nGRO-80-20,2026.1,VEA,0.20")
    result = smartx("import", "book", str(book), expect=1)
    assert "models.csv:10: error: model GRO-80-20 version 2026.1 is already stored with other weights" in result.output
    assert "give the new weights a new version" in result.output
    assert dump(imported) == before


def test_a_conflict_with_another_account_in_the_database_is_a_data_error(imported, smartx, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for name in ("securities.csv", "models.csv"):
        (other / name).write_text((SMALL_BOOK / name).read_text())
    (other / "accounts.csv").write_text("account_id,name,custodian,household_id,registration,st_tax_rate,lt_tax_rate\n"
                                        "SCH-7,New,schwab,HH-NEW,taxable,0.3,0.15\n")
    (other / "sleeves.csv").write_text("sleeve_id,account_id,model_id,policy\nS-7,SCH-7,,\n")
    (other / "lots.csv").write_text("lot_id,account_id,sleeve_id,symbol,quantity,cost_basis,acquired\n"
                                    "L-001,SCH-7,S-7,VTI,1,100.00,2024-01-02\n")  # L-001 belongs to SCH-1
    (other / "cash.csv").write_text("account_id,sleeve_id,amount\n")
    before = dump(imported)
    result = smartx("import", "book", str(other), expect=1)
    assert f"{other / 'lots.csv'}:2:1: error: lot L-001 already belongs to account SCH-1" in result.output
    assert dump(imported) == before
    (other / "lots.csv").write_text("lot_id,account_id,sleeve_id,symbol,quantity,cost_basis,acquired\n")
    (other / "sleeves.csv").write_text("sleeve_id,account_id,model_id,policy\nSCH-2-CORE,SCH-7,,\n")
    result = smartx("import", "book", str(other), expect=1)
    assert f"{other / 'sleeves.csv'}:2:1: error: sleeve SCH-2-CORE already belongs to account SCH-2" in result.output
    assert dump(imported) == before
