"""The built-in ``client`` report: one account's period as a printable HTML page or a PDF.

Registered through ``register_reporters`` like any third-party report. Rendering imports jinja2,
matplotlib and WeasyPrint on first use only, so loading the plugin stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ..hookspecs import hookimpl

if TYPE_CHECKING:
    from ..reporting.client.model import ClientReport


@attrs.frozen
class ClientReporter:
    name: str = "client"
    description: str = "an account's period for the client: value, allocation, performance, holdings, gains, fees"
    formats: tuple[str, ...] = ("html", "pdf")

    def render(self, report: ClientReport, format: str) -> bytes:
        """The report in ``format`` (one of ``formats``): UTF-8 HTML or PDF bytes."""
        from ..reporting.client import render

        if format not in self.formats:
            raise ValueError(f"the client report renders {' or '.join(self.formats)}, not {format!r}")
        if format == "html":
            return render.render_html(report).encode("utf-8")
        return render.render_pdf(report)


@hookimpl
def register_reporters(register):
    register(ClientReporter())
