"""Importing a book: find the importer, read the whole book, store it in one transaction, notify."""

from __future__ import annotations

from pathlib import Path

from .bookdata import BookData, ImportSummary
from .errors import SmartxError
from .plugins import call_event, registered
from .store import Store


def read_book(directory: Path, format_name: str = "csv") -> BookData:
    """Read and validate the book in ``directory`` with the importer registered as ``format_name``."""
    importers = registered("register_book_importers", "book importer")
    if format_name not in importers:
        raise SmartxError(f"no book importer {format_name!r}; installed: {', '.join(sorted(importers))}")
    return importers[format_name].read(Path(directory))


def store_book(store: Store, book: BookData) -> ImportSummary:
    """Store a book read by :func:`read_book` and tell the plugins."""
    summary = store.apply_book(book)
    call_event("on_book_imported", summary=summary)
    return summary
