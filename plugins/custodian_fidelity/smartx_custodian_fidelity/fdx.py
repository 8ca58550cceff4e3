"""Reading accounts, holdings with tax lots, and investment transactions through FDX (Core API 5.2).

FDX is read-only for securities: this client only reads. Every money amount and quantity is a
:class:`~decimal.Decimal` parsed straight from the JSON text (never through a float); dates are
:class:`datetime.date` and timestamps timezone-aware :class:`datetime.datetime`.

Pagination follows the FDX response exactly: a page carries ``page{nextOffset,total}`` and
``links.next.href``; the client follows ``links.next.href`` (resolved against the base URL), or
else requests ``offset=nextOffset``, until neither is given, then checks that it received
``page.total`` items. Anything malformed (JSON, a missing or mistyped field, a pagination loop, a
count that does not match) raises :class:`smartx_engine.CustodianError` naming the endpoint, the
page and the field; a call returns everything or nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs
import httpx

from smartx_engine import CustodianError

DEFAULT_PAGE_SIZE = 100
MAX_PAGES = 10_000
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@attrs.frozen
class FdxAccount:
    """An FDX ``AccountDescriptor`` (from ``GET /accounts``) or the header of an account."""

    account_id: str
    kind: str  # the wrapper or category: investmentAccount, depositAccount ...
    account_type: str | None
    number_display: str | None
    status: str | None
    currency: str | None
    nickname: str | None = None
    product_name: str | None = None


@attrs.frozen
class TaxLot:
    """An FDX ``TaxLot`` of a holding."""

    acquired: dt.date  # originalPurchaseDate
    quantity: Decimal
    cost_basis: Decimal
    purchased_price: Decimal | None
    current_value: Decimal | None
    position_type: str | None


@attrs.frozen
class Holding:
    """An FDX ``Holding`` with its tax lots."""

    holding_id: str | None
    security_id: str | None
    security_id_type: str | None
    symbol: str | None
    name: str | None
    holding_type: str | None
    holding_sub_type: str | None
    position_type: str | None
    held_in_account: str | None
    units: Decimal
    unit_price: Decimal | None
    market_value: Decimal | None
    cash: bool
    tax_lots: tuple[TaxLot, ...]


@attrs.frozen
class InvestmentAccount:
    """An FDX ``InvestmentAccount`` (from ``GET /accounts/{accountId}``): balances and holdings."""

    account: FdxAccount
    balance_as_of: dt.datetime | None
    current_value: Decimal | None
    available_cash: Decimal | None
    holdings: tuple[Holding, ...]


@attrs.frozen
class InvestmentTransaction:
    """An FDX ``InvestmentTransaction``."""

    account_id: str
    transaction_id: str
    posted: dt.datetime
    transacted: dt.datetime | None
    settled: dt.datetime | None
    status: str | None
    transaction_type: str
    description: str | None
    security_id: str | None
    security_id_type: str | None
    symbol: str | None
    units: Decimal | None
    unit_price: Decimal | None
    amount: Decimal
    commission: Decimal | None
    fees: Decimal | None


# ---------------------------------------------------------------------------
# Field reading with located errors
# ---------------------------------------------------------------------------


class _Where:
    """Where a value came from: the endpoint and the page, for error messages."""

    def __init__(self, endpoint: str, page: int, offset: str | None):
        self.endpoint, self.page, self.offset = endpoint, page, offset

    def __str__(self) -> str:
        offset = f", offset {self.offset}" if self.offset is not None else ""
        return f"FDX {self.endpoint} page {self.page}{offset}"

    def fail(self, field: str, message: str) -> CustodianError:
        return CustodianError(f"{self}: field {field}: {message}")

    def obj(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, f"expected an object, got {_kind(value)}")
        return value

    def array(self, obj: dict[str, Any], key: str, path: str, *, required: bool = True) -> list[Any]:
        value = obj.get(key)
        if value is None:
            if required:
                raise self.fail(f"{path}.{key}" if path else key, "missing")
            return []
        if not isinstance(value, list):
            raise self.fail(f"{path}.{key}" if path else key, f"expected an array, got {_kind(value)}")
        return value

    def text(self, obj: dict[str, Any], key: str, path: str, *, required: bool = False) -> str | None:
        value = _get(self, obj, key, path, required)
        if value is None:
            return None
        if isinstance(value, dict) and key == "currency":  # {"currencyCode": "USD"}
            value = value.get("currencyCode")
        if not isinstance(value, str) or not value:
            raise self.fail(f"{path}.{key}", f"expected text, got {_kind(value)}")
        return value

    def required_text(self, obj: dict[str, Any], key: str, path: str) -> str:
        value = self.text(obj, key, path, required=True)
        assert value is not None
        return value

    def number(self, obj: dict[str, Any], key: str, path: str, *, required: bool = False) -> Decimal | None:
        value = _get(self, obj, key, path, required)
        if value is None:
            return None
        if not isinstance(value, Decimal):  # the JSON is parsed with every number as a Decimal
            raise self.fail(f"{path}.{key}", f"expected a number, got {_kind(value)}")
        return value

    def required_number(self, obj: dict[str, Any], key: str, path: str) -> Decimal:
        value = self.number(obj, key, path, required=True)
        assert value is not None
        return value

    def date(self, obj: dict[str, Any], key: str, path: str, *, required: bool = False) -> dt.date | None:
        text = self.text(obj, key, path, required=required)
        if text is None:
            return None
        try:
            return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text).date()
        except ValueError:
            raise self.fail(f"{path}.{key}", f"{text!r} is not a date (YYYY-MM-DD)") from None

    def timestamp(self, obj: dict[str, Any], key: str, path: str, *,
                  required: bool = False) -> dt.datetime | None:
        text = self.text(obj, key, path, required=required)
        if text is None:
            return None
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(f"{path}.{key}", f"{text!r} is not an ISO 8601 timestamp") from None
        if value.tzinfo is None:
            raise self.fail(f"{path}.{key}", f"{text!r} has no time zone (expected e.g. 2024-01-12T21:00:00Z)")
        return value

    def flag(self, obj: dict[str, Any], key: str, path: str) -> bool:
        value = obj.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.fail(f"{path}.{key}", f"expected true or false, got {_kind(value)}")
        return value


def _get(where: _Where, obj: dict[str, Any], key: str, path: str, required: bool) -> Any:
    value = obj.get(key)
    if value is None and required:
        raise where.fail(f"{path}.{key}", "missing")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Decimal):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return {dict: "an object", list: "an array"}.get(type(value), type(value).__name__)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _unwrap(where: _Where, item: Any, path: str, suffix: str) -> tuple[str, dict[str, Any], str]:
    """``{"investmentAccount": {...}}`` → ("investmentAccount", {...}, path); a bare object passes."""
    item = where.obj(item, path)
    if len(item) == 1:
        (key, value), = item.items()
        if key.endswith(suffix) and isinstance(value, dict):
            return key, value, f"{path}.{key}"
    return "", item, path


# ---------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------


@attrs.define(eq=False)
class FdxClient:
    """An FDX Core API reader over HTTP.

    ``base_url`` is the API root (e.g. ``https://api.fi.com/fdx/v5``); ``token`` is sent as a
    bearer token (for Akoya, the id_token). 429 and 5xx responses and transport errors are retried
    ``retries`` times, waiting ``backoff * 2**attempt`` seconds (or the server's Retry-After).
    """

    base_url: str
    token: str | None = attrs.field(default=None, repr=False)
    page_size: int = DEFAULT_PAGE_SIZE
    timeout: float = 30.0
    retries: int = 2
    backoff: float = 0.5
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    _http: httpx.Client = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout,
                                  transport=self.transport)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> FdxClient:
        """A client configured by ``SMARTX_FIDELITY_FDX_URL`` and ``SMARTX_FIDELITY_FDX_TOKEN``."""
        environ = os.environ if environ is None else environ
        url = environ.get("SMARTX_FIDELITY_FDX_URL")
        if not url:
            raise CustodianError("SMARTX_FIDELITY_FDX_URL is not set: the FDX base URL, e.g. https://api.fi.com/fdx/v5")
        return cls(url, token=environ.get("SMARTX_FIDELITY_FDX_TOKEN") or None, **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FdxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ---------------------------------------------------------------

    def accounts(self) -> tuple[FdxAccount, ...]:
        """Every account of the customer (``GET /accounts``), all pages."""
        found = []
        for where, items in self._pages("/accounts", {"ResultTypeQuery": "lightweight"}, "accounts"):
            for i, item in enumerate(items):
                kind, body, path = _unwrap(where, item, f"accounts[{i}]", "Account")
                found.append(_descriptor(where, body, path, kind))
        return tuple(found)

    def account(self, account_id: str) -> InvestmentAccount:
        """One investment account with its balances and holdings with tax lots."""
        endpoint = f"/accounts/{account_id}"
        where = _Where(f"GET {endpoint}", 1, None)
        kind, body, root = _unwrap(where, self._get_json(where, endpoint, {}), "account", "Account")
        account = _descriptor(where, body, root, kind or "investmentAccount")
        holdings = tuple(_holding(where, h, f"{root}.holdings[{i}]")
                         for i, h in enumerate(where.array(body, "holdings", root, required=False)))
        return InvestmentAccount(account, where.timestamp(body, "balanceAsOf", root),
                                 where.number(body, "currentValue", root),
                                 where.number(body, "availableCashBalance", root), holdings)

    def holdings(self, account_id: str) -> tuple[Holding, ...]:
        """The holdings, with tax lots, of one account."""
        return self.account(account_id).holdings

    def transactions(self, account_id: str, start: dt.date | None = None,
                     end: dt.date | None = None) -> tuple[InvestmentTransaction, ...]:
        """The investment transactions of one account between ``start`` and ``end``, all pages."""
        params = {}
        if start is not None:
            params["startTime"] = start.isoformat()
        if end is not None:
            params["endTime"] = end.isoformat()
        found = []
        for where, items in self._pages(f"/accounts/{account_id}/transactions", params, "transactions"):
            for i, item in enumerate(items):
                _, body, path = _unwrap(where, item, f"transactions[{i}]", "Transaction")
                found.append(_transaction(where, body, path))
        return tuple(found)

    # -- HTTP ----------------------------------------------------------------

    def _pages(self, endpoint: str, params: dict[str, str], key: str):
        """Every page's (where, items), read in full before any is yielded: all or nothing."""
        pages: list[tuple[_Where, list[Any]]] = []
        url: str = endpoint
        query: dict[str, Any] = {**params, "limit": self.page_size}
        offset: str | None = None
        seen: set[str] = set()
        total: int | None = None
        while True:
            where = _Where(f"GET {endpoint}", len(pages) + 1, offset)
            if len(pages) >= MAX_PAGES:
                raise CustodianError(f"{where}: more than {MAX_PAGES} pages; the server keeps paginating")
            body = where.obj(self._get_json(where, url, query), "(response)")
            pages.append((where, where.array(body, key, "")))
            page = body.get("page")
            next_href = next_offset = None
            if page is not None:
                page = where.obj(page, "page")
                total_value = where.number(page, "total", "page")
                if total_value is not None:
                    if total_value != total_value.to_integral_value() or total_value < 0:
                        raise where.fail("page.total", f"expected a count, got {total_value}")
                    total = int(total_value)
                raw_offset = page.get("nextOffset")
                if raw_offset is not None:
                    if isinstance(raw_offset, Decimal):
                        raw_offset = str(raw_offset)
                    if not isinstance(raw_offset, str):
                        raise where.fail("page.nextOffset", f"expected text, got {_kind(raw_offset)}")
                    next_offset = raw_offset
            links = body.get("links")
            if links is not None:
                nxt = where.obj(links, "links").get("next")
                if nxt is not None:
                    next_href = where.text(where.obj(nxt, "links.next"), "href", "links.next", required=True)
            if next_href is None and next_offset is None:
                break
            marker = next_href or f"offset={next_offset}"
            if marker in seen:
                raise CustodianError(f"{where}: pagination loops back to {marker}")
            seen.add(marker)
            offset = next_offset
            if next_href is not None:
                url, query = next_href, {}
            else:
                url, query = endpoint, {**params, "limit": self.page_size, "offset": next_offset}
        count = sum(len(items) for _, items in pages)
        if total is not None and count != total:
            raise CustodianError(f"FDX GET {endpoint}: page.total says {total} items, but {len(pages)} "
                                 f"page{'s' * (len(pages) != 1)} held {count}")
        return pages

    def _get_json(self, where: _Where, url: str, params: Mapping[str, Any]) -> Any:
        attempt = 0
        while True:
            try:
                response = self._http.get(url, params=params or None)
            except httpx.HTTPError as exc:
                if attempt < self.retries:
                    self.sleep(self.backoff * 2 ** attempt)
                    attempt += 1
                    continue
                raise CustodianError(f"{where}: request failed: {exc}") from exc
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                self.sleep(_retry_after(response) or self.backoff * 2 ** attempt)
                attempt += 1
                continue
            break
        if response.status_code >= 400:
            raise CustodianError(f"{where}: HTTP {response.status_code}{_fdx_error(response)}")
        try:
            return json.loads(response.content, parse_float=Decimal, parse_int=Decimal,
                              parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise CustodianError(f"{where}: malformed JSON: {exc}") from None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return min(float(value), 60.0) if value.isdigit() else None


def _fdx_error(response: httpx.Response) -> str:
    """`` (FDX 701: Account not found)`` when the body is an FDX error."""
    try:
        body = response.json()
        return f" (FDX {body['code']}: {body['message']})"
    except (ValueError, KeyError, TypeError):
        return ""


# ---------------------------------------------------------------------------
# Schema readers
# ---------------------------------------------------------------------------


def _descriptor(where: _Where, body: dict[str, Any], path: str, kind: str) -> FdxAccount:
    return FdxAccount(
        account_id=where.required_text(body, "accountId", path),
        kind=kind or where.text(body, "accountCategory", path) or "",
        account_type=where.text(body, "accountType", path),
        number_display=where.text(body, "accountNumberDisplay", path),
        status=where.text(body, "status", path),
        currency=where.text(body, "currency", path),
        nickname=where.text(body, "nickname", path),
        product_name=where.text(body, "productName", path),
    )


def _holding(where: _Where, item: Any, path: str) -> Holding:
    body = where.obj(item, path)
    if body.get("symbol") is None and body.get("securityId") is None:
        raise where.fail(f"{path}.securityId", "missing (a holding needs a securityId or a symbol)")
    lots = tuple(_lot(where, lot, f"{path}.taxLots[{i}]")
                 for i, lot in enumerate(where.array(body, "taxLots", path, required=False)))
    return Holding(
        holding_id=where.text(body, "holdingId", path),
        security_id=where.text(body, "securityId", path),
        security_id_type=where.text(body, "securityIdType", path),
        symbol=where.text(body, "symbol", path),
        name=where.text(body, "holdingName", path),
        holding_type=where.text(body, "holdingType", path),
        holding_sub_type=where.text(body, "holdingSubType", path),
        position_type=where.text(body, "positionType", path),
        held_in_account=where.text(body, "heldInAccount", path),
        units=where.required_number(body, "units", path),
        unit_price=where.number(body, "currentUnitPrice", path),
        market_value=where.number(body, "marketValue", path),
        cash=where.flag(body, "cashAccount", path),
        tax_lots=lots,
    )


def _lot(where: _Where, item: Any, path: str) -> TaxLot:
    body = where.obj(item, path)
    acquired = where.date(body, "originalPurchaseDate", path, required=True)
    assert acquired is not None
    return TaxLot(
        acquired=acquired,
        quantity=where.required_number(body, "quantity", path),
        cost_basis=where.required_number(body, "costBasis", path),
        purchased_price=where.number(body, "purchasedPrice", path),
        current_value=where.number(body, "currentValue", path),
        position_type=where.text(body, "positionType", path),
    )


def _transaction(where: _Where, body: dict[str, Any], path: str) -> InvestmentTransaction:
    posted = where.timestamp(body, "postedTimestamp", path, required=True)
    assert posted is not None
    units = where.number(body, "units", path)
    if units is None:
        units = where.number(body, "shares", path)
    unit_price = where.number(body, "unitPrice", path)
    if unit_price is None:
        unit_price = where.number(body, "price", path)
    return InvestmentTransaction(
        account_id=where.required_text(body, "accountId", path),
        transaction_id=where.required_text(body, "transactionId", path),
        posted=posted,
        transacted=where.timestamp(body, "transactionTimestamp", path),
        settled=where.timestamp(body, "settlementTimestamp", path),
        status=where.text(body, "status", path),
        transaction_type=where.required_text(body, "transactionType", path),
        description=where.text(body, "description", path),
        security_id=where.text(body, "securityId", path),
        security_id_type=where.text(body, "securityIdType", path),
        symbol=where.text(body, "symbol", path),
        units=units,
        unit_price=unit_price,
        amount=where.required_number(body, "amount", path),
        commission=where.number(body, "commission", path),
        fees=where.number(body, "fees", path),
    )
