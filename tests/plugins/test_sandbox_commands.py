"""The plugins' commands: ``smartx schwab sandbox``, ``smartx fidelity sandbox`` and ``simulate``.

They run the installed ``smartx`` executable, as an operator would.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import threading
from decimal import Decimal

import httpx
import pytest
from click.testing import CliRunner
from smartx_custodian_fidelity.files import OrderLine, read_results, write_orders

from smartx_engine import Side
from smartx_engine.cli import cli
from tests.support import BIN, run_smartx

URL = re.compile(r"listening on (http://127\.0\.0\.1:\d+\S*)")


def invoke(*args: str):
    """Run ``smartx ARGS`` in-process (quick); the click Result, stdout and stderr together."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def start(*args: str) -> tuple[subprocess.Popen, str, str]:
    """Start ``smartx ARGS`` and wait (at most 10 s) for its first line; the process, URL and that line."""
    proc = subprocess.Popen([str(BIN / "smartx"), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    timer = threading.Timer(10, proc.kill)  # never hang the suite on a sandbox that does not start
    timer.start()
    try:
        line = proc.stdout.readline()
    finally:
        timer.cancel()
    match = URL.search(line)
    if not match:
        proc.kill()
        pytest.fail(f"no URL printed: {line!r} {proc.communicate()}")
    return proc, match[1], line


def stop(proc: subprocess.Popen) -> str:
    """Terminate a sandbox as Ctrl-C would; it must exit cleanly. Returns the rest of its output."""
    proc.terminate()
    timer = threading.Timer(5, proc.kill)  # read through the pipes' buffers (communicate would skip what
    timer.start()                          # `start` buffered past the first line), never hanging
    try:
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.wait()
    finally:
        timer.cancel()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return out


def test_the_plugin_commands_are_on_the_command_line_and_their_hooks_listed():
    result = run_smartx("--help")
    assert re.search(r"^\s+schwab\s", result.stdout, re.MULTILINE) and re.search(r"^\s+fidelity\s", result.stdout, re.MULTILINE)
    plugins = {p["name"]: p["hooks"] for p in json.loads(run_smartx("plugins", "list", "--json").stdout)}
    assert "register_commands" in plugins["custodian_schwab"]
    assert {"register_commands", "register_custodians"} <= set(plugins["custodian_fidelity"])


def test_schwab_sandbox_serves_the_trader_api_until_stopped():
    proc, url, _ = start("schwab", "sandbox", "--port", "0")
    try:
        basic = base64.b64encode(b"sandbox-app-key:sandbox-app-secret").decode()
        token = httpx.post(f"{url}/v1/oauth/token", headers={"Authorization": f"Basic {basic}"},
                           data={"grant_type": "authorization_code", "code": "sandbox-code",
                                 "redirect_uri": "https://127.0.0.1/cb"}, timeout=5)
        assert token.status_code == 200, token.text
        numbers = httpx.get(f"{url}/trader/v1/accounts/accountNumbers", timeout=5,
                            headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert numbers.status_code == 200
        assert "12345678" in {a["accountNumber"] for a in numbers.json()}
    finally:
        out = stop(proc)
    assert "Schwab sandbox stopped." in out


def test_schwab_sandbox_serves_a_seed_file_and_refuses_a_bad_one(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"accounts": {"55554444": {"cash": "100.00", "positions": {}}}}))
    proc, _, _ = start("schwab", "sandbox", "--seed", str(seed))
    try:
        assert "account 55554444 (CASH)" in proc.stdout.readline() + proc.stdout.readline()
    finally:
        stop(proc)
    seed.write_text('{"accounts": {"1": {"cash": "lots"}}}')
    result = invoke("schwab", "sandbox", "--seed", str(seed))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "not a valid sandbox seed: a cash, quantity or price is not a number" in result.output


def test_fidelity_sandbox_serves_fdx_until_stopped():
    proc, url, _ = start("fidelity", "sandbox", "--port", "0")
    try:
        assert url.endswith("/fdx/v5")
        page = httpx.get(f"{url}/accounts", timeout=5)
        assert page.status_code == 200
        assert page.json()["accounts"][0]["investmentAccount"]["accountId"] == "5426873"
    finally:
        out = stop(proc)
    assert "FDX sandbox stopped." in out


def test_fidelity_simulate_executes_an_outbox_once(tmp_path):
    outbox, inbox = tmp_path / "outbox", tmp_path / "inbox"
    outbox.mkdir()
    write_orders(outbox, "b1", [OrderLine("o-1", "Z1", Side.BUY, "10", "VTI"),
                                OrderLine("o-2", "Z1", Side.SELL, "5", "NOPE")])
    prices = tmp_path / "prices.csv"
    prices.write_text("symbol,price\nVTI,239.10\n")
    args = ("fidelity", "simulate", str(outbox), str(inbox), "--prices", str(prices), "--trade-date", "2024-01-19")

    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "executions_orders_b1.csv" in result.output
    by_id = {e.client_order_id: e for e in read_results(inbox).executions}
    assert by_id["o-1"].status.value == "filled" and by_id["o-1"].average_price == Decimal("239.10")
    assert by_id["o-2"].status.value == "rejected"
    again = invoke(*args)
    assert again.exit_code == 0 and "Nothing to execute" in again.output


def test_fidelity_simulate_names_every_bad_price_line(tmp_path):
    (tmp_path / "outbox").mkdir()
    prices = tmp_path / "prices.csv"
    prices.write_text("symbol,price\nVTI,abc\nAGG,98.51,x\nVTI,-1\n")
    result = invoke("fidelity", "simulate", str(tmp_path / "outbox"), str(tmp_path / "inbox"), "--prices", str(prices))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"the prices file {prices} has 3 problem(s)" in result.output
    assert f"{prices}:2:2: error: price 'abc' is not a positive number" in result.output
    assert f"{prices}:3: error: expected 2 columns (symbol,price), found 3" in result.output
    assert f"{prices}:4:2: error: price '-1' is not a positive number" in result.output
    assert not (tmp_path / "inbox").exists()
