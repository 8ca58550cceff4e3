"""Render a :class:`~.model.ClientReport` as a self-contained HTML page or a PDF.

The HTML is the jinja2 template ``templates/client_report.html.j2`` (autoescaped) with the print
stylesheet ``templates/client_report.css`` and the charts (:mod:`.charts`, SVG) inlined: it
loads nothing from the network or the disk. The PDF is that HTML laid out by WeasyPrint
(Letter pages, page numbers in the footer). jinja2, matplotlib and WeasyPrint are imported when
a report is rendered, never on import.
"""

from __future__ import annotations

import functools
import logging
import re
from importlib import resources
from typing import Any

from . import formatting
from .model import ClientReport

TEMPLATE = "client_report.html.j2"
STYLESHEET = "client_report.css"
FORMATS = ("html", "pdf")

_SVG_ROOT = re.compile(r"<svg\b[^>]*>")
_SVG_SIZE = re.compile(r'\s(width|height)="[^"]*"')
_SVG_ID = re.compile(r'\b(id)="([^"]+)"')
_SVG_REF = re.compile(r'(url\(|href=")#([^)"]+)')


def render_html(report: ClientReport) -> str:
    """The report as one HTML document, stylesheet and charts inline."""
    if not isinstance(report, ClientReport):
        raise TypeError(f"render_html takes a ClientReport, not {type(report).__name__}")
    from markupsafe import Markup

    from . import charts

    growth = allocation = None
    if len(report.growth) >= 2:
        growth = Markup(inline_svg(charts.growth_chart(report.growth), "growth-chart",
                                   "Growth of the account's value against the net amount invested and the benchmark"))
    if report.allocation:
        allocation = Markup(inline_svg(charts.allocation_chart(report.allocation), "allocation-chart",
                                       "Actual and target weight of each asset class"))
    return _environment().get_template(TEMPLATE).render(
        r=report, css=Markup(_read(STYLESHEET)), growth_chart=growth, allocation_chart=allocation,
        holdings_total=_holdings_total(report), na=formatting.NOT_AVAILABLE,
        footer=Markup(css_string(f"{report.firm_name} · {report.account_name} · {report.period_label}")),
    )


def render_pdf(report: ClientReport) -> bytes:
    """The report as a PDF (WeasyPrint), Letter pages with numbered footers."""
    import weasyprint

    html = render_html(report)
    # No base URL and a fetcher that refuses everything: the document is self-contained.
    document = weasyprint.HTML(string=html, url_fetcher=_no_fetch)
    logger = logging.getLogger("weasyprint")
    logger.addFilter(_svg_style_noise)
    try:
        return document.write_pdf()
    finally:
        logger.removeFilter(_svg_style_noise)


def inline_svg(svg: str, element_id: str, description: str) -> str:
    """A standalone SVG document as an inline ``<svg>`` element that scales with its box."""
    start = svg.index("<svg")
    body = svg[start:]
    root = _SVG_ROOT.match(body).group(0)
    new_root = _SVG_SIZE.sub("", root)[:-1].rstrip() + (
        f' id="{element_id}" class="chart" role="img" aria-label="{_attr(description)}">')
    # ids are unique within one SVG document only: prefix them, and scope its stylesheet to it
    inner = _SVG_ID.sub(lambda m: f'{m.group(1)}="{element_id}-{m.group(2)}"', body[len(root):])
    inner = _SVG_REF.sub(lambda m: f"{m.group(1)}#{element_id}-{m.group(2)}", inner)
    inner = inner.replace("*{", f"#{element_id} *{{")
    return new_root + f"<title>{_text(description)}</title>" + inner


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string, safe inside a ``<style>`` element."""
    escaped = "".join(ch if ch.isalnum() or ch in " .,·:;-_()/'" else f"\\{ord(ch):x} " for ch in text)
    return f'"{escaped}"'


# ---------------------------------------------------------------- internals


@functools.cache
def _environment() -> Any:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters.update(formatting.FILTERS)
    environment.tests["negative"] = formatting.is_negative
    return environment


@functools.cache
def _read(name: str) -> str:
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def _holdings_total(report: ClientReport) -> dict[str, Any]:
    rows = report.holdings
    known_basis = [r.cost_basis for r in rows if r.cost_basis is not None]
    known_gain = [r.unrealized_gain for r in rows if r.unrealized_gain is not None]
    return {
        "value": sum((r.value for r in rows), 0),
        "weight": sum((r.weight for r in rows), 0),
        "cost_basis": sum(known_basis, 0) if known_basis else None,
        "unrealized_gain": sum(known_gain, 0) if known_gain else None,
    }


_SVG_PROPERTY = re.compile(r"^Ignored `(fill|stroke|clip-path|opacity|text-anchor|dominant-baseline)[a-z-]*:.*unknown property")


def _svg_style_noise(record: logging.LogRecord) -> bool:
    """WeasyPrint's stylesheet parser reports the charts' SVG style properties as unknown CSS,
    then draws them (its SVG renderer reads them); drop those records, keep every other one."""
    return not _SVG_PROPERTY.match(record.getMessage())


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"the client report loads nothing from outside the document (asked for {url})")


def _attr(text: str) -> str:
    return _text(text).replace('"', "&quot;")


def _text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
