"""``record_run`` stores each proposal as the plain row-by-row version did (same ids, rows, result)."""

from __future__ import annotations

import datetime as dt
import json

import attrs

from smartx_engine.dsl.policyset import load_rules
from smartx_engine.fixedpoint import PRICE, QUANTITY
from smartx_engine.rebalance.runs import rebalance, record_run
from smartx_engine.store import Store


def test_record_run_stores_what_the_row_by_row_version_stored(imported, rules):
    store = Store.open(imported)
    result = rebalance(store, load_rules(rules), dt.date(2026, 11, 20), dry_run=True)
    assert result.trades and any(p.lots for p in result.trades)
    recorded = record_run(store, result)
    first = int(recorded.trades[0].trade.trade_id[2:])
    expected = [attrs.evolve(p, trade=attrs.evolve(p.trade, trade_id=f"T-{first + i:08d}", run_id=recorded.run_id))
                for i, p in enumerate(result.trades)]
    assert list(recorded.trades) == expected
    rows = store.db.execute("select trade_id, run_id, account_id, sleeve_id, symbol, side, quantity_e6, est_price_e6,"
                            " status, reasons, lots, model_version from trades order by trade_id").fetchall()
    assert rows == [(t.trade_id, recorded.run_id, t.account_id, t.sleeve_id, t.symbol, str(t.side),
                     QUANTITY.to_int(t.quantity), PRICE.to_int(t.est_price), str(t.status), json.dumps(list(t.reasons)),
                     json.dumps(list(p.lots), default=str), p.model_version) for p in expected for t in [p.trade]]
