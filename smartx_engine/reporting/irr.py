"""Money-weighted return (XIRR): every root of the flows' net present value, reported honestly.

Conventions (the industry's, as in the CFA Institute's GIPS; documented here):

- Signs are the INVESTOR's, as in Excel's XIRR: money the investor puts into the portfolio is
  negative (the opening value, deposits), money the investor gets back is positive (withdrawals,
  the ending value as a final inflow). :func:`investor_cashflows` turns a portfolio's figures
  (deposits +, withdrawals -, as everywhere else in the engine) into such a list.
- Flows are at the end of their day (the opening value at the end of the day before the period,
  as for the time-weighted return). Exponents are Act/365F from the earliest date ``d_0``:
  ``NPV(r) = Σ CF_i / (1 + r) ** ((d_i - d_0).days / 365)``. Another origin multiplies the NPV by
  a positive factor, so the order of the flows and the origin do not change the roots.
- The rate is an effective annual rate by construction; :attr:`Xirr.period_return` gives the
  un-annualised return over the flows' span.
- Roots: the NPV (scaled by a positive factor against overflow) is evaluated on a grid of rates
  from -99.99% to 10,000% a year, uniform in ``log(1 + r)`` (:data:`GRID` points); each sign
  change is refined with :func:`scipy.optimize.brentq`; between grid points where the NPV keeps
  its sign but comes close to zero, its extremum is found (:func:`scipy.optimize.minimize_scalar`)
  to catch a pair of close roots or a root where the NPV touches zero without crossing. A sign
  change beyond the range is detected from the NPV's limits as ``r → -1`` and ``r → ∞`` (an odd
  number of roots out there is seen, an even number is not). A root where the NPV only touches
  zero is located to about 1e-8.
- ``status`` is ``ok`` (exactly one root: ``rate``), ``multiple_roots`` (all ``roots`` listed,
  none reported as ``rate``: the money-weighted return is not unique) or ``no_solution`` (flows all
  of one sign, all on one day, or an NPV that never crosses zero in the range), each with a
  ``message`` for people. A number is never returned when it is not the only answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

import attrs
import numpy as np

from .dietz import _money

OK, MULTIPLE_ROOTS, NO_SOLUTION = "ok", "multiple_roots", "no_solution"
LOWER, UPPER = -0.9999, 100.0  # the rates scanned, a year: -99.99% to 10,000%
GRID = 8001  # grid points, uniform in log(1 + r): a step of about 0.17% near r = 0
_TOUCH = 1e-10  # |NPV| within this share of Σ|CF_i| discount factors counts as zero


@attrs.frozen
class Xirr:
    """The outcome of :func:`xirr`: a status, the rate when it is unique, every root found."""

    status: str  # ok, multiple_roots or no_solution
    rate: float | None  # the annual rate when status is ok, else None
    roots: tuple[float, ...]  # every root found in the range, ascending
    days: int  # from the first flow to the last
    message: str

    @property
    def period_return(self) -> float | None:
        """The rate over the flows' span, not annualised: ``(1 + rate) ** (days / 365) - 1``."""
        return None if self.rate is None else (1.0 + self.rate) ** (self.days / 365.0) - 1.0


def investor_cashflows(opening, flows: Iterable[tuple[dt.date, Decimal]], closing, start: dt.date,
                       end: dt.date) -> list[tuple[dt.date, Decimal]]:
    """A portfolio's figures as the investor's flows: -opening (the day before ``start``), -each
    flow (deposits +, withdrawals - in the portfolio's view), +closing on ``end``."""
    out = [(start - dt.timedelta(days=1), -_money(opening, "opening"))]
    out += [(date, -_money(amount, f"the flow of {date}")) for date, amount in flows]
    out.append((end, _money(closing, "closing")))
    return out


def xnpv(rate: float, cashflows: Iterable[tuple[dt.date, Decimal]]) -> float:
    """The flows' net present value at an annual ``rate``, Act/365F from the earliest date."""
    times, amounts, _ = _arrays(cashflows)
    return float(np.sum(amounts / (1.0 + rate) ** times))


def xirr(cashflows: Iterable[tuple[dt.date, Decimal]]) -> Xirr:
    """Every annual rate that makes the flows' NPV zero, with a status (module docstring)."""
    times, amounts, days = _arrays(cashflows)
    nonzero = amounts[amounts != 0]
    if nonzero.size == 0 or (nonzero > 0).all() or (nonzero < 0).all():
        return Xirr(NO_SOLUTION, None, (), days, "the cash flows are all of one sign (or none is "
                    "nonzero): no rate makes their value zero; money in must be negative, money out "
                    "and the ending value positive")
    if days == 0:
        return Xirr(NO_SOLUTION, None, (), days, "the cash flows are all on one day: no rate applies")
    roots, below, above = _roots(times, amounts)
    beyond = " and ".join(w for w, hit in (("below -99.99%", below), ("above 10,000%", above)) if hit)
    if len(roots) == 1 and not beyond:
        return Xirr(OK, roots[0], roots, days, f"XIRR {roots[0]:.4%} a year (Act/365F)")
    if not roots:
        why = (f"its sign changes only {beyond} a year, outside the range searched" if beyond else
               "it does not cross zero for any rate from -99.99% to 10,000% a year")
        return Xirr(NO_SOLUTION, None, (), days, f"no rate makes the flows' value zero: {why}")
    listed = ", ".join(f"{r:.4%}" for r in roots) + (f", and at a rate {beyond}" if beyond else "")
    return Xirr(MULTIPLE_ROOTS, None, roots, days, f"the flows' value is zero at {listed} a year: "
                "the money-weighted return is not unique, so none is reported (use the "
                "time-weighted return)")


def _arrays(cashflows) -> tuple[np.ndarray, np.ndarray, int]:
    """Years from the earliest date (Act/365F), float amounts, and the days from first to last."""
    flows = [(date, _money(amount, f"the cash flow of {date}")) for date, amount in cashflows]
    if not flows:
        return np.zeros(0), np.zeros(0), 0
    days = np.array([date.toordinal() for date, _ in flows]) - min(date.toordinal() for date, _ in flows)
    return days / 365.0, np.array([float(amount) for _, amount in flows]), int(days.max())


def _scaled(rates: np.ndarray, times: np.ndarray, amounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The NPV at each rate times a positive factor that keeps the largest discount factor at 1,
    and the same sum of absolute values (the scale of the NPV there)."""
    exponents = -np.log1p(rates)[:, None] * times
    terms = amounts * np.exp(exponents - exponents.max(axis=1, keepdims=True))
    return terms.sum(axis=1), np.abs(terms).sum(axis=1)


def _roots(times: np.ndarray, amounts: np.ndarray) -> tuple[tuple[float, ...], bool, bool]:
    """The roots in [LOWER, UPPER], and whether the NPV changes sign below or above the range."""
    from scipy.optimize import brentq  # imported when used: scipy takes a quarter of a second to load

    def f(rate: float) -> float:
        return float(_scaled(np.array([rate]), times, amounts)[0][0])

    grid = np.expm1(np.linspace(np.log1p(LOWER), np.log1p(UPPER), GRID))
    npv, scale = _scaled(grid, times, amounts)
    sign = np.sign(npv)
    roots = list(grid[sign == 0])
    for k in np.flatnonzero(sign[:-1] * sign[1:] < 0):
        roots.append(brentq(f, grid[k], grid[k + 1], xtol=1e-15, maxiter=200))
    roots += _close_roots(f, grid, npv, scale)
    at_minus_one = np.sign(amounts[times == times.max()].sum())  # the NPV's limits, scaled
    at_infinity = np.sign(amounts[times == 0].sum())
    below = bool(at_minus_one != 0 and sign[0] != 0 and at_minus_one != sign[0])
    above = bool(at_infinity != 0 and sign[-1] != 0 and at_infinity != sign[-1])
    return _distinct(sorted(float(r) for r in roots)), below, above


def _close_roots(f, grid: np.ndarray, npv: np.ndarray, scale: np.ndarray) -> list[float]:
    """Roots the sign scan misses: between two grid points where the NPV keeps its sign, a dip
    of |NPV| that crosses zero twice or just touches it."""
    from scipy.optimize import brentq, minimize_scalar
    sign, size = np.sign(npv), np.abs(npv)
    k = np.arange(1, grid.size - 1)
    dips = k[(sign[k - 1] == sign[k]) & (sign[k] == sign[k + 1]) & (sign[k] != 0)
             & (size[k] < size[k - 1]) & (size[k] <= size[k + 1])]
    found = []
    for i in dips:
        s, lo, hi = sign[i], grid[i - 1], grid[i + 1]
        best = minimize_scalar(lambda r: s * f(r), bounds=(lo, hi), method="bounded",
                               options={"xatol": 1e-14})
        if best.fun < 0:  # it crosses zero twice between the grid points
            found += [brentq(f, lo, best.x, xtol=1e-15), brentq(f, best.x, hi, xtol=1e-15)]
        elif best.fun <= _TOUCH * scale[i]:  # it touches zero without crossing
            found.append(best.x)
    return found


def _distinct(roots: list[float]) -> tuple[float, ...]:
    out: list[float] = []
    for r in roots:
        if not out or r - out[-1] > 1e-9 * max(1.0, abs(r)):
            out.append(r)
    return tuple(out)
