"""The generic CSV book (``smartx import book DIR``): how firms onboard from spreadsheets.

The files and their columns are documented in docs/book-format.md. A book is self-contained:
every account, sleeve, model and symbol a file refers to is defined in the book itself. Reading
is all-or-nothing: every problem in every file is reported, each with its file, line and column.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from ..bookdata import BookData
from ..csvfiles import CsvFile, CsvRow, Diagnostics, ParseError, choice, decimal, iso_date
from ..domain import (
    ACCOUNT_LOT_METHODS, CASH_SYMBOL, WEIGHT_TOLERANCE, Account, CashBalance, Household, Lot, ModelVersion, ModelWeight,
    PricePoint, Registration, Security, Sleeve, Transaction, TransactionType, cusip, identifier, lower_name,
    security_symbol, symbol,
)
from ..errors import DataError, did_you_mean
from ..fixedpoint import MONEY, PRICE, QUANTITY, WEIGHT
from ..hookspecs import hookimpl
from ..tax.ledger import HistoryError, Ledger, rebuild

RATE = decimal(WEIGHT, minimum=Decimal(0), maximum=Decimal(1))

#: file name -> (required columns, optional columns); files without a default are required.
COLUMNS: dict[str, tuple[list[str], list[str]]] = {
    "accounts.csv": (["account_id", "name", "custodian", "household_id", "registration",
                      "st_tax_rate", "lt_tax_rate"], ["household_name", "lot_method", "custodian_account"]),
    "securities.csv": (["symbol", "name", "asset_class", "price"], ["cusip"]),
    "models.csv": (["model_id", "version", "symbol", "weight"], []),
    "sleeves.csv": (["sleeve_id", "account_id", "model_id", "policy"], []),
    "lots.csv": (["lot_id", "account_id", "sleeve_id", "symbol", "quantity", "cost_basis", "acquired"], []),
    "cash.csv": (["account_id", "sleeve_id", "amount"], []),
    "transactions.csv": (["account_id", "sleeve_id", "date", "type", "symbol", "quantity", "price",
                          "amount"], ["lot_id"]),
    "prices.csv": (["symbol", "date", "close"], []),
}
OPTIONAL_FILES = {"transactions.csv", "prices.csv"}
#: lots.csv may be left out when transactions.csv is given: the lots are rebuilt from the history
LOTS_FROM_HISTORY = "lots.csv"
DEFINED_IN = {"account": "accounts.csv", "sleeve": "sleeves.csv", "model": "models.csv",
              "symbol": "securities.csv"}


@attrs.frozen
class CsvBookImporter:
    name: str = "csv"
    description: str = "a directory of CSV files: accounts, securities, models, sleeves, lots, cash ..."

    def read(self, path: Path) -> BookData:
        return BookReader(Path(path)).read()


@hookimpl
def register_book_importers(register):
    register(CsvBookImporter())


class BookReader:
    """Reads one book directory, file by file, checking references between files."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.diagnostics = Diagnostics()
        self.locations: dict[tuple[str, str], tuple[str, int]] = {}
        self.seen: dict[tuple[str, Any], int] = {}
        self.defined: set[tuple[str, str | None]] = set()  # ids defined on any row, valid or not

    def read(self) -> BookData:
        if not self.directory.is_dir():
            raise DataError(f"{self.directory}: not a directory of CSV files")
        history = (self.directory / "transactions.csv").exists()
        if missing := [f for f in COLUMNS if f not in OPTIONAL_FILES and not (self.directory / f).exists()
                       and not (f == LOTS_FROM_HISTORY and history)]:
            raise DataError(f"{self.directory}: missing {', '.join(missing)} (see docs/book-format.md)")
        households, accounts, unnamed = self._accounts()
        securities = self._securities()
        symbols = {s.symbol for s in securities}
        models = self._models(symbols)
        sleeves = self._sleeves(accounts, {m.model_id for m in models})
        rebuilt = not (self.directory / LOTS_FROM_HISTORY).exists()
        lots = () if rebuilt else self._lots(accounts, sleeves, symbols)
        cash = self._cash(accounts, sleeves)
        transactions = self._transactions(accounts, sleeves, symbols)
        prices = self._prices(symbols)
        self.diagnostics.raise_if_any(str(self.directory))
        realized = None
        if rebuilt:
            ledger = self._rebuild(transactions, accounts)
            lots, realized = ledger.lots, ledger.closed
        return BookData(
            source=str(self.directory), digest=self._digest(), households=households,
            accounts=tuple(accounts.values()), securities=securities, model_versions=models,
            sleeves=tuple(sleeves.values()), lots=lots, cash=cash, transactions=transactions,
            prices=prices, locations=self.locations, unnamed_households=unnamed, realized=realized,
        )

    def _rebuild(self, transactions: tuple[Transaction, ...], accounts: dict[str, Account]) -> Ledger:
        """The lots and realised sales of the history; an impossible sell names its line."""
        try:
            return rebuild(transactions, accounts)
        except HistoryError as exc:
            file, line = self.locations[("transaction", exc.transaction_id)]
            raise DataError(f"{file}:{line}: {exc} (the lots are rebuilt from the history because there is "
                            "no lots.csv; nothing was imported)") from None

    # ------------------------------------------------------------------ helpers

    def _file(self, name: str) -> CsvFile | None:
        path = self.directory / name
        if name in OPTIONAL_FILES and not path.exists():
            return None
        required, optional = COLUMNS[name]
        return CsvFile(path, str(self.directory / name), required, optional, self.diagnostics)

    def _unique(self, row: CsvRow, kind: str, key: Any, field: str) -> bool:
        """Record ``key`` as defined on this row; False (and an error) if defined before."""
        first = self.seen.setdefault((kind, key), row.line)
        if first != row.line:
            row.error(f"duplicate {kind} {key if isinstance(key, str) else ' '.join(key)}",
                      field=field, hint=f"first defined on line {first}")
            return False
        return True

    def _known(self, row: CsvRow, field: str, value: str | None, known: Any, kind: str) -> bool:
        """Whether ``value`` is defined in the book; an error naming where to define it if not."""
        if value is None:
            return False
        if value not in known:
            if (kind, value) in self.defined:  # defined on a bad row, already reported there
                return False
            row.error(f"unknown {kind} {value!r}", field=field,
                      hint=did_you_mean(value, known) or f"define it in {DEFINED_IN[kind]}")
            return False
        return True

    def _sleeve_of(self, row: CsvRow, accounts: dict, sleeves: dict) -> tuple[str, str] | None:
        """The row's account and sleeve, checked to exist and to belong together."""
        account_id = row.get("account_id", identifier)
        sleeve_id = row.get("sleeve_id", identifier)
        ok = self._known(row, "account_id", account_id, accounts, "account")
        ok = self._known(row, "sleeve_id", sleeve_id, sleeves, "sleeve") and ok
        if ok and sleeves[sleeve_id].account_id != account_id:
            row.error(f"sleeve {sleeve_id} belongs to account {sleeves[sleeve_id].account_id}, not {account_id}",
                      field="sleeve_id", hint="each lot and cash amount belongs to a sleeve of its own account")
            return None
        return (account_id, sleeve_id) if ok else None

    def _digest(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(COLUMNS):
            path = self.directory / name
            if path.exists():
                digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    # ------------------------------------------------------------------ files

    def _accounts(self) -> tuple[tuple[Household, ...], dict[str, Account], frozenset[str]]:
        """The accounts, their households, and the households the book gives no name."""
        accounts: dict[str, Account] = {}
        households: dict[str, str | None] = {}
        for row in self._file("accounts.csv").rows():
            account_id = row.get("account_id", identifier)
            self.defined.add(("account", account_id))
            household_id = row.get("household_id", identifier)
            household_name = row.get("household_name", required=False)
            account = _build(row, Account, account_id=account_id, name=row.get("name"),
                             custodian=row.get("custodian", lower_name), household_id=household_id,
                             registration=row.get("registration", choice(Registration, "registration")),
                             st_tax_rate=row.get("st_tax_rate", RATE), lt_tax_rate=row.get("lt_tax_rate", RATE),
                             lot_method=row.get("lot_method", _lot_method, required=False) or "FIFO",
                             custodian_account=row.get("custodian_account", identifier, required=False) or None,
                             optional=("custodian_account",))
            if account and self._unique(row, "account", account_id, "account_id"):
                accounts[account_id] = account
                known = households.setdefault(household_id, household_name)
                if household_name and known and known != household_name:
                    row.error(f"household {household_id} is named {known!r} on an earlier line",
                              field="household_name")
                households[household_id] = known or household_name
        return tuple(Household(h, name or h) for h, name in households.items()), accounts, \
            frozenset(h for h, name in households.items() if not name)

    def _securities(self) -> tuple[Security, ...]:
        securities = []
        for row in self._file("securities.csv").rows():
            self.defined.add(("symbol", row.values.get("symbol")))
            security = _build(row, Security, symbol=row.get("symbol", security_symbol), name=row.get("name"),
                              asset_class=row.get("asset_class", lower_name),
                              price=row.get("price", decimal(PRICE, minimum=Decimal(0), strict_minimum=True)),
                              cusip=row.get("cusip", cusip, required=False), optional=("cusip",))
            if (security and self._unique(row, "security", security.symbol, "symbol")
                    and (security.cusip is None or self._unique(row, "cusip", security.cusip, "cusip"))):
                securities.append(security)
        return tuple(securities)

    def _models(self, symbols: set[str]) -> tuple[ModelVersion, ...]:
        groups: dict[tuple[str, str], list[tuple[CsvRow, ModelWeight]]] = defaultdict(list)
        file = self._file("models.csv")
        for row in file.rows():
            key = (row.get("model_id", identifier), row.get("version", identifier))
            self.defined.add(("model", key[0]))
            sym = row.get("symbol", symbol)
            weight = row.get("weight", decimal(WEIGHT, minimum=Decimal(0), maximum=Decimal(1)))
            if sym and sym != CASH_SYMBOL:
                self._known(row, "symbol", sym, symbols, "symbol")
            if None in key or sym is None or weight is None:
                continue
            if self._unique(row, "model line", (*key, sym), "symbol"):
                groups[key].append((row, ModelWeight(sym, weight)))
        versions = []
        for (model_id, version), lines in groups.items():
            first = lines[0][0]
            total = sum((w.weight for _, w in lines), Decimal(0))
            if abs(total - 1) > WEIGHT_TOLERANCE:
                first.error(f"the weights of model {model_id} version {version} sum to {total}, not 1",
                            field="weight", hint=f"weights are fractions (0.25 for 25%) including {CASH_SYMBOL}; "
                            f"they must sum to 1 within {WEIGHT_TOLERANCE}")
                continue
            versions.append(ModelVersion(model_id, version, [w for _, w in lines]))
            self.locations[("model", f"{model_id}@{version}")] = (file.display, first.line)
        return tuple(versions)

    def _sleeves(self, accounts: dict[str, Account], models: set[str]) -> dict[str, Sleeve]:
        sleeves: dict[str, Sleeve] = {}
        for row in self._file("sleeves.csv").rows():
            sleeve_id = row.get("sleeve_id", identifier)
            self.defined.add(("sleeve", sleeve_id))
            account_id = row.get("account_id", identifier)
            model_id = row.get("model_id", identifier, required=False)
            ok = self._known(row, "account_id", account_id, accounts, "account")
            if model_id is not None:
                ok = self._known(row, "model_id", model_id, models, "model") and ok
            sleeve = _build(row, Sleeve, ("model_id", "policy"), sleeve_id=sleeve_id, account_id=account_id, model_id=model_id,
                            policy=row.get("policy", identifier, required=False))
            if ok and sleeve and self._unique(row, "sleeve", sleeve_id, "sleeve_id"):
                sleeves[sleeve_id] = sleeve
                self.locations[("sleeve", sleeve_id)] = (row.file.display, row.line)
        return sleeves

    def _lots(self, accounts: dict, sleeves: dict, symbols: set[str]) -> tuple[Lot, ...]:
        lots = []
        for row in self._file("lots.csv").rows():
            owner = self._sleeve_of(row, accounts, sleeves)
            sym = row.get("symbol", security_symbol)
            known = self._known(row, "symbol", sym, symbols, "symbol")
            lot = _build(row, Lot, lot_id=row.get("lot_id", identifier),
                         account_id=owner and owner[0], sleeve_id=owner and owner[1], symbol=sym,
                         quantity=row.get("quantity", decimal(QUANTITY, minimum=Decimal(0), strict_minimum=True)),
                         cost_basis=row.get("cost_basis", decimal(MONEY, minimum=Decimal(0))),
                         acquired=row.get("acquired", iso_date))
            if lot and known and self._unique(row, "lot", lot.lot_id, "lot_id"):
                lots.append(lot)
                self.locations[("lot", lot.lot_id)] = (row.file.display, row.line)
        return tuple(lots)

    def _cash(self, accounts: dict, sleeves: dict) -> tuple[CashBalance, ...]:
        cash: dict[str, CashBalance] = {}
        for row in self._file("cash.csv").rows():
            owner = self._sleeve_of(row, accounts, sleeves)
            amount = row.get("amount", decimal(MONEY, minimum=Decimal(0)))
            if owner and amount is not None and self._unique(row, "cash row for sleeve", owner[1], "sleeve_id"):
                cash[owner[1]] = CashBalance(*owner, amount)
        for sleeve in sleeves.values():  # every sleeve has exactly one cash balance
            cash.setdefault(sleeve.sleeve_id, CashBalance(sleeve.account_id, sleeve.sleeve_id, Decimal(0)))
        return tuple(cash.values())

    def _transactions(self, accounts: dict, sleeves: dict, symbols: set[str]) -> tuple[Transaction, ...] | None:
        file = self._file("transactions.csv")
        if file is None:
            return None
        transactions = []
        ordinal: dict[tuple[str, Any], int] = defaultdict(int)
        for row in file.rows():
            owner = self._sleeve_of(row, accounts, sleeves)
            date = row.get("date", iso_date)
            sym = row.get("symbol", security_symbol, required=False)
            known = sym is None or self._known(row, "symbol", sym, symbols, "symbol")
            values = dict(
                type=row.get("type", choice(TransactionType, "transaction type")), symbol=sym,
                quantity=row.get("quantity", decimal(QUANTITY, minimum=Decimal(0), strict_minimum=True),
                                 required=False),
                price=row.get("price", decimal(PRICE, minimum=Decimal(0)), required=False),
                amount=row.get("amount", decimal(MONEY)),
                lot_id=row.get("lot_id", identifier, required=False),
            )
            if not (owner and date and known):
                continue
            ordinal[(owner[1], date)] += 1
            transaction = _build(row, Transaction, ("symbol", "quantity", "price", "lot_id"), transaction_id=f"{owner[1]}:{date}:{ordinal[(owner[1], date)]}",
                                 account_id=owner[0], sleeve_id=owner[1], date=date, **values)
            if transaction:
                transactions.append(transaction)
                self.locations[("transaction", transaction.transaction_id)] = (file.display, row.line)
        return tuple(transactions)

    def _prices(self, symbols: set[str]) -> tuple[PricePoint, ...] | None:
        file = self._file("prices.csv")
        if file is None:
            return None
        prices = []
        for row in file.rows():
            sym = row.get("symbol", security_symbol)
            known = self._known(row, "symbol", sym, symbols, "symbol")
            point = _build(row, PricePoint, symbol=sym, date=row.get("date", iso_date),
                           close=row.get("close", decimal(PRICE, minimum=Decimal(0), strict_minimum=True)))
            if point and known and self._unique(row, "price", (point.symbol, point.date.isoformat()), "date"):
                prices.append(point)
        return tuple(prices)


def _lot_method(text: str) -> str:
    method = text.strip().upper()
    if method not in ACCOUNT_LOT_METHODS:
        raise ParseError(f"unknown lot method {text!r}", hint=did_you_mean(method, ACCOUNT_LOT_METHODS)
                         or "one of: " + ", ".join(ACCOUNT_LOT_METHODS))
    return method


def _build(row: CsvRow, cls: type, optional: tuple[str, ...] = (), **values: Any) -> Any:
    """``cls(**values)`` unless a required value is missing (already reported) or it is invalid."""
    if any(v is None for k, v in values.items() if k not in optional):
        return None
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        row.error(str(exc))
        return None
