"""``record_run`` stores each proposal as the plain row-by-row version did (same ids, rows, result):
as column chunks read back as those rows, and written as those rows once a sleeve's trades are decided."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartx_engine.domain import Side, Term, Trade, TradeStatus
from smartx_engine.dsl.policyset import load_rules
from smartx_engine.fixedpoint import PRICE, QUANTITY
from smartx_engine.rebalance import stored
from smartx_engine.rebalance.proposals import Proposals
from smartx_engine.rebalance.review import decide, stored_trades
from smartx_engine.rebalance.runs import rebalance, record_run
from smartx_engine.rebalance.stored import STORED_COLUMNS, Packer, materialize, unpack
from smartx_engine.store import Store
from smartx_engine.tax.relief import Relief

AS_OF = dt.date(2026, 11, 20)


class Clock:
    """A store clock that says what it is told (``now``, at 10:00 to begin with)."""

    def __init__(self):
        self.now = "2026-11-20T10:00:00+00:00"

    def __call__(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.now)


def reference_rows(recorded, created_at: str) -> list[dict]:
    """The rows the row-by-row version inserted, from the objects, as ``stored_trades`` reads them."""
    return [{"trade_id": t.trade_id, "run_id": recorded.run_id, "account_id": t.account_id, "sleeve_id": t.sleeve_id,
             "symbol": t.symbol, "side": str(t.side), "quantity_e6": QUANTITY.to_int(t.quantity),
             "est_price_e6": PRICE.to_int(t.est_price), "status": "proposed", "reasons": json.dumps(list(t.reasons)),
             "lots": json.dumps(list(p.lots), default=str), "created_at": created_at, "decided_by": None,
             "decided_at": None, "note": None, "proposed_e6": None, "edited_by": None, "edited_at": None,
             "model_version": p.model_version, "crossed_e6": 0, "proposed_by": "alice", "as_of": AS_OF.isoformat()}
            for p in recorded.trades for t in [p.trade]]


@pytest.fixture
def run(imported, rules, monkeypatch):
    """A store (its clock at 10:00), and the result of a dry run on it (chunks of 4 trades, so that a
    run has several)."""
    monkeypatch.setattr(stored, "CHUNK", 4)
    store = Store.open(imported, actor="alice", clock=Clock())
    result = rebalance(store, load_rules(rules), AS_OF, dry_run=True)
    assert len(result.trades) > 8 and any(p.lots for p in result.trades)
    return store, result


def test_record_run_stores_what_the_row_by_row_version_stored(run):
    store, result = run
    recorded = record_run(store, result)
    first = int(recorded.trades[0].trade.trade_id[2:])
    expected = [attrs.evolve(p, trade=attrs.evolve(p.trade, trade_id=f"T-{first + i:08d}", run_id=recorded.run_id))
                for i, p in enumerate(result.trades)]
    assert list(recorded.trades) == expected
    reference = reference_rows(recorded, "2026-11-20T10:00:00+00:00")
    assert stored_trades(store, run_id=recorded.run_id) == reference  # read from the chunks
    assert store.db.execute("select count(*) from trades").fetchone()[0] == 0
    assert store.db.execute("select count(*) from proposal_chunks").fetchone()[0] == -(-len(expected) // 4)
    with store.transaction():
        materialize(store.db, trade_ids=[r["trade_id"] for r in reference[::3]])  # their sleeves' trades
    assert stored_trades(store, run_id=recorded.run_id) == reference  # the same, some now rows of `trades`
    with store.transaction():
        materialize(store.db, trade_ids=[r["trade_id"] for r in reference])
    assert stored_trades(store, run_id=recorded.run_id) == reference
    rows = list(store.db.query("select * from trades order by trade_id"))
    assert [list(r) for r in rows] == [list(STORED_COLUMNS[:-2])] * len(rows)
    assert rows == [{k: v for k, v in r.items() if k not in ("proposed_by", "as_of")} for r in reference]
    assert store.db.execute("select count(*) from proposal_runs").fetchone()[0] == 0


def test_pending_trades_are_read_by_id_status_and_run(run):
    store, result = run
    recorded = record_run(store, result)
    ids = [p.trade.trade_id for p in recorded.trades]
    every = stored_trades(store)
    assert [r["trade_id"] for r in every] == ids
    assert [r["trade_id"] for r in stored_trades(store, trade_ids=[ids[5], ids[1], "T-99999999", "X"])] == [
        ids[1], ids[5]]
    assert stored_trades(store, status="proposed", run_id=recorded.run_id) == every
    assert stored_trades(store, status="approved") == stored_trades(store, status="cancelled") == []
    assert stored_trades(store, run_id="R-000009") == []


def test_a_decision_writes_the_sleeves_trades_as_rows(run):
    store, result = run
    recorded = record_run(store, result)
    before = stored_trades(store)
    chosen = before[5]
    store.clock.now = "2026-11-20T11:00:00+00:00"
    decide(store, [chosen["trade_id"]], TradeStatus.REJECTED, note="no")
    sleeve = [r for r in before if r["sleeve_id"] == chosen["sleeve_id"]]
    assert [r["trade_id"] for r in store.db.query("select trade_id from trades order by trade_id")] == [
        r["trade_id"] for r in sleeve]
    after = stored_trades(store)
    changed = {"status": "rejected", "decided_by": "alice", "decided_at": "2026-11-20T11:00:00+00:00", "note": "no"}
    assert after == [{**r, **changed} if r is chosen else r for r in before]
    assert chosen["sleeve_id"] not in json.loads(store.db.execute(
        "select proposed from proposal_runs where run_id = ?", [recorded.run_id]).fetchone()[0])


def test_a_later_run_cancels_pending_and_row_proposals_alike(run):
    store, result = run
    first = record_run(store, result)
    store.clock.now = "2026-11-20T11:00:00+00:00"
    second = record_run(store, result)  # the same sleeves: every trade of the first is superseded
    cancelled = stored_trades(store, status="cancelled")
    assert [r["trade_id"] for r in cancelled] == [p.trade.trade_id for p in first.trades]
    assert {(r["note"], r["decided_at"]) for r in cancelled} == {("superseded by R-000002", "2026-11-20T11:00:00+00:00")}
    assert [r["trade_id"] for r in stored_trades(store, status="proposed")] == [
        p.trade.trade_id for p in second.trades]
    approved = second.trades[0].trade
    decide(store, [approved.trade_id], TradeStatus.APPROVED)  # its sleeve's trades become rows
    third = record_run(store, result)
    audit = [json.loads(r["details"]) for r in store.db.query(
        "select details from audit where action = 'rebalance.run' order by audit_id")]
    assert [a["superseded"] for a in audit] == [0, len(first.trades), len(second.trades) - 1]
    statuses = {r["trade_id"]: (r["status"], r["note"]) for r in stored_trades(store, run_id=second.run_id)}
    assert statuses.pop(approved.trade_id) == ("approved", None)
    assert set(statuses.values()) == {("cancelled", "superseded by R-000003")}
    assert int(third.trades[0].trade.trade_id[2:]) == int(second.trades[-1].trade.trade_id[2:]) + 1


def test_trade_numbers_follow_rows_and_chunks(run):
    store, result = run
    store.db.execute("insert into runs values ('R-000001', '2026-03-01', '2026-03-01T10:00:00', 'tester', 'digest',"
                     " '{}', 1, 1, 1, '{}')")
    row = dict.fromkeys(stored.ROW_COLUMNS)
    row.update(trade_id="T-00000041", run_id="R-000001", account_id=result.trades[0].trade.account_id,
               sleeve_id=result.trades[0].trade.sleeve_id, symbol="VTI", side="buy", quantity_e6=1, est_price_e6=1,
               status="filled", reasons="[]", lots="[]", created_at="2026-03-01T10:00:00")
    store.db["trades"].insert(row)
    second = record_run(store, result)
    assert [p.trade.trade_id for p in second.trades][:2] == ["T-00000042", "T-00000043"]
    assert int(record_run(store, result).trades[0].trade.trade_id[2:]) == 42 + len(second.trades)


# ---------------------------------------------------------------- chunks read back exactly


IDS = st.from_regex(r"[A-Z]{1,3}-[0-9]{1,4}", fullmatch=True)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


@st.composite
def proposals(draw) -> Proposals:
    """Proposals of drawn trades: ids, quantities past 32 bits, lots, reasons (none, or any text),
    model versions (or none), then notes added to some rows."""
    n = draw(st.integers(1, 30))
    items = []
    for i in range(n):
        side = draw(st.sampled_from([Side.BUY, Side.SELL]))
        trade = Trade(trade_id="T-PENDING", run_id="R-PENDING", account_id=draw(IDS), sleeve_id=draw(IDS),
                      symbol=draw(st.sampled_from(["VTI", "BND", "AAPL", "X0001"])), side=side,
                      quantity=QUANTITY.to_decimal(draw(st.integers(1, 10 ** 14))),
                      est_price=PRICE.to_decimal(draw(st.integers(1, 10 ** 10))),
                      reasons=draw(st.lists(TEXT, max_size=3)))
        lots = [Relief(draw(TEXT.filter(bool)), Decimal(q), Decimal(b), dt.date(2020, 1, 1) + dt.timedelta(days=d),
                       draw(st.sampled_from(list(Term))), Decimal(r), Decimal(r) - Decimal(b))
                for q, b, d, r in draw(st.lists(st.tuples(st.integers(1, 10 ** 9), st.integers(0, 10 ** 12),
                                                          st.integers(0, 3000), st.integers(0, 10 ** 12)),
                                                max_size=3 if side is Side.SELL else 0))]
        items.append((trade, lots, draw(st.none() | st.sampled_from(["2026.1", "v2"]))))
    notes = draw(st.dictionaries(st.integers(0, n - 1), st.lists(TEXT, min_size=1, max_size=2), max_size=4))
    return Proposals.of_objects(items).with_notes(notes)


@given(proposals(), st.integers(1, 7), st.integers(1, 10 ** 9))
def test_chunks_unpack_to_the_same_rows_and_json(drawn, size, first):
    p = drawn.recorded("R-000007", first)
    rows, texts = [], []
    for number, trades, sleeves, data in Packer(p).chunks(size):
        back = unpack(data, sleeves, "R-000007", number)
        assert len(back) == trades and sleeves == sorted(set(np.asarray(back.sleeves)[back.sleeve].tolist()))
        rows += back.trade_rows("proposed", "now")
        texts += back.json_texts()
    assert rows == list(p.trade_rows("proposed", "now"))
    assert texts == list(p.json_texts())
