"""The demo firm's market: its securities and four years of seeded daily closes.

Each security's closes are a geometric Brownian motion driven by its asset class (so VTI and ITOT
move together) plus a little noise of its own (more for single stocks), scaled to end at its
price on ``as_of``. Business days are Monday to Friday; holidays are ignored. Closes are
``Decimal`` cents rounded half-even (never below a cent); floats only drive the paths.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_EVEN, Decimal

import attrs
import numpy as np

CENT = Decimal("0.01")

#: symbol, name, asset class, close on ``as_of``, CUSIP
SECURITIES = (
    ("VTI", "Vanguard Total Stock Market ETF", "us_equity", "331.42", "922908769"),
    ("ITOT", "iShares Core S&P Total U.S. Stock Market ETF", "us_equity", "142.18", "464287150"),
    ("SCHB", "Schwab U.S. Broad Market ETF", "us_equity", "26.87", "808524102"),
    ("IVV", "iShares Core S&P 500 ETF", "us_equity", "682.35", "464287200"),
    ("VOO", "Vanguard S&P 500 ETF", "us_equity", "627.90", "922908363"),
    ("QQQ", "Invesco QQQ Trust", "us_equity", "612.44", "46090E103"),
    ("SCHD", "Schwab U.S. Dividend Equity ETF", "us_equity", "28.15", "808524797"),
    ("AAPL", "Apple Inc.", "us_equity", "268.31", "037833100"),
    ("MSFT", "Microsoft Corporation", "us_equity", "512.76", "594918104"),
    ("XOM", "Exxon Mobil Corporation", "us_equity", "117.52", "30231G102"),
    ("CVX", "Chevron Corporation", "us_equity", "154.08", "166764100"),
    ("VEA", "Vanguard FTSE Developed Markets ETF", "intl_equity", "60.23", "921943858"),
    ("IEFA", "iShares Core MSCI EAFE ETF", "intl_equity", "86.47", "46432F842"),
    ("VWO", "Vanguard FTSE Emerging Markets ETF", "emerging_equity", "52.16", "922042858"),
    ("BND", "Vanguard Total Bond Market ETF", "fixed_income", "74.58", "921937835"),
    ("AGG", "iShares Core U.S. Aggregate Bond ETF", "fixed_income", "100.62", "464287226"),
    ("SCHZ", "Schwab U.S. Aggregate Bond ETF", "fixed_income", "23.61", "808524870"),
    ("LQD", "iShares iBoxx $ Investment Grade Corporate Bond ETF", "fixed_income", "111.04", "464287242"),
    ("TIP", "iShares TIPS Bond ETF", "fixed_income", "111.27", "464287176"),
    ("VTEB", "Vanguard Tax-Exempt Bond ETF", "municipal", "50.48", "922907746"),
    ("MUB", "iShares National Muni Bond ETF", "municipal", "106.93", "464288414"),
    ("VNQ", "Vanguard Real Estate ETF", "real_estate", "91.75", "922908553"),
    ("GLD", "SPDR Gold Shares", "commodity", "381.60", "78463V107"),
)
#: asset class -> (annual drift, annual volatility, dividend yield)
MARKET = {
    "us_equity": (0.09, 0.17, "0.013"), "intl_equity": (0.07, 0.16, "0.030"),
    "emerging_equity": (0.06, 0.21, "0.028"), "fixed_income": (0.015, 0.06, "0.040"),
    "municipal": (0.01, 0.05, "0.030"), "real_estate": (0.05, 0.21, "0.038"),
    "commodity": (0.07, 0.15, "0"),
}
SINGLE_STOCKS = frozenset({"AAPL", "MSFT", "XOM", "CVX"})
STOCK_VOLATILITY, TRACKING_VOLATILITY = 0.22, 0.02  # a security's own volatility beyond its class's
ASSET_CLASS = {symbol: asset_class for symbol, _, asset_class, *_ in SECURITIES}


@attrs.frozen
class Market:
    """Business days and each security's daily closes on them (``Decimal``, and floats for analytics)."""

    days: tuple[dt.date, ...]
    closes: dict[str, list[Decimal]]
    floats: dict[str, np.ndarray] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "floats", {s: np.array([float(c) for c in cs]) for s, cs in self.closes.items()})

    @property
    def last(self) -> int:
        """The number of the last business day (``as_of``)."""
        return len(self.days) - 1

    def close(self, symbol: str, day: int) -> Decimal:
        """The close of ``symbol`` on business day number ``day``."""
        return self.closes[symbol][day]


def market(rng: np.random.Generator, as_of: dt.date, years: int = 4) -> Market:
    """The business days of the ``years`` before ``as_of`` and every security's closes on them."""
    days = business_days(years_before(as_of, years), as_of)
    return Market(days, closes(rng, len(days)))


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar date ``years`` earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def business_days(start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
    """Every Monday to Friday from ``start`` to ``end`` inclusive (holidays are ignored)."""
    dates = (start + dt.timedelta(days=i) for i in range((end - start).days + 1))
    return tuple(d for d in dates if d.weekday() < 5)


def closes(rng: np.random.Generator, n: int) -> dict[str, list[Decimal]]:
    """``n`` daily closes of every security; securities of one asset class move together."""
    shocks = {asset_class: rng.standard_normal(n - 1) for asset_class in MARKET}
    return {s: _price_path(rng, s, shocks[ASSET_CLASS[s]], Decimal(price)) for s, _, _, price, _ in SECURITIES}


def _price_path(rng: np.random.Generator, symbol: str, shocks: np.ndarray, price: Decimal) -> list[Decimal]:
    """A geometric Brownian motion driven by its asset class's ``shocks``, scaled to end at ``price``."""
    drift, volatility, _ = MARKET[ASSET_CLASS[symbol]]
    own = STOCK_VOLATILITY if symbol in SINGLE_STOCKS else TRACKING_VOLATILITY
    noise = volatility * shocks + own * rng.standard_normal(len(shocks))
    returns = (drift - (volatility**2 + own**2) / 2) / 252 + noise / math.sqrt(252)
    path = np.exp(np.concatenate(([0.0], np.cumsum(returns))))
    return [max(money(float(x)), CENT) for x in path[:-1] * (float(price) / path[-1])] + [price]


def money(value: Decimal | float | int) -> Decimal:
    """``value`` rounded half-even to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def quarter_ends(days: tuple[dt.date, ...]) -> list[int]:
    """The last business day of each calendar quarter that has ended."""
    return [i for i in range(len(days) - 1) if days[i].month % 3 == 0 and days[i + 1].month != days[i].month]


def dividend_yield(symbol: str) -> Decimal:
    """The yearly dividend of ``symbol`` as a fraction of its price (its asset class's)."""
    return Decimal(MARKET[ASSET_CLASS[symbol]][2])
