"""What a client report says: frozen values, filled by the caller, rendered by :mod:`.render`.

Nothing here reads the database or computes a figure; the values carry the figures already
computed (by the reporting services) and check only the invariants that are cheap to check.
Conventions:

- money is ``Decimal`` USD with at most 2 decimals (ints and decimal strings are accepted, floats
  refused); amounts paid out (fees, ``losses_harvested``) are positive;
- weights (actual and target) are ``Decimal`` fractions of the account, ``0.25`` for 25%;
- returns are ``float`` ratios (``0.0123`` for 1.23%) or ``None`` when not available, which the
  report shows as "n/a" with a footnote;
- dates are ``datetime.date``.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import attrs

from ...fixedpoint import MONEY, WEIGHT, to_decimal

TERMS = ("short", "long", "mixed")
#: sums of weights shown in one table may differ from 1 by rounding
_WEIGHT_SLACK = Decimal("0.0001")


# ---------------------------------------------------------------- field helpers


def _money_check(instance: Any, attribute: attrs.Attribute, value: Decimal) -> None:
    MONEY.check(value)


def _weight_check(instance: Any, attribute: attrs.Attribute, value: Decimal) -> None:
    WEIGHT.check(value)
    if not -1 <= value <= 1:  # negative only for an overdrawn cash line
        raise ValueError(f"{attribute.name} is a fraction between -1 and 1, got {value}")


def _non_negative(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value}")


def _ratio(value: float | int | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a return is a float ratio (0.0123 for 1.23%) or None, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"a return must be finite, got {value!r}")
    return float(value)


def _date(value: dt.date) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"expected a datetime.date, got {value!r}")
    return value


def _money_field(*validators: Any, **kwargs: Any) -> Any:
    return attrs.field(converter=to_decimal, validator=[_money_check, *validators], **kwargs)


def _optional_money_field(**kwargs: Any) -> Any:
    return attrs.field(converter=attrs.converters.optional(to_decimal),
                       validator=attrs.validators.optional(_money_check), **kwargs)


def _weight_field(**kwargs: Any) -> Any:
    return attrs.field(converter=to_decimal, validator=_weight_check, **kwargs)


def _optional_weight_field(**kwargs: Any) -> Any:
    return attrs.field(converter=attrs.converters.optional(to_decimal),
                       validator=attrs.validators.optional(_weight_check), **kwargs)


def _ratio_field(**kwargs: Any) -> Any:
    return attrs.field(converter=_ratio, **kwargs)


def _day_field(**kwargs: Any) -> Any:
    return attrs.field(converter=_date, **kwargs)


def _tuple_field(**kwargs: Any) -> Any:
    return attrs.field(converter=tuple, **kwargs)


def _same(what: str, expected: Decimal, got: Decimal) -> None:
    if expected != got:
        raise ValueError(f"{what}: expected {expected}, got {got}")


# ---------------------------------------------------------------- parts


@attrs.frozen
class SleeveSummary:
    """One sleeve of the account at the end of the period."""

    sleeve_id: str
    target_label: str  # "GRO-80-20 2026.2", "Blend: 60% CORE / 40% ESG", "Custom"
    policy: str | None
    value: Decimal = _money_field()
    weight: Decimal = _weight_field()


@attrs.frozen
class AllocationRow:
    """An asset class: its value and weight at the end of the period and its target weight."""

    asset_class: str
    value: Decimal = _money_field()
    weight: Decimal = _weight_field()
    target: Decimal = _weight_field()


@attrs.frozen
class PerformanceRow:
    """Returns over one period ("Quarter", "Year to date", "1 year", "Since inception").

    ``portfolio_twr`` is time-weighted, ``money_weighted`` the internal rate of return over the
    same span, ``benchmark`` the time-weighted return of the target. ``annualized`` says the
    figures are annual rates; only a span of at least a year may be annualised.
    """

    label: str
    start: dt.date = _day_field()
    end: dt.date = _day_field()
    portfolio_twr: float | None = _ratio_field()
    benchmark: float | None = _ratio_field()
    money_weighted: float | None = _ratio_field()
    annualized: bool = False

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"performance row {self.label!r} ends ({self.end}) before it starts ({self.start})")
        if self.annualized and _add_years(self.start, 1) > self.end + dt.timedelta(days=1):
            raise ValueError(f"performance row {self.label!r} spans less than a year and cannot be annualised")

    @property
    def difference(self) -> float | None:
        """Portfolio minus benchmark, when both are known."""
        if self.portfolio_twr is None or self.benchmark is None:
            return None
        return self.portfolio_twr - self.benchmark


@attrs.frozen
class GrowthPoint:
    """End of one day: the account's value, the net amount invested so far, the benchmark's value.

    ``benchmark_value`` is what the net invested amount would be worth had it earned the
    benchmark's return; ``None`` where the benchmark is not available.
    """

    date: dt.date = _day_field()
    value: Decimal = _money_field()
    net_invested: Decimal = _money_field()
    benchmark_value: Decimal | None = _optional_money_field()


@attrs.frozen
class HoldingRow:
    """A position at the end of the period (cash included, as ``$CASH``)."""

    symbol: str
    name: str
    asset_class: str
    quantity: Decimal = attrs.field(converter=to_decimal)
    price: Decimal = attrs.field(converter=to_decimal, validator=_non_negative)
    value: Decimal = _money_field()
    weight: Decimal = _weight_field()
    target: Decimal | None = _optional_weight_field()  # None: not in the target
    cost_basis: Decimal | None = _optional_money_field()  # None: unknown, or not meaningful (cash)
    unrealized_gain: Decimal | None = _optional_money_field()
    term: str | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.in_(TERMS)))


@attrs.frozen
class GainsSummary:
    """Realised gains of the period (signed: a net loss is negative) and unrealised gains at its end.

    ``losses_harvested`` is the amount of losses realised on purpose for tax (positive);
    ``wash_sale_disallowed`` the losses the wash-sale rule deferred (positive).
    """

    realized_short: Decimal = _money_field()
    realized_long: Decimal = _money_field()
    losses_harvested: Decimal = _money_field(_non_negative)
    wash_sale_disallowed: Decimal = _money_field(_non_negative)
    unrealized_short: Decimal = _money_field()
    unrealized_long: Decimal = _money_field()

    @property
    def realized_total(self) -> Decimal:
        return self.realized_short + self.realized_long

    @property
    def unrealized_total(self) -> Decimal:
        return self.unrealized_short + self.unrealized_long


@attrs.frozen
class FeeLine:
    """A fee charged in the period (a positive amount)."""

    payee: str  # "Advisor", "Model manager: Acme", "Platform"
    description: str
    amount: Decimal = _money_field(_non_negative)


@attrs.frozen
class ValueDelivered:
    """What the management did for the client this period.

    ``tax_alpha`` is the estimated tax saved (USD), under ``tax_alpha_assumptions`` (stated in
    the report); ``drift_within_bands`` the share of days the sleeves were within their policy's
    bands (a ratio); ``trades_avoided`` the trades the policy held back. ``None``: not available.
    """

    tax_alpha: Decimal | None = _optional_money_field()
    tax_alpha_assumptions: tuple[str, ...] = _tuple_field(factory=tuple)
    drift_within_bands: float | None = _ratio_field(default=None)
    trades_avoided: int | None = attrs.field(default=None, validator=attrs.validators.optional(_non_negative))
    fees_paid: Decimal = _money_field(_non_negative, default=Decimal(0))

    def __attrs_post_init__(self) -> None:
        if self.drift_within_bands is not None and not 0 <= self.drift_within_bands <= 1:
            raise ValueError(f"drift_within_bands is a share of days, got {self.drift_within_bands}")
        if self.tax_alpha is not None and not self.tax_alpha_assumptions:
            raise ValueError("a tax alpha is shown with its assumptions; tax_alpha_assumptions is empty")


# ---------------------------------------------------------------- the report


@attrs.frozen
class ClientReport:
    """Everything one account's periodic client report shows.

    Checked on construction: the period's dates are in order, ``investment_gain`` is
    ``closing_value - opening_value - net_flows``, the sleeves' and the asset classes' values each
    add up to ``closing_value`` (when given), the fee lines add up to ``fees_paid``, as does
    ``value_delivered.fees_paid``, and the growth points are in date order.
    """

    firm_name: str
    account_id: str
    account_name: str
    household_name: str
    registration: str
    custodian: str
    period_label: str  # "2026Q3"
    period_start: dt.date = _day_field()
    period_end: dt.date = _day_field()
    generated_on: dt.date = _day_field()
    opening_value: Decimal = _money_field()
    closing_value: Decimal = _money_field()
    net_flows: Decimal = _money_field()  # deposits minus withdrawals
    income: Decimal = _money_field()  # dividends and interest received
    fees_paid: Decimal = _money_field(_non_negative)
    investment_gain: Decimal = _money_field()  # closing - opening - net_flows: includes income, net of fees
    sleeves: tuple[SleeveSummary, ...] = _tuple_field(factory=tuple)
    allocation: tuple[AllocationRow, ...] = _tuple_field(factory=tuple)
    performance: tuple[PerformanceRow, ...] = _tuple_field(factory=tuple)
    growth: tuple[GrowthPoint, ...] = _tuple_field(factory=tuple)
    holdings: tuple[HoldingRow, ...] = _tuple_field(factory=tuple)
    gains: GainsSummary = attrs.field(factory=lambda: GainsSummary(0, 0, 0, 0, 0, 0))
    fees: tuple[FeeLine, ...] = _tuple_field(factory=tuple)
    value_delivered: ValueDelivered = attrs.field(factory=ValueDelivered)
    disclosures: tuple[str, ...] = _tuple_field(factory=tuple)

    def __attrs_post_init__(self) -> None:
        if self.period_end < self.period_start:
            raise ValueError(f"the period ends ({self.period_end}) before it starts ({self.period_start})")
        _same("investment_gain (closing - opening - net flows)",
              self.closing_value - self.opening_value - self.net_flows, self.investment_gain)
        if self.sleeves:
            _same("the sleeves' values add up to the closing value", self.closing_value,
                  sum((s.value for s in self.sleeves), Decimal(0)))
        if self.allocation:
            _same("the asset classes' values add up to the closing value", self.closing_value,
                  sum((a.value for a in self.allocation), Decimal(0)))
            target = sum((a.target for a in self.allocation), Decimal(0))
            if abs(target - 1) > _WEIGHT_SLACK:
                raise ValueError(f"the allocation's target weights add up to {target}, not 1")
        if self.fees:
            _same("the fee lines add up to fees_paid", self.fees_paid,
                  sum((f.amount for f in self.fees), Decimal(0)))
        _same("value_delivered.fees_paid is fees_paid", self.fees_paid, self.value_delivered.fees_paid)
        dates = [p.date for p in self.growth]
        if any(b <= a for a, b in zip(dates, dates[1:])):
            raise ValueError("the growth points must be in strictly increasing date order")

    @property
    def has_unavailable_returns(self) -> bool:
        return any(None in (r.portfolio_twr, r.benchmark, r.money_weighted) for r in self.performance)


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
