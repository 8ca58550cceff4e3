"""``smartx schwab``: command-line tools of the Schwab plugin (``smartx schwab sandbox``, ``login``)."""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import click

from smartx_engine import CustodianError, DataError, plugin_settings

DEFAULT_SEED: dict[str, Any] = {
    "accounts": {
        "12345678": {"type": "CASH", "cash": "10000.00",
                     "positions": {"AAPL": {"quantity": 100, "average_price": "150.25", "last_price": "175.00"},
                                   "VTI": {"quantity": 40, "average_price": "201.33", "last_price": "239.10"}}},
        "87654321": {"type": "MARGIN", "cash": "2500.00",
                     "positions": {"AGG": {"quantity": 50, "average_price": "101.07", "last_price": "98.51"}}},
    },
    "prices": {"MSFT": "410.00", "BND": "72.40"},
}


@click.group(name="schwab")
def schwab() -> None:
    """Charles Schwab custodian tools (the smartx-custodian-schwab plugin)."""


@schwab.command(name="sandbox")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 to listen on; 0 picks a free one (the URL is printed).")
@click.option("--seed", "seed_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file of accounts (and prices) to serve instead of the built-in demo data.")
def sandbox_command(port: int, seed_file: Path | None) -> None:
    """Run the loopback Schwab Trader API sandbox in the foreground until Ctrl-C.

    It serves the OAuth token endpoint (/v1/oauth/token) and the Trader API (/trader/v1) on
    127.0.0.1 only, with deterministic fills. The base URL, app credentials and authorization
    code are printed at start; point the client at them with SMARTX_SCHWAB_BASE_URL,
    SMARTX_SCHWAB_APP_KEY and SMARTX_SCHWAB_APP_SECRET.

    The seed file is JSON: {"accounts": {NUMBER: {"type": "CASH" | "MARGIN", "cash": "10000.00",
    "positions": {SYMBOL: {"quantity": 100, "average_price": "150.25", "last_price": "175.00"}}}},
    "prices": {SYMBOL: "410.00"}}.

    \b
    Examples:
      smartx schwab sandbox                      a free port, built-in demo accounts
      smartx schwab sandbox --port 8182          a fixed port
      smartx schwab sandbox --seed seed.json     your own accounts and prices
    """
    from .sandbox import SchwabSandbox

    accounts, prices = _read_seed(seed_file) if seed_file else (DEFAULT_SEED["accounts"], DEFAULT_SEED["prices"])
    try:
        epoch = dt.datetime.now(dt.UTC).replace(microsecond=0)  # times start now: windows from the real clock work
        sandbox = SchwabSandbox(accounts, prices=prices, port=port, epoch=epoch)
    except InvalidOperation:
        raise DataError(f"{seed_file}: not a valid sandbox seed: a cash, quantity or price is not a number") from None
    except KeyError as exc:
        raise DataError(f"{seed_file}: not a valid sandbox seed: a position lacks the field {exc}") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise DataError(f"{seed_file}: not a valid sandbox seed: {exc}") from None
    try:
        sandbox.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    previous = signal.signal(signal.SIGTERM, _interrupt)  # before the first line: an early SIGTERM stops cleanly
    try:
        click.echo(f"Schwab sandbox listening on {sandbox.base_url} (Ctrl-C to stop)")
        click.echo(f"  app key: {sandbox.app_key}   app secret: {sandbox.app_secret}"
                   f"   authorization code: {sandbox.authorization_code}")
        for hash_, account in sandbox.accounts.items():
            click.echo(f"  account {account.number} ({account.type}): hash {hash_}")
        click.echo(f"  export SMARTX_SCHWAB_BASE_URL={sandbox.base_url}")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: both end the command cleanly, exit 0
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
    click.echo("Schwab sandbox stopped.")


@schwab.command(name="login")
@click.option("--redirect-uri", help="The callback URL registered with your Schwab app "
              "(default: the redirect_uri setting).")
@click.option("--code", help="The authorization code from the callback URL, or the whole URL Schwab "
              "redirected the browser to.")
def schwab_login(redirect_uri: str | None, code: str | None) -> None:
    """Log in to Schwab: print the authorize URL, or exchange its code for a token file.

    Without --code, print the URL to open in a browser. After logging in there, Schwab redirects
    to the callback URL with ?code=...; run the command again with --code (the code, or the
    whole URL) to write the token file (mode 0600, outside any git work tree). Refresh tokens last
    7 days: log in again before then.

    Settings come from the [schwab] table of the smartx config file (SMARTX_CONFIG, default
    ~/.config/smartx/config.toml), overridden by SMARTX_SCHWAB_APP_KEY, SMARTX_SCHWAB_APP_SECRET,
    SMARTX_SCHWAB_TOKEN_FILE, SMARTX_SCHWAB_BASE_URL and SMARTX_SCHWAB_REDIRECT_URI.

    \b
    Examples:
      smartx schwab login --redirect-uri https://127.0.0.1:8182
      smartx schwab login --redirect-uri https://127.0.0.1:8182 \\
          --code 'https://127.0.0.1:8182/?code=C0.b2F...%40&session=...'
    """
    from .client import REFRESH_TOKEN_LIFETIME, SchwabClient

    try:
        settings = plugin_settings("schwab")
        redirect_uri = redirect_uri or settings.get("redirect_uri")
        if not redirect_uri:
            raise click.UsageError("give --redirect-uri: the callback URL registered with your Schwab app "
                                   "(or set redirect_uri in the [schwab] table, or SMARTX_SCHWAB_REDIRECT_URI)")
        with SchwabClient.from_settings(settings) as client:
            if code is None:
                click.echo("Open this URL in a browser and log in to Schwab:")
                click.echo(f"  {client.authorize_url(redirect_uri)}")
                click.echo("Schwab then redirects to the callback URL with ?code=...; run:")
                click.echo(f"  smartx schwab login --redirect-uri {redirect_uri} --code 'THE WHOLE URL'")
                return
            client.exchange_code(_authorization_code(code), redirect_uri)
            linked = [a.account_number for a in client.account_numbers()]
    except (CustodianError, DataError) as exc:
        raise click.ClickException(str(exc)) from None
    renew = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=REFRESH_TOKEN_LIFETIME)
    click.echo(f"Logged in to Schwab; token saved to {client.tokens.path} (mode 0600).")
    click.echo(f"  linked accounts: {', '.join(linked) or 'none'}")
    click.echo(f"  the refresh token lasts 7 days: log in again before {renew:%Y-%m-%d %H:%M} UTC")


def _authorization_code(given: str) -> str:
    """The code itself, from a bare (possibly URL-encoded) code or the whole callback URL."""
    given = given.strip()
    if "://" in given or given.startswith("?"):
        codes = parse_qs(urlsplit(given).query).get("code")
        if not codes:
            raise click.ClickException(f"the URL has no code=... parameter: {given}")
        return codes[-1]
    return unquote(given)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _read_seed(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the seed file: {exc}") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}:{exc.colno}: error: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: the seed must be a JSON object with an \"accounts\" object")
    accounts = data.get("accounts", data if "prices" not in data else None)
    prices = data.get("prices", {})
    if not isinstance(accounts, dict) or not accounts or not isinstance(prices, dict):
        raise DataError(f"{path}: the seed needs a non-empty \"accounts\" object"
                        " (and \"prices\", if given, must be an object)")
    for number, account in accounts.items():
        if not isinstance(account, dict) or not isinstance(account.get("positions", {}), dict):
            raise DataError(f"{path}: account {number!r} must be an object whose \"positions\" is an object")
    return accounts, prices
