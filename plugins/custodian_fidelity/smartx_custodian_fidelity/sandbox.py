"""A loopback FDX server for tests and the demo: seeded accounts, holdings, tax lots, transactions.

It serves the FDX 5.2 shapes of ``docs`` (``../shared/specs/fidelity.md``) with real pagination
(``page{nextOffset,total}`` and ``links.next.href``; the server caps ``limit`` at its own small
``page_size`` so that every client pages) and can inject faults, once each, on request::

    with FdxSandbox(page_size=2) as sandbox:
        sandbox.fail_next("500", path="/transactions")
        client = FdxClient(sandbox.base_url)

Numbers are written with their exact decimal text (the seed is held as Decimals).

``FdxSandbox.from_seed(seed)`` serves the contract test kit's seed shape instead of the built-in
data (see :func:`data_from_seed`).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import threading
from collections.abc import Mapping
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

API_ROOT = "/fdx/v5"
FAULTS = ("500", "malformed")

SEED_JSON = """
{
  "accounts": [
    {"accountId": "5426873", "accountCategory": "INVESTMENT_ACCOUNT", "accountNumberDisplay": "...7054",
     "accountType": "BROKERAGEPRODUCT", "productName": "Brokerage", "status": "OPEN",
     "currency": {"currencyCode": "USD"}, "balanceAsOf": "2024-01-15T21:00:00Z",
     "currentValue": 52672.49, "availableCashBalance": 1250.00, "margin": false,
     "holdings": [
       {"holdingId": "h-001", "securityId": "922908769", "securityIdType": "CUSIP", "symbol": "VTI",
        "holdingName": "VANGUARD TOTAL STOCK MKT ETF", "holdingType": "STOCK", "positionType": "LONG",
        "heldInAccount": "CASH", "units": 200, "currentUnitPrice": 239.10, "marketValue": 47820.00,
        "purchasedPrice": 201.33,
        "taxLots": [
          {"originalPurchaseDate": "2021-03-02", "quantity": 120, "purchasedPrice": 195.10,
           "costBasis": 23412.00, "currentValue": 28692.00, "positionType": "LONG"},
          {"originalPurchaseDate": "2023-10-27", "quantity": 80, "purchasedPrice": 210.68,
           "costBasis": 16854.40, "currentValue": 19128.00, "positionType": "LONG"}]},
       {"holdingId": "h-002", "securityId": "31617H102", "securityIdType": "CUSIP", "symbol": "SPAXX",
        "holdingType": "MUTUALFUND", "holdingSubType": "MONEYMARKET", "cashAccount": true,
        "units": 3602.49, "currentUnitPrice": 1.0, "marketValue": 3602.49}]},
    {"accountId": "7719302", "accountCategory": "INVESTMENT_ACCOUNT", "accountNumberDisplay": "...9302",
     "accountType": "ROTH", "productName": "Roth IRA", "status": "OPEN",
     "currency": {"currencyCode": "USD"}, "balanceAsOf": "2024-01-15T21:00:00Z",
     "currentValue": 10393.10, "availableCashBalance": 0.10,
     "holdings": [
       {"holdingId": "h-101", "securityId": "464287226", "securityIdType": "CUSIP", "symbol": "AGG",
        "holdingName": "ISHARES CORE US AGGREGATE BOND ETF", "holdingType": "STOCK", "positionType": "LONG",
        "heldInAccount": "CASH", "units": 105.5, "currentUnitPrice": 98.51, "marketValue": 10392.81,
        "taxLots": [
          {"originalPurchaseDate": "2022-06-13", "quantity": 105.5, "purchasedPrice": 101.0713,
           "costBasis": 10663.02, "currentValue": 10392.81, "positionType": "LONG"}]}]},
    {"accountId": "3380021", "accountCategory": "INVESTMENT_ACCOUNT", "accountNumberDisplay": "...0021",
     "accountType": "TRUST", "status": "CLOSED", "currency": {"currencyCode": "USD"}, "holdings": []}
  ],
  "transactions": {
    "5426873": [
      {"accountId": "5426873", "transactionId": "t-9001", "postedTimestamp": "2024-01-12T21:00:00Z",
       "transactionTimestamp": "2024-01-10T15:31:07Z", "description": "YOU BOUGHT VANGUARD TOTAL STOCK MKT ETF",
       "status": "POSTED", "transactionType": "PURCHASED", "securityId": "922908769", "securityIdType": "CUSIP",
       "symbol": "VTI", "units": 80, "unitPrice": 210.68, "amount": -16854.40, "commission": 0, "fees": 0,
       "subAccountSec": "CASH", "subAccountFund": "CASH", "settlementTimestamp": "2024-01-11T00:00:00Z"},
      {"accountId": "5426873", "transactionId": "t-9002", "postedTimestamp": "2024-01-12T21:00:00Z",
       "transactionTimestamp": "2024-01-12T14:00:00Z", "description": "DIVIDEND RECEIVED VANGUARD TOTAL STOCK MKT ETF",
       "status": "POSTED", "transactionType": "DIVIDEND", "securityId": "922908769", "securityIdType": "CUSIP",
       "symbol": "VTI", "amount": 173.37},
      {"accountId": "5426873", "transactionId": "t-9003", "postedTimestamp": "2024-01-16T21:00:00Z",
       "transactionTimestamp": "2024-01-16T10:02:45Z", "description": "ADVISORY FEE",
       "status": "POSTED", "transactionType": "FEE", "amount": -31.07},
      {"accountId": "5426873", "transactionId": "t-9004", "postedTimestamp": "2024-01-18T21:00:00Z",
       "transactionTimestamp": "2024-01-18T15:45:10Z", "description": "YOU SOLD VANGUARD TOTAL STOCK MKT ETF",
       "status": "POSTED", "transactionType": "SOLD", "securityId": "922908769", "securityIdType": "CUSIP",
       "symbol": "VTI", "units": -10.125, "unitPrice": 240.0133, "amount": 2430.13, "commission": 0,
       "fees": 0.01, "settlementTimestamp": "2024-01-19T00:00:00Z"},
      {"accountId": "5426873", "transactionId": "t-9005", "postedTimestamp": "2024-01-19T21:00:00Z",
       "transactionTimestamp": "2024-01-19T12:00:00Z", "description": "ELECTRONIC FUNDS TRANSFER RECEIVED",
       "status": "POSTED", "transactionType": "DEPOSIT", "amount": 5000.00}
    ],
    "7719302": []
  }
}
"""


def seed() -> dict[str, Any]:
    """A fresh copy of the seeded data, every number a Decimal."""
    return json.loads(SEED_JSON, parse_float=Decimal, parse_int=Decimal)


_NUMBER = re.compile(r'"\\u0000(-?[0-9.]+)"')


def dumps(value: Any) -> bytes:
    """JSON with each Decimal written as its exact number text (never through a float)."""
    text = json.dumps(value, default=lambda d: f"\u0000{d}" if isinstance(d, Decimal) else _refuse(d))
    return _NUMBER.sub(r"\1", text).encode()


CORE_SYMBOL = "SPAXX"  # the core money-market position that holds an account's cash
DEFAULT_LOT_DATE = dt.date(2020, 1, 2)


def data_from_seed(seed: Mapping[str, Any], *, lot_date: dt.date = DEFAULT_LOT_DATE) -> dict[str, Any]:
    """FDX sandbox data from the contract seed shape.

    ``{"accounts": {NUMBER: {"cash": USD, "positions": {SYMBOL: QUANTITY}}}, "prices": {SYMBOL: USD}}``,
    every value a decimal string. Each account may also give ``"type"`` (an FDX accountType,
    default ``BROKERAGEPRODUCT``), ``"status"`` (default ``OPEN``) and ``"lots"``:
    ``{SYMBOL: [{"acquired": "YYYY-MM-DD", "quantity": Q, "cost_basis": USD}, ...]}``, which must
    add up to the position. A position without lots gets one lot of its whole quantity, bought on
    ``lot_date`` at the seed price. Cash is the core money-market holding (``SPAXX``,
    ``cashAccount: true``, price 1) and ``availableCashBalance``. No transactions.
    """
    prices = {symbol: Decimal(price) for symbol, price in seed.get("prices", {}).items()}
    accounts = []
    for number, spec in seed["accounts"].items():
        lots = spec.get("lots", {})
        holdings = []
        for symbol, quantity in spec.get("positions", {}).items():
            units, price = Decimal(quantity), prices.get(symbol)
            given = lots.get(symbol)
            if given is None:
                if price is None:
                    raise ValueError(f"account {number}: {symbol} has neither a price nor lots")
                given = [{"acquired": lot_date.isoformat(), "quantity": quantity, "cost_basis": str(units * price)}]
            tax_lots = [tax_lot(dt.date.fromisoformat(lot["acquired"]), Decimal(lot["quantity"]),
                                Decimal(lot["cost_basis"])) for lot in given]
            if sum((lot["quantity"] for lot in tax_lots), Decimal(0)) != units:
                raise ValueError(f"account {number}: the lots of {symbol} do not add up to {units}")
            holdings.append(security_holding(number, symbol, units, price, tax_lots))
        cash = Decimal(spec.get("cash", "0"))
        holdings.append(core_holding(number, cash))
        accounts.append({"accountId": number, "accountCategory": "INVESTMENT_ACCOUNT",
                         "accountNumberDisplay": f"...{number[-4:]}", "accountType": spec.get("type", "BROKERAGEPRODUCT"),
                         "status": spec.get("status", "OPEN"), "currency": {"currencyCode": "USD"},
                         "availableCashBalance": cash, "holdings": holdings})
    return {"accounts": accounts, "transactions": {a["accountId"]: [] for a in accounts}}


def tax_lot(acquired: dt.date, quantity: Decimal, cost_basis: Decimal) -> dict[str, Any]:
    """An FDX TaxLot."""
    return {"originalPurchaseDate": acquired.isoformat(), "quantity": quantity,
            "purchasedPrice": (cost_basis / quantity).quantize(Decimal("0.0001")) if quantity else Decimal(0),
            "costBasis": cost_basis, "positionType": "LONG"}


def security_holding(account: str, symbol: str, units: Decimal, price: Decimal | None,
                     lots: list[dict[str, Any]]) -> dict[str, Any]:
    """An FDX Holding of a security, with its tax lots."""
    holding: dict[str, Any] = {"holdingId": f"h-{account}-{symbol}", "symbol": symbol, "holdingType": "STOCK",
                               "positionType": "LONG", "heldInAccount": "CASH", "units": units, "taxLots": lots}
    if price is not None:
        holding.update(currentUnitPrice=price, marketValue=units * price)
    return holding


def core_holding(account: str, cash: Decimal) -> dict[str, Any]:
    """The core money-market holding (SPAXX) that holds an account's cash."""
    return {"holdingId": f"h-{account}-{CORE_SYMBOL}", "symbol": CORE_SYMBOL, "holdingType": "MUTUALFUND",
            "holdingSubType": "MONEYMARKET", "cashAccount": True, "units": cash, "currentUnitPrice": Decimal(1),
            "marketValue": cash}


def _refuse(value: Any) -> Any:
    raise TypeError(f"cannot serialise {type(value).__name__}")


DESCRIPTOR_FIELDS = ("accountId", "accountCategory", "accountType", "accountNumberDisplay", "productName",
                     "nickname", "status", "description", "currency")


class FdxSandbox:
    """A loopback FDX server in a thread; a context manager whose ``base_url`` clients use."""

    def __init__(self, data: Mapping[str, Any] | None = None, *, page_size: int = 2, host: str = "127.0.0.1",
                 port: int = 0):
        self.data = copy.deepcopy(dict(data)) if data is not None else seed()
        self.page_size = page_size
        self.requests: list[str] = []  # every request's path and query, in order
        self._faults: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @classmethod
    def from_seed(cls, seed: Mapping[str, Any], *, lot_date: dt.date = DEFAULT_LOT_DATE, **kwargs: Any) -> FdxSandbox:
        """A sandbox serving the contract seed shape (see :func:`data_from_seed`)."""
        return cls(data_from_seed(seed, lot_date=lot_date), **kwargs)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{API_ROOT}"

    def fail_next(self, fault: str, *, path: str = "") -> None:
        """Make the next request whose path and query contain ``path`` fail once: ``"500"`` or ``"malformed"``."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        with self._lock:
            self._faults.append((fault, path))

    def start(self) -> FdxSandbox:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fdx-sandbox",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FdxSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling (called from the server's threads) -----------------

    def _take_fault(self, path: str) -> str | None:
        with self._lock:
            for i, (fault, where) in enumerate(self._faults):
                if where in path:
                    del self._faults[i]
                    return fault
        return None

    def handle(self, target: str) -> tuple[int, bytes]:
        url = urlsplit(target)
        with self._lock:
            self.requests.append(target)
        fault = self._take_fault(target)
        if fault == "500":
            return 500, dumps({"code": "500", "message": "Internal server error"})
        if not url.path.startswith(API_ROOT + "/"):
            return 404, dumps({"code": "404", "message": "Not found"})
        parts = url.path[len(API_ROOT) + 1:].split("/")
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        accounts = {a["accountId"]: a for a in self.data["accounts"]}
        if parts == ["accounts"]:
            items = [{"investmentAccount": {k: a[k] for k in DESCRIPTOR_FIELDS if k in a}}
                     for a in self.data["accounts"]]
            status, body = self._page("/accounts", query, "accounts", items)
        elif len(parts) in (2, 3) and parts[0] == "accounts":
            if parts[1] not in accounts:
                return 404, dumps({"code": "701", "message": "Account not found"})
            if len(parts) == 2:
                status, body = 200, accounts[parts[1]]
            elif parts[2] == "transactions":
                items = [{"investmentTransaction": t} for t in self.data["transactions"].get(parts[1], [])
                         if query.get("startTime", "") <= t["transactionTimestamp"][:10]
                         <= query.get("endTime", "9999-12-31")]
                status, body = self._page(f"/accounts/{parts[1]}/transactions", query, "transactions", items)
            else:
                return 404, dumps({"code": "404", "message": "Not found"})
        else:
            return 404, dumps({"code": "404", "message": "Not found"})
        data = dumps(body)
        if fault == "malformed":
            data = data[: len(data) // 2]
        return status, data

    def _page(self, path: str, query: dict[str, str], key: str, items: list[Any]) -> tuple[int, Any]:
        try:
            offset = int(query.get("offset", "0"))
            limit = min(int(query.get("limit", str(self.page_size))), self.page_size)
        except ValueError:
            return 400, {"code": "400", "message": "offset and limit must be integers"}
        if offset < 0 or limit < 1:
            return 400, {"code": "400", "message": "offset must be >= 0 and limit >= 1"}
        body: dict[str, Any] = {"page": {"total": Decimal(len(items))}}
        end = offset + limit
        if end < len(items):
            body["page"]["nextOffset"] = str(end)
            next_query = {k: v for k, v in query.items() if k not in ("offset", "limit")}
            next_query.update(offset=str(end), limit=str(limit))
            body["links"] = {"next": {"href": f"{path}?{urlencode(next_query)}"}}
        body[key] = items[offset:end]
        return 200, body


def _handler(sandbox: FdxSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            status, data = sandbox.handle(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler
