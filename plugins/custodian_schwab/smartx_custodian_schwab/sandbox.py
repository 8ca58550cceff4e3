"""A loopback Schwab Trader API: the real paths, JSON shapes and status values, deterministic.

``SchwabSandbox`` is an ``http.server`` in a background thread on 127.0.0.1 (ephemeral port by
default). It serves the OAuth token endpoint (``/v1/oauth/token``) and the Trader API under
``/trader/v1`` for the accounts it is seeded with::

    seed = {"12345678": {"type": "CASH", "cash": "10000.00",
                         "positions": {"AAPL": {"quantity": 100, "average_price": "150.25",
                                                 "last_price": "175.00"}}}}
    with SchwabSandbox(seed, prices={"MSFT": "410.00"}) as sandbox:
        sandbox.base_url        # http://127.0.0.1:PORT, the client's base URL

Order, fill and transaction times count one second per event from ``epoch`` (a fixed
2026-01-05 14:30 UTC by default; the contract tests and ``smartx schwab sandbox`` pass the
current time, so that time windows computed from the real clock find them).

Market orders fill at once at a deterministic price path: each fill of a symbol moves its last
price by ``price_step`` (0.1% by default) and fills at the new price, rounded to the cent.
Limit orders fill when marketable at that price, otherwise they stay ``WORKING``. Fills update the
sandbox's positions and cash and add a ``TRADE`` transaction.

Faults are injected on request with :meth:`SchwabSandbox.fail_next`:

* ``"500"``, ``"429"`` (with ``Retry-After``), ``"timeout"`` (sleeps ``delay`` seconds, then
  answers), ``"body"`` (200 with the raw ``body`` given, e.g. malformed JSON): the next ``times``
  Trader API requests (the token endpoint is never faulted);
* ``"drop"``: the next order placed is accepted, then the connection is closed with no response;
* ``"partial"``: the next order fills only ``fraction`` of its quantity and stays ``WORKING``;
* ``"reject"``: the next order is ``REJECTED`` with a ``statusDescription``.

Everything the sandbox received is in :attr:`SchwabSandbox.requests` as ``(method, path, status)``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import attrs

TRADER = "/trader/v1"
TOKEN_PATH = "/v1/oauth/token"
CENT = Decimal("0.01")
EPOCH = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
FAULTS = ("500", "429", "timeout", "body", "drop", "partial", "reject")
OPEN_STATUSES = {"WORKING", "QUEUED", "ACCEPTED", "PENDING_ACTIVATION"}


def _dec(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a number: {value!r}")
    return Decimal(str(value))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def account_hash(account_number: str) -> str:
    """The sandbox's ``hashValue`` for an account number (64 upper-case hex digits, stable)."""
    return hashlib.sha256(f"smartx-sandbox:{account_number}".encode()).hexdigest().upper()


@attrs.define
class _Fault:
    kind: str
    times: int
    retry_after: int = 1
    delay: float = 1.0
    fraction: Decimal = Decimal("0.5")
    body: bytes = b""


@attrs.define
class _Account:
    number: str
    type: str
    cash: Decimal
    positions: dict[str, dict[str, Decimal]]  # symbol -> quantity, average_price


class ApiError(Exception):
    """An error answer: HTTP status and a Schwab ``ServiceError`` body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class SchwabSandbox:
    """A deterministic, in-process Schwab Trader API on loopback; a context manager."""

    def __init__(
        self,
        accounts: Mapping[str, Mapping[str, Any]],
        *,
        prices: Mapping[str, Any] | None = None,
        app_key: str = "sandbox-app-key",
        app_secret: str = "sandbox-app-secret",
        authorization_code: str = "sandbox-code",
        price_step: Decimal | str = "0.001",
        port: int = 0,
        epoch: datetime = EPOCH,
    ):
        self.epoch = epoch
        self.app_key, self.app_secret = app_key, app_secret
        self.authorization_code = authorization_code
        self.price_step = _dec(price_step)
        self.port = port
        self.requests: list[tuple[str, str, int]] = []
        self.accounts: dict[str, _Account] = {}
        self.prices: dict[str, Decimal] = {s: _dec(p) for s, p in (prices or {}).items()}
        for number, seed in accounts.items():
            positions = {}
            for symbol, pos in seed.get("positions", {}).items():
                positions[symbol] = {"quantity": _dec(pos["quantity"]),
                                     "average_price": _dec(pos["average_price"])}
                self.prices.setdefault(symbol, _dec(pos.get("last_price", pos["average_price"])))
            self.accounts[account_hash(number)] = _Account(
                number, seed.get("type", "CASH"), _dec(seed.get("cash", 0)), positions)
        self.orders: dict[int, dict[str, Any]] = {}
        self.transactions: dict[str, list[dict[str, Any]]] = {h: [] for h in self.accounts}
        self._access_tokens: set[str] = set()
        self._refresh_tokens: set[str] = set()
        self._faults: list[_Fault] = []
        self._serial = 0
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_contract_seed(cls, seed: Mapping[str, Any], **kwargs: Any) -> SchwabSandbox:
        """A sandbox holding :func:`smartx_engine.testing.contract_seed`'s accounts and prices.

        Its ``{"accounts": {NUMBER: {"cash": USD, "positions": {SYMBOL: QUANTITY}}}, "prices": {...}}``
        becomes CASH accounts whose positions' average and last prices are the seed's price.
        """
        prices = dict(seed.get("prices", {}))
        accounts = {
            number: {"type": account.get("type", "CASH"), "cash": account.get("cash", "0"),
                     "positions": {symbol: {"quantity": quantity, "average_price": prices[symbol],
                                            "last_price": prices[symbol]}
                                   for symbol, quantity in account.get("positions", {}).items()}}
            for number, account in seed["accounts"].items()}
        return cls(accounts, prices=prices, **kwargs)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"sandbox": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False  # a request sleeping in a timeout fault may outlive us
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        name="schwab-sandbox", daemon=True)  # quick to stop
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the sandbox is not running"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- controls for tests ----------------------------------------------------------------------

    def fail_next(self, kind: str, times: int = 1, *, retry_after: int = 1, delay: float = 1.0,
                  fraction: Decimal | str = "0.5", body: bytes = b"") -> None:
        """Inject a fault into the next ``times`` requests (or orders); see the module docstring."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(FAULTS)}")
        with self._lock:
            self._faults.append(_Fault(kind, times, retry_after, delay, _dec(fraction), body))

    def revoke_access_tokens(self) -> None:
        """Make every access token issued so far invalid (as if it expired): calls get 401."""
        with self._lock:
            self._access_tokens.clear()

    def hash_of(self, account_number: str) -> str:
        return account_hash(account_number)

    # -- request handling ------------------------------------------------------------------------

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    def _now(self) -> datetime:
        return self.epoch + timedelta(seconds=self._serial)

    def _take_fault(self, kinds: tuple[str, ...]) -> _Fault | None:
        for fault in self._faults:
            if fault.kind in kinds:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes
               ) -> tuple[int, dict[str, str], Any] | None:
        """Answer one request: (status, headers, JSON body, raw bytes or None), or None to drop it."""
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path == TOKEN_PATH and method == "POST":
            with self._lock:
                return self._token(headers, body)
        if not url.path.startswith(TRADER):
            return 404, {}, {"message": f"no route {url.path}", "errors": []}
        with self._lock:
            fault = self._take_fault(("500", "429", "timeout", "body"))
        if fault is not None and fault.kind == "timeout":
            time.sleep(fault.delay)
        elif fault is not None and fault.kind == "body":
            return 200, {}, fault.body
        elif fault is not None and fault.kind == "429":
            return 429, {"Retry-After": str(fault.retry_after)}, {
                "message": "Too many requests", "errors": ["rate limit exceeded"]}
        elif fault is not None:
            return 500, {}, {"message": "Internal server error", "errors": ["sandbox fault"]}
        auth = headers.get("Authorization", "")
        with self._lock:
            if not auth.startswith("Bearer ") or auth[7:] not in self._access_tokens:
                return 401, {}, {"message": "Unauthorized", "errors": ["invalid or expired token"]}
            try:
                return self._route(method, url.path[len(TRADER):], query, body)
            except ApiError as exc:
                return exc.status, {}, {"message": exc.message, "errors": [exc.message]}

    def _token(self, headers: Mapping[str, str], body: bytes) -> tuple[int, dict, Any]:
        expected = base64.b64encode(f"{self.app_key}:{self.app_secret}".encode()).decode()
        if headers.get("Authorization", "") != f"Basic {expected}":
            return 401, {}, {"error": "invalid_client", "error_description": "bad client credentials"}
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        grant = form.get("grant_type")
        if grant == "authorization_code":
            if form.get("code") != self.authorization_code:
                return 400, {}, {"error": "invalid_grant", "error_description": "bad code"}
        elif grant == "refresh_token":
            if form.get("refresh_token") not in self._refresh_tokens:
                return 400, {}, {"error": "invalid_grant", "error_description": "bad refresh token"}
            self._refresh_tokens.discard(form["refresh_token"])
        else:
            return 400, {}, {"error": "unsupported_grant_type", "error_description": str(grant)}
        n = self._next()
        access, refresh = f"sandbox-access-{n}", f"sandbox-refresh-{n}"
        self._access_tokens.add(access)
        self._refresh_tokens.add(refresh)
        return 200, {}, {"access_token": access, "refresh_token": refresh, "expires_in": 1800,
                         "token_type": "Bearer", "scope": "api"}

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes
               ) -> tuple[int, dict, Any] | None:
        if method == "GET" and path == "/accounts/accountNumbers":
            return 200, {}, [{"accountNumber": a.number, "hashValue": h} for h, a in self.accounts.items()]
        if method == "GET" and path == "/accounts":
            fields = query.get("fields", "")
            return 200, {}, [self._account_json(h, "positions" in fields) for h in self.accounts]
        if m := re.fullmatch(r"/accounts/(\w+)", path):
            return 200, {}, self._account_json(self._hash(m[1]), "positions" in query.get("fields", ""))
        if m := re.fullmatch(r"/accounts/(\w+)/transactions", path):
            return 200, {}, self._transactions(self._hash(m[1]), query)
        if m := re.fullmatch(r"/accounts/(\w+)/orders", path):
            if method == "POST":
                return self._place(self._hash(m[1]), body)
            return 200, {}, self._orders(self._hash(m[1]), query)
        if m := re.fullmatch(r"/accounts/(\w+)/orders/(\d+)", path):
            order = self._order(self._hash(m[1]), int(m[2]))
            if method == "DELETE":
                return self._cancel(order)
            return 200, {}, order
        raise ApiError(404, f"no route {method} {path}")

    def _hash(self, value: str) -> str:
        if value not in self.accounts:
            raise ApiError(404, "account not found (use the hashValue, not the account number)")
        return value

    def _order(self, hash_: str, order_id: int) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None or order["_hash"] != hash_:
            raise ApiError(404, f"order {order_id} not found")
        return order

    # -- accounts and transactions ---------------------------------------------------------------

    def _account_json(self, hash_: str, with_positions: bool) -> dict[str, Any]:
        acct = self.accounts[hash_]
        value = sum((p["quantity"] * self.prices[s] for s, p in acct.positions.items()), Decimal(0))
        body: dict[str, Any] = {
            "type": acct.type, "accountNumber": acct.number, "roundTrips": 0, "isDayTrader": False,
            "isClosingOnlyRestricted": False, "pfcbFlag": False,
            "initialBalances": {"cashBalance": acct.cash, "cashAvailableForTrading": acct.cash,
                                "liquidationValue": acct.cash + value, "accountValue": acct.cash + value},
            "currentBalances": {"cashAvailableForTrading": acct.cash, "cashAvailableForWithdrawal": acct.cash,
                                "totalCash": acct.cash, "unsettledCash": 0, "cashCall": 0,
                                "cashDebitCallValue": 0, "longNonMarginableMarketValue": 0},
            "projectedBalances": {"cashAvailableForTrading": acct.cash,
                                  "cashAvailableForWithdrawal": acct.cash},
        }
        if acct.type == "MARGIN":
            body["currentBalances"] = {"cashBalance": acct.cash, "availableFunds": acct.cash,
                                       "buyingPower": acct.cash, "equity": acct.cash + value}
        if with_positions:
            body["positions"] = [
                {"shortQuantity": 0, "longQuantity": p["quantity"], "settledLongQuantity": p["quantity"],
                 "settledShortQuantity": 0, "averagePrice": p["average_price"],
                 "averageLongPrice": p["average_price"], "taxLotAverageLongPrice": p["average_price"],
                 "marketValue": (p["quantity"] * self.prices[s]).quantize(CENT, ROUND_HALF_UP),
                 "instrument": {"assetType": "EQUITY", "symbol": s, "description": s}}
                for s, p in sorted(acct.positions.items()) if p["quantity"]]
        return {"securitiesAccount": body}

    def _transactions(self, hash_: str, query: dict[str, str]) -> list[dict[str, Any]]:
        missing = [k for k in ("startDate", "endDate", "types") if k not in query]
        if missing:
            raise ApiError(400, f"missing required parameter(s): {', '.join(missing)}")
        try:
            start, end = (datetime.fromisoformat(query[k]) for k in ("startDate", "endDate"))
        except ValueError as exc:
            raise ApiError(400, f"bad date: {exc}") from None
        types = set(query["types"].split(","))
        return [t for t in self.transactions[hash_]
                if t["type"] in types and start <= datetime.fromisoformat(t["time"]) <= end]

    def _orders(self, hash_: str, query: dict[str, str]) -> list[dict[str, Any]]:
        if "fromEnteredTime" not in query or "toEnteredTime" not in query:
            raise ApiError(400, "fromEnteredTime and toEnteredTime are required")
        start, end = (datetime.fromisoformat(query[k]) for k in ("fromEnteredTime", "toEnteredTime"))
        return [o for o in self.orders.values() if o["_hash"] == hash_
                and start <= datetime.fromisoformat(o["enteredTime"]) <= end
                and query.get("status", o["status"]) == o["status"]]

    # -- orders ----------------------------------------------------------------------------------

    def _place(self, hash_: str, body: bytes) -> tuple[int, dict, Any] | None:
        try:
            request = json.loads(body)
            leg = request["orderLegCollection"][0]
            symbol, instruction = leg["instrument"]["symbol"], leg["instruction"]
            quantity = _dec(leg["quantity"])
            order_type = request["orderType"]
            limit = _dec(request["price"]) if order_type == "LIMIT" else None
            for key in ("session", "duration", "orderStrategyType"):
                request[key]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ApiError(400, f"invalid order: {exc!r}") from None
        if instruction not in ("BUY", "SELL") or order_type not in ("MARKET", "LIMIT") or quantity <= 0:
            raise ApiError(400, "the sandbox takes BUY/SELL MARKET/LIMIT orders of a positive quantity")
        if symbol not in self.prices:
            raise ApiError(400, f"unknown symbol {symbol}")
        order_id = 1000000000 + self._next()
        now = _stamp(self._now())
        order = {
            "session": request["session"], "duration": request["duration"], "orderType": order_type,
            "complexOrderStrategyType": "NONE", "quantity": quantity, "filledQuantity": Decimal(0),
            "remainingQuantity": quantity, "requestedDestination": "AUTO", "destinationLinkName": "SNDBX",
            "orderLegCollection": [{"orderLegType": "EQUITY", "legId": 1,
                                    "instrument": {"assetType": "EQUITY", "symbol": symbol},
                                    "instruction": instruction,
                                    "positionEffect": "OPENING" if instruction == "BUY" else "CLOSING",
                                    "quantity": quantity}],
            "orderStrategyType": request["orderStrategyType"], "orderId": order_id, "cancelable": True,
            "editable": False, "status": "WORKING", "enteredTime": now, "tag": "API_TRADER",
            "accountNumber": int(self.accounts[hash_].number), "orderActivityCollection": [],
            "_hash": hash_,
        }
        if limit is not None:
            order["price"] = limit
        if "taxLotMethod" in request:
            order["taxLotMethod"] = request["taxLotMethod"]
        self.orders[order_id] = order
        held = self.accounts[hash_].positions.get(symbol, {}).get("quantity", Decimal(0))
        if self._take_fault(("reject",)) is not None:
            self._close(order, "REJECTED", "Sandbox: order rejected on request")
        elif instruction == "SELL" and quantity > held:
            self._close(order, "REJECTED", f"Sandbox: sell of {quantity} {symbol} exceeds the {held} held")
        else:
            partial = self._take_fault(("partial",))
            fill = (quantity * partial.fraction).to_integral_value() if partial else quantity
            price = (self.prices[symbol] * (1 + self.price_step)).quantize(CENT, ROUND_HALF_UP)
            marketable = limit is None or (price <= limit if instruction == "BUY" else price >= limit)
            if marketable and fill > 0:
                self.prices[symbol] = price
                self._fill(order, fill, price)
        location = f"{self.base_url}{TRADER}/accounts/{hash_}/orders/{order_id}"
        if self._take_fault(("drop",)) is not None:
            return None
        return 201, {"Location": location}, None

    def _close(self, order: dict[str, Any], status: str, description: str | None = None) -> None:
        order.update(status=status, cancelable=False, closeTime=_stamp(self._now()))
        if description:
            order["statusDescription"] = description

    def _fill(self, order: dict[str, Any], quantity: Decimal, price: Decimal) -> None:
        leg = order["orderLegCollection"][0]
        symbol, buy = leg["instrument"]["symbol"], leg["instruction"] == "BUY"
        acct = self.accounts[order["_hash"]]
        order["filledQuantity"] += quantity
        order["remainingQuantity"] -= quantity
        now = _stamp(self._now())
        order["orderActivityCollection"].append({
            "activityType": "EXECUTION", "activityId": 57700000000 + self._next(), "executionType": "FILL",
            "quantity": quantity, "orderRemainingQuantity": order["remainingQuantity"],
            "executionLegs": [{"legId": 1, "quantity": quantity, "mismarkedQuantity": 0, "price": price,
                               "time": now}]})
        if order["remainingQuantity"] == 0:
            self._close(order, "FILLED")
        position = acct.positions.setdefault(symbol, {"quantity": Decimal(0), "average_price": price})
        if buy:
            total = position["quantity"] + quantity
            position["average_price"] = ((position["quantity"] * position["average_price"]
                                          + quantity * price) / total).quantize(Decimal("0.0001"))
            position["quantity"] = total
        else:
            position["quantity"] -= quantity
        cost = (quantity * price).quantize(CENT, ROUND_HALF_UP)
        acct.cash += -cost if buy else cost
        self.transactions[order["_hash"]].append({
            "activityId": 100000000000 + self._serial, "time": now, "accountNumber": acct.number,
            "type": "TRADE", "status": "VALID", "subAccount": "CASH", "tradeDate": now,
            "orderId": order["orderId"], "netAmount": -cost if buy else cost,
            "transferItems": [{"instrument": {"assetType": "EQUITY", "symbol": symbol},
                               "amount": quantity if buy else -quantity, "cost": -cost if buy else cost,
                               "price": price, "positionEffect": "OPENING" if buy else "CLOSING"}]})

    def _cancel(self, order: dict[str, Any]) -> tuple[int, dict, Any]:
        if order["status"] not in OPEN_STATUSES:
            raise ApiError(400, f"order {order['orderId']} is {order['status']} and cannot be canceled")
        self._next()
        self._close(order, "CANCELED")
        order["cancelTime"] = order["closeTime"]
        return 200, {}, None


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # as Schwab sends them: JSON numbers (clients parse them as Decimal)
    raise TypeError(f"cannot encode {type(value).__name__}")


class _Handler(BaseHTTPRequestHandler):
    sandbox: SchwabSandbox
    server_version = "SchwabSandbox/1.0"

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = self.sandbox.handle(self.command, self.path, dict(self.headers.items()), body)
        if answer is None:  # the "drop" fault: accepted, then the connection closes unanswered
            self.sandbox.requests.append((self.command, urlsplit(self.path).path, 0))
            self.close_connection = True
            return
        status, headers, payload = answer
        self.sandbox.requests.append((self.command, urlsplit(self.path).path, status))
        if payload is None or isinstance(payload, bytes):
            data = payload or b""
        else:
            data = json.dumps(_public(payload), default=_json_default).encode()
        try:
            self.send_response(status)
            self.send_header("Schwab-Client-CorrelId", f"sandbox-{len(self.sandbox.requests)}")
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout fault)
            pass

    do_GET = do_POST = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


def _public(payload: Any) -> Any:
    """Drop the sandbox's private ``_`` keys from a JSON payload."""
    if isinstance(payload, dict):
        return {k: _public(v) for k, v in payload.items() if not k.startswith("_")}
    if isinstance(payload, list):
        return [_public(v) for v in payload]
    return payload
