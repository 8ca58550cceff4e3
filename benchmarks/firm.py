"""A realistic synthetic firm of N sleeves written straight into a new SQLite store, cached on disk.

    python benchmarks/firm.py N [--seed S] [--cache DIR] [--force]   # prints the store's path

``firm_store(n_sleeves, seed)`` returns the path of a store holding the firm, building it first
when ``benchmarks/.cache/firm-<N>-s<seed>.db`` is missing (built into a temporary file and
renamed when complete, so a half-written store is never reused). The firm:

* **households** of 1 to 4 accounts (mostly 1 or 2), **accounts** of 1 to 3 sleeves (mostly 1);
  registrations taxable 50 %, ira 20 %, roth 10 %, joint 10 %, trust 10 %; two custodians;
* **600 securities** (the demo's ETFs and stocks by name, the rest ``X0000`` ...) in eight asset
  classes, each with a price;
* **four models** of 25 securities plus cash (``BAL-60-40``, ``GRO-80-20``, ``INC-30-70``,
  ``CON-40-60``; no weight above 10 %), version ``2026.1``; ``GRO-80-20`` also has ``2026.2``
  (effective 2026-10-01), which moves 0.6 % from its second largest weight to its largest
  (``growth`` realigns on it, ``balanced`` does not); 5 % of sleeves have no model;
* **policies from rules/** so that every sleeve resolves: ``balanced``, ``balanced-ira``,
  ``growth``, ``income`` and ``legacy`` by their ``applies to``; ``tax-managed`` by name for the
  modelled sleeves of joint and trust accounts and for ``CON-40-60`` in taxable ones, ``ira``
  by name for ``CON-40-60`` in retirement accounts;
* **holdings**: 25 a sleeve (a modelled sleeve holds its model's 25 securities, 2 % of them miss
  one, 4 % also hold 1 to 3 legacy positions outside it), **lots**: 1 to 3 a holding (about 2), acquired over the last 10 years, with costs
  that grew 7 % a year with 20 % volatility (some lots at a loss);
* **drift**: 8 % of sleeves drifted (each weight off target by a factor exp(N(0, 0.3))), the
  rest within exp(N(0, 0.04)) of target; cash near target (a few sleeves with new money), so that
  about a quarter of the sleeves trigger (a third of those on the GRO-80-20 revision);
* every modelled sleeve was last rebalanced to ``2026.1`` on 2026-06-30. As of **2026-11-20**.

Rows go in with ``executemany`` in one transaction per table chunk, with the lots' indexes and
triggers dropped and rebuilt after (``book_epoch`` then set once) (the generator only: the store's schema is the migrations'). Ids are built by
SQLite (``printf``) from integers. A million sleeves (25 M holdings, 50 M lots) take 5.5 minutes
and 7.9 GB on disk (100k: 25 s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from smartx_engine.store import Store  # noqa: E402

AS_OF = dt.date(2026, 11, 20)
CACHE = Path(__file__).resolve().parent / ".cache"
HOLDINGS_PER_SLEEVE = 25
IN_MODEL = 25
MODELS = ["BAL-60-40", "CON-40-60", "GRO-80-20", "INC-30-70"]   # sorted; code -1: no model
MODEL_P = [0.35, 0.20, 0.30, 0.15]
NO_MODEL = 0.05
DRIFTED = 0.08
REGISTRATIONS = ["ira", "joint", "roth", "taxable", "trust"]
REGISTRATION_P = [0.20, 0.10, 0.10, 0.50, 0.10]
ASSET_CLASSES = ["commodities", "emerging_equity", "fixed_income", "intl_equity", "municipal", "real_estate",
                 "us_equity", "us_stock"]
NAMED = {  # symbol: asset class (what the rules name)
    "AAPL": "us_stock", "AGG": "fixed_income", "BND": "fixed_income", "CVX": "us_stock", "IEFA": "intl_equity",
    "ITOT": "us_equity", "LQD": "fixed_income", "MUB": "municipal", "QQQ": "us_equity", "SCHB": "us_equity",
    "SCHZ": "fixed_income", "TIP": "fixed_income", "VEA": "intl_equity", "VNQ": "real_estate", "VTEB": "municipal",
    "VTI": "us_equity", "VWO": "emerging_equity", "XOM": "us_stock",
}
N_SECURITIES = 600
CHUNK = 50_000  # sleeves per batch of rows


def firm_store(n_sleeves: int, seed: int = 0, *, cache: Path = CACHE, force: bool = False,
               verbose: bool = True) -> Path:
    """The path of a store of the firm of ``n_sleeves`` sleeves (built and cached when missing)."""
    path = cache / f"firm-{n_sleeves}-s{seed}.db"
    if path.exists() and not force:
        return path
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    for stale in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        stale.unlink(missing_ok=True)
    start = time.perf_counter()
    rows = write_firm(partial, n_sleeves, seed)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    partial.rename(path)
    if verbose:
        print(f"firm of {n_sleeves:,} sleeves (seed {seed}): {rows:,} rows written in "
              f"{time.perf_counter() - start:.0f} s, {path.stat().st_size / 1e9:.2f} GB: {path}", file=sys.stderr)
    return path


# ---------------------------------------------------------------- the firm as arrays


def _structure(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per sleeve its account, per account its household (households of 1-4 accounts, accounts of 1-3 sleeves)."""
    per_account = rng.choice([1, 2, 3], size=n, p=[0.60, 0.30, 0.10])
    n_accounts = int(np.searchsorted(np.cumsum(per_account), n)) + 1
    per_account = per_account[:n_accounts]
    sleeve_account = np.repeat(np.arange(n_accounts), per_account)[:n]
    per_household = rng.choice([1, 2, 3, 4], size=n_accounts, p=[0.45, 0.30, 0.15, 0.10])
    n_households = int(np.searchsorted(np.cumsum(per_household), n_accounts)) + 1
    account_household = np.repeat(np.arange(n_households), per_household[:n_households])[:n_accounts]
    return sleeve_account, account_household


def _models(rng: np.random.Generator, symbols: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per model its 25 securities (sorted codes), weights (3 decimals, none above 10 %) and cash weight."""
    index = {s: i for i, s in enumerate(symbols)}
    cores = {  # the funds the rules substitute, so that substitutions and restrictions meet real holdings
        "BAL-60-40": ["VTI", "BND", "VEA", "AGG", "AAPL"], "CON-40-60": ["SCHB", "BND", "LQD", "TIP"],
        "GRO-80-20": ["VTI", "QQQ", "VEA", "VWO", "BND"], "INC-30-70": ["BND", "VTEB", "SCHB", "LQD", "MUB"],
    }
    members, weights, cash = [], [], []
    for model in MODELS:
        core = [index[s] for s in cores[model]]
        rest = rng.choice(np.setdiff1d(np.arange(len(symbols)), core), IN_MODEL - len(core), replace=False)
        members.append(np.sort(np.concatenate([core, rest])))
        cash_weight = round(float(rng.uniform(0.015, 0.025)), 3)
        raw = rng.uniform(0.5, 1.5, IN_MODEL)
        w = np.floor(raw / raw.sum() * (1 - cash_weight) * 1000) / 1000
        w[np.argsort(-w)[: int(round((1 - cash_weight - w.sum()) * 1000))]] += 0.001
        weights.append(w)
        cash.append(round(1 - float(w.sum()), 3))
    return np.array(members), np.array(weights), np.array(cash)


def firm_arrays(n: int, seed: int) -> dict:
    """The whole firm as numpy arrays (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    symbols = sorted([*NAMED, *(f"X{i:04d}" for i in range(N_SECURITIES - len(NAMED)))])
    n_sec = len(symbols)
    asset_class = np.array([ASSET_CLASSES.index(NAMED[s]) if s in NAMED else rng.integers(len(ASSET_CLASSES))
                            for s in symbols])
    price = np.round(np.exp(rng.normal(4.0, 0.9, n_sec)), 2).clip(2.0, 3000.0)
    members, model_weight, model_cash = _models(rng, symbols)
    outside = np.stack([np.setdiff1d(np.arange(n_sec), m) for m in members])

    sleeve_account, account_household = _structure(n, rng)
    n_accounts = len(account_household)
    registration = rng.choice(len(REGISTRATIONS), n_accounts, p=REGISTRATION_P)
    st_rate = rng.choice([0.24, 0.32, 0.35, 0.37], n_accounts)
    lt_rate = np.where(st_rate > 0.3, 0.2, 0.15)
    custodian = rng.integers(0, 2, n_accounts)

    model = np.where(rng.random(n) < NO_MODEL, -1, rng.choice(len(MODELS), n, p=MODEL_P))
    reg = np.array(REGISTRATIONS)[registration[sleeve_account]]
    retirement = np.isin(reg, ["ira", "roth"])
    policy = np.full(n, None, dtype=object)
    policy[(model >= 0) & np.isin(reg, ["joint", "trust"])] = "tax-managed"
    con = model == MODELS.index("CON-40-60")
    policy[con & (reg == "taxable")] = "tax-managed"
    policy[con & retirement] = "ira"
    value = np.exp(rng.normal(np.log(250_000), 0.9, n))
    drifted = rng.random(n) < DRIFTED

    # holdings: an (n, 25 + 3) grid of securities (the model's 25, then up to 3 outside it), sorted
    # by symbol within each sleeve; a modelled sleeve holds its model (2 % miss one security, newly
    # added) and 4 % also hold 1 to 3 legacy positions outside it
    m = np.maximum(model, 0)
    width = HOLDINGS_PER_SLEEVE + 3
    start = rng.integers(0, n_sec - IN_MODEL, n)
    off = outside[m[:, None], (start[:, None] + np.array([0, 7, 19])) % (n_sec - IN_MODEL)]
    symbol = np.concatenate([members[m], off], axis=1)
    bare = model < 0
    symbol[bare, :HOLDINGS_PER_SLEEVE] = (start[bare, None] + np.arange(HOLDINGS_PER_SLEEVE) * 37) % n_sec
    target = np.concatenate([model_weight[m], np.zeros((n, 3))], axis=1)
    noise = rng.normal(0.0, 1.0, (n, width)) * np.where(drifted, 0.3, 0.04)[:, None]
    weight = np.where(target > 0, target * np.exp(noise), rng.uniform(0.002, 0.01, (n, width)))
    weight[bare] = rng.uniform(0.5, 1.5, (int(bare.sum()), width)) / HOLDINGS_PER_SLEEVE
    held = np.ones((n, width), dtype=bool)
    missing = rng.random(n) < 0.02
    held[missing, rng.integers(0, IN_MODEL, int(missing.sum()))] = False
    held[:, IN_MODEL:] = rng.random((n, 3)) < np.where(rng.random(n) < 0.04, 0.67, 0.0)[:, None]
    held[bare] = np.arange(width) < HOLDINGS_PER_SLEEVE
    keep_grid = held | ((target > 0) & ~bare[:, None])  # a holding: held, or in the sleeve's model
    weight *= held
    cash_target = np.where(model >= 0, model_cash[m], 0.02)
    cash_weight = cash_target * np.exp(rng.normal(0.0, 0.15, n))
    cash_weight[rng.random(n) < 0.03] = rng.uniform(0.05, 0.15)  # new money
    dollars = weight / weight.sum(axis=1, keepdims=True) * ((1 - cash_weight) * value)[:, None]
    order = np.argsort(symbol, axis=1, kind="stable")
    symbol, dollars, held = (np.take_along_axis(a, order, axis=1) for a in (symbol, dollars, held))
    keep = held.ravel()  # the store has lots only: the targeted securities not held come from the model
    holding_sleeve = np.repeat(np.arange(n), width)[keep]
    holding_symbol = symbol.ravel()[keep]
    holding_dollars = dollars.ravel()[keep]
    del symbol, dollars, held, weight, noise, target, keep_grid

    # lots: 1-3 per held holding, oldest first
    n_h = len(holding_sleeve)
    per = rng.choice([1, 2, 3], n_h, p=[0.3, 0.4, 0.3])
    lot_holding = np.repeat(np.arange(n_h), per)
    share = rng.random(len(lot_holding)) + 0.2
    share /= np.bincount(lot_holding, weights=share, minlength=n_h)[lot_holding]
    lot_price = price[holding_symbol][lot_holding]
    quantity_e6 = np.maximum(np.rint(share * holding_dollars[lot_holding] / lot_price * 1000), 1).astype(np.int64) * 1000
    age = rng.integers(0, 3650, len(lot_holding))
    age = age[np.lexsort((-age, lot_holding))]  # within a holding, oldest (largest age) first
    growth = np.exp(age / 365.25 * 0.07 + 0.2 * np.sqrt(age / 365.25) * rng.standard_normal(len(age)))
    cost_cents = np.rint(quantity_e6 / 1e6 * lot_price / growth * 100).astype(np.int64)
    acquired = np.datetime64(AS_OF, "D") - age.astype("timedelta64[D]")
    return {
        "symbols": symbols, "asset_class": asset_class, "price": price,
        "members": members, "model_weight": model_weight, "model_cash": model_cash,
        "sleeve_account": sleeve_account, "account_household": account_household, "registration": registration,
        "st_rate": st_rate, "lt_rate": lt_rate, "custodian": custodian, "model": model, "policy": policy,
        "cash_cents": np.rint(cash_weight * value * 100).astype(np.int64),
        "lot_sleeve": holding_sleeve[lot_holding], "lot_symbol": holding_symbol[lot_holding],
        "lot_quantity_e6": quantity_e6, "lot_cost_cents": cost_cents, "lot_acquired": acquired,
    }


# ---------------------------------------------------------------- into SQLite


def write_firm(path: Path, n: int, seed: int) -> int:
    """The firm written to a new store at ``path``; the rows written."""
    Store.create(path, actor="bench").close()  # the schema, by the migrations
    f = firm_arrays(n, seed)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("pragma journal_mode = off")
    conn.execute("pragma synchronous = off")
    conn.execute("pragma cache_size = -1000000")
    indexes = conn.execute("select name, sql from sqlite_master where type = 'index' and tbl_name = 'lots'"
                           " and sql is not null").fetchall()
    triggers = conn.execute("select name, sql from sqlite_master where type = 'trigger' and tbl_name = 'lots'").fetchall()
    for kind, objects in (("index", indexes), ("trigger", triggers)):  # rebuilt once the lots are in
        for name, _ in objects:
            conn.execute(f"drop {kind} {name}")
    written = 0

    def insert(sql: str, rows) -> None:
        nonlocal written
        conn.execute("begin")
        written += conn.executemany(sql, rows).rowcount
        conn.execute("commit")

    symbols = f["symbols"]
    insert("insert into securities (symbol, name, asset_class, price_e6) values (?, ?, ?, ?)",
           [(s, f"{s} fund", ASSET_CLASSES[c], int(round(p * 1e6)))
            for s, c, p in zip(symbols, f["asset_class"].tolist(), f["price"].tolist())])
    insert("insert into models (model_id, name) values (?, ?)", [(m, m) for m in MODELS])
    versions, weights = [], []
    for code, model in enumerate(MODELS):
        lines = [(symbols[s], w) for s, w in zip(f["members"][code].tolist(), f["model_weight"][code].tolist())]
        versions.append((model, "2026.1", 1, "0001-01-01"))
        weights += [(model, "2026.1", s, f"{w:.3f}") for s, w in lines] + [(model, "2026.1", "$CASH",
                                                                          f"{f['model_cash'][code]:.3f}")]
        if model == "GRO-80-20":  # a revision: 0.6 % moves from the second largest weight to the largest
            w = [w for _, w in lines]
            large, small = (int(i) for i in np.argsort(w)[::-1][:2])
            moved = [w[i] + (0.006 if i == large else -0.006 if i == small else 0) for i in range(len(w))]
            versions.append((model, "2026.2", 2, "2026-10-01"))
            weights += [(model, "2026.2", s, f"{x:.3f}") for (s, _), x in zip(lines, moved)] + [
                (model, "2026.2", "$CASH", f"{f['model_cash'][code]:.3f}")]
    insert("insert into model_versions (model_id, version, seq, effective_date) values (?, ?, ?, ?)", versions)
    insert("insert into model_weights (model_id, version, symbol, weight) values (?, ?, ?, ?)", weights)
    households = len(f["account_household"]) and int(f["account_household"].max()) + 1
    insert("insert into households (household_id, name) values (printf('H%07d', ?), printf('Household %d', ?1))",
           ((h,) for h in range(households)))
    st = {r: str(r) for r in (0.24, 0.32, 0.35, 0.37)}
    insert("insert into accounts (account_id, name, custodian, household_id, registration, st_tax_rate, lt_tax_rate)"
           " values (printf('A%07d', ?1), printf('Account %d', ?1), ?, printf('H%07d', ?), ?, ?, ?)",
           zip(range(len(f["account_household"])), [("schwab", "fidelity")[c] for c in f["custodian"].tolist()],
               f["account_household"].tolist(), [REGISTRATIONS[r] for r in f["registration"].tolist()],
               [st[r] for r in f["st_rate"].tolist()], [str(r) for r in f["lt_rate"].tolist()]))
    models = [*MODELS, None]
    sleeve_model = [models[c] for c in f["model"].tolist()]
    insert("insert into sleeves (sleeve_id, account_id, model_id, policy, rebalanced_version, rebalanced_on)"
           " values (printf('S%08d', ?1), printf('A%07d', ?), ?3, ?, case when ?3 is null then null else '2026.1' end,"
           " case when ?3 is null then null else '2026-06-30' end)",
           zip(range(n), f["sleeve_account"].tolist(), sleeve_model, f["policy"].tolist()))
    insert("insert into cash (sleeve_id, account_id, amount_cents) values (printf('S%08d', ?), printf('A%07d', ?), ?)",
           zip(range(n), f["sleeve_account"].tolist(), f["cash_cents"].tolist()))
    days, day_code = np.unique(f["lot_acquired"], return_inverse=True)
    day_text = np.datetime_as_string(days, unit="D").tolist()
    lot_account = f["sleeve_account"][f["lot_sleeve"]]
    total = len(lot_account)
    step = CHUNK * HOLDINGS_PER_SLEEVE * 2
    for lo in range(0, total, step):
        hi = min(total, lo + step)
        insert("insert into lots (lot_id, account_id, sleeve_id, symbol, quantity_e6, cost_basis_cents, acquired)"
               " values (printf('L%09d', ?), printf('A%07d', ?), printf('S%08d', ?), ?, ?, ?, ?)",
               zip(range(lo, hi), lot_account[lo:hi].tolist(), f["lot_sleeve"][lo:hi].tolist(),
                   [symbols[s] for s in f["lot_symbol"][lo:hi].tolist()], f["lot_quantity_e6"][lo:hi].tolist(),
                   f["lot_cost_cents"][lo:hi].tolist(), [day_text[d] for d in day_code[lo:hi].tolist()]))
    for _, sql in [*indexes, *triggers]:
        conn.execute(sql)
    conn.execute("update book_epoch set lots = random()")  # what the triggers would have done
    conn.execute("analyze")
    conn.execute("pragma journal_mode = wal")
    conn.close()
    return written


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("sleeves", type=int)
    args.add_argument("--seed", type=int, default=0)
    args.add_argument("--cache", type=Path, default=CACHE)
    args.add_argument("--force", action="store_true", help="rebuild even when cached")
    options = args.parse_args(argv)
    print(firm_store(options.sleeves, options.seed, cache=options.cache, force=options.force))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
