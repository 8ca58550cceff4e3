"""Reading CSV files that people and custodians write, with every problem located.

A :class:`CsvFile` checks the header, yields :class:`CsvRow` objects that parse fields with
column-precise diagnostics, and a :class:`Diagnostics` collects them so that a file is rejected
whole, with every error at once. This module is public API: plugins read custodian and model
files with it (``from smartx_engine.csvfiles import CsvFile, decimal, iso_date ...``).
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import attrs

from .domain import parse_date
from .errors import DataError, Diagnostic, did_you_mean
from .fixedpoint import Scale

T = TypeVar("T")
MAX_SHOWN = 50


@attrs.define
class Diagnostics:
    """Every problem found in a set of input files."""

    items: list[Diagnostic] = attrs.field(factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def raise_if_any(self, what: str) -> None:
        """Raise one DataError listing every problem (the first ``MAX_SHOWN`` of them)."""
        if not self.items:
            return
        count = len(self.items)
        shown = sorted(self.items, key=lambda d: (d.file, d.line, d.column or 0))[:MAX_SHOWN]
        more = f" (the first {MAX_SHOWN} are shown)" if count > MAX_SHOWN else ""
        raise DataError(f"{what}: {count} problem{'s' * (count != 1)} found, nothing was imported{more}", shown)


class CsvFile:
    """A CSV file with a required header: ``required`` columns must be there, ``optional`` may."""

    def __init__(self, path: Path, display: str, required: Sequence[str], optional: Sequence[str],
                 diagnostics: Diagnostics):
        self.path, self.display = path, display
        self.required, self.optional = list(required), list(optional)
        self.diagnostics = diagnostics
        self.columns: dict[str, int] = {}

    def error(self, line: int, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        column = self.columns[field] + 1 if field in self.columns else None
        self.diagnostics.add(Diagnostic(self.display, line, column, message, field=field, hint=hint))

    def rows(self) -> Iterator[CsvRow]:
        """The data rows; nothing when the file cannot be read or its header is wrong."""
        try:
            with self.path.open(newline="", encoding="utf-8-sig") as handle:
                yield from self._rows(csv.reader(handle, strict=True))
        except UnicodeDecodeError as exc:
            self.error(1, f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})")
        except csv.Error as exc:
            self.error(getattr(self, "_line", 1), f"malformed CSV: {exc}")

    def _rows(self, reader: Any) -> Iterator[CsvRow]:
        header = next(reader, None)
        if not self._check_header(header):
            return
        for values in reader:
            self._line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                self.error(reader.line_num, f"expected {len(header)} fields like the header, found {len(values)}")
                continue
            yield CsvRow(self, reader.line_num, dict(zip(header, (v.strip() for v in values))))

    def _check_header(self, header: list[str] | None) -> bool:
        if not header:
            self.error(1, "the file is empty; it needs a header row: " + ",".join(self.required))
            return False
        header = [h.strip() for h in header]
        self.columns = {name: i for i, name in enumerate(header)}
        known = self.required + self.optional
        ok = True
        for i, name in enumerate(header):
            if name not in known:
                self.diagnostics.add(Diagnostic(self.display, 1, i + 1, f"unknown column {name!r}",
                                                hint=did_you_mean(name, known)))
                ok = False
        if len(self.columns) != len(header):
            self.error(1, "a column name appears twice in the header")
            ok = False
        if missing := [name for name in self.required if name not in self.columns]:
            self.error(1, f"missing column{'s' * (len(missing) > 1)} {', '.join(missing)}",
                       hint="the header must name: " + ",".join(self.required))
            ok = False
        return ok


@attrs.define
class CsvRow:
    """One data row; its getters record a located diagnostic and return None on bad values."""

    file: CsvFile
    line: int
    values: dict[str, str]

    def error(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        self.file.error(self.line, message, field=field, hint=hint)

    def get(self, field: str, parse: Callable[[str], T] = str, *, required: bool = True) -> T | None:
        """The parsed value of ``field``; None when empty and optional, or when invalid."""
        text = self.values.get(field, "")
        if not text:
            if required:
                self.error("missing value", field=field)
            return None
        try:
            return parse(text)
        except (ValueError, ArithmeticError) as exc:
            self.error(str(exc), field=field, hint=getattr(exc, "hint", None))
            return None


# ---------------------------------------------------------------- field parsers


class ParseError(ValueError):
    """A field that does not parse, with an optional hint."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


def iso_date(text: str) -> dt.date:
    try:
        return parse_date(text)
    except ValueError:
        raise ParseError(f"{text!r} is not a date", hint="write dates as YYYY-MM-DD, e.g. 2026-03-31") from None


def decimal(scale: Scale, *, minimum: Decimal | None = None, strict_minimum: bool = False,
            maximum: Decimal | None = None) -> Callable[[str], Decimal]:
    """A parser for decimals of ``scale`` within bounds."""

    def parse(text: str) -> Decimal:
        value = scale.parse(text)
        if minimum is not None and (value <= minimum if strict_minimum else value < minimum):
            raise ParseError(f"{value} must be {'greater than' if strict_minimum else 'at least'} {minimum}")
        if maximum is not None and value > maximum:
            raise ParseError(f"{value} must be at most {maximum}")
        return value

    return parse


def choice(enum_type: type[enum.StrEnum], what: str) -> Callable[[str], Any]:
    """A parser for the values of a string enumeration (``what`` names it), with a did-you-mean hint."""

    def parse(text: str) -> Any:
        try:
            return enum_type(text.lower())
        except ValueError:
            values = [e.value for e in enum_type]
            raise ParseError(f"unknown {what} {text!r}",
                             hint=did_you_mean(text.lower(), values) or "one of: " + ", ".join(values)) from None

    return parse
