"""The Schwab plugin's client against its loopback sandbox, over real HTTP on 127.0.0.1.

The plugin's tests live here because the README's test command (`pytest`, testpaths = tests)
does not collect plugins/*/tests.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from smartx_custodian_schwab.client import (
    OrderOutcomeUnknown,
    RetryPolicy,
    SchwabClient,
    equity_order,
)
from smartx_custodian_schwab.sandbox import SchwabSandbox, account_hash

from smartx_engine import CustodianError

SEED = {
    "12345678": {"type": "CASH", "cash": "10000.00",
                 "positions": {"AAPL": {"quantity": 100, "average_price": "150.25", "last_price": "175.00"},
                               "VTI": {"quantity": "12.5", "average_price": "201.10", "last_price": "250.37"}}},
    "87654321": {"type": "MARGIN", "cash": "2500.55", "positions": {}},
}
CASH_HASH = account_hash("12345678")
MARGIN_HASH = account_hash("87654321")
JAN = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))


class FakeTime:
    """A clock tests move by hand, and a sleep that records instead of waiting."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def sandbox():
    with SchwabSandbox(SEED, prices={"MSFT": "410.00"}) as running:
        yield running


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def token_path(tmp_path):
    return tmp_path / "secrets" / "schwab-token.json"


@pytest.fixture
def make_client(sandbox, token_path, fake_time):
    clients = []

    def make(**kwargs) -> SchwabClient:
        kwargs.setdefault("retry", RetryPolicy(attempts=4, base_delay=0.01, timeout=0.5))
        client = SchwabClient(sandbox.base_url, app_key=sandbox.app_key, app_secret=sandbox.app_secret,
                              token_path=token_path, sleep=fake_time.sleep, clock=fake_time.clock, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client, sandbox):
    client = make_client()
    client.exchange_code(sandbox.authorization_code, "https://127.0.0.1:8182/callback")
    return client


def token_requests(sandbox) -> int:
    return sum(1 for method, path, _ in sandbox.requests if path == "/v1/oauth/token")


# -- OAuth and the token file ---------------------------------------------------------------------


def test_login_saves_the_token_pair_owner_only(client, token_path):
    assert stat.S_IMODE(token_path.stat().st_mode) == 0o600
    saved = json.loads(token_path.read_text())
    assert saved["access_token"].startswith("sandbox-access-")
    assert saved["refresh_token"].startswith("sandbox-refresh-")


def test_an_access_token_near_expiry_is_refreshed_and_the_new_pair_saved(client, sandbox, token_path, fake_time):
    old = json.loads(token_path.read_text())
    fake_time.now += 1800 - 299  # inside the 300 s leeway
    assert [a.hash_value for a in client.account_numbers()] == [CASH_HASH, MARGIN_HASH]
    assert token_requests(sandbox) == 2
    new = json.loads(token_path.read_text())
    assert new["access_token"] != old["access_token"] and new["refresh_token"] != old["refresh_token"]
    assert stat.S_IMODE(token_path.stat().st_mode) == 0o600


def test_a_fresh_token_is_not_refreshed(client, sandbox, fake_time):
    fake_time.now += 1800 - 301
    client.account_numbers()
    assert token_requests(sandbox) == 1


def test_a_rejected_access_token_is_refreshed_once_on_401(client, sandbox):
    sandbox.revoke_access_tokens()
    assert len(client.account_numbers()) == 2
    assert [s for m, p, s in sandbox.requests if p.endswith("accountNumbers")] == [401, 200]
    assert token_requests(sandbox) == 2


def test_a_saved_token_is_reused_by_a_new_client(client, make_client, sandbox):
    assert len(make_client().account_numbers()) == 2
    assert token_requests(sandbox) == 1


def test_an_expired_refresh_token_asks_for_a_new_login(client, fake_time):
    fake_time.now += 7 * 24 * 3600 + 1
    with pytest.raises(CustodianError, match="refresh token has expired"):
        client.account_numbers()


def test_a_world_readable_token_file_is_refused(client, make_client, token_path):
    os.chmod(token_path, 0o644)
    with pytest.raises(CustodianError, match=r"mode 0644.*chmod 600"):
        make_client().account_numbers()


def test_a_token_file_inside_a_git_work_tree_is_refused(make_client, tmp_path, sandbox):
    (tmp_path / ".git").mkdir()
    with pytest.raises(CustodianError, match="inside a git work tree"):
        make_client()


def test_without_a_token_file_the_client_says_to_log_in(make_client):
    with pytest.raises(CustodianError, match="log in first"):
        make_client().account_numbers()


def test_bad_app_credentials_are_a_custodian_error(sandbox, token_path):
    bad = SchwabClient(sandbox.base_url, app_key="wrong", app_secret="x", token_path=token_path)
    with bad, pytest.raises(CustodianError, match=r"oauth/token: HTTP 401: bad client credentials"):
        bad.exchange_code(sandbox.authorization_code, "https://127.0.0.1/cb")


def test_from_env_requires_the_app_credentials(tmp_path):
    with pytest.raises(CustodianError, match="SMARTX_SCHWAB_APP_KEY, SMARTX_SCHWAB_APP_SECRET"):
        SchwabClient.from_env({})
    env = {"SMARTX_SCHWAB_APP_KEY": "k", "SMARTX_SCHWAB_APP_SECRET": "s",
           "SMARTX_SCHWAB_TOKEN_FILE": str(tmp_path / "t.json")}
    with SchwabClient.from_env(env) as configured:
        assert configured.base_url == "https://api.schwabapi.com"
        assert configured.tokens.path == tmp_path / "t.json"


# -- accounts, positions, balances, transactions --------------------------------------------------


def test_account_numbers_map_to_hashes(client):
    assert [(a.account_number, a.hash_value) for a in client.account_numbers()] == [
        ("12345678", CASH_HASH), ("87654321", MARGIN_HASH)]


def test_positions_and_balances_are_exact_decimals(client):
    account = client.account(CASH_HASH)
    assert (account.account_number, account.type) == ("12345678", "CASH")
    assert account.balances.cash == Decimal("10000.00")
    assert account.balances.liquidation_value == Decimal("10000.00") + Decimal("17500.00") + Decimal("3129.625")
    aapl, vti = account.positions
    assert (aapl.symbol, aapl.asset_type, aapl.quantity, aapl.average_price, aapl.market_value) == (
        "AAPL", "EQUITY", Decimal(100), Decimal("150.25"), Decimal("17500.00"))
    assert (vti.quantity, vti.average_price, vti.market_value) == (
        Decimal("12.5"), Decimal("201.10"), Decimal("3129.63"))
    for value in (aapl.quantity, aapl.average_price, vti.market_value, account.balances.cash):
        assert type(value) is Decimal


def test_a_margin_account_reads_cash_from_current_cash_balance(client):
    margin = client.account(MARGIN_HASH)
    assert (margin.type, margin.balances.cash, margin.positions) == ("MARGIN", Decimal("2500.55"), ())
    assert [a.account_number for a in client.accounts()] == ["12345678", "87654321"]


def test_a_short_position_nets_to_a_negative_quantity_and_cost_uses_the_tax_lot_price(client, sandbox):
    body = {"securitiesAccount": {"type": "MARGIN", "accountNumber": "87654321",
                                  "currentBalances": {"cashBalance": 0}, "initialBalances": {"cashBalance": 5},
                                  "positions": [{"longQuantity": 0, "shortQuantity": 30, "averagePrice": 10.5,
                                                 "taxLotAverageLongPrice": 0,
                                                 "instrument": {"symbol": "XYZ", "assetType": "EQUITY"}}]}}
    sandbox.fail_next("body", body=json.dumps(body).encode())
    account = client.account(MARGIN_HASH)
    assert account.balances.cash == 0  # currentBalances wins even when zero
    (short,) = account.positions
    assert (short.quantity, short.average_price) == (Decimal(-30), Decimal(0))


def test_an_unknown_account_hash_is_a_custodian_error(client):
    with pytest.raises(CustodianError, match=r"GET /trader/v1/accounts/\{accountHash\}: HTTP 404"):
        client.account("12345678")  # the plain number, not the hash


def test_fills_show_up_in_transactions_positions_and_cash(client):
    order_id = client.place_order(CASH_HASH, equity_order("AAPL", "SELL", 10))
    (trade,) = client.transactions(CASH_HASH, *JAN)
    assert (trade.type, trade.order_id, trade.net_amount) == ("TRADE", order_id, Decimal("1751.80"))
    (leg,) = trade.items
    assert (leg.symbol, leg.amount, leg.cost, leg.price, leg.position_effect) == (
        "AAPL", Decimal(-10), Decimal("1751.80"), Decimal("175.18"), "CLOSING")
    account = client.account(CASH_HASH)
    assert account.positions[0].quantity == Decimal(90)
    assert account.balances.cash == Decimal("11751.80")
    assert client.transactions(CASH_HASH, *JAN, types=["DIVIDEND_OR_INTEREST"]) == []


# -- orders ----------------------------------------------------------------------------------------


def test_place_order_returns_the_id_from_location_and_market_orders_fill_on_a_price_path(client, sandbox):
    first = client.place_order(CASH_HASH, equity_order("MSFT", "BUY", 5))
    second = client.place_order(CASH_HASH, equity_order("MSFT", "BUY", 3))
    assert sorted(sandbox.orders) == [first, second]
    order = client.get_order(CASH_HASH, first)
    assert (order.status, order.symbol, order.instruction) == ("FILLED", "MSFT", "BUY")
    assert (order.quantity, order.filled_quantity, order.remaining_quantity) == (5, 5, 0)
    assert [(e.quantity, e.price) for e in order.executions] == [(Decimal(5), Decimal("410.41"))]
    assert client.get_order(CASH_HASH, second).average_fill_price == Decimal("410.82")  # 410.41 × 1.001


def test_a_limit_order_away_from_the_market_works_and_can_be_canceled(client):
    order_id = client.place_order(CASH_HASH, equity_order("MSFT", "BUY", 5, limit_price=Decimal("400.00")))
    working = client.get_order(CASH_HASH, order_id)
    assert (working.status, working.filled_quantity, working.executions) == ("WORKING", 0, ())
    client.cancel_order(CASH_HASH, order_id)
    assert client.get_order(CASH_HASH, order_id).status == "CANCELED"
    with pytest.raises(CustodianError, match="HTTP 400: order .* is CANCELED and cannot be canceled"):
        client.cancel_order(CASH_HASH, order_id)


def test_a_partial_fill_stays_working_with_its_executions(client, sandbox):
    sandbox.fail_next("partial", fraction="0.4")
    order = client.get_order(CASH_HASH, client.place_order(CASH_HASH, equity_order("AAPL", "BUY", 10)))
    assert (order.status, order.filled_quantity, order.remaining_quantity) == ("WORKING", 4, 6)
    assert order.partially_filled and order.average_fill_price == Decimal("175.18")
    client.cancel_order(CASH_HASH, order.order_id)
    assert client.get_order(CASH_HASH, order.order_id).status == "CANCELED"


def test_rejections_carry_a_status_description(client, sandbox):
    sandbox.fail_next("reject")
    rejected = client.get_order(CASH_HASH, client.place_order(CASH_HASH, equity_order("AAPL", "BUY", 1)))
    assert (rejected.status, rejected.executions) == ("REJECTED", ())
    assert "rejected on request" in rejected.status_description
    oversold = client.get_order(CASH_HASH, client.place_order(CASH_HASH, equity_order("AAPL", "SELL", 101)))
    assert oversold.status == "REJECTED" and "exceeds the 100 held" in oversold.status_description


def test_orders_lists_the_accounts_orders_in_a_window(client):
    ids = [client.place_order(CASH_HASH, equity_order("MSFT", "BUY", q)) for q in (1, 2)]
    assert [o.order_id for o in client.orders(CASH_HASH, *JAN)] == ids
    assert client.orders(MARGIN_HASH, *JAN) == []


def test_equity_orders_send_prices_as_strings_and_whole_quantities():
    order = equity_order("VTI", "SELL", Decimal(40), limit_price=Decimal("250.10"), tax_lot_method="HIGH_COST")
    assert order["price"] == "250.10" and order["orderLegCollection"][0]["quantity"] == 40
    assert order["taxLotMethod"] == "HIGH_COST"
    with pytest.raises(ValueError, match="whole number"):
        equity_order("VTI", "BUY", Decimal("1.5"))


# -- retries and faults -----------------------------------------------------------------------------


def test_429_is_retried_after_the_retry_after_delay(client, sandbox, fake_time):
    sandbox.fail_next("429", times=2, retry_after=3)
    assert len(client.account_numbers()) == 2
    assert fake_time.sleeps == [3.0, 3.0]
    assert [s for m, p, s in sandbox.requests if p.endswith("accountNumbers")] == [429, 429, 200]


def test_500_is_retried_with_exponential_backoff(client, sandbox, fake_time):
    sandbox.fail_next("500", times=2)
    assert client.account(CASH_HASH).balances.cash == Decimal("10000.00")
    assert fake_time.sleeps == [0.01, 0.02]


def test_retries_are_bounded(client, sandbox, fake_time):
    sandbox.fail_next("500", times=10)
    with pytest.raises(CustodianError, match=r"accountNumbers: HTTP 500, gave up after 4 tries"):
        client.account_numbers()
    assert len(fake_time.sleeps) == 3


def test_a_timeout_is_retried(make_client, sandbox, fake_time):
    client = make_client(retry=RetryPolicy(attempts=3, base_delay=0.01, timeout=0.2))
    client.exchange_code(sandbox.authorization_code, "https://127.0.0.1/cb")
    sandbox.fail_next("timeout", delay=1.0)
    assert len(client.account_numbers()) == 2
    assert fake_time.sleeps == [0.01]


def test_a_throttled_order_is_retried_and_placed_once(client, sandbox, fake_time):
    sandbox.fail_next("429", retry_after=2)
    order_id = client.place_order(CASH_HASH, equity_order("MSFT", "BUY", 1))
    assert list(sandbox.orders) == [order_id] and fake_time.sleeps == [2.0]


@pytest.mark.parametrize("fault", ["drop", "500"])
def test_an_order_whose_answer_is_lost_is_not_resent(client, sandbox, fault):
    sandbox.fail_next(fault)
    with pytest.raises(OrderOutcomeUnknown, match="reconcile before sending it again"):
        client.place_order(CASH_HASH, equity_order("MSFT", "BUY", 1))
    posts = [s for m, p, s in sandbox.requests if m == "POST" and p.endswith("/orders")]
    assert len(posts) == 1
    assert len(sandbox.orders) == (1 if fault == "drop" else 0)  # a drop happens after acceptance


def test_order_requests_respect_the_order_rate_limit(make_client, sandbox, fake_time):
    client = make_client(orders_per_minute=2)
    client.exchange_code(sandbox.authorization_code, "https://127.0.0.1/cb")
    for quantity in (1, 2, 3):
        client.place_order(CASH_HASH, equity_order("MSFT", "BUY", quantity))
    assert fake_time.sleeps == [60.0]


# -- malformed answers -------------------------------------------------------------------------------


def test_malformed_json_names_the_endpoint(client, sandbox):
    sandbox.fail_next("body", body=b'{"securitiesAccount": {"type": "CASH",')
    with pytest.raises(CustodianError, match=r"GET /trader/v1/accounts/\{accountHash\}: response is not valid JSON"):
        client.account(CASH_HASH)


def test_a_missing_field_names_the_endpoint_and_the_field(client, sandbox):
    body = {"securitiesAccount": {"type": "CASH", "accountNumber": "12345678",
                                  "currentBalances": {"totalCash": 1},
                                  "positions": [{"instrument": {"symbol": "AAPL", "assetType": "EQUITY"}}]}}
    sandbox.fail_next("body", body=json.dumps(body).encode())
    with pytest.raises(CustodianError, match=r"accounts/\{accountHash\}: missing field "
                                             r"securitiesAccount\.positions\[0\]\.longQuantity"):
        client.account(CASH_HASH)


def test_a_fill_without_a_price_names_the_execution_leg(client, sandbox):
    order_id = client.place_order(CASH_HASH, equity_order("MSFT", "BUY", 1))
    body = json.loads(json.dumps(sandbox.orders[order_id], default=str))
    del body["orderActivityCollection"][0]["executionLegs"][0]["price"]
    sandbox.fail_next("body", body=json.dumps(body).encode())
    with pytest.raises(CustodianError, match=r"missing field orderActivityCollection\[0\]\.executionLegs\[0\]\.price"):
        client.get_order(CASH_HASH, order_id)


def test_a_money_field_sent_as_a_boolean_is_refused(client, sandbox):
    sandbox.fail_next("body", body=b'[{"activityId": 1, "time": "t", "type": "TRADE", "netAmount": true}]')
    with pytest.raises(CustodianError, match=r"transactions: field \[0\]\.netAmount is not a number"):
        client.transactions(CASH_HASH, *JAN)
