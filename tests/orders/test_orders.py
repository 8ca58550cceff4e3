"""The order lifecycle against an in-memory custodian: record, send once, fill into lots and cash."""

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal

import pytest

from smartx_engine.demo.seeds import custodian_seed
from smartx_engine.fixedpoint import MONEY, QUANTITY
from smartx_engine.orders import order_rows, submit, sync_orders
from smartx_engine.orders.records import request_of
from smartx_engine.store import Store
from smartx_engine.testing import FakeCustodian


@pytest.fixture
def approved(smartx, imported, rules):
    """The small book rebalanced as of 2026-11-20 and every proposed trade approved."""
    smartx("--rules", str(rules), "rebalance", "--all", "--as-of", "2026-11-20")
    smartx("trades", "approve", "--run", "R-000001")
    return Store.open(imported)


def fakes(store: Store, **options) -> dict:
    return {name: FakeCustodian(custodian_seed(store, name), name=name, **options) for name in ("schwab", "fidelity")}


def sent_ids(custodians: dict) -> list[str]:
    """Every client order id submitted, as often as it was submitted."""
    return [i for c in custodians.values() for method, ids in c.calls if method == "submit" for i in ids]


def positions(store: Store, account_id: str) -> dict:
    return {r["symbol"]: QUANTITY.to_decimal(r["q"]) for r in store.db.query(
        "select symbol, sum(quantity_e6) as q from lots where account_id = ? group by symbol", [account_id])}


def cash(store: Store, account_id: str) -> Decimal:
    return MONEY.to_decimal(store.db.execute("select sum(amount_cents) from cash where account_id = ?",
                                             [account_id]).fetchone()[0])


def test_approved_trades_become_one_net_order_per_account_and_security_sent_once(approved):
    custodians = fakes(approved)
    trades = list(approved.db.query("select * from trades where status = 'approved'"))
    result = submit(approved, custodians)
    orders = order_rows(approved)
    assert orders and len(result.sent) == len(orders) and not result.still_pending
    assert len({(o["account_id"], o["symbol"]) for o in orders}) == len(orders)
    for order in orders:  # each order's trades are on its side and add up to it
        assert sum(t["quantity_e6"] for t in order["trades"]) == order["quantity_e6"]
    assert {t["trade_id"] for o in orders for t in o["trades"]} <= {t["trade_id"] for t in trades}
    again = submit(approved, custodians)
    assert not again.sent and not again.recovered
    assert sorted(sent_ids(custodians)) == sorted(o["client_order_id"] for o in orders)


def test_fills_move_lots_cash_and_realised_gains_exactly_like_the_custodian(approved):
    custodians = fakes(approved, auto_fill=False)  # fills come later, found by `trades sync`
    submit(approved, custodians)
    assert {o["status"] for o in order_rows(approved)} == {"submitted"}
    for custodian in custodians.values():
        custodian.execute()
    tracked = sync_orders(approved, custodians)
    assert tracked.fills and {o["status"] for o in order_rows(approved)} == {"filled"}
    assert {t["status"] for t in approved.db.query("select status from trades where run_id = 'R-000001'"
                                                   " and status != 'proposed'")} <= {"filled"}
    for account in approved.accounts():
        custodian = custodians[account.custodian]
        (held,) = [a for a in custodian.accounts() if a.number == account.custodian_number]
        assert positions(approved, account.account_id) == {p.symbol: p.quantity for p in held.positions if p.quantity}
        assert cash(approved, account.account_id) == held.cash
    sells = list(approved.db.query("select * from realized where transaction_id like 'T-%'"))
    assert sells and all(r["proceeds_cents"] - r["cost_basis_cents"] == r["gain_cents"] for r in sells)
    assert not sync_orders(approved, custodians).fills  # applied once


def test_a_sell_relieves_the_lots_its_proposal_planned(approved):
    custodians = fakes(approved)
    planned = {t["trade_id"]: [lot["lot_id"] for lot in json.loads(t["lots"])]
               for t in approved.db.query("select * from trades where status = 'approved' and side = 'sell'")}
    submit(approved, custodians)
    sync_orders(approved, custodians)
    for trade_id, lots in planned.items():
        relieved = [r["lot_id"] for r in approved.db.query(
            "select lot_id from realized where transaction_id like ? order by rowid", [f"{trade_id}-F%"])]
        assert relieved == lots


def test_a_sell_order_names_the_lots_it_relieves_and_its_fills_relieve_exactly_those(approved):
    custodians = fakes(approved)
    submit(approved, custodians)
    sells = [o for o in order_rows(approved) if o["side"] == "sell"]
    assert sells
    for row in sells:
        request = request_of(row)
        assert request.lots and sum(i.quantity for i in request.lots) == request.quantity
    sync_orders(approved, custodians)
    for row in sells:
        relieved: dict = defaultdict(Decimal)
        for trade in row["trades"]:
            for r in approved.db.query("select acquired, quantity_e6 from realized where transaction_id like ?",
                                       [f"{trade['trade_id']}-F%"]):
                relieved[dt.date.fromisoformat(r["acquired"])] += QUANTITY.to_decimal(r["quantity_e6"])
        assert relieved == {i.acquired: i.quantity for i in request_of(row).lots}


def test_a_lost_answer_leaves_the_order_pending_and_the_next_run_finds_it(approved):
    custodians = fakes(approved)
    custodians["schwab"].fail_next_submit("unknown")
    first = submit(approved, custodians)
    assert first.still_pending
    second = submit(approved, custodians)
    assert set(first.still_pending) <= set(second.recovered) and not second.still_pending
    assert len(sent_ids(custodians)) == len(set(sent_ids(custodians))) == len(order_rows(approved))


def test_an_open_break_skips_the_account_until_acknowledged(approved):
    approved.db.execute("insert into breaks values ('SCH-1:cash:$CASH', 'SCH-1', 'cash', null, '1.00', '2.00',"
                        " 'open', '2026-11-20', '2026-11-20', null, null)")
    result = submit(approved, fakes(approved))
    assert [s.account_id for s in result.recording.skipped] == ["SCH-1"]
    assert not [o for o in order_rows(approved) if o["account_id"] == "SCH-1"]
    assert approved.db.execute("select count(*) from trades where account_id = 'SCH-1' and status = 'approved'"
                               ).fetchone()[0]


def test_blocks_group_one_security_and_side_across_accounts(approved):
    custodians = {name: FakeCustodian(custodian_seed(approved, name), name=name, supports_blocks=True)
                  for name in ("schwab", "fidelity")}
    submit(approved, custodians, block=True)
    orders = order_rows(approved)
    blocks = {}
    for order in orders:
        if order["block_id"]:
            blocks.setdefault(order["block_id"], []).append(order)
    assert blocks  # SCH-1 and SCH-2 both buy VEA
    for members in blocks.values():
        assert len(members) >= 2 and len({(o["symbol"], o["side"], o["custodian"]) for o in members}) == 1
