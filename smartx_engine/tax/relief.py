"""Lot relief: which lots a sell uses, how much of each, and the basis, term and gain of each part.

A sell of ``quantity`` shares at ``price`` on ``sold`` relieves the lots of one sleeve and security
in an order set by a :class:`Method` (:func:`relief_order`), whole lots first and the last one
partially (:func:`relieve`). The methods (docs/tax.md, "Lot relief"):

- ``FIFO``: oldest ``acquired`` first; same date: lot id ascending.
- ``LIFO``: newest ``acquired`` first; same date: lot id ascending.
- ``HIFO``: highest cost per share (basis / quantity, exact) first; same cost: oldest ``acquired``
  first, then lot id ascending.
- ``LOFO``: lowest cost per share first; same cost: oldest ``acquired`` first, then lot id ascending.
- ``MIN_TAX``: with ``g`` the gain per share (``price`` - cost per share, exact) and each lot's term
  on ``sold``: first the short-term losses (``g < 0``), largest loss per share first; then the
  long-term losses, largest loss per share first; then the rest (gains, and lots at cost) by tax
  per share ``g x rate`` (``rates`` = (short-term rate, long-term rate)), smallest first; at equal
  tax, long-term before short-term; then the smaller gain per share first. Remaining ties: oldest
  ``acquired`` first, then lot id ascending.
- ``SPECIFIC``: the lots and quantities the caller names (``specific``), in the order named. They
  must exist, each name a lot once, take no more than the lot holds and add up to the sell exactly.

Every order is total (lot ids are unique), so relief does not depend on the order lots are given.

Amounts: quantities are exact Decimals (at most 6 decimal places), money is USD to the cent. A lot
relieved in full gives up its whole basis; a partly relieved lot gives up
``basis x taken / quantity``, and each lot's proceeds are ``taken x price``, both computed exactly
and then rounded half-even to the cent (what :func:`~smartx_engine.fixedpoint.round_money` does).
``gain = proceeds - cost_basis`` (negative: a loss), so the gains of a sell add up to its proceeds
less its relieved basis to the cent; the proceeds are rounded per lot, so their sum may differ by
a few cents from ``quantity x price`` rounded once. Term: long when ``sold`` is after the
anniversary of ``acquired`` (:func:`~smartx_engine.domain.anniversary`), else short.

Errors are :class:`~smartx_engine.errors.DataError`: a sell larger than the lots hold, an unknown
method, lots sharing an id, a negative price, a quantity with more than 6 decimal places, a
``SPECIFIC`` sell that names an unknown lot or does not cover the sell exactly.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import attrs

from ..domain import Lot, Term, anniversary
from ..errors import DataError, did_you_mean
from ..fixedpoint import MONEY, QUANTITY, to_decimal


class Method(enum.StrEnum):
    """How a sell picks its lots (the policy's ``lots`` statement; ``SPECIFIC`` for named lots)."""

    FIFO = "FIFO"
    LIFO = "LIFO"
    HIFO = "HIFO"
    LOFO = "LOFO"
    MIN_TAX = "MIN_TAX"
    SPECIFIC = "SPECIFIC"


def _positive(instance: Any, attribute: attrs.Attribute, value: Decimal) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be greater than zero, got {value}")


def _non_negative(instance: Any, attribute: attrs.Attribute, value: Decimal) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value}")


def _fits(scale):
    def check(instance: Any, attribute: attrs.Attribute, value: Decimal) -> None:
        scale.check(value)

    return check


@attrs.frozen
class OpenLot:
    """A lot as relief reads it. ``acquired`` is the holding period's start (for a wash-sale
    replacement lot, the adjusted date); ``cost_basis`` the lot's total basis in USD."""

    lot_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    quantity: Decimal = attrs.field(converter=to_decimal, validator=[_positive, _fits(QUANTITY)])
    cost_basis: Decimal = attrs.field(converter=to_decimal, validator=[_non_negative, _fits(MONEY)])
    acquired: dt.date = attrs.field(validator=attrs.validators.instance_of(dt.date))

    @classmethod
    def from_lot(cls, lot: Lot) -> OpenLot:
        """The open lot of a stored :class:`~smartx_engine.domain.Lot`."""
        return cls(lot.lot_id, lot.quantity, lot.cost_basis, lot.acquired)

    @property
    def cost_per_share(self) -> Fraction:
        """Basis / quantity, exact."""
        return Fraction(self.cost_basis) / Fraction(self.quantity)

    def term(self, sold: dt.date) -> Term:
        """Long-term when sold after the anniversary of ``acquired``."""
        return Term.LONG if sold > anniversary(self.acquired) else Term.SHORT


@attrs.frozen
class Relief:
    """One lot's part of a sell: ``quantity`` shares of ``lot_id`` with their basis, proceeds and gain."""

    lot_id: str
    quantity: Decimal
    cost_basis: Decimal
    acquired: dt.date
    term: Term
    proceeds: Decimal
    gain: Decimal  # proceeds - cost_basis; negative: a loss

    def as_json(self) -> dict[str, str]:
        """The trade JSON ``lots`` entry (docs: DESIGN "Trade proposal JSON") plus ``proceeds``:
        decimals as plain strings, the date in ISO form."""
        return {"lot_id": self.lot_id, "quantity": f"{self.quantity:f}", "cost_basis": f"{self.cost_basis:f}",
                "acquired": self.acquired.isoformat(), "term": str(self.term), "proceeds": f"{self.proceeds:f}",
                "gain": f"{self.gain:f}"}


# ---------------------------------------------------------------- the order


def relief_order(lots: Sequence[OpenLot], price: Decimal, sold: dt.date, method: Method | str = Method.FIFO,
                 rates: tuple[Decimal, Decimal] = (Decimal(0), Decimal(0))) -> list[OpenLot]:
    """``lots`` in the order ``method`` relieves them (see the module docstring for each rule).

    ``price`` and ``sold`` matter to ``MIN_TAX`` only (gain per share and term); ``rates`` is the
    (short-term, long-term) tax rate pair ``MIN_TAX`` weighs gains with. ``SPECIFIC`` has no order
    of its own: the caller names the lots (:func:`relieve` with ``specific``).
    """
    method = _method(method)
    _unique(lots)
    if method is Method.SPECIFIC:
        raise DataError("SPECIFIC relief has no order of its own: name the lots (relieve(..., specific=...))")
    if method is Method.FIFO:
        return sorted(lots, key=lambda lot: (lot.acquired, lot.lot_id))
    if method is Method.LIFO:
        return sorted(lots, key=lambda lot: (-lot.acquired.toordinal(), lot.lot_id))
    if method is Method.HIFO:
        return sorted(lots, key=lambda lot: (-lot.cost_per_share, lot.acquired, lot.lot_id))
    if method is Method.LOFO:
        return sorted(lots, key=lambda lot: (lot.cost_per_share, lot.acquired, lot.lot_id))
    short_rate, long_rate = (Fraction(_rate(r)) for r in rates)
    at = Fraction(_price(price))

    def min_tax(lot: OpenLot) -> tuple:
        gain, long = at - lot.cost_per_share, lot.term(sold) is Term.LONG
        if gain < 0:  # losses: short-term (0) before long-term (1), the largest loss per share first
            return (int(long), gain, 0, 0, lot.acquired, lot.lot_id)
        tax = gain * (long_rate if long else short_rate)
        return (2, tax, int(not long), gain, lot.acquired, lot.lot_id)

    return sorted(lots, key=min_tax)


# ---------------------------------------------------------------- relief


def relieve(lots: Sequence[OpenLot], quantity: Decimal, price: Decimal, sold: dt.date,
            method: Method | str = Method.FIFO, *, rates: tuple[Decimal, Decimal] = (Decimal(0), Decimal(0)),
            specific: Sequence[tuple[str, Decimal]] = ()) -> list[Relief]:
    """The lots a sell of ``quantity`` shares at ``price`` on ``sold`` relieves, in relief order.

    Whole lots first, the last one partially; a sell of zero relieves nothing. ``rates``:
    (short-term, long-term) rates for ``MIN_TAX``. ``specific``: ``(lot id, quantity)`` pairs for
    ``SPECIFIC``, relieved in the order given. DataError when the lots cannot cover the sell.
    """
    method = _method(method)
    quantity, price = _quantity(quantity, "the sell quantity"), _price(price)
    if quantity < 0:
        raise DataError(f"cannot sell a negative quantity ({quantity})")
    if method is Method.SPECIFIC:
        plan = _specific(lots, quantity, specific)
    else:
        if specific:
            raise DataError(f"lots are named only for SPECIFIC relief, not {method}")
        plan = _in_order(relief_order(lots, price, sold, method, rates), quantity)
    return [_relief(lot, taken, price, sold) for lot, taken in plan]


def _in_order(ordered: list[OpenLot], quantity: Decimal) -> list[tuple[OpenLot, Decimal]]:
    held = sum((lot.quantity for lot in ordered), Decimal(0))
    if quantity > held:
        raise DataError(f"cannot sell {quantity}: the lots hold {held}")
    plan, remaining = [], quantity
    for lot in ordered:
        if remaining <= 0:
            break
        taken = min(lot.quantity, remaining)
        plan.append((lot, taken))
        remaining -= taken
    return plan


def _specific(lots: Sequence[OpenLot], quantity: Decimal,
              specific: Sequence[tuple[str, Decimal]]) -> list[tuple[OpenLot, Decimal]]:
    by_id = _unique(lots)
    plan, named = [], set()
    for lot_id, taken in specific:
        if lot_id not in by_id:
            hint = did_you_mean(lot_id, by_id)
            raise DataError(f"no open lot {lot_id!r} to sell" + (f"; {hint}" if hint else "")
                            + f" (open lots: {', '.join(sorted(by_id)) or 'none'})")
        if lot_id in named:
            raise DataError(f"lot {lot_id!r} is named twice; name each lot once with its whole quantity")
        taken = _quantity(taken, f"the quantity of lot {lot_id!r}")
        if taken <= 0:
            raise DataError(f"the quantity of lot {lot_id!r} must be greater than zero, not {taken}")
        if taken > by_id[lot_id].quantity:
            raise DataError(f"lot {lot_id!r} holds {by_id[lot_id].quantity}, cannot sell {taken} of it")
        named.add(lot_id)
        plan.append((by_id[lot_id], taken))
    covered = sum((taken for _, taken in plan), Decimal(0))
    if covered != quantity:
        raise DataError(f"the named lots cover {covered} shares, not the {quantity} sold")
    return plan


def _relief(lot: OpenLot, taken: Decimal, price: Decimal, sold: dt.date) -> Relief:
    if taken == lot.quantity:  # a whole lot takes its whole basis: no rounding drift
        basis = lot.cost_basis
    else:
        basis = _cents(Fraction(lot.cost_basis) * Fraction(taken) / Fraction(lot.quantity))
    proceeds = _cents(Fraction(taken) * Fraction(price))
    return Relief(lot.lot_id, taken, basis, lot.acquired, lot.term(sold), proceeds, proceeds - basis)


# ---------------------------------------------------------------- checks and rounding


def _cents(value: Fraction) -> Decimal:
    """``value`` rounded half-even to the cent, exactly (``round`` of a Fraction rounds half to even)."""
    return Decimal(round(value * 100)).scaleb(-2)


def _method(method: Method | str) -> Method:
    if isinstance(method, Method):
        return method
    try:
        return Method(str(method).upper())
    except ValueError:
        hint = did_you_mean(str(method), [m.value for m in Method])
        raise DataError(f"unknown lot method {method!r}" + (f"; {hint}" if hint else "")
                        + f" (one of {', '.join(Method)})") from None


def _unique(lots: Sequence[OpenLot]) -> dict[str, OpenLot]:
    by_id: dict[str, OpenLot] = {}
    for lot in lots:
        if lot.lot_id in by_id:
            raise DataError(f"two open lots share the id {lot.lot_id!r}")
        by_id[lot.lot_id] = lot
    return by_id


def _quantity(value: Decimal, what: str) -> Decimal:
    value = to_decimal(value)
    if not value.is_finite():
        raise DataError(f"{what} must be a number, not {value}")
    try:
        QUANTITY.check(value)
    except ValueError as exc:
        raise DataError(f"{what}: {exc}") from None
    return value


def _price(value: Decimal) -> Decimal:
    value = to_decimal(value)
    if not value.is_finite() or value < 0:
        raise DataError(f"a sell price must be a non-negative number, not {value}")
    return value


def _rate(value: Decimal) -> Decimal:
    value = to_decimal(value)
    if not value.is_finite() or not 0 <= value <= 1:
        raise DataError(f"a tax rate must be between 0 and 1, not {value}")
    return value
