"""Exactly once under crashes: `smartx trades submit` killed (SIGKILL) at random points, then run again.

Each trial copies a database whose approved trades make several Schwab orders, starts a fresh
Schwab sandbox on loopback seeded with the same accounts, runs the real `smartx` executable and
kills it: after the sandbox has received a chosen number of orders (0 .. all) plus a random few
milliseconds, or at a random time from the start. Then `smartx trades submit` runs to the end and
`smartx trades sync` applies the fills. The sandbox must hold each engine order exactly once, and
the store must match it: every order filled with the sandbox's order id, positions and cash equal.
Trials: SMARTX_CRASH_TRIALS (default 30).
"""

import os
import random
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from smartx_engine.demo.seeds import custodian_seed
from smartx_engine.fixedpoint import MONEY, QUANTITY
from smartx_engine.store import Store

from ..support import BIN, SMALL_BOOK

schwab_client = pytest.importorskip("smartx_custodian_schwab.client")
schwab_sandbox = pytest.importorskip("smartx_custodian_schwab.sandbox")

TRIALS = int(os.environ.get("SMARTX_CRASH_TRIALS", "30"))
NUMBERS = {"SCH-1": "10000001", "SCH-2": "10000002"}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A database whose approved trades make Schwab orders, and no order yet."""
    directory = tmp_path_factory.mktemp("crash")
    db = directory / "template.db"
    rules = directory / "rules"
    rules.mkdir()
    shutil.copy(Path(__file__).parents[2] / "rules" / "balanced.policy", rules)
    (rules / "growth.policy").write_text('policy "growth" {\n  applies to sleeve.model == "GRO-80-20"\n'
                                         '  drift band absolute 4%\n  target cash 2% min 1%\n}\n')
    for args in (["init"], ["import", "book", str(SMALL_BOOK)],
                 ["--rules", str(rules), "rebalance", "--all", "--as-of", "2026-11-20"],
                 ["trades", "approve", "--run", "R-000001"]):
        subprocess.run([str(BIN / "smartx"), "--db", str(db), *args], check=True, capture_output=True, timeout=120)
    store = Store.open(db)
    with store.transaction():
        for account_id, number in NUMBERS.items():
            store.db.execute("update accounts set custodian_account = ? where account_id = ?", [number, account_id])
    store.close()
    return db


def _expected_orders(store: Store) -> int:
    """Net orders the approved Schwab trades make: one per account and security (no crossings here)."""
    return store.db.execute(
        "select count(*) from (select distinct t.account_id, t.symbol from trades t join accounts a using (account_id)"
        " where t.status = 'approved' and a.custodian = 'schwab')").fetchone()[0]


def _smartx(db: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "smartx"), "--db", str(db), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _placed(sandbox) -> int:
    return sum(1 for method, path, status in list(sandbox.requests) if method == "POST" and path.endswith("/orders"))


def _kill_at_random(process: subprocess.Popen, sandbox, rng: random.Random, orders: int, trial: int) -> str:
    """SIGKILL ``process`` at a point chosen for this trial; what point it was."""
    deadline = time.monotonic() + 60
    if trial % 3 == 2:  # a random time from the start: before, during or after recording
        delay = rng.uniform(0, 1.5)
        time.sleep(delay)
        point = f"{delay:.3f}s after start"
    else:
        wanted = rng.randint(0, orders)
        while _placed(sandbox) < wanted and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        jitter = rng.uniform(0, 0.02)
        time.sleep(jitter)
        point = f"after {wanted} order(s) placed + {jitter * 1000:.1f} ms"
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return point


def _engine_positions(store: Store, account_id: str) -> dict:
    return {r["symbol"]: QUANTITY.to_decimal(r["q"]) for r in store.db.query(
        "select symbol, sum(quantity_e6) as q from lots where account_id = ? group by symbol", [account_id])}


def test_a_killed_submit_never_sends_an_order_twice(template: Path, tmp_path: Path):
    rng = random.Random(20261205)
    figures = {"trials": 0, "killed": 0, "orders": 0}
    for trial in range(TRIALS):
        db = tmp_path / f"trial-{trial}.db"
        shutil.copy(template, db)
        store = Store.open(db)
        seed = custodian_seed(store, "schwab")
        expected = _expected_orders(store)
        store.close()
        # times from now: the adapter matches unacknowledged orders by fields and time window
        with schwab_sandbox.SchwabSandbox.from_contract_seed(seed, epoch=datetime.now(UTC)) as sandbox:
            token = tmp_path / f"token-{trial}.json"
            with schwab_client.SchwabClient(sandbox.base_url, app_key=sandbox.app_key, app_secret=sandbox.app_secret,
                                            token_path=token) as client:
                client.exchange_code(sandbox.authorization_code, "https://127.0.0.1/cb")
            env = {**os.environ, "SMARTX_CONFIG": str(tmp_path / "no-config.toml"),
                   "SMARTX_SCHWAB_BASE_URL": sandbox.base_url, "SMARTX_SCHWAB_APP_KEY": sandbox.app_key,
                   "SMARTX_SCHWAB_APP_SECRET": sandbox.app_secret, "SMARTX_SCHWAB_TOKEN_FILE": str(token)}
            process = _smartx(db, env, "trades", "submit", "--custodian", "schwab")
            point = _kill_at_random(process, sandbox, rng, expected, trial)
            figures["killed"] += process.returncode == -signal.SIGKILL
            for args in (("trades", "submit", "--custodian", "schwab"), ("trades", "sync", "--custodian", "schwab")):
                rerun = _smartx(db, env, *args)
                _, err = rerun.communicate(timeout=120)
                assert rerun.returncode == 0, f"trial {trial} ({point}): {' '.join(args)} failed: {err.decode()}"

            store = Store.open(db)
            orders = list(store.db.query("select * from orders where custodian = 'schwab'"))
            assert len(orders) == expected > 0, f"trial {trial} ({point}): {len(orders)} orders recorded"
            assert len(sandbox.orders) == len(orders), f"trial {trial} ({point}): an order was sent twice or lost"
            assert _placed(sandbox) == len(orders), f"trial {trial} ({point}): {_placed(sandbox)} placements"
            assert {o["status"] for o in orders} == {"filled"}, f"trial {trial} ({point})"
            assert sorted(int(o["custodian_order_id"]) for o in orders) == sorted(sandbox.orders)
            for order in orders:
                placed = sandbox.orders[int(order["custodian_order_id"])]
                leg = placed["orderLegCollection"][0]
                assert (leg["instrument"]["symbol"], leg["instruction"].lower(), leg["quantity"]) == (
                    order["symbol"], order["side"], QUANTITY.to_decimal(order["quantity_e6"]))
            for account_id, number in NUMBERS.items():
                held = sandbox.accounts[sandbox.hash_of(number)]
                assert _engine_positions(store, account_id) == {
                    s: p["quantity"] for s, p in held.positions.items() if p["quantity"]}, f"trial {trial} ({point})"
                cash = store.db.execute("select sum(amount_cents) from cash where account_id = ?", [account_id])
                assert MONEY.to_decimal(cash.fetchone()[0]) == held.cash.quantize(Decimal("0.01"))
            figures["trials"] += 1
            figures["orders"] += len(orders)
            store.close()
    print(f"\ncrash test: {figures['trials']} trials, {figures['killed']} submits killed by SIGKILL, "
          f"{figures['orders']} orders, each received exactly once")
    assert figures["killed"] >= TRIALS // 2
