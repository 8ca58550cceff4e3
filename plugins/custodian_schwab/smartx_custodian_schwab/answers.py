"""What the Schwab Trader API answers, as typed values, and how its JSON is read into them.

Quantities and money are ``Decimal`` (JSON numbers are parsed as Decimal, never float). A
malformed body or a missing field raises :class:`smartx_engine.CustodianError` naming the
endpoint and the field's path.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import httpx

from smartx_engine import CustodianError

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@attrs.frozen
class AccountNumber:
    account_number: str
    hash_value: str


@attrs.frozen
class Position:
    symbol: str
    asset_type: str
    quantity: Decimal  # longQuantity - shortQuantity
    average_price: Decimal | None  # taxLotAverageLongPrice when present, else averagePrice
    market_value: Decimal | None
    cusip: str | None = None


@attrs.frozen
class Balances:
    cash: Decimal  # totalCash (cash accounts), cashBalance (margin), else initialBalances.cashBalance
    cash_available_for_trading: Decimal | None
    liquidation_value: Decimal | None


@attrs.frozen
class AccountDetail:
    account_number: str
    type: str  # CASH | MARGIN
    balances: Balances
    positions: tuple[Position, ...]


@attrs.frozen
class TransferItem:
    symbol: str
    asset_type: str
    amount: Decimal
    cost: Decimal
    price: Decimal | None
    fee_type: str | None
    position_effect: str | None


@attrs.frozen
class TransactionRecord:
    activity_id: int
    time: str
    type: str
    status: str | None
    order_id: int | None
    net_amount: Decimal
    items: tuple[TransferItem, ...]
    trade_date: str | None = None  # tradeDate, when given (else ``time`` is the trade's moment)
    description: str | None = None


@attrs.frozen
class Execution:
    leg_id: int
    quantity: Decimal
    price: Decimal
    time: str
    activity_id: int | None = None  # the orderActivityCollection element's activityId


@attrs.frozen
class OrderState:
    order_id: int
    status: str
    symbol: str
    instruction: str
    quantity: Decimal
    filled_quantity: Decimal
    remaining_quantity: Decimal
    entered_time: str | None
    status_description: str | None
    executions: tuple[Execution, ...]

    @property
    def average_fill_price(self) -> Decimal | None:
        """The quantity-weighted mean of the execution prices (never the limit price)."""
        filled = sum((e.quantity for e in self.executions), Decimal(0))
        if not filled:
            return None
        return sum((e.quantity * e.price for e in self.executions), Decimal(0)) / filled

    @property
    def partially_filled(self) -> bool:
        return self.filled_quantity > 0 and self.remaining_quantity > 0


def equity_order(symbol: str, instruction: str, quantity: int | Decimal, *,
                 limit_price: Decimal | None = None, tax_lot_method: str | None = None,
                 session: str = "NORMAL", duration: str = "DAY") -> dict[str, Any]:
    """The wire JSON of a single-leg equity order, as schwab-py builds it (prices as strings)."""
    quantity = Decimal(quantity)
    if quantity <= 0 or quantity != quantity.to_integral_value():
        raise ValueError(f"equity order quantity must be a positive whole number, not {quantity}")
    order: dict[str, Any] = {
        "session": session, "duration": duration, "orderType": "MARKET" if limit_price is None else "LIMIT",
        "orderLegCollection": [{"instruction": instruction, "quantity": int(quantity),
                                "instrument": {"assetType": "EQUITY", "symbol": symbol}}],
        "orderStrategyType": "SINGLE",
    }
    if limit_price is not None:
        order["price"] = str(limit_price)
    if tax_lot_method is not None:
        order["taxLotMethod"] = tax_lot_method
    return order


# ---------------------------------------------------------------------------
# Parsing: every missing or malformed field names the endpoint and its path
# ---------------------------------------------------------------------------

_MISSING = object()


def _json(response: httpx.Response, endpoint: str) -> Any:
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        raise CustodianError(f"Schwab {endpoint}: response is not valid JSON ({exc})") from None


def _get(obj: Any, key: str, endpoint: str, where: str = "", *, required: bool = True) -> Any:
    value = obj.get(key, _MISSING) if isinstance(obj, dict) else _MISSING
    if value is _MISSING or value is None:
        if required:
            raise CustodianError(f"Schwab {endpoint}: missing field {where}{key}")
        return None
    return value


def _obj(obj: Any, key: str, endpoint: str, where: str = "") -> dict[str, Any]:
    value = _get(obj, key, endpoint, where)
    if not isinstance(value, dict):
        raise CustodianError(f"Schwab {endpoint}: field {where}{key} should be an object")
    return value


def _first(*values: Decimal | None) -> Decimal | None:
    return next((v for v in values if v is not None), None)


def _list(value: Any, endpoint: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise CustodianError(f"Schwab {endpoint}: field {where} should be a list, not {type(value).__name__}")
    return value


def _dec(obj: Any, key: str, endpoint: str, where: str = "", *, required: bool = True) -> Decimal | None:
    value = _get(obj, key, endpoint, where, required=required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise CustodianError(f"Schwab {endpoint}: field {where}{key} is not a number: {value!r}")
    try:
        return Decimal(value)
    except ArithmeticError:
        raise CustodianError(f"Schwab {endpoint}: field {where}{key} is not a number: {value!r}") from None


def _account(body: Any, endpoint: str, where: str = "") -> AccountDetail:
    acct = _obj(body, "securitiesAccount", endpoint, where)
    where += "securitiesAccount."
    current = _obj(acct, "currentBalances", endpoint, where) if "currentBalances" in acct else {}
    initial = _obj(acct, "initialBalances", endpoint, where) if "initialBalances" in acct else {}
    cash = _first(_dec(current, "totalCash", endpoint, required=False),
                  _dec(current, "cashBalance", endpoint, required=False),
                  _dec(initial, "cashBalance", endpoint, required=False))
    if cash is None:
        raise CustodianError(f"Schwab {endpoint}: missing field {where}currentBalances.totalCash "
                             f"(nor currentBalances.cashBalance, initialBalances.cashBalance)")
    positions = []
    for i, row in enumerate(_list(acct.get("positions", []), endpoint, f"{where}positions")):
        at = f"{where}positions[{i}]."
        instrument = _obj(row, "instrument", endpoint, at)
        long_ = _dec(row, "longQuantity", endpoint, at)
        short = _dec(row, "shortQuantity", endpoint, at, required=False) or Decimal(0)
        average = _first(_dec(row, "taxLotAverageLongPrice", endpoint, at, required=False),
                         _dec(row, "averagePrice", endpoint, at, required=False))
        positions.append(Position(
            symbol=str(_get(instrument, "symbol", endpoint, at + "instrument.")),
            asset_type=str(_get(instrument, "assetType", endpoint, at + "instrument.")),
            quantity=long_ - short, average_price=average,
            market_value=_dec(row, "marketValue", endpoint, at, required=False),
            cusip=instrument.get("cusip")))
    return AccountDetail(
        account_number=str(_get(acct, "accountNumber", endpoint, where)),
        type=str(_get(acct, "type", endpoint, where)),
        balances=Balances(cash,
                          _dec(current, "cashAvailableForTrading", endpoint, required=False),
                          _dec(initial, "liquidationValue", endpoint, required=False)),
        positions=tuple(positions))


def _transaction(row: Any, endpoint: str, where: str) -> TransactionRecord:
    items = []
    if not isinstance(row, dict):
        raise CustodianError(f"Schwab {endpoint}: {where or '$'} should be an object")
    for i, item in enumerate(_list(row.get("transferItems", []), endpoint, f"{where}transferItems")):
        at = f"{where}transferItems[{i}]."
        instrument = _obj(item, "instrument", endpoint, at)
        items.append(TransferItem(
            symbol=str(_get(instrument, "symbol", endpoint, at + "instrument.")),
            asset_type=str(_get(instrument, "assetType", endpoint, at + "instrument.")),
            amount=_dec(item, "amount", endpoint, at), cost=_dec(item, "cost", endpoint, at),
            price=_dec(item, "price", endpoint, at, required=False),
            fee_type=item.get("feeType"), position_effect=item.get("positionEffect")))
    order_id = _get(row, "orderId", endpoint, where, required=False)
    return TransactionRecord(
        activity_id=int(_get(row, "activityId", endpoint, where)), time=str(_get(row, "time", endpoint, where)),
        type=str(_get(row, "type", endpoint, where)), status=row.get("status"),
        order_id=int(order_id) if order_id is not None else None,
        net_amount=_dec(row, "netAmount", endpoint, where), items=tuple(items),
        trade_date=row.get("tradeDate"), description=row.get("description"))


def _order(body: Any, endpoint: str, where: str = "") -> OrderState:
    if not isinstance(body, dict):
        raise CustodianError(f"Schwab {endpoint}: {where or '$'} should be an object")
    legs = _list(_get(body, "orderLegCollection", endpoint, where), endpoint, f"{where}orderLegCollection")
    if not legs:
        raise CustodianError(f"Schwab {endpoint}: field {where}orderLegCollection is empty")
    leg = legs[0]
    executions = []
    for i, activity in enumerate(_list(body.get("orderActivityCollection", []), endpoint,
                                       f"{where}orderActivityCollection")):
        if not isinstance(activity, dict) or activity.get("activityType") != "EXECUTION":
            continue
        activity_id = activity.get("activityId")
        for j, ex in enumerate(_list(_get(activity, "executionLegs", endpoint, f"{where}orderActivityCollection[{i}]."),
                                     endpoint, f"{where}orderActivityCollection[{i}].executionLegs")):
            at = f"{where}orderActivityCollection[{i}].executionLegs[{j}]."
            executions.append(Execution(int(_get(ex, "legId", endpoint, at)), _dec(ex, "quantity", endpoint, at),
                                        _dec(ex, "price", endpoint, at), str(_get(ex, "time", endpoint, at)),
                                        int(activity_id) if activity_id is not None else None))
    return OrderState(
        order_id=int(_get(body, "orderId", endpoint, where)), status=str(_get(body, "status", endpoint, where)),
        symbol=str(_get(_obj(leg, "instrument", endpoint, f"{where}orderLegCollection[0]."), "symbol",
                        endpoint, f"{where}orderLegCollection[0].instrument.")),
        instruction=str(_get(leg, "instruction", endpoint, f"{where}orderLegCollection[0].")),
        quantity=_dec(body, "quantity", endpoint, where),
        filled_quantity=_dec(body, "filledQuantity", endpoint, where),
        remaining_quantity=_dec(body, "remainingQuantity", endpoint, where),
        entered_time=body.get("enteredTime"), status_description=body.get("statusDescription"),
        executions=tuple(executions))


def _service_error(response: httpx.Response) -> str:
    """The message of a Schwab ``ServiceError`` (or an OAuth error) body, with the correlation id."""
    try:
        body = json.loads(response.content)
        message = body.get("message") or body.get("error_description") or body.get("error") or body
    except (ValueError, AttributeError):
        message = response.text[:200] or response.reason_phrase
    correl = response.headers.get("Schwab-Client-CorrelId")
    return f"{message}" + (f" (Schwab-Client-CorrelId {correl})" if correl else "")


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds, or None (absent, or an HTTP-date: then the backoff applies)."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _iso(moment: datetime) -> str:
    """``yyyy-MM-dd'T'HH:mm:ss.SSSZ`` in UTC, as Schwab's date parameters want."""
    if moment.tzinfo is None:
        raise ValueError("Schwab dates must be timezone-aware")
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
