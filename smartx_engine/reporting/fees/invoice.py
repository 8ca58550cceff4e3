"""Invoices: each account's fee with every step of its calculation, as data and as JSON.

An :class:`Invoice` holds an ordered tuple of :class:`Step` s, each with a ``kind`` (a stable name,
listed in :data:`STEP_KINDS`), a human ``text`` ("platform tier 1: 1,000,000.00 × 0.10% × 92/365
= 252.05"), the ``amount`` it produces when it produces money, and its operands as ``values``
(strings, exact). :meth:`Invoice.as_json` and :meth:`FeeRun.as_json` give stable keys and string
decimals ("252.05"), never floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

import attrs

from .period import Period
from .schedule import Payee

#: every kind of step, in the order they appear on an invoice
STEP_KINDS = (
    "days",  # the days billed and the year they are counted against
    "value",  # the account's value on the basis
    "exclusion",  # an excluded sleeve or security, and its value on the basis
    "billable",  # the value a component's rates apply to
    "household",  # the household total the tiers are found on, and this account's share
    "tier",  # one tier: balance slice × annual rate × days / year
    "share",  # this account's share of the household's fee
    "flow",  # advance billing: a flow during the period, prorated for its remaining days
    "floor",  # withdrawals credited more than the fee: the fee is 0
    "minimum",  # the prorated annual minimum, applied or not
    "fee",  # the component's fee for one payee (and one manager)
    "total",  # the invoice's total
)


@attrs.frozen
class Step:
    """One labelled step of a fee calculation."""

    kind: str = attrs.field(validator=attrs.validators.in_(STEP_KINDS))
    text: str
    amount: Decimal | None = None
    payee: str | None = None
    recipient: str | None = None  # a manager's fee: the manager (or model) it goes to
    values: Mapping[str, str] = attrs.field(factory=dict)

    def as_json(self) -> dict:
        return {"kind": self.kind, "payee": self.payee, "recipient": self.recipient, "text": self.text,
                "amount": _text(self.amount), "values": dict(self.values)}


@attrs.frozen
class Charge:
    """What one payee (for a manager: one recipient) is owed by an account for the period."""

    payee: Payee
    recipient: str | None
    amount: Decimal

    def as_json(self) -> dict:
        return {"payee": self.payee.value, "recipient": self.recipient, "amount": _text(self.amount)}


@attrs.frozen
class Invoice:
    """One account's fee for one period, with every step of its calculation."""

    account_id: str
    household_id: str
    schedule: str
    period: Period
    billed_from: dt.date
    billed_to: dt.date
    billed_days: int
    year_days: int
    steps: tuple[Step, ...] = attrs.field(converter=tuple)
    charges: tuple[Charge, ...] = attrs.field(converter=tuple)

    @property
    def totals(self) -> dict[str, Decimal]:
        """The fee per payee, every payee named (0.00 when it charges nothing)."""
        totals = {p.value: Decimal("0.00") for p in Payee}
        for charge in self.charges:
            totals[charge.payee.value] += charge.amount
        return totals

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.charges), Decimal("0.00"))

    def as_json(self) -> dict:
        return {
            "account_id": self.account_id,
            "household_id": self.household_id,
            "schedule": self.schedule,
            "period": self.period.label,
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "billed_from": self.billed_from.isoformat(),
            "billed_to": self.billed_to.isoformat(),
            "billed_days": self.billed_days,
            "year_days": self.year_days,
            "charges": [c.as_json() for c in self.charges],
            "totals": {k: _text(v) for k, v in self.totals.items()},
            "total": _text(self.total),
            "steps": [s.as_json() for s in self.steps],
        }

    def render(self) -> str:
        """The steps as text, one a line."""
        return "\n".join(step.text for step in self.steps)


@attrs.frozen
class FeeRun:
    """Every invoice of a period, and the schedules they were computed with."""

    period: Period
    schedules_file: str
    schedules_digest: str
    invoices: tuple[Invoice, ...] = attrs.field(converter=tuple)

    def invoice(self, account_id: str) -> Invoice:
        """The invoice of ``account_id`` (KeyError when it has none)."""
        for invoice in self.invoices:
            if invoice.account_id == account_id:
                return invoice
        raise KeyError(account_id)

    @property
    def totals(self) -> dict[str, Decimal]:
        totals = {p.value: Decimal("0.00") for p in Payee}
        for invoice in self.invoices:
            for payee, amount in invoice.totals.items():
                totals[payee] += amount
        return totals

    @property
    def total(self) -> Decimal:
        return sum((i.total for i in self.invoices), Decimal("0.00"))

    def as_json(self) -> dict:
        return {
            "period": self.period.label,
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "schedules": {"file": self.schedules_file, "sha256": self.schedules_digest},
            "totals": {k: _text(v) for k, v in self.totals.items()},
            "total": _text(self.total),
            "invoices": [i.as_json() for i in self.invoices],
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


# ---------------------------------------------------------------- display helpers (step texts)


def money(amount: Decimal) -> str:
    """1234567.89 as ``1,234,567.89``."""
    return f"{amount:,.2f}"


def percent(rate: Decimal) -> str:
    """A rate (a fraction) as a percentage with at least 2 decimals: 0.001 is ``0.10%``."""
    value = (rate * 100).normalize()
    if value.as_tuple().exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return f"{value:f}%"
