"""The Schwab custodian adapter against its loopback sandbox, over real HTTP on 127.0.0.1.

``TestSchwabCustodian`` runs the kernel's custodian contract; the tests after it cover what is
Schwab's own: lost answers, retries, partial fills, rejections, cancels, token refresh, the
transaction mapping and the ``smartx schwab login`` command.
"""

from __future__ import annotations

import datetime as dt
import json
import stat
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs
import pytest
from click.testing import CliRunner
from smartx_custodian_schwab.answers import TransactionRecord, TransferItem
from smartx_custodian_schwab.client import RetryPolicy, SchwabClient
from smartx_custodian_schwab.commands import schwab as schwab_command
from smartx_custodian_schwab.custodian import SchwabCustodian, transaction
from smartx_custodian_schwab.sandbox import SchwabSandbox

from smartx_engine import (
    Custodian, CustodianError, OrderRequest, OrderStatus, Side, TransactionType,
)
from smartx_engine.testing import ContractWorld, CustodianContract, contract_seed


class FakeTime:
    """A clock tests move by hand, and a sleep that records instead of waiting."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).timestamp()
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def now_epoch() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def start_sandbox(request, seed=None, **kwargs) -> SchwabSandbox:
    sandbox = SchwabSandbox.from_contract_seed(seed or contract_seed(), epoch=now_epoch(), **kwargs).start()
    request.addfinalizer(sandbox.stop)
    return sandbox


def connect(request, sandbox: SchwabSandbox, tmp_path, fake_time: FakeTime | None = None) -> SchwabClient:
    timing = {} if fake_time is None else {"sleep": fake_time.sleep, "clock": fake_time.clock}
    client = SchwabClient(sandbox.base_url, app_key=sandbox.app_key, app_secret=sandbox.app_secret,
                          token_path=tmp_path / "secrets" / "schwab-token.json",
                          retry=RetryPolicy(attempts=4, base_delay=0.01, timeout=0.5), **timing)
    request.addfinalizer(client.close)
    client.exchange_code(sandbox.authorization_code, "https://127.0.0.1:8182/callback")
    return client


class TestSchwabCustodian(CustodianContract):
    @pytest.fixture
    def make_custodian(self, request, tmp_path):
        def make(seed) -> ContractWorld:
            sandbox = start_sandbox(request, seed)
            return ContractWorld(SchwabCustodian(connect(request, sandbox, tmp_path)))

        return make


# -- Schwab's own behaviour ------------------------------------------------------------------------

ACCOUNT = "11112222"


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def sandbox(request) -> SchwabSandbox:
    return start_sandbox(request)


@pytest.fixture
def custodian(request, sandbox, tmp_path, fake_time) -> SchwabCustodian:
    adapter = SchwabCustodian(connect(request, sandbox, tmp_path, fake_time))
    today = dt.date.today()
    adapter.transactions(ACCOUNT, today, today)  # learn the account hashes: a fault hits the request under test
    return adapter


_SERIAL = iter(range(1, 1_000_000))


def order(symbol: str, side: str, quantity: str, account: str = ACCOUNT, **kwargs) -> OrderRequest:
    n = next(_SERIAL)
    return OrderRequest(client_order_id=f"SW-{n:06d}", account_number=account, symbol=symbol, side=Side(side),
                        quantity=Decimal(quantity), placed_at=dt.datetime.now(dt.UTC), batch_id=f"B-{n}", **kwargs)


def ack(request: OrderRequest, report) -> OrderRequest:
    return attrs.evolve(request, custodian_order_id=report.custodian_order_id)


def order_posts(sandbox) -> list[int]:
    return [s for m, p, s in sandbox.requests if m == "POST" and p.endswith("/orders")]


def test_registering_the_adapter_touches_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("SMARTX_CONFIG", str(tmp_path / "absent.toml"))
    for key in ("APP_KEY", "APP_SECRET", "TOKEN_FILE", "BASE_URL"):
        monkeypatch.delenv(f"SMARTX_SCHWAB_{key}", raising=False)
    import smartx_custodian_schwab

    registered = []
    smartx_custodian_schwab.register_custodians(registered.append)
    (adapter,) = registered
    assert isinstance(adapter, Custodian) and adapter.name == "schwab" and adapter.supports_blocks is False
    with pytest.raises(CustodianError, match=r"app_key, app_secret in the \[schwab\] table.*SMARTX_SCHWAB_APP_KEY"):
        adapter.accounts()


def test_settings_come_from_the_config_file_and_the_environment(sandbox, tmp_path):
    config = tmp_path / "config.toml"
    token = tmp_path / "secrets" / "token.json"
    config.write_text(f'[schwab]\napp_key = "{sandbox.app_key}"\napp_secret = "wrong"\n'
                      f'token_file = "{token}"\norders_per_minute = 7\n')
    environ = {"SMARTX_CONFIG": str(config), "SMARTX_SCHWAB_APP_SECRET": sandbox.app_secret,
               "SMARTX_SCHWAB_BASE_URL": sandbox.base_url}
    adapter = SchwabCustodian.from_settings(environ=environ)
    client = adapter.client
    assert (client.base_url, client.tokens.path, client.orders_per_minute) == (sandbox.base_url, token, 7)
    client.exchange_code(sandbox.authorization_code, "https://127.0.0.1/cb")
    assert {a.number for a in adapter.accounts()} == {"11112222", "33334444"}
    adapter.close()


def test_positions_carry_the_last_price_and_no_lots(custodian):
    account = {a.number: a for a in custodian.accounts()}[ACCOUNT]
    assert account.lots is None and account.registration is None
    assert {p.symbol: (p.quantity, p.price) for p in account.positions} == {
        "AGG": (Decimal(50), Decimal("98.00")), "VTI": (Decimal(120), Decimal("250.00"))}


def test_a_dropped_answer_is_pending_then_found_by_track(custodian, sandbox):
    sandbox.fail_next("drop")
    request = order("BND", "buy", "10")
    (report,) = custodian.submit([request])
    assert (report.status, report.custodian_order_id) == (OrderStatus.PENDING, None)
    assert "outcome unknown" in report.message
    found = custodian.track([request])[request.client_order_id]
    assert found is not None and found.custodian_order_id == str(next(iter(sandbox.orders)))
    assert found.status == OrderStatus.FILLED and found.filled_quantity == 10
    assert len(sandbox.orders) == 1 and len(order_posts(sandbox)) == 1


def test_a_500_on_placing_is_pending_and_track_says_it_never_arrived(custodian, sandbox):
    sandbox.fail_next("500")
    request = order("BND", "buy", "10")
    (report,) = custodian.submit([request])
    assert (report.status, report.custodian_order_id) == (OrderStatus.PENDING, None)
    assert custodian.track([request]) == {request.client_order_id: None}
    assert sandbox.orders == {} and order_posts(sandbox) == [500]


def test_matching_claims_each_schwab_order_once_earliest_first(request, sandbox, tmp_path):
    first, second, third = (order("BND", "buy", "5") for _ in range(3))
    placed = SchwabCustodian(connect(request, sandbox, tmp_path))
    reports = placed.submit([first, second])
    # A new process (the engine crashed): no memory of what was placed.
    fresh = SchwabCustodian(connect(request, sandbox, tmp_path))
    found = fresh.track([third, first, second])
    assert found[first.client_order_id].custodian_order_id == reports[0].custodian_order_id
    assert found[second.client_order_id].custodian_order_id == reports[1].custodian_order_id
    assert found[third.client_order_id] is None
    # An acknowledged order in the same call claims its Schwab order.
    again = fresh.track([ack(first, reports[0]), third])
    assert again[third.client_order_id].custodian_order_id == reports[1].custodian_order_id


def test_an_order_entered_long_before_it_was_recorded_is_not_a_match(request, sandbox, tmp_path):
    (report,) = SchwabCustodian(connect(request, sandbox, tmp_path)).submit([order("BND", "buy", "5")])
    later = attrs.evolve(order("BND", "buy", "5"), placed_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6))
    assert SchwabCustodian(connect(request, sandbox, tmp_path)).track([later]) == {later.client_order_id: None}
    other_fields = [order("BND", "sell", "5"), order("BND", "buy", "6"), order("AGG", "buy", "5")]
    assert set(SchwabCustodian(connect(request, sandbox, tmp_path)).track(other_fields).values()) == {None}


def test_a_429_is_retried_by_submit_and_a_500_by_track(custodian, sandbox, fake_time):
    sandbox.fail_next("429", retry_after=3)
    request = order("BND", "buy", "2")
    (report,) = custodian.submit([request])
    assert report.status == OrderStatus.SUBMITTED and fake_time.sleeps == [3.0]
    assert order_posts(sandbox) == [429, 201] and len(sandbox.orders) == 1
    sandbox.fail_next("500", times=2)
    tracked = custodian.track([ack(request, report)])[request.client_order_id]
    assert tracked.status == OrderStatus.FILLED and fake_time.sleeps == [3.0, 0.01, 0.02]


def test_a_500_while_matching_is_retried(custodian, sandbox, fake_time):
    sandbox.fail_next("drop")
    request = order("AGG", "sell", "7")
    custodian.submit([request])
    sandbox.fail_next("500")
    assert custodian.track([request])[request.client_order_id].filled_quantity == 7
    assert fake_time.sleeps == [0.01]


def test_a_partial_fill_is_partially_filled(custodian, sandbox):
    sandbox.fail_next("partial", fraction="0.4")
    request = order("VTI", "sell", "10")
    (report,) = custodian.submit([request])
    tracked = custodian.track([ack(request, report)])[request.client_order_id]
    assert tracked.status == OrderStatus.PARTIALLY_FILLED and tracked.filled_quantity == 4
    (execution,) = tracked.executions
    state = sandbox.orders[int(report.custodian_order_id)]
    activity = state["orderActivityCollection"][0]
    assert execution.execution_id == f"{activity['activityId']}-1"
    assert (execution.quantity, execution.price) == (Decimal(4), Decimal("250.25"))
    executed_at = dt.datetime.fromisoformat(activity["executionLegs"][0]["time"])
    assert execution.on == executed_at.astimezone(ZoneInfo("America/New_York")).date()
    cancelled = custodian.cancel(ack(request, report))
    assert cancelled.status == OrderStatus.CANCELLED and cancelled.filled_quantity == 4


def test_a_reject_fault_is_rejected_with_schwabs_message(custodian, sandbox):
    sandbox.fail_next("reject")
    request = order("BND", "buy", "1")
    (report,) = custodian.submit([request])
    tracked = custodian.track([ack(request, report)])[request.client_order_id]
    assert tracked.status == OrderStatus.REJECTED and "rejected on request" in tracked.message


def test_a_refused_order_is_rejected_at_submit(custodian, sandbox):
    (report,) = custodian.submit([order("ZZZZ", "buy", "1")])
    assert (report.status, report.custodian_order_id) == (OrderStatus.REJECTED, None)
    assert "HTTP 400: unknown symbol ZZZZ" in report.message


def test_an_account_not_linked_is_rejected_without_sending(custodian, sandbox):
    (report,) = custodian.submit([order("BND", "buy", "1", account="99999999")])
    assert report.status == OrderStatus.REJECTED and "not linked" in report.message
    assert order_posts(sandbox) == []


def test_a_fractional_quantity_is_rejected_without_a_request(custodian, sandbox):
    seen = len(sandbox.requests)
    (report,) = custodian.submit([order("BND", "buy", "2.5")])
    assert report.status == OrderStatus.REJECTED and "whole number" in report.message
    assert len(sandbox.requests) == seen


def test_cancel_of_a_working_limit_order(custodian, sandbox):
    # The adapter sends market orders; a working order is placed through the client directly.
    account_hash = sandbox.hash_of(ACCOUNT)
    from smartx_custodian_schwab.client import equity_order

    order_id = custodian.client.place_order(account_hash, equity_order("BND", "BUY", 3, limit_price=Decimal("70")))
    request = attrs.evolve(order("BND", "buy", "3"), custodian_order_id=str(order_id))
    assert custodian.track([request])[request.client_order_id].status == OrderStatus.SUBMITTED
    cancelled = custodian.cancel(request)
    assert (cancelled.status, cancelled.custodian_order_id, cancelled.executions) == (
        OrderStatus.CANCELLED, str(order_id), ())
    assert sandbox.orders[order_id]["status"] == "CANCELED"


def test_cancel_of_a_filled_order_reports_it_filled(custodian):
    request = order("BND", "buy", "3")
    (report,) = custodian.submit([request])
    done = custodian.cancel(ack(request, report))
    assert done.status == OrderStatus.FILLED and "not cancelled" in done.message


def test_cancel_of_an_order_never_sent_is_an_error(custodian):
    with pytest.raises(CustodianError, match="never reached Schwab"):
        custodian.cancel(order("BND", "buy", "3"))


def test_a_revoked_access_token_is_refreshed_during_track(custodian, sandbox, tmp_path):
    request = order("BND", "buy", "4")
    (report,) = custodian.submit([request])
    before = json.loads((tmp_path / "secrets" / "schwab-token.json").read_text())
    sandbox.revoke_access_tokens()
    tracked = custodian.track([ack(request, report)])[request.client_order_id]
    assert tracked.status == OrderStatus.FILLED
    assert [s for m, p, s in sandbox.requests if m == "GET" and "/orders/" in p] == [401, 200]
    assert json.loads((tmp_path / "secrets" / "schwab-token.json").read_text()) != before


def test_transactions_after_fills(custodian):
    buy, sell = order("BND", "buy", "10"), order("VTI", "sell", "20")
    reports = custodian.submit([buy, sell])
    tracked = custodian.track([ack(q, r) for q, r in zip([buy, sell], reports)])
    today = tracked[buy.client_order_id].executions[0].on
    posted = custodian.transactions(ACCOUNT, today - dt.timedelta(days=1), today + dt.timedelta(days=1))
    assert [(t.type, t.symbol, t.quantity, t.order_id) for t in posted] == [
        (TransactionType.BUY, "BND", Decimal(10), reports[0].custodian_order_id),
        (TransactionType.SELL, "VTI", Decimal(20), reports[1].custodian_order_id)]
    bought, sold = posted
    assert bought.amount == -(10 * bought.price) and bought.price == Decimal("72.57")
    assert sold.amount == 20 * sold.price and sold.date == today
    assert len({t.transaction_id for t in posted}) == 2
    assert custodian.transactions(ACCOUNT, today + dt.timedelta(days=2), today + dt.timedelta(days=9)) == []


def record(type_: str, net: str, *items: TransferItem, status: str = "VALID") -> TransactionRecord:
    return TransactionRecord(activity_id=7, time="2026-03-02T03:30:00+0000", type=type_, status=status,
                             order_id=None, net_amount=Decimal(net), items=items,
                             trade_date="2026-03-02T03:30:00+0000")


def item(symbol: str, amount: str, cost: str, price: str | None = None, fee: str | None = None,
         asset: str = "EQUITY") -> TransferItem:
    return TransferItem(symbol, asset, Decimal(amount), Decimal(cost), None if price is None else Decimal(price),
                        fee, None)


FEE_LEG = item("CURRENCY_USD", "0.65", "-0.65", fee="COMMISSION", asset="CURRENCY")


@pytest.mark.parametrize(("schwab", "expected"), [
    (record("TRADE", "-1850.65", FEE_LEG, item("AAPL", "10", "-1850", "185")),
     (TransactionType.BUY, "AAPL", Decimal(10), Decimal(185))),
    (record("TRADE", "1849.35", FEE_LEG, item("AAPL", "-10", "1850", "185")),
     (TransactionType.SELL, "AAPL", Decimal(10), Decimal(185))),
    (record("DIVIDEND_OR_INTEREST", "12.34", item("VTI", "12.34", "0")), (TransactionType.DIVIDEND, "VTI", None, None)),
    (record("DIVIDEND_OR_INTEREST", "-3.10", item("VEA", "-3.10", "0")), (TransactionType.FEE, None, None, None)),
    (record("ACH_RECEIPT", "5000"), (TransactionType.DEPOSIT, None, None, None)),
    (record("WIRE_OUT", "-2500"), (TransactionType.WITHDRAWAL, None, None, None)),
    (record("JOURNAL", "-25", FEE_LEG), (TransactionType.FEE, None, None, None)),
    (record("ELECTRONIC_FUND", "100"), (TransactionType.DEPOSIT, None, None, None)),
])
def test_schwab_transaction_types_map_to_the_engines(schwab, expected):
    mapped = transaction(schwab)
    assert (mapped.type, mapped.symbol, mapped.quantity, mapped.price) == expected
    assert mapped.amount == schwab.net_amount and mapped.transaction_id == "7"
    assert mapped.date == dt.date(2026, 3, 1)  # 03:30 UTC is the evening before in New York


@pytest.mark.parametrize("schwab", [
    record("DIVIDEND_OR_INTEREST", "0.42", item("CURRENCY_USD", "0.42", "0", asset="CURRENCY")),  # cash interest
    record("RECEIVE_AND_DELIVER", "0", item("AAPL", "100", "0")),
    record("MEMORANDUM", "0"), record("MONEY_MARKET", "10"), record("SMA_ADJUSTMENT", "0"),
    record("ACH_RECEIPT", "5000", status="INVALID"), record("JOURNAL", "0"),
    record("TRADE", "-10", FEE_LEG),
])
def test_unmappable_transactions_are_skipped(schwab):
    assert transaction(schwab) is None


# -- smartx schwab login ----------------------------------------------------------------------------


@pytest.fixture
def login_env(sandbox, tmp_path, monkeypatch):
    token = tmp_path / "secrets" / "token.json"
    monkeypatch.setenv("SMARTX_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("SMARTX_SCHWAB_APP_KEY", sandbox.app_key)
    monkeypatch.setenv("SMARTX_SCHWAB_APP_SECRET", sandbox.app_secret)
    monkeypatch.setenv("SMARTX_SCHWAB_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("SMARTX_SCHWAB_TOKEN_FILE", str(token))
    return token


def test_login_prints_the_authorize_url(login_env, sandbox):
    result = CliRunner().invoke(schwab_command, ["login", "--redirect-uri", "https://127.0.0.1:8182"])
    assert result.exit_code == 0, result.output
    assert f"{sandbox.base_url}/v1/oauth/authorize?response_type=code&client_id=sandbox-app-key" in result.output
    assert "--code" in result.output and not login_env.exists()


@pytest.mark.parametrize("code", ["sandbox-code", "https://127.0.0.1:8182/?code=sandbox-code&session=abc"])
def test_login_with_a_code_writes_the_token_file(login_env, code):
    result = CliRunner().invoke(schwab_command, ["login", "--code", code, "--redirect-uri", "https://127.0.0.1:8182"])
    assert result.exit_code == 0, result.output
    assert f"token saved to {login_env}" in result.output and "11112222" in result.output
    assert stat.S_IMODE(login_env.stat().st_mode) == 0o600


def test_login_errors_are_clear(login_env, monkeypatch):
    result = CliRunner().invoke(schwab_command, ["login", "--code", "bad", "--redirect-uri", "https://127.0.0.1:8182"])
    assert result.exit_code == 1 and "Error: " in result.output and "bad code" in result.output
    assert "Traceback" not in result.output
    monkeypatch.delenv("SMARTX_SCHWAB_APP_KEY")
    result = CliRunner().invoke(schwab_command, ["login", "--redirect-uri", "https://127.0.0.1:8182"])
    assert result.exit_code == 1 and "SMARTX_SCHWAB_APP_KEY" in result.output
    result = CliRunner().invoke(schwab_command, ["login"])
    assert result.exit_code != 0 and "--redirect-uri" in result.output


def test_long_transaction_ranges_are_asked_for_in_windows(custodian, sandbox):
    custodian.submit([order("BND", "buy", "1")])
    today = dt.date.today()
    seen = len(sandbox.requests)
    posted = custodian.transactions(ACCOUNT, today - dt.timedelta(days=400), today + dt.timedelta(days=1))
    assert [t.symbol for t in posted] == ["BND"]
    path = f"/trader/v1/accounts/{sandbox.hash_of(ACCOUNT)}/transactions"
    assert [p for m, p, s in sandbox.requests[seen:]].count(path) == 5  # 402 days in windows of 90


def test_a_full_page_of_transactions_is_split(custodian, sandbox, monkeypatch):
    import smartx_custodian_schwab.custodian as module

    monkeypatch.setattr(module, "MAX_TRANSACTION_ROWS", 1)
    custodian.submit([order("BND", "buy", "1")])
    today = dt.date.today()
    with pytest.raises(CustodianError, match="its maximum: some may be missing"):
        custodian.transactions(ACCOUNT, today - dt.timedelta(days=3), today + dt.timedelta(days=3))
