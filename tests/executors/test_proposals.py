"""A run's proposals as columns: exact texts, the same objects and JSON as one trade at a time, rows taken and joined."""

from __future__ import annotations

import json
from decimal import Decimal

import attrs
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from smartx_engine.fixedpoint import round_money
from smartx_engine.rebalance.proposals import Proposals, value_cents, decimal_texts
from smartx_engine.rebalance.runs import compute, read_inputs
from smartx_engine.rebalance.stored import Packer, unpack

from .conftest import AS_OF


@given(st.lists(st.integers(-10 ** 17, 10 ** 17), max_size=20), st.sampled_from([2, 6]))
def test_decimal_texts_are_what_decimal_formats(units, places):
    texts = decimal_texts(np.array(units, dtype=np.int64), places).tolist()
    assert texts == [format(Decimal(u).scaleb(-places), "f") for u in units]


@given(st.lists(st.tuples(st.integers(1, 10 ** 16), st.integers(1, 10 ** 12)), min_size=1, max_size=20))
def test_values_are_exact_to_the_cent_past_int64(pairs):
    quantity, price = (np.array(column, dtype=np.int64) for column in zip(*pairs))
    cents = [int(c) for c in value_cents(quantity, price)]
    assert cents == [int(round_money(Decimal(q).scaleb(-6) * Decimal(p).scaleb(-6)) * 100) for q, p in pairs]


def design_json(p) -> dict:
    """A proposal in the JSON shape of DESIGN.md, from its objects (as the CLI once wrote it, trade by trade)."""
    t = p.trade
    return {"trade_id": t.trade_id if t.trade_id != "T-PENDING" else None, "run_id": None, "account_id": t.account_id,
            "sleeve_id": t.sleeve_id, "symbol": t.symbol, "side": str(t.side), "quantity": str(t.quantity),
            "est_price": str(t.est_price), "est_value": str(t.est_value), "status": str(t.status),
            "reasons": list(t.reasons), "lots": list(p.lots)}


def test_the_firm_runs_columns_write_the_json_of_its_objects(firm, policies):
    trades = compute(read_inputs(firm, policies, AS_OF), policies).trades
    assert isinstance(trades, Proposals) and trades.notes  # wash sales, gain budgets or crossings noted
    assert [json.loads(text) for text in trades.json_texts()] == [design_json(p) for p in trades]


def test_rows_taken_and_joined_are_the_rows(firm, policies):
    trades = compute(read_inputs(firm, policies, AS_OF), policies).trades
    half = len(trades) // 2
    rows = np.arange(len(trades))
    assert Proposals.concat([trades.take(rows[:half]), trades.take(rows[half:])]) == list(trades)
    assert list(trades.take(rows[::-1])) == list(trades)[::-1]
    assert Proposals.of_proposed(list(trades)) == list(trades)


def test_blocks_with_tables_of_their_own_join_to_the_rows(firm, policies):
    trades = compute(read_inputs(firm, policies, AS_OF), policies).trades
    half = len(trades) // 2
    own = Proposals.of_proposed(list(trades)[half:])  # its own tables: smaller, sorted
    shuffled = attrs.evolve(own, sleeves=own.sleeves[::-1], sleeve=(len(own.sleeves) - 1 - own.sleeve).astype(np.int32))
    for tail in (own, shuffled):  # held by the first block's sorted table, or not
        joined = Proposals.concat([trades.take(np.arange(half)), tail])
        assert joined == list(trades)
        assert list(joined.sleeves) == sorted(set(joined.sleeves.tolist()))


def test_chunks_of_the_firms_run_read_back_as_its_rows(firm, policies):
    trades = compute(read_inputs(firm, policies, AS_OF), policies).trades.recorded("R-000001", 7)
    rows = []
    for number, _, sleeves, data in Packer(trades).chunks(50):
        rows += unpack(data, sleeves, "R-000001", number).trade_rows("proposed", "now")
    assert rows == list(trades.trade_rows("proposed", "now"))
