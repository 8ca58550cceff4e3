"""Time-weighted returns from daily valuations: daily returns, linking, calendar periods.

Conventions (the industry's, as in the CFA Institute's GIPS; documented here):

- Inputs are end-of-day figures. ``opening`` is the value at the end of the day before the first
  day, ``values[..., i]`` the value at the end of day ``i``, ``flows[..., i]`` the external flows of
  day ``i`` (deposits +, withdrawals -). Arrays are 1-D for one portfolio or 2-D
  ``[portfolio, day]`` (``opening`` then has one value per portfolio). Money may be float64 or
  integer cents: a return is a ratio, so the unit cancels, and cents make the zero tests exact.
- Flows happen at the END of the day, after the close: ``r_i = (V_i - F_i) / V_{i-1} - 1``. A flow
  earns nothing on its own day; the next day's return is on the value including it. So flows do
  not change the time-weighted return. Fees and income paid inside the portfolio are not external
  flows: they are part of the return (net of fees). Pass ``flows + fees`` as the flows for a
  return gross of fees.
- A day that starts at zero and is funded (a deposit: inception, or a portfolio emptied and
  refunded) counts the deposit as invested at the START of that day, since nothing was there
  before it: ``r_i = V_i / F_i - 1`` (cash bought at a price other than the close earns or loses
  that day). A day that starts at zero with no deposit has return 0 when ``V_i - F_i == 0``
  (it stayed empty, or was emptied). A nonzero ``V_i - F_i`` on a zero start without a deposit
  (value out of nothing), or a start below zero, raises
  :class:`~smartx_engine.errors.DataError` naming the day (and the row): never a NaN or an inf.
- Returns are float ratios (0.0123 is 1.23%), linked geometrically: ``prod(1 + r_i) - 1``.
- Calendar periods (:func:`period_returns`) need one return per consecutive calendar day (as a
  :class:`~smartx_engine.reporting.history.History` has). A period is *partial* when the data
  starts after its first day or ends before its last; its ``start``/``end`` are the days covered.
- Returns are never annualised unless asked (:func:`annualized`), and only over a year or more
  (365 days or more): ``(1 + total) ** (365 / days) - 1`` (Act/365F).

Modified Dietz is in :mod:`.dietz`, the money-weighted return (XIRR) in :mod:`.irr`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs
import numpy as np

from ..errors import DataError

FREQUENCIES = ("month", "quarter", "year")


def daily_returns(opening, values, flows) -> np.ndarray:
    """Each day's time-weighted return, flows at the end of the day (see the module docstring).

    ``opening`` has shape ``values.shape[:-1]`` (a scalar for 1-D values); ``flows`` the shape of
    ``values``. Raises DataError on a day that starts at or below zero and cannot have a return.
    """
    v = np.asarray(values, dtype=np.float64)
    f = np.asarray(flows, dtype=np.float64)
    v0 = np.asarray(opening, dtype=np.float64)
    if v.ndim not in (1, 2) or f.shape != v.shape or v0.shape != v.shape[:-1]:
        raise ValueError(f"shapes do not fit: opening {v0.shape}, values {v.shape}, flows {f.shape}"
                         " (values and flows [day] or [portfolio, day], opening one per portfolio)")
    if not (np.isfinite(v).all() and np.isfinite(f).all() and np.isfinite(v0).all()):
        raise DataError("daily returns: values, flows and the opening value must be finite numbers")
    start = np.concatenate([v0[..., None], v[..., :-1]], axis=-1)
    grown = v - f  # the day's closing value before its flow
    funded = (start == 0) & (f > 0)  # an empty portfolio funded that day: the flow is its start
    start, grown = np.where(funded, f, start), np.where(funded, v, grown)
    _check_starts(start, grown)
    out = np.zeros_like(v)
    live = start != 0
    np.divide(grown, start, out=out, where=live)
    out[live] -= 1.0
    return out


def _check_starts(start: np.ndarray, grown: np.ndarray) -> None:
    """Refuse days whose return is undefined: a start below zero, or growth out of a zero start."""
    bad = (start < 0) | ((start == 0) & (grown != 0))
    if not bad.any():
        return
    where = np.argwhere(bad)
    first = tuple(int(i) for i in where[0])
    row = f"row {first[0]}, " if len(first) == 2 else ""
    day = first[-1]
    if start[first] < 0:
        why = f"starts below zero ({start[first]:g})"
    else:
        why = f"starts at zero but ends at {grown[first]:g} before its flow (value out of nothing)"
    more = f" ({len(where) - 1} more such days)" if len(where) > 1 else ""
    raise DataError(f"daily returns: {row}day {day} {why}: the return is undefined{more}")


def link(returns) -> float | np.ndarray:
    """Link returns geometrically over the last axis: ``prod(1 + r) - 1`` (0 for no returns)."""
    linked = np.prod(1.0 + np.asarray(returns, dtype=np.float64), axis=-1) - 1.0
    return float(linked) if np.ndim(linked) == 0 else linked


def cumulative(returns) -> np.ndarray:
    """The growth of 1 at the end of each day (for charts): ``cumprod(1 + r)`` over the last axis."""
    return np.cumprod(1.0 + np.asarray(returns, dtype=np.float64), axis=-1)


def annualized(total: float, days: int) -> float:
    """Annualise a total return over ``days`` calendar days: ``(1 + total) ** (365 / days) - 1``.

    Annualised only when asked, and only over a year or more: ValueError under 365 days.
    """
    if days < 365:
        raise ValueError(f"a return over {days} days is not annualised: only periods of a year "
                         "(365 days) or more are")
    if total < -1:
        raise ValueError(f"a total return below -100% ({total!r}) cannot be annualised")
    return float((1.0 + total) ** (365.0 / days) - 1.0)


@attrs.frozen
class PeriodReturn:
    """The linked return of one calendar period touched by the data.

    ``start``/``end`` are the first and last days the data covers in the period, ``days`` their
    count; ``partial`` says the data does not cover the whole calendar period. ``value`` is a float
    for 1-D returns, a read-only array (one per portfolio) for 2-D returns.
    """

    label: str  # 2026-07, 2026Q3 or 2026
    start: dt.date
    end: dt.date
    value: float | np.ndarray
    days: int
    partial: bool


def period_returns(dates: Sequence[dt.date], returns, frequency: str) -> tuple[PeriodReturn, ...]:
    """Link daily returns per calendar month, quarter or year, in date order.

    ``dates`` are consecutive calendar days, one per return on the last axis of ``returns``.
    """
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}, not {frequency!r}")
    r = np.asarray(returns, dtype=np.float64)
    days = np.asarray(dates, dtype="datetime64[D]")
    if days.ndim != 1 or r.ndim not in (1, 2) or r.shape[-1] != days.shape[0]:
        raise ValueError(f"{days.shape[0] if days.ndim == 1 else days.shape} dates for returns of "
                         f"shape {r.shape}: one date per return on the last axis")
    if days.size == 0:
        return ()
    if (np.diff(days) != np.timedelta64(1, "D")).any():
        raise ValueError("dates must be consecutive calendar days, in order")
    keys = _period_keys(days, frequency)
    firsts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    lasts = np.r_[firsts[1:], days.size] - 1
    linked = np.multiply.reduceat(1.0 + r, firsts, axis=-1) - 1.0
    out = []
    for j, (a, b) in enumerate(zip(firsts, lasts)):
        first, last = days[a].item(), days[b].item()
        label, period_start, period_end = calendar_period(first, frequency)
        value = float(linked[j]) if r.ndim == 1 else _read_only(linked[:, j])
        out.append(PeriodReturn(label, first, last, value, int(b - a + 1),
                                partial=(first, last) != (period_start, period_end)))
    return tuple(out)


def calendar_period(date: dt.date, frequency: str) -> tuple[str, dt.date, dt.date]:
    """The label, first and last day of the calendar month, quarter or year holding ``date``."""
    y, m = date.year, date.month
    if frequency == "month":
        label, first_month, months = f"{y:04d}-{m:02d}", m, 1
    elif frequency == "quarter":
        label, first_month, months = f"{y:04d}Q{(m - 1) // 3 + 1}", (m - 1) // 3 * 3 + 1, 3
    elif frequency == "year":
        label, first_month, months = f"{y:04d}", 1, 12
    else:
        raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}, not {frequency!r}")
    start = dt.date(y, first_month, 1)
    after = first_month + months  # the month after the period, 13 for January of next year
    end = dt.date(y + (after - 1) // 12, (after - 1) % 12 + 1, 1) - dt.timedelta(days=1)
    return label, start, end


def _period_keys(days: np.ndarray, frequency: str) -> np.ndarray:
    """An integer per day that changes exactly when the calendar period does."""
    if frequency == "year":
        return days.astype("datetime64[Y]").astype(np.int64)
    months = days.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return months // 3 if frequency == "quarter" else months


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.array(array)
    array.setflags(write=False)
    return array
