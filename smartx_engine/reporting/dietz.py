"""Modified Dietz return of a period without daily valuations, with its steps for display.

Conventions (the industry's, as in the CFA Institute's GIPS; documented here):

- The period runs from ``start`` to ``end``, both days included: ``CD = (end - start).days + 1``
  calendar days. ``BMV`` is the value at the end of the day before ``start``, ``EMV`` at the end of
  ``end``. Flows are from the portfolio's view: deposits +, withdrawals -.
- Flows happen at the END of their day (as for the time-weighted return). ``D_i`` is the flow's
  day in the period counted from the period's start, the first day being day 1:
  ``D_i = (date_i - start).days + 1``, i.e. the days elapsed from the BMV (end of the day before
  ``start``) to the flow (end of its day). Its weight is the share of the period left after it,
  ``w_i = (CD - D_i) / CD``: ``(CD - 1) / CD`` on the first day, 0 on the last.
- ``R = (EMV - BMV - ΣF_i) / (BMV + Σ w_i F_i)``: the gain over the average capital.
- Money is exact (Decimal, or int in any minor unit used throughout): the numerator and
  ``CD × denominator`` are computed exactly; the return is the float nearest their ratio; the
  denominator shown is rounded to the Decimal context (28 digits). Weights are exact fractions.
- A denominator (average capital) of zero or below has no meaningful return: the result has
  ``value=None`` and a ``reason``, with the steps still there to show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

import attrs


@attrs.frozen
class DietzFlow:
    """One external flow with its day in the period and its weight."""

    date: dt.date
    amount: Decimal  # deposits +, withdrawals -
    day: int  # D_i: 1 for the period's first day, CD for its last
    weight: Fraction  # (CD - D_i) / CD


@attrs.frozen
class ModifiedDietz:
    """A Modified Dietz return and the steps that produced it."""

    start: dt.date
    end: dt.date
    bmv: Decimal
    emv: Decimal
    calendar_days: int  # CD
    flows: tuple[DietzFlow, ...]
    numerator: Decimal  # the gain: EMV - BMV - ΣF_i
    denominator: Decimal  # the average capital: BMV + Σ w_i F_i
    value: float | None  # the return (0.0123 is 1.23%); None when the denominator is not positive
    reason: str | None = None  # why there is no value


def modified_dietz(bmv, emv, flows: Iterable[tuple[dt.date, Decimal]], start: dt.date,
                   end: dt.date) -> ModifiedDietz:
    """The Modified Dietz return from ``start`` to ``end`` inclusive (see the module docstring)."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    bmv, emv = _money(bmv, "bmv"), _money(emv, "emv")
    cd = (end - start).days + 1
    steps = tuple(_flow(date, _money(amount, f"the flow of {date}"), start, end, cd)
                  for date, amount in flows)
    numerator = emv - bmv - sum((f.amount for f in steps), Decimal(0))
    capital_days = bmv * cd + sum((f.amount * (cd - f.day) for f in steps), Decimal(0))  # exact
    denominator = capital_days / cd
    value, reason = None, None
    if capital_days == 0:
        reason = "the average capital (BMV + Σ w_i F_i) is zero: there was nothing invested"
    elif capital_days < 0:
        reason = f"the average capital (BMV + Σ w_i F_i) is negative ({denominator}): no meaningful return"
    else:
        value = float(Fraction(numerator) * cd / Fraction(capital_days))
    return ModifiedDietz(start, end, bmv, emv, cd, steps, numerator, denominator, value, reason)


def _flow(date: dt.date, amount: Decimal, start: dt.date, end: dt.date, cd: int) -> DietzFlow:
    if not start <= date <= end:
        raise ValueError(f"a flow of {amount} on {date} is outside the period {start} to {end}")
    day = (date - start).days + 1
    return DietzFlow(date, amount, day, Fraction(cd - day, cd))


def _money(amount, what: str) -> Decimal:
    """Exact money: a finite Decimal or an int (floats are refused, they are not exact)."""
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, int)):
        raise TypeError(f"{what} must be a Decimal or an int (exact money), not {type(amount).__name__}")
    amount = Decimal(amount)
    if not amount.is_finite():
        raise ValueError(f"{what} is not a finite amount ({amount})")
    return amount
