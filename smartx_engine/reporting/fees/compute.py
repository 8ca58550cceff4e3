"""The fee calculation: each account's billable value, its fee per payee, and the invoice steps.

:func:`fee_run` reads a :class:`History` (end-of-day cents per sleeve and day) and the firm's
:class:`FeeSchedules`, and returns a :class:`FeeRun` with one :class:`Invoice` per account that
existed in the period. The rules (docs/fees.md has them with worked examples):

- **billed days** ``d`` and the **billable value** ``B``, per the schedule's timing and basis:
  arrears bill the days from the account's first to its last non-zero day in the period, on its
  average daily balance over them or its value on the period's last day; advance bill the whole
  period on the value at the end of the day before it (``period_end``) or on the previous
  period's average daily balance; an account that did not exist then is billed from its first
  non-zero day in the period, on that day's value. Excluded sleeves and securities are left out.
- **annual fee** on a balance: ``tiered`` sums each slice × its rate; ``cliff`` and a flat ``rate``
  take the whole balance × the rate of its tier. Tier bounds (``up_to``) are inclusive.
- **period fee**: each tier line is ``slice × rate × d / Y`` (``Y`` = 365, or the days of the
  year for act/act), rounded half-even to the cent; the component's fee is their sum.
- **household aggregation**: the tiers are found on the household's total ``T`` (its accounts on
  the same schedule); the account pays ``round(household fee for d days × B / T)``.
- **flows** (advance only): a day's net flow ``F`` with ``|F| >= flow_threshold`` adds
  ``round(F × annual fee / base × remaining days / Y)``, the base being ``B`` (or ``T``).
- **minimum**: ``round(minimum × d / Y)``; the fee is raised to it when below.

Every amount is an exact ``Decimal`` or ``Fraction``; the rounding points are those above (and
the average daily balance, rounded half-even to the cent), nowhere else.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction

import attrs
import numpy as np

from ...errors import DataError, NotFoundError
from ...fixedpoint import MONEY
from ..history import History, SleeveInfo
from .invoice import Charge, FeeRun, Invoice, Step, money, percent
from .period import Period, parse_period
from .schedule import Aggregate, Basis, Component, DayCount, FeeSchedules, Kind, Payee, Rates, Schedule, Timing

ZERO = Decimal("0.00")


def round_cents(value: Fraction | Decimal) -> Decimal:
    """``value`` (an exact amount in USD) rounded half-even to the cent."""
    cents = Fraction(value) * 100
    whole, rest = divmod(cents.numerator, cents.denominator)
    if 2 * rest > cents.denominator or (2 * rest == cents.denominator and whole % 2):
        whole += 1
    return MONEY.to_decimal(whole)


def annual_lines(rates: Rates, balance: Decimal) -> list[tuple[int, Decimal, Decimal]]:
    """The (tier number from 1, slice of the balance, annual rate) lines of ``balance``."""
    if balance <= 0:
        return []
    if rates.kind is not Kind.TIERED:
        for number, tier in enumerate(rates.tiers, 1):
            if tier.up_to is None or balance <= tier.up_to:
                return [(number, balance, tier.rate)]
    lines, lower = [], ZERO
    for number, tier in enumerate(rates.tiers, 1):
        upper = balance if tier.up_to is None else min(balance, tier.up_to)
        if upper > lower:
            lines.append((number, upper - lower, tier.rate))
        if tier.up_to is None or balance <= tier.up_to:
            break
        lower = tier.up_to
    return lines


def annual_fee(rates: Rates, balance: Decimal) -> Decimal:
    """The exact annual fee of ``balance`` (not rounded)."""
    return sum((part * rate for _, part, rate in annual_lines(rates, balance)), ZERO)


def year_days(schedule: Schedule, period: Period) -> int:
    return 365 if schedule.day_count is DayCount.ACT_365 else period.year_days


def required_dates(schedules: FeeSchedules, period: Period | str) -> tuple[dt.date, dt.date]:
    """The dates a History must cover to bill ``period`` with any of the ``schedules``."""
    period = parse_period(period) if isinstance(period, str) else period
    start = period.start
    for schedule in schedules.schedules.values():
        if schedule.timing is Timing.ADVANCE:
            before = period.previous().start if schedule.basis is Basis.AVERAGE_DAILY_BALANCE else \
                period.start - dt.timedelta(days=1)
            start = min(start, before)
    return start, period.end


def fee_run(history: History, schedules: FeeSchedules, period: Period | str,
            household: str | None = None, progress: Callable[[str, int, int], None] | None = None) -> FeeRun:
    """The fee of every account of ``history`` (or of one household) for ``period``; ``progress``
    hears (what, accounts done, accounts in all) as the accounts are measured."""
    period = parse_period(period) if isinstance(period, str) else period
    accounts: dict[str, list[int]] = defaultdict(list)
    for row, sleeve in enumerate(history.sleeves):
        if household in (None, sleeve.household_id):
            accounts[sleeve.account_id].append(row)
    if household is not None and not accounts:
        raise NotFoundError(f"no household {household!r} in the history")
    measured = []
    for done, (account_id, rows) in enumerate(accounts.items()):
        if progress and done % 100 == 0:
            progress("measuring the accounts' balances", done, len(accounts))
        info = history.sleeves[rows[0]]
        schedule = schedules.schedule_for(account_id, info.household_id)
        found = _Measure(history, schedule, period).account(account_id, info.household_id, rows)
        if found is not None:
            measured.append(found)
    totals: dict[tuple, Decimal] = defaultdict(lambda: ZERO)
    members: dict[tuple, int] = defaultdict(int)
    for account in measured:
        for bucket in account.buckets:
            key = (account.household_id, account.schedule.name, bucket.component.payee, bucket.key)
            totals[key] += bucket.value
            members[key] += 1
    invoices = []
    for account in sorted(measured, key=lambda a: (a.household_id, a.account_id)):
        invoices.append(_invoice(account, period, totals, members))
    return FeeRun(period, schedules.file, schedules.digest, invoices)


# ---------------------------------------------------------------- measuring each account


@attrs.frozen
class _Bucket:
    """The sleeves one component's rates apply to, in one account, and their billable value."""

    component: Component
    key: tuple  # ("account",) for platform and advisor; ("model"|"manager"|"other", name) for managers
    rates: Rates
    recipient: str | None
    value: Decimal  # B: billable value on the basis
    flows: tuple[tuple[dt.date, int, Decimal], ...]  # advance: (date, remaining days, net flow)
    step: Step | None  # the "billable" step of a manager's bucket


@attrs.frozen
class _Account:
    account_id: str
    household_id: str
    schedule: Schedule
    billed_from: dt.date
    billed_to: dt.date
    days: int
    steps: tuple[Step, ...]
    buckets: tuple[_Bucket, ...]


class _Measure:
    """Measures accounts of one schedule over one period of a history."""

    def __init__(self, history: History, schedule: Schedule, period: Period):
        self.history, self.schedule, self.period = history, schedule, period
        self.p0, self.p1 = self.columns(period.start, period.end)

    def columns(self, first: dt.date, last: dt.date) -> tuple[int, int]:
        h = self.history
        if first < h.start or last > h.end:
            s = self.schedule
            raise DataError(f"the history covers {h.start}..{h.end}; billing {self.period.label} with schedule "
                            f"{s.name!r} ({s.timing.value}, {s.basis.value}) needs {first}..{last}")
        return (first - h.start).days, (last - h.start).days

    def account(self, account_id: str, household_id: str, rows: list[int]) -> _Account | None:
        h, s, period = self.history, self.schedule, self.period
        rows_array = np.asarray(rows, dtype=np.intp)
        sleeves = [h.sleeves[r] for r in rows]
        excluded = [self.excluded(info) for info in sleeves]
        symbols = [i for i, symbol in enumerate(h.symbols) if symbol in s.exclude.symbols]
        value = h.value_cents[rows_array].astype(np.int64)
        held = h.holding_cents[rows_array][:, symbols, :].astype(np.int64)  # [sleeve, excluded symbol, day]
        keep = ~np.asarray(excluded, dtype=bool)
        billable = np.where(keep[:, None], value - held.sum(axis=1), 0)
        flows = np.where(keep[:, None], h.flow_cents[rows_array].astype(np.int64), 0)
        total = value.sum(axis=0)

        basis = self.basis(total, held, value, rows_array)
        if basis is None:
            return None
        label, columns, opening, first_day, last_day = basis
        days = last_day - first_day + 1
        billed_from, billed_to = _day(h, first_day), _day(h, last_day)

        def measure(daily: np.ndarray, opening_values: np.ndarray | None = None) -> Decimal:
            if opening:
                return MONEY.to_decimal(int(opening_values.sum()))
            return round_cents(Fraction(int(daily[..., columns].sum()), 100 * len(columns)))  # cents -> USD

        year = year_days(s, period)
        steps = [Step("days", f"billed {billed_from}..{billed_to}: {days} of {period.days} days, "
                      f"counted against {year} ({s.day_count.value})", None,
                      values={"from": billed_from.isoformat(), "to": billed_to.isoformat(), "days": str(days),
                              "period_days": str(period.days), "year_days": str(year),
                              "day_count": s.day_count.value})]
        opening_all = h.opening_cents[rows_array].astype(np.int64) if opening else None
        steps.append(Step("value", f"{label}: {money(measure(value, opening_all))}",
                          measure(value, opening_all), values={"basis": s.basis.value, "timing": s.timing.value}))
        for i, info in enumerate(sleeves):
            if excluded[i]:
                amount = measure(value[i], opening_all[i] if opening else None)
                steps.append(Step("exclusion", f"excluded sleeve {info.sleeve_id} ({excluded[i]}): -{money(amount)}",
                                  -amount, values={"sleeve": info.sleeve_id, "reason": excluded[i]}))
        for j, symbol_index in enumerate(symbols):
            amount = measure(held[keep, j]) if not opening else ZERO
            if amount:
                symbol = h.symbols[symbol_index]
                steps.append(Step("exclusion", f"excluded security {symbol}: -{money(amount)}", -amount,
                                  values={"symbol": symbol, "reason": "excluded security"}))
        opening_billable = np.where(keep, h.opening_cents[rows_array], 0) if opening else None
        flow_from = first_day + 1 if first_day > self.p0 else self.p0
        buckets = []
        for component in s.components:
            for key, rates, recipient, members in self.buckets(component, sleeves, keep):
                sub = np.asarray(members, dtype=np.intp)
                bucket_value = measure(billable[sub], opening_billable[sub] if opening else None)
                bucket_flows = self.flows(flows[sub].sum(axis=0), flow_from) if s.timing is Timing.ADVANCE else ()
                step = None
                if component.payee is Payee.MANAGER:
                    names = ", ".join(sleeves[m].sleeve_id for m in members)
                    step = Step("billable", f"manager {recipient}: billable value of {names}: {money(bucket_value)}",
                                bucket_value, Payee.MANAGER.value, recipient,
                                values={"sleeves": names, "rates": f"{key[0]}:{key[1]}"})
                buckets.append(_Bucket(component, key, rates, recipient, bucket_value, bucket_flows, step))
        account_value = measure(billable, opening_billable)
        steps.append(Step("billable", f"billable value: {money(account_value)}", account_value))
        return _Account(account_id, household_id, s, billed_from, billed_to, days, tuple(steps), tuple(buckets))

    def excluded(self, info: SleeveInfo) -> str:
        """Why a sleeve is excluded ("" when it is not)."""
        if info.sleeve_id in self.schedule.exclude.sleeves:
            return "excluded by name"
        if self.schedule.exclude.unmanaged and info.target_kind is None:
            return "unmanaged: no target"
        return ""

    def basis(self, total: np.ndarray, held: np.ndarray, value: np.ndarray, rows: np.ndarray):
        """(label, columns measured, from opening_cents?, first and last billed columns), or None."""
        h, s, period = self.history, self.schedule, self.period
        in_period = np.flatnonzero(total[self.p0:self.p1 + 1])
        if s.timing is Timing.ARREARS:
            if not in_period.size:
                return None
            first, last = self.p0 + int(in_period[0]), self.p0 + int(in_period[-1])
            if s.basis is Basis.AVERAGE_DAILY_BALANCE:
                columns = list(range(first, last + 1))
                label = f"average daily balance {_day(h, first)}..{_day(h, last)} ({len(columns)} days)"
            else:
                columns, label = [self.p1], f"value at the end of {period.end} (period end)"
            return label, columns, False, first, last
        # advance: the value before the period, else (a new account) its first value in it
        if s.basis is Basis.PERIOD_END:
            before = period.start - dt.timedelta(days=1)
            if before >= h.start:
                column = (before - h.start).days
                existing, columns, opening = total[column] != 0, [column], False
            elif h.start == period.start and not s.exclude.symbols:
                existing, columns, opening = int(h.opening_cents[rows].sum()) != 0, [], True
            else:
                self.columns(before, period.end)  # raises: the history does not reach back
            label = f"value at the end of {before} (the day before the period)"
        else:
            previous = period.previous()
            q0, q1 = self.columns(previous.start, previous.end)
            nonzero = np.flatnonzero(total[q0:q1 + 1])
            existing, opening = bool(nonzero.size), False
            columns = list(range(q0 + int(nonzero[0]), q0 + int(nonzero[-1]) + 1)) if existing else []
            if existing:
                label = (f"average daily balance of the previous period {_day(h, columns[0])}..{_day(h, columns[-1])} "
                         f"({len(columns)} days)")
        if existing:
            return label, columns, opening, self.p0, self.p1
        if not in_period.size:
            return None
        first = self.p0 + int(in_period[0])
        return (f"value at the end of {_day(h, first)}, its first day in the period (a new account)", [first], False,
                first, self.p1)

    def buckets(self, component: Component, sleeves: Sequence[SleeveInfo], keep: np.ndarray):
        """(key, rates, recipient, member positions) for each set of sleeves the component bills."""
        members = [i for i in range(len(sleeves)) if keep[i]]
        if component.payee is not Payee.MANAGER:
            return [(("account",), component.rates, None, members)] if members else []
        groups: dict[tuple, tuple[Rates, str, list[int]]] = {}
        for i in members:
            info = sleeves[i]
            if info.model_id and info.model_id in component.by_model:
                key, rates = ("model", info.model_id), component.by_model[info.model_id]
            elif info.manager and info.manager in component.by_manager:
                key, rates = ("manager", info.manager), component.by_manager[info.manager]
            elif component.rates is not None and (info.manager or info.model_id):
                key, rates = ("other", info.manager or info.model_id), component.rates
            else:
                continue
            recipient = info.manager or info.model_id
            groups.setdefault(key, (rates, recipient, []))[2].append(i)
        return [(key, rates, recipient, found) for key, (rates, recipient, found) in groups.items()]

    def flows(self, daily: np.ndarray, first: int) -> tuple[tuple[dt.date, int, Decimal], ...]:
        """Advance billing: the days from ``first`` whose net flow reaches the threshold."""
        threshold = MONEY.to_int(self.schedule.flow_threshold)
        found = []
        for column in range(first, self.p1 + 1):
            cents = int(daily[column])
            if cents and abs(cents) >= threshold:
                found.append((_day(self.history, column), self.p1 - column + 1, MONEY.to_decimal(cents)))
        return tuple(found)


def _day(history: History, column: int) -> dt.date:
    return history.start + dt.timedelta(days=column)


def _percent(rate: Fraction) -> str:
    """A computed rate for display: a percentage with 4 decimals, "≈" when that is not exact."""
    shown = round_cents(rate * 10000) / 100
    return ("" if Fraction(shown) == rate * 100 else "≈") + f"{shown:.4f}%"


# ---------------------------------------------------------------- the invoice


def _invoice(account: _Account, period: Period, totals: dict, members: dict) -> Invoice:
    schedule = account.schedule
    year, days = year_days(schedule, period), account.days
    steps, charges = list(account.steps), []
    for bucket in account.buckets:
        payee = bucket.component.payee
        name = payee.value if bucket.recipient is None else f"{payee.value} {bucket.recipient}"
        if bucket.step is not None:
            steps.append(bucket.step)
        household = schedule.aggregate is Aggregate.HOUSEHOLD
        key = (account.household_id, schedule.name, payee, bucket.key)
        base = totals[key] if household else bucket.value
        tag = dict(payee=payee.value, recipient=bucket.recipient)
        if household:
            share = f"{round_cents(Fraction(bucket.value) / Fraction(base) * 100)}%" if base else "0.00%"
            accounts = f"{members[key]} account{'s' * (members[key] != 1)}"
            steps.append(Step("household", f"{name}: household aggregation: {account.household_id} total "
                              f"{money(base)} ({accounts}), this account's share "
                              f"{money(bucket.value)} / {money(base)} = {share}", None, **tag,
                              values={"household": account.household_id, "total": f"{base:f}",
                                      "accounts": str(members[key]), "value": f"{bucket.value:f}"}))
        fee = ZERO
        for number, part, rate in annual_lines(bucket.rates, base):
            amount = round_cents(Fraction(part * rate) * days / year)
            which = "" if bucket.rates.kind is Kind.FLAT else \
                f" tier {number}" + (" (cliff: the whole balance)" if bucket.rates.kind is Kind.CLIFF else "")
            whose = " of the household" if household else ""
            steps.append(Step("tier", f"{name}{which}{whose}: {money(part)} × {percent(rate)} × {days}/{year} "
                              f"= {money(amount)}", amount, **tag,
                              values={"tier": str(number), "kind": bucket.rates.kind.value, "balance": f"{part:f}",
                                      "rate": f"{rate:f}", "days": str(days), "year_days": str(year)}))
            fee += amount
        if household and base:
            household_fee = fee
            fee = round_cents(Fraction(household_fee) * Fraction(bucket.value) / Fraction(base))
            steps.append(Step("share", f"{name} share: {money(household_fee)} × {money(bucket.value)} / "
                              f"{money(base)} = {money(fee)}", fee, **tag,
                              values={"household_fee": f"{household_fee:f}", "value": f"{bucket.value:f}",
                                      "total": f"{base:f}"}))
        yearly = annual_fee(bucket.rates, base)
        for date, remaining, flow in bucket.flows:
            flow_base, flow_fee = (base, yearly) if base else (abs(flow), annual_fee(bucket.rates, abs(flow)))
            amount = round_cents(Fraction(flow) * Fraction(flow_fee) / Fraction(flow_base) * remaining / year)
            effective = _percent(Fraction(flow_fee) / Fraction(flow_base))
            kind = "deposit" if flow > 0 else "withdrawal"
            steps.append(Step("flow", f"{name}: {kind} {money(abs(flow))} on {date}, {remaining} of "
                              f"{period.days} days at the effective rate {effective} (annual fee {money(flow_fee)} "
                              f"on {money(flow_base)}): {money(flow)} × {money(flow_fee)}/{money(flow_base)} × "
                              f"{remaining}/{year} = {money(amount)}", amount, **tag,
                              values={"date": date.isoformat(), "flow": f"{flow:f}", "remaining_days": str(remaining),
                                      "annual_fee": f"{flow_fee:f}", "base": f"{flow_base:f}",
                                      "year_days": str(year)}))
            fee += amount
        if fee < 0:
            steps.append(Step("floor", f"{name}: withdrawals credited more than the fee ({money(fee)}); "
                              "the fee is 0.00", ZERO, **tag))
            fee = ZERO
        minimum = bucket.rates.minimum
        if minimum is not None and (bucket.value > 0 or bucket.flows):
            prorated = round_cents(Fraction(minimum) * days / year)
            applied = fee < prorated
            text = (f"{name}: minimum {money(minimum)}/yr prorated {days}/{year}: {money(prorated)} — "
                    + (f"applied, adds {money(prorated - fee)}" if applied else "not applied"))
            steps.append(Step("minimum", text, prorated - fee if applied else ZERO, **tag,
                              values={"minimum": f"{minimum:f}", "prorated": f"{prorated:f}",
                                      "applied": "true" if applied else "false"}))
            fee = max(fee, prorated)
        steps.append(Step("fee", f"{name} fee: {money(fee)}", fee, **tag))
        charges.append(Charge(payee, bucket.recipient, fee))
    total = sum((c.amount for c in charges), ZERO)
    by_payee = {p: sum((c.amount for c in charges if c.payee is p), ZERO) for p in Payee}
    split = ", ".join(f"{p.value} {money(a)}" for p, a in by_payee.items())
    steps.append(Step("total", f"total: {money(total)} ({split})", total,
                      values={p.value: f"{a:f}" for p, a in by_payee.items()}))
    return Invoice(account.account_id, account.household_id, schedule.name, period, account.billed_from,
                   account.billed_to, days, year, steps, charges)
