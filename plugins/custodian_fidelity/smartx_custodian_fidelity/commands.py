"""``smartx fidelity``: command-line tools of the Fidelity plugin (FDX sandbox, file-drop simulator)."""

from __future__ import annotations

import csv
import datetime as dt
import signal
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from smartx_engine import DataError, Diagnostic


@click.group(name="fidelity")
def fidelity() -> None:
    """Fidelity custodian tools (the smartx-custodian-fidelity plugin)."""


@fidelity.command(name="sandbox")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 to listen on; 0 picks a free one (the URL is printed).")
@click.option("--page-size", type=click.IntRange(1), default=2, show_default=True,
              help="Largest page the server returns, whatever limit a client asks for.")
def sandbox_command(port: int, page_size: int) -> None:
    """Run the loopback FDX sandbox (seeded accounts, holdings, tax lots) until Ctrl-C.

    It listens on 127.0.0.1 only and prints its base URL (ending in /fdx/v5); point the FDX
    client at it with SMARTX_FIDELITY_FDX_URL. The data is the built-in seed: accounts 5426873
    (VTI with two tax lots, SPAXX cash), 7719302 (Roth, AGG) and a closed trust account.

    \b
    Examples:
      smartx fidelity sandbox                  a free port
      smartx fidelity sandbox --port 8183      a fixed port
      curl http://127.0.0.1:8183/fdx/v5/accounts
    """
    from .sandbox import FdxSandbox

    try:
        sandbox = FdxSandbox(page_size=page_size, port=port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    sandbox.start()
    try:
        click.echo(f"FDX sandbox listening on {sandbox.base_url} (Ctrl-C to stop)")
        for account in sandbox.data["accounts"]:
            click.echo(f"  account {account['accountId']} ({account.get('accountType', '?')},"
                       f" {account.get('status', '?')})")
        click.echo(f"  export SMARTX_FIDELITY_FDX_URL={sandbox.base_url}")
        _wait_for_interrupt()
    finally:
        sandbox.stop()
    click.echo("FDX sandbox stopped.")


@fidelity.command(name="simulate")
@click.argument("outbox", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("inbox", type=click.Path(file_okay=False, path_type=Path))
@click.option("--prices", "prices_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV file of symbol,price (a header row is optional).")
@click.option("--trade-date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Trade date of the executions (YYYY-MM-DD).  [default: today]")
def simulate_command(outbox: Path, inbox: Path, prices_file: Path, trade_date: dt.datetime | None) -> None:
    """Play Fidelity once: execute the order files in OUTBOX, write result files to INBOX.

    Every orders_*.csv and blocks_*.csv in OUTBOX without results yet gets an executions_*.csv
    (and, for blocks, an allocations_*.csv) in INBOX, which is created if missing. Market orders
    fill at the given price; limit orders fill when that price is at their limit or better, else
    they expire; a symbol without a price is rejected. Settlement is T+1 on business days.
    Running it again executes only new outbox files.

    \b
    prices.csv:
      symbol,price
      VTI,239.10
      AGG,98.51

    \b
    Examples:
      smartx fidelity simulate outbox/ inbox/ --prices prices.csv
      smartx fidelity simulate outbox/ inbox/ --prices prices.csv --trade-date 2026-01-09
    """
    from .simulator import simulate

    prices = read_prices(prices_file)
    inbox.mkdir(parents=True, exist_ok=True)
    day = trade_date.date() if trade_date else dt.date.today()
    written = simulate(outbox, inbox, prices, trade_date=day)
    if not written:
        click.echo(f"Nothing to execute: every order file in {outbox} already has results in {inbox}.")
        return
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"{len(written)} result file(s) written to {inbox} (trade date {day.isoformat()}).")


def read_prices(path: Path) -> dict[str, Decimal]:
    """Read a ``symbol,price`` CSV (optional header); raise one DataError naming every bad line."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the prices file {name}: {exc}") from None
    prices: dict[str, Decimal] = {}
    problems: list[Diagnostic] = []
    for line, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if line == 1 and [c.lower() for c in cells] == ["symbol", "price"]:
            continue
        if len(cells) != 2:
            problems.append(Diagnostic(name, line, None, f"expected 2 columns (symbol,price), found {len(cells)}"))
            continue
        symbol, text_price = cells
        if not symbol:
            problems.append(Diagnostic(name, line, 1, "the symbol is empty", field="symbol"))
            continue
        try:
            price = Decimal(text_price)
            ok = price.is_finite() and price > 0
        except InvalidOperation:
            ok = False
        if not ok:
            problems.append(Diagnostic(name, line, 2, f"price {text_price!r} is not a positive number",
                                       field="price"))
        elif symbol in prices:
            problems.append(Diagnostic(name, line, 1, f"symbol {symbol} is priced twice", field="symbol"))
        else:
            prices[symbol] = price
    if problems:
        raise DataError(f"the prices file {name} has {len(problems)} problem(s):", problems)
    if not prices:
        raise DataError(f"the prices file {name} has no prices; expected rows of symbol,price")
    return prices


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _wait_for_interrupt() -> None:
    """Block until Ctrl-C or SIGTERM (both end the command cleanly, exit 0)."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
