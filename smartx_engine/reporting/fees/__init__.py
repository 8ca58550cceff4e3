"""Fees: the firm's schedules (``fees.toml``), the calculation per account, and invoices.

Entry point: ``fee_run(history, load_schedules(rules / "fees.toml"), "2026Q3")``; docs/fees.md
describes the file, every formula and each invoice step.
"""

from __future__ import annotations

from .compute import annual_fee, annual_lines, fee_run, required_dates, round_cents
from .invoice import STEP_KINDS, Charge, FeeRun, Invoice, Step
from .period import Period, parse_period
from .schedule import (Aggregate, Basis, Component, DayCount, Exclusions, FeeSchedules, Kind, Payee, Rates,
                       Schedule, Tier, Timing, load_schedules, parse_schedules)

__all__ = [
    "Aggregate", "Basis", "Charge", "Component", "DayCount", "Exclusions", "FeeRun", "FeeSchedules", "Invoice",
    "Kind", "Payee", "Period", "Rates", "STEP_KINDS", "Schedule", "Step", "Tier", "Timing", "annual_fee",
    "annual_lines", "fee_run", "load_schedules", "parse_period", "parse_schedules", "required_dates", "round_cents",
]
