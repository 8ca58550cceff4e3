"""The client report: one account's period in a printable document (HTML, PDF).

:mod:`.model` holds what the report says (frozen values, filled by the caller), :mod:`.charts`
draws its charts (matplotlib, SVG), :mod:`.render` lays it out (jinja2 template and print
stylesheet in ``templates/``; PDF through WeasyPrint). Nothing here reads the database.
"""

from __future__ import annotations

from .model import (
    AllocationRow, ClientReport, FeeLine, GainsSummary, GrowthPoint, HoldingRow, PerformanceRow, SleeveSummary,
    ValueDelivered,
)
from .render import FORMATS, render_html, render_pdf

__all__ = [
    "FORMATS", "AllocationRow", "ClientReport", "FeeLine", "GainsSummary", "GrowthPoint", "HoldingRow",
    "PerformanceRow", "SleeveSummary", "ValueDelivered", "render_html", "render_pdf",
]
