"""Reporting: daily valuations, performance, fees, tax and the value delivered (public API).

docs/reporting.md documents every formula and convention.
"""

from __future__ import annotations

from .benchmark import aggregate_benchmark, benchmark_returns
from .clientdata import client_report
from .dietz import ModifiedDietz, modified_dietz
from .drift import BandRecord, band_history
from .history import History, SleeveInfo
from .irr import Xirr, investor_cashflows, xirr
from .performance import Performance, Scope, performance
from .returns import annualized, cumulative, daily_returns, link, period_returns
from .tax import TaxReport, tax_report
from .taxalpha import TaxAlpha, tax_alpha
from .valuations import build_history
from .value import ValueDelivered, value_delivered

__all__ = [
    "BandRecord", "History", "ModifiedDietz", "Performance", "Scope", "SleeveInfo", "TaxAlpha", "TaxReport",
    "ValueDelivered", "Xirr", "aggregate_benchmark", "annualized", "band_history", "benchmark_returns", "build_history",
    "client_report", "cumulative", "daily_returns", "investor_cashflows", "link", "modified_dietz", "performance",
    "period_returns", "tax_alpha", "tax_report", "value_delivered", "xirr",
]
