"""The Fidelity plugin: FDX reading against the loopback sandbox, and order/allocation files."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from smartx_custodian_fidelity.fdx import FdxClient
from smartx_custodian_fidelity.files import (
    Allocation,
    BlockOrder,
    OrderLine,
    read_orders,
    read_results,
    write_blocks,
    write_orders,
)
from smartx_custodian_fidelity.simulator import simulate
from smartx_custodian_fidelity.sandbox import FdxSandbox, seed

from smartx_engine import ConflictError, CustodianError, DataError, LotInstruction, Side

ACCOUNT = "5426873"


@pytest.fixture
def sandbox():
    with FdxSandbox(page_size=2) as server:
        yield server


@pytest.fixture
def client(sandbox):
    with FdxClient(sandbox.base_url, retries=0) as fdx:
        yield fdx


# ---------------------------------------------------------------- FDX reading


def test_accounts_follow_every_page(sandbox, client):
    accounts = client.accounts()

    assert [a.account_id for a in accounts] == ["5426873", "7719302", "3380021"]
    assert [a.account_type for a in accounts] == ["BROKERAGEPRODUCT", "ROTH", "TRUST"]
    assert accounts[0].currency == "USD" and accounts[2].status == "CLOSED"
    assert [r.split("?")[0] for r in sandbox.requests] == ["/fdx/v5/accounts"] * 2
    assert "offset=2" in sandbox.requests[1]


def test_holdings_carry_tax_lots_as_exact_decimals_and_dates(client):
    account = client.account(ACCOUNT)
    vti, spaxx = account.holdings

    assert account.available_cash == Decimal("1250.00")
    assert account.balance_as_of == dt.datetime(2024, 1, 15, 21, tzinfo=dt.UTC)
    assert (vti.symbol, vti.security_id, vti.units, vti.unit_price) == ("VTI", "922908769", 200, Decimal("239.10"))
    assert [(lot.acquired, lot.quantity, lot.cost_basis, lot.purchased_price) for lot in vti.tax_lots] == [
        (dt.date(2021, 3, 2), Decimal(120), Decimal("23412.00"), Decimal("195.10")),
        (dt.date(2023, 10, 27), Decimal(80), Decimal("16854.40"), Decimal("210.68")),
    ]
    # exact: the text's digits, not a float's nearest binary value
    assert str(vti.tax_lots[1].cost_basis) == "16854.40"
    assert all(isinstance(v, Decimal) for lot in vti.tax_lots for v in (lot.quantity, lot.cost_basis))
    assert spaxx.cash and spaxx.units == Decimal("3602.49") and spaxx.tax_lots == ()
    agg = client.holdings("7719302")[0]
    assert agg.tax_lots[0].purchased_price == Decimal("101.0713") and agg.units == Decimal("105.5")


def test_transactions_are_read_across_pages_and_filtered_by_date(sandbox, client):
    transactions = client.transactions(ACCOUNT)

    assert [t.transaction_id for t in transactions] == ["t-9001", "t-9002", "t-9003", "t-9004", "t-9005"]
    assert sum(ACCOUNT in r and "transactions" in r for r in sandbox.requests) == 3
    sold = transactions[3]
    assert (sold.transaction_type, sold.units, sold.unit_price, sold.amount, sold.fees) == (
        "SOLD", Decimal("-10.125"), Decimal("240.0133"), Decimal("2430.13"), Decimal("0.01"))
    assert sold.transacted == dt.datetime(2024, 1, 18, 15, 45, 10, tzinfo=dt.UTC)
    assert transactions[0].amount == Decimal("-16854.40")
    window = client.transactions(ACCOUNT, dt.date(2024, 1, 12), dt.date(2024, 1, 18))
    assert [t.transaction_id for t in window] == ["t-9002", "t-9003", "t-9004"]
    assert client.transactions("7719302") == ()


def test_malformed_json_on_a_later_page_names_endpoint_and_page(sandbox, client):
    sandbox.fail_next("malformed", path="transactions?offset=2")

    with pytest.raises(CustodianError) as caught:
        client.transactions(ACCOUNT)

    message = str(caught.value)
    assert f"GET /accounts/{ACCOUNT}/transactions page 2, offset 2" in message
    assert "malformed JSON" in message


def test_a_500_is_an_error_without_retries(sandbox, client):
    sandbox.fail_next("500", path="/accounts")

    with pytest.raises(CustodianError, match=r"GET /accounts page 1: HTTP 500"):
        client.accounts()


def test_a_500_once_is_retried(sandbox):
    waits: list[float] = []
    sandbox.fail_next("500", path="transactions?offset=4")
    with FdxClient(sandbox.base_url, retries=2, backoff=0.25, sleep=waits.append) as fdx:
        assert len(fdx.transactions(ACCOUNT)) == 5
    assert waits == [0.25]


def test_an_unknown_account_reports_the_fdx_error(client):
    with pytest.raises(CustodianError, match=r"HTTP 404 \(FDX 701: Account not found\)"):
        client.account("999")


def _broken(change) -> dict:
    data = seed()
    change(data)
    return data


@pytest.mark.parametrize("change, field, message", [
    (lambda d: d["accounts"][0]["holdings"][0]["taxLots"][1].pop("costBasis"),
     "account.holdings[0].taxLots[1].costBasis", "missing"),
    (lambda d: d["accounts"][0]["holdings"][0]["taxLots"][0].update(quantity="120"),
     "account.holdings[0].taxLots[0].quantity", "expected a number, got the text '120'"),
    (lambda d: d["accounts"][0]["holdings"][0]["taxLots"][0].update(originalPurchaseDate="03/02/2021"),
     "account.holdings[0].taxLots[0].originalPurchaseDate", "is not a date"),
    (lambda d: d["accounts"][0]["holdings"][1].pop("units"), "account.holdings[1].units", "missing"),
])
def test_a_bad_holding_field_is_named(change, field, message):
    with FdxSandbox(_broken(change)) as server, FdxClient(server.base_url, retries=0) as fdx:
        with pytest.raises(CustodianError) as caught:
            fdx.account(ACCOUNT)
    assert f"GET /accounts/{ACCOUNT} page 1: field {field}: " in str(caught.value)
    assert message in str(caught.value)


def test_a_bad_transaction_on_page_three_fails_the_whole_read():
    data = _broken(lambda d: d["transactions"][ACCOUNT][4].pop("amount"))
    with FdxSandbox(data) as server, FdxClient(server.base_url, retries=0) as fdx:
        with pytest.raises(CustodianError) as caught:
            fdx.transactions(ACCOUNT)
    assert "page 3, offset 4: field transactions[0].investmentTransaction.amount: missing" in str(caught.value)


def _mock(pages: dict[str, dict]) -> FdxClient:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params.get("offset", "0")])
    return FdxClient("http://fdx.test/fdx/v5", retries=0, transport=httpx.MockTransport(handle))


def test_a_page_total_that_does_not_match_is_an_error():
    account = {"investmentAccount": {"accountId": "1"}}
    fdx = _mock({"0": {"page": {"total": 3, "nextOffset": "1"}, "accounts": [account]},
                 "1": {"page": {"total": 3}, "accounts": [account]}})
    with pytest.raises(CustodianError, match=r"page.total says 3 items, but 2 pages held 2"):
        fdx.accounts()


def test_pagination_that_loops_is_an_error():
    fdx = _mock({"0": {"page": {"nextOffset": "1"}, "accounts": []},
                 "1": {"page": {"nextOffset": "1"}, "accounts": []}})
    with pytest.raises(CustodianError, match=r"pagination loops back to offset=1"):
        fdx.accounts()


def test_the_client_is_configured_from_the_environment():
    fdx = FdxClient.from_env({"SMARTX_FIDELITY_FDX_URL": "http://x.test/fdx/v5", "SMARTX_FIDELITY_FDX_TOKEN": "s3cr3t"})
    assert fdx.base_url == "http://x.test/fdx/v5" and "s3cr3t" not in repr(fdx)
    with pytest.raises(CustodianError, match="SMARTX_FIDELITY_FDX_URL"):
        FdxClient.from_env({})


# ---------------------------------------------------------------- order and allocation files

PRICES = {"VTI": Decimal("239.10"), "AGG": Decimal("98.51")}
FRIDAY = dt.date(2024, 1, 19)


def _outbox(root: Path) -> Path:
    outbox = root / "outbox"
    write_orders(outbox, "20240119-1", [
        OrderLine("o-1", "Z12345678", Side.BUY, "10.5", "VTI"),
        OrderLine("o-2", "Z12345678", Side.SELL, "3", "AGG", limit_price="99"),
        OrderLine("o-3", "Z87654321", Side.SELL, "4.125", "AGG", limit_price="98.50",
                  lots=[LotInstruction(dt.date(2022, 6, 13), "4"), LotInstruction(dt.date(2021, 3, 2), "0.125")]),
        OrderLine("o-4", "Z87654321", Side.BUY, "1", "NOPE"),
    ])
    write_blocks(outbox, "20240119-1", [
        BlockOrder("blk-1", "BLK000001", Side.BUY, "VTI",
                   [Allocation("a-1", "Z12345678", "100"), Allocation("a-2", "Z87654321", "50.25")]),
    ])
    return outbox


def test_order_files_have_the_wealthscape_columns(tmp_path):
    outbox = _outbox(tmp_path)

    assert (outbox / "orders_20240119-1.csv").read_text().splitlines() == [
        ("Account Number,Account Type,Order Action,Quantity,Symbol,Price Type,Time In Force,Stop/Limit Price,"
         "Client Order ID,Versus Purchase"),
        "Z12345678,1,B,10.5,VTI,M,D,,o-1,",
        "Z12345678,1,S,3,AGG,L,D,99,o-2,",
        "Z87654321,1,S,4.125,AGG,L,D,98.5,o-3,2022-06-13:4;2021-03-02:0.125",
        "Z87654321,1,B,1,NOPE,M,D,,o-4,",
    ]
    assert (outbox / "blocks_20240119-1.csv").read_text().splitlines()[1:] == [
        "BLK000001,1,B,150.25,VTI,M,D,,BLOCK,blk-1,blk-1,",
        "Z12345678,1,B,100,VTI,M,D,,ALLOCATION,blk-1,a-1,",
        "Z87654321,1,B,50.25,VTI,M,D,,ALLOCATION,blk-1,a-2,",
    ]
    assert read_orders(outbox / "orders_20240119-1.csv")[2].lots == (
        LotInstruction(dt.date(2022, 6, 13), Decimal(4)), LotInstruction(dt.date(2021, 3, 2), Decimal("0.125")))
    assert not list(outbox.glob(".*"))  # no temporary file left behind
    with pytest.raises(ConflictError):
        write_orders(outbox, "20240119-1", [OrderLine("o-9", "Z1", Side.BUY, "1", "VTI")])


def test_order_values_outside_the_file_format_are_refused():
    with pytest.raises(ValueError, match="at most 3 decimals"):
        OrderLine("o-1", "Z1", Side.BUY, "1.0005", "VTI")
    with pytest.raises(TypeError, match="never floats"):
        OrderLine("o-1", "Z1", Side.BUY, 1.5, "VTI")
    with pytest.raises(ValueError, match="1 to 20 characters"):
        OrderLine("o-1", "Z" * 21, Side.BUY, "1", "VTI")


def test_orders_round_trip_through_the_simulator(tmp_path):
    outbox, inbox = _outbox(tmp_path), tmp_path / "inbox"

    written = simulate(outbox, inbox, PRICES, trade_date=FRIDAY)
    results = read_results(inbox)

    assert sorted(p.name for p in written) == [
        "allocations_blocks_20240119-1.csv", "executions_blocks_20240119-1.csv", "executions_orders_20240119-1.csv"]
    by_id = {e.client_order_id: e for e in results.executions}
    assert {k: (e.status.value, e.filled_quantity, e.average_price) for k, e in by_id.items()} == {
        "o-1": ("filled", Decimal("10.5"), Decimal("239.10")),
        "o-2": ("expired", Decimal(0), None),  # sell limit 99 above the 98.51 price
        "o-3": ("filled", Decimal("4.125"), Decimal("98.51")),
        "o-4": ("rejected", Decimal(0), None),  # no price: unknown symbol
        "blk-1": ("filled", Decimal("150.25"), Decimal("239.10")),
    }
    assert by_id["o-1"].side is Side.BUY and by_id["o-3"].side is Side.SELL
    assert by_id["o-1"].settlement_date == dt.date(2024, 1, 22)  # T+1 over the weekend
    assert [(a.client_order_id, a.account_number, a.quantity, a.average_price) for a in results.allocations] == [
        ("a-1", "Z12345678", Decimal(100), Decimal("239.10")),
        ("a-2", "Z87654321", Decimal("50.25"), Decimal("239.10")),
    ]
    assert simulate(outbox, inbox, PRICES, trade_date=FRIDAY) == []  # each file executes once


@pytest.fixture
def inbox(tmp_path) -> Path:
    inbox = tmp_path / "inbox"
    simulate(_outbox(tmp_path), inbox, PRICES, trade_date=FRIDAY)
    return inbox


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("damage, line, field, message, count", [
    (lambda f: _edit(f, "10.5,10.5,239.1", "10.5,10.5,23x.1"), 2, "Average Price", "expected a number", 1),
    # the kernel's header check also says "unknown column 'Filled Qty'" (did you mean ...)
    (lambda f: _edit(f, "Symbol,Quantity,Filled Quantity", "Symbol,Quantity,Filled Qty"), 1, "Filled Quantity",
     "missing column", 2),
    (lambda f: f.write_bytes(f.read_bytes()[:-30]), 5, "Quantity", "truncated", 1),  # "o-4,Z87654321,B,N"
    (lambda f: _edit(f, "10.5,10.5,239.1", "10.5,11,239.1"), 2, "Filled Quantity", "more than the order's", 1),
    (lambda f: _edit(f, "239.1,FILLED", "239.1,PARTIAL"), 2, "Filled Quantity", "status PARTIAL but 10.5 of", 1),
])
def test_a_malformed_result_file_is_rejected_whole(inbox, damage, line, field, message, count):
    bad = inbox / "executions_orders_20240119-1.csv"
    damage(bad)

    with pytest.raises(DataError) as caught:
        read_results(inbox)  # the other, good, files are not returned either

    diagnostics = caught.value.diagnostics
    assert len(diagnostics) == count, str(caught.value)
    named = [d for d in diagnostics if (d.file, d.line) == (str(bad), line) and message in d.message]
    assert len(named) == 1, str(caught.value)
    assert named[0].render().startswith(f"{bad}:{line}:")
    assert named[0].field == field or field in named[0].message
    assert "nothing was imported" in str(caught.value)
    assert "nothing was imported" in str(caught.value)


def test_allocations_must_add_up_to_the_block_fill(inbox):
    _edit(inbox / "allocations_blocks_20240119-1.csv", ",50.25,", ",50.5,")

    with pytest.raises(DataError, match=r"block blk-1 allocates 150.5 but 150.25 was filled"):
        read_results(inbox)


@pytest.mark.parametrize("field, message", [
    ("2022-06-13:4;2021-03-02", "bad lot '2021-03-02'"),
    ("2022-06-13:4", "the Versus Purchase lots add up to 4, not the quantity 4.125"),
])
def test_a_bad_versus_purchase_rejects_the_order_file_naming_line_and_field(tmp_path, field, message):
    path = _outbox(tmp_path) / "orders_20240119-1.csv"
    path.write_text(path.read_text().replace("2022-06-13:4;2021-03-02:0.125", field))
    with pytest.raises(DataError) as caught:
        read_orders(path)
    assert f"{path}:4:" in str(caught.value) and message in str(caught.value)


def test_only_a_sell_names_lots(tmp_path):
    with pytest.raises(ValueError, match="only a sell names the lots"):
        OrderLine("o-9", "Z1", Side.BUY, "1", "VTI", lots=[LotInstruction(dt.date(2022, 1, 3), "1")])


def test_a_result_reported_twice_is_rejected(inbox):
    source = inbox / "executions_orders_20240119-1.csv"
    (inbox / "executions_orders_again.csv").write_text(source.read_text())

    with pytest.raises(DataError, match=r"order o-1 already has a result at"):
        read_results(inbox)


def test_the_sandbox_writes_numbers_exactly():
    data = copy.deepcopy(seed())
    data["accounts"][0]["currentValue"] = Decimal("0.10000000000000001")
    with FdxSandbox(data) as server:
        body = httpx.get(f"{server.base_url}/accounts/{ACCOUNT}").text
    assert '"currentValue": 0.10000000000000001' in body
    assert json.loads(body, parse_float=Decimal)["currentValue"] == Decimal("0.10000000000000001")
