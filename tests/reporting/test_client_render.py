"""The client report's rendering: the HTML, its charts, the PDF, and the page in a real browser."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import random
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from html.parser import HTMLParser
from pathlib import Path

import attrs
import pytest

from smartx_engine.reporting.client import charts, formatting
from smartx_engine.reporting.client.model import (
    AllocationRow, ClientReport, FeeLine, GainsSummary, GrowthPoint, HoldingRow, PerformanceRow, SleeveSummary,
    ValueDelivered,
)
from smartx_engine.reporting.client.render import render_html, render_pdf

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SECTIONS = {
    "summary": "Summary",
    "allocation": "Allocation vs target",
    "performance": "Performance",
    "holdings": "Holdings",
    "gains": "Realized and unrealized gains",
    "fees": "Fees",
    "value-delivered": "Value delivered",
    "disclosures": "Disclosures",
}
CENT = Decimal("0.01")
D = Decimal


# ---------------------------------------------------------------- the fixture report

# symbol, name, asset class, quantity, price, target weight, cost basis, term
POSITIONS = [
    ("VTI", "Vanguard Total Stock Market ETF", "us_equity", "1450", "298.42", "0.30", "331250.00", "long"),
    ("SCHD", "Schwab US Dividend Equity ETF", "us_equity", "2210.5", "84.17", "0.08", "170020.10", "mixed"),
    ("ESGU", "iShares ESG Aware MSCI USA ETF", "us_equity", "640", "131.08", "0.07", "79010.00", "short"),
    ("VXUS", "Vanguard Total International Stock ETF", "intl_equity", "2380", "66.91", "0.12", "151120.75", "long"),
    ("VWO", "Vanguard FTSE Emerging Markets ETF", "intl_equity", "1120", "47.36", "0.05", "57900.00", "long"),
    ("BND", "Vanguard Total Bond Market ETF", "bonds", "2050", "73.18", "0.15", "160470.00", "long"),
    ("TIP", "iShares TIPS Bond ETF", "bonds", "385", "109.64", "0.04", "43220.40", "short"),
    ("MUB", "iShares National Muni Bond ETF", "munis", "1010", "106.93", "0.11", "109880.00", "long"),
    ("VNQ", "Vanguard Real Estate ETF", "real_estate", "455", "91.27", "0.05", "45990.00", "short"),
    ("$CASH", "Cash", "cash", "24318.77", "1", "0.03", None, None),
]


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _weight(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole).quantize(D("0.0001"), rounding=ROUND_HALF_EVEN)


def make_report(**changes) -> ClientReport:
    """A taxable trust account with three sleeves, ten holdings and a year of daily values."""
    values = {p[0]: _money(D(p[3]) * D(p[4])) for p in POSITIONS}
    closing = sum(values.values(), D(0))
    holdings = []
    for symbol, name, asset_class, quantity, price, target, basis, term in POSITIONS:
        value = values[symbol]
        holdings.append(HoldingRow(
            symbol, name, asset_class, D(quantity), D(price), value, _weight(value, closing), D(target),
            D(basis) if basis else None, value - D(basis) if basis else None, term))
    by_class: dict[str, list[HoldingRow]] = defaultdict(list)
    for h in holdings:
        by_class[h.asset_class].append(h)
    allocation = tuple(
        AllocationRow(cls, sum((h.value for h in rows), D(0)), _weight(sum((h.value for h in rows), D(0)), closing),
                      sum((h.target for h in rows), D(0)))
        for cls, rows in by_class.items())
    core = _money(closing * D("0.62"))
    esg = _money(closing * D("0.23"))
    sleeves = (
        SleeveSummary("core", "GRO-80-20 2026.2 (Acme)", "balanced", core, _weight(core, closing)),
        SleeveSummary("esg", "Blend: 60% ESG-CORE / 40% ESG-BOND", "growth", esg, _weight(esg, closing)),
        SleeveSummary("muni", "Custom allocation", None, closing - core - esg, _weight(closing - core - esg, closing)),
    )

    # a year of end-of-day values; a $50,000 deposit on 2026-08-03; the last day is the closing value
    start, end = dt.date(2025, 10, 1), dt.date(2026, 9, 30)
    rng = random.Random(20260930)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    level, bench, levels, benches = 1.0, 1.0, [], []
    for _ in days:
        shock = rng.gauss(0.00035, 0.0065)
        level *= 1 + shock
        bench *= 1 + shock * 0.93 + rng.gauss(0, 0.0012)
        levels.append(level)
        benches.append(bench)
    deposit_day, deposit = dt.date(2026, 8, 3), D("50000.00")
    invested_before = D("1180000.00")
    scale = float(closing - deposit) / levels[-1]
    growth = []
    for day, lv, bv in zip(days, levels, benches):
        invested = invested_before + (deposit if day >= deposit_day else 0)
        extra = float(deposit) * (lv / levels[days.index(deposit_day)]) if day >= deposit_day else 0.0
        value = _money(D(repr(lv * scale + extra)))
        growth.append(GrowthPoint(day, value, invested, _money(D(repr(bv / benches[0] * float(invested))))))
    growth[-1] = attrs.evolve(growth[-1], value=closing)
    opening = next(p.value for p in growth if p.date == dt.date(2026, 6, 30))

    fees = (
        FeeLine("Harborview Wealth Partners", "Advisory fee, 0.80% a year, billed quarterly in advance", D("2612.40")),
        FeeLine("Acme Portfolio Strategies", "Model manager fee, core sleeve, 0.15% a year", D("303.85")),
        FeeLine("Platform", "Technology and custody fee", D("125.00")),
    )
    fees_paid = sum((f.amount for f in fees), D(0))
    report = dict(
        firm_name="Harborview Wealth Partners",
        account_id="ACC-1042",
        account_name="Chen Family Trust",
        household_name="The Chen Family",
        registration="trust",
        custodian="schwab",
        period_label="2026Q3",
        period_start=dt.date(2026, 7, 1),
        period_end=dt.date(2026, 9, 30),
        generated_on=dt.date(2026, 10, 5),
        opening_value=opening,
        closing_value=closing,
        net_flows=deposit,
        income=D("6480.12"),
        fees_paid=fees_paid,
        investment_gain=closing - opening - deposit,
        sleeves=sleeves,
        allocation=allocation,
        performance=(
            PerformanceRow("Quarter", dt.date(2026, 7, 1), dt.date(2026, 9, 30), 0.031245, 0.028512, 0.030498),
            PerformanceRow("Year to date", dt.date(2026, 1, 1), dt.date(2026, 9, 30), 0.074410, 0.069902, 0.071233),
            PerformanceRow("1 year", dt.date(2025, 10, 1), dt.date(2026, 9, 30), -0.004567, 0.001234, -0.003911),
            PerformanceRow("Since inception", dt.date(2019, 4, 1), dt.date(2026, 9, 30), 0.081277, None, None,
                           annualized=True),
        ),
        growth=tuple(growth),
        holdings=tuple(holdings),
        gains=GainsSummary(D("-4210.55"), D("18342.10"), D("12850.00"), D("640.25"),
                           sum((h.unrealized_gain for h in holdings if h.term == "short"), D(0)),
                           sum((h.unrealized_gain for h in holdings if h.term in ("long", "mixed")), D(0))),
        fees=fees,
        value_delivered=ValueDelivered(
            tax_alpha=D("4731.80"),
            tax_alpha_assumptions=(
                "Harvested losses offset gains taxed at the account's rates: 37% short-term, 23.8% long-term.",
                "Deferred gains are valued at their tax today; no discounting for the time value of money.",
                "Compared with a rebalance that ignores lots and taxes over the same period.",
            ),
            drift_within_bands=0.9674,
            trades_avoided=14,
            fees_paid=fees_paid,
        ),
        disclosures=(
            "Returns are time-weighted, linked daily, with cash flows at the end of the day.",
            "Returns are net of all fees charged to the account.",
            "Returns for periods longer than one year are annualized; shorter periods are not.",
            "The benchmark is the return of each sleeve's target model, weighted by the sleeve's value.",
            "Past performance does not guarantee future results. Values are as reported by the custodian.",
        ),
    )
    report.update(changes)
    return ClientReport(**report)


@pytest.fixture(scope="module")
def report() -> ClientReport:
    return make_report()


@pytest.fixture(scope="module")
def html(report: ClientReport) -> str:
    return render_html(report)


@pytest.fixture(scope="module")
def reporter():
    from smartx_engine.plugins import registered

    return registered("register_reporters", "reporter")["client"]


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture(scope="module")
def pdf_run(reporter, report: ClientReport) -> tuple[bytes, list[logging.LogRecord]]:
    """The PDF the registered reporter renders, and what WeasyPrint warned about meanwhile."""
    handler = _Records()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        return reporter.render(report, "pdf"), handler.records
    finally:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def pdf(pdf_run) -> bytes:
    return pdf_run[0]


class _Sections(HTMLParser):
    """Each <section id=...>'s first <h2> text; the ids of every element."""

    def __init__(self):
        super().__init__()
        self.titles: dict[str, str] = {}
        self.ids: list[str] = []
        self._section: str | None = None
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if tag == "section" and "id" in attributes:
            self._section = attributes["id"]
        elif tag == "h2" and self._section and self._section not in self.titles:
            self._in_h2 = True
            self.titles[self._section] = ""

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.titles[self._section] += data


def _sections(html: str) -> _Sections:
    parser = _Sections()
    parser.feed(html)
    return parser


# ---------------------------------------------------------------- the HTML


def test_every_section_has_its_id_and_title(html):
    parsed = _sections(html)
    assert parsed.titles == SECTIONS
    assert len(parsed.ids) == len(set(parsed.ids)), "element ids are unique"
    assert html.count("<h1") == 1 and "The Chen Family" in html


def test_key_figures_are_formatted(html, report):
    closing = "$1,281,023.30"
    assert report.closing_value == D("1281023.30")
    assert html.count(closing) >= 4  # key figure, summary, allocation total, holdings total
    assert f"${report.opening_value:,.2f}" in html
    assert "+$50,000.00" in html and "$6,480.12" in html
    assert '<span class="num neg">\u2212$3,041.25</span>' in html  # fees paid, shown as a deduction
    assert f"+${report.investment_gain:,.2f}" in html
    assert '<span class="num neg">\u2212$4,210.55</span>' in html  # a realised short-term loss
    assert "3.12%" in html and "2.85%" in html and "+0.27%" in html
    assert '<span class="num neg">\u22120.46%</span>' in html
    assert "8.13%" in html and "annualized" in html
    assert "2,210.5" in html and "298.42" in html and "24,318.77" in html and "$432,709.00" in html
    assert "33.78%" in html and "30.00%" in html
    assert "$4,731.80" in html and "96.74%" in html and ">14<" in html
    for assumption in report.value_delivered.tax_alpha_assumptions:
        assert assumption.replace("'", "&#39;") in html
    assert "July" not in _sections(html).titles.values()
    assert "Sep 30, 2026" in html and "September 30, 2026" in html


def test_unavailable_returns_read_n_a_with_a_footnote(html):
    performance = html[html.index('id="performance"'):html.index('id="holdings"')]
    assert performance.count('<span class="na">n/a<sup class="fn-ref">†</sup></span>') == 3
    assert "n/a: not available" in performance
    without = render_html(make_report(performance=(
        PerformanceRow("Quarter", dt.date(2026, 7, 1), dt.date(2026, 9, 30), 0.01, 0.02, 0.015),)))
    assert "n/a" not in without[without.index('id="performance"'):without.index('id="holdings"')]


def test_the_html_is_self_contained(html):
    assert "<link" not in html and "<script" not in html and "@import" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//|file:)""", html)
    assert not re.search(r"url\(\s*['\"]?(?!#)", html)
    assert html.count("<style>") == 1 and html.count("<svg") == 2


def test_text_from_the_data_is_escaped():
    html = render_html(make_report(household_name='<b>O\'Neil & "Sons"</b>', firm_name="A&B </style> Advisers"))
    assert "<b>O'Neil" not in html and "&lt;b&gt;O&#39;Neil &amp; &#34;Sons&#34;&lt;/b&gt;" in html
    head = html[:html.index("</head>")]
    assert head.count("</style>") == 1  # the footer text inside the stylesheet is a CSS string
    assert '"A\\26 B \\3c /style\\3e  Advisers' in head


def test_an_account_without_history_renders_its_empty_sections():
    empty = make_report(sleeves=(), allocation=(), performance=(), growth=(), holdings=(), fees=(),
                        gains=GainsSummary(0, 0, 0, 0, 0, 0), disclosures=())
    html = render_html(empty)
    assert _sections(html).titles == SECTIONS
    assert "<svg" not in html
    assert "Not enough daily history to draw the growth chart." in html
    assert "No performance figures for this period." in html


# ---------------------------------------------------------------- charts


@pytest.mark.parametrize("draw", ["growth", "allocation"])
def test_charts_are_well_formed_deterministic_svg(report, draw):
    svg = charts.growth_chart(report.growth) if draw == "growth" else charts.allocation_chart(report.allocation)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(list(root.iter())) > 50
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    again = charts.growth_chart(report.growth) if draw == "growth" else charts.allocation_chart(report.allocation)
    assert again == svg


def test_chart_labels_are_text(report):
    growth = charts.growth_chart(report.growth)
    for text in ("Account value", "Net invested", "Benchmark (target model)", "$1.25M", "2026"):
        assert text in growth
    allocation = charts.allocation_chart(report.allocation)
    assert "US equity" in allocation and "54.9%" in allocation and "Target" in allocation


def test_inline_charts_are_well_formed_xml(html):
    for svg in re.findall(r"<svg\b.*?</svg>", html, flags=re.S):
        root = ET.fromstring(svg)
        assert root.get("role") == "img" and root.get("width") is None and root.get("viewBox")
        prefix = root.get("id") + "-"
        ids = {e.get("id") for e in root.iter() if e.get("id")} - {root.get("id")}
        assert ids and all(i.startswith(prefix) for i in ids)
        references = set(re.findall(r"(?:url\(|href=\")#([^)\"]+)", svg))
        assert references and references <= ids, "every reference points into its own chart"
    assert 'id="growth-chart"' in html and 'id="allocation-chart"' in html


def test_charts_refuse_too_little_data(report):
    with pytest.raises(ValueError):
        charts.growth_chart(report.growth[:1])
    with pytest.raises(ValueError):
        charts.allocation_chart(())


# ---------------------------------------------------------------- the values


def test_the_investment_gain_must_be_closing_less_opening_less_flows():
    with pytest.raises(ValueError, match="investment_gain"):
        make_report(investment_gain=D("1.00"))


@pytest.mark.parametrize("changes, error, message", [
    ({"income": 6480.12}, TypeError, "never floats"),
    ({"income": D("6480.123")}, ValueError, "more than 2 decimal places"),
    ({"fees": (FeeLine("Advisor", "fee", D("1.00")),)}, ValueError, "fee lines add up"),
    ({"period_end": dt.date(2026, 6, 1)}, ValueError, "before it starts"),
    ({"growth": ()}, None, None),
])
def test_the_report_checks_its_invariants(changes, error, message):
    if error is None:
        make_report(**changes)
        return
    with pytest.raises(error, match=message):
        make_report(**changes)


def test_parts_check_their_invariants(report):
    with pytest.raises(ValueError, match="cannot be annualised"):
        PerformanceRow("Quarter", dt.date(2026, 7, 1), dt.date(2026, 9, 30), 0.01, 0.01, 0.01, annualized=True)
    with pytest.raises(TypeError):
        PerformanceRow("Quarter", dt.date(2026, 7, 1), dt.date(2026, 9, 30), D("0.01"), None, None)
    with pytest.raises(ValueError, match="assumptions"):
        ValueDelivered(tax_alpha=D("10.00"))
    with pytest.raises(ValueError):
        HoldingRow("X", "X", "bonds", D(1), D(1), D(1), D("0.5"), None, None, None, "forever")
    with pytest.raises(ValueError, match="sleeves' values"):
        attrs.evolve(report, sleeves=report.sleeves[:1])
    with pytest.raises(ValueError, match="increasing date order"):
        attrs.evolve(report, growth=tuple(reversed(report.growth)))


def test_number_formats():
    assert formatting.money(D("-1234.5")) == "\u2212$1,234.50"
    assert formatting.money(D("1234567.891")) == "$1,234,567.89"
    assert formatting.money(D("12.5"), plus=True) == "+$12.50" and formatting.money(D(0), plus=True) == "$0.00"
    assert formatting.percent(0.0123) == "1.23%" and formatting.percent(-0.000049) == "0.00%"
    assert formatting.percent(D("0.3378")) == "33.78%" and formatting.percent(None) == "n/a"
    assert formatting.percent(0.0027, plus=True) == "+0.27%" and formatting.percent(12.5) == "1,250.00%"
    assert formatting.quantity(D("2210.500000")) == "2,210.5" and formatting.quantity(D("1450")) == "1,450"
    assert formatting.price(D("298.4")) == "298.40" and formatting.price(D("0.123456")) == "0.123456"
    assert formatting.label("us_equity") == "US equity" and formatting.label("rollover_ira") == "Rollover IRA"


# ---------------------------------------------------------------- the reporter plugin


def test_the_client_reporter_is_a_builtin_plugin(reporter, report):
    from smartx_engine.plugins import DEFAULT_PLUGINS

    assert "smartx_engine.builtin.client_report" in DEFAULT_PLUGINS
    assert reporter.name == "client" and reporter.formats == ("html", "pdf")
    html = reporter.render(report, "html")
    assert isinstance(html, bytes) and html.startswith(b"<!DOCTYPE html>")
    assert html.decode("utf-8") == render_html(report)
    with pytest.raises(ValueError, match="html or pdf"):
        reporter.render(report, "docx")


def test_loading_the_plugins_imports_no_renderer():
    code = ("import sys; from smartx_engine.plugins import get_plugin_manager, registered; get_plugin_manager(); "
            "registered('register_reporters', 'reporter'); import smartx_engine.reporting.client; "
            "print(sorted(m for m in ('matplotlib', 'weasyprint', 'jinja2', 'pypdfium2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- the PDF


def _ink(image, threshold: int = 235) -> float:
    """The share of pixels darker than ``threshold`` (in grey)."""
    grey = image.convert("L")
    histogram = grey.histogram()
    return sum(histogram[:threshold]) / (grey.width * grey.height)


def test_weasyprint_has_nothing_to_warn_about(pdf_run):
    assert [r.getMessage() for r in pdf_run[1]] == []


def test_the_pdf_has_letter_pages_each_with_ink(pdf):
    pdfium = pytest.importorskip("pypdfium2")
    assert pdf.startswith(b"%PDF-")
    document = pdfium.PdfDocument(pdf)
    assert 3 <= len(document) <= 6
    for index in range(len(document)):
        page = document[index]
        assert page.get_size() == pytest.approx((612, 792))  # US Letter, in points
        image = page.render(scale=0.75).to_pil()
        assert _ink(image) > 0.01, f"page {index + 1} is blank"


def test_the_pdf_text_has_the_titles_the_client_and_page_numbers(pdf, report):
    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(pdf)
    pages = [document[i].get_textpage().get_text_bounded() for i in range(len(document))]
    text = "\n".join(pages)
    for title in SECTIONS.values():
        assert title in text
    assert "The Chen Family" in pages[0] and "Harborview Wealth Partners" in pages[0]
    assert "$1,281,023.30" in pages[0]
    for number, page in enumerate(pages, 1):
        assert f"Page {number} of {len(pages)}" in page
        assert "Chen Family Trust · 2026Q3" in page
    holdings_page = next(p for p in pages if "Holdings" in p)
    assert "VTI" in holdings_page and "$CASH" in holdings_page  # the whole table on one page


def test_sections_start_where_they_should(pdf):
    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(pdf)
    pages = [document[i].get_textpage().get_text_bounded() for i in range(len(document))]
    first = pages[0]
    assert "Summary" in first and "Allocation vs target" in first and "Performance" not in first
    assert pages[1].lstrip().startswith("Performance")
    assert pages[2].lstrip().startswith("Holdings")


# ---------------------------------------------------------------- in a browser


def require_browser(path: Path, required: bool) -> Path:
    """``path`` if Chromium is there; else a failure when ``required`` (CI), a skip otherwise."""
    if path.exists():
        return path
    if required:
        pytest.fail(f"SMARTX_REQUIRE_BROWSER is set but {path} is missing (apt-get install chromium)")
    pytest.skip(f"{path} is not installed; set SMARTX_REQUIRE_BROWSER=1 to make this a failure")


@pytest.fixture(scope="module")
def chromium() -> Path:
    return require_browser(CHROMIUM, required=bool(os.environ.get("SMARTX_REQUIRE_BROWSER")))


def test_a_missing_browser_fails_when_required_and_skips_otherwise(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="SMARTX_REQUIRE_BROWSER is set"):
        require_browser(tmp_path / "chromium", required=True)
    with pytest.raises(pytest.skip.Exception):
        require_browser(tmp_path / "chromium", required=False)


def _browse(chromium: Path, directory: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        str(chromium), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={directory / 'profile'}", f"--window-size={WINDOW[0]},{WINDOW[1]}", *args,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


WINDOW = (1280, 5000)
#: measures where each section is drawn; appended at the end of the body, after everything it measures
MEASURE = """<script>
(() => {
  const boxes = {};
  for (const s of document.querySelectorAll("#cover, section[id]")) {
    const r = s.getBoundingClientRect();
    boxes[s.id] = [r.left + scrollX, r.top + scrollY, r.width, r.height];
  }
  const out = document.createElement("pre");
  out.id = "boxes";
  out.textContent = JSON.stringify(boxes);
  document.body.appendChild(out);
})();
</script>"""


@pytest.fixture(scope="module")
def browsed(chromium, html, tmp_path_factory):
    """The report in headless Chromium: its screenshot, its DOM, and each section's box (CSS px)."""
    directory = tmp_path_factory.mktemp("browser")
    page = directory / "report.html"
    page.write_text(html, encoding="utf-8")
    screenshot = directory / "report.png"
    _browse(chromium, directory, f"--screenshot={screenshot}", page.as_uri())
    measured = directory / "measured.html"
    measured.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = _browse(chromium, directory, "--dump-dom", measured.as_uri()).stdout
    boxes = json.loads(re.search(r'<pre id="boxes">(.*?)</pre>', dom, flags=re.S).group(1))
    return screenshot, dom, boxes


def test_the_browser_renders_every_section_title(browsed):
    _screenshot, dom, _boxes = browsed
    assert _sections(dom).titles == SECTIONS
    assert dom.count("<svg") == 2


def test_the_screenshot_shows_every_section(browsed):
    from PIL import Image

    screenshot, _dom, boxes = browsed
    image = Image.open(screenshot).convert("RGB")
    assert image.size == WINDOW
    cover = boxes.pop("cover")
    assert set(boxes) == set(SECTIONS)
    tops = [cover[1]] + [boxes[s][1] for s in SECTIONS]
    assert tops == sorted(tops), "sections in order"
    for section, (left, top, width, height) in boxes.items():
        assert width > 600 and height > 40, section
        assert top + height <= WINDOW[1], f"{section} is below the screenshot; the page grew"
        region = image.crop((int(left), int(top), int(left + width), int(top + height)))
        assert _ink(region) > 0.01, f"section {section} looks blank"
        colours = region.quantize(colors=64).getcolors()
        assert len(colours) >= 8, f"section {section} has too few colours"
    # the cover band is the brand's navy, the page behind the paper a light grey
    band = image.crop((int(cover[0]) + 10, int(cover[1]) + 10, int(cover[0]) + 110, int(cover[1]) + 40))
    r, g, b = max(band.getcolors(3000))[1]
    assert b > r + 20 and r < 80, f"expected the navy cover band, got {(r, g, b)}"
    assert image.getpixel((10, 10)) == (0xE9, 0xED, 0xF3)
