"""The client report's charts, drawn with matplotlib as SVG text to embed in the page.

Figures are built with :class:`matplotlib.figure.Figure` and saved through matplotlib's SVG
canvas: pyplot is never imported, so no GUI backend (or global figure state) is involved. The
output is deterministic: ids are hashed with a fixed ``svg.hashsalt``, the date and creator
metadata are left out, text stays text (``svg.fonttype: none``, laid out with matplotlib's own
DejaVu Sans metrics). Float64 is used for plotting only.

matplotlib is imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .formatting import label

if TYPE_CHECKING:
    from .model import AllocationRow, GrowthPoint

#: the report's palette (also in templates/client_report.css)
INK = "#1b2a41"
NAVY = "#1f3a5f"
TEAL = "#2a9d8f"
GOLD = "#d9a441"
GREY = "#8a94a6"
GRID = "#e3e7ee"
TARGET = "#c9d3e3"

RC = {
    "svg.hashsalt": "smartx-client-report",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.edgecolor": GRID,
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": "#4a5568",
    "ytick.color": "#4a5568",
    "xtick.major.size": 0,
    "ytick.major.size": 0,
    "legend.frameon": False,
    "path.simplify": False,
}
METADATA = {"Date": None, "Creator": None}


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata=METADATA, transparent=True)
    return buffer.getvalue()


def _compact_money(value: float, _position: object = None) -> str:
    size = abs(value)
    sign = "\u2212" if value < 0 else ""
    if size >= 1e9:
        return f"{sign}${size / 1e9:,.1f}B"
    if size >= 1e6:
        return f"{sign}${size / 1e6:,.2f}M".replace(".00M", "M")
    if size >= 1e3:
        return f"{sign}${size / 1e3:,.0f}K"
    return f"{sign}${size:,.0f}"


def growth_chart(points: Sequence[GrowthPoint], *, width: float = 7.2, height: float = 3.0) -> str:
    """The account's value against the net amount invested and the benchmark, day by day (SVG).

    Raises ValueError for fewer than two points.
    """
    if len(points) < 2:
        raise ValueError("a growth chart needs at least two daily points")
    import matplotlib
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    days = [p.date for p in points]
    value = [float(p.value) for p in points]
    invested = [float(p.net_invested) for p in points]
    benchmark = [float(p.benchmark_value) if p.benchmark_value is not None else float("nan") for p in points]
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(width, height), layout="constrained")
        axes = figure.subplots()
        known = [b for b in benchmark if b == b]  # not NaN
        low = min(value + invested + known)
        axes.fill_between(days, value, low, color=NAVY, alpha=0.08, linewidth=0)
        (invested_line,) = axes.plot(days, invested, color=GREY, linewidth=1.2, linestyle=(0, (4, 3)), drawstyle="steps-post",
                  label="Net invested")
        handles = [invested_line]
        if known:
            handles += axes.plot(days, benchmark, color=GOLD, linewidth=1.3, label="Benchmark (target model)")
        handles.insert(0, axes.plot(days, value, color=NAVY, linewidth=2.0, label="Account value")[0])
        axes.set_xlim(days[0], days[-1])
        span = max(value + invested + known) - low
        axes.set_ylim(low - 0.08 * span, None)
        locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        axes.yaxis.set_major_formatter(FuncFormatter(_compact_money))
        axes.grid(axis="y", color=GRID, linewidth=0.8)
        axes.set_axisbelow(True)
        figure.legend(handles=handles, loc="outside upper left", ncols=3, fontsize=8, handlelength=2.2)
        return _svg(figure)


def allocation_chart(rows: Sequence[AllocationRow], *, width: float = 3.4, height: float | None = None) -> str:
    """Each asset class's actual weight (bar) against its target (outlined bar), as SVG.

    Raises ValueError without rows.
    """
    if not rows:
        raise ValueError("an allocation chart needs at least one asset class")
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    names = [label(r.asset_class) for r in rows]
    actual = [float(r.weight) * 100 for r in rows]
    target = [float(r.target) * 100 for r in rows]
    positions = list(range(len(rows)))
    height = height or 0.6 + 0.27 * len(rows)
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(width, height), layout="constrained")
        axes = figure.subplots()
        bar = 0.38
        axes.barh([p - bar / 2 for p in positions], actual, height=bar, color=NAVY, label="Actual")
        axes.barh([p + bar / 2 for p in positions], target, height=bar, color=TARGET, label="Target")
        top = max(actual + target)
        for p, a in zip(positions, actual):
            axes.text(a + top * 0.02, p - bar / 2, f"{a:.1f}%", va="center", fontsize=7.5, color=INK)
        axes.set_yticks(positions, names)
        axes.invert_yaxis()
        axes.set_xlim(0, top * 1.22)
        axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0f}%"))
        axes.grid(axis="x", color=GRID, linewidth=0.8)
        axes.set_axisbelow(True)
        axes.spines["left"].set_visible(False)
        figure.legend(loc="outside upper right", fontsize=7.5, ncols=2)
        return _svg(figure)
