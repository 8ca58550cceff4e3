"""One way to print: ``--json`` for scripts (stable keys), rich tables for people."""

from __future__ import annotations

import datetime as dt
import enum
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import attrs
import click
from rich.console import Console
from rich.table import Table

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON for scripts (stable keys) instead of a table."
)


def console() -> Console:
    """A console that does not fold tables when the output is piped to a file or a pager."""
    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def jsonable(value: Any) -> Any:
    """Decimals as exact plain strings, dates as ISO text, enums as their values, attrs as dicts."""
    if isinstance(value, Decimal):
        return format(value, "f")  # never scientific: 1E-7 is "0.0000001"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if attrs.has(type(value)):
        return jsonable(attrs.asdict(value, recurse=False))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def print_json(data: Any) -> None:
    click.echo(json.dumps(jsonable(data), indent=2))


def money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def percent(value: Decimal | None) -> str:
    return "" if value is None else f"{value * 100:.2f}%"


def price(value: Decimal) -> str:
    """A unit price with at least 2 decimals and no trailing zeros beyond them."""
    whole, _, fraction = f"{value.normalize():f}".partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def quantity(value: Decimal) -> str:
    return f"{value.normalize():f}"


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                *, numeric: Iterable[str] = (), empty: str = "nothing to show") -> None:
    """A readable table; ``numeric`` columns are right-aligned."""
    rows = list(rows)
    if not rows:
        click.echo(f"{title + ': ' if title else ''}{empty}")
        return
    numeric = set(numeric)
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in columns:
        table.add_column(name, justify="right" if name in numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console().print(table)


def emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    """Print ``data`` as JSON, or call ``human`` to print it for people."""
    if as_json:
        print_json(data)
    else:
        human()
