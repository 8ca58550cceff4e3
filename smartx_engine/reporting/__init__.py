"""Reporting: daily valuations, performance, fees, tax and the value delivered (public API)."""

from __future__ import annotations

from .history import History, SleeveInfo

__all__ = ["History", "SleeveInfo"]
