"""A small, seeded advisory firm written as a CSV book, for ``smartx demo``.

Five households hold eleven accounts at Schwab (``SCH-1001`` ...) and Fidelity (``FID-2001`` ...):
joint, individual and trust accounts next to traditional, rollover and Roth IRAs. Most accounts
have one sleeve following a model; three taxable accounts are multi-sleeve UMAs with a core and an
income sleeve, two of them also a legacy sleeve of concentrated AAPL/MSFT with no target yet. The
models (``BAL-60-40`` in two versions, ``GRO-80-20``, ``INC-30-70``) hold real ETFs.

The history is that of sleeves the firm managed. Four years of daily closes come from a seeded
geometric Brownian motion per security (:mod:`.market`). Each sleeve opened on a day of the first
half of those years with a deposit, invested at its model's target weights at that day's closes;
from then on :mod:`.management` simulates it day by day: rebalanced to target at a weekly review
whenever a holding drifted past its policy's band (or cash past its limits), selling lots highest
cost first in taxable accounts and oldest first in IRAs; quarterly dividends and fees; now and
then a deposit invested or a withdrawal raised by a rebalance. The sleeves on ``BAL-60-40``
followed 2025.1 until their first rebalance from 2026-01-02, then 2026.1. The firm's last review
of each sleeve was one to three months before ``as_of``: since then the sleeves drifted, a few
paid a client's withdrawal by selling one fund, so a rebalance on ``as_of`` has work to do. Two
taxable sleeves invested a deposit about a year before ``as_of`` (lots turning long-term within the
month), lots bought before a fall sit at a loss, and one large deposit at ``S-2005-CORE`` is not
invested yet. The legacy sleeves bought their stocks early on and were never traded since.

The lots file holds the lots still open (a lot partly sold keeps the rest, at the cost of its
remaining shares); the transactions (deposits, buys, sells, dividends, fees, withdrawals) reconcile
exactly with those lots and with each sleeve's cash, so the history rolls back from today's book.
Same ``seed`` and ``as_of``, byte-identical files; money is ``Decimal`` rounded half-even, shares
whole; floats only drive the price paths, position sizes and the band checks.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

import attrs
import numpy as np

from .management import BANDS, CASH, Manager, Plan, Sleeve, SleeveSpec, day_on_or_after, log_uniform
from .market import SECURITIES, Market, market, money, quarter_ends, years_before

_money = money  # the name the tax household's book imports

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
#: the day BAL-60-40 2026.1 came into force: its sleeves followed it from their next rebalance
MODEL_CHANGE = ("BAL-60-40", "2026.1", dt.date(2026, 1, 2))
LEGACY_SYMBOLS = ("AAPL", "MSFT")
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
    prices = market(rng, as_of)
    specs = _sleeves(rng, len(prices.days))
    plans = _plans(rng, specs, prices)
    sleeves = [_managed(spec, plans[spec.sleeve_id], prices) if spec.model_id else _legacy(rng, spec, prices)
               for spec in specs]
    days = prices.days
    lots = [(s.spec, lot) for s in sleeves for symbol in sorted(s.lots) for lot in s.lots[symbol]]
    transactions = sorted(((s.spec.account_id, s.spec.sleeve_id, days[f.day], f.type, f.symbol, f.quantity, f.price,
                            f.amount) for s in sleeves for f in s.flows), key=lambda row: row[:3])
    for s in sleeves:
        if s.cash != sum(f.amount for f in s.flows) or s.cash < 0:
            raise AssertionError(f"{s.spec.sleeve_id}: its cash does not add up")
    return {
        "accounts.csv": [(account_id, name, CUSTODIANS[account_id[:3]], household_id, registration, st, lt,
                          household_name, custodian_number(account_id))
                         for household_id, household_name, st, lt, accounts in HOUSEHOLDS
                         for account_id, name, registration, _ in accounts],
        "securities.csv": list(SECURITIES),
        "models.csv": _model_rows(),
        "sleeves.csv": [(s.sleeve_id, s.account_id, s.model_id, s.policy) for s in specs],
        "lots.csv": [(f"L-{n:06d}", spec.account_id, spec.sleeve_id, lot.symbol, lot.quantity,
                      money(lot.quantity * prices.close(lot.symbol, lot.day)), days[lot.day])
                     for n, (spec, lot) in enumerate(lots, 1)],
        "cash.csv": [(s.spec.account_id, s.spec.sleeve_id, s.cash) for s in sleeves],
        "transactions.csv": transactions,
        "prices.csv": [(s, day, close) for s in sorted(prices.closes) for day, close in zip(days, prices.closes[s])],
    }


# ---------------------------------------------------------------- models and sleeves


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


def _sleeves(rng: np.random.Generator, n: int) -> list[SleeveSpec]:
    """Every sleeve of every account, opened in the first half of the history (legacy ones early)."""
    return [SleeveSpec(f"S-{account_id[4:]}-{suffix}", account_id, model_id, _policy(model_id, registration),
                       registration not in RETIREMENT, int(rng.integers(0, n // 2 if model_id else n // 10)))
            for *_, accounts in HOUSEHOLDS for account_id, _, registration, sleeves in accounts
            for suffix, model_id in sleeves]


def _target(model_id: str, days: tuple[dt.date, ...]) -> Callable[[int], dict[str, Decimal]]:
    """day -> the weights of ``model_id``'s version in force that day (cash included)."""
    versions = sorted(version for model, version in MODELS if model == model_id)
    latest = {s: Decimal(w) for s, w in MODELS[(model_id, versions[-1])].items()}
    changed_model, new_version, effective = MODEL_CHANGE
    if model_id != changed_model:
        return lambda day: latest
    before = {s: Decimal(w) for s, w in MODELS[(model_id, versions[versions.index(new_version) - 1])].items()}
    first = day_on_or_after(days, effective)
    return lambda day: latest if day >= first else before


# ---------------------------------------------------------------- the sleeves' histories


def _plans(rng: np.random.Generator, specs: list[SleeveSpec], prices: Market) -> dict[str, Plan]:
    """Each managed sleeve's opening deposit, last review, and the client's deposits and withdrawals."""
    last, days = prices.last, prices.days
    managed = [s for s in specs if s.model_id]
    # two taxable sleeves invested a deposit a year before as_of: lots turning long-term within the month
    near = {managed[i].sleeve_id for i in rng.choice([i for i, s in enumerate(managed) if s.taxable], 2, replace=False)}
    plans = {}
    for spec in managed:
        opening = Decimal(round(log_uniform(rng.random(), 80_000, 1_200_000), -3))
        freeze = last - int(rng.integers(20, 66))  # the last review: one to three months before as_of
        years = (freeze - spec.start) / 261
        deposits = {int(d): float(rng.uniform(0.03, 0.12))
                    for d in rng.integers(spec.start + 30, freeze, rng.poisson(0.6 * years))}
        withdrawals = {int(d): float(rng.uniform(0.02, 0.08))
                       for d in rng.integers(spec.start + 30, freeze, rng.poisson(0.4 * years)) if d not in deposits}
        if rng.random() < 0.4:  # a withdrawal since the last review, paid by selling one fund
            withdrawals[int(rng.integers(last - 15, last - 3))] = float(rng.uniform(0.05, 0.09))
        if spec.sleeve_id in near:
            day = day_on_or_after(days, years_before(days[last], 1) + dt.timedelta(days=int(rng.integers(4, 25))))
            deposits[day] = float(rng.uniform(0.15, 0.30))
            withdrawals.pop(day, None)
        uninvested = ()
        if spec.sleeve_id == NEW_MONEY_SLEEVE:  # a large deposit three days ago, not invested yet
            uninvested = ((last - 3, Decimal(int(rng.integers(120, 251)) * 1000)),)
        plans[spec.sleeve_id] = Plan(opening, freeze, tuple(sorted(deposits.items())),
                                     tuple(sorted(withdrawals.items())), uninvested)
    return plans


def _managed(spec: SleeveSpec, plan: Plan, prices: Market) -> Sleeve:
    """A sleeve following its model under its policy's bands, from its opening day to ``as_of``."""
    return Manager(Sleeve(spec, prices), _target(spec.model_id, prices.days), BANDS[spec.policy]).run(plan)


def _legacy(rng: np.random.Generator, spec: SleeveSpec, prices: Market) -> Sleeve:
    """A legacy sleeve: concentrated AAPL and MSFT bought in a few lots early on, never traded since;
    each purchase funded by a deposit, dividends and fees each quarter."""
    sleeve, last = Sleeve(spec, prices), prices.last
    value = log_uniform(rng.random(), 150_000, 600_000)
    purchases = []
    for symbol in LEGACY_SYMBOLS:
        shares = rng.dirichlet(np.ones(int(rng.integers(2, 4))))
        days = [spec.start, *(int(d) for d in rng.integers(spec.start + 1, spec.start + last // 4, len(shares) - 1))]
        purchases += [(day, symbol, Decimal(max(1, int(value * rng.uniform(0.4, 0.6) * share
                                                         / float(prices.close(symbol, day))))))
                      for day, share in zip(days, shares)]
    quarter_end = set(quarter_ends(prices.days))
    for day in range(spec.start, last + 1):
        if bought := sorted((symbol, quantity) for d, symbol, quantity in purchases if d == day):
            reserve = Decimal(round(value * 0.02, -3)) if day == spec.start else Decimal(0)  # the cash it keeps
            short = sum((n * prices.close(s, day) for s, n in bought), reserve) - sleeve.cash
            if short > 0:  # each purchase funded by a deposit
                sleeve.move(day, "deposit", (short / 1000).to_integral_value(ROUND_CEILING) * 1000)
            for symbol, quantity in bought:
                sleeve.buy(day, symbol, quantity)
        if day in quarter_end:
            sleeve.income_and_fee(day)
    return sleeve


def _write(path: Path, header: str, rows: Sequence[Sequence]) -> int:
    """Write a CSV file: ``header``, then ``rows`` (None as empty); the number of rows written."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header.split(","))
        writer.writerows(rows)
    return len(rows)
