"""A small, seeded advisory firm written as a CSV book, for ``smartx demo``.

Five households hold eleven accounts at Schwab (``SCH-1001`` ...) and Fidelity (``FID-2001`` ...):
joint, individual and trust accounts next to traditional, rollover and Roth IRAs. Most accounts
have one sleeve following a model; three taxable accounts are multi-sleeve UMAs with a core and an
income sleeve, two of them also a legacy sleeve of concentrated AAPL/MSFT with no target yet. The
models (``BAL-60-40`` in two versions, ``GRO-80-20``, ``INC-30-70``) hold real ETFs; sleeves hold
roughly their model, one security short or one extra now and then, so there is drift to fix.

Four years of daily closes come from a seeded geometric Brownian motion per security (driven by
its asset class, so VTI and ITOT move together) that ends at its price on ``as_of``. Lots were
bought at those closes, so some sit at a loss, some are short-term and a couple turn long-term
within the month. Each sleeve's transactions (deposits, buys, a few sells, dividends, quarterly
fees, a distribution now and then, one large deposit not yet invested) reconcile with its cash. Same ``seed`` and ``as_of``, byte-identical files; money is ``Decimal``
rounded half-even, floats only drive the price paths and position sizes.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import math
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from itertools import groupby
from pathlib import Path
from typing import NamedTuple

import attrs
import numpy as np

CASH = "$CASH"
CENT = Decimal("0.01")
QUARTERLY_FEE = Decimal("0.0025")  # 1 % a year, billed on positions at each quarter end
RETIREMENT = frozenset({"ira", "rollover_ira", "roth"})
CUSTODIANS = {"SCH": "schwab", "FID": "fidelity"}
#: how each custodian numbers the demo's accounts: Schwab 8 digits, Fidelity a letter and digits
CUSTODIAN_NUMBER_PREFIX = {"SCH": "4417", "FID": "Z36"}
COLUMNS = {
    "accounts.csv": "account_id,name,custodian,household_id,registration,st_tax_rate,lt_tax_rate,household_name,"
                    "custodian_account",
    "securities.csv": "symbol,name,asset_class,price,cusip", "models.csv": "model_id,version,symbol,weight",
    "sleeves.csv": "sleeve_id,account_id,model_id,policy",
    "lots.csv": "lot_id,account_id,sleeve_id,symbol,quantity,cost_basis,acquired",
    "cash.csv": "account_id,sleeve_id,amount",
    "transactions.csv": "account_id,sleeve_id,date,type,symbol,quantity,price,amount",
    "prices.csv": "symbol,date,close",
}

#: symbol, name, asset class, close on ``as_of``
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

#: (model id, version) -> weights; BAL-60-40 2026.1 moved 2 % from VEA to VTI and from BND to TIP
MODELS = {
    ("BAL-60-40", "2025.1"): {"VTI": "0.32", "VEA": "0.16", "VWO": "0.05", "VNQ": "0.05",
                              "BND": "0.30", "TIP": "0.10", CASH: "0.02"},
    ("BAL-60-40", "2026.1"): {"VTI": "0.34", "VEA": "0.14", "VWO": "0.05", "VNQ": "0.05",
                              "BND": "0.28", "TIP": "0.12", CASH: "0.02"},
    ("GRO-80-20", "2026.1"): {"ITOT": "0.42", "QQQ": "0.10", "VEA": "0.18", "VWO": "0.08",
                              "AGG": "0.16", "GLD": "0.04", CASH: "0.02"},
    ("INC-30-70", "2026.1"): {"SCHB": "0.20", "SCHD": "0.10", "VTEB": "0.25", "BND": "0.20",
                              "TIP": "0.10", "LQD": "0.13", CASH: "0.02"},
}
LEGACY_SYMBOLS = ("AAPL", "MSFT")
EXTRAS = ("IVV", "VOO", "SCHB", "IEFA", "SCHZ", "MUB", "XOM", "CVX", "LQD")  # drift and past holdings
NEW_MONEY_SLEEVE = "S-2005-CORE"  # a large deposit waiting to be invested

#: household id, name, short-term and long-term tax rates, accounts (id, name, registration, sleeves)
HOUSEHOLDS = (
    ("HH-CHEN", "Chen Family", "0.37", "0.238", (
        ("SCH-1001", "Chen Family Joint Brokerage", "joint",
         (("CORE", "BAL-60-40"), ("INC", "INC-30-70"), ("LEGACY", ""))),
        ("SCH-1002", "David Chen Traditional IRA", "ira", (("CORE", "BAL-60-40"),)),
        ("SCH-1003", "Mei Chen Roth IRA", "roth", (("CORE", "GRO-80-20"),)))),
    ("HH-OKAFOR", "Okafor Household", "0.32", "0.188", (
        ("FID-2001", "Okafor Individual Brokerage", "taxable", (("CORE", "GRO-80-20"), ("INC", "INC-30-70"))),
        ("FID-2002", "Ngozi Okafor Rollover IRA", "rollover_ira", (("CORE", "BAL-60-40"),)))),
    ("HH-LINDQVIST", "Lindqvist Trust", "0.37", "0.238", (
        ("FID-2003", "Lindqvist Family Trust", "trust",
         (("CORE", "BAL-60-40"), ("INC", "INC-30-70"), ("LEGACY", ""))),
        ("FID-2004", "Erik Lindqvist IRA", "ira", (("CORE", "INC-30-70"),)))),
    ("HH-RAMIREZ", "Ramirez Household", "0.24", "0.15", (
        ("SCH-1004", "Ramirez Joint Brokerage", "joint", (("CORE", "BAL-60-40"),)),
        ("SCH-1005", "Luis Ramirez IRA", "ira", (("CORE", "GRO-80-20"),)))),
    ("HH-WHITFIELD", "Whitfield Household", "0.35", "0.188", (
        ("FID-2005", "Whitfield Individual Brokerage", "taxable", (("CORE", "INC-30-70"),)),
        ("SCH-1006", "Anne Whitfield Roth IRA", "roth", (("CORE", "BAL-60-40"),)))),
)


def custodian_number(account_id: str) -> str:
    """The demo account's number at its custodian (``SCH-1001`` -> ``44171001``)."""
    return CUSTODIAN_NUMBER_PREFIX[account_id[:3]] + account_id[4:]


@attrs.frozen
class DemoBook:
    """What :func:`write_demo_book` wrote; ``models`` counts model ids, the others rows or entities."""

    directory: Path
    as_of: dt.date
    households: int
    accounts: int
    sleeves: int
    models: int
    lots: int
    transactions: int
    prices: int


@attrs.frozen
class _Market:
    """Business days and each security's daily closes on them."""

    days: tuple[dt.date, ...]
    closes: dict[str, list[Decimal]]

    def close(self, symbol: str, day: int) -> Decimal:
        """The close of ``symbol`` on business day number ``day``."""
        return self.closes[symbol][day]


@attrs.frozen
class _Sleeve:
    """A sleeve and what its history depends on: its model, its account's taxes, its first day."""

    sleeve_id: str
    account_id: str
    model_id: str
    policy: str
    taxable: bool
    start: int


@attrs.frozen
class _Lot:
    """Shares of one security bought on business day ``day``, and sold on ``sold`` if no longer held."""

    sleeve: _Sleeve
    symbol: str
    quantity: Decimal
    day: int
    sold: int | None = None


class _Flow(NamedTuple):
    """One movement of cash in a sleeve on business day ``day``; ``amount`` is signed."""

    day: int
    type: str
    amount: Decimal
    symbol: str = ""
    quantity: Decimal | None = None
    price: Decimal | None = None


def write_demo_book(directory: Path, *, as_of: dt.date = dt.date(2026, 11, 20), seed: int = 2026) -> DemoBook:
    """Write the demo firm's CSV book into ``directory`` (created, files replaced) and count it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rows = _book(np.random.default_rng(seed), as_of)
    count = {name: _write(directory / name, COLUMNS[name], rows[name]) for name in COLUMNS}
    return DemoBook(directory=directory, as_of=as_of, households=len(HOUSEHOLDS),
                    accounts=count["accounts.csv"], sleeves=count["sleeves.csv"],
                    models=len({model_id for model_id, _ in MODELS}), lots=count["lots.csv"],
                    transactions=count["transactions.csv"], prices=count["prices.csv"])


def _book(rng: np.random.Generator, as_of: dt.date) -> dict[str, list[Sequence]]:
    """The rows of every file of the book, by file name."""
    days = _business_days(_years_before(as_of, 4), as_of)
    market = _Market(days, _closes(rng, len(days)))
    sleeves = _sleeves(rng, len(days))
    lots = _near_long_term(rng, [x for s in sleeves for x in _sleeve_lots(rng, s, market)], market, as_of)
    sold = _sold_lots(rng, sleeves, market)
    ledgers = [_ledger(rng, s, [x for x in lots + sold if x.sleeve == s], market) for s in sleeves]
    return {
        "accounts.csv": [(account_id, name, CUSTODIANS[account_id[:3]], household_id, registration, st, lt,
                          household_name, custodian_number(account_id))
                         for household_id, household_name, st, lt, accounts in HOUSEHOLDS
                         for account_id, name, registration, _ in accounts],
        "securities.csv": list(SECURITIES),
        "models.csv": _model_rows(),
        "sleeves.csv": [(s.sleeve_id, s.account_id, s.model_id, s.policy) for s in sleeves],
        "lots.csv": [(f"L-{n:06d}", x.sleeve.account_id, x.sleeve.sleeve_id, x.symbol, x.quantity,
                      _cost(x, market), days[x.day]) for n, x in enumerate(lots, 1)],
        "cash.csv": [(s.account_id, s.sleeve_id, cash) for s, (_, cash) in zip(sleeves, ledgers)],
        "transactions.csv": sorted((row for rows, _ in ledgers for row in rows), key=lambda row: row[:3]),
        "prices.csv": [(s, day, close) for s in sorted(market.closes) for day, close in zip(days, market.closes[s])],
    }


# ---------------------------------------------------------------- market


def _years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar date ``years`` earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _business_days(start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
    """Every Monday to Friday from ``start`` to ``end`` inclusive (holidays are ignored)."""
    dates = (start + dt.timedelta(days=i) for i in range((end - start).days + 1))
    return tuple(d for d in dates if d.weekday() < 5)


def _closes(rng: np.random.Generator, n: int) -> dict[str, list[Decimal]]:
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
    return [max(_money(float(x)), CENT) for x in path[:-1] * (float(price) / path[-1])] + [price]


def _money(value: Decimal | float | int) -> Decimal:
    """``value`` rounded half-even to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _round(value: Decimal, step: int, rounding: str) -> Decimal:
    """``value`` rounded to a multiple of ``step`` dollars."""
    return (value / step).to_integral_value(rounding=rounding) * step


def _quarter_ends(days: tuple[dt.date, ...]) -> list[int]:
    """The last business day of each calendar quarter that has ended."""
    return [i for i in range(len(days) - 1) if days[i].month % 3 == 0 and days[i + 1].month != days[i].month]


# ---------------------------------------------------------------- models, sleeves and lots


def _model_rows() -> list[tuple[str, str, str, str]]:
    """The rows of models.csv, checking that every version's weights sum to exactly 1."""
    rows = []
    for (model_id, version), weights in MODELS.items():
        if sum(map(Decimal, weights.values())) != 1:
            raise AssertionError(f"the weights of {model_id} {version} do not sum to 1")
        rows += [(model_id, version, symbol, weight) for symbol, weight in weights.items()]
    return rows


def _policy(model_id: str, registration: str) -> str:
    """The policy a sleeve follows, from its model family and its account's registration."""
    if not model_id:
        return ""
    if model_id.startswith("INC"):
        return "income"
    if registration in RETIREMENT:
        return "growth" if model_id.startswith("GRO") else "balanced-ira"
    return "balanced"


def _sleeves(rng: np.random.Generator, n: int) -> list[_Sleeve]:
    """Every sleeve of every account, opened in the first half of the history (legacy ones early)."""
    return [_Sleeve(f"S-{account_id[4:]}-{suffix}", account_id, model_id, _policy(model_id, registration),
                    registration not in RETIREMENT, int(rng.integers(0, n // 2 if model_id else n // 10)))
            for *_, accounts in HOUSEHOLDS for account_id, _, registration, sleeves in accounts
            for suffix, model_id in sleeves]


def _holdings(rng: np.random.Generator, sleeve: _Sleeve) -> dict[str, float]:
    """The weights a sleeve drifted to: its model's, jittered, sometimes one short or one extra."""
    if not sleeve.model_id:
        weights = {symbol: 0.5 for symbol in LEGACY_SYMBOLS}
    else:
        latest = max(key for key in MODELS if key[0] == sleeve.model_id)
        weights = {s: float(w) for s, w in MODELS[latest].items() if s != CASH}
        if rng.random() < 0.3:  # a small position never bought
            del weights[str(rng.choice(sorted(s for s, w in weights.items() if w <= 0.1)))]
        if rng.random() < 0.4:
            weights[str(rng.choice([s for s in EXTRAS if s not in weights]))] = 0.05
    jittered = {s: w * j for (s, w), j in zip(weights.items(), rng.lognormal(0.0, 0.2, len(weights)))}
    return {s: w / sum(jittered.values()) for s, w in jittered.items()}


def _quantity(rng: np.random.Generator, shares: float) -> Decimal:
    """A share count near ``shares``: mostly whole shares, now and then fractional."""
    if rng.random() < 0.08:
        return max(Decimal(shares).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN), Decimal("0.001"))
    return Decimal(max(1, math.floor(shares)))


def _buy_day(rng: np.random.Generator, sleeve: _Sleeve, symbol: str, market: _Market) -> int:
    """Half the lots bought as the sleeve opened, the rest later; most of them now at a gain."""
    last = len(market.days) - 1
    low, high = sleeve.start + 1, last if sleeve.model_id else sleeve.start + last // 4
    for _ in range(3):  # a day dearer than today is kept one time in four
        day = int(rng.integers(low, low + 5) if rng.random() < 0.5 else rng.integers(low, high))
        if market.close(symbol, day) <= market.close(symbol, last) or rng.random() < 0.25:
            break
    return day


def _sleeve_lots(rng: np.random.Generator, sleeve: _Sleeve, market: _Market) -> list[_Lot]:
    """The lots a sleeve holds, one to three per security, worth $80k to $1.2M today."""
    low, high = (80_000, 1_200_000) if sleeve.model_id else (150_000, 600_000)
    value = math.exp(rng.uniform(math.log(low), math.log(high)))
    lots = []
    for symbol, weight in _holdings(rng, sleeve).items():
        price = float(market.close(symbol, len(market.days) - 1))
        for share in rng.dirichlet(np.ones(int(rng.integers(1, 4)))):
            quantity = _quantity(rng, value * weight * share / price)
            lots.append(_Lot(sleeve, symbol, quantity, _buy_day(rng, sleeve, symbol, market)))
    return lots


def _near_long_term(rng: np.random.Generator, lots: list[_Lot], market: _Market, as_of: dt.date) -> list[_Lot]:
    """``lots`` with two taxable lots moved to days that turn long-term within the coming month."""
    lots = list(lots)
    candidates = [i for i, lot in enumerate(lots) if lot.sleeve.taxable and lot.sleeve.model_id]
    for i in rng.choice(candidates, size=2, replace=False):
        target = _years_before(as_of, 1) + dt.timedelta(days=int(rng.integers(4, 25)))
        lots[i] = attrs.evolve(lots[i], day=bisect.bisect_left(market.days, target))
    return lots


def _sold_lots(rng: np.random.Generator, sleeves: list[_Sleeve], market: _Market, count: int = 5) -> list[_Lot]:
    """A handful of lots bought and later sold in full: history only, no longer held."""
    modeled, last, lots = [s for s in sleeves if s.model_id], len(market.days) - 1, []
    for i in sorted(rng.choice(len(modeled), size=count, replace=False)):
        sleeve, symbol = modeled[i], str(rng.choice(EXTRAS))
        bought = int(rng.integers(sleeve.start + 1, last - 90))
        sold = int(rng.integers(bought + 20, last - 5))
        shares = rng.uniform(10_000, 40_000) / float(market.close(symbol, bought))
        lots.append(_Lot(sleeve, symbol, Decimal(max(1, math.floor(shares))), bought, sold))
    return lots


def _cost(lot: _Lot, market: _Market) -> Decimal:
    """What a lot cost: its quantity at the close of the day it was bought, to the cent."""
    return _money(lot.quantity * market.close(lot.symbol, lot.day))


# ---------------------------------------------------------------- transactions and cash


def _ledger(rng: np.random.Generator, sleeve: _Sleeve, lots: list[_Lot], market: _Market) -> tuple[list, Decimal]:
    """A sleeve's transaction rows and final cash: the client deposits whenever cash would run short."""
    last = len(market.days) - 1
    held = sum((x.quantity * market.close(x.symbol, last) for x in lots if x.sold is None), Decimal(0))
    reserve = _money(held * int(rng.integers(100, 301)) / 10_000)  # the cash a sleeve keeps, 1 to 3 %
    flows = sorted(_trades(lots, market) + _income_and_fees(sleeve, lots, market), key=lambda f: f.day)
    opening = sum((f.amount for f in flows if f.day <= sleeve.start + 5 and f.amount < 0), Decimal(0))
    ledger = [_Flow(sleeve.start, "deposit", _round(reserve - opening, 1000, ROUND_CEILING))]
    for day, group in groupby(flows, key=lambda f: f.day):
        group, balance = list(group), sum(f.amount for f in ledger)
        spent = sum((f.amount for f in group if f.amount < 0), Decimal(0))
        if balance + spent < 0:
            ledger.append(_Flow(day, "deposit", _round(reserve - balance - spent, 1000, ROUND_CEILING)))
        ledger += group
    balance = sum(f.amount for f in ledger)
    if not held / 100 <= balance <= held * 3 / 100:  # income piled up, or fees ate the cash
        adjust = _round(reserve - balance, 100, ROUND_HALF_EVEN)
        ledger.append(_Flow(ledger[-1].day, "deposit" if adjust > 0 else "withdrawal", adjust))
    if sleeve.sleeve_id == NEW_MONEY_SLEEVE:
        ledger.append(_Flow(last - 3, "deposit", Decimal(int(rng.integers(120, 251)) * 1000)))
    rows = [(sleeve.account_id, sleeve.sleeve_id, market.days[f.day], f.type, f.symbol, f.quantity, f.price,
             _money(f.amount)) for f in ledger if f.amount]
    return rows, _money(sum(f.amount for f in ledger))


def _trades(lots: list[_Lot], market: _Market) -> list[_Flow]:
    """A buy for every lot at its day's close, and a sell at the close for every lot sold."""
    flows = []
    for lot in lots:
        price = market.close(lot.symbol, lot.day)
        flows.append(_Flow(lot.day, "buy", -_cost(lot, market), lot.symbol, lot.quantity, price))
        if lot.sold is not None:
            price = market.close(lot.symbol, lot.sold)
            flows.append(_Flow(lot.sold, "sell", _money(lot.quantity * price), lot.symbol, lot.quantity, price))
    return flows


def _income_and_fees(sleeve: _Sleeve, lots: list[_Lot], market: _Market) -> list[_Flow]:
    """Advisory fees each quarter end and dividends for the last four, on the shares then held."""
    quarter_ends, flows = [q for q in _quarter_ends(market.days) if q > sleeve.start], []
    for q in quarter_ends:
        shares: dict[str, Decimal] = {}
        for lot in lots:
            if lot.day <= q and (lot.sold is None or lot.sold > q):
                shares[lot.symbol] = shares.get(lot.symbol, Decimal(0)) + lot.quantity
        if fee := _money(sum((n * market.close(s, q) for s, n in shares.items()), Decimal(0)) * QUARTERLY_FEE):
            flows.append(_Flow(q, "fee", -fee))
        if q not in quarter_ends[-4:]:
            continue
        for symbol, n in shares.items():
            if dividend := _money(n * market.close(symbol, q) * Decimal(MARKET[ASSET_CLASS[symbol]][2]) / 4):
                flows.append(_Flow(q, "dividend", dividend, symbol))
    return flows


def _write(path: Path, header: str, rows: Sequence[Sequence]) -> int:
    """Write a CSV file: ``header``, then ``rows`` (None as empty); the number of rows written."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header.split(","))
        writer.writerows(rows)
    return len(rows)
