"""A seeded synthetic book, built straight from numpy arrays, for benchmarks.

``synthetic_book(n_sleeves)`` gives ``n_sleeves`` sleeves of 25 holdings each (a sleeve with a
model holds most of its model's 22 securities plus 3 outside it; a sleeve without a model holds 25
securities) and about two lots per held holding, with realistic prices, weights, drifts, cash and
acquisition dates. It never loops in Python per row (only over ids): a million sleeves (25 million
holdings, 47 million lots) build in about 15 s; the book takes 2.5 GB (3.5 GB at peak).

The result satisfies the :class:`~smartx_engine.book.Book` invariants: ``holding_sleeve`` and
``lot_holding`` are non-decreasing, each sleeve's holdings are sorted by symbol and each holding's
lots by acquisition date, every code is valid, targets are NaN for sleeves without a model and 0
for held securities outside the model, and each holding's quantity and cost are its lots' sums.
Lot ids are integers, not strings: 47 million Python strings would take 3 GB, and nothing in
evaluation reads them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from smartx_engine.book import Book

HOLDINGS_PER_SLEEVE = 25
IN_MODEL = 22                 # securities per model
OFF_MODEL = HOLDINGS_PER_SLEEVE - IN_MODEL
ASSET_CLASSES = np.array(["commodities", "fixed_income", "intl_equity", "real_estate", "us_equity"], dtype=object)
REGISTRATIONS = np.array(["401k", "ira", "joint", "roth", "taxable", "trust"], dtype=object)
REGISTRATION_P = [0.05, 0.15, 0.10, 0.10, 0.50, 0.10]
MODEL_NAMES = ["AGG-100-0", "BAL-60-40", "CON-40-60", "GRO-80-20", "INC-20-80", "INTL-70-30"]


def synthetic_book(n_sleeves: int, *, seed: int = 0, as_of: dt.date = dt.date(2026, 11, 20),
                   n_securities: int = 600, no_model_share: float = 0.05) -> Book:
    rng = np.random.default_rng(seed)
    n, per = n_sleeves, HOLDINGS_PER_SLEEVE

    # ------------------------------------------------------------ securities
    named = ["AAPL", "BND", "CVX", "VTI", "XOM"]
    symbols = np.array(sorted([*named, *(f"X{i:04d}" for i in range(n_securities - len(named)))]), dtype=object)
    n_securities = len(symbols)
    asset_class = rng.integers(0, len(ASSET_CLASSES), n_securities).astype(np.int32)
    price = np.round(np.exp(rng.normal(4.0, 1.0, n_securities)), 2).clip(1.0, 5000.0)

    # ------------------------------------------------------------ models: 22 securities each, plus cash
    n_models = len(MODEL_NAMES)
    model_symbols = np.stack([np.sort(rng.choice(n_securities, IN_MODEL, replace=False)) for _ in range(n_models)])
    raw = rng.gamma(2.0, 1.0, (n_models, IN_MODEL))
    model_cash = np.round(rng.uniform(0.01, 0.03, n_models), 3)
    model_weight = np.round(raw / raw.sum(axis=1, keepdims=True) * (1 - model_cash[:, None]), 3)
    model_cash = np.round(1 - model_weight.sum(axis=1), 3)
    # per model, the securities outside it, for the 3 off-model holdings of its sleeves
    outside = np.stack([np.setdiff1d(np.arange(n_securities), m) for m in model_symbols])

    # ------------------------------------------------------------ accounts
    n_accounts = max(1, (n + 1) // 2)
    account_ids = np.array([f"A{i:07d}" for i in range(n_accounts)], dtype=object)
    account_registration = rng.choice(len(REGISTRATIONS), n_accounts, p=REGISTRATION_P).astype(np.int32)
    custodians = np.array(["fidelity", "schwab"], dtype=object)
    account_custodian = rng.integers(0, 2, n_accounts).astype(np.int32)
    n_households = max(1, n_accounts // 2)
    households = np.array([f"H{i:07d}" for i in range(n_households)], dtype=object)
    account_household = rng.integers(0, n_households, n_accounts).astype(np.int32)
    st_rate = rng.choice([0.24, 0.32, 0.35, 0.37], n_accounts)
    lt_rate = np.where(st_rate > 0.3, 0.2, 0.15)

    # ------------------------------------------------------------ sleeves
    sleeve_ids = np.array([f"S{i:07d}" for i in range(n)], dtype=object)
    sleeve_account = np.sort(rng.integers(0, n_accounts, n)).astype(np.int32)
    has_model = rng.random(n) >= no_model_share
    sleeve_model = np.where(has_model, rng.integers(0, n_models, n), -1).astype(np.int32)
    sleeve_value = np.exp(rng.normal(np.log(250_000), 1.0, n))                 # target total value

    # ------------------------------------------------------------ holdings: an (n, 25) grid, then sorted by symbol
    m = np.maximum(sleeve_model, 0)
    start = rng.integers(0, n_securities - IN_MODEL, n)
    off = outside[m[:, None], (start[:, None] + np.array([0, 7, 19])) % (n_securities - IN_MODEL)]
    symbol = np.concatenate([model_symbols[m], off], axis=1).astype(np.int32)
    del off
    no_model = ~has_model
    step = 37 if n_securities % 37 else 41                                      # coprime: 25 distinct symbols
    symbol[no_model] = (start[no_model, None] + np.arange(per) * step) % n_securities
    del start
    target = np.concatenate([model_weight[m], np.zeros((n, OFF_MODEL))], axis=1)
    in_model = np.zeros((n, per), dtype=bool)
    in_model[:, :IN_MODEL] = True
    in_model[no_model] = False
    raw_no_model = rng.gamma(2.0, 1.0, (int(no_model.sum()), per))
    weight = np.where(in_model, target * np.exp(rng.normal(0.0, 0.2, (n, per))),  # drifted from target
                      rng.uniform(0.002, 0.03, (n, per)))                        # held outside the model
    weight[no_model] = raw_no_model / raw_no_model.sum(axis=1, keepdims=True) * 0.97
    del raw_no_model
    held = rng.random((n, per)) < 0.92
    held[no_model] = True
    held[:, IN_MODEL:] = True
    target[no_model] = np.nan

    order = np.argsort(symbol, axis=1, kind="stable")
    symbol, target, in_model, weight, held = (np.take_along_axis(a, order, axis=1)
                                              for a in (symbol, target, in_model, weight, held))
    del order
    holding_sleeve = np.repeat(np.arange(n, dtype=np.int32), per)
    holding_symbol = symbol.ravel()
    holding_target = target.ravel()
    holding_in_model = in_model.ravel()
    weight *= sleeve_value[:, None]
    weight *= held
    wanted = weight.ravel()                                                     # dollars in each holding
    del symbol, target, in_model, weight
    holding_price = price[holding_symbol]

    # ------------------------------------------------------------ lots: 1 to 3 per held holding, by date
    # (temporaries are deleted as soon as they are used: a lot column is 370 MB at a million sleeves)
    n_lots = np.where(held.ravel(), rng.choice(np.array([1, 2, 3], dtype=np.int32), n * per, p=[0.3, 0.4, 0.3]), 0)
    del held
    total_lots = int(n_lots.sum())
    lot_holding = np.repeat(np.arange(n * per, dtype=np.int32), n_lots)
    lot_price = holding_price[lot_holding]
    share = rng.random(total_lots)
    share += 0.2
    dollars = np.bincount(lot_holding, weights=share, minlength=n * per)
    np.divide(wanted, dollars, out=dollars, where=dollars > 0)                  # dollars per unit of share
    del wanted
    lot_quantity = share
    lot_quantity *= dollars[lot_holding]
    del dollars
    lot_quantity /= lot_price
    np.maximum(np.round(lot_quantity, 3, out=lot_quantity), 0.001, out=lot_quantity)
    # acquisition dates: each later lot 1 to 400 days after the previous one, the latest 0 to 3000
    # days ago (about one lot in twelve is short-term), so lots come sorted by date within a holding
    some = n_lots > 0
    first = (np.cumsum(n_lots) - n_lots)[some]                                 # each held holding's first lot
    gap = rng.integers(1, 400, total_lots, dtype=np.int32)
    gap[first] = 0
    np.cumsum(gap, out=gap)
    age = gap                                                                   # days since the holding's first lot
    age -= np.repeat(gap[first], n_lots[some])
    span = np.zeros(n * per, dtype=np.int32)                                    # first to last lot, in days
    span[some] = age[first + n_lots[some] - 1]
    del first, some
    span += rng.integers(0, 3000, n * per, dtype=np.int32)                      # the age of the latest lot
    np.subtract(span[lot_holding], age, out=age)
    del span
    lot_acquired = np.datetime64(as_of, "D") - age.astype("timedelta64[D]")
    growth = age / 365.25                                                       # 7% a year, 20% volatility
    del age
    noise = np.sqrt(growth)
    noise *= rng.standard_normal(total_lots)
    growth *= 0.07
    growth += 0.2 * noise
    del noise
    np.exp(growth, out=growth)
    lot_cost = lot_quantity * lot_price
    del lot_price
    lot_cost /= growth
    del growth
    np.round(lot_cost, 2, out=lot_cost)
    holding_quantity = np.bincount(lot_holding, weights=lot_quantity, minlength=n * per)
    holding_cost = np.bincount(lot_holding, weights=lot_cost, minlength=n * per)
    lot_ids = np.arange(total_lots, dtype=np.int32 if total_lots < 2**31 else np.int64)

    # ------------------------------------------------------------ cash
    cash_target = np.where(has_model, model_cash[m], np.nan)
    cash_weight = np.where(has_model, model_cash[m], 0.02) * np.exp(rng.normal(0.0, 0.6, n))
    sleeve_cash = np.round(sleeve_value * cash_weight, 2)
    sleeve_cash[rng.random(n) < 0.02] = 0.0

    return Book(
        as_of=as_of,
        symbols=symbols, symbol_asset_class=asset_class, asset_classes=ASSET_CLASSES, symbol_price=price,
        account_ids=account_ids, account_registration=account_registration, registrations=REGISTRATIONS,
        account_custodian=account_custodian, custodians=custodians, account_household=account_household,
        households=households, account_st_rate=st_rate, account_lt_rate=lt_rate,
        sleeve_ids=sleeve_ids, sleeve_account=sleeve_account, sleeve_model=sleeve_model,
        models=np.array(MODEL_NAMES, dtype=object), sleeve_policy=np.full(n, None, dtype=object),
        sleeve_cash=sleeve_cash, sleeve_cash_target=cash_target,
        holding_sleeve=holding_sleeve, holding_symbol=holding_symbol, holding_quantity=holding_quantity,
        holding_cost=holding_cost, holding_target=holding_target, holding_in_model=holding_in_model,
        lot_ids=lot_ids, lot_holding=lot_holding, lot_quantity=lot_quantity,
        lot_cost=lot_cost, lot_acquired=lot_acquired,
    )


def check_invariants(book: Book) -> None:
    """Assert the Book invariants (sorted owners, valid codes, targets) on a synthetic book."""
    assert np.all(np.diff(book.holding_sleeve) >= 0) and np.all(np.diff(book.lot_holding) >= 0)
    assert list(book.symbols) == sorted(book.symbols) and list(book.models) == sorted(book.models)
    for codes, vocab in ((book.symbol_asset_class, book.asset_classes), (book.account_registration, book.registrations),
                         (book.account_custodian, book.custodians), (book.account_household, book.households)):
        assert codes.min() >= 0 and codes.max() < len(vocab)
    assert book.sleeve_model.min() >= -1 and book.sleeve_model.max() < len(book.models)
    assert book.sleeve_account.max() < len(book.account_ids) and book.holding_symbol.max() < len(book.symbols)
    assert book.holding_sleeve.max() < book.n_sleeves and book.lot_holding.max() < book.n_holdings
    no_model = book.sleeve_model[book.holding_sleeve] < 0
    assert np.isnan(book.holding_target[no_model]).all() and not np.isnan(book.holding_target[~no_model]).any()
    assert (book.holding_target[~no_model & ~book.holding_in_model] == 0).all()
    assert np.isnan(book.sleeve_cash_target[book.sleeve_model < 0]).all()
    pairs = book.holding_sleeve.astype(np.int64) * len(book.symbols) + book.holding_symbol
    assert np.all(np.diff(pairs) > 0), "each sleeve's holdings are distinct and sorted by symbol"
    same = book.lot_holding[1:] == book.lot_holding[:-1]
    assert np.all(book.lot_acquired[1:][same] >= book.lot_acquired[:-1][same])
    assert (book.lot_acquired <= np.datetime64(book.as_of, "D")).all()
