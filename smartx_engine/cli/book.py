"""``smartx import book``: load a book of accounts, sleeves, models and lots."""

from __future__ import annotations

from pathlib import Path

import attrs
import click

from ..bookdata import ImportSummary
from ..importing import read_book, store_book
from . import Env, cli, pass_env
from .output import emit, json_option, print_table


@cli.group(name="import")
def import_group() -> None:
    """Load data into the firm database."""


@import_group.command(name="book")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "format_name", default="csv", show_default=True,
              help="Book format; `smartx plugins list` shows the importers installed.")
@json_option
@pass_env
def import_book(env: Env, directory: Path, format_name: str, as_json: bool) -> None:
    """Import the book in DIRECTORY, all or nothing.

    The accounts it names get exactly the lots and cash it lists (and its transactions, when the
    book has them); securities, models, sleeves and prices are added or updated. Every problem is
    reported with its file, line and column, and nothing is imported while any remains. Importing
    the same book again leaves the firm's data as it was (the audit log records the import).

    \b
    Example:
      smartx import book ./onboarding/2026-11
    """
    book = read_book(directory, format_name)  # a bad book is reported before the database is opened
    summary = store_book(env.store(), book)

    def human() -> None:
        rows = [(name.replace("_", " "), value) for name, value in _counts(summary).items()]
        print_table(f"Imported {directory}", ["what", "rows"], rows, numeric=["rows"])

    emit(as_json, summary, human)


def _counts(summary: ImportSummary) -> dict[str, int]:
    return {f.name: getattr(summary, f.name) for f in attrs.fields(ImportSummary)
            if f.name not in {"source", "digest"} and getattr(summary, f.name) is not None}
