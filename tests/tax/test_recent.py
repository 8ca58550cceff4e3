"""``recent_trading`` reads recent acquisitions as columns and makes a household's ``Acquisition``
values when asked for: the same results as the row-by-row reading it replaced (kept here as the
reference), on a synthetic firm with recent loss sales added."""

from __future__ import annotations

import datetime as dt
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from smartx_engine.domain import Registration, TaxTreatment
from smartx_engine.fixedpoint import MONEY, QUANTITY
from smartx_engine.store import Store
from smartx_engine.tax.recent import RecentAcquisitions, RecentTrading, merged_groups, recent_trading
from smartx_engine.tax.wash import Acquisition, LossSale, identical_groups

ROOT = Path(__file__).resolve().parents[2]


def reference_recent_trading(store: Store, as_of: dt.date, *, identical=(), window_days: int = 30) -> RecentTrading:
    """The row-by-row reading (an object per recent lot) this replaced."""
    accounts = {r["account_id"]: r for r in store.db.query("select account_id, household_id, registration from accounts")}
    household_of = {a: r["household_id"] for a, r in accounts.items()}
    treatment_of = {a: Registration(r["registration"]).tax_treatment for a, r in accounts.items()}
    since = (as_of - dt.timedelta(days=window_days)).isoformat()
    losses: dict[str, list[LossSale]] = defaultdict(list)
    for r in store.db.query("select * from realized where gain_cents < 0 and sold between ? and ?",
                            [since, as_of.isoformat()]):
        if treatment_of[r["account_id"]] == TaxTreatment.TAXABLE:
            losses[household_of[r["account_id"]]].append(LossSale(
                f"{r['transaction_id']}:{r['lot_id']}", r["account_id"], r["symbol"], dt.date.fromisoformat(r["sold"]),
                QUANTITY.to_decimal(r["quantity_e6"]), MONEY.to_decimal(-r["gain_cents"]),
                dt.date.fromisoformat(r["holding_from"]), r["lot_id"]))
    bought: dict[str, list[Acquisition]] = defaultdict(list)
    earliest = (as_of - dt.timedelta(days=2 * window_days)).isoformat()
    for r in store.db.query("select * from lots where acquired between ? and ? order by acquired, rowid",
                            [earliest, as_of.isoformat()]):
        bought[household_of[r["account_id"]]].append(Acquisition(
            r["lot_id"], r["account_id"], r["symbol"], dt.date.fromisoformat(r["acquired"]),
            QUANTITY.to_decimal(r["quantity_e6"]), treatment_of[r["account_id"]]))
    return RecentTrading(as_of, window_days, identical_groups(merged_groups(identical)), dict(losses), dict(bought),
                         household_of, treatment_of)


@pytest.fixture(scope="module")
def firm(tmp_path_factory) -> Store:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from firm import AS_OF, firm_store
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    store = Store.open(firm_store(200, seed=5, cache=tmp_path_factory.mktemp("firm"), verbose=False))
    recent = store.db.execute("select l.lot_id, l.account_id, l.sleeve_id, l.symbol, l.acquired, l.quantity_e6"
                              " from lots l join accounts a using (account_id) where a.registration = 'taxable'"
                              " and l.acquired between '2026-09-01' and ? order by l.rowid limit 40",
                              [AS_OF.isoformat()]).fetchall()
    with store.transaction():  # loss sales of some of them, in the window and before it
        for i, (lot_id, account_id, sleeve_id, symbol, acquired, quantity) in enumerate(recent):
            sold = max(AS_OF - dt.timedelta(days=i), dt.date.fromisoformat(acquired))
            store.db.execute(
                "insert into realized (transaction_id, lot_id, account_id, sleeve_id, symbol, acquired, holding_from,"
                " sold, quantity_e6, proceeds_cents, cost_basis_cents, gain_cents, term) values"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'short')",
                [f"T{i}", lot_id, account_id, sleeve_id, symbol, acquired, acquired, sold.isoformat(),
                 max(quantity // 2, 1), 1000, 1000 + 100 * (i % 7) - 300, 100 * (i % 7) - 300])
    store.as_of = AS_OF
    return store


@pytest.mark.parametrize("identical", [(), [("AGG", "BND"), ("VTI", "ITOT")]])
def test_recent_trading_is_the_row_by_row_reading(firm, identical):
    as_of = firm.as_of
    found, expected = recent_trading(firm, as_of, identical=identical), reference_recent_trading(
        firm, as_of, identical=identical)
    assert isinstance(found.acquisitions, RecentAcquisitions)
    assert sum(map(len, expected.acquisitions.values())) > 100 and expected.loss_sales
    assert found.loss_sales == expected.loss_sales
    assert found.household_of == expected.household_of and found.treatment_of == expected.treatment_of
    assert found.blocked == expected.blocked and expected.blocked
    assert dict(found.acquisitions.items()) == expected.acquisitions
    assert found.acquisitions == expected.acquisitions and len(found.acquisitions) == len(expected.acquisitions)
    symbols = [r[0] for r in firm.db.execute("select distinct symbol from lots")]
    for account_id, lot_id in firm.db.execute("select account_id, lot_id from lots where acquired >= '2026-09-01'"):
        for symbol in symbols[:5]:
            assert (found.washed_by_recent_buys(account_id, symbol, [lot_id])
                    == expected.washed_by_recent_buys(account_id, symbol, [lot_id]))


def test_the_recent_trading_of_some_households(firm):
    found, expected = recent_trading(firm, firm.as_of), reference_recent_trading(firm, firm.as_of)
    households = sorted(expected.acquisitions)[::3] + ["NO-SUCH-HOUSEHOLD"]
    accounts = [a for a, h in expected.household_of.items() if h in households][:2]
    found.acquisitions[households[1]]  # one made before the split: kept
    part, reference = found.of_households(set(households), accounts), expected.of_households(set(households), accounts)
    assert isinstance(part.acquisitions, RecentAcquisitions) and not isinstance(reference.acquisitions, RecentAcquisitions)
    assert dict(part.acquisitions.items()) == reference.acquisitions
    assert set(part.acquisitions) == set(households[:-1]) and "NO-SUCH-HOUSEHOLD" not in part.acquisitions
    assert part.loss_sales == reference.loss_sales and part.household_of == reference.household_of
    assert part.treatment_of == reference.treatment_of and part.blocked == reference.blocked
    with pytest.raises(KeyError):
        part.acquisitions["NO-SUCH-HOUSEHOLD"]
    empty = found.of_households(set())
    assert len(empty.acquisitions) == 0 and dict(empty.acquisitions) == {}


def test_the_symbols_each_household_bought_as_columns(firm):
    found, expected = recent_trading(firm, firm.as_of), reference_recent_trading(firm, firm.as_of)
    households = ["NO-SUCH-HOUSEHOLD", *sorted(expected.acquisitions)[::2], "A", "ZZZ"]
    for recent in (found, expected):
        owner, codes, symbols, lots = recent.bought_of_each(households)
        bought = [set() for _ in households]
        for i, code, lot in zip(owner.tolist(), codes.tolist(), lots.tolist()):
            bought[i].add((symbols[code], lot))
        assert bought == [{(a.symbol, a.lot_id) for a in expected.acquisitions.get(h, [])} for h in households]
        assert [{s for s, _ in b} for b in bought] == [expected.bought_symbols(h) for h in households]
    assert found.bought_of_each([])[0].tolist() == []
