"""Domain values: households, accounts, securities, lots, cash, models, sleeves, trades, orders.

Values are frozen attrs classes with validators for their invariants. Money and quantities are
``Decimal`` (see :mod:`smartx_engine.fixedpoint`); dates are ``datetime.date``. Rows from the
store become values through named constructors (``Lot.from_row``), never ``Lot(**row)``.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from .fixedpoint import MONEY, PRICE, QUANTITY, WEIGHT, round_money, to_decimal

CASH_SYMBOL = "$CASH"
#: The weights of a model in the CSV book must sum to 1 within this tolerance.
WEIGHT_TOLERANCE = Decimal("0.000001")
#: ... and those of a version from a model feed within this one (the loosest any stored version is)
FEED_WEIGHT_TOLERANCE = Decimal("0.0001")

_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
_SYMBOL = re.compile(r"^(\$CASH|[A-Z0-9][A-Z0-9./-]*)$")
_LOWER_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CUSIP = re.compile(r"^[0-9A-Z*@#]{8}[0-9]$")
_CUSIP_SPECIAL = {"*": 36, "@": 37, "#": 38}


class TaxTreatment(enum.StrEnum):
    TAXABLE = "taxable"
    TAX_DEFERRED = "tax_deferred"
    TAX_EXEMPT = "tax_exempt"


class Registration(enum.StrEnum):
    """How an account is registered, which decides its tax treatment."""

    TAXABLE = "taxable"
    INDIVIDUAL = "individual"
    JOINT = "joint"
    TRUST = "trust"
    CORPORATE = "corporate"
    CUSTODIAL = "custodial"
    IRA = "ira"
    ROLLOVER_IRA = "rollover_ira"
    SEP_IRA = "sep_ira"
    SIMPLE_IRA = "simple_ira"
    INHERITED_IRA = "inherited_ira"
    K401 = "401k"
    B403 = "403b"
    ROTH = "roth"
    HSA = "hsa"
    PLAN_529 = "529"

    @property
    def tax_treatment(self) -> TaxTreatment:
        if self in _TAX_EXEMPT:
            return TaxTreatment.TAX_EXEMPT
        if self in _TAX_DEFERRED:
            return TaxTreatment.TAX_DEFERRED
        return TaxTreatment.TAXABLE


_TAX_DEFERRED = {
    Registration.IRA, Registration.ROLLOVER_IRA, Registration.SEP_IRA, Registration.SIMPLE_IRA,
    Registration.INHERITED_IRA, Registration.K401, Registration.B403,
}
_TAX_EXEMPT = {Registration.ROTH, Registration.HSA, Registration.PLAN_529}


class TransactionType(enum.StrEnum):
    """A cash or security movement; ``amount`` carries the sign of its cash effect."""

    BUY = "buy"
    SELL = "sell"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    DIVIDEND = "dividend"
    FEE = "fee"
    #: shares moved between two sleeves of one account (a crossing), paid for in cash at the crossing's
    #: price: the lots keep their basis and holding period; neither a purchase nor a sale for tax
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"

    @property
    def cash_sign(self) -> int:
        """+1 when the transaction brings cash in, -1 when it takes cash out."""
        return 1 if self in {self.SELL, self.DEPOSIT, self.DIVIDEND, self.TRANSFER_OUT} else -1

    @property
    def moves_shares(self) -> bool:
        return self in {self.BUY, self.SELL, self.TRANSFER_IN, self.TRANSFER_OUT}

    @property
    def share_sign(self) -> int:
        """+1 when the sleeve gains the shares (a buy, a transfer in), -1 when it gives them up."""
        return 1 if self in {self.BUY, self.TRANSFER_IN} else -1

    @property
    def needs_symbol(self) -> bool:
        return self in {self.BUY, self.SELL, self.DIVIDEND, self.TRANSFER_IN, self.TRANSFER_OUT}


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"


class TradeStatus(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    FAILED = "failed"


class OrderStatus(enum.StrEnum):
    PENDING = "pending"  # recorded with its client order id, not yet acknowledged
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class Term(enum.StrEnum):
    SHORT = "short"
    LONG = "long"


#: the lot relief methods an account can default to (a sell may also name its lot)
ACCOUNT_LOT_METHODS = ("FIFO", "LIFO", "HIFO", "LOFO", "MIN_TAX")


# ---------------------------------------------------------------- validators


def identifier(text: str) -> str:
    """``text`` if it is a valid id (account, sleeve, lot, model ...), else ValueError."""
    if not _IDENTIFIER.match(text):
        raise ValueError(
            f"{text!r} is not a valid id (letters, digits and . _ : / -, starting with a letter or digit)"
        )
    return text


def symbol(text: str) -> str:
    """``text`` if it is a valid security symbol (or ``$CASH``), else ValueError."""
    if not _SYMBOL.match(text):
        raise ValueError(f"{text!r} is not a valid symbol (upper-case letters, digits, . / -)")
    return text


def security_symbol(text: str) -> str:
    """``text`` if it is a valid symbol of a security (not ``$CASH``), else ValueError."""
    if symbol(text) == CASH_SYMBOL:
        raise ValueError(f"{CASH_SYMBOL} is cash, not a security; cash goes in cash.csv")
    return text


def cusip_check_digit(base: str) -> int:
    """The check digit of the first 8 characters of a CUSIP (the "modulus 10 double add double")."""
    total = 0
    for position, char in enumerate(base[:8]):
        value = int(char) if char.isdigit() else _CUSIP_SPECIAL.get(char, ord(char) - ord("A") + 10)
        value *= 2 if position % 2 else 1
        total += value // 10 + value % 10
    return (10 - total % 10) % 10


def cusip(text: str) -> str:
    """``text`` if it is a CUSIP (9 characters: 8 upper-case letters, digits, ``*@#``, then a
    valid check digit), else ValueError."""
    if not _CUSIP.match(text):
        raise ValueError(f"{text!r} is not a CUSIP: 9 characters, upper-case letters and digits, the last a digit")
    if int(text[8]) != (digit := cusip_check_digit(text)):
        raise ValueError(f"{text!r} is not a valid CUSIP: its check digit should be {digit}, not {text[8]}")
    return text


def lower_name(text: str) -> str:
    """``text`` if it is a lower-case name like ``us_equity``, else ValueError."""
    if not _LOWER_NAME.match(text):
        raise ValueError(f"{text!r} must be a lower-case name like 'us_equity'")
    return text


def _checks(check, *, optional: bool = False):
    """An attrs validator from a checking function; None passes only when ``optional``."""

    def validate(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None:
            if not optional:
                raise TypeError(f"{attribute.name} is required")
            return
        check(value)

    return validate


_identifier = _checks(identifier)
_optional_identifier = _checks(identifier, optional=True)
_symbol = _checks(symbol)
_security_symbol = _checks(security_symbol)
_lower_name = _checks(lower_name)
_optional_cusip = _checks(cusip, optional=True)


def _non_empty(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if not value.strip():
        raise ValueError(f"{attribute.name} must not be empty")


def _fits(scale):
    def check(instance: Any, attribute: attrs.Attribute, value: Decimal) -> None:
        scale.check(value)

    return check


def _non_negative(instance: Any, attribute: attrs.Attribute, value: Decimal) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value}")


def _positive(instance: Any, attribute: attrs.Attribute, value: Decimal) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be greater than zero, got {value}")


def _fraction(instance: Any, attribute: attrs.Attribute, value: Decimal) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value}")



def parse_date(text: str) -> dt.date:
    """A calendar date written ``YYYY-MM-DD``, else ValueError."""
    if not _ISO_DATE.match(text):
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD")
    return dt.date.fromisoformat(text)


def _date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise TypeError("dates are dates, not datetimes")
    return value if isinstance(value, dt.date) else parse_date(value)


# ---------------------------------------------------------------- book values


@attrs.frozen
class Household:
    household_id: str = attrs.field(validator=_identifier)
    name: str = attrs.field(validator=_non_empty)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Household:
        return cls(row["household_id"], row["name"])


@attrs.frozen
class Account:
    """A custodial account; its registration decides how it is taxed."""

    account_id: str = attrs.field(validator=_identifier)
    name: str = attrs.field(validator=_non_empty)
    custodian: str = attrs.field(validator=_lower_name)
    household_id: str = attrs.field(validator=_identifier)
    registration: Registration = attrs.field(converter=Registration)
    st_tax_rate: Decimal = attrs.field(converter=to_decimal, validator=[_fraction, _fits(WEIGHT)])
    lt_tax_rate: Decimal = attrs.field(converter=to_decimal, validator=[_fraction, _fits(WEIGHT)])
    #: how the custodian relieves lots of a sell that names none (history and fills)
    lot_method: str = attrs.field(default="FIFO", validator=attrs.validators.in_(ACCOUNT_LOT_METHODS))
    #: the account's number at its custodian (None: the same as ``account_id``)
    custodian_account: str | None = attrs.field(default=None, validator=_checks(identifier, optional=True))

    @property
    def custodian_number(self) -> str:
        """The number the custodian knows this account by."""
        return self.custodian_account or self.account_id

    @property
    def tax_treatment(self) -> TaxTreatment:
        return self.registration.tax_treatment

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Account:
        return cls(
            account_id=row["account_id"], name=row["name"], custodian=row["custodian"],
            household_id=row["household_id"], registration=row["registration"],
            st_tax_rate=row["st_tax_rate"], lt_tax_rate=row["lt_tax_rate"], lot_method=row.get("lot_method") or "FIFO",
            custodian_account=row.get("custodian_account"),
        )


@attrs.frozen
class Security:
    symbol: str = attrs.field(validator=_security_symbol)
    name: str = attrs.field(validator=_non_empty)
    asset_class: str = attrs.field(validator=_lower_name)
    price: Decimal = attrs.field(converter=to_decimal, validator=[_positive, _fits(PRICE)])
    #: the security's CUSIP, which model feeds identify it by (tickers change)
    cusip: str | None = attrs.field(default=None, validator=_optional_cusip)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Security:
        return cls(
            symbol=row["symbol"], name=row["name"], asset_class=row["asset_class"],
            price=PRICE.to_decimal(row["price_e6"]), cusip=row.get("cusip"),
        )


@attrs.frozen
class Lot:
    """A tax lot: shares of one security bought together, owned by one sleeve."""

    lot_id: str = attrs.field(validator=_identifier)
    account_id: str = attrs.field(validator=_identifier)
    sleeve_id: str = attrs.field(validator=_identifier)
    symbol: str = attrs.field(validator=_security_symbol)
    quantity: Decimal = attrs.field(converter=to_decimal, validator=[_positive, _fits(QUANTITY)])
    cost_basis: Decimal = attrs.field(converter=to_decimal, validator=[_non_negative, _fits(MONEY)])
    acquired: dt.date = attrs.field(converter=_date)
    #: the holding period's start when a wash sale moved it back (None: ``acquired``)
    holding_from: dt.date | None = attrs.field(default=None, converter=attrs.converters.optional(_date))
    #: disallowed wash-sale loss included in ``cost_basis``
    wash_adjustment: Decimal = attrs.field(default=Decimal(0), converter=to_decimal,
                                           validator=[_non_negative, _fits(MONEY)])

    @property
    def holding_start(self) -> dt.date:
        return self.holding_from or self.acquired

    def term(self, on: dt.date) -> Term:
        """Long-term when sold more than one year after the holding period's start (the day after the anniversary)."""
        return Term.LONG if on > anniversary(self.holding_start) else Term.SHORT

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Lot:
        return cls(
            lot_id=row["lot_id"], account_id=row["account_id"], sleeve_id=row["sleeve_id"],
            symbol=row["symbol"], quantity=QUANTITY.to_decimal(row["quantity_e6"]),
            cost_basis=MONEY.to_decimal(row["cost_basis_cents"]), acquired=row["acquired"],
            holding_from=row.get("holding_from"), wash_adjustment=MONEY.to_decimal(row.get("wash_adjustment_cents") or 0),
        )


def anniversary(day: dt.date) -> dt.date:
    """The same date one year later; 29 February maps to 28 February (a sale after it is long-term)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


@attrs.frozen
class CashBalance:
    """Cash a sleeve holds. Books and deposits never make it negative; a buy filled above its
    estimate can leave a debit, as the custodian debits the account (the next rebalance raises cash)."""

    account_id: str = attrs.field(validator=_identifier)
    sleeve_id: str = attrs.field(validator=_identifier)
    amount: Decimal = attrs.field(converter=to_decimal, validator=_fits(MONEY))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CashBalance:
        return cls(row["account_id"], row["sleeve_id"], MONEY.to_decimal(row["amount_cents"]))


@attrs.frozen
class Transaction:
    """A historical movement of cash or shares in a sleeve; ``amount`` is its signed cash effect."""

    transaction_id: str = attrs.field(validator=_identifier)
    account_id: str = attrs.field(validator=_identifier)
    sleeve_id: str = attrs.field(validator=_identifier)
    date: dt.date = attrs.field(converter=_date)
    type: TransactionType = attrs.field(converter=TransactionType)
    amount: Decimal = attrs.field(converter=to_decimal, validator=_fits(MONEY))
    symbol: str | None = attrs.field(default=None, validator=_checks(security_symbol, optional=True))
    quantity: Decimal | None = attrs.field(default=None, converter=attrs.converters.optional(to_decimal),
                                           validator=_checks(QUANTITY.check, optional=True))
    price: Decimal | None = attrs.field(default=None, converter=attrs.converters.optional(to_decimal),
                                        validator=_checks(PRICE.check, optional=True))
    #: for a sell of one named lot (specific identification); None: the account's lot method
    lot_id: str | None = attrs.field(default=None, validator=_checks(identifier, optional=True))

    def __attrs_post_init__(self) -> None:
        if self.lot_id and self.type != TransactionType.SELL:
            raise ValueError(f"only a sell names a lot, not a {self.type}")
        if self.amount and (self.amount > 0) != (self.type.cash_sign > 0):
            direction = "positive" if self.type.cash_sign > 0 else "negative"
            raise ValueError(f"the amount of a {self.type} must be {direction}, got {self.amount}")
        if self.type.needs_symbol and not self.symbol:
            raise ValueError(f"a {self.type} needs a symbol")
        if self.type.moves_shares:
            if self.quantity is None or self.quantity <= 0:
                raise ValueError(f"a {self.type} needs a quantity greater than zero")
            if self.price is None or self.price < 0:
                raise ValueError(f"a {self.type} needs a price of zero or more")
        else:
            if self.quantity is not None or self.price is not None:
                raise ValueError(f"a {self.type} moves cash only; leave quantity and price empty")
            if not self.amount:
                raise ValueError(f"a {self.type} needs an amount")
            if self.symbol and not self.type.needs_symbol:
                raise ValueError(f"a {self.type} has no symbol")

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Transaction:
        def opt(scale, key):
            return None if row[key] is None else scale.to_decimal(row[key])

        return cls(
            transaction_id=row["transaction_id"],
            account_id=row["account_id"], sleeve_id=row["sleeve_id"], date=row["date"],
            type=row["type"], amount=MONEY.to_decimal(row["amount_cents"]), symbol=row["symbol"],
            quantity=opt(QUANTITY, "quantity_e6"), price=opt(PRICE, "price_e6"), lot_id=row.get("lot_id"),
        )


@attrs.frozen
class PricePoint:
    symbol: str = attrs.field(validator=_security_symbol)
    date: dt.date = attrs.field(converter=_date)
    close: Decimal = attrs.field(converter=to_decimal, validator=[_positive, _fits(PRICE)])


# ---------------------------------------------------------------- targets


@attrs.frozen
class ModelWeight:
    symbol: str = attrs.field(validator=_symbol)
    weight: Decimal = attrs.field(converter=to_decimal, validator=[_fraction, _fits(WEIGHT)])


@attrs.frozen
class ModelVersion:
    """One immutable version of a model: symbols and weights (``$CASH`` for cash) summing to 1
    (within :data:`FEED_WEIGHT_TOLERANCE`; the CSV book holds its versions to :data:`WEIGHT_TOLERANCE`)."""

    model_id: str = attrs.field(validator=_identifier)
    version: str = attrs.field(validator=_identifier)
    weights: tuple[ModelWeight, ...] = attrs.field(converter=tuple)

    def __attrs_post_init__(self) -> None:
        symbols = [w.symbol for w in self.weights]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"model {self.model_id} {self.version} lists a symbol twice")
        total = sum((w.weight for w in self.weights), Decimal(0))
        if abs(total - 1) > FEED_WEIGHT_TOLERANCE:
            raise ValueError(
                f"model {self.model_id} version {self.version} weights sum to {total}, not 1"
            )

    @property
    def cash_weight(self) -> Decimal:
        return sum((w.weight for w in self.weights if w.symbol == CASH_SYMBOL), Decimal(0))

    def as_dict(self) -> dict[str, Decimal]:
        return {w.symbol: w.weight for w in self.weights}


@attrs.frozen
class Sleeve:
    """A bucket of an account with its own target model and policy."""

    sleeve_id: str = attrs.field(validator=_identifier)
    account_id: str = attrs.field(validator=_identifier)
    model_id: str | None = attrs.field(default=None, validator=_optional_identifier)
    policy: str | None = attrs.field(default=None, validator=_optional_identifier)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Sleeve:
        return cls(row["sleeve_id"], row["account_id"], row["model_id"], row["policy"])


# ---------------------------------------------------------------- trading


@attrs.frozen
class Trade:
    """A proposed (then approved, submitted, filled ...) trade of one sleeve."""

    trade_id: str = attrs.field(validator=_identifier)
    run_id: str = attrs.field(validator=_identifier)
    account_id: str = attrs.field(validator=_identifier)
    sleeve_id: str = attrs.field(validator=_identifier)
    symbol: str = attrs.field(validator=_security_symbol)
    side: Side = attrs.field(converter=Side)
    quantity: Decimal = attrs.field(converter=to_decimal, validator=[_positive, _fits(QUANTITY)])
    est_price: Decimal = attrs.field(converter=to_decimal, validator=[_positive, _fits(PRICE)])
    status: TradeStatus = attrs.field(default=TradeStatus.PROPOSED, converter=TradeStatus)
    reasons: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    @property
    def est_value(self) -> Decimal:
        return round_money(self.quantity * self.est_price)


@attrs.frozen
class Order:
    """What is sent to a custodian: one account's net trade in one security."""

    order_id: str = attrs.field(validator=_identifier)
    client_order_id: str = attrs.field(validator=_identifier)
    account_id: str = attrs.field(validator=_identifier)
    symbol: str = attrs.field(validator=_security_symbol)
    side: Side = attrs.field(converter=Side)
    quantity: Decimal = attrs.field(converter=to_decimal, validator=[_positive, _fits(QUANTITY)])
    status: OrderStatus = attrs.field(default=OrderStatus.PENDING, converter=OrderStatus)
    trade_ids: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    filled_quantity: Decimal = attrs.field(
        default=Decimal(0), converter=to_decimal, validator=[_non_negative, _fits(QUANTITY)]
    )

    def __attrs_post_init__(self) -> None:
        if self.filled_quantity > self.quantity:
            raise ValueError("an order cannot fill more than its quantity")
